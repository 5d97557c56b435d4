/*
 * gsi.c — TLS with proxy certificates and VOMS for gSOAP (see gsi.h).
 *
 * OpenSSL does the chain verification (with X509_V_FLAG_ALLOW_PROXY_CERTS
 * so RFC 3820 proxies are accepted, and the proxy naming rules enforced);
 * this file adds what OpenSSL leaves to the application: the end-entity DN
 * of a proxy chain, the proxy kind (OpenSSL ignores the policy language, so
 * a limited proxy looks like a full one until we read proxyCertInfo), VOMS
 * attributes, and a log line that says why a client was refused.
 */
#define VWS_MODULE "gsi"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "stdsoap2.h"

#include "gsi.h"
#include "identity.h"
#include "voms.h"
#include "internal.h"

/* Globus limited proxy policy language. */
#define GLOBUS_LIMITED_PROXY_OID "1.3.6.1.4.1.3536.1.1.1.9"

/* ---- configuration ---- */

static char *
env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return vws_strdup(v && *v ? v : fallback);
}

static int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void
vws_gsi_config_service(struct vws_gsi_config *c)
{
    *c = (struct vws_gsi_config)VWS_GSI_CONFIG_INIT;
    c->cert_dir = env_or("X509_CERT_DIR", "/etc/grid-security/certificates");
    c->vomsdir = env_or("X509_VOMS_DIR", "/etc/grid-security/vomsdir");
    c->cert_file = env_or("X509_USER_CERT", "/etc/grid-security/hostcert.pem");
    c->key_file = env_or("X509_USER_KEY", "/etc/grid-security/hostkey.pem");
}

void
vws_gsi_config_client(struct vws_gsi_config *c)
{
    const char *proxy = getenv("X509_USER_PROXY");
    const char *home = getenv("HOME");
    char *def;

    *c = (struct vws_gsi_config)VWS_GSI_CONFIG_INIT;
    c->cert_dir = env_or("X509_CERT_DIR", "/etc/grid-security/certificates");
    c->vomsdir = env_or("X509_VOMS_DIR", "/etc/grid-security/vomsdir");
    def = vws_asprintf("/tmp/x509up_u%u", (unsigned)getuid());
    if (proxy && *proxy) {
        c->cert_file = vws_strdup(proxy);
    } else if (!getenv("X509_USER_CERT") && file_exists(def)) {
        c->cert_file = def;
        def = NULL;
    }
    free(def);
    if (c->cert_file) {
        c->key_file = vws_strdup(c->cert_file);   /* a proxy file holds both */
        return;
    }
    def = vws_asprintf("%s/.globus/usercert.pem", home ? home : "");
    c->cert_file = env_or("X509_USER_CERT", def);
    free(def);
    def = vws_asprintf("%s/.globus/userkey.pem", home ? home : "");
    c->key_file = env_or("X509_USER_KEY", def);
    free(def);
}

void
vws_gsi_config_release(struct vws_gsi_config *c)
{
    if (!c)
        return;
    free(c->cert_dir);
    free(c->vomsdir);
    free(c->cert_file);
    free(c->key_file);
    *c = (struct vws_gsi_config)VWS_GSI_CONFIG_INIT;
}

/* ---- why a certificate was refused ---- */

/* The first verification failure of the handshake running on this thread. */
static _Thread_local char verify_failure[512];

static int
verify_callback(int ok, X509_STORE_CTX *store)
{
    if (!ok && !verify_failure[0]) {
        X509 *cert = X509_STORE_CTX_get_current_cert(store);
        int err = X509_STORE_CTX_get_error(store);
        char subject[256] = "(no certificate)";

        if (cert)
            X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        snprintf(verify_failure, sizeof(verify_failure),
                 "certificate '%s' at depth %d: %s", subject,
                 X509_STORE_CTX_get_error_depth(store),
                 X509_verify_cert_error_string(err));
    }
    return ok;
}

static const char *
openssl_reason(void)
{
    static _Thread_local char buf[256];
    unsigned long e = ERR_peek_last_error();

    if (!e)
        return "no detail from OpenSSL";
    ERR_error_string_n(e, buf, sizeof(buf));
    return buf;
}

/* ---- contexts ---- */

static int
load_credential(SSL_CTX *ctx, const struct vws_gsi_config *c, const char *who)
{
    if (!c->cert_file || !c->key_file) {
        vws_report_error(VWS_ERR_CONFIG, "%s: no certificate or key configured", who);
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1) {
        vws_report_error(VWS_ERR_CONFIG, "%s: cannot use certificate '%s': %s", who,
                         c->cert_file, openssl_reason());
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1) {
        vws_report_error(VWS_ERR_CONFIG, "%s: cannot use private key '%s': %s", who,
                         c->key_file, openssl_reason());
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        vws_report_error(VWS_ERR_CONFIG, "%s: key '%s' does not match certificate '%s'",
                         who, c->key_file, c->cert_file);
        return -1;
    }
    return 0;
}

