/*
 * check_manager.c — vws-manager against real parts: the real Repository
 * daemon over GSI, a real GSI GridFTP server on 127.0.0.1, the Manager as a
 * process with its host credential.  Fast cases run the Manager on
 * libvirt's test:///default; the guest case on qemu:///embed boots the
 * test guest (scripts/mkguest) and reads its console.
 */
#define VWS_MODULE "check_manager"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"

#include "strbuf.h"
#include "util.h"
#include "wsdl/soap.h"
#include "requests.h"
#include "sitetest.h"
#include "internal.h"

static pid_t repo_pid, mgr_pid;
static int repo_port, mgr_port, ftp_port;
static char *dir;

/* ---- the site ---- */

static void
run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static long
file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void
make_image(const char *name, long size)
{
    sitetest_make_image(name, size);
}

static void
stop_manager_pid(int sig)
{
    sitetest_stop(mgr_pid, sig);
    mgr_pid = 0;
}

static void
start_manager_named(const char *name, const char *host, const char *uri, const char *extra)
{
    int port = sitetest_free_port();
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\nthreads = 8\n"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/%s/hostcert.pem\nhost_key = %s/pki/hosts/%s/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[manager]\nrepository_url = https://localhost:%d/vws/repository\n"
        "vmm_uri = %s\nstate_dir = %s/%s-state\ncache_dir = %s/%s-cache\n"
        "cache_size = 512M\nshutdown_timeout = 10s\ntransfer_retries = 1\n%s",
        port, dir, dir, dir, host, dir, host, dir, repo_port, uri, dir, name, dir, name,
        extra ? extra : "");

    sitetest_config(name, port, conf);
    free(conf);
    if (mgr_pid)        /* a failed test's Manager: not left running */
        stop_manager_pid(SIGKILL);
    mgr_pid = sitetest_start("manager/vws-manager", name, &mgr_port);
}

static void
start_manager(const char *uri, const char *extra)
{
    start_manager_named("manager", "manager1.localhost", uri, extra);
}

static int
stop_manager(int sig)
{
    int st = sitetest_stop(mgr_pid, sig);
    mgr_pid = 0;
    return st;
}

/* A manager NAME that starts from nothing: no records, no cache. */
static void
fresh_manager(const char *name)
{
    char *cmd = vws_asprintf("rm -rf '%s/%s-state' '%s/%s-cache'", dir, name, dir, name);
    run(cmd);
    free(cmd);
}

static struct soap *
client(const char *cred)
{
    struct soap *soap = sitetest_client(cred);

    ck_assert_msg(soap != NULL, "%s: %s", cred, vws_error_message());
    soap->recv_timeout = 120;
    return soap;
}

static const char *
repo_url(void)
{
    static char u[80];
    snprintf(u, sizeof(u), "https://localhost:%d/vws/repository", repo_port);
    return u;
}

static const char *
mgr_url(void)
{
    static char u[80];
    snprintf(u, sizeof(u), "https://localhost:%d/vws/manager", mgr_port);
    return u;
}

static void
with_key(struct soap *soap, const char *key)
{
    soap->header = soap_new_SOAP_ENV__Header(soap, 1);
    soap->header->vws__WorkspaceKey = soap_strdup(soap, key);
}

static const char *
fault_of(struct soap *soap)
{
    const char **s = soap_faultstring(soap);
    return s && *s ? *s : "(no fault)";
}

static void
register_image(const char *name, const char *format, const char *kernel_file,
               const char *initrd_file, const char *sha_override, int file_scheme)
{
    char *prefix = vws_asprintf("gsiftp://localhost:%d", ftp_port);

    sitetest_register_image(repo_url(), name, format, kernel_file, initrd_file, sha_override,
                            file_scheme ? "file://" : prefix);
    free(prefix);
}

static char *
register_ws(const char *cred, const char *image)
{
    return sitetest_register_ws(cred, repo_url(), image);
}

