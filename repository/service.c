/*
 * service.c — the Repository's operations (wsdl/repository.wsdl).
 *
 * Each operation: find the caller (vws_daemon_caller) and the service
 * (vws_daemon_service_data), authorise through the ACL, do one store call
 * (a transaction), and map the result to the generated response types.
 * Errors become SOAP faults here and only here: the store and the other
 * layers report them once (error.h); fault() turns the code into a sender
 * fault (the caller's mistake) or a receiver fault (ours), with a detail
 * element <vws:error code="..."> that clients can read.
 *
 * Visibility: a caller who may not see a workspace gets exactly the fault
 * an unknown key gets ("no such workspace"), so keys cannot be probed.
 * Who sees what: the owner; an admin (ACL op admin); a host that holds the
 * workspace's lock, and every host for checkout (ACL op host).
 */
#define VWS_MODULE "repository"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "soapH.h"

#include "acl.h"
#include "daemon.h"
#include "document.h"
#include "identity.h"
#include "uuid.h"
#include "xml.h"
#include "xstime.h"
#include "repository/netpool.h"
#include "repository/service.h"
#include "repository/store.h"
#include "wsdl/soap.h"
#include "internal.h"

#define NS_RL "http://docs.oasis-open.org/wsrf/rl-2"
#define XPATH_DIALECT "http://www.w3.org/TR/1999/REC-xpath-19991116"
#define MAX_XPATH 4096
#define MAX_RESULT_NODES 1000

/* ---- faults ---- */

#define fault vws_soap_fault
#define fault_last vws_soap_fault_last

static int
not_found(struct soap *soap, const char *key)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "no such workspace '%s'", key);
    return fault(soap, VWS_ERR_NOT_FOUND, msg);
}

/* ---- caller, ACL, visibility ---- */

static struct vws_repository *
repo(struct soap *soap)
{
    return vws_daemon_service_data(soap);
}

static const struct vws_identity *
caller(struct soap *soap)
{
    return vws_daemon_caller(soap);
}

/* 1 if the ACL allows the caller OP; 0 if not.  LOG: say why at info
 * level (a final refusal), or stay quiet (a question among several). */
static int
acl_check(struct soap *soap, enum vws_acl_op op, int log)
{
    struct vws_repository *r = repo(soap);
    const struct vws_identity *id = caller(soap);
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;
    struct vws_buf b = VWS_BUF_INIT;
    int ok;

    if (!r->acl || !id)
        return 0;
    ok = vws_acl_handle_check(r->acl, id, op, &why);
    if (!ok && log) {
        vws_acl_decision_format(&why, &b);
        VWS_INFO("'%s' may not %s: %s", id->dn, vws_acl_op_name(op), b.s);
    }
    vws_buf_release(&b);
    vws_acl_decision_release(&why);
    return ok;
}

static int
acl_allows(struct soap *soap, enum vws_acl_op op)
{
    return acl_check(soap, op, 1);
}

/* The same question, asked to choose between answers: nothing logged. */
static int
acl_has(struct soap *soap, enum vws_acl_op op)
{
    return acl_check(soap, op, 0);
}

static int
denied(struct soap *soap, const char *what)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "not allowed to %s", what);
    return fault(soap, VWS_ERR_DENIED, msg);
}

enum access { SEE, MANAGE, HOLD };

/* Load workspace KEY if the caller may SEE it (owner, admin, a host),
 * MANAGE it (owner with manage, or admin) or HOLD it (a host: the lock
 * holder, or any host when it is unlocked).  0, or -1 after a fault. */
static int
load(struct soap *soap, const char *key, enum access need, struct vws_workspace *ws)
{
    struct vws_repository *r = repo(soap);
    const struct vws_identity *id = caller(soap);
    int ok;

    if (vws_store_get(r->store, key, ws) < 0) {
        if (vws_error_code_last() == VWS_ERR_NOT_FOUND)
            return not_found(soap, key), -1;
        return fault_last(soap), -1;
    }
    switch (need) {
    case SEE:
        ok = (strcmp(ws->owner, id->dn) == 0 && acl_has(soap, VWS_ACL_INSPECT)) ||
             acl_has(soap, VWS_ACL_ADMIN) ||
             (acl_has(soap, VWS_ACL_HOST) &&
              (!ws->lock_holder || strcmp(ws->lock_holder, id->dn) == 0));
        break;
    case MANAGE:
        ok = r->acl && vws_acl_handle_may_manage(r->acl, id, ws->owner, NULL);
        break;
    case HOLD:
        ok = acl_has(soap, VWS_ACL_HOST) &&
             (!ws->lock_holder || strcmp(ws->lock_holder, id->dn) == 0);
        break;
    default:
        ok = 0;
    }
    if (!ok) {
        /* the same answer as for a key that does not exist */
        VWS_INFO("'%s' may not use workspace '%s' (owner '%s')", id->dn, key, ws->owner);
        vws_workspace_release(ws);
        return not_found(soap, key), -1;
    }
    return 0;
}

