/*
 * soap.c — one namespace table and one way to make a gSOAP context for
 * every vws program (see soap.h).
 */
#define VWS_MODULE "soap"
#include <config.h>

#include "soapH.h"
#include "wsaapi.h"
#include "RepositoryBinding.nsmap"   /* the same table for all four services */

#include "strbuf.h"
#include "uuid.h"
#include "xstime.h"
#include "wsdl/soap.h"
#include "internal.h"

int
vws_soap_unserved(struct soap *soap, const char *operation)
{
    if (strcmp(operation, "SOAP_ENV__Fault") == 0)
        return SOAP_OK;   /* a fault sent to us one-way: nothing to answer */
    VWS_WARN("operation '%s' is not served by this endpoint", operation);
    return soap_sender_fault(soap, "operation not served by this endpoint",
                             operation);
}

struct soap *
vws_soap_new_mode(int mode)
{
    struct soap *soap = soap_new1(mode);

    if (!soap) {
        vws_report_error(VWS_ERR_NOMEM, "cannot create a gSOAP context");
        return NULL;
    }
    soap_set_namespaces(soap, namespaces);
    soap->recv_maxlength = VWS_SOAP_MAX_MESSAGE;
    soap->maxlevel = VWS_SOAP_MAX_DEPTH;
    soap->maxoccurs = VWS_SOAP_MAX_OCCURS;
    return soap;
}

struct soap *
vws_soap_new(void)
{
    struct soap *soap = vws_soap_new_mode(SOAP_C_UTFSTRING | SOAP_XML_STRICT);

    if (!soap)
        return NULL;
    if (soap_register_plugin(soap, soap_wsa) != SOAP_OK) {
        vws_report_error(VWS_ERR_INTERNAL, "cannot register the WS-Addressing plugin");
        soap_free(soap);
        return NULL;
    }
    return soap;
}

void
vws_soap_free(struct soap *soap)
{
    if (!soap)
        return;
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
}

/* ---- faults ---- */

/* Whether CODE is the caller's mistake (a sender fault). */
static int
client_error(vws_error_code code)
{
    switch (code) {
    case VWS_ERR_INVALID_ARG: case VWS_ERR_PARSE: case VWS_ERR_INVALID:
    case VWS_ERR_LIMIT: case VWS_ERR_SECURITY: case VWS_ERR_NOT_FOUND:
    case VWS_ERR_EXISTS: case VWS_ERR_DENIED: case VWS_ERR_STATE:
    case VWS_ERR_UNSUPPORTED:
        return 1;
    default:
        return 0;
    }
}

int
vws_soap_fault(struct soap *soap, vws_error_code code, const char *message)
{
    struct vws_buf d = VWS_BUF_INIT;
    char *msg = soap_strdup(soap, message);
    char *detail;

    vws_buf_addf(&d, "<vws:error xmlns:vws=\"urn:vws:1.0\" code=\"%s\">",
                 vws_error_code_name(code));
    vws_buf_add_xml_escaped(&d, message);
    vws_buf_adds(&d, "</vws:error>");
    detail = soap_strdup(soap, d.s);
    vws_buf_release(&d);
    if (client_error(code)) {
        VWS_INFO("%s: %s", soap->action ? soap->action : "request", message);
        return soap_sender_fault(soap, msg, detail);
    }
    VWS_ERROR("%s: %s", soap->action ? soap->action : "request", message);
    return soap_receiver_fault(soap, msg, detail);
}

int
vws_soap_fault_last(struct soap *soap)
{
    return vws_soap_fault(soap, vws_error_code_last(), vws_error_message());
}

int
vws_soap_call_failed(struct soap *soap, const char *what)
{
    const char **s = soap_faultstring(soap);
    const char **d = soap_faultdetail(soap);
    const char *text = s && *s ? *s : "no reason given";
    vws_error_code code = VWS_ERR_IO;

    if (soap->error == SOAP_CLI_FAULT || soap->error == SOAP_SVR_FAULT ||
        soap->error == SOAP_FAULT) {
        const char *c = d && *d ? strstr(*d, "code=\"") : NULL;
        if (c) {
            char name[32];
            size_t n = strcspn(c + 6, "\"");
            if (n < sizeof(name)) {
                memcpy(name, c + 6, n);
                name[n] = '\0';
                code = vws_error_code_parse(name);
                if (code == VWS_ERR_INTERNAL)
                    code = VWS_ERR_IO;
            }
        }
        vws_report_error(code, "%s: %s", what, text);
    } else {
        vws_report_error(VWS_ERR_IO, "%s: cannot talk to the service: %s%s%s", what,
                         text, d && *d ? ": " : "", d && *d ? *d : "");
    }
    return -1;
}

/* ---- endpoint references ---- */

void
vws_soap_epr(struct soap *soap, struct wsa5__EndpointReferenceType *epr,
             const char *address, const char *key)
{
    struct wsa5__ReferenceParametersType *rp = soap_new_wsa5__ReferenceParametersType(soap, 1);
    char param[160];

    snprintf(param, sizeof(param),
             "<vws:WorkspaceKey xmlns:vws=\"urn:vws:1.0\">%s</vws:WorkspaceKey>", key);
    epr->Address = soap_strdup(soap, address);
    rp->__size = 1;
    rp->__any = soap_malloc(soap, sizeof(char *));
    rp->__any[0] = soap_strdup(soap, param);
    epr->ReferenceParameters = rp;
}

/* ---- values ---- */

const char *
vws_soap_resource_key(struct soap *soap, const char *what)
{
    const char *key = soap->header ? soap->header->vws__WorkspaceKey : NULL;
    char msg[256];

    if (!key) {
        snprintf(msg, sizeof(msg), "no vws:WorkspaceKey header: send the reference parameters "
                 "of the %s's EPR as SOAP header blocks", what);
        vws_soap_fault(soap, VWS_ERR_INVALID, msg);
        return NULL;
    }
    if (!vws_uuid_is_valid(key)) {
        snprintf(msg, sizeof(msg), "malformed %s key in the EPR", what);
        vws_soap_fault(soap, VWS_ERR_INVALID, msg);
        return NULL;
    }
    return key;
}

char *
vws_soap_time(struct soap *soap, int64_t ms)
{
    struct vws_datetime dt;
    char buf[VWS_DATETIME_BUFSIZE];

    vws_datetime_from_ms(ms, &dt);
    if (vws_datetime_format(&dt, buf, sizeof(buf)) < 0)
        return soap_strdup(soap, "1970-01-01T00:00:00Z");
    return soap_strdup(soap, buf);
}
