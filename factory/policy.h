/*
 * policy.h — the site's group policy: how much one workspace request may
 * ask for, and how many workspaces a DN or a VO group may hold at once.
 *
 * The Factory refuses a Create that breaks it.  An admin edits a
 * line-oriented file (syntax and examples in vws-policy(5)):
 *
 *   # /etc/vws/policy                               comments and blank lines
 *   default max_nodes=4 max_memory=2048 max_duration=4h max_workspaces=8
 *   dn "/O=Grid/OU=vws-test/CN=Bob" max_nodes=1 max_workspaces=1
 *   dn "/O=Grid/OU=vws-test/CN=*" max_duration=1h    DN glob: * and ?
 *   fqan /vws/students max_workspaces=2 shared       2 at once for the group
 *   fqan /vws/Role=broker max_nodes=16 max_memory=8G
 *
 * Limits: max_nodes (nodes per workspace), max_memory (MB per node; or with
 * a suffix M, G, T), max_duration (seconds, or with a suffix s, m, h, d),
 * max_workspaces (live workspaces at once: per DN, or for the whole FQAN
 * group with "shared").
 *
 * Which limits apply to a caller: every dn and fqan rule that matches the
 * caller applies, so for each limit the strictest (smallest) value among
 * them is in effect.  A limit that no matching dn or fqan rule sets comes
 * from the default line; a limit set nowhere is unlimited.  A "shared"
 * max_workspaces is a quota of its own for its group (it is always checked,
 * and does not replace the per-DN limit).  The order of the lines does not
 * matter, except that it chooses which rule is named when two are equally
 * strict (the first).
 *
 * A loaded policy never changes, so any number of threads may check
 * against it at once.  Reloading is the Factory's: it loads the file anew,
 * and keeps the old policy when the new file is broken.
 */
#ifndef VWS_POLICY_H
#define VWS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/identity.h"

/* Limits of the file format (beyond them the load fails, naming the place). */
#define VWS_POLICY_MAX_LINE      4096         /* bytes per line, without '\n' */
#define VWS_POLICY_MAX_FILE      (4 << 20)    /* bytes per file (4 MiB) */

/* Bounds of the values (a larger one is refused, naming the bound). */
#define VWS_POLICY_MAX_NODES      100000
#define VWS_POLICY_MAX_MEMORY_MB  (16 * 1024 * 1024)      /* 16 TiB */
#define VWS_POLICY_MAX_DURATION_S (3650 * 86400)          /* 3650 days */
#define VWS_POLICY_MAX_WORKSPACES 1000000

struct vws_policy;

/* Read the policy file PATH.  Returns a new policy, or NULL with the error
 * reported once as "FILE:LINE: what is wrong (what was expected)"
 * (VWS_ERR_CONFIG; VWS_ERR_LIMIT for an oversized line or file;
 * VWS_ERR_NOT_FOUND / VWS_ERR_IO when it cannot be read). */
struct vws_policy *vws_policy_load(const char *path);
/* The same from LEN bytes of BUF (need not be NUL-terminated); NAME stands
 * for the file in messages. */
struct vws_policy *vws_policy_load_buffer(const char *name, const char *buf,
                                          size_t len);
/* NULL is a no-op. */
void vws_policy_free(struct vws_policy *p);

/* What a workspace request asks for. */
struct vws_policy_request {
    unsigned nodes;
    unsigned memory_mb;      /* per node */
    int64_t duration_s;      /* -1: unbounded or unknown */
};

/* How many live workspaces the DN holds now (FQAN_GROUP NULL), or the FQAN
 * group (DN NULL): FQAN_GROUP is the rule's FQAN as normalised
 * ("/vws/students", "/vws/Role=broker"); the Factory counts the workspaces
 * whose creator had an FQAN matching it, as vws_policy_fqan_matches() says. */
typedef unsigned (*vws_policy_count_fn)(void *arg, const char *dn,
                                        const char *fqan_group);

/* May ID have R now?  0 if so.  -1 with VWS_ERR_LIMIT reported as
 * "policy FILE:LINE (dn \"...\"): at most 1 node per workspace, asked 2",
 * naming the rule in effect, its limit and the request (or what is held);
 * the limits are checked in the order nodes, memory, duration, workspaces
 * per DN, shared group quotas (file order).  COUNT is called only for the
 * max_workspaces that apply (once for the DN, once per shared rule); it may
 * be NULL when none can (then a max_workspaces in effect counts 0 held).
 * -1 with VWS_ERR_INVALID_ARG without a policy, identity, DN or request. */
int vws_policy_check(const struct vws_policy *p,
                     const struct vws_identity *id,
                     const struct vws_policy_request *r,
                     vws_policy_count_fn count, void *arg);

/* Does FQAN (a caller's, normalised) belong to the group of a rule whose
 * FQAN is FQAN_GROUP (as passed to the count function)?  The same test the
 * rules use: the group or below it, any role; with a role in FQAN_GROUP,
 * exactly that group and role. */
int vws_policy_fqan_matches(const char *fqan_group, const char *fqan);

/* Number of rules (the default line counts one). */
size_t vws_policy_n_rules(const struct vws_policy *p);

/* One line per rule, in file order, for display and the Factory's resource
 * properties: "default: max_nodes=4 max_memory=2048 max_duration=4h
 * max_workspaces=8", "dn \"/O=Grid/CN=Bob\": max_nodes=1",
 * "fqan /vws/students: max_workspaces=2 shared".  A NULL-terminated array
 * of new strings (free each, then the array; NULL P gives an empty one). */
char **vws_policy_describe(const struct vws_policy *p);
/* Free what vws_policy_describe() returned (NULL is a no-op). */
void vws_policy_describe_free(char **lines);

#endif /* VWS_POLICY_H */
