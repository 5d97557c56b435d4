/*
 * check_daemon.c — the daemon framework (common/daemon.h) over real TLS on
 * 127.0.0.1 with the throwaway PKI of scripts/mkpki: many keep-alive
 * clients at once, clients that stall or never handshake, a graceful stop
 * with requests in flight, back-pressure of a small pool, request size
 * limits, the pid file lock, reload, and config errors that name their
 * place.  The service is one generated operation (Manager
 * GetInstanceMetadata, defined below) and GET /whoami.
 */
#define VWS_MODULE "test"
#include <config.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "acl.h"
#include "daemon.h"
#include "gsi.h"
#include "identity.h"
#include "internal.h"

#define ALICE "/O=Grid/OU=vws-test/CN=Alice"

static char pki[256];          /* made once in main() */

static char *
P(const char *rel)
{
    return vws_asprintf("%s/%s", pki, rel);
}

static double
now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- the service ---- */

static atomic_int in_op, peak_in_op, ops_done;

int
__mgr__GetInstanceMetadata(struct soap *soap, struct _mgr__GetInstanceMetadata *req,
                           struct _mgr__GetInstanceMetadataResponse *resp)
{
    const struct vws_identity *id = vws_daemon_caller(soap);
    const char *data = vws_daemon_service_data(soap);
    struct vws__InstanceMetadataType *m;
    int cur;

    if (!id || strcmp(id->dn, ALICE) != 0 || !data || strcmp(data, "svc") != 0)
        return soap_sender_fault(soap, "no caller or no service data", NULL);
    cur = atomic_fetch_add(&in_op, 1) + 1;
    for (int p = atomic_load(&peak_in_op); cur > p;)
        if (atomic_compare_exchange_weak(&peak_in_op, &p, cur))
            break;
    if (req->workspaceId && strncmp(req->workspaceId, "slow", 4) == 0)
        usleep(800000);
    else if (req->workspaceId && strncmp(req->workspaceId, "pause", 5) == 0)
        usleep(30000);
    atomic_fetch_sub(&in_op, 1);
    m = soap_new_vws__InstanceMetadataType(soap, 1);
    m->workspaceId = soap_strdup(soap, strlen(req->workspaceId) < 64 ? req->workspaceId : "long");
    m->hostname = soap_strdup(soap, "localhost");
    m->__sizenic = 1;
    m->nic = soap_new_vws__BoundNICType(soap, 1);
    m->nic->name = soap_strdup(soap, "eth0");
    m->nic->mac = soap_strdup(soap, "52:54:00:00:00:01");
    m->nic->ip = soap_strdup(soap, "10.0.0.2");
    m->nic->netmask = soap_strdup(soap, "255.255.255.0");
    resp->__sizeinstanceMetadata = 1;
    resp->vws__instanceMetadata = m;
    atomic_fetch_add(&ops_done, 1);
    return SOAP_OK;
}

static int
whoami_get(struct soap *soap)
{
    const struct vws_identity *id = vws_daemon_caller(soap);
    char *text;
    int rc = SOAP_OK;

    if (strcmp(soap->path, "/whoami") != 0)
        return 404;
    text = vws_asprintf("dn: %s\ndata: %s\n", id->dn, (char *)vws_daemon_service_data(soap));
    soap->http_content = "text/plain";
    if (soap_response(soap, SOAP_FILE) || soap_send_raw(soap, text, strlen(text)) ||
        soap_end_send(soap))
        rc = soap->error;
    free(text);
    return rc;
}

/* ---- a daemon in a thread ---- */

struct tconf {
    struct vws_daemon_config daemon;
};

static const struct vws_conf_option topts[] = {
    VWS_DAEMON_CONF_OPTIONS(struct tconf, daemon, "127.0.0.1:0"),
    VWS_CONF_END
};

struct td {
    struct tconf conf;
    struct vws_daemon *d;
    struct vws_daemon_service svc;
    pthread_t thread;
    int rc;
    atomic_int reloads;
};

static void
td_reloaded(struct vws_daemon *d, void *arg)
{
    struct td *t = arg;

    (void)d;
    atomic_fetch_add(&t->reloads, 1);
}

