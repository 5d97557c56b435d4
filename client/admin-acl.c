/*
 * admin-acl.c — vws-admin acl: ask the site ACL what it decides.
 *
 *   vws-admin acl check --dn DN [--fqan FQAN]... --op OP [--file FILE]
 *                       [--limited] [--owner DN]
 *       prints "allow: FILE:LINE: RULE" or "deny: no rule matched (default
 *       deny)"; exit 0 allow, 1 deny, 2 errors (usage, a broken file: its
 *       "FILE:LINE: message" on stderr).
 *   vws-admin acl show [--file FILE]
 *       prints every rule in decision order with its FILE:LINE.
 *
 * It reads the file exactly as the services do (common/acl), so it is also
 * the way to check an edited file before sending the daemons SIGHUP.
 */
#define VWS_MODULE "admin"
#include <config.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "admin.h"
#include "identity.h"
#include "internal.h"

#define ACL_DEFAULT_FILE VWS_SYSCONFDIR "/acl"

static const char check_usage[] =
    "usage: vws-admin acl check --dn DN [--fqan FQAN]... --op OP "
    "[--file FILE] [--limited] [--owner DN]\n"
    "       vws-admin acl show [--file FILE]\n";

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vws-admin acl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(check_usage, stderr);
    return 2;
}

static struct vws_acl *
load(const char *file)
{
    struct vws_acl *acl;

    vws_error_reset();
    if (!(acl = vws_acl_load(file)))
        fprintf(stderr, "%s\n", vws_error_message());
    return acl;
}

static int
acl_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "dn", required_argument, NULL, 'd' },
        { "fqan", required_argument, NULL, 'f' },
        { "op", required_argument, NULL, 'o' },
        { "file", required_argument, NULL, 'F' },
        { "limited", no_argument, NULL, 'l' },
        { "owner", required_argument, NULL, 'O' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct vws_identity id = VWS_IDENTITY_INIT;
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;
    struct vws_buf out = VWS_BUF_INIT;
    struct vws_acl *acl = NULL;
    const char *file = ACL_DEFAULT_FILE, *owner = NULL, *opname = NULL;
    int opt, op = -1, rc = 2;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (id.dn) {
                rc = usage_error("more than one --dn");
                goto cleanup;
            }
            id.dn = vws_strdup(optarg);
            break;
        case 'f': {
            char *norm;

            vws_error_reset();
            if (!(norm = vws_fqan_normalise(optarg))) {
                fprintf(stderr, "vws-admin acl: %s\n", vws_error_message());
                goto cleanup;
            }
            id.fqans = vws_reallocarray(id.fqans, id.n_fqans + 1,
                                        sizeof(char *));
            id.fqans[id.n_fqans++] = norm;
            break;
        }
        case 'o':
            opname = optarg;
            if ((op = vws_acl_op_parse(optarg)) < 0) {
                rc = usage_error("unknown operation '%s' (expected create, "
                                 "inspect, manage, deploy, broker, host or "
                                 "admin)", optarg);
                goto cleanup;
            }
            break;
        case 'F': file = optarg; break;
        case 'l': id.proxy = VWS_PROXY_LIMITED; break;
        case 'O': owner = optarg; break;
        case 'h':
            fputs(check_usage, stdout);
            rc = 0;
            goto cleanup;
        default:
            fputs(check_usage, stderr);
            goto cleanup;
        }
    }
    if (optind < argc) {
        rc = usage_error("unexpected argument '%s'", argv[optind]);
        goto cleanup;
    }
    if (!id.dn) {
        rc = usage_error("missing --dn");
        goto cleanup;
    }
    if (owner && op >= 0 && op != VWS_ACL_MANAGE) {
        rc = usage_error("--owner asks whether the caller may manage a "
                         "workspace: it goes with --op manage, not '%s'",
                         opname);
        goto cleanup;
    }
    if (op < 0 && !owner) {
        rc = usage_error("missing --op");
        goto cleanup;
    }
    if (!(acl = load(file)))
        goto cleanup;

    if (owner)
        rc = vws_acl_may_manage(acl, &id, owner, &why) ? 0 : 1;
    else
        rc = vws_acl_check(acl, &id, (enum vws_acl_op)op, &why) ? 0 : 1;
    vws_acl_decision_format(&why, &out);
    printf("%s: %s\n", rc == 0 ? "allow" : "deny", out.s);

 cleanup:
    vws_buf_release(&out);
    vws_acl_decision_release(&why);
    vws_acl_free(acl);
    vws_identity_release(&id);
    return rc;
}

static int
acl_show(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "file", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 }
    };
    const char *file = ACL_DEFAULT_FILE;
    struct vws_buf out = VWS_BUF_INIT;
    struct vws_acl *acl;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        if (opt != 'F') {
            fputs(check_usage, stderr);
            return 2;
        }
        file = optarg;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!(acl = load(file)))
        return 2;
    vws_acl_dump(acl, &out);
    fwrite(out.s, 1, out.len, stdout);
    printf("%s: %zu rules\n", file, vws_acl_n_rules(acl));
    vws_buf_release(&out);
    vws_acl_free(acl);
    return 0;
}

int
vws_admin_acl(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return acl_check(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return acl_show(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(check_usage, stdout);
        return 0;
    }
    if (argc < 2)
        return usage_error("missing subcommand (check or show)");
    return usage_error("unknown subcommand '%s' (expected check or show)",
                       argv[1]);
}
