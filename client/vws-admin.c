/*
 * vws-admin — the site administrator's tool.
 *
 * Subcommands are rows of one table (name, handler, synopsis); each handler
 * gets its own argv:
 *   vws-admin validate FILE...   OK, or the first error with its line
 *   vws-admin show FILE          the document as the services will see it
 *   vws-admin images ...         the Repository's image pool (admin-images.c)
 *   vws-admin acl ...            ask the site ACL (admin-acl.c)
 *   vws-admin policy check ...   the group policy file (admin-policy.c)
 *   vws-admin hosts ...          the Factory's VMM hosts (admin-hosts.c)
 */
#define VWS_MODULE "admin"
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "document.h"
#include "internal.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *help;
};

static int cmd_validate(int argc, char **argv);
static int cmd_show(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    { "validate", cmd_validate, "validate [-q] FILE...",
      "Check vws documents (workspace descriptions, deployment requests, image\n"
      "templates, instance metadata) against the schemas and the rules the\n"
      "services apply.  Prints 'FILE: OK (kind)' or the first error with its\n"
      "line.  Exit status 0 when every file is valid, 1 otherwise." },
    { "show", cmd_show, "show FILE",
      "Validate FILE and print it as the services will see it: the document\n"
      "read into vws's structures and written back." },
    { "images", vws_admin_images,
      "images [--repository URL] add TEMPLATE.xml | list | remove NAME",
      "Manage the Repository's image pool (needs the ACL operation admin).\n"
      "'add' validates the template document first.  The Repository is\n"
      "--repository URL or $VWS_REPOSITORY." },
    { "acl", vws_admin_acl,
      "acl check --dn DN [--fqan FQAN]... --op OP [--file FILE]",
      "Ask the site ACL (default " VWS_SYSCONFDIR "/acl, see vws-acl(5)) whether\n"
      "a caller may do an operation, and print the decision and the rule that\n"
      "made it: 'allow: FILE:LINE: RULE' or 'deny: no rule matched (default\n"
      "deny)'.  --limited: the caller uses a limited proxy.  --owner DN: may\n"
      "the caller manage a workspace owned by DN (the owner with 'manage', or\n"
      "an admin)?  'acl show [--file FILE]' lists the rules.  Exit status 0\n"
      "for allow, 1 for deny, 2 for errors (a broken file: FILE:LINE: message)." },
    { "policy", vws_admin_policy,
      "policy check FILE [DN [FQAN...]] [--nodes N] [--memory MB] [--duration D]",
      "Read the site's group policy file (vws-policy(5)) as the Factory does:\n"
      "without a DN, print its rules and 'FILE: OK (N rules)'; with a DN and\n"
      "FQANs, check a request (default 1 node, 1 MB, 1 s; --held N and\n"
      "--group-held N: workspaces the DN and each shared group hold, default\n"
      "0) and print 'allow' or 'refuse: policy FILE:LINE (RULE): ...'.  Exit\n"
      "status 0 valid/allow, 1 refuse, 2 errors (FILE:LINE: message)." },
    { "hosts", vws_admin_hosts,
      "hosts [--factory URL] list | drain NAME | remove NAME",
      "The Factory's VMM hosts: the Managers that registered with it.  'list'\n"
      "prints each host's name, state (active, draining, down), URL, VMs,\n"
      "memory (MB), workspaces, last heartbeat and reason.  'drain' stops new\n"
      "leases on a host (its running ones go on); 'remove' forgets an idle\n"
      "host (both need the ACL operation admin).  The Factory is --factory\n"
      "URL or $VWS_FACTORY.  Exit status 0, 1 when the Factory refused or\n"
      "cannot be reached, 2 for usage errors." },
    { "help", cmd_help, "help [COMMAND]", "Show help." },
};

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: vws-admin [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < VWS_N_ELEMENTS(commands); i++)
        fprintf(out, "   %s\n", commands[i].synopsis);
    fprintf(out, "\n'vws-admin help COMMAND' tells more; see also vws-admin(8).\n");
}

static int
cmd_help(int argc, char **argv)
{
    const struct command *c;

    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (!(c = find_command(argv[1]))) {
        fprintf(stderr, "vws-admin: unknown command '%s'\n", argv[1]);
        return 2;
    }
    printf("usage: vws-admin %s\n\n%s\n", c->synopsis, c->help);
    return 0;
}

static int
cmd_validate(int argc, char **argv)
{
    int quiet = 0, failed = 0, opt;

    optind = 1;
    while ((opt = getopt(argc, argv, "+q")) != -1) {
        switch (opt) {
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: vws-admin %s\n", find_command("validate")->synopsis);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: vws-admin %s\n", find_command("validate")->synopsis);
        return 2;
    }
    for (int i = optind; i < argc; i++) {
        struct vws_doc doc = VWS_DOC_INIT;

        vws_error_reset();
        if (vws_doc_load(&doc, argv[i], VWS_DOC_ANY) < 0) {
            const vws_error *e = vws_error_last();
            printf("%s\n", e ? e->message : "unknown error");
            failed = 1;
        } else if (!quiet) {
            printf("%s: OK (%s)\n", argv[i], vws_doc_kind_name(doc.kind));
        }
        vws_doc_release(&doc);
    }
    return failed;
}

static int
cmd_show(int argc, char **argv)
{
    struct vws_doc doc = VWS_DOC_INIT;
    struct vws_buf out = VWS_BUF_INIT;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: vws-admin %s\n", find_command("show")->synopsis);
        return 2;
    }
    if (vws_doc_load(&doc, argv[1], VWS_DOC_ANY) < 0 ||
        vws_doc_serialize(&doc, &out) < 0) {
        printf("%s\n", vws_error_message());
        goto cleanup;
    }
    printf("%s: OK (%s)\n", argv[1], vws_doc_kind_name(doc.kind));
    fwrite(out.s, 1, out.len, stdout);
    rc = 0;

 cleanup:
    vws_buf_release(&out);
    vws_doc_release(&doc);
    return rc;
}

int
main(int argc, char **argv)
{
    const struct command *c;

    vws_log_set_ident("vws-admin");
    vws_log_set_level(VWS_LOG_WARN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("vws-admin %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!(c = find_command(argv[1]))) {
        fprintf(stderr, "vws-admin: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
