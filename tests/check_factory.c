/*
 * check_factory.c — the whole site on loopback: the Repository, the
 * Factory, and two Managers (test:///default) that
 * register and heartbeat.  A broker's reservation of two nodes is ready at
 * its time; ASAP, event window, immediate refused when full, infeasible
 * offers rejected with the reason, the broker role, policy limits, a
 * Manager killed mid-lease, the Factory restarted mid-reservation.
 */
#define VWS_MODULE "check_factory"
#include <config.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"

#include "util.h"
#include "xstime.h"
#include "wsdl/soap.h"
#include "requests.h"
#include "sitetest.h"
#include "internal.h"

#define ALICE "users/alice/proxy.pem"
#define BOB "users/bob/proxy.pem"       /* the broker */
#define ALICE_DN "/O=Grid/OU=vws-test/CN=Alice"

static char *dir;
static pid_t repo_pid, fac_pid, mgr_pid[2];
static int repo_port, fac_port, mgr_port[2];
static const char *const mgr_host[2] = { "manager1.localhost", "manager2.localhost" };

static const char *
repo_url(void)
{
    static char u[80];
    snprintf(u, sizeof(u), "https://localhost:%d/vws/repository", repo_port);
    return u;
}

static const char *
fac_url(const char *what)
{
    static char u[2][80];
    static int k;
    k ^= 1;
    snprintf(u[k], sizeof(u[k]), "https://localhost:%d/vws/%s", fac_port, what);
    return u[k];
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
    ck_assert_int_eq(vws_datetime_parse(text, &dt), 0);
    return vws_datetime_to_ms(&dt);
}

static const char *
fault_of(struct soap *soap)
{
    const char **s = soap_faultstring(soap);
    return s && *s ? *s : "(no fault)";
}

static struct soap *
client(const char *cred)
{
    struct soap *soap = sitetest_client(cred);
    ck_assert_msg(soap != NULL, "%s: %s", cred, vws_error_message());
    soap->recv_timeout = 60;
    return soap;
}

/* ---- daemons ---- */

static void
start_factory(void)
{
    int port = fac_port ? fac_port : sitetest_free_port();
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\nthreads = 8\n"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/factory.localhost/hostcert.pem\n"
        "host_key = %s/pki/hosts/factory.localhost/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[factory]\ndatabase = %s/factory.db\nrepository_url = %s\n"
        "public_url = https://localhost:%d/vws/agreement\npolicy_file = %s/policy\n"
        "hosts = 2\nvms_per_host = 1\nmemory_per_host = 1024\nstrategy = hybrid\n"
        "heartbeat = 1s\nhost_timeout = 3s\nstop_timeout = 2s\n",
        port, dir, dir, dir, dir, dir, dir, repo_url(), port, dir);

    sitetest_config("factory", port, conf);
    free(conf);
    fac_pid = sitetest_start("factory/vws-factory", "factory", &fac_port);
}

static void
start_manager(int i)
{
    int port = mgr_port[i] ? mgr_port[i] : sitetest_free_port();
    char *name = vws_asprintf("manager%d", i + 1);
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\nthreads = 8\n"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/%s/hostcert.pem\nhost_key = %s/pki/hosts/%s/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[manager]\nrepository_url = %s\nvmm_uri = test:///default\n"
        "state_dir = %s/%s-state\ncache_dir = %s/%s-cache\ncache_size = 256M\n"
        "shutdown_timeout = 2s\nfactory_url = %s\n"
        "public_url = https://localhost:%d/vws/manager\nvms = 1\nmemory = 1024\n",
        port, dir, dir, dir, mgr_host[i], dir, mgr_host[i], dir, repo_url(), dir, name, dir,
        name, fac_url("factory"), port);

    sitetest_config(name, port, conf);
    free(conf);
    mgr_pid[i] = sitetest_start("manager/vws-manager", name, &mgr_port[i]);
    free(name);
}

static int
active_hosts(void)
{
    struct soap *c = client("users/alice/voms-admin.pem");
    struct _fac__ListHosts q;
    struct _fac__ListHostsResponse a = { 0 };
    int n = 0;

    memset(&q, 0, sizeof(q));
    if (soap_call___fac__ListHosts(c, fac_url("factory"), NULL, &q, &a) == SOAP_OK)
        for (int i = 0; i < a.__sizehost; i++)
            n += a.host_[i].state == fac__HostStateType__active;
    vws_soap_free(c);
    return n;
}

