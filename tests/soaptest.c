/*
 * soaptest.c — see soaptest.h.
 */
#define VWS_MODULE "test"
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "soaptest.h"
#include "internal.h"

struct soaptest_server {
    struct soap *soap;
    pthread_t thread;
    int port;
    int max_requests;
    volatile int stop;
    char url[256];
};

static void *
serve(void *arg)
{
    struct soaptest_server *s = arg;

    for (int i = 0; i < s->max_requests && !s->stop; i++) {
        SOAP_SOCKET fd = soap_accept(s->soap);
        if (!soap_valid_socket(fd))
            break;
        if (s->stop) {
            soap_closesock(s->soap);
            break;
        }
        soap_serve(s->soap);
        soap_destroy(s->soap);
        soap_end(s->soap);
    }
    return NULL;
}

struct soaptest_server *
soaptest_start(int max_requests)
{
    struct soaptest_server *s = vws_calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    s->soap = vws_soap_new();
    ck_assert_ptr_nonnull(s->soap);
    s->soap->accept_timeout = 10;
    s->soap->recv_timeout = 5;
    s->soap->send_timeout = 5;
    s->soap->bind_flags = SO_REUSEADDR;
    ck_assert_msg(soap_valid_socket(soap_bind(s->soap, "127.0.0.1", 0, 16)),
                  "cannot bind 127.0.0.1");
    ck_assert_int_eq(getsockname(s->soap->master, (struct sockaddr *)&sin, &len), 0);
    s->port = ntohs(sin.sin_port);
    s->max_requests = max_requests;
    ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
    return s;
}

int
soaptest_port(struct soaptest_server *s)
{
    return s->port;
}

const char *
soaptest_url(struct soaptest_server *s, const char *path)
{
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/%s", s->port, path);
    return s->url;
}

void
soaptest_stop(struct soaptest_server *s)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd;

    s->stop = 1;
    /* wake the accept() with a connection that sends nothing */
    sin.sin_port = htons((uint16_t)s->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0) {
        (void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
        close(fd);
    }
    pthread_join(s->thread, NULL);
    vws_soap_free(s->soap);
    free(s);
}
