/*
 * bench/site — the Factory's figures (issue 7), printed, not a timed test.
 * A whole site on 127.0.0.1 (as tests/check_factory starts it): the
 * Repository, the Factory and M Managers on test:///default that register
 * and heartbeat; images at file:// locations, so that no GridFTP transfer
 * is in the figures (-g: gsiftp:// through a GridFTP server instead).
 *
 *   1. Create -> EPR latency: N sequential Factory Create (ASAP, 1 node,
 *      a short lease) from one client: a minimal workspace, check_factory's
 *      payload (a pool NIC), and that payload over a new GSI connection per
 *      request (what 'vws create' pays);
 *   2. concurrent creates: C client threads creating for T seconds:
 *      creates/s, latency, failures (the first one's reason);
 *   3. advance reservations on M Managers: K agreements of 1-2 nodes made
 *      by the broker at staggered exact times T a few seconds ahead
 *      (several at each T), short leases; each member's ready time
 *      (GetAgreement) against T, and the end against T+d (the Factory's
 *      log, and polling ListAgreements).
 *
 *   bench/site [-n CREATES] [-c CLIENTS] [-t SECONDS] [-m MANAGERS]
 *              [-k AGREEMENTS] [-d LEASE-SECONDS] [-g]
 *   defaults: -n 200 -c 8 -t 5 -m 4 -k 40 -d 2     (needs VWS_SRCDIR, VWS_BUILDDIR)
 *
 * The site directory and every daemon are removed at exit, also after a
 * failure or a signal.
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"

#include "strbuf.h"
#include "util.h"
#include "xstime.h"
#include "wsdl/soap.h"
#include "../tests/requests.h"
#include "../tests/sitetest.h"
#include "internal.h"

#define ALICE "users/alice/proxy.pem"
#define BOB "users/bob/proxy.pem"       /* the broker */
#define ADMIN "users/alice/voms-admin.pem"
#define ALICE_DN "/O=Grid/OU=vws-test/CN=Alice"
#define MAX_MANAGERS 64
#define VMS_PER_HOST 64
#define NODE_MB 128

static struct {
    int creates, clients, seconds, managers, agreements, lease_s;
    bool gsiftp;
} opt = { 200, 8, 5, 4, 40, 2, false };

static char dir[256];
static pid_t main_pid, repo_pid, fac_pid, mgr_pid[MAX_MANAGERS];
static int repo_port, fac_port, ftp_port, mgr_port[MAX_MANAGERS];
static volatile sig_atomic_t interrupted;

/* ---- time, figures ---- */

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char *
xs_time(struct soap *soap, int64_t ms)
{
    struct vws_datetime dt;
    char buf[VWS_DATETIME_BUFSIZE];

    vws_datetime_from_ms(ms, &dt);
    vws_datetime_format(&dt, buf, sizeof(buf));
    return soap_strdup(soap, buf);
}