static int
setup_store(struct soap *soap, const struct vws_gsi_config *c)
{
    X509_STORE *store = SSL_CTX_get_cert_store(soap->ctx);
    unsigned long flags = X509_V_FLAG_ALLOW_PROXY_CERTS;

    if (c->crl_check)
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    X509_STORE_set_flags(store, flags);
    SSL_CTX_set_min_proto_version(soap->ctx, TLS1_2_VERSION);
    return 0;
}

static int
ssl_context(struct soap *soap, const struct vws_gsi_config *c, int server)
{
    unsigned short flags = SOAP_SSL_NO_DEFAULT_CA_PATH | SOAP_TLSv1_2 | SOAP_TLSv1_3;
    int rc;

    if (!c->cert_dir) {
        vws_report_error(VWS_ERR_CONFIG, "no trusted CA directory (X509_CERT_DIR)");
        return -1;
    }
    ERR_clear_error();
    soap->fsslverify = verify_callback;
    if (server)
        rc = soap_ssl_server_context(soap, flags | SOAP_SSL_REQUIRE_CLIENT_AUTHENTICATION,
                                     NULL, NULL, NULL, c->cert_dir, NULL, NULL, NULL);
    else
        rc = soap_ssl_client_context(soap, flags | SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION,
                                     NULL, NULL, NULL, c->cert_dir, NULL);
    if (rc != SOAP_OK || !soap->ctx) {
        const char **s = soap_faultstring(soap);
        vws_report_error(VWS_ERR_CONFIG, "cannot set up TLS with CA directory '%s': %s",
                         c->cert_dir, s && *s ? *s : openssl_reason());
        return -1;
    }
    if (load_credential(soap->ctx, c, server ? "service" : "client") < 0)
        return -1;
    return setup_store(soap, c);
}

int
vws_gsi_server_init(struct soap *soap, const struct vws_gsi_config *c)
{
    vws_voms_init();   /* before any worker's handshake: see voms.c */
    return ssl_context(soap, c, 1);
}

int
vws_gsi_client_init(struct soap *soap, const struct vws_gsi_config *c)
{
    return ssl_context(soap, c, 0);
}

/* ---- the caller ---- */

static enum vws_proxy_kind
proxy_kind(X509 *x)
{
    PROXY_CERT_INFO_EXTENSION *pci;
    enum vws_proxy_kind kind = VWS_PROXY_RESTRICTED;
    char oid[80];

    if (!(X509_get_extension_flags(x) & EXFLAG_PROXY))
        return VWS_PROXY_NONE;
    if (!(pci = X509_get_ext_d2i(x, NID_proxyCertInfo, NULL, NULL)))
        return VWS_PROXY_RESTRICTED;   /* legacy (pre-RFC) proxy: be strict */
    switch (OBJ_obj2nid(pci->proxyPolicy->policyLanguage)) {
    case NID_id_ppl_inheritAll:
        kind = VWS_PROXY_FULL;
        break;
    case NID_Independent:
        kind = VWS_PROXY_INDEPENDENT;
        break;
    default:
        OBJ_obj2txt(oid, sizeof(oid), pci->proxyPolicy->policyLanguage, 1);
        if (strcmp(oid, GLOBUS_LIMITED_PROXY_OID) == 0)
            kind = VWS_PROXY_LIMITED;
        break;
    }
    PROXY_CERT_INFO_EXTENSION_free(pci);
    return kind;
}

/* How restrictive a kind is: a chain is as restricted as its most
 * restricted proxy. */
static int
restriction(enum vws_proxy_kind k)
{
    switch (k) {
    case VWS_PROXY_NONE: return 0;
    case VWS_PROXY_FULL: return 1;
    case VWS_PROXY_LIMITED: return 2;
    case VWS_PROXY_INDEPENDENT: return 3;
    case VWS_PROXY_RESTRICTED: return 4;
    }
    return 4;
}

/* The Globus form of a name, "/O=Grid/CN=host/repository.localhost":
 * OpenSSL 3 writes a '/' inside a value as "\/"; grid-mapfiles and ACLs
 * do not. */
static char *
name_of(X509_NAME *n)
{
    char buf[1024];
    char *r, *w;

    X509_NAME_oneline(n, buf, sizeof(buf));
    for (r = w = buf; *r; r++) {
        if (r[0] == '\\' && r[1] == '/')
            continue;
        *w++ = *r;
    }
    *w = '\0';
    return vws_strdup(buf);
}