static void
wait_hosts(int want)
{
    for (int i = 0; i < 100; i++) {
        if (active_hosts() == want)
            return;
        usleep(100000);
    }
    ck_abort_msg("%d hosts did not become active", want);
}

static void
setup_site(void)
{
    dir = vws_strdup(sitetest_setup("vws-check-fac"));
    sitetest_write("acl",
                   "allow dn \"/O=Grid/OU=vws-test/CN=Alice\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=Bob\" create,inspect,manage,deploy,broker\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=host/*\" host,create,inspect\n"
                   "allow fqan /vws/Role=admin admin,inspect\n");
    sitetest_write("policy",
                   "default max_nodes=4 max_duration=1h\n"
                   "dn \"/O=Grid/OU=vws-test/CN=Alice\" max_nodes=2 max_duration=10m\n");
    sitetest_write("pools/default.pool",
                   "netmask = 255.255.255.0\ngateway = 10.0.2.2\n"
                   "ws1.vws.localhost 10.0.2.15\nws2.vws.localhost 10.0.2.16\n"
                   "ws3.vws.localhost 10.0.2.17\nws4.vws.localhost 10.0.2.18\n"
                   "ws5.vws.localhost 10.0.2.19\nws6.vws.localhost 10.0.2.20\n");
    sitetest_repository_config("repository", "threads = 8\n");
    repo_pid = sitetest_start("repository/vws-repository", "repository", &repo_port);
    sitetest_make_image("k1", 2 << 20);
    sitetest_make_image("i1", 1 << 20);
    /* file://, and no GridFTP server: the Managers' GridFTP staging is
     * check_manager's */
    sitetest_register_image(repo_url(), "kdir", "kernel+initrd", "k1", "i1", NULL, "file://");
    start_factory();
    start_manager(0);
    start_manager(1);
    wait_hosts(2);
}

static void
teardown_site(void)
{
    for (int i = 0; i < 2; i++)
        if (mgr_pid[i])
            ck_assert_int_eq(sitetest_stop(mgr_pid[i], SIGTERM), 0);
    ck_assert_int_eq(sitetest_stop(fac_pid, SIGTERM), 0);
    ck_assert_int_eq(sitetest_stop(repo_pid, SIGTERM), 0);
    sitetest_cleanup();
    free(dir);
}

/* ---- requests ---- */

/* A deployment request: NODES of kdir for DUR seconds; START_MS > 0: an
 * exact start; WINDOW_END_MS > 0 too: an event window. */
static struct vws__DeploymentRequestType *
request(struct soap *c, unsigned nodes, int64_t start_ms, int64_t window_end_ms, int dur,
        int immediate)
{
    struct vws__DeploymentRequestType *d = soaptest_request(c, nodes);
    char buf[32];

    d->imageTemplate = soap_strdup(c, "kdir");
    d->memory = 128;
    d->cpuPercent = 50;
    snprintf(buf, sizeof(buf), "PT%dS", dur);
    d->end->union_EndType.duration = soap_strdup(c, buf);
    if (start_ms > 0) {
        d->start = soap_new_vws__StartType(c, 1);
        if (window_end_ms > 0) {
            d->start->__union_StartType = SOAP_UNION__vws__union_StartType_window;
            d->start->union_StartType.window = soap_new_vws__EventWindowType(c, 1);
            d->start->union_StartType.window->earliest = xs_time(c, start_ms);
            d->start->union_StartType.window->latest = xs_time(c, window_end_ms);
            d->start->union_StartType.window->event = soap_strdup(c, "go");
        } else {
            d->start->__union_StartType = SOAP_UNION__vws__union_StartType_exact;
            d->start->union_StartType.exact = xs_time(c, start_ms);
        }
    }
    if (immediate) {
        d->immediate = soap_malloc(c, sizeof(*d->immediate));
        *d->immediate = xsd__boolean__true_;
    }
    return d;
}

