/*
 * identity.h — who is calling: the one value every operation receives.
 *
 * Made by common/gsi from a verified TLS peer chain (RFC 3820 proxies and
 * VOMS attributes), consumed by common/acl and the services.  Everything is
 * owned by the struct; vws_identity_release() frees it.
 */
#ifndef VWS_IDENTITY_H
#define VWS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum vws_proxy_kind {
    VWS_PROXY_NONE = 0,     /* the end-entity certificate itself */
    VWS_PROXY_FULL,         /* RFC 3820 proxy, inheritAll (impersonation) */
    VWS_PROXY_LIMITED,      /* RFC 3820 limited proxy: not for create/deploy */
    VWS_PROXY_INDEPENDENT,  /* independent proxy (no rights of the issuer) */
    VWS_PROXY_RESTRICTED,   /* a policy language vws does not know */
};

struct vws_identity {
    /* End-entity subject in the Globus form: "/O=Grid/OU=vws/CN=Alice". */
    char *dn;
    /* Issuer of the end-entity certificate, same form. */
    char *issuer;
    /* Verified VOMS FQANs, normalised ("/vws/Role=admin", "/vws/users":
     * no "/Role=NULL", no "/Capability=NULL"), first is the primary one. */
    char **fqans;
    size_t n_fqans;
    char *vo;                     /* VO of the attributes, or NULL */
    enum vws_proxy_kind proxy;    /* the most restrictive kind in the chain */
    int proxy_depth;              /* proxies above the end-entity cert */
    time_t not_after;             /* earliest expiry in the chain */
    bool is_host;                 /* a host or service credential */
};

#define VWS_IDENTITY_INIT { NULL, NULL, NULL, 0, NULL, VWS_PROXY_NONE, 0, 0, false }

void vws_identity_release(struct vws_identity *id);
/* Deep copy of SRC into DST (which must be empty). */
void vws_identity_copy(struct vws_identity *dst, const struct vws_identity *src);
/* Normalise one FQAN in place-free fashion: returns a new string, or NULL
 * (with VWS_ERR_INVALID reported) if FQAN is not "/vo[/group...][/Role=r]
 * [/Capability=c]". */
char *vws_fqan_normalise(const char *fqan);
const char *vws_proxy_kind_name(enum vws_proxy_kind kind);

#endif /* VWS_IDENTITY_H */
