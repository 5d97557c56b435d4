/*
 * check_acl.c — unit tests of common/acl: decisions on a sample site ACL,
 * the hostile corpus, limits made at run time, and live reloading.
 *
 * The sample ACL is tests/corpus/acl/site/ (site.acl with an acl.d/ of
 * includes and a grid-mapfile); decision_cases[] names, for each case, the
 * FILE:LINE of the rule that must decide it, so a rule that decides for the
 * wrong reason fails too.  The broken files are the .acl files of
 * tests/corpus/acl, with their exact messages in expected.txt; an .acl file without a line there
 * fails the test, so the corpus cannot grow untested.  What must not be
 * committed (a 1 MB line, a 5 MB file, a FIFO, deep includes) is made in a
 * temporary directory at run time.
 */
#define VWS_MODULE "check_acl"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/acl.h"
#include "common/identity.h"
#include "internal.h"

static char *srcdir;        /* VWS_SRCDIR or ".." */
static char *corpus;        /* SRCDIR/tests/corpus/acl */
static char *site;          /* CORPUS/site/site.acl */

/* ---- helpers ---------------------------------------------------------- */

/* An identity from a DN and up to 4 FQANs (NULL-terminated list). */
static void
make_id(struct vws_identity *id, const char *dn, const char *const *fqans,
        enum vws_proxy_kind proxy)
{
    *id = (struct vws_identity)VWS_IDENTITY_INIT;
    id->dn = dn ? vws_strdup(dn) : NULL;
    for (size_t i = 0; fqans && fqans[i]; i++) {
        id->fqans = vws_reallocarray(id->fqans, id->n_fqans + 1,
                                     sizeof(char *));
        id->fqans[id->n_fqans++] = vws_strdup(fqans[i]);
    }
    id->proxy = proxy;
}

/* S with every "DIR/" removed (messages name files by full path). */
static char *
strip_dir(const char *s, const char *dir)
{
    struct vws_buf b = VWS_BUF_INIT;
    char *prefix = vws_asprintf("%s/", dir);
    size_t plen = strlen(prefix);
    const char *p;

    while ((p = strstr(s, prefix))) {
        vws_buf_add(&b, s, (size_t)(p - s));
        s = p + plen;
    }
    vws_buf_adds(&b, s);
    free(prefix);
    return vws_buf_detach(&b, NULL);
}

/* "FILE:LINE" of a decision, FILE relative to the site directory; "default"
 * for no match, "built-in" for a fixed policy. */
static char *
where(const struct vws_acl_decision *why)
{
    char *dir, *rel, *ret;

    if (why->reason == VWS_ACL_NO_MATCH)
        return vws_strdup("default");
    if (why->reason == VWS_ACL_BUILTIN)
        return vws_strdup("built-in");
    dir = vws_asprintf("%s/site", corpus);
    rel = strip_dir(why->file, dir);
    ret = vws_asprintf("%s:%u", rel, why->line);
    free(rel);
    free(dir);
    return ret;
}

static char tmpdir[] = "/tmp/check_acl.XXXXXX";