struct agr {
    int rc;
    char fault[1024];
    char key[64];
    int state;                  /* agr__AgreementStateType */
    char reason[512];
    int members;
    char host[2][64];
    char member[2][64];
    int64_t ready[2];
    int64_t start, end;
    int staging;
};

static void
fill(struct agr__AgreementStatusType *s, struct agr *r)
{
    snprintf(r->key, sizeof(r->key), "%s", s->key);
    r->state = (int)s->state;
    snprintf(r->reason, sizeof(r->reason), "%s", s->reason ? s->reason : "");
    r->members = s->__sizemember;
    for (int i = 0; i < s->__sizemember && i < 2; i++) {
        snprintf(r->host[i], sizeof(r->host[i]), "%s", s->member[i].host ? s->member[i].host : "");
        snprintf(r->member[i], sizeof(r->member[i]), "%s", s->member[i].key);
        r->ready[i] = s->member[i].ready ? ms_of(s->member[i].ready) : 0;
    }
    r->start = s->start ? ms_of(s->start) : 0;
    r->end = s->end ? ms_of(s->end) : 0;
    r->staging = s->__sizestaging;
}

/* CreateAgreement as CRED, for FOR_DN (or NULL). */
static struct agr
offer(const char *cred, const char *for_dn, unsigned nodes, int64_t start_ms,
      int64_t window_end_ms, int dur)
{
    struct soap *c = client(cred);
    struct _agr__CreateAgreement q = { 0 };
    struct _agr__CreateAgreementResponse a = { 0 };
    struct agr r;

    memset(&r, 0, sizeof(r));
    q.offer = request(c, nodes, start_ms, window_end_ms, dur, 0);
    q.onBehalfOf = for_dn ? soap_strdup(c, for_dn) : NULL;
    r.rc = soap_call___agr__CreateAgreement(c, fac_url("agreement"), NULL, &q, &a);
    if (r.rc != SOAP_OK)
        snprintf(r.fault, sizeof(r.fault), "%s", fault_of(c));
    else
        fill(a.agreementStatus, &r);
    vws_soap_free(c);
    return r;
}

/* Factory Create as CRED. */
static struct agr
create(const char *cred, unsigned nodes, int dur, int immediate)
{
    struct soap *c = client(cred);
    struct _fac__Create q = { 0 };
    struct _fac__CreateResponse a = { 0 };
    struct agr r;

    memset(&r, 0, sizeof(r));
    q.vws__virtualWorkspace = soaptest_workspace(c);
    {
        struct vws__NetworkType *net = soap_new_vws__NetworkType(c, 1);
        net->__sizenic = 1;
        net->nic = soap_new_vws__NICType(c, 1);
        net->nic->name = soap_strdup(c, "eth0");
        net->nic->method = vws__IPMethodType__pool;
        q.vws__virtualWorkspace->network = net;
    }
    q.vws__deploymentRequest = request(c, nodes, 0, 0, dur, immediate);
    r.rc = soap_call___fac__Create(c, fac_url("factory"), NULL, &q, &a);
    if (r.rc != SOAP_OK)
        snprintf(r.fault, sizeof(r.fault), "%s", fault_of(c));
    else {
        snprintf(r.key, sizeof(r.key), "%s", a.agreementKey);
        r.members = a.__sizekey;
    }
    vws_soap_free(c);
    return r;
}

enum aop { STATUS, TERMINATE, SIGNAL };

static struct agr
agreement(const char *cred, const char *key, enum aop op)
{
    struct soap *c = client(cred);
    struct agr r;
    struct agr__AgreementStatusType *s = NULL;

    memset(&r, 0, sizeof(r));
    c->header = soap_new_SOAP_ENV__Header(c, 1);
    c->header->vws__WorkspaceKey = soap_strdup(c, key);
    if (op == STATUS) {
        struct _agr__GetAgreement q;
        struct _agr__GetAgreementResponse a = { 0 };
        memset(&q, 0, sizeof(q));
        r.rc = soap_call___agr__GetAgreement(c, fac_url("agreement"), NULL, &q, &a);
        s = a.agreementStatus;
    } else if (op == TERMINATE) {
        struct _agr__Terminate q;
        struct _agr__TerminateResponse a = { 0 };
        memset(&q, 0, sizeof(q));
        r.rc = soap_call___agr__Terminate(c, fac_url("agreement"), NULL, &q, &a);
        s = a.agreementStatus;
    } else {
        struct _agr__SignalEvent q;
        struct _agr__SignalEventResponse a = { 0 };
        memset(&q, 0, sizeof(q));
        r.rc = soap_call___agr__SignalEvent(c, fac_url("agreement"), NULL, &q, &a);
        s = a.agreementStatus;
    }
    if (r.rc != SOAP_OK)
        snprintf(r.fault, sizeof(r.fault), "%s", fault_of(c));
    else
        fill(s, &r);
    vws_soap_free(c);
    return r;
}

