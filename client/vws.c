/*
 * vws — the grid user's command-line client.
 *
 * Credentials come from the Globus environment (X509_USER_PROXY or
 * /tmp/x509up_u<uid>, X509_CERT_DIR, X509_VOMS_DIR): see vws(1).
 * A workspace is named by its EPR file, written by 'register' and 'clone'.
 * Subcommands are rows of one table.  They talk to the Repository (the
 * EPR's address) or to a Manager (--manager, $VWS_MANAGER, with the EPR's
 * key); the Factory and agreement commands come with those services.
 * Results print as "name value" lines, or with --json as one JSON object
 * (struct out below does both).
 */
#define VWS_MODULE "vws"
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
static const char *manager_url;      /* --manager, $VWS_MANAGER */
static const char *epr_out;          /* -o FILE */
static bool json;                    /* --json */

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
need_manager(void)
{
    if (!manager_url)
        manager_url = getenv("VWS_MANAGER");
    if (!manager_url || !*manager_url) {
        fprintf(stderr, "vws: say which Manager: --manager URL or $VWS_MANAGER\n");
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

/* ---- output: "name value" lines for people, or one JSON object ---- */

/* One object being printed.  Fields go out as they are added: as lines
 * "name             value" or as members of a one-line JSON object. */
struct out {
    int fields;          /* members so far in the innermost JSON object or array */
    int depth;           /* nesting, for the separators */
    int counts[8];
};

static void
json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\b': fputs("\\b", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                printf("\\u%04x", *p);
            else
                putchar(*p);
        }
    }
    putchar('"');
}

/* The separator and the member name of the next JSON value. */
static void
json_member(struct out *o, const char *name)
{
    if (o->fields++)
        putchar(',');
    if (name) {
        json_string(name);
        putchar(':');
    }
}

static void
out_open(struct out *o, const char *name, char bracket)
{
    if (!json)
        return;
    if (o->depth > 0)
        json_member(o, name);
    putchar(bracket);
    if (o->depth < (int)VWS_N_ELEMENTS(o->counts))
        o->counts[o->depth] = o->fields;
    o->depth++;
    o->fields = 0;
}

static void
out_close(struct out *o, char bracket)
{
    if (!json)
        return;
    putchar(bracket);
    o->depth--;
    o->fields = o->depth < (int)VWS_N_ELEMENTS(o->counts) ? o->counts[o->depth] : 1;
    if (o->depth == 0)
        putchar('\n');
}

static void out_begin(struct out *o) { memset(o, 0, sizeof(*o)); out_open(o, NULL, '{'); }
static void out_end(struct out *o) { out_close(o, '}'); }

/* A member of each type; a NULL value is absent and skipped.  out_null is
 * JSON null, or HUMAN for people. */
static void
out_str(struct out *o, const char *name, const char *value)
{
    if (!value)
        return;
    if (json) {
        json_member(o, name);
        json_string(value);
    } else {
        printf("%-16s %s\n", name, value);
    }
}

static void
out_null(struct out *o, const char *name, const char *human)
{
    if (json) {
        json_member(o, name);
        fputs("null", stdout);
    } else {
        printf("%-16s %s\n", name, human);
    }
}

static void
out_u64(struct out *o, const char *name, const ULONG64 *value)
{
    if (!value)
        return;
    if (json) {
        json_member(o, name);
        printf("%llu", (unsigned long long)*value);
    } else {
        printf("%-16s %llu\n", name, (unsigned long long)*value);
    }
}

static void
out_bool(struct out *o, const char *name, bool value)
{
    if (json) {
        json_member(o, name);
        fputs(value ? "true" : "false", stdout);
    } else {
        printf("%-16s %s\n", name, value ? "yes" : "no");
    }
}

/* Strip the element around a literal property: "<vws:state ...>x</vws:state>"
 * -> "x"; nil -> never (null); other XML is shown as it is. */
static void
out_property(struct out *o, const char *name, const char *xml)
{
    const char *open = strchr(xml, '>');
    const char *close = strrchr(xml, '<');

    if (open && close && close > open && !memchr(open + 1, '<', (size_t)(close - open - 1))) {
        char *v = vws_strndup(open + 1, (size_t)(close - open - 1));
        out_str(o, name, v ? v : "");
        free(v);
    } else if (strstr(xml, "xsi:nil=\"true\"")) {
        out_null(o, name, "never");
    } else {
        out_str(o, name, xml);
    }
}

