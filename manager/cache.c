/*
 * cache.c — the host's template cache (see cache.h for the API and the
 * layout of the directory).
 *
 * One mutex guards everything: the list of entries in memory, the SQLite
 * connection and the counters.  The only slow work, the fetch, runs
 * without it.  An entry being fetched carries a struct fetch that the
 * fetcher and every waiter share (reference-counted): the waiters sleep on
 * the cache's condition variable until fetch->done, then read the outcome
 * and, on failure, the fetcher's error text.  A failed fetch unlinks its
 * entry at once, so a waiter never touches the entry after a failure and
 * a later acquire starts afresh.
 *
 * Space: used = sum of the sizes of cached and in-flight templates; room
 * for a new template is made before its fetch starts, so concurrent
 * fetches never overcommit the limit.  An entry is evictable when it is
 * ready, unpinned and nobody waits on it.
 *
 * LRU order uses a logical clock (seq, bumped on every use and stored in
 * the index) rather than wall time, so two uses in one millisecond keep
 * their order across restarts.
 *
 * The index is SQLite in WAL mode with synchronous=FULL, a schema_version
 * table and an ordered list of migrations, as in repository/store.c.  A
 * template's row is written only after its file has its final name; a
 * crash in between leaves a file without a row, removed at the next open.
 */
#define VWS_MODULE "cache"
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/xstime.h"
#include "db.h"
#include "manager/cache.h"
#include "internal.h"

#define MB (1024ULL * 1024ULL)
#define BUSY_TIMEOUT_MS 5000
#define HASH_BUFSIZE (1024 * 1024)
#define SCHEMA_VERSION 1
#define PART_SUFFIX ".part"

struct fetch {
    unsigned refs;
    bool done;
    bool failed;
    vws_error_code code;
    char message[sizeof(((vws_error *)0)->message)];
};

struct entry {
    char sha256[VWS_CACHE_SHA256_LEN + 1];
    char *name;
    uint64_t size;
    int64_t last_used;
    uint64_t seq;
    uint64_t uses;
    unsigned pins;
    unsigned waiters;       /* half-missers not yet woken: not evictable */
    struct fetch *fetch;    /* non-NULL while being fetched */
    struct entry *next;
};

struct vws_cache {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct vws_db dbh;      /* common/db.c: open, migrations, transactions */
    sqlite3 *db;            /* dbh.db */
    char *dir;
    char *tdir;
    uint64_t limit;
    enum vws_cache_policy policy;
    struct entry *entries;
    uint64_t seq;
    uint64_t used;
    struct vws_cache_stats stats;
};

/* ---- names and small checks ------------------------------------------- */

static const char *const policy_names[VWS_CACHE_N_POLICIES] = {
    [VWS_CACHE_LRU] = "lru",
    [VWS_CACHE_LFU] = "lfu",
};

const char *
vws_cache_policy_name(enum vws_cache_policy policy)
{
    return (unsigned)policy < VWS_CACHE_N_POLICIES ? policy_names[policy]
                                                   : "unknown";
}

int
vws_cache_policy_parse(const char *name)
{
    for (int i = 0; name && i < VWS_CACHE_N_POLICIES; i++)
        if (strcasecmp(name, policy_names[i]) == 0)
            return i;
    return -1;
}

bool
vws_cache_sha256_is_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < VWS_CACHE_SHA256_LEN; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
              (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return s[VWS_CACHE_SHA256_LEN] == '\0';
}

/* SHA256 checked and lowercased into OUT. */
static int
check_sha(const char *sha256, char out[VWS_CACHE_SHA256_LEN + 1])
{
    if (!vws_cache_sha256_is_valid(sha256)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid SHA-256 '%.80s' (want 64 hex digits)",
                         sha256 ? sha256 : "");
        return -1;
    }
    for (int i = 0; i <= VWS_CACHE_SHA256_LEN; i++) {
        char ch = sha256[i];
        out[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
    }
    return 0;
}

/* A label (template name, instance id): present, at most MAX bytes, no
 * control characters.  Never used in a path. */