/* Poll KEY (as ALICE) until its state is WANT (and, for observed, every
 * node ready); at most SECONDS. */
static struct agr
wait_state(const char *key, int want, int seconds)
{
    struct agr r;

    for (int i = 0; i < seconds * 20; i++) {
        r = agreement(ALICE, key, STATUS);
        ck_assert_msg(r.rc == SOAP_OK, "status: %s", r.fault);
        if (r.state == want && (want != agr__AgreementStateType__observed ||
                                (r.ready[0] > 0 && (r.members < 2 || r.ready[1] > 0))))
            return r;
        usleep(50000);
    }
    ck_abort_msg("agreement %s: state %d, want %d after %d s (reason '%s')", key, r.state,
                 want, seconds, r.reason);
    return r;
}

/* How late a node may be ready: 1 s, the target; 3 s when the daemons run
 * under AddressSanitizer (every TLS handshake to a Manager is slower). */
static int64_t
tolerance_ms(void)
{
    return getenv("ASAN_OPTIONS") ? 3000 : 1000;
}

static int64_t
next_second(int64_t plus_ms)
{
    return (now_ms() + plus_ms + 999) / 1000 * 1000;
}

/* ---- cases ---- */

/* A broker reserves 2 nodes for Alice: staged before T, both ready at T. */
START_TEST(t_ar_two_nodes)
{
    int64_t t = next_second(6000);
    struct agr r = offer(BOB, ALICE_DN, 2, t, 0, 4);

    ck_assert_msg(r.rc == SOAP_OK, "offer: %s", r.fault);
    ck_assert_int_eq(r.state, agr__AgreementStateType__pending);
    ck_assert_int_eq(r.members, 2);
    ck_assert_int_eq(r.start, t);
    ck_assert_int_eq(r.end, t + 4000);
    ck_assert_str_ne(r.host[0], r.host[1]);
    ck_assert_int_ge(r.staging, 1);              /* the site planned the staging */
    r = wait_state(r.key, agr__AgreementStateType__observed, 15);
    for (int i = 0; i < 2; i++) {
        int64_t late = r.ready[i] - t;
        fprintf(stderr, "AR node %d ready %+lld ms from T\n", i, (long long)late);
        ck_assert_msg(late >= -50 && late <= tolerance_ms(), "node %d ready %lld ms from T", i,
                      (long long)late);
    }
    r = wait_state(r.key, agr__AgreementStateType__completed, 15);
    /* Alice sees it; someone else does not */
    ck_assert_int_eq(agreement(ALICE, r.key, STATUS).rc, SOAP_OK);
    ck_assert_msg(strstr(agreement("users/mallory/proxy.pem", r.key, STATUS).fault,
                         "no such agreement"), "mallory saw it");
}
END_TEST

START_TEST(t_broker_role)
{
    struct agr r = offer(ALICE, "/O=Grid/OU=vws-test/CN=Bob", 1, next_second(5000), 0, 2);

    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "broker role"), "fault '%s'", r.fault);
    r = offer("users/mallory/proxy.pem", NULL, 1, next_second(5000), 0, 2);
    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "not allowed"), "fault '%s'", r.fault);
    r = offer("users/alice/proxy-limited.pem", NULL, 1, next_second(5000), 0, 2);
    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "limited"), "fault '%s'", r.fault);
}
END_TEST

/* More nodes than the site has, at that time: rejected with the reason. */
START_TEST(t_infeasible)
{
    struct agr r = offer(BOB, NULL, 3, next_second(5000), 0, 2);

    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "rejected"), "fault '%s'", r.fault);
}
END_TEST

