/*
 * xml.c — safe parsing and schema validation of vws documents (see xml.h).
 *
 * Parsing uses libxml2 with a SAX handler of our own on top of the default
 * tree builder: it stops the parser at the first document type declaration
 * (so no entity is ever declared, loaded or expanded) and when the nesting
 * passes VWS_XML_MAX_DEPTH.  The parser options never enable entity
 * substitution, DTD loading or network access.
 *
 * The schemas are compiled once from the copies embedded in the program; an
 * entity loader that knows only those files is installed while they compile,
 * so compiling never reads the file system or the network either.
 */
#define VWS_MODULE "xml"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlschemas.h>

#include "xml.h"
#include "internal.h"

/* ---- reading files ---- */

int
vws_xml_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        vws_report_system_error("cannot open '%s'", path);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        vws_report_system_error("cannot stat '%s'", path);
        goto error;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_IO, "'%s' is not a regular file", path);
        goto error;
    }
    if ((uint64_t)st.st_size > max) {
        vws_report_error(VWS_ERR_LIMIT,
                         "%s: document is %lld bytes, more than the limit of %zu",
                         path, (long long)st.st_size, max);
        goto error;
    }
    data = vws_malloc((size_t)st.st_size + 1);
    for (;;) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size + 1 - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vws_report_system_error("cannot read '%s'", path);
            goto error;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > (size_t)st.st_size) {   /* grew while we read it */
            vws_report_error(VWS_ERR_IO, "'%s' changed while being read", path);
            goto error;
        }
    }
    close(fd);
    data[got] = '\0';
    *buf = data;
    *len = got;
    return 0;

 error:
    free(data);
    close(fd);
    return -1;
}

/* ---- parsing ---- */

struct parse_state {
    const char *name;
    int refused;               /* we stopped the parser and reported why */
    startElementNsSAX2Func start_element;
};

static void
refuse(xmlParserCtxtPtr ctxt, vws_error_code code, const char *msg)
{
    struct parse_state *st = ctxt->_private;

    if (!st->refused) {
        vws_report_error(code, "%s:%d: %s", st->name,
                         xmlSAX2GetLineNumber(ctxt), msg);
        st->refused = 1;
    }
    xmlStopParser(ctxt);
}

static void
sax_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                    const xmlChar *sys_id)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "document type declaration '%s' refused: vws "
             "documents may not have a DTD (no entities, no external references)",
             name ? (const char *)name : "");
    refuse(ctx, VWS_ERR_SECURITY, msg);
}

static void
sax_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                const xmlChar *system_id, xmlChar *content)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "entity declaration '%s' refused", (const char *)name);
    refuse(ctx, VWS_ERR_SECURITY, msg);
}

static xmlEntityPtr
sax_get_entity(void *ctx, const xmlChar *name)
{
    /* Only the five predefined entities exist; libxml2 resolves those
     * before asking.  Anything else is an undeclared entity. */
    char msg[512];

    snprintf(msg, sizeof(msg), "reference to undeclared entity '&%s;' refused",
             (const char *)name);
    refuse(ctx, VWS_ERR_SECURITY, msg);
    return NULL;
}

static void
sax_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                  const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                  int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    if (ctxt->nameNr > VWS_XML_MAX_DEPTH) {
        char msg[128];

        snprintf(msg, sizeof(msg), "elements nested deeper than %d levels",
                 VWS_XML_MAX_DEPTH);
        refuse(ctxt, VWS_ERR_LIMIT, msg);
        return;
    }
    st->start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces,
                      nb_attributes, nb_defaulted, attributes);
}

