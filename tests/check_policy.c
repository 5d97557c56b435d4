/*
 * check_policy.c — unit tests of factory/policy: the limits a sample site
 * policy puts on callers (each refusal names its rule, limit and request),
 * how matching rules combine (strictest wins, default only where no rule
 * sets the limit), DN globs and FQAN group/role matching, shared and per-DN
 * counting through the count callback, the hostile corpus and the limits
 * of the format.
 *
 * The broken files are the .policy files of tests/corpus/policy;
 * corpus_cases[] holds each one's exact message, and a file without an
 * entry fails the test, so the corpus cannot grow untested.  What must not be committed (a 10 MB
 * file, a FIFO) is made in a temporary directory at run time.
 */
#define VWS_MODULE "check_policy"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/identity.h"
#include "factory/policy.h"
#include "internal.h"

/* ---- helpers ---------------------------------------------------------- */

static char *
srcpath(const char *rel)
{
    const char *top = getenv("VWS_SRCDIR");

    return vws_asprintf("%s/%s", top && *top ? top : "..", rel);
}

/* An identity from a DN and FQANs (NULL-terminated list, may be NULL). */
static void
make_id(struct vws_identity *id, const char *dn, const char *const *fqans)
{
    *id = (struct vws_identity)VWS_IDENTITY_INIT;
    id->dn = dn ? vws_strdup(dn) : NULL;
    for (size_t i = 0; fqans && fqans[i]; i++) {
        id->fqans = vws_reallocarray(id->fqans, id->n_fqans + 1,
                                     sizeof(char *));
        id->fqans[id->n_fqans++] = vws_strdup(fqans[i]);
    }
}

#define ck_error(code_, msg_) do { \
        ck_assert_str_eq(vws_error_code_name(vws_error_code_last()), \
                         vws_error_code_name(code_)); \
        ck_assert_str_eq(vws_error_message(), (msg_)); \
    } while (0)

static struct vws_policy *
load_text(const char *name, const char *text)
{
    vws_error_reset();
    return vws_policy_load_buffer(name, text, strlen(text));
}

/* The count callback: a table of what each DN and group holds, and a log
 * of the calls. */
struct counts {
    const char *dn[4];
    unsigned dn_n[4];
    const char *group[4];
    unsigned group_n[4];
    struct vws_buf calls;
};

static unsigned
count_cb(void *arg, const char *dn, const char *group)
{
    struct counts *c = arg;

    ck_assert((dn == NULL) != (group == NULL));
    vws_buf_addf(&c->calls, "%s%s%s", c->calls.len ? "," : "",
                 dn ? "dn:" : "group:", dn ? dn : group);
    for (int i = 0; i < 4; i++) {
        if (dn && c->dn[i] && strcmp(c->dn[i], dn) == 0)
            return c->dn_n[i];
        if (group && c->group[i] && strcmp(c->group[i], group) == 0)
            return c->group_n[i];
    }
    return 0;
}

/* ---- the sample site -------------------------------------------------- */

static const char site_text[] =
    "# the sample site policy\n"                                      /* 1 */
    "default max_nodes=4 max_memory=2048 max_duration=4h "
    "max_workspaces=8\n"                                              /* 2 */
    "dn \"/O=Grid/OU=vws-test/CN=Bob\" max_nodes=1 max_workspaces=1\n"/* 3 */
    "dn \"/O=Grid/OU=vws-test/CN=*\" max_duration=1h   # everyone\n" /* 4 */
    "fqan /vws/students max_workspaces=2 shared   # 2 for the group\n"/* 5 */
    "fqan /vws/Role=broker max_nodes=16 max_memory=8G\n"              /* 6 */
    "\n"                                                              /* 7 */
    "dn \"/O=Other/CN=Carol Smith\" max_memory=512M max_nodes=2\n"    /* 8 */
    "fqan /vws/students/Role=ta max_nodes=8\n"                        /* 9 */
    "dn \"/O=Other/CN=Dave\" max_duration=30m max_nodes=6\n";         /* 10 */

