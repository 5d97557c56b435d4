/*
 * gridftp.c — image transfers with SHA-256 verification (see gridftp.h).
 *
 * A call is a loop of attempts.  An attempt fills a struct outcome (code,
 * message, whether another attempt may help); only the call reports an
 * error, once, when it gives up.  Between attempts DEST is truncated and
 * the hash restarts: a retry transfers from byte zero.
 *
 * gsiftp:// and ftp://: one globus-ftp-client handle per attempt, NBUF
 * buffers of BUFSIZE registered for reading at once.  Globus fills them
 * from its own threads; the data callback only writes the bytes at their
 * offset (pwrite) and hands the buffer back.  The calling thread is the
 * hasher: it hashes the buffer whose offset is the end of what has been
 * hashed, registers it again, watches for stalls and calls the progress
 * callback.  So writing (Globus threads) and hashing (the caller) overlap.
 * Parallel streams (MODE E) can deliver blocks out of order: they wait,
 * held, until the bytes before them are hashed; if every buffer is held
 * by such blocks the one furthest ahead is "spilled" (it is on disk
 * already, so it is read back with pread when its turn comes) and its
 * buffer reused, so the transfer never starves.
 *
 * file://: no Globus.  The calling thread reads and writes, a helper
 * thread hashes the same buffers behind it (a ring of NBUF), so the hash
 * is of exactly the bytes written and costs no extra pass.
 */
#define VWS_MODULE "gridftp"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Globus's headers declare functions with empty parameter lists. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <globus_ftp_client.h>
#include <gssapi.h>
#pragma GCC diagnostic pop

#include "gridftp.h"
#include "internal.h"

#define BUFSIZE (4u * 1024u * 1024u)
#define NBUF 4
#define PROGRESS_MS 50
#define DEFAULT_STALL_S 60
#define CRED_MAX (1024 * 1024)

#ifndef GSS_IMPEXP_OPAQUE_FORM
# define GSS_IMPEXP_OPAQUE_FORM 0   /* Globus GSSAPI: the buffer is PEM */
#endif

enum scheme { SCHEME_GSIFTP, SCHEME_FTP, SCHEME_FILE };

/* ---- outcomes of an attempt ------------------------------------------- */

struct outcome {
    vws_error_code code;      /* VWS_ERR_OK: success */
    bool retry;               /* a transport failure: another attempt may help */
    char msg[768];
};

