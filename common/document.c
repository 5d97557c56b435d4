/*
 * document.c — vws documents read into the C structures generated from the
 * XSDs, and written back (see document.h).
 *
 * The rules below are the ones XML Schema 1.0 cannot express; each names
 * the element and its line.  Everything else is the schema's job, and the
 * mapping is gSOAP's generated code: no second description of a document
 * exists in C.
 */
#define VWS_MODULE "document"
#include <config.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "soapH.h"

/* gSOAP's soap_read_X/soap_write_X macros are comma expressions whose left
 * parts GCC flags as unused values; the generated code is not ours to fix. */
#pragma GCC diagnostic ignored "-Wunused-value"

#include "document.h"
#include "wsdl/soap.h"
#include "xml.h"
#include "xstime.h"
#include "internal.h"

static const char *const kind_names[] = {
    [VWS_DOC_ANY] = "document",
    [VWS_DOC_WORKSPACE] = "virtualWorkspace",
    [VWS_DOC_DEPLOYMENT] = "deploymentRequest",
    [VWS_DOC_IMAGE] = "imageTemplate",
    [VWS_DOC_INSTANCE] = "instanceMetadata",
};

const char *
vws_doc_kind_name(enum vws_doc_kind kind)
{
    if ((size_t)kind >= VWS_N_ELEMENTS(kind_names))
        return "unknown";
    return kind_names[kind];
}

/* ---- tree helpers ---- */

static int
is_vws(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, VWS_XML_NS) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (is_vws(c, name))
            return c;
    return NULL;
}

static char *
text_of(xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    char *s = vws_strdup(t ? (const char *)t : "");

    xmlFree(t);
    return s;
}

static int
line_of(xmlNodePtr n)
{
    return (int)xmlGetLineNo(n);
}

/* ---- rules XSD 1.0 cannot state ---- */

/* Every range element (min/max attributes): min <= max. */
static int
check_ranges(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is_vws(n, NULL)) {
            xmlChar *min = xmlGetNoNsProp(n, (const xmlChar *)"min");
            xmlChar *max = xmlGetNoNsProp(n, (const xmlChar *)"max");
            uint64_t a, b;
            int bad = min && max &&
                      vws_parse_u64((const char *)min, &a) == 0 &&
                      vws_parse_u64((const char *)max, &b) == 0 && a > b;

            if (bad)
                vws_report_error(VWS_ERR_INVALID,
                                 "%s:%d: element '%s': min %s is greater than max %s",
                                 name, line_of(n), (const char *)n->name,
                                 (const char *)min, (const char *)max);
            xmlFree(min);
            xmlFree(max);
            if (bad)
                return -1;
        }
        if (check_ranges(n->children, name) < 0)
            return -1;
    }
    return 0;
}

/* Attribute ATTR of the element children called ELEM of N is unique. */
static int
check_unique(xmlNodePtr n, const char *const *elems, const char *attr, const char *name)
{
    for (xmlNodePtr a = n ? n->children : NULL; a; a = a->next) {
        int match = 0;
        for (const char *const *e = elems; *e; e++)
            match |= is_vws(a, *e);
        if (!match)
            continue;
        xmlChar *va = xmlGetNoNsProp(a, (const xmlChar *)attr);
        for (xmlNodePtr b = a->next; b && va; b = b->next) {
            int m = 0;
            for (const char *const *e = elems; *e; e++)
                m |= is_vws(b, *e);
            if (!m)
                continue;
            xmlChar *vb = xmlGetNoNsProp(b, (const xmlChar *)attr);
            int same = vb && xmlStrEqual(va, vb);
            xmlFree(vb);
            if (same) {
                vws_report_error(VWS_ERR_INVALID,
                                 "%s:%d: %s '%s' is already defined at line %d",
                                 name, line_of(b), attr, (const char *)va, line_of(a));
                xmlFree(va);
                return -1;
            }
        }
        xmlFree(va);
    }
    return 0;
}

static int
get_datetime(xmlNodePtr n, const char *name, struct vws_datetime *dt)
{
    char *s = text_of(n);
    int rc = vws_datetime_parse(s, dt);

    if (rc < 0)
        vws_report_error(VWS_ERR_INVALID, "%s:%d: element '%s': %s", name,
                         line_of(n), (const char *)n->name, vws_error_message());
    free(s);
    return rc;
}

