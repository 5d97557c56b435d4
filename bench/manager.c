/*
 * bench/manager — the Manager's three speed targets, side by side in one
 * run (issue 5):
 *   (a) staging throughput with SHA-256 verification, as a ratio to cp of
 *       the same file on this disk (target >= 0.8): bench/stage;
 *   (b) instance creation on a cache hit: a qcow2 overlay against a full
 *       copy of a 600 MB template (target < 50 ms and >= 100x): bench/instance;
 *   (c) deploy-to-ready: a cold boot of the test guest until it prints
 *       VWS-GUEST-READY, against resuming its serialized state until it
 *       runs again and its heartbeat goes on (target < 1 s).
 * (a) and (b) are their own programs (run here as children, their output
 * shown as it is); (c) is measured here on qemu:///embed through the VMM
 * table and the instance library, exactly the calls vws-manager makes.
 *
 * usage: bench/manager [-r ROUNDS] [-g GUEST-DIR] [-c]   (-c: only (c))
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"
#include "util.h"
#include "uuid.h"
#include "manager/instance.h"
#include "manager/vmm.h"
#include "internal.h"

static double
now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
count_in(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* Seconds until NEEDLE appears more than BEFORE times in PATH (or -1 after
 * LIMIT seconds). */
static double
wait_for(const char *path, const char *needle, int before, double t0, double limit)
{
    while (now() - t0 < limit) {
        if (count_in(path, needle) > before)
            return now() - t0;
        usleep(2000);
    }
    return -1;
}

static int
run_child(const char *self_dir, const char *prog)
{
    char *cmd = vws_asprintf("'%s/%s'", self_dir, prog);
    int rc = system(cmd);
    free(cmd);
    return rc;
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
    const char *guest = "/var/tmp/vws-guest";
    int rounds = 3, only_c = 0, opt;
    char self_dir[4096], tmp[] = "/tmp/vws-bench-mgr-XXXXXX";
    double cold[16], hot[16], hot_beat[16];
    char key[VWS_UUID_BUFSIZE];
    struct vws_vmm_conn *conn;

    while ((opt = getopt(argc, argv, "r:g:c")) != -1) {
        if (opt == 'r')
            rounds = (int)strtol(optarg, NULL, 10);
        else if (opt == 'g')
            guest = optarg;
        else if (opt == 'c')
            only_c = 1;
        else {
            fprintf(stderr, "usage: bench/manager [-r ROUNDS] [-g GUEST-DIR] [-c]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > 16)
        rounds = 3;
    snprintf(self_dir, sizeof(self_dir), "%s", argv[0]);
    if (strrchr(self_dir, '/'))
        *strrchr(self_dir, '/') = '\0';
    else
        snprintf(self_dir, sizeof(self_dir), ".");

    if (!only_c) {
        printf("== (a) staging with SHA-256 against cp (bench/stage) ==\n");
        fflush(stdout);
        if (run_child(self_dir, "stage") != 0)
            fprintf(stderr, "bench/stage failed\n");
        printf("\n== (b) instance on a cache hit: overlay against a full copy (bench/instance) ==\n");
        fflush(stdout);
        if (run_child(self_dir, "instance") != 0)
            fprintf(stderr, "bench/instance failed\n");
        printf("\n");
    }

    printf("== (c) deploy-to-ready: cold boot against resume from a serialized state ==\n");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    {
        char *uri = vws_asprintf("qemu:///embed?root=%s/libvirt", tmp);
        conn = vws_vmm_open(uri);
        free(uri);
    }
    if (!conn) {
        fprintf(stderr, "bench/manager: %s\n", vws_error_message());
        return 1;
    }
    for (int r = 0; r < rounds; r++) {
        struct vws_vmm_domain_spec spec = { 0 };
        struct vws_vmm_domain *dom;
        char *kernel = vws_asprintf("%s/vmlinuz", guest);
        char *initrd = vws_asprintf("%s/initrd.img", guest);
        char *console = vws_asprintf("%s/console-%d.log", tmp, r);
        char *save = vws_asprintf("%s/state-%d.save", tmp, r);
        char *cmdline;
        struct vws_instance_meta meta = { 0 };
        double t0;
        int beats;

        vws_uuid_generate_string(key);
        meta.workspace_id = key;
        meta.hostname = "bench.vws.localhost";
        cmdline = vws_instance_cmdline("console=ttyS0 quiet", &meta);
        spec.workspace_key = key;
        spec.memory_mb = 128;
        spec.vcpus = 1;
        spec.kernel = kernel;
        spec.initrd = initrd;
        spec.cmdline = cmdline;
        spec.console_log = console;
        if (!cmdline || !(dom = vws_vmm_define(conn, &spec))) {
            fprintf(stderr, "bench/manager: %s\n", vws_error_message());
            return 1;
        }
        t0 = now();
        if (vws_vmm_start(dom) < 0 ||
            (cold[r] = wait_for(console, "VWS-GUEST-READY", 0, t0, 120)) < 0) {
            fprintf(stderr, "bench/manager: the guest did not boot: %s\n", vws_error_message());
            return 1;
        }
        wait_for(console, "VWS-GUEST-ALIVE", 0, now(), 10);
        if (vws_vmm_save(dom, save) < 0) {
            fprintf(stderr, "bench/manager: %s\n", vws_error_message());
            return 1;
        }
        beats = count_in(console, "VWS-GUEST-ALIVE");
        t0 = now();
        if (vws_vmm_restore(dom, save) < 0) {
            fprintf(stderr, "bench/manager: %s\n", vws_error_message());
            return 1;
        }
        hot[r] = now() - t0;
        hot_beat[r] = wait_for(console, "VWS-GUEST-ALIVE", beats, t0, 10);
        printf("round %d: cold boot to READY %.2f s; resume %.3f s (next heartbeat after "
               "%.2f s; the guest beats every 2 s)\n", r + 1, cold[r], hot[r], hot_beat[r]);
        fflush(stdout);
        vws_vmm_destroy(dom);
        vws_vmm_undefine(dom);
        vws_vmm_domain_free(dom);
        unlink(save);
        free(kernel);
        free(initrd);
        free(console);
        free(save);
        free(cmdline);
    }
    vws_vmm_close(conn);
    qsort(cold, (size_t)rounds, sizeof(double), cmp_double);
    qsort(hot, (size_t)rounds, sizeof(double), cmp_double);
    printf("\n%-34s %12s %12s %10s\n", "deploy-to-ready (median)", "cold boot", "resume", "ratio");
    printf("%-34s %10.2f s %10.3f s %9.0fx   target: resume < 1 s -> %s\n",
           "qemu:///embed, TCG, 128 MB guest", cold[rounds / 2], hot[rounds / 2],
           cold[rounds / 2] / hot[rounds / 2], hot[rounds / 2] < 1.0 ? "met" : "NOT met");
    {
        char *cmd = vws_asprintf("rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmp);
        free(cmd);
    }
    return 0;
}
