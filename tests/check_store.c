/*
 * check_store.c — unit tests of repository/libvwsrepo.a: the store
 * (workspaces, every state x location x operation of the transition table,
 * images, leases, migrations, hostile databases, kill -9 in the middle of a
 * stream of creates and destroys), the workspace CA, and the network pools
 * (the broken-file corpus of tests/corpus/netpool with its exact messages in
 * expected.txt, leasing from threads and processes at once, restarts).
 *
 * Every test works in a temporary directory of its own.  The workspace CA
 * is made in-process (RSA 2048, the subject of scripts/mkpki's workspace
 * CA), so the suite needs no PKI script; with VWS_PKI set (scripts/mkpki's
 * env.sh) the credential test also runs against its wsca/.
 */
#define VWS_MODULE "check_store"
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "common/uuid.h"
#include "common/xstime.h"
#include "repository/netpool.h"
#include "repository/store.h"
#include "repository/wsca.h"
#include "internal.h"

static char *srcdir;
static char tmpdir[64];
static char *dbpath;

#define OWNER "/O=Grid/OU=vws-test/CN=Alice"
#define HOST1 "/O=Grid/OU=vws-test/CN=host/manager1.localhost"
#define HOST2 "/O=Grid/OU=vws-test/CN=host/manager2.localhost"
#define DESC "<workspace xmlns=\"urn:vws:1.0\"><category><vm/></category>" \
             "</workspace>"

/* ---- fixtures and helpers --------------------------------------------- */

static void
setup(void)
{
    vws_strlcpy(tmpdir, "/tmp/vws-check-store-XXXXXX", sizeof(tmpdir));
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    dbpath = vws_asprintf("%s/repository.db", tmpdir);
    vws_error_reset();
}

static void
teardown(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    free(cmd);
    VWS_FREE(dbpath);
}

static struct vws_store *
open_ok(void)
{
    struct vws_store *s = vws_store_open(dbpath, NULL);
    ck_assert_msg(s, "open: %s", vws_error_message());
    return s;
}

/* Register a workspace of OWNER; its key into KEY. */
static void
reg(struct vws_store *s, const char *owner, char key[VWS_UUID_BUFSIZE])
{
    struct vws_workspace_spec spec = { 0 };
    struct vws_workspace ws;

    spec.owner = owner;
    spec.category = "vm";
    spec.description = DESC;
    ck_assert_msg(vws_store_register(s, &spec, &ws) == 0, "register: %s",
                  vws_error_message());
    memcpy(key, ws.key, VWS_UUID_BUFSIZE);
    vws_workspace_release(&ws);
}

#define ck_fails_with(expr, code) do { \
    vws_error_reset(); \
    ck_assert_int_eq((expr), -1); \
    ck_assert_msg(vws_error_code_last() == (code), \
                  "expected %s, got %s: %s", vws_error_code_name(code), \
                  vws_error_code_name(vws_error_code_last()), \
                  vws_error_message()); \
} while (0)

#define ck_msg_has(s) \
    ck_assert_msg(strstr(vws_error_message(), (s)), \
                  "message '%s' lacks '%s'", vws_error_message(), (s))

/* Run SQL on PATH through a connection of the test's own. */
static void
raw_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    char *err = NULL;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
                  "sql: %s", err ? err : "?");
    sqlite3_close(db);
}

static void
write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* ---- workspaces ------------------------------------------------------- */

START_TEST(test_register_get_select)
{
    struct vws_store *s = open_ok();
    struct vws_workspace_spec spec = { 0 };
    struct vws_workspace ws, *list;
    struct vws_workspace_filter f = VWS_WORKSPACE_FILTER_INIT;
    char k1[VWS_UUID_BUFSIZE], k2[VWS_UUID_BUFSIZE], upper[VWS_UUID_BUFSIZE];
    int64_t before = vws_time_now_ms();
    size_t n;

    ck_assert_int_eq(vws_store_schema_version(s), VWS_STORE_SCHEMA_VERSION);
    spec.key = "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9";
    spec.owner = OWNER;
    spec.category = "vm";
    spec.description = DESC;
    spec.deployment = "<deploymentRequest/>";
    spec.reservation = "agreement-7";
    spec.lifecycle = "PT2H";
    spec.termination_time = before + 3600 * 1000;
    ck_assert_int_eq(vws_store_register(s, &spec, &ws), 0);
    /* the key is kept in the canonical lowercase form */
    ck_assert_str_eq(ws.key, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    ck_assert_str_eq(ws.owner, OWNER);
    ck_assert_int_eq(ws.state, VWS_WS_SHUTDOWN);
    ck_assert_int_eq(ws.location, VWS_LOC_UNSTAGED);
    ck_assert_ptr_null(ws.host);
    ck_assert_ptr_null(ws.lock_holder);
    ck_assert_str_eq(ws.lifecycle, "PT2H");
    ck_assert_str_eq(ws.reservation, "agreement-7");
    ck_assert_str_eq(ws.deployment, "<deploymentRequest/>");
    ck_assert_int_ge(ws.creation_time, before);
    ck_assert_int_eq(ws.last_modified, ws.creation_time);
    ck_assert_int_eq(ws.termination_time, spec.termination_time);
    ck_assert_ptr_null(ws.cert_pem);      /* no CA in this store */
    vws_workspace_release(&ws);

    /* the same key again; upper case finds it too */
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_EXISTS);
    ck_assert_int_eq(vws_store_get(s, spec.key, &ws), 0);
    vws_strlcpy(upper, ws.key, sizeof(upper));
    vws_workspace_release(&ws);

    reg(s, OWNER, k1);
    reg(s, "/O=Grid/OU=vws-test/CN=Bob", k2);
    f.owner = OWNER;
    ck_assert_int_eq(vws_store_select(s, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].key, upper);     /* oldest first */
    ck_assert_str_eq(list[1].key, k1);
    ck_assert_ptr_null(list[0].description);  /* summary */
    vws_workspace_list_free(list, n);
    f.full = true;
    f.limit = 1;
    ck_assert_int_eq(vws_store_select(s, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].description, DESC);
    vws_workspace_list_free(list, n);

    ck_assert_int_eq(vws_store_checkout(s, k2, HOST1, NULL), 0);
    f = (struct vws_workspace_filter)VWS_WORKSPACE_FILTER_INIT;
    f.location = VWS_LOC_STAGING;
    ck_assert_int_eq(vws_store_select(s, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].key, k2);
    ck_assert_str_eq(list[0].host, HOST1);
    vws_workspace_list_free(list, n);
    f = (struct vws_workspace_filter)VWS_WORKSPACE_FILTER_INIT;
    f.state = VWS_WS_SHUTDOWN;
    f.category = "vm";
    ck_assert_int_eq(vws_store_select(s, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 3);
    vws_workspace_list_free(list, n);
    f.category = "dynamic-account";
    ck_assert_int_eq(vws_store_select(s, &f, &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(list);
    f.state = 17;
    ck_fails_with(vws_store_select(s, &f, &list, &n), VWS_ERR_INVALID_ARG);
    vws_store_close(s);
}
END_TEST

START_TEST(test_bad_arguments)
{
    struct vws_store *s = open_ok();
    struct vws_workspace_spec spec = { 0 };
    struct vws_workspace ws;
    char key[VWS_UUID_BUFSIZE];
    char *big;
    static const char *const bad_keys[] = {
        "../../../etc/passwd", "", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f",
        "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/..", "x' OR '1'='1",
        "0f1e2d3c 4b5a-4978-8695-a4b3c2d1e0f9",
    };

    reg(s, OWNER, key);
    /* unknown and malformed keys */
    ck_fails_with(vws_store_get(s, "00000000-0000-4000-8000-000000000000",
                                &ws), VWS_ERR_NOT_FOUND);
    ck_msg_has("no workspace '00000000-0000-4000-8000-000000000000'");
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_keys); i++) {
        ck_fails_with(vws_store_get(s, bad_keys[i], &ws), VWS_ERR_INVALID_ARG);
        ck_msg_has("invalid workspace key");
        ck_fails_with(vws_store_destroy(s, bad_keys[i], NULL),
                      VWS_ERR_INVALID_ARG);
        ck_fails_with(vws_store_checkout(s, bad_keys[i], HOST1, NULL),
                      VWS_ERR_INVALID_ARG);
    }
    ck_fails_with(vws_store_get(s, NULL, &ws), VWS_ERR_INVALID_ARG);

    /* the spec */
    ck_fails_with(vws_store_register(s, NULL, NULL), VWS_ERR_INVALID_ARG);
    spec.category = "vm";
    spec.description = DESC;
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    ck_msg_has("missing owner DN");
    spec.owner = "";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    spec.owner = "/CN=a\nb";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    ck_msg_has("control character");
    spec.owner = OWNER;
    spec.lifecycle = "two hours";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID);
    spec.lifecycle = NULL;
    spec.image = "../../etc/shadow";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    spec.image = "no-such-image";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_NOT_FOUND);
    ck_msg_has("no image 'no-such-image' in the pool");
    spec.image = NULL;
    spec.cert_pem = "-----BEGIN CERTIFICATE-----";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    spec.cert_pem = NULL;
    spec.termination_time = -5;
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    spec.termination_time = 0;

    /* descriptions: exactly the limit is fine, one byte more is not */
    big = vws_malloc(VWS_STORE_MAX_XML + 2);
    memset(big, 'x', VWS_STORE_MAX_XML + 1);
    big[VWS_STORE_MAX_XML + 1] = '\0';
    spec.description = big;
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_LIMIT);
    ck_msg_has("description is longer than 1048576 bytes");
    ck_fails_with(vws_store_refine(s, key, big), VWS_ERR_LIMIT);
    big[VWS_STORE_MAX_XML] = '\0';
    ck_assert_int_eq(vws_store_register(s, &spec, &ws), 0);
    ck_assert_uint_eq(strlen(ws.description), VWS_STORE_MAX_XML);
    vws_workspace_release(&ws);
    ck_assert_int_eq(vws_store_refine(s, key, big), 0);
    free(big);
    ck_fails_with(vws_store_refine(s, key, ""), VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_store_checkout(s, key, NULL, NULL), VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_store_mark_corrupted(s, key, NULL), VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_store_set_termination(s, key, -1), VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_store_report_location(s, key, HOST1, VWS_LOC_UNSTAGED),
                  VWS_ERR_INVALID_ARG);
    vws_store_close(s);
}
END_TEST