#define BOB    "/O=Grid/OU=vws-test/CN=Bob"
#define ALICE  "/O=Grid/OU=vws-test/CN=Alice"
#define CAROL  "/O=Other/CN=Carol Smith"
#define DAVE   "/O=Other/CN=Dave"
#define EVE    "/O=Elsewhere/CN=Eve"

struct decision_case {
    const char *dn;
    const char *fqans[4];
    unsigned nodes, memory_mb;
    long long duration_s;
    unsigned dn_held, group_held;   /* for every DN and group asked */
    const char *msg;                /* NULL: allowed */
};

static const struct decision_case decision_cases[] = {
    /* the default line: a caller no other rule matches */
    { EVE, { NULL }, 4, 2048, 4 * 3600, 7, 0, NULL },
    { EVE, { NULL }, 5, 1, 60, 0, 0, "policy site:2 (default): at most 4 "
      "nodes per workspace, asked 5" },
    { EVE, { NULL }, 1, 2049, 60, 0, 0, "policy site:2 (default): at most "
      "2048 MB of memory per node, asked 2049 MB" },
    { EVE, { NULL }, 1, 1, 4 * 3600 + 1, 0, 0, "policy site:2 (default): at "
      "most 4h per workspace, asked 4h1s" },
    { EVE, { NULL }, 1, 1, -1, 0, 0, "policy site:2 (default): at most 4h "
      "per workspace, asked no end" },
    { EVE, { NULL }, 1, 1, 60, 8, 0, "policy site:2 (default): at most 8 "
      "workspaces at once per DN, the DN holds 8" },
    /* Bob: his dn line (exact), the glob of line 4, the default's memory */
    { BOB, { NULL }, 1, 2048, 3600, 0, 0, NULL },
    { BOB, { NULL }, 2, 1, 60, 0, 0, "policy site:3 (dn \"" BOB "\"): at "
      "most 1 node per workspace, asked 2" },
    { BOB, { NULL }, 1, 1, 3601, 0, 0, "policy site:4 (dn \"/O=Grid/OU=vws-"
      "test/CN=*\"): at most 1h per workspace, asked 1h1s" },
    { BOB, { NULL }, 1, 4096, 60, 0, 0, "policy site:2 (default): at most "
      "2048 MB of memory per node, asked 4096 MB" },
    { BOB, { NULL }, 1, 1, 60, 1, 0, "policy site:3 (dn \"" BOB "\"): at "
      "most 1 workspace at once per DN, the DN holds 1" },
    /* a broker role raises nodes and memory above the default (no dn rule
     * of Bob's sets memory, so 8G is in effect; his max_nodes=1 is
     * stricter than the broker's 16 and wins) */
    { ALICE, { "/vws/Role=broker", NULL }, 16, 8192, 3600, 0, 0, NULL },
    { ALICE, { "/vws/Role=broker", NULL }, 17, 1, 60, 0, 0, "policy site:6 "
      "(fqan /vws/Role=broker): at most 16 nodes per workspace, asked 17" },
    { BOB, { "/vws/Role=broker", NULL }, 2, 8192, 60, 0, 0, "policy site:3 "
      "(dn \"" BOB "\"): at most 1 node per workspace, asked 2" },
    { BOB, { "/vws/Role=broker", NULL }, 1, 8193, 60, 0, 0, "policy site:6 "
      "(fqan /vws/Role=broker): at most 8192 MB of memory per node, "
      "asked 8193 MB" },
    /* the role must be exactly the group's: /vws/users/Role=broker is not
     * /vws/Role=broker */
    { ALICE, { "/vws/users/Role=broker", NULL }, 5, 1, 60, 0, 0, "policy "
      "site:2 (default): at most 4 nodes per workspace, asked 5" },
    /* a group rule without a role matches any role and any subgroup */
    { EVE, { "/vws/students/Role=ta", NULL }, 8, 1, 60, 0, 0, NULL },
    { EVE, { "/vws/students/year1", NULL }, 1, 1, 60, 0, 2, "policy site:5 "
      "(fqan /vws/students): at most 2 workspaces at once for the group "
      "/vws/students, it holds 2" },
    { EVE, { "/vws/studentsx", NULL }, 1, 1, 60, 0, 2, NULL },
    { EVE, { "/vws/students", NULL }, 1, 1, 60, 1, 1, NULL },
    /* shared does not replace the per-DN default */
    { EVE, { "/vws/students", NULL }, 1, 1, 60, 8, 0, "policy site:2 "
      "(default): at most 8 workspaces at once per DN, the DN holds 8" },
    /* the ta role: 8 nodes (line 9); the whole group's quota still holds */
    { EVE, { "/vws/students/Role=ta", NULL }, 9, 1, 60, 0, 0, "policy "
      "site:9 (fqan /vws/students/Role=ta): at most 8 nodes per workspace, "
      "asked 9" },
    /* two matching fqan rules: the stricter value wins, whatever the
     * order of the FQANs or the lines */
    { EVE, { "/vws/students/Role=ta", "/vws/Role=broker", NULL }, 9, 1, 60,
      0, 0, "policy site:9 (fqan /vws/students/Role=ta): at most 8 nodes "
      "per workspace, asked 9" },
    /* quoted DN with a space, M suffix; the default's duration */
    { CAROL, { NULL }, 2, 512, 4 * 3600, 0, 0, NULL },
    { CAROL, { NULL }, 2, 513, 60, 0, 0, "policy site:8 (dn \"" CAROL "\"): "
      "at most 512 MB of memory per node, asked 513 MB" },
    /* a dn rule above the default: Dave may have 6 nodes, 30 minutes */
    { DAVE, { NULL }, 6, 1, 1800, 0, 0, NULL },
    { DAVE, { NULL }, 1, 1, 1860, 0, 0, "policy site:10 (dn \"" DAVE "\"): "
      "at most 30m per workspace, asked 31m" },
    { DAVE, { NULL }, 1, 1, 90000, 0, 0, "policy site:10 (dn \"" DAVE
      "\"): at most 30m per workspace, asked 1d1h" },
};

