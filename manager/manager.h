/*
 * manager.h — the Manager's work on one VMM host, below the SOAP edge:
 * instances of workspaces, their life on this host and their records.
 *
 * An instance is a workspace deployed here.  Its life:
 *
 *   deploy    check the workspace out of the Repository (the lock, the
 *             template, the bound metadata), then in the background (or at
 *             once with WAIT) stage the template into the host's template
 *             cache (GridFTP or file://, SHA-256 verified, one transfer per
 *             template however many deploys want it), make the instance
 *             (a qcow2 overlay on the cached disk, or the cached kernel and
 *             initrd; a config-drive ISO with the metadata and the
 *             workspace credential; the metadata also on the kernel command
 *             line), define the libvirt domain, report "staged".
 *             phase: staging -> staged (or failed, with the reason)
 *   start, stop, pause, unpause, serialize   drive the domain; serialize
 *             saves the memory state (a "hot" instance: start resumes it).
 *   undeploy  stop the domain, optionally put the instance (and its saved
 *             state) to a save target, remove the domain and the files,
 *             unpin the templates, release the lock.  The record goes.
 *
 * Every change is reported to the Repository (state and location) and
 * written to the records (SQLite, state_dir/manager.db) before the call
 * returns.  At open the records are reconciled with libvirt and the disk:
 * a deploy or undeploy that was interrupted (the Manager was killed) is
 * rolled back and the lock released; a record whose domain vanished is
 * reported corrupted; a "vws-" domain or an instance directory without a
 * record (an orphan) is removed; cache pins of instances without a record
 * are dropped.  So libvirt holds exactly the domains of the records.
 *
 * One operation at a time per workspace: a second call while one runs is
 * refused with VWS_ERR_STATE ("busy").  Calls are thread-safe.  Each
 * returns 0 or -1 with one error reported.
 */
#ifndef VWS_MANAGER_MANAGER_H
#define VWS_MANAGER_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager/cache.h"

struct vws_repoclient;

enum vws_mgr_phase {
    VWS_MGR_STAGING = 0,
    VWS_MGR_STAGED,
    VWS_MGR_UNSTAGING,
    VWS_MGR_UNSTAGED,       /* only in answers: the record is gone */
    VWS_MGR_FAILED,         /* the deploy failed: reason says why */
    VWS_MGR_N_PHASES
};
const char *vws_mgr_phase_name(enum vws_mgr_phase p);

/* Workspace states as the Repository knows them (vws__StateType). */
enum vws_mgr_state {
    VWS_MGR_SHUTDOWN = 0,
    VWS_MGR_PAUSED,
    VWS_MGR_RUNNING,
    VWS_MGR_CORRUPTED,
};

struct vws_manager_options {
    const char *vmm_uri;            /* libvirt URI */
    const char *vmm_faults;         /* tests: fault rules "op:nth[:msg]" joined by ','; NULL */
    const char *state_dir;          /* manager.db and instances/ */
    const char *cache_dir;
    uint64_t cache_mb;
    enum vws_cache_policy cache_policy;
    const char *nic_mode;           /* "user", "none", "network:NAME", "bridge:NAME" */
    bool kvm;
    unsigned shutdown_timeout_ms;   /* graceful stop before destroy */
    unsigned transfer_retries;
    /* GridFTP credential (the host's) and trust */
    const char *cert_dir, *cert_file, *key_file;
    struct vws_repoclient *repo;    /* borrowed; outlives the manager */
};

struct vws_manager;

/* Open the VMM, the cache and the records, and reconcile (above).  NULL
 * with an error reported. */
struct vws_manager *vws_manager_open(const struct vws_manager_options *o);
/* Wait for background deploys, close everything.  NULL: no-op. */
void vws_manager_close(struct vws_manager *m);

/* An instance as the answers show it (strings owned by the struct). */
struct vws_mgr_status {
    char key[37];
    char *owner;
    enum vws_mgr_phase phase;
    enum vws_mgr_state state;
    char *vm_state;                 /* libvirt's, or NULL */
    char *domain;
    char *template_name;
    int cache_outcome;              /* enum vws_cache_outcome, or -1 */
    uint64_t bytes_done, bytes_total;
    bool hot;
    char *console_log;
    char *reason;
    int64_t last_modified;          /* ms */
};
void vws_mgr_status_release(struct vws_mgr_status *s);

/* Whether the caller may act on a workspace of OWNER (the service's ACL
 * decision): 1 yes, 0 no. */
typedef int (*vws_mgr_authorize_fn)(void *arg, const char *owner);

/* Deploy workspace KEY (see above) if AUTHORIZE says the caller may (else
 * VWS_ERR_NOT_FOUND, exactly as for an unknown key).  RESTORE_FROM: a
 * directory URL holding a saved instance (disk.qcow2, state.save) to resume
 * instead of a fresh instance, or NULL.  WAIT: return when staged or
 * failed (a failure is then this call's error); else return while staging.
 * OUT gets the status. */
int vws_manager_deploy(struct vws_manager *m, const char *key,
                       vws_mgr_authorize_fn authorize, void *arg,
                       const char *restore_from, bool wait,
                       struct vws_mgr_status *out);

enum vws_mgr_op {
    VWS_MGR_OP_START = 0,
    VWS_MGR_OP_STOP,
    VWS_MGR_OP_PAUSE,
    VWS_MGR_OP_UNPAUSE,
    VWS_MGR_OP_SERIALIZE,
    VWS_MGR_OP_STATUS,
    VWS_MGR_N_OPS
};

/* Do OP on the instance of KEY (VWS_ERR_NOT_FOUND when there is none here
 * or AUTHORIZE refuses); STOP waits up to TIMEOUT_MS (0: the default) for
 * the guest before it is destroyed.  OUT gets the status after. */
int vws_manager_op(struct vws_manager *m, const char *key, enum vws_mgr_op op,
                   vws_mgr_authorize_fn authorize, void *arg,
                   unsigned timeout_ms, struct vws_mgr_status *out);

/* Undeploy (see above).  SAVE_TARGET: a directory URL to put disk.qcow2
 * and state.save to, or NULL.  OUT gets the last status (phase
 * unstaged). */
int vws_manager_undeploy(struct vws_manager *m, const char *key,
                         vws_mgr_authorize_fn authorize, void *arg,
                         const char *save_target, struct vws_mgr_status *out);

/* Every instance (failed ones included): a new array, freed with
 * vws_mgr_status_list_free(). */
int vws_manager_list(struct vws_manager *m, struct vws_mgr_status **list, size_t *n);
void vws_mgr_status_list_free(struct vws_mgr_status *list, size_t n);

/* The metadata bound into KEY's instance, as an <instanceMetadata>
 * document without the private key (new string), if AUTHORIZE allows. */
char *vws_manager_metadata(struct vws_manager *m, const char *key,
                           vws_mgr_authorize_fn authorize, void *arg);

struct vws_cache *vws_manager_cache(struct vws_manager *m);
const char *vws_manager_vmm_uri(struct vws_manager *m);
/* The VMM connection (tests: fault injection). */
struct vws_vmm_conn *vws_manager_vmm(struct vws_manager *m);

#endif /* VWS_MANAGER_MANAGER_H */
