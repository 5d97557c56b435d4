/*
 * stage.c — staging throughput of vws_transfer_fetch() with SHA-256
 * verification against cp(1) of the same file on the same disk.
 *
 *   bench/stage [MB] [ROUNDS]      (default 512 MB, 3 rounds)
 *
 * Makes a file of MB megabytes, a test PKI (scripts/mkpki) and a GSI
 * globus-gridftp-server on 127.0.0.1 (scripts/gridftp-server), then, in
 * each round and in turn: /bin/cp (fork/exec), a file:// fetch and a
 * gsiftp:// fetch over loopback with the Manager's host credential, both
 * verifying size and SHA-256.  Nothing drops the page cache: every copy
 * reads a source that is cached alike.  Each copy is removed after it is
 * timed.  Prints MB/s per round and the median, and the ratio to cp.
 * Needs $VWS_SRCDIR (or runs from the build directory under the source).
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/gridftp.h"
#include "internal.h"

#define MB (1024u * 1024u)

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
    fprintf(stderr, "stage: %s: %s\n", what, vws_error_message());
    exit(EXIT_FAILURE);
}

static int
run_cp(const char *src, const char *dst)
{
    int st;
    pid_t pid = fork();

    if (pid == 0) {
        execl("/bin/cp", "cp", src, dst, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    unsigned mb = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 512;
    unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
    const char *srcdir = getenv("VWS_SRCDIR") ? getenv("VWS_SRCDIR") : "..";
    char dir[] = "/var/tmp/vws-bench-stage-XXXXXX";
    char sha[65];
    char *src, *dst, *cmd, *furl, *gurl, *cert, *key, *certdir;
    double t[3][64];
    static const char *const names[3] = { "cp", "file:// + SHA-256", "gsiftp:// + SHA-256" };
    int port = 30000 + (int)(getpid() % 20000);
    uint64_t *buf;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char bin[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int fd;

    if (mb == 0 || rounds == 0 || rounds > 64) {
        fprintf(stderr, "usage: stage [MB] [ROUNDS<=64]\n");
        return 2;
    }
    if (!mkdtemp(dir))
        die("mkdtemp");
    cmd = vws_asprintf("sh '%s/scripts/mkpki' '%s/pki' && mkdir '%s/root'", srcdir, dir, dir);
    if (system(cmd) != 0)
        die("mkpki");
    free(cmd);
    src = vws_asprintf("%s/root/image.raw", dir);
    dst = vws_asprintf("%s/copy.raw", dir);
    /* the image: pseudo-random bytes (no holes, nothing compressible) */
    buf = vws_malloc(MB);
    fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    uint64_t x = 88172645463325252ULL;
    for (unsigned i = 0; fd >= 0 && i < mb; i++) {
        for (unsigned j = 0; j < MB / 8; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[j] = x;
        }
        EVP_DigestUpdate(md, buf, MB);
        if (write(fd, buf, MB) != (ssize_t)MB)
            die("write");
    }
    if (fd < 0 || fsync(fd) != 0 || close(fd) != 0)
        die("cannot write the image");
    EVP_DigestFinal_ex(md, bin, &n);
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; i < n; i++)
        snprintf(sha + 2 * i, 3, "%02x", bin[i]);
    free(buf);

    certdir = vws_asprintf("%s/pki/certificates", dir);
    setenv("X509_CERT_DIR", certdir, 1);     /* before any thread */
    cert = vws_asprintf("%s/pki/hosts/manager1.localhost/hostcert.pem", dir);
    key = vws_asprintf("%s/pki/hosts/manager1.localhost/hostkey.pem", dir);
    cmd = vws_asprintf("sh '%s/scripts/gridftp-server' start '%s/pki' %d '%s/root'", srcdir, dir,
                       port, dir);
    if (system(cmd) != 0)
        die("gridftp-server");
    free(cmd);
    furl = vws_asprintf("file://%s", src);
    gurl = vws_asprintf("gsiftp://localhost:%d%s", port, src);

    struct vws_transfer_options o = { .cert = cert, .key = key };
    /* warm up: the source in the page cache, Globus activated */
    if (run_cp(src, dst) != 0)
        die("cp");
    unlink(dst);
    if (vws_transfer_fetch(gurl, dst, (uint64_t)mb * MB, sha, &o) != 0)
        die("gsiftp fetch");
    unlink(dst);

    printf("stage: %u MB, %u rounds, SHA-256 verified, same page cache for each\n", mb, rounds);
    for (unsigned r = 0; r < rounds; r++) {
        for (int k = 0; k < 3; k++) {
            double t0 = now_s();
            int rc = k == 0 ? run_cp(src, dst)
                   : vws_transfer_fetch(k == 1 ? furl : gurl, dst, (uint64_t)mb * MB, sha, &o);
            t[k][r] = now_s() - t0;
            if (rc != 0)
                die(names[k]);
            unlink(dst);
            printf("round %u  %-22s %8.1f MB/s\n", r + 1, names[k], mb / t[k][r]);
            fflush(stdout);
        }
    }
    for (int k = 0; k < 3; k++)
        qsort(t[k], rounds, sizeof(double), cmp_double);
    printf("median:\n");
    for (int k = 0; k < 3; k++)
        printf("  %-22s %8.1f MB/s  ratio to cp %.2f\n", names[k], mb / t[k][rounds / 2],
               t[0][rounds / 2] / t[k][rounds / 2]);

    cmd = vws_asprintf("sh '%s/scripts/gridftp-server' stop '%s/pki' %d; rm -rf '%s'", srcdir, dir,
                       port, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "stage: cannot clean %s\n", dir);
    free(cmd);
    vws_transfer_shutdown();
    free(src);
    free(dst);
    free(furl);
    free(gurl);
    free(cert);
    free(key);
    free(certdir);
    return 0;
}
