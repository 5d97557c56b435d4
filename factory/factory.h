/*
 * factory.h — the site's Factory below the SOAP edge: agreements, the
 * host registry, and the orchestration of the Managers on the real clock.
 *
 * An agreement is what one Create or CreateAgreement made: a lease in the
 * scheduler (the orchestrator, factory/orchestrator.h) and one workspace
 * per node registered with the Repository.  Its life:
 *
 *   pending     admitted: resources booked, images prestaged when the
 *               staging strategy says (the Manager's Deploy);
 *   observed    the lease started: every node deployed and started;
 *   completed   the lease ended: nodes stopped and undeployed;
 *   terminated  ended early: Terminate, or a host stopped answering;
 *   rejected    never stored: admission answers with the reason.
 *
 * Hosts: a Manager registers (RegisterHost, with its host credential) and
 * repeats it as its heartbeat; each gets a slot of the scheduler's site.  A
 * host silent for host_timeout is down: its slot takes no new lease, and
 * the agreements with nodes on it are terminated with the reason.  An admin
 * drains a host (no new leases) or removes it (when idle).
 *
 * Agreements and hosts are kept in SQLite (WAL); after a restart the
 * pending and observed agreements are admitted again at their booked
 * times on their hosts, so a reservation made before the restart is
 * honoured.
 *
 * Thread-safe; calls return 0 or -1 with one error reported.
 */
#ifndef VWS_FACTORY_FACTORY_H
#define VWS_FACTORY_FACTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gsi.h"
#include "scheduler/site.h"

struct soap;
struct vws_identity;
struct vws_policy;
struct vws__VirtualWorkspaceType;
struct vws__DeploymentRequestType;
struct agr__AgreementStatusType;
struct fac__HostType;
struct fac__FactoryPropertiesType;

struct vws_factory_options {
    const char *database;
    const char *repository_url;
    const char *public_url;          /* the Factory's base: .../vws/agreement in EPRs */
    const struct vws_gsi_config *gsi;   /* the host credential (borrowed) */
    vws_site site;                   /* the shape of the site (hosts = slots) */
    const char *strategy;            /* jit, aggressive, hybrid, job-style */
    unsigned heartbeat_s;            /* what Managers are told */
    unsigned host_timeout_s;         /* silent this long: down */
    unsigned stop_timeout_s;         /* a guest's time to power off at the end */
};

struct vws_factory;

struct vws_factory *vws_factory_open(const struct vws_factory_options *o);
void vws_factory_close(struct vws_factory *f);

/* The policy in force (borrowed; may be NULL: no limits).  The Factory
 * swaps it on reload; the old one is freed. */
void vws_factory_set_policy(struct vws_factory *f, struct vws_policy *p);
/* Load the policy file PATH now (0, or -1 reported) and again whenever it
 * changes (checked before each admission; a broken file keeps the last
 * good policy, logged). */
int vws_factory_set_policy_file(struct vws_factory *f, const char *path);

/* Admit an offer.  CALLER is who asks; OWNER who gets the workspaces
 * (the caller, or the broker's client); BROKER the broker's DN or NULL.
 * WS may be NULL (a minimal VM description is used).  On success OUT (in
 * SOAP's memory) is the new agreement's status.  A rejection is -1 with
 * VWS_ERR_LIMIT (policy), VWS_ERR_STATE "rejected: REASON" (no room at
 * that time) or the Repository's error. */
int vws_factory_admit(struct vws_factory *f, const struct vws_identity *caller,
                      const char *owner, const char *broker,
                      struct vws__VirtualWorkspaceType *ws,
                      struct vws__DeploymentRequestType *req,
                      struct soap *soap, struct agr__AgreementStatusType *out);

/* Who may see or act on an agreement: 1 yes, 0 no. */
typedef int (*vws_factory_authorize_fn)(void *arg, const char *owner, const char *broker);

enum vws_agreement_op { VWS_AGR_STATUS = 0, VWS_AGR_TERMINATE, VWS_AGR_SIGNAL };

/* Do OP on agreement KEY (VWS_ERR_NOT_FOUND if unknown or not visible)
 * and fill OUT with its status after. */
int vws_factory_agreement(struct vws_factory *f, const char *key, enum vws_agreement_op op,
                          vws_factory_authorize_fn authorize, void *arg,
                          struct soap *soap, struct agr__AgreementStatusType *out);

/* Every agreement AUTHORIZE lets the caller see. */
int vws_factory_list(struct vws_factory *f, vws_factory_authorize_fn authorize, void *arg,
                     struct soap *soap, struct agr__AgreementStatusType **out, int *n);

/* Hosts.  NAME is the host's name from its credential. */
int vws_factory_register_host(struct vws_factory *f, const char *name, const char *url,
                              unsigned vms, unsigned memory_mb, unsigned *heartbeat_s);
int vws_factory_drain_host(struct vws_factory *f, const char *name,
                           struct soap *soap, struct fac__HostType *out);
int vws_factory_remove_host(struct vws_factory *f, const char *name,
                            struct soap *soap, struct fac__HostType *out);
int vws_factory_hosts(struct vws_factory *f, struct soap *soap,
                      struct fac__HostType **out, int *n);
int vws_factory_properties(struct vws_factory *f, struct soap *soap,
                           struct fac__FactoryPropertiesType *out);

/* The Repository's address, for EPRs of the members. */
const char *vws_factory_repository_url(struct vws_factory *f);

#endif /* VWS_FACTORY_FACTORY_H */
