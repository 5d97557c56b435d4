/*
 * vws — the grid user's command-line client.
 *
 * Credentials come from the Globus environment (X509_USER_PROXY or
 * /tmp/x509up_u<uid>, X509_CERT_DIR, X509_VOMS_DIR): see vws(1).
 * A workspace is named by its EPR file, written by 'register' and 'clone'.
 * Subcommands are rows of one table.  Today they talk to the Repository;
 * the Factory, Manager and agreement commands come with those services.
 */
#define VWS_MODULE "vws"
#include <config.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "document.h"
#include "gsi.h"
#include "epr.h"
#include "internal.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
};

static const char *repository_url;   /* --repository, $VWS_REPOSITORY */
static const char *epr_out;          /* -o FILE */

/* ---- plumbing ---- */

static struct soap *
connect_client(void)
{
    struct vws_gsi_config c;
    struct soap *soap = vws_soap_new();

    vws_gsi_config_client(&c);
    if (!soap || vws_gsi_client_init(soap, &c) < 0) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        vws_gsi_config_release(&c);
        vws_soap_free(soap);
        return NULL;
    }
    vws_gsi_config_release(&c);
    return soap;
}

/* The fault or transport error of the last call, for humans. */
static int
failed(struct soap *soap, const char *what)
{
    const char **s = soap_faultstring(soap);
    const char **d = soap_faultdetail(soap);

    if (soap->error == SOAP_CLI_FAULT || soap->error == SOAP_SVR_FAULT || soap->error == SOAP_FAULT)
        fprintf(stderr, "vws: %s: %s\n", what, s && *s ? *s : "fault");
    else
        fprintf(stderr, "vws: %s: cannot talk to the service: %s%s%s\n", what,
                s && *s ? *s : "error", d && *d ? ": " : "", d && *d ? *d : "");
    return 1;
}

static void
with_key(struct soap *soap, const char *key)
{
    soap->header = soap_new_SOAP_ENV__Header(soap, 1);
    soap->header->vws__WorkspaceKey = soap_strdup(soap, key);
}

static int
need_repository(void)
{
    if (!repository_url)
        repository_url = getenv("VWS_REPOSITORY");
    if (!repository_url) {
        fprintf(stderr, "vws: say which Repository: --repository URL or $VWS_REPOSITORY\n");
        return -1;
    }
    return 0;
}

static int
load_epr(struct vws_epr *epr, const char *path)
{
    if (vws_epr_load(epr, path) < 0) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        return -1;
    }
    return 0;
}

static int
save_epr(const char *address, const char *key)
{
    struct vws_epr epr = { (char *)address, "" };

    vws_strlcpy(epr.key, key, sizeof(epr.key));
    if (vws_epr_save(&epr, epr_out ? epr_out : "-") < 0) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        return 1;
    }
    if (epr_out)
        printf("workspace %s: EPR in %s\n", key, epr_out);
    return 0;
}

/* Strip the element around a literal property: "<vws:state ...>x</vws:state>"
 * -> "x"; other XML is shown as it is. */
static void
print_value(const char *name, const char *xml)
{
    const char *open = strchr(xml, '>');
    const char *close = strrchr(xml, '<');

    if (open && close && close > open && !memchr(open + 1, '<', (size_t)(close - open - 1)))
        printf("%-16s %.*s\n", name, (int)(close - open - 1), open + 1);
    else if (strstr(xml, "xsi:nil=\"true\""))
        printf("%-16s never\n", name);
    else
        printf("%-16s %s\n", name, xml);
}

/* ---- commands ---- */

static int
cmd_register(int argc, char **argv)
{
    struct vws_doc ws = VWS_DOC_INIT, dep = VWS_DOC_INIT;
    struct _repo__Register req = { 0 };
    struct _repo__RegisterResponse resp = { 0 };
    struct soap *soap = NULL;
    int rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: vws register DESCRIPTION.xml [DEPLOYMENT.xml]\n");
        return 2;
    }
    if (need_repository() < 0)
        return 2;
    /* validated here with the same rules the service applies */
    if (vws_doc_load(&ws, argv[1], VWS_DOC_WORKSPACE) < 0 ||
        (argc == 3 && vws_doc_load(&dep, argv[2], VWS_DOC_DEPLOYMENT) < 0)) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        goto out;
    }
    if (!(soap = connect_client()))
        goto out;
    req.vws__virtualWorkspace = ws.u.workspace;
    req.vws__deploymentRequest = dep.u.deployment;
    if (soap_call___repo__Register(soap, repository_url, NULL, &req, &resp) != SOAP_OK) {
        rc = failed(soap, "register");
        goto out;
    }
    rc = save_epr(resp.workspace.Address, resp.key);
 out:
    vws_soap_free(soap);
    vws_doc_release(&ws);
    vws_doc_release(&dep);
    return rc;
}

