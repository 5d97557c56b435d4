/*
 * policy.c — the site's group policy file: parsing, and the check the
 * Factory makes before it admits a workspace (see policy.h for the API and
 * the combination rule, docs/vws-policy.5 for the syntax admins see).
 *
 * A load reads the file whole (at most VWS_POLICY_MAX_FILE bytes), checks
 * each line for length, control bytes and UTF-8 before it splits it into
 * words (the quoting of the ACL file: "..." with \" and \\), so binary junk
 * stops at its first line with a reason.  Each rule becomes one row: its
 * subject (default, a DN glob, an FQAN group with an optional role) and the
 * limits it sets.  The values go through the configuration parser
 * (vws_conf_set() on a table of the four limits), so numbers, durations and
 * their bounds read and fail as they do in vws.conf; the matching of DNs
 * and FQANs is the ACL's (vws_acl_dn_match(), vws_acl_fqan_match()).
 *
 * A check walks the rules once per limit: the strictest matching dn/fqan
 * rule that sets the limit, else the default line, decides it.
 */
#define VWS_MODULE "policy"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/acl.h"
#include "common/conf.h"
#include "common/words.h"
#include "factory/policy.h"
#include "internal.h"

/* ==== the limits ======================================================= */

enum pol_limit { L_NODES = 0, L_MEMORY, L_DURATION, L_WORKSPACES, L_N };

/* The values of one line, filled by vws_conf_set() through value_table. */
struct pol_values {
    int64_t nodes, memory, duration, workspaces;
};

static const struct vws_conf_option value_table[] = {
    VWS_CONF_INT_OPT("", "max_nodes", struct pol_values, nodes, "1",
                     1, VWS_POLICY_MAX_NODES, "nodes per workspace"),
    VWS_CONF_INT_OPT("", "max_memory", struct pol_values, memory, "1",
                     1, VWS_POLICY_MAX_MEMORY_MB, "MB of memory per node"),
    VWS_CONF_DURATION_OPT("", "max_duration", struct pol_values, duration,
                          "1", 1, VWS_POLICY_MAX_DURATION_S,
                          "length of a workspace's lease"),
    VWS_CONF_INT_OPT("", "max_workspaces", struct pol_values, workspaces,
                     "0", 0, VWS_POLICY_MAX_WORKSPACES,
                     "live workspaces at once"),
    VWS_CONF_END
};

static const char *const limit_names[L_N] = {
    [L_NODES] = "max_nodes", [L_MEMORY] = "max_memory",
    [L_DURATION] = "max_duration", [L_WORKSPACES] = "max_workspaces",
};

static int64_t
values_get(const struct pol_values *v, enum pol_limit l)
{
    switch (l) {
    case L_NODES:      return v->nodes;
    case L_MEMORY:     return v->memory;
    case L_DURATION:   return v->duration;
    case L_WORKSPACES: return v->workspaces;
    case L_N:          break;
    }
    return 0;
}

/* ==== the policy ======================================================= */

enum pol_kind { K_DEFAULT, K_DN, K_FQAN };

struct pol_rule {
    enum pol_kind kind;
    char *pattern;        /* K_DN: the DN glob; K_FQAN: the group path */
    char *role;           /* K_FQAN: the role, or NULL for any */
    char *fqan;           /* K_FQAN: as normalised, group and role */
    bool shared;          /* K_FQAN: max_workspaces counts the group */
    bool has[L_N];
    int64_t lim[L_N];
    unsigned line;
    char *subject;        /* "default", "dn \"...\"", "fqan /vws/x" */
};

struct vws_policy {
    char *file;
    struct pol_rule *rules;
    size_t n_rules;
};

void
vws_policy_free(struct vws_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_rules; i++) {
        free(p->rules[i].pattern);
        free(p->rules[i].role);
        free(p->rules[i].fqan);
        free(p->rules[i].subject);
    }
    free(p->rules);
    free(p->file);
    free(p);
}

size_t
vws_policy_n_rules(const struct vws_policy *p)
{
    return p ? p->n_rules : 0;
}

/* ==== parsing ========================================================== */

struct pol_loc {
    const char *file;
    unsigned line;        /* 0: the file as a whole */
};