static char *
repo_prop(const char *key, const char *qname)
{
    return sitetest_repo_prop(repo_url(), key, qname);
}

static void
assert_repo(const char *key, const char *qname, const char *want)
{
    char *v = repo_prop(key, qname);
    ck_assert_msg(strcmp(v, want) == 0, "%s of %s is '%s', want '%s'", qname, key, v, want);
    free(v);
}

/* ---- Manager calls ---- */

enum op { DEPLOY, DEPLOY_NOWAIT, UNDEPLOY, START, STOP, PAUSE, UNPAUSE, SERIALIZE, STATUS };

struct result {
    int rc;
    char fault[1024];
    char phase[16], state[16], vm[32], reason[1024], cache[16];
    int hot;
    unsigned long long done, total;
};

static void
fill(struct soap *c, struct mgr__InstanceStatusType *s, struct result *r)
{
    snprintf(r->phase, sizeof(r->phase), "%s", soap_mgr__PhaseType2s(c, s->phase));
    snprintf(r->state, sizeof(r->state), "%s", soap_vws__StateType2s(c, s->state));
    snprintf(r->vm, sizeof(r->vm), "%s", s->vmState ? s->vmState : "-");
    snprintf(r->reason, sizeof(r->reason), "%s", s->reason ? s->reason : "");
    snprintf(r->cache, sizeof(r->cache), "%s",
             s->cache ? soap_mgr__CacheOutcomeType2s(c, *s->cache) : "-");
    r->hot = s->hot == xsd__boolean__true_;
    r->done = s->bytesDone ? *s->bytesDone : 0;
    r->total = s->bytesTotal ? *s->bytesTotal : 0;
}

static struct result
call(const char *cred, const char *key, enum op op, const char *url_arg)
{
    struct soap *c = client(cred);
    struct result r;
    struct mgr__InstanceStatusType *s = NULL;
    enum xsd__boolean yes = xsd__boolean__true_;

    memset(&r, 0, sizeof(r));
    if (key)
        with_key(c, key);
    switch (op) {
    case DEPLOY: case DEPLOY_NOWAIT: {
        struct _mgr__Deploy q = { op == DEPLOY ? &yes : NULL, (char *)url_arg };
        struct _mgr__DeployResponse a = { 0 };
        r.rc = soap_call___mgr__Deploy(c, mgr_url(), NULL, &q, &a);
        s = a.instanceStatus;
        break;
    }
    case UNDEPLOY: {
        struct _mgr__Undeploy q = { &yes, (char *)url_arg };
        struct _mgr__UndeployResponse a = { 0 };
        r.rc = soap_call___mgr__Undeploy(c, mgr_url(), NULL, &q, &a);
        s = a.instanceStatus;
        break;
    }
#define SIMPLE(OP, Name) \
    case OP: { \
        struct _mgr__##Name q; \
        struct _mgr__##Name##Response a = { 0 }; \
        memset(&q, 0, sizeof(q)); \
        r.rc = soap_call___mgr__##Name(c, mgr_url(), NULL, &q, &a); \
        s = a.instanceStatus; \
        break; \
    }
    SIMPLE(START, Start)
    SIMPLE(PAUSE, Pause)
    SIMPLE(UNPAUSE, Unpause)
    SIMPLE(SERIALIZE, Serialize)
    SIMPLE(STATUS, Status)
#undef SIMPLE
    case STOP: {
        struct _mgr__Stop q = { 0 };
        struct _mgr__StopResponse a = { 0 };
        r.rc = soap_call___mgr__Stop(c, mgr_url(), NULL, &q, &a);
        s = a.instanceStatus;
        break;
    }
    }
    if (r.rc != SOAP_OK)
        snprintf(r.fault, sizeof(r.fault), "%s", fault_of(c));
    else if (s)
        fill(c, s, &r);
    vws_soap_free(c);
    return r;
}

#define ALICE "users/alice/proxy.pem"

