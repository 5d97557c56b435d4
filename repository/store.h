/*
 * store.h — the Repository's SQLite store: workspace resources, the image
 * pool and the network-address leases, in one database file.
 *
 * What it keeps
 *   workspaces  one row per WSRF workspace resource: its key (a UUID), owner,
 *               category, state (shutdown|paused|running|corrupted), where it
 *               lives (unstaged|staging|staged|unstaging) and on which host,
 *               times, description and deployment request (XML as validated
 *               by the caller), reservation, fault reason, the host that
 *               holds its check-out lock, and its own certificate and key.
 *   images      the image pool: templates by a safe name.  Whether an image
 *               is in use is DERIVED from the workspaces that name it (the
 *               workspaces.image column), never a counter that could drift.
 *   leases      network addresses of the pools (see netpool.h) held by
 *               workspaces; UNIQUE (pool, ip) and UNIQUE (mac) make it
 *               impossible for two workspaces to hold one address.
 *
 * Rules every function follows
 *   - Every mutation is one SQLite transaction (BEGIN IMMEDIATE ... COMMIT):
 *     the checks and the change see the same data, also when several
 *     processes share the file.  When a function returns 0 the transaction
 *     is committed, and with journal_mode=WAL and synchronous=FULL it is on
 *     disk: it survives kill -9 and a power cut.
 *   - Every change stamps last_modified (UTC, milliseconds since the epoch).
 *   - State and location changes are checked against one transition table
 *     (store.c); a refused operation fails with VWS_ERR_STATE and a message
 *     that says which states allow it, e.g.
 *       cannot checkout workspace 'K': it is staged on host 'H'; checkout
 *       needs it unstaged
 *   - Functions return 0 (or a count) on success and -1 after reporting the
 *     error once with vws_report_error(): VWS_ERR_NOT_FOUND ("no workspace
 *     'K'"), VWS_ERR_INVALID_ARG (a bad key, name, or a NULL where a value
 *     is needed), VWS_ERR_LIMIT (a description over VWS_STORE_MAX_XML),
 *     VWS_ERR_STATE, VWS_ERR_DENIED (not the lock holder), VWS_ERR_EXISTS,
 *     VWS_ERR_IO (SQLite failed: the message carries SQLite's).
 *   - Records returned are owned by the caller: vws_workspace_release() /
 *     vws_image_release() / vws_lease_release() free their contents and the
 *     *_list_free() functions free arrays of them.  Strings passed in are
 *     copied; nothing passed in is kept after the call.
 *
 * Threads and processes
 *   A struct vws_store is thread-safe: any thread may call any function on
 *   the same handle; calls are serialised on a mutex of the handle (one
 *   SQLite connection).  Several handles, in one process or several, may
 *   open the same file: SQLite's locks and a busy timeout
 *   (VWS_STORE_BUSY_TIMEOUT_MS) order their transactions.
 *
 * Times are int64_t milliseconds since 1970-01-01T00:00:00Z (UTC);
 * VWS_STORE_NEVER (0) for a termination time means "never".
 */
#ifndef VWS_STORE_H
#define VWS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/uuid.h"

struct vws_store;
struct vws_wsca;

/* Limits. */
#define VWS_STORE_MAX_XML          (1024 * 1024) /* description, deployment */
#define VWS_STORE_MAX_TEXT         4096   /* DN, host, reason, URL, ... */
#define VWS_STORE_MAX_SELECT       10000  /* rows one select may return */
#define VWS_STORE_BUSY_TIMEOUT_MS  10000
#define VWS_STORE_NEVER            0      /* termination time: never */
/* The schema version this code writes; databases of a higher version are
 * refused, lower ones are migrated at open. */
#define VWS_STORE_SCHEMA_VERSION   2

/* ---- workspace states ------------------------------------------------- */

enum vws_ws_state {
    VWS_WS_SHUTDOWN = 0,    /* "cold": no processes */
    VWS_WS_PAUSED,          /* "hot": saved memory state */
    VWS_WS_RUNNING,         /* deployed and running on a host */
    VWS_WS_CORRUPTED,       /* cannot be deployed; fault_reason says why */
    VWS_WS_N_STATES
};

enum vws_ws_location {
    VWS_LOC_UNSTAGED = 0,   /* in the repository only */
    VWS_LOC_STAGING,        /* checked out; the host is copying it */
    VWS_LOC_STAGED,         /* on a host, checked out and locked */
    VWS_LOC_UNSTAGING,      /* the host is copying it back */
    VWS_LOC_N
};