xmlDocPtr
vws_xml_parse(const char *name, const char *buf, size_t len)
{
    struct parse_state st = { .name = name };
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    const char *nul;

    if (vws_xml_init() < 0)
        return NULL;
    if (len == 0) {
        vws_report_error(VWS_ERR_PARSE, "%s: empty document", name);
        return NULL;
    }
    if (len > VWS_XML_MAX_BYTES) {
        vws_report_error(VWS_ERR_LIMIT,
                         "%s: document is %zu bytes, more than the limit of %u",
                         name, len, VWS_XML_MAX_BYTES);
        return NULL;
    }
    if ((nul = memchr(buf, '\0', len))) {
        vws_report_error(VWS_ERR_PARSE,
                         "%s: not an XML text document (NUL byte at offset %zu)",
                         name, (size_t)(nul - buf));
        return NULL;
    }

    if (!(ctxt = xmlNewParserCtxt())) {
        vws_report_error(VWS_ERR_NOMEM, "%s: cannot create an XML parser", name);
        return NULL;
    }
    ctxt->_private = &st;
    st.start_element = ctxt->sax->startElementNs;
    ctxt->sax->startElementNs = sax_start_element;
    ctxt->sax->internalSubset = sax_internal_subset;
    ctxt->sax->externalSubset = sax_internal_subset;
    ctxt->sax->entityDecl = sax_entity_decl;
    ctxt->sax->getEntity = sax_get_entity;
    ctxt->sax->getParameterEntity = sax_get_entity;
    ctxt->sax->resolveEntity = NULL;
    ctxt->sax->warning = NULL;
    ctxt->sax->error = NULL;       /* errors are read from ctxt->lastError */
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;

    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, name, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (st.refused) {
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (!doc || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[512] = "not well-formed XML";

        if (e && e->message) {
            vws_strlcpy(msg, e->message, sizeof(msg));
            msg[strcspn(msg, "\n")] = '\0';
        }
        vws_report_error(VWS_ERR_PARSE, "%s:%d: malformed XML: %s", name,
                         e && e->line > 0 ? e->line : 1, msg);
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc->intSubset || doc->extSubset) {
        /* cannot happen with the handlers above; refuse all the same */
        vws_report_error(VWS_ERR_SECURITY, "%s: document type declarations are refused", name);
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (!xmlDocGetRootElement(doc)) {
        vws_report_error(VWS_ERR_PARSE, "%s: no root element", name);
        xmlFreeDoc(doc);
        doc = NULL;
    }
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    return doc;
}

/* ---- schemas ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static xmlSchemaPtr vws_schema;
static char init_error[512];

static const struct vws_embedded_file *
embedded_find(const char *url)
{
    const char *base = strrchr(url, '/');

    base = base ? base + 1 : url;
    for (const struct vws_embedded_file *f = vws_embedded_schemas; f->name; f++)
        if (strcmp(f->name, base) == 0)
            return f;
    return NULL;
}

/* The only entity loader in force while the schemas compile. */
static xmlParserInputPtr
embedded_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    const struct vws_embedded_file *f = url ? embedded_find(url) : NULL;
    xmlParserInputPtr in;

    if (!f || !ctxt)
        return NULL;
    /* embed-files.sh ends every file with a NUL byte */
    if (!(in = xmlNewStringInputStream(ctxt, (const xmlChar *)f->data)))
        return NULL;
    in->filename = (char *)xmlStrdup((const xmlChar *)f->name);
    return in;
}

static void
schema_error(void *data, xmlErrorPtr e)
{
    if (!init_error[0] && e && e->message)
        snprintf(init_error, sizeof(init_error), "%s:%d: %s",
                 e->file ? e->file : "vws.xsd", e->line, e->message);
}

static void
init_schemas(void)
{
    xmlExternalEntityLoader old;
    xmlSchemaParserCtxtPtr pctxt;

    xmlInitParser();
    old = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(embedded_loader);
    if ((pctxt = xmlSchemaNewParserCtxt("vws.xsd"))) {
        xmlSchemaSetParserStructuredErrors(pctxt, schema_error, NULL);
        vws_schema = xmlSchemaParse(pctxt);
        xmlSchemaFreeParserCtxt(pctxt);
    }
    xmlSetExternalEntityLoader(old);
    if (!vws_schema && !init_error[0])
        vws_strlcpy(init_error, "cannot compile the embedded schemas", sizeof(init_error));
}

int
vws_xml_init(void)
{
    pthread_once(&init_once, init_schemas);
    if (!vws_schema) {
        vws_report_error(VWS_ERR_INTERNAL, "embedded schema: %s", init_error);
        return -1;
    }
    return 0;
}

struct validate_state {
    const char *name;
    int line;
    char msg[768];
};

static void
validate_error(void *data, xmlErrorPtr e)
{
    struct validate_state *st = data;

    if (st->msg[0] || !e || !e->message)
        return;
    vws_strlcpy(st->msg, e->message, sizeof(st->msg));
    st->msg[strcspn(st->msg, "\n")] = '\0';
    st->line = e->line;
    if (st->line <= 0 && e->node)
        st->line = (int)xmlGetLineNo(e->node);
}

/* libxml2 names elements "{urn:vws:1.0}ram": show them as plain "ram". */
static void
strip_namespace(char *msg)
{
    static const char ns[] = "{" VWS_XML_NS "}";
    char *p;

    while ((p = strstr(msg, ns)))
        memmove(p, p + sizeof(ns) - 1, strlen(p + sizeof(ns) - 1) + 1);
}

int
vws_xml_validate(xmlDocPtr doc, const char *name)
{
    struct validate_state st = { .name = name };
    xmlSchemaValidCtxtPtr vctxt;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc;

    if (vws_xml_init() < 0)
        return -1;
    if (!root) {
        vws_report_error(VWS_ERR_INVALID, "%s: no root element", name);
        return -1;
    }
    if (!root->ns || strcmp((const char *)root->ns->href, VWS_XML_NS) != 0) {
        vws_report_error(VWS_ERR_INVALID,
                         "%s:%d: root element '%s' is in namespace '%s'; expected "
                         "a vws document in namespace '%s' (virtualWorkspace, "
                         "deploymentRequest, imageTemplate or instanceMetadata)",
                         name, (int)xmlGetLineNo(root), (const char *)root->name,
                         root->ns ? (const char *)root->ns->href : "(none)", VWS_XML_NS);
        return -1;
    }
    if (!(vctxt = xmlSchemaNewValidCtxt(vws_schema))) {
        vws_report_error(VWS_ERR_NOMEM, "%s: cannot create a schema validator", name);
        return -1;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, validate_error, &st);
    rc = xmlSchemaValidateDoc(vctxt, doc);
    xmlSchemaFreeValidCtxt(vctxt);
    if (rc != 0) {
        if (!st.msg[0])
            vws_strlcpy(st.msg, "document does not match the schema", sizeof(st.msg));
        strip_namespace(st.msg);
        vws_report_error(VWS_ERR_INVALID, "%s:%d: %s", name, st.line > 0 ? st.line : 1,
                         st.msg);
        return -1;
    }
    return 0;
}

/* ---- comparing trees ---- */

static int
is_blank_text(xmlNodePtr n)
{
    return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
           xmlIsBlankNode(n);
}

static xmlNodePtr
next_significant(xmlNodePtr n)
{
    while (n && (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE ||
                 is_blank_text(n)))
        n = n->next;
    return n;
}

static const char *
ns_of(xmlNodePtr n)
{
    return n->ns && n->ns->href ? (const char *)n->ns->href : "";
}

static int
attrs_equal(xmlNodePtr a, xmlNodePtr b, struct vws_buf *why)
{
    int na = 0, nb = 0;

    for (xmlAttrPtr x = a->properties; x; x = x->next)
        na++;
    for (xmlAttrPtr x = b->properties; x; x = x->next)
        nb++;
    for (xmlAttrPtr x = a->properties; x; x = x->next) {
        const xmlChar *href = x->ns ? x->ns->href : NULL;
        xmlChar *va = xmlNodeListGetString(a->doc, x->children, 1);
        xmlChar *vb = xmlGetNsProp(b, x->name, href);
        int same = vb && xmlStrEqual(va, vb);

        if (!same && why)
            vws_buf_addf(why, "attribute '%s' of '%s': '%s' vs '%s'", x->name,
                         a->name, va ? (const char *)va : "",
                         vb ? (const char *)vb : "(absent)");
        xmlFree(va);
        xmlFree(vb);
        if (!same)
            return 0;
    }
    if (na != nb) {
        if (why)
            vws_buf_addf(why, "element '%s' has %d attributes vs %d", a->name, na, nb);
        return 0;
    }
    return 1;
}

int
vws_xml_equal(xmlNodePtr a, xmlNodePtr b, struct vws_buf *why)
{
    xmlNodePtr ca, cb;

    if (a->type != b->type) {
        if (why)
            vws_buf_addf(why, "node '%s' differs in kind", a->name ? (const char *)a->name : "");
        return 0;
    }
    if (a->type == XML_TEXT_NODE || a->type == XML_CDATA_SECTION_NODE) {
        if (!xmlStrEqual(a->content, b->content)) {
            if (why)
                vws_buf_addf(why, "text '%s' vs '%s'", (const char *)a->content,
                             (const char *)b->content);
            return 0;
        }
        return 1;
    }
    if (a->type != XML_ELEMENT_NODE)
        return 1;
    if (!xmlStrEqual(a->name, b->name) || strcmp(ns_of(a), ns_of(b)) != 0) {
        if (why)
            vws_buf_addf(why, "element {%s}%s vs {%s}%s", ns_of(a), a->name,
                         ns_of(b), b->name);
        return 0;
    }
    if (!attrs_equal(a, b, why))
        return 0;
    ca = next_significant(a->children);
    cb = next_significant(b->children);
    while (ca && cb) {
        if (!vws_xml_equal(ca, cb, why))
            return 0;
        ca = next_significant(ca->next);
        cb = next_significant(cb->next);
    }
    if (ca || cb) {
        if (why)
            vws_buf_addf(why, "element '%s': '%s' has no counterpart", a->name,
                         ca ? (const char *)ca->name : (const char *)cb->name);
        return 0;
    }
    return 1;
}