/* ---- the transition table, every state x location x operation --------- */

/* What the table must say, written out by hand (not computed from the
 * code): per operation, for each state (shutdown, paused, running,
 * corrupted) four characters for the locations (unstaged, staging,
 * staged, unstaging), 'x' allowed, '.' refused. */
static const struct {
    enum vws_ws_op op;
    const char *grid[VWS_WS_N_STATES];
} expected_table[] = {
    { VWS_OP_REFINE,   { "x...", "....", "....", "...." } },
    { VWS_OP_CHECKOUT, { "x...", "x...", "....", "...." } },
    { VWS_OP_STAGED,   { ".x..", ".x..", "....", "...." } },
    { VWS_OP_UNSTAGE,  { "..x.", "..x.", "....", "..x." } },
    { VWS_OP_RELEASE,  { ".xxx", ".xxx", "....", ".xxx" } },
    { VWS_OP_START,    { "..x.", "..x.", "....", "...." } },
    { VWS_OP_PAUSE,    { "....", "....", "..x.", "...." } },
    { VWS_OP_SHUTDOWN, { "....", "..x.", "..x.", "...." } },
    { VWS_OP_CORRUPT,  { "xxxx", "xxxx", "xxxx", "xxxx" } },
    { VWS_OP_CLONE,    { "xxxx", "xxxx", "xxxx", "...." } },
    { VWS_OP_SET_TERMINATION, { "xxxx", "xxxx", "xxxx", "xxxx" } },
    { VWS_OP_DESTROY,  { "xxxx", "xxxx", "xxxx", "xxxx" } },
};

/* Put KEY in STATE at LOCATION behind the store's back; checked out to
 * HOST1 unless unstaged. */
static void
force(const char *key, enum vws_ws_state st, enum vws_ws_location loc)
{
    char *sql;

    if (loc == VWS_LOC_UNSTAGED)
        sql = vws_asprintf("UPDATE workspaces SET state='%s', location='%s', "
                           "host=NULL, lock_holder=NULL WHERE key='%s'",
                           vws_ws_state_name(st), vws_ws_location_name(loc),
                           key);
    else
        sql = vws_asprintf("UPDATE workspaces SET state='%s', location='%s', "
                           "host='%s', lock_holder='%s' WHERE key='%s'",
                           vws_ws_state_name(st), vws_ws_location_name(loc),
                           HOST1, HOST1, key);
    raw_sql(dbpath, sql);
    free(sql);
}

/* Call OP the way the service would; the lock holder (HOST1) reports. */
static int
call_op(struct vws_store *s, enum vws_ws_op op, const char *key)
{
    char nkey[VWS_UUID_BUFSIZE];
    struct vws_workspace ws;
    int rc;

    switch (op) {
    case VWS_OP_REFINE:
        return vws_store_refine(s, key, "<workspace/>");
    case VWS_OP_CHECKOUT:
        return vws_store_checkout(s, key, HOST2, NULL);
    case VWS_OP_STAGED:
        return vws_store_report_location(s, key, HOST1, VWS_LOC_STAGED);
    case VWS_OP_UNSTAGE:
        return vws_store_report_location(s, key, HOST1, VWS_LOC_UNSTAGING);
    case VWS_OP_RELEASE:
        return vws_store_release(s, key, HOST1);
    case VWS_OP_START:
        return vws_store_report_state(s, key, HOST1, VWS_WS_RUNNING, NULL);
    case VWS_OP_PAUSE:
        return vws_store_report_state(s, key, HOST1, VWS_WS_PAUSED, NULL);
    case VWS_OP_SHUTDOWN:
        return vws_store_report_state(s, key, HOST1, VWS_WS_SHUTDOWN, NULL);
    case VWS_OP_CORRUPT:
        return vws_store_mark_corrupted(s, key, "disk image checksum "
                                        "mismatch");
    case VWS_OP_CLONE:
        rc = vws_store_clone(s, key, OWNER, 0, nkey, NULL);
        if (rc == 0)
            ck_assert_int_eq(vws_store_destroy(s, nkey, NULL), 0);
        return rc;
    case VWS_OP_SET_TERMINATION:
        return vws_store_set_termination(s, key, vws_time_now_ms() + 60000);
    case VWS_OP_DESTROY:
        rc = vws_store_destroy(s, key, &ws);
        vws_workspace_release(&ws);
        return rc;
    default:
        ck_abort_msg("unknown op");
        return -1;
    }
}

/* What a repeated report is: the lock holder reports the state or
 * location the workspace already has: accepted, nothing changes. */
static bool
is_repeat(enum vws_ws_op op, enum vws_ws_state st, enum vws_ws_location loc)
{
    if (loc == VWS_LOC_UNSTAGED)
        return false;       /* no lock holder */
    switch (op) {
    case VWS_OP_STAGED: return loc == VWS_LOC_STAGED;
    case VWS_OP_UNSTAGE: return loc == VWS_LOC_UNSTAGING;
    case VWS_OP_START: return st == VWS_WS_RUNNING;
    case VWS_OP_PAUSE: return st == VWS_WS_PAUSED;
    case VWS_OP_SHUTDOWN: return st == VWS_WS_SHUTDOWN;
    default: return false;
    }
}

START_TEST(test_transition_table)
{
    struct vws_store *s = open_ok();
    int checked = 0;

    ck_assert_uint_eq(VWS_N_ELEMENTS(expected_table), VWS_OP_N);
    for (size_t i = 0; i < VWS_N_ELEMENTS(expected_table); i++) {
        enum vws_ws_op op = expected_table[i].op;
        for (int st = 0; st < VWS_WS_N_STATES; st++) {
            for (int loc = 0; loc < VWS_LOC_N; loc++) {
                bool allowed = expected_table[i].grid[st][loc] == 'x';
                bool repeat = is_repeat(op, st, loc);
                char key[VWS_UUID_BUFSIZE];
                struct vws_workspace before, after;
                int rc;

                ck_assert_msg(vws_store_allowed(op, st, loc) == allowed,
                              "table: %s in %s/%s", vws_ws_op_name(op),
                              vws_ws_state_name(st), vws_ws_location_name(loc));
                reg(s, OWNER, key);
                force(key, st, loc);
                ck_assert_int_eq(vws_store_get(s, key, &before), 0);
                usleep(2000);   /* so that a change stamps a later time */
                vws_error_reset();
                rc = call_op(s, op, key);
                if (allowed || repeat) {
                    ck_assert_msg(rc == 0, "%s in %s/%s refused: %s",
                                  vws_ws_op_name(op), vws_ws_state_name(st),
                                  vws_ws_location_name(loc),
                                  vws_error_message());
                } else {
                    ck_assert_msg(rc == -1 &&
                                  vws_error_code_last() == VWS_ERR_STATE,
                                  "%s in %s/%s: rc %d, %s",
                                  vws_ws_op_name(op), vws_ws_state_name(st),
                                  vws_ws_location_name(loc), rc,
                                  vws_error_message());
                    ck_msg_has("needs it");
                    ck_msg_has(key);
                }
                if (op == VWS_OP_DESTROY || op == VWS_OP_CLONE) {
                    /* destroy: gone; clone: the source is untouched */
                    rc = vws_store_get(s, key, &after);
                    ck_assert_int_eq(rc, op == VWS_OP_DESTROY ? -1 : 0);
                    if (rc == 0)
                        ck_assert_int_eq(after.last_modified,
                                         before.last_modified);
                } else {
                    ck_assert_int_eq(vws_store_get(s, key, &after), 0);
                    if (allowed && !repeat)
                        ck_assert_int_gt(after.last_modified,
                                         before.last_modified);
                    else
                        ck_assert_int_eq(after.last_modified,
                                         before.last_modified);
                }
                if (rc == 0 && allowed && !repeat) {
                    /* what each operation must have done */
                    switch (op) {
                    case VWS_OP_CHECKOUT:
                        ck_assert_int_eq(after.location, VWS_LOC_STAGING);
                        ck_assert_str_eq(after.lock_holder, HOST2);
                        break;
                    case VWS_OP_STAGED:
                        ck_assert_int_eq(after.location, VWS_LOC_STAGED);
                        break;
                    case VWS_OP_UNSTAGE:
                        ck_assert_int_eq(after.location, VWS_LOC_UNSTAGING);
                        break;
                    case VWS_OP_RELEASE:
                        ck_assert_int_eq(after.location, VWS_LOC_UNSTAGED);
                        ck_assert_ptr_null(after.lock_holder);
                        ck_assert_ptr_null(after.host);
                        break;
                    case VWS_OP_START:
                        ck_assert_int_eq(after.state, VWS_WS_RUNNING);
                        break;
                    case VWS_OP_PAUSE:
                        ck_assert_int_eq(after.state, VWS_WS_PAUSED);
                        break;
                    case VWS_OP_SHUTDOWN:
                        ck_assert_int_eq(after.state, VWS_WS_SHUTDOWN);
                        break;
                    case VWS_OP_CORRUPT:
                        ck_assert_int_eq(after.state, VWS_WS_CORRUPTED);
                        ck_assert_str_eq(after.fault_reason,
                                         "disk image checksum mismatch");
                        break;
                    case VWS_OP_REFINE:
                        ck_assert_str_eq(after.description, "<workspace/>");
                        break;
                    default:
                        break;
                    }
                }
                if (op != VWS_OP_DESTROY) {
                    if (op != VWS_OP_CLONE && !(allowed || repeat)) {
                        /* a refusal changes nothing */
                        ck_assert_int_eq(after.state, before.state);
                        ck_assert_int_eq(after.location, before.location);
                    }
                    vws_workspace_release(&after);
                    ck_assert_int_eq(vws_store_destroy(s, key, NULL), 0);
                }
                vws_workspace_release(&before);
                checked++;
            }
        }
    }
    ck_assert_int_eq(checked, VWS_OP_N * VWS_WS_N_STATES * VWS_LOC_N);
    vws_store_close(s);
}
END_TEST

