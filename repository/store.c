/*
 * store.c — the Repository's SQLite store (see store.h for the API).
 *
 * One SQLite connection per handle, guarded by the handle's mutex.  The
 * database runs with journal_mode=WAL (readers never wait for the writer)
 * and synchronous=FULL: in WAL mode NORMAL would already survive kill -9
 * (the WAL is written before COMMIT returns), but a power cut could lose the
 * last commits, and an acknowledged register or destroy must not come back
 * from the dead: so every commit is fsynced.  foreign_keys=ON ties leases to
 * workspaces and workspaces to pool images.
 *
 * Schema: migrations[] is the ordered list of schema versions; open applies
 * those above the version in the schema_version table, all in one
 * transaction, and refuses a database from a newer vws.  Never edit a
 * migration that has shipped: add the next one.
 *
 * Workspace state changes go through transitions[], one row per operation:
 * which states and locations allow it, what it changes, and whether only
 * the lock holder may do it.  apply_op() is the one place that checks a row
 * and words the refusal.
 *
 * Prepared statements are cached per handle (keyed by the SQL text's
 * address: every statement is a string literal here), so hot reads do not
 * parse SQL again.
 */
#define VWS_MODULE "store"
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/uuid.h"
#include "common/xstime.h"
#include "db.h"
#include "repository/store.h"
#include "repository/wsca.h"
#include "internal.h"

#define STMT_CACHE_SIZE 64
#define DEFAULT_CREDENTIAL_SECONDS (365 * 24 * 3600LL)
#define MAX_IMAGE_SIZE (1024ULL * 1024 * 1024 * 1024)   /* 1 TiB */
#define MAC_TRIES 64

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
};

struct vws_store {
    pthread_mutex_t lock;
    struct vws_db dbh;      /* common/db.c: open, migrations, transactions */
    sqlite3 *db;            /* dbh.db */
    struct vws_wsca *wsca;
    int64_t max_credential_seconds;
    struct stmt_slot stmts[STMT_CACHE_SIZE];
    size_t n_stmts;
};

/* ---- names ------------------------------------------------------------ */

static const char *const state_names[VWS_WS_N_STATES] = {
    [VWS_WS_SHUTDOWN] = "shutdown",
    [VWS_WS_PAUSED] = "paused",
    [VWS_WS_RUNNING] = "running",
    [VWS_WS_CORRUPTED] = "corrupted",
};

static const char *const location_names[VWS_LOC_N] = {
    [VWS_LOC_UNSTAGED] = "unstaged",
    [VWS_LOC_STAGING] = "staging",
    [VWS_LOC_STAGED] = "staged",
    [VWS_LOC_UNSTAGING] = "unstaging",
};

const char *
vws_ws_state_name(enum vws_ws_state s)
{
    return (unsigned)s < VWS_WS_N_STATES ? state_names[s] : "unknown";
}

const char *
vws_ws_location_name(enum vws_ws_location l)
{
    return (unsigned)l < VWS_LOC_N ? location_names[l] : "unknown";
}