static void
ok(struct result r, const char *what)
{
    ck_assert_msg(r.rc == SOAP_OK, "%s: %s", what, r.fault);
}

static void
refused(struct result r, const char *what, const char *needle)
{
    ck_assert_msg(r.rc != SOAP_OK, "%s was not refused", what);
    ck_assert_msg(strstr(r.fault, needle), "%s: fault '%s' lacks '%s'", what, r.fault, needle);
}

static struct mgr__ManagerPropertiesType
props(struct soap **keep)
{
    struct soap *c = client("hosts/factory.localhost");
    struct _mgr__GetManagerProperties q;
    struct _mgr__GetManagerPropertiesResponse a = { 0 };

    memset(&q, 0, sizeof(q));
    ck_assert_msg(soap_call___mgr__GetManagerProperties(c, mgr_url(), NULL, &q, &a) == SOAP_OK,
                  "properties: %s", fault_of(c));
    *keep = c;
    return *a.managerProperties;
}

static int
n_instances(void)
{
    struct soap *c = client("hosts/factory.localhost");
    struct _mgr__ListInstances q;
    struct _mgr__ListInstancesResponse a = { 0 };
    int n;

    memset(&q, 0, sizeof(q));
    ck_assert(soap_call___mgr__ListInstances(c, mgr_url(), NULL, &q, &a) == SOAP_OK);
    n = a.__sizeinstanceStatus;
    vws_soap_free(c);
    return n;
}

static int
instance_dir_exists(const char *name, const char *key)
{
    char *p = vws_asprintf("%s/%s-state/instances/%s", dir, name, key);
    struct stat sb;
    int e = stat(p, &sb) == 0;
    free(p);
    return e;
}

/* Poll the status of KEY until its phase is not "staging" (60 s). */
static struct result
wait_staged(const char *key)
{
    struct result r;

    for (int i = 0; i < 600; i++) {
        r = call(ALICE, key, STATUS, NULL);
        ok(r, "status");
        if (strcmp(r.phase, "staging") != 0)
            return r;
        usleep(100000);
    }
    ck_abort_msg("workspace %s still staging after 60 s", key);
    return r;
}

/* ---- set-up ---- */

static void
setup_site(void)
{
    dir = vws_strdup(sitetest_setup("vws-check-mgr"));
    sitetest_write("acl",
                   "allow dn \"/O=Grid/OU=vws-test/CN=Alice\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=Bob\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=host/*\" host\n"
                   "allow fqan /vws/Role=admin admin,inspect\n");
    sitetest_write("pools/default.pool",
                   "netmask = 255.255.255.0\ngateway = 10.0.2.2\n"
                   "ws1.vws.localhost 10.0.2.15\nws2.vws.localhost 10.0.2.16\n"
                   "ws3.vws.localhost 10.0.2.17\nws4.vws.localhost 10.0.2.18\n");
    sitetest_write("images/.keep", "");
    sitetest_repository_config("repository", "threads = 8\n");
    repo_pid = sitetest_start("repository/vws-repository", "repository", &repo_port);
    ftp_port = sitetest_gridftp_start();
    make_image("k1", 3 << 20);
    make_image("i1", 1 << 20);
    make_image("disk.raw", 8 << 20);
    make_image("big", 96 << 20);
    register_image("kdir", "kernel+initrd", "k1", "i1", NULL, 0);
    register_image("disk", "raw", "disk.raw", NULL, NULL, 1);
    register_image("big", "raw", "big", NULL, NULL, 0);
    register_image("badsum", "raw", "disk.raw", NULL,
                   "0000000000000000000000000000000000000000000000000000000000000000", 0);
}

static void
teardown_site(void)
{
    if (mgr_pid)
        stop_manager(SIGTERM);
    ck_assert_int_eq(sitetest_stop(repo_pid, SIGTERM), 0);
    sitetest_gridftp_stop(ftp_port);
    sitetest_cleanup();
    free(dir);
}

/* ---- fast cases: test:///default ---- */

