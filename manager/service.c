/*
 * service.c — the Manager's operations (wsdl/manager.wsdl) on manager.c.
 *
 * Who may do what: a host credential (ACL op host: the Factory) and an
 * admin may act on every instance; the owner of a workspace on its own
 * with 'manage' (and 'deploy' for Deploy and Undeploy, which take a
 * host's resources); a limited proxy may not deploy.  Anyone else gets
 * exactly the fault of an unknown workspace.  Errors become SOAP faults
 * here and only here (wsdl/soap.h).
 */
#define VWS_MODULE "manager"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"

#include "acl.h"
#include "daemon.h"
#include "document.h"
#include "gsi.h"
#include "identity.h"
#include "util.h"
#include "uuid.h"
#include "xstime.h"
#include "manager/manager.h"
#include "manager/service.h"
#include "wsdl/soap.h"
#include "internal.h"

static struct vws_manager_service *
svc(struct soap *soap)
{
    return vws_daemon_service_data(soap);
}

static int
acl_has(struct soap *soap, enum vws_acl_op op)
{
    struct vws_acl_handle *acl = svc(soap)->acl;
    const struct vws_identity *id = vws_daemon_caller(soap);

    return acl && id && vws_acl_handle_check(acl, id, op, NULL);
}

struct who {
    struct soap *soap;
    bool deploys;               /* the operation takes the host's resources */
};

static int
authorize(void *arg, const char *owner)
{
    struct who *w = arg;
    const struct vws_identity *id = vws_daemon_caller(w->soap);
    struct vws_acl_handle *acl = svc(w->soap)->acl;
    int ok;

    if (!id || !acl)
        return 0;
    if (acl_has(w->soap, VWS_ACL_HOST) || acl_has(w->soap, VWS_ACL_ADMIN))
        return 1;
    ok = vws_acl_handle_may_manage(acl, id, owner, NULL) &&
         (!w->deploys || acl_has(w->soap, VWS_ACL_DEPLOY));
    if (!ok)
        VWS_INFO("'%s' may not act on a workspace of '%s'", id->dn, owner);
    return ok;
}

static char *
dup_or_null(struct soap *soap, const char *s)
{
    return s ? soap_strdup(soap, s) : NULL;
}

static struct mgr__InstanceStatusType *
status_to_soap(struct soap *soap, const struct vws_mgr_status *s)
{
    struct mgr__InstanceStatusType *x = soap_new_mgr__InstanceStatusType(soap, 1);

    x->workspaceId = soap_strdup(soap, s->key);
    x->owner = soap_strdup(soap, s->owner ? s->owner : "");
    x->phase = (enum mgr__PhaseType)s->phase;
    x->state = (enum vws__StateType)s->state;
    x->vmState = dup_or_null(soap, s->vm_state);
    x->domain = dup_or_null(soap, s->domain);
    x->template_ = dup_or_null(soap, s->template_name);
    if (s->cache_outcome >= 0) {
        x->cache = soap_malloc(soap, sizeof(*x->cache));
        *x->cache = (enum mgr__CacheOutcomeType)s->cache_outcome;
    }
    if (s->bytes_total) {
        x->bytesDone = soap_malloc(soap, sizeof(*x->bytesDone));
        *x->bytesDone = s->bytes_done;
        x->bytesTotal = soap_malloc(soap, sizeof(*x->bytesTotal));
        *x->bytesTotal = s->bytes_total;
    }
    x->hot = s->hot ? xsd__boolean__true_ : xsd__boolean__false_;
    x->consoleLog = dup_or_null(soap, s->console_log);
    x->reason = dup_or_null(soap, s->reason);
    x->lastModified = vws_soap_time(soap, s->last_modified);
    return x;
}

/* Finish an operation: the status as the answer, or the error as a fault. */
static int
answer(struct soap *soap, int rc, struct vws_mgr_status *s,
       struct mgr__InstanceStatusType **out)
{
    if (rc < 0)
        return vws_soap_fault_last(soap);
    *out = status_to_soap(soap, s);
    vws_mgr_status_release(s);
    return SOAP_OK;
}