static void *
td_run(void *arg)
{
    struct td *t = arg;

    t->rc = vws_daemon_run(t->d, &t->svc);
    return NULL;
}

/* Load the test config with OVERRIDES and init; NULL (error reported) if
 * that fails.  Does not start serving. */
static struct td *
td_init(const char *const *overrides)
{
    struct td *t = vws_calloc(1, sizeof(*t));
    struct vws_daemon_options o = { 0 };
    const char *level = getenv("CHECK_DAEMON_LOG_LEVEL");   /* to debug a test */
    char *text = vws_asprintf("[daemon]\nlog_level = %s\n"
                              "[gsi]\ncert_dir = %s/certificates\nvomsdir = %s/vomsdir\n"
                              "host_cert = %s/hosts/localhost/hostcert.pem\n"
                              "host_key = %s/hosts/localhost/hostkey.pem\n",
                              level ? level : "error", pki, pki, pki, pki);
    int rc = vws_conf_defaults(topts, &t->conf);

    if (rc == 0)
        rc = vws_conf_load_buffer(topts, &t->conf, "test.conf", text, strlen(text), overrides);
    free(text);
    if (rc == 0)
        rc = vws_daemon_config_check(&t->conf.daemon, NULL, overrides);
    o.config = &t->conf.daemon;
    o.ident = "check_daemon";
    o.foreground = true;
    o.on_reload = td_reloaded;
    o.reload_arg = t;
    if (rc < 0 || vws_daemon_init(&t->d, &o) < 0) {
        vws_conf_release(topts, &t->conf);
        free(t);
        return NULL;
    }
    t->svc = (struct vws_daemon_service){ soap_serve, whoami_get, "svc" };
    return t;
}

static struct td *
td_start(const char *const *overrides)
{
    struct td *t = td_init(overrides);

    ck_assert_msg(t != NULL, "daemon: %s", vws_error_message());
    ck_assert_int_eq(pthread_create(&t->thread, NULL, td_run, t), 0);
    atomic_store(&in_op, 0);
    atomic_store(&peak_in_op, 0);
    atomic_store(&ops_done, 0);
    return t;
}

/* Stop, wait, free; the run's result. */
static int
td_stop(struct td *t)
{
    int rc;

    vws_daemon_stop(t->d);
    pthread_join(t->thread, NULL);
    rc = t->rc;
    vws_daemon_free(t->d);
    vws_conf_release(topts, &t->conf);
    free(t);
    return rc;
}

/* ---- clients ---- */

static struct soap *
client_new(const char *cred)
{
    struct vws_gsi_config c = VWS_GSI_CONFIG_INIT;
    struct soap *soap = vws_soap_new();
    int rc;

    c.cert_dir = P("certificates");
    c.vomsdir = P("vomsdir");
    c.cert_file = P(cred);
    c.key_file = P(cred);
    rc = vws_gsi_client_init(soap, &c);
    vws_gsi_config_release(&c);
    if (rc < 0) {
        vws_soap_free(soap);
        return NULL;
    }
    soap->connect_timeout = 20;
    soap->recv_timeout = 20;
    soap->send_timeout = 20;
    soap_set_mode(soap, SOAP_IO_KEEPALIVE);
    return soap;
}

/* One GetInstanceMetadata call for ID; SOAP_OK or the gSOAP error. */
static int
call_meta(struct soap *soap, int port, const char *id)
{
    struct _mgr__GetInstanceMetadata req = { (char *)id };
    struct _mgr__GetInstanceMetadataResponse resp = { 0 };
    char url[64];
    int rc;

    snprintf(url, sizeof(url), "https://localhost:%d/vws/manager", port);
    rc = soap_call___mgr__GetInstanceMetadata(soap, url, NULL, &req, &resp);
    if (rc == SOAP_OK && (resp.__sizeinstanceMetadata != 1 ||
                          strcmp(resp.vws__instanceMetadata->workspaceId,
                                 strlen(id) < 64 ? id : "long") != 0))
        rc = -1;
    soap_destroy(soap);
    soap_end(soap);
    return rc;
}