int
vws_ws_state_parse(const char *name)
{
    for (int i = 0; name && i < VWS_WS_N_STATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int
vws_ws_location_parse(const char *name)
{
    for (int i = 0; name && i < VWS_LOC_N; i++)
        if (strcmp(name, location_names[i]) == 0)
            return i;
    return -1;
}

/* ---- the transition table --------------------------------------------- */

#define ST(x) (1u << VWS_WS_##x)
#define LO(x) (1u << VWS_LOC_##x)
#define ALL_STATES ((1u << VWS_WS_N_STATES) - 1)
#define ALL_LOCATIONS ((1u << VWS_LOC_N) - 1)
#define SAME (-1)

struct transition {
    const char *name;       /* in messages: "<name> needs it ..." */
    const char *verb;       /* "cannot <verb> workspace 'K'" */
    unsigned states;        /* states that allow it */
    unsigned locations;     /* locations that allow it */
    int new_state;          /* or SAME */
    int new_location;       /* or SAME */
    bool holder_only;       /* only the lock holder may do it */
};

static const struct transition transitions[VWS_OP_N] = {
    [VWS_OP_REFINE] = { "refine", "refine",
        ST(SHUTDOWN), LO(UNSTAGED), SAME, SAME, false },
    [VWS_OP_CHECKOUT] = { "checkout", "checkout",
        ST(SHUTDOWN) | ST(PAUSED), LO(UNSTAGED),
        SAME, VWS_LOC_STAGING, false },
    [VWS_OP_STAGED] = { "staged", "mark staged",
        ST(SHUTDOWN) | ST(PAUSED), LO(STAGING),
        SAME, VWS_LOC_STAGED, true },
    [VWS_OP_UNSTAGE] = { "unstage", "unstage",
        ST(SHUTDOWN) | ST(PAUSED) | ST(CORRUPTED), LO(STAGED),
        SAME, VWS_LOC_UNSTAGING, true },
    [VWS_OP_RELEASE] = { "release", "release",
        ST(SHUTDOWN) | ST(PAUSED) | ST(CORRUPTED),
        LO(STAGING) | LO(STAGED) | LO(UNSTAGING),
        SAME, VWS_LOC_UNSTAGED, true },
    [VWS_OP_START] = { "start", "start",
        ST(SHUTDOWN) | ST(PAUSED), LO(STAGED),
        VWS_WS_RUNNING, SAME, true },
    [VWS_OP_PAUSE] = { "pause", "pause",
        ST(RUNNING), LO(STAGED), VWS_WS_PAUSED, SAME, true },
    [VWS_OP_SHUTDOWN] = { "shutdown", "shut down",
        ST(RUNNING) | ST(PAUSED), LO(STAGED), VWS_WS_SHUTDOWN, SAME, true },
    [VWS_OP_CORRUPT] = { "corrupt", "mark corrupted",
        ALL_STATES, ALL_LOCATIONS, VWS_WS_CORRUPTED, SAME, false },
    [VWS_OP_CLONE] = { "clone", "clone",
        ST(SHUTDOWN) | ST(PAUSED) | ST(RUNNING), ALL_LOCATIONS,
        SAME, SAME, false },
    [VWS_OP_SET_TERMINATION] = { "set-termination",
        "set the termination time of",
        ALL_STATES, ALL_LOCATIONS, SAME, SAME, false },
    [VWS_OP_DESTROY] = { "destroy", "destroy",
        ALL_STATES, ALL_LOCATIONS, SAME, SAME, false },
};

const char *
vws_ws_op_name(enum vws_ws_op op)
{
    return (unsigned)op < VWS_OP_N ? transitions[op].name : "unknown";
}

bool
vws_store_allowed(enum vws_ws_op op, enum vws_ws_state state,
                  enum vws_ws_location location)
{
    if ((unsigned)op >= VWS_OP_N || (unsigned)state >= VWS_WS_N_STATES ||
        (unsigned)location >= VWS_LOC_N)
        return false;
    return (transitions[op].states & (1u << state)) &&
           (transitions[op].locations & (1u << location));
}

/* "shutdown or paused", "staging, staged or unstaging" into B. */
static void
add_mask(struct vws_buf *b, unsigned mask, const char *const *names, int n)
{
    int count = 0, seen = 0;

    for (int i = 0; i < n; i++)
        if (mask & (1u << i))
            count++;
    for (int i = 0; i < n; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (seen > 0)
            vws_buf_adds(b, seen == count - 1 ? " or " : ", ");
        vws_buf_adds(b, names[i]);
        seen++;
    }
}

/* A subject safe to quote in a message: printable ASCII, at most 80
 * characters, others as '?'. */
static const char *
safe(const char *s, char buf[96])
{
    size_t i = 0, j = 0;

    if (!s)
        return "(null)";
    for (; s[i] && j < 80; i++)
        buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        buf[j++] = '.';
        buf[j++] = '.';
        buf[j++] = '.';
    }
    buf[j] = '\0';
    return buf;
}

/* Check OP against WS.  HOST is the host asking, or NULL (the service or
 * an admin: no holder check).  A holder-only operation, or any operation
 * when REPORTER is set, must come from the lock holder.  0, or -1 with the
 * refusal reported. */
static int
check_op(enum vws_ws_op op, const struct vws_workspace *ws, const char *host,
         bool reporter)
{
    const struct transition *t = &transitions[op];
    bool need_holder = host && (t->holder_only || reporter);
    bool state_ok = t->states & (1u << ws->state);
    bool loc_ok = t->locations & (1u << ws->location);
    struct vws_buf b = VWS_BUF_INIT;
    char q1[96], q2[96];

    if (need_holder && ws->lock_holder &&
        strcmp(host, ws->lock_holder) != 0) {
        vws_report_error(VWS_ERR_DENIED,
                         "cannot %s workspace '%s': it is checked out by "
                         "'%s', not by '%s'", t->verb, ws->key,
                         safe(ws->lock_holder, q1), safe(host, q2));
        return -1;
    }
    if (state_ok && loc_ok) {
        if (need_holder && !ws->lock_holder) {
            vws_report_error(VWS_ERR_DENIED,
                             "cannot %s workspace '%s': it is not checked "
                             "out (by '%s' or any host)", t->verb, ws->key,
                             safe(host, q2));
            return -1;
        }
        return 0;
    }

    vws_buf_addf(&b, "cannot %s workspace '%s': it is ", t->verb, ws->key);
    if (!state_ok)
        vws_buf_adds(&b, state_names[ws->state]);
    if (!state_ok && !loc_ok)
        vws_buf_adds(&b, " and ");
    if (!loc_ok) {
        vws_buf_adds(&b, location_names[ws->location]);
        if (ws->host)
            vws_buf_addf(&b, " on host '%s'", safe(ws->host, q1));
    }
    vws_buf_addf(&b, "; %s needs it ", t->name);
    if (!state_ok)
        add_mask(&b, t->states, state_names, VWS_WS_N_STATES);
    if (!state_ok && !loc_ok)
        vws_buf_adds(&b, ", and ");
    if (!loc_ok)
        add_mask(&b, t->locations, location_names, VWS_LOC_N);
    vws_report_error(VWS_ERR_STATE, "%s", b.s);
    vws_buf_release(&b);
    return -1;
}

/* ---- records ---------------------------------------------------------- */

void
vws_workspace_init(struct vws_workspace *ws)
{
    memset(ws, 0, sizeof(*ws));
}

void
vws_workspace_release(struct vws_workspace *ws)
{
    if (!ws)
        return;
    free(ws->owner);
    free(ws->category);
    free(ws->host);
    free(ws->lifecycle);
    free(ws->description);
    free(ws->deployment);
    free(ws->reservation);
    free(ws->fault_reason);
    free(ws->lock_holder);
    free(ws->image);
    free(ws->cert_pem);
    if (ws->key_pem) {
        /* a private key: do not leave it in freed memory */
        explicit_bzero(ws->key_pem, strlen(ws->key_pem));
        free(ws->key_pem);
    }
    vws_workspace_init(ws);
}

void
vws_workspace_list_free(struct vws_workspace *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        vws_workspace_release(&list[i]);
    free(list);
}

void
vws_image_init(struct vws_image *img)
{
    memset(img, 0, sizeof(*img));
}

void
vws_image_release(struct vws_image *img)
{
    if (!img)
        return;
    free(img->name);
    free(img->format);
    free(img->location);
    free(img->sha256);
    free(img->initrd_location);
    free(img->initrd_sha256);
    free(img->cmdline);
    free(img->description);
    vws_image_init(img);
}

void
vws_image_list_free(struct vws_image *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        vws_image_release(&list[i]);
    free(list);
}

void
vws_lease_init(struct vws_lease *l)
{
    memset(l, 0, sizeof(*l));
}

void
vws_lease_release(struct vws_lease *l)
{
    if (!l)
        return;
    free(l->pool);
    free(l->hostname);
    free(l->ip);
    free(l->mac);
    free(l->netmask);
    free(l->gateway);
    free(l->broadcast);
    free(l->dns);
    vws_lease_init(l);
}

void
vws_lease_list_free(struct vws_lease *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        vws_lease_release(&list[i]);
    free(list);
}

/* ---- argument checks -------------------------------------------------- */

bool
vws_store_name_is_valid(const char *name)
{
    size_t i;

    if (!name || !isalnum((unsigned char)name[0]))
        return false;
    for (i = 1; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= 128 || !(isalnum(c) || c == '.' || c == '_' || c == '+' ||
                          c == '-'))
            return false;
    }
    return true;
}

/* Canonical (lowercase) form of a workspace key into OUT. */
static int
check_key(const char *key, char out[VWS_UUID_BUFSIZE])
{
    struct vws_uuid u;
    char q[96];

    if (!key || !vws_uuid_is_valid(key)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid workspace key '%s'",
                         safe(key, q));
        return -1;
    }
    if (vws_uuid_parse(key, &u) < 0)
        return -1;
    vws_uuid_format(&u, out);
    return 0;
}

/* A text field: present when REQUIRED, at most MAX bytes, no control
 * characters other than tab and newline when MULTILINE. */
static int
check_text(const char *what, const char *s, size_t max, bool required,
           bool multiline)
{
    size_t n;

    if (!s) {
        if (!required)
            return 0;
        vws_report_error(VWS_ERR_INVALID_ARG, "missing %s", what);
        return -1;
    }
    n = strnlen(s, max + 1);
    if (n > max) {
        vws_report_error(VWS_ERR_LIMIT, "%s is longer than %zu bytes", what,
                         max);
        return -1;
    }
    if (required && n == 0) {
        vws_report_error(VWS_ERR_INVALID_ARG, "empty %s", what);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(multiline && (c == '\t' || c == '\n' ||
                                          c == '\r'))) || c == 0x7f) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "%s has a control character at byte %zu", what,
                             i);
            return -1;
        }
    }
    return 0;
}

/* The cached statement for SQL (a string literal), reset and unbound. */
static sqlite3_stmt *
stmt(struct vws_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;

    for (size_t i = 0; i < s->n_stmts; i++)
        if (s->stmts[i].sql == sql)
            return s->stmts[i].st;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        vws_db_fail(&s->dbh, "cannot prepare a statement");
        return NULL;
    }
    if (s->n_stmts < STMT_CACHE_SIZE) {
        s->stmts[s->n_stmts].sql = sql;
        s->stmts[s->n_stmts].st = st;
        s->n_stmts++;
    } else {
        /* cannot happen with the statements of this file; keep working */
        VWS_WARN("statement cache full");
        s->stmts[STMT_CACHE_SIZE - 1].sql = NULL;
        sqlite3_finalize(s->stmts[STMT_CACHE_SIZE - 1].st);
        s->stmts[STMT_CACHE_SIZE - 1].sql = sql;
        s->stmts[STMT_CACHE_SIZE - 1].st = st;
    }
    return st;
}

static void
done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Bind a time: VWS_STORE_NEVER as NULL. */
static void
bind_time(sqlite3_stmt *st, int i, int64_t t)
{
    if (t == VWS_STORE_NEVER)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

static char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? vws_strdup((const char *)t) : NULL;
}

/* Step a statement that returns no rows. */
static int
step_done(struct vws_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE) {
        vws_db_fail(&s->dbh, what);
        done(st);
        return -1;
    }
    done(st);
    return 0;
}

/* ---- schema and migrations -------------------------------------------- */

