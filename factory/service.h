/*
 * service.h — the Factory's SOAP operations (wsdl/factory.wsdl and
 * wsdl/agreement.wsdl) on factory.h.  vws-factory.c makes one struct
 * vws_factory_service and hands it to the daemon framework.
 */
#ifndef VWS_FACTORY_SERVICE_H
#define VWS_FACTORY_SERVICE_H

struct vws_factory;
struct vws_acl_handle;

struct vws_factory_service {
    struct vws_factory *factory;       /* borrowed */
    struct vws_acl_handle *acl;        /* borrowed; NULL: nobody is served */
    const char *public_url;            /* the agreement EPRs' address */
};

#endif