/* The operations of the transition table (vws_store_allowed()). */
enum vws_ws_op {
    VWS_OP_REFINE = 0,      /* replace the description */
    VWS_OP_CHECKOUT,        /* a host takes the lock: unstaged -> staging */
    VWS_OP_STAGED,          /* holder reports staging -> staged */
    VWS_OP_UNSTAGE,         /* holder reports staged -> unstaging */
    VWS_OP_RELEASE,         /* holder gives the lock back: -> unstaged */
    VWS_OP_START,           /* holder reports running */
    VWS_OP_PAUSE,           /* holder reports paused */
    VWS_OP_SHUTDOWN,        /* holder reports shutdown */
    VWS_OP_CORRUPT,         /* holder or service: corrupted with a reason */
    VWS_OP_CLONE,           /* copy the description into a new workspace */
    VWS_OP_SET_TERMINATION, /* change the scheduled termination time */
    VWS_OP_DESTROY,         /* remove it (lock and leases go with it) */
    VWS_OP_N
};

/* "shutdown", "staged", "checkout", ... (static strings); "unknown" for
 * values out of range. */
const char *vws_ws_state_name(enum vws_ws_state s);
const char *vws_ws_location_name(enum vws_ws_location l);
const char *vws_ws_op_name(enum vws_ws_op op);
/* Parse a state or location name; -1 (no error reported) if unknown. */
int vws_ws_state_parse(const char *name);
int vws_ws_location_parse(const char *name);

/* Whether the table allows OP on a workspace in STATE at LOCATION.  Pure:
 * touches no database, reports nothing.  (The lock-holder rule is separate:
 * see the functions that take a host.) */
bool vws_store_allowed(enum vws_ws_op op, enum vws_ws_state state,
                       enum vws_ws_location location);

/* ---- records ---------------------------------------------------------- */

struct vws_workspace {
    char key[VWS_UUID_BUFSIZE];
    char *owner;              /* DN of the creator (Globus form) */
    char *category;           /* "vm", "dynamic-account" */
    enum vws_ws_state state;
    enum vws_ws_location location;
    char *host;               /* host DN it is on, or NULL */
    int64_t creation_time;    /* ms */
    int64_t termination_time; /* ms, or VWS_STORE_NEVER */
    char *lifecycle;          /* xs:duration as given, or NULL */
    int64_t last_modified;    /* ms */
    char *description;        /* workspace description XML */
    char *deployment;         /* deployment request XML, or NULL */
    char *reservation;        /* reservation / agreement id, or NULL */
    char *fault_reason;       /* why it is corrupted, or NULL */
    char *lock_holder;        /* host DN that checked it out, or NULL */
    char *image;              /* name of the pool image it uses, or NULL */
    char *cert_pem;           /* its certificate (PEM), or NULL */
    char *key_pem;            /* its private key (PEM, unencrypted), or NULL */
};

/* Zero a record (no allocation). */
void vws_workspace_init(struct vws_workspace *ws);
/* Free a record's contents; it is then as after vws_workspace_init(). */
void vws_workspace_release(struct vws_workspace *ws);
/* Release N records and free the array (NULL is fine). */
void vws_workspace_list_free(struct vws_workspace *list, size_t n);

/* What register needs.  Only owner, category and description are required;
 * every pointer is borrowed for the call. */
struct vws_workspace_spec {
    const char *key;              /* a UUID to use, or NULL for a new one */
    const char *owner;
    const char *category;
    const char *description;      /* at most VWS_STORE_MAX_XML bytes */
    const char *deployment;       /* or NULL */
    const char *reservation;      /* or NULL */
    const char *lifecycle;        /* xs:duration, or NULL */
    const char *image;            /* pool image name, or NULL (must exist) */
    const char *hostname;         /* DNS name for the credential, or NULL */
    int64_t termination_time;     /* ms, or VWS_STORE_NEVER */
    /* A credential made by the caller; when both are NULL and the store
     * has a workspace CA (options.wsca) one is issued at register. */
    const char *cert_pem;
    const char *key_pem;
};

struct vws_image {
    char *name;            /* [A-Za-z0-9][A-Za-z0-9._+-]{0,127} */
    char *format;          /* "raw", "qcow2", "kernel+initrd" */
    char *location;        /* URL of the disk (or kernel) */
    uint64_t size;         /* bytes, 1..1 TiB */
    char *sha256;          /* 64 lowercase hex digits */
    char *initrd_location; /* kernel+initrd only, else NULL */
    uint64_t initrd_size;
    char *initrd_sha256;
    char *cmdline;         /* kernel command line, or NULL */
    char *description;     /* free text, or NULL */
    int64_t created;       /* ms; set by the store at register */
    uint64_t in_use;       /* workspaces naming it; computed when read */
};

