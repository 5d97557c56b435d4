/*
 * admin-policy.c — vws-admin policy: read the site's group policy file as
 * the Factory does (factory/policy, vws-policy(5)), and ask it about a
 * caller and a request.
 *
 *   vws-admin policy check FILE
 *       prints every rule ("default: max_nodes=4 ...") then
 *       "FILE: OK (N rules)"; exit 0, or 2 with "FILE:LINE: message".
 *   vws-admin policy check FILE DN [FQAN...] [--nodes N] [--memory MB]
 *                          [--duration D] [--held N] [--group-held N]
 *       prints "allow" (exit 0) or "refuse: policy FILE:LINE (RULE): ..."
 *       (exit 1).  The request defaults to 1 node of 1 MB for 1 second; the
 *       tool cannot see live workspaces, so the DN is taken to hold --held
 *       (0) and every shared group --group-held (0).
 *
 * So an admin checks an edited file before the Factory's SIGHUP.
 */
#define VWS_MODULE "admin"
#include <config.h>

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "conf.h"
#include "factory/policy.h"
#include "identity.h"
#include "internal.h"

static const char policy_usage[] =
    "usage: vws-admin policy check FILE [DN [FQAN...]] [--nodes N] "
    "[--memory MB]\n"
    "                              [--duration D|unbounded] [--held N] "
    "[--group-held N]\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vws-admin policy: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(policy_usage, stderr);
    return 2;
}

/* A whole unsigned number of at most UINT_MAX, for OPT: 0, or -1 after
 * the usage error. */
static int
parse_unsigned(const char *opt, const char *s, unsigned *out)
{
    uint64_t v;

    if (s[0] < '0' || s[0] > '9' || vws_parse_u64(s, &v) < 0 ||
        v > UINT_MAX) {
        usage_error("%s '%s' is not a number from 0 to %u", opt, s,
                    UINT_MAX);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* A duration as the policy file writes it ("90m", "4h", seconds), read by
 * the configuration parser; or "unbounded" (-1).  0, or -1 after the
 * usage error. */
struct dur { int64_t d; };

static const struct vws_conf_option dur_table[] = {
    VWS_CONF_DURATION_OPT("", "duration", struct dur, d, "0", 0, INT64_MAX,
                          "the length asked for"),
    VWS_CONF_END
};

static int
parse_duration(const char *s, int64_t *out)
{
    struct dur d = { 0 };

    if (strcmp(s, "unbounded") == 0) {
        *out = -1;
        return 0;
    }
    vws_error_reset();
    if (vws_conf_set(dur_table, &d, "duration", s) < 0) {
        usage_error("--duration: %s", vws_error_message());
        return -1;
    }
    *out = d.d;
    return 0;
}

struct held { unsigned dn, group; };

static unsigned
count_held(void *arg, const char *dn, const char *group)
{
    const struct held *h = arg;

    (void)group;
    return dn ? h->dn : h->group;
}

static int
policy_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "nodes", required_argument, NULL, 'n' },
        { "memory", required_argument, NULL, 'm' },
        { "duration", required_argument, NULL, 'd' },
        { "held", required_argument, NULL, 'H' },
        { "group-held", required_argument, NULL, 'G' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct vws_policy_request req = { 1, 1, 1 };
    struct held held = { 0, 0 };
    struct vws_identity id = VWS_IDENTITY_INIT;
    struct vws_policy *p = NULL;
    bool asked = false;
    const char *file;
    int opt, rc = 2;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (parse_unsigned("--nodes", optarg, &req.nodes) < 0)
                goto cleanup;
            asked = true;
            break;
        case 'm':
            if (parse_unsigned("--memory", optarg, &req.memory_mb) < 0)
                goto cleanup;
            asked = true;
            break;
        case 'd':
            if (parse_duration(optarg, &req.duration_s) < 0)
                goto cleanup;
            asked = true;
            break;
        case 'H':
            if (parse_unsigned("--held", optarg, &held.dn) < 0)
                goto cleanup;
            asked = true;
            break;
        case 'G':
            if (parse_unsigned("--group-held", optarg, &held.group) < 0)
                goto cleanup;
            asked = true;
            break;
        case 'h':
            fputs(policy_usage, stdout);
            rc = 0;
            goto cleanup;
        default:
            fputs(policy_usage, stderr);
            goto cleanup;
        }
    }
    if (optind >= argc) {
        rc = usage_error("missing FILE");
        goto cleanup;
    }
    file = argv[optind++];
    if (optind < argc)
        id.dn = vws_strdup(argv[optind++]);
    else if (asked) {
        rc = usage_error("a request (--nodes, --memory, --duration, --held, "
                         "--group-held) needs a DN");
        goto cleanup;
    }
    for (; optind < argc; optind++) {
        char *norm;

        vws_error_reset();
        if (!(norm = vws_fqan_normalise(argv[optind]))) {
            fprintf(stderr, "vws-admin policy: %s\n", vws_error_message());
            goto cleanup;
        }
        id.fqans = vws_reallocarray(id.fqans, id.n_fqans + 1,
                                    sizeof(char *));
        id.fqans[id.n_fqans++] = norm;
    }

    vws_error_reset();
    if (!(p = vws_policy_load(file))) {
        fprintf(stderr, "%s\n", vws_error_message());
        goto cleanup;
    }
    if (!id.dn) {
        char **lines = vws_policy_describe(p);

        for (size_t i = 0; lines[i]; i++)
            printf("%s\n", lines[i]);
        vws_policy_describe_free(lines);
        printf("%s: OK (%zu rule%s)\n", file, vws_policy_n_rules(p),
               vws_policy_n_rules(p) == 1 ? "" : "s");
        rc = 0;
        goto cleanup;
    }
    vws_error_reset();
    if (vws_policy_check(p, &id, &req, count_held, &held) == 0) {
        printf("allow\n");
        rc = 0;
    } else if (vws_error_code_last() == VWS_ERR_LIMIT) {
        printf("refuse: %s\n", vws_error_message());
        rc = 1;
    } else {
        fprintf(stderr, "vws-admin policy: %s\n", vws_error_message());
    }

 cleanup:
    vws_policy_free(p);
    vws_identity_release(&id);
    return rc;
}

int
vws_admin_policy(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return policy_check(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(policy_usage, stdout);
        return 0;
    }
    if (argc < 2)
        return usage_error("missing subcommand (check)");
    return usage_error("unknown subcommand '%s' (expected check)", argv[1]);
}