static int
check_label(const char *what, const char *s, size_t max)
{
    size_t n;

    if (!s || !*s) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing %s", what);
        return -1;
    }
    n = strnlen(s, max + 1);
    if (n > max) {
        vws_report_error(VWS_ERR_LIMIT, "%s is longer than %zu bytes", what,
                         max);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "%s has a control character", what);
            return -1;
        }
    return 0;
}

static uint64_t
mb_up(uint64_t bytes)
{
    return (bytes + MB - 1) / MB;
}

static char *
file_path(const struct vws_cache *c, const char *sha256, const char *suffix)
{
    return vws_asprintf("%s/%s%s", c->tdir, sha256, suffix);
}

/* Run SQL with the text and integer parameters given as a format:
 * 't' = const char *, 'i' = int64_t.  Returns the number of rows changed,
 * or -1. */
static int
run(struct vws_cache *c, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int rc;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return vws_db_fail(&c->dbh, "cannot prepare a statement");
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't')
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
                              SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return vws_db_fail(&c->dbh, "cannot write");
    return sqlite3_changes(c->db);
}

static const struct vws_db_migration migrations[] = {
    { 1, "templates and their pins",
      "CREATE TABLE schema_version ("
      "  version INTEGER PRIMARY KEY,"
      "  applied INTEGER NOT NULL,"
      "  description TEXT NOT NULL);"
      "CREATE TABLE templates ("
      "  sha256 TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL,"
      "  size INTEGER NOT NULL CHECK (size > 0),"
      "  added INTEGER NOT NULL,"
      "  last_used INTEGER NOT NULL,"
      "  seq INTEGER NOT NULL,"
      "  uses INTEGER NOT NULL);"
      "CREATE TABLE pins ("
      "  sha256 TEXT NOT NULL REFERENCES templates(sha256) ON DELETE CASCADE,"
      "  instance TEXT NOT NULL,"
      "  since INTEGER NOT NULL,"
      "  PRIMARY KEY (sha256, instance));"
      "CREATE INDEX pins_instance ON pins(instance);" },
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SCHEMA_VERSION,
               "one migration per schema version");

/* ---- entries (the caller holds the lock) ------------------------------ */

static struct entry *
find(struct vws_cache *c, const char *sha256)
{
    for (struct entry *e = c->entries; e; e = e->next)
        if (strcmp(e->sha256, sha256) == 0)
            return e;
    return NULL;
}

static void
entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->name);
    free(e);
}

static void
unlink_entry(struct vws_cache *c, struct entry *e)
{
    for (struct entry **pp = &c->entries; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            c->used -= e->size;
            return;
        }
}

static bool
evictable(const struct entry *e)
{
    return !e->fetch && e->pins == 0 && e->waiters == 0;
}

static bool
pinned(const struct entry *e)
{
    return !evictable(e);
}

/* Whether A goes before B in eviction order. */
static bool
evicts_before(enum vws_cache_policy policy, const struct entry *a,
              const struct entry *b)
{
    if (policy == VWS_CACHE_LFU && a->uses != b->uses)
        return a->uses < b->uses;
    return a->seq < b->seq;
}

/* Record a use of E: clock, counter, row. */
static int
touch(struct vws_cache *c, struct entry *e)
{
    e->seq = ++c->seq;
    e->uses++;
    e->last_used = vws_time_now_ms();
    return run(c, "UPDATE templates SET seq = ?, uses = ?, last_used = ? "
                  "WHERE sha256 = ?", "iiit", (int64_t)e->seq,
               (int64_t)e->uses, e->last_used, e->sha256) < 0 ? -1 : 0;
}

/* Pin E for INSTANCE (row and count). */
static int
pin_locked(struct vws_cache *c, struct entry *e, const char *instance)
{
    int n = run(c, "INSERT OR IGNORE INTO pins (sha256, instance, since) "
                   "VALUES (?, ?, ?)", "tti", e->sha256, instance,
                vws_time_now_ms());

    if (n < 0)
        return -1;
    e->pins += (unsigned)n;
    return 0;
}

