/*
 * gsiservice.c — see gsiservice.h.
 */
#define VWS_MODULE "testsvc"
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
#include "identity.h"
#include "gsiservice.h"
#include "internal.h"

struct gsiservice {
    struct soap *soap;
    const struct vws_gsi_config *config;
    pthread_t thread;
    int threaded;
    int port;
    int max_connections;
    volatile int stop;
    pthread_mutex_t lock;
    char refusal[1024];
};

static int
whoami_get(struct soap *soap)
{
    const struct vws_identity *id = soap->user;
    struct vws_buf b = VWS_BUF_INIT;
    int rc;

    if (strcmp(soap->path, "/whoami") != 0)
        return 404;
    vws_buf_addf(&b, "dn: %s\nissuer: %s\nproxy: %s\nproxy-depth: %d\nhost: %s\n",
                 id->dn, id->issuer, vws_proxy_kind_name(id->proxy), id->proxy_depth,
                 id->is_host ? "yes" : "no");
    if (id->vo)
        vws_buf_addf(&b, "vo: %s\n", id->vo);
    for (size_t i = 0; i < id->n_fqans; i++)
        vws_buf_addf(&b, "fqan: %s\n", id->fqans[i]);
    soap->http_content = "text/plain";
    if (soap_response(soap, SOAP_FILE) || soap_send_raw(soap, b.s, b.len) ||
        soap_end_send(soap))
        rc = soap->error;
    else
        rc = SOAP_OK;
    vws_buf_release(&b);
    return rc;   /* the connection stays open for keep-alive */
}

int
__fac__Create(struct soap *soap, struct _fac__Create *req, struct _fac__CreateResponse *resp)
{
    const struct vws_identity *id = soap->user;

    if (vws_gsi_check_proxy(id, true, "create workspaces") < 0)
        return soap_sender_fault(soap, vws_error_message(), NULL);
    resp->agreement.Address = soap_strdup(soap, "https://localhost/vws/agreement");
    resp->agreementKey = soap_strdup(soap, "6f1c2a9e-3b4d-4e5f-8a6b-7c8d9e0f1a2b");
    resp->__sizeworkspace = 1;
    resp->workspace = soap_new_wsa5__EndpointReferenceType(soap, 1);
    resp->workspace->Address = soap_strdup(soap, "https://localhost/vws/repository");
    resp->__sizekey = 1;
    resp->key = soap_malloc(soap, sizeof(char *));
    resp->key[0] = resp->agreementKey;
    return SOAP_OK;
}

struct gsiservice *
gsiservice_new(const struct vws_gsi_config *c, int port, int max_connections)
{
    struct gsiservice *s = vws_calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    pthread_mutex_init(&s->lock, NULL);
    s->config = c;
    s->max_connections = max_connections;
    if (!(s->soap = vws_soap_new()) || vws_gsi_server_init(s->soap, c) < 0)
        goto error;
    s->soap->accept_timeout = 30;
    s->soap->recv_timeout = 10;
    s->soap->send_timeout = 10;
    s->soap->bind_flags = SO_REUSEADDR;
    s->soap->fget = whoami_get;
    soap_set_mode(s->soap, SOAP_IO_KEEPALIVE);
    if (!soap_valid_socket(soap_bind(s->soap, "127.0.0.1", port, 16))) {
        vws_report_error(VWS_ERR_IO, "cannot bind 127.0.0.1:%d", port);
        goto error;
    }
    getsockname(s->soap->master, (struct sockaddr *)&sin, &len);
    s->port = ntohs(sin.sin_port);
    return s;

 error:
    vws_soap_free(s->soap);
    free(s);
    return NULL;
}

void
gsiservice_run(struct gsiservice *s)
{
    for (int i = 0; i < s->max_connections && !s->stop; i++) {
        struct vws_identity id = VWS_IDENTITY_INIT;

        if (!soap_valid_socket(soap_accept(s->soap)))
            break;
        if (s->stop)
            break;
        if (vws_gsi_accept(s->soap, s->config, &id) < 0) {
            pthread_mutex_lock(&s->lock);
            vws_strlcpy(s->refusal, vws_error_message(), sizeof(s->refusal));
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        s->soap->user = &id;
        soap_serve(s->soap);
        s->soap->user = NULL;
        soap_destroy(s->soap);
        soap_end(s->soap);
        vws_identity_release(&id);
    }
}

static void *
run_thread(void *arg)
{
    gsiservice_run(arg);
    return NULL;
}

struct gsiservice *
gsiservice_start(const struct vws_gsi_config *c, int port, int max_connections)
{
    struct gsiservice *s = gsiservice_new(c, port, max_connections);

    if (!s)
        return NULL;
    if (pthread_create(&s->thread, NULL, run_thread, s) != 0) {
        vws_soap_free(s->soap);
        free(s);
        return NULL;
    }
    s->threaded = 1;
    return s;
}

int
gsiservice_port(struct gsiservice *s)
{
    return s->port;
}

void
gsiservice_last_refusal(struct gsiservice *s, char *buf, size_t size)
{
    pthread_mutex_lock(&s->lock);
    vws_strlcpy(buf, s->refusal, size);
    pthread_mutex_unlock(&s->lock);
}

void
gsiservice_clear_refusal(struct gsiservice *s)
{
    pthread_mutex_lock(&s->lock);
    s->refusal[0] = '\0';
    pthread_mutex_unlock(&s->lock);
}

void
gsiservice_stop(struct gsiservice *s)
{
    if (s->threaded) {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        int fd;

        s->stop = 1;
        sin.sin_port = htons((uint16_t)s->port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0) {
            (void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
            close(fd);
        }
        pthread_join(s->thread, NULL);
    }
    vws_soap_free(s->soap);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
