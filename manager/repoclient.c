/*
 * repoclient.c — the Manager's calls to the Repository (repoclient.h).
 */
#define VWS_MODULE "manager"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "soapH.h"

#include "document.h"
#include "gsi.h"
#include "util.h"
#include "xml.h"
#include "manager/repoclient.h"
#include "wsdl/soap.h"
#include "internal.h"

int
vws_repoclient_init(struct vws_repoclient *rc, const char *url,
                    const struct vws_gsi_config *gsi)
{
    memset(rc, 0, sizeof(*rc));
    if (!url || strncmp(url, "https://", 8) != 0) {
        vws_report_error(VWS_ERR_CONFIG, "repository URL '%s' is not https://HOST:PORT/PATH",
                         url ? url : "");
        return -1;
    }
    rc->url = vws_strdup(url);
    rc->gsi.cert_dir = gsi->cert_dir ? vws_strdup(gsi->cert_dir) : NULL;
    rc->gsi.vomsdir = gsi->vomsdir ? vws_strdup(gsi->vomsdir) : NULL;
    rc->gsi.cert_file = gsi->cert_file ? vws_strdup(gsi->cert_file) : NULL;
    rc->gsi.key_file = gsi->key_file ? vws_strdup(gsi->key_file) : NULL;
    rc->gsi.crl_check = gsi->crl_check;
    rc->timeout_s = 30;
    return 0;
}

void
vws_repoclient_free(struct vws_repoclient *rc)
{
    free(rc->url);
    vws_gsi_config_release(&rc->gsi);
    memset(rc, 0, sizeof(*rc));
}

struct soap *
vws_service_client(const struct vws_gsi_config *gsi, unsigned timeout_s, const char *key)
{
    struct soap *soap = vws_soap_new();

    if (!soap)
        return NULL;
    if (vws_gsi_client_init(soap, gsi) < 0) {
        vws_soap_free(soap);
        return NULL;
    }
    soap->connect_timeout = (int)timeout_s;
    soap->send_timeout = (int)timeout_s;
    soap->recv_timeout = (int)timeout_s;
    if (key) {
        soap->header = soap_new_SOAP_ENV__Header(soap, 1);
        soap->header->vws__WorkspaceKey = soap_strdup(soap, key);
    }
    return soap;
}

/* A client context with the host credential and KEY as the header. */
static struct soap *
connect_to(const struct vws_repoclient *rc, const char *key)
{
    return vws_service_client(&rc->gsi, rc->timeout_s, key);
}

static int
call_failed(const struct vws_repoclient *rc, struct soap *soap, const char *op,
            const char *key)
{
    char what[256];

    snprintf(what, sizeof(what), "%s of workspace '%s' at the repository '%s'",
             op, key, rc->url);
    vws_soap_call_failed(soap, what);
    vws_soap_free(soap);
    return -1;
}

void
vws_repo_workspace_release(struct vws_repo_workspace *w)
{
    free(w->owner);
    vws_doc_release(&w->description);
    vws_doc_release(&w->deployment);
    memset(w, 0, sizeof(*w));
}

/* The text content of the literal element XML (one property), new string. */
static char *
property_text(const char *xml)
{
    xmlDocPtr d = vws_xml_parse("property", xml, strlen(xml));
    xmlChar *c;
    char *s;

    if (!d)
        return NULL;
    c = xmlNodeGetContent(xmlDocGetRootElement(d));
    s = vws_strdup(c ? (const char *)c : "");
    xmlFree(c);
    xmlFreeDoc(d);
    return s;
}

static const char *
local_name(const char *xml, char *buf, size_t size)
{
    const char *p = xml + (xml[0] == '<');
    size_t n = strcspn(p, " >/");
    const char *colon = memchr(p, ':', n);

    if (colon) {
        n -= (size_t)(colon + 1 - p);
        p = colon + 1;
    }
    snprintf(buf, size, "%.*s", (int)n, p);
    return buf;
}

int
vws_repoclient_get(const struct vws_repoclient *rc, const char *key,
                   struct vws_repo_workspace *out)
{
    static char *names[] = { "vws:owner", "vws:state", "vws:location",
                             "vws:virtualWorkspace", "vws:deploymentRequest" };
    struct _wsrp2__GetMultipleResourceProperties req = { 0 };
    struct _wsrp2__GetMultipleResourcePropertiesResponse resp = { 0 };
    struct soap *soap = connect_to(rc, key);
    struct vws_doc empty = VWS_DOC_INIT;