static void loc_error(const struct pol_loc *loc, vws_error_code code,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report "FILE:LINE: message". */
static void
loc_error(const struct pol_loc *loc, vws_error_code code, const char *fmt,
          ...)
{
    struct vws_buf b = VWS_BUF_INIT;
    va_list ap;

    if (loc->line)
        vws_buf_addf(&b, "%s:%u: ", loc->file, loc->line);
    else
        vws_buf_addf(&b, "%s: ", loc->file);
    va_start(ap, fmt);
    vws_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    vws_report_error(code, "%s", b.s);
    vws_buf_release(&b);
}

/* The last error again, with LOC's "FILE:LINE: " in front (the message is
 * copied first: the report overwrites it). */
static void
loc_rereport(const struct pol_loc *loc)
{
    vws_error_code code = vws_error_code_last();
    char *msg = vws_strdup(vws_error_message());

    loc_error(loc, code == VWS_ERR_INTERNAL ? code : VWS_ERR_CONFIG, "%s",
              msg);
    free(msg);
}

/* At most 64 bytes of S, for quoting in messages. */
struct shortstr { char s[72]; };

static struct shortstr
shorten(const char *s)
{
    struct shortstr out;
    size_t n = strlen(s);

    if (n <= 64) {
        memcpy(out.s, s, n + 1);
    } else {
        memcpy(out.s, s, 60);
        memcpy(out.s + 60, "...", 4);
    }
    return out;
}

#define MAX_WORDS 32

/* The words of one line (words.h), the policy's syntax errors at LOC. */
static int
split_words(const struct pol_loc *loc, const char *line, struct vws_words *ws)
{
    char why[160];

    if (vws_words_split(line, MAX_WORDS, ws, why, sizeof(why)) < 0) {
        loc_error(loc, VWS_ERR_CONFIG, "%s", why);
        return -1;
    }
    return 0;
}

/* max_memory: MB, or a number with a suffix M, G or T (either case).  The
 * suffix is folded into MB here; the bounds are the table's. */
static int
set_memory(struct pol_values *v, const char *text)
{
    size_t n = strlen(text);
    uint64_t mult = 0, x;
    char *digits;
    int rc = -1;

    if (n > 1) {
        switch (text[n - 1]) {
        case 'M': case 'm': mult = 1; break;
        case 'G': case 'g': mult = 1024; break;
        case 'T': case 't': mult = 1024 * 1024; break;
        default: break;
        }
    }
    if (!mult)
        return vws_conf_set(value_table, v, "max_memory", text);
    digits = vws_strndup(text, n - 1);
    if (digits[0] < '0' || digits[0] > '9' || vws_parse_u64(digits, &x) < 0) {
        vws_report_error(VWS_ERR_CONFIG, "'%s' is not a memory size for "
                         "'max_memory' (expected MB, or a number with a "
                         "suffix M, G or T)", shorten(text).s);
    } else if (x > UINT64_MAX / mult ||
               x * mult > (uint64_t)VWS_POLICY_MAX_MEMORY_MB) {
        vws_report_error(VWS_ERR_CONFIG, "memory %s is above the maximum "
                         "%dT for 'max_memory'", shorten(text).s,
                         VWS_POLICY_MAX_MEMORY_MB / (1024 * 1024));
    } else {
        char mb[32];

        snprintf(mb, sizeof(mb), "%" PRIu64, x * mult);
        rc = vws_conf_set(value_table, v, "max_memory", mb);
    }
    free(digits);
    return rc;
}

/* One "KEY=VALUE" or "shared" word of a rule. */
static int
parse_limit(const struct pol_loc *loc, struct pol_rule *r, const char *word,
            bool *saw_shared)
{
    const char *eq = strchr(word, '=');
    struct pol_values v = { 1, 1, 1, 0 };
    char *key;
    int l;

    if (strcmp(word, "shared") == 0) {
        if (r->kind != K_FQAN) {
            loc_error(loc, VWS_ERR_CONFIG, "'shared' applies only to fqan "
                      "rules (a group's workspaces counted together)");
            return -1;
        }
        if (*saw_shared) {
            loc_error(loc, VWS_ERR_CONFIG, "duplicate 'shared' on the line");
            return -1;
        }
        *saw_shared = true;
        return 0;
    }
    if (!eq) {
        loc_error(loc, VWS_ERR_CONFIG, "expected LIMIT=VALUE or 'shared', "
                  "not '%s'", shorten(word).s);
        return -1;
    }
    key = vws_strndup(word, (size_t)(eq - word));
    for (l = 0; l < L_N; l++)
        if (strcmp(key, limit_names[l]) == 0)
            break;
    if (l == L_N) {
        loc_error(loc, VWS_ERR_CONFIG, "unknown limit '%s' (expected "
                  "max_nodes, max_memory, max_duration or max_workspaces)",
                  shorten(key).s);
        free(key);
        return -1;
    }
    free(key);
    if (r->has[l]) {
        loc_error(loc, VWS_ERR_CONFIG, "duplicate limit '%s' on the line",
                  limit_names[l]);
        return -1;
    }
    if ((l == L_MEMORY ? set_memory(&v, eq + 1)
                       : vws_conf_set(value_table, &v, limit_names[l],
                                      eq + 1)) < 0) {
        loc_rereport(loc);
        return -1;
    }
    r->has[l] = true;
    r->lim[l] = values_get(&v, (enum pol_limit)l);
    return 0;
}

/* "dn \"...\"" with '"' and '\' escaped, as the rule is named. */
static char *
dn_subject(const char *dn)
{
    struct vws_buf b = VWS_BUF_INIT;

    vws_buf_adds(&b, "dn \"");
    for (const char *s = dn; *s; s++) {
        if (*s == '"' || *s == '\\')
            vws_buf_addch(&b, '\\');
        vws_buf_addch(&b, *s);
    }
    vws_buf_addch(&b, '"');
    return vws_buf_detach(&b, NULL);
}

/* The subject of a dn or fqan rule, W being its word. */
static int
parse_subject(const struct pol_loc *loc, struct pol_rule *r, const char *w)
{
    if (r->kind == K_DN) {
        if (w[0] != '/' && w[0] != '*' && w[0] != '?') {
            loc_error(loc, VWS_ERR_CONFIG, "expected a DN in Globus form, "
                      "\"/O=.../CN=...\" (quoted when it has spaces), not "
                      "'%s'", shorten(w).s);
            return -1;
        }
        r->pattern = vws_strdup(w);
        r->subject = dn_subject(w);
        return 0;
    } else {
        char *norm = vws_fqan_normalise(w);
        char *role;

        if (!norm) {
            loc_error(loc, VWS_ERR_CONFIG, "bad FQAN '%s' (expected "
                      "/vo[/group...][/Role=role])", shorten(w).s);
            return -1;
        }
        if (strstr(norm, "/Capability=")) {
            loc_error(loc, VWS_ERR_CONFIG, "bad FQAN '%s': capabilities are "
                      "not supported in rules (expected /vo[/group...]"
                      "[/Role=role])", shorten(w).s);
            free(norm);
            return -1;
        }
        r->fqan = vws_strdup(norm);
        r->subject = vws_asprintf("fqan %s", norm);
        if ((role = strstr(norm, "/Role="))) {
            r->role = vws_strdup(role + 6);
            *role = '\0';
        }
        r->pattern = norm;
        return 0;
    }
}

static void
rule_release(struct pol_rule *r)
{
    free(r->pattern);
    free(r->role);
    free(r->fqan);
    free(r->subject);
}

/* One non-empty line. */
static int
parse_line(struct vws_policy *p, const struct pol_loc *loc,
           struct vws_words *ws)
{
    struct pol_rule r;
    bool saw_shared = false;
    const char *kw = ws->w[0];
    size_t next;

    memset(&r, 0, sizeof(r));
    r.line = loc->line;
    if (strcmp(kw, "default") == 0) {
        r.kind = K_DEFAULT;
        r.subject = vws_strdup("default");
        next = 1;
    } else if (strcmp(kw, "dn") == 0 || strcmp(kw, "fqan") == 0) {
        r.kind = kw[0] == 'd' ? K_DN : K_FQAN;
        if (ws->n < 2) {
            loc_error(loc, VWS_ERR_CONFIG, "missing the %s after '%s'",
                      r.kind == K_DN ? "DN" : "FQAN", kw);
            return -1;
        }
        if (parse_subject(loc, &r, ws->w[1]) < 0)
            goto fail;
        next = 2;
    } else {
        loc_error(loc, VWS_ERR_CONFIG, "unknown keyword '%s' (expected "
                  "default, dn or fqan)", shorten(kw).s);
        return -1;
    }
    if (next == ws->n) {
        loc_error(loc, VWS_ERR_CONFIG, "no limits on the line (expected "
                  "max_nodes=N, max_memory=MB, max_duration=D or "
                  "max_workspaces=N)");
        goto fail;
    }
    for (size_t i = next; i < ws->n; i++)
        if (parse_limit(loc, &r, ws->w[i], &saw_shared) < 0)
            goto fail;
    if (saw_shared && !r.has[L_WORKSPACES]) {
        loc_error(loc, VWS_ERR_CONFIG, "'shared' needs max_workspaces on "
                  "the same line (it counts the group's workspaces)");
        goto fail;
    }
    r.shared = saw_shared;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct pol_rule *o = &p->rules[i];

        if (o->kind != r.kind || (r.kind == K_DN &&
                                  strcmp(o->pattern, r.pattern) != 0) ||
            (r.kind == K_FQAN && strcmp(o->fqan, r.fqan) != 0))
            continue;
        if (r.kind == K_DEFAULT)
            loc_error(loc, VWS_ERR_CONFIG, "duplicate default line (first "
                      "on line %u)", o->line);
        else
            loc_error(loc, VWS_ERR_CONFIG, "duplicate rule for %s (first on "
                      "line %u; put its limits on one line)",
                      shorten(r.subject).s, o->line);
        goto fail;
    }
    p->rules = vws_reallocarray(p->rules, p->n_rules + 1, sizeof(r));
    p->rules[p->n_rules++] = r;
    return 0;

 fail:
    rule_release(&r);
    return -1;
}