START_TEST(decisions)
{
    struct vws_policy *p = load_text("site", site_text);
    const struct decision_case *c = &decision_cases[_i];
    struct vws_policy_request r = { c->nodes, c->memory_mb, c->duration_s };
    struct counts cn = { .calls = VWS_BUF_INIT };
    struct vws_identity id;
    int rc;

    ck_assert_msg(p != NULL, "%s", vws_error_message());
    make_id(&id, c->dn, c->fqans);
    cn.dn[0] = c->dn;
    cn.dn_n[0] = c->dn_held;
    cn.group[0] = "/vws/students";
    cn.group_n[0] = c->group_held;
    vws_error_reset();
    rc = vws_policy_check(p, &id, &r, count_cb, &cn);
    if (!c->msg) {
        ck_assert_msg(rc == 0, "case %d refused: %s", _i,
                      vws_error_message());
    } else {
        ck_assert_msg(rc == -1, "case %d was allowed", _i);
        ck_error(VWS_ERR_LIMIT, c->msg);
    }
    vws_buf_release(&cn.calls);
    vws_identity_release(&id);
    vws_policy_free(p);
}
END_TEST

/* Which counts are asked for: the DN once when a per-DN limit applies,
 * each matching shared group once, nothing when no limit applies. */
START_TEST(count_calls)
{
    struct vws_policy *p = load_text("site", site_text);
    struct vws_policy_request r = { 1, 1, 60 };
    struct counts cn = { .calls = VWS_BUF_INIT };
    struct vws_identity id;
    const char *const fq[] = { "/vws/students/x", "/vws/Role=broker", NULL };

    make_id(&id, EVE, fq);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, count_cb, &cn), 0);
    ck_assert_str_eq(cn.calls.s, "dn:" EVE ",group:/vws/students");
    vws_identity_release(&id);
    vws_policy_free(p);

    /* no max_workspaces anywhere: the callback is never called, and may
     * be NULL */
    p = load_text("p", "default max_nodes=2\nfqan /vws max_nodes=3\n");
    make_id(&id, EVE, fq);
    vws_buf_reset(&cn.calls);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, count_cb, &cn), 0);
    ck_assert_uint_eq(cn.calls.len, 0);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, NULL, NULL), 0);
    r.nodes = 4;
    ck_assert_int_eq(vws_policy_check(p, &id, &r, NULL, NULL), -1);
    ck_error(VWS_ERR_LIMIT, "policy p:2 (fqan /vws): at most 3 nodes per "
             "workspace, asked 4");
    vws_identity_release(&id);
    vws_policy_free(p);

    /* shared with a role: the group named with its role, and two shared
     * groups counted apart */
    p = load_text("q", "fqan /vws/Role=broker max_workspaces=3 shared\n"
                  "fqan /vws max_workspaces=10 shared\n"
                  "fqan /vws/students max_workspaces=0\n");
    make_id(&id, EVE, fq);
    vws_buf_reset(&cn.calls);
    cn.group[0] = "/vws/Role=broker";
    cn.group_n[0] = 2;
    cn.group[1] = "/vws";
    cn.group_n[1] = 10;
    cn.dn[0] = EVE;
    cn.dn_n[0] = 0;
    ck_assert_int_eq(vws_policy_check(p, &id, &r, count_cb, &cn), -1);
    ck_error(VWS_ERR_LIMIT, "policy q:3 (fqan /vws/students): at most 0 "
             "workspaces at once per DN, the DN holds 0");
    vws_identity_release(&id);
    make_id(&id, EVE, fq + 1);
    vws_buf_reset(&cn.calls);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, count_cb, &cn), -1);
    ck_error(VWS_ERR_LIMIT, "policy q:2 (fqan /vws): at most 10 workspaces "
             "at once for the group /vws, it holds 10");
    ck_assert_str_eq(cn.calls.s, "group:/vws/Role=broker,group:/vws");
    vws_identity_release(&id);
    vws_policy_free(p);
    vws_buf_release(&cn.calls);
}
END_TEST