START_TEST(test_refusal_messages)
{
    struct vws_store *s = open_ok();
    char key[VWS_UUID_BUFSIZE], *want;

    reg(s, OWNER, key);
    force(key, VWS_WS_SHUTDOWN, VWS_LOC_STAGED);
    ck_fails_with(vws_store_checkout(s, key, HOST2, NULL), VWS_ERR_STATE);
    want = vws_asprintf("cannot checkout workspace '%s': it is staged on "
                        "host '%s'; checkout needs it unstaged", key, HOST1);
    ck_assert_str_eq(vws_error_message(), want);
    free(want);
    force(key, VWS_WS_RUNNING, VWS_LOC_STAGED);
    ck_fails_with(vws_store_refine(s, key, DESC), VWS_ERR_STATE);
    want = vws_asprintf("cannot refine workspace '%s': it is running and "
                        "staged on host '%s'; refine needs it shutdown, and "
                        "unstaged", key, HOST1);
    ck_assert_str_eq(vws_error_message(), want);
    free(want);
    ck_fails_with(vws_store_release(s, key, HOST1), VWS_ERR_STATE);
    want = vws_asprintf("cannot release workspace '%s': it is running; "
                        "release needs it shutdown, paused or corrupted", key);
    ck_assert_str_eq(vws_error_message(), want);
    free(want);
    vws_store_close(s);
}
END_TEST

START_TEST(test_lock_holder)
{
    struct vws_store *s = open_ok();
    struct vws_workspace ws;
    char key[VWS_UUID_BUFSIZE];

    reg(s, OWNER, key);
    /* nobody holds it: a host cannot report on it */
    ck_fails_with(vws_store_report_state(s, key, HOST1, VWS_WS_CORRUPTED,
                                         "bad"), VWS_ERR_DENIED);
    ck_msg_has("not checked out");
    ck_fails_with(vws_store_release(s, key, HOST1), VWS_ERR_STATE);
    ck_assert_int_eq(vws_store_checkout(s, key, HOST1, &ws), 0);
    ck_assert_str_eq(ws.lock_holder, HOST1);
    ck_assert_int_eq(ws.location, VWS_LOC_STAGING);
    vws_workspace_release(&ws);
    /* another host: denied, whatever it reports */
    ck_fails_with(vws_store_checkout(s, key, HOST2, NULL), VWS_ERR_STATE);
    ck_fails_with(vws_store_report_location(s, key, HOST2, VWS_LOC_STAGED),
                  VWS_ERR_DENIED);
    ck_msg_has("it is checked out by '" HOST1 "', not by '" HOST2 "'");
    ck_fails_with(vws_store_report_state(s, key, HOST2, VWS_WS_RUNNING, NULL),
                  VWS_ERR_DENIED);
    ck_fails_with(vws_store_report_state(s, key, HOST2, VWS_WS_CORRUPTED,
                                         "x"), VWS_ERR_DENIED);
    ck_fails_with(vws_store_release(s, key, HOST2), VWS_ERR_DENIED);
    /* the holder */
    ck_assert_int_eq(vws_store_report_location(s, key, HOST1,
                                               VWS_LOC_STAGED), 0);
    ck_assert_int_eq(vws_store_report_state(s, key, HOST1, VWS_WS_RUNNING,
                                            NULL), 0);
    ck_fails_with(vws_store_report_state(s, key, HOST1, VWS_WS_CORRUPTED,
                                         NULL), VWS_ERR_INVALID_ARG);
    ck_assert_int_eq(vws_store_report_state(s, key, HOST1, VWS_WS_CORRUPTED,
                                            "kernel panic"), 0);
    ck_assert_int_eq(vws_store_get(s, key, &ws), 0);
    ck_assert_int_eq(ws.state, VWS_WS_CORRUPTED);
    ck_assert_str_eq(ws.fault_reason, "kernel panic");
    vws_workspace_release(&ws);
    /* an admin's forced release */
    ck_assert_int_eq(vws_store_release(s, key, NULL), 0);
    ck_assert_int_eq(vws_store_get(s, key, &ws), 0);
    ck_assert_int_eq(ws.location, VWS_LOC_UNSTAGED);
    ck_assert_ptr_null(ws.lock_holder);
    ck_assert_str_eq(ws.fault_reason, "kernel panic");
    vws_workspace_release(&ws);
    vws_store_close(s);
}
END_TEST

START_TEST(test_life_cycle)
{
    struct vws_store *s = open_ok();
    struct vws_workspace ws, was;
    char key[VWS_UUID_BUFSIZE];
    int64_t last;
    static const struct { int kind; int value; } steps[] = {
        { 1, VWS_LOC_STAGED }, { 0, VWS_WS_RUNNING }, { 0, VWS_WS_PAUSED },
        { 0, VWS_WS_RUNNING }, { 0, VWS_WS_SHUTDOWN },
        { 1, VWS_LOC_UNSTAGING },
    };

    reg(s, OWNER, key);
    ck_assert_int_eq(vws_store_checkout(s, key, HOST1, &ws), 0);
    last = ws.last_modified;
    vws_workspace_release(&ws);
    for (size_t i = 0; i < VWS_N_ELEMENTS(steps); i++) {
        usleep(2000);
        if (steps[i].kind)
            ck_assert_int_eq(vws_store_report_location(s, key, HOST1,
                                                       steps[i].value), 0);
        else
            ck_assert_int_eq(vws_store_report_state(s, key, HOST1,
                                                    steps[i].value, NULL), 0);
        ck_assert_int_eq(vws_store_get(s, key, &ws), 0);
        ck_assert_int_gt(ws.last_modified, last);
        last = ws.last_modified;
        vws_workspace_release(&ws);
    }
    ck_assert_int_eq(vws_store_release(s, key, HOST1), 0);
    ck_assert_int_eq(vws_store_checkout(s, key, HOST2, NULL), 0);
    ck_assert_int_eq(vws_store_destroy(s, key, &was), 0);
    ck_assert_str_eq(was.lock_holder, HOST2);   /* tell this host */
    vws_workspace_release(&was);
    ck_fails_with(vws_store_destroy(s, key, NULL), VWS_ERR_NOT_FOUND);
    ck_fails_with(vws_store_release(s, key, HOST2), VWS_ERR_NOT_FOUND);
    vws_store_close(s);
}
END_TEST

START_TEST(test_clone_and_sweep)
{
    struct vws_store *s = open_ok();
    struct vws_workspace ws, *was;
    char keys[5][VWS_UUID_BUFSIZE], clone[VWS_UUID_BUFSIZE];
    int64_t now = vws_time_now_ms();
    size_t n;

    for (int i = 0; i < 5; i++)
        reg(s, OWNER, keys[i]);
    ck_assert_int_eq(vws_store_refine(s, keys[0], "<refined/>"), 0);
    ck_assert_int_eq(vws_store_clone(s, keys[0], "/O=Grid/CN=Bob", 0, clone,
                                     &ws), 0);
    ck_assert_str_ne(clone, keys[0]);
    ck_assert_str_eq(ws.key, clone);
    ck_assert_str_eq(ws.owner, "/O=Grid/CN=Bob");
    ck_assert_str_eq(ws.description, "<refined/>");
    ck_assert_int_eq(ws.state, VWS_WS_SHUTDOWN);
    ck_assert_int_eq(ws.termination_time, VWS_STORE_NEVER);
    vws_workspace_release(&ws);
    ck_fails_with(vws_store_clone(s, "00000000-0000-4000-8000-000000000000",
                                  OWNER, 0, clone, NULL), VWS_ERR_NOT_FOUND);

    /* three expire, one later, one never */
    ck_assert_int_eq(vws_store_set_termination(s, keys[0], now - 10), 0);
    ck_assert_int_eq(vws_store_set_termination(s, keys[1], now - 5000), 0);
    ck_assert_int_eq(vws_store_set_termination(s, keys[2], now - 1), 0);
    ck_assert_int_eq(vws_store_set_termination(s, keys[3], now + 60000), 0);
    ck_assert_int_eq(vws_store_checkout(s, keys[2], HOST1, NULL), 0);
    ck_assert_int_eq(vws_store_sweep_expired(s, now, &was, &n), 3);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(was[0].key, keys[1]);      /* earliest first */
    ck_assert_str_eq(was[2].key, keys[2]);
    ck_assert_str_eq(was[2].lock_holder, HOST1);
    vws_workspace_list_free(was, n);
    ck_fails_with(vws_store_get(s, keys[0], &ws), VWS_ERR_NOT_FOUND);
    ck_assert_int_eq(vws_store_get(s, keys[3], &ws), 0);
    vws_workspace_release(&ws);
    ck_assert_int_eq(vws_store_sweep_expired(s, now, NULL, NULL), 0);
    ck_assert_int_eq(vws_store_sweep_expired(s, now + 120000, NULL, NULL), 1);
    ck_assert_int_eq(vws_store_set_termination(s, keys[4], VWS_STORE_NEVER),
                     0);
    ck_assert_int_eq(vws_store_sweep_expired(s, INT64_MAX, NULL, NULL), 0);
    vws_store_close(s);
}
END_TEST

