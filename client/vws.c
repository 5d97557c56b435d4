/*
 * vws — the grid user's command-line client.
 *
 * Credentials come from the Globus environment (X509_USER_PROXY or
 * /tmp/x509up_u<uid>, X509_CERT_DIR, X509_VOMS_DIR): see vws(1).
 * A workspace is named by its EPR file, written by 'register' and 'clone'.
 * Subcommands are rows of one table.  They talk to the Repository (the
 * EPR's address) or to a Manager (--manager, $VWS_MANAGER, with the EPR's
 * key).  'create' asks the Factory (--factory, $VWS_FACTORY) for an
 * agreement and one workspace per node; 'agreement ...' negotiates and
 * follows agreements (the agreement EPR's address, or --agreements,
 * $VWS_AGREEMENTS, by default the Factory's URL ending in /agreement).
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
#include <sys/stat.h>

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
static const char *factory_url;      /* --factory, $VWS_FACTORY */
static const char *agreements_url;   /* --agreements, $VWS_AGREEMENTS, or derived */
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

/* ---- Factory and agreement commands ---- */

/* The Factory's endpoint: --factory, $VWS_FACTORY.  0, or -1 after saying
 * so (a usage error). */
static int
need_factory(void)
{
    if (!factory_url)
        factory_url = getenv("VWS_FACTORY");
    if (!factory_url || !*factory_url) {
        fprintf(stderr, "vws: say which Factory: --factory URL or $VWS_FACTORY\n");
        return -1;
    }
    return 0;
}

/* The agreement endpoint for the commands without an agreement EPR:
 * --agreements, $VWS_AGREEMENTS, or the Factory's URL with its last path
 * element replaced by "agreement".  0, or -1 after saying so. */
static int
need_agreements(void)
{
    static char derived[1024];
    const char *host, *path;
    size_t len;

    if (!agreements_url)
        agreements_url = getenv("VWS_AGREEMENTS");
    if (agreements_url && *agreements_url)
        return 0;
    if (!factory_url)
        factory_url = getenv("VWS_FACTORY");
    if (!factory_url || !*factory_url) {
        fprintf(stderr, "vws: say which Factory: --factory URL or $VWS_FACTORY "
                        "(or --agreements URL, $VWS_AGREEMENTS)\n");
        return -1;
    }
    host = strstr(factory_url, "://");
    host = host ? host + 3 : factory_url;
    path = strchr(host, '/');
    len = strlen(factory_url);
    while (path && len > (size_t)(path - factory_url) + 1 && factory_url[len - 1] == '/')
        len--;
    if (!path) {
        snprintf(derived, sizeof(derived), "%s/agreement", factory_url);
    } else {
        size_t cut = len;
        while (cut > (size_t)(path - factory_url) + 1 && factory_url[cut - 1] != '/')
            cut--;
        snprintf(derived, sizeof(derived), "%.*sagreement", (int)cut, factory_url);
    }
    agreements_url = derived;
    return 0;
}

/* fac_parse's options: the values getopt returns for them */
enum { OPT_EPR_DIR = 0x100, OPT_FOR, OPT_OUTPUT };
/* ... and which a command takes */
enum { ALLOW_EPR_DIR = 1, ALLOW_FOR = 2, ALLOW_OUTPUT = 4 };

struct fac_args {
    const char *files[2];
    int n_files;
    const char *epr_dir;
    const char *for_dn;
};

/* Parse "NAME FILE... [--epr-dir DIR] [--for DN] [-o FILE]": between MIN
 * and MAX files, the options ALLOWED says.  0, or 2 after the usage. */
static int
fac_parse(int argc, char **argv, unsigned allowed, int min, int max, const char *synopsis,
          struct fac_args *a)
{
    static const struct option opts[] = {
        { "epr-dir", required_argument, NULL, OPT_EPR_DIR },
        { "for", required_argument, NULL, OPT_FOR },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { NULL, 0, NULL, 0 }
    };
    const char *name = argv[0];
    int opt;

