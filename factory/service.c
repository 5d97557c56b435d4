/*
 * service.c — the Factory's and the agreement layer's operations
 * (wsdl/factory.wsdl, wsdl/agreement.wsdl) on factory.c.
 *
 * Who may do what (vws-acl(5) ops):
 *   Create             create and deploy, a full (not limited) proxy;
 *   CreateAgreement    broker (on behalf of anyone), or create+deploy for
 *                      oneself; GetTemplates: anyone the ACL knows;
 *   an agreement       its owner (inspect, manage to terminate or signal),
 *                      the broker that made it, an admin; others get
 *                      exactly the fault of an unknown key;
 *   RegisterHost       a host credential (op host), the name from its DN;
 *   Drain/RemoveHost   admin; ListHosts, GetFactoryProperties: inspect.
 */
#define VWS_MODULE "factory"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"

#include "acl.h"
#include "daemon.h"
#include "gsi.h"
#include "identity.h"
#include "util.h"
#include "uuid.h"
#include "factory/factory.h"
#include "factory/service.h"
#include "wsdl/soap.h"
#include "internal.h"

static struct vws_factory_service *
svc(struct soap *soap)
{
    return vws_daemon_service_data(soap);
}

static const struct vws_identity *
caller(struct soap *soap)
{
    return vws_daemon_caller(soap);
}

static int
has(struct soap *soap, enum vws_acl_op op)
{
    struct vws_acl_handle *acl = svc(soap)->acl;
    return acl && caller(soap) && vws_acl_handle_check(acl, caller(soap), op, NULL);
}

static int
denied(struct soap *soap, const char *what)
{
    char msg[256];
    const struct vws_identity *id = caller(soap);

    snprintf(msg, sizeof(msg), "not allowed to %s", what);
    VWS_INFO("'%s' may not %s", id ? id->dn : "?", what);
    return vws_soap_fault(soap, VWS_ERR_DENIED, msg);
}

struct who {
    struct soap *soap;
    bool acts;                  /* terminate, signal: manage */
};

static int
authorize(void *arg, const char *owner, const char *broker)
{
    struct who *w = arg;
    const struct vws_identity *id = caller(w->soap);

    if (!id)
        return 0;
    if (has(w->soap, VWS_ACL_ADMIN))
        return 1;
    if (broker && strcmp(broker, id->dn) == 0 && has(w->soap, VWS_ACL_BROKER))
        return 1;
    if (strcmp(owner, id->dn) == 0)
        return w->acts ? has(w->soap, VWS_ACL_MANAGE) : has(w->soap, VWS_ACL_INSPECT);
    return 0;
}

static char *
agreement_address(struct soap *soap)
{
    return soap_strdup(soap, svc(soap)->public_url);
}

/* ---- Factory ---- */

int
__fac__Create(struct soap *soap, struct _fac__Create *req, struct _fac__CreateResponse *resp)
{
    const struct vws_identity *id = caller(soap);
    struct agr__AgreementStatusType st;

    if (vws_gsi_check_proxy(id, true, "create workspaces") < 0)
        return vws_soap_fault_last(soap);
    if (!has(soap, VWS_ACL_CREATE) || !has(soap, VWS_ACL_DEPLOY))
        return denied(soap, "create workspaces");
    if (!req->vws__deploymentRequest)
        return vws_soap_fault(soap, VWS_ERR_INVALID, "no deployment request");
    if (vws_factory_admit(svc(soap)->factory, id, id->dn, NULL, req->vws__virtualWorkspace,
                          req->vws__deploymentRequest, soap, &st) < 0)
        return vws_soap_fault_last(soap);
    vws_soap_epr(soap, &resp->agreement, agreement_address(soap), st.key);
    resp->agreementKey = st.key;
    resp->__sizeworkspace = st.__sizemember;
    resp->workspace = soap_new_wsa5__EndpointReferenceType(soap, st.__sizemember);
    resp->__sizekey = st.__sizemember;
    resp->key = soap_malloc(soap, sizeof(char *) * (size_t)st.__sizemember);
    for (int i = 0; i < st.__sizemember; i++) {
        resp->workspace[i] = st.member[i].workspace;
        resp->key[i] = st.member[i].key;
    }
    resp->start = st.start;
    resp->end = st.end;
    return SOAP_OK;
}