/* An instance's status, field by field in the order of mgr:InstanceStatusType. */
static void
out_instance(struct out *o, struct soap *soap, const struct mgr__InstanceStatusType *s)
{
    out_str(o, "workspaceId", s->workspaceId);
    out_str(o, "owner", s->owner);
    out_str(o, "phase", soap_mgr__PhaseType2s(soap, s->phase));
    out_str(o, "state", soap_vws__StateType2s(soap, s->state));
    out_str(o, "vmState", s->vmState);
    out_str(o, "domain", s->domain);
    out_str(o, "template", s->template_);
    if (s->cache)
        out_str(o, "cache", soap_mgr__CacheOutcomeType2s(soap, *s->cache));
    out_u64(o, "bytesDone", s->bytesDone);
    out_u64(o, "bytesTotal", s->bytesTotal);
    out_bool(o, "hot", s->hot == xsd__boolean__true_);
    out_str(o, "consoleLog", s->consoleLog);
    out_str(o, "reason", s->reason);
    out_str(o, "lastModified", s->lastModified);
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
    struct out o;
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
        out_begin(&o);
        for (int i = 0; i < resp.__size; i++) {
            const char *x = resp.__any[i];
            const char *colon = strchr(x, ':');
            const char *end = colon ? strpbrk(colon, " >/") : NULL;
            char name[40] = "";
            if (colon && end)
                snprintf(name, sizeof(name), "%.*s", (int)(end - colon - 1), colon + 1);
            out_property(&o, name, x);
        }
        out_end(&o);
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
    if (need_repository() < 0)
        return 2;
    if (!(soap = connect_client()))
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
    if (need_repository() < 0)
        return 2;
    if (!(soap = connect_client()))
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

/* ---- Manager commands: the workspace's key, sent to --manager ---- */

enum { OPT_WAIT = 1, OPT_RESTORE = 2, OPT_SAVE = 4, OPT_TIMEOUT = 8 };

struct mgr_args {
    const char *epr_file;        /* NULL for the host-level commands */
    bool wait;
    const char *restore_from;
    const char *save_to;
    unsigned *timeout;           /* NULL: the Manager's shutdown_timeout */
    unsigned timeout_value;
};

/* Parse "NAME [EPR-FILE] [options]" where ALLOWED says which options NAME
 * takes (options may come before or after the file).  0, or the exit
 * status of a usage error after printing it. */
static int
mgr_parse(int argc, char **argv, unsigned allowed, bool wants_epr, const char *synopsis,
          struct mgr_args *a)
{
    static const struct option opts[] = {
        { "wait", no_argument, NULL, OPT_WAIT },
        { "restore-from", required_argument, NULL, OPT_RESTORE },
        { "save-to", required_argument, NULL, OPT_SAVE },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { NULL, 0, NULL, 0 }
    };
    const char *name = argv[0];
    int opt;

    memset(a, 0, sizeof(*a));
    optind = 0;     /* GNU: start over, from argv[1] */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt >= OPT_WAIT && opt <= OPT_TIMEOUT && !(allowed & (unsigned)opt)) {
            for (size_t i = 0; opts[i].name; i++)
                if (opts[i].val == opt)
                    fprintf(stderr, "vws: %s: unknown option '--%s'\n", name, opts[i].name);
            goto usage;
        }
        switch (opt) {
        case OPT_WAIT: a->wait = true; break;
        case OPT_RESTORE: a->restore_from = optarg; break;
        case OPT_SAVE: a->save_to = optarg; break;
        case OPT_TIMEOUT: {
            char *end;
            unsigned long t;
            errno = 0;
            t = strtoul(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || t > 3600) {
                fprintf(stderr, "vws: %s: bad --timeout '%s': seconds from 0 to 3600\n",
                        name, optarg);
                goto usage;
            }
            a->timeout_value = (unsigned)t;
            a->timeout = &a->timeout_value;
            break;
        }
        case ':':
            fprintf(stderr, "vws: %s: option '%s' needs a value\n", name, argv[optind - 1]);
            goto usage;
        default:
            if (optopt)
                fprintf(stderr, "vws: %s: unknown option '-%c'\n", name, optopt);
            else
                fprintf(stderr, "vws: %s: unknown option '%s'\n", name, argv[optind - 1]);
            goto usage;
        }
    }
    if (argc - optind != (wants_epr ? 1 : 0))
        goto usage;
    if (wants_epr)
        a->epr_file = argv[optind];
    if (need_manager() < 0)
        return 2;
    return 0;
 usage:
    fprintf(stderr, "usage: vws %s\n", synopsis);
    return 2;
}