static int64_t
ms_of(const char *text)
{
    struct vws_datetime dt;

    return text && vws_datetime_parse(text, &dt) == 0 ? vws_datetime_to_ms(&dt) : 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sorted samples and their summary, in milliseconds. */
struct dist {
    size_t n;
    double min, p50, p90, p99, max;
    size_t within;              /* 0 <= v <= 1000 (lateness within 1 s) */
    size_t early;               /* v < 0 */
};

static struct dist
summarize(double *v, size_t n)
{
    struct dist d = { 0 };

    d.n = n;
    if (!n)
        return d;
    qsort(v, n, sizeof(*v), cmp_double);
    d.min = v[0];
    d.p50 = v[n / 2];
    d.p90 = v[(size_t)((double)(n - 1) * 0.90 + 0.5)];
    d.p99 = v[(size_t)((double)(n - 1) * 0.99 + 0.5)];
    d.max = v[n - 1];
    for (size_t i = 0; i < n; i++) {
        d.within += v[i] >= 0 && v[i] <= 1000;
        d.early += v[i] < 0;
    }
    return d;
}

/* The final table, filled as the phases run. */
struct row {
    char name[64];
    struct dist d;
    char note[160];
};
static struct row table[16];
static size_t n_rows;

static void
add_row(const char *name, struct dist d, const char *note)
{
    if (n_rows >= VWS_N_ELEMENTS(table))
        return;
    vws_strlcpy(table[n_rows].name, name, sizeof(table[n_rows].name));
    table[n_rows].d = d;
    vws_strlcpy(table[n_rows].note, note, sizeof(table[n_rows].note));
    n_rows++;
}

static void
print_dist(const char *what, struct dist d)
{
    printf("  %-44s n=%-4zu min %8.1f  p50 %8.1f  p90 %8.1f  p99 %8.1f  max %8.1f ms\n", what,
           d.n, d.min, d.p50, d.p90, d.p99, d.max);
}

/* ---- the site ---- */

static const char *
url_of(int port, const char *what)
{
    static __thread char u[4][96];
    static __thread int k;

    k = (k + 1) % 4;
    snprintf(u[k], sizeof(u[k]), "https://localhost:%d/vws/%s", port, what);
    return u[k];
}

static void
die(const char *what, const char *arg)
{
    fprintf(stderr, "bench/site: %s", what);
    if (arg)
        fprintf(stderr, ": %s", arg);
    fprintf(stderr, "\n");
    exit(EXIT_FAILURE);     /* cleanup() runs */
}

static void
run(const char *cmd)
{
    if (system(cmd) != 0)
        die("command failed", cmd);
}

static const char *
mgr_name(int i)
{
    static char names[MAX_MANAGERS][32];

    snprintf(names[i], sizeof(names[i]), "manager%d.localhost", i + 1);
    return names[i];
}

/* scripts/mkpki makes manager1 and manager2; the others are issued here by
 * the test CA, as mkpki issues its hosts (same key as manager1: a bench). */
static void
issue_host_cert(const char *host)
{
    char *cmd = vws_asprintf(
        "set -e; P='%s/pki'; H=\"$P/hosts/%s\"; mkdir -p \"$H\"; "
        "cp \"$P/hosts/manager1.localhost/hostkey.pem\" \"$H/hostkey.pem\"; "
        "chmod 600 \"$H/hostkey.pem\"; "
        "printf '[ host_ext ]\\nbasicConstraints = critical, CA:false\\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\\n"
        "extendedKeyUsage = serverAuth, clientAuth\\nsubjectKeyIdentifier = hash\\n"
        "authorityKeyIdentifier = keyid\\n"
        "subjectAltName = DNS:%s,DNS:localhost,IP:127.0.0.1\\n' > \"$H/ext\"; "
        "openssl req -new -config \"$P/ca/openssl.cnf\" -key \"$H/hostkey.pem\" "
        "-subj '/O=Grid/OU=vws-test/CN=host\\/%s' -out \"$H/req.pem\" 2>/dev/null; "
        "openssl ca -batch -notext -preserveDN -config \"$P/ca/openssl.cnf\" "
        "-extensions host_ext -extfile \"$H/ext\" -days 2 -in \"$H/req.pem\" "
        "-out \"$H/hostcert.pem\" >/dev/null 2>&1",
        dir, host, host, host);
    run(cmd);
    free(cmd);
}

static void
write_site_files(void)
{
    struct vws_buf pool = VWS_BUF_INIT;

    sitetest_write("acl",
                   "allow dn \"/O=Grid/OU=vws-test/CN=Alice\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=Bob\" create,inspect,manage,deploy,broker\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=host/*\" host,create,inspect\n"
                   "allow fqan /vws/Role=admin admin,inspect\n");
    sitetest_write("policy", "default max_nodes=4 max_duration=1h\n");
    /* an address for every VM slot, and more */
    vws_buf_adds(&pool, "netmask = 255.255.0.0\ngateway = 10.64.0.1\n");
    for (int i = 0; i < 4096; i++)
        vws_buf_addf(&pool, "ws%d.vws.localhost 10.64.%d.%d\n", i, 1 + i / 250, 1 + i % 250);
    sitetest_write("pools/default.pool", pool.s);
    vws_buf_release(&pool);
}

static void
start_factory(void)
{
    int port = sitetest_free_port();
    int hosts = opt.managers > 16 ? opt.managers : 16;
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\nthreads = 48\nkeepalive_requests = 0\n"
        "log_level = info\n"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/factory.localhost/hostcert.pem\n"
        "host_key = %s/pki/hosts/factory.localhost/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[factory]\ndatabase = %s/factory.db\nrepository_url = %s\n"
        "public_url = https://localhost:%d/vws/agreement\npolicy_file = %s/policy\n"
        "hosts = %d\nvms_per_host = %d\nmemory_per_host = %d\ncpu_per_host = %d\n"
        "strategy = hybrid\nheartbeat = 2s\nhost_timeout = 10s\nstop_timeout = 2s\n",
        port, dir, dir, dir, dir, dir, dir, url_of(repo_port, "repository"), port, dir,
        hosts, VMS_PER_HOST, VMS_PER_HOST * NODE_MB, VMS_PER_HOST * 100);

    sitetest_config("factory", port, conf);
    free(conf);
    fac_pid = sitetest_start("factory/vws-factory", "factory", &fac_port);
}

static void
start_manager(int i)
{
    int port = sitetest_free_port();
    char *name = vws_asprintf("manager%d", i + 1);
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\nthreads = 8\n"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/%s/hostcert.pem\nhost_key = %s/pki/hosts/%s/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[manager]\nrepository_url = %s\nvmm_uri = test:///default\n"
        "state_dir = %s/%s-state\ncache_dir = %s/%s-cache\ncache_size = 256M\n"
        "shutdown_timeout = 2s\nfactory_url = %s\n"
        "public_url = https://localhost:%d/vws/manager\nvms = %d\nmemory = %d\n",
        port, dir, dir, dir, mgr_name(i), dir, mgr_name(i), dir,
        url_of(repo_port, "repository"), dir, name, dir, name, url_of(fac_port, "factory"),
        port, VMS_PER_HOST, VMS_PER_HOST * NODE_MB);

    sitetest_config(name, port, conf);
    free(conf);
    mgr_pid[i] = sitetest_start("manager/vws-manager", name, &mgr_port[i]);
    free(name);
}

static struct soap *
client(const char *cred, bool keepalive)
{
    struct soap *c = sitetest_client(cred);

    if (!c)
        die("no client", vws_error_message());
    c->recv_timeout = 60;
    c->send_timeout = 60;
    c->connect_timeout = 10;
    if (keepalive)
        soap_set_mode(c, SOAP_IO_KEEPALIVE);
    return c;
}

static void
reset(struct soap *c)
{
    soap_destroy(c);
    soap_end(c);
    c->header = NULL;
}

