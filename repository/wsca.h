/*
 * wsca.h — the site workspace CA: a certificate and key for each workspace
 * (seed 004 §3.2: "each workspace is configured with a certificate and a
 * private key to authenticate itself to clients").
 *
 * The Repository loads the CA once (vws_wsca_open) and issues a credential
 * at register and clone; the store keeps it and the Manager binds it into
 * the instance.  A credential:
 *   subject   the CA's subject without its trailing CN, then
 *             OU=vws-workspaces, CN=<workspace key>.  So with the test PKI's
 *             CA "/O=Grid/OU=vws-test/CN=vws workspace CA" a workspace is
 *             "/O=Grid/OU=vws-test/OU=vws-workspaces/CN=<key>": inside the
 *             namespace the CA's Globus signing_policy allows (subjects
 *             under "/O=Grid/OU=vws-test/"), which a fixed
 *             "/O=Grid/OU=vws-workspaces/..." would not be.
 *   key       EC P-256 by default (a few ms; this certificate never signs a
 *             GSI proxy, so grid-proxy-init's RSA-only limit does not apply),
 *             or RSA 2048 (VWS_WSCA_KEY_RSA2048).
 *   validity  5 minutes in the past (clock skew) to NOT_AFTER, clipped to
 *             the CA's own notAfter.
 *   serial    128 random bits (positive).
 *   extensions basicConstraints CA:FALSE (critical); keyUsage
 *             digitalSignature, plus keyEncipherment for RSA (critical);
 *             extendedKeyUsage clientAuth, serverAuth; subjectKeyIdentifier;
 *             authorityKeyIdentifier; subjectAltName URI:urn:uuid:<key> and,
 *             when the hostname is known, DNS:<hostname>.
 *   key PEM   PKCS#8, unencrypted (the store keeps it in a 0600 database).
 *
 * Thread-safe: after vws_wsca_open() the CA is only read; any number of
 * threads may call vws_wsca_issue() at once.
 */
#ifndef VWS_WSCA_H
#define VWS_WSCA_H

#include <stdint.h>

struct vws_wsca;

enum vws_wsca_key_type {
    VWS_WSCA_KEY_EC_P256 = 0,
    VWS_WSCA_KEY_RSA2048,
};

struct vws_wsca_credential {
    char *cert_pem;
    char *key_pem;          /* cleared before it is freed */
    char serial[40];        /* hex, uppercase, as `openssl x509 -serial` */
    int64_t not_after;      /* ms */
};

/* Load the CA certificate CERT_FILE and its unencrypted private key
 * KEY_FILE (PEM).  Refused: unreadable files, a key that does not match the
 * certificate, a certificate that is not a CA (basicConstraints) or has
 * expired.  NULL with the error reported. */
struct vws_wsca *vws_wsca_open(const char *cert_file, const char *key_file,
                               enum vws_wsca_key_type key_type);
void vws_wsca_free(struct vws_wsca *ca);

/* The CA's subject in the Globus form ("/O=Grid/OU=.../CN=..."); owned by
 * CA. */
const char *vws_wsca_subject(const struct vws_wsca *ca);

/* Issue a credential for workspace KEY (a UUID) valid until NOT_AFTER_MS
 * (ms since the epoch; clipped to the CA's notAfter; it must be in the
 * future).  HOSTNAME (a DNS name, or NULL) goes into the subjectAltName.
 * OUT is filled (release it with vws_wsca_credential_release()).  0, or -1
 * with the error reported. */
int vws_wsca_issue(struct vws_wsca *ca, const char *key, const char *hostname,
                   int64_t not_after_ms, struct vws_wsca_credential *out);

void vws_wsca_credential_release(struct vws_wsca_credential *cred);

#endif /* VWS_WSCA_H */