static void outcome_set(struct outcome *out, vws_error_code code, bool retry,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
outcome_set(struct outcome *out, vws_error_code code, bool retry,
            const char *fmt, ...)
{
    va_list ap;

    if (out->code != VWS_ERR_OK)
        return;                          /* the first failure wins */
    out->code = code;
    out->retry = retry;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
    va_end(ap);
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A printable copy of URL for messages: no control bytes, at most ~200. */
static const char *
shown(const char *url, char *buf, size_t size)
{
    size_t i, n = 0;

    for (i = 0; url && url[i] && n + 4 < size; i++) {
        unsigned char ch = (unsigned char)url[i];
        buf[n++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
        if (n >= 200 && url[i + 1]) {
            buf[n++] = '.';
            buf[n++] = '.';
            buf[n++] = '.';
            break;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* ---- URLs --------------------------------------------------------------- */

struct url {
    enum scheme scheme;
    char *path;              /* percent-decoded; for file:// the local path */
};

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static bool
host_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++)
            if (hexval(h[i]) < 0 && h[i] != ':' && h[i] != '.')
                return false;
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
              (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-'))
            return false;
    return h[0] != '.' && h[0] != '-';
}

/* Parse and check URL; on success fill U (U->path malloc'd). */
static int
url_parse(const char *url, struct url *u)
{
    char sh[256];
    const char *p, *auth, *auth_end, *path;
    size_t len, slen;
    struct strbuf_dec { char *s; size_t n; } dec = { NULL, 0 };

    u->path = NULL;
    if (!url || !*url) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing URL");
        return -1;
    }
    len = strnlen(url, VWS_TRANSFER_URL_MAX + 1);
    if (len > VWS_TRANSFER_URL_MAX) {
        vws_report_error(VWS_ERR_LIMIT, "URL '%s' is longer than %d bytes",
                         shown(url, sh, sizeof(sh)), VWS_TRANSFER_URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch < 0x20 || ch == 0x7f) {
            vws_report_error(VWS_ERR_SECURITY,
                             "URL '%s' has a control character at byte %zu",
                             shown(url, sh, sizeof(sh)), i);
            return -1;
        }
        if (ch == ' ' || ch > 0x7f) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "URL '%s' has a space or a non-ASCII byte (escape it with %%XX)",
                             shown(url, sh, sizeof(sh)));
            return -1;
        }
        if (ch == '?' || ch == '#') {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "URL '%s' has a query or a fragment", shown(url, sh, sizeof(sh)));
            return -1;
        }
    }
    p = strchr(url, ':');
    slen = p ? (size_t)(p - url) : 0;
    if (p && slen == 6 && strncasecmp(url, "gsiftp", 6) == 0)
        u->scheme = SCHEME_GSIFTP;
    else if (p && slen == 3 && strncasecmp(url, "ftp", 3) == 0)
        u->scheme = SCHEME_FTP;
    else if (p && slen == 4 && strncasecmp(url, "file", 4) == 0)
        u->scheme = SCHEME_FILE;
    else {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "URL '%s': unsupported scheme (want gsiftp://, ftp:// or file://)",
                         shown(url, sh, sizeof(sh)));
        return -1;
    }
    if (strncmp(p + 1, "//", 2) != 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "URL '%s': want %.*s://host/path%s", shown(url, sh, sizeof(sh)),
                         (int)slen, url, u->scheme == SCHEME_FILE ? " (file:///absolute/path)" : "");
        return -1;
    }
    auth = p + 3;
    auth_end = strchr(auth, '/');
    if (!auth_end)
        auth_end = auth + strlen(auth);
    if (memchr(auth, '@', (size_t)(auth_end - auth))) {
        vws_report_error(VWS_ERR_SECURITY,
                         "URL '%s' has user information: credentials do not belong in URLs",
                         shown(url, sh, sizeof(sh)));
        return -1;
    }
    if (u->scheme == SCHEME_FILE) {
        size_t n = (size_t)(auth_end - auth);
        if (n != 0 && !(n == 9 && strncasecmp(auth, "localhost", 9) == 0)) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "URL '%s' names host '%.*s': file:// is for local files only",
                             shown(url, sh, sizeof(sh)), (int)(n > 100 ? 100 : n), auth);
            return -1;
        }
    } else {
        const char *hend, *colon;
        if (auth[0] == '[') {
            const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));
            hend = rb ? rb + 1 : auth_end;
        } else {
            colon = memchr(auth, ':', (size_t)(auth_end - auth));
            hend = colon ? colon : auth_end;
        }
        if (!host_ok(auth, (size_t)(hend - auth))) {
            vws_report_error(VWS_ERR_INVALID_ARG, "URL '%s': %s",
                             shown(url, sh, sizeof(sh)),
                             hend == auth ? "missing host" : "bad host name");
            return -1;
        }
        if (hend < auth_end) {
            unsigned long port = 0;
            const char *q = hend + 1;
            if (*hend != ':' || q == auth_end)
                port = 0;
            else
                for (; q < auth_end && port <= 65535; q++) {
                    if (*q < '0' || *q > '9') {
                        port = 0;
                        break;
                    }
                    port = port * 10 + (unsigned long)(*q - '0');
                }
            if (port == 0 || port > 65535) {
                vws_report_error(VWS_ERR_INVALID_ARG, "URL '%s': bad port",
                                 shown(url, sh, sizeof(sh)));
                return -1;
            }
        }
    }
    path = auth_end;
    if (!*path || strcmp(path, "/") == 0 || path[strlen(path) - 1] == '/') {
        vws_report_error(VWS_ERR_INVALID_ARG, "URL '%s' names no file (empty path or a directory)",
                         shown(url, sh, sizeof(sh)));
        return -1;
    }
    /* decode segment by segment */
    dec.s = vws_malloc(strlen(path) + 1);
    for (const char *seg = path; *seg == '/'; ) {
        const char *end = strchr(seg + 1, '/');
        size_t start;
        if (!end)
            end = seg + strlen(seg);
        dec.s[dec.n++] = '/';
        start = dec.n;
        for (const char *q = seg + 1; q < end; q++) {
            int c = (unsigned char)*q;
            if (c == '%') {
                int hi = q + 1 < end ? hexval(q[1]) : -1;
                int lo = q + 2 < end ? hexval(q[2]) : -1;
                if (hi < 0 || lo < 0) {
                    vws_report_error(VWS_ERR_INVALID_ARG, "URL '%s' has a bad %%-escape",
                                     shown(url, sh, sizeof(sh)));
                    goto fail;
                }
                c = hi * 16 + lo;
                q += 2;
                if (c < 0x20 || c == 0x7f || c == '/') {
                    vws_report_error(VWS_ERR_SECURITY,
                                     "URL '%s' encodes %s in its path",
                                     shown(url, sh, sizeof(sh)),
                                     c == '/' ? "a '/'" : "a control character");
                    goto fail;
                }
            }
            dec.s[dec.n++] = (char)c;
        }
        dec.s[dec.n] = '\0';
        if (strcmp(dec.s + start, ".") == 0 || strcmp(dec.s + start, "..") == 0) {
            vws_report_error(VWS_ERR_SECURITY,
                             "URL '%s' has a '%s' path segment (after %%-decoding)",
                             shown(url, sh, sizeof(sh)), dec.s + start);
            goto fail;
        }
        seg = end;
    }
    dec.s[dec.n] = '\0';
    u->path = dec.s;
    return 0;

fail:
    free(dec.s);
    return -1;
}

int
vws_transfer_url_check(const char *url)
{
    struct url u;

    if (url_parse(url, &u) < 0)
        return -1;
    free(u.path);
    return 0;
}

/* ---- hashing ------------------------------------------------------------ */