START_TEST(fqan_matches)
{
    ck_assert(vws_policy_fqan_matches("/vws/students", "/vws/students"));
    ck_assert(vws_policy_fqan_matches("/vws/students",
                                      "/vws/students/y1/Role=ta"));
    ck_assert(!vws_policy_fqan_matches("/vws/students", "/vws/studentsx"));
    ck_assert(!vws_policy_fqan_matches("/vws/students", "/vws"));
    ck_assert(vws_policy_fqan_matches("/vws/Role=broker", "/vws/Role=broker"));
    ck_assert(!vws_policy_fqan_matches("/vws/Role=broker", "/vws"));
    ck_assert(!vws_policy_fqan_matches("/vws/Role=broker",
                                       "/vws/x/Role=broker"));
    ck_assert(!vws_policy_fqan_matches(NULL, "/vws"));
}
END_TEST

START_TEST(bad_arguments)
{
    struct vws_policy *p = load_text("p", "default max_nodes=1\n");
    struct vws_policy_request r = { 1, 1, 1 };
    struct vws_identity id;

    make_id(&id, NULL, NULL);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, NULL, NULL), -1);
    ck_error(VWS_ERR_INVALID_ARG, "the caller has no DN");
    ck_assert_int_eq(vws_policy_check(NULL, &id, &r, NULL, NULL), -1);
    ck_error(VWS_ERR_INVALID_ARG, "no policy");
    vws_identity_release(&id);
    make_id(&id, EVE, NULL);
    ck_assert_int_eq(vws_policy_check(p, &id, NULL, NULL, NULL), -1);
    ck_error(VWS_ERR_INVALID_ARG, "no request");
    vws_identity_release(&id);
    vws_policy_free(p);
    vws_policy_free(NULL);
    vws_policy_describe_free(NULL);
}
END_TEST