/* ---- values ---- */

/* ---- the resource properties: one table, for the document and for each
 * property asked by name ---- */

#define DECL_VWS " xmlns:vws=\"urn:vws:1.0\""
#define DECL_RL " xmlns:wsrl2=\"" NS_RL "\""
#define DECL_XSI " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""

/* <ELEM DECL>TEXT</ELEM>, nothing when TEXT is NULL.  DECL declares the
 * element's namespace when it stands alone, "" inside the document. */
static void
put_text(struct vws_buf *b, const char *elem, const char *decl, const char *text)
{
    if (!text)
        return;
    vws_buf_addf(b, "<%s%s>", elem, decl);
    vws_buf_add_xml_escaped(b, text);
    vws_buf_addf(b, "</%s>", elem);
}

static void
put_time(struct vws_buf *b, const char *elem, const char *decl, int64_t ms)
{
    struct vws_datetime dt;
    char buf[VWS_DATETIME_BUFSIZE] = "1970-01-01T00:00:00Z";

    vws_datetime_from_ms(ms, &dt);
    vws_datetime_format(&dt, buf, sizeof(buf));
    put_text(b, elem, decl, buf);
}

/* A stored document without its XML declaration (it declares its own
 * namespaces). */
static void
put_document(struct vws_buf *b, const char *xml)
{
    if (!xml)
        return;
    if (strncmp(xml, "<?xml", 5) == 0) {
        const char *end = strstr(xml, "?>");
        xml = end ? end + 2 : xml;
    }
    while (*xml == '\n')
        xml++;
    vws_buf_adds(b, xml);
}

#define PROP(fn) static void fn(const struct vws_workspace *ws, struct vws_buf *b, int alone)
#define D(decl) (alone ? (decl) : "")
PROP(p_key) { put_text(b, "vws:key", D(DECL_VWS), ws->key); }
PROP(p_owner) { put_text(b, "vws:owner", D(DECL_VWS), ws->owner); }
PROP(p_category) { put_text(b, "vws:category", D(DECL_VWS), ws->category); }
PROP(p_state) { put_text(b, "vws:state", D(DECL_VWS), vws_ws_state_name(ws->state)); }
PROP(p_location) { put_text(b, "vws:location", D(DECL_VWS), vws_ws_location_name(ws->location)); }
PROP(p_host) { put_text(b, "vws:host", D(DECL_VWS), ws->host); }
PROP(p_creation) { put_time(b, "vws:creationTime", D(DECL_VWS), ws->creation_time); }
PROP(p_termination)
{
    if (ws->termination_time == VWS_STORE_NEVER)
        vws_buf_addf(b, "<wsrl2:TerminationTime%s%s xsi:nil=\"true\"/>", D(DECL_RL), D(DECL_XSI));
    else
        put_time(b, "wsrl2:TerminationTime", D(DECL_RL), ws->termination_time);
}
PROP(p_current) { put_time(b, "wsrl2:CurrentTime", D(DECL_RL), vws_time_now_ms()); }
PROP(p_lifecycle) { put_text(b, "vws:lifeCycle", D(DECL_VWS), ws->lifecycle); }
PROP(p_modified) { put_time(b, "vws:lastModified", D(DECL_VWS), ws->last_modified); }
PROP(p_reservation) { put_text(b, "vws:reservation", D(DECL_VWS), ws->reservation); }
PROP(p_fault) { put_text(b, "vws:faultReason", D(DECL_VWS), ws->fault_reason); }
PROP(p_description) { put_document(b, ws->description); }
PROP(p_deployment) { put_document(b, ws->deployment); }
#undef D
#undef PROP

/* The properties of a workspace (schema/repository.xsd), in document
 * order; an optional one may have no value. */
static const struct property {
    const char *ns, *name;
    void (*put)(const struct vws_workspace *ws, struct vws_buf *b, int alone);
} properties[] = {
    { VWS_XML_NS, "key", p_key }, { VWS_XML_NS, "owner", p_owner },
    { VWS_XML_NS, "category", p_category }, { VWS_XML_NS, "state", p_state },
    { VWS_XML_NS, "location", p_location }, { VWS_XML_NS, "host", p_host },
    { VWS_XML_NS, "creationTime", p_creation }, { NS_RL, "TerminationTime", p_termination },
    { NS_RL, "CurrentTime", p_current }, { VWS_XML_NS, "lifeCycle", p_lifecycle },
    { VWS_XML_NS, "lastModified", p_modified }, { VWS_XML_NS, "reservation", p_reservation },
    { VWS_XML_NS, "faultReason", p_fault }, { VWS_XML_NS, "virtualWorkspace", p_description },
    { VWS_XML_NS, "deploymentRequest", p_deployment },
};

