/*
 * check_gridftp.c — tests of common/gridftp.h against a real GSI
 * globus-gridftp-server on 127.0.0.1 (scripts/gridftp-server) with the test
 * PKI (scripts/mkpki): fetches with a host credential and with Alice's
 * proxy, file://, checksum and size mismatches (not retried, DEST gone), a
 * file the server does not have, a server with the wrong name and one from
 * an untrusted CA, a server killed mid-transfer (retries, then a clean
 * failure) and killed then restarted (the retry succeeds), put + fetch
 * round trips, parallel streams, four fetches at once, and URL checks.
 *
 * main() makes the PKI, the files and the servers, and sets X509_CERT_DIR
 * before any thread exists (Globus reads it from the environment only).
 */
#define VWS_MODULE "check_gridftp"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/gridftp.h"
#include "internal.h"

#define MB (1024u * 1024u)

static char dir[64];              /* the test directory */
static char *pki, *root, *srcdir;
static int port;                  /* the main server */
static int port_wrong;            /* a server named wrong.example */
static int port_rogue;            /* a server whose CA we do not trust */
static int port_kill;             /* the server the kill tests kill */
static char sha_random[65], sha_big[65];

/* ---- helpers ------------------------------------------------------------ */

static void
die(const char *what)
{
    fprintf(stderr, "check_gridftp: %s\n", what);
    exit(EXIT_FAILURE);
}

static int
sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
sha_file(const char *path, char out[65])
{
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY);

    if (fd < 0 || !c)
        die("sha_file");
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(c, buf, (size_t)r);
    close(fd);
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* SIZE bytes of a cheap PRNG (SEED) into PATH. */
static void
make_file(const char *path, size_t size, uint64_t seed)
{
    uint64_t *buf = vws_malloc(MB);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t done = 0;

    if (fd < 0)
        die("make_file");
    while (done < size) {
        size_t n = size - done < MB ? size - done : MB;
        for (size_t i = 0; i < MB / 8; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = seed ^ (seed >> 29);
        }
        if (write(fd, buf, n) != (ssize_t)n)
            die("make_file write");
        done += n;
    }
    close(fd);
    free(buf);
}

static int
free_port(void)
{
    static int next;
    char cmd[128];

    if (!next)
        next = 20000 + (int)(getpid() % 20000);
    for (;;) {
        next++;
        snprintf(cmd, sizeof(cmd), "ss -ltnH 'sport = :%d' | grep -q .", next);
        if (sh(cmd) != 0)
            return next;
    }
}

/* Start a server on P for PKIDIR (host name HOST, NULL: localhost). */
static int
server_start(const char *pkidir, int p, const char *host)
{
    char *cmd = vws_asprintf("%sVWS_GRIDFTP_HOST=%s sh '%s/scripts/gridftp-server' start '%s' %d '%s' >&2",
                             "", host ? host : "localhost", srcdir, pkidir, p, root);
    int rc = sh(cmd);
    free(cmd);
    return rc;
}

static void
server_stop(const char *pkidir, int p)
{
    char *cmd = vws_asprintf("sh '%s/scripts/gridftp-server' stop '%s' %d >/dev/null 2>&1",
                             srcdir, pkidir, p);
    if (sh(cmd) != 0)
        fprintf(stderr, "check_gridftp: cannot stop the server on %d\n", p);
    free(cmd);
}

/* SIGKILL the server on P and the session processes it forked. */
static void
server_kill(int p)
{
    char *pidfile = vws_asprintf("%s/gridftp-%d/pid", pki, p);
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    DIR *d;
    struct dirent *e;

    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0)
        die("no server pid");
    fclose(f);
    if ((d = opendir("/proc"))) {
        while ((e = readdir(d))) {
            char path[300], buf[512];
            int child = (int)strtol(e->d_name, NULL, 10), ppid = 0;
            FILE *s;
            if (child <= 0)
                continue;
            snprintf(path, sizeof(path), "/proc/%d/stat", child);
            if (!(s = fopen(path, "r")))
                continue;
            if (fgets(buf, sizeof(buf), s)) {
                char *rp = strrchr(buf, ')');
                if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == pid)
                    kill(child, SIGKILL);
            }
            fclose(s);
        }
        closedir(d);
    }
    kill(pid, SIGKILL);
    /* it may stay a zombie until init reaps it: the pidfile is stale now */
    unlink(pidfile);
    for (int i = 0; i < 100; i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ss -ltnH 'sport = :%d' | grep -q .", p);
        if (sh(cmd) != 0)
            break;
        usleep(10000);
    }
    free(pidfile);
}

