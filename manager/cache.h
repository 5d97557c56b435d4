/*
 * cache.h — a VMM host's template cache (seed 000: per-host caches, LRU or
 * LFU, a size in MB, templates in use never evicted, the same template
 * needed twice transferred once).
 *
 * The cache is a directory:
 *     DIR/index.db               SQLite (WAL): templates, pins
 *     DIR/templates/<sha256>     one file per template
 *     DIR/templates/<sha256>.part  a fetch in progress
 * A template is known by its SHA-256 (64 hex digits): the file name comes
 * from it alone, never from the user-supplied template name, so a name like
 * "../../etc/passwd" is only a label.  Two names with the same content
 * share one file.
 *
 * vws_cache_acquire() is the one way in: it returns the path of the cached
 * template and pins it for an instance, fetching it first when it is
 * missing.  When several threads acquire a missing template at once, the
 * first calls the fetch function and the others wait for it (a half-miss);
 * a failed fetch leaves nothing behind and every waiter returns its error.
 * Room is made before a fetch starts, by evicting unpinned templates in
 * policy order (LRU: least recently used first; LFU: fewest uses first,
 * ties least recently used); templates being fetched or pinned are never
 * evicted.  Pins are stored in the index, so a restart keeps the templates
 * under live instances; vws_cache_unpin_instance() releases an instance's.
 *
 * At open the index is reconciled with the files: files without a row are
 * removed (including stale .part files), rows without a file are dropped,
 * rows whose file has another size (or, with verify_sha256, other
 * content) are dropped with their file; each action is logged.
 *
 * All calls are thread-safe.  Each returns 0 (or a pointer) on success and
 * -1 (or NULL) after reporting the error once (error.h).
 */
#ifndef VWS_MANAGER_CACHE_H
#define VWS_MANAGER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VWS_CACHE_SHA256_LEN 64
#define VWS_CACHE_MAX_NAME 255          /* bytes of a template name */
#define VWS_CACHE_MAX_INSTANCE 255      /* bytes of an instance id */
#define VWS_CACHE_MAX_SIZE_MB (16u * 1024u * 1024u)   /* 16 TiB */

enum vws_cache_policy {
    VWS_CACHE_LRU = 0,
    VWS_CACHE_LFU,
    VWS_CACHE_N_POLICIES
};

/* "lru" / "lfu"; parse gives -1 for anything else (case-insensitive). */
const char *vws_cache_policy_name(enum vws_cache_policy policy);
int vws_cache_policy_parse(const char *name);

struct vws_cache_options {
    const char *dir;            /* created (0700) if missing; copied */
    uint64_t size_mb;           /* 1 .. VWS_CACHE_MAX_SIZE_MB */
    enum vws_cache_policy policy;
    bool verify_sha256;         /* hash every file at open (slow for big
                                   caches; sizes are always checked) */
};

struct vws_cache;

/* Open (or create) the cache in OPTS->dir and reconcile it; if the limit
 * shrank below what is cached, unpinned templates are evicted.  NULL with
 * an error reported on failure. */
struct vws_cache *vws_cache_open(const struct vws_cache_options *opts);

/* Close C (NULL: no-op).  No acquire may be running. */
void vws_cache_close(struct vws_cache *c);

/*
 * The fetch function: write the template's SIZE bytes to PATH (which does
 * not exist; create it) and verify its SHA-256 (vws_cache_verify_file()).
 * Return 0, or -1 with the error reported; on failure the cache removes
 * PATH.  Runs without the cache's lock, in the thread of the first
 * acquirer; ARG is the acquirer's.
 */
typedef int (*vws_cache_fetch_fn)(void *arg, const char *path);

/* How an acquire was served. */
enum vws_cache_outcome {
    VWS_CACHE_HIT = 0,          /* it was there */
    VWS_CACHE_MISS,             /* this call fetched it */
    VWS_CACHE_HALF_MISS,        /* another call was fetching it: waited */
};