/* Use and pin E in one transaction. */
static int
use_and_pin(struct vws_cache *c, struct entry *e, const char *instance)
{
    if (vws_db_begin(&c->dbh) < 0)
        return -1;
    if (touch(c, e) < 0 || pin_locked(c, e, instance) < 0 || vws_db_commit(&c->dbh) < 0) {
        vws_db_rollback(&c->dbh);
        return -1;
    }
    return 0;
}

/* Remove E's row (its pins go with it) and file, and free E.  Reports
 * nothing: a failure is logged (the next open reconciles). */
static void
drop_entry(struct vws_cache *c, struct entry *e, const char *why)
{
    char *path = file_path(c, e->sha256, "");

    VWS_INFO("cache '%s': %s template '%s' (%s, %llu MB)", c->dir, why,
             e->name, e->sha256, (unsigned long long)mb_up(e->size));
    if (unlink(path) < 0 && errno != ENOENT)
        VWS_WARN("cache '%s': cannot remove '%s': %s", c->dir, path,
                 strerror(errno));
    free(path);
    unlink_entry(c, e);
    entry_free(e);
}

static uint64_t
pinned_bytes(struct vws_cache *c)
{
    uint64_t n = 0;

    for (struct entry *e = c->entries; e; e = e->next)
        if (pinned(e))
            n += e->size;
    return n;
}

/* Evict unpinned entries in policy order until SIZE more bytes fit. */
static int
make_room(struct vws_cache *c, const char *name, uint64_t size)
{
    uint64_t locked = pinned_bytes(c);
    bool in_tx = false;

    if (size > c->limit || locked + size > c->limit) {
        vws_report_error(VWS_ERR_LIMIT,
                         "cache of %llu MB cannot hold '%s' (%llu MB): "
                         "%llu MB pinned",
                         (unsigned long long)(c->limit / MB), name,
                         (unsigned long long)mb_up(size),
                         (unsigned long long)mb_up(locked));
        return -1;
    }
    /* each pass evicts one entry: at most as many passes as entries */
    while (c->used + size > c->limit) {
        struct entry *victim = NULL;

        for (struct entry *e = c->entries; e; e = e->next)
            if (evictable(e) &&
                (!victim || evicts_before(c->policy, e, victim)))
                victim = e;
        if (!victim)
            break;      /* cannot happen after the check above */
        if (!in_tx) {
            if (vws_db_begin(&c->dbh) < 0)
                return -1;
            in_tx = true;
        }
        if (run(c, "DELETE FROM templates WHERE sha256 = ?", "t",
                victim->sha256) < 0) {
            vws_db_rollback(&c->dbh);
            return -1;
        }
        c->stats.evictions++;
        drop_entry(c, victim, c->policy == VWS_CACHE_LFU
                                  ? "evicted (least frequently used)"
                                  : "evicted (least recently used)");
    }
    if (in_tx && vws_db_commit(&c->dbh) < 0) {
        vws_db_rollback(&c->dbh);
        return -1;
    }
    return 0;
}

/* ---- open and reconcile ----------------------------------------------- */

static int
mkdir_p1(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        vws_report_system_error("cannot create directory '%s'", path);
        return -1;
    }
    return 0;
}

/* Check one row's file; true if it is kept. */
static bool
file_matches(struct vws_cache *c, const struct entry *e, bool verify,
             const char **why)
{
    char *path = file_path(c, e->sha256, "");
    char got[VWS_CACHE_SHA256_LEN + 1];
    struct stat st;
    bool ok = false;

    if (lstat(path, &st) < 0) {
        *why = "dropped from the index (its file is missing)";
    } else if (!S_ISREG(st.st_mode)) {
        *why = "dropped (its file is not a regular file)";
    } else if ((uint64_t)st.st_size != e->size) {
        *why = "dropped (its file has the wrong size)";
    } else if (verify && vws_cache_sha256_file(path, got) < 0) {
        *why = "dropped (its file cannot be read)";
        vws_error_reset();
    } else if (verify && strcmp(got, e->sha256) != 0) {
        *why = "dropped (its file has the wrong SHA-256)";
    } else {
        ok = true;
    }
    free(path);
    return ok;
}

