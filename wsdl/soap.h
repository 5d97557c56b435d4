/*
 * soap.h — the glue between vws and the gSOAP code generated from wsdl/.
 *
 * Include after "soapH.h".  The namespace table of all four services lives
 * in wsdl/soap.c (one table: every binary may talk to every service).
 */
#ifndef VWS_WSDL_SOAP_H
#define VWS_WSDL_SOAP_H

#include <stdint.h>

#include "common/error.h"

struct soap;

/* Answer an operation this endpoint does not serve with a SOAP client fault
 * naming it (used by the weak definitions in the generated unserved.c). */
int vws_soap_unserved(struct soap *soap, const char *operation);

/* A bare gSOAP context with MODE flags (SOAP_XML_STRICT ...), our namespace
 * table and the message limits below, or NULL after reporting an error.
 * Documents use it as it is; services use vws_soap_new(). */
struct soap *vws_soap_new_mode(int mode);

/* Create a gSOAP context set up the vws way: UTF-8, strict XML (no DTD, a
 * depth and size bound), our namespace table, the WS-Addressing plugin.
 * Returns NULL after reporting an error.  Free with vws_soap_free(). */
struct soap *vws_soap_new(void);
void vws_soap_free(struct soap *soap);

/* ---- faults: the service edge ---- */

/* Answer the request with a SOAP fault for CODE and MESSAGE: a sender
 * fault (the caller's mistake: invalid, denied, not-found, state, ...) or
 * a receiver fault (ours), whose detail is <vws:error code="NAME">MESSAGE
 * </vws:error>.  Logged at info (sender) or error (receiver) level with the
 * action.  Returns the gSOAP error code for the operation to return. */
int vws_soap_fault(struct soap *soap, vws_error_code code, const char *message);
/* The error reported last on this thread, as a fault. */
int vws_soap_fault_last(struct soap *soap);

/* After a failed client call on SOAP: report it as a vws error naming WHAT
 * ("checkout of workspace 'K' at 'URL'").  A fault with a vws:error detail
 * keeps its code and message; another fault is VWS_ERR_IO with its fault
 * string; a transport failure is VWS_ERR_IO "cannot reach ...".  Returns
 * -1. */
int vws_soap_call_failed(struct soap *soap, const char *what);

/* Fill EPR (in SOAP's memory): ADDRESS and KEY as the vws:WorkspaceKey
 * reference parameter. */
struct wsa5__EndpointReferenceType;
void vws_soap_epr(struct soap *soap, struct wsa5__EndpointReferenceType *epr,
                  const char *address, const char *key);

/* The key of a call on a resource (WHAT: "workspace", "agreement"): the
 * EPR's reference parameter, sent back as the vws:WorkspaceKey header
 * block; NULL after answering with a fault (missing or malformed). */
const char *vws_soap_resource_key(struct soap *soap, const char *what);

/* MS (milliseconds since the epoch) as xs:dateTime text in SOAP's memory. */
char *vws_soap_time(struct soap *soap, int64_t ms);

/* Limits applied to every message a vws program receives. */
#define VWS_SOAP_MAX_MESSAGE (8u * 1024 * 1024)   /* bytes */
#define VWS_SOAP_MAX_DEPTH   64                  /* element nesting */
#define VWS_SOAP_MAX_OCCURS  100000              /* array elements */

#endif /* VWS_WSDL_SOAP_H */