START_TEST(t_lifecycle)
{
    char *key = register_ws(ALICE, "kdir");
    struct result r;
    struct soap *pc;
    struct mgr__ManagerPropertiesType p;

    start_manager("test:///default", NULL);
    r = call(ALICE, key, DEPLOY, NULL);
    ok(r, "deploy");
    ck_assert_str_eq(r.phase, "staged");
    ck_assert_str_eq(r.state, "shutdown");
    ck_assert_str_eq(r.cache, "miss");
    ck_assert_uint_eq(r.done, r.total);
    ck_assert_uint_eq(r.total, (3 << 20) + (1 << 20));
    assert_repo(key, "vws:location", "staged");
    ck_assert(instance_dir_exists("manager", key));

    /* someone else sees nothing; a second deploy is refused */
    refused(call("users/bob/proxy.pem", key, STATUS, NULL), "bob's status", "no such workspace");
    refused(call("users/bob/proxy.pem", key, START, NULL), "bob's start", "no such workspace");
    refused(call(ALICE, key, DEPLOY, NULL), "second deploy", "already deployed");

    ok(r = call(ALICE, key, START, NULL), "start");
    ck_assert_str_eq(r.state, "running");
    ck_assert_str_eq(r.vm, "running");
    assert_repo(key, "vws:state", "running");
    refused(call(ALICE, key, START, NULL), "start twice", "already running");
    ok(r = call(ALICE, key, PAUSE, NULL), "pause");
    ck_assert_str_eq(r.vm, "paused");
    assert_repo(key, "vws:state", "paused");
    ok(r = call(ALICE, key, UNPAUSE, NULL), "unpause");
    ck_assert_str_eq(r.vm, "running");
    ok(r = call(ALICE, key, SERIALIZE, NULL), "serialize");
    ck_assert(r.hot);
    ck_assert_str_eq(r.vm, "shutoff");
    assert_repo(key, "vws:state", "paused");
    refused(call(ALICE, key, UNPAUSE, NULL), "unpause a serialized one", "start resumes it");
    ok(r = call(ALICE, key, START, NULL), "start (resume)");
    ck_assert(!r.hot);
    ck_assert_str_eq(r.vm, "running");
    ok(r = call(ALICE, key, STOP, NULL), "stop");
    ck_assert_str_eq(r.state, "shutdown");
    assert_repo(key, "vws:state", "shutdown");

    p = props(&pc);
    ck_assert_uint_eq(p.cacheMisses, 2);           /* kernel and initrd */
    ck_assert_int_eq(p.__sizecachedTemplate, 2);
    ck_assert_uint_eq(p.cachedTemplate[0].pins + p.cachedTemplate[1].pins, 2);
    vws_soap_free(pc);

    {   /* the bound metadata, without the private key */
        struct soap *c = client(ALICE);
        struct _mgr__GetInstanceMetadata q = { key };
        struct _mgr__GetInstanceMetadataResponse a = { 0 };
        ck_assert_msg(soap_call___mgr__GetInstanceMetadata(c, mgr_url(), NULL, &q, &a) ==
                      SOAP_OK, "metadata: %s", fault_of(c));
        ck_assert_str_eq(a.vws__instanceMetadata->workspaceId, key);
        ck_assert_str_eq(a.vws__instanceMetadata->nic[0].ip, "10.0.2.15");
        ck_assert_ptr_null(a.vws__instanceMetadata->credential);
        vws_soap_free(c);
    }

    ok(r = call(ALICE, key, UNDEPLOY, NULL), "undeploy");
    ck_assert_str_eq(r.phase, "unstaged");
    assert_repo(key, "vws:location", "unstaged");
    ck_assert(!instance_dir_exists("manager", key));
    ck_assert_int_eq(n_instances(), 0);
    refused(call(ALICE, key, STATUS, NULL), "status after undeploy", "no such workspace");
    p = props(&pc);
    ck_assert_uint_eq(p.cachePinnedBytes, 0);
    vws_soap_free(pc);

    /* deployed again: a cache hit */
    ok(r = call(ALICE, key, DEPLOY, NULL), "deploy again");
    ck_assert_str_eq(r.cache, "hit");
    ok(call(ALICE, key, UNDEPLOY, NULL), "undeploy again");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(key);
}
END_TEST