static char *
url_of(int p, const char *name)
{
    return vws_asprintf("gsiftp://localhost:%d%s/%s", p, root, name);
}

static char *
out_path(const char *name)
{
    return vws_asprintf("%s/out/%s", dir, name);
}

static bool
exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool
same_file(const char *a, const char *b)
{
    char *cmd = vws_asprintf("cmp -s '%s' '%s'", a, b);
    int rc = sh(cmd);
    free(cmd);
    return rc == 0;
}

static char *hostcert, *hostkey, *alice;

static struct vws_transfer_options
host_opts(void)
{
    struct vws_transfer_options o = { .cert = hostcert, .key = hostkey, .stall_timeout_s = 30 };
    return o;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- URL checks ------------------------------------------------------- */

START_TEST(url_checks)
{
    static const struct { const char *url; vws_error_code code; } bad[] = {
        { "gsiftp://h/../etc/passwd", VWS_ERR_SECURITY },
        { "gsiftp://h/a/%2e%2e/b", VWS_ERR_SECURITY },
        { "gsiftp://h/a/%2E%2e/b", VWS_ERR_SECURITY },
        { "gsiftp://h/a/./b", VWS_ERR_SECURITY },
        { "gsiftp://h/a%2fb", VWS_ERR_SECURITY },
        { "gsiftp://h/a%0d%0aDELE%20x", VWS_ERR_SECURITY },
        { "gsiftp://h/a\r\nDELE x", VWS_ERR_SECURITY },
        { "gsiftp://h/a\tb", VWS_ERR_SECURITY },
        { "gsiftp://user:pw@h/a", VWS_ERR_SECURITY },
        { "gsiftp://user@h/a", VWS_ERR_SECURITY },
        { "file:relative", VWS_ERR_INVALID_ARG },
        { "file:/abs/but/no/slashes", VWS_ERR_INVALID_ARG },
        { "file://otherhost/etc/passwd", VWS_ERR_INVALID_ARG },
        { "gsiftp:///no/host", VWS_ERR_INVALID_ARG },
        { "gsiftp://h", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/dir/", VWS_ERR_INVALID_ARG },
        { "gsiftp://h:0/a", VWS_ERR_INVALID_ARG },
        { "gsiftp://h:65536/a", VWS_ERR_INVALID_ARG },
        { "gsiftp://h:/a", VWS_ERR_INVALID_ARG },
        { "gsiftp://h:2811x/a", VWS_ERR_INVALID_ARG },
        { "gsiftp://h_x/a", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/a b", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/a?x=1", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/a%zz", VWS_ERR_INVALID_ARG },
        { "gsiftp://h/a%2", VWS_ERR_INVALID_ARG },
        { "http://h/a", VWS_ERR_INVALID_ARG },
        { "/just/a/path", VWS_ERR_INVALID_ARG },
        { "", VWS_ERR_INVALID_ARG },
    };
    static const char *const good[] = {
        "gsiftp://h/a", "gsiftp://repo.example.org:2811/pool/img.qcow2",
        "GSIFTP://127.0.0.1/a/b..c/.hidden", "ftp://[::1]:21/x", "file:///tmp/x",
        "file://localhost/tmp/x", "gsiftp://h/a%20b", "gsiftp://h/a//b",
    };
    char *longurl;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vws_error_reset();
        ck_assert_msg(vws_transfer_url_check(bad[i].url) == -1, "accepted '%s'", bad[i].url);
        ck_assert_msg(vws_error_code_last() == bad[i].code, "'%s': %s (%s)", bad[i].url,
                      vws_error_code_name(vws_error_code_last()), vws_error_message());
        ck_assert_ptr_null(strchr(vws_error_message(), '\r'));
        ck_assert_ptr_null(strchr(vws_error_message(), '\n'));
    }
    ck_assert_int_eq(vws_transfer_url_check(NULL), -1);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(vws_transfer_url_check(good[i]) == 0, "refused '%s': %s", good[i],
                      vws_error_message());
    /* exactly the limit is fine, one more byte is not */
    longurl = vws_malloc(VWS_TRANSFER_URL_MAX + 2);
    memcpy(longurl, "gsiftp://h/", 11);
    memset(longurl + 11, 'a', VWS_TRANSFER_URL_MAX - 11);
    longurl[VWS_TRANSFER_URL_MAX] = '\0';
    ck_assert_int_eq(vws_transfer_url_check(longurl), 0);
    longurl[VWS_TRANSFER_URL_MAX] = 'a';
    longurl[VWS_TRANSFER_URL_MAX + 1] = '\0';
    ck_assert_int_eq(vws_transfer_url_check(longurl), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_uint_lt(strlen(vws_error_message()), 400);
    free(longurl);
}
END_TEST

/* ---- fetches ------------------------------------------------------------ */

START_TEST(fetch_host_cred)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "random.bin"), *dst = out_path("host.bin"), *src;
    struct stat st;

    ck_assert_msg(vws_transfer_fetch(url, dst, 12 * MB, sha_random, &o) == 0, "%s",
                  vws_error_message());
    src = vws_asprintf("%s/random.bin", root);
    ck_assert(same_file(src, dst));
    ck_assert_int_eq(stat(dst, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* again: DEST exists now */
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_EXISTS);
    ck_assert(same_file(src, dst));
    free(src);
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_alice_proxy)
{
    struct vws_transfer_options o = { .cert = alice, .cert_dir = NULL };
    char *url = url_of(port, "random.bin"), *dst = out_path("alice.bin");

    o.cert_dir = getenv("X509_CERT_DIR");   /* the check passes when they agree */
    ck_assert_msg(vws_transfer_fetch(url, dst, 0, sha_random, &o) == 0, "%s",
                  vws_error_message());
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_parallel_streams)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "random.bin"), *dst = out_path("par.bin");

    o.parallel = 4;
    ck_assert_msg(vws_transfer_fetch(url, dst, 12 * MB, sha_random, &o) == 0, "%s",
                  vws_error_message());
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_file_url)
{
    char *url = vws_asprintf("file://%s/random.bin", root), *dst = out_path("file.bin");
    char *dst2 = out_path("file2.bin");
    char bad[65];

    ck_assert_msg(vws_transfer_fetch(url, dst, 12 * MB, sha_random, NULL) == 0, "%s",
                  vws_error_message());
    ck_assert(exists(dst));
    memcpy(bad, sha_random, sizeof(bad));
    bad[0] = bad[0] == '0' ? '1' : '0';
    ck_assert_int_eq(vws_transfer_fetch(url, dst2, 0, bad, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "checksum mismatch for 'file://"));
    ck_assert(!exists(dst2));
    ck_assert_int_eq(vws_transfer_fetch(url, dst2, 12 * MB + 1, NULL, NULL), -1);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "size mismatch"));
    ck_assert(!exists(dst2));
    free(url);
    url = vws_asprintf("file://%s/nothing-here", root);
    ck_assert_int_eq(vws_transfer_fetch(url, dst2, 0, NULL, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_NOT_FOUND);
    ck_assert(!exists(dst2));
    free(url);
    free(dst);
    free(dst2);
}
END_TEST

