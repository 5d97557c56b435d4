/*
 * cache.c — per-host LRU/LFU template cache (see cache.h).
 *
 * Caches hold a handful of templates (a few GB of disk over images of
 * hundreds of MB), so entries live in a small array and the victim is found
 * by a linear scan; that is simpler and faster than a heap at this size.
 */
#define VWS_MODULE "cache"
#include <config.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "internal.h"

struct vws_cache {
    vws_cache_policy policy;
    int64_t capacity_mb;
    int64_t used_mb;
    uint64_t tick;
    vws_cache_entry *e;
    size_t n, cap;
};

int
vws_cache_policy_parse(const char *s, vws_cache_policy *out)
{
    if (!strcmp(s, "lru"))
        *out = VWS_CACHE_LRU;
    else if (!strcmp(s, "lfu"))
        *out = VWS_CACHE_LFU;
    else if (!strcmp(s, "none"))
        *out = VWS_CACHE_NONE;
    else {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "unknown cache policy '%s' (lru, lfu, none)", s);
        return -1;
    }
    return 0;
}

const char *
vws_cache_policy_name(vws_cache_policy p)
{
    switch (p) {
    case VWS_CACHE_LRU: return "lru";
    case VWS_CACHE_LFU: return "lfu";
    default: return "none";
    }
}

vws_cache *
vws_cache_new(vws_cache_policy policy, int64_t capacity_mb)
{
    vws_cache *c = vws_calloc(1, sizeof(*c));

    c->policy = policy;
    c->capacity_mb = capacity_mb < 0 ? 0 : capacity_mb;
    return c;
}

void
vws_cache_free(vws_cache *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->n; i++)
        free(c->e[i].name);
    free(c->e);
    free(c);
}

vws_cache_policy vws_cache_get_policy(const vws_cache *c) { return c->policy; }
int64_t vws_cache_capacity(const vws_cache *c) { return c->capacity_mb; }
int64_t vws_cache_used(const vws_cache *c) { return c->used_mb; }
size_t vws_cache_count(const vws_cache *c) { return c->n; }

const vws_cache_entry *
vws_cache_entry_at(const vws_cache *c, size_t i)
{
    return i < c->n ? &c->e[i] : NULL;
}