START_TEST(t_disk_overlay_and_save)
{
    char *key = register_ws(ALICE, "disk");
    char *overlay = vws_asprintf("%s/manager-state/instances/%s/disk.qcow2", dir, key);
    char *save = vws_asprintf("file://%s/images/saved-%s", dir, key);
    char *cmd;
    struct result r;

    start_manager("test:///default", NULL);
    ok(r = call(ALICE, key, DEPLOY, NULL), "deploy disk");
    cmd = vws_asprintf("qemu-img info --output=json '%s' | grep -q '\"backing-filename\"'",
                       overlay);
    run(cmd);
    free(cmd);
    ck_assert_int_lt(file_size(overlay), 1 << 20);  /* an overlay, not a copy */
    ok(call(ALICE, key, START, NULL), "start");
    ok(r = call(ALICE, key, SERIALIZE, NULL), "serialize");
    cmd = vws_asprintf("mkdir -p '%s/images/saved-%s'", dir, key);
    run(cmd);
    free(cmd);
    ok(r = call(ALICE, key, UNDEPLOY, save), "undeploy to a save target");
    assert_repo(key, "vws:state", "paused");
    assert_repo(key, "vws:location", "unstaged");
    {
        char *p = vws_asprintf("%s/images/saved-%s/disk.qcow2", dir, key);
        char *q = vws_asprintf("%s/images/saved-%s/state.save", dir, key);
        ck_assert_int_gt(file_size(p), 0);
        ck_assert_int_gt(file_size(q), 0);
        free(p);
        free(q);
    }
    /* a later deploy resumes the hot image */
    ok(r = call(ALICE, key, DEPLOY, save), "deploy from the save");
    ck_assert(r.hot);
    ck_assert_str_eq(r.state, "paused");
    ok(r = call(ALICE, key, START, NULL), "start resumes");
    ck_assert_str_eq(r.vm, "running");
    ok(call(ALICE, key, UNDEPLOY, NULL), "undeploy");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(overlay);
    free(save);
    free(key);
}
END_TEST

struct deploy_arg {
    char *key;
    struct result r;
};

static void *
deploy_thread(void *arg)
{
    struct deploy_arg *d = arg;
    d->r = call(ALICE, d->key, DEPLOY, NULL);
    return NULL;
}

/* Two deploys of one template at once: one transfer. */
START_TEST(t_one_transfer)
{
    struct deploy_arg a[2];
    pthread_t t[2];
    struct soap *pc;
    struct mgr__ManagerPropertiesType p;

    fresh_manager("manager");
    start_manager("test:///default", NULL);
    for (int i = 0; i < 2; i++)
        a[i].key = register_ws(ALICE, "big");
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, deploy_thread, &a[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ok(a[i].r, "concurrent deploy");
    }
    p = props(&pc);
    ck_assert_uint_eq(p.cacheMisses, 1);
    ck_assert_uint_eq(p.cacheHalfMisses + p.cacheHits, 1);
    ck_assert_int_eq(p.__sizecachedTemplate, 1);
    ck_assert_uint_eq(p.cachedTemplate[0].pins, 2);
    vws_soap_free(pc);
    for (int i = 0; i < 2; i++) {
        ok(call(ALICE, a[i].key, UNDEPLOY, NULL), "undeploy");
        free(a[i].key);
    }
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
}
END_TEST