void vws_image_init(struct vws_image *img);
void vws_image_release(struct vws_image *img);
void vws_image_list_free(struct vws_image *list, size_t n);
/* Whether NAME is a safe pool or image name (see struct vws_image). */
bool vws_store_name_is_valid(const char *name);

struct vws_lease {
    char *pool;
    char workspace[VWS_UUID_BUFSIZE];
    char *hostname;
    char *ip;
    char *mac;             /* "52:54:00:.." when generated */
    char *netmask;
    char *gateway;         /* or NULL */
    char *broadcast;       /* or NULL */
    char *dns;             /* or NULL */
    int64_t leased;        /* ms */
};

void vws_lease_init(struct vws_lease *l);
void vws_lease_release(struct vws_lease *l);
void vws_lease_list_free(struct vws_lease *list, size_t n);

/* ---- opening ---------------------------------------------------------- */

struct vws_store_options {
    /* Issues credentials at register and clone; borrowed, must outlive the
     * store.  NULL: the caller passes them in the spec (or there are none). */
    struct vws_wsca *wsca;
    /* Longest credential validity in seconds (0: 1 year).  A workspace that
     * never terminates gets this much. */
    int64_t max_credential_seconds;
};

/* Open (creating if needed, mode 0600) the database at PATH and bring its
 * schema up to VWS_STORE_SCHEMA_VERSION, applying the migrations in order
 * in one transaction.  Refused: a file that is not an SQLite database
 * (VWS_ERR_IO: "cannot open store 'P': file is not a database"), a schema
 * newer than this code (VWS_ERR_UNSUPPORTED naming both versions).
 * OPTS may be NULL.  Returns the handle or NULL. */
struct vws_store *vws_store_open(const char *path,
                                 const struct vws_store_options *opts);
/* Close; NULL is fine.  No call may be running on STORE. */
void vws_store_close(struct vws_store *store);
/* The schema version of the open database (after migration). */
int vws_store_schema_version(struct vws_store *store);

/* ---- workspaces ------------------------------------------------------- */

/* Register a new workspace: state shutdown, location unstaged, creation
 * and last_modified now.  With OUT non-NULL the stored record is returned
 * there (release it).  VWS_ERR_EXISTS if SPEC->key is taken. */
int vws_store_register(struct vws_store *store,
                       const struct vws_workspace_spec *spec,
                       struct vws_workspace *out);

/* The record of KEY into OUT (release it).  VWS_ERR_NOT_FOUND. */
int vws_store_get(struct vws_store *store, const char *key,
                  struct vws_workspace *out);

/* Select: every field set narrows; NULL / -1 means any. */
struct vws_workspace_filter {
    const char *owner;
    const char *category;
    const char *host;
    int state;                /* enum vws_ws_state, or -1 */
    int location;             /* enum vws_ws_location, or -1 */
    size_t limit;             /* 0 or > VWS_STORE_MAX_SELECT: the maximum */
    bool full;                /* also description, deployment, credential */
};
#define VWS_WORKSPACE_FILTER_INIT { NULL, NULL, NULL, -1, -1, 0, false }

/* Matching workspaces, oldest first, into a new array *OUT of *N records
 * (vws_workspace_list_free() it).  Without FILTER->full the large fields
 * (description, deployment, cert_pem, key_pem) are NULL. */
int vws_store_select(struct vws_store *store,
                     const struct vws_workspace_filter *filter,
                     struct vws_workspace **out, size_t *n);

/* Change the scheduled termination time (ms, or VWS_STORE_NEVER). */
int vws_store_set_termination(struct vws_store *store, const char *key,
                              int64_t termination_time);

/* Replace the description (refine); where the table allows it. */
int vws_store_refine(struct vws_store *store, const char *key,
                     const char *description);

/* Clone KEY: a new workspace (new key, written to NEW_KEY) owned by OWNER
 * with the description, deployment request, category, lifecycle and image
 * copied; a new credential when the store has a workspace CA; state
 * shutdown, unstaged, no termination time unless TERMINATION_TIME is set.
 * OUT as for register. */
int vws_store_clone(struct vws_store *store, const char *key,
                    const char *owner, int64_t termination_time,
                    char new_key[VWS_UUID_BUFSIZE], struct vws_workspace *out);

