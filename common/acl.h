/*
 * acl.h — who may do what: the site's ACL file, read and decided on.
 *
 * An admin edits a line-oriented file (syntax and examples in vws-acl(5)):
 *
 *   # site ACL                             comments and blank lines
 *   include acl.d/site-*.acl               relative to this file; globs sorted
 *   gridmap /etc/grid-security/grid-mapfile            every DN in it may
 *                                                      create,inspect,manage,deploy
 *   allow dn "/O=Grid/OU=vws-test/CN=Alice" create,inspect,manage,deploy
 *   deny  dn "/O=Grid/OU=vws-test/CN=Mallory" *
 *   allow dn "/O=Grid/OU=vws-test/CN=*" inspect       DN glob: * and ?
 *   allow fqan /vws/Role=admin admin,host             exactly that group and role
 *   allow fqan /vws/users create,inspect              the group, its subgroups, any role
 *   allow any inspect                                 every authenticated caller
 *
 * Precedence: a matching deny rule always wins; otherwise a matching allow
 * rule allows; when nothing matches the answer is deny.  Rule order only
 * chooses which rule is reported (the first matching deny, else the first
 * matching allow, in file order with includes read in place).
 *
 * Life cycle: vws_acl_load() returns an ACL with one reference;
 * vws_acl_ref() adds one, vws_acl_free() drops one and frees the ACL with
 * the last.  A loaded ACL never changes, so any number of threads may decide
 * on it at once.  Daemons hold it through a struct vws_acl_handle, which
 * reloads when asked (SIGHUP) or when one of the files changed, and keeps the
 * last good ACL when the new file is broken: a broken file never opens access.
 */
#ifndef VWS_ACL_H
#define VWS_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "identity.h"
#include "strbuf.h"

/* Operations a rule can name.  To add one: a value here (before
 * VWS_ACL_N_OPS) and a row in acl.c's op_table; nothing else changes. */
enum vws_acl_op {
    VWS_ACL_CREATE = 0, /* create a workspace */
    VWS_ACL_INSPECT,    /* read a workspace's state and properties */
    VWS_ACL_MANAGE,     /* start, pause, shut down, destroy one's own workspaces */
    VWS_ACL_DEPLOY,     /* ask for resources and time (deployment requests) */
    VWS_ACL_BROKER,     /* negotiate agreements on behalf of others */
    VWS_ACL_HOST,       /* service-to-service calls with a host credential */
    VWS_ACL_ADMIN,      /* site admin: manage every workspace, site operations */
    VWS_ACL_N_OPS
};

/* "create", ...; "unknown" for a value out of range. */
const char *vws_acl_op_name(enum vws_acl_op op);
/* The operation named NAME, or -1 (nothing reported). */
int vws_acl_op_parse(const char *name);

/* Limits of the file format (beyond them the load fails, naming the place). */
#define VWS_ACL_MAX_LINE      4096            /* bytes per line, without '\n' */
#define VWS_ACL_MAX_FILE      (4 << 20)       /* bytes per file (4 MiB) */
#define VWS_ACL_MAX_DEPTH     8               /* include nesting */
#define VWS_ACL_MAX_FILES     64              /* files read in one load */

struct vws_acl;

/* Read the ACL file PATH and every file it includes.  Returns a new ACL
 * (one reference) or NULL with the error reported once as
 * "FILE:LINE: what is wrong (what was expected)". */
struct vws_acl *vws_acl_load(const char *path);
/* The same from memory; NAME is used in messages, and relative includes are
 * resolved against its directory.  BUF need not be NUL-terminated. */
struct vws_acl *vws_acl_load_buffer(const char *name, const char *buf,
                                    size_t len);
/* Add a reference; returns ACL. */
struct vws_acl *vws_acl_ref(struct vws_acl *acl);
/* Drop a reference (NULL is a no-op); the last one frees the ACL. */
void vws_acl_free(struct vws_acl *acl);

/* Number of rules (grid-mapfile entries count one each). */
size_t vws_acl_n_rules(const struct vws_acl *acl);
/* Append every rule as "FILE:LINE: TEXT\n" to OUT, in decision order. */
void vws_acl_dump(const struct vws_acl *acl, struct vws_buf *out);
/* True when a file the ACL was read from (or a directory an include
 * pattern looked into) has changed since: inode, size, mtime or ctime
 * differ, or it is gone. */
bool vws_acl_changed(const struct vws_acl *acl);

/* Why a decision was made.  Start from VWS_ACL_DECISION_INIT; each decision
 * releases what an earlier one left; vws_acl_decision_release() frees. */
enum vws_acl_reason {
    VWS_ACL_NO_MATCH = 0,  /* no rule matched: default deny */
    VWS_ACL_RULE,          /* FILE:LINE: RULE decided */
    VWS_ACL_BUILTIN,       /* a fixed policy decided (RULE says which) */
};