/* A checksum mismatch: refused, nothing cached, the workspace as it was. */
START_TEST(t_checksum)
{
    char *key = register_ws(ALICE, "badsum");
    struct result r;
    struct soap *pc;
    struct mgr__ManagerPropertiesType p;

    fresh_manager("manager");
    start_manager("test:///default", NULL);
    r = call(ALICE, key, DEPLOY, NULL);
    refused(r, "deploy with a bad checksum", "checksum mismatch");
    r = call(ALICE, key, STATUS, NULL);
    ok(r, "status of the failure");
    ck_assert_str_eq(r.phase, "failed");
    ck_assert_msg(strstr(r.reason, "checksum mismatch"), "reason '%s'", r.reason);
    assert_repo(key, "vws:location", "unstaged");
    assert_repo(key, "vws:state", "shutdown");
    p = props(&pc);
    ck_assert_int_eq(p.__sizecachedTemplate, 0);
    ck_assert_uint_eq(p.cacheFetchFailures, 1);
    ck_assert_uint_eq(p.cacheUsedBytes, 0);
    vws_soap_free(pc);
    ck_assert(!instance_dir_exists("manager", key));
    ok(call(ALICE, key, UNDEPLOY, NULL), "forget the failure");
    ck_assert_int_eq(n_instances(), 0);
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(key);
}
END_TEST

/* A template location that tries path traversal. */
START_TEST(t_traversal)
{
    struct soap *c = client("users/alice/voms-admin.pem");
    struct _repo__RegisterImage req = { 0 };
    struct _repo__RegisterImageResponse resp;
    struct vws__ImageTemplateType *t = soap_new_vws__ImageTemplateType(c, 1);
    char *key, *u = vws_asprintf("gsiftp://localhost:%d%s/images/../../../etc/passwd",
                                 ftp_port, dir);
    struct result r;

    memset(&resp, 0, sizeof(resp));
    t->name = "evil";
    t->format = vws__ImageFormatType__raw;
    t->location = u;
    t->size = 100;
    t->sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    req.vws__imageTemplate = t;
    ck_assert_int_eq(soap_call___repo__RegisterImage(c, repo_url(), NULL, &req, &resp), SOAP_OK);
    vws_soap_free(c);
    key = register_ws(ALICE, "evil");
    start_manager("test:///default", NULL);
    r = call(ALICE, key, DEPLOY, NULL);
    refused(r, "deploy of a traversal URL", "..");
    assert_repo(key, "vws:location", "unstaged");
    ok(call(ALICE, key, UNDEPLOY, NULL), "forget");

    /* hostile keys */
    refused(call(ALICE, "../../etc/passwd", STATUS, NULL), "bad key", "malformed");
    refused(call(ALICE, NULL, STATUS, NULL), "no key", "WorkspaceKey");
    refused(call(ALICE, "6f1c2a4e-0000-4000-8000-000000000000", DEPLOY, NULL),
            "unknown key", "no such workspace");
    refused(call("users/mallory/proxy.pem", key, DEPLOY, NULL), "mallory", "no such workspace");
    refused(call("users/alice/proxy-limited.pem", key, DEPLOY, NULL), "limited proxy",
            "limited");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(u);
    free(key);
}
END_TEST

/* libvirt refuses the domain: corrupted with the reason, nothing leaked. */
START_TEST(t_libvirt_failure)
{
    char *key = register_ws(ALICE, "kdir");
    struct result r;
    struct soap *pc;
    struct mgr__ManagerPropertiesType p;
    char *fr;

    start_manager("test:///default", "vmm_faults = define:1:injected libvirt failure\n");
    r = call(ALICE, key, DEPLOY, NULL);
    refused(r, "deploy with a failing define", "injected libvirt failure");
    assert_repo(key, "vws:state", "corrupted");
    assert_repo(key, "vws:location", "unstaged");
    fr = repo_prop(key, "vws:faultReason");
    ck_assert_msg(strstr(fr, "injected libvirt failure"), "fault reason '%s'", fr);
    free(fr);
    ck_assert(!instance_dir_exists("manager", key));
    p = props(&pc);
    ck_assert_uint_eq(p.cachePinnedBytes, 0);
    vws_soap_free(pc);
    r = call(ALICE, key, STATUS, NULL);
    ck_assert_str_eq(r.phase, "failed");
    ck_assert_str_eq(r.vm, "-");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(key);
}
END_TEST