/* Threads register, change and destroy through one handle at once. */
static void *
hammer(void *arg)
{
    struct vws_store *s = arg;
    long ok = 0;

    for (int i = 0; i < 40; i++) {
        char key[VWS_UUID_BUFSIZE];
        struct vws_workspace_spec spec = { 0 };
        struct vws_workspace ws;

        spec.owner = OWNER;
        spec.category = "vm";
        spec.description = DESC;
        if (vws_store_register(s, &spec, &ws) < 0)
            break;
        memcpy(key, ws.key, sizeof(key));
        vws_workspace_release(&ws);
        if (vws_store_checkout(s, key, HOST1, NULL) < 0 ||
            vws_store_report_location(s, key, HOST1, VWS_LOC_STAGED) < 0 ||
            vws_store_release(s, key, HOST1) < 0)
            break;
        if (i % 2 == 0 && vws_store_destroy(s, key, NULL) < 0)
            break;
        ok++;
    }
    return (void *)ok;
}

START_TEST(test_threads_share_a_handle)
{
    struct vws_store *s = open_ok();
    pthread_t t[4];
    struct vws_workspace *list;
    size_t n;

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, s), 0);
    for (int i = 0; i < 4; i++) {
        void *ok;
        ck_assert_int_eq(pthread_join(t[i], &ok), 0);
        ck_assert_int_eq((long)ok, 40);
    }
    ck_assert_int_eq(vws_store_select(s, NULL, &list, &n), 0);
    ck_assert_uint_eq(n, 80);
    vws_workspace_list_free(list, n);
    vws_store_close(s);
}
END_TEST

/* ---- images ----------------------------------------------------------- */

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static struct vws_image
image(const char *name, const char *format)
{
    struct vws_image img;

    vws_image_init(&img);
    img.name = (char *)name;
    img.format = (char *)format;
    img.location = (char *)"gsiftp://repository.localhost:2811/pool/x.img";
    img.size = 1 << 20;
    img.sha256 = (char *)SHA;
    return img;
}

START_TEST(test_images)
{
    struct vws_store *s = open_ok();
    struct vws_image img = image("debian-12.raw", "raw"), got, *list;
    struct vws_workspace_spec spec = { 0 };
    char k1[VWS_UUID_BUFSIZE], k2[VWS_UUID_BUFSIZE];
    struct vws_workspace ws;
    char name129[130];
    size_t n;
    static const char *const bad_names[] = {
        "../etc/passwd", "a/b", ".hidden", "", "-rf", "a b", "x\n",
        "pool/../../x", "na\xc3\xafve",
    };

    ck_assert_int_eq(vws_store_image_register(s, &img), 0);
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_EXISTS);
    img = image("kernel-6.1", "kernel+initrd");
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    ck_msg_has("kernel+initrd");
    img.initrd_location = (char *)"file:///srv/pool/initrd.img";
    img.initrd_size = 4096;
    img.initrd_sha256 = (char *)SHA;
    img.cmdline = (char *)"console=ttyS0";
    ck_assert_int_eq(vws_store_image_register(s, &img), 0);
    img = image("qcow", "qcow2");
    img.initrd_location = (char *)"file:///x";
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    img = image("qcow", "vmdk");
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    img = image("qcow", "qcow2");
    img.sha256 = (char *)"abc";
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    img = image("qcow", "qcow2");
    img.location = (char *)"/no/scheme";
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    img = image("qcow", "qcow2");
    img.size = 0;
    ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_names); i++) {
        img = image(bad_names[i], "raw");
        ck_fails_with(vws_store_image_register(s, &img), VWS_ERR_INVALID_ARG);
        ck_fails_with(vws_store_image_get(s, bad_names[i], &got),
                      VWS_ERR_INVALID_ARG);
        ck_fails_with(vws_store_image_remove(s, bad_names[i]),
                      VWS_ERR_INVALID_ARG);
    }
    memset(name129, 'a', 129);
    name129[129] = '\0';
    ck_assert(!vws_store_name_is_valid(name129));
    name129[128] = '\0';
    ck_assert(vws_store_name_is_valid(name129));

    /* in use: derived from the workspaces that name it */
    spec.owner = OWNER;
    spec.category = "vm";
    spec.description = DESC;
    spec.image = "debian-12.raw";
    ck_assert_int_eq(vws_store_register(s, &spec, &ws), 0);
    memcpy(k1, ws.key, sizeof(k1));
    ck_assert_str_eq(ws.image, "debian-12.raw");
    vws_workspace_release(&ws);
    ck_assert_int_eq(vws_store_clone(s, k1, OWNER, 0, k2, NULL), 0);
    ck_assert_int_eq(vws_store_image_get(s, "debian-12.raw", &got), 0);
    ck_assert_uint_eq(got.in_use, 2);
    ck_assert_str_eq(got.sha256, SHA);
    ck_assert_int_gt(got.created, 0);
    vws_image_release(&got);
    ck_fails_with(vws_store_image_remove(s, "debian-12.raw"), VWS_ERR_STATE);
    ck_msg_has("cannot remove image 'debian-12.raw': workspace '");
    ck_msg_has("' and 1 others use it");
    ck_assert_int_eq(vws_store_destroy(s, k1, NULL), 0);
    ck_fails_with(vws_store_image_remove(s, "debian-12.raw"), VWS_ERR_STATE);
    ck_msg_has(k2);
    ck_assert_int_eq(vws_store_destroy(s, k2, NULL), 0);
    ck_assert_int_eq(vws_store_image_list(s, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].name, "debian-12.raw");
    ck_assert_uint_eq(list[0].in_use, 0);
    ck_assert_str_eq(list[1].initrd_location, "file:///srv/pool/initrd.img");
    vws_image_list_free(list, n);
    ck_assert_int_eq(vws_store_image_remove(s, "debian-12.raw"), 0);
    ck_fails_with(vws_store_image_remove(s, "debian-12.raw"),
                  VWS_ERR_NOT_FOUND);
    ck_fails_with(vws_store_image_get(s, "debian-12.raw", &got),
                  VWS_ERR_NOT_FOUND);
    vws_store_close(s);
}
END_TEST

/* ---- schema, migrations, hostile files -------------------------------- */

/* Schema version 1 exactly as it shipped: never change this copy. */
static const char schema_v1[] =
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
    "  applied INTEGER NOT NULL, description TEXT NOT NULL);"
    "CREATE TABLE images (name TEXT PRIMARY KEY,"
    "  format TEXT NOT NULL CHECK (format IN ('raw','qcow2','kernel+initrd')),"
    "  location TEXT NOT NULL, size INTEGER NOT NULL CHECK (size > 0),"
    "  sha256 TEXT NOT NULL, initrd_location TEXT, initrd_size INTEGER,"
    "  initrd_sha256 TEXT, cmdline TEXT, description TEXT,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE workspaces (key TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    "  category TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    "  ('shutdown','paused','running','corrupted')), location TEXT NOT NULL"
    "  CHECK (location IN ('unstaged','staging','staged','unstaging')),"
    "  host TEXT, creation_time INTEGER NOT NULL, termination_time INTEGER,"
    "  lifecycle TEXT, last_modified INTEGER NOT NULL,"
    "  description TEXT NOT NULL, deployment TEXT, reservation TEXT,"
    "  fault_reason TEXT, lock_holder TEXT,"
    "  image TEXT REFERENCES images(name) ON DELETE RESTRICT,"
    "  cert_pem TEXT, key_pem TEXT);"
    "CREATE INDEX workspaces_owner ON workspaces(owner, creation_time);"
    "CREATE INDEX workspaces_image ON workspaces(image);"
    "CREATE INDEX workspaces_termination ON workspaces(termination_time)"
    "  WHERE termination_time IS NOT NULL;"
    "INSERT INTO schema_version VALUES (1, 1700000000000, 'v1');"
    "INSERT INTO workspaces (key, owner, category, state, location, host,"
    "  creation_time, last_modified, description, lock_holder) VALUES"
    "  ('11111111-2222-4333-8444-555555555555', '/O=Grid/CN=Old', 'vm',"
    "  'paused', 'staged', 'h', 1700000000000, 1700000000001, '<old/>', 'h');";