/* The site full: an immediate request is refused; ASAP waits and runs. */
START_TEST(t_immediate_and_asap)
{
    struct agr hold = offer(BOB, ALICE_DN, 2, next_second(1000), 0, 60);
    struct agr r;

    ck_assert_msg(hold.rc == SOAP_OK, "hold: %s", hold.fault);
    wait_state(hold.key, agr__AgreementStateType__observed, 10);
    r = create(ALICE, 1, 2, 1);
    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "rejected"), "immediate when full: '%s'", r.fault);
    r = create(ALICE, 1, 2, 0);                  /* ASAP: queued */
    ck_assert_msg(r.rc == SOAP_OK, "asap: %s", r.fault);
    ck_assert_int_eq(r.members, 1);
    ck_assert_int_eq(agreement(ALICE, hold.key, TERMINATE).rc, SOAP_OK);
    r = wait_state(r.key, agr__AgreementStateType__observed, 15);
    wait_state(r.key, agr__AgreementStateType__completed, 15);
    r = agreement(ALICE, hold.key, STATUS);
    ck_assert_int_eq(r.state, agr__AgreementStateType__terminated);
}
END_TEST

START_TEST(t_event_window)
{
    int64_t t0 = next_second(1000);
    struct agr r = offer(BOB, ALICE_DN, 1, t0, t0 + 30000, 2), s;
    int64_t sent;

    ck_assert_msg(r.rc == SOAP_OK, "offer: %s", r.fault);
    sleep(3);
    s = agreement(ALICE, r.key, STATUS);
    ck_assert_int_eq(s.state, agr__AgreementStateType__pending);   /* no event yet */
    sent = now_ms();
    s = agreement(ALICE, r.key, SIGNAL);
    ck_assert_msg(s.rc == SOAP_OK, "signal: %s", s.fault);
    s = wait_state(r.key, agr__AgreementStateType__observed, 10);
    fprintf(stderr, "window: ready %lld ms after the event\n", (long long)(s.ready[0] - sent));
    ck_assert_int_le(s.ready[0] - sent, 1000 + tolerance_ms());
    ck_assert_msg(strstr(agreement(ALICE, r.key, SIGNAL).fault, "does not wait"),
                  "a second signal");
    wait_state(r.key, agr__AgreementStateType__completed, 10);
}
END_TEST

START_TEST(t_policy)
{
    struct agr r = create(ALICE, 1, 3600, 0);    /* an hour: Alice may have 10 min */

    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "policy") && strstr(r.fault, "Alice"), "fault '%s'", r.fault);
    r = create(ALICE, 3, 60, 0);                 /* 3 nodes: Alice may have 2 */
    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "at most 2"), "fault '%s'", r.fault);
}
END_TEST

static int
host_call(const char *cred, const char *name, int remove, char *fault, size_t size)
{
    struct soap *c = client(cred);
    int rc;

    if (remove) {
        struct _fac__RemoveHost q = { (char *)name };
        struct _fac__RemoveHostResponse a = { 0 };
        rc = soap_call___fac__RemoveHost(c, fac_url("factory"), NULL, &q, &a);
    } else {
        struct _fac__DrainHost q = { (char *)name };
        struct _fac__DrainHostResponse a = { 0 };
        rc = soap_call___fac__DrainHost(c, fac_url("factory"), NULL, &q, &a);
        if (rc == SOAP_OK)
            ck_assert_int_eq(a.host->state, fac__HostStateType__draining);
    }
    snprintf(fault, size, "%s", rc == SOAP_OK ? "" : fault_of(c));
    vws_soap_free(c);
    return rc;
}

/* An admin drains a host: no new leases there; removed, its Manager's
 * next heartbeat brings it back. */