/* An empty policy limits nothing. */
START_TEST(empty_policy)
{
    struct vws_policy *p = load_text("empty", "");
    struct vws_policy_request r = { 100000, 1u << 30, -1 };
    struct vws_identity id;
    char **lines;

    ck_assert_ptr_nonnull(p);
    make_id(&id, EVE, NULL);
    ck_assert_int_eq(vws_policy_check(p, &id, &r, NULL, NULL), 0);
    lines = vws_policy_describe(p);
    ck_assert_ptr_null(lines[0]);
    vws_policy_describe_free(lines);
    vws_identity_release(&id);
    vws_policy_free(p);
}
END_TEST

START_TEST(describe)
{
    struct vws_policy *p = load_text("site", site_text);
    char **lines = vws_policy_describe(p);
    static const char *const want[] = {
        "default: max_nodes=4 max_memory=2048 max_duration=4h "
        "max_workspaces=8",
        "dn \"" BOB "\": max_nodes=1 max_workspaces=1",
        "dn \"/O=Grid/OU=vws-test/CN=*\": max_duration=1h",
        "fqan /vws/students: max_workspaces=2 shared",
        "fqan /vws/Role=broker: max_nodes=16 max_memory=8192",
        "dn \"" CAROL "\": max_nodes=2 max_memory=512",
        "fqan /vws/students/Role=ta: max_nodes=8",
        "dn \"" DAVE "\": max_nodes=6 max_duration=30m",
        NULL
    };
    size_t i;

    ck_assert_uint_eq(vws_policy_n_rules(p), 8);
    for (i = 0; want[i]; i++) {
        ck_assert_ptr_nonnull(lines[i]);
        ck_assert_str_eq(lines[i], want[i]);
    }
    ck_assert_ptr_null(lines[i]);
    vws_policy_describe_free(lines);
    vws_policy_free(p);

    /* values in odd units come back in the largest exact one */
    p = load_text("u", "default max_duration=90m max_memory=1t\n"
                  "dn \"/CN=a \\\"b\\\"\" max_duration=3601\n"
                  "fqan /vws/Role=NULL max_duration=86400s\n");
    ck_assert_msg(p != NULL, "%s", vws_error_message());
    lines = vws_policy_describe(p);
    ck_assert_str_eq(lines[0], "default: max_memory=1048576 "
                     "max_duration=90m");
    ck_assert_str_eq(lines[1], "dn \"/CN=a \\\"b\\\"\": max_duration=3601s");
    ck_assert_str_eq(lines[2], "fqan /vws: max_duration=1d");
    ck_assert_ptr_null(lines[3]);
    vws_policy_describe_free(lines);
    vws_policy_free(p);
}
END_TEST

/* ---- the corpus ------------------------------------------------------- */