static int
parse_buffer(struct vws_policy *p, const char *buf, size_t len)
{
    struct pol_loc loc = { p->file, 0 };
    struct vws_words ws = { .n = 0 };
    char *line = vws_malloc(VWS_POLICY_MAX_LINE + 1);
    size_t off = 0;
    int ret = -1;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        off = 3;                     /* a UTF-8 byte order mark */
    while (off < len) {
        const char *start = buf + off;
        const char *nl = memchr(start, '\n', len - off);
        size_t n = nl ? (size_t)(nl - start) : len - off;
        size_t valid;

        loc.line++;
        off += nl ? n + 1 : n;
        if (n > 0 && start[n - 1] == '\r')
            n--;                     /* CRLF */
        if (n > VWS_POLICY_MAX_LINE) {
            loc_error(&loc, VWS_ERR_LIMIT, "line is longer than %d bytes "
                      "(%zu bytes)", VWS_POLICY_MAX_LINE, n);
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)start[i];

            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                loc_error(&loc, VWS_ERR_CONFIG, "binary data: byte 0x%02x "
                          "at column %zu (expected a text file)", c, i + 1);
                goto cleanup;
            }
        }
        valid = vws_utf8_valid_prefix((const unsigned char *)start, n);
        if (valid < n) {
            loc_error(&loc, VWS_ERR_CONFIG, "not UTF-8 text: byte 0x%02x at "
                      "column %zu", (unsigned char)start[valid], valid + 1);
            goto cleanup;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        if (split_words(&loc, line, &ws) < 0)
            goto cleanup;
        if (ws.n > 0 && parse_line(p, &loc, &ws) < 0)
            goto cleanup;
        vws_words_release(&ws);
    }
    ret = 0;

 cleanup:
    vws_words_release(&ws);
    free(line);
    return ret;
}