    memset(a, 0, sizeof(*a));
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        if ((opt == OPT_EPR_DIR && !(allowed & ALLOW_EPR_DIR)) ||
            (opt == OPT_FOR && !(allowed & ALLOW_FOR))) {
            fprintf(stderr, "vws: %s: unknown option '--%s'\n", name,
                    opt == OPT_FOR ? "for" : "epr-dir");
            goto usage;
        }
        switch (opt) {
        case OPT_EPR_DIR: a->epr_dir = optarg; break;
        case OPT_FOR: a->for_dn = optarg; break;
        case 'o':
        case OPT_OUTPUT:
            if (!(allowed & ALLOW_OUTPUT)) {
                fprintf(stderr, "vws: %s: unknown option '-o'\n", name);
                goto usage;
            }
            epr_out = optarg;
            break;
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
    if (argc - optind < min || argc - optind > max)
        goto usage;
    for (int i = optind; i < argc; i++)
        a->files[a->n_files++] = argv[i];
    if (a->for_dn && !*a->for_dn) {
        fprintf(stderr, "vws: %s: --for needs a DN\n", name);
        goto usage;
    }
    return 0;
 usage:
    fprintf(stderr, "usage: vws %s\n", synopsis);
    return 2;
}

/* --epr-dir: made if missing (one level), so that no agreement is made
 * whose workspaces' EPRs cannot be kept.  0, or -1 after saying why. */
static int
check_epr_dir(const char *dir)
{
    struct stat st;

    if (!dir)
        return 0;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "vws: cannot make the EPR directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) < 0) {
        fprintf(stderr, "vws: '%s' is not a directory this user can write\n", dir);
        return -1;
    }
    return 0;
}

/* Write ADDRESS+KEY to PATH.  0, or -1 after saying why. */
static int
write_epr(const char *path, const char *address, const char *key)
{
    struct vws_epr epr = { (char *)address, "" };

    vws_strlcpy(epr.key, key, sizeof(epr.key));
    if (vws_epr_save(&epr, path) < 0) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        return -1;
    }
    return 0;
}

/* A refused Create or CreateAgreement: "vws: WHAT rejected: REASON" when
 * the site said no (no room at that time, a policy or site limit), the
 * fault as usual otherwise.  Returns 1. */
static int
rejected(struct soap *soap, const char *what)
{
    const char **s = soap_faultstring(soap);
    const char **d = soap_faultdetail(soap);
    bool fault = soap->error == SOAP_CLI_FAULT || soap->error == SOAP_SVR_FAULT ||
                 soap->error == SOAP_FAULT;

    if (fault && s && *s) {
        if (strncmp(*s, "rejected: ", 10) == 0) {
            fprintf(stderr, "vws: %s rejected: %s\n", what, *s + 10);
            return 1;
        }
        if (d && *d && strstr(*d, "code=\"limit\"")) {
            fprintf(stderr, "vws: %s rejected: %s\n", what, *s);
            return 1;
        }
    }
    return failed(soap, what);
}

static void
out_uint(struct out *o, const char *name, unsigned value)
{
    ULONG64 v = value;
    out_u64(o, name, &v);
}

/* A member's or the agreement's workspace EPR file in DIR: node-N.epr. */
static char *
node_epr_path(const char *dir, unsigned node)
{
    return vws_asprintf("%s/node-%u.epr", dir, node);
}

/* The terms: what was asked (deployment request), for people or JSON. */
static void
out_terms(struct out *o, const struct vws__DeploymentRequestType *t)
{
    if (!t)
        return;
    out_open(o, "terms", '{');
    out_str(o, "image", t->imageTemplate);
    out_uint(o, "nodes", t->nodes);
    out_uint(o, "memory", t->memory);
    out_uint(o, "cpuPercent", t->cpuPercent);
    if (t->vcpus)
        out_uint(o, "vcpus", *t->vcpus);
    if (!t->start) {
        bool now = t->immediate && *t->immediate == xsd__boolean__true_;
        if (json) {
            out_null(o, "start", NULL);
            out_bool(o, "immediate", now);
        } else {
            out_str(o, "asked start", now ? "now or not at all" : "as soon as possible");
        }
    } else if (t->start->__union_StartType == SOAP_UNION__vws__union_StartType_exact) {
        out_str(o, json ? "start" : "asked start", t->start->union_StartType.exact);
    } else if (t->start->__union_StartType == SOAP_UNION__vws__union_StartType_window &&
               t->start->union_StartType.window) {
        const struct vws__EventWindowType *w = t->start->union_StartType.window;
        if (json) {
            out_open(o, "window", '{');
            out_str(o, "earliest", w->earliest);
            out_str(o, "latest", w->latest);
            out_str(o, "event", w->event);
            out_close(o, '}');
        } else {
            printf("%-16s on event '%s' from %s to %s\n", "asked start", w->event,
                   w->earliest, w->latest);
        }
    }
    if (t->end && t->end->__union_EndType == SOAP_UNION__vws__union_EndType_exact)
        out_str(o, json ? "end" : "asked end", t->end->union_EndType.exact);
    else if (t->end && t->end->__union_EndType == SOAP_UNION__vws__union_EndType_duration)
        out_str(o, json ? "duration" : "asked duration", t->end->union_EndType.duration);
    out_close(o, '}');
}