static const struct {
    const char *file;
    vws_error_code code;
    const char *msg;       /* after "PATH"; NULL: it must load */
} corpus_cases[] = {
    { "valid-crlf.policy", VWS_ERR_OK, NULL },
    { "valid-bom.policy", VWS_ERR_OK, NULL },
    { "valid-empty.policy", VWS_ERR_OK, NULL },
    { "valid-comments.policy", VWS_ERR_OK, NULL },
    { "unknown-key.policy", VWS_ERR_CONFIG, ":2: unknown limit 'max_cpu' "
      "(expected max_nodes, max_memory, max_duration or max_workspaces)" },
    { "duplicate-key.policy", VWS_ERR_CONFIG,
      ":1: duplicate limit 'max_nodes' on the line" },
    { "bad-number.policy", VWS_ERR_CONFIG, ":1: '4x' is not a number "
      "('max_nodes' expects an integer)" },
    { "empty-value.policy", VWS_ERR_CONFIG, ":1: empty value for "
      "'max_workspaces', expected an integer" },
    { "negative.policy", VWS_ERR_CONFIG,
      ":1: duration '-1h' for 'max_duration' is negative" },
    { "bad-duration.policy", VWS_ERR_CONFIG, ":2: '4w' is not a duration "
      "for 'max_duration' (expected a number with an optional suffix s, m, "
      "h or d)" },
    { "duration-too-long.policy", VWS_ERR_CONFIG, ":1: duration 4000d is "
      "above the maximum 3650d for 'max_duration'" },
    { "nodes-zero.policy", VWS_ERR_CONFIG,
      ":1: value 0 is below the minimum 1 for 'max_nodes'" },
    { "nodes-too-many.policy", VWS_ERR_CONFIG,
      ":1: value 200000 is above the maximum 100000 for 'max_nodes'" },
    { "memory-too-large.policy", VWS_ERR_CONFIG,
      ":1: memory 17T is above the maximum 16T for 'max_memory'" },
    { "memory-bad-suffix.policy", VWS_ERR_CONFIG, ":1: '2X' is not a "
      "number ('max_memory' expects an integer)" },
    { "int-overflow.policy", VWS_ERR_CONFIG, ":1: '99999999999999999999' "
      "is out of range for 'max_workspaces'" },
    { "unterminated-quote.policy", VWS_ERR_CONFIG, ":1: unterminated quote "
      "(the '\"' at column 4 has no closing '\"')" },
    { "quote-inside-word.policy", VWS_ERR_CONFIG, ":1: unexpected '\"' "
      "inside a word at column 15 (quote the whole word)" },
    { "text-after-quote.policy", VWS_ERR_CONFIG, ":1: expected a space "
      "after the closing quote at column 19" },
    { "unknown-keyword.policy", VWS_ERR_CONFIG, ":3: unknown keyword 'user' "
      "(expected default, dn or fqan)" },
    { "no-limits.policy", VWS_ERR_CONFIG, ":1: no limits on the line "
      "(expected max_nodes=N, max_memory=MB, max_duration=D or "
      "max_workspaces=N)" },
    { "missing-dn.policy", VWS_ERR_CONFIG, ":1: missing the DN after 'dn'" },
    { "bad-dn.policy", VWS_ERR_CONFIG, ":1: expected a DN in Globus form, "
      "\"/O=.../CN=...\" (quoted when it has spaces), not 'O=Grid, "
      "CN=Bob'" },
    { "bad-fqan.policy", VWS_ERR_CONFIG, ":1: bad FQAN 'vws/users' "
      "(expected /vo[/group...][/Role=role])" },
    { "fqan-capability.policy", VWS_ERR_CONFIG, ":1: bad FQAN "
      "'/vws/Capability=x': capabilities are not supported in rules "
      "(expected /vo[/group...][/Role=role])" },
    { "shared-on-dn.policy", VWS_ERR_CONFIG, ":1: 'shared' applies only to "
      "fqan rules (a group's workspaces counted together)" },
    { "shared-without-workspaces.policy", VWS_ERR_CONFIG, ":1: 'shared' "
      "needs max_workspaces on the same line (it counts the group's "
      "workspaces)" },
    { "shared-twice.policy", VWS_ERR_CONFIG,
      ":1: duplicate 'shared' on the line" },
    { "not-key-value.policy", VWS_ERR_CONFIG,
      ":1: expected LIMIT=VALUE or 'shared', not 'max_nodes'" },
    { "duplicate-default.policy", VWS_ERR_CONFIG,
      ":3: duplicate default line (first on line 1)" },
    { "duplicate-rule.policy", VWS_ERR_CONFIG, ":2: duplicate rule for fqan "
      "/vws/users (first on line 1; put its limits on one line)" },
    { "include.policy", VWS_ERR_CONFIG, ":1: unknown keyword 'include' "
      "(expected default, dn or fqan)" },
    { "control-char.policy", VWS_ERR_CONFIG, ":2: binary data: byte 0x1b at "
      "column 9 (expected a text file)" },
    { "invalid-utf8.policy", VWS_ERR_CONFIG,
      ":1: not UTF-8 text: byte 0xe9 at column 19" },
    { "binary-nul.policy", VWS_ERR_CONFIG, ":2: binary data: byte 0x00 at "
      "column 1 (expected a text file)" },
    { "binary-elf.policy", VWS_ERR_CONFIG, ":1: binary data: byte 0x7f at "
      "column 1 (expected a text file)" },
    { "long-line.policy", VWS_ERR_LIMIT,
      ":1: line is longer than 4096 bytes (4222 bytes)" },
};