int
__mgr__Deploy(struct soap *soap, struct _mgr__Deploy *req, struct _mgr__DeployResponse *resp)
{
    struct who w = { soap, true };
    struct vws_mgr_status s;
    const char *key = vws_soap_resource_key(soap, "workspace");
    bool wait = req->wait && *req->wait == xsd__boolean__true_;

    if (!key)
        return soap->error;
    if (!acl_has(soap, VWS_ACL_HOST) &&
        vws_gsi_check_proxy(vws_daemon_caller(soap), true, "deploy") < 0)
        return vws_soap_fault_last(soap);
    return answer(soap, vws_manager_deploy(svc(soap)->manager, key, authorize, &w,
                                           req->restoreFrom, wait, &s),
                  &s, &resp->instanceStatus);
}

int
__mgr__Undeploy(struct soap *soap, struct _mgr__Undeploy *req,
                struct _mgr__UndeployResponse *resp)
{
    struct who w = { soap, true };
    struct vws_mgr_status s;
    const char *key = vws_soap_resource_key(soap, "workspace");

    if (!key)
        return soap->error;
    return answer(soap, vws_manager_undeploy(svc(soap)->manager, key, authorize, &w,
                                             req->saveTarget, &s),
                  &s, &resp->instanceStatus);
}

static int
op(struct soap *soap, enum vws_mgr_op which, unsigned timeout_ms,
   struct mgr__InstanceStatusType **out)
{
    struct who w = { soap, false };
    struct vws_mgr_status s;
    const char *key = vws_soap_resource_key(soap, "workspace");

    if (!key)
        return soap->error;
    return answer(soap, vws_manager_op(svc(soap)->manager, key, which, authorize, &w,
                                       timeout_ms, &s), &s, out);
}

int
__mgr__Start(struct soap *soap, struct _mgr__Start *req, struct _mgr__StartResponse *resp)
{
    (void)req;
    return op(soap, VWS_MGR_OP_START, 0, &resp->instanceStatus);
}

int
__mgr__Stop(struct soap *soap, struct _mgr__Stop *req, struct _mgr__StopResponse *resp)
{
    unsigned t = 0;

    if (req->timeout) {
        if (*req->timeout > 3600)
            return vws_soap_fault(soap, VWS_ERR_INVALID_ARG,
                                  "stop timeout over 3600 seconds");
        t = *req->timeout * 1000u;
        if (t == 0)
            t = 1;   /* 0 s: destroy at once */
    }
    return op(soap, VWS_MGR_OP_STOP, t, &resp->instanceStatus);
}

int
__mgr__Pause(struct soap *soap, struct _mgr__Pause *req, struct _mgr__PauseResponse *resp)
{
    (void)req;
    return op(soap, VWS_MGR_OP_PAUSE, 0, &resp->instanceStatus);
}

int
__mgr__Unpause(struct soap *soap, struct _mgr__Unpause *req,
               struct _mgr__UnpauseResponse *resp)
{
    (void)req;
    return op(soap, VWS_MGR_OP_UNPAUSE, 0, &resp->instanceStatus);
}

int
__mgr__Serialize(struct soap *soap, struct _mgr__Serialize *req,
                 struct _mgr__SerializeResponse *resp)
{
    (void)req;
    return op(soap, VWS_MGR_OP_SERIALIZE, 0, &resp->instanceStatus);
}

int
__mgr__Status(struct soap *soap, struct _mgr__Status *req, struct _mgr__StatusResponse *resp)
{
    (void)req;
    return op(soap, VWS_MGR_OP_STATUS, 0, &resp->instanceStatus);
}

int
__mgr__ListInstances(struct soap *soap, struct _mgr__ListInstances *req,
                     struct _mgr__ListInstancesResponse *resp)
{
    struct who w = { soap, false };
    struct vws_mgr_status *list;
    size_t n, k = 0;

    (void)req;
    if (vws_manager_list(svc(soap)->manager, &list, &n) < 0)
        return vws_soap_fault_last(soap);
    resp->instanceStatus_ = soap_new_mgr__InstanceStatusType(soap, (int)(n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        if (!authorize(&w, list[i].owner))
            continue;   /* others' instances are not shown */
        resp->instanceStatus_[k++] = *status_to_soap(soap, &list[i]);
    }
    resp->__sizeinstanceStatus = (int)k;
    vws_mgr_status_list_free(list, n);
    return SOAP_OK;
}

int
__mgr__GetManagerProperties(struct soap *soap, struct _mgr__GetManagerProperties *req,
                            struct _mgr__GetManagerPropertiesResponse *resp)
{
    struct vws_manager *m = svc(soap)->manager;
    struct mgr__ManagerPropertiesType *p = soap_new_mgr__ManagerPropertiesType(soap, 1);
    struct vws_cache_stats st;
    struct vws_cache_entry *e = NULL;
    struct vws_mgr_status *list;
    size_t n = 0, n_inst = 0;

