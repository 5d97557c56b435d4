/*
 * bench/repository — the Repository daemon under load over GSI on
 * 127.0.0.1 (issue 4): GetResourceProperty and register+destroy throughput
 * with p50/p99 latency for 1, 8 and 64 concurrent keep-alive clients; the
 * daemon's RSS after N registered workspaces; and its RSS across a soak run
 * of mixed requests.  Targets on a 2-core machine: >= 2,000
 * GetResourceProperty/s, p99 < 20 ms at 64 clients, no RSS growth.
 *
 *   bench/repository [-t SECONDS-PER-PHASE] [-n WORKSPACES] [-s SOAK-SECONDS]
 *   defaults: -t 5 -n 100000 -s 600          (needs VWS_SRCDIR, VWS_BUILDDIR)
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "../tests/sitetest.h"
#include "../tests/requests.h"
#include "internal.h"

#define MAX_SAMPLES 2000000

static pthread_barrier_t start_line;   /* every client connected: go */
static double phase_seconds_now;

static int port;
static char key[64];
static double phase_seconds = 5;

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
url(void)
{
    static char u[64];

    snprintf(u, sizeof(u), "https://localhost:%d/vws/repository", port);
    return u;
}

static struct soap *
keepalive_client(const char *cred)
{
    struct soap *c = sitetest_client(cred);

    if (!c) {
        fprintf(stderr, "bench/repository: client: %s\n", vws_error_message());
        exit(1);
    }
    soap_set_mode(c, SOAP_IO_KEEPALIVE);
    return c;
}

static int
get_state(struct soap *c)
{
    struct _wsrp2__GetResourcePropertyResponse resp = { 0 };
    int rc;

    c->header = soap_new_SOAP_ENV__Header(c, 1);
    c->header->vws__WorkspaceKey = key;
    rc = soap_call___repo__GetResourceProperty(c, url(), NULL, "vws:state", &resp);
    soap_destroy(c);
    soap_end(c);
    return rc;
}

/* Register a workspace; its key into OUT.  SOAP_OK or an error. */
static int
register_one(struct soap *c, char *out, size_t size)
{
    struct _repo__Register req = { 0 };
    struct _repo__RegisterResponse resp = { 0 };
    int rc;

    c->header = NULL;
    req.vws__virtualWorkspace = soaptest_workspace(c);
    rc = soap_call___repo__Register(c, url(), NULL, &req, &resp);
    if (rc == SOAP_OK)
        vws_strlcpy(out, resp.key, size);
    soap_destroy(c);
    soap_end(c);
    return rc;
}

static int
destroy_one(struct soap *c, const char *k)
{
    struct _wsrl2__Destroy req;
    struct _wsrl2__DestroyResponse resp;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    c->header = soap_new_SOAP_ENV__Header(c, 1);
    c->header->vws__WorkspaceKey = soap_strdup(c, k);
    rc = soap_call___repo__Destroy(c, url(), NULL, &req, &resp);
    soap_destroy(c);
    soap_end(c);
    return rc;
}

enum workload { GET_RP, REGISTER_DESTROY, MIXED };

struct worker {
    pthread_t thread;
    enum workload load;
    double until;
    double *lat;            /* seconds per operation */
    size_t n, cap;
    unsigned long errors;
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    struct soap *c = keepalive_client("users/alice/proxy.pem");
    char k[64];