START_TEST(corpus)
{
    char *dirpath = srcpath("tests/corpus/policy");
    DIR *dir = opendir(dirpath);
    struct dirent *de;
    bool seen[VWS_N_ELEMENTS(corpus_cases)] = { false };
    size_t n_broken = 0;

    ck_assert_msg(dir != NULL, "cannot open '%s': %s", dirpath,
                  strerror(errno));
    while ((de = readdir(dir)) != NULL) {
        struct vws_policy *p;
        char *path, *expect;
        size_t i;

        if (de->d_name[0] == '.')
            continue;
        for (i = 0; i < VWS_N_ELEMENTS(corpus_cases); i++)
            if (strcmp(corpus_cases[i].file, de->d_name) == 0)
                break;
        ck_assert_msg(i < VWS_N_ELEMENTS(corpus_cases), "corpus file '%s' "
                      "has no expected result in check_policy.c",
                      de->d_name);
        seen[i] = true;
        path = vws_asprintf("%s/%s", dirpath, de->d_name);
        vws_error_reset();
        p = vws_policy_load(path);
        if (!corpus_cases[i].msg) {
            ck_assert_msg(p != NULL, "%s: %s", de->d_name,
                          vws_error_message());
        } else {
            ck_assert_msg(p == NULL, "%s was accepted", de->d_name);
            expect = vws_asprintf("%s%s", path, corpus_cases[i].msg);
            ck_error(corpus_cases[i].code, expect);
            free(expect);
            n_broken++;
        }
        vws_policy_free(p);
        free(path);
    }
    closedir(dir);
    for (size_t i = 0; i < VWS_N_ELEMENTS(corpus_cases); i++)
        ck_assert_msg(seen[i], "corpus file '%s' is missing",
                      corpus_cases[i].file);
    ck_assert_uint_ge(n_broken, 15);
    free(dirpath);
}
END_TEST

/* The valid corpus files mean what they say. */
START_TEST(corpus_values)
{
    char *path = srcpath("tests/corpus/policy/valid-crlf.policy");
    struct vws_policy *p = vws_policy_load(path);
    char **lines;

    ck_assert_msg(p != NULL, "%s", vws_error_message());
    lines = vws_policy_describe(p);
    ck_assert_str_eq(lines[0], "default: max_nodes=4");
    ck_assert_str_eq(lines[1], "dn \"/O=Grid/CN=Bob\": max_nodes=1");
    ck_assert_ptr_null(lines[2]);
    vws_policy_describe_free(lines);
    vws_policy_free(p);
    free(path);

    path = srcpath("tests/corpus/policy/valid-bom.policy");
    p = vws_policy_load(path);
    ck_assert_msg(p != NULL, "%s", vws_error_message());
    ck_assert_uint_eq(vws_policy_n_rules(p), 1);
    vws_policy_free(p);
    free(path);
}
END_TEST

/* ---- limits made at run time ------------------------------------------ */

static const char tmpl[] = "/tmp/check_policy.XXXXXX";
static char tmpdir[sizeof(tmpl)];

