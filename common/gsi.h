/*
 * gsi.h — Grid Security Infrastructure for vws's SOAP endpoints: TLS with
 * X.509 certificates and RFC 3820 proxy certificates, VOMS attributes, and
 * the Globus conventions for where credentials live.
 *
 * Server: vws_gsi_server_init() on a gSOAP context, then per connection
 * vws_gsi_accept(), which completes the TLS handshake, requires a client
 * certificate chain that verifies against the trusted CA directory (proxies
 * allowed, expiry and optional CRLs checked), reads and verifies VOMS
 * attributes, and fills one struct vws_identity.  Every refusal is logged
 * with the peer address and the reason: a TLS 1.3 client only sees the
 * connection close.
 *
 * Client: vws_gsi_client_init() with a proxy file (cert + key + chain, as
 * grid-proxy-init writes it) or a certificate and key; the server must
 * present a certificate for the host name in the URL.
 *
 * Files and environment (Globus):
 *   X509_CERT_DIR    trusted CAs, hashed   [/etc/grid-security/certificates]
 *   X509_VOMS_DIR    VOMS .lsc files       [/etc/grid-security/vomsdir]
 *   X509_USER_PROXY  the client's proxy    [/tmp/x509up_u<uid>]
 *   X509_USER_CERT, X509_USER_KEY   a certificate and key (client without a
 *                    proxy, or a service)  [~/.globus/user{cert,key}.pem]
 *   host credentials [/etc/grid-security/host{cert,key}.pem]
 */
#ifndef VWS_GSI_H
#define VWS_GSI_H

#include <stdbool.h>
#include <openssl/ssl.h>

struct soap;
struct vws_identity;

struct vws_gsi_config {
    char *cert_dir;     /* trusted CA directory */
    char *vomsdir;      /* VOMS server descriptions */
    char *cert_file;    /* own certificate (or proxy file) */
    char *key_file;     /* own key (the proxy file again for a proxy) */
    bool crl_check;     /* refuse certificates listed in <hash>.r0 CRLs */
};

#define VWS_GSI_CONFIG_INIT { NULL, NULL, NULL, NULL, false }

/* Fill C from the environment and the Globus defaults: for a service (host
 * credentials) or for a grid client (proxy first, then cert/key).  Strings
 * are copied; release with vws_gsi_config_release(). */
void vws_gsi_config_service(struct vws_gsi_config *c);
void vws_gsi_config_client(struct vws_gsi_config *c);
void vws_gsi_config_release(struct vws_gsi_config *c);

/* Set up SOAP's TLS for a server that requires GSI clients.  0 or -1. */
int vws_gsi_server_init(struct soap *soap, const struct vws_gsi_config *c);

/* Set up SOAP's TLS for a client.  0 or -1. */
int vws_gsi_client_init(struct soap *soap, const struct vws_gsi_config *c);

/* After soap_accept(): the TLS handshake and the caller's identity.  0 with
 * ID filled, or -1 after logging "refused PEER: reason" at warn level (the
 * error is also reported).  The socket is closed on failure. */
int vws_gsi_accept(struct soap *soap, const struct vws_gsi_config *c,
                   struct vws_identity *id);

/* The identity of the verified peer of SSL (server side).  0 or -1. */
int vws_gsi_identity(SSL *ssl, const struct vws_gsi_config *c,
                     struct vws_identity *id);

/* Limited proxies may inspect and manage but not create or deploy: -1 with
 * VWS_ERR_DENIED reported for a limited proxy when CREATES_WORK is true. */
int vws_gsi_check_proxy(const struct vws_identity *id, bool creates_work,
                        const char *operation);

#endif /* VWS_GSI_H */