    /* the connection and its TLS handshake are not part of the figures */
    if (get_state(c) != SOAP_OK)
        w->errors++;
    pthread_barrier_wait(&start_line);
    w->until = now() + phase_seconds_now;
    while (now() < w->until) {
        double t0 = now();
        int rc;

        switch (w->load) {
        case GET_RP:
            rc = get_state(c);
            break;
        case REGISTER_DESTROY:
            rc = register_one(c, k, sizeof(k));
            if (rc == SOAP_OK)
                rc = destroy_one(c, k);
            break;
        default:
            rc = (w->n % 4 == 3) ? register_one(c, k, sizeof(k)) : get_state(c);
            if (rc == SOAP_OK && w->n % 4 == 3)
                rc = destroy_one(c, k);
            break;
        }
        if (rc != SOAP_OK) {
            if (w->errors++ == 0) {
                const char **f = soap_faultstring(c), **d = soap_faultdetail(c);
                fprintf(stderr, "bench/repository: request failed (error %d): %s %s\n",
                        c->error, f && *f ? *f : "", d && *d ? *d : "");
            }
            soap_force_closesock(c);
            continue;
        }
        if (w->n < w->cap)
            w->lat[w->n] = now() - t0;
        w->n++;
    }
    soap_closesock(c);
    vws_soap_free(c);
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static void
run_phase(const char *name, enum workload load, int clients, double seconds)
{
    struct worker *w = vws_calloc((size_t)clients, sizeof(*w));
    size_t total = 0, k = 0;
    unsigned long errors = 0;
    double *all, t0 = now(), elapsed;
    size_t per = MAX_SAMPLES / (size_t)clients;

    pthread_barrier_init(&start_line, NULL, (unsigned)clients + 1);
    phase_seconds_now = seconds;
    for (int i = 0; i < clients; i++) {
        w[i].load = load;
        w[i].until = t0 + seconds;
        w[i].cap = per;
        w[i].lat = vws_malloc(per * sizeof(double));
        pthread_create(&w[i].thread, NULL, work, &w[i]);
    }
    pthread_barrier_wait(&start_line);
    t0 = now();
    for (int i = 0; i < clients; i++)
        pthread_join(w[i].thread, NULL);
    elapsed = now() - t0;
    pthread_barrier_destroy(&start_line);
    for (int i = 0; i < clients; i++) {
        total += w[i].n;
        errors += w[i].errors;
    }
    all = vws_malloc((total ? total : 1) * sizeof(double));
    for (int i = 0; i < clients; i++) {
        size_t m = w[i].n < w[i].cap ? w[i].n : w[i].cap;
        memcpy(all + k, w[i].lat, m * sizeof(double));
        k += m;
        free(w[i].lat);
    }
    qsort(all, k, sizeof(double), cmp_double);
    printf("%-26s %3d clients %10.0f ops/s   p50 %7.2f ms   p99 %7.2f ms   errors %lu\n",
           name, clients, total / elapsed, k ? all[k / 2] * 1e3 : 0.0,
           k ? all[(size_t)((double)k * 0.99)] * 1e3 : 0.0, errors);
    fflush(stdout);
    free(all);
    free(w);
}

struct filler {
    pthread_t thread;
    long count;
};

static void *
fill(void *arg)
{
    struct filler *f = arg;
    struct soap *c = keepalive_client("users/bob/proxy.pem");
    char k[64];

    for (long i = 0; i < f->count; i++)
        if (register_one(c, k, sizeof(k)) != SOAP_OK) {
            soap_closesock(c);
            i--;    /* retry (bounded by the daemon answering) */
        }
    soap_closesock(c);
    vws_soap_free(c);
    return NULL;
}

int
main(int argc, char **argv)
{
    long n_ws = 100000, soak = 600;
    int opt;
    pid_t pid;
    struct soap *c;
    long rss0, rss1;
    double t0;
    static const int clients[] = { 1, 8, 64 };

    while ((opt = getopt(argc, argv, "t:n:s:")) != -1) {
        int64_t v;
        if (vws_parse_i64(optarg, &v) < 0 || v < 0 || v > 100000000) {
            fprintf(stderr, "usage: bench/repository [-t SECONDS] [-n WORKSPACES] [-s SOAK-SECONDS]\n");
            return 2;
        }
        if (opt == 't')
            phase_seconds = (double)(v ? v : 1);
        else if (opt == 'n')
            n_ws = (long)v;
        else
            soak = (long)v;
    }
    signal(SIGPIPE, SIG_IGN);
    vws_log_set_level(VWS_LOG_ERROR);
    sitetest_setup("vws-bench-repo");
    sitetest_write("acl", "allow dn \"/O=Grid/OU=vws-test/CN=Alice\" create,inspect,manage\n"
                          "allow dn \"/O=Grid/OU=vws-test/CN=Bob\" create,inspect,manage\n");
    sitetest_write("pools/default.pool", "netmask = 255.255.255.0\nws1 192.0.2.10\n");
    /* a worker per keep-alive connection: 64 clients need 64 workers */
    sitetest_repository_config("repository", "threads = 64\nkeepalive_requests = 0\n"
                                             "log_level = warn\n");
    pid = sitetest_start("repository/vws-repository", "repository", &port);

    c = keepalive_client("users/alice/proxy.pem");
    if (register_one(c, key, sizeof(key)) != SOAP_OK) {
        fprintf(stderr, "bench/repository: register failed\n");
        return 1;
    }
    soap_closesock(c);
    vws_soap_free(c);

    printf("bench/repository: vws-repository on 127.0.0.1 over GSI (Alice's proxy), "
           "64 workers, %.0f s per phase\n", phase_seconds);
    for (size_t i = 0; i < VWS_N_ELEMENTS(clients); i++)
        run_phase("GetResourceProperty", GET_RP, clients[i], phase_seconds);
    for (size_t i = 0; i < VWS_N_ELEMENTS(clients); i++)
        run_phase("register+destroy", REGISTER_DESTROY, clients[i], phase_seconds);

    if (n_ws > 0) {
        struct filler f[8];
        rss0 = sitetest_rss_kb(pid);
        t0 = now();
        for (int i = 0; i < 8; i++) {
            f[i].count = n_ws / 8 + (i < n_ws % 8);
            pthread_create(&f[i].thread, NULL, fill, &f[i]);
        }
        for (int i = 0; i < 8; i++)
            pthread_join(f[i].thread, NULL);
        rss1 = sitetest_rss_kb(pid);
        printf("%ld workspaces registered in %.1f s (%.0f/s): daemon RSS %ld kB -> %ld kB\n",
               n_ws, now() - t0, n_ws / (now() - t0), rss0, rss1);
        run_phase("GetResourceProperty (full)", GET_RP, 8, phase_seconds);
    }
    if (soak > 0) {
        long first = -1, last = -1, max = 0;
        printf("soak: mixed requests (3 GetResourceProperty : 1 register+destroy), 8 clients, "
               "%ld s; daemon RSS every 10 s:\n", soak);
        for (long s = 0; s < soak; s += 10) {
            long r;
            run_phase("  mixed", MIXED, 8, s + 10 <= soak ? 10 : (double)(soak - s));
            r = sitetest_rss_kb(pid);
            if (first < 0)
                first = r;
            last = r;
            if (r > max)
                max = r;
            printf("  t=%4lds RSS %ld kB\n", s + 10, r);
        }
        printf("soak RSS: first %ld kB, last %ld kB, max %ld kB (%+.1f %% first to last)\n",
               first, last, max, first > 0 ? 100.0 * (double)(last - first) / (double)first : 0.0);
    }
    sitetest_stop(pid, SIGTERM);
    sitetest_cleanup();
    return 0;
}
