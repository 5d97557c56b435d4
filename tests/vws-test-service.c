/*
 * vws-test-service — the GSI test service as a program, for shell tests and
 * for trying credentials by hand:
 *   vws-test-service [--port N] [--crl] [--connections N]
 * Host credentials and trust come from the Globus environment
 * (X509_USER_CERT/KEY, X509_CERT_DIR, X509_VOMS_DIR).  Prints
 * "listening on 127.0.0.1:PORT" once ready; logs each refusal with why.
 */
#define VWS_MODULE "testsvc"
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gsi.h"
#include "gsiservice.h"
#include "internal.h"

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "crl", no_argument, NULL, 'c' },
        { "connections", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 }
    };
    struct vws_gsi_config c;
    struct gsiservice *s;
    int64_t port = 0, conns = 1000;
    int opt, crl = 0;

    vws_log_set_ident("vws-test-service");
    while ((opt = getopt_long(argc, argv, "p:cn:", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            if (vws_parse_i64(optarg, &port) < 0 || port < 0 || port > 65535) {
                fprintf(stderr, "vws-test-service: bad port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'c': crl = 1; break;
        case 'n':
            if (vws_parse_i64(optarg, &conns) < 0 || conns < 1) {
                fprintf(stderr, "vws-test-service: bad count '%s'\n", optarg);
                return 2;
            }
            break;
        default:
            fprintf(stderr, "usage: vws-test-service [--port N] [--crl] [--connections N]\n");
            return 2;
        }
    }
    vws_gsi_config_service(&c);
    c.crl_check = crl;
    if (!(s = gsiservice_new(&c, (int)port, (int)conns))) {
        fprintf(stderr, "vws-test-service: %s\n", vws_error_message());
        vws_gsi_config_release(&c);
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", gsiservice_port(s));
    fflush(stdout);
    gsiservice_run(s);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
    return 0;
}