START_TEST(test_migrate_v1)
{
    struct vws_store *s;
    struct vws_workspace ws;
    struct vws_netpool *pool;
    struct vws_lease lease;
    char *poolfile = vws_asprintf("%s/p.pool", tmpdir);

    raw_sql(dbpath, schema_v1);
    s = open_ok();
    ck_assert_int_eq(vws_store_schema_version(s), 2);
    ck_assert_int_eq(vws_store_get(s, "11111111-2222-4333-8444-555555555555",
                                   &ws), 0);
    ck_assert_str_eq(ws.owner, "/O=Grid/CN=Old");
    ck_assert_int_eq(ws.state, VWS_WS_PAUSED);
    ck_assert_int_eq(ws.last_modified, 1700000000001);
    vws_workspace_release(&ws);
    /* the table version 2 added works */
    write_file(poolfile, "netmask = 255.255.255.0\nh1 10.0.0.9\n", 36);
    ck_assert_int_eq(vws_netpool_load(poolfile, NULL, &pool), 0);
    ck_assert_int_eq(vws_netpool_lease(pool, s,
                                       "11111111-2222-4333-8444-555555555555",
                                       &lease), 0);
    ck_assert_str_eq(lease.ip, "10.0.0.9");
    vws_lease_release(&lease);
    vws_netpool_free(pool);
    vws_store_close(s);
    /* opened again: nothing more to do, the lease is there */
    s = open_ok();
    ck_assert_int_eq(vws_store_lease_get(s, "p",
                                         "11111111-2222-4333-8444-555555555555",
                                         &lease), 0);
    vws_lease_release(&lease);
    vws_store_close(s);
    free(poolfile);
}
END_TEST

START_TEST(test_future_schema)
{
    struct vws_store *s = open_ok();
    char *want;

    vws_store_close(s);
    raw_sql(dbpath, "INSERT INTO schema_version VALUES (7, 0, 'from the "
                    "future')");
    vws_error_reset();
    ck_assert_ptr_null(vws_store_open(dbpath, NULL));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_UNSUPPORTED);
    want = vws_asprintf("cannot open store '%s': its schema version is 7, "
                        "this vws knows versions 1 to 2 (a newer vws made "
                        "it)", dbpath);
    ck_assert_str_eq(vws_error_message(), want);
    free(want);
}
END_TEST

START_TEST(test_hostile_files)
{
    char garbage[8192];
    char *other = vws_asprintf("%s/other.db", tmpdir);
    char *dir = vws_asprintf("%s/dir.db", tmpdir);
    struct vws_store *s;
    int fd;

    /* garbage bytes */
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)(i * 7 + 13);
    write_file(dbpath, garbage, sizeof(garbage));
    vws_error_reset();
    ck_assert_ptr_null(vws_store_open(dbpath, NULL));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_IO);
    ck_msg_has("file is not a database");
    ck_msg_has(dbpath);

    /* an SQLite database of something else */
    raw_sql(other, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    vws_error_reset();
    ck_assert_ptr_null(vws_store_open(other, NULL));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_msg_has("not a vws store");

    /* a real store whose pages were overwritten */
    unlink(dbpath);
    s = open_ok();
    for (int i = 0; i < 50; i++) {
        char key[VWS_UUID_BUFSIZE];
        reg(s, OWNER, key);
    }
    vws_store_close(s);
    fd = open(dbpath, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, garbage, 4096, 4096), 4096);
    ck_assert_int_eq(pwrite(fd, garbage, 2048, 20000), 2048);
    close(fd);
    vws_error_reset();
    s = vws_store_open(dbpath, NULL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_IO);

    /* not a file; no path */
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    ck_assert_ptr_null(vws_store_open(dir, NULL));
    ck_assert_ptr_null(vws_store_open(NULL, NULL));
    ck_assert_ptr_null(vws_store_open("", NULL));
    free(other);
    free(dir);
}
END_TEST