static int
load(struct vws_cache *c, bool verify)
{
    sqlite3_stmt *st = NULL;
    struct entry *bad = NULL;
    int rc;

    if (sqlite3_prepare_v2(c->db, "SELECT sha256, name, size, last_used, "
                           "seq, uses, (SELECT count(*) FROM pins p WHERE "
                           "p.sha256 = t.sha256) FROM templates t", -1, &st,
                           NULL) != SQLITE_OK)
        return vws_db_fail(&c->dbh, "cannot read templates");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        struct entry *e = vws_calloc(1, sizeof(*e));
        const char *why = NULL;

        vws_strlcpy(e->sha256, sha ? sha : "", sizeof(e->sha256));
        e->name = vws_strdup(name ? name : "");
        e->size = (uint64_t)sqlite3_column_int64(st, 2);
        e->last_used = sqlite3_column_int64(st, 3);
        e->seq = (uint64_t)sqlite3_column_int64(st, 4);
        e->uses = (uint64_t)sqlite3_column_int64(st, 5);
        e->pins = (unsigned)sqlite3_column_int64(st, 6);
        if (e->seq > c->seq)
            c->seq = e->seq;
        if (!sha || strlen(sha) != VWS_CACHE_SHA256_LEN ||
            !vws_cache_sha256_is_valid(sha) || !file_matches(c, e, verify,
                                                             &why)) {
            VWS_WARN("cache '%s': template '%s' (%s) %s", c->dir, e->name,
                     e->sha256, why ? why : "dropped (bad index row)");
            e->next = bad;
            bad = e;
            continue;
        }
        e->next = c->entries;
        c->entries = e;
        c->used += e->size;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        while (bad) {
            struct entry *next = bad->next;
            entry_free(bad);
            bad = next;
        }
        return vws_db_fail(&c->dbh, "cannot read templates");
    }
    if (!bad)
        return 0;
    rc = vws_db_begin(&c->dbh);
    while (bad) {
        struct entry *next = bad->next;
        char *path = file_path(c, bad->sha256, "");
        if (rc == 0 && run(c, "DELETE FROM templates WHERE sha256 = ?", "t",
                           bad->sha256) < 0)
            rc = -1;
        if (vws_cache_sha256_is_valid(bad->sha256))
            unlink(path);       /* a wrong file goes too; ENOENT is fine */
        free(path);
        entry_free(bad);
        bad = next;
    }
    if (rc == 0 && vws_db_commit(&c->dbh) < 0)
        rc = -1;
    if (rc < 0)
        vws_db_rollback(&c->dbh);
    return rc;
}

/* Remove every file of the templates directory that no entry owns. */
static int
sweep(struct vws_cache *c)
{
    DIR *d = opendir(c->tdir);
    struct dirent *de;

    if (!d) {
        vws_report_system_error("cannot read directory '%s'", c->tdir);
        return -1;
    }
    while ((de = readdir(d))) {
        char *path;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (vws_cache_sha256_is_valid(de->d_name) && find(c, de->d_name))
            continue;
        path = vws_asprintf("%s/%s", c->tdir, de->d_name);
        if (unlink(path) == 0)
            VWS_WARN("cache '%s': removed '%s' (no index row)", c->dir,
                     de->d_name);
        else
            VWS_WARN("cache '%s': cannot remove stray '%s': %s", c->dir,
                     path, strerror(errno));
        free(path);
    }
    closedir(d);
    return 0;
}

