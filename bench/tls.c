/*
 * bench/tls — what GSI identity costs.  Side by side in one run, against a
 * server on 127.0.0.1:
 *   plain  TLS, client authenticated by a plain end-entity certificate, the
 *          caller is the certificate subject;
 *   gsi    TLS via common/gsi, client authenticated by a VOMS proxy (proxy
 *          chain + attribute certificate), the caller is the end-entity DN
 *          plus verified FQANs (vws_gsi_accept).
 * For each: full handshakes per second (a new connection per request) and
 * requests per second on one keep-alive connection (gSOAP servers close a
 * keep-alive connection after 100 requests, so this includes reconnects).
 * The GSI handshakes are measured twice: with the same proxy (its VOMS
 * attributes cached after the first verification) and cold (cache cleared
 * before each).  Prints the figures and the ratios; the target is that GSI
 * costs under 10 % on keep-alive requests.
 *
 *   bench/tls [-n HANDSHAKES] [-r REQUESTS]      (needs scripts/mkpki)
 */
#define VWS_MODULE "bench"
#include <config.h>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
#include "identity.h"
#include "voms.h"
#include "internal.h"

static char pki[128];

struct server {
    struct soap *soap;
    struct vws_gsi_config cfg;
    int gsi;
    int port;
    pthread_t thread;
    volatile int stop;
};

static int
answer_get(struct soap *soap)
{
    static const char body[] = "ok\n";

    soap->http_content = "text/plain";
    if (soap_response(soap, SOAP_FILE) || soap_send_raw(soap, body, sizeof(body) - 1) ||
        soap_end_send(soap))
        return soap->error;
    return SOAP_OK;
}

static void *
serve(void *arg)
{
    struct server *s = arg;

    while (!s->stop) {
        struct vws_identity id = VWS_IDENTITY_INIT;

        if (!soap_valid_socket(soap_accept(s->soap)) || s->stop)
            break;
        if (s->gsi) {
            if (vws_gsi_accept(s->soap, &s->cfg, &id) < 0)
                continue;
        } else {
            X509 *peer;
            char dn[512];
            if (soap_ssl_accept(s->soap) != SOAP_OK) {
                soap_closesock(s->soap);
                continue;
            }
            /* the plain server's notion of the caller: the subject */
            if ((peer = SSL_get1_peer_certificate(s->soap->ssl))) {
                X509_NAME_oneline(X509_get_subject_name(peer), dn, sizeof(dn));
                id.dn = vws_strdup(dn);
                X509_free(peer);
            }
        }
        soap_serve(s->soap);
        soap_destroy(s->soap);
        soap_end(s->soap);
        vws_identity_release(&id);
    }
    return NULL;
}

static char *
P(const char *rel)
{
    return vws_asprintf("%s/%s", pki, rel);
}