/* GET /whoami; the body (to free) or NULL. */
static char *
get_whoami(struct soap *soap, int port)
{
    char url[64];
    char *body, *out = NULL;
    size_t len;

    snprintf(url, sizeof(url), "https://localhost:%d/whoami", port);
    if (soap_GET(soap, url, NULL) == SOAP_OK && soap_begin_recv(soap) == SOAP_OK &&
        (body = soap_http_get_body(soap, &len)) != NULL) {
        out = vws_strndup(body, len);
        soap_end_recv(soap);
    } else {
        soap_closesock(soap);
    }
    soap_destroy(soap);
    soap_end(soap);
    return out;
}

static int
tcp_connect(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Seconds until the server closes FD (reads, discarding; at most LIMIT s). */
static double
time_to_close(int fd, SSL *ssl, double limit)
{
    struct timeval tv = { 0, 200000 };
    double t0 = now();
    char buf[512];

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (now() - t0 < limit) {
        int n = ssl ? SSL_read(ssl, buf, sizeof(buf)) : (int)read(fd, buf, sizeof(buf));

        if (n > 0)
            continue;
        if (n < 0 && (ssl ? SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ
                          : errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (ssl)
                ERR_clear_error();
            continue;
        }
        return now() - t0;
    }
    return limit + 1;
}

/* A TLS connection as Alice over a plain socket, for clients that misbehave. */
struct raw {
    struct soap *ctx;
    SSL *ssl;
    int fd;
};

static int
raw_open(struct raw *r, int port)
{
    r->ctx = client_new("users/alice/proxy.pem");
    r->fd = tcp_connect(port);
    r->ssl = SSL_new(r->ctx->ctx);
    SSL_set_fd(r->ssl, r->fd);
    return SSL_connect(r->ssl) == 1 ? 0 : -1;
}

static void
raw_close(struct raw *r)
{
    SSL_free(r->ssl);
    close(r->fd);
    vws_soap_free(r->ctx);
}

/* ---- tests ---- */

struct load {
    int port, requests;
    const char *id;
    int ok;
    bool get;
};

static void *
load_client(void *arg)
{
    struct load *l = arg;
    struct soap *soap = client_new("users/alice/proxy.pem");

    for (int i = 0; soap && i < l->requests; i++) {
        if (l->get) {
            char *body = get_whoami(soap, l->port);
            if (body && strstr(body, "dn: " ALICE "\ndata: svc\n"))
                l->ok++;
            free(body);
        } else if (call_meta(soap, l->port, l->id) == SOAP_OK) {
            l->ok++;
        }
    }
    vws_soap_free(soap);
    return NULL;
}

/* 32 clients x 20 requests on keep-alive connections, SOAP and GET. */
START_TEST(test_concurrent_keepalive)
{
    static const char *const ov[] = { "daemon.threads=8", NULL };
    struct td *t = td_start(ov);
    struct load l[32];
    pthread_t th[32];
    struct vws_daemon_stats st;
    int total = 0;

    for (int i = 0; i < 32; i++) {
        l[i] = (struct load){ vws_daemon_port(t->d), 20, "ws-1", 0, i % 2 == 1 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, load_client, &l[i]), 0);
    }
    for (int i = 0; i < 32; i++) {
        pthread_join(th[i], NULL);
        total += l[i].ok;
    }
    vws_daemon_get_stats(t->d, &st);
    ck_assert_int_eq(total, 640);
    ck_assert_int_eq(atomic_load(&ops_done), 320);
    ck_assert_uint_eq(st.requests, 640);
    ck_assert_uint_eq(st.connections, 32);   /* one per client: keep-alive */
    ck_assert_uint_le(st.peak_busy, 8);
    ck_assert_uint_eq(st.refused, 0);
    ck_assert_int_eq(td_stop(t), 0);
}
END_TEST

/* Half a request, then silence: dropped after recv_timeout; a client that
 * trickles is dropped after request_timeout; others are served meanwhile. */
START_TEST(test_slow_clients)
{
    static const char *const ov[] = { "daemon.threads=3", "daemon.recv_timeout=1",
                                      "daemon.request_timeout=2", NULL };
    static const char half[] = "POST /vws/manager HTTP/1.1\r\nHost: localhost\r\n"
                               "Content-Type: text/xml\r\nContent-Length: 900\r\n\r\n"
                               "<SOAP-ENV:Envelope xmlns:SOAP-ENV=";
    struct td *t = td_start(ov);
    int port = vws_daemon_port(t->d);
    struct raw stalled, trickle;
    struct soap *soap;
    struct vws_daemon_stats st;
    double t0, dt;

    ck_assert_int_eq(raw_open(&stalled, port), 0);
    ck_assert_int_eq(SSL_write(stalled.ssl, half, (int)strlen(half)), (int)strlen(half));
    ck_assert_int_eq(raw_open(&trickle, port), 0);
    /* others are served promptly while both hold a worker */
    soap = client_new("users/alice/proxy.pem");
    t0 = now();
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(call_meta(soap, port, "ws-ok"), SOAP_OK);
    ck_assert_msg(now() - t0 < 0.9, "5 requests took %.2fs", now() - t0);
    /* the trickler sends a byte every 0.3 s: never a 1 s pause */
    t0 = now();
    for (int i = 0; i < 20; i++) {
        if (SSL_write(trickle.ssl, half + i, 1) != 1)
            break;
        usleep(300000);
    }
    dt = now() - t0;
    ck_assert_msg(dt > 1.5 && dt < 4.0, "trickler dropped after %.2fs", dt);
    dt = time_to_close(stalled.fd, stalled.ssl, 5);
    ck_assert_msg(dt < 1.0, "stalled client still open %.2fs later", dt);
    ck_assert_int_eq(call_meta(soap, port, "ws-ok"), SOAP_OK);
    vws_daemon_get_stats(t->d, &st);
    ck_assert_uint_ge(st.dropped, 1);
    vws_soap_free(soap);
    raw_close(&stalled);
    raw_close(&trickle);
    ck_assert_int_eq(td_stop(t), 0);
}
END_TEST

/* TCP connections that never start TLS hold a worker only accept_timeout. */
START_TEST(test_no_handshake)
{
    static const char *const ov[] = { "daemon.threads=2", "daemon.accept_timeout=1", NULL };
    struct td *t = td_start(ov);
    int port = vws_daemon_port(t->d);
    int fd = tcp_connect(port);
    struct soap *soap = client_new("users/alice/proxy.pem");
    struct vws_daemon_stats st;
    double dt;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(call_meta(soap, port, "ws-ok"), SOAP_OK);
    dt = time_to_close(fd, NULL, 5);
    ck_assert_msg(dt < 2.5, "silent client still open after %.2fs", dt);
    close(fd);
    /* the worker counts the refusal after it closed the socket: poll */
    for (int i = 0; i < 100; i++) {
        vws_daemon_get_stats(t->d, &st);
        if (st.refused >= 1)
            break;
        usleep(20000);
    }
    ck_assert_uint_eq(st.refused, 1);
    ck_assert_int_eq(call_meta(soap, port, "ws-ok"), SOAP_OK);
    vws_soap_free(soap);
    ck_assert_int_eq(td_stop(t), 0);
}
END_TEST

struct slow_call {
    int port, rc;
};

static void *
slow_client(void *arg)
{
    struct slow_call *s = arg;
    struct soap *soap = client_new("users/alice/proxy.pem");

    s->rc = soap ? call_meta(soap, s->port, "slow") : -1;
    vws_soap_free(soap);
    return NULL;
}

/* Stop while 3 requests are in flight and one keep-alive connection idles:
 * the 3 complete, new connections are refused at once, the idle one does
 * not delay the stop. */
START_TEST(test_graceful_stop)
{
    static const char *const ov[] = { "daemon.threads=4", "daemon.keepalive_timeout=20", NULL };
    struct td *t = td_start(ov);
    int port = vws_daemon_port(t->d);
    struct slow_call s[3];
    pthread_t th[3];
    struct soap *idle = client_new("users/alice/proxy.pem");
    bool refused = false;
    double t0;

    ck_assert_int_eq(call_meta(idle, port, "ws-idle"), SOAP_OK);
    for (int i = 0; i < 3; i++) {
        s[i] = (struct slow_call){ port, -2 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, slow_client, &s[i]), 0);
    }
    for (int i = 0; i < 200 && atomic_load(&in_op) < 3; i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&in_op), 3);
    t0 = now();
    vws_daemon_stop(t->d);
    for (int i = 0; i < 100 && !refused; i++) {
        int fd = tcp_connect(port);
        if (fd < 0)
            refused = errno == ECONNREFUSED;
        else
            close(fd);
        if (!refused)
            usleep(5000);
    }
    ck_assert_msg(refused, "new connections still accepted after stop");
    ck_assert_int_gt(atomic_load(&in_op), 0);   /* refused while still in flight */
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(s[i].rc == SOAP_OK, "in-flight request %d: %d", i, s[i].rc);
    }
    pthread_join(t->thread, NULL);
    ck_assert_msg(now() - t0 < 2.0, "stop took %.2fs", now() - t0);
    ck_assert_int_eq(t->rc, 0);
    vws_daemon_free(t->d);
    vws_conf_release(topts, &t->conf);
    free(t);
    vws_soap_free(idle);
}
END_TEST