static void
setup_tmp(void)
{
    memcpy(tmpdir, tmpl, sizeof(tmpl));   /* again for each test (no fork) */
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_tmp(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

START_TEST(huge_file)
{
    char *path = vws_asprintf("%s/huge.policy", tmpdir);
    FILE *f = fopen(path, "w");
    char *expect;

    ck_assert_ptr_nonnull(f);
    /* 10 MB of valid-looking comments: refused by size, unread */
    for (int i = 0; i < 10 * 1024 * 16; i++)
        fprintf(f, "# %061d\n", i);
    ck_assert_int_eq(fclose(f), 0);
    vws_error_reset();
    ck_assert_ptr_null(vws_policy_load(path));
    expect = vws_asprintf("policy file '%s' is larger than 4 MiB "
                          "(10485760 bytes)", path);
    ck_error(VWS_ERR_LIMIT, expect);
    free(expect);
    free(path);
}
END_TEST

START_TEST(huge_buffer)
{
    size_t len = (size_t)VWS_POLICY_MAX_FILE + 1;
    char *buf = vws_malloc(len);
    struct vws_policy *p;

    memset(buf, '\n', len);
    vws_error_reset();
    ck_assert_ptr_null(vws_policy_load_buffer("big", buf, len));
    ck_error(VWS_ERR_LIMIT, "big: policy file is larger than 4 MiB "
             "(4194305 bytes)");
    /* exactly the limit is fine */
    p = vws_policy_load_buffer("big", buf, len - 1);
    ck_assert_ptr_nonnull(p);
    vws_policy_free(p);
    free(buf);
}
END_TEST

START_TEST(binary_junk)
{
    char *path = vws_asprintf("%s/junk.policy", tmpdir);
    char *expect;
    unsigned char junk[4096];
    FILE *f;

    /* pseudo-random bytes, reproducible, with a control byte early on */
    for (size_t i = 0, x = 12345; i < sizeof(junk); i++) {
        x = x * 1103515245 + 12345;
        junk[i] = (unsigned char)(x >> 16);
    }
    junk[0] = 'x';
    junk[1] = 0x02;
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    ck_assert_int_eq(fclose(f), 0);
    vws_error_reset();
    ck_assert_ptr_null(vws_policy_load(path));
    expect = vws_asprintf("%s:1: binary data: byte 0x02 at column 2 "
                          "(expected a text file)", path);
    ck_error(VWS_ERR_CONFIG, expect);
    free(expect);
    free(path);
}
END_TEST

START_TEST(missing_and_special_files)
{
    char *path = vws_asprintf("%s/none.policy", tmpdir);
    char *expect;

    vws_error_reset();
    ck_assert_ptr_null(vws_policy_load(path));
    expect = vws_asprintf("cannot open policy file '%s': No such file or "
                          "directory", path);
    ck_error(VWS_ERR_NOT_FOUND, expect);
    free(expect);

    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_ptr_null(vws_policy_load(path));
    expect = vws_asprintf("policy file '%s' is not a regular file", path);
    ck_error(VWS_ERR_CONFIG, expect);
    free(expect);
    free(path);

    ck_assert_ptr_null(vws_policy_load(tmpdir));
    ck_assert_ptr_null(vws_policy_load(NULL));
    ck_error(VWS_ERR_INVALID_ARG, "no policy file name");
}
END_TEST

/* A line of exactly the limit loads; one byte more does not. */
START_TEST(line_limit)
{
    struct vws_buf b = VWS_BUF_INIT;
    struct vws_policy *p;

    vws_buf_adds(&b, "default max_nodes=1 #");
    while (b.len < VWS_POLICY_MAX_LINE)
        vws_buf_addch(&b, 'x');
    p = vws_policy_load_buffer("l", b.s, b.len);
    ck_assert_msg(p != NULL, "%s", vws_error_message());
    vws_policy_free(p);
    vws_buf_adds(&b, "x\n");
    ck_assert_ptr_null(vws_policy_load_buffer("l", b.s, b.len));
    ck_error(VWS_ERR_LIMIT, "l:1: line is longer than 4096 bytes "
             "(4097 bytes)");
    vws_buf_release(&b);
}
END_TEST

static Suite *
policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("decisions");

    tcase_add_loop_test(tc, decisions, 0,
                        (int)VWS_N_ELEMENTS(decision_cases));
    tcase_add_test(tc, count_calls);
    tcase_add_test(tc, fqan_matches);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, empty_policy);
    tcase_add_test(tc, describe);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, corpus);
    tcase_add_test(tc, corpus_values);
    tcase_add_test(tc, huge_file);
    tcase_add_test(tc, huge_buffer);
    tcase_add_test(tc, binary_junk);
    tcase_add_test(tc, missing_and_special_files);
    tcase_add_test(tc, line_limit);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
