/*
 * netpool.h — the site's network pools: addresses a workspace gets at
 * checkout (hostname, IPv4 address, MAC, netmask, gateway, broadcast, DNS)
 * and gives back at release.
 *
 * An admin keeps one file per pool, NAME.pool (format: docs/vws-netpool.5):
 *
 *     netmask   = 255.255.255.0
 *     gateway   = 10.1.0.1
 *     broadcast = 10.1.0.255
 *     dns       = 10.1.0.2 10.1.0.3
 *     ws1.site.example  10.1.0.10  52:54:00:00:01:0a
 *     ws2.site.example  10.1.0.11
 *
 * vws_netpool_load() parses one strictly: every error names FILE:LINE.  The
 * parsed pool is read-only, so any number of threads may lease from it; to
 * pick up an edited file, load it again and swap pointers (the caller's
 * job, e.g. on SIGHUP), then free the old one when no thread uses it.
 *
 * Leases live in the store (store.h, table leases), not in the file:
 *   - vws_netpool_lease() takes a free address in one transaction; the
 *     database's UNIQUE (pool, ip) and UNIQUE (mac) make a double
 *     assignment impossible, across threads, processes and restarts.
 *   - A lease row copies the whole entry (hostname, MAC, netmask, ...), so
 *     a lease stays valid and unchanged when its pool file is edited or
 *     removed; an address that left the file is simply never offered again
 *     once its lease is released.  An address that stays in the file but
 *     is still leased under old values is not free until released.
 *   - vws_store_release() and vws_store_destroy() give the workspace's
 *     leases back in the same transaction; vws_store_lease_release() does
 *     it alone.
 *   - An entry without a MAC gets a new unique 52:54:00:xx:xx:xx at lease
 *     time, kept in the lease.
 */
#ifndef VWS_NETPOOL_H
#define VWS_NETPOOL_H

#include <stddef.h>

#include "repository/store.h"

/* Limits of a pool file. */
#define VWS_NETPOOL_MAX_FILE     (1024 * 1024)
#define VWS_NETPOOL_MAX_LINE     1024
#define VWS_NETPOOL_MAX_ENTRIES  65536

struct vws_netpool {
    char *name;               /* pool name: the file name without ".pool" */
    char *path;
    char *netmask;            /* dotted quad, always set */
    char *gateway;            /* or NULL */
    char *broadcast;          /* or NULL */
    char *dns;                /* space-separated addresses, or NULL */
    /* One lease template per address, in file order: pool, hostname, ip,
     * netmask, gateway, broadcast and dns are set, mac when the file gives
     * one (lowercase), workspace empty. */
    struct vws_lease *entries;
    size_t n_entries;
};

/* Parse the pool file PATH.  NAME is the pool's name, or NULL to take the
 * file name without a ".pool" suffix; it must be a safe name
 * ([A-Za-z0-9][A-Za-z0-9._+-]{0,127}).  *OUT gets the pool (free it with
 * vws_netpool_free()).  0, or -1 with VWS_ERR_CONFIG "FILE:LINE: ..." (or
 * VWS_ERR_IO / VWS_ERR_LIMIT) reported. */
int vws_netpool_load(const char *path, const char *name,
                     struct vws_netpool **out);

/* Load every DIR/NAME.pool, in name order, into a new array *POOLS of *N
 * pools (free with vws_netpool_free_all()).  The first broken file fails
 * the whole load.  A directory with no pool file gives 0 pools. */
int vws_netpool_load_dir(const char *dir, struct vws_netpool ***pools,
                         size_t *n);

void vws_netpool_free(struct vws_netpool *pool);
void vws_netpool_free_all(struct vws_netpool **pools, size_t n);

/* The pool named NAME in POOLS, or NULL (no error reported). */
struct vws_netpool *vws_netpool_find(struct vws_netpool **pools, size_t n,
                                     const char *name);

/* Lease an address of POOL to workspace KEY (see vws_store_lease_take():
 * a workspace that already holds one in POOL gets it again).  OUT gets the
 * lease (vws_lease_release() it).  VWS_ERR_LIMIT "pool 'P' has no free
 * address (N of N leased)" when all are taken. */
int vws_netpool_lease(const struct vws_netpool *pool, struct vws_store *store,
                      const char *key, struct vws_lease *out);

/* How many addresses of POOL's file are leased now: 0.. n_entries, or -1. */
int vws_netpool_count_leased(const struct vws_netpool *pool,
                             struct vws_store *store, size_t *leased);

#endif /* VWS_NETPOOL_H */