START_TEST(fetch_checksum_mismatch)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "random.bin"), *dst = out_path("bad.bin"), *msg;
    char bad[65];
    double t0;

    memcpy(bad, sha_random, sizeof(bad));
    bad[63] = bad[63] == 'a' ? 'b' : 'a';
    o.retries = 3;
    o.retry_delay_ms = 10000;           /* a retry would show in the time */
    t0 = now_s();
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, bad, &o), -1);
    ck_assert_double_lt(now_s() - t0, 9.5);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    msg = vws_asprintf("checksum mismatch for '%s': expected %s, got %s", url, bad, sha_random);
    ck_assert_str_eq(vws_error_message(), msg);
    ck_assert(!exists(dst));
    free(msg);
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_size_mismatch)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "random.bin"), *dst = out_path("size.bin");
    double t0;

    o.retries = 3;
    o.retry_delay_ms = 10000;
    t0 = now_s();
    /* smaller than announced: stopped as soon as it goes past */
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 5 * MB, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "size mismatch for 'gsiftp://"));
    ck_assert(!exists(dst));
    /* larger than what the server has */
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 13 * MB, sha_random, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "expected 13631488 bytes, got 12582912"));
    ck_assert(!exists(dst));
    ck_assert_double_lt(now_s() - t0, 9.5);
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_unknown_file)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "no-such-image.qcow2"), *dst = out_path("none.bin");

    o.retries = 3;
    o.retry_delay_ms = 10000;
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_msg(vws_error_code_last() == VWS_ERR_NOT_FOUND, "%s", vws_error_message());
    fprintf(stderr, "unknown file: %s\n", vws_error_message());
    ck_assert_ptr_nonnull(strstr(vws_error_message(), url));
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "No such file"));
    ck_assert(!exists(dst));
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_wrong_server_name)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port_wrong, "random.bin"), *dst = out_path("wrong.bin");

    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_SECURITY);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), url));
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "do not match"));
    fprintf(stderr, "wrong server name: %s\n", vws_error_message());
    ck_assert(!exists(dst));
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_untrusted_ca)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port_rogue, "random.bin"), *dst = out_path("rogue.bin");

    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_SECURITY);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "certificate verify failed"));
    fprintf(stderr, "untrusted CA: %s\n", vws_error_message());
    ck_assert(!exists(dst));
    free(url);
    free(dst);
}
END_TEST