/* 2 workers, 20 clients at once: all served, never more than 2 at a time,
 * never more than 2 waiting in the queue. */
START_TEST(test_back_pressure)
{
    static const char *const ov[] = { "daemon.threads=2", NULL };
    struct td *t = td_start(ov);
    struct load l[20];
    pthread_t th[20];
    struct vws_daemon_stats st;
    int total = 0;

    for (int i = 0; i < 20; i++) {
        l[i] = (struct load){ vws_daemon_port(t->d), 3, "pause", 0, false };
        ck_assert_int_eq(pthread_create(&th[i], NULL, load_client, &l[i]), 0);
    }
    for (int i = 0; i < 20; i++) {
        pthread_join(th[i], NULL);
        total += l[i].ok;
    }
    vws_daemon_get_stats(t->d, &st);
    ck_assert_int_eq(total, 60);
    ck_assert_uint_eq(st.connections, 20);
    ck_assert_uint_eq(st.peak_busy, 2);
    ck_assert_uint_le(st.peak_queued, 2);
    ck_assert_int_le(atomic_load(&peak_in_op), 2);
    ck_assert_int_eq(td_stop(t), 0);
}
END_TEST

/* A request over max_request_bytes is refused; the daemon goes on. */
START_TEST(test_oversized)
{
    static const char *const ov[] = { "daemon.max_request_bytes=16K", NULL };
    struct td *t = td_start(ov);
    int port = vws_daemon_port(t->d);
    struct soap *soap = client_new("users/alice/proxy.pem");
    char *big = vws_malloc(64 * 1024 + 1), *fits = vws_malloc(8 * 1024 + 1);

    memset(big, 'a', 64 * 1024);
    big[64 * 1024] = '\0';
    memset(fits, 'b', 8 * 1024);
    fits[8 * 1024] = '\0';
    ck_assert_int_eq(call_meta(soap, port, fits), SOAP_OK);
    ck_assert_int_ne(call_meta(soap, port, big), SOAP_OK);
    /* a new client on a new connection: the refused request's unsent bytes
     * must not be read as the next request (seen under load) */
    vws_soap_free(soap);
    soap = client_new("users/alice/proxy.pem");
    ck_assert_int_eq(call_meta(soap, port, fits), SOAP_OK);
    ck_assert_int_eq(call_meta(soap, port, "ws-small"), SOAP_OK);
    free(big);
    free(fits);
    vws_soap_free(soap);
    ck_assert_int_eq(td_stop(t), 0);
}
END_TEST