/* An agreement's status: state, reason, terms, the booked times, the
 * planned staging and the members.  Tables follow the lines for people. */
static void
out_agreement(struct out *o, struct soap *soap, const struct agr__AgreementStatusType *s)
{
    out_str(o, "key", s->key);
    out_str(o, "state", soap_agr__AgreementStateType2s(soap, s->state));
    out_str(o, "reason", s->reason);
    out_str(o, "owner", s->owner);
    out_str(o, "broker", s->broker);
    out_terms(o, s->terms);
    out_str(o, "start", s->start);
    out_str(o, "end", s->end);
    out_str(o, "created", s->created);
    if (json) {
        out_open(o, "staging", '[');
        for (int i = 0; i < s->__sizestaging; i++) {
            const struct agr__StagingType *st = &s->staging[i];
            out_open(o, NULL, '{');
            out_str(o, "host", st->host);
            out_str(o, "image", st->image);
            out_str(o, "start", st->start);
            out_str(o, "end", st->end);
            out_close(o, '}');
        }
        out_close(o, ']');
        out_open(o, "members", '[');
        for (int i = 0; i < s->__sizemember; i++) {
            const struct agr__MemberType *m = &s->member[i];
            out_open(o, NULL, '{');
            out_uint(o, "node", m->node);
            out_str(o, "key", m->key);
            out_str(o, "address", m->workspace.Address);
            out_str(o, "host", m->host);
            if (m->state)
                out_str(o, "state", soap_vws__StateType2s(soap, *m->state));
            out_str(o, "ready", m->ready);
            out_close(o, '}');
        }
        out_close(o, ']');
        return;
    }
    if (s->__sizestaging > 0) {
        printf("\n%-24s  %-24s  %-24s  %s\n", "STAGING HOST", "IMAGE", "START", "END");
        for (int i = 0; i < s->__sizestaging; i++) {
            const struct agr__StagingType *st = &s->staging[i];
            printf("%-24s  %-24s  %-24s  %s\n", st->host, st->image, st->start, st->end);
        }
    }
    if (s->__sizemember > 0) {
        printf("\n%-4s  %-36s  %-24s  %-9s  %s\n", "NODE", "KEY", "HOST", "STATE", "READY");
        for (int i = 0; i < s->__sizemember; i++) {
            const struct agr__MemberType *m = &s->member[i];
            printf("%-4u  %-36s  %-24s  %-9s  %s\n", m->node, m->key, m->host ? m->host : "-",
                   m->state ? soap_vws__StateType2s(soap, *m->state) : "-",
                   m->ready ? m->ready : "-");
        }
    }
}

static void
print_agreement(struct soap *soap, const struct agr__AgreementStatusType *s)
{
    struct out o;

    out_begin(&o);
    out_agreement(&o, soap, s);
    out_end(&o);
}

/* After Create or CreateAgreement: the agreement's EPR to -o (stdout
 * without -o, for people) and the nodes' EPRs into DIR.  Prints what went
 * where.  0, or 1 when a file could not be written. */
static int
save_eprs(struct out *o, const char *agreement_address, const char *agreement_key,
          int n, char **keys, const struct wsa5__EndpointReferenceType *eprs,
          const unsigned *nodes, const char *dir)
{
    int rc = 0;

    if (json)
        out_open(o, "workspaces", '[');
    for (int i = 0; i < n; i++) {
        unsigned node = nodes ? nodes[i] : (unsigned)i;
        char *path = dir ? node_epr_path(dir, node) : NULL;

        if (path && write_epr(path, eprs[i].Address, keys[i]) < 0) {
            rc = 1;
            free(path);
            path = NULL;
        }
        if (json) {
            out_open(o, NULL, '{');
            out_uint(o, "node", node);
            out_str(o, "key", keys[i]);
            out_str(o, "address", eprs[i].Address);
            out_str(o, "eprFile", path);
            out_close(o, '}');
        } else {
            char name[32];
            snprintf(name, sizeof(name), "node %u", node);
            printf("%-16s %s%s%s\n", name, keys[i], path ? "  EPR in " : "", path ? path : "");
        }
        free(path);
    }
    if (json)
        out_close(o, ']');
    if (epr_out) {
        if (write_epr(epr_out, agreement_address, agreement_key) < 0)
            rc = 1;
        else if (json)
            out_str(o, "eprFile", epr_out);
        else
            printf("agreement %s: EPR in %s\n", agreement_key, epr_out);
    }
    return rc;
}

