/*
 * voms.h — VOMS attribute certificates in a verified proxy chain.
 *
 * Kept apart from everything else because voms_apic.h defines GSS-API
 * types that clash with Globus headers (TOOLCHAIN.md).
 */
#ifndef VWS_VOMS_H
#define VWS_VOMS_H

#include <openssl/x509.h>

struct vws_identity;

/* Read and verify the VOMS attributes of LEAF (with the rest of its verified
 * CHAIN, leaf excluded) against VOMSDIR (vomsdir/<vo>/<host>.lsc) and
 * CERTDIR.  On success, fills ID->fqans (normalised), ID->n_fqans and ID->vo
 * and returns 1; returns 0 when the chain carries no VOMS extension (a plain
 * proxy: ID untouched); returns -1 with VWS_ERR_DENIED reported when an
 * attribute certificate is present but does not verify (forged, expired,
 * unknown VOMS server) — such a caller must be refused, not treated as
 * attribute-less.  Thread-safe. */
int vws_voms_attributes(X509 *leaf, STACK_OF(X509) *chain, const char *vomsdir,
                        const char *certdir, struct vws_identity *id);

/* Initialise libvomsapi once (thread-safe); servers call it before their
 * worker threads start.  vws_voms_attributes() calls it too. */
void vws_voms_init(void);

/* Verified attributes are cached by the digest of the certificate carrying
 * them (at most 5 minutes, never past the attribute certificate's end).
 * Forget them all (tests; a daemon after its vomsdir changed). */
void vws_voms_cache_clear(void);

#endif /* VWS_VOMS_H */
