/*
 * vws-test-daemon — the smallest daemon on common/daemon: the [daemon],
 * [gsi] and [acl] sections, the command line, daemon mode, signals, and
 * GET /whoami answering the caller's identity as text.  Used by
 * tests/daemon.sh; a template for the real daemons' main().
 */
#define VWS_MODULE "testd"
#include <config.h>

#include <stddef.h>
#include <string.h>

#include "soapH.h"
#include "daemon.h"
#include "identity.h"
#include "internal.h"

struct testd_conf {
    struct vws_daemon_config daemon;
    char *greeting;
};

static const struct vws_conf_option testd_options[] = {
    VWS_DAEMON_CONF_OPTIONS(struct testd_conf, daemon, "127.0.0.1:8443"),
    VWS_CONF_STRING_OPT("test", "greeting", struct testd_conf, greeting, "hello",
                        "first line of every /whoami answer"),
    VWS_CONF_END
};

static int
whoami_get(struct soap *soap)
{
    const struct vws_identity *id = vws_daemon_caller(soap);
    const struct testd_conf *c = vws_daemon_service_data(soap);
    struct vws_buf b = VWS_BUF_INIT;
    int rc = SOAP_OK;

    if (strcmp(soap->path, "/whoami") != 0)
        return 404;
    vws_buf_addf(&b, "%s\ndn: %s\nproxy: %s\n", c->greeting, id->dn,
                 vws_proxy_kind_name(id->proxy));
    for (size_t i = 0; i < id->n_fqans; i++)
        vws_buf_addf(&b, "fqan: %s\n", id->fqans[i]);
    soap->http_content = "text/plain";
    if (soap_response(soap, SOAP_FILE) || soap_send_raw(soap, b.s, b.len) ||
        soap_end_send(soap))
        rc = soap->error;
    vws_buf_release(&b);
    return rc;
}

static int
testd_start(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    (void)d;
    service->data = config;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct vws_daemon_program program = {
        .name = "vws-test-daemon",
        .summary = "A test daemon: GET /whoami over GSI.",
        .version = PACKAGE_VERSION,
        .default_config = NULL,
        .options = testd_options,
        .config_size = sizeof(struct testd_conf),
        .daemon_offset = offsetof(struct testd_conf, daemon),
    };
    static const struct vws_daemon_hooks hooks = { testd_start, NULL };
    struct vws_daemon_service service = { soap_serve, whoami_get, NULL };

    return vws_daemon_main(&program, &hooks, &service, argc, argv);
}