struct vws_cache *
vws_cache_open(const struct vws_cache_options *opts)
{
    struct vws_cache *c;

    if (!opts || !opts->dir || opts->dir[0] == '\0') {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing cache directory");
        return NULL;
    }
    if (opts->size_mb == 0 || opts->size_mb > VWS_CACHE_MAX_SIZE_MB) {
        vws_report_error(VWS_ERR_CONFIG, "cache size of %llu MB is out of "
                         "range (1 to %u MB)",
                         (unsigned long long)opts->size_mb,
                         VWS_CACHE_MAX_SIZE_MB);
        return NULL;
    }
    if ((unsigned)opts->policy >= VWS_CACHE_N_POLICIES) {
        vws_report_error(VWS_ERR_CONFIG, "unknown cache policy %d",
                         (int)opts->policy);
        return NULL;
    }
    c = vws_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->dir = vws_strdup(opts->dir);
    c->tdir = vws_asprintf("%s/templates", opts->dir);
    c->limit = opts->size_mb * MB;
    c->policy = opts->policy;
    if (mkdir_p1(c->dir) < 0 || mkdir_p1(c->tdir) < 0)
        goto fail;
    {
        static const struct vws_db_options dbo = {
            .what = "cache index",
            .migrations = migrations,
            .n_migrations = VWS_N_ELEMENTS(migrations),
            .busy_timeout_ms = BUSY_TIMEOUT_MS,
        };
        char *path = vws_asprintf("%s/index.db", opts->dir);
        int rc = vws_db_open(&c->dbh, path, &dbo);

        free(path);
        if (rc < 0)
            goto fail;
        c->db = c->dbh.db;
    }
    if (load(c, opts->verify_sha256) < 0 || sweep(c) < 0)
        goto fail;
    if (c->used > c->limit) {
        VWS_WARN("cache '%s': %llu MB cached over a limit of %llu MB: "
                 "evicting", c->dir, (unsigned long long)mb_up(c->used),
                 (unsigned long long)(c->limit / MB));
        if (make_room(c, "(the cached templates)", 0) < 0) {
            VWS_WARN("cache '%s': %s", c->dir, vws_error_message());
            vws_error_reset();
        }
    }
    return c;

fail:
    vws_cache_close(c);
    return NULL;
}

void
vws_cache_close(struct vws_cache *c)
{
    if (!c)
        return;
    while (c->entries) {
        struct entry *next = c->entries->next;
        entry_free(c->entries);
        c->entries = next;
    }
    vws_db_close(&c->dbh);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c->dir);
    free(c->tdir);
    free(c);
}

/* ---- acquire ---------------------------------------------------------- */

static void
fetch_unref(struct fetch *f)
{
    if (--f->refs == 0)
        free(f);
}

/* The fetcher's part, entered and left with the lock held.  E is in the
 * list with E->fetch set; on failure it is unlinked and freed. */
static int
do_fetch(struct vws_cache *c, struct entry *e, const char *instance,
         vws_cache_fetch_fn fetch, void *arg)
{
    struct fetch *f = e->fetch;
    char *tmp = file_path(c, e->sha256, PART_SUFFIX);
    char *final = file_path(c, e->sha256, "");
    struct stat st;
    int rc;

    pthread_mutex_unlock(&c->lock);
    unlink(tmp);        /* a stale part from a crash */
    rc = fetch(arg, tmp);
    if (rc == 0) {
        if (stat(tmp, &st) < 0) {
            vws_report_system_error("fetch of '%s' left no file '%s'",
                                    e->name, tmp);
            rc = -1;
        } else if ((uint64_t)st.st_size != e->size) {
            vws_report_error(VWS_ERR_INVALID,
                             "fetched template '%s' has %llu bytes, not "
                             "the %llu declared", e->name,
                             (unsigned long long)st.st_size,
                             (unsigned long long)e->size);
            rc = -1;
        } else if (rename(tmp, final) < 0) {
            vws_report_system_error("cannot rename '%s' to '%s'", tmp, final);
            rc = -1;
        }
    }
    pthread_mutex_lock(&c->lock);
    if (rc == 0) {
        e->seq = ++c->seq;
        e->uses = 1;
        e->last_used = vws_time_now_ms();
        if (vws_db_begin(&c->dbh) < 0 ||
            run(c, "INSERT INTO templates (sha256, name, size, added, "
                   "last_used, seq, uses) VALUES (?, ?, ?, ?, ?, ?, ?)",
                "ttiiiii", e->sha256, e->name, (int64_t)e->size,
                e->last_used, e->last_used, (int64_t)e->seq,
                (int64_t)e->uses) < 0 ||
            pin_locked(c, e, instance) < 0 || vws_db_commit(&c->dbh) < 0) {
            vws_db_rollback(&c->dbh);
            e->pins = 0;
            rc = -1;
        }
    }
    if (rc < 0) {
        const vws_error *err = vws_error_last();
        f->failed = true;
        f->code = err ? err->code : VWS_ERR_INTERNAL;
        vws_strlcpy(f->message, err ? err->message : "fetch failed",
                    sizeof(f->message));
        unlink(tmp);
        unlink(final);
        unlink_entry(c, e);
        entry_free(e);
        c->stats.fetch_failures++;
    } else {
        e->fetch = NULL;
        c->stats.misses++;
    }
    f->done = true;
    fetch_unref(f);
    pthread_cond_broadcast(&c->cond);
    free(tmp);
    free(final);
    return rc;
}