    memset(out, 0, sizeof(*out));
    out->description = empty;
    out->deployment = empty;
    out->state = out->location = -1;
    if (!soap)
        return -1;
    req.__sizeResourceProperty = (int)VWS_N_ELEMENTS(names);
    req.ResourceProperty = names;
    if (soap_call___repo__GetMultipleResourceProperties(soap, rc->url, NULL, &req, &resp))
        return call_failed(rc, soap, "reading the properties", key);
    for (int i = 0; i < resp.__size; i++) {
        const char *x = resp.__any[i];
        char name[64];
        char *text = NULL;
        int rc2 = 0;

        local_name(x, name, sizeof(name));
        if (strcmp(name, "virtualWorkspace") == 0) {
            rc2 = vws_doc_parse(&out->description, "workspace description", x, strlen(x),
                                VWS_DOC_WORKSPACE);
        } else if (strcmp(name, "deploymentRequest") == 0) {
            rc2 = vws_doc_parse(&out->deployment, "deployment request", x, strlen(x),
                                VWS_DOC_DEPLOYMENT);
        } else if (!(text = property_text(x))) {
            rc2 = -1;
        } else if (strcmp(name, "owner") == 0) {
            out->owner = text;
            text = NULL;
        } else if (strcmp(name, "state") == 0) {
            enum vws__StateType s;
            if (soap_s2vws__StateType(soap, text, &s) == SOAP_OK)
                out->state = (int)s;
        } else if (strcmp(name, "location") == 0) {
            enum vws__LocationStateType l;
            if (soap_s2vws__LocationStateType(soap, text, &l) == SOAP_OK)
                out->location = (int)l;
        }
        free(text);
        if (rc2 < 0) {
            vws_soap_free(soap);
            vws_repo_workspace_release(out);
            return -1;
        }
    }
    vws_soap_free(soap);
    if (!out->owner || out->state < 0 || out->location < 0 || !out->description.u.any) {
        vws_repo_workspace_release(out);
        vws_report_error(VWS_ERR_INVALID, "the repository '%s' answered for workspace '%s' "
                         "without its owner, state, location or description", rc->url, key);
        return -1;
    }
    return 0;
}

void
vws_repo_checkout_release(struct vws_repo_checkout *c)
{
    vws_soap_free(c->soap);
    memset(c, 0, sizeof(*c));
}

int
vws_repoclient_checkout(const struct vws_repoclient *rc, const char *key,
                        struct vws_repo_checkout *out)
{
    struct _repo__Checkout req = { 0 };
    struct _repo__CheckoutResponse resp = { 0 };
    struct soap *soap = connect_to(rc, key);

    memset(out, 0, sizeof(*out));
    if (!soap)
        return -1;
    if (soap_call___repo__Checkout(soap, rc->url, NULL, &req, &resp))
        return call_failed(rc, soap, "checkout", key);
    if (resp.__sizeinstanceMetadata < 1 || !resp.vws__instanceMetadata) {
        vws_soap_free(soap);
        vws_report_error(VWS_ERR_INVALID, "checkout of workspace '%s': the repository "
                         "sent no instance metadata", key);
        return -1;
    }
    out->soap = soap;
    out->image = resp.vws__imageTemplate;
    out->meta = resp.vws__instanceMetadata;
    return 0;
}

int
vws_repoclient_report(const struct vws_repoclient *rc, const char *key,
                      int state, int location, const char *reason)
{
    struct _repo__ReportState req = { 0 };
    struct _repo__ReportStateResponse resp;
    enum vws__LocationStateType loc = (enum vws__LocationStateType)location;
    struct soap *soap = connect_to(rc, key);

    memset(&resp, 0, sizeof(resp));
    if (!soap)
        return -1;
    req.state = (enum vws__StateType)state;
    req.location = location >= 0 ? &loc : NULL;
    req.reason = reason ? soap_strdup(soap, reason) : NULL;
    if (soap_call___repo__ReportState(soap, rc->url, NULL, &req, &resp))
        return call_failed(rc, soap, "reporting the state", key);
    vws_soap_free(soap);
    return 0;
}

int
vws_repoclient_release(const struct vws_repoclient *rc, const char *key)
{
    struct _repo__Release req;
    struct _repo__ReleaseResponse resp;
    struct soap *soap = connect_to(rc, key);

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    if (!soap)
        return -1;
    if (soap_call___repo__Release(soap, rc->url, NULL, &req, &resp))
        return call_failed(rc, soap, "release", key);
    vws_soap_free(soap);
    return 0;
}
