/*
 * bench/instance.c — what an image instance costs on a cache hit: a qcow2
 * overlay (vws_instance_overlay) against a full private copy
 * (vws_instance_copy, the paper's baseline) of the same template.
 *
 *   bench/instance [DIR [MB [ROUNDS]]]     (defaults: /var/tmp 600 5)
 *
 * The template is MB megabytes of pseudo-random bytes written for real
 * (no holes, so the copy copies every block) and synced.  Nothing is
 * dropped from the page cache: the template is as warm as a freshly
 * fetched cache entry, and the figures say how much of it is resident.
 * Rounds alternate which of the two goes first; each copy is synced
 * (the call fsyncs) and removed before the next round.  Each round also
 * times "qemu-img create" spawned for the same overlay, what
 * vws_instance_overlay() replaced.
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manager/instance.h"
#include "internal.h"

#define MB (1024ULL * 1024ULL)

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

extern char **environ;

/* What the overlay cost before instance.c wrote it itself: qemu-img
 * create, spawned.  Milliseconds, or -1. */
static double
qemu_img_ms(const char *tpl, const char *ov)
{
    char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                     "-b", (char *)tpl, (char *)ov, NULL };
    double t0 = now_ms();
    pid_t pid;
    int st;

    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return now_ms() - t0;
}


static int
make_template(const char *path, uint64_t mb)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL, *buf;
    size_t words = MB / sizeof(uint64_t);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        perror(path);
        return -1;
    }
    buf = vws_malloc(MB);
    for (uint64_t i = 0; i < mb; i++) {
        for (size_t w = 0; w < words; w++) {       /* xorshift64 */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[w] = x;
        }
        if (write(fd, buf, MB) != (ssize_t)MB) {
            perror(path);
            free(buf);
            close(fd);
            return -1;
        }
    }
    free(buf);
    if (fsync(fd) < 0 || close(fd) < 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* Percent of PATH's pages in the page cache. */
static double
resident(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char *vec;
    void *map;
    size_t pages, in = 0, psz = (size_t)sysconf(_SC_PAGESIZE);

    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -1;
    pages = ((size_t)st.st_size + psz - 1) / psz;
    vec = vws_malloc(pages);
    if (mincore(map, (size_t)st.st_size, vec) == 0)
        for (size_t i = 0; i < pages; i++)
            in += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)st.st_size);
    return 100.0 * (double)in / (double)pages;
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
    const char *base = argc > 1 ? argv[1] : "/var/tmp";
    uint64_t mb = 600, rounds = 5;
    char *dir, *tpl, *ov, *cp;
    double t, t_ov[64], t_cp[64], t_qi[64], min_ov = 1e18, min_cp = 1e18;
    int ret = EXIT_FAILURE;

    if ((argc > 2 && (vws_parse_u64(argv[2], &mb) < 0 || mb == 0)) ||
        (argc > 3 && (vws_parse_u64(argv[3], &rounds) < 0 || rounds == 0 ||
                      rounds > 64))) {
        fprintf(stderr, "usage: %s [DIR [MB [ROUNDS<=64]]]\n", argv[0]);
        return 2;
    }
    dir = vws_asprintf("%s/vws-bench-instance-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror(dir);
        free(dir);
        return EXIT_FAILURE;
    }
    tpl = vws_asprintf("%s/template.raw", dir);
    ov = vws_asprintf("%s/disk.qcow2", dir);
    cp = vws_asprintf("%s/disk.copy", dir);

    t = now_ms();
    if (make_template(tpl, mb) < 0)
        goto cleanup;
    printf("template: %llu MB pseudo-random, not sparse, written and synced "
           "in %.0f ms in %s\n", (unsigned long long)mb, now_ms() - t, dir);
    printf("page cache: %.0f%% of the template resident before the rounds "
           "(nothing dropped)\n", resident(tpl));

    for (uint64_t r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int overlay_now = (k == 0) == (r % 2 == 0);
            double t0 = now_ms();
            int rc = overlay_now ? vws_instance_overlay(tpl, "raw", ov, 0)
                                 : vws_instance_copy(tpl, cp);
            double dt = now_ms() - t0;
            if (rc < 0) {
                fprintf(stderr, "round %llu: %s\n", (unsigned long long)r,
                        vws_error_message());
                goto cleanup;
            }
            if (overlay_now)
                t_ov[r] = dt;
            else
                t_cp[r] = dt;
        }
        unlink(ov);
        t_qi[r] = qemu_img_ms(tpl, ov);
        printf("round %llu (%s first): overlay %6.2f ms   copy %7.1f ms   "
               "(qemu-img create %5.2f ms)\n",
               (unsigned long long)r + 1, r % 2 == 0 ? "overlay" : "copy",
               t_ov[r], t_cp[r], t_qi[r]);
        unlink(ov);
        unlink(cp);
    }
    for (uint64_t r = 0; r < rounds; r++) {
        if (t_ov[r] < min_ov)
            min_ov = t_ov[r];
        if (t_cp[r] < min_cp)
            min_cp = t_cp[r];
    }
    qsort(t_ov, rounds, sizeof(double), cmp_double);
    qsort(t_cp, rounds, sizeof(double), cmp_double);
    qsort(t_qi, rounds, sizeof(double), cmp_double);
    printf("page cache: %.0f%% of the template resident after the rounds\n",
           resident(tpl));
    printf("median: overlay %.2f ms, copy %.1f ms, copy/overlay %.0fx\n",
           t_ov[rounds / 2], t_cp[rounds / 2],
           t_cp[rounds / 2] / t_ov[rounds / 2]);
    printf("median qemu-img create (spawned, same overlay): %.2f ms\n",
           t_qi[rounds / 2]);
    printf("best:   overlay %.2f ms, copy %.1f ms; worst overlay %.2f ms\n",
           min_ov, min_cp, t_ov[rounds - 1]);
    printf("targets: overlay < 50 ms: %s; >= 100x faster than the copy: %s\n",
           t_ov[rounds / 2] < 50 ? "yes" : "NO",
           t_cp[rounds / 2] >= 100 * t_ov[rounds / 2] ? "yes" : "NO");
    ret = EXIT_SUCCESS;

cleanup:
    unlink(ov);
    unlink(cp);
    unlink(tpl);
    rmdir(dir);
    free(tpl);
    free(ov);
    free(cp);
    free(dir);
    return ret;
}