static const struct vws_db_migration migrations[] = {
    { 1, "workspaces and the image pool",
      "CREATE TABLE schema_version ("
      "  version INTEGER PRIMARY KEY,"
      "  applied INTEGER NOT NULL,"
      "  description TEXT NOT NULL);"
      "CREATE TABLE images ("
      "  name TEXT PRIMARY KEY,"
      "  format TEXT NOT NULL CHECK (format IN"
      "    ('raw','qcow2','kernel+initrd')),"
      "  location TEXT NOT NULL,"
      "  size INTEGER NOT NULL CHECK (size > 0),"
      "  sha256 TEXT NOT NULL,"
      "  initrd_location TEXT, initrd_size INTEGER, initrd_sha256 TEXT,"
      "  cmdline TEXT, description TEXT,"
      "  created INTEGER NOT NULL);"
      "CREATE TABLE workspaces ("
      "  key TEXT PRIMARY KEY,"
      "  owner TEXT NOT NULL,"
      "  category TEXT NOT NULL,"
      "  state TEXT NOT NULL CHECK (state IN"
      "    ('shutdown','paused','running','corrupted')),"
      "  location TEXT NOT NULL CHECK (location IN"
      "    ('unstaged','staging','staged','unstaging')),"
      "  host TEXT,"
      "  creation_time INTEGER NOT NULL,"
      "  termination_time INTEGER,"
      "  lifecycle TEXT,"
      "  last_modified INTEGER NOT NULL,"
      "  description TEXT NOT NULL,"
      "  deployment TEXT,"
      "  reservation TEXT,"
      "  fault_reason TEXT,"
      "  lock_holder TEXT,"
      "  image TEXT REFERENCES images(name) ON DELETE RESTRICT,"
      "  cert_pem TEXT,"
      "  key_pem TEXT);"
      "CREATE INDEX workspaces_owner ON workspaces(owner, creation_time);"
      "CREATE INDEX workspaces_image ON workspaces(image);"
      "CREATE INDEX workspaces_termination ON workspaces(termination_time)"
      "  WHERE termination_time IS NOT NULL;" },
    { 2, "address leases of the network pools",
      "CREATE TABLE leases ("
      "  pool TEXT NOT NULL,"
      "  ip TEXT NOT NULL,"
      "  workspace TEXT NOT NULL REFERENCES workspaces(key) ON DELETE CASCADE,"
      "  hostname TEXT NOT NULL,"
      "  mac TEXT NOT NULL UNIQUE,"
      "  netmask TEXT NOT NULL,"
      "  gateway TEXT, broadcast TEXT, dns TEXT,"
      "  leased INTEGER NOT NULL,"
      "  PRIMARY KEY (pool, ip),"
      "  UNIQUE (pool, workspace));"
      "CREATE INDEX leases_workspace ON leases(workspace);" },
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
               VWS_STORE_SCHEMA_VERSION,
               "one migration per schema version");

struct vws_store *
vws_store_open(const char *path, const struct vws_store_options *opts)
{
    static const struct vws_db_options dbo = {
        .what = "store",
        .migrations = migrations,
        .n_migrations = VWS_N_ELEMENTS(migrations),
        .busy_timeout_ms = VWS_STORE_BUSY_TIMEOUT_MS,
        .private_file = true,            /* it holds the workspaces' keys */
    };
    struct vws_store *s = vws_calloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    if (opts) {
        s->wsca = opts->wsca;
        s->max_credential_seconds = opts->max_credential_seconds;
    }
    if (s->max_credential_seconds <= 0)
        s->max_credential_seconds = DEFAULT_CREDENTIAL_SECONDS;
    if (vws_db_open(&s->dbh, path, &dbo) < 0) {
        vws_store_close(s);
        return NULL;
    }
    s->db = s->dbh.db;
    return s;
}

void
vws_store_close(struct vws_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_stmts; i++)
        sqlite3_finalize(s->stmts[i].st);
    vws_db_close(&s->dbh);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int
vws_store_schema_version(struct vws_store *s)
{
    return s ? s->dbh.version : -1;
}

/* ---- workspace rows --------------------------------------------------- */

#define WS_COLUMNS \
    "key, owner, category, state, location, host, creation_time, " \
    "termination_time, lifecycle, last_modified, reservation, " \
    "fault_reason, lock_holder, image"
#define WS_LARGE "description, deployment, cert_pem, key_pem"
#define WS_NO_LARGE "NULL, NULL, NULL, NULL"

/* Row -> record (columns in the order of WS_COLUMNS, then WS_LARGE). */
static void
read_ws(sqlite3_stmt *st, struct vws_workspace *ws)
{
    const char *key = (const char *)sqlite3_column_text(st, 0);
    int v;

    vws_workspace_init(ws);
    vws_strlcpy(ws->key, key ? key : "", sizeof(ws->key));
    ws->owner = col_text(st, 1);
    ws->category = col_text(st, 2);
    v = vws_ws_state_parse((const char *)sqlite3_column_text(st, 3));
    ws->state = v < 0 ? VWS_WS_CORRUPTED : (enum vws_ws_state)v;
    v = vws_ws_location_parse((const char *)sqlite3_column_text(st, 4));
    ws->location = v < 0 ? VWS_LOC_UNSTAGED : (enum vws_ws_location)v;
    ws->host = col_text(st, 5);
    ws->creation_time = sqlite3_column_int64(st, 6);
    ws->termination_time = sqlite3_column_type(st, 7) == SQLITE_NULL
                               ? VWS_STORE_NEVER
                               : sqlite3_column_int64(st, 7);
    ws->lifecycle = col_text(st, 8);
    ws->last_modified = sqlite3_column_int64(st, 9);
    ws->reservation = col_text(st, 10);
    ws->fault_reason = col_text(st, 11);
    ws->lock_holder = col_text(st, 12);
    ws->image = col_text(st, 13);
    ws->description = col_text(st, 14);
    ws->deployment = col_text(st, 15);
    ws->cert_pem = col_text(st, 16);
    ws->key_pem = col_text(st, 17);
}

/* Load KEY (canonical) with every field; 0, or -1 (NOT_FOUND or I/O). */
static int
load_ws(struct vws_store *s, const char *key, struct vws_workspace *ws)
{
    sqlite3_stmt *st = stmt(s, "SELECT " WS_COLUMNS ", " WS_LARGE
                               " FROM workspaces WHERE key = ?");
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_ws(st, ws);
        done(st);
        return 0;
    }
    if (rc == SQLITE_DONE)
        vws_report_error(VWS_ERR_NOT_FOUND, "no workspace '%s'", key);
    else
        vws_db_fail(&s->dbh, "cannot read a workspace");
    done(st);
    return -1;
}

/* Write the state-machine fields of WS back, stamping last_modified. */
static int
save_ws_state(struct vws_store *s, const struct vws_workspace *ws)
{
    sqlite3_stmt *st = stmt(s, "UPDATE workspaces SET state = ?, "
                               "location = ?, host = ?, lock_holder = ?, "
                               "fault_reason = ?, last_modified = ? "
                               "WHERE key = ?");
    if (!st)
        return -1;
    bind_text(st, 1, state_names[ws->state]);
    bind_text(st, 2, location_names[ws->location]);
    bind_text(st, 3, ws->host);
    bind_text(st, 4, ws->lock_holder);
    bind_text(st, 5, ws->fault_reason);
    sqlite3_bind_int64(st, 6, vws_time_now_ms());
    bind_text(st, 7, ws->key);
    return step_done(s, st, "cannot update a workspace");
}

static int
delete_leases(struct vws_store *s, const char *key, int *count)
{
    sqlite3_stmt *st = stmt(s, "DELETE FROM leases WHERE workspace = ?");

    if (!st)
        return -1;
    bind_text(st, 1, key);
    if (step_done(s, st, "cannot release leases") < 0)
        return -1;
    if (count)
        *count = sqlite3_changes(s->db);
    return 0;
}

