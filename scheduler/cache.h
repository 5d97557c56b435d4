/*
 * cache.h — a host's cache of VM image templates (seed 000 §4.2.2).
 *
 * A cache holds whole templates up to a size in MB.  When room is needed it
 * evicts by its policy — LRU (least recently used first) or LFU (fewest
 * uses while cached first, ties broken by least recent use) — but never a
 * pinned template: a template is pinned while a lease will copy from it or a
 * transfer into it is under way.  An entry can be present but not yet ready
 * (its transfer is running); a lease needing it then waits for that
 * transfer instead of starting another one (a "half-miss").
 *
 * Uses are counted with a logical tick, not the clock, so the order is
 * deterministic even when two uses share an instant.
 *
 * Ownership: the cache copies template names; pointers to entries stay valid
 * until the entry is evicted or removed.
 */
#ifndef VWS_CACHE_H
#define VWS_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    VWS_CACHE_NONE = 0,   /* no cache: every instance gets its own transfer */
    VWS_CACHE_LRU,
    VWS_CACHE_LFU,
} vws_cache_policy;

typedef struct vws_cache_entry {
    char *name;
    int64_t size_mb;
    int pins;
    int ready;            /* 0 while its transfer is running */
    uint64_t uses;        /* uses since it was cached (LFU) */
    uint64_t last_use;    /* tick of the last use (LRU) */
    void *data;           /* the caller's (the scheduler: the running
                             transfer); never freed by the cache */
    uint64_t hash;        /* vws_cache_hash(name) */
} vws_cache_entry;

typedef struct vws_cache vws_cache;

/* Parse "lru", "lfu" or "none"; -1 for anything else (error reported). */
int vws_cache_policy_parse(const char *s, vws_cache_policy *out);
const char *vws_cache_policy_name(vws_cache_policy p);

/* A cache of CAPACITY_MB with POLICY.  Never NULL. */
vws_cache *vws_cache_new(vws_cache_policy policy, int64_t capacity_mb);
void vws_cache_free(vws_cache *c);

vws_cache_policy vws_cache_get_policy(const vws_cache *c);
int64_t vws_cache_capacity(const vws_cache *c);
int64_t vws_cache_used(const vws_cache *c);
size_t vws_cache_count(const vws_cache *c);
/* The I-th entry, in insertion order (for listings). */
const vws_cache_entry *vws_cache_entry_at(const vws_cache *c, size_t i);

/* The entry for NAME, or NULL.  No side effect. */
vws_cache_entry *vws_cache_lookup(vws_cache *c, const char *name);
/* The same with HASH = vws_cache_hash(NAME) computed once by the caller
 * (placement looks a name up in every host's cache). */
vws_cache_entry *vws_cache_lookup_hashed(vws_cache *c, const char *name,
                                         uint64_t hash);
uint64_t vws_cache_hash(const char *name);

/* Record one use of NAME (a hit): counts for LFU, refreshes for LRU.
 * 0, or -1 (VWS_ERR_NOT_FOUND) if NAME is not cached. */
int vws_cache_touch(vws_cache *c, const char *name);

/* Make room for and add NAME (SIZE_MB), not ready, counted as one use.
 * Evicts unpinned entries in policy order.  0 on success; -1 with
 * VWS_ERR_LIMIT if it cannot fit (too big, or the rest is pinned): the
 * cache is then unchanged.  -1 with VWS_ERR_EXISTS if already present.
 * Evicted names are appended to EVICTED if not NULL (caller frees each). */
int vws_cache_insert(vws_cache *c, const char *name, int64_t size_mb,
                     char ***evicted, size_t *nevicted);

/* Would vws_cache_insert() of SIZE_MB succeed?  No side effect. */
int vws_cache_can_insert(const vws_cache *c, int64_t size_mb);

/* Mark NAME's transfer finished. */
int vws_cache_set_ready(vws_cache *c, const char *name);

/* Pin / unpin NAME.  Unpinning below zero is an internal error. */
int vws_cache_pin(vws_cache *c, const char *name);
int vws_cache_unpin(vws_cache *c, const char *name);

/* Remove NAME whatever its pins (a failed transfer).  0 or -1. */
int vws_cache_remove(vws_cache *c, const char *name);

/* The entry the policy would evict next, or NULL if all are pinned. */
const vws_cache_entry *vws_cache_victim(const vws_cache *c);

#endif /* VWS_CACHE_H */
