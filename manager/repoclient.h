/*
 * repoclient.h — the Manager's calls to the site Repository, made with the
 * host credential (service to service, ACL op "host"): read a workspace,
 * check it out (the lock, the image template, the bound metadata), report
 * its state and location, release it.
 *
 * Each call opens one GSI connection and closes it; calls are thread-safe
 * (nothing is shared but the read-only configuration).  Each returns 0 and
 * fills its output, or -1 with one error reported whose code is the
 * Repository's fault code (not-found, state, denied, ...) or VWS_ERR_IO when
 * the Repository cannot be reached.
 */
#ifndef VWS_MANAGER_REPOCLIENT_H
#define VWS_MANAGER_REPOCLIENT_H

#include "common/gsi.h"
#include "common/document.h"

/* A gSOAP client context that authenticates with GSI (a host credential
 * for service-to-service calls), with TIMEOUT_S for connect, send and
 * receive, and KEY (or NULL) as the vws:WorkspaceKey header.  Free with
 * vws_soap_free().  NULL with an error reported. */
struct soap *vws_service_client(const struct vws_gsi_config *gsi, unsigned timeout_s,
                                const char *key);

struct vws_repoclient {
    char *url;                      /* https://host:port/vws/repository */
    struct vws_gsi_config gsi;      /* host credential and trust (owned) */
    unsigned timeout_s;             /* connect, send and receive */
};

/* Copy URL and GSI into RC.  0, or -1 reported (bad URL). */
int vws_repoclient_init(struct vws_repoclient *rc, const char *url,
                        const struct vws_gsi_config *gsi);
void vws_repoclient_free(struct vws_repoclient *rc);

/* What the Manager needs to know about a workspace before it deploys it. */
struct vws_repo_workspace {
    char *owner;                    /* the owner's DN */
    int state;                      /* enum vws__StateType */
    int location;                   /* enum vws__LocationStateType */
    struct vws_doc description;     /* VWS_DOC_WORKSPACE */
    struct vws_doc deployment;      /* VWS_DOC_DEPLOYMENT, or kind ANY: none */
};
void vws_repo_workspace_release(struct vws_repo_workspace *w);

int vws_repoclient_get(const struct vws_repoclient *rc, const char *key,
                       struct vws_repo_workspace *out);

/* A checkout: the template (NULL when the workspace names none) and the
 * metadata of node 0, in SOAP's memory (released with the checkout). */
struct vws_repo_checkout {
    struct soap *soap;
    struct vws__ImageTemplateType *image;
    struct vws__InstanceMetadataType *meta;
};
void vws_repo_checkout_release(struct vws_repo_checkout *c);

int vws_repoclient_checkout(const struct vws_repoclient *rc, const char *key,
                            struct vws_repo_checkout *out);

/* Report STATE (enum vws__StateType), LOCATION (enum
 * vws__LocationStateType, or -1 to leave it) and REASON (or NULL). */
int vws_repoclient_report(const struct vws_repoclient *rc, const char *key,
                          int state, int location, const char *reason);

/* Give the lock and the address leases back. */
int vws_repoclient_release(const struct vws_repoclient *rc, const char *key);

#endif /* VWS_MANAGER_REPOCLIENT_H */