int
vws_cache_acquire(struct vws_cache *c, const char *name, const char *sha256,
                  uint64_t size, const char *instance,
                  vws_cache_fetch_fn fetch, void *arg, char **path,
                  enum vws_cache_outcome *outcome)
{
    char sha[VWS_CACHE_SHA256_LEN + 1];
    enum vws_cache_outcome how = VWS_CACHE_HIT;
    struct entry *e;
    int rc = -1;

    if (path)
        *path = NULL;
    if (!c || !path || !fetch) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing cache, path result "
                         "or fetch function");
        return -1;
    }
    if (check_label("template name", name, VWS_CACHE_MAX_NAME) < 0 ||
        check_sha(sha256, sha) < 0 ||
        check_label("instance id", instance, VWS_CACHE_MAX_INSTANCE) < 0)
        return -1;
    if (size == 0 || size / MB > VWS_CACHE_MAX_SIZE_MB) {
        vws_report_error(VWS_ERR_INVALID_ARG, "template '%s' has an invalid "
                         "size of %llu bytes", name,
                         (unsigned long long)size);
        return -1;
    }

    pthread_mutex_lock(&c->lock);
    e = find(c, sha);
    if (e && e->fetch) {
        struct fetch *f = e->fetch;

        how = VWS_CACHE_HALF_MISS;
        f->refs++;
        e->waiters++;
        /* the fetcher always sets done and broadcasts */
        while (!f->done)
            pthread_cond_wait(&c->cond, &c->lock);
        if (f->failed) {
            vws_report_error(f->code, "%s", f->message);
            fetch_unref(f);
            goto out;
        }
        fetch_unref(f);
        e->waiters--;
        c->stats.half_misses++;
    } else if (e) {
        c->stats.hits++;
    }
    if (e) {
        if (e->size != size) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "template '%s' (%s) is cached with %llu bytes, "
                             "not %llu", name, sha,
                             (unsigned long long)e->size,
                             (unsigned long long)size);
            goto out;
        }
        if (use_and_pin(c, e, instance) < 0)
            goto out;
        rc = 0;
    } else {
        how = VWS_CACHE_MISS;
        if (make_room(c, name, size) < 0)
            goto out;
        e = vws_calloc(1, sizeof(*e));
        memcpy(e->sha256, sha, sizeof(e->sha256));
        e->name = vws_strdup(name);
        e->size = size;
        e->fetch = vws_calloc(1, sizeof(*e->fetch));
        e->fetch->refs = 1;
        e->next = c->entries;
        c->entries = e;
        c->used += size;
        rc = do_fetch(c, e, instance, fetch, arg);
    }
out:
    pthread_mutex_unlock(&c->lock);
    if (rc == 0) {
        *path = file_path(c, sha, "");
        if (outcome)
            *outcome = how;
    }
    return rc;
}

/* ---- pins and removal ------------------------------------------------- */