static void
hex(const unsigned char *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
check_sha_arg(const char *sha256, char out[VWS_TRANSFER_SHA256_LEN + 1])
{
    for (int i = 0; i < VWS_TRANSFER_SHA256_LEN; i++)
        if (hexval(sha256[i]) < 0) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "invalid SHA-256 '%.80s' (want 64 hex digits)", sha256);
            return -1;
        }
    if (sha256[VWS_TRANSFER_SHA256_LEN] != '\0') {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid SHA-256 '%.80s' (want 64 hex digits)", sha256);
        return -1;
    }
    for (int i = 0; i <= VWS_TRANSFER_SHA256_LEN; i++) {
        char ch = sha256[i];
        out[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    return 0;
}

/* ---- local I/O ------------------------------------------------------------ */

static int
pwrite_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Read up to N bytes (short only at end of file); -1 on error. */
static ssize_t
read_full(int fd, unsigned char *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Rate-limited progress, from the calling thread. */
struct progress {
    const struct vws_transfer_options *o;
    uint64_t total;
    uint64_t last;
};

static void
progress_tick(struct progress *pr, uint64_t done, bool force)
{
    uint64_t t;

    if (!pr->o || !pr->o->progress)
        return;
    t = now_ms();
    if (!force && t - pr->last < PROGRESS_MS)
        return;
    pr->last = t;
    pr->o->progress(pr->o->progress_arg, done, pr->total);
}

/* file://: the ring the reader fills and the hasher drains. */
struct ring {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned char *buf[NBUF];
    size_t len[NBUF];
    unsigned head;            /* next slot the reader fills */
    unsigned tail;            /* next slot the hasher hashes */
    bool end;                 /* the reader is done (or gave up) */
    EVP_MD_CTX *md;
    uint64_t hashed;
};

static void *
ring_hasher(void *arg)
{
    struct ring *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->tail == r->head && !r->end)
            pthread_cond_wait(&r->cond, &r->lock);
        if (r->tail == r->head)
            break;
        unsigned slot = r->tail % NBUF;
        size_t n = r->len[slot];
        pthread_mutex_unlock(&r->lock);
        EVP_DigestUpdate(r->md, r->buf[slot], n);
        pthread_mutex_lock(&r->lock);
        r->hashed += n;
        r->tail++;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Copy SRC_FD to DST_FD (both at offset 0) hashing into MD; stop with a
 * size failure past LIMIT bytes (0: none). */
static void
local_copy(int src_fd, int dst_fd, uint64_t limit, EVP_MD_CTX *md,
           struct progress *pr, const char *what, struct outcome *out)
{
    struct ring r = { .md = md };
    pthread_t th;
    uint64_t off = 0;
    bool started = false;

    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    for (int i = 0; i < NBUF; i++)
        r.buf[i] = vws_malloc(BUFSIZE);
    if (pthread_create(&th, NULL, ring_hasher, &r) != 0) {
        outcome_set(out, VWS_ERR_SYSTEM, false, "%s: cannot start a thread", what);
        goto done;
    }
    started = true;
    for (;;) {
        unsigned slot;
        ssize_t n;

        pthread_mutex_lock(&r.lock);
        while (r.head - r.tail == NBUF)
            pthread_cond_wait(&r.cond, &r.lock);
        slot = r.head % NBUF;
        pthread_mutex_unlock(&r.lock);
        n = read_full(src_fd, r.buf[slot], BUFSIZE);
        if (n < 0) {
            outcome_set(out, VWS_ERR_IO, true, "%s: read failed: %s", what, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (limit && off + (uint64_t)n > limit) {
            outcome_set(out, VWS_ERR_INVALID, false,
                        "size mismatch for %s: expected %llu bytes, got more",
                        what, (unsigned long long)limit);
            break;
        }
        if (pwrite_all(dst_fd, r.buf[slot], (size_t)n, off) < 0) {
            outcome_set(out, VWS_ERR_IO, false, "%s: write failed: %s", what, strerror(errno));
            break;
        }
        off += (uint64_t)n;
        pthread_mutex_lock(&r.lock);
        r.len[slot] = (size_t)n;
        r.head++;
        pthread_cond_broadcast(&r.cond);
        pthread_mutex_unlock(&r.lock);
        progress_tick(pr, off, false);
        if ((size_t)n < BUFSIZE)
            break;
    }
done:
    pthread_mutex_lock(&r.lock);
    r.end = true;
    pthread_cond_broadcast(&r.cond);
    pthread_mutex_unlock(&r.lock);
    if (started)
        pthread_join(th, NULL);
    for (int i = 0; i < NBUF; i++)
        free(r.buf[i]);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
}

/* ---- Globus --------------------------------------------------------------- */

static pthread_mutex_t globus_lock = PTHREAD_MUTEX_INITIALIZER;
static bool globus_active;
static bool globus_model_set;

/* Globus error text on one line; malloc'd. */
static char *
globus_reason(globus_object_t *err)
{
    char *s = err ? globus_error_print_friendly(err) : NULL;
    char *r;
    size_t n = 0;
    bool space = false;

    if (!s)
        return vws_strdup("unknown Globus error");
    r = vws_malloc(strlen(s) + 1);
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = n > 0;
            continue;
        }
        if (ch < 0x20 || ch == 0x7f)
            continue;
        if (space)
            r[n++] = ' ';
        space = false;
        r[n++] = (char)ch;
    }
    r[n] = '\0';
    free(s);
    return r;
}

static char *
result_reason(globus_result_t res)
{
    globus_object_t *err = globus_error_get(res);
    char *r = globus_reason(err);

    if (err)
        globus_object_free(err);
    return r;
}

/* Activate the Globus FTP client module unless it is active. */
static int
globus_up(const char *url)
{
    char sh[256];
    int rc = 0;

    pthread_mutex_lock(&globus_lock);
    if (!globus_active) {
        /* Globus's default thread model is "none" (callbacks run only while
         * someone polls); worker threads need the pthread model, chosen
         * before globus_common is first activated. */
        if (!globus_model_set)
            globus_thread_set_model("pthread");
        globus_model_set = true;
        if (globus_module_activate(GLOBUS_FTP_CLIENT_MODULE) != GLOBUS_SUCCESS) {
            vws_report_error(VWS_ERR_SYSTEM,
                             "'%s': cannot activate the Globus FTP client module",
                             shown(url, sh, sizeof(sh)));
            rc = -1;
        } else {
            globus_active = true;
        }
    }
    pthread_mutex_unlock(&globus_lock);
    return rc;
}

void
vws_transfer_shutdown(void)
{
    pthread_mutex_lock(&globus_lock);
    if (globus_active) {
        globus_module_deactivate(GLOBUS_FTP_CLIENT_MODULE);
        globus_active = false;
    }
    pthread_mutex_unlock(&globus_lock);
}

static int
pem_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Read FILE whole into a malloc'd buffer (at most CRED_MAX). */
static char *
slurp(const char *file, size_t *len, int *err)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    char *buf;
    ssize_t n;

    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    buf = vws_malloc(CRED_MAX);
    n = read_full(fd, (unsigned char *)buf, CRED_MAX);
    *err = n < 0 ? errno : EFBIG;
    close(fd);
    if (n < 0 || n >= CRED_MAX) {
        OPENSSL_cleanse(buf, CRED_MAX);
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* The credential of O as a GSS credential (GSS_C_NO_CREDENTIAL: Globus's
 * defaults).  Reports the error. */
static int
load_cred(const struct vws_transfer_options *o, const char *url, gss_cred_id_t *cred)
{
    gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
    OM_uint32 major, minor = 0;
    char *pem = NULL;
    size_t len = 0;
    int err = 0, rc = -1;
    char sh[256];

    *cred = GSS_C_NO_CREDENTIAL;
    if (!o || !o->cert)
        return 0;
    if (!o->key) {
        /* a proxy file: certificate, key, chain — Globus's own format */
        if (!(pem = slurp(o->cert, &len, &err))) {
            vws_report_error(VWS_ERR_CONFIG, "cannot read the credential '%s': %s",
                             o->cert, strerror(err));
            return -1;
        }
    } else {
        /* certificate (+ chain) and key: rebuild the same layout in memory */
        BIO *in = BIO_new_file(o->cert, "r"), *kin = NULL, *mem = NULL;
        STACK_OF(X509) *certs = sk_X509_new_null();
        EVP_PKEY *pkey = NULL;
        X509 *x;
        char *data;
        long n;

        while (in && (x = PEM_read_bio_X509(in, NULL, pem_no_password, NULL)))
            sk_X509_push(certs, x);
        if (in && sk_X509_num(certs) > 0)
            kin = BIO_new_file(o->key, "r");
        if (kin)
            pkey = PEM_read_bio_PrivateKey(kin, NULL, pem_no_password, NULL);
        if (pkey && (mem = BIO_new(BIO_s_mem())) &&
            PEM_write_bio_X509(mem, sk_X509_value(certs, 0)) &&
            PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL)) {
            bool ok = true;
            for (int i = 1; i < sk_X509_num(certs) && ok; i++)
                ok = PEM_write_bio_X509(mem, sk_X509_value(certs, i)) == 1;
            n = BIO_get_mem_data(mem, &data);
            if (ok && n > 0) {
                pem = vws_malloc((size_t)n);
                memcpy(pem, data, (size_t)n);
                len = (size_t)n;
            }
        }
        if (!pem)
            vws_report_error(VWS_ERR_CONFIG,
                             "cannot load the credential '%s' with key '%s': %s",
                             o->cert, o->key,
                             !in ? "cannot read the certificate" :
                             sk_X509_num(certs) == 0 ? "no certificate in it" :
                             !kin ? "cannot read the key" :
                             !pkey ? "not an unencrypted private key" : "out of memory");
        if (mem) {
            /* the memory BIO held the key in clear */
            BUF_MEM *bm = NULL;
            BIO_get_mem_ptr(mem, &bm);
            if (bm && bm->data)
                OPENSSL_cleanse(bm->data, bm->length);
            BIO_free(mem);
        }
        EVP_PKEY_free(pkey);
        BIO_free(kin);
        BIO_free(in);
        sk_X509_pop_free(certs, X509_free);
        if (!pem)
            return -1;
    }
    buf.value = pem;
    buf.length = len;
    major = gss_import_cred(&minor, cred, GSS_C_NO_OID, GSS_IMPEXP_OPAQUE_FORM,
                            &buf, 0, NULL);
    if (GSS_ERROR(major)) {
        char *why = result_reason((globus_result_t)minor);
        vws_report_error(VWS_ERR_CONFIG, "cannot use the credential '%s' for '%s': %s",
                         o->cert, shown(url, sh, sizeof(sh)), why);
        free(why);
        *cred = GSS_C_NO_CREDENTIAL;
    } else {
        rc = 0;
    }
    OPENSSL_cleanse(pem, len);
    free(pem);
    return rc;
}

static void
release_cred(gss_cred_id_t *cred)
{
    OM_uint32 minor;

    if (*cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&minor, cred);
    *cred = GSS_C_NO_CREDENTIAL;
}

/* The checks of a GridFTP call before any attempt: Globus up, the CA
 * directory the one Globus will read, the credential loaded. */
static int
globus_prepare(const struct vws_transfer_options *o, const char *url, gss_cred_id_t *cred)
{
    char sh[256];

    if (globus_up(url) < 0)
        return -1;
    if (o && o->cert_dir) {
        const char *env = getenv("X509_CERT_DIR");
        char *want = realpath(o->cert_dir, NULL);
        char *have = env ? realpath(env, NULL) : NULL;
        bool same = want && have && strcmp(want, have) == 0;

        free(want);
        free(have);
        if (!same) {
            vws_report_error(VWS_ERR_CONFIG,
                             "'%s': trusted CA directory '%s' requested, but Globus reads "
                             "X509_CERT_DIR (%s%s%s): set X509_CERT_DIR to it before the "
                             "first transfer", shown(url, sh, sizeof(sh)), o->cert_dir,
                             env ? "'" : "", env ? env : "unset", env ? "'" : "");
            return -1;
        }
    }
    return load_cred(o, url, cred);
}

/* One GridFTP operation in flight: the state the Globus callbacks and the
 * calling thread share, under LOCK. */
enum buf_state { BUF_FREE, BUF_REGISTERED, BUF_HELD, BUF_BUSY };

struct gbuf {
    unsigned char *data;
    enum buf_state state;
    uint64_t off;
    size_t len;
    bool eof;
};

struct range {
    uint64_t off, len;
};

struct op {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    globus_ftp_client_handle_t handle;
    struct gbuf buf[NBUF];
    int fd;                    /* fetch: DEST; put: SRC */
    uint64_t limit;            /* fetch: SIZE or 0 */
    bool done;                 /* the complete callback ran */
    bool eof;                  /* fetch: a callback said eof; put: eof sent */
    bool failed;
    bool want_abort;
    bool aborted;
    uint64_t received;         /* bytes written by the data callbacks */
    uint64_t last_data;        /* now_ms() of the last data */
    struct outcome *out;
    const char *what;          /* "'URL'" for messages */
    struct range *spill;       /* written, not hashed yet (sorted by off) */
    size_t nspill;
};

static struct gbuf *
find_buf(struct op *op, const globus_byte_t *p)
{
    for (int i = 0; i < NBUF; i++)
        if (op->buf[i].data == p)
            return &op->buf[i];
    return NULL;
}

/* Record a Globus failure (the first one): 5xx FTP replies are permanent. */
static void
op_fail_globus(struct op *op, globus_object_t *error)
{
    int code = globus_error_ftp_error_get_code(error);
    char *why = globus_reason(error);

    if (code >= 500 && code < 600)
        outcome_set(op->out,
                    code == 550 || strstr(why, "No such file") ? VWS_ERR_NOT_FOUND :
                    code == 530 || code == 535 ? VWS_ERR_DENIED : VWS_ERR_IO, false,
                    "%s: the server refused the transfer: %s", op->what, why);
    else if (strstr(why, "gss_init_sec_context failed"))
        /* the server's certificate: wrong name, CA not trusted, expired
         * credential: another attempt cannot help */
        outcome_set(op->out, VWS_ERR_SECURITY, false, "%s: authentication failed: %s",
                    op->what, why);
    else
        outcome_set(op->out, VWS_ERR_IO, true, "%s", why);
    free(why);
    op->failed = true;
}

static void
complete_cb(void *arg, globus_ftp_client_handle_t *handle, globus_object_t *error)
{
    struct op *op = arg;

    (void)handle;
    pthread_mutex_lock(&op->lock);
    if (error && !op->failed)
        op_fail_globus(op, error);
    op->done = true;
    pthread_cond_broadcast(&op->cond);
    pthread_mutex_unlock(&op->lock);
}

static void
read_cb(void *arg, globus_ftp_client_handle_t *handle, globus_object_t *error,
        globus_byte_t *buffer, globus_size_t length, globus_off_t offset,
        globus_bool_t eof)
{
    struct op *op = arg;
    struct gbuf *b = find_buf(op, buffer);
    int werr = 0;
    bool too_big = false;

    (void)handle;
    if (!error && length > 0) {
        if (op->limit && (uint64_t)offset + length > op->limit)
            too_big = true;
        else if (pwrite_all(op->fd, buffer, length, (uint64_t)offset) < 0)
            werr = errno;
    }
    pthread_mutex_lock(&op->lock);
    if (error) {
        if (!op->failed)
            op_fail_globus(op, error);
    } else if (too_big) {
        outcome_set(op->out, VWS_ERR_INVALID, false,
                    "size mismatch for %s: expected %llu bytes, got more", op->what,
                    (unsigned long long)op->limit);
        op->failed = op->want_abort = true;
    } else if (werr) {
        outcome_set(op->out, VWS_ERR_IO, false, "%s: cannot write: %s", op->what,
                    strerror(werr));
        op->failed = op->want_abort = true;
    }
    if (b) {
        if (error || too_big || werr || length == 0) {
            b->state = BUF_FREE;
        } else {
            b->state = BUF_HELD;
            b->off = (uint64_t)offset;
            b->len = length;
            op->received += length;
            op->last_data = now_ms();
        }
    }
    if (eof)
        op->eof = true;
    pthread_cond_broadcast(&op->cond);
    pthread_mutex_unlock(&op->lock);
}

static void
op_init(struct op *op, struct outcome *out, const char *what)
{
    memset(op, 0, sizeof(*op));
    pthread_mutex_init(&op->lock, NULL);
    pthread_cond_init(&op->cond, NULL);
    op->out = out;
    op->what = what;
    op->fd = -1;
    op->last_data = now_ms();
    for (int i = 0; i < NBUF; i++)
        op->buf[i].data = vws_malloc(BUFSIZE);
}

static void
op_release(struct op *op)
{
    for (int i = 0; i < NBUF; i++)
        free(op->buf[i].data);
    free(op->spill);
    pthread_mutex_destroy(&op->lock);
    pthread_cond_destroy(&op->cond);
}

/* Handle and attributes for one attempt; 0 or -1 (OUT filled). */
static int
op_start_handle(struct op *op, globus_ftp_client_operationattr_t *attr,
                const struct vws_transfer_options *o, gss_cred_id_t cred, bool gsi)
{
    globus_ftp_client_handleattr_t hattr;
    globus_result_t res;

    /* with a NULL attribute, handle_init leaks the default one it makes */
    globus_ftp_client_handleattr_init(&hattr);
    res = globus_ftp_client_handle_init(&op->handle, &hattr);
    globus_ftp_client_handleattr_destroy(&hattr);
    if (res != GLOBUS_SUCCESS) {
        char *why = result_reason(res);
        outcome_set(op->out, VWS_ERR_SYSTEM, false, "%s: %s", op->what, why);
        free(why);
        return -1;
    }
    globus_ftp_client_operationattr_init(attr);
    if (gsi)
        globus_ftp_client_operationattr_set_authorization(attr, cred, NULL, NULL, NULL, NULL);
    if (o && o->parallel > 1) {
        globus_ftp_control_parallelism_t par;
        memset(&par, 0, sizeof(par));
        par.mode = GLOBUS_FTP_CONTROL_PARALLELISM_FIXED;
        par.fixed.size = o->parallel;
        globus_ftp_client_operationattr_set_mode(attr, GLOBUS_FTP_CONTROL_MODE_EXTENDED_BLOCK);
        globus_ftp_client_operationattr_set_parallelism(attr, &par);
    }
    return 0;
}

/* Start one attempt: the handle, then the GET (or PUT) of URL.  0, or -1
 * with OUT filled and everything of OP released. */
static int
op_begin(struct op *op, globus_ftp_client_operationattr_t *attr,
         const struct vws_transfer_options *o, gss_cred_id_t cred, bool gsi,
         const char *url, bool put)
{
    globus_result_t res;

    if (op_start_handle(op, attr, o, cred, gsi) < 0) {
        op_release(op);
        return -1;
    }
    res = put ? globus_ftp_client_put(&op->handle, url, attr, NULL, complete_cb, op)
              : globus_ftp_client_get(&op->handle, url, attr, NULL, complete_cb, op);
    if (res != GLOBUS_SUCCESS) {
        char *why = result_reason(res);
        outcome_set(op->out, VWS_ERR_IO, true, "%s", why);
        free(why);
        globus_ftp_client_handle_destroy(&op->handle);
        globus_ftp_client_operationattr_destroy(attr);
        op_release(op);
        return -1;
    }
    return 0;
}

/* Wait for the complete callback (after an abort if needed), then free the
 * handle.  Called with LOCK held; returns with it held. */
static void
op_finish(struct op *op, globus_ftp_client_operationattr_t *attr)
{
    while (!op->done) {
        if (!op->aborted && (op->failed || op->want_abort)) {
            op->aborted = true;
            pthread_mutex_unlock(&op->lock);
            globus_ftp_client_abort(&op->handle);
            pthread_mutex_lock(&op->lock);
            continue;
        }
        pthread_cond_wait(&op->cond, &op->lock);
    }
    pthread_mutex_unlock(&op->lock);
    globus_ftp_client_handle_destroy(&op->handle);
    globus_ftp_client_operationattr_destroy(attr);
    pthread_mutex_lock(&op->lock);
}

static void
spill_add(struct op *op, uint64_t off, uint64_t len)
{
    size_t i = op->nspill;

    op->spill = vws_reallocarray(op->spill, op->nspill + 1, sizeof(*op->spill));
    while (i > 0 && op->spill[i - 1].off > off) {
        op->spill[i] = op->spill[i - 1];
        i--;
    }
    op->spill[i].off = off;
    op->spill[i].len = len;
    op->nspill++;
}

/* One GridFTP get: the calling thread hashes (see the top of the file). */
static void
gsiftp_get_attempt(const char *url, int fd, uint64_t limit, EVP_MD_CTX *md,
                   const struct vws_transfer_options *o, gss_cred_id_t cred, bool gsi,
                   struct progress *pr, const char *what, struct outcome *out,
                   uint64_t *total_out)
{
    struct op op;
    globus_ftp_client_operationattr_t attr;
    globus_result_t res;
    uint64_t hashed = 0, stall_ms;
    unsigned char *scratch = NULL;

    op_init(&op, out, what);
    op.fd = fd;
    op.limit = limit;
    stall_ms = (uint64_t)(o && o->stall_timeout_s ? o->stall_timeout_s : DEFAULT_STALL_S) * 1000u;
    if (op_begin(&op, &attr, o, cred, gsi, url, false) < 0)
        return;
    pthread_mutex_lock(&op.lock);
    for (;;) {
        struct gbuf *next = NULL, *far = NULL;
        unsigned held = 0, registered = 0;

        /* give free buffers to Globus while data may come */
        for (int i = 0; i < NBUF; i++) {
            struct gbuf *b = &op.buf[i];
            if (b->state == BUF_FREE && !op.eof && !op.failed && !op.done) {
                b->state = BUF_REGISTERED;
                pthread_mutex_unlock(&op.lock);
                res = globus_ftp_client_register_read(&op.handle, b->data, BUFSIZE,
                                                      read_cb, &op);
                pthread_mutex_lock(&op.lock);
                if (res != GLOBUS_SUCCESS) {
                    /* the operation is ending: its callbacks say why */
                    globus_object_free(globus_error_get(res));
                    b->state = BUF_FREE;
                }
            }
            if (b->state == BUF_REGISTERED)
                registered++;
            if (b->state == BUF_HELD) {
                held++;
                if (b->off == hashed)
                    next = b;
                else if (!far || b->off > far->off)
                    far = b;
            }
        }
        if (op.failed)
            break;
        if (next) {
            next->state = BUF_BUSY;
            pthread_mutex_unlock(&op.lock);
            EVP_DigestUpdate(md, next->data, next->len);
            progress_tick(pr, hashed + next->len, false);
            pthread_mutex_lock(&op.lock);
            hashed += next->len;
            next->state = BUF_FREE;
            continue;
        }
        if (op.nspill > 0 && op.spill[0].off == hashed) {
            struct range r = op.spill[0];
            memmove(op.spill, op.spill + 1, (op.nspill - 1) * sizeof(*op.spill));
            op.nspill--;
            pthread_mutex_unlock(&op.lock);
            if (!scratch)
                scratch = vws_malloc(BUFSIZE);
            for (uint64_t d = 0; d < r.len; ) {
                size_t n = (size_t)(r.len - d < BUFSIZE ? r.len - d : BUFSIZE);
                ssize_t got = pread(fd, scratch, n, (off_t)(r.off + d));
                if (got <= 0) {
                    pthread_mutex_lock(&op.lock);
                    outcome_set(out, VWS_ERR_IO, false, "%s: cannot read back: %s", what,
                                got < 0 ? strerror(errno) : "short file");
                    op.failed = true;
                    pthread_mutex_unlock(&op.lock);
                    break;
                }
                EVP_DigestUpdate(md, scratch, (size_t)got);
                d += (uint64_t)got;
            }
            pthread_mutex_lock(&op.lock);
            hashed += r.len;
            continue;
        }
        if (far && registered == 0 && !op.done && !op.eof) {
            /* every buffer waits for earlier data: spill the furthest */
            spill_add(&op, far->off, far->len);
            far->state = BUF_FREE;
            continue;
        }
        if (op.done && held == 0 && registered == 0)
            break;
        if (now_ms() - op.last_data > stall_ms) {
            outcome_set(out, VWS_ERR_TIMEOUT, true, "no data for %llu s",
                        (unsigned long long)(stall_ms / 1000u));
            op.failed = true;
            break;
        }
        {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += PROGRESS_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&op.cond, &op.lock, &ts);
        }
        if (pr->o && pr->o->progress) {
            uint64_t h = hashed;
            pthread_mutex_unlock(&op.lock);
            progress_tick(pr, h, false);
            pthread_mutex_lock(&op.lock);
        }
    }
    op_finish(&op, &attr);
    if (!op.failed && (hashed != op.received || op.nspill > 0))
        outcome_set(out, VWS_ERR_IO, true, "%s: incomplete data (%llu of %llu bytes in order)",
                    what, (unsigned long long)hashed, (unsigned long long)op.received);
    *total_out = hashed;
    pthread_mutex_unlock(&op.lock);
    free(scratch);
    op_release(&op);
}

static void
write_cb(void *arg, globus_ftp_client_handle_t *handle, globus_object_t *error,
         globus_byte_t *buffer, globus_size_t length, globus_off_t offset,
         globus_bool_t eof)
{
    struct op *op = arg;
    struct gbuf *b = find_buf(op, buffer);

    (void)handle;
    (void)length;
    (void)offset;
    (void)eof;
    pthread_mutex_lock(&op->lock);
    if (error && !op->failed)
        op_fail_globus(op, error);
    if (b)
        b->state = BUF_FREE;
    op->last_data = now_ms();
    pthread_cond_broadcast(&op->cond);
    pthread_mutex_unlock(&op->lock);
}

/* One GridFTP put of SRC_FD (SIZE bytes): read, hash, register_write. */
static void
gsiftp_put_attempt(const char *url, int src_fd, uint64_t size, EVP_MD_CTX *md,
                   const struct vws_transfer_options *o, gss_cred_id_t cred, bool gsi,
                   struct progress *pr, const char *what, struct outcome *out)
{
    struct op op;
    globus_ftp_client_operationattr_t attr;
    globus_result_t res;
    uint64_t off = 0, stall_ms;

    op_init(&op, out, what);
    stall_ms = (uint64_t)(o && o->stall_timeout_s ? o->stall_timeout_s : DEFAULT_STALL_S) * 1000u;
    if (op_begin(&op, &attr, o, cred, gsi, url, true) < 0)
        return;
    pthread_mutex_lock(&op.lock);
    while (!op.failed && !op.done) {
        struct gbuf *b = NULL;

        for (int i = 0; i < NBUF && !b; i++)
            if (op.buf[i].state == BUF_FREE)
                b = &op.buf[i];
        if (b && !op.eof) {
            ssize_t n;
            bool last;

            b->state = BUF_BUSY;
            pthread_mutex_unlock(&op.lock);
            n = read_full(src_fd, b->data, BUFSIZE);
            pthread_mutex_lock(&op.lock);
            if (n < 0) {
                outcome_set(out, VWS_ERR_IO, false, "%s: cannot read the source: %s", what,
                            strerror(errno));
                op.failed = true;
                b->state = BUF_FREE;
                break;
            }
            EVP_DigestUpdate(md, b->data, (size_t)n);
            last = (size_t)n < BUFSIZE || off + (uint64_t)n >= size;
            b->state = BUF_REGISTERED;
            op.eof = last;
            pthread_mutex_unlock(&op.lock);
            res = globus_ftp_client_register_write(&op.handle, b->data, (globus_size_t)n,
                                                   (globus_off_t)off, last ? GLOBUS_TRUE
                                                                           : GLOBUS_FALSE,
                                                   write_cb, &op);
            pthread_mutex_lock(&op.lock);
            if (res != GLOBUS_SUCCESS) {
                char *why = result_reason(res);
                outcome_set(out, VWS_ERR_IO, true, "%s", why);
                free(why);
                op.failed = true;
                b->state = BUF_FREE;
                break;
            }
            off += (uint64_t)n;
            if (pr->o && pr->o->progress) {
                pthread_mutex_unlock(&op.lock);
                progress_tick(pr, off, false);
                pthread_mutex_lock(&op.lock);
            }
            continue;
        }
        if (now_ms() - op.last_data > stall_ms) {
            outcome_set(out, VWS_ERR_TIMEOUT, true, "no progress for %llu s",
                        (unsigned long long)(stall_ms / 1000u));
            op.failed = true;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PROGRESS_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&op.cond, &op.lock, &ts);
    }
    op_finish(&op, &attr);
    pthread_mutex_unlock(&op.lock);
    op_release(&op);
}

/* ---- the calls ------------------------------------------------------------ */

/* Report the final outcome of a call that made ATTEMPTS attempts. */
static void
report_outcome(const struct outcome *out, unsigned attempts, const char *what)
{
    if (out->retry && attempts > 1)
        vws_report_error(out->code, "%s: transfer failed after %u attempts: %s", what,
                         attempts, out->msg);
    else if (out->retry)
        vws_report_error(out->code, "%s: transfer failed: %s", what, out->msg);
    else
        vws_report_error(out->code, "%s", out->msg);
}

int
vws_transfer_fetch(const char *url, const char *dest, uint64_t size,
                   const char *sha256, const struct vws_transfer_options *o)
{
    char want[VWS_TRANSFER_SHA256_LEN + 1], got[VWS_TRANSFER_SHA256_LEN + 1];
    char sh[256], what[300];
    struct url u;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    EVP_MD_CTX *md = NULL;
    struct outcome out;
    unsigned attempts = 0, max_attempts;
    int fd = -1, rc = -1;

    if (url_parse(url, &u) < 0)
        return -1;
    snprintf(what, sizeof(what), "'%s'", shown(url, sh, sizeof(sh)));
    if (!dest || !*dest) {
        vws_report_error(VWS_ERR_INVALID_ARG, "%s: missing destination", what);
        goto out;
    }
    if (sha256 && check_sha_arg(sha256, want) < 0)
        goto out;
    if (u.scheme != SCHEME_FILE && globus_prepare(o, url, &cred) < 0)
        goto out;
    fd = open(dest, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            vws_report_error(VWS_ERR_EXISTS, "cannot fetch %s: '%s' exists", what, dest);
        else
            vws_report_system_error("cannot fetch %s: cannot create '%s'", what, dest);
        goto out;
    }
    if (!(md = EVP_MD_CTX_new())) {
        vws_report_error(VWS_ERR_NOMEM, "%s: cannot allocate a digest", what);
        goto out;
    }
    max_attempts = 1 + (o ? o->retries : 0);
    for (;;) {
        struct progress pr = { .o = o, .total = size };
        uint64_t total = 0;

        memset(&out, 0, sizeof(out));
        attempts++;
        if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) || ftruncate(fd, 0) < 0) {
            outcome_set(&out, VWS_ERR_SYSTEM, false, "%s: cannot restart: %s", what,
                        strerror(errno));
            break;
        }
        if (u.scheme == SCHEME_FILE) {
            int src = open(u.path, O_RDONLY | O_CLOEXEC);
            struct stat st;

            if (src < 0) {
                outcome_set(&out, errno == ENOENT ? VWS_ERR_NOT_FOUND : VWS_ERR_IO, false,
                            "%s: cannot open '%s': %s", what, u.path, strerror(errno));
            } else if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
                outcome_set(&out, VWS_ERR_INVALID_ARG, false,
                            "%s: '%s' is not a regular file", what, u.path);
            } else if (size && (uint64_t)st.st_size != size) {
                outcome_set(&out, VWS_ERR_INVALID, false,
                            "size mismatch for %s: expected %llu bytes, got %llu", what,
                            (unsigned long long)size, (unsigned long long)st.st_size);
            } else {
                pr.total = (uint64_t)st.st_size;
                posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
                local_copy(src, fd, size, md, &pr, what, &out);
                if (out.code == VWS_ERR_OK) {
                    struct stat dst;
                    total = fstat(fd, &dst) == 0 ? (uint64_t)dst.st_size : 0;
                }
            }
            if (src >= 0)
                close(src);
        } else {
            gsiftp_get_attempt(url, fd, size, md, o, cred, u.scheme == SCHEME_GSIFTP, &pr,
                               what, &out, &total);
        }
        if (out.code == VWS_ERR_OK) {
            unsigned char bin[EVP_MAX_MD_SIZE];
            unsigned n = 0;

            EVP_DigestFinal_ex(md, bin, &n);
            hex(bin, n, got);
            if (size && total != size)
                outcome_set(&out, VWS_ERR_INVALID, false,
                            "size mismatch for %s: expected %llu bytes, got %llu", what,
                            (unsigned long long)size, (unsigned long long)total);
            else if (sha256 && strcmp(want, got) != 0)
                outcome_set(&out, VWS_ERR_INVALID, false,
                            "checksum mismatch for %s: expected %s, got %s", what, want, got);
            else if (fsync(fd) < 0 && errno != EINVAL)
                outcome_set(&out, VWS_ERR_IO, false, "%s: cannot sync '%s': %s", what, dest,
                            strerror(errno));
            if (out.code == VWS_ERR_OK) {
                progress_tick(&pr, total, true);
                rc = 0;
                break;
            }
        }
        if (!out.retry || attempts >= max_attempts)
            break;
        VWS_WARN("%s: attempt %u of %u failed: %s", what, attempts, max_attempts, out.msg);
        if (o && o->retry_delay_ms)
            sleep_ms(o->retry_delay_ms);
    }
    if (rc < 0 && out.code != VWS_ERR_OK)
        report_outcome(&out, attempts, what);

