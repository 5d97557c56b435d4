/*
 * admin-hosts.c — vws-admin hosts: the Factory's registry of VMM hosts
 * (the Managers that registered with RegisterHost), for site admins.
 *
 *   vws-admin hosts list            every host: name, state, url, VMs,
 *                                   memory, workspaces, last heartbeat,
 *                                   reason
 *   vws-admin hosts drain NAME      no new leases on NAME (ACL op admin)
 *   vws-admin hosts remove NAME     forget NAME (refused while it is used)
 *
 * The Factory is --factory URL or $VWS_FACTORY; credentials are the Globus
 * ones (X509_USER_PROXY: an admin's VOMS proxy, typically).  Exit status
 * 0, 1 when the Factory refused or cannot be reached, 2 for usage errors.
 */
#define VWS_MODULE "admin"
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "client/admin.h"
#include "gsi.h"
#include "internal.h"

static const char hosts_usage[] =
    "usage: vws-admin hosts [--factory URL] list | drain NAME | remove NAME\n";

static struct soap *
factory_client(void)
{
    struct vws_gsi_config c;
    struct soap *soap = vws_soap_new();

    vws_gsi_config_client(&c);
    if (!soap || vws_gsi_client_init(soap, &c) < 0) {
        fprintf(stderr, "vws-admin: %s\n", vws_error_message());
        vws_soap_free(soap);
        soap = NULL;
    }
    vws_gsi_config_release(&c);
    return soap;
}

static int
call_failed(struct soap *soap, const char *what)
{
    const char **s = soap_faultstring(soap);
    const char **d = soap_faultdetail(soap);

    if (soap->error == SOAP_CLI_FAULT || soap->error == SOAP_SVR_FAULT || soap->error == SOAP_FAULT)
        fprintf(stderr, "vws-admin: %s: %s\n", what, s && *s ? *s : "fault");
    else
        fprintf(stderr, "vws-admin: %s: cannot reach the Factory: %s%s%s\n", what,
                s && *s ? *s : "error", d && *d ? ": " : "", d && *d ? *d : "");
    return 1;
}

static void
header(void)
{
    printf("%-24s  %-8s  %-36s  %3s  %7s  %4s  %-24s  %s\n", "NAME", "STATE", "URL", "VMS",
           "MEMORY", "WS", "LAST HEARTBEAT", "REASON");
}

static void
row(struct soap *soap, const struct fac__HostType *h)
{
    printf("%-24s  %-8s  %-36s  %3u  %7u  %4u  %-24s  %s\n", h->name,
           soap_fac__HostStateType2s(soap, h->state), h->url, h->vms, h->memory,
           h->workspaces, h->lastHeartbeat ? h->lastHeartbeat : "-",
           h->reason ? h->reason : "-");
}

int
vws_admin_hosts(int argc, char **argv)
{
    static const struct option opts[] = {
        { "factory", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *url = getenv("VWS_FACTORY");
    const char *verb, *name = NULL;
    struct soap *soap;
    int opt, rc = 0;

    optind = 0;     /* GNU: start over, from argv[1] */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'f': url = optarg; break;
        case 'h': fputs(hosts_usage, stdout); return 0;
        case ':':
            fprintf(stderr, "vws-admin hosts: option '%s' needs a value\n", argv[optind - 1]);
            fputs(hosts_usage, stderr);
            return 2;
        default:
            if (optopt)
                fprintf(stderr, "vws-admin hosts: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "vws-admin hosts: unknown option '%s'\n", argv[optind - 1]);
            fputs(hosts_usage, stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs(hosts_usage, stderr);
        return 2;
    }
    verb = argv[optind];
    if (strcmp(verb, "list") == 0 && optind + 1 == argc) {
        /* no name */
    } else if ((strcmp(verb, "drain") == 0 || strcmp(verb, "remove") == 0) &&
               optind + 2 == argc && argv[optind + 1][0]) {
        name = argv[optind + 1];
    } else {
        if (strcmp(verb, "list") != 0 && strcmp(verb, "drain") != 0 &&
            strcmp(verb, "remove") != 0)
            fprintf(stderr, "vws-admin hosts: unknown command '%s'\n", verb);
        fputs(hosts_usage, stderr);
        return 2;
    }
    if (!url || !*url) {
        fprintf(stderr, "vws-admin: say which Factory: --factory URL or $VWS_FACTORY\n");
        return 2;
    }
    if (!(soap = factory_client()))
        return 1;
    if (!name) {
        struct _fac__ListHosts req;
        struct _fac__ListHostsResponse resp = { 0 };

        memset(&req, 0, sizeof(req));
        if (soap_call___fac__ListHosts(soap, url, NULL, &req, &resp)) {
            rc = call_failed(soap, "hosts list");
        } else {
            header();
            for (int i = 0; i < resp.__sizehost; i++)
                row(soap, &resp.host_[i]);
        }
    } else {
        struct fac__HostType *h = NULL;
        int err;

        if (strcmp(verb, "drain") == 0) {
            struct _fac__DrainHost req = { .name = (char *)name };
            struct _fac__DrainHostResponse resp = { 0 };
            err = soap_call___fac__DrainHost(soap, url, NULL, &req, &resp);
            h = resp.host;
        } else {
            struct _fac__RemoveHost req = { .name = (char *)name };
            struct _fac__RemoveHostResponse resp = { 0 };
            err = soap_call___fac__RemoveHost(soap, url, NULL, &req, &resp);
            h = resp.host;
        }
        if (err) {
            char what[32];
            snprintf(what, sizeof(what), "hosts %s", verb);
            rc = call_failed(soap, what);
        } else {
            printf("host '%s' %s\n", name, strcmp(verb, "drain") == 0 ? "draining" : "removed");
            if (h) {
                header();
                row(soap, h);
            }
        }
    }
    vws_soap_free(soap);
    return rc;
}