static int
cmd_status(int argc, char **argv)
{
    static char *names[] = { "vws:key", "vws:owner", "vws:state", "vws:location", "vws:host",
                             "vws:creationTime", "wsrl2:TerminationTime", "vws:lastModified",
                             "vws:faultReason" };
    struct _wsrp2__GetMultipleResourceProperties req = { 0 };
    struct _wsrp2__GetMultipleResourcePropertiesResponse resp = { 0 };
    struct vws_epr epr;
    struct soap *soap;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: vws status EPR-FILE\n");
        return 2;
    }
    if (load_epr(&epr, argv[1]) < 0 || !(soap = connect_client()))
        return 1;
    with_key(soap, epr.key);
    req.__sizeResourceProperty = (int)VWS_N_ELEMENTS(names);
    req.ResourceProperty = names;
    if (soap_call___repo__GetMultipleResourceProperties(soap, epr.address, NULL, &req, &resp)) {
        rc = failed(soap, "status");
    } else {
        for (int i = 0; i < resp.__size; i++) {
            const char *x = resp.__any[i];
            const char *colon = strchr(x, ':');
            const char *end = colon ? strpbrk(colon, " >/") : NULL;
            char name[40] = "";
            if (colon && end)
                snprintf(name, sizeof(name), "%.*s", (int)(end - colon - 1), colon + 1);
            print_value(name, x);
        }
    }
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_query(int argc, char **argv)
{
    struct _wsrp2__QueryResourceProperties req = { 0 };
    struct _wsrp2__QueryResourcePropertiesResponse resp = { 0 };
    struct vws_epr epr;
    struct soap *soap;
    int rc = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: vws query EPR-FILE XPATH\n");
        return 2;
    }
    if (load_epr(&epr, argv[1]) < 0 || !(soap = connect_client()))
        return 1;
    with_key(soap, epr.key);
    req.QueryExpression = soap_new_wsrp2__QueryExpressionType(soap, 1);
    req.QueryExpression->Dialect = "http://www.w3.org/TR/1999/REC-xpath-19991116";
    req.QueryExpression->__item = argv[2];
    if (soap_call___repo__QueryResourceProperties(soap, epr.address, NULL, &req, &resp))
        rc = failed(soap, "query");
    else
        for (int i = 0; i < resp.__size; i++)
            printf("%s\n", resp.__any[i]);
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_destroy(int argc, char **argv)
{
    struct _wsrl2__Destroy req;
    struct _wsrl2__DestroyResponse resp;
    struct vws_epr epr;
    struct soap *soap;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: vws destroy EPR-FILE\n");
        return 2;
    }
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    if (load_epr(&epr, argv[1]) < 0 || !(soap = connect_client()))
        return 1;
    with_key(soap, epr.key);
    if (soap_call___repo__Destroy(soap, epr.address, NULL, &req, &resp))
        rc = failed(soap, "destroy");
    else
        printf("workspace %s destroyed\n", epr.key);
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_set_termination(int argc, char **argv)
{
    struct _wsrl2__SetTerminationTime req = { 0 };
    struct _wsrl2__SetTerminationTimeResponse resp = { 0 };
    struct vws_epr epr;
    struct soap *soap;
    int rc = 0;

    if (argc != 3 || strcmp(argv[2], "never") == 0) {
        fprintf(stderr, "usage: vws set-termination EPR-FILE (DATETIME | +DURATION)\n"
                        "  e.g. 2026-12-01T00:00:00Z or +PT2H\n");
        return 2;
    }
    if (load_epr(&epr, argv[1]) < 0 || !(soap = connect_client()))
        return 1;
    with_key(soap, epr.key);
    if (argv[2][0] == '+') {
        req.__union_SetTerminationTime =
            SOAP_UNION__wsrl2__union_SetTerminationTime_RequestedLifetimeDuration;
        req.union_SetTerminationTime.RequestedLifetimeDuration = argv[2] + 1;
    } else {
        req.__union_SetTerminationTime =
            SOAP_UNION__wsrl2__union_SetTerminationTime_RequestedTerminationTime;
        req.union_SetTerminationTime.RequestedTerminationTime = argv[2];
    }
    if (soap_call___repo__SetTerminationTime(soap, epr.address, NULL, &req, &resp))
        rc = failed(soap, "set-termination");
    else
        printf("termination time %s (now %s)\n",
               resp.NewTerminationTime ? resp.NewTerminationTime : "never", resp.CurrentTime);
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_clone(int argc, char **argv)
{
    struct _repo__Clone req;
    struct _repo__CloneResponse resp = { 0 };
    struct vws_epr epr;
    struct soap *soap;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: vws clone EPR-FILE [-o NEW-EPR-FILE]\n");
        return 2;
    }
    memset(&req, 0, sizeof(req));
    if (load_epr(&epr, argv[1]) < 0 || !(soap = connect_client()))
        return 1;
    with_key(soap, epr.key);
    if (soap_call___repo__Clone(soap, epr.address, NULL, &req, &resp))
        rc = failed(soap, "clone");
    else
        rc = save_epr(resp.workspace.Address, resp.key);
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_list(int argc, char **argv)
{
    struct _repo__Select req = { 0 };
    struct _repo__SelectResponse resp = { 0 };
    struct soap *soap;
    int rc = 0;

    if (argc != 1) {
        fprintf(stderr, "usage: vws list\n");
        return 2;
    }
    if (need_repository() < 0 || !(soap = connect_client()))
        return 1;
    if (soap_call___repo__Select(soap, repository_url, NULL, &req, &resp)) {
        rc = failed(soap, "list");
    } else {
        static const char *const states[] = { "shutdown", "paused", "running", "corrupted" };
        static const char *const locs[] = { "unstaged", "staging", "staged", "unstaging" };
        printf("%-36s  %-9s  %-9s  %s\n", "KEY", "STATE", "WHERE", "LAST MODIFIED");
        for (int i = 0; i < resp.__sizeentry; i++)
            printf("%-36s  %-9s  %-9s  %s\n", resp.entry[i].key,
                   states[resp.entry[i].state % 4], locs[resp.entry[i].location % 4],
                   resp.entry[i].lastModified);
    }
    vws_soap_free(soap);
    return rc;
}

static int
cmd_images(int argc, char **argv)
{
    struct _repo__ListImages req;
    struct _repo__ListImagesResponse resp = { 0 };
    struct soap *soap;
    int rc = 0;

    memset(&req, 0, sizeof(req));
    if (argc != 1) {
        fprintf(stderr, "usage: vws images\n");
        return 2;
    }
    if (need_repository() < 0 || !(soap = connect_client()))
        return 1;
    if (soap_call___repo__ListImages(soap, repository_url, NULL, &req, &resp)) {
        rc = failed(soap, "images");
    } else {
        static const char *const formats[] = { "raw", "qcow2", "kernel+initrd" };
        for (int i = 0; i < resp.__sizeimageTemplate; i++) {
            struct vws__ImageTemplateType *t = &resp.vws__imageTemplate[i];
            printf("%-24s %-14s %12llu  %s\n", t->name, formats[t->format % 3],
                   (unsigned long long)t->size, t->location);
        }
    }
    vws_soap_free(soap);
    return rc;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    { "register", cmd_register, "register DESCRIPTION.xml [DEPLOYMENT.xml]   (Repository)" },
    { "status", cmd_status, "status EPR-FILE" },
    { "query", cmd_query, "query EPR-FILE XPATH" },
    { "set-termination", cmd_set_termination, "set-termination EPR-FILE (DATETIME | +DURATION)" },
    { "clone", cmd_clone, "clone EPR-FILE" },
    { "destroy", cmd_destroy, "destroy EPR-FILE" },
    { "list", cmd_list, "list" },
    { "images", cmd_images, "images" },
    { "help", cmd_help, "help" },
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: vws [--repository URL] [-o EPR-FILE] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < VWS_N_ELEMENTS(commands); i++)
        fprintf(out, "   %s\n", commands[i].synopsis);
    fprintf(out, "\nCredentials: $X509_USER_PROXY (or /tmp/x509up_u$UID), $X509_CERT_DIR.\n"
                 "See vws(1).\n");
}

static int
cmd_help(int argc, char **argv)
{
    usage(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "repository", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int opt;

    signal(SIGPIPE, SIG_IGN);
    vws_log_set_ident("vws");
    vws_log_set_level(VWS_LOG_ERROR);
    while ((opt = getopt_long(argc, argv, "+r:o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': repository_url = optarg; break;
        case 'o': epr_out = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("vws %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < VWS_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].name, argv[optind]) == 0) {
            int n = argc - optind;
            char **args = argv + optind;
            /* -o may also follow the command */
            for (int j = 1; j + 1 < n; j++) {
                if (strcmp(args[j], "-o") == 0) {
                    epr_out = args[j + 1];
                    memmove(&args[j], &args[j + 2], (size_t)(n - j - 2) * sizeof(char *));
                    n -= 2;
                    break;
                }
            }
            return commands[i].run(n, args);
        }
    }
    fprintf(stderr, "vws: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
}