static const char *
fault_of(struct soap *soap)
{
    const char **s = soap_faultstring(soap);

    return s && *s ? *s : "(no fault string)";
}

static int
active_hosts(void)
{
    struct soap *c = client(ADMIN, false);
    struct _fac__ListHosts q;
    struct _fac__ListHostsResponse a = { 0 };
    int n = 0;

    memset(&q, 0, sizeof(q));
    if (soap_call___fac__ListHosts(c, url_of(fac_port, "factory"), NULL, &q, &a) == SOAP_OK)
        for (int i = 0; i < a.__sizehost; i++)
            n += a.host_[i].state == fac__HostStateType__active;
    vws_soap_free(c);
    return n;
}

static void
start_site(void)
{
    const char *prefix = "file://";
    char *ftp_prefix = NULL;

    vws_strlcpy(dir, sitetest_setup("vws-bench-site"), sizeof(dir));
    for (int i = 2; i < opt.managers; i++)
        issue_host_cert(mgr_name(i));
    write_site_files();
    sitetest_repository_config("repository", "threads = 16\nkeepalive_requests = 0\n");
    repo_pid = sitetest_start("repository/vws-repository", "repository", &repo_port);
    if (opt.gsiftp) {
        ftp_port = sitetest_gridftp_start();
        ftp_prefix = vws_asprintf("gsiftp://localhost:%d", ftp_port);
        prefix = ftp_prefix;
    }
    sitetest_make_image("k1", 2 << 20);
    sitetest_make_image("i1", 1 << 20);
    sitetest_register_image(url_of(repo_port, "repository"), "kdir", "kernel+initrd", "k1",
                            "i1", NULL, prefix);
    free(ftp_prefix);
    start_factory();
    for (int i = 0; i < opt.managers; i++)
        start_manager(i);
    for (int i = 0; i < 200 && active_hosts() != opt.managers; i++)
        usleep(100000);
    if (active_hosts() != opt.managers)
        die("the Managers did not all register", NULL);
}

static int
threads_of(pid_t pid)
{
    char path[64], line[256];
    int n = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = (int)strtol(line + 8, NULL, 10);
    fclose(f);
    return n;
}

/* SIGTERM, then SIGKILL after TIMEOUT seconds: the wait status, or -1 if
 * it had to be killed. */