/* A second instance with the same pid file is refused, naming the pid; the
 * file is removed at exit. */
START_TEST(test_pid_file)
{
    char *pid_file = vws_asprintf("%s/daemon.pid", pki);
    char *ov_pid = vws_asprintf("daemon.pid_file=%s", pid_file);
    const char *const ov[] = { ov_pid, NULL };
    char want[64];
    struct td *t = td_start(ov), *t2;
    FILE *f;
    long pid = 0;

    for (int i = 0; i < 200 && pid == 0; i++) {
        if ((f = fopen(pid_file, "r"))) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (!pid)
            usleep(10000);
    }
    ck_assert_int_eq(pid, (long)getpid());
    t2 = td_init(ov);
    ck_assert_ptr_null(t2);
    snprintf(want, sizeof(want), "is locked by pid %ld", (long)getpid());
    ck_assert_msg(strstr(vws_error_message(), want) && strstr(vws_error_message(), pid_file),
                  "message: %s", vws_error_message());
    ck_assert_int_eq(td_stop(t), 0);
    ck_assert_int_eq(access(pid_file, F_OK), -1);
    /* free again: a new instance may start */
    t = td_start(ov);
    ck_assert_int_eq(td_stop(t), 0);
    free(pid_file);
    free(ov_pid);
}
END_TEST