int
vws_cache_pin(struct vws_cache *c, const char *sha256, const char *instance)
{
    char sha[VWS_CACHE_SHA256_LEN + 1];
    struct entry *e;
    int rc = -1;

    if (!c || check_sha(sha256, sha) < 0 ||
        check_label("instance id", instance, VWS_CACHE_MAX_INSTANCE) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    e = find(c, sha);
    if (!e || e->fetch)
        vws_report_error(VWS_ERR_NOT_FOUND, "template %s is not cached", sha);
    else
        rc = use_and_pin(c, e, instance);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int
vws_cache_unpin(struct vws_cache *c, const char *sha256, const char *instance)
{
    char sha[VWS_CACHE_SHA256_LEN + 1];
    struct entry *e;
    int n = 0;

    if (!c || check_sha(sha256, sha) < 0 ||
        check_label("instance id", instance, VWS_CACHE_MAX_INSTANCE) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    e = find(c, sha);
    if (e && !e->fetch) {
        n = run(c, "DELETE FROM pins WHERE sha256 = ? AND instance = ?",
                "tt", sha, instance);
        if (n > 0)
            e->pins -= (unsigned)n;
    }
    pthread_mutex_unlock(&c->lock);
    return n < 0 ? -1 : 0;
}

int
vws_cache_unpin_instance(struct vws_cache *c, const char *instance)
{
    int rc = 0;

    if (!c || check_label("instance id", instance,
                          VWS_CACHE_MAX_INSTANCE) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    if (vws_db_begin(&c->dbh) < 0) {
        rc = -1;
        goto out;
    }
    for (struct entry *e = c->entries; e && rc == 0; e = e->next) {
        int n;
        if (e->fetch || e->pins == 0)
            continue;
        n = run(c, "DELETE FROM pins WHERE sha256 = ? AND instance = ?",
                "tt", e->sha256, instance);
        if (n < 0)
            rc = -1;
    }
    if (rc == 0 && vws_db_commit(&c->dbh) == 0) {
        /* recount from the rows only once they are committed */
        for (struct entry *e = c->entries; e; e = e->next) {
            sqlite3_stmt *st = NULL;
            if (e->fetch || e->pins == 0)
                continue;
            if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM pins WHERE "
                                   "sha256 = ?", -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, e->sha256, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW)
                    e->pins = (unsigned)sqlite3_column_int(st, 0);
            }
            sqlite3_finalize(st);
        }
    } else {
        vws_db_rollback(&c->dbh);
        rc = -1;
    }
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int
vws_cache_remove(struct vws_cache *c, const char *sha256)
{
    char sha[VWS_CACHE_SHA256_LEN + 1];
    struct entry *e;
    int rc = -1;

    if (!c || check_sha(sha256, sha) < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    e = find(c, sha);
    if (!e) {
        vws_report_error(VWS_ERR_NOT_FOUND, "template %s is not cached", sha);
    } else if (!evictable(e)) {
        vws_report_error(VWS_ERR_STATE, "cannot remove template '%s' (%s): "
                         "it is %s", e->name, sha,
                         e->fetch ? "being fetched" : "pinned");
    } else if (run(c, "DELETE FROM templates WHERE sha256 = ?", "t", sha)
               >= 0) {
        drop_entry(c, e, "removed");
        rc = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

int
vws_cache_list(struct vws_cache *c, struct vws_cache_entry **list, size_t *n)
{
    struct entry **v;
    struct vws_cache_entry *out;
    size_t count = 0, i = 0;

    if (!c || !list || !n) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing cache or list result");
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->entries; e; e = e->next)
        if (!e->fetch)
            count++;
    v = vws_calloc(count ? count : 1, sizeof(*v));
    for (struct entry *e = c->entries; e; e = e->next)
        if (!e->fetch)
            v[i++] = e;
    /* insertion sort: the order depends on this cache's policy, which
     * qsort's comparator cannot see; a host caches tens of templates */
    for (size_t a = 1; a < count; a++)
        for (size_t b = a; b > 0 && evicts_before(c->policy, v[b], v[b - 1]);
             b--) {
            struct entry *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    out = vws_calloc(count ? count : 1, sizeof(*out));
    for (i = 0; i < count; i++) {
        memcpy(out[i].sha256, v[i]->sha256, sizeof(out[i].sha256));
        out[i].name = vws_strdup(v[i]->name);
        out[i].path = file_path(c, v[i]->sha256, "");
        out[i].size = v[i]->size;
        out[i].last_used = v[i]->last_used;
        out[i].uses = v[i]->uses;
        out[i].pins = v[i]->pins;
    }
    pthread_mutex_unlock(&c->lock);
    free(v);
    *list = out;
    *n = count;
    return 0;
}

void
vws_cache_entries_free(struct vws_cache_entry *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].path);
    }
    free(list);
}

bool
vws_cache_contains(struct vws_cache *c, const char *sha256)
{
    char sha[VWS_CACHE_SHA256_LEN + 1];
    struct entry *e;
    bool found;

    if (!c || !vws_cache_sha256_is_valid(sha256))
        return false;
    for (int i = 0; i <= VWS_CACHE_SHA256_LEN; i++)
        sha[i] = (sha256[i] >= 'A' && sha256[i] <= 'F')
                     ? (char)(sha256[i] - 'A' + 'a') : sha256[i];
    pthread_mutex_lock(&c->lock);
    e = find(c, sha);
    found = e && !e->fetch;
    pthread_mutex_unlock(&c->lock);
    return found;
}

int
vws_cache_pinned_instances(struct vws_cache *c, char ***list, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char **out = NULL;
    size_t count = 0, cap = 0;
    int rc;

    if (!c || !list || !n) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing cache or list result");
        return -1;
    }
    pthread_mutex_lock(&c->lock);
    if (sqlite3_prepare_v2(c->db, "SELECT DISTINCT instance FROM pins "
                           "ORDER BY instance", -1, &st, NULL) != SQLITE_OK) {
        vws_db_fail(&c->dbh, "cannot read pins");
        pthread_mutex_unlock(&c->lock);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            out = vws_reallocarray(out, cap, sizeof(*out));
        }
        out[count++] = vws_strdup(t ? t : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        vws_db_fail(&c->dbh, "cannot read pins");
        pthread_mutex_unlock(&c->lock);
        vws_cache_instances_free(out, count);
        return -1;
    }
    pthread_mutex_unlock(&c->lock);
    *list = out;
    *n = count;
    return 0;
}

void
vws_cache_instances_free(char **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void
vws_cache_get_stats(struct vws_cache *c, struct vws_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->limit_bytes = c->limit;
    out->used_bytes = c->used;
    out->pinned_bytes = pinned_bytes(c);
    out->policy = c->policy;
    for (struct entry *e = c->entries; e; e = e->next)
        if (!e->fetch)
            out->entries++;
    pthread_mutex_unlock(&c->lock);
}

/* ---- SHA-256 ---------------------------------------------------------- */

int
vws_cache_sha256_file(const char *path, char out[VWS_CACHE_SHA256_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    int fd, rc = -1;
    ssize_t got;

    if (!path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing file path");
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vws_report_system_error("cannot open '%s'", path);
        return -1;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = vws_malloc(HASH_BUFSIZE);
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        vws_report_error(VWS_ERR_INTERNAL, "cannot start SHA-256");
        goto cleanup;
    }
    /* each read advances toward EOF: the loop ends with the file */
    for (;;) {
        got = read(fd, buf, HASH_BUFSIZE);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            vws_report_system_error("cannot read '%s'", path);
            goto cleanup;
        }
        if (got == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
            vws_report_error(VWS_ERR_INTERNAL, "SHA-256 update failed");
            goto cleanup;
        }
    }
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
        vws_report_error(VWS_ERR_INTERNAL, "SHA-256 final failed");
        goto cleanup;
    }
    for (unsigned i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[VWS_CACHE_SHA256_LEN] = '\0';
    rc = 0;

cleanup:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}

int
vws_cache_verify_file(const char *path, const char *sha256)
{
    char want[VWS_CACHE_SHA256_LEN + 1], got[VWS_CACHE_SHA256_LEN + 1];

    if (check_sha(sha256, want) < 0 || vws_cache_sha256_file(path, got) < 0)
        return -1;
    if (strcmp(want, got) != 0) {
        vws_report_error(VWS_ERR_INVALID, "checksum mismatch for '%s': "
                         "expected %s, got %s", path, want, got);
        return -1;
    }
    return 0;
}
