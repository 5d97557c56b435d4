/*
 * wsca.c — per-workspace credentials issued by the site workspace CA (see
 * wsca.h for what a credential holds and why).
 *
 * Built with the OpenSSL 3 API: EVP_PKEY_Q_keygen for the key, X509 for
 * the certificate, X509V3_EXT_conf_nid for the extensions (their values are
 * fixed strings here, or a hostname and a UUID that were checked first, so
 * nothing a caller passes can add an extension).
 */
#define VWS_MODULE "wsca"
#include <config.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/uuid.h"
#include "repository/wsca.h"
#include "internal.h"

#define SKEW_SECONDS 300
#define WORKSPACE_OU "vws-workspaces"

struct vws_wsca {
    X509 *cert;
    EVP_PKEY *key;
    enum vws_wsca_key_type key_type;
    int64_t not_after;      /* the CA's, seconds */
    char *subject;
};

/* Report the OpenSSL error queue's first entry after WHAT. */
static void
report_ssl(vws_error_code code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown OpenSSL error";

    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    vws_report_error(code, "%s: %s", what, buf);
}

static X509 *
read_cert(const char *file)
{
    BIO *b = BIO_new_file(file, "r");
    X509 *x = NULL;
    char *what;

    if (b)
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!x) {
        what = vws_asprintf("cannot read the workspace CA certificate '%s'",
                            file);
        report_ssl(VWS_ERR_CONFIG, what);
        free(what);
    }
    return x;
}

static EVP_PKEY *
read_key(const char *file)
{
    BIO *b = BIO_new_file(file, "r");
    EVP_PKEY *k = NULL;
    char *what;

    /* no passphrase callback: an encrypted key fails here, it does not
     * prompt on a daemon's terminal */
    if (b)
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
    BIO_free(b);
    if (!k) {
        what = vws_asprintf("cannot read the workspace CA key '%s' (it must "
                            "be PEM, unencrypted)", file);
        report_ssl(VWS_ERR_CONFIG, what);
        free(what);
    }
    return k;
}

/* The Globus one-line form of NAME, new string. */
static char *
oneline(const X509_NAME *name)
{
    char buf[1024];

    X509_NAME_oneline(name, buf, sizeof(buf));
    return vws_strdup(buf);
}

static int64_t
asn1_time_seconds(const ASN1_TIME *t)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (int64_t)timegm(&tm);
}

struct vws_wsca *
vws_wsca_open(const char *cert_file, const char *key_file,
              enum vws_wsca_key_type key_type)
{
    struct vws_wsca *ca;

    if (!cert_file || !key_file) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing workspace CA "
                         "certificate or key file");
        return NULL;
    }
    if (key_type != VWS_WSCA_KEY_EC_P256 && key_type != VWS_WSCA_KEY_RSA2048) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid workspace key type %d",
                         (int)key_type);
        return NULL;
    }
    ca = vws_calloc(1, sizeof(*ca));
    ca->key_type = key_type;
    if (!(ca->cert = read_cert(cert_file)) || !(ca->key = read_key(key_file)))
        goto fail;
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        vws_report_error(VWS_ERR_CONFIG, "the workspace CA key '%s' does not "
                         "match the certificate '%s'", key_file, cert_file);
        goto fail;
    }
    if (X509_check_ca(ca->cert) == 0) {
        vws_report_error(VWS_ERR_CONFIG, "'%s' is not a CA certificate "
                         "(basicConstraints CA:TRUE missing)", cert_file);
        goto fail;
    }
    ca->not_after = asn1_time_seconds(X509_get0_notAfter(ca->cert));
    if (ca->not_after <= (int64_t)time(NULL)) {
        vws_report_error(VWS_ERR_CONFIG, "the workspace CA certificate '%s' "
                         "has expired", cert_file);
        goto fail;
    }
    ca->subject = oneline(X509_get_subject_name(ca->cert));
    return ca;

fail:
    vws_wsca_free(ca);
    return NULL;
}

void
vws_wsca_free(struct vws_wsca *ca)
{
    if (!ca)
        return;
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca->subject);
    free(ca);
}

const char *
vws_wsca_subject(const struct vws_wsca *ca)
{
    return ca ? ca->subject : NULL;
}

void
vws_wsca_credential_release(struct vws_wsca_credential *cred)
{
    if (!cred)
        return;
    free(cred->cert_pem);
    if (cred->key_pem) {
        explicit_bzero(cred->key_pem, strlen(cred->key_pem));
        free(cred->key_pem);
    }
    memset(cred, 0, sizeof(*cred));
}

/* Add extension NID with VALUE (OpenSSL's config syntax) to X. */
static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok;

    if (!ext) {
        report_ssl(VWS_ERR_INTERNAL, "cannot make a certificate extension");
        return -1;
    }
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok) {
        report_ssl(VWS_ERR_INTERNAL, "cannot add a certificate extension");
        return -1;
    }
    return 0;
}