/* kill -9 in the middle of a deploy: the restart rolls it back. */
START_TEST(t_kill_mid_deploy)
{
    char *key = register_ws(ALICE, "big");
    char *cache = vws_asprintf("%s/manager-cache", dir);
    char *cmd;
    struct result r;

    /* a fresh cache: the template must be transferred */
    cmd = vws_asprintf("rm -rf '%s'", cache);
    run(cmd);
    free(cmd);
    start_manager("test:///default", NULL);
    ok(r = call(ALICE, key, DEPLOY_NOWAIT, NULL), "deploy");
    ck_assert_str_eq(r.phase, "staging");
    for (int i = 0; i < 400; i++) {
        r = call(ALICE, key, STATUS, NULL);
        if (r.done > 0 || strcmp(r.phase, "staging") != 0)
            break;
        usleep(5000);
    }
    ck_assert_str_eq(r.phase, "staging");
    stop_manager(SIGKILL);
    assert_repo(key, "vws:location", "staging");
    start_manager("test:///default", NULL);
    refused(call(ALICE, key, STATUS, NULL), "status after the restart", "no such workspace");
    assert_repo(key, "vws:location", "unstaged");
    ck_assert(!instance_dir_exists("manager", key));
    cmd = vws_asprintf("! ls '%s/templates' | grep -q part", cache);
    run(cmd);
    free(cmd);
    /* and it deploys again */
    ok(r = call(ALICE, key, DEPLOY, NULL), "deploy after the restart");
    r = wait_staged(key);
    ck_assert_str_eq(r.phase, "staged");

    /* a restart of test:///default loses its domains: no ghosts either */
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    start_manager("test:///default", NULL);
    refused(call(ALICE, key, STATUS, NULL), "status of a ghost", "no such workspace");
    assert_repo(key, "vws:state", "corrupted");
    assert_repo(key, "vws:location", "unstaged");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    free(cache);
    free(key);
}
END_TEST

/* ---- the real guest on qemu:///embed ---- */

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    struct vws_buf b = VWS_BUF_INIT;
    char buf[4096];
    size_t n;

    if (!f)
        return vws_strdup("");
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        vws_buf_add(&b, buf, n);
    fclose(f);
    vws_buf_addch(&b, '\0');
    return vws_buf_detach(&b, NULL);
}

static int
count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Wait up to SECONDS for NEEDLE to appear COUNT times in the console. */
static int
console_wait(const char *log, const char *needle, int times, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        char *t = read_file(log);
        int n = count(t, needle);
        free(t);
        if (n >= times)
            return 1;
        usleep(100000);
    }
    return 0;
}