uint64_t
vws_cache_hash(const char *name)
{
    uint64_t h = UINT64_C(1469598103934665603);   /* FNV-1a */

    for (; *name; name++) {
        h ^= (unsigned char)*name;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static ptrdiff_t
index_of_hashed(const vws_cache *c, const char *name, uint64_t hash)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        if (c->e[i].hash == hash && !strcmp(c->e[i].name, name))
            return (ptrdiff_t)i;
    return -1;
}

static ptrdiff_t
index_of(const vws_cache *c, const char *name)
{
    return c->n ? index_of_hashed(c, name, vws_cache_hash(name)) : -1;
}

vws_cache_entry *
vws_cache_lookup(vws_cache *c, const char *name)
{
    ptrdiff_t i = index_of(c, name);

    return i < 0 ? NULL : &c->e[i];
}

vws_cache_entry *
vws_cache_lookup_hashed(vws_cache *c, const char *name, uint64_t hash)
{
    ptrdiff_t i = index_of_hashed(c, name, hash);

    return i < 0 ? NULL : &c->e[i];
}

static vws_cache_entry *
must_find(vws_cache *c, const char *name)
{
    vws_cache_entry *e = vws_cache_lookup(c, name);

    if (!e)
        vws_report_error(VWS_ERR_NOT_FOUND, "template '%s' is not cached",
                         name);
    return e;
}

int
vws_cache_touch(vws_cache *c, const char *name)
{
    vws_cache_entry *e = must_find(c, name);

    if (!e)
        return -1;
    e->uses++;
    e->last_use = ++c->tick;
    return 0;
}

/* Is A a better victim than B under the policy? */
static int
worse(const vws_cache *c, const vws_cache_entry *a, const vws_cache_entry *b)
{
    if (c->policy == VWS_CACHE_LFU && a->uses != b->uses)
        return a->uses < b->uses;
    return a->last_use < b->last_use;
}

static ptrdiff_t
victim_index(const vws_cache *c)
{
    ptrdiff_t best = -1;
    size_t i;

    for (i = 0; i < c->n; i++) {
        if (c->e[i].pins > 0 || !c->e[i].ready)
            continue;
        if (best < 0 || worse(c, &c->e[i], &c->e[best]))
            best = (ptrdiff_t)i;
    }
    return best;
}

const vws_cache_entry *
vws_cache_victim(const vws_cache *c)
{
    ptrdiff_t i = victim_index(c);

    return i < 0 ? NULL : &c->e[i];
}

static void
drop(vws_cache *c, size_t i, char ***evicted, size_t *nevicted)
{
    c->used_mb -= c->e[i].size_mb;
    if (evicted) {
        *evicted = vws_reallocarray(*evicted, *nevicted + 1, sizeof(char *));
        (*evicted)[(*nevicted)++] = c->e[i].name;
    } else {
        free(c->e[i].name);
    }
    memmove(c->e + i, c->e + i + 1, (c->n - i - 1) * sizeof(*c->e));
    c->n--;
}

int
vws_cache_insert(vws_cache *c, const char *name, int64_t size_mb,
                 char ***evicted, size_t *nevicted)
{
    int64_t evictable = 0;
    size_t i;

    if (index_of(c, name) >= 0) {
        vws_report_error(VWS_ERR_EXISTS, "template '%s' is already cached",
                         name);
        return -1;
    }
    if (size_mb < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template '%s' has a negative size", name);
        return -1;
    }
    for (i = 0; i < c->n; i++)
        if (c->e[i].pins == 0 && c->e[i].ready)
            evictable += c->e[i].size_mb;
    if (c->policy == VWS_CACHE_NONE ||
        size_mb > c->capacity_mb - c->used_mb + evictable) {
        vws_report_error(VWS_ERR_LIMIT,
                         "no room for template '%s' (%" PRId64 " MB) in a "
                         "cache of %" PRId64 " MB, %" PRId64 " MB pinned",
                         name, size_mb, c->capacity_mb,
                         c->used_mb - evictable);
        return -1;
    }
    while (size_mb > c->capacity_mb - c->used_mb)
        drop(c, (size_t)victim_index(c), evicted, nevicted);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4;
        c->e = vws_reallocarray(c->e, c->cap, sizeof(*c->e));
    }
    c->e[c->n] = (vws_cache_entry){ .name = vws_strdup(name),
                                    .hash = vws_cache_hash(name),
                                    .size_mb = size_mb,
                                    .uses = 1,
                                    .last_use = ++c->tick };
    c->n++;
    c->used_mb += size_mb;
    return 0;
}

int
vws_cache_can_insert(const vws_cache *c, int64_t size_mb)
{
    int64_t evictable = 0;
    size_t i;

    if (c->policy == VWS_CACHE_NONE || size_mb < 0)
        return 0;
    for (i = 0; i < c->n; i++)
        if (c->e[i].pins == 0 && c->e[i].ready)
            evictable += c->e[i].size_mb;
    return size_mb <= c->capacity_mb - c->used_mb + evictable;
}

int
vws_cache_set_ready(vws_cache *c, const char *name)
{
    vws_cache_entry *e = must_find(c, name);

    if (!e)
        return -1;
    e->ready = 1;
    return 0;
}

int
vws_cache_pin(vws_cache *c, const char *name)
{
    vws_cache_entry *e = must_find(c, name);

    if (!e)
        return -1;
    e->pins++;
    return 0;
}

int
vws_cache_unpin(vws_cache *c, const char *name)
{
    vws_cache_entry *e = must_find(c, name);

    if (!e)
        return -1;
    if (e->pins <= 0) {
        vws_report_error(VWS_ERR_INTERNAL, "template '%s' is not pinned", name);
        return -1;
    }
    e->pins--;
    return 0;
}

int
vws_cache_remove(vws_cache *c, const char *name)
{
    ptrdiff_t i = index_of(c, name);

    if (i < 0) {
        vws_report_error(VWS_ERR_NOT_FOUND, "template '%s' is not cached",
                         name);
        return -1;
    }
    drop(c, (size_t)i, NULL, NULL);
    return 0;
}
