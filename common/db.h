/*
 * db.h — SQLite the vws way, for every daemon's state (the Repository's
 * store, the Manager's cache index ...): one file, WAL mode with
 * synchronous=FULL (an acknowledged change survives a crash and a power
 * cut), foreign keys on, untrusted schema, a busy timeout, a
 * schema_version table filled by an ordered list of migrations applied at
 * open (a database from a newer vws is refused, naming both versions), and
 * a quick_check so a damaged file is refused at open rather than later.
 *
 * Errors name the database as "WHAT 'PATH'" (e.g. "store '/var/lib/vws/
 * repository.db'").  Not thread-safe: callers serialise use of one handle.
 */
#ifndef VWS_DB_H
#define VWS_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

/* Migration to VERSION: the SQL that turns version VERSION-1 into it. */
struct vws_db_migration {
    int version;
    const char *description;
    const char *sql;
};

struct vws_db_options {
    const char *what;                 /* "store", "cache index" */
    const struct vws_db_migration *migrations;   /* versions 1..N in order */
    size_t n_migrations;
    int busy_timeout_ms;
    bool private_file;                /* create the file 0600 (it holds keys) */
};

struct vws_db {
    sqlite3 *db;
    char *path;
    const char *what;
    int version;                      /* after open: the newest migration */
};

/* Open (creating) the database at PATH and bring its schema up to date.
 * 0, or -1 reported ("cannot open WHAT 'PATH': ...") with D closed. */
int vws_db_open(struct vws_db *d, const char *path, const struct vws_db_options *o);
/* Close; D can be opened again.  A closed or never-opened D is a no-op. */
void vws_db_close(struct vws_db *d);

/* Report the connection's last error as "WHAT 'PATH': DOING: message" and
 * return -1. */
int vws_db_fail(struct vws_db *d, const char *doing);
/* Run SQL (no rows); 0 or -1 reported. */
int vws_db_exec(struct vws_db *d, const char *sql, const char *doing);
int vws_db_begin(struct vws_db *d);        /* BEGIN IMMEDIATE */
int vws_db_commit(struct vws_db *d);
/* Roll back the open transaction, if any, after a failure that is already
 * reported: the report stays (a failed rollback is only logged). */
void vws_db_rollback(struct vws_db *d);

#endif /* VWS_DB_H */