static int
stop_daemon(pid_t pid, int timeout)
{
    int status = 0;

    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < timeout * 20; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return r == pid ? status : 0;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Children of this process still alive (a daemon that sitetest_start()
 * gave up on): end them by pid. */
static void
reap_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[300], buf[512], *p;
        int64_t pid;
        FILE *f;
        long ppid;

        if (vws_parse_i64(e->d_name, &pid) < 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (!p || !(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %ld", &ppid) != 1 ||
            ppid != (long)getpid())
            continue;
        stop_daemon((pid_t)pid, 3);
    }
    closedir(d);
}

static int exit_status_bad;     /* a daemon did not exit 0 on SIGTERM */

static void
cleanup(void)
{
    if (getpid() != main_pid)
        return;
    for (int i = 0; i < opt.managers; i++) {
        int st = stop_daemon(mgr_pid[i], 15);
        if (st != 0 && mgr_pid[i])
            fprintf(stderr, "bench/site: manager%d did not exit cleanly on SIGTERM (%s %d)\n",
                    i + 1, st < 0 ? "killed after 15 s," : "status", st);
        exit_status_bad |= st != 0;
        mgr_pid[i] = 0;
    }
    {
        int st = stop_daemon(fac_pid, 15);
        if (st != 0 && fac_pid)
            fprintf(stderr, "bench/site: the factory did not exit cleanly on SIGTERM (%s %d)\n",
                    st < 0 ? "killed after 15 s," : "status", st);
        exit_status_bad |= st != 0;
        fac_pid = 0;
    }
    stop_daemon(repo_pid, 15);
    repo_pid = 0;
    reap_children();
    if (ftp_port && dir[0]) {
        sitetest_gridftp_stop(ftp_port);
        ftp_port = 0;
    }
    if (dir[0])
        sitetest_cleanup();
    dir[0] = '\0';
}

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void
check_interrupted(void)
{
    if (interrupted) {
        fprintf(stderr, "bench/site: interrupted\n");
        exit(130);
    }
}

static int threads_of(pid_t pid);

/* ---- requests ---- */

enum payload { MINIMAL, CHECK_FACTORY };

static struct vws__DeploymentRequestType *
request(struct soap *c, unsigned nodes, int64_t start_ms, int dur)
{
    struct vws__DeploymentRequestType *d = soaptest_request(c, nodes);
    char buf[32];

    d->imageTemplate = soap_strdup(c, "kdir");
    d->memory = NODE_MB;
    d->cpuPercent = 50;
    snprintf(buf, sizeof(buf), "PT%dS", dur);
    d->end->union_EndType.duration = soap_strdup(c, buf);
    if (start_ms > 0) {
        d->start = soap_new_vws__StartType(c, 1);
        d->start->__union_StartType = SOAP_UNION__vws__union_StartType_exact;
        d->start->union_StartType.exact = xs_time(c, start_ms);
    }
    return d;
}

/* Factory Create as C's credential: 0, or -1 with the fault in FAULT. */
static int
create_one(struct soap *c, enum payload p, char *fault, size_t size)
{
    struct _fac__Create q = { 0 };
    struct _fac__CreateResponse a = { 0 };
    int rc;

    q.vws__virtualWorkspace = soaptest_workspace(c);
    if (p == CHECK_FACTORY) {
        struct vws__NetworkType *net = soap_new_vws__NetworkType(c, 1);
        net->__sizenic = 1;
        net->nic = soap_new_vws__NICType(c, 1);
        net->nic->name = soap_strdup(c, "eth0");
        net->nic->method = vws__IPMethodType__pool;
        q.vws__virtualWorkspace->network = net;
    }
    q.vws__deploymentRequest = request(c, 1, 0, opt.lease_s);
    rc = soap_call___fac__Create(c, url_of(fac_port, "factory"), NULL, &q, &a);
    if (rc != SOAP_OK || !a.agreementKey || a.__sizekey != 1) {
        if (fault)
            snprintf(fault, size, "%s", rc != SOAP_OK ? fault_of(c) : "an answer without keys");
        soap_closesock(c);
        reset(c);
        return -1;
    }
    reset(c);
    return 0;
}

/* Warm a keep-alive connection up (its TLS handshake is not a figure). */
static void
warm_up(struct soap *c)
{
    struct _fac__GetFactoryProperties q;
    struct _fac__GetFactoryPropertiesResponse a;

    memset(&q, 0, sizeof(q));
    memset(&a, 0, sizeof(a));
    if (soap_call___fac__GetFactoryProperties(c, url_of(fac_port, "factory"), NULL, &q, &a))
        soap_closesock(c);
    reset(c);
}

/* Agreements of C's credential not yet completed or terminated; -1 if
 * the call fails.  *ENDED: those completed or terminated, *NEVER_RAN: of
 * those, the ones with a member that was never ready. */
static int
live_agreements(struct soap *c, int *ended, int *never_ran)
{
    struct _agr__ListAgreements q;
    struct _agr__ListAgreementsResponse a = { 0 };
    int n = 0;

    *ended = *never_ran = 0;
    memset(&q, 0, sizeof(q));
    if (soap_call___agr__ListAgreements(c, url_of(fac_port, "agreement"), NULL, &q, &a)) {
        soap_closesock(c);
        reset(c);
        return -1;
    }
    for (int i = 0; i < a.__sizeagreementStatus; i++) {
        struct agr__AgreementStatusType *s = &a.agreementStatus_[i];
        bool ran = true;

        if (s->state == agr__AgreementStateType__pending ||
            s->state == agr__AgreementStateType__observed) {
            n++;
            continue;
        }
        for (int k = 0; k < s->__sizemember; k++)
            ran = ran && s->member[k].ready;
        (*ended)++;
        *never_ran += !ran;
    }
    reset(c);
    return n;
}

/* Wait (at most LIMIT s) until Alice's agreements have all ended; count
 * those that ended without running. */
static int never_ran_total, ended_total;

static void
drain(const char *after, int limit)
{
    struct soap *c = client(ALICE, true);
    double t0 = mono();
    int n = -1, ended = 0, never = 0;
    char note[160];

    while (mono() - t0 < limit) {
        check_interrupted();
        if ((n = live_agreements(c, &ended, &never)) == 0)
            break;
        sleep(1);
    }
    if (n == 0)
        printf("  after %s: every lease ended %.1f s later; ", after, mono() - t0);
    else
        printf("  after %s: %d agreements still live after %d s; ", after, n, limit);
    printf("%d of the %d that ended never ran (completed, a member never ready)\n",
           never - never_ran_total, ended - ended_total);
    snprintf(note, sizeof(note), "%s: %d of %d never ran", after, never - never_ran_total,
             ended - ended_total);
    vws_strlcpy(table[n_rows - 1].note + strlen(table[n_rows - 1].note), "; ",
                sizeof(table[n_rows - 1].note) - strlen(table[n_rows - 1].note));
    vws_strlcpy(table[n_rows - 1].note + strlen(table[n_rows - 1].note), note,
                sizeof(table[n_rows - 1].note) - strlen(table[n_rows - 1].note));
    never_ran_total = never;
    ended_total = ended;
    printf("  factory: %ld kB RSS, %d threads\n", sitetest_rss_kb(fac_pid), threads_of(fac_pid));
    fflush(stdout);
    vws_soap_free(c);
}

/* ---- 1. sequential Create -> EPR ---- */

static void
phase_latency(const char *name, enum payload p, bool keepalive)
{
    struct soap *c = client(ALICE, keepalive);
    double *lat = vws_calloc((size_t)opt.creates, sizeof(*lat));
    size_t n = 0;
    int failures = 0;
    char first[512] = "";
    struct dist d;
    char note[160];

    if (keepalive)
        warm_up(c);
    for (int i = 0; i < opt.creates; i++) {
        char fault[512];
        double t0 = mono();

        check_interrupted();
        if (create_one(c, p, fault, sizeof(fault)) < 0) {
            if (!failures++)
                vws_strlcpy(first, fault, sizeof(first));
            continue;
        }
        lat[n++] = (mono() - t0) * 1e3;
    }
    vws_soap_free(c);
    d = summarize(lat, n);
    print_dist(name, d);
    if (failures)
        printf("    %d failures; the first: %s\n", failures, first);
    fflush(stdout);
    snprintf(note, sizeof(note), "%d failures", failures);
    add_row(name, d, note);
    free(lat);
}

/* ---- 2. concurrent creates ---- */

static pthread_barrier_t start_line;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_failure[512];
static double first_failure_at;
static double phase_t0;

struct worker {
    pthread_t thread;
    double *lat;
    size_t n, cap;
    unsigned long failures;
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    struct soap *c = client(ALICE, true);
    double until;

    warm_up(c);
    pthread_barrier_wait(&start_line);
    until = mono() + opt.seconds;
    while (mono() < until && !interrupted) {
        char fault[512];
        double t0 = mono();

        if (create_one(c, CHECK_FACTORY, fault, sizeof(fault)) < 0) {
            pthread_mutex_lock(&fail_lock);
            if (!first_failure[0]) {
                vws_strlcpy(first_failure, fault, sizeof(first_failure));
                first_failure_at = mono() - phase_t0;
            }
            pthread_mutex_unlock(&fail_lock);
            w->failures++;
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 256;
            w->lat = vws_reallocarray(w->lat, w->cap, sizeof(*w->lat));
        }
        w->lat[w->n++] = (mono() - t0) * 1e3;
    }
    vws_soap_free(c);
    return NULL;
}

static void
phase_concurrent(void)
{
    struct worker *w = vws_calloc((size_t)opt.clients, sizeof(*w));
    size_t total = 0, k = 0;
    unsigned long failures = 0;
    double *all, elapsed;
    struct dist d;
    char name[64], note[160];

    pthread_barrier_init(&start_line, NULL, (unsigned)opt.clients + 1);
    for (int i = 0; i < opt.clients; i++)
        pthread_create(&w[i].thread, NULL, work, &w[i]);
    pthread_barrier_wait(&start_line);
    phase_t0 = mono();
    for (int i = 0; i < opt.clients; i++)
        pthread_join(w[i].thread, NULL);
    elapsed = mono() - phase_t0;
    pthread_barrier_destroy(&start_line);
    check_interrupted();
    for (int i = 0; i < opt.clients; i++) {
        total += w[i].n;
        failures += w[i].failures;
    }
    all = vws_calloc(total ? total : 1, sizeof(*all));
    for (int i = 0; i < opt.clients; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof(*all));
        k += w[i].n;
        free(w[i].lat);
    }
    d = summarize(all, k);
    snprintf(name, sizeof(name), "concurrent Create, %d clients x %d s", opt.clients,
             opt.seconds);
    print_dist(name, d);
    printf("    %.1f creates/s (%zu in %.1f s), %lu failures\n", (double)total / elapsed, total,
           elapsed, failures);
    if (failures)
        printf("    the first failure (%.2f s in): %s\n", first_failure_at, first_failure);
    fflush(stdout);
    snprintf(note, sizeof(note), "%.1f creates/s, %lu failures", (double)total / elapsed,
             failures);
    add_row(name, d, note);
    free(all);
    free(w);
}