static int
cmd_create(int argc, char **argv)
{
    static const char synopsis[] =
        "create DESCRIPTION.xml DEPLOYMENT.xml [-o AGREEMENT-EPR] [--epr-dir DIR]";
    struct vws_doc ws = VWS_DOC_INIT, dep = VWS_DOC_INIT;
    struct _fac__Create req = { 0 };
    struct _fac__CreateResponse resp;
    struct soap *soap = NULL;
    struct fac_args a;
    struct out o;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if ((rc = fac_parse(argc, argv, ALLOW_EPR_DIR | ALLOW_OUTPUT, 2, 2, synopsis, &a)))
        return rc;
    if (need_factory() < 0)
        return 2;
    rc = 1;
    if (vws_doc_load(&ws, a.files[0], VWS_DOC_WORKSPACE) < 0 ||
        vws_doc_load(&dep, a.files[1], VWS_DOC_DEPLOYMENT) < 0) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        goto out;
    }
    if (check_epr_dir(a.epr_dir) < 0 || !(soap = connect_client()))
        goto out;
    req.vws__virtualWorkspace = ws.u.workspace;
    req.vws__deploymentRequest = dep.u.deployment;
    if (soap_call___fac__Create(soap, factory_url, NULL, &req, &resp) != SOAP_OK) {
        rc = rejected(soap, "create");
        goto out;
    }
    out_begin(&o);
    out_str(&o, "agreement", resp.agreementKey);
    out_str(&o, "address", resp.agreement.Address);
    out_str(&o, "start", resp.start);
    out_str(&o, "end", resp.end);
    rc = save_eprs(&o, resp.agreement.Address, resp.agreementKey,
                   resp.__sizekey < resp.__sizeworkspace ? resp.__sizekey : resp.__sizeworkspace,
                   resp.key, resp.workspace, NULL, a.epr_dir);
    out_end(&o);
    if (!epr_out && !json && write_epr("-", resp.agreement.Address, resp.agreementKey) < 0)
        rc = 1;
 out:
    vws_soap_free(soap);
    vws_doc_release(&ws);
    vws_doc_release(&dep);
    return rc;
}

static int
agr_templates(int argc, char **argv)
{
    struct _agr__GetTemplates req;
    struct _agr__GetTemplatesResponse resp = { 0 };
    struct fac_args a;
    struct soap *soap;
    struct out o;
    int rc;

    if ((rc = fac_parse(argc, argv, 0, 0, 0, "agreement templates", &a)))
        return rc;
    if (need_agreements() < 0)
        return 2;
    if (!(soap = connect_client()))
        return 1;
    memset(&req, 0, sizeof(req));
    if (soap_call___agr__GetTemplates(soap, agreements_url, NULL, &req, &resp)) {
        rc = failed(soap, "agreement templates");
        goto out;
    }
    out_begin(&o);
    out_open(&o, "templates", '[');
    for (int i = 0; i < resp.__sizetemplate_; i++) {
        const struct agr__TemplateType *t = &resp.template_[i];
        if (i > 0 && !json)
            putchar('\n');
        out_open(&o, NULL, '{');
        out_str(&o, "name", t->name);
        out_str(&o, "description", t->description);
        out_uint(&o, "maxNodes", t->maxNodes);
        out_uint(&o, "maxMemory", t->maxMemory);
        out_str(&o, "maxDuration", t->maxDuration);
        if (json) {
            out_open(&o, "images", '[');
            for (int j = 0; j < t->__sizeimage; j++) {
                json_member(&o, NULL);
                json_string(t->image[j]);
            }
            out_close(&o, ']');
        } else {
            for (int j = 0; j < t->__sizeimage; j++)
                out_str(&o, "image", t->image[j]);
        }
        out_close(&o, '}');
    }
    out_close(&o, ']');
    out_end(&o);
 out:
    vws_soap_free(soap);
    return rc;
}