START_TEST(t_drain)
{
    char fault[512];
    struct agr r;

    ck_assert_int_ne(host_call(ALICE, mgr_host[1], 0, fault, sizeof(fault)), SOAP_OK);
    ck_assert_msg(strstr(fault, "not allowed"), "alice drains: '%s'", fault);
    ck_assert_int_eq(host_call("users/alice/voms-admin.pem", mgr_host[1], 0, fault,
                               sizeof(fault)), SOAP_OK);
    ck_assert_int_eq(active_hosts(), 1);
    r = offer(BOB, ALICE_DN, 2, next_second(3000), 0, 2);
    ck_assert_int_ne(r.rc, SOAP_OK);
    ck_assert_msg(strstr(r.fault, "rejected"), "2 nodes on 1 host: '%s'", r.fault);
    ck_assert_int_ne(host_call("users/alice/voms-admin.pem", "no.such.host", 1, fault,
                               sizeof(fault)), SOAP_OK);
    ck_assert_msg(strstr(fault, "no such host"), "'%s'", fault);
    ck_assert_int_eq(host_call("users/alice/voms-admin.pem", mgr_host[1], 1, fault,
                               sizeof(fault)), SOAP_OK);
    wait_hosts(2);
    r = offer(BOB, ALICE_DN, 2, next_second(2000), 0, 2);
    ck_assert_msg(r.rc == SOAP_OK, "after re-registration: %s", r.fault);
    wait_state(r.key, agr__AgreementStateType__completed, 20);
}
END_TEST

/* A Manager killed mid-lease: its node is lost, the agreement says why. */
START_TEST(t_manager_killed)
{
    struct agr r = offer(BOB, ALICE_DN, 2, next_second(1000), 0, 60);
    int victim;

    ck_assert_msg(r.rc == SOAP_OK, "offer: %s", r.fault);
    r = wait_state(r.key, agr__AgreementStateType__observed, 10);
    victim = strcmp(r.host[0], mgr_host[1]) == 0 || strcmp(r.host[1], mgr_host[1]) == 0;
    sitetest_stop(mgr_pid[victim], SIGKILL);
    mgr_pid[victim] = 0;
    r = wait_state(r.key, agr__AgreementStateType__terminated, 10);
    ck_assert_msg(strstr(r.reason, mgr_host[victim]) && strstr(r.reason, "stopped answering"),
                  "reason '%s'", r.reason);
    {   /* the lost node's workspace: corrupted with the reason, lock taken back */
        int node = strcmp(r.host[0], mgr_host[victim]) == 0 ? 0 : 1;
        char *st = NULL, *loc = NULL, *why = NULL;
        for (int i = 0; i < 50; i++) {
            free(st);
            st = sitetest_repo_prop(repo_url(), r.member[node], "vws:state");
            if (strcmp(st, "corrupted") == 0)
                break;
            usleep(100000);
        }
        loc = sitetest_repo_prop(repo_url(), r.member[node], "vws:location");
        why = sitetest_repo_prop(repo_url(), r.member[node], "vws:faultReason");
        ck_assert_str_eq(st, "corrupted");
        ck_assert_str_eq(loc, "unstaged");
        ck_assert_msg(strstr(why, mgr_host[victim]), "fault reason '%s'", why);
        free(st);
        free(loc);
        free(why);
    }
    start_manager(victim);                       /* it comes back and registers */
    wait_hosts(2);
}
END_TEST

/* The Factory restarted between the offer and T: honoured at T. */
START_TEST(t_factory_restart)
{
    int64_t t = next_second(7000);
    struct agr r = offer(BOB, ALICE_DN, 1, t, 0, 3);

    ck_assert_msg(r.rc == SOAP_OK, "offer: %s", r.fault);
    ck_assert_int_eq(sitetest_stop(fac_pid, SIGTERM), 0);
    start_factory();
    r = wait_state(r.key, agr__AgreementStateType__observed, 20);
    fprintf(stderr, "after a restart: ready %+lld ms from T\n", (long long)(r.ready[0] - t));
    ck_assert_int_le(r.ready[0] - t, tolerance_ms());
    wait_state(r.key, agr__AgreementStateType__completed, 15);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("factory");
    TCase *tc = tcase_create("site");

    tcase_add_unchecked_fixture(tc, setup_site, teardown_site);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_ar_two_nodes);
    tcase_add_test(tc, t_broker_role);
    tcase_add_test(tc, t_infeasible);
    tcase_add_test(tc, t_immediate_and_asap);
    tcase_add_test(tc, t_event_window);
    tcase_add_test(tc, t_policy);
    tcase_add_test(tc, t_factory_restart);
    tcase_add_test(tc, t_drain);
    tcase_add_test(tc, t_manager_killed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