/* ---- 3. advance reservations ---- */

struct ar {
    char key[64];
    int64_t t, dur_ms;          /* requested start, lease length */
    int nodes;
    int64_t booked, submitted;  /* booked start as answered; when the offer returned */
    int64_t sent;               /* when the offer was sent */
    int staging;                /* transfers planned, as answered */
    int64_t staging_start;      /* the first one's planned start */
    char fault[512];
    /* by polling ListAgreements */
    int64_t seen_observed, seen_completed;
    /* GetAgreement after */
    int state;
    int64_t started;            /* the status's start once observed: the lease's real start */
    int64_t ready[2];
    char host[2][64];
    char reason[256];
    /* the Factory's log */
    int64_t log_ends, log_completed;
    bool prestaged;             /* "prestaging" logged: deployed ahead of T */
};

static struct ar *ars;
static int n_ars;
static pthread_mutex_t ar_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int polling;
static double poll_rtt_sum;
static long poll_calls;

static struct ar *
ar_find(const char *key)
{
    for (int i = 0; i < n_ars; i++)
        if (strcmp(ars[i].key, key) == 0)
            return &ars[i];
    return NULL;
}

/* Poll ListAgreements as the broker every 100 ms: when each agreement is
 * first seen observed and completed (the time the answer arrived). */
static void *
poller(void *arg)
{
    struct soap *c = client(BOB, true);

    (void)arg;
    warm_up(c);
    while (polling && !interrupted) {
        struct _agr__ListAgreements q;
        struct _agr__ListAgreementsResponse a = { 0 };
        double t0 = mono();
        int64_t at;

        memset(&q, 0, sizeof(q));
        if (soap_call___agr__ListAgreements(c, url_of(fac_port, "agreement"), NULL, &q, &a)) {
            soap_closesock(c);
            reset(c);
            usleep(100000);
            continue;
        }
        at = now_ms();
        poll_rtt_sum += mono() - t0;
        poll_calls++;
        pthread_mutex_lock(&ar_lock);
        for (int i = 0; i < a.__sizeagreementStatus; i++) {
            struct agr__AgreementStatusType *s = &a.agreementStatus_[i];
            struct ar *r = s->key ? ar_find(s->key) : NULL;
            if (!r)
                continue;
            if (!r->seen_observed && (s->state == agr__AgreementStateType__observed ||
                                      s->state == agr__AgreementStateType__completed))
                r->seen_observed = at;
            if (!r->seen_completed && s->state == agr__AgreementStateType__completed)
                r->seen_completed = at;
        }
        pthread_mutex_unlock(&ar_lock);
        reset(c);
        usleep(100000);
    }
    vws_soap_free(c);
    return NULL;
}

