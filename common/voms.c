/*
 * voms.c — VOMS attributes from a proxy chain (see voms.h).
 */
#define VWS_MODULE "voms"
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <voms/voms_apic.h>

#include "identity.h"
#include "voms.h"
#include "internal.h"

/*
 * Verified attributes, cached by the SHA-256 of the certificate that
 * carries them.  libvomsapi reads every file of the CA directory on each
 * verification (about 10 ms here), and a grid client reconnects often with
 * the same proxy: a gSOAP server closes a keep-alive connection after 100
 * requests, and every new connection would pay it again.  An entry lives
 * VWS_VOMS_CACHE_TTL seconds at most, and never past the attribute
 * certificate's own end; refusals are never cached.
 */
#define VWS_VOMS_CACHE_SIZE 256
#define VWS_VOMS_CACHE_TTL 300

struct voms_cache_entry {
    unsigned char digest[32];
    time_t expires;          /* 0: empty slot */
    time_t used;
    char *vo;
    char **fqans;
    size_t n_fqans;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct voms_cache_entry cache[VWS_VOMS_CACHE_SIZE];

static void
entry_clear(struct voms_cache_entry *e)
{
    for (size_t i = 0; i < e->n_fqans; i++)
        free(e->fqans[i]);
    free(e->fqans);
    free(e->vo);
    memset(e, 0, sizeof(*e));
}

static int
cache_lookup(const unsigned char *digest, struct vws_identity *id)
{
    time_t now = time(NULL);
    int hit = 0;

    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < VWS_VOMS_CACHE_SIZE; i++) {
        struct voms_cache_entry *e = &cache[i];
        if (!e->expires || memcmp(e->digest, digest, sizeof(e->digest)) != 0)
            continue;
        if (e->expires <= now) {
            entry_clear(e);
            break;
        }
        id->vo = e->vo ? vws_strdup(e->vo) : NULL;
        id->fqans = vws_calloc(e->n_fqans, sizeof(char *));
        for (size_t j = 0; j < e->n_fqans; j++)
            id->fqans[j] = vws_strdup(e->fqans[j]);
        id->n_fqans = e->n_fqans;
        e->used = now;
        hit = 1;
        break;
    }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

static void
cache_store(const unsigned char *digest, const struct vws_identity *id, time_t until)
{
    struct voms_cache_entry *victim = &cache[0];
    time_t now = time(NULL);

    if (until <= now)
        return;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < VWS_VOMS_CACHE_SIZE; i++) {
        if (!cache[i].expires || cache[i].expires <= now) {
            victim = &cache[i];
            break;
        }
        if (cache[i].used < victim->used)
            victim = &cache[i];     /* least recently used */
    }
    entry_clear(victim);
    memcpy(victim->digest, digest, sizeof(victim->digest));
    victim->expires = until;
    victim->used = now;
    victim->vo = id->vo ? vws_strdup(id->vo) : NULL;
    victim->fqans = vws_calloc(id->n_fqans, sizeof(char *));
    for (size_t j = 0; j < id->n_fqans; j++)
        victim->fqans[j] = vws_strdup(id->fqans[j]);
    victim->n_fqans = id->n_fqans;
    pthread_mutex_unlock(&cache_lock);
}

/* VOMS writes validity ends as "YYYYMMDDHHMMSSZ" (ASN.1 GeneralizedTime). */
static time_t
voms_time(const char *s)
{
    struct tm tm = { 0 };

    if (!s || strlen(s) < 14 ||
        sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* libvomsapi's first VOMS_Init() registers its OIDs in OpenSSL's global
 * object table; done while other threads run TLS handshakes it races with
 * them (helgrind).  Run it once, before any worker starts. */
static pthread_once_t voms_once = PTHREAD_ONCE_INIT;

static void
voms_first_init(void)
{
    struct vomsdata *vd = VOMS_Init(NULL, NULL);

    if (vd)
        VOMS_Destroy(vd);
}

void
vws_voms_init(void)
{
    pthread_once(&voms_once, voms_first_init);
}

void
vws_voms_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < VWS_VOMS_CACHE_SIZE; i++)
        entry_clear(&cache[i]);
    pthread_mutex_unlock(&cache_lock);
}

static int
voms_verify(X509 *leaf, STACK_OF(X509) *chain, const char *vomsdir,
                const char *certdir, struct vws_identity *id, time_t *until)
{
    struct vomsdata *vd;
    char **fqans = NULL;
    size_t n = 0;
    char *vo = NULL;
    int err = VERR_NONE;
    int rc = -1;

    if (!(vd = VOMS_Init((char *)vomsdir, (char *)certdir))) {
        vws_report_error(VWS_ERR_INTERNAL, "cannot initialise VOMS with vomsdir '%s'",
                         vomsdir);
        return -1;
    }
    if (!VOMS_Retrieve(leaf, chain, RECURSE_CHAIN, vd, &err)) {
        if (err == VERR_NOEXT) {
            rc = 0;
        } else {
            char *msg = VOMS_ErrorMessage(vd, err, NULL, 0);
            vws_report_error(VWS_ERR_DENIED, "VOMS attributes do not verify: %s",
                             msg ? msg : "unknown VOMS error");
            free(msg);
        }
        goto cleanup;
    }
    for (int i = 0; vd->data && vd->data[i]; i++) {
        struct voms *v = vd->data[i];

        time_t end = voms_time(v->date2);

        if (end && end < *until)
            *until = end;
        if (!vo && v->voname)
            vo = vws_strdup(v->voname);
        for (int j = 0; v->fqan && v->fqan[j]; j++) {
            char *f = vws_fqan_normalise(v->fqan[j]);
            if (!f) {
                vws_report_error(VWS_ERR_DENIED, "VOMS attribute '%s' is not an FQAN",
                                 v->fqan[j]);
                goto cleanup;
            }
            fqans = vws_reallocarray(fqans, n + 1, sizeof(char *));
            fqans[n++] = f;
        }
    }
    if (n == 0) {
        vws_report_error(VWS_ERR_DENIED, "VOMS extension without attributes");
        goto cleanup;
    }
    id->fqans = fqans;
    id->n_fqans = n;
    id->vo = vo;
    fqans = NULL;
    vo = NULL;
    n = 0;
    rc = 1;

 cleanup:
    for (size_t i = 0; i < n; i++)
        free(fqans[i]);
    free(fqans);
    free(vo);
    VOMS_Destroy(vd);
    return rc;
}

int
vws_voms_attributes(X509 *leaf, STACK_OF(X509) *chain, const char *vomsdir,
                    const char *certdir, struct vws_identity *id)
{
    unsigned char digest[32];
    unsigned int dlen = sizeof(digest);
    time_t until = time(NULL) + VWS_VOMS_CACHE_TTL;
    int cacheable = X509_digest(leaf, EVP_sha256(), digest, &dlen) == 1;
    int rc;

    vws_voms_init();
    if (cacheable && cache_lookup(digest, id))
        return 1;
    rc = voms_verify(leaf, chain, vomsdir, certdir, id, &until);
    if (rc == 1 && cacheable)
        cache_store(digest, id, until);
    return rc;
}