/* One call of the state machine on a workspace. */
typedef int (*ws_change_fn)(struct vws_store *s, struct vws_workspace *ws,
                            void *arg);

struct op_call {
    enum vws_ws_op op;
    const char *host;     /* the host asking, or NULL */
    bool reporter;        /* HOST reports: it must hold the lock */
    bool repeat_ok;       /* already in the target state/location: 0 */
    ws_change_fn change;  /* edits the loaded record, or NULL */
    void *arg;
};

/* Load KEY, check C->op against the table, apply its row and C->change,
 * save (stamping last_modified), all in one transaction.  OUT (may be
 * NULL) gets the record after the change. */
static int
apply_op(struct vws_store *s, const char *key_in, const struct op_call *c,
         struct vws_workspace *out)
{
    const struct transition *t = &transitions[c->op];
    struct vws_workspace ws;
    char key[VWS_UUID_BUFSIZE];
    int ret = -1;

    vws_workspace_init(&ws);
    if (out)
        vws_workspace_init(out);
    if (check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0 || load_ws(s, key, &ws) < 0)
        goto out;
    if (c->repeat_ok && c->host && ws.lock_holder &&
        strcmp(c->host, ws.lock_holder) == 0 &&
        (t->new_state == SAME || (int)ws.state == t->new_state) &&
        (t->new_location == SAME || (int)ws.location == t->new_location)) {
        /* a repeated report: nothing changes, nothing is stamped */
        ret = vws_db_commit(&s->dbh);
        goto done;
    }
    if (check_op(c->op, &ws, c->host, c->reporter) < 0)
        goto out;
    if (t->new_state != SAME)
        ws.state = (enum vws_ws_state)t->new_state;
    if (t->new_location != SAME)
        ws.location = (enum vws_ws_location)t->new_location;
    if (c->change && c->change(s, &ws, c->arg) < 0)
        goto out;
    if (save_ws_state(s, &ws) < 0 || vws_db_commit(&s->dbh) < 0)
        goto out;
    ret = 0;
done:
    if (ret == 0 && out)
        ret = load_ws(s, key, out);
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
    vws_workspace_release(&ws);
    return ret;
}

/* ---- register, get, select -------------------------------------------- */

/* A credential for workspace KEY into CERT/PRIV (both NULL without a CA). */
static int
issue_credential(struct vws_store *s, const char *key, const char *hostname,
                 int64_t termination, char **cert, char **priv)
{
    struct vws_wsca_credential cred;
    int64_t now = vws_time_now_ms();
    int64_t max = now + s->max_credential_seconds * 1000;
    int64_t not_after = termination == VWS_STORE_NEVER || termination > max
                            ? max : termination;

    /* a termination time already past: the sweeper will destroy it soon,
     * but the credential must still be a valid certificate */
    if (not_after < now + 60000)
        not_after = now + 60000;

    *cert = *priv = NULL;
    if (!s->wsca)
        return 0;
    if (vws_wsca_issue(s->wsca, key, hostname, not_after, &cred) < 0)
        return -1;
    *cert = cred.cert_pem;
    *priv = cred.key_pem;
    cred.cert_pem = cred.key_pem = NULL;
    vws_wsca_credential_release(&cred);
    return 0;
}

static void
free_key_pem(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

static int
image_exists(struct vws_store *s, const char *name)
{
    sqlite3_stmt *st = stmt(s, "SELECT 1 FROM images WHERE name = ?");
    int rc;
    char q[96];

    if (!st)
        return -1;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        vws_report_error(VWS_ERR_NOT_FOUND, "no image '%s' in the pool",
                         safe(name, q));
    else
        vws_db_fail(&s->dbh, "cannot read the image pool");
    return -1;
}

/* INSERT of a whole new workspace row (state shutdown, unstaged). */
static int
insert_ws(struct vws_store *s, const char *key, const char *owner,
          const char *category, const char *description,
          const char *deployment, const char *reservation,
          const char *lifecycle, const char *image, int64_t termination,
          const char *cert, const char *priv)
{
    sqlite3_stmt *st = stmt(s,
        "INSERT INTO workspaces (key, owner, category, state, location, "
        "creation_time, termination_time, lifecycle, last_modified, "
        "description, deployment, reservation, image, cert_pem, key_pem) "
        "VALUES (?1, ?2, ?3, 'shutdown', 'unstaged', ?4, ?5, ?6, ?4, ?7, ?8, "
        "?9, ?10, ?11, ?12)");
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, key);
    bind_text(st, 2, owner);
    bind_text(st, 3, category);
    sqlite3_bind_int64(st, 4, vws_time_now_ms());
    bind_time(st, 5, termination);
    bind_text(st, 6, lifecycle);
    bind_text(st, 7, description);
    bind_text(st, 8, deployment);
    bind_text(st, 9, reservation);
    bind_text(st, 10, image);
    bind_text(st, 11, cert);
    bind_text(st, 12, priv);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        vws_report_error(VWS_ERR_EXISTS, "workspace '%s' exists", key);
        done(st);
        return -1;
    }
    if (rc != SQLITE_DONE) {
        vws_db_fail(&s->dbh, "cannot insert a workspace");
        done(st);
        return -1;
    }
    done(st);
    return 0;
}

static int
check_spec(const struct vws_workspace_spec *spec)
{
    struct vws_duration d;
    char q[96];

    if (!spec) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing workspace spec");
        return -1;
    }
    if (check_text("owner DN", spec->owner, VWS_STORE_MAX_TEXT, true,
                   false) < 0 ||
        check_text("category", spec->category, 64, true, false) < 0 ||
        check_text("description", spec->description, VWS_STORE_MAX_XML,
                   true, true) < 0 ||
        check_text("deployment request", spec->deployment,
                   VWS_STORE_MAX_XML, false, true) < 0 ||
        check_text("reservation", spec->reservation, VWS_STORE_MAX_TEXT,
                   false, false) < 0 ||
        check_text("lifecycle", spec->lifecycle, 64, false, false) < 0 ||
        check_text("hostname", spec->hostname, 253, false, false) < 0 ||
        check_text("certificate", spec->cert_pem, 64 * 1024, false,
                   true) < 0 ||
        check_text("key", spec->key_pem, 64 * 1024, false, true) < 0)
        return -1;
    if (spec->lifecycle && vws_duration_parse(spec->lifecycle, &d) < 0)
        return -1;
    if (spec->image && !vws_store_name_is_valid(spec->image)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid image name '%s'",
                         safe(spec->image, q));
        return -1;
    }
    if (!spec->cert_pem != !spec->key_pem) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "a workspace credential needs both its certificate "
                         "and its key");
        return -1;
    }
    if (spec->termination_time < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "negative termination time %lld",
                         (long long)spec->termination_time);
        return -1;
    }
    return 0;
}

int
vws_store_register(struct vws_store *s, const struct vws_workspace_spec *spec,
                   struct vws_workspace *out)
{
    char key[VWS_UUID_BUFSIZE];
    char *cert = NULL, *priv = NULL;
    int ret = -1;

    if (out)
        vws_workspace_init(out);
    if (check_spec(spec) < 0)
        return -1;
    if (spec->key ? check_key(spec->key, key) < 0
                  : vws_uuid_generate_string(key) < 0)
        return -1;
    /* the key pair is made before the lock: it is the slow part */
    if (spec->cert_pem) {
        cert = vws_strdup(spec->cert_pem);
        priv = vws_strdup(spec->key_pem);
    } else if (issue_credential(s, key, spec->hostname,
                                spec->termination_time, &cert, &priv) < 0) {
        return -1;
    }

    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0)
        goto out;
    if (spec->image && image_exists(s, spec->image) < 0)
        goto out;
    if (insert_ws(s, key, spec->owner, spec->category, spec->description,
                  spec->deployment, spec->reservation, spec->lifecycle,
                  spec->image, spec->termination_time, cert, priv) < 0 ||
        vws_db_commit(&s->dbh) < 0)
        goto out;
    ret = out ? load_ws(s, key, out) : 0;
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
    free(cert);
    free_key_pem(priv);
    return ret;
}