static int
agr_offer(int argc, char **argv)
{
    static const char synopsis[] = "agreement offer DEPLOYMENT.xml [DESCRIPTION.xml] "
                                   "[--for DN] [-o EPR] [--epr-dir DIR]";
    struct vws_doc ws = VWS_DOC_INIT, dep = VWS_DOC_INIT;
    struct _agr__CreateAgreement req = { 0 };
    struct _agr__CreateAgreementResponse resp;
    struct soap *soap = NULL;
    struct fac_args a;
    struct out o;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if ((rc = fac_parse(argc, argv, ALLOW_EPR_DIR | ALLOW_FOR | ALLOW_OUTPUT, 1, 2, synopsis, &a)))
        return rc;
    if (need_agreements() < 0)
        return 2;
    rc = 1;
    if (vws_doc_load(&dep, a.files[0], VWS_DOC_DEPLOYMENT) < 0 ||
        (a.n_files == 2 && vws_doc_load(&ws, a.files[1], VWS_DOC_WORKSPACE) < 0)) {
        fprintf(stderr, "vws: %s\n", vws_error_message());
        goto out;
    }
    if (check_epr_dir(a.epr_dir) < 0 || !(soap = connect_client()))
        goto out;
    req.offer = dep.u.deployment;
    req.vws__virtualWorkspace = a.n_files == 2 ? ws.u.workspace : NULL;
    req.onBehalfOf = (char *)a.for_dn;
    if (soap_call___agr__CreateAgreement(soap, agreements_url, NULL, &req, &resp) != SOAP_OK) {
        rc = rejected(soap, "offer");
        goto out;
    }
    if (!resp.agreementStatus) {
        fprintf(stderr, "vws: offer: the answer has no agreement status\n");
        goto out;
    }
    {
        const struct agr__AgreementStatusType *s = resp.agreementStatus;
        int n = s->__sizemember;
        char **keys = soap_malloc(soap, sizeof(char *) * (size_t)(n ? n : 1));
        struct wsa5__EndpointReferenceType *eprs =
            soap_new_wsa5__EndpointReferenceType(soap, n ? n : 1);
        unsigned *nodes = soap_malloc(soap, sizeof(unsigned) * (size_t)(n ? n : 1));

        for (int i = 0; i < n; i++) {
            keys[i] = s->member[i].key;
            eprs[i] = s->member[i].workspace;
            nodes[i] = s->member[i].node;
        }
        out_begin(&o);
        out_str(&o, "address", resp.agreement.Address);
        out_agreement(&o, soap, s);
        if (!json && (n > 0 || epr_out))
            putchar('\n');
        rc = save_eprs(&o, resp.agreement.Address, s->key, n, keys, eprs, nodes, a.epr_dir);
        out_end(&o);
        if (!epr_out && !json && write_epr("-", resp.agreement.Address, s->key) < 0)
            rc = 1;
    }
 out:
    vws_soap_free(soap);
    vws_doc_release(&ws);
    vws_doc_release(&dep);
    return rc;
}

/* status, signal, terminate: the agreement's key from its EPR file, sent
 * to the EPR's address; the status after. */
static int
agr_op(int argc, char **argv)
{
    const char *what = argv[0];
    char synopsis[64];
    struct agr__AgreementStatusType *s = NULL;
    struct fac_args a;
    struct vws_epr epr;
    struct soap *soap;
    int rc, err;

    snprintf(synopsis, sizeof(synopsis), "agreement %s AGREEMENT-EPR", what);
    if ((rc = fac_parse(argc, argv, 0, 1, 1, synopsis, &a)))
        return rc;
    if (load_epr(&epr, a.files[0]) < 0)
        return 1;
    if (!(soap = connect_client())) {
        vws_epr_release(&epr);
        return 1;
    }
    with_key(soap, epr.key);
    if (strcmp(what, "terminate") == 0) {
        struct _agr__Terminate req;
        struct _agr__TerminateResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___agr__Terminate(soap, epr.address, NULL, &req, &resp);
        s = resp.agreementStatus;
    } else if (strcmp(what, "signal") == 0) {
        struct _agr__SignalEvent req;
        struct _agr__SignalEventResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___agr__SignalEvent(soap, epr.address, NULL, &req, &resp);
        s = resp.agreementStatus;
    } else {
        struct _agr__GetAgreement req;
        struct _agr__GetAgreementResponse resp = { 0 };
        memset(&req, 0, sizeof(req));
        err = soap_call___agr__GetAgreement(soap, epr.address, NULL, &req, &resp);
        s = resp.agreementStatus;
    }
    if (err) {
        char name[32];
        snprintf(name, sizeof(name), "agreement %s", what);
        rc = failed(soap, name);
    } else if (s) {
        print_agreement(soap, s);
    }
    vws_soap_free(soap);
    vws_epr_release(&epr);
    return rc;
}