struct vws_policy *
vws_policy_load_buffer(const char *name, const char *buf, size_t len)
{
    struct vws_policy *p;

    if (!name)
        name = "(buffer)";
    if (!buf && len) {
        vws_report_error(VWS_ERR_INVALID_ARG, "%s: no buffer", name);
        return NULL;
    }
    if (len > VWS_POLICY_MAX_FILE) {
        vws_report_error(VWS_ERR_LIMIT, "%s: policy file is larger than "
                         "4 MiB (%zu bytes)", name, len);
        return NULL;
    }
    p = vws_calloc(1, sizeof(*p));
    p->file = vws_strdup(name);
    if (parse_buffer(p, buf ? buf : "", len) < 0) {
        vws_policy_free(p);
        return NULL;
    }
    return p;
}

struct vws_policy *
vws_policy_load(const char *path)
{
    struct vws_policy *p = NULL;
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap;
    int fd;

    if (!path || !*path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no policy file name");
        return NULL;
    }
    /* O_NONBLOCK: opening a FIFO must not hang until a writer comes */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        vws_report_error(errno == ENOENT ? VWS_ERR_NOT_FOUND : VWS_ERR_IO,
                         "cannot open policy file '%s': %s", path,
                         strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        vws_report_error(VWS_ERR_IO, "cannot stat policy file '%s': %s",
                         path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_CONFIG, "policy file '%s' is not a regular "
                         "file", path);
        goto cleanup;
    }
    if (st.st_size > VWS_POLICY_MAX_FILE) {
        vws_report_error(VWS_ERR_LIMIT, "policy file '%s' is larger than "
                         "4 MiB (%lld bytes)", path, (long long)st.st_size);
        goto cleanup;
    }
    /* one byte more than the size, to notice a file that grew since */
    cap = (size_t)st.st_size + 1;
    buf = vws_malloc(cap);
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vws_report_error(VWS_ERR_IO, "cannot read policy file '%s': %s",
                             path, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > (size_t)st.st_size) {
        vws_report_error(VWS_ERR_IO, "policy file '%s' changed while it was "
                         "read", path);
        goto cleanup;
    }
    p = vws_policy_load_buffer(path, buf, len);

 cleanup:
    free(buf);
    close(fd);
    return p;
}