START_TEST(fetch_bad_credentials)
{
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port, "random.bin"), *dst = out_path("cred.bin");
    char *garbage = vws_asprintf("%s/garbage.pem", pki), *other = vws_asprintf("%s/elsewhere", dir);

    o.key = garbage;
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_CONFIG);
    ck_assert(!exists(dst));
    o = host_opts();
    o.cert_dir = other;                       /* not what Globus reads */
    ck_assert_int_eq(vws_transfer_fetch(url, dst, 0, NULL, &o), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "X509_CERT_DIR"));
    ck_assert(!exists(dst));
    free(garbage);
    free(other);
    free(url);
    free(dst);
}
END_TEST

/* ---- a server killed mid-transfer ------------------------------------------ */

struct killer {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool go, killed, restart;
    uint64_t max_done;
};

static void *
killer_main(void *arg)
{
    struct killer *k = arg;

    pthread_mutex_lock(&k->lock);
    while (!k->go)
        pthread_cond_wait(&k->cond, &k->lock);
    pthread_mutex_unlock(&k->lock);
    server_kill(port_kill);
    pthread_mutex_lock(&k->lock);
    k->killed = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    if (k->restart) {
        usleep(300000);
        if (server_start(pki, port_kill, NULL) != 0)
            fprintf(stderr, "check_gridftp: cannot restart the server\n");
    }
    return NULL;
}

/* Progress: once past 1 MB, have the killer kill the server and wait for
 * it; we are the thread that hashes, so the transfer cannot end first. */
static void
kill_progress(void *arg, uint64_t done, uint64_t total)
{
    struct killer *k = arg;

    (void)total;
    pthread_mutex_lock(&k->lock);
    if (done > k->max_done)
        k->max_done = done;
    if (done >= MB && !k->go) {
        k->go = true;
        pthread_cond_broadcast(&k->cond);
        while (!k->killed)
            pthread_cond_wait(&k->cond, &k->lock);
    }
    pthread_mutex_unlock(&k->lock);
}

static void
kill_test(bool restart)
{
    struct killer k = { .restart = restart };
    struct vws_transfer_options o = host_opts();
    char *url = url_of(port_kill, "big.bin"), *dst = out_path(restart ? "restart.bin" : "killed.bin");
    pthread_t th;
    int rc;

    pthread_mutex_init(&k.lock, NULL);
    pthread_cond_init(&k.cond, NULL);
    ck_assert_int_eq(pthread_create(&th, NULL, killer_main, &k), 0);
    o.retries = restart ? 20 : 2;
    o.retry_delay_ms = restart ? 500 : 100;
    o.stall_timeout_s = 10;
    o.progress = kill_progress;
    o.progress_arg = &k;
    rc = vws_transfer_fetch(url, dst, 64 * MB, sha_big, &o);
    pthread_mutex_lock(&k.lock);
    if (!k.go) {                 /* never got that far: let the killer go */
        fprintf(stderr, "kill test: fetch returned %d before 1 MB: %s\n", rc,
                vws_error_message());
        k.go = true;
        k.restart = false;
        pthread_cond_broadcast(&k.cond);
    }
    pthread_mutex_unlock(&k.lock);
    pthread_join(th, NULL);
    ck_assert(k.killed);
    ck_assert_uint_ge(k.max_done, MB);
    if (restart) {
        ck_assert_msg(rc == 0, "%s", vws_error_message());
        ck_assert_msg(k.max_done == 64 * MB, "progress ended at %llu",
                      (unsigned long long)k.max_done);
    } else {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(vws_error_code_last(), VWS_ERR_IO);
        ck_assert_ptr_nonnull(strstr(vws_error_message(), "transfer failed after 3 attempts: "));
        ck_assert_ptr_nonnull(strstr(vws_error_message(), url));
        fprintf(stderr, "killed server: %s\n", vws_error_message());
        ck_assert(!exists(dst));
        ck_assert_int_eq(server_start(pki, port_kill, NULL), 0);
    }
    pthread_mutex_destroy(&k.lock);
    pthread_cond_destroy(&k.cond);
    free(url);
    free(dst);
}

