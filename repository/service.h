/*
 * service.h — the Repository's SOAP operations (wsdl/repository.wsdl) on
 * top of the store (store.h), the network pools (netpool.h) and the ACL.
 *
 * The daemon (vws-repository.c) makes one struct vws_repository and hands
 * it to the daemon framework as its service data; every operation finds it
 * with vws_daemon_service_data() and the caller with vws_daemon_caller().
 */
#ifndef VWS_REPOSITORY_SERVICE_H
#define VWS_REPOSITORY_SERVICE_H

#include <pthread.h>
#include <stddef.h>

struct vws_store;
struct vws_netpool;
struct vws_acl_handle;

struct vws_repository {
    struct vws_store *store;           /* borrowed */
    struct vws_acl_handle *acl;        /* borrowed; NULL: only owners and hosts */
    struct vws_netpool **pools;        /* borrowed */
    size_t n_pools;
    const char *default_pool;          /* pool for NICs without an association */
    const char *public_url;            /* Address of the EPRs handed out */
    int64_t default_lifetime_s;        /* termination after register; 0: never */
};

/* Write the resource property document of workspace KEY (as the caller
 * would see it) to OUT.  0, or -1 (VWS_ERR_NOT_FOUND). */
struct vws_buf;
struct vws_workspace;
void vws_repository_properties(const struct vws_workspace *ws, struct vws_buf *out);

#endif