START_TEST(t_guest)
{
    const char *src = getenv("VWS_SRCDIR") ? getenv("VWS_SRCDIR") : "..";
    char *cmd, *key, *key2, *log, *uri, *text, *ready;
    struct result r;
    int alive;

    cmd = vws_asprintf("'%s/scripts/mkguest' '%s/images/guest' >/dev/null", src, dir);
    run(cmd);
    free(cmd);
    register_image("tiny", "kernel+initrd", "guest/vmlinuz", "guest/initrd.img", NULL, 0);
    key = register_ws(ALICE, "tiny");
    key2 = register_ws(ALICE, "tiny");
    uri = vws_asprintf("qemu:///embed?root=%s/libvirt", dir);
    start_manager(uri, NULL);
    log = vws_asprintf("%s/manager-state/instances/%s/console.log", dir, key);

    ok(r = call(ALICE, key, DEPLOY, NULL), "deploy the guest");
    ok(r = call(ALICE, key, START, NULL), "start the guest");
    ck_assert_msg(console_wait(log, "VWS-GUEST-READY", 1, 60), "no READY on the console");
    text = read_file(log);
    ready = vws_asprintf("VWS-GUEST-READY id=%s hostname=ws", key);
    ck_assert_msg(strstr(text, ready), "console lacks '%s':\n%s", ready, text);
    ck_assert_msg(strstr(text, "ip=10.0.2.1"), "console lacks the bound IP:\n%s", text);
    ck_assert_msg(strstr(text, "VWS-GUEST-CERT sha256="), "no workspace certificate:\n%s", text);
    free(text);
    free(ready);
    ck_assert(console_wait(log, "VWS-GUEST-ALIVE", 2, 10));

    /* pause: the heartbeat stops; unpause: it goes on */
    ok(call(ALICE, key, PAUSE, NULL), "pause");
    text = read_file(log);
    alive = count(text, "VWS-GUEST-ALIVE");
    free(text);
    sleep(5);
    text = read_file(log);
    ck_assert_int_le(count(text, "VWS-GUEST-ALIVE"), alive + 1);
    free(text);
    ok(call(ALICE, key, UNPAUSE, NULL), "unpause");
    ck_assert(console_wait(log, "VWS-GUEST-ALIVE", alive + 3, 15));

    /* serialize and resume: the same guest goes on, it does not boot again */
    ok(r = call(ALICE, key, SERIALIZE, NULL), "serialize");
    ck_assert(r.hot);
    text = read_file(log);
    alive = count(text, "VWS-GUEST-ALIVE");
    free(text);
    ok(r = call(ALICE, key, START, NULL), "resume");
    ck_assert(console_wait(log, "VWS-GUEST-ALIVE", alive + 2, 20));
    text = read_file(log);
    ck_assert_int_eq(count(text, "VWS-GUEST-READY"), 1);
    free(text);

    /* a graceful stop */
    ok(r = call(ALICE, key, STOP, NULL), "stop");
    ck_assert(console_wait(log, "VWS-GUEST-POWEROFF", 1, 5));

    /* virsh on the same URI sees exactly the Manager's domains */
    ok(call(ALICE, key2, DEPLOY, NULL), "deploy a second");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    cmd = vws_asprintf("test \"$(virsh -c '%s' list --all --name | sort | grep .)\" = "
                       "\"$(printf 'vws-%%s\\nvws-%%s\\n' %s %s | sort)\"", uri, key, key2);
    run(cmd);
    free(cmd);
    start_manager(uri, NULL);
    ok(call(ALICE, key, UNDEPLOY, NULL), "undeploy");
    ok(call(ALICE, key2, UNDEPLOY, NULL), "undeploy the second");
    ck_assert_int_eq(stop_manager(SIGTERM), 0);
    cmd = vws_asprintf("test -z \"$(virsh -c '%s' list --all --name | grep .)\"", uri);
    run(cmd);
    free(cmd);
    assert_repo(key, "vws:location", "unstaged");
    free(log);
    free(uri);
    free(key);
    free(key2);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("manager");
    TCase *tc = tcase_create("test-driver");

    tcase_add_unchecked_fixture(tc, setup_site, teardown_site);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, t_lifecycle);
    tcase_add_test(tc, t_disk_overlay_and_save);
    tcase_add_test(tc, t_one_transfer);
    tcase_add_test(tc, t_checksum);
    tcase_add_test(tc, t_traversal);
    tcase_add_test(tc, t_libvirt_failure);
    tcase_add_test(tc, t_kill_mid_deploy);
    /* The guest case exercises the daemons and QEMU, which valgrind does not
     * wrap (only this client runs under it): it is run by the normal and the
     * ASan suites, not again under valgrind, where it only costs minutes. */
    {
        const char *pre = getenv("LD_PRELOAD");
        if (!getenv("VWS_TEST_NO_GUEST") && !(pre && strstr(pre, "vgpreload")))
            tcase_add_test(tc, t_guest);
    }
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