void
vws_repository_properties(const struct vws_workspace *ws, struct vws_buf *b)
{
    vws_buf_adds(b, "<vws:workspaceProperties" DECL_VWS DECL_RL DECL_XSI ">");
    for (size_t i = 0; i < VWS_N_ELEMENTS(properties); i++)
        properties[i].put(ws, b, 0);
    vws_buf_adds(b, "</vws:workspaceProperties>");
}

/* The properties of WS as a libxml2 tree (NULL after a fault). */
static xmlDocPtr
properties_doc(struct soap *soap, const struct vws_workspace *ws)
{
    struct vws_buf b = VWS_BUF_INIT;
    xmlDocPtr doc;

    vws_repository_properties(ws, &b);
    doc = vws_xml_parse("properties", b.s, b.len);
    vws_buf_release(&b);
    if (!doc)
        fault_last(soap);
    return doc;
}

/* NODE as literal XML with its namespaces declared on itself. */
static char *
node_text(struct soap *soap, xmlNodePtr node)
{
    xmlDocPtr d = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr copy = xmlDocCopyNode(node, d, 1);
    xmlBufferPtr buf = xmlBufferCreate();
    char *s;

    xmlDocSetRootElement(d, copy);
    xmlReconciliateNs(d, copy);
    xmlNodeDump(buf, d, copy, 0, 0);
    s = soap_strdup(soap, (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeDoc(d);
    return s;
}

/* Resolve a QName as gSOAP delivers it ("prefix:local" with a prefix of
 * our namespace table, or "\"URI\":local") into URI and local name. */
static int
resolve_qname(struct soap *soap, const char *qname, char *uri, size_t usize,
              const char **local)
{
    const char *colon;

    if (!qname || !*qname)
        return -1;
    if (qname[0] == '"') {
        const char *end = strchr(qname + 1, '"');
        if (!end || end[1] != ':' || (size_t)(end - qname - 1) >= usize)
            return -1;
        memcpy(uri, qname + 1, (size_t)(end - qname - 1));
        uri[end - qname - 1] = '\0';
        *local = end + 2;
        return 0;
    }
    if (!(colon = strchr(qname, ':')))
        return -1;
    for (const struct Namespace *ns = soap->local_namespaces; ns && ns->id; ns++) {
        if (strlen(ns->id) == (size_t)(colon - qname) &&
            strncmp(ns->id, qname, (size_t)(colon - qname)) == 0) {
            vws_strlcpy(uri, ns->ns, usize);
            *local = colon + 1;
            return 0;
        }
    }
    return -1;
}

/* Append TEXT to the literal-XML array (*ANY, *N), in SOAP's memory (gSOAP
 * has no realloc for managed memory: results are small, copy). */
static void
any_push(struct soap *soap, char ***any, int *n, char *text)
{
    char **a = soap_malloc(soap, (size_t)(*n + 1) * sizeof(char *));

    if (*n)
        memcpy(a, *any, (size_t)*n * sizeof(char *));
    a[(*n)++] = text;
    *any = a;
}

/* Append the value of the property named QNAME (if it has one) to
 * (*ANY, *N).  0, or -1 after a fault (an unknown property name). */
static int
get_property(struct soap *soap, const struct vws_workspace *ws, const char *qname,
             char ***any, int *n)
{
    char uri[512];
    const char *local;

    if (resolve_qname(soap, qname, uri, sizeof(uri), &local) == 0) {
        for (size_t i = 0; i < VWS_N_ELEMENTS(properties); i++) {
            struct vws_buf b = VWS_BUF_INIT;
            if (strcmp(properties[i].ns, uri) != 0 || strcmp(properties[i].name, local) != 0)
                continue;
            properties[i].put(ws, &b, 1);
            if (b.len)
                any_push(soap, any, n, soap_strdup(soap, b.s));
            vws_buf_release(&b);
            return 0;
        }
    }
    {
        char msg[600];
        snprintf(msg, sizeof(msg), "unknown resource property '%s' (InvalidResourcePropertyQName)",
                 qname ? qname : "");
        fault(soap, VWS_ERR_INVALID, msg);
    }
    return -1;
}

/* ---- WS-ResourceProperties ---- */

int
__repo__GetResourceProperty(struct soap *soap, char *qname,
                            struct _wsrp2__GetResourcePropertyResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    int rc;

    if (!key || load(soap, key, SEE, &ws) < 0)
        return soap->error;
    rc = get_property(soap, &ws, qname, &resp->__any, &resp->__size) < 0 ? soap->error : SOAP_OK;
    vws_workspace_release(&ws);
    return rc;
}

int
__repo__GetMultipleResourceProperties(struct soap *soap,
                                      struct _wsrp2__GetMultipleResourceProperties *req,
                                      struct _wsrp2__GetMultipleResourcePropertiesResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    int rc = SOAP_OK;

    if (!key || load(soap, key, SEE, &ws) < 0)
        return soap->error;
    for (int i = 0; i < req->__sizeResourceProperty && rc == SOAP_OK; i++)
        if (get_property(soap, &ws, req->ResourceProperty[i], &resp->__any, &resp->__size) < 0)
            rc = soap->error;
    vws_workspace_release(&ws);
    return rc;
}

/* A query result that is not an element (a number, a string, an attribute
 * or text node) as an element, since the response holds elements only:
 * <vws:queryValue>VALUE</vws:queryValue>. */
static char *
query_value(struct soap *soap, const char *value)
{
    struct vws_buf b = VWS_BUF_INIT;
    char *s;

    vws_buf_adds(&b, "<vws:queryValue xmlns:vws=\"urn:vws:1.0\">");
    vws_buf_add_xml_escaped(&b, value ? value : "");
    vws_buf_adds(&b, "</vws:queryValue>");
    s = soap_strdup(soap, b.s);
    vws_buf_release(&b);
    return s;
}

int
__repo__QueryResourceProperties(struct soap *soap,
                                struct _wsrp2__QueryResourceProperties *req,
                                struct _wsrp2__QueryResourcePropertiesResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    const char *expr = req->QueryExpression ? req->QueryExpression->__item : NULL;
    xmlXPathContextPtr ctx = NULL;
    xmlXPathObjectPtr res = NULL;
    xmlDocPtr doc;
    int rc = SOAP_OK;

    if (!key)
        return soap->error;
    if (!req->QueryExpression || !req->QueryExpression->Dialect ||
        strcmp(req->QueryExpression->Dialect, XPATH_DIALECT) != 0)
        return fault(soap, VWS_ERR_UNSUPPORTED,
                     "unknown query dialect (UnknownQueryExpressionDialect): use "
                     XPATH_DIALECT);
    if (!expr || !*expr || strlen(expr) > MAX_XPATH)
        return fault(soap, VWS_ERR_INVALID, "the XPath expression is empty or longer than 4096");
    if (load(soap, key, SEE, &ws) < 0)
        return soap->error;
    doc = properties_doc(soap, &ws);
    vws_workspace_release(&ws);
    if (!doc)
        return soap->error;
    ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, (const xmlChar *)"vws", (const xmlChar *)VWS_XML_NS);
    xmlXPathRegisterNs(ctx, (const xmlChar *)"wsrl2", (const xmlChar *)NS_RL);
    xmlXPathRegisterNs(ctx, (const xmlChar *)"wsrf-rl", (const xmlChar *)NS_RL);
    if (!(res = xmlXPathEvalExpression((const xmlChar *)expr, ctx))) {
        char msg[4200];
        snprintf(msg, sizeof(msg), "invalid XPath expression '%s' (InvalidQueryExpression)", expr);
        rc = fault(soap, VWS_ERR_INVALID, msg);
        goto cleanup;
    }
    switch (res->type) {
    case XPATH_NODESET: {
        int n = res->nodesetval ? res->nodesetval->nodeNr : 0;
        if (n > MAX_RESULT_NODES) {
            rc = fault(soap, VWS_ERR_LIMIT, "the query selects more than 1000 nodes");
            break;
        }
        for (int i = 0; i < n; i++) {
            xmlNodePtr node = res->nodesetval->nodeTab[i];
            if (node->type == XML_ELEMENT_NODE) {
                any_push(soap, &resp->__any, &resp->__size, node_text(soap, node));
            } else {
                xmlChar *v = xmlNodeGetContent(node);
                any_push(soap, &resp->__any, &resp->__size, query_value(soap, (const char *)v));
                xmlFree(v);
            }
        }
        break;
    }
    default: {
        /* a number, string or boolean */
        xmlChar *v = xmlXPathCastToString(res);
        any_push(soap, &resp->__any, &resp->__size, query_value(soap, (const char *)v));
        xmlFree(v);
        break;
    }
    }

 cleanup:
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- WS-ResourceLifetime ---- */

int
__repo__SetTerminationTime(struct soap *soap, struct _wsrl2__SetTerminationTime *req,
                           struct _wsrl2__SetTerminationTimeResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    int64_t now = vws_time_now_ms(), when = VWS_STORE_NEVER;

    if (!key)
        return soap->error;
    if (req->__union_SetTerminationTime ==
        SOAP_UNION__wsrl2__union_SetTerminationTime_RequestedTerminationTime) {
        const char *t = req->union_SetTerminationTime.RequestedTerminationTime;
        struct vws_datetime dt;
        if (t) {   /* nil: never */
            if (vws_datetime_parse(t, &dt) < 0)
                return fault_last(soap);
            when = vws_datetime_to_ms(&dt);
            if (when <= now)
                return fault(soap, VWS_ERR_INVALID,
                             "the requested termination time is in the past "
                             "(UnableToSetTerminationTime): use Destroy");
        }
    } else {
        struct vws_duration d;
        int64_t sec;
        int32_t nsec;
        if (vws_duration_parse(req->union_SetTerminationTime.RequestedLifetimeDuration, &d) < 0 ||
            vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS, &sec, &nsec) < 0)
            return fault_last(soap);
        if (d.negative || (sec == 0 && nsec == 0) || sec > INT64_C(100) * 366 * 86400)
            return fault(soap, VWS_ERR_INVALID, "the requested lifetime must be positive "
                                                "and under 100 years");
        when = now + sec * 1000 + nsec / 1000000;
    }
    if (load(soap, key, MANAGE, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (vws_store_set_termination(repo(soap)->store, key, when) < 0)
        return fault_last(soap);
    resp->NewTerminationTime = when == VWS_STORE_NEVER ? NULL : vws_soap_time(soap, when);
    resp->CurrentTime = vws_soap_time(soap, now);
    return SOAP_OK;
}

int
__repo__Destroy(struct soap *soap, struct _wsrl2__Destroy *req, struct _wsrl2__DestroyResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");

    if (!key || load(soap, key, MANAGE, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (vws_store_destroy(repo(soap)->store, key, NULL) < 0)
        return fault_last(soap);
    VWS_INFO("'%s' destroyed workspace '%s'", caller(soap)->dn, key);
    return SOAP_OK;
}

/* ---- documents carried in requests ---- */

/* Serialize a description or deployment request received in a request, and
 * read it back through the document layer, so what is stored passed the
 * schema and the rules XSD cannot state.  New string (free it) or NULL
 * after a fault. */
static char *
checked_document(struct soap *soap, enum vws_doc_kind kind, void *value)
{
    struct vws_doc in = VWS_DOC_INIT, back = VWS_DOC_INIT;
    struct vws_buf text = VWS_BUF_INIT;

    in.kind = kind;
    in.soap = soap;       /* borrowed: never released here */
    in.u.any = value;
    if (vws_doc_serialize(&in, &text) < 0 ||
        vws_doc_parse(&back, vws_doc_kind_name(kind), text.s, text.len, kind) < 0) {
        fault_last(soap);
        vws_buf_release(&text);
        return NULL;
    }
    vws_doc_release(&back);
    return vws_buf_detach(&text, NULL);
}

static void
make_epr(struct soap *soap, struct wsa5__EndpointReferenceType *epr, const char *key)
{
    vws_soap_epr(soap, epr, repo(soap)->public_url, key);
}

static int64_t
default_termination(struct soap *soap)
{
    int64_t life = repo(soap)->default_lifetime_s;

    return life > 0 ? vws_time_now_ms() + life * 1000 : VWS_STORE_NEVER;
}

/* ---- vws operations ---- */

int
__repo__Register(struct soap *soap, struct _repo__Register *req, struct _repo__RegisterResponse *resp)
{
    struct vws_repository *r = repo(soap);
    const struct vws_identity *id = caller(soap);
    struct vws_workspace_spec spec = { 0 };
    struct vws_workspace ws;
    struct vws__VirtualWorkspaceType *w = req->vws__virtualWorkspace;
    char *desc = NULL, *dep = NULL;
    int rc = SOAP_OK;

    if (!acl_allows(soap, VWS_ACL_CREATE))
        return denied(soap, "create workspaces");
    if (req->owner && strcmp(req->owner, id->dn) != 0 &&
        !acl_has(soap, VWS_ACL_HOST) && !acl_has(soap, VWS_ACL_ADMIN))
        return denied(soap, "register a workspace for another owner (host or admin only)");
    spec.termination_time = default_termination(soap);
    if (req->terminationTime) {
        struct vws_datetime dt;
        if (vws_datetime_parse(req->terminationTime, &dt) < 0)
            return fault_last(soap);
        spec.termination_time = vws_datetime_to_ms(&dt);
        if (spec.termination_time <= vws_time_now_ms())
            return fault(soap, VWS_ERR_INVALID, "the termination time is in the past");
    }
    if (!(desc = checked_document(soap, VWS_DOC_WORKSPACE, w)))
        return soap->error;
    if (req->vws__deploymentRequest &&
        !(dep = checked_document(soap, VWS_DOC_DEPLOYMENT, req->vws__deploymentRequest))) {
        free(desc);
        return soap->error;
    }
    spec.owner = req->owner ? req->owner : id->dn;
    spec.category = w->category->__union_CategoryChoiceType ==
                    SOAP_UNION__vws__union_CategoryChoiceType_vm ? "vm" : "dynamic-account";
    spec.description = desc;
    spec.deployment = dep;
    spec.lifecycle = w->lifeCycle;
    spec.image = req->vws__deploymentRequest ? req->vws__deploymentRequest->imageTemplate : NULL;
    if (vws_store_register(r->store, &spec, &ws) < 0) {
        rc = fault_last(soap);
    } else {
        make_epr(soap, &resp->workspace, ws.key);
        resp->key = soap_strdup(soap, ws.key);
        VWS_INFO("'%s' registered workspace '%s' for '%s'", id->dn, ws.key, spec.owner);
        vws_workspace_release(&ws);
    }
    free(desc);
    free(dep);
    return rc;
}

int
__repo__Select(struct soap *soap, struct _repo__Select *req, struct _repo__SelectResponse *resp)
{
    const struct vws_identity *id = caller(soap);
    struct vws_workspace_filter f = VWS_WORKSPACE_FILTER_INIT;
    struct vws_workspace *list = NULL;
    size_t n = 0;

    if (!acl_allows(soap, VWS_ACL_INSPECT))
        return denied(soap, "inspect workspaces");
    f.owner = req->owner;
    /* everyone but admins and hosts sees their own workspaces only */
    if (!acl_has(soap, VWS_ACL_ADMIN) && !acl_has(soap, VWS_ACL_HOST)) {
        if (req->owner && strcmp(req->owner, id->dn) != 0)
            return SOAP_OK;     /* nothing of someone else's: an empty list */
        f.owner = id->dn;
    }
    if (req->state)
        f.state = (int)*req->state;   /* same order as enum vws_ws_state */
    if (req->category)
        f.category = *req->category == vws__CategoryNameType__vm ? "vm" : "dynamic-account";
    if (req->location)
        f.location = (int)*req->location;
    f.limit = req->limit ? *req->limit : 0;
    if (vws_store_select(repo(soap)->store, &f, &list, &n) < 0)
        return fault_last(soap);
    resp->__sizeentry = (int)n;
    resp->entry = soap_new_repo__SelectEntryType(soap, (int)(n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        struct repo__SelectEntryType *e = &resp->entry[i];
        e->key = soap_strdup(soap, list[i].key);
        e->owner = soap_strdup(soap, list[i].owner);
        e->state = (enum vws__StateType)list[i].state;
        e->location = (enum vws__LocationStateType)list[i].location;
        e->lastModified = vws_soap_time(soap, list[i].last_modified);
    }
    vws_workspace_list_free(list, n);
    return SOAP_OK;
}

int
__repo__Clone(struct soap *soap, struct _repo__Clone *req, struct _repo__CloneResponse *resp)
{
    struct vws_workspace ws, copy;
    const char *key = vws_soap_resource_key(soap, "workspace");
    char new_key[VWS_UUID_BUFSIZE];

    if (!key || load(soap, key, SEE, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (!acl_allows(soap, VWS_ACL_CREATE))
        return denied(soap, "create workspaces");
    if (vws_store_clone(repo(soap)->store, key, caller(soap)->dn, default_termination(soap),
                        new_key, &copy) < 0)
        return fault_last(soap);
    vws_workspace_release(&copy);
    make_epr(soap, &resp->workspace, new_key);
    resp->key = soap_strdup(soap, new_key);
    return SOAP_OK;
}

int
__repo__Refine(struct soap *soap, struct _repo__Refine *req, struct _repo__RefineResponse *resp)
{
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    char *desc;
    int rc = SOAP_OK;

    if (!key || load(soap, key, MANAGE, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (!(desc = checked_document(soap, VWS_DOC_WORKSPACE, req->vws__virtualWorkspace)))
        return soap->error;
    if (vws_store_refine(repo(soap)->store, key, desc) < 0)
        rc = fault_last(soap);
    free(desc);
    return rc;
}

static void
image_to_soap(struct soap *soap, const struct vws_image *img, struct vws__ImageTemplateType *t)
{
    t->name = soap_strdup(soap, img->name);
    t->format = strcmp(img->format, "raw") == 0 ? vws__ImageFormatType__raw
              : strcmp(img->format, "qcow2") == 0 ? vws__ImageFormatType__qcow2
              : vws__ImageFormatType__kernel_x002binitrd;
    t->location = soap_strdup(soap, img->location);
    t->size = img->size;
    t->sha256 = soap_strdup(soap, img->sha256);
    if (img->initrd_location) {
        t->initrd = soap_new_vws__FileRefType(soap, 1);
        t->initrd->location = soap_strdup(soap, img->initrd_location);
        t->initrd->size = img->initrd_size;
        t->initrd->sha256 = soap_strdup(soap, img->initrd_sha256);
    }
    t->cmdline = img->cmdline ? soap_strdup(soap, img->cmdline) : NULL;
    t->description = img->description ? soap_strdup(soap, img->description) : NULL;
}

static const char *const format_names[] = { "raw", "qcow2", "kernel+initrd" };

/* The pools the workspace's NICs lease from ("pool" method only). */
static size_t
pool_nics(struct soap *soap, const char *description, const char **pools, const char **names,
          size_t max)
{
    struct vws_doc doc = VWS_DOC_INIT;
    size_t n = 0;

    if (!description ||
        vws_doc_parse(&doc, "description", description, strlen(description), VWS_DOC_WORKSPACE) < 0)
        return 0;
    if (doc.u.workspace->network) {
        for (int i = 0; i < doc.u.workspace->network->__sizenic && n < max; i++) {
            struct vws__NICType *nic = &doc.u.workspace->network->nic[i];
            if (nic->method != vws__IPMethodType__pool)
                continue;
            pools[n] = soap_strdup(soap, nic->association ? nic->association
                                                          : repo(soap)->default_pool);
            names[n] = soap_strdup(soap, nic->name);
            n++;
        }
    }
    vws_doc_release(&doc);
    return n;
}

int
__repo__Checkout(struct soap *soap, struct _repo__Checkout *req, struct _repo__CheckoutResponse *resp)
{
    struct vws_repository *r = repo(soap);
    const struct vws_identity *id = caller(soap);
    struct vws_workspace ws;
    struct vws_image img;
    const char *key = vws_soap_resource_key(soap, "workspace");
    const char *pools[8], *nic_names[8];
    size_t n_nics;
    unsigned nodes = req->nodes ? *req->nodes : 1;

    if (!key || load(soap, key, HOLD, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (nodes != 1)
        return fault(soap, VWS_ERR_UNSUPPORTED,
                     "checkout of more than one node per call is not supported yet: "
                     "check out each node's workspace");
    if (vws_store_checkout(r->store, key, id->dn, &ws) < 0)
        return fault_last(soap);
    if (ws.image) {
        vws_image_init(&img);
        if (vws_store_image_get(r->store, ws.image, &img) == 0) {
            resp->vws__imageTemplate = soap_new_vws__ImageTemplateType(soap, 1);
            image_to_soap(soap, &img, resp->vws__imageTemplate);
        }
        vws_image_release(&img);
    }
    resp->__sizeinstanceMetadata = 1;
    resp->vws__instanceMetadata = soap_new_vws__InstanceMetadataType(soap, 1);
    {
        struct vws__InstanceMetadataType *m = resp->vws__instanceMetadata;
        char host[64];

        m->workspaceId = soap_strdup(soap, key);
        m->node = soap_malloc(soap, sizeof(*m->node));
        *m->node = 0;
        snprintf(host, sizeof(host), "ws-%.8s", key);
        m->hostname = soap_strdup(soap, host);
        n_nics = pool_nics(soap, ws.description, pools, nic_names, VWS_N_ELEMENTS(pools));
        m->__sizenic = (int)n_nics;
        m->nic = soap_new_vws__BoundNICType(soap, (int)(n_nics ? n_nics : 1));
        for (size_t i = 0; i < n_nics; i++) {
            struct vws_netpool *pool = vws_netpool_find(r->pools, r->n_pools, pools[i]);
            struct vws_lease lease;

            if (!pool) {
                vws_store_release(r->store, key, id->dn);
                vws_store_lease_release(r->store, key);
                vws_workspace_release(&ws);
                return fault(soap, VWS_ERR_NOT_FOUND, "the workspace asks for an address "
                                                      "from a network pool this site does not have");
            }
            vws_lease_init(&lease);
            if (vws_netpool_lease(pool, r->store, key, &lease) < 0) {
                int rc = fault_last(soap);
                vws_store_release(r->store, key, id->dn);
                vws_store_lease_release(r->store, key);
                vws_workspace_release(&ws);
                return rc;
            }
            m->nic[i].name = soap_strdup(soap, nic_names[i]);
            m->nic[i].mac = soap_strdup(soap, lease.mac);
            m->nic[i].ip = soap_strdup(soap, lease.ip);
            m->nic[i].netmask = soap_strdup(soap, lease.netmask);
            m->nic[i].gateway = lease.gateway ? soap_strdup(soap, lease.gateway) : NULL;
            m->nic[i].broadcast = lease.broadcast ? soap_strdup(soap, lease.broadcast) : NULL;
            if (i == 0 && lease.hostname)
                m->hostname = soap_strdup(soap, lease.hostname);
            vws_lease_release(&lease);
        }
        if (ws.cert_pem && ws.key_pem) {
            m->credential = soap_new_vws__CredentialType(soap, 1);
            m->credential->certificate = soap_strdup(soap, ws.cert_pem);
            m->credential->privateKey = soap_strdup(soap, ws.key_pem);
        }
    }
    VWS_INFO("'%s' checked out workspace '%s'", id->dn, key);
    vws_workspace_release(&ws);
    return SOAP_OK;
}

int
__repo__Release(struct soap *soap, struct _repo__Release *req, struct _repo__ReleaseResponse *resp)
{
    struct vws_repository *r = repo(soap);
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");

    if (!key || load(soap, key, HOLD, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (vws_store_release(r->store, key, caller(soap)->dn) < 0)
        return fault_last(soap);
    if (vws_store_lease_release(r->store, key) < 0)
        return fault_last(soap);
    VWS_INFO("'%s' released workspace '%s'", caller(soap)->dn, key);
    return SOAP_OK;
}

int
__repo__ReportState(struct soap *soap, struct _repo__ReportState *req,
                    struct _repo__ReportStateResponse *resp)
{
    struct vws_repository *r = repo(soap);
    struct vws_workspace ws;
    const char *key = vws_soap_resource_key(soap, "workspace");
    const char *dn = caller(soap)->dn;

    if (!key)
        return soap->error;
    if (req->state == vws__StateType__corrupted && acl_has(soap, VWS_ACL_HOST) &&
        vws_store_get(r->store, key, &ws) == 0) {
        /* another host (the Factory) declares a workspace lost whose holder
         * stopped answering: corrupted with the reason, the lock and the
         * addresses taken back */
        bool other = ws.lock_holder && strcmp(ws.lock_holder, dn) != 0;
        vws_workspace_release(&ws);
        if (other) {
            if (!req->reason || !*req->reason)
                return fault(soap, VWS_ERR_INVALID, "a workspace declared lost needs a reason");
            if (vws_store_mark_corrupted(r->store, key, req->reason) < 0 ||
                vws_store_release(r->store, key, NULL) < 0 ||
                vws_store_lease_release(r->store, key) < 0)
                return fault_last(soap);
            VWS_WARN("'%s' declared workspace '%s' lost: %s", dn, key, req->reason);
            return SOAP_OK;
        }
    }
    if (load(soap, key, HOLD, &ws) < 0)
        return soap->error;
    vws_workspace_release(&ws);
    if (req->location &&
        vws_store_report_location(r->store, key, dn, (enum vws_ws_location)*req->location) < 0)
        return fault_last(soap);
    if (vws_store_report_state(r->store, key, dn, (enum vws_ws_state)req->state, req->reason) < 0)
        return fault_last(soap);
    return SOAP_OK;
}

/* ---- the image pool ---- */

int
__repo__RegisterImage(struct soap *soap, struct _repo__RegisterImage *req,
                      struct _repo__RegisterImageResponse *resp)
{
    struct vws__ImageTemplateType *t = req->vws__imageTemplate;
    struct vws_image img;
    char *checked;
    int rc = SOAP_OK;

    if (!acl_allows(soap, VWS_ACL_ADMIN))
        return denied(soap, "register images (admin only)");
    if (!(checked = checked_document(soap, VWS_DOC_IMAGE, t)))
        return soap->error;
    free(checked);
    vws_image_init(&img);
    img.name = t->name;
    img.format = (char *)format_names[t->format];
    img.location = t->location;
    img.size = t->size;
    img.sha256 = t->sha256;
    if (t->initrd) {
        img.initrd_location = t->initrd->location;
        img.initrd_size = t->initrd->size;
        img.initrd_sha256 = t->initrd->sha256;
    }
    img.cmdline = t->cmdline;
    img.description = t->description;
    if (vws_store_image_register(repo(soap)->store, &img) < 0)
        rc = fault_last(soap);
    else
        VWS_INFO("'%s' registered image '%s'", caller(soap)->dn, t->name);
    return rc;   /* IMG borrowed the request's strings: nothing to release */
}

int
__repo__GetImageTemplate(struct soap *soap, struct _repo__GetImageTemplate *req,
                         struct _repo__GetImageTemplateResponse *resp)
{
    struct vws_image img;
    int rc = SOAP_OK;

    if (!acl_has(soap, VWS_ACL_INSPECT) && !acl_allows(soap, VWS_ACL_HOST))
        return denied(soap, "inspect the image pool");
    vws_image_init(&img);
    if (vws_store_image_get(repo(soap)->store, req->name, &img) < 0) {
        rc = fault_last(soap);
    } else {
        resp->vws__imageTemplate = soap_new_vws__ImageTemplateType(soap, 1);
        image_to_soap(soap, &img, resp->vws__imageTemplate);
    }
    vws_image_release(&img);
    return rc;
}

int
__repo__ListImages(struct soap *soap, struct _repo__ListImages *req,
                   struct _repo__ListImagesResponse *resp)
{
    struct vws_image *list = NULL;
    size_t n = 0;

    if (!acl_has(soap, VWS_ACL_INSPECT) && !acl_allows(soap, VWS_ACL_HOST))
        return denied(soap, "inspect the image pool");
    if (vws_store_image_list(repo(soap)->store, &list, &n) < 0)
        return fault_last(soap);
    resp->__sizeimageTemplate = (int)n;
    resp->vws__imageTemplate = soap_new_vws__ImageTemplateType(soap, (int)(n ? n : 1));
    for (size_t i = 0; i < n; i++)
        image_to_soap(soap, &list[i], &resp->vws__imageTemplate[i]);
    vws_image_list_free(list, n);
    return SOAP_OK;
}

int
__repo__RemoveImage(struct soap *soap, struct _repo__RemoveImage *req,
                    struct _repo__RemoveImageResponse *resp)
{
    if (!acl_allows(soap, VWS_ACL_ADMIN))
        return denied(soap, "remove images (admin only)");
    if (vws_store_image_remove(repo(soap)->store, req->name) < 0)
        return fault_last(soap);
    VWS_INFO("'%s' removed image '%s'", caller(soap)->dn, req->name);
    return SOAP_OK;
}