int
__fac__GetFactoryProperties(struct soap *soap, struct _fac__GetFactoryProperties *req,
                            struct _fac__GetFactoryPropertiesResponse *resp)
{
    (void)req;
    if (!has(soap, VWS_ACL_INSPECT) && !has(soap, VWS_ACL_HOST) && !has(soap, VWS_ACL_ADMIN))
        return denied(soap, "inspect the factory");
    resp->factoryProperties = soap_new_fac__FactoryPropertiesType(soap, 1);
    if (vws_factory_properties(svc(soap)->factory, soap, resp->factoryProperties) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

/* The host name of a host credential's DN ".../CN=host/NAME"). */
static const char *
host_name(const char *dn)
{
    const char *p = strstr(dn, "CN=host/");
    return p ? p + 8 : NULL;
}

int
__fac__RegisterHost(struct soap *soap, struct _fac__RegisterHost *req,
                    struct _fac__RegisterHostResponse *resp)
{
    const char *name = caller(soap) ? host_name(caller(soap)->dn) : NULL;

    if (!has(soap, VWS_ACL_HOST) || !name || !*name)
        return denied(soap, "register a host (a host credential is needed)");
    if (vws_factory_register_host(svc(soap)->factory, name, req->url, req->vms, req->memory,
                                  &resp->heartbeat) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

int
__fac__DrainHost(struct soap *soap, struct _fac__DrainHost *req,
                 struct _fac__DrainHostResponse *resp)
{
    if (!has(soap, VWS_ACL_ADMIN))
        return denied(soap, "drain hosts");
    resp->host = soap_new_fac__HostType(soap, 1);
    if (vws_factory_drain_host(svc(soap)->factory, req->name, soap, resp->host) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

int
__fac__RemoveHost(struct soap *soap, struct _fac__RemoveHost *req,
                  struct _fac__RemoveHostResponse *resp)
{
    if (!has(soap, VWS_ACL_ADMIN))
        return denied(soap, "remove hosts");
    resp->host = soap_new_fac__HostType(soap, 1);
    if (vws_factory_remove_host(svc(soap)->factory, req->name, soap, resp->host) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

int
__fac__ListHosts(struct soap *soap, struct _fac__ListHosts *req,
                 struct _fac__ListHostsResponse *resp)
{
    (void)req;
    if (!has(soap, VWS_ACL_INSPECT) && !has(soap, VWS_ACL_ADMIN) && !has(soap, VWS_ACL_HOST))
        return denied(soap, "list hosts");
    if (vws_factory_hosts(svc(soap)->factory, soap, &resp->host_, &resp->__sizehost) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

/* ---- Agreements ---- */

int
__agr__GetTemplates(struct soap *soap, struct _agr__GetTemplates *req,
                    struct _agr__GetTemplatesResponse *resp)
{
    struct fac__FactoryPropertiesType p;
    struct agr__TemplateType *t;

    (void)req;
    if (!has(soap, VWS_ACL_BROKER) && !has(soap, VWS_ACL_CREATE) && !has(soap, VWS_ACL_ADMIN))
        return denied(soap, "read the agreement templates");
    if (vws_factory_properties(svc(soap)->factory, soap, &p) < 0)
        return vws_soap_fault_last(soap);
    t = soap_new_agr__TemplateType(soap, 1);
    t->name = soap_strdup(soap, "vm-lease");
    t->description = soap_strdup(soap,
        "nodes x (memory, CPU%) of one image template, starting at an exact time, in an "
        "event window, or as soon as possible, for a duration or until an end; the site "
        "stages the image before the start");
    t->__sizeimage = p.__sizetemplate_;
    t->image = p.template_;
    t->maxNodes = p.hosts * p.vmsPerHost;
    t->maxMemory = p.memoryPerHost;
    t->maxDuration = soap_strdup(soap, "P365D");
    resp->__sizetemplate_ = 1;
    resp->template_ = t;
    return SOAP_OK;
}

int
__agr__CreateAgreement(struct soap *soap, struct _agr__CreateAgreement *req,
                       struct _agr__CreateAgreementResponse *resp)
{
    const struct vws_identity *id = caller(soap);
    const char *owner = req->onBehalfOf ? req->onBehalfOf : id->dn;
    bool broker = has(soap, VWS_ACL_BROKER);

    if (vws_gsi_check_proxy(id, true, "negotiate agreements") < 0)
        return vws_soap_fault_last(soap);
    if (req->template_ && strcmp(req->template_, "vm-lease") != 0)
        return vws_soap_fault(soap, VWS_ERR_NOT_FOUND, "no such agreement template");
    if (!broker) {
        if (strcmp(owner, id->dn) != 0)
            return denied(soap, "negotiate agreements for others (the broker role is needed)");
        if (!has(soap, VWS_ACL_CREATE) || !has(soap, VWS_ACL_DEPLOY))
            return denied(soap, "negotiate agreements");
    }
    if (!req->offer)
        return vws_soap_fault(soap, VWS_ERR_INVALID, "no offer");
    resp->agreementStatus = soap_new_agr__AgreementStatusType(soap, 1);
    if (vws_factory_admit(svc(soap)->factory, id, owner, broker ? id->dn : NULL,
                          req->vws__virtualWorkspace, req->offer, soap,
                          resp->agreementStatus) < 0)
        return vws_soap_fault_last(soap);
    vws_soap_epr(soap, &resp->agreement, agreement_address(soap), resp->agreementStatus->key);
    return SOAP_OK;
}

static int
agreement_op(struct soap *soap, enum vws_agreement_op op, struct agr__AgreementStatusType **out)
{
    struct who w = { soap, op != VWS_AGR_STATUS };
    const char *key = vws_soap_resource_key(soap, "agreement");

    if (!key)
        return soap->error;
    *out = soap_new_agr__AgreementStatusType(soap, 1);
    if (vws_factory_agreement(svc(soap)->factory, key, op, authorize, &w, soap, *out) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}

int
__agr__GetAgreement(struct soap *soap, struct _agr__GetAgreement *req,
                    struct _agr__GetAgreementResponse *resp)
{
    (void)req;
    return agreement_op(soap, VWS_AGR_STATUS, &resp->agreementStatus);
}

int
__agr__Terminate(struct soap *soap, struct _agr__Terminate *req,
                 struct _agr__TerminateResponse *resp)
{
    (void)req;
    return agreement_op(soap, VWS_AGR_TERMINATE, &resp->agreementStatus);
}

int
__agr__SignalEvent(struct soap *soap, struct _agr__SignalEvent *req,
                   struct _agr__SignalEventResponse *resp)
{
    (void)req;
    return agreement_op(soap, VWS_AGR_SIGNAL, &resp->agreementStatus);
}

int
__agr__ListAgreements(struct soap *soap, struct _agr__ListAgreements *req,
                      struct _agr__ListAgreementsResponse *resp)
{
    struct who w = { soap, false };

    (void)req;
    if (vws_factory_list(svc(soap)->factory, authorize, &w, soap, &resp->agreementStatus_,
                         &resp->__sizeagreementStatus) < 0)
        return vws_soap_fault_last(soap);
    return SOAP_OK;
}