/* A duration that must be positive (xs:duration allows "-PT1H" and "PT0S"). */
static int
check_positive_duration(xmlNodePtr n, const char *name)
{
    struct vws_duration d;
    int64_t sec;
    int32_t nsec;
    char *s;
    int rc = -1;

    if (!n)
        return 0;
    s = text_of(n);
    if (vws_duration_parse(s, &d) < 0 ||
        vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS, &sec, &nsec) < 0) {
        vws_report_error(VWS_ERR_INVALID, "%s:%d: element '%s': %s", name,
                         line_of(n), (const char *)n->name, vws_error_message());
    } else if (d.negative || (sec == 0 && nsec == 0)) {
        vws_report_error(VWS_ERR_INVALID,
                         "%s:%d: element '%s': duration '%s' must be positive",
                         name, line_of(n), (const char *)n->name, s);
    } else {
        rc = 0;
    }
    free(s);
    return rc;
}

/* EPR reference parameters travel as literal XML (gSOAP's wsa5.h), which
 * keeps only the namespace declarations written on the parameter itself. */
static int
check_reference_parameters(xmlNodePtr epr, const char *name)
{
    static const char wsa[] = "http://www.w3.org/2005/08/addressing";

    for (xmlNodePtr rp = epr ? epr->children : NULL; rp; rp = rp->next) {
        if (rp->type != XML_ELEMENT_NODE || !rp->ns ||
            strcmp((const char *)rp->ns->href, wsa) != 0 ||
            strcmp((const char *)rp->name, "ReferenceParameters") != 0)
            continue;
        for (xmlNodePtr p = rp->children; p; p = p->next) {
            int declared = !p->ns;
            if (p->type != XML_ELEMENT_NODE)
                continue;
            for (xmlNsPtr d = p->nsDef; d && !declared; d = d->next)
                declared = d == p->ns;
            if (!declared) {
                vws_report_error(VWS_ERR_INVALID,
                                 "%s:%d: reference parameter '%s' must declare its "
                                 "namespace on itself (xmlns=\"%s\"): reference "
                                 "parameters travel as literal XML",
                                 name, line_of(p), (const char *)p->name,
                                 (const char *)p->ns->href);
                return -1;
            }
        }
    }
    return 0;
}

static int
check_workspace(xmlNodePtr root, const char *name)
{
    static const char *const disk_dev[] = { "disk", "device", NULL };
    static const char *const nic[] = { "nic", NULL };
    xmlNodePtr hw = child(root, "hardware");
    xmlNodePtr net = child(root, "network");

    if (check_positive_duration(child(root, "lifeCycle"), name) < 0 ||
        check_reference_parameters(child(root, "EPR"), name) < 0)
        return -1;
    if (check_unique(hw, disk_dev, "name", name) < 0 ||
        check_unique(net, nic, "name", name) < 0)
        return -1;
    for (xmlNodePtr n = net ? net->children : NULL; n; n = n->next) {
        if (!is_vws(n, "nic"))
            continue;
        xmlChar *method = xmlGetNoNsProp(n, (const xmlChar *)"method");
        int is_static = method && xmlStrEqual(method, (const xmlChar *)"static");
        int bad = 0;

        if (is_static && (!child(n, "ip") || !child(n, "netmask"))) {
            vws_report_error(VWS_ERR_INVALID,
                             "%s:%d: nic with method 'static' needs 'ip' and 'netmask'",
                             name, line_of(n));
            bad = 1;
        } else if (!is_static && (child(n, "ip") || child(n, "netmask") ||
                                  child(n, "gateway"))) {
            vws_report_error(VWS_ERR_INVALID,
                             "%s:%d: nic with method '%s' takes no 'ip', 'netmask' "
                             "or 'gateway' (only method 'static' does)",
                             name, line_of(n), method ? (const char *)method : "");
            bad = 1;
        }
        xmlFree(method);
        if (bad)
            return -1;
    }
    return 0;
}

static int
check_deployment(xmlNodePtr root, const char *name)
{
    xmlNodePtr start = child(root, "start");
    xmlNodePtr end = child(root, "end");
    xmlNodePtr window = child(start, "window");
    xmlNodePtr start_exact = child(start, "exact");
    xmlNodePtr end_exact = child(end, "exact");
    struct vws_datetime s, e, lo, hi;
    xmlChar *imm = xmlGetNoNsProp(root, (const xmlChar *)"immediate");
    int immediate = imm && (xmlStrEqual(imm, (const xmlChar *)"true") ||
                            xmlStrEqual(imm, (const xmlChar *)"1"));

    xmlFree(imm);
    if (immediate && start) {
        vws_report_error(VWS_ERR_INVALID,
                         "%s:%d: immediate=\"true\" is for requests without a start "
                         "(now or refuse); this one has a start", name, line_of(start));
        return -1;
    }
    if (check_positive_duration(child(end, "duration"), name) < 0)
        return -1;
    if (window) {
        xmlNodePtr a = child(window, "earliest"), b = child(window, "latest");
        if (get_datetime(a, name, &lo) < 0 || get_datetime(b, name, &hi) < 0)
            return -1;
        if (vws_datetime_compare(&lo, &hi) >= 0) {
            vws_report_error(VWS_ERR_INVALID,
                             "%s:%d: event window: 'latest' must be after 'earliest'",
                             name, line_of(b));
            return -1;
        }
        s = hi;   /* the end must come after the whole window */
    } else if (start_exact) {
        if (get_datetime(start_exact, name, &s) < 0)
            return -1;
    }
    if (end_exact) {
        if (get_datetime(end_exact, name, &e) < 0)
            return -1;
        if ((window || start_exact) && vws_datetime_compare(&s, &e) >= 0) {
            vws_report_error(VWS_ERR_INVALID,
                             "%s:%d: the end must be after the %s", name,
                             line_of(end_exact),
                             window ? "latest start of the event window" : "start");
            return -1;
        }
    }
    return 0;
}