static char *
tmp_path(const char *name)
{
    return vws_asprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_msg(f != NULL, "cannot write '%s'", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Set the mtime of PATH to SECONDS after the epoch: a change that a
 * same-second rewrite could not be relied on to show. */
static void
set_mtime(const char *path, time_t seconds)
{
    struct timespec ts[2] = { { seconds, 0 }, { seconds, 0 } };

    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
setup_tmp(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown_tmp(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

/* ==== decisions on the sample site ACL ================================== */

#define ALICE   "/O=Grid/OU=vws-test/CN=Alice"
#define BOB     "/O=Grid/OU=vws-test/CN=Bob"
#define MALLORY "/O=Grid/OU=vws-test/CN=Mallory"
#define OTHER   "/O=Grid/OU=other/CN=Olga"
#define CAROL   "/O=Grid/OU=gridmap/CN=Carol Smith"
#define DAVE    "/O=Grid/OU=gridmap/CN=Dave"
#define OPER    "/O=Grid/OU=ops/CN=Operator"

struct decision_case {
    const char *dn;
    const char *fqans[4];
    enum vws_proxy_kind proxy;
    enum vws_acl_op op;
    bool allow;
    const char *where;      /* "site.acl:7", "default", "built-in" */
};

static const struct decision_case decision_cases[] = {
    /* DN exact */
    { ALICE, { NULL }, 0, VWS_ACL_CREATE, true, "site.acl:7" },
    { ALICE, { NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:7" },
    { ALICE, { NULL }, 0, VWS_ACL_DEPLOY, true, "site.acl:7" },
    { ALICE, { NULL }, 0, VWS_ACL_BROKER, false, "default" },
    { ALICE, { NULL }, 0, VWS_ACL_ADMIN, false, "default" },
    { ALICE "x", { NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { "/O=Grid/OU=VWS-TEST/CN=Alice", { NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { "/O=Grid/OU=other/CN=Eve With Spaces", { NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:14" },
    /* deny wins over every allow, wherever it is */
    { MALLORY, { NULL }, 0, VWS_ACL_INSPECT, false, "site.acl:6" },
    { MALLORY, { "/vws/Role=admin", NULL }, 0, VWS_ACL_ADMIN, false, "site.acl:6" },
    { BOB, { "/vws/Role=admin", NULL }, 0, VWS_ACL_ADMIN, false, "site.acl:15" },
    { BOB, { "/vws/Role=admin", NULL }, 0, VWS_ACL_HOST, true, "site.acl:10" },
    { BOB, { NULL }, 0, VWS_ACL_MANAGE, true, "site.acl:16" },
    /* DN glob */
    { BOB, { NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:8" },
    { BOB, { NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { ALICE "/CN=12345", { NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:8" },
    { "/O=Grid/OU=vws-test/CN=Host1", { NULL }, 0, VWS_ACL_HOST, true, "site.acl:9" },
    { "/O=Grid/OU=vws-test/CN=HostA", { NULL }, 0, VWS_ACL_HOST, true, "site.acl:9" },
    { "/O=Grid/OU=vws-test/CN=Host10", { NULL }, 0, VWS_ACL_HOST, false, "default" },
    { "/O=Grid/OU=vws-test/CN=Host", { NULL }, 0, VWS_ACL_HOST, false, "default" },
    { "/O=Grid/OU=esc/CN=Star*", { NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:17" },
    { "/O=Grid/OU=esc/CN=Starship", { NULL }, 0, VWS_ACL_INSPECT, false, "default" },
    /* FQAN: VO, group and subgroups, role */
    { OTHER, { "/vws/Role=admin", NULL }, 0, VWS_ACL_ADMIN, true, "site.acl:10" },
    { OTHER, { "/vws/Role=admin", NULL }, 0, VWS_ACL_BROKER, true, "site.acl:10" },
    { OTHER, { "/vws/Role=admin", NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { OTHER, { "/vws/users/Role=admin", NULL }, 0, VWS_ACL_ADMIN, false, "default" },
    { OTHER, { "/vws", NULL }, 0, VWS_ACL_ADMIN, false, "default" },
    { OTHER, { "/vws/Role=adminx", NULL }, 0, VWS_ACL_ADMIN, false, "default" },
    { OTHER, { "/vws/users", NULL }, 0, VWS_ACL_CREATE, true, "site.acl:11" },
    { OTHER, { "/vws/users/atlas", NULL }, 0, VWS_ACL_CREATE, true, "site.acl:11" },
    { OTHER, { "/vws/users/atlas/Role=production", NULL }, 0, VWS_ACL_MANAGE, true, "site.acl:11" },
    { OTHER, { "/vws/users/Role=admin/Capability=x", NULL }, 0, VWS_ACL_INSPECT, true, "site.acl:11" },
    { OTHER, { "/vws/usersX", NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { OTHER, { "/vws", NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { OTHER, { "/other/users", NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { OTHER, { "/vws/users", NULL }, 0, VWS_ACL_DEPLOY, false, "default" },
    { OTHER, { "/vws/users/banned", NULL }, 0, VWS_ACL_INSPECT, false, "site.acl:12" },
    { OTHER, { "/vws/users/banned/sub/Role=x", NULL }, 0, VWS_ACL_CREATE, false, "site.acl:12" },
    { OTHER, { "/vws/users", "/vws/users/banned", NULL }, 0, VWS_ACL_CREATE, false, "site.acl:12" },
    { OTHER, { "/other/x", "/vws/users", NULL }, 0, VWS_ACL_CREATE, true, "site.acl:11" },
    { OTHER, { "/vws/brokers/Role=broker", NULL }, 0, VWS_ACL_BROKER, true, "site.acl:13" },
    { OTHER, { "/vws/brokers", NULL }, 0, VWS_ACL_BROKER, false, "default" },
    { OTHER, { "/vws/brokers/Role=admin", NULL }, 0, VWS_ACL_BROKER, false, "default" },
    { OTHER, { "/vws/brokers/eu/Role=broker", NULL }, 0, VWS_ACL_BROKER, false, "default" },
    { OTHER, { NULL }, 0, VWS_ACL_INSPECT, false, "default" },
    /* grid-mapfile: an allow-list of literal DNs for create,inspect */
    { CAROL, { NULL }, 0, VWS_ACL_CREATE, true, "grid-mapfile:2" },
    { DAVE, { NULL }, 0, VWS_ACL_INSPECT, true, "grid-mapfile:3" },
    { DAVE, { NULL }, 0, VWS_ACL_DEPLOY, false, "default" },
    { "/O=Grid/OU=gridmap/CN=Zed", { NULL }, 0, VWS_ACL_CREATE, false, "default" },
    { "/O=Grid/OU=gridmap/CN=*", { NULL }, 0, VWS_ACL_CREATE, true, "grid-mapfile:4" },
    /* includes: read in place, sorted; their denies win too */
    { OPER, { NULL }, 0, VWS_ACL_ADMIN, true, "acl.d/10-ops.acl:2" },
    { "/O=Grid/OU=ops/CN=Former Operator", { NULL }, 0, VWS_ACL_INSPECT, false, "acl.d/20-former.acl:2" },
    { "/O=Grid/OU=ops/CN=Someone", { NULL }, 0, VWS_ACL_INSPECT, true, "acl.d/20-former.acl:3" },
    /* limited proxies never create or deploy */
    { ALICE, { NULL }, VWS_PROXY_LIMITED, VWS_ACL_CREATE, false, "built-in" },
    { ALICE, { NULL }, VWS_PROXY_LIMITED, VWS_ACL_DEPLOY, false, "built-in" },
    { ALICE, { NULL }, VWS_PROXY_LIMITED, VWS_ACL_INSPECT, true, "site.acl:7" },
    { ALICE, { NULL }, VWS_PROXY_FULL, VWS_ACL_CREATE, true, "site.acl:7" },
    /* no DN: nobody */
    { NULL, { "/vws/Role=admin", NULL }, 0, VWS_ACL_ADMIN, false, "built-in" },
    { "", { NULL }, 0, VWS_ACL_INSPECT, false, "built-in" },
};

static struct vws_acl *site_acl;

static void
setup_site(void)
{
    vws_error_reset();
    site_acl = vws_acl_load(site);
    ck_assert_msg(site_acl != NULL, "%s", vws_error_message());
}

static void
teardown_site(void)
{
    vws_acl_free(site_acl);
    site_acl = NULL;
}

START_TEST(decision)
{
    const struct decision_case *c = &decision_cases[_i];
    struct vws_identity id;
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;
    char *w;
    int r;

    make_id(&id, c->dn, c->fqans, c->proxy);
    r = vws_acl_check(site_acl, &id, c->op, &why);
    w = where(&why);
    ck_assert_msg(r == (c->allow ? 1 : 0) && why.allow == c->allow,
                  "case %d: '%s' %s: got %s by %s, want %s by %s", _i,
                  c->dn ? c->dn : "(null)", vws_acl_op_name(c->op),
                  r ? "allow" : "deny", w, c->allow ? "allow" : "deny",
                  c->where);
    ck_assert_msg(strcmp(w, c->where) == 0, "case %d: decided by %s, want %s",
                  _i, w, c->where);
    /* the same answer without asking why */
    ck_assert_int_eq(vws_acl_check(site_acl, &id, c->op, NULL), r);
    free(w);
    vws_acl_decision_release(&why);
    vws_identity_release(&id);
}
END_TEST

START_TEST(decision_text)
{
    struct vws_identity id;
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;
    struct vws_buf b = VWS_BUF_INIT;
    char *dir = vws_asprintf("%s/site", corpus), *s;

    make_id(&id, OTHER, (const char *[]){ "/vws/Role=admin", NULL }, 0);
    ck_assert_int_eq(vws_acl_check(site_acl, &id, VWS_ACL_ADMIN, &why), 1);
    vws_acl_decision_format(&why, &b);
    s = strip_dir(b.s, dir);
    ck_assert_str_eq(s, "site.acl:10: allow fqan /vws/Role=admin admin,host,broker");
    free(s);
    /* a decision reuses WHY, releasing the old one */
    vws_buf_reset(&b);
    ck_assert_int_eq(vws_acl_check(site_acl, &id, VWS_ACL_CREATE, &why), 0);
    vws_acl_decision_format(&why, &b);
    ck_assert_str_eq(b.s, "no rule matched (default deny)");
    ck_assert_ptr_null(why.file);
    vws_identity_release(&id);

    vws_buf_reset(&b);
    make_id(&id, CAROL, NULL, 0);
    ck_assert_int_eq(vws_acl_check(site_acl, &id, VWS_ACL_CREATE, &why), 1);
    vws_acl_decision_format(&why, &b);
    s = strip_dir(b.s, dir);
    ck_assert_str_eq(s, "grid-mapfile:2: \"/O=Grid/OU=gridmap/CN=Carol Smith\" carol "
                     "(grid-mapfile listed at site.acl:4: create,inspect)");
    free(s);
    vws_identity_release(&id);

    vws_buf_reset(&b);
    make_id(&id, ALICE, NULL, VWS_PROXY_LIMITED);
    ck_assert_int_eq(vws_acl_check(site_acl, &id, VWS_ACL_CREATE, &why), 0);
    vws_acl_decision_format(&why, &b);
    ck_assert_str_eq(b.s, "a limited proxy may not create (built-in)");
    vws_identity_release(&id);

    vws_buf_release(&b);
    vws_acl_decision_release(&why);
    vws_acl_decision_release(&why);     /* twice is harmless */
    free(dir);
}
END_TEST

START_TEST(decision_bad_args)
{
    struct vws_identity id;
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;

    make_id(&id, ALICE, NULL, 0);
    vws_error_reset();
    ck_assert_int_eq(vws_acl_check(site_acl, &id, VWS_ACL_N_OPS, &why), 0);
    ck_assert_int_eq(why.reason, VWS_ACL_BUILTIN);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
    ck_assert_int_eq(vws_acl_check(site_acl, &id, (enum vws_acl_op)-1, NULL), 0);
    ck_assert_int_eq(vws_acl_check(NULL, &id, VWS_ACL_INSPECT, &why), 0);
    ck_assert_int_eq(vws_acl_check(site_acl, NULL, VWS_ACL_INSPECT, &why), 0);
    ck_assert_int_eq(vws_acl_may_manage(NULL, &id, ALICE, &why), 0);
    vws_acl_decision_release(&why);
    vws_identity_release(&id);
}
END_TEST

/* ---- ownership ---------------------------------------------------------- */

struct manage_case {
    const char *dn;
    const char *fqan;
    const char *owner;
    bool allow;
    const char *where;
};

static const struct manage_case manage_cases[] = {
    { ALICE, NULL, ALICE, true, "site.acl:7" },          /* owner, 'manage' */
    { BOB, NULL, BOB, true, "site.acl:16" },
    { ALICE, NULL, BOB, false, "default" },              /* not owner, not admin */
    { BOB, NULL, ALICE, false, "site.acl:15" },          /* denied admin */
    { OTHER, "/vws/Role=admin", ALICE, true, "site.acl:10" },   /* admin */
    { OPER, NULL, BOB, true, "acl.d/10-ops.acl:2" },
    { MALLORY, NULL, MALLORY, false, "site.acl:6" },     /* owner, denied */
    { BOB, "/vws/Role=admin", ALICE, false, "site.acl:15" },    /* admin denied */
    { DAVE, NULL, DAVE, false, "default" },              /* owner without 'manage' */
    { OTHER, "/vws/users", OTHER, true, "site.acl:11" },
    { OTHER, "/vws/users", ALICE, false, "default" },
    { ALICE, NULL, NULL, false, "default" },             /* no owner: admin only */
    { ALICE, NULL, ALICE "/CN=proxy", false, "default" }, /* exact DN only */
};

START_TEST(may_manage)
{
    const struct manage_case *c = &manage_cases[_i];
    const char *fq[2] = { c->fqan, NULL };
    struct vws_identity id;
    struct vws_acl_decision why = VWS_ACL_DECISION_INIT;
    char *w;
    int r;

    make_id(&id, c->dn, fq, 0);
    r = vws_acl_may_manage(site_acl, &id, c->owner, &why);
    w = where(&why);
    ck_assert_msg(r == c->allow && strcmp(w, c->where) == 0,
                  "case %d: '%s' on '%s': got %d by %s, want %d by %s", _i,
                  c->dn, c->owner ? c->owner : "(null)", r, w, c->allow,
                  c->where);
    ck_assert_ptr_nonnull(why.context);
    free(w);
    vws_acl_decision_release(&why);
    vws_identity_release(&id);
}
END_TEST

START_TEST(ops_table)
{
    for (int i = 0; i < VWS_ACL_N_OPS; i++) {
        ck_assert_str_ne(vws_acl_op_name(i), "unknown");
        ck_assert_int_eq(vws_acl_op_parse(vws_acl_op_name(i)), i);
    }
    ck_assert_str_eq(vws_acl_op_name(VWS_ACL_N_OPS), "unknown");
    ck_assert_int_eq(vws_acl_op_parse("fly"), -1);
    ck_assert_int_eq(vws_acl_op_parse("*"), -1);
    ck_assert_int_eq(vws_acl_op_parse("Create"), -1);
}
END_TEST

START_TEST(dump_and_count)
{
    struct vws_buf b = VWS_BUF_INIT;
    char *dir = vws_asprintf("%s/site", corpus), *s;

    /* 3 in acl.d (README is not *.acl), 3 grid-mapfile entries, 12 here */
    ck_assert_uint_eq(vws_acl_n_rules(site_acl), 18);
    vws_acl_dump(site_acl, &b);
    s = strip_dir(b.s, dir);
    ck_assert_msg(strncmp(s, "acl.d/10-ops.acl:2: allow dn", 28) == 0, "%s", s);
    ck_assert_ptr_nonnull(strstr(s, "\nsite.acl:17: allow dn \"/O=Grid/OU=esc/CN=Star\\*\" inspect\n"));
    ck_assert_ptr_null(strstr(s, "README"));
    free(s);
    free(dir);
    vws_buf_release(&b);
    ck_assert(!vws_acl_changed(site_acl));
}
END_TEST

/* ---- in-memory ACLs: syntax corners ------------------------------------ */

static int
check_buf(const char *text, const char *dn, const char *fqan,
          enum vws_acl_op op)
{
    struct vws_acl *acl = vws_acl_load_buffer("mem", text, strlen(text));
    const char *fq[2] = { fqan, NULL };
    struct vws_identity id;
    int r;

    ck_assert_msg(acl != NULL, "%s", vws_error_message());
    make_id(&id, dn, fq, 0);
    r = vws_acl_check(acl, &id, op, NULL);
    vws_identity_release(&id);
    vws_acl_free(acl);
    return r;
}

START_TEST(syntax_corners)
{
    /* '*' = every operation; spaces around commas; trailing comments */
    ck_assert_int_eq(check_buf("allow any *", ALICE, NULL, VWS_ACL_ADMIN), 1);
    ck_assert_int_eq(check_buf("allow any create , inspect # c", ALICE, NULL,
                               VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow any create,*", ALICE, NULL,
                               VWS_ACL_HOST), 1);
    /* empty and comment-only ACLs deny everything */
    ck_assert_int_eq(check_buf("", ALICE, NULL, VWS_ACL_INSPECT), 0);
    ck_assert_int_eq(check_buf("# allow any *\n", ALICE, NULL, VWS_ACL_INSPECT), 0);
    /* escapes inside quotes: \" and \\ */
    ck_assert_int_eq(check_buf("allow dn \"/CN=a \\\"b\\\"\" inspect",
                               "/CN=a \"b\"", NULL, VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow dn \"/CN=a#b\" inspect", "/CN=a#b", NULL,
                               VWS_ACL_INSPECT), 1);
    /* an unquoted '#' starts a comment: here it hides the operations */
    {
        const char *t = "allow dn /CN=a#b inspect";

        vws_error_reset();
        ck_assert_ptr_null(vws_acl_load_buffer("mem", t, strlen(t)));
        ck_assert_ptr_nonnull(strstr(vws_error_message(), "mem:1: missing operations"));
    }
    /* globs: '*' spans '/', '?' one byte, several stars, backtracking */
    ck_assert_int_eq(check_buf("allow dn \"*\" inspect", ALICE, NULL, VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow dn \"/O=Grid/*/CN=Alice\" inspect", ALICE, NULL, VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow dn \"/O=*/CN=*e\" inspect", ALICE, NULL, VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow dn \"/O=*/CN=*x\" inspect", ALICE, NULL, VWS_ACL_INSPECT), 0);
    ck_assert_int_eq(check_buf("allow dn \"*a*a*a*a*b\" inspect",
                               "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
                               VWS_ACL_INSPECT), 0);
    ck_assert_int_eq(check_buf("allow dn \"/CN=A?ice\" inspect", "/CN=Alice", NULL, VWS_ACL_INSPECT), 1);
    ck_assert_int_eq(check_buf("allow dn \"/CN=A?ice\" inspect", "/CN=Aice", NULL, VWS_ACL_INSPECT), 0);
    /* FQAN rules are normalised: Role=NULL is no role */
    ck_assert_int_eq(check_buf("allow fqan /vws/users/Role=NULL create", OTHER,
                               "/vws/users/sub/Role=x", VWS_ACL_CREATE), 1);
    /* a whole-VO rule */
    ck_assert_int_eq(check_buf("allow fqan /vws inspect", OTHER,
                               "/vws/a/b/c/Role=r", VWS_ACL_INSPECT), 1);
    /* deny beats allow regardless of order */
    ck_assert_int_eq(check_buf("allow any *\ndeny dn \"" ALICE "\" create",
                               ALICE, NULL, VWS_ACL_CREATE), 0);
    ck_assert_int_eq(check_buf("deny any admin\nallow any *", ALICE, NULL,
                               VWS_ACL_ADMIN), 0);
    ck_assert_int_eq(check_buf("deny any admin\nallow any *", ALICE, NULL,
                               VWS_ACL_CREATE), 1);
    /* a UTF-8 byte order mark at the start */
    ck_assert_int_eq(check_buf("\xef\xbb\xbf" "allow any inspect", ALICE, NULL,
                               VWS_ACL_INSPECT), 1);
    /* no final newline, CRLF */
    ck_assert_int_eq(check_buf("allow any inspect\r\n", ALICE, NULL, VWS_ACL_INSPECT), 1);
}
END_TEST

/* ==== the hostile corpus =============================================== */

START_TEST(corpus_files)
{
    char *list = vws_asprintf("%s/expected.txt", corpus);
    FILE *f = fopen(list, "r");
    char line[2048];
    char **listed = NULL;
    size_t n_listed = 0, n_broken = 0;
    DIR *d;
    struct dirent *e;

    ck_assert_msg(f != NULL, "cannot open '%s'", list);
    while (fgets(line, sizeof(line), f)) {
        char *file, *kind, *msg, *save = NULL, *path;
        struct vws_acl *acl;

        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        file = strtok_r(line, "\t", &save);
        kind = strtok_r(NULL, "\t", &save);
        msg = strtok_r(NULL, "", &save);
        ck_assert_msg(file && kind && msg, "bad line in expected.txt");
        listed = vws_reallocarray(listed, n_listed + 1, sizeof(char *));
        listed[n_listed++] = vws_strdup(file);
        path = vws_asprintf("%s/%s", corpus, file);
        vws_error_reset();
        acl = vws_acl_load(path);
        if (strcmp(kind, "ok") == 0) {
            ck_assert_msg(acl != NULL, "%s: %s", file, vws_error_message());
            ck_assert_uint_eq(vws_acl_n_rules(acl), strtoul(msg, NULL, 10));
        } else {
            char *got;

            ck_assert_msg(acl == NULL, "%s: loaded, want '%s'", file, msg);
            got = strip_dir(vws_error_message(), corpus);
            ck_assert_msg(strcmp(got, msg) == 0, "%s:\n got '%s'\nwant '%s'",
                          file, got, msg);
            ck_assert_str_eq(vws_error_code_name(vws_error_code_last()), kind);
            free(got);
            n_broken++;
        }
        vws_acl_free(acl);
        free(path);
    }
    fclose(f);
    ck_assert_uint_ge(n_broken, 20);

    /* every .acl file of the corpus is listed */
    d = opendir(corpus);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        bool found = false;

        if (len < 5 || strcmp(e->d_name + len - 4, ".acl") != 0)
            continue;
        for (size_t i = 0; i < n_listed; i++)
            found = found || strcmp(listed[i], e->d_name) == 0;
        ck_assert_msg(found, "%s has no line in expected.txt", e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n_listed; i++)
        free(listed[i]);
    free(listed);
    free(list);
}
END_TEST

/* Load PATH, expect failure with CODE and a message that, with the temp
 * dir stripped, is exactly MSG. */
static void
expect_load_error(const char *path, vws_error_code code, const char *msg)
{
    struct vws_acl *acl;
    char *got;

    vws_error_reset();
    acl = vws_acl_load(path);
    ck_assert_msg(acl == NULL, "'%s' loaded", path);
    got = strip_dir(vws_error_message(), tmpdir);
    ck_assert_msg(strcmp(got, msg) == 0, "\n got '%s'\nwant '%s'", got, msg);
    ck_assert_str_eq(vws_error_code_name(vws_error_code_last()),
                     vws_error_code_name(code));
    free(got);
}

START_TEST(long_line)
{
    char *path = tmp_path("long.acl");
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs("# a 1 MB line follows\nallow dn \"/CN=", f);
    for (int i = 0; i < 1024 * 1024; i++)
        fputc('a' + i % 26, f);
    fputs("\" inspect\n", f);
    fclose(f);
    expect_load_error(path, VWS_ERR_LIMIT,
                      "long.acl:2: line is longer than 4096 bytes (1048599 bytes)");
    free(path);

    /* exactly 4096 bytes is fine */
    path = tmp_path("edge.acl");
    f = fopen(path, "w");
    fputs("allow any inspect #", f);
    for (int i = 19; i < 4096; i++)
        fputc('x', f);
    fputs("\n", f);
    fclose(f);
    {
        struct vws_acl *acl = vws_acl_load(path);

        ck_assert_msg(acl != NULL, "%s", vws_error_message());
        ck_assert_uint_eq(vws_acl_n_rules(acl), 1);
        vws_acl_free(acl);
    }
    free(path);
}
END_TEST

START_TEST(big_file)
{
    char *path = tmp_path("big.acl");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 5 * 1024 * 1024), 0);   /* sparse */
    close(fd);
    expect_load_error(path, VWS_ERR_LIMIT,
                      "ACL file 'big.acl' is larger than 4 MiB (5242880 bytes)");
    free(path);
}
END_TEST

START_TEST(not_regular)
{
    char *fifo = tmp_path("fifo.acl"), *dir = tmp_path("dir.acl");
    char *inc = tmp_path("inc.acl");

    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_load_error(fifo, VWS_ERR_CONFIG,
                      "ACL file 'fifo.acl' is not a regular file");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    expect_load_error(dir, VWS_ERR_CONFIG,
                      "ACL file 'dir.acl' is not a regular file");
    write_file(inc, "\n# a FIFO as include\ninclude fifo.acl\n");
    expect_load_error(inc, VWS_ERR_CONFIG,
                      "inc.acl:3: include 'fifo.acl' is not a regular file");
    free(fifo);
    free(dir);
    free(inc);
}
END_TEST

START_TEST(missing_top)
{
    char *path = tmp_path("nope.acl");

    expect_load_error(path, VWS_ERR_NOT_FOUND,
                      "cannot open ACL file 'nope.acl': No such file or directory");
    free(path);
    vws_error_reset();
    ck_assert_ptr_null(vws_acl_load(NULL));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
}
END_TEST

START_TEST(include_depth)
{
    char name[32], text[64];

    /* d0 includes d1 ... d9 includes nothing: 10 files, depth 9 > 8 */
    for (int i = 0; i <= 9; i++) {
        char *path;

        snprintf(name, sizeof(name), "d%d.acl", i);
        if (i < 9)
            snprintf(text, sizeof(text), "allow any inspect\ninclude d%d.acl\n", i + 1);
        else
            snprintf(text, sizeof(text), "allow any create\n");
        path = tmp_path(name);
        write_file(path, text);
        free(path);
    }
    {
        char *path = tmp_path("d0.acl");

        expect_load_error(path, VWS_ERR_LIMIT,
                          "d8.acl:2: includes are nested deeper than 8 files at "
                          "'d9.acl' (included from d7.acl:2) (included from "
                          "d6.acl:2) (included from d5.acl:2) (included from "
                          "d4.acl:2) (included from d3.acl:2) (included from "
                          "d2.acl:2) (included from d1.acl:2) (included from "
                          "d0.acl:2)");
        free(path);
        /* from d1 the chain is 8 deep: fine */
        path = tmp_path("d1.acl");
        {
            struct vws_acl *acl = vws_acl_load(path);

            ck_assert_msg(acl != NULL, "%s", vws_error_message());
            ck_assert_uint_eq(vws_acl_n_rules(acl), 9);
            vws_acl_free(acl);
        }
        free(path);
    }
}
END_TEST

START_TEST(include_glob_and_relative)
{
    char *dir = tmp_path("sub"), *p;
    struct vws_acl *acl;

    ck_assert_int_eq(mkdir(dir, 0755), 0);
    p = tmp_path("sub/b.acl");
    write_file(p, "allow any create\n");
    free(p);
    p = tmp_path("sub/a.acl");
    write_file(p, "include ../leaf.acl\n");    /* relative to sub/ */
    free(p);
    p = tmp_path("leaf.acl");
    write_file(p, "allow any inspect\n");
    free(p);
    p = tmp_path("top.acl");
    write_file(p, "include sub/*.acl\ninclude empty.d/*.acl\n");
    free(p);
    p = tmp_path("empty.d");
    ck_assert_int_eq(mkdir(p, 0755), 0);
    free(p);

    p = tmp_path("top.acl");
    acl = vws_acl_load(p);
    ck_assert_msg(acl != NULL, "%s", vws_error_message());
    {
        struct vws_buf b = VWS_BUF_INIT;
        char *s;

        vws_acl_dump(acl, &b);
        s = strip_dir(b.s, tmpdir);
        /* sorted: a.acl (-> leaf.acl) before b.acl */
        ck_assert_str_eq(s, "sub/../leaf.acl:1: allow any inspect\n"
                            "sub/b.acl:1: allow any create\n");
        free(s);
        vws_buf_release(&b);
    }
    vws_acl_free(acl);

    /* a glob that matches nothing is fine; the same file included twice
     * (not a loop) too */
    write_file(p, "include nothing-*.acl\ninclude leaf.acl\ninclude leaf.acl\n");
    acl = vws_acl_load(p);
    ck_assert_msg(acl != NULL, "%s", vws_error_message());
    ck_assert_uint_eq(vws_acl_n_rules(acl), 2);
    vws_acl_free(acl);

    /* a buffer resolves includes against its name's directory */
    {
        char *name = tmp_path("virtual.acl");
        const char *text = "include leaf.acl\n";

        acl = vws_acl_load_buffer(name, text, strlen(text));
        ck_assert_msg(acl != NULL, "%s", vws_error_message());
        ck_assert_uint_eq(vws_acl_n_rules(acl), 1);
        vws_acl_free(acl);
        free(name);
    }
    free(p);
    free(dir);
}
END_TEST

/* ==== reloading ======================================================== */

static char *logfile;

/* The log so far (the handle warns there when it keeps the last good ACL). */
static char *
read_log(void)
{
    FILE *f = fopen(logfile, "r");
    struct vws_buf b = VWS_BUF_INIT;
    char chunk[4096];
    size_t n;

    if (!f)
        return vws_strdup("");
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vws_buf_add(&b, chunk, n);
    fclose(f);
    return vws_buf_detach(&b, NULL);
}

static void
setup_reload(void)
{
    setup_tmp();
    logfile = tmp_path("log");
    ck_assert_int_eq(vws_log_open(VWS_LOG_TO_FILE, logfile), 0);
    vws_log_set_level(VWS_LOG_INFO);
}

static void
teardown_reload(void)
{
    vws_log_close();
    vws_log_set_level(VWS_LOG_WARN);
    free(logfile);
    logfile = NULL;
    teardown_tmp();
}

static int
handle_allows(struct vws_acl_handle *h, const char *dn, enum vws_acl_op op)
{
    struct vws_identity id;
    int r;

    make_id(&id, dn, NULL, 0);
    r = vws_acl_handle_check(h, &id, op, NULL);
    vws_identity_release(&id);
    return r;
}

START_TEST(reload_keeps_last_good)
{
    char *p = tmp_path("acl");
    struct vws_acl_handle *h;
    struct vws_acl *held;
    char *log;

    write_file(p, "allow dn \"" ALICE "\" create\n");
    h = vws_acl_handle_open(p, -1);         /* no file checks: explicit */
    ck_assert_msg(h != NULL, "%s", vws_error_message());
    ck_assert_uint_eq(vws_acl_handle_generation(h), 1);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 1);
    held = vws_acl_handle_get(h);           /* a reader in the middle of work */

    /* broken: reload fails, names file:line, the old rules stay */
    write_file(p, "allow dn \"" ALICE "\" create\nallow any *\ndeny dn \"" ALICE "\" fly\n");
    vws_error_reset();
    ck_assert_int_eq(vws_acl_handle_reload(h), -1);
    {
        char *got = strip_dir(vws_error_message(), tmpdir);

        ck_assert_str_eq(got, "acl:3: unknown operation 'fly' (expected create, "
                         "inspect, manage, deploy, broker, host, admin or *)");
        free(got);
    }
    ck_assert_uint_eq(vws_acl_handle_generation(h), 1);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 1);
    ck_assert_int_eq(handle_allows(h, BOB, VWS_ACL_ADMIN), 0);    /* not opened */
    log = read_log();
    ck_assert_msg(strstr(log, "warn acl: keeping the last good ACL: ") &&
                  strstr(log, "/acl:3: unknown operation 'fly'"), "log: %s", log);
    free(log);

    /* a file that disappears: same */
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(vws_acl_handle_reload(h), -1);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 1);

    /* fixed: the new rules */
    write_file(p, "allow dn \"" BOB "\" admin\n");
    ck_assert_int_eq(vws_acl_handle_reload(h), 0);
    ck_assert_uint_eq(vws_acl_handle_generation(h), 2);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 0);
    ck_assert_int_eq(handle_allows(h, BOB, VWS_ACL_ADMIN), 1);

    /* the reader's ACL is still the old one, valid until it drops it */
    {
        struct vws_identity id;

        make_id(&id, ALICE, NULL, 0);
        ck_assert_int_eq(vws_acl_check(held, &id, VWS_ACL_CREATE, NULL), 1);
        vws_identity_release(&id);
    }
    vws_acl_free(held);
    vws_acl_handle_close(h);
    vws_acl_handle_close(NULL);
    free(p);

    /* a first load that fails gives no handle */
    p = tmp_path("missing");
    ck_assert_ptr_null(vws_acl_handle_open(p, 0));
    free(p);
}
END_TEST

START_TEST(reload_on_change)
{
    char *p = tmp_path("acl"), *inc = tmp_path("inc.acl"), *d = tmp_path("acl.d");
    struct vws_acl_handle *h;
    char *log;

    ck_assert_int_eq(mkdir(d, 0755), 0);
    write_file(p, "allow dn \"" ALICE "\" create\ninclude inc.acl\ninclude acl.d/*.acl\n");
    write_file(inc, "allow dn \"" BOB "\" inspect\n");
    set_mtime(p, 1000000000);
    h = vws_acl_handle_open(p, 0);          /* look on every decision */
    ck_assert_msg(h != NULL, "%s", vws_error_message());
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(h), 1);   /* unchanged */

    /* the same size, a new mtime */
    write_file(p, "allow dn \"" ALICE "\" deploy\ninclude inc.acl\ninclude acl.d/*.acl\n");
    set_mtime(p, 1000000000 + 60);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_CREATE), 0);
    ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_DEPLOY), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(h), 2);

    /* an included file changes */
    write_file(inc, "allow dn \"" BOB "\" manage\n");
    set_mtime(inc, 1000000000 + 120);
    ck_assert_int_eq(handle_allows(h, BOB, VWS_ACL_MANAGE), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(h), 3);

    /* a new file appears in a globbed directory */
    {
        char *n = tmp_path("acl.d/new.acl");

        write_file(n, "allow dn \"" MALLORY "\" inspect\n");
        set_mtime(d, 1000000000 + 180);
        ck_assert_int_eq(handle_allows(h, MALLORY, VWS_ACL_INSPECT), 1);
        ck_assert_uint_eq(vws_acl_handle_generation(h), 4);

        /* a broken edit of the include: kept, warned once, not retried
         * until the file changes again */
        write_file(n, "allow dn \"" MALLORY "\" inspect\ndeny fqan bad *\n");
        set_mtime(n, 1000000000 + 240);
        ck_assert_int_eq(handle_allows(h, MALLORY, VWS_ACL_INSPECT), 1);
        ck_assert_int_eq(handle_allows(h, MALLORY, VWS_ACL_INSPECT), 1);
        ck_assert_uint_eq(vws_acl_handle_generation(h), 4);
        log = read_log();
        {
            const char *first = strstr(log, "keeping the last good ACL");

            ck_assert_msg(first && strstr(log, "new.acl:2: bad FQAN 'bad'") &&
                          !strstr(first + 1, "keeping the last good ACL"),
                          "log: %s", log);
        }
        free(log);

        /* fixed: picked up */
        write_file(n, "deny dn \"" MALLORY "\" inspect\n");
        set_mtime(n, 1000000000 + 300);
        ck_assert_int_eq(handle_allows(h, MALLORY, VWS_ACL_INSPECT), 0);
        ck_assert_uint_eq(vws_acl_handle_generation(h), 5);
        free(n);
    }
    /* a new inode (editors that write and rename) */
    {
        char *tmp = tmp_path("acl.new");

        write_file(tmp, "allow dn \"" ALICE "\" deploy\ninclude inc.acl\ninclude acl.d/*.acl\n");
        set_mtime(tmp, 1000000000 + 60);            /* even the same mtime */
        ck_assert_int_eq(rename(tmp, p), 0);
        ck_assert_int_eq(handle_allows(h, ALICE, VWS_ACL_DEPLOY), 1);
        ck_assert_uint_eq(vws_acl_handle_generation(h), 6);
        free(tmp);
    }
    vws_acl_handle_close(h);
    free(p);
    free(inc);
    free(d);
}
END_TEST

static struct vws_acl_handle *sighup_handle;

/* What a daemon's SIGHUP handler does: only ask. */
static void
on_sighup(int sig)
{
    (void)sig;
    vws_acl_handle_request_reload(sighup_handle);
}

START_TEST(reload_on_sighup)
{
    char *p = tmp_path("acl");
    struct sigaction sa, old;

    write_file(p, "allow any inspect\n");
    sighup_handle = vws_acl_handle_open(p, -1);    /* SIGHUP only */
    ck_assert_ptr_nonnull(sighup_handle);
    write_file(p, "allow any create\n");
    set_mtime(p, 1000000000);
    /* without a request nothing is reloaded (checks are off) */
    ck_assert_int_eq(handle_allows(sighup_handle, ALICE, VWS_ACL_INSPECT), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(sighup_handle), 1);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sighup;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGHUP, &sa, &old), 0);
    ck_assert_int_eq(raise(SIGHUP), 0);
    ck_assert_int_eq(sigaction(SIGHUP, &old, NULL), 0);

    ck_assert_int_eq(handle_allows(sighup_handle, ALICE, VWS_ACL_INSPECT), 0);
    ck_assert_int_eq(handle_allows(sighup_handle, ALICE, VWS_ACL_CREATE), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(sighup_handle), 2);

    /* a request reloads even an unchanged file */
    vws_acl_handle_request_reload(sighup_handle);
    ck_assert_int_eq(handle_allows(sighup_handle, ALICE, VWS_ACL_CREATE), 1);
    ck_assert_uint_eq(vws_acl_handle_generation(sighup_handle), 3);

    /* ownership through the handle */
    {
        struct vws_identity id;

        make_id(&id, ALICE, NULL, 0);
        ck_assert_int_eq(vws_acl_handle_may_manage(sighup_handle, &id, ALICE, NULL), 0);
        vws_identity_release(&id);
    }
    vws_acl_handle_close(sighup_handle);
    sighup_handle = NULL;
    free(p);
}
END_TEST

/* Readers decide while another thread reloads: every answer comes from
 * one whole ACL (either version), never a mix or a freed one. */
struct reader_arg {
    struct vws_acl_handle *h;
    int bad;
};

static void *
reader(void *arg)
{
    struct reader_arg *a = arg;

    for (int i = 0; i < 2000; i++) {
        struct vws_acl *acl = vws_acl_handle_get(a->h);
        struct vws_identity id;
        int c, d;

        make_id(&id, ALICE, NULL, 0);
        c = vws_acl_check(acl, &id, VWS_ACL_CREATE, NULL);
        d = vws_acl_check(acl, &id, VWS_ACL_DEPLOY, NULL);
        if (c == d)                 /* version 1: create; version 2: deploy */
            a->bad++;
        vws_identity_release(&id);
        vws_acl_free(acl);
    }
    return NULL;
}

START_TEST(reload_concurrent)
{
    char *p = tmp_path("acl");
    struct reader_arg args[4];
    pthread_t t[4];

    write_file(p, "allow any create\n");
    args[0].h = vws_acl_handle_open(p, -1);
    ck_assert_ptr_nonnull(args[0].h);
    for (int i = 0; i < 4; i++) {
        args[i].h = args[0].h;
        args[i].bad = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, reader, &args[i]), 0);
    }
    for (int i = 0; i < 50; i++) {
        write_file(p, i % 2 ? "allow any create\n" : "allow any deploy\n");
        ck_assert_int_eq(vws_acl_handle_reload(args[0].h), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(args[i].bad, 0);
    }
    ck_assert_uint_eq(vws_acl_handle_generation(args[0].h), 51);
    vws_acl_handle_close(args[0].h);
    free(p);
}
END_TEST

/* ==== suite ============================================================= */

static Suite *
acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc;

    tc = tcase_create("decisions");
    tcase_add_checked_fixture(tc, setup_site, teardown_site);
    tcase_add_loop_test(tc, decision, 0, (int)VWS_N_ELEMENTS(decision_cases));
    tcase_add_loop_test(tc, may_manage, 0, (int)VWS_N_ELEMENTS(manage_cases));
    tcase_add_test(tc, decision_text);
    tcase_add_test(tc, decision_bad_args);
    tcase_add_test(tc, dump_and_count);
    tcase_add_test(tc, ops_table);
    tcase_add_test(tc, syntax_corners);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, corpus_files);
    tcase_add_test(tc, long_line);
    tcase_add_test(tc, big_file);
    tcase_add_test(tc, not_regular);
    tcase_add_test(tc, missing_top);
    tcase_add_test(tc, include_depth);
    tcase_add_test(tc, include_glob_and_relative);
    suite_add_tcase(s, tc);

    tc = tcase_create("reload");
    tcase_add_checked_fixture(tc, setup_reload, teardown_reload);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reload_keeps_last_good);
    tcase_add_test(tc, reload_on_change);
    tcase_add_test(tc, reload_on_sighup);
    tcase_add_test(tc, reload_concurrent);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    const char *env = getenv("VWS_SRCDIR");
    SRunner *sr;
    int failed;

    srcdir = vws_strdup(env ? env : "..");
    corpus = vws_asprintf("%s/tests/corpus/acl", srcdir);
    site = vws_asprintf("%s/site/site.acl", corpus);
    vws_log_set_level(VWS_LOG_WARN);
    sr = srunner_create(acl_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(site);
    free(corpus);
    free(srcdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