int
vws_store_get(struct vws_store *s, const char *key_in,
              struct vws_workspace *out)
{
    char key[VWS_UUID_BUFSIZE];
    int ret;

    vws_workspace_init(out);
    if (check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    ret = load_ws(s, key, out);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int
vws_store_select(struct vws_store *s, const struct vws_workspace_filter *f,
                 struct vws_workspace **out, size_t *n)
{
    static const struct vws_workspace_filter any = VWS_WORKSPACE_FILTER_INIT;
    static const char sql_full[] =
        "SELECT " WS_COLUMNS ", " WS_LARGE " FROM workspaces "
        "WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR category = ?2) "
        "AND (?3 IS NULL OR host = ?3) AND (?4 IS NULL OR state = ?4) "
        "AND (?5 IS NULL OR location = ?5) "
        "ORDER BY creation_time, key LIMIT ?6";
    static const char sql_summary[] =
        "SELECT " WS_COLUMNS ", " WS_NO_LARGE " FROM workspaces "
        "WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR category = ?2) "
        "AND (?3 IS NULL OR host = ?3) AND (?4 IS NULL OR state = ?4) "
        "AND (?5 IS NULL OR location = ?5) "
        "ORDER BY creation_time, key LIMIT ?6";
    sqlite3_stmt *st;
    struct vws_workspace *list = NULL;
    size_t count = 0, limit;
    int rc, ret = -1;

    *out = NULL;
    *n = 0;
    if (!f)
        f = &any;
    if ((f->state != -1 && (unsigned)f->state >= VWS_WS_N_STATES) ||
        (f->location != -1 && (unsigned)f->location >= VWS_LOC_N)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid state or location "
                         "in a select filter");
        return -1;
    }
    limit = f->limit == 0 || f->limit > VWS_STORE_MAX_SELECT
                ? VWS_STORE_MAX_SELECT : f->limit;
    pthread_mutex_lock(&s->lock);
    st = stmt(s, f->full ? sql_full : sql_summary);
    if (!st)
        goto out;
    bind_text(st, 1, f->owner);
    bind_text(st, 2, f->category);
    bind_text(st, 3, f->host);
    bind_text(st, 4, f->state == -1 ? NULL : state_names[f->state]);
    bind_text(st, 5, f->location == -1 ? NULL : location_names[f->location]);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)limit);
    while (count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = vws_reallocarray(list, count + 1, sizeof(*list));
        read_ws(st, &list[count++]);
    }
    if (count < limit && rc != SQLITE_DONE) {
        vws_db_fail(&s->dbh, "cannot select workspaces");
        done(st);
        vws_workspace_list_free(list, count);
        goto out;
    }
    done(st);
    *out = list;
    *n = count;
    ret = 0;
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- changes ---------------------------------------------------------- */

static int
change_termination(struct vws_store *s, struct vws_workspace *ws, void *arg)
{
    sqlite3_stmt *st = stmt(s, "UPDATE workspaces SET termination_time = ? "
                               "WHERE key = ?");
    if (!st)
        return -1;
    bind_time(st, 1, *(const int64_t *)arg);
    bind_text(st, 2, ws->key);
    return step_done(s, st, "cannot set the termination time");
}

int
vws_store_set_termination(struct vws_store *s, const char *key,
                          int64_t termination_time)
{
    if (termination_time < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG, "negative termination time "
                         "%lld", (long long)termination_time);
        return -1;
    }
    struct op_call c = { VWS_OP_SET_TERMINATION, NULL, false, false,
                         change_termination, &termination_time };

    return apply_op(s, key, &c, NULL);
}

static int
change_description(struct vws_store *s, struct vws_workspace *ws, void *arg)
{
    sqlite3_stmt *st = stmt(s, "UPDATE workspaces SET description = ? "
                               "WHERE key = ?");
    if (!st)
        return -1;
    bind_text(st, 1, arg);
    bind_text(st, 2, ws->key);
    return step_done(s, st, "cannot replace the description");
}

int
vws_store_refine(struct vws_store *s, const char *key,
                 const char *description)
{
    struct op_call c = { VWS_OP_REFINE, NULL, false, false,
                         change_description, (void *)description };

    if (check_text("description", description, VWS_STORE_MAX_XML, true,
                   true) < 0)
        return -1;
    return apply_op(s, key, &c, NULL);
}

int
vws_store_clone(struct vws_store *s, const char *key_in, const char *owner,
                int64_t termination_time, char new_key[VWS_UUID_BUFSIZE],
                struct vws_workspace *out)
{
    struct vws_workspace src;
    char key[VWS_UUID_BUFSIZE], nkey[VWS_UUID_BUFSIZE];
    char *cert = NULL, *priv = NULL;
    int ret = -1;

    vws_workspace_init(&src);
    if (out)
        vws_workspace_init(out);
    if (check_key(key_in, key) < 0 ||
        check_text("owner DN", owner, VWS_STORE_MAX_TEXT, true, false) < 0)
        return -1;
    if (termination_time < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG, "negative termination time");
        return -1;
    }
    /* refuse early, before making a key pair for nothing */
    if (vws_store_get(s, key, &src) < 0 ||
        check_op(VWS_OP_CLONE, &src, NULL, false) < 0)
        goto fail;
    vws_workspace_release(&src);
    if (vws_uuid_generate_string(nkey) < 0 ||
        issue_credential(s, nkey, NULL, termination_time, &cert, &priv) < 0)
        goto fail;

    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0)
        goto out;
    /* again inside the transaction: it may have changed meanwhile */
    if (load_ws(s, key, &src) < 0 ||
        check_op(VWS_OP_CLONE, &src, NULL, false) < 0)
        goto out;
    if (insert_ws(s, nkey, owner, src.category, src.description,
                  src.deployment, NULL, src.lifecycle, src.image,
                  termination_time, cert, priv) < 0 ||
        vws_db_commit(&s->dbh) < 0)
        goto out;
    ret = out ? load_ws(s, nkey, out) : 0;
    if (new_key)
        memcpy(new_key, nkey, VWS_UUID_BUFSIZE);
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
fail:
    vws_workspace_release(&src);
    free(cert);
    free_key_pem(priv);
    return ret;
}

/* Destroy canonical KEY (the mutex is held).  With EXPIRED_BEFORE > 0,
 * only if its termination time is still before that (it may have been
 * extended since the sweeper looked): 1 when it was not destroyed. */
static int
destroy_locked(struct vws_store *s, const char *key, int64_t expired_before,
               struct vws_workspace *was)
{
    struct vws_workspace ws;
    sqlite3_stmt *st;

    vws_workspace_init(&ws);
    if (was)
        vws_workspace_init(was);
    if (vws_db_begin(&s->dbh) < 0)
        return -1;
    if (load_ws(s, key, &ws) < 0)
        goto fail;
    if (expired_before > 0 && (ws.termination_time == VWS_STORE_NEVER ||
                               ws.termination_time >= expired_before)) {
        vws_db_rollback(&s->dbh);
        vws_workspace_release(&ws);
        return 1;
    }
    if (check_op(VWS_OP_DESTROY, &ws, NULL, false) < 0 ||
        delete_leases(s, key, NULL) < 0)
        goto fail;
    if (!(st = stmt(s, "DELETE FROM workspaces WHERE key = ?")))
        goto fail;
    bind_text(st, 1, key);
    if (step_done(s, st, "cannot delete a workspace") < 0 || vws_db_commit(&s->dbh) < 0)
        goto fail;
    if (was)
        *was = ws;
    else
        vws_workspace_release(&ws);
    return 0;
fail:
    vws_db_rollback(&s->dbh);
    vws_workspace_release(&ws);
    return -1;
}

