/*
 * soap.c — one namespace table and one way to make a gSOAP context for
 * every vws program (see soap.h).
 */
#define VWS_MODULE "soap"
#include <config.h>

#include "soapH.h"
#include "wsaapi.h"
#include "RepositoryBinding.nsmap"   /* the same table for all four services */

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