out:
    if (fd >= 0) {
        if (close(fd) < 0 && rc == 0) {
            vws_report_system_error("%s: cannot close '%s'", what, dest);
            rc = -1;
        }
        if (rc < 0)
            unlink(dest);
    }
    EVP_MD_CTX_free(md);
    release_cred(&cred);
    free(u.path);
    return rc;
}

int
vws_transfer_put(const char *src, const char *url, char sha256_out[VWS_TRANSFER_SHA256_LEN + 1],
                 const struct vws_transfer_options *o)
{
    char sh[256], what[300], got[VWS_TRANSFER_SHA256_LEN + 1];
    struct url u;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    EVP_MD_CTX *md = NULL;
    struct outcome out;
    struct stat st;
    unsigned attempts = 0, max_attempts;
    int fd = -1, dfd = -1, rc = -1;

    if (url_parse(url, &u) < 0)
        return -1;
    snprintf(what, sizeof(what), "'%s'", shown(url, sh, sizeof(sh)));
    if (!src || !*src) {
        vws_report_error(VWS_ERR_INVALID_ARG, "%s: missing source file", what);
        goto out;
    }
    if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        vws_report_system_error("cannot upload '%s' to %s", src, what);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "cannot upload '%s': not a regular file", src);
        goto out;
    }
    if (u.scheme != SCHEME_FILE && globus_prepare(o, url, &cred) < 0)
        goto out;
    if (u.scheme == SCHEME_FILE &&
        (dfd = open(u.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        if (errno == EEXIST)
            vws_report_error(VWS_ERR_EXISTS, "cannot upload to %s: '%s' exists", what, u.path);
        else
            vws_report_system_error("cannot upload to %s: cannot create '%s'", what, u.path);
        goto out;
    }
    if (!(md = EVP_MD_CTX_new())) {
        vws_report_error(VWS_ERR_NOMEM, "%s: cannot allocate a digest", what);
        goto out;
    }
    max_attempts = 1 + (o ? o->retries : 0);
    for (;;) {
        struct progress pr = { .o = o, .total = (uint64_t)st.st_size };

        memset(&out, 0, sizeof(out));
        attempts++;
        if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) || lseek(fd, 0, SEEK_SET) < 0 ||
            (dfd >= 0 && ftruncate(dfd, 0) < 0)) {
            outcome_set(&out, VWS_ERR_SYSTEM, false, "%s: cannot restart: %s", what,
                        strerror(errno));
            break;
        }
        if (u.scheme == SCHEME_FILE) {
            local_copy(fd, dfd, 0, md, &pr, what, &out);
            if (out.code == VWS_ERR_OK && fsync(dfd) < 0 && errno != EINVAL)
                outcome_set(&out, VWS_ERR_IO, false, "%s: cannot sync: %s", what,
                            strerror(errno));
        } else {
            gsiftp_put_attempt(url, fd, (uint64_t)st.st_size, md, o, cred,
                               u.scheme == SCHEME_GSIFTP, &pr, what, &out);
        }
        if (out.code == VWS_ERR_OK) {
            unsigned char bin[EVP_MAX_MD_SIZE];
            unsigned n = 0;

            EVP_DigestFinal_ex(md, bin, &n);
            hex(bin, n, got);
            if (sha256_out)
                memcpy(sha256_out, got, sizeof(got));
            progress_tick(&pr, (uint64_t)st.st_size, true);
            rc = 0;
            break;
        }
        if (!out.retry || attempts >= max_attempts)
            break;
        VWS_WARN("%s: attempt %u of %u failed: %s", what, attempts, max_attempts, out.msg);
        if (o && o->retry_delay_ms)
            sleep_ms(o->retry_delay_ms);
    }
    if (rc < 0 && out.code != VWS_ERR_OK)
        report_outcome(&out, attempts, what);

out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0) {
        if (close(dfd) < 0 && rc == 0) {
            vws_report_system_error("%s: cannot close '%s'", what, u.path);
            rc = -1;
        }
        if (rc < 0)
            unlink(u.path);
    }
    EVP_MD_CTX_free(md);
    release_cred(&cred);
    free(u.path);
    return rc;
}
