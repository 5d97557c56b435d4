/*
 * xml.h — XML documents from outside, read safely and checked against the
 * vws schemas.
 *
 * Every document a vws program takes from outside (a file given to a tool,
 * a description inside a request) goes through vws_xml_parse(), which
 *   - refuses inputs larger than a limit before parsing them,
 *   - refuses NUL bytes and empty input with a clear message,
 *   - never touches the network or the file system (no external entities,
 *     no DTD loading),
 *   - refuses any document type declaration, so no entity can be declared
 *     and none expanded (billion laughs, external entities to /etc/passwd),
 *   - bounds the element nesting depth;
 * and vws_xml_validate(), which checks the tree against schema/vws.xsd.  The
 * XSDs are embedded in the program at build time (schema/embedded.c).
 *
 * Errors are reported once (error.h) as "NAME:LINE: what was wrong".
 */
#ifndef VWS_XML_H
#define VWS_XML_H

#include <stddef.h>
#include <libxml/tree.h>

struct vws_buf;

/* Limits for one document. */
#define VWS_XML_MAX_BYTES (4u * 1024 * 1024)  /* 4 MiB: descriptions are small */
#define VWS_XML_MAX_DEPTH 64

/* The vws namespace of every document (schema/common.xsd). */
#define VWS_XML_NS "urn:vws:1.0"

/* A file compiled into the program (schema/embedded.c). */
struct vws_embedded_file {
    const char *name;   /* base name, e.g. "workspace.xsd" */
    const char *data;
    size_t size;
};
extern const struct vws_embedded_file vws_embedded_schemas[];

/* Read a whole regular file of at most MAX bytes into a new NUL-terminated
 * buffer (caller frees *BUF).  Refuses directories, devices, FIFOs and files
 * over the limit without reading them.  0 or -1. */
int vws_xml_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Parse LEN bytes of BUF (NAME is used in messages: a file name or
 * "request").  Returns a new document (free with xmlFreeDoc) or NULL after
 * reporting VWS_ERR_LIMIT, VWS_ERR_PARSE or VWS_ERR_SECURITY. */
xmlDocPtr vws_xml_parse(const char *name, const char *buf, size_t len);

/* Validate DOC against the vws schemas.  0, or -1 with VWS_ERR_INVALID and
 * the first problem ("NAME:LINE: element 'ram', attribute 'min': ..."). */
int vws_xml_validate(xmlDocPtr doc, const char *name);

/* Compare two trees as data: namespace URIs and local names (not prefixes),
 * attributes in any order, text with whitespace-only nodes and comments
 * ignored.  Returns 1 if equal, 0 if not (and, if WHY is not NULL, appends
 * where they first differ). */
int vws_xml_equal(xmlNodePtr a, xmlNodePtr b, struct vws_buf *why);

/* Set up libxml2 and compile the schemas; called implicitly, thread-safe.
 * -1 only if the embedded schemas do not compile (a build bug). */
int vws_xml_init(void);

#endif /* VWS_XML_H */