static int
offer(struct soap *c, struct ar *r)
{
    struct _agr__CreateAgreement q = { 0 };
    struct _agr__CreateAgreementResponse a = { 0 };

    q.offer = request(c, (unsigned)r->nodes, r->t, (int)(r->dur_ms / 1000));
    q.onBehalfOf = soap_strdup(c, ALICE_DN);
    r->sent = now_ms();
    if (soap_call___agr__CreateAgreement(c, url_of(fac_port, "agreement"), NULL, &q, &a) ||
        !a.agreementStatus) {
        snprintf(r->fault, sizeof(r->fault), "%s", fault_of(c));
        soap_closesock(c);
        reset(c);
        return -1;
    }
    pthread_mutex_lock(&ar_lock);
    vws_strlcpy(r->key, a.agreementStatus->key, sizeof(r->key));
    r->booked = ms_of(a.agreementStatus->start);
    r->submitted = now_ms();
    r->staging = a.agreementStatus->__sizestaging;
    for (int i = 0; i < r->staging; i++) {
        int64_t st = ms_of(a.agreementStatus->staging[i].start);
        if (st && (!r->staging_start || st < r->staging_start))
            r->staging_start = st;
    }
    pthread_mutex_unlock(&ar_lock);
    reset(c);
    return 0;
}

static void
get_status(struct soap *c, struct ar *r)
{
    struct _agr__GetAgreement q;
    struct _agr__GetAgreementResponse a = { 0 };
    struct agr__AgreementStatusType *s;

    memset(&q, 0, sizeof(q));
    c->header = soap_new_SOAP_ENV__Header(c, 1);
    c->header->vws__WorkspaceKey = soap_strdup(c, r->key);
    if (soap_call___agr__GetAgreement(c, url_of(fac_port, "agreement"), NULL, &q, &a) ||
        !(s = a.agreementStatus)) {
        snprintf(r->reason, sizeof(r->reason), "GetAgreement: %s", fault_of(c));
        soap_closesock(c);
        reset(c);
        return;
    }
    r->state = (int)s->state;
    r->started = ms_of(s->start);
    snprintf(r->reason, sizeof(r->reason), "%s", s->reason ? s->reason : "");
    for (int i = 0; i < s->__sizemember && i < 2; i++) {
        r->ready[i] = ms_of(s->member[i].ready);
        snprintf(r->host[i], sizeof(r->host[i]), "%s", s->member[i].host ? s->member[i].host : "");
    }
    reset(c);
}

/* The Factory's own times from its log: "agreement 'KEY' ends" (the lease's
 * end event) and "agreement 'KEY' completed" (every node stopped and
 * undeployed). */
static void
read_factory_log(void)
{
    char *path = sitetest_path("factory.log");
    FILE *f = fopen(path, "r");
    char line[2048];

    free(path);
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *q = strstr(line, "agreement '"), *e, stamp[40];
        struct ar *r;
        const char *sp = strchr(line, ' ');

        if (!q || !sp || (size_t)(sp - line) >= sizeof(stamp))
            continue;
        q += strlen("agreement '");
        if (!(e = strchr(q, '\'')))
            continue;
        *e = '\0';
        if (!(r = ar_find(q)))
            continue;
        memcpy(stamp, line, (size_t)(sp - line));
        stamp[sp - line] = '\0';
        if (strncmp(e + 1, ": prestaging", 12) == 0)
            r->prestaged = true;
        else if (strncmp(e + 1, " ends", 5) == 0)
            r->log_ends = ms_of(stamp);
        else if (strncmp(e + 1, " completed", 10) == 0)
            r->log_completed = ms_of(stamp);
    }
    fclose(f);
}