int
vws_store_destroy(struct vws_store *s, const char *key_in,
                  struct vws_workspace *was)
{
    char key[VWS_UUID_BUFSIZE];
    int ret;

    if (was)
        vws_workspace_init(was);
    if (check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    ret = destroy_locked(s, key, 0, was);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static int
change_checkout(struct vws_store *s, struct vws_workspace *ws, void *arg)
{
    (void)s;
    free(ws->host);
    free(ws->lock_holder);
    ws->host = vws_strdup(arg);
    ws->lock_holder = vws_strdup(arg);
    return 0;
}

int
vws_store_checkout(struct vws_store *s, const char *key, const char *host,
                   struct vws_workspace *out)
{
    struct op_call c = { VWS_OP_CHECKOUT, host, false, false,
                         change_checkout, (void *)host };

    if (out)
        vws_workspace_init(out);
    if (check_text("host DN", host, VWS_STORE_MAX_TEXT, true, false) < 0)
        return -1;
    return apply_op(s, key, &c, out);
}

static int
change_release(struct vws_store *s, struct vws_workspace *ws, void *arg)
{
    (void)arg;
    VWS_FREE(ws->host);
    VWS_FREE(ws->lock_holder);
    return delete_leases(s, ws->key, NULL);
}

int
vws_store_release(struct vws_store *s, const char *key, const char *host)
{
    struct op_call c = { VWS_OP_RELEASE, host, true, false, change_release,
                         NULL };

    if (check_text("host DN", host, VWS_STORE_MAX_TEXT, false, false) < 0)
        return -1;
    return apply_op(s, key, &c, NULL);
}

int
vws_store_report_location(struct vws_store *s, const char *key,
                          const char *host, enum vws_ws_location location)
{
    struct op_call c = { VWS_OP_STAGED, host, true, true, NULL, NULL };

    if (check_text("host DN", host, VWS_STORE_MAX_TEXT, true, false) < 0)
        return -1;
    if (location == VWS_LOC_STAGED) {
        c.op = VWS_OP_STAGED;
    } else if (location == VWS_LOC_UNSTAGING) {
        c.op = VWS_OP_UNSTAGE;
    } else {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "a host reports only 'staged' or 'unstaging', not "
                         "'%s' (use checkout and release)",
                         vws_ws_location_name(location));
        return -1;
    }
    return apply_op(s, key, &c, NULL);
}

static int
change_reason(struct vws_store *s, struct vws_workspace *ws, void *arg)
{
    (void)s;
    free(ws->fault_reason);
    ws->fault_reason = arg ? vws_strdup(arg) : NULL;
    return 0;
}

int
vws_store_report_state(struct vws_store *s, const char *key,
                       const char *host, enum vws_ws_state state,
                       const char *reason)
{
    static const enum vws_ws_op ops[VWS_WS_N_STATES] = {
        [VWS_WS_SHUTDOWN] = VWS_OP_SHUTDOWN,
        [VWS_WS_PAUSED] = VWS_OP_PAUSE,
        [VWS_WS_RUNNING] = VWS_OP_START,
        [VWS_WS_CORRUPTED] = VWS_OP_CORRUPT,
    };
    struct op_call c = { VWS_OP_SHUTDOWN, host, true, true, change_reason,
                         (void *)reason };

    if (check_text("host DN", host, VWS_STORE_MAX_TEXT, true, false) < 0 ||
        check_text("fault reason", reason, VWS_STORE_MAX_TEXT,
                   state == VWS_WS_CORRUPTED, true) < 0)
        return -1;
    if ((unsigned)state >= VWS_WS_N_STATES) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid state %d", (int)state);
        return -1;
    }
    c.op = ops[state];
    c.arg = (void *)(state == VWS_WS_CORRUPTED ? reason : NULL);
    /* a second "corrupted" report may carry a new reason: not a repeat */
    c.repeat_ok = state != VWS_WS_CORRUPTED;
    return apply_op(s, key, &c, NULL);
}

int
vws_store_mark_corrupted(struct vws_store *s, const char *key,
                         const char *reason)
{
    struct op_call c = { VWS_OP_CORRUPT, NULL, false, false, change_reason,
                         (void *)reason };

    if (check_text("fault reason", reason, VWS_STORE_MAX_TEXT, true,
                   true) < 0)
        return -1;
    return apply_op(s, key, &c, NULL);
}

int
vws_store_sweep_expired(struct vws_store *s, int64_t now_ms,
                        struct vws_workspace **was, size_t *n_was)
{
    sqlite3_stmt *st;
    char (*keys)[VWS_UUID_BUFSIZE] = NULL;
    struct vws_workspace *list = NULL;
    size_t n = 0, count = 0;
    int rc = SQLITE_DONE, ret = -1;

    if (was) {
        *was = NULL;
        *n_was = 0;
    }
    pthread_mutex_lock(&s->lock);
    st = stmt(s, "SELECT key FROM workspaces WHERE termination_time IS NOT "
                 "NULL AND termination_time < ? ORDER BY termination_time "
                 "LIMIT 10000");
    if (!st) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    sqlite3_bind_int64(st, 1, now_ms);
    while (n < VWS_STORE_MAX_SELECT && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        keys = vws_reallocarray(keys, n + 1, sizeof(*keys));
        vws_strlcpy(keys[n++], k ? k : "", VWS_UUID_BUFSIZE);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        vws_db_fail(&s->dbh, "cannot find expired workspaces");
        done(st);
        pthread_mutex_unlock(&s->lock);
        free(keys);
        return -1;
    }
    done(st);
    pthread_mutex_unlock(&s->lock);

    /* one transaction each, the mutex taken for each: other threads get
     * their turn between two destroys */
    for (size_t i = 0; i < n; i++) {
        struct vws_workspace ws;
        int r;

        pthread_mutex_lock(&s->lock);
        r = destroy_locked(s, keys[i], now_ms, &ws);
        pthread_mutex_unlock(&s->lock);
        if (r == 1)
            continue;       /* its termination time was moved meanwhile */
        if (r < 0) {
            if (vws_error_code_last() == VWS_ERR_NOT_FOUND)
                continue;   /* destroyed by someone else meanwhile */
            goto out;
        }
        VWS_INFO("workspace '%s' of '%s' expired and was destroyed", ws.key,
                 ws.owner);
        if (was) {
            list = vws_reallocarray(list, count + 1, sizeof(*list));
            list[count] = ws;
        } else {
            vws_workspace_release(&ws);
        }
        count++;
    }
    ret = (int)count;
out:
    free(keys);
    if (was && ret >= 0) {
        *was = list;
        *n_was = count;
    } else {
        vws_workspace_list_free(list, was ? count : 0);
    }
    return ret;
}

/* ---- the image pool --------------------------------------------------- */