/* Subject: CA's subject without trailing CNs, OU=vws-workspaces, CN=KEY. */
static X509_NAME *
make_subject(const struct vws_wsca *ca, const char *key)
{
    X509_NAME *n = X509_NAME_dup(X509_get_subject_name(ca->cert));
    int count;

    if (!n)
        return NULL;
    while ((count = X509_NAME_entry_count(n)) > 0) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(n, count - 1);
        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName)
            break;
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, count - 1));
    }
    if (!X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
                                    (const unsigned char *)WORKSPACE_OU, -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                    (const unsigned char *)key, -1, -1, 0)) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* A positive random 128-bit serial into X, its hex into OUT. */
static int
set_serial(X509 *x, char out[40])
{
    unsigned char r[16];
    BIGNUM *bn = NULL;
    char *hex = NULL;
    int ret = -1;

    if (RAND_bytes(r, sizeof(r)) != 1)
        goto out;
    r[0] &= 0x7f;       /* positive */
    r[0] |= 0x01;       /* and 16 bytes long: no leading zero byte */
    if (!(bn = BN_bin2bn(r, sizeof(r), NULL)) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        !(hex = BN_bn2hex(bn)))
        goto out;
    vws_strlcpy(out, hex, 40);
    ret = 0;
out:
    if (ret < 0)
        report_ssl(VWS_ERR_INTERNAL, "cannot make a certificate serial");
    OPENSSL_free(hex);
    BN_free(bn);
    return ret;
}

static char *
pem_of(int (*write)(BIO *, void *), void *obj, bool secret)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *s = NULL;
    long n;

    if (b && write(b, obj) == 1 && (n = BIO_get_mem_data(b, &data)) > 0) {
        s = vws_strndup(data, (size_t)n);
        if (secret)
            OPENSSL_cleanse(data, (size_t)n);
    }
    BIO_free(b);
    if (!s)
        report_ssl(VWS_ERR_INTERNAL, "cannot write PEM");
    return s;
}

static int
write_cert(BIO *b, void *x)
{
    return PEM_write_bio_X509(b, x);
}

static int
write_key(BIO *b, void *k)
{
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

int
vws_wsca_issue(struct vws_wsca *ca, const char *key, const char *hostname,
               int64_t not_after_ms, struct vws_wsca_credential *out)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    X509_NAME *subject = NULL;
    X509V3_CTX ctx;
    char *san = NULL;
    int64_t now = (int64_t)time(NULL), not_after;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (!ca || !key || !vws_uuid_is_valid(key)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "a workspace credential needs "
                         "a CA and a workspace key (UUID)");
        return -1;
    }
    if (hostname && !vws_is_hostname(hostname)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid hostname '%.80s' for "
                         "the certificate of workspace '%s'", hostname, key);
        return -1;
    }
    not_after = not_after_ms / 1000;
    if (not_after > ca->not_after)
        not_after = ca->not_after;
    if (not_after <= now) {
        vws_report_error(VWS_ERR_INVALID_ARG, "cannot issue a certificate "
                         "for workspace '%s' that ends in the past", key);
        return -1;
    }

    if (ca->key_type == VWS_WSCA_KEY_RSA2048)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey) {
        report_ssl(VWS_ERR_INTERNAL, "cannot generate a workspace key");
        goto out;
    }
    if (!(x = X509_new()) || !X509_set_version(x, 2) ||
        set_serial(x, out->serial) < 0 ||
        !(subject = make_subject(ca, key)) ||
        !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
        !X509_time_adj_ex(X509_getm_notBefore(x), 0, -SKEW_SECONDS, NULL) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) ||
        !X509_set_pubkey(x, pkey)) {
        report_ssl(VWS_ERR_INTERNAL, "cannot make a workspace certificate");
        goto out;
    }
    X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
    san = hostname ? vws_asprintf("URI:urn:uuid:%s,DNS:%s", key, hostname)
                   : vws_asprintf("URI:urn:uuid:%s", key);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, &ctx, NID_key_usage,
                ca->key_type == VWS_WSCA_KEY_RSA2048
                    ? "critical,digitalSignature,keyEncipherment"
                    : "critical,digitalSignature") < 0 ||
        add_ext(x, &ctx, NID_ext_key_usage, "clientAuth,serverAuth") < 0 ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0 ||
        add_ext(x, &ctx, NID_subject_alt_name, san) < 0)
        goto out;
    if (X509_sign(x, ca->key, EVP_sha256()) <= 0) {
        report_ssl(VWS_ERR_INTERNAL, "cannot sign a workspace certificate");
        goto out;
    }
    if (!(out->cert_pem = pem_of(write_cert, x, false)) ||
        !(out->key_pem = pem_of(write_key, pkey, true)))
        goto out;
    out->not_after = not_after * 1000;
    ret = 0;
out:
    if (ret < 0)
        vws_wsca_credential_release(out);
    free(san);
    X509_NAME_free(subject);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ret;
}