static void
phase_ar(double submit_estimate_ms)
{
    struct soap *c = client(BOB, true);
    pthread_t poll_thread;
    int per_t = 4, rejected = 0, late_submit = 0, not_booked_at_t = 0, bad_state = 0;
    int64_t lead_ms, base, last_end = 0, t_submit0;
    double *ready_late, *start_late, *end_log, *end_done, *end_seen, *skew, *obs_seen;
    size_t n_ready = 0, n_start = 0, n_end_log = 0, n_done = 0, n_seen = 0, n_skew = 0,
           n_obs = 0;
    struct dist d;
    char note[160];
    int nodes_total = 0, with_staging = 0, prestaged = 0;
    double *stage_lead;
    size_t n_stage = 0;

    n_ars = opt.agreements;
    ars = vws_calloc((size_t)n_ars, sizeof(*ars));
    /* time to submit them all, and 3 s more: the first T */
    lead_ms = 3000 + (int64_t)(submit_estimate_ms * n_ars);
    base = (now_ms() + lead_ms + 999) / 1000 * 1000;
    for (int i = 0; i < n_ars; i++) {
        ars[i].t = base + (int64_t)(i / per_t) * 700;   /* per_t agreements at each T */
        ars[i].nodes = 1 + i % 2;
        ars[i].dur_ms = (2 + i % 3) * 1000;
        nodes_total += ars[i].nodes;
        if (ars[i].t + ars[i].dur_ms > last_end)
            last_end = ars[i].t + ars[i].dur_ms;
    }
    printf("\n3. advance reservations: %d agreements (%d nodes) by the broker on %d Managers,\n"
           "   %d at each T, T every 0.7 s from %.1f s ahead; leases of 2-4 s\n",
           n_ars, nodes_total, opt.managers, per_t, (double)(base - now_ms()) / 1e3);
    printf("   ready: each member's ready time in GetAgreement (the Factory's clock when the "
           "Manager's Start returned);\n"
           "   end: the Factory's log lines 'ends' (the lease's end event) and 'completed' "
           "(nodes stopped and undeployed),\n"
           "   and the first ListAgreements (as the broker, every 100 ms) that shows it "
           "completed\n");
    fflush(stdout);
    polling = 1;
    pthread_create(&poll_thread, NULL, poller, NULL);
    warm_up(c);
    t_submit0 = now_ms();
    for (int i = 0; i < n_ars; i++) {
        check_interrupted();
        if (offer(c, &ars[i]) < 0) {
            if (!rejected++)
                printf("   offer %d rejected: %s\n", i, ars[i].fault);
            continue;
        }
        late_submit += ars[i].submitted > ars[i].t - 1000;
        not_booked_at_t += ars[i].booked != ars[i].t;
    }
    printf("   submitted in %.1f s (%.0f ms each); the first T was %.1f s after the last "
           "answer\n", (double)(now_ms() - t_submit0) / 1e3,
           (double)(now_ms() - t_submit0) / n_ars, (double)(base - now_ms()) / 1e3);
    fflush(stdout);
    /* wait for the last end, then for every agreement to complete */
    while (now_ms() < last_end + 2000) {
        check_interrupted();
        usleep(200000);
    }
    for (int i = 0; i < 150; i++) {
        int live = 0;
        check_interrupted();
        pthread_mutex_lock(&ar_lock);
        for (int j = 0; j < n_ars; j++)
            live += ars[j].key[0] && !ars[j].seen_completed;
        pthread_mutex_unlock(&ar_lock);
        if (!live)
            break;
        usleep(200000);
    }
    polling = 0;
    pthread_join(poll_thread, NULL);
    for (int i = 0; i < n_ars; i++)
        if (ars[i].key[0])
            get_status(c, &ars[i]);
    vws_soap_free(c);
    read_factory_log();

    ready_late = vws_calloc((size_t)nodes_total, sizeof(double));
    skew = vws_calloc((size_t)n_ars, sizeof(double));
    start_late = vws_calloc((size_t)n_ars, sizeof(double));
    end_log = vws_calloc((size_t)n_ars, sizeof(double));
    end_done = vws_calloc((size_t)n_ars, sizeof(double));
    end_seen = vws_calloc((size_t)n_ars, sizeof(double));
    obs_seen = vws_calloc((size_t)n_ars, sizeof(double));
    stage_lead = vws_calloc((size_t)n_ars, sizeof(double));
    for (int i = 0; i < n_ars; i++) {
        struct ar *r = &ars[i];
        int64_t end = r->t + r->dur_ms;
        bool all_ready = true;

        if (!r->key[0])
            continue;
        if (r->state != agr__AgreementStateType__completed) {
            if (!bad_state++)
                printf("   agreement %s: state %d, not completed (reason '%s')\n", r->key,
                       r->state, r->reason);
        }
        for (int k = 0; k < r->nodes; k++) {
            if (r->ready[k])
                ready_late[n_ready++] = (double)(r->ready[k] - r->t);
            else
                all_ready = false;
        }
        if (!all_ready)
            printf("   agreement %s: a node never ready (state %d, reason '%s')\n", r->key,
                   r->state, r->reason);
        if (r->nodes == 2 && r->ready[0] && r->ready[1])
            skew[n_skew++] = (double)llabs(r->ready[0] - r->ready[1]);
        if (r->started)
            start_late[n_start++] = (double)(r->started - r->t);
        if (r->log_ends)
            end_log[n_end_log++] = (double)(r->log_ends - end);
        if (r->log_completed)
            end_done[n_done++] = (double)(r->log_completed - end);
        if (r->seen_completed)
            end_seen[n_seen++] = (double)(r->seen_completed - end);
        if (r->seen_observed)
            obs_seen[n_obs++] = (double)(r->seen_observed - r->t);
        with_staging += r->staging > 0;
        prestaged += r->prestaged;
        if (r->staging_start)
            stage_lead[n_stage++] = (double)(r->staging_start - r->sent);
    }
    printf("   %d offers rejected, %d answered later than T-1 s, %d booked at another time "
           "than T, %d not completed\n", rejected, late_submit, not_booked_at_t, bad_state);
    printf("   %d of %d agreements answered with planned staging; the Factory logged a "
           "prestage (Deploy before T) for %d\n", with_staging, n_ars, prestaged);
    if (n_stage) {
        d = summarize(stage_lead, n_stage);
        print_dist("planned staging start - offer sent", d);
    }
    d = summarize(ready_late, n_ready);
    print_dist("member ready - T (GetAgreement)", d);
    printf("    %zu of %zu nodes ready within 1 s of T (0..1000 ms), %zu before T\n", d.within,
           d.n, d.early);
    snprintf(note, sizeof(note), "%zu/%zu nodes within 1 s, %zu early", d.within, d.n, d.early);
    add_row("AR: member ready - T", d, note);
    d = summarize(start_late, n_start);
    print_dist("lease start (status start) - T", d);
    add_row("AR: lease start event - T", d, "the status's start once observed");
    d = summarize(skew, n_skew);
    print_dist("2-node agreements: |ready0 - ready1|", d);
    add_row("AR: 2-node ready skew", d, "");
    d = summarize(obs_seen, n_obs);
    print_dist("observed first seen by polling - T", d);
    d = summarize(end_log, n_end_log);
    print_dist("end event (log 'ends') - (T+d)", d);
    add_row("AR: end event - (T+d)", d, "factory log timestamp");
    d = summarize(end_done, n_done);
    print_dist("completed (log 'completed') - (T+d)", d);
    add_row("AR: completed - (T+d)", d, "factory log: nodes stopped+undeployed");
    d = summarize(end_seen, n_seen);
    print_dist("completed first seen by polling - (T+d)", d);
    snprintf(note, sizeof(note), "ListAgreements every 100 ms, RTT %.0f ms",
             poll_calls ? poll_rtt_sum / (double)poll_calls * 1e3 : 0.0);
    add_row("AR: completed seen - (T+d)", d, note);
    printf("    (polling: ListAgreements as the broker every 100 ms + its %.0f ms round trip;"
           " %ld calls)\n", poll_calls ? poll_rtt_sum / (double)poll_calls * 1e3 : 0.0,
           poll_calls);
    fflush(stdout);
    free(ready_late);
    free(skew);
    free(start_late);
    free(end_log);
    free(end_done);
    free(end_seen);
    free(obs_seen);
    free(stage_lead);
}