static time_t
not_after(X509 *x)
{
    const ASN1_TIME *t = X509_get0_notAfter(x);
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

int
vws_gsi_identity(SSL *ssl, const struct vws_gsi_config *c, struct vws_identity *id)
{
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    STACK_OF(X509) *rest = NULL;
    X509 *eec = NULL;
    int n, rc = -1;

    *id = (struct vws_identity)VWS_IDENTITY_INIT;
    if (!chain || (n = sk_X509_num(chain)) == 0) {
        vws_report_error(VWS_ERR_DENIED, "no verified client certificate");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        enum vws_proxy_kind k = proxy_kind(x);
        time_t t = not_after(x);

        if (t && (!id->not_after || t < id->not_after))
            id->not_after = t;
        if (k == VWS_PROXY_NONE) {
            eec = x;
            break;
        }
        id->proxy_depth++;
        if (restriction(k) > restriction(id->proxy))
            id->proxy = k;
    }
    if (!eec) {
        vws_report_error(VWS_ERR_DENIED, "the chain has no end-entity certificate");
        goto cleanup;
    }
    if (id->proxy == VWS_PROXY_INDEPENDENT || id->proxy == VWS_PROXY_RESTRICTED) {
        vws_report_error(VWS_ERR_DENIED, "%s proxy certificates are not accepted",
                         vws_proxy_kind_name(id->proxy));
        goto cleanup;
    }
    id->dn = name_of(X509_get_subject_name(eec));
    id->issuer = name_of(X509_get_issuer_name(eec));
    id->is_host = strstr(id->dn, "/CN=host/") != NULL;

    /* VOMS: the leaf and the rest of the chain */
    rest = sk_X509_new_null();
    for (int i = 1; i < n; i++)
        sk_X509_push(rest, sk_X509_value(chain, i));
    if (vws_voms_attributes(sk_X509_value(chain, 0), rest, c->vomsdir, c->cert_dir, id) < 0)
        goto cleanup;
    rc = 0;

 cleanup:
    sk_X509_free(rest);
    if (rc < 0)
        vws_identity_release(id);
    return rc;
}

/* gSOAP's SSL messages are "SSL_ERROR_SSL\nerror:...:reason": keep the
 * reason, on one line. */
static const char *
one_line(const char *msg)
{
    static _Thread_local char buf[512];
    char *last, *nl;
    size_t n;

    vws_strlcpy(buf, msg, sizeof(buf));
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    last = strrchr(buf, ':');
    nl = strrchr(buf, '\n');
    if (last && nl && last > nl)
        memmove(buf, last + 1, strlen(last + 1) + 1);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return buf;
}

int
vws_gsi_accept(struct soap *soap, const struct vws_gsi_config *c, struct vws_identity *id)
{
    char peer[1100];

    snprintf(peer, sizeof(peer), "%s:%d", soap->host, soap->port);
    verify_failure[0] = '\0';
    ERR_clear_error();
    if (soap_ssl_accept(soap) != SOAP_OK) {
        const char **d = soap_faultdetail(soap);
        const char **s = soap_faultstring(soap);
        VWS_DEBUG("handshake: fault '%s' detail '%s' openssl '%s'", s && *s ? *s : "",
                  d && *d ? *d : "", openssl_reason());
        if (!verify_failure[0] && soap->ssl && !SSL_get0_peer_certificate(soap->ssl))
            vws_strlcpy(verify_failure, "the client presented no certificate",
                        sizeof(verify_failure));
        vws_report_error(VWS_ERR_DENIED, "TLS handshake failed: %s",
                         verify_failure[0] ? verify_failure
                         : s && *s ? one_line(*s) : d && *d ? *d : openssl_reason());
        VWS_WARN("refused %s: %s", peer, vws_error_message());
        soap_force_closesock(soap);
        return -1;
    }
    if (vws_gsi_identity(soap->ssl, c, id) < 0) {
        VWS_WARN("refused %s: %s", peer, vws_error_message());
        soap_force_closesock(soap);
        return -1;
    }
    VWS_DEBUG("accepted %s: '%s' (%s proxy, %zu FQANs)", peer, id->dn,
              vws_proxy_kind_name(id->proxy), id->n_fqans);
    return 0;
}

int
vws_gsi_check_proxy(const struct vws_identity *id, bool creates_work, const char *operation)
{
    if (creates_work && id->proxy == VWS_PROXY_LIMITED) {
        vws_report_error(VWS_ERR_DENIED,
                         "a limited proxy may not %s: use a full proxy (grid-proxy-init "
                         "without -limited)", operation);
        return -1;
    }
    return 0;
}
