/*
 * db.c — SQLite the vws way (see db.h).
 */
#define VWS_MODULE "db"
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "xstime.h"
#include "internal.h"

int
vws_db_fail(struct vws_db *d, const char *doing)
{
    vws_report_error(VWS_ERR_IO, "%s '%s': %s: %s", d->what, d->path, doing,
                     sqlite3_errmsg(d->db));
    return -1;
}

int
vws_db_exec(struct vws_db *d, const char *sql, const char *doing)
{
    char *msg = NULL;

    if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vws_report_error(VWS_ERR_IO, "%s '%s': %s: %s", d->what, d->path, doing,
                         msg ? msg : sqlite3_errmsg(d->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int
vws_db_begin(struct vws_db *d)
{
    return vws_db_exec(d, "BEGIN IMMEDIATE", "cannot begin a transaction");
}

int
vws_db_commit(struct vws_db *d)
{
    return vws_db_exec(d, "COMMIT", "cannot commit");
}

void
vws_db_rollback(struct vws_db *d)
{
    if (sqlite3_get_autocommit(d->db))
        return;
    if (sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        VWS_WARN("%s '%s': rollback failed: %s", d->what, d->path, sqlite3_errmsg(d->db));
}

static int
open_fail(struct vws_db *d)
{
    vws_report_error(VWS_ERR_IO, "cannot open %s '%s': %s", d->what, d->path,
                     d->db ? sqlite3_errmsg(d->db) : "out of memory");
    return -1;
}

/* A PRAGMA whose one-row answer must be EXPECT (NULL: any). */
static int
pragma(struct vws_db *d, const char *sql, const char *expect)
{
    sqlite3_stmt *st = NULL;
    const char *got;
    int rc;

    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
            if (expect && (!got || strcmp(got, expect) != 0)) {
                vws_report_error(VWS_ERR_IO, "cannot open %s '%s': '%s' gave '%s', not '%s'",
                                 d->what, d->path, sql, got ? got : "nothing", expect);
                sqlite3_finalize(st);
                return -1;
            }
            sqlite3_finalize(st);
            return 0;
        }
    }
    sqlite3_finalize(st);
    return open_fail(d);
}

/* The schema version of the file: 0 for a new one, -1 reported. */
static int
read_version(struct vws_db *d)
{
    sqlite3_stmt *st = NULL;
    int version = -1, exists = 0, tables = 0;

    if (sqlite3_prepare_v2(d->db, "SELECT count(*), coalesce(sum(name = 'schema_version'), 0) "
                           "FROM sqlite_master WHERE type='table'",
                           -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    tables = sqlite3_column_int(st, 0);
    exists = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (!exists) {
        if (tables == 0)
            return 0;    /* a new file */
        vws_report_error(VWS_ERR_INVALID, "cannot open %s '%s': it is an SQLite database "
                         "but not a vws %s (no schema_version table)", d->what, d->path, d->what);
        return -1;
    }
    if (sqlite3_prepare_v2(d->db, "SELECT coalesce(max(version), 0) FROM schema_version",
                           -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;

 fail:
    sqlite3_finalize(st);
    return open_fail(d);
}

static int
migrate(struct vws_db *d, const struct vws_db_options *o)
{
    int known = (int)o->n_migrations, version;

    if (vws_db_begin(d) < 0)
        return -1;
    if ((version = read_version(d)) < 0)
        goto fail;
    if (version > known) {
        vws_report_error(VWS_ERR_UNSUPPORTED,
                         "cannot open %s '%s': its schema version is %d, this vws knows "
                         "versions 1 to %d (a newer vws made it)", d->what, d->path,
                         version, known);
        goto fail;
    }
    for (size_t i = 0; i < o->n_migrations; i++) {
        const struct vws_db_migration *m = &o->migrations[i];
        sqlite3_stmt *st = NULL;
        char *doing;
        int rc;

        if (m->version <= version)
            continue;
        doing = vws_asprintf("cannot migrate to schema version %d", m->version);
        rc = vws_db_exec(d, m->sql, doing);
        free(doing);
        if (rc < 0)
            goto fail;
        if (sqlite3_prepare_v2(d->db, "INSERT INTO schema_version (version, applied, "
                               "description) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
            vws_db_fail(d, "cannot record the schema version");
            goto fail;
        }
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_int64(st, 2, vws_time_now_ms());
        sqlite3_bind_text(st, 3, m->description, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            vws_db_fail(d, "cannot record the schema version");
            goto fail;
        }
        if (version > 0)
            VWS_INFO("%s '%s': migrated to schema version %d (%s)", d->what, d->path,
                     m->version, m->description);
    }
    if (vws_db_commit(d) < 0)
        goto fail;
    d->version = known;
    return 0;

 fail:
    vws_db_rollback(d);
    return -1;
}

int
vws_db_open(struct vws_db *d, const char *path, const struct vws_db_options *o)
{
    memset(d, 0, sizeof(*d));
    d->what = o->what;
    if (!path || !*path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing %s path", o->what);
        return -1;
    }
    d->path = vws_strdup(path);
    if (o->private_file) {
        /* create it 0600 ourselves before SQLite does it with the umask */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            vws_report_system_error("cannot open %s '%s'", o->what, path);
            goto fail;
        }
        close(fd);
    }
    if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL) != SQLITE_OK) {
        open_fail(d);
        goto fail;
    }
    sqlite3_busy_timeout(d->db, o->busy_timeout_ms);
    if (pragma(d, "PRAGMA journal_mode=WAL", "wal") < 0 ||
        pragma(d, "PRAGMA synchronous=FULL", NULL) < 0 ||
        pragma(d, "PRAGMA foreign_keys=ON", NULL) < 0 ||
        pragma(d, "PRAGMA trusted_schema=OFF", NULL) < 0 ||
        migrate(d, o) < 0 ||
        /* a file that is garbage past its header shows here, not later */
        pragma(d, "PRAGMA quick_check", "ok") < 0)
        goto fail;
    return 0;

 fail:
    vws_db_close(d);
    return -1;
}

void
vws_db_close(struct vws_db *d)
{
    if (d->db && sqlite3_close(d->db) != SQLITE_OK)
        VWS_WARN("%s '%s': close: %s", d->what, d->path, sqlite3_errmsg(d->db));
    d->db = NULL;
    free(d->path);
    d->path = NULL;
}