START_TEST(test_file_mode)
{
    struct vws_store *s = open_ok();
    struct stat st;

    ck_assert_int_eq(stat(dbpath, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0);   /* it holds private keys */
    vws_store_close(s);
}
END_TEST

/* ---- kill -9 ---------------------------------------------------------- */

/* The child: creates and destroys until killed; after each acknowledged
 * operation it writes "C key\n" or "D key\n" to FD. */
static void
crash_child(int fd)
{
    struct vws_store *s = vws_store_open(dbpath, NULL);
    char keys[64][VWS_UUID_BUFSIZE];
    int n = 0;

    if (!s)
        _exit(2);
    for (int i = 0; i < 100000; i++) {
        char line[64];
        int len;

        if (i % 3 == 2 && n > 0) {
            n--;
            /* the intent first: if the kill comes during the destroy, the
             * parent knows that either outcome is right */
            len = snprintf(line, sizeof(line), "d %s\n", keys[n]);
            if (write(fd, line, (size_t)len) != len)
                _exit(5);
            if (vws_store_destroy(s, keys[n], NULL) < 0)
                _exit(3);
            len = snprintf(line, sizeof(line), "D %s\n", keys[n]);
        } else {
            struct vws_workspace_spec spec = { 0 };
            struct vws_workspace ws;
            spec.owner = OWNER;
            spec.category = "vm";
            spec.description = DESC;
            if (vws_store_register(s, &spec, &ws) < 0)
                _exit(4);
            if (n < 64)
                memcpy(keys[n++], ws.key, VWS_UUID_BUFSIZE);
            len = snprintf(line, sizeof(line), "C %s\n", ws.key);
            vws_workspace_release(&ws);
        }
        if (write(fd, line, (size_t)len) != len)
            _exit(5);
    }
    _exit(0);
}

START_TEST(test_kill_9)
{
    int total_created = 0, total_destroyed = 0;

    for (int round = 0; round < 3; round++) {
        struct vws_store *s;
        struct vws_buf acked = VWS_BUF_INIT;
        char buf[4096];
        int p[2], status, lines = 0, missing = 0, resurrected = 0;
        pid_t pid;
        ssize_t got;

        ck_assert_int_eq(pipe(p), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(p[0]);
            crash_child(p[1]);
        }
        close(p[1]);
        /* read until the child has acknowledged some work, then kill it
         * without warning in the middle of whatever it is doing */
        while (lines < 40 + round * 30 &&
               (got = read(p[0], buf, sizeof(buf))) > 0) {
            vws_buf_add(&acked, buf, (size_t)got);
            for (ssize_t i = 0; i < got; i++)
                lines += buf[i] == '\n';
        }
        usleep(1000 * (unsigned)(round * 7 % 5));
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while ((got = read(p[0], buf, sizeof(buf))) > 0)
            vws_buf_add(&acked, buf, (size_t)got);
        close(p[0]);

        /* every whole line is an acknowledged operation: check each
         * key's last acknowledged operation against the database */
        s = open_ok();
        for (char *line = acked.s, *nl; (nl = strchr(line, '\n'));
             line = nl + 1) {
            struct vws_workspace ws;
            char key[VWS_UUID_BUFSIZE];
            bool destroyed_later = false;

            *nl = '\0';
            ck_assert_uint_eq(strlen(line), 2 + VWS_UUID_STRLEN);
            memcpy(key, line + 2, sizeof(key));
            if (line[0] == 'd')
                continue;       /* an intent, not an acknowledgement */
            if (line[0] == 'C') {
                char *d = vws_asprintf("D %s", key);
                char *intent = vws_asprintf("d %s", key);
                destroyed_later = strstr(nl + 1, d) != NULL;
                /* a destroy under way when the kill came: either way */
                if (!destroyed_later && strstr(nl + 1, intent))
                    destroyed_later = true;
                free(d);
                free(intent);
                total_created++;
            } else {
                total_destroyed++;
            }
            vws_error_reset();
            if (vws_store_get(s, key, &ws) == 0) {
                vws_workspace_release(&ws);
                if (line[0] == 'D' || destroyed_later)
                    resurrected += line[0] == 'D';
            } else {
                ck_assert_int_eq(vws_error_code_last(), VWS_ERR_NOT_FOUND);
                if (line[0] == 'C' && !destroyed_later)
                    missing++;
            }
        }
        ck_assert_msg(missing == 0, "round %d: %d acknowledged creates lost",
                      round, missing);
        ck_assert_msg(resurrected == 0, "round %d: %d acknowledged destroys "
                      "came back", round, resurrected);
        vws_store_close(s);
        vws_buf_release(&acked);
    }
    ck_assert_int_gt(total_created, 100);
    ck_assert_int_gt(total_destroyed, 30);
}
END_TEST

/* ---- the workspace CA ------------------------------------------------- */

static char *ca_cert_file, *ca_key_file;

static void
add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A self-signed CA in DIR with scripts/mkpki's workspace CA subject, or
 * (IS_CA false) a plain certificate. */
static void
make_ca(const char *dir, bool is_ca, char **cert_file, char **key_file)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    FILE *f;

    ck_assert_ptr_nonnull(k);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                               (const unsigned char *)"Grid", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC,
                               (const unsigned char *)"vws-test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               (const unsigned char *)"vws workspace CA",
                               -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
    X509_set_pubkey(x, k);
    add_ext(x, NID_basic_constraints,
            is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (is_ca)
        add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, NID_subject_key_identifier, "hash");
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    *cert_file = vws_asprintf("%s/%s", dir, is_ca ? "cacert.pem" : "x.pem");
    *key_file = vws_asprintf("%s/%s", dir, is_ca ? "cakey.pem" : "xkey.pem");
    f = fopen(*cert_file, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(*key_file, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void
setup_ca(void)
{
    setup();
    make_ca(tmpdir, true, &ca_cert_file, &ca_key_file);
}

static void
teardown_ca(void)
{
    VWS_FREE(ca_cert_file);
    VWS_FREE(ca_key_file);
    teardown();
}

static X509 *
pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ck_assert_ptr_nonnull(x);
    return x;
}

static EVP_PKEY *
pem_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ck_assert_ptr_nonnull(k);
    return k;
}

/* X509_verify_cert of CERT against the CA file, for PURPOSE. */
static int
verify(const char *ca_file, X509 *cert, int purpose)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;

    ck_assert_int_eq(X509_STORE_load_file(st, ca_file), 1);
    ck_assert_int_eq(X509_STORE_CTX_init(ctx, st, cert, NULL), 1);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    ok = X509_verify_cert(ctx);
    if (ok != 1)
        fprintf(stderr, "verify: %s\n", X509_verify_cert_error_string(
                    X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static void
check_credential(const char *ca_file, const struct vws_wsca_credential *c,
                 const char *key, const char *hostname)
{
    X509 *x = pem_cert(c->cert_pem);
    EVP_PKEY *k = pem_key(c->key_pem);
    char subject[512];
    GENERAL_NAMES *san;
    bool dns = false, uri = false;

    ck_assert_int_eq(verify(ca_file, x, X509_PURPOSE_SSL_CLIENT), 1);
    ck_assert_int_eq(verify(ca_file, x, X509_PURPOSE_SSL_SERVER), 1);
    ck_assert_int_eq(X509_check_private_key(x, k), 1);
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    {
        char *want = vws_asprintf("/O=Grid/OU=vws-test/OU=vws-workspaces/"
                                  "CN=%s", key);
        ck_assert_str_eq(subject, want);
        free(want);
    }
    ck_assert_int_eq(X509_check_ca(x), 0);
    san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    ck_assert_ptr_nonnull(san);
    for (int i = 0; i < sk_GENERAL_NAME_num(san); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
        const char *v = (const char *)ASN1_STRING_get0_data(
            g->type == GEN_DNS ? g->d.dNSName : g->d.uniformResourceIdentifier);
        if (g->type == GEN_DNS)
            dns = hostname && strcmp(v, hostname) == 0;
        if (g->type == GEN_URI)
            uri = strncmp(v, "urn:uuid:", 9) == 0 && strcmp(v + 9, key) == 0;
    }
    GENERAL_NAMES_free(san);
    ck_assert(uri);
    ck_assert(dns == (hostname != NULL));
    EVP_PKEY_free(k);
    X509_free(x);
}

START_TEST(test_wsca_issue)
{
    struct vws_wsca *ca = vws_wsca_open(ca_cert_file, ca_key_file,
                                        VWS_WSCA_KEY_EC_P256);
    struct vws_wsca *rsa;
    struct vws_wsca_credential a, b, c;
    char k1[VWS_UUID_BUFSIZE], k2[VWS_UUID_BUFSIZE];
    int64_t until = vws_time_now_ms() + 3600 * 1000;
    X509 *x;
    const ASN1_TIME *na;
    int day, sec;

    ck_assert_msg(ca, "%s", vws_error_message());
    ck_assert_str_eq(vws_wsca_subject(ca),
                     "/O=Grid/OU=vws-test/CN=vws workspace CA");
    ck_assert_int_eq(vws_uuid_generate_string(k1), 0);
    ck_assert_int_eq(vws_uuid_generate_string(k2), 0);
    ck_assert_int_eq(vws_wsca_issue(ca, k1, "ws1.site.example", until, &a),
                     0);
    ck_assert_int_eq(vws_wsca_issue(ca, k2, NULL, until, &b), 0);
    check_credential(ca_cert_file, &a, k1, "ws1.site.example");
    check_credential(ca_cert_file, &b, k2, NULL);
    ck_assert_str_ne(a.serial, b.serial);
    ck_assert_str_ne(a.key_pem, b.key_pem);
    ck_assert_int_eq(a.not_after, until / 1000 * 1000);
    /* validity: the workspace's lifetime */
    x = pem_cert(a.cert_pem);
    na = X509_get0_notAfter(x);
    ck_assert_int_eq(ASN1_TIME_diff(&day, &sec, NULL, na), 1);
    ck_assert(day == 0 && sec > 3500 && sec <= 3600);
    X509_free(x);
    /* bounded by the CA's own lifetime */
    ck_assert_int_eq(vws_wsca_issue(ca, k1, NULL, INT64_MAX / 2, &c), 0);
    x = pem_cert(c.cert_pem);
    ck_assert_int_ge(X509_cmp_time(X509_get0_notAfter(x), NULL), 1);
    ck_assert_int_le(ASN1_TIME_compare(X509_get0_notAfter(x), NULL) , 1);
    X509_free(x);
    vws_wsca_credential_release(&c);
    /* bad input */
    ck_fails_with(vws_wsca_issue(ca, "../x", NULL, until, &c),
                  VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_wsca_issue(ca, k1, "bad host,DNS:evil.example", until,
                                 &c), VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_wsca_issue(ca, k1, "-x.example", until, &c),
                  VWS_ERR_INVALID_ARG);
    ck_fails_with(vws_wsca_issue(ca, k1, NULL, vws_time_now_ms() - 1000, &c),
                  VWS_ERR_INVALID_ARG);
    vws_wsca_credential_release(&a);
    vws_wsca_credential_release(&b);

    /* RSA 2048 keys on request */
    rsa = vws_wsca_open(ca_cert_file, ca_key_file, VWS_WSCA_KEY_RSA2048);
    ck_assert_ptr_nonnull(rsa);
    ck_assert_int_eq(vws_wsca_issue(rsa, k1, "ws1", until, &a), 0);
    check_credential(ca_cert_file, &a, k1, "ws1");
    {
        EVP_PKEY *k = pem_key(a.key_pem);
        ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
        ck_assert_int_eq(EVP_PKEY_get_bits(k), 2048);
        EVP_PKEY_free(k);
    }
    vws_wsca_credential_release(&a);
    vws_wsca_free(rsa);
    vws_wsca_free(ca);
}
END_TEST

START_TEST(test_wsca_bad_ca)
{
    char *other_cert, *other_key, *missing;

    make_ca(tmpdir, false, &other_cert, &other_key);
    missing = vws_asprintf("%s/missing.pem", tmpdir);
    vws_error_reset();
    ck_assert_ptr_null(vws_wsca_open(ca_cert_file, other_key,
                                     VWS_WSCA_KEY_EC_P256));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_CONFIG);
    ck_msg_has("does not match");
    ck_assert_ptr_null(vws_wsca_open(other_cert, other_key,
                                     VWS_WSCA_KEY_EC_P256));
    ck_msg_has("is not a CA certificate");
    ck_assert_ptr_null(vws_wsca_open(missing, ca_key_file,
                                     VWS_WSCA_KEY_EC_P256));
    ck_msg_has("cannot read the workspace CA certificate");
    ck_assert_ptr_null(vws_wsca_open(ca_cert_file, ca_cert_file,
                                     VWS_WSCA_KEY_EC_P256));
    ck_msg_has("cannot read the workspace CA key");
    ck_assert_ptr_null(vws_wsca_open(ca_cert_file, ca_key_file, 9));
    free(other_cert);
    free(other_key);
    free(missing);
}
END_TEST

/* scripts/mkpki's workspace CA, when the environment names one. */
START_TEST(test_wsca_mkpki)
{
    const char *pki = getenv("VWS_PKI");
    char *cert, *key, k[VWS_UUID_BUFSIZE];
    struct vws_wsca *ca;
    struct vws_wsca_credential c;

    if (!pki || !*pki)
        return;     /* not set: the in-process CA above covers it */
    cert = vws_asprintf("%s/wsca/cacert.pem", pki);
    key = vws_asprintf("%s/wsca/cakey.pem", pki);
    ca = vws_wsca_open(cert, key, VWS_WSCA_KEY_EC_P256);
    ck_assert_msg(ca, "%s", vws_error_message());
    ck_assert_int_eq(vws_uuid_generate_string(k), 0);
    ck_assert_int_eq(vws_wsca_issue(ca, k, "localhost",
                                    vws_time_now_ms() + 600000, &c), 0);
    check_credential(cert, &c, k, "localhost");
    vws_wsca_credential_release(&c);
    vws_wsca_free(ca);
    free(cert);
    free(key);
}
END_TEST

START_TEST(test_store_issues_credentials)
{
    struct vws_wsca *ca = vws_wsca_open(ca_cert_file, ca_key_file,
                                        VWS_WSCA_KEY_EC_P256);
    struct vws_store_options opts = { ca, 7200 };
    struct vws_store *s = vws_store_open(dbpath, &opts);
    struct vws_workspace_spec spec = { 0 };
    struct vws_workspace a, b;
    char clone[VWS_UUID_BUFSIZE];
    struct vws_wsca_credential ca_a, ca_b;
    X509 *xa, *xb;

    ck_assert_ptr_nonnull(s);
    spec.owner = OWNER;
    spec.category = "vm";
    spec.description = DESC;
    spec.hostname = "ws7.site.example";
    ck_assert_int_eq(vws_store_register(s, &spec, &a), 0);
    ck_assert_ptr_nonnull(a.cert_pem);
    ck_assert_ptr_nonnull(a.key_pem);
    ca_a.cert_pem = a.cert_pem;
    ca_a.key_pem = a.key_pem;
    check_credential(ca_cert_file, &ca_a, a.key, "ws7.site.example");
    ck_assert_int_eq(vws_store_clone(s, a.key, "/O=Grid/CN=Bob", 0, clone,
                                     &b), 0);
    ca_b.cert_pem = b.cert_pem;
    ca_b.key_pem = b.key_pem;
    check_credential(ca_cert_file, &ca_b, clone, NULL);
    xa = pem_cert(a.cert_pem);
    xb = pem_cert(b.cert_pem);
    ck_assert_int_ne(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa),
                                      X509_get0_serialNumber(xb)), 0);
    /* never terminates: the store's maximum (2 h here) */
    {
        int day, sec;
        ck_assert_int_eq(ASN1_TIME_diff(&day, &sec, NULL,
                                        X509_get0_notAfter(xa)), 1);
        ck_assert(day == 0 && sec > 7100 && sec <= 7200);
    }
    X509_free(xa);
    X509_free(xb);
    vws_workspace_release(&a);
    vws_workspace_release(&b);
    spec.hostname = "not a hostname";
    ck_fails_with(vws_store_register(s, &spec, NULL), VWS_ERR_INVALID_ARG);
    vws_store_close(s);
    vws_wsca_free(ca);
}
END_TEST