struct vws_acl_decision {
    bool allow;
    enum vws_acl_reason reason;
    char *file;            /* VWS_ACL_RULE: the file of the rule */
    unsigned line;         /* VWS_ACL_RULE: its line */
    char *rule;            /* the rule as written, or the built-in policy */
    const char *context;   /* static note ("owner", ...) or NULL */
};
#define VWS_ACL_DECISION_INIT { false, VWS_ACL_NO_MATCH, NULL, 0, NULL, NULL }

void vws_acl_decision_release(struct vws_acl_decision *why);
/* "FILE:LINE: RULE", "no rule matched (default deny)" or "RULE (built-in)",
 * with " [CONTEXT]" when there is one, appended to OUT. */
void vws_acl_decision_format(const struct vws_acl_decision *why,
                             struct vws_buf *out);

/* May ID do OP?  Returns 1 to allow, 0 to deny: never anything else, so
 * "if (vws_acl_check(...))" is safe.  A bad argument (no ACL, an op out of
 * range) denies and reports VWS_ERR_INVALID_ARG; a caller without a DN is
 * denied; a limited proxy is denied create and deploy whatever the rules
 * say.  WHY may be NULL. */
int vws_acl_check(const struct vws_acl *acl, const struct vws_identity *id,
                  enum vws_acl_op op, struct vws_acl_decision *why);

/* May ID manage the workspace created by OWNER_DN?  The owner may if the
 * ACL allows it 'manage'; anyone else only with 'admin'.  1 / 0 as above. */
int vws_acl_may_manage(const struct vws_acl *acl,
                       const struct vws_identity *id, const char *owner_dn,
                       struct vws_acl_decision *why);

/* The matching the rules use, for other files keyed by DN or FQAN (the
 * Factory's policy file).  A DN glob: '*' any run (also '/'), '?' one byte,
 * '\' makes the next byte literal; a pattern without them is compared
 * whole.  An FQAN (normalised, as in struct vws_identity) matches GROUP
 * ("/vws/users") when its group is GROUP or below it, whatever its role;
 * with ROLE not NULL, only exactly GROUP with that role. */
bool vws_acl_dn_match(const char *pattern, const char *dn);
bool vws_acl_fqan_match(const char *group, const char *role, const char *fqan);

/*
 * The ACL of a running daemon.
 *
 *   h = vws_acl_handle_open("/etc/vws/acl", 1000);     first load must work
 *   on SIGHUP, in the handler:   vws_acl_handle_request_reload(h);
 *   per request:                 if (vws_acl_handle_check(h, id, op, &why)) ...
 *   at exit:                     vws_acl_handle_close(h);
 *
 * Readers never block on a reload: vws_acl_handle_get() takes a reference
 * to the current ACL (a short mutex hold), and a reload parses the new files
 * outside any reader's way, then swaps the pointer; the old ACL is freed
 * when its last reader drops it (RCU by reference count).
 *
 * The library installs no signal handler: the daemon's handler (or its
 * signalfd loop) calls vws_acl_handle_request_reload(), which only sets a
 * flag and is async-signal-safe; the next vws_acl_handle_get() reloads.
 */
struct vws_acl_handle;

/* Load PATH and hold it.  CHECK_MS: how often vws_acl_handle_get() looks
 * whether the files changed (0: on every call; negative: never, only on
 * request).  NULL with the error reported when the first load fails. */
struct vws_acl_handle *vws_acl_handle_open(const char *path, int check_ms);
/* Free the handle; ACLs readers still hold stay valid until they drop them. */
void vws_acl_handle_close(struct vws_acl_handle *h);

/* The current ACL with a new reference (vws_acl_free() it); reloads first
 * when a reload was requested or the files changed.  Never NULL. */
struct vws_acl *vws_acl_handle_get(struct vws_acl_handle *h);
/* Read the file again now.  0: the new ACL is in use.  -1: it is broken;
 * the last good ACL stays in use, the error ("FILE:LINE: ...") is reported
 * and logged with VWS_WARN. */
int vws_acl_handle_reload(struct vws_acl_handle *h);
/* Ask for a reload at the next vws_acl_handle_get(); async-signal-safe. */
void vws_acl_handle_request_reload(struct vws_acl_handle *h);
/* How many ACLs were loaded so far (1 after open). */
unsigned long vws_acl_handle_generation(struct vws_acl_handle *h);

/* vws_acl_check() and vws_acl_may_manage() on the current ACL. */
int vws_acl_handle_check(struct vws_acl_handle *h,
                         const struct vws_identity *id, enum vws_acl_op op,
                         struct vws_acl_decision *why);
int vws_acl_handle_may_manage(struct vws_acl_handle *h,
                              const struct vws_identity *id,
                              const char *owner_dn,
                              struct vws_acl_decision *why);

#endif /* VWS_ACL_H */