START_TEST(fetch_server_killed)
{
    kill_test(false);
}
END_TEST

START_TEST(fetch_server_restarted)
{
    kill_test(true);
}
END_TEST

/* ---- uploads ------------------------------------------------------------ */

START_TEST(put_then_fetch)
{
    struct vws_transfer_options o = { .cert = alice };
    char *src = vws_asprintf("%s/random.bin", root), *url = url_of(port, "up/uploaded.bin");
    char *dst = out_path("back.bin"), *furl = vws_asprintf("file://%s/out/put.bin", dir);
    char *fdst = vws_asprintf("%s/out/put.bin", dir), *empty = vws_asprintf("%s/empty", dir);
    char *eurl = url_of(port, "up/empty.bin"), *edst = out_path("empty.bin");
    char sha[65] = "";
    struct stat st;

    ck_assert_msg(vws_transfer_put(src, url, sha, &o) == 0, "%s", vws_error_message());
    ck_assert_str_eq(sha, sha_random);
    ck_assert_msg(vws_transfer_fetch(url, dst, 12 * MB, sha, &o) == 0, "%s",
                  vws_error_message());
    ck_assert(same_file(src, dst));
    /* file:// */
    memset(sha, 0, sizeof(sha));
    ck_assert_msg(vws_transfer_put(src, furl, sha, NULL) == 0, "%s", vws_error_message());
    ck_assert_str_eq(sha, sha_random);
    ck_assert(same_file(src, fdst));
    ck_assert_int_eq(vws_transfer_put(src, furl, NULL, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_EXISTS);
    /* an empty file */
    make_file(empty, 0, 1);
    ck_assert_msg(vws_transfer_put(empty, eurl, sha, &o) == 0, "%s", vws_error_message());
    ck_assert_str_eq(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ck_assert_msg(vws_transfer_fetch(eurl, edst, 0, sha, &o) == 0, "%s", vws_error_message());
    ck_assert_int_eq(stat(edst, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    free(src);
    free(url);
    free(dst);
    free(furl);
    free(fdst);
    free(empty);
    free(eurl);
    free(edst);
}
END_TEST

/* ---- four at once ---------------------------------------------------------- */

struct job {
    int n;
    int rc;
    char msg[1024];
};

static void *
job_main(void *arg)
{
    struct job *j = arg;
    struct vws_transfer_options o = host_opts();
    char name[32];
    char *url = url_of(port, "random.bin"), *dst;

    if (j->n % 2)
        o = (struct vws_transfer_options){ .cert = alice };
    snprintf(name, sizeof(name), "job%d.bin", j->n);
    dst = out_path(name);
    j->rc = vws_transfer_fetch(url, dst, 12 * MB, sha_random, &o);
    snprintf(j->msg, sizeof(j->msg), "%s", j->rc ? vws_error_message() : "");
    free(url);
    free(dst);
    return NULL;
}

START_TEST(fetch_concurrent)
{
    struct job jobs[4];
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){ .n = i };
        ck_assert_int_eq(pthread_create(&th[i], NULL, job_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].rc == 0, "job %d: %s", i, jobs[i].msg);
    }
}
END_TEST

/* ---- setup ------------------------------------------------------------------ */

static void
make_rogue_site(const char *rogue)
{
    char *cmd = vws_asprintf(
        "set -e; R='%s'; P='%s'; mkdir -p \"$R/hosts/localhost\";"
        "cp \"$P/hosts/localhost/hostkey.pem\" \"$R/hosts/localhost/\";"
        "ln -s \"$P/certificates\" \"$R/certificates\"; cp \"$P/grid-mapfile\" \"$R/\";"
        "printf '[e]\\nbasicConstraints=critical,CA:false\\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\\n"
        "extendedKeyUsage=serverAuth,clientAuth\\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > \"$R/ext\";"
        "openssl req -new -key \"$R/hosts/localhost/hostkey.pem\" -subj '/O=Grid/OU=vws-test/CN=localhost'"
        " -out \"$R/req.pem\" 2>/dev/null;"
        "openssl x509 -req -in \"$R/req.pem\" -CA \"$P/rogue/ca/cacert.pem\" -CAkey \"$P/rogue/ca/cakey.pem\""
        " -set_serial 0x4242 -days 2 -extfile \"$R/ext\" -extensions e"
        " -out \"$R/hosts/localhost/hostcert.pem\" 2>/dev/null",
        rogue, pki);
    if (sh(cmd) != 0)
        die("cannot make the rogue site");
    free(cmd);
}

static Suite *
gridftp_suite(void)
{
    Suite *s = suite_create("gridftp");
    TCase *tc = tcase_create("url");
    TCase *net = tcase_create("transfers");

    tcase_add_test(tc, url_checks);
    suite_add_tcase(s, tc);
    tcase_set_timeout(net, 600);
    /* in the forked child of each test: leave Globus as we found it */
    tcase_add_checked_fixture(net, NULL, vws_transfer_shutdown);
    tcase_add_test(net, fetch_host_cred);
    tcase_add_test(net, fetch_alice_proxy);
    tcase_add_test(net, fetch_parallel_streams);
    tcase_add_test(net, fetch_file_url);
    tcase_add_test(net, fetch_checksum_mismatch);
    tcase_add_test(net, fetch_size_mismatch);
    tcase_add_test(net, fetch_unknown_file);
    tcase_add_test(net, fetch_wrong_server_name);
    tcase_add_test(net, fetch_untrusted_ca);
    tcase_add_test(net, fetch_bad_credentials);
    tcase_add_test(net, fetch_server_killed);
    tcase_add_test(net, fetch_server_restarted);
    tcase_add_test(net, put_then_fetch);
    tcase_add_test(net, fetch_concurrent);
    suite_add_tcase(s, net);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;
    char *cmd, *rogue, *p, *big;
    int fd;

    srcdir = getenv("VWS_SRCDIR");
    if (!srcdir)
        srcdir = "..";
    vws_strlcpy(dir, "/tmp/vws-check-gridftp-XXXXXX", sizeof(dir));
    if (!mkdtemp(dir))
        die("mkdtemp");
    pki = vws_asprintf("%s/pki", dir);
    root = vws_asprintf("%s/root", dir);
    rogue = vws_asprintf("%s/rogue", dir);
    cmd = vws_asprintf("sh '%s/scripts/mkpki' '%s' && mkdir -p '%s/up' '%s/out'", srcdir, pki,
                       root, dir);
    if (sh(cmd) != 0)
        die("scripts/mkpki failed");
    free(cmd);
    make_rogue_site(rogue);
    hostcert = vws_asprintf("%s/hosts/manager1.localhost/hostcert.pem", pki);
    hostkey = vws_asprintf("%s/hosts/manager1.localhost/hostkey.pem", pki);
    alice = vws_asprintf("%s/users/alice/proxy.pem", pki);

    p = vws_asprintf("%s/random.bin", root);
    make_file(p, 12 * MB, 42);
    sha_file(p, sha_random);
    free(p);
    /* 64 MB, mostly a hole: random at the start and the end */
    big = vws_asprintf("%s/big.bin", root);
    make_file(big, 2 * MB, 7);
    fd = open(big, O_WRONLY);
    if (fd < 0 || pwrite(fd, "end", 3, 64 * MB - 3) != 3 || close(fd) != 0)
        die("big.bin");
    sha_file(big, sha_big);
    free(big);

    /* Globus reads the trusted CAs from the environment only: set before
     * any thread (see common/gridftp.h). */
    p = vws_asprintf("%s/certificates", pki);
    setenv("X509_CERT_DIR", p, 1);
    free(p);
    unsetenv("X509_USER_PROXY");
    unsetenv("X509_USER_CERT");
    unsetenv("X509_USER_KEY");

    port = free_port();
    port_wrong = free_port();
    port_rogue = free_port();
    port_kill = free_port();
    if (server_start(pki, port, NULL) != 0 || server_start(pki, port_wrong, "wrong.example") != 0 ||
        server_start(rogue, port_rogue, NULL) != 0 || server_start(pki, port_kill, NULL) != 0)
        die("cannot start the GridFTP servers");

    sr = srunner_create(gridftp_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    vws_transfer_shutdown();

    server_stop(pki, port);
    server_stop(pki, port_wrong);
    server_stop(rogue, port_rogue);
    server_stop(pki, port_kill);
    if (!getenv("VWS_KEEP_TEST_DIR")) {
        cmd = vws_asprintf("rm -rf '%s'", dir);
        if (sh(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
        free(cmd);
    }
    free(pki);
    free(root);
    free(rogue);
    free(hostcert);
    free(hostkey);
    free(alice);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