/* Destroy KEY with its lock and its leases, in one transaction.  Always
 * allowed (WSRF Destroy; an admin trashes a corrupted one this way); with
 * WAS non-NULL the record as it was is returned, so the caller can tell
 * the host it was on (was->lock_holder). */
int vws_store_destroy(struct vws_store *store, const char *key,
                      struct vws_workspace *was);

/* Check KEY out to HOST (a host DN): takes the lock, unstaged -> staging.
 * OUT (may be NULL) gets the record after the change. */
int vws_store_checkout(struct vws_store *store, const char *key,
                       const char *host, struct vws_workspace *out);

/* HOST gives the lock back: -> unstaged, host and lock cleared, the
 * workspace's leases released, all in one transaction.  HOST NULL is an
 * admin's forced release (no holder check).  VWS_ERR_DENIED if HOST does
 * not hold the lock. */
int vws_store_release(struct vws_store *store, const char *key,
                      const char *host);

/* The lock holder HOST reports where the workspace is: VWS_LOC_STAGED
 * (after staging) or VWS_LOC_UNSTAGING (before release).  Reporting the
 * current location again changes nothing and returns 0. */
int vws_store_report_location(struct vws_store *store, const char *key,
                              const char *host,
                              enum vws_ws_location location);

/* The lock holder HOST reports a state.  VWS_WS_CORRUPTED needs a REASON
 * (kept as fault_reason); other states clear the fault reason.  Reporting
 * the current state again changes nothing and returns 0. */
int vws_store_report_state(struct vws_store *store, const char *key,
                           const char *host, enum vws_ws_state state,
                           const char *reason);

/* The service marks KEY corrupted with REASON (no lock needed). */
int vws_store_mark_corrupted(struct vws_store *store, const char *key,
                             const char *reason);

/* Destroy every workspace whose termination time is set and before NOW_MS
 * (as vws_store_destroy(), each in its own transaction).  Returns how many
 * were destroyed, or -1.  With WAS non-NULL, *WAS gets a new array of the
 * destroyed records (*N_WAS of them) so the caller can notify their hosts;
 * free it with vws_workspace_list_free(). */
int vws_store_sweep_expired(struct vws_store *store, int64_t now_ms,
                            struct vws_workspace **was, size_t *n_was);

/* ---- the image pool --------------------------------------------------- */

/* Register IMG (name checked; format one of the three; sha256 64 hex
 * digits; kernel+initrd needs the initrd fields, other formats refuse
 * them).  IMG->created and in_use are ignored.  VWS_ERR_EXISTS. */
int vws_store_image_register(struct vws_store *store,
                             const struct vws_image *img);
int vws_store_image_get(struct vws_store *store, const char *name,
                        struct vws_image *out);
/* All images by name (at most VWS_STORE_MAX_SELECT). */
int vws_store_image_list(struct vws_store *store, struct vws_image **out,
                         size_t *n);
/* Remove NAME; refused while a workspace uses it (VWS_ERR_STATE, the
 * message names one of them and how many). */
int vws_store_image_remove(struct vws_store *store, const char *name);

/* ---- address leases (used through netpool.h) ------------------------- */

/* Lease one of CANDIDATES (entries of pool POOL, in order) to workspace
 * KEY, in one transaction: the first whose IP is not leased in POOL (and
 * whose MAC, if set, is not leased anywhere).  A candidate without a MAC
 * gets a new unique 52:54:00:xx:xx:xx.  If KEY already holds a lease in
 * POOL that one is returned (retrying a checkout is safe).  OUT gets the
 * lease.  VWS_ERR_LIMIT "pool 'P' has no free address (N of N leased)"
 * when every candidate is taken; VWS_ERR_NOT_FOUND if KEY is not a
 * workspace.  Candidates' pool and workspace fields are ignored. */
int vws_store_lease_take(struct vws_store *store, const char *pool,
                         const char *key, const struct vws_lease *candidates,
                         size_t n_candidates, struct vws_lease *out);
/* The lease KEY holds in POOL.  VWS_ERR_NOT_FOUND. */
int vws_store_lease_get(struct vws_store *store, const char *pool,
                        const char *key, struct vws_lease *out);
/* Leases, narrowed by POOL and KEY when non-NULL, by pool then IP. */
int vws_store_lease_list(struct vws_store *store, const char *pool,
                         const char *key, struct vws_lease **out, size_t *n);
/* Release every lease of KEY; returns how many, or -1. */
int vws_store_lease_release(struct vws_store *store, const char *key);

#endif /* VWS_STORE_H */