/* ==== decisions ======================================================== */

int
vws_policy_fqan_matches(const char *fqan_group, const char *fqan)
{
    const char *role;
    char *group;
    int ret;

    if (!fqan_group || !fqan)
        return 0;
    role = strstr(fqan_group, "/Role=");
    if (!role)
        return vws_acl_fqan_match(fqan_group, NULL, fqan);
    group = vws_strndup(fqan_group, (size_t)(role - fqan_group));
    ret = vws_acl_fqan_match(group, role + 6, fqan);
    free(group);
    return ret;
}

static bool
rule_matches(const struct pol_rule *r, const struct vws_identity *id)
{
    switch (r->kind) {
    case K_DEFAULT:
        return true;
    case K_DN:
        return vws_acl_dn_match(r->pattern, id->dn);
    case K_FQAN:
        for (size_t i = 0; i < id->n_fqans; i++)
            if (id->fqans[i] &&
                vws_acl_fqan_match(r->pattern, r->role, id->fqans[i]))
                return true;
        return false;
    }
    return false;
}

/* "4h", "90m", "45s": V seconds in the largest unit that divides it. */
static void
format_limit_duration(char *buf, size_t size, int64_t v)
{
    static const struct { char c; int64_t f; } units[] = {
        { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
    };

    for (size_t i = 0; i < VWS_N_ELEMENTS(units); i++) {
        if (v != 0 && v % units[i].f == 0) {
            snprintf(buf, size, "%" PRId64 "%c", v / units[i].f, units[i].c);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64 "s", v);
}

/* "1d2h", "1h30m5s": a length asked for, every unit that is not zero. */
static void
format_asked_duration(char *buf, size_t size, int64_t v)
{
    static const struct { char c; int64_t f; } units[] = {
        { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
    };
    size_t used = 0;

    buf[0] = '\0';
    if (v == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    for (size_t i = 0; i < VWS_N_ELEMENTS(units) && used < size; i++) {
        int64_t q = v / units[i].f;

        if (q == 0)
            continue;
        v -= q * units[i].f;
        used += (size_t)snprintf(buf + used, size - used, "%" PRId64 "%c",
                                 q, units[i].c);
    }
}

static void refuse(const struct vws_policy *p, const struct pol_rule *r,
                   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report "policy FILE:LINE (SUBJECT): message" as VWS_ERR_LIMIT. */
static void
refuse(const struct vws_policy *p, const struct pol_rule *r,
       const char *fmt, ...)
{
    struct vws_buf b = VWS_BUF_INIT;
    va_list ap;

    vws_buf_addf(&b, "policy %s:%u (%s): ", p->file, r->line, r->subject);
    va_start(ap, fmt);
    vws_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    vws_report_error(VWS_ERR_LIMIT, "%s", b.s);
    vws_buf_release(&b);
}

/* The rule whose value of L is in effect for ID, or NULL: the strictest
 * matching dn/fqan rule that sets L (per-DN for max_workspaces: shared
 * rules are quotas of their own), else the default line if it sets L. */
static const struct pol_rule *
rule_in_effect(const struct vws_policy *p, const struct vws_identity *id,
               enum pol_limit l)
{
    const struct pol_rule *best = NULL, *def = NULL;

    for (size_t i = 0; i < p->n_rules; i++) {
        const struct pol_rule *r = &p->rules[i];

        if (!r->has[l] || (l == L_WORKSPACES && r->shared))
            continue;
        if (r->kind == K_DEFAULT) {
            def = r;
            continue;
        }
        if ((!best || r->lim[l] < best->lim[l]) && rule_matches(r, id))
            best = r;
    }
    return best ? best : def;
}

int
vws_policy_check(const struct vws_policy *p, const struct vws_identity *id,
                 const struct vws_policy_request *req,
                 vws_policy_count_fn count, void *arg)
{
    const struct pol_rule *r;

    if (!p || !id || !req || !id->dn || !id->dn[0]) {
        vws_report_error(VWS_ERR_INVALID_ARG, "%s", !p ? "no policy"
                         : !id || !id->dn || !id->dn[0] ? "the caller has "
                         "no DN" : "no request");
        return -1;
    }
    if ((r = rule_in_effect(p, id, L_NODES)) &&
        (int64_t)req->nodes > r->lim[L_NODES]) {
        refuse(p, r, "at most %" PRId64 " node%s per workspace, asked %u",
               r->lim[L_NODES], r->lim[L_NODES] == 1 ? "" : "s", req->nodes);
        return -1;
    }
    if ((r = rule_in_effect(p, id, L_MEMORY)) &&
        (int64_t)req->memory_mb > r->lim[L_MEMORY]) {
        refuse(p, r, "at most %" PRId64 " MB of memory per node, asked %u MB",
               r->lim[L_MEMORY], req->memory_mb);
        return -1;
    }
    if ((r = rule_in_effect(p, id, L_DURATION)) &&
        (req->duration_s < 0 || req->duration_s > r->lim[L_DURATION])) {
        char lim[32], asked[64];

        format_limit_duration(lim, sizeof(lim), r->lim[L_DURATION]);
        if (req->duration_s < 0)
            snprintf(asked, sizeof(asked), "no end");
        else
            format_asked_duration(asked, sizeof(asked), req->duration_s);
        refuse(p, r, "at most %s per workspace, asked %s", lim, asked);
        return -1;
    }
    if ((r = rule_in_effect(p, id, L_WORKSPACES))) {
        unsigned held = count ? count(arg, id->dn, NULL) : 0;

        if ((int64_t)held >= r->lim[L_WORKSPACES]) {
            refuse(p, r, "at most %" PRId64 " workspace%s at once per DN, "
                   "the DN holds %u", r->lim[L_WORKSPACES],
                   r->lim[L_WORKSPACES] == 1 ? "" : "s", held);
            return -1;
        }
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        unsigned held;

        r = &p->rules[i];
        if (!r->shared || !rule_matches(r, id))
            continue;
        held = count ? count(arg, NULL, r->fqan) : 0;
        if ((int64_t)held >= r->lim[L_WORKSPACES]) {
            refuse(p, r, "at most %" PRId64 " workspace%s at once for the "
                   "group %s, it holds %u", r->lim[L_WORKSPACES],
                   r->lim[L_WORKSPACES] == 1 ? "" : "s", r->fqan, held);
            return -1;
        }
    }
    return 0;
}

/* ==== display ========================================================== */

char **
vws_policy_describe(const struct vws_policy *p)
{
    size_t n = vws_policy_n_rules(p);
    char **lines = vws_calloc(n + 1, sizeof(char *));

    for (size_t i = 0; i < n; i++) {
        const struct pol_rule *r = &p->rules[i];
        struct vws_buf b = VWS_BUF_INIT;

        vws_buf_addf(&b, "%s:", r->subject);
        for (int l = 0; l < L_N; l++) {
            char d[32];

            if (!r->has[l])
                continue;
            if (l == L_DURATION)
                format_limit_duration(d, sizeof(d), r->lim[l]);
            else
                snprintf(d, sizeof(d), "%" PRId64, r->lim[l]);
            vws_buf_addf(&b, " %s=%s", limit_names[l], d);
        }
        if (r->shared)
            vws_buf_adds(&b, " shared");
        lines[i] = vws_buf_detach(&b, NULL);
    }
    return lines;
}

void
vws_policy_describe_free(char **lines)
{
    for (size_t i = 0; lines && lines[i]; i++)
        free(lines[i]);
    free(lines);
}