/* ---- network pools ---------------------------------------------------- */

static char *
corpus_file(const char *name)
{
    return vws_asprintf("%s/tests/corpus/netpool/%s", srcdir, name);
}

START_TEST(test_netpool_good)
{
    char *path = corpus_file("good.pool");
    struct vws_netpool *p;

    ck_assert_msg(vws_netpool_load(path, NULL, &p) == 0, "%s",
                  vws_error_message());
    ck_assert_str_eq(p->name, "good");
    ck_assert_str_eq(p->netmask, "255.255.255.0");
    ck_assert_str_eq(p->gateway, "10.1.0.1");
    ck_assert_str_eq(p->dns, "10.1.0.2 10.1.0.3");
    ck_assert_uint_eq(p->n_entries, 3);
    ck_assert_str_eq(p->entries[0].hostname, "ws1.site.example");
    ck_assert_str_eq(p->entries[0].mac, "52:54:00:00:01:0a");
    ck_assert_ptr_null(p->entries[1].mac);
    ck_assert_str_eq(p->entries[2].ip, "10.1.0.12");
    ck_assert_str_eq(p->entries[2].broadcast, "10.1.0.255");
    ck_assert_str_eq(p->entries[2].pool, "good");
    vws_netpool_free(p);
    free(path);
    path = corpus_file("minimal.pool");
    ck_assert_int_eq(vws_netpool_load(path, "other-name", &p), 0);
    ck_assert_str_eq(p->name, "other-name");
    ck_assert_ptr_null(p->gateway);
    ck_assert_str_eq(p->entries[0].broadcast, "192.168.255.255");
    vws_netpool_free(p);
    free(path);
}
END_TEST

/* Every broken file of the corpus fails with its line of expected.txt. */
START_TEST(test_netpool_corpus)
{
    char *dir = vws_asprintf("%s/tests/corpus/netpool", srcdir);
    char *exp_path = corpus_file("expected.txt");
    FILE *f = fopen(exp_path, "r");
    char line[1024];
    int checked = 0, files = 0;
    DIR *d;
    struct dirent *de;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *colon, *path, *got, *want;
        struct vws_netpool *p;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        colon = strstr(line, ": ");
        ck_assert_ptr_nonnull(colon);
        *colon = '\0';
        path = vws_asprintf("%s/%s", dir, line);
        vws_error_reset();
        ck_assert_msg(vws_netpool_load(path, NULL, &p) == -1,
                      "%s loaded", line);
        want = vws_asprintf("%s/%s", dir, colon + 2);
        got = vws_strdup(vws_error_message());
        /* messages name the file by its path: compare with the path */
        ck_assert_msg(strcmp(got, want) == 0, "%s:\n got  '%s'\n want '%s'",
                      line, got, want);
        ck_assert_int_eq(vws_error_code_last(), VWS_ERR_CONFIG);
        free(got);
        free(want);
        free(path);
        checked++;
    }
    fclose(f);
    /* no broken file without an expectation */
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".pool") == 0 &&
            strncmp(de->d_name, "good", 4) != 0 &&
            strncmp(de->d_name, "minimal", 7) != 0)
            files++;
    }
    closedir(d);
    ck_assert_int_eq(files, checked);
    ck_assert_int_ge(checked, 20);
    free(exp_path);
    free(dir);
}
END_TEST

/* Broken files that are made at run time, not committed. */
START_TEST(test_netpool_runtime_files)
{
    char *path = vws_asprintf("%s/x.pool", tmpdir);
    struct vws_netpool *p;
    struct vws_buf b = VWS_BUF_INIT;
    char *fifo = vws_asprintf("%s/fifo.pool", tmpdir);

    write_file(path, "netmask = 255.255.255.0\nws1 10.0.0.5\0junk\n", 43);
    ck_fails_with(vws_netpool_load(path, NULL, &p), VWS_ERR_CONFIG);
    ck_msg_has("NUL byte at offset 36");
    vws_buf_adds(&b, "netmask = 255.255.255.0\n");
    for (int i = 0; i < 2000; i++)
        vws_buf_addch(&b, 'a');
    vws_buf_adds(&b, " 10.0.0.5\n");
    write_file(path, b.s, b.len);
    ck_fails_with(vws_netpool_load(path, NULL, &p), VWS_ERR_LIMIT);
    ck_msg_has(":2: line longer than 1024 bytes");
    vws_buf_reset(&b);
    for (int i = 0; i < 120000; i++)
        vws_buf_adds(&b, "# padding\n");
    write_file(path, b.s, b.len);
    ck_fails_with(vws_netpool_load(path, NULL, &p), VWS_ERR_LIMIT);
    vws_buf_release(&b);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_fails_with(vws_netpool_load(fifo, NULL, &p), VWS_ERR_IO);
    ck_msg_has("not a regular file");
    unlink(fifo);
    unlink(path);
    ck_fails_with(vws_netpool_load(path, NULL, &p), VWS_ERR_SYSTEM);
    free(path);
    free(fifo);
}
END_TEST

static char *
small_pool(const char *text)
{
    char *path = vws_asprintf("%s/small.pool", tmpdir);
    write_file(path, text, strlen(text));
    return path;
}