static struct server *
server_start(int gsi)
{
    struct server *s = vws_calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    s->gsi = gsi;
    s->cfg.cert_dir = P("certificates");
    s->cfg.vomsdir = P("vomsdir");
    s->cfg.cert_file = P("hosts/localhost/hostcert.pem");
    s->cfg.key_file = P("hosts/localhost/hostkey.pem");
    s->soap = vws_soap_new();
    if (gsi) {
        if (vws_gsi_server_init(s->soap, &s->cfg) < 0)
            goto fail;
    } else {
        /* plain: the same files, no proxy support, no VOMS */
        if (soap_ssl_server_context(s->soap, SOAP_SSL_REQUIRE_CLIENT_AUTHENTICATION |
                                    SOAP_SSL_NO_DEFAULT_CA_PATH | SOAP_TLSv1_2 | SOAP_TLSv1_3,
                                    NULL, NULL, NULL, s->cfg.cert_dir, NULL, NULL, NULL) ||
            SSL_CTX_use_certificate_chain_file(s->soap->ctx, s->cfg.cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(s->soap->ctx, s->cfg.key_file, SSL_FILETYPE_PEM) != 1) {
            vws_report_error(VWS_ERR_CONFIG, "plain TLS server set-up failed");
            goto fail;
        }
    }
    s->soap->fget = answer_get;
    s->soap->bind_flags = SO_REUSEADDR;
    soap_set_mode(s->soap, SOAP_IO_KEEPALIVE);
    if (!soap_valid_socket(soap_bind(s->soap, "127.0.0.1", 0, 64)))
        goto fail;
    getsockname(s->soap->master, (struct sockaddr *)&sin, &len);
    s->port = ntohs(sin.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
    return s;
 fail:
    fprintf(stderr, "bench/tls: server: %s\n", vws_error_message());
    exit(1);
}

static void
server_stop(struct server *s)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    s->stop = 1;
    sin.sin_port = htons((uint16_t)s->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    close(fd);
    pthread_join(s->thread, NULL);
    vws_soap_free(s->soap);
    vws_gsi_config_release(&s->cfg);
    free(s);
}

static struct soap *
client_new(int gsi, int keepalive)
{
    struct vws_gsi_config c = VWS_GSI_CONFIG_INIT;
    struct soap *soap = vws_soap_new();

    c.cert_dir = P("certificates");
    c.vomsdir = P("vomsdir");
    c.cert_file = P(gsi ? "users/alice/voms-admin.pem" : "users/alice/usercert.pem");
    c.key_file = P(gsi ? "users/alice/voms-admin.pem" : "users/alice/userkey.pem");
    if (vws_gsi_client_init(soap, &c) < 0) {
        fprintf(stderr, "bench/tls: client: %s\n", vws_error_message());
        exit(1);
    }
    if (keepalive)
        soap_set_mode(soap, SOAP_IO_KEEPALIVE);
    vws_gsi_config_release(&c);
    return soap;
}

static int
request(struct soap *soap, int port)
{
    char url[64];
    size_t len;

    snprintf(url, sizeof(url), "https://localhost:%d/", port);
    if (soap_GET(soap, url, NULL) != SOAP_OK || soap_begin_recv(soap) != SOAP_OK ||
        !soap_http_get_body(soap, &len) ||
        soap_end_recv(soap) != SOAP_OK)
        return -1;
    return 0;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Full handshakes per second: N connections, one request each.  COLD:
 * forget verified VOMS attributes before each (a new proxy every time). */
static double
handshakes(int gsi, int port, int n, int cold)
{
    double t0 = now();

    for (int i = 0; i < n; i++) {
        if (cold)
            vws_voms_cache_clear();
        struct soap *c = client_new(gsi, 0);
        if (request(c, port) < 0) {
            fprintf(stderr, "bench/tls: request failed: %s\n", *soap_faultstring(c));
            exit(1);
        }
        soap_closesock(c);
        vws_soap_free(c);
    }
    return n / (now() - t0);
}

/* Requests per second on one keep-alive connection. */
static double
keepalive(int gsi, int port, int n)
{
    struct soap *c = client_new(gsi, 1);
    double t0;

    if (request(c, port) < 0)   /* the handshake, not timed */
        exit(1);
    t0 = now();
    for (int i = 0; i < n; i++)
        if (request(c, port) < 0) {
            fprintf(stderr, "bench/tls: keep-alive request failed\n");
            exit(1);
        }
    t0 = n / (now() - t0);
    soap_closesock(c);
    vws_soap_free(c);
    return t0;
}

int
main(int argc, char **argv)
{
    int n = 200, r = 5000, opt, rounds = 5;
    double hs[2] = { 0 }, ka[2] = { 0 }, cold = 0;
    const char *src = getenv("VWS_SRCDIR");
    char *cmd;

    while ((opt = getopt(argc, argv, "n:r:")) != -1) {
        int64_t v;
        if (vws_parse_i64(optarg, &v) < 0 || v < 1 || v > 1000000) {
            fprintf(stderr, "usage: bench/tls [-n HANDSHAKES] [-r REQUESTS]\n");
            return 2;
        }
        if (opt == 'n')
            n = (int)v;
        else
            r = (int)v;
    }
    signal(SIGPIPE, SIG_IGN);
    vws_log_set_level(VWS_LOG_ERROR);
    snprintf(pki, sizeof(pki), "/tmp/vws-bench-tls-XXXXXX");
    if (!mkdtemp(pki))
        return 1;
    cmd = vws_asprintf("%s/scripts/mkpki '%s' >/dev/null", src ? src : ".", pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench/tls: scripts/mkpki failed (set VWS_SRCDIR)\n");
        return 1;
    }
    free(cmd);

    /* alternate the two modes so machine noise hits both alike */
    for (int round = 0; round < rounds; round++) {
        for (int gsi = 0; gsi < 2; gsi++) {
            struct server *s = server_start(gsi);
            hs[gsi] += handshakes(gsi, s->port, n, 0) / rounds;
            ka[gsi] += keepalive(gsi, s->port, r) / rounds;
            if (gsi)
                cold += handshakes(gsi, s->port, n / 4 + 1, 1) / rounds;
            server_stop(s);
        }
    }
    printf("bench/tls: %d handshakes and %d keep-alive requests per mode, %d rounds, 127.0.0.1\n",
           n, r, rounds);
    printf("%-34s %14s %14s\n", "", "handshakes/s", "requests/s");
    printf("%-34s %14.1f %14.1f\n", "plain TLS, plain client cert", hs[0], ka[0]);
    printf("%-34s %14.1f %14.1f\n", "GSI: VOMS proxy chain + identity", hs[1], ka[1]);
    printf("%-34s %14.1f %14s\n", "GSI, VOMS verified afresh each time", cold, "-");
    printf("GSI cost: handshakes %+.1f %% (%+.1f %% with a new VOMS proxy each time), "
           "keep-alive requests %+.1f %% (target: under 10 %%)\n",
           100.0 * (hs[0] - hs[1]) / hs[0], 100.0 * (hs[0] - cold) / hs[0],
           100.0 * (ka[0] - ka[1]) / ka[0]);
    cmd = vws_asprintf("rm -rf '%s'", pki);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", pki);
    free(cmd);
    return 0;
}