/*
 * The cached template SHA256 (declared size SIZE bytes, label NAME),
 * pinned for INSTANCE (an id of the caller's choosing, e.g. a workspace
 * key; pinning twice for one instance is one pin).  On a miss FETCH(ARG,
 * tmp) runs first (see above) and its result is checked against SIZE.
 * *PATH receives the template's path (caller frees).  OUTCOME may be NULL.
 * Errors: VWS_ERR_INVALID_ARG (bad sha256, name, instance or size),
 * VWS_ERR_LIMIT "cache of N MB cannot hold 'NAME' (M MB): K MB pinned",
 * the fetch's own error (for every waiter too), VWS_ERR_INVALID when the
 * fetched file has another size than SIZE.  On error nothing is pinned
 * and no file is left.
 */
int vws_cache_acquire(struct vws_cache *c, const char *name,
                      const char *sha256, uint64_t size,
                      const char *instance, vws_cache_fetch_fn fetch,
                      void *arg, char **path,
                      enum vws_cache_outcome *outcome);

/* Pin the cached template SHA256 for INSTANCE (VWS_ERR_NOT_FOUND if it is
 * not cached) / drop that pin (a missing pin is not an error). */
int vws_cache_pin(struct vws_cache *c, const char *sha256,
                  const char *instance);
int vws_cache_unpin(struct vws_cache *c, const char *sha256,
                    const char *instance);
/* Drop every pin INSTANCE holds (undeploy, or an instance found dead at
 * restart). */
int vws_cache_unpin_instance(struct vws_cache *c, const char *instance);

/* Remove the cached template SHA256 now (VWS_ERR_STATE if it is pinned or
 * being fetched, VWS_ERR_NOT_FOUND if absent). */
int vws_cache_remove(struct vws_cache *c, const char *sha256);

/* One cached template, as vws_cache_list() reports it. */
struct vws_cache_entry {
    char sha256[VWS_CACHE_SHA256_LEN + 1];
    char *name;                 /* the label it was last acquired with */
    char *path;
    uint64_t size;              /* bytes */
    int64_t last_used;          /* ms since the epoch */
    uint64_t uses;              /* acquires and pins */
    unsigned pins;              /* instances holding it */
};

/* The cached templates (not those being fetched), in eviction order (the
 * next victim first, pinned ones included where the policy puts them):
 * a new array *LIST of *N entries, freed with vws_cache_entries_free(). */
int vws_cache_list(struct vws_cache *c, struct vws_cache_entry **list,
                   size_t *n);
void vws_cache_entries_free(struct vws_cache_entry *list, size_t n);

/* Whether SHA256 is cached (ready); reports nothing. */
bool vws_cache_contains(struct vws_cache *c, const char *sha256);

/* The distinct instances that hold pins, sorted (for reconciliation at
 * restart): a new array of new strings, freed with
 * vws_cache_instances_free(). */
int vws_cache_pinned_instances(struct vws_cache *c, char ***list, size_t *n);
void vws_cache_instances_free(char **list, size_t n);

/* Counters since open, and the space, for resource properties. */
struct vws_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t half_misses;
    uint64_t evictions;
    uint64_t fetch_failures;
    uint64_t limit_bytes;
    uint64_t used_bytes;        /* cached + being fetched */
    uint64_t pinned_bytes;      /* pinned + being fetched */
    size_t entries;             /* cached (ready) templates */
    enum vws_cache_policy policy;
};
void vws_cache_get_stats(struct vws_cache *c, struct vws_cache_stats *out);

/* ---- SHA-256 of files (OpenSSL EVP, streamed) ---------------------------- */

/* Whether S is 64 hexadecimal digits (either case).  Reports nothing. */
bool vws_cache_sha256_is_valid(const char *s);

/* The SHA-256 of the file at PATH as 64 lowercase hex digits in OUT. */
int vws_cache_sha256_file(const char *path,
                          char out[VWS_CACHE_SHA256_LEN + 1]);

/* 0 if the file at PATH has the SHA-256 SHA256 (either case); otherwise -1
 * with VWS_ERR_INVALID "checksum mismatch for 'PATH': expected X, got Y"
 * (or the read error) reported. */
int vws_cache_verify_file(const char *path, const char *sha256);

#endif /* VWS_MANAGER_CACHE_H */
