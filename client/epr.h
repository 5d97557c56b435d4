/*
 * epr.h — workspace endpoint references in files, as the vws client keeps
 * them: a wsa:EndpointReference with the service Address and the
 * vws:WorkspaceKey reference parameter.
 */
#ifndef VWS_CLIENT_EPR_H
#define VWS_CLIENT_EPR_H

#include "uuid.h"

struct vws_epr {
    char *address;                   /* https://host:port/path */
    char key[VWS_UUID_BUFSIZE];      /* the workspace key */
};

/* Read the EPR file PATH (safely parsed; at most 64 KiB).  0 or -1. */
int vws_epr_load(struct vws_epr *epr, const char *path);
/* Write it to PATH (mode 0644, replaced atomically), or to stdout when PATH
 * is "-".  0 or -1. */
int vws_epr_save(const struct vws_epr *epr, const char *path);
void vws_epr_release(struct vws_epr *epr);

#endif