/* The EPR file's key as the WorkspaceKey header of a new client context.
 * NULL after printing why. */
static struct soap *
mgr_connect(struct vws_epr *epr, const char *path)
{
    struct soap *soap;

    if (load_epr(epr, path) < 0)
        return NULL;
    if (!(soap = connect_client())) {
        vws_epr_release(epr);
        return NULL;
    }
    with_key(soap, epr->key);
    return soap;
}

/* Print a status as the command's result. */
static void
print_instance(struct soap *soap, const struct mgr__InstanceStatusType *s)
{
    struct out o;

    out_begin(&o);
    out_instance(&o, soap, s);
    out_end(&o);
}

/* An instance that ends failed makes the command fail, with its reason. */
static int
instance_rc(const char *what, const struct mgr__InstanceStatusType *s)
{
    if (s->phase != mgr__PhaseType__failed)
        return 0;
    fprintf(stderr, "vws: %s: %s\n", what, s->reason ? s->reason : "failed");
    return 1;
}

/* Sizes for the progress bar: 1.5 GB, 300 MB, 12 kB. */
static void
human_size(char *buf, size_t size, ULONG64 n)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
    double v = (double)n;
    size_t u = 0;

    while (v >= 1000 && u + 1 < VWS_N_ELEMENTS(units)) {
        v /= 1000;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* One line on stderr, redrawn in place: "staging NAME [####    ]  42%  ...". */
static void
draw_progress(const struct mgr__InstanceStatusType *s)
{
    enum { WIDTH = 30 };
    const char *name = s->template_ ? s->template_ : "template";

    if (s->bytesTotal && *s->bytesTotal > 0 && s->bytesDone) {
        ULONG64 done = *s->bytesDone > *s->bytesTotal ? *s->bytesTotal : *s->bytesDone;
        unsigned pct = (unsigned)(done * 100 / *s->bytesTotal);
        unsigned fill = (unsigned)(done * WIDTH / *s->bytesTotal);
        char bar[WIDTH + 1], d[16], t[16];

        memset(bar, '#', fill);
        memset(bar + fill, ' ', WIDTH - fill);
        bar[WIDTH] = '\0';
        human_size(d, sizeof(d), done);
        human_size(t, sizeof(t), *s->bytesTotal);
        fprintf(stderr, "\rstaging %.24s [%s] %3u%%  %s / %s\033[K", name, bar, pct, d, t);
    } else {
        fprintf(stderr, "\rstaging %.24s ...\033[K", name);
    }
    fflush(stderr);
}

/* Poll Status every 0.5 s while the instance is staging; *S is the last
 * status.  0, or 1 after printing why the call failed. */
static int
wait_staged(struct soap *soap, const char *key, struct mgr__InstanceStatusType **s)
{
    const struct timespec half = { 0, 500000000L };
    bool bar = isatty(STDERR_FILENO);

    while ((*s)->phase == mgr__PhaseType__staging) {
        struct _mgr__Status req;
        struct _mgr__StatusResponse resp = { 0 };

        if (bar)
            draw_progress(*s);
        nanosleep(&half, NULL);
        memset(&req, 0, sizeof(req));
        soap_destroy(soap);     /* the previous answer */
        soap_end(soap);
        with_key(soap, key);
        if (soap_call___mgr__Status(soap, manager_url, NULL, &req, &resp)) {
            if (bar)
                fputs("\r\033[K", stderr);
            return failed(soap, "deploy");
        }
        *s = resp.instanceStatus;
    }
    if (bar)
        fputs("\r\033[K", stderr);
    return 0;
}

static int
cmd_deploy(int argc, char **argv)
{
    static const char synopsis[] = "deploy EPR-FILE [--wait] [--restore-from URL]";
    struct _mgr__Deploy req = { 0 };
    struct _mgr__DeployResponse resp = { 0 };
    struct mgr_args a;
    struct vws_epr epr;
    struct soap *soap;
    int rc;

    if ((rc = mgr_parse(argc, argv, OPT_WAIT | OPT_RESTORE, true, synopsis, &a)))
        return rc;
    if (!(soap = mgr_connect(&epr, a.epr_file)))
        return 1;
    /* without wait the Manager answers while staging; --wait polls here so
     * that progress can be shown */
    req.restoreFrom = (char *)a.restore_from;
    if (soap_call___mgr__Deploy(soap, manager_url, NULL, &req, &resp)) {
        rc = failed(soap, "deploy");
    } else {
        struct mgr__InstanceStatusType *s = resp.instanceStatus;
        if (!a.wait || !(rc = wait_staged(soap, epr.key, &s))) {
            print_instance(soap, s);
            rc = instance_rc("deploy", s);
        }
    }
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
cmd_undeploy(int argc, char **argv)
{
    static const char synopsis[] = "undeploy EPR-FILE [--save-to URL]";
    struct _mgr__Undeploy req = { 0 };
    struct _mgr__UndeployResponse resp = { 0 };
    struct mgr_args a;
    struct vws_epr epr;
    struct soap *soap;
    int rc;

    if ((rc = mgr_parse(argc, argv, OPT_SAVE, true, synopsis, &a)))
        return rc;
    if (!(soap = mgr_connect(&epr, a.epr_file)))
        return 1;
    req.saveTarget = (char *)a.save_to;
    if (soap_call___mgr__Undeploy(soap, manager_url, NULL, &req, &resp)) {
        rc = failed(soap, "undeploy");
    } else {
        print_instance(soap, resp.instanceStatus);
        rc = instance_rc("undeploy", resp.instanceStatus);
    }
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

/* start, stop, pause, unpause, serialize, instance: one EPR, one status. */
static int
vm_op(int argc, char **argv, const char *synopsis, unsigned allowed)
{
    const char *what = argv[0];
    struct mgr__InstanceStatusType *s = NULL;
    struct mgr_args a;
    struct vws_epr epr;
    struct soap *soap;
    int rc, err;

    if ((rc = mgr_parse(argc, argv, allowed, true, synopsis, &a)))
        return rc;
    if (!(soap = mgr_connect(&epr, a.epr_file)))
        return 1;
    if (strcmp(what, "start") == 0) {
        struct _mgr__Start req;
        struct _mgr__StartResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___mgr__Start(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    } else if (strcmp(what, "stop") == 0) {
        struct _mgr__Stop req = { a.timeout };
        struct _mgr__StopResponse resp = { 0 };
        err = soap_call___mgr__Stop(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    } else if (strcmp(what, "pause") == 0) {
        struct _mgr__Pause req;
        struct _mgr__PauseResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___mgr__Pause(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    } else if (strcmp(what, "unpause") == 0) {
        struct _mgr__Unpause req;
        struct _mgr__UnpauseResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___mgr__Unpause(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    } else if (strcmp(what, "serialize") == 0) {
        struct _mgr__Serialize req;
        struct _mgr__SerializeResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___mgr__Serialize(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    } else {
        struct _mgr__Status req;
        struct _mgr__StatusResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___mgr__Status(soap, manager_url, NULL, &req, &resp);
        s = resp.instanceStatus;
    }
    if (err)
        rc = failed(soap, what);
    else if (s)
        print_instance(soap, s);
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int cmd_start(int argc, char **argv) { return vm_op(argc, argv, "start EPR-FILE", 0); }
static int cmd_pause(int argc, char **argv) { return vm_op(argc, argv, "pause EPR-FILE", 0); }
static int cmd_unpause(int argc, char **argv) { return vm_op(argc, argv, "unpause EPR-FILE", 0); }
static int cmd_instance(int argc, char **argv) { return vm_op(argc, argv, "instance EPR-FILE", 0); }

static int
cmd_serialize(int argc, char **argv)
{
    return vm_op(argc, argv, "serialize EPR-FILE", 0);
}

static int
cmd_stop(int argc, char **argv)
{
    return vm_op(argc, argv, "stop EPR-FILE [--timeout SECONDS]", OPT_TIMEOUT);
}

static int
cmd_instances(int argc, char **argv)
{
    struct _mgr__ListInstances req;
    struct _mgr__ListInstancesResponse resp = { 0 };
    struct mgr_args a;
    struct soap *soap;
    struct out o;
    int rc;

    if ((rc = mgr_parse(argc, argv, 0, false, "instances", &a)))
        return rc;
    if (!(soap = connect_client()))
        return 1;
    memset(&req, 0, sizeof(req));
    if (soap_call___mgr__ListInstances(soap, manager_url, NULL, &req, &resp)) {
        rc = failed(soap, "instances");
    } else if (json) {
        out_begin(&o);
        out_open(&o, "instances", '[');
        for (int i = 0; i < resp.__sizeinstanceStatus; i++) {
            out_open(&o, NULL, '{');
            out_instance(&o, soap, &resp.instanceStatus_[i]);
            out_close(&o, '}');
        }
        out_close(&o, ']');
        out_end(&o);
    } else {
        printf("%-36s  %-9s  %-9s  %-9s  %-16s  %s\n", "KEY", "PHASE", "STATE", "VM",
               "TEMPLATE", "LAST MODIFIED");
        for (int i = 0; i < resp.__sizeinstanceStatus; i++) {
            struct mgr__InstanceStatusType *s = &resp.instanceStatus_[i];
            printf("%-36s  %-9s  %-9s  %-9s  %-16s  %s\n", s->workspaceId,
                   soap_mgr__PhaseType2s(soap, s->phase), soap_vws__StateType2s(soap, s->state),
                   s->vmState ? s->vmState : "-", s->template_ ? s->template_ : "-",
                   s->lastModified);
        }
    }
    vws_soap_free(soap);
    return rc;
}

static int
cmd_host(int argc, char **argv)
{
    struct _mgr__GetManagerProperties req;
    struct _mgr__GetManagerPropertiesResponse resp = { 0 };
    struct mgr_args a;
    struct soap *soap;
    struct out o;
    int rc;

    if ((rc = mgr_parse(argc, argv, 0, false, "host", &a)))
        return rc;
    if (!(soap = connect_client()))
        return 1;
    memset(&req, 0, sizeof(req));
    if (soap_call___mgr__GetManagerProperties(soap, manager_url, NULL, &req, &resp)) {
        rc = failed(soap, "host");
    } else if (resp.managerProperties) {
        struct mgr__ManagerPropertiesType *p = resp.managerProperties;
        ULONG64 instances = p->instances;
        out_begin(&o);
        out_str(&o, "vmm", p->vmm);
        out_u64(&o, "instances", &instances);
        out_str(&o, "cachePolicy", p->cachePolicy);
        out_u64(&o, "cacheLimitBytes", &p->cacheLimitBytes);
        out_u64(&o, "cacheUsedBytes", &p->cacheUsedBytes);
        out_u64(&o, "cachePinnedBytes", &p->cachePinnedBytes);
        out_u64(&o, "cacheHits", &p->cacheHits);
        out_u64(&o, "cacheMisses", &p->cacheMisses);
        out_u64(&o, "cacheHalfMisses", &p->cacheHalfMisses);
        out_u64(&o, "cacheEvictions", &p->cacheEvictions);
        out_u64(&o, "cacheFetchFailures", &p->cacheFetchFailures);
        if (json) {
            out_open(&o, "cachedTemplates", '[');
            for (int i = 0; i < p->__sizecachedTemplate; i++) {
                struct mgr__CachedTemplateType *t = &p->cachedTemplate[i];
                ULONG64 pins = t->pins;
                out_open(&o, NULL, '{');
                out_str(&o, "name", t->name);
                out_str(&o, "sha256", t->sha256);
                out_u64(&o, "size", &t->size);
                out_u64(&o, "uses", &t->uses);
                out_u64(&o, "pins", &pins);
                out_close(&o, '}');
            }
            out_close(&o, ']');
        } else if (p->__sizecachedTemplate > 0) {
            printf("\n%-24s  %-64s  %12s  %6s  %4s\n", "TEMPLATE", "SHA256", "SIZE", "USES",
                   "PINS");
            for (int i = 0; i < p->__sizecachedTemplate; i++) {
                struct mgr__CachedTemplateType *t = &p->cachedTemplate[i];
                printf("%-24s  %-64s  %12llu  %6llu  %4u\n", t->name, t->sha256,
                       (unsigned long long)t->size, (unsigned long long)t->uses, t->pins);
            }
        }
        out_end(&o);
    }
    vws_soap_free(soap);
    return rc;
}

static int
cmd_metadata(int argc, char **argv)
{
    struct _mgr__GetInstanceMetadata req = { 0 };
    struct _mgr__GetInstanceMetadataResponse resp = { 0 };
    struct mgr_args a;
    struct vws_epr epr;
    struct soap *soap;
    struct out o;
    int rc;

    if ((rc = mgr_parse(argc, argv, 0, true, "metadata EPR-FILE", &a)))
        return rc;
    if (!(soap = mgr_connect(&epr, a.epr_file)))
        return 1;
    req.workspaceId = epr.key;
    if (soap_call___mgr__GetInstanceMetadata(soap, manager_url, NULL, &req, &resp)) {
        rc = failed(soap, "metadata");
        goto out;
    }
    out_begin(&o);
    out_open(&o, "instanceMetadata", '[');
    for (int i = 0; i < resp.__sizeinstanceMetadata; i++) {
        struct vws__InstanceMetadataType *m = &resp.vws__instanceMetadata[i];
        if (i > 0 && !json)
            putchar('\n');
        out_open(&o, NULL, '{');
        out_str(&o, "workspaceId", m->workspaceId);
        if (m->node) {
            ULONG64 node = *m->node;
            out_u64(&o, "node", &node);
        }
        out_str(&o, "hostname", m->hostname);
        out_open(&o, "nics", '[');
        for (int j = 0; j < m->__sizenic; j++) {
            struct vws__BoundNICType *n = &m->nic[j];
            if (json) {
                out_open(&o, NULL, '{');
                out_str(&o, "name", n->name);
                out_str(&o, "mac", n->mac);
                out_str(&o, "ip", n->ip);
                out_str(&o, "netmask", n->netmask);
                out_str(&o, "gateway", n->gateway);
                out_str(&o, "broadcast", n->broadcast);
                out_close(&o, '}');
            } else {
                printf("%-16s %s mac %s ip %s netmask %s", "nic", n->name, n->mac, n->ip,
                       n->netmask);
                if (n->gateway)
                    printf(" gateway %s", n->gateway);
                if (n->broadcast)
                    printf(" broadcast %s", n->broadcast);
                putchar('\n');
            }
        }
        out_close(&o, ']');
        out_close(&o, '}');
    }
    out_close(&o, ']');
    out_end(&o);
 out:
    vws_soap_free(soap);
    vws_epr_release(&epr);
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
    { "deploy", cmd_deploy, "deploy EPR-FILE [--wait] [--restore-from URL]   (Manager)" },
    { "undeploy", cmd_undeploy, "undeploy EPR-FILE [--save-to URL]" },
    { "start", cmd_start, "start EPR-FILE" },
    { "stop", cmd_stop, "stop EPR-FILE [--timeout SECONDS]" },
    { "pause", cmd_pause, "pause EPR-FILE" },
    { "unpause", cmd_unpause, "unpause EPR-FILE" },
    { "serialize", cmd_serialize, "serialize EPR-FILE" },
    { "instance", cmd_instance, "instance EPR-FILE" },
    { "instances", cmd_instances, "instances" },
    { "host", cmd_host, "host" },
    { "metadata", cmd_metadata, "metadata EPR-FILE" },
    { "help", cmd_help, "help" },
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: vws [--repository URL] [--manager URL] [--json] [-o EPR-FILE] "
                 "COMMAND [ARGS]\n\ncommands:\n");
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
        { "manager", required_argument, NULL, 'm' },
        { "json", no_argument, NULL, 'j' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int opt;

    signal(SIGPIPE, SIG_IGN);
    vws_log_set_ident("vws");
    vws_log_set_level(VWS_LOG_ERROR);
    while ((opt = getopt_long(argc, argv, "+r:m:o:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'r': repository_url = optarg; break;
        case 'm': manager_url = optarg; break;
        case 'j': json = true; break;
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
            /* -o and --json may also follow the command */
            for (int j = 1; j + 1 < n; j++) {
                if (strcmp(args[j], "-o") == 0) {
                    epr_out = args[j + 1];
                    memmove(&args[j], &args[j + 2], (size_t)(n - j - 2) * sizeof(char *));
                    n -= 2;
                    args[n] = NULL;
                    break;
                }
            }
            for (int j = 1; j < n; j++) {
                if (strcmp(args[j], "--json") == 0) {
                    json = true;
                    memmove(&args[j], &args[j + 1], (size_t)(n - j - 1) * sizeof(char *));
                    n--;
                    args[n] = NULL;
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