static bool
is_sha256(const char *s)
{
    size_t i;

    for (i = 0; s && s[i]; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return s && i == 64;
}

/* "scheme://rest" with printable, non-space characters. */
static bool
is_url(const char *s)
{
    size_t i = 0;

    if (!s || !isalpha((unsigned char)s[0]))
        return false;
    while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
           s[i] == '.')
        i++;
    if (strncmp(s + i, "://", 3) != 0 || !s[i + 3])
        return false;
    for (; s[i]; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return i <= VWS_STORE_MAX_TEXT;
}

static char *
lower_dup(const char *s)
{
    char *d = vws_strdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static int
check_image(const struct vws_image *img)
{
    char q[96];
    bool kernel;

    if (!img || !vws_store_name_is_valid(img->name)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid image name '%s' "
                         "(letters, digits, '.', '_', '+', '-'; at most 128; "
                         "not starting with a punctuation mark)",
                         safe(img ? img->name : NULL, q));
        return -1;
    }
    if (!img->format || (strcmp(img->format, "raw") != 0 &&
                         strcmp(img->format, "qcow2") != 0 &&
                         strcmp(img->format, "kernel+initrd") != 0)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "image '%s': invalid format "
                         "'%s' (raw, qcow2 or kernel+initrd)", img->name,
                         safe(img->format, q));
        return -1;
    }
    kernel = strcmp(img->format, "kernel+initrd") == 0;
    if (!is_url(img->location) || img->size == 0 ||
        img->size > MAX_IMAGE_SIZE || !is_sha256(img->sha256)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "image '%s' needs a location "
                         "URL, a size of 1 byte to 1 TiB and a SHA-256 of 64 "
                         "hex digits", img->name);
        return -1;
    }
    if (kernel && (!is_url(img->initrd_location) || img->initrd_size == 0 ||
                   img->initrd_size > MAX_IMAGE_SIZE ||
                   !is_sha256(img->initrd_sha256))) {
        vws_report_error(VWS_ERR_INVALID_ARG, "image '%s' is kernel+initrd: "
                         "it needs the initrd's location URL, size and "
                         "SHA-256", img->name);
        return -1;
    }
    if (!kernel && (img->initrd_location || img->initrd_size ||
                    img->initrd_sha256 || img->cmdline)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "image '%s' is %s: an initrd "
                         "and a command line are for kernel+initrd only",
                         img->name, img->format);
        return -1;
    }
    if (check_text("kernel command line", img->cmdline, VWS_STORE_MAX_TEXT,
                   false, false) < 0 ||
        check_text("image description", img->description,
                   VWS_STORE_MAX_TEXT, false, true) < 0)
        return -1;
    return 0;
}

int
vws_store_image_register(struct vws_store *s, const struct vws_image *img)
{
    sqlite3_stmt *st;
    char *sha = NULL, *isha = NULL;
    int rc, ret = -1;

    if (check_image(img) < 0)
        return -1;
    sha = lower_dup(img->sha256);
    isha = img->initrd_sha256 ? lower_dup(img->initrd_sha256) : NULL;
    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0)
        goto out;
    st = stmt(s, "INSERT INTO images (name, format, location, size, sha256, "
                 "initrd_location, initrd_size, initrd_sha256, cmdline, "
                 "description, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?)");
    if (!st)
        goto out;
    bind_text(st, 1, img->name);
    bind_text(st, 2, img->format);
    bind_text(st, 3, img->location);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)img->size);
    bind_text(st, 5, sha);
    bind_text(st, 6, img->initrd_location);
    if (img->initrd_location)
        sqlite3_bind_int64(st, 7, (sqlite3_int64)img->initrd_size);
    bind_text(st, 8, isha);
    bind_text(st, 9, img->cmdline);
    bind_text(st, 10, img->description);
    sqlite3_bind_int64(st, 11, vws_time_now_ms());
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        vws_report_error(VWS_ERR_EXISTS, "image '%s' exists in the pool",
                         img->name);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        vws_db_fail(&s->dbh, "cannot insert an image");
        goto out;
    }
    ret = vws_db_commit(&s->dbh);
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
    free(sha);
    free(isha);
    return ret;
}

#define IMAGE_SELECT \
    "SELECT name, format, location, size, sha256, initrd_location, " \
    "initrd_size, initrd_sha256, cmdline, description, created, " \
    "(SELECT count(*) FROM workspaces w WHERE w.image = images.name) " \
    "FROM images"

static void
read_image(sqlite3_stmt *st, struct vws_image *img)
{
    vws_image_init(img);
    img->name = col_text(st, 0);
    img->format = col_text(st, 1);
    img->location = col_text(st, 2);
    img->size = (uint64_t)sqlite3_column_int64(st, 3);
    img->sha256 = col_text(st, 4);
    img->initrd_location = col_text(st, 5);
    img->initrd_size = (uint64_t)sqlite3_column_int64(st, 6);
    img->initrd_sha256 = col_text(st, 7);
    img->cmdline = col_text(st, 8);
    img->description = col_text(st, 9);
    img->created = sqlite3_column_int64(st, 10);
    img->in_use = (uint64_t)sqlite3_column_int64(st, 11);
}

int
vws_store_image_get(struct vws_store *s, const char *name,
                    struct vws_image *out)
{
    sqlite3_stmt *st;
    char q[96];
    int rc, ret = -1;

    vws_image_init(out);
    if (!vws_store_name_is_valid(name)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid image name '%s'",
                         safe(name, q));
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    st = stmt(s, IMAGE_SELECT " WHERE name = ?");
    if (!st)
        goto out;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_image(st, out);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no image '%s' in the pool",
                         name);
    } else {
        vws_db_fail(&s->dbh, "cannot read an image");
    }
    done(st);
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int
vws_store_image_list(struct vws_store *s, struct vws_image **out, size_t *n)
{
    sqlite3_stmt *st;
    struct vws_image *list = NULL;
    size_t count = 0;
    int rc = SQLITE_DONE, ret = -1;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    st = stmt(s, IMAGE_SELECT " ORDER BY name");
    if (!st)
        goto out;
    while (count < VWS_STORE_MAX_SELECT &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = vws_reallocarray(list, count + 1, sizeof(*list));
        read_image(st, &list[count++]);
    }
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        vws_db_fail(&s->dbh, "cannot list images");
        vws_image_list_free(list, count);
        goto out;
    }
    *out = list;
    *n = count;
    ret = 0;
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int
vws_store_image_remove(struct vws_store *s, const char *name)
{
    sqlite3_stmt *st;
    char q[96], user[VWS_UUID_BUFSIZE] = "";
    int64_t users = 0;
    int rc, ret = -1;

    if (!vws_store_name_is_valid(name)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid image name '%s'",
                         safe(name, q));
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0 || image_exists(s, name) < 0)
        goto out;
    st = stmt(s, "SELECT min(key), count(*) FROM workspaces WHERE image = ?");
    if (!st)
        goto out;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        vws_strlcpy(user, k ? k : "", sizeof(user));
        users = sqlite3_column_int64(st, 1);
    }
    done(st);
    if (rc != SQLITE_ROW) {
        vws_db_fail(&s->dbh, "cannot count the users of an image");
        goto out;
    }
    if (users > 0) {
        if (users == 1)
            vws_report_error(VWS_ERR_STATE, "cannot remove image '%s': "
                             "workspace '%s' uses it", name, user);
        else
            vws_report_error(VWS_ERR_STATE, "cannot remove image '%s': "
                             "workspace '%s' and %lld others use it", name,
                             user, (long long)(users - 1));
        goto out;
    }
    st = stmt(s, "DELETE FROM images WHERE name = ?");
    if (!st)
        goto out;
    bind_text(st, 1, name);
    if (step_done(s, st, "cannot remove an image") < 0)
        goto out;
    ret = vws_db_commit(&s->dbh);
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* ---- leases ----------------------------------------------------------- */

#define LEASE_SELECT \
    "SELECT pool, workspace, hostname, ip, mac, netmask, gateway, " \
    "broadcast, dns, leased FROM leases"

static void
read_lease(sqlite3_stmt *st, struct vws_lease *l)
{
    const char *k = (const char *)sqlite3_column_text(st, 1);

    vws_lease_init(l);
    l->pool = col_text(st, 0);
    vws_strlcpy(l->workspace, k ? k : "", sizeof(l->workspace));
    l->hostname = col_text(st, 2);
    l->ip = col_text(st, 3);
    l->mac = col_text(st, 4);
    l->netmask = col_text(st, 5);
    l->gateway = col_text(st, 6);
    l->broadcast = col_text(st, 7);
    l->dns = col_text(st, 8);
    l->leased = sqlite3_column_int64(st, 9);
}