/* vws_daemon_reload(): the hook runs, the ACL is read again. */
START_TEST(test_reload)
{
    char *acl = vws_asprintf("%s/daemon.acl", pki);
    char *ov_acl = vws_asprintf("acl.file=%s", acl);
    const char *const ov[] = { ov_acl, "acl.check_interval_ms=-1", NULL };
    FILE *f = fopen(acl, "w");
    struct vws_acl *a;
    struct td *t;
    unsigned long gen;

    fputs("allow any inspect\n", f);
    fclose(f);
    t = td_start(ov);
    ck_assert_ptr_nonnull(vws_daemon_acl(t->d));
    gen = vws_acl_handle_generation(vws_daemon_acl(t->d));
    vws_daemon_reload(t->d);
    for (int i = 0; i < 200 && atomic_load(&t->reloads) == 0; i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&t->reloads), 1);
    a = vws_acl_handle_get(vws_daemon_acl(t->d));
    vws_acl_free(a);
    ck_assert_uint_eq(vws_acl_handle_generation(vws_daemon_acl(t->d)), gen + 1);
    ck_assert_int_eq(td_stop(t), 0);
    free(acl);
    free(ov_acl);
}
END_TEST

/* Bad values name FILE:LINE (or the command line) and what was expected. */
START_TEST(test_config_errors)
{
    static const struct { const char *text, *expect; } cases[] = {
        { "[daemon]\nthreads = 0\n", "daemon.conf:2:" },
        { "[daemon]\n\nthreads = 100000\n", "daemon.conf:3:" },
        { "[daemon]\nlisten = nonsense\n", "daemon.conf:2: [daemon] listen: bad value 'nonsense'" },
        { "[daemon]\nlog = stderr\nlisten = 127.0.0.1:99999\n",
          "daemon.conf:3: [daemon] listen" },
        { "[daemon]\nlog = relative/file\n", "daemon.conf:2: [daemon] log: bad value" },
        { "[daemon]\nmax_request_bytes = 10\n", "daemon.conf:2:" },
        { "[daemon]\nrecv_timeout = 0\n", "daemon.conf:2:" },
    };
    char *file = vws_asprintf("%s/daemon.conf", pki);

    for (size_t i = 0; i < VWS_N_ELEMENTS(cases); i++) {
        struct tconf c;
        FILE *f = fopen(file, "w");
        int rc;

        fputs(cases[i].text, f);
        fclose(f);
        ck_assert_int_eq(vws_conf_defaults(topts, &c), 0);
        rc = vws_conf_load_file(topts, &c, file, NULL);
        if (rc == 0)
            rc = vws_daemon_config_check(&c.daemon, file, NULL);
        ck_assert_msg(rc == -1, "case %zu accepted", i);
        ck_assert_msg(strstr(vws_error_message(), cases[i].expect),
                      "case %zu: '%s' lacks '%s'", i, vws_error_message(), cases[i].expect);
        if (i == 0 || i == 1)
            ck_assert_ptr_nonnull(strstr(vws_error_message(), "threads"));
        vws_conf_release(topts, &c);
    }
    /* an override */
    {
        static const char *const ov[] = { "daemon.listen=no-port", NULL };
        struct tconf c;

        ck_assert_int_eq(vws_conf_defaults(topts, &c), 0);
        ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "x", "", 0, ov), 0);
        ck_assert_int_eq(vws_daemon_config_check(&c.daemon, NULL, ov), -1);
        ck_assert_ptr_nonnull(strstr(vws_error_message(), "command line: [daemon] listen"));
        vws_conf_release(topts, &c);
    }
    /* a port in use */
    {
        struct td *t = td_start(NULL);
        char *ov_listen = vws_asprintf("daemon.listen=127.0.0.1:%d", vws_daemon_port(t->d));
        const char *const ov[] = { ov_listen, NULL };

        ck_assert_ptr_null(td_init(ov));
        ck_assert_msg(strstr(vws_error_message(), "cannot listen on '127.0.0.1:"),
                      "message: %s", vws_error_message());
        ck_assert_int_eq(td_stop(t), 0);
        free(ov_listen);
    }
    free(file);
}
END_TEST