/* ---- main ---- */

static void
usage(void)
{
    fprintf(stderr, "usage: bench/site [-n CREATES] [-c CLIENTS] [-t SECONDS] [-m MANAGERS] "
                    "[-k AGREEMENTS] [-d LEASE-SECONDS] [-g]\n");
    exit(2);
}

static double
load1(void)
{
    double l[1] = { -1 };

    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

int
main(int argc, char **argv)
{
    int o;
    double t_start = mono(), p99_seq = 100;
    int threads0;
    long rss0;
    struct sigaction sa;

    while ((o = getopt(argc, argv, "n:c:t:m:k:d:gh")) != -1) {
        int64_t v = 0;

        if (o == 'g') {
            opt.gsiftp = true;
            continue;
        }
        /* -n 0 and -t 0 skip phases 1 and 2 */
        if (o == 'h' || vws_parse_i64(optarg, &v) < 0 || v > 100000 ||
            v < (o == 'n' || o == 't' ? 0 : 1))
            usage();
        switch (o) {
        case 'n': opt.creates = (int)v; break;
        case 'c': opt.clients = (int)v; break;
        case 't': opt.seconds = (int)v; break;
        case 'm':
            if (v > MAX_MANAGERS)
                usage();
            opt.managers = (int)v;
            break;
        case 'k': opt.agreements = (int)v; break;
        case 'd': opt.lease_s = (int)v; break;
        default: usage();
        }
    }
    main_pid = getpid();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    vws_log_set_level(VWS_LOG_ERROR);
    atexit(cleanup);

    start_site();
    threads0 = threads_of(fac_pid);
    rss0 = sitetest_rss_kb(fac_pid);
    printf("bench/site: Repository, Factory (hybrid staging, %d slots x %d VMs) and %d "
           "Managers (test:///default) on 127.0.0.1 over GSI;\n"
           "  images at %s locations (%s); site up in %.1f s; load average %.2f on %ld CPUs\n",
           opt.managers > 16 ? opt.managers : 16, VMS_PER_HOST, opt.managers,
           opt.gsiftp ? "gsiftp://" : "file://",
           opt.gsiftp ? "Manager staging through the GridFTP server is in the figures"
                      : "no GridFTP transfer in the figures",
           mono() - t_start, load1(), sysconf(_SC_NPROCESSORS_ONLN));
    if (opt.creates > 0) {
        printf("\n1. Create -> EPR, %d sequential Create (ASAP, 1 node, PT%dS) by Alice:\n",
               opt.creates, opt.lease_s);
        fflush(stdout);
        phase_latency("minimal workspace, keep-alive", MINIMAL, true);
        phase_latency("check_factory payload, keep-alive", CHECK_FACTORY, true);
        p99_seq = table[n_rows - 1].d.p99;
        phase_latency("check_factory payload, new connection each", CHECK_FACTORY, false);
        drain("phase 1", 60);
    }
    if (opt.seconds > 0) {
        printf("\n2. concurrent Create (check_factory payload, ASAP, 1 node, PT%dS), %d "
               "keep-alive clients for %d s:\n", opt.lease_s, opt.clients, opt.seconds);
        fflush(stdout);
        phase_concurrent();
        drain("phase 2", 90);
    }

    phase_ar(p99_seq > 50 ? (p99_seq < 1000 ? 2 * p99_seq : 2000) : 100);

    printf("\nsummary (ms; load average %.2f on %ld CPUs at the end; run %.0f s):\n", load1(),
           sysconf(_SC_NPROCESSORS_ONLN), mono() - t_start);
    printf("%-44s %5s %8s %8s %8s %8s %8s  %s\n", "figure", "n", "min", "p50", "p90", "p99",
           "max", "");
    for (size_t i = 0; i < n_rows; i++)
        printf("%-44s %5zu %8.1f %8.1f %8.1f %8.1f %8.1f  %s\n", table[i].name, table[i].d.n,
               table[i].d.min, table[i].d.p50, table[i].d.p90, table[i].d.p99, table[i].d.max,
               table[i].note);
    printf("factory: %d threads and %ld kB RSS after start-up, %d threads and %ld kB at the "
           "end\n", threads0, rss0, threads_of(fac_pid), sitetest_rss_kb(fac_pid));
    fflush(stdout);
    cleanup();
    return exit_status_bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