static int
check_image(xmlNodePtr root, const char *name)
{
    xmlNodePtr format = child(root, "format");
    char *f = text_of(format);
    int kernel = strcmp(f, "kernel+initrd") == 0;
    int rc = 0;

    if (kernel && !child(root, "initrd")) {
        vws_report_error(VWS_ERR_INVALID,
                         "%s:%d: format 'kernel+initrd' needs an 'initrd' element",
                         name, line_of(format));
        rc = -1;
    } else if (!kernel && (child(root, "initrd") || child(root, "cmdline"))) {
        xmlNodePtr n = child(root, "initrd") ? child(root, "initrd") : child(root, "cmdline");
        vws_report_error(VWS_ERR_INVALID,
                         "%s:%d: '%s' is only for format 'kernel+initrd', not '%s'",
                         name, line_of(n), (const char *)n->name, f);
        rc = -1;
    }
    free(f);
    return rc;
}

static int
netmask_ok(const char *s)
{
    unsigned a, b, c, d;
    uint32_t m;

    if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
        return 0;
    m = (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
    return m != 0 && ((~m + 1) & ~m) == 0;   /* ones then zeros */
}

static int
check_instance(xmlNodePtr root, const char *name)
{
    static const char *const nic[] = { "nic", NULL };

    if (check_unique(root, nic, "name", name) < 0)
        return -1;
    for (xmlNodePtr n = root->children; n; n = n->next) {
        xmlNodePtr mask = is_vws(n, "nic") ? child(n, "netmask") : NULL;
        char *s;
        int ok;

        if (!mask)
            continue;
        s = text_of(mask);
        ok = netmask_ok(s);
        if (!ok)
            vws_report_error(VWS_ERR_INVALID,
                             "%s:%d: netmask '%s' is not a contiguous network mask",
                             name, line_of(mask), s);
        free(s);
        if (!ok)
            return -1;
    }
    return 0;
}

static enum vws_doc_kind
kind_of(xmlNodePtr root)
{
    for (size_t k = VWS_DOC_WORKSPACE; k < VWS_N_ELEMENTS(kind_names); k++)
        if (is_vws(root, kind_names[k]))
            return (enum vws_doc_kind)k;
    return VWS_DOC_ANY;
}

static int
check_rules(xmlDocPtr x, enum vws_doc_kind kind, const char *name)
{
    xmlNodePtr root = xmlDocGetRootElement(x);

    if (check_ranges(root, name) < 0)
        return -1;
    switch (kind) {
    case VWS_DOC_WORKSPACE: return check_workspace(root, name);
    case VWS_DOC_DEPLOYMENT: return check_deployment(root, name);
    case VWS_DOC_IMAGE: return check_image(root, name);
    case VWS_DOC_INSTANCE: return check_instance(root, name);
    case VWS_DOC_ANY: break;
    }
    return 0;
}

/* ---- mapping with gSOAP ---- */

static struct soap *
doc_soap_new(void)
{
    struct soap *soap = vws_soap_new_mode(SOAP_C_UTFSTRING | SOAP_XML_STRICT |
                                          SOAP_XML_INDENT | SOAP_XML_NOTYPE |
                                          SOAP_XML_CANONICAL);

    if (!soap)
        return NULL;
    soap->maxlevel = VWS_XML_MAX_DEPTH + 8;
    soap->recv_maxlength = VWS_XML_MAX_BYTES;
    return soap;
}

static int
soap_failed(struct soap *soap, const char *name, const char *what)
{
    const char **s = soap_faultstring(soap);

    vws_report_error(VWS_ERR_INTERNAL, "%s: cannot %s: gSOAP error %d: %s", name,
                     what, soap->error, s && *s ? *s : "unknown");
    return -1;
}

static int
map_document(struct vws_doc *doc, const char *name, const char *buf)
{
    struct soap *soap = doc_soap_new();
    int rc = SOAP_OK;

    if (!soap)
        return -1;
    soap->is = buf;
    switch (doc->kind) {
    case VWS_DOC_WORKSPACE:
        doc->u.workspace = soap_new_vws__VirtualWorkspaceType(soap, 1);
        rc = soap_read__vws__virtualWorkspace(soap, doc->u.workspace);
        break;
    case VWS_DOC_DEPLOYMENT:
        doc->u.deployment = soap_new_vws__DeploymentRequestType(soap, 1);
        rc = soap_read__vws__deploymentRequest(soap, doc->u.deployment);
        break;
    case VWS_DOC_IMAGE:
        doc->u.image = soap_new_vws__ImageTemplateType(soap, 1);
        rc = soap_read__vws__imageTemplate(soap, doc->u.image);
        break;
    case VWS_DOC_INSTANCE:
        doc->u.instance = soap_new_vws__InstanceMetadataType(soap, 1);
        rc = soap_read__vws__instanceMetadata(soap, doc->u.instance);
        break;
    case VWS_DOC_ANY:
        rc = SOAP_TYPE;
        break;
    }
    soap->is = NULL;
    if (rc != SOAP_OK) {
        /* validation passed, so this is a disagreement between libxml2 and
         * the generated reader: a bug to report, not bad input */
        soap_failed(soap, name, "map the document");
        soap_destroy(soap);
        soap_end(soap);
        soap_free(soap);
        doc->u.any = NULL;
        return -1;
    }
    doc->soap = soap;
    return 0;
}

int
vws_doc_parse(struct vws_doc *doc, const char *name, const char *buf,
              size_t len, enum vws_doc_kind expect)
{
    xmlDocPtr x;
    enum vws_doc_kind kind;
    char *copy = NULL;
    int rc = -1;

    if (!(x = vws_xml_parse(name, buf, len)))
        return -1;
    if (vws_xml_validate(x, name) < 0)
        goto cleanup;
    kind = kind_of(xmlDocGetRootElement(x));
    if (expect != VWS_DOC_ANY && kind != expect) {
        vws_report_error(VWS_ERR_INVALID, "%s:%d: expected a '%s' document, not '%s'",
                         name, line_of(xmlDocGetRootElement(x)),
                         vws_doc_kind_name(expect), vws_doc_kind_name(kind));
        goto cleanup;
    }
    if (check_rules(x, kind, name) < 0)
        goto cleanup;
    /* gSOAP reads a NUL-terminated string; BUF may not be one */
    copy = vws_strndup(buf, len);
    doc->kind = kind;
    if (map_document(doc, name, copy) < 0) {
        doc->kind = VWS_DOC_ANY;
        goto cleanup;
    }
    rc = 0;

 cleanup:
    free(copy);
    xmlFreeDoc(x);
    return rc;
}

int
vws_doc_load(struct vws_doc *doc, const char *path, enum vws_doc_kind expect)
{
    char *buf;
    size_t len;
    int rc;

    if (vws_xml_read_file(path, VWS_XML_MAX_BYTES, &buf, &len) < 0)
        return -1;
    rc = vws_doc_parse(doc, path, buf, len, expect);
    free(buf);
    return rc;
}

int
vws_doc_serialize(const struct vws_doc *doc, struct vws_buf *out)
{
    struct soap *soap;
    const char *text = NULL;
    int rc = SOAP_OK;

    if (!doc->soap || !doc->u.any) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no document to serialize");
        return -1;
    }
    if (!(soap = doc_soap_new()))
        return -1;
    soap->os = &text;
    switch (doc->kind) {
    case VWS_DOC_WORKSPACE:
        rc = soap_write__vws__virtualWorkspace(soap, doc->u.workspace);
        break;
    case VWS_DOC_DEPLOYMENT:
        rc = soap_write__vws__deploymentRequest(soap, doc->u.deployment);
        break;
    case VWS_DOC_IMAGE:
        rc = soap_write__vws__imageTemplate(soap, doc->u.image);
        break;
    case VWS_DOC_INSTANCE:
        rc = soap_write__vws__instanceMetadata(soap, doc->u.instance);
        break;
    case VWS_DOC_ANY:
        rc = SOAP_TYPE;
        break;
    }
    soap->os = NULL;
    if (rc != SOAP_OK || !text) {
        soap_failed(soap, vws_doc_kind_name(doc->kind), "serialize");
        rc = -1;
    } else {
        vws_buf_adds(out, text);
        if (out->len && out->s[out->len - 1] != '\n')
            vws_buf_addch(out, '\n');
        rc = 0;
    }
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return rc;
}

void
vws_doc_release(struct vws_doc *doc)
{
    if (!doc)
        return;
    if (doc->soap) {
        soap_destroy(doc->soap);
        soap_end(doc->soap);
        soap_free(doc->soap);
    }
    doc->soap = NULL;
    doc->u.any = NULL;
    doc->kind = VWS_DOC_ANY;
}