START_TEST(test_netpool_leases)
{
    struct vws_store *s = open_ok();
    char *path = small_pool("netmask = 255.255.255.0\ngateway = 10.0.0.1\n"
                            "a 10.0.0.10 52:54:00:00:00:0a\n"
                            "b 10.0.0.11\nc 10.0.0.12\n");
    struct vws_netpool *p;
    struct vws_lease l[4], again, *list;
    char keys[4][VWS_UUID_BUFSIZE];
    size_t n, leased;

    ck_assert_int_eq(vws_netpool_load(path, NULL, &p), 0);
    for (int i = 0; i < 4; i++)
        reg(s, OWNER, keys[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vws_netpool_lease(p, s, keys[i], &l[i]), 0);
    ck_assert_str_eq(l[0].ip, "10.0.0.10");
    ck_assert_str_eq(l[0].mac, "52:54:00:00:00:0a");
    ck_assert_str_eq(l[0].gateway, "10.0.0.1");
    ck_assert_str_eq(l[0].workspace, keys[0]);
    ck_assert_str_eq(l[1].hostname, "b");
    ck_assert_int_eq(strncmp(l[1].mac, "52:54:00:", 9), 0);
    ck_assert_uint_eq(strlen(l[1].mac), 17);
    ck_assert_str_ne(l[1].mac, l[2].mac);
    /* exhausted */
    ck_fails_with(vws_netpool_lease(p, s, keys[3], &l[3]), VWS_ERR_LIMIT);
    ck_assert_str_eq(vws_error_message(),
                     "pool 'small' has no free address (3 of 3 leased)");
    /* asking again gives the same lease */
    ck_assert_int_eq(vws_netpool_lease(p, s, keys[1], &again), 0);
    ck_assert_str_eq(again.ip, l[1].ip);
    ck_assert_str_eq(again.mac, l[1].mac);
    vws_lease_release(&again);
    ck_fails_with(vws_netpool_lease(p, s,
                                    "00000000-0000-4000-8000-000000000000",
                                    &again), VWS_ERR_NOT_FOUND);
    ck_fails_with(vws_netpool_lease(p, s, "../../x", &again),
                  VWS_ERR_INVALID_ARG);

    /* restart: the leases are still there, still exhausted */
    vws_store_close(s);
    s = open_ok();
    ck_assert_int_eq(vws_store_lease_list(s, "small", NULL, &list, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[1].mac, l[1].mac);
    vws_lease_list_free(list, n);
    ck_fails_with(vws_netpool_lease(p, s, keys[3], &l[3]), VWS_ERR_LIMIT);

    /* release (check-in) and destroy both give addresses back */
    ck_assert_int_eq(vws_store_checkout(s, keys[0], HOST1, NULL), 0);
    ck_assert_int_eq(vws_store_release(s, keys[0], HOST1), 0);
    ck_fails_with(vws_store_lease_get(s, "small", keys[0], &again),
                  VWS_ERR_NOT_FOUND);
    ck_assert_int_eq(vws_netpool_lease(p, s, keys[3], &l[3]), 0);
    ck_assert_str_eq(l[3].ip, "10.0.0.10");
    ck_assert_int_eq(vws_store_destroy(s, keys[1], NULL), 0);
    ck_assert_int_eq(vws_netpool_count_leased(p, s, &leased), 0);
    ck_assert_uint_eq(leased, 2);
    ck_assert_int_eq(vws_store_lease_release(s, keys[2]), 1);
    ck_assert_int_eq(vws_store_lease_release(s, keys[2]), 0);
    for (int i = 0; i < 4; i++)
        vws_lease_release(&l[i]);
    vws_netpool_free(p);
    vws_store_close(s);
    free(path);
}
END_TEST

/* The admin edits the pool file: a leased address leaves it, another
 * changes its hostname. */
START_TEST(test_netpool_file_changes)
{
    struct vws_store *s = open_ok();
    char *path = small_pool("netmask = 255.255.255.0\n"
                            "a 10.0.0.10\nb 10.0.0.11\n");
    struct vws_netpool *p;
    struct vws_lease la, lb, lc, got;
    char ka[VWS_UUID_BUFSIZE], kb[VWS_UUID_BUFSIZE], kc[VWS_UUID_BUFSIZE];

    reg(s, OWNER, ka);
    reg(s, OWNER, kb);
    reg(s, OWNER, kc);
    ck_assert_int_eq(vws_netpool_load(path, NULL, &p), 0);
    ck_assert_int_eq(vws_netpool_lease(p, s, ka, &la), 0);
    ck_assert_int_eq(vws_netpool_lease(p, s, kb, &lb), 0);
    vws_netpool_free(p);
    free(path);
    /* 10.0.0.10 is gone, 10.0.0.11 renamed, 10.0.0.12 new */
    path = small_pool("netmask = 255.255.255.0\n"
                      "b-renamed 10.0.0.11\nc 10.0.0.12\n");
    ck_assert_int_eq(vws_netpool_load(path, NULL, &p), 0);
    /* existing leases keep their values */
    ck_assert_int_eq(vws_store_lease_get(s, "small", ka, &got), 0);
    ck_assert_str_eq(got.ip, "10.0.0.10");
    ck_assert_str_eq(got.hostname, "a");
    vws_lease_release(&got);
    ck_assert_int_eq(vws_store_lease_get(s, "small", kb, &got), 0);
    ck_assert_str_eq(got.hostname, "b");
    vws_lease_release(&got);
    /* new leases come from the new file only */
    ck_assert_int_eq(vws_netpool_lease(p, s, kc, &lc), 0);
    ck_assert_str_eq(lc.ip, "10.0.0.12");
    vws_lease_release(&lc);
    ck_assert_int_eq(vws_store_lease_release(s, kc), 1);
    /* the vanished address, once released, is never offered again */
    ck_assert_int_eq(vws_store_lease_release(s, ka), 1);
    vws_lease_release(&la);
    ck_assert_int_eq(vws_netpool_lease(p, s, ka, &la), 0);
    ck_assert_str_eq(la.ip, "10.0.0.12");
    vws_lease_release(&la);
    vws_lease_release(&lb);
    vws_netpool_free(p);
    vws_store_close(s);
    free(path);
}
END_TEST

/* Several processes, each with its own handle and several threads, lease
 * from one pool at once. */
#define POOL_SIZE 24
#define WORKERS 3
#define THREADS 3
#define PER_THREAD 4     /* 3 x 3 x 4 = 36 attempts for 24 addresses */

struct lease_job {
    struct vws_store *store;
    struct vws_netpool *pool;
    int ok, limit, other;
};

static void *
lease_thread(void *arg)
{
    struct lease_job *j = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        struct vws_workspace_spec spec = { 0 };
        struct vws_workspace ws;
        struct vws_lease l;

        spec.owner = OWNER;
        spec.category = "vm";
        spec.description = DESC;
        if (vws_store_register(j->store, &spec, &ws) < 0) {
            __atomic_add_fetch(&j->other, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        if (vws_netpool_lease(j->pool, j->store, ws.key, &l) == 0)
            __atomic_add_fetch(&j->ok, 1, __ATOMIC_SEQ_CST);
        else if (vws_error_code_last() == VWS_ERR_LIMIT)
            __atomic_add_fetch(&j->limit, 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&j->other, 1, __ATOMIC_SEQ_CST);
        vws_lease_release(&l);
        vws_workspace_release(&ws);
    }
    return NULL;
}

START_TEST(test_netpool_concurrent)
{
    struct vws_buf text = VWS_BUF_INIT;
    struct vws_store *s = open_ok();   /* creates the schema first */
    struct vws_lease *list;
    char *path;
    pid_t pids[WORKERS];
    int rfd[WORKERS], ok = 0, limit = 0;
    size_t n;

    vws_buf_adds(&text, "netmask = 255.255.255.0\n");
    for (int i = 0; i < POOL_SIZE; i++)
        vws_buf_addf(&text, "h%d 10.2.0.%d\n", i, 10 + i);
    path = small_pool(text.s);
    vws_buf_release(&text);
    /* no handle open across fork(): a child must not share a connection */
    vws_store_close(s);
    for (int w = 0; w < WORKERS; w++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            struct lease_job job = { 0 };
            pthread_t t[THREADS];
            int counts[3];

            close(p[0]);
            job.store = vws_store_open(dbpath, NULL);
            if (!job.store || vws_netpool_load(path, NULL, &job.pool) < 0)
                _exit(2);
            for (int i = 0; i < THREADS; i++)
                pthread_create(&t[i], NULL, lease_thread, &job);
            for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
            counts[0] = job.ok;
            counts[1] = job.limit;
            counts[2] = job.other;
            if (write(p[1], counts, sizeof(counts)) != sizeof(counts))
                _exit(3);
            vws_netpool_free(job.pool);
            vws_store_close(job.store);
            free(path);
            _exit(0);
        }
        close(p[1]);
        rfd[w] = p[0];
    }
    for (int w = 0; w < WORKERS; w++) {
        int counts[3], status;
        ck_assert_int_eq(read(rfd[w], counts, sizeof(counts)),
                         sizeof(counts));
        close(rfd[w]);
        ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_msg(counts[2] == 0, "worker %d: %d unexpected failures", w,
                      counts[2]);
        ok += counts[0];
        limit += counts[1];
    }
    ck_assert_int_eq(ok, POOL_SIZE);
    ck_assert_int_eq(limit, WORKERS * THREADS * PER_THREAD - POOL_SIZE);
    s = open_ok();
    /* no address, MAC or workspace twice */
    ck_assert_int_eq(vws_store_lease_list(s, "small", NULL, &list, &n), 0);
    ck_assert_uint_eq(n, POOL_SIZE);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            ck_assert_str_ne(list[i].ip, list[j].ip);
            ck_assert_str_ne(list[i].mac, list[j].mac);
            ck_assert_str_ne(list[i].workspace, list[j].workspace);
        }
    vws_lease_list_free(list, n);
    vws_store_close(s);
    free(path);
}
END_TEST

START_TEST(test_netpool_dir)
{
    struct vws_netpool **pools;
    size_t n;
    char *a = vws_asprintf("%s/b.pool", tmpdir);
    char *b = vws_asprintf("%s/a.pool", tmpdir);
    char *ignored = vws_asprintf("%s/notes.txt", tmpdir);

    write_file(a, "netmask = 255.255.255.0\nx 10.0.0.2\n", 35);
    write_file(b, "netmask = 255.255.255.0\ny 10.0.0.3\n", 35);
    write_file(ignored, "junk", 4);
    ck_assert_int_eq(vws_netpool_load_dir(tmpdir, &pools, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(pools[0]->name, "a");
    ck_assert_ptr_eq(vws_netpool_find(pools, n, "b"), pools[1]);
    ck_assert_ptr_null(vws_netpool_find(pools, n, "c"));
    vws_netpool_free_all(pools, n);
    write_file(a, "netmask = 1\n", 12);
    ck_fails_with(vws_netpool_load_dir(tmpdir, &pools, &n), VWS_ERR_CONFIG);
    ck_msg_has("b.pool:1: invalid netmask '1'");
    free(a);
    free(b);
    free(ignored);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

static Suite *
store_suite(void)
{
    Suite *su = suite_create("store");
    TCase *tc;

    tc = tcase_create("workspaces");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);     /* valgrind */
    tcase_add_test(tc, test_register_get_select);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_transition_table);
    tcase_add_test(tc, test_refusal_messages);
    tcase_add_test(tc, test_lock_holder);
    tcase_add_test(tc, test_life_cycle);
    tcase_add_test(tc, test_clone_and_sweep);
    tcase_add_test(tc, test_threads_share_a_handle);
    tcase_add_test(tc, test_images);
    suite_add_tcase(su, tc);

    tc = tcase_create("database");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_migrate_v1);
    tcase_add_test(tc, test_future_schema);
    tcase_add_test(tc, test_hostile_files);
    tcase_add_test(tc, test_file_mode);
    tcase_add_test(tc, test_kill_9);
    suite_add_tcase(su, tc);

    tc = tcase_create("wsca");
    tcase_add_checked_fixture(tc, setup_ca, teardown_ca);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_wsca_issue);
    tcase_add_test(tc, test_wsca_bad_ca);
    tcase_add_test(tc, test_wsca_mkpki);
    tcase_add_test(tc, test_store_issues_credentials);
    suite_add_tcase(su, tc);

    tc = tcase_create("netpool");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_netpool_good);
    tcase_add_test(tc, test_netpool_corpus);
    tcase_add_test(tc, test_netpool_runtime_files);
    tcase_add_test(tc, test_netpool_leases);
    tcase_add_test(tc, test_netpool_file_changes);
    tcase_add_test(tc, test_netpool_concurrent);
    tcase_add_test(tc, test_netpool_dir);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    const char *env = getenv("VWS_SRCDIR");
    SRunner *sr;
    int failed;

    srcdir = vws_strdup(env ? env : "..");
    vws_log_set_level(VWS_LOG_ERROR);
    sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(srcdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
