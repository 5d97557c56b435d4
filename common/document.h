/*
 * document.h — vws documents as C structures.
 *
 * The C types are generated from the XSDs by wsdl2h/soapcpp2 (wsdl/gen/
 * soapStub.h: struct vws__VirtualWorkspaceType and friends), so the XSD is
 * the one definition of every document.  Reading a document:
 *   1. vws_xml_parse()     safe parse (no DTD, bounded size and depth)
 *   2. vws_xml_validate()  against the embedded schemas
 *   3. the rules XSD 1.0 cannot state (min <= max, a window that ends after
 *      it starts, kernel+initrd needs an initrd ...), with line numbers
 *   4. gSOAP's generated reader maps the validated text to the C struct.
 * vws_doc_serialize() writes the struct back; reading that again gives the
 * same data (tests/check_xml.c proves the round trip on every example).
 */
#ifndef VWS_DOCUMENT_H
#define VWS_DOCUMENT_H

#include <stddef.h>

struct soap;
struct vws_buf;
struct vws__VirtualWorkspaceType;
struct vws__DeploymentRequestType;
struct vws__ImageTemplateType;
struct vws__InstanceMetadataType;

enum vws_doc_kind {
    VWS_DOC_ANY = 0,          /* as an argument: accept any kind */
    VWS_DOC_WORKSPACE,        /* <virtualWorkspace> */
    VWS_DOC_DEPLOYMENT,       /* <deploymentRequest> */
    VWS_DOC_IMAGE,            /* <imageTemplate> */
    VWS_DOC_INSTANCE,         /* <instanceMetadata> */
};

struct vws_doc {
    enum vws_doc_kind kind;
    struct soap *soap;        /* owns the structure below */
    union {
        void *any;
        struct vws__VirtualWorkspaceType *workspace;
        struct vws__DeploymentRequestType *deployment;
        struct vws__ImageTemplateType *image;
        struct vws__InstanceMetadataType *instance;
    } u;
};

#define VWS_DOC_INIT { VWS_DOC_ANY, NULL, { NULL } }

/* Root element name of a kind ("virtualWorkspace", ...). */
const char *vws_doc_kind_name(enum vws_doc_kind kind);

/* Parse, validate, check and map LEN bytes of BUF into DOC (which must be
 * VWS_DOC_INIT or released).  EXPECT limits the kind (VWS_DOC_ANY: any).
 * NAME is used in messages.  0, or -1 with the first error reported. */
int vws_doc_parse(struct vws_doc *doc, const char *name, const char *buf,
                  size_t len, enum vws_doc_kind expect);

/* The same for a file. */
int vws_doc_load(struct vws_doc *doc, const char *path, enum vws_doc_kind expect);

/* Append DOC as an XML document (UTF-8, indented) to OUT.  0 or -1. */
int vws_doc_serialize(const struct vws_doc *doc, struct vws_buf *out);

/* Free what DOC holds; DOC is VWS_DOC_INIT afterwards.  NULL-safe. */
void vws_doc_release(struct vws_doc *doc);

#endif /* VWS_DOCUMENT_H */