static int
agr_list(int argc, char **argv)
{
    struct _agr__ListAgreements req;
    struct _agr__ListAgreementsResponse resp = { 0 };
    struct fac_args a;
    struct soap *soap;
    struct out o;
    int rc;

    if ((rc = fac_parse(argc, argv, 0, 0, 0, "agreement list", &a)))
        return rc;
    if (need_agreements() < 0)
        return 2;
    if (!(soap = connect_client()))
        return 1;
    memset(&req, 0, sizeof(req));
    if (soap_call___agr__ListAgreements(soap, agreements_url, NULL, &req, &resp)) {
        rc = failed(soap, "agreement list");
    } else if (json) {
        out_begin(&o);
        out_open(&o, "agreements", '[');
        for (int i = 0; i < resp.__sizeagreementStatus; i++) {
            out_open(&o, NULL, '{');
            out_agreement(&o, soap, &resp.agreementStatus_[i]);
            out_close(&o, '}');
        }
        out_close(&o, ']');
        out_end(&o);
    } else {
        printf("%-36s  %-10s  %5s  %-24s  %-24s  %s\n", "KEY", "STATE", "NODES", "START", "END",
               "OWNER");
        for (int i = 0; i < resp.__sizeagreementStatus; i++) {
            const struct agr__AgreementStatusType *s = &resp.agreementStatus_[i];
            printf("%-36s  %-10s  %5u  %-24s  %-24s  %s\n", s->key,
                   soap_agr__AgreementStateType2s(soap, s->state),
                   s->terms ? s->terms->nodes : (unsigned)s->__sizemember,
                   s->start ? s->start : "-", s->end ? s->end : "-", s->owner);
        }
    }
    vws_soap_free(soap);
    return rc;
}

static const struct command agreement_commands[] = {
    { "templates", agr_templates, "agreement templates" },
    { "offer", agr_offer, "agreement offer DEPLOYMENT.xml [DESCRIPTION.xml] [--for DN] "
                          "[-o EPR] [--epr-dir DIR]" },
    { "status", agr_op, "agreement status AGREEMENT-EPR" },
    { "signal", agr_op, "agreement signal AGREEMENT-EPR" },
    { "terminate", agr_op, "agreement terminate AGREEMENT-EPR" },
    { "list", agr_list, "agreement list" },
};

static int
cmd_agreement(int argc, char **argv)
{
    if (argc >= 2) {
        for (size_t i = 0; i < VWS_N_ELEMENTS(agreement_commands); i++)
            if (strcmp(agreement_commands[i].name, argv[1]) == 0)
                return agreement_commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "vws: agreement: unknown command '%s'\n", argv[1]);
    }
    fprintf(stderr, "usage:\n");
    for (size_t i = 0; i < VWS_N_ELEMENTS(agreement_commands); i++)
        fprintf(stderr, "   vws %s\n", agreement_commands[i].synopsis);
    return 2;
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
    { "create", cmd_create, "create DESCRIPTION.xml DEPLOYMENT.xml [-o AGREEMENT-EPR] "
                            "[--epr-dir DIR]   (Factory)" },
    { "agreement", cmd_agreement, "agreement templates | list" },
    { "agreement", cmd_agreement, "agreement offer DEPLOYMENT.xml [DESCRIPTION.xml] [--for DN] "
                                  "[-o EPR] [--epr-dir DIR]" },
    { "agreement", cmd_agreement, "agreement status | signal | terminate AGREEMENT-EPR" },
    { "help", cmd_help, "help" },
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: vws [--repository URL] [--manager URL] [--factory URL] "
                 "[--agreements URL]\n           [--json] [-o EPR-FILE] COMMAND [ARGS]\n\n"
                 "commands:\n");
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
        { "factory", required_argument, NULL, 'f' },
        { "agreements", required_argument, NULL, 'a' },
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
        case 'f': factory_url = optarg; break;
        case 'a': agreements_url = optarg; break;
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