    (void)req;
    if (!acl_has(soap, VWS_ACL_INSPECT) && !acl_has(soap, VWS_ACL_HOST) &&
        !acl_has(soap, VWS_ACL_ADMIN))
        return vws_soap_fault(soap, VWS_ERR_DENIED, "not allowed to inspect this host");
    vws_cache_get_stats(vws_manager_cache(m), &st);
    if (vws_manager_list(m, &list, &n_inst) == 0)
        vws_mgr_status_list_free(list, n_inst);
    p->vmm = soap_strdup(soap, vws_manager_vmm_uri(m));
    p->instances = (unsigned)n_inst;
    p->cachePolicy = soap_strdup(soap, vws_cache_policy_name(st.policy));
    p->cacheLimitBytes = st.limit_bytes;
    p->cacheUsedBytes = st.used_bytes;
    p->cachePinnedBytes = st.pinned_bytes;
    p->cacheHits = st.hits;
    p->cacheMisses = st.misses;
    p->cacheHalfMisses = st.half_misses;
    p->cacheEvictions = st.evictions;
    p->cacheFetchFailures = st.fetch_failures;
    if (vws_cache_list(vws_manager_cache(m), &e, &n) == 0) {
        p->__sizecachedTemplate = (int)n;
        p->cachedTemplate = soap_new_mgr__CachedTemplateType(soap, (int)(n ? n : 1));
        for (size_t i = 0; i < n; i++) {
            p->cachedTemplate[i].name = soap_strdup(soap, e[i].name ? e[i].name : "");
            p->cachedTemplate[i].sha256 = soap_strdup(soap, e[i].sha256);
            p->cachedTemplate[i].size = e[i].size;
            p->cachedTemplate[i].uses = e[i].uses;
            p->cachedTemplate[i].pins = e[i].pins;
        }
        vws_cache_entries_free(e, n);
    }
    resp->managerProperties = p;
    return SOAP_OK;
}

int
__mgr__GetInstanceMetadata(struct soap *soap, struct _mgr__GetInstanceMetadata *req,
                           struct _mgr__GetInstanceMetadataResponse *resp)
{
    struct who w = { soap, false };
    struct vws_doc doc = VWS_DOC_INIT;
    char *xml;

    if (!req->workspaceId || !vws_uuid_is_valid(req->workspaceId))
        return vws_soap_fault(soap, VWS_ERR_INVALID, "malformed workspace id");
    if (!(xml = vws_manager_metadata(svc(soap)->manager, req->workspaceId, authorize, &w)))
        return vws_soap_fault_last(soap);
    if (vws_doc_parse(&doc, "instance metadata", xml, strlen(xml), VWS_DOC_INSTANCE) < 0) {
        free(xml);
        return vws_soap_fault_last(soap);
    }
    free(xml);
    resp->__sizeinstanceMetadata = 1;
    resp->vws__instanceMetadata = soap_new_vws__InstanceMetadataType(soap, 1);
    {
        struct vws__InstanceMetadataType *src = doc.u.instance, *dst = resp->vws__instanceMetadata;
        dst->workspaceId = soap_strdup(soap, src->workspaceId);
        if (src->node) {
            dst->node = soap_malloc(soap, sizeof(*dst->node));
            *dst->node = *src->node;
        }
        dst->hostname = soap_strdup(soap, src->hostname);
        dst->__sizenic = src->__sizenic;
        dst->nic = soap_new_vws__BoundNICType(soap, src->__sizenic ? src->__sizenic : 1);
        for (int i = 0; i < src->__sizenic; i++) {
            dst->nic[i].name = soap_strdup(soap, src->nic[i].name);
            dst->nic[i].mac = soap_strdup(soap, src->nic[i].mac);
            dst->nic[i].ip = soap_strdup(soap, src->nic[i].ip);
            dst->nic[i].netmask = soap_strdup(soap, src->nic[i].netmask);
            dst->nic[i].gateway = dup_or_null(soap, src->nic[i].gateway);
            dst->nic[i].broadcast = dup_or_null(soap, src->nic[i].broadcast);
        }
    }
    vws_doc_release(&doc);
    return SOAP_OK;
}
