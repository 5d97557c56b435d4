/*
 * service.h — the Manager's SOAP operations (wsdl/manager.wsdl) on top of
 * manager.h.  The daemon (vws-manager.c) makes one struct
 * vws_manager_service and hands it to the daemon framework as its service
 * data.
 */
#ifndef VWS_MANAGER_SERVICE_H
#define VWS_MANAGER_SERVICE_H

struct vws_manager;
struct vws_acl_handle;

struct vws_manager_service {
    struct vws_manager *manager;       /* borrowed */
    struct vws_acl_handle *acl;        /* borrowed; NULL: nobody is served */
};

#endif