/* The lease of KEY in POOL into OUT: 1 found, 0 none, -1 error. */
static int
find_lease(struct vws_store *s, const char *pool, const char *key,
           struct vws_lease *out)
{
    sqlite3_stmt *st = stmt(s, LEASE_SELECT " WHERE pool = ? AND "
                               "workspace = ?");
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, pool);
    bind_text(st, 2, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_lease(st, out);
    done(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return vws_db_fail(&s->dbh, "cannot read a lease");
}

/* Whether a lease row with COLUMN = VALUE (and POOL, if not NULL) exists:
 * 1, 0, or -1. */
static int
lease_taken(struct vws_store *s, const char *pool, const char *ip,
            const char *mac)
{
    sqlite3_stmt *st = stmt(s, "SELECT 1 FROM leases WHERE (pool = ?1 AND "
                               "ip = ?2) OR mac = ?3");
    int rc;

    if (!st)
        return -1;
    bind_text(st, 1, pool);
    bind_text(st, 2, ip);
    bind_text(st, 3, mac);
    rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return vws_db_fail(&s->dbh, "cannot read the leases");
}

/* A 52:54:00:xx:xx:xx (the QEMU/KVM prefix) no lease and no candidate
 * has.  0, or -1. */
static int
new_mac(struct vws_store *s, const struct vws_lease *cand, size_t n,
        char mac[18])
{
    for (int tries = 0; tries < MAC_TRIES; tries++) {
        unsigned char r[3];
        bool clash = false;
        int taken;

        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            vws_report_system_error("cannot get random bytes for a MAC");
            return -1;
        }
        snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", r[0], r[1], r[2]);
        for (size_t i = 0; i < n && !clash; i++)
            clash = cand[i].mac && strcasecmp(cand[i].mac, mac) == 0;
        if (clash)
            continue;
        if ((taken = lease_taken(s, NULL, NULL, mac)) < 0)
            return -1;
        if (!taken)
            return 0;
    }
    vws_report_error(VWS_ERR_LIMIT, "cannot find a free MAC address in "
                     "52:54:00:00:00:00/24 after %d tries", MAC_TRIES);
    return -1;
}

int
vws_store_lease_take(struct vws_store *s, const char *pool, const char *key_in,
                     const struct vws_lease *cand, size_t n,
                     struct vws_lease *out)
{
    struct vws_workspace ws;
    sqlite3_stmt *st;
    char key[VWS_UUID_BUFSIZE], mac[18], q[96];
    size_t leased = 0, pick = n;
    int found, ret = -1;

    vws_lease_init(out);
    vws_workspace_init(&ws);
    if (!vws_store_name_is_valid(pool)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "invalid pool name '%s'",
                         safe(pool, q));
        return -1;
    }
    if (check_key(key_in, key) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!cand[i].ip || !cand[i].hostname || !cand[i].netmask) {
            vws_report_error(VWS_ERR_INVALID_ARG, "pool '%s': candidate %zu "
                             "has no IP, hostname or netmask", pool, i);
            return -1;
        }
    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0 || load_ws(s, key, &ws) < 0)
        goto out;
    if ((found = find_lease(s, pool, key, out)) < 0)
        goto out;
    if (found) {
        ret = vws_db_commit(&s->dbh);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int taken = lease_taken(s, pool, cand[i].ip, cand[i].mac);
        if (taken < 0)
            goto out;
        if (taken) {
            leased++;
        } else if (pick == n) {
            pick = i;
        }
    }
    if (pick == n) {
        vws_report_error(VWS_ERR_LIMIT, "pool '%s' has no free address "
                         "(%zu of %zu leased)", pool, leased, n);
        goto out;
    }
    if (cand[pick].mac)
        vws_strlcpy(mac, cand[pick].mac, sizeof(mac));
    else if (new_mac(s, cand, n, mac) < 0)
        goto out;
    st = stmt(s, "INSERT INTO leases (pool, ip, workspace, hostname, mac, "
                 "netmask, gateway, broadcast, dns, leased) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st)
        goto out;
    bind_text(st, 1, pool);
    bind_text(st, 2, cand[pick].ip);
    bind_text(st, 3, key);
    bind_text(st, 4, cand[pick].hostname);
    bind_text(st, 5, mac);
    bind_text(st, 6, cand[pick].netmask);
    bind_text(st, 7, cand[pick].gateway);
    bind_text(st, 8, cand[pick].broadcast);
    bind_text(st, 9, cand[pick].dns);
    sqlite3_bind_int64(st, 10, vws_time_now_ms());
    if (step_done(s, st, "cannot insert a lease") < 0)
        goto out;
    if (find_lease(s, pool, key, out) != 1) {
        if (vws_error_code_last() == VWS_ERR_OK)
            vws_report_error(VWS_ERR_INTERNAL, "lease vanished");
        goto out;
    }
    ret = vws_db_commit(&s->dbh);
    if (ret == 0)
        VWS_INFO("pool '%s': %s (%s, %s) leased to workspace '%s'", pool,
                 out->ip, out->hostname, out->mac, key);
out:
    if (ret < 0) {
        vws_db_rollback(&s->dbh);
        vws_lease_release(out);
    }
    pthread_mutex_unlock(&s->lock);
    vws_workspace_release(&ws);
    return ret;
}

int
vws_store_lease_get(struct vws_store *s, const char *pool, const char *key_in,
                    struct vws_lease *out)
{
    char key[VWS_UUID_BUFSIZE];
    int found;

    vws_lease_init(out);
    if (check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    found = find_lease(s, pool, key, out);
    pthread_mutex_unlock(&s->lock);
    if (found == 0) {
        char q[96];
        vws_report_error(VWS_ERR_NOT_FOUND, "workspace '%s' holds no address "
                         "of pool '%s'", key, safe(pool, q));
    }
    return found == 1 ? 0 : -1;
}

int
vws_store_lease_list(struct vws_store *s, const char *pool, const char *key_in,
                     struct vws_lease **out, size_t *n)
{
    sqlite3_stmt *st;
    struct vws_lease *list = NULL;
    char key[VWS_UUID_BUFSIZE];
    size_t count = 0;
    int rc = SQLITE_DONE, ret = -1;

    *out = NULL;
    *n = 0;
    if (key_in && check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    st = stmt(s, LEASE_SELECT " WHERE (?1 IS NULL OR pool = ?1) AND "
                 "(?2 IS NULL OR workspace = ?2) ORDER BY pool, ip");
    if (!st)
        goto out;
    bind_text(st, 1, pool);
    bind_text(st, 2, key_in ? key : NULL);
    while (count < VWS_STORE_MAX_SELECT &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        list = vws_reallocarray(list, count + 1, sizeof(*list));
        read_lease(st, &list[count++]);
    }
    done(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        vws_db_fail(&s->dbh, "cannot list leases");
        vws_lease_list_free(list, count);
        goto out;
    }
    *out = list;
    *n = count;
    ret = 0;
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int
vws_store_lease_release(struct vws_store *s, const char *key_in)
{
    char key[VWS_UUID_BUFSIZE];
    int count = 0, ret = -1;

    if (check_key(key_in, key) < 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    if (vws_db_begin(&s->dbh) < 0 || delete_leases(s, key, &count) < 0 || vws_db_commit(&s->dbh) < 0)
        goto out;
    ret = count;
out:
    if (ret < 0)
        vws_db_rollback(&s->dbh);
    pthread_mutex_unlock(&s->lock);
    return ret;
}