/* Defaults, the [gsi] paths from the environment, the command line. */
START_TEST(test_defaults_and_args)
{
    static const struct vws_daemon_program prog = { "vws-x", "x", "1", "/etc/vws/x.conf",
                                                    topts, sizeof(struct tconf),
                                                    offsetof(struct tconf, daemon) };
    char *argv[] = { "vws-x", "-f", "-c", "/tmp/a.conf", "-o", "daemon.threads=3",
                     "--option", "gsi.crl_check=yes", "--print-config", NULL };
    char *bad[] = { "vws-x", "--nope", NULL };
    char *extra[] = { "vws-x", "surplus", NULL };
    struct vws_daemon_args a;
    struct tconf c;

    ck_assert_int_eq(vws_conf_defaults(topts, &c), 0);
    setenv("X509_CERT_DIR", "/tmp/certs", 1);
    unsetenv("X509_USER_CERT");
    ck_assert_int_eq(vws_daemon_config_check(&c.daemon, NULL, NULL), 0);
    ck_assert_str_eq(c.daemon.cert_dir, "/tmp/certs");
    ck_assert_str_eq(c.daemon.host_cert, "/etc/grid-security/hostcert.pem");
    ck_assert_int_eq(c.daemon.threads, 8);
    ck_assert_int_eq(c.daemon.max_request_bytes, 8 << 20);
    ck_assert_int_eq(c.daemon.keepalive_requests, 1000);
    ck_assert_int_eq(c.daemon.recv_timeout, 10);
    ck_assert_int_eq(c.daemon.send_timeout, 10);
    ck_assert_int_eq(c.daemon.accept_timeout, 10);
    vws_conf_release(topts, &c);
    unsetenv("X509_CERT_DIR");

    ck_assert_int_eq(vws_daemon_parse_args(&a, 9, argv, &prog), 0);
    ck_assert(a.foreground && a.print_config);
    ck_assert_str_eq(a.config_file, "/tmp/a.conf");
    ck_assert_uint_eq(a.n_overrides, 2);
    ck_assert_str_eq(a.overrides[1], "gsi.crl_check=yes");
    ck_assert_ptr_null(a.overrides[2]);
    vws_daemon_args_release(&a);
    ck_assert_int_eq(vws_daemon_parse_args(&a, 2, bad, &prog), -1);
    vws_daemon_args_release(&a);
    ck_assert_int_eq(vws_daemon_parse_args(&a, 2, extra, &prog), -1);
    vws_daemon_args_release(&a);
}
END_TEST

/* One case per test, so that CK_RUN_CASE=name runs one. */
static void
add_case(Suite *s, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

static Suite *
daemon_suite(void)
{
    Suite *s = suite_create("daemon");

    add_case(s, "keepalive", test_concurrent_keepalive);
    add_case(s, "slow", test_slow_clients);
    add_case(s, "handshake", test_no_handshake);
    add_case(s, "stop", test_graceful_stop);
    add_case(s, "backpressure", test_back_pressure);
    add_case(s, "oversized", test_oversized);
    add_case(s, "pidfile", test_pid_file);
    add_case(s, "reload", test_reload);
    add_case(s, "config", test_config_errors);
    add_case(s, "args", test_defaults_and_args);
    return s;
}

int
main(void)
{
    const char *src = getenv("VWS_SRCDIR");
    char *cmd;
    SRunner *sr;
    int failed;

    snprintf(pki, sizeof(pki), "/tmp/vws-check-daemon-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    cmd = vws_asprintf("%s/scripts/mkpki '%s' >/dev/null", src ? src : "..", pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "check_daemon: scripts/mkpki failed\n");
        free(cmd);
        return EXIT_FAILURE;
    }
    free(cmd);
    sr = srunner_create(daemon_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cmd = vws_asprintf("rm -rf '%s'", pki);
    if (system(cmd) != 0)
        fprintf(stderr, "check_daemon: cannot remove '%s'\n", pki);
    free(cmd);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
