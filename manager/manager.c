/*
 * manager.c — instances on one VMM host (manager.h).
 *
 * Memory: one list of struct inst under m->lock; an operation marks its
 * instance busy under the lock, works without it (transfers, libvirt, the
 * Repository), and writes the outcome under it.  Records: SQLite, one row
 * per instance, written on every change (write-through).
 */
#define VWS_MODULE "manager"
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "soapH.h"

#include "db.h"
#include "document.h"
#include "strbuf.h"
#include "util.h"
#include "uuid.h"
#include "xstime.h"
#include "common/gridftp.h"
#include "manager/cache.h"
#include "manager/instance.h"
#include "manager/manager.h"
#include "manager/repoclient.h"
#include "manager/vmm.h"
#include "internal.h"

#define LOC_UNSTAGED 0
#define LOC_STAGING 1
#define LOC_STAGED 2
#define LOC_UNSTAGING 3

static const char *const phase_names[VWS_MGR_N_PHASES] = {
    "staging", "staged", "unstaging", "unstaged", "failed"
};

const char *
vws_mgr_phase_name(enum vws_mgr_phase p)
{
    return (unsigned)p < VWS_MGR_N_PHASES ? phase_names[p] : "unknown";
}

static const char *const state_names[] = { "shutdown", "paused", "running", "corrupted" };

struct inst {
    struct inst *next;
    char key[VWS_UUID_BUFSIZE];
    char *owner;
    enum vws_mgr_phase phase;
    enum vws_mgr_state state;
    char *domain;
    char *template_name;
    char *format;                   /* raw, qcow2, kernel+initrd */
    bool hot;                       /* state.save exists */
    char *reason;
    char *metadata;                 /* <instanceMetadata> without the key */
    int64_t modified;
    /* not stored */
    bool busy;
    int cache_outcome;
    uint64_t bytes_done, bytes_total;
};

struct vws_manager {
    pthread_mutex_t lock;
    pthread_cond_t idle;            /* a background deploy finished */
    unsigned deploys;               /* background deploys running */
    struct inst *list;
    struct vws_db dbh;
    struct vws_vmm_conn *vmm;
    struct vws_cache *cache;
    struct vws_repoclient *repo;
    char *instances_dir;
    char *nic_mode;
    bool kvm;
    unsigned shutdown_timeout_ms;
    struct vws_transfer_options xfer;
    char *cert_dir, *cert_file, *key_file;
};

/* ---- records ---------------------------------------------------------- */

static const struct vws_db_migration migrations[] = {
    { 1, "instances",
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
      " applied INTEGER NOT NULL, description TEXT NOT NULL);"
      "CREATE TABLE instances ("
      " key TEXT PRIMARY KEY, owner TEXT NOT NULL, phase INTEGER NOT NULL,"
      " state INTEGER NOT NULL, domain TEXT, template TEXT, format TEXT,"
      " hot INTEGER NOT NULL DEFAULT 0, reason TEXT, metadata TEXT,"
      " modified INTEGER NOT NULL);" },
};

static int
record_save(struct vws_manager *m, const struct inst *i)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(m->dbh.db,
            "INSERT OR REPLACE INTO instances (key, owner, phase, state, domain, template,"
            " format, hot, reason, metadata, modified) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            -1, &st, NULL) != SQLITE_OK)
        return vws_db_fail(&m->dbh, "saving an instance");
    sqlite3_bind_text(st, 1, i->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, i->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)i->phase);
    sqlite3_bind_int(st, 4, (int)i->state);
    sqlite3_bind_text(st, 5, i->domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, i->template_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, i->format, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, i->hot);
    sqlite3_bind_text(st, 9, i->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, i->metadata, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, i->modified);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return vws_db_fail(&m->dbh, "saving an instance");
    return 0;
}

static int
record_delete(struct vws_manager *m, const char *key)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(m->dbh.db, "DELETE FROM instances WHERE key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return vws_db_fail(&m->dbh, "removing an instance");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : vws_db_fail(&m->dbh, "removing an instance");
}

static char *
col_text(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? vws_strdup((const char *)t) : NULL;
}

static int
records_load(struct vws_manager *m)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_prepare_v2(m->dbh.db, "SELECT key, owner, phase, state, domain, template,"
                           " format, hot, reason, metadata, modified FROM instances"
                           " ORDER BY key", -1, &st, NULL) != SQLITE_OK)
        return vws_db_fail(&m->dbh, "reading the instances");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct inst *i = vws_calloc(1, sizeof(*i));
        const unsigned char *k = sqlite3_column_text(st, 0);

        vws_strlcpy(i->key, k ? (const char *)k : "", sizeof(i->key));
        i->owner = col_text(st, 1);
        i->phase = (enum vws_mgr_phase)sqlite3_column_int(st, 2);
        i->state = (enum vws_mgr_state)sqlite3_column_int(st, 3);
        i->domain = col_text(st, 4);
        i->template_name = col_text(st, 5);
        i->format = col_text(st, 6);
        i->hot = sqlite3_column_int(st, 7) != 0;
        i->reason = col_text(st, 8);
        i->metadata = col_text(st, 9);
        i->modified = sqlite3_column_int64(st, 10);
        i->cache_outcome = -1;
        if (!i->owner)
            i->owner = vws_strdup("");
        i->next = m->list;
        m->list = i;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : vws_db_fail(&m->dbh, "reading the instances");
}

static void
inst_free(struct inst *i)
{
    if (!i)
        return;
    free(i->owner);
    free(i->domain);
    free(i->template_name);
    free(i->format);
    free(i->reason);
    free(i->metadata);
    free(i);
}

static struct inst *
find(struct vws_manager *m, const char *key)
{
    for (struct inst *i = m->list; i; i = i->next)
        if (strcmp(i->key, key) == 0)
            return i;
    return NULL;
}

static void
unlink_inst(struct vws_manager *m, struct inst *victim)
{
    for (struct inst **p = &m->list; *p; p = &(*p)->next) {
        if (*p == victim) {
            *p = victim->next;
            return;
        }
    }
}

static void
set_reason(struct inst *i, const char *reason)
{
    free(i->reason);
    i->reason = reason ? vws_strdup(reason) : NULL;
}

/* Write I (under the lock); a failure is logged: the change happened. */
static void
touch(struct vws_manager *m, struct inst *i)
{
    i->modified = vws_time_now_ms();
    if (record_save(m, i) < 0)
        VWS_ERROR("%s", vws_error_message());
}

/* ---- paths ------------------------------------------------------------ */

static char *
inst_path(const struct vws_manager *m, const char *key, const char *file)
{
    return vws_asprintf("%s/%s/%s", m->instances_dir, key, file);
}

static bool
file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- status ----------------------------------------------------------- */

static void
status_fill(struct vws_manager *m, const struct inst *i, struct vws_mgr_status *s)
{
    memset(s, 0, sizeof(*s));
    vws_strlcpy(s->key, i->key, sizeof(s->key));
    s->owner = vws_strdup(i->owner);
    s->phase = i->phase;
    s->state = i->state;
    s->domain = i->domain ? vws_strdup(i->domain) : NULL;
    s->template_name = i->template_name ? vws_strdup(i->template_name) : NULL;
    s->cache_outcome = i->cache_outcome;
    s->bytes_done = i->bytes_done;
    s->bytes_total = i->bytes_total;
    s->hot = i->hot;
    s->reason = i->reason ? vws_strdup(i->reason) : NULL;
    s->last_modified = i->modified;
    if (i->phase == VWS_MGR_STAGED || i->phase == VWS_MGR_UNSTAGING)
        s->console_log = inst_path(m, i->key, "console.log");
}

/* libvirt's state of I's domain into S (without the lock: a libvirt call). */
static void
status_vm(struct vws_manager *m, struct vws_mgr_status *s)
{
    struct vws_vmm_domain *dom;
    enum vws_vmm_state vs;

    if (!s->domain || (s->phase != VWS_MGR_STAGED && s->phase != VWS_MGR_UNSTAGING))
        return;
    if (!(dom = vws_vmm_lookup(m->vmm, s->domain)))
        return;
    if (vws_vmm_state(dom, &vs) == 0)
        s->vm_state = vws_strdup(vws_vmm_state_name(vs));
    vws_vmm_domain_free(dom);
}

void
vws_mgr_status_release(struct vws_mgr_status *s)
{
    free(s->owner);
    free(s->vm_state);
    free(s->domain);
    free(s->template_name);
    free(s->console_log);
    free(s->reason);
    memset(s, 0, sizeof(*s));
}

void
vws_mgr_status_list_free(struct vws_mgr_status *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vws_mgr_status_release(&list[i]);
    free(list);
}

static int
not_here(const char *key)
{
    vws_report_error(VWS_ERR_NOT_FOUND, "no such workspace '%s' on this host", key);
    return -1;
}

/* Take KEY's instance for an operation: it must exist, be visible to the
 * caller and not be busy.  Returns it marked busy, or NULL reported. */
static struct inst *
take(struct vws_manager *m, const char *key, vws_mgr_authorize_fn authorize,
     void *arg, const char *doing)
{
    struct inst *i;
    char *owner;

    pthread_mutex_lock(&m->lock);
    i = find(m, key);
    owner = i ? vws_strdup(i->owner) : NULL;
    pthread_mutex_unlock(&m->lock);
    if (!i || (authorize && !authorize(arg, owner))) {
        free(owner);
        not_here(key);
        return NULL;
    }
    free(owner);
    pthread_mutex_lock(&m->lock);
    if (!(i = find(m, key))) {
        pthread_mutex_unlock(&m->lock);
        not_here(key);
        return NULL;
    }
    if (i->busy) {
        pthread_mutex_unlock(&m->lock);
        vws_report_error(VWS_ERR_STATE, "cannot %s workspace '%s': another operation "
                         "on it is in progress", doing, key);
        return NULL;
    }
    i->busy = true;
    pthread_mutex_unlock(&m->lock);
    return i;
}

static void
give_back(struct vws_manager *m, struct inst *i, struct vws_mgr_status *out)
{
    pthread_mutex_lock(&m->lock);
    i->busy = false;
    if (out)
        status_fill(m, i, out);
    pthread_mutex_unlock(&m->lock);
    if (out)
        status_vm(m, out);
}

/* ---- reporting to the Repository -------------------------------------- */

static void
report(struct vws_manager *m, const char *key, int state, int location, const char *reason)
{
    if (!m->repo)
        return;
    if (vws_repoclient_report(m->repo, key, state, location, reason) < 0)
        VWS_WARN("workspace '%s': %s", key, vws_error_message());
}

static void
release_lock(struct vws_manager *m, const char *key)
{
    if (!m->repo)
        return;
    if (vws_repoclient_release(m->repo, key) < 0)
        VWS_WARN("workspace '%s': %s", key, vws_error_message());
}

/* ---- tearing an instance down ------------------------------------------ */

/* Destroy and undefine the domain NAME if it exists, remove KEY's files
 * and cache pins.  Failures are logged (this is cleanup). */
static void
teardown(struct vws_manager *m, const char *key, const char *name)
{
    struct vws_vmm_domain *dom = name ? vws_vmm_lookup(m->vmm, name) : NULL;

    if (dom) {
        enum vws_vmm_state s = VWS_VMM_NOSTATE;
        if (vws_vmm_state(dom, &s) == 0 && s != VWS_VMM_SHUTOFF && vws_vmm_destroy(dom) < 0)
            VWS_WARN("%s", vws_error_message());
        if (vws_vmm_undefine(dom) < 0)
            VWS_WARN("%s", vws_error_message());
        vws_vmm_domain_free(dom);
    }
    if (vws_instance_remove_dir(m->instances_dir, key) < 0 &&
        vws_error_code_last() != VWS_ERR_NOT_FOUND)
        VWS_WARN("%s", vws_error_message());
    if (vws_cache_unpin_instance(m->cache, key) < 0)
        VWS_WARN("%s", vws_error_message());
}

/* ---- deploy ----------------------------------------------------------- */

struct deploy {
    struct vws_manager *m;
    struct inst *i;
    char key[VWS_UUID_BUFSIZE];
    struct vws_repo_workspace ws;
    struct vws_repo_checkout co;
    char *restore_from;
    bool corrupt;                   /* the VMM refused the instance */
    vws_error_code code;            /* the failure, for a waiting caller */
    char *message;
};

struct fetch_arg {
    struct deploy *d;
    const char *url;
    uint64_t size;
    const char *sha256;
    uint64_t base;                  /* bytes of earlier files */
};

static void
progress(void *arg, uint64_t done, uint64_t total)
{
    struct fetch_arg *f = arg;
    struct vws_manager *m = f->d->m;

    (void)total;
    pthread_mutex_lock(&m->lock);
    f->d->i->bytes_done = f->base + done;
    pthread_mutex_unlock(&m->lock);
}

static int
fetch(void *arg, const char *path)
{
    struct fetch_arg *f = arg;
    struct vws_transfer_options o = f->d->m->xfer;

    o.progress = progress;
    o.progress_arg = f;
    VWS_INFO("workspace '%s': staging '%s'", f->d->key, f->url);
    return vws_transfer_fetch(f->url, path, f->size, f->sha256, &o);
}

/* The cached copy of one file of the template (pinned for the instance). */
static int
acquire(struct deploy *d, const char *label, const char *url, uint64_t size,
        const char *sha256, uint64_t base, char **path)
{
    struct fetch_arg f = { d, url, size, sha256, base };
    enum vws_cache_outcome outcome = VWS_CACHE_HIT;

    if (vws_transfer_url_check(url) < 0)
        return -1;
    if (vws_cache_acquire(d->m->cache, label, sha256, size, d->key, fetch, &f, path,
                          &outcome) < 0)
        return -1;
    pthread_mutex_lock(&d->m->lock);
    d->i->bytes_done = base + size;
    if (d->i->cache_outcome < (int)outcome)
        d->i->cache_outcome = (int)outcome;
    pthread_mutex_unlock(&d->m->lock);
    return 0;
}

/* The metadata of the checkout as the instance library takes it. */
static void
meta_from(const struct vws__InstanceMetadataType *x, struct vws_instance_meta *meta,
          struct vws_instance_nic *nics, size_t max_nics)
{
    memset(meta, 0, sizeof(*meta));
    meta->workspace_id = x->workspaceId;
    meta->node = x->node ? *x->node : 0;
    meta->hostname = x->hostname;
    for (int k = 0; k < x->__sizenic && (size_t)k < max_nics; k++) {
        nics[k].name = x->nic[k].name;
        nics[k].mac = x->nic[k].mac;
        nics[k].ip = x->nic[k].ip;
        nics[k].netmask = x->nic[k].netmask;
        nics[k].gateway = x->nic[k].gateway;
        meta->n_nics++;
    }
    meta->nics = nics;
    if (x->credential) {
        meta->cert_pem = x->credential->certificate;
        meta->key_pem = x->credential->privateKey;
    }
}

/* The <instanceMetadata> document without the private key. */
static char *
metadata_text(struct soap *soap, struct vws__InstanceMetadataType *x)
{
    struct vws__CredentialType *cred = x->credential;
    struct vws_doc doc = { VWS_DOC_INSTANCE, soap, { .instance = x } };
    struct vws_buf b = VWS_BUF_INIT;
    char *s = NULL;

    x->credential = NULL;
    if (vws_doc_serialize(&doc, &b) == 0)
        s = vws_buf_detach(&b, NULL);
    vws_buf_release(&b);
    x->credential = cred;
    return s;
}

static int
nic_type(const char *mode, enum vws_vmm_nic_type *type, const char **source)
{
    if (strcmp(mode, "user") == 0) {
        *type = VWS_VMM_NIC_USER;
        *source = NULL;
    } else if (strncmp(mode, "network:", 8) == 0) {
        *type = VWS_VMM_NIC_NETWORK;
        *source = mode + 8;
    } else if (strncmp(mode, "bridge:", 7) == 0) {
        *type = VWS_VMM_NIC_BRIDGE;
        *source = mode + 7;
    } else {
        return -1;
    }
    return 0;
}

/* Stage, bind and define: everything between checkout and "staged".
 * 0, or -1 reported with the instance's files and domain cleaned. */
static int
stage(struct deploy *d)
{
    struct vws_manager *m = d->m;
    struct vws__ImageTemplateType *img = d->co.image;
    struct vws__VirtualWorkspaceType *w = d->ws.description.u.workspace;
    struct vws__DeploymentRequestType *req = d->ws.deployment.u.deployment;
    struct vws_instance_meta meta;
    struct vws_instance_nic nics[VWS_VMM_MAX_NICS];
    struct vws_vmm_nic vnics[VWS_VMM_MAX_NICS];
    struct vws_vmm_disk disk;
    struct vws_vmm_domain_spec spec = { 0 };
    struct vws_vmm_domain *dom = NULL;
    char *kernel = NULL, *initrd = NULL, *tmpl = NULL, *cmdline = NULL;
    char *dir = NULL, *iso = NULL, *overlay = NULL, *console = NULL, *saved = NULL;
    bool direct;
    int rc = -1;

    if (!img) {
        vws_report_error(VWS_ERR_INVALID, "workspace '%s' names no image template "
                         "in the repository's pool", d->key);
        return -1;
    }
    direct = img->format == vws__ImageFormatType__kernel_x002binitrd;
    meta_from(d->co.meta, &meta, nics, VWS_N_ELEMENTS(nics));
    if (vws_instance_meta_check(&meta) < 0)
        return -1;
    pthread_mutex_lock(&m->lock);
    d->i->bytes_total = img->size + (direct && img->initrd ? img->initrd->size : 0);
    pthread_mutex_unlock(&m->lock);

    /* 1. the template, into the cache */
    if (direct) {
        char label[300];
        if (!img->initrd) {
            vws_report_error(VWS_ERR_INVALID, "template '%s' is kernel+initrd but has "
                             "no initrd", img->name);
            return -1;
        }
        if (acquire(d, img->name, img->location, img->size, img->sha256, 0, &kernel) < 0)
            goto out;
        snprintf(label, sizeof(label), "%s (initrd)", img->name);
        if (acquire(d, label, img->initrd->location, img->initrd->size,
                    img->initrd->sha256, img->size, &initrd) < 0)
            goto out;
    } else if (acquire(d, img->name, img->location, img->size, img->sha256, 0, &tmpl) < 0) {
        goto out;
    }

    /* 2. the instance: its directory, disk, config drive, command line */
    if (!(dir = vws_instance_dir(m->instances_dir, d->key)))
        goto out;
    iso = inst_path(m, d->key, "config.iso");
    console = inst_path(m, d->key, "console.log");
    saved = inst_path(m, d->key, "state.save");
    if (vws_instance_config_drive(iso, &meta) < 0)
        goto out;
    if (!direct) {
        overlay = inst_path(m, d->key, "disk.qcow2");
        if (d->restore_from) {
            char *url = vws_asprintf("%s/disk.qcow2", d->restore_from);
            int r = vws_transfer_fetch(url, overlay, 0, NULL, &m->xfer);
            free(url);
            if (r < 0)
                goto out;
        } else if (vws_instance_overlay(tmpl, img->format == vws__ImageFormatType__qcow2 ?
                                        "qcow2" : "raw", overlay, 0) < 0) {
            goto out;
        }
        disk.path = overlay;
        disk.format = VWS_VMM_DISK_QCOW2;
        disk.bus = VWS_VMM_BUS_VIRTIO;
        disk.readonly = false;
        spec.disks = &disk;
        spec.n_disks = 1;
    } else {
        if (!(cmdline = vws_instance_cmdline(img->cmdline, &meta)))
            goto out;
        spec.kernel = kernel;
        spec.initrd = initrd;
        spec.cmdline = cmdline;
    }
    if (d->restore_from) {
        char *url = vws_asprintf("%s/state.save", d->restore_from);
        int r = vws_transfer_fetch(url, saved, 0, NULL, &m->xfer);
        free(url);
        if (r < 0)
            goto out;
    }

    /* 3. the domain */
    spec.workspace_key = d->key;
    spec.memory_mb = req && req->memory ? req->memory :
                     (w->hardware && w->hardware->ram ? w->hardware->ram->min_ : 128);
    spec.vcpus = req && req->vcpus ? *req->vcpus :
                 (w->hardware && w->hardware->cpus ? w->hardware->cpus->min_ : 1);
    spec.cpu_percent = req ? req->cpuPercent : 0;
    if (spec.cpu_percent >= 100)
        spec.cpu_percent = 0;
    spec.kvm = m->kvm;
    spec.cdrom = iso;
    spec.console_log = console;
    if (strcmp(m->nic_mode, "none") != 0) {
        enum vws_vmm_nic_type t = VWS_VMM_NIC_USER;
        const char *src = NULL;
        nic_type(m->nic_mode, &t, &src);
        for (size_t k = 0; k < meta.n_nics; k++) {
            vnics[k].type = t;
            vnics[k].source = src;
            vnics[k].mac = meta.nics[k].mac;
        }
        spec.nics = vnics;
        spec.n_nics = meta.n_nics;
    }
    if (!(dom = vws_vmm_define(m->vmm, &spec))) {
        d->corrupt = true;
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    free(d->i->domain);
    d->i->domain = vws_strdup(vws_vmm_domain_name(dom));
    d->i->hot = d->restore_from != NULL;
    pthread_mutex_unlock(&m->lock);
    rc = 0;
out:
    if (rc < 0) {
        /* keep the report: cleanup may report more (logged only) */
        vws_error_code code = vws_error_code_last();
        char *msg = vws_strdup(vws_error_message());
        vws_vmm_domain_free(dom);
        dom = NULL;
        teardown(m, d->key, NULL);
        vws_report_error(code, "%s", msg);
        free(msg);
    }
    vws_vmm_domain_free(dom);
    free(kernel);
    free(initrd);
    free(tmpl);
    free(cmdline);
    free(dir);
    free(iso);
    free(overlay);
    free(console);
    free(saved);
    return rc;
}

static void
deploy_finish(struct deploy *d, int rc)
{
    struct vws_manager *m = d->m;
    struct inst *i = d->i;

    if (rc == 0) {
        enum vws_mgr_state st = i->hot ? VWS_MGR_PAUSED : VWS_MGR_SHUTDOWN;
        report(m, d->key, (int)st, LOC_STAGED, NULL);
        pthread_mutex_lock(&m->lock);
        i->phase = VWS_MGR_STAGED;
        i->state = st;
        set_reason(i, NULL);
        touch(m, i);
        i->busy = false;
        pthread_mutex_unlock(&m->lock);
        VWS_INFO("workspace '%s' deployed as domain '%s'", d->key, i->domain);
        return;
    }
    d->code = vws_error_code_last();
    d->message = vws_strdup(vws_error_message());
    VWS_WARN("workspace '%s': deploy failed: %s", d->key, d->message);
    if (d->corrupt) {
        /* the VMM refused it: the workspace is wrong for this site */
        char *why = vws_asprintf("deploy on this host failed: %s", d->message);
        report(m, d->key, VWS_MGR_CORRUPTED, -1, why);
        free(why);
    }
    release_lock(m, d->key);
    pthread_mutex_lock(&m->lock);
    i->phase = VWS_MGR_FAILED;
    if (d->corrupt)
        i->state = VWS_MGR_CORRUPTED;
    set_reason(i, d->message);
    free(i->domain);
    i->domain = NULL;
    touch(m, i);
    i->busy = false;
    pthread_mutex_unlock(&m->lock);
}

static void
deploy_free(struct deploy *d)
{
    vws_repo_workspace_release(&d->ws);
    vws_repo_checkout_release(&d->co);
    free(d->restore_from);
    free(d->message);
    free(d);
}

static void *
deploy_thread(void *arg)
{
    struct deploy *d = arg;
    struct vws_manager *m = d->m;

    deploy_finish(d, stage(d));
    deploy_free(d);
    pthread_mutex_lock(&m->lock);
    m->deploys--;
    pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int
vws_manager_deploy(struct vws_manager *m, const char *key,
                   vws_mgr_authorize_fn authorize, void *arg,
                   const char *restore_from, bool wait, struct vws_mgr_status *out)
{
    struct deploy *d;
    struct inst *i, *old;

    memset(out, 0, sizeof(*out));
    if (!vws_uuid_is_valid(key)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "malformed workspace key");
        return -1;
    }
    if (restore_from && vws_transfer_url_check(restore_from) < 0)
        return -1;
    pthread_mutex_lock(&m->lock);
    old = find(m, key);
    if (old && (old->busy || old->phase != VWS_MGR_FAILED)) {
        enum vws_mgr_phase ph = old->phase;
        pthread_mutex_unlock(&m->lock);
        if (!authorize || authorize(arg, old->owner))
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is already deployed on this "
                             "host (%s)", key, vws_mgr_phase_name(ph));
        else
            not_here(key);
        return -1;
    }
    pthread_mutex_unlock(&m->lock);

    d = vws_calloc(1, sizeof(*d));
    d->m = m;
    vws_strlcpy(d->key, key, sizeof(d->key));
    d->restore_from = restore_from ? vws_strdup(restore_from) : NULL;
    if (!m->repo) {
        vws_report_error(VWS_ERR_CONFIG, "no repository configured");
        deploy_free(d);
        return -1;
    }
    if (vws_repoclient_get(m->repo, key, &d->ws) < 0) {
        deploy_free(d);
        return -1;
    }
    if (authorize && !authorize(arg, d->ws.owner)) {
        deploy_free(d);
        return not_here(key);
    }
    if (vws_repoclient_checkout(m->repo, key, &d->co) < 0) {
        deploy_free(d);
        return -1;
    }

    /* the record, before any work: a restart finds and rolls it back */
    i = vws_calloc(1, sizeof(*i));
    vws_strlcpy(i->key, key, sizeof(i->key));
    i->owner = vws_strdup(d->ws.owner);
    i->phase = VWS_MGR_STAGING;
    i->state = d->ws.state == VWS_MGR_PAUSED && restore_from ? VWS_MGR_PAUSED
                                                              : VWS_MGR_SHUTDOWN;
    i->template_name = d->co.image ? vws_strdup(d->co.image->name) : NULL;
    if (d->co.image) {
        i->format = vws_strdup(soap_vws__ImageFormatType2s(d->co.soap, d->co.image->format));
    }
    i->metadata = metadata_text(d->co.soap, d->co.meta);
    i->cache_outcome = -1;
    i->busy = true;
    d->i = i;
    pthread_mutex_lock(&m->lock);
    if ((old = find(m, key))) {
        unlink_inst(m, old);
        inst_free(old);
    }
    i->next = m->list;
    m->list = i;
    touch(m, i);
    pthread_mutex_unlock(&m->lock);
    VWS_INFO("workspace '%s' of '%s' checked out: staging template '%s'", key, i->owner,
             i->template_name ? i->template_name : "-");

    if (wait) {
        int rc = stage(d);
        deploy_finish(d, rc);
        if (rc < 0)
            vws_report_error(d->code, "%s", d->message);
        pthread_mutex_lock(&m->lock);
        status_fill(m, i, out);
        pthread_mutex_unlock(&m->lock);
        deploy_free(d);
        if (rc < 0) {
            vws_mgr_status_release(out);
            return -1;
        }
        status_vm(m, out);
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    status_fill(m, i, out);
    m->deploys++;
    pthread_mutex_unlock(&m->lock);
    {
        pthread_t t;
        pthread_attr_t attr;
        int e;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        e = pthread_create(&t, &attr, deploy_thread, d);
        pthread_attr_destroy(&attr);
        if (e != 0) {
            pthread_mutex_lock(&m->lock);
            m->deploys--;
            pthread_mutex_unlock(&m->lock);
            vws_report_error(VWS_ERR_SYSTEM, "cannot start a deploy thread: %s", strerror(e));
            deploy_finish(d, -1);
            deploy_free(d);
            vws_mgr_status_release(out);
            return -1;
        }
    }
    return 0;
}

/* ---- operations on a staged instance ---------------------------------- */

static int
need_staged(const struct inst *i, const char *doing)
{
    if (i->phase != VWS_MGR_STAGED) {
        vws_report_error(VWS_ERR_STATE, "cannot %s workspace '%s': it is %s on this host%s%s",
                         doing, i->key, vws_mgr_phase_name(i->phase),
                         i->reason ? ": " : "", i->reason ? i->reason : "");
        return -1;
    }
    return 0;
}

/* The libvirt failure of an operation corrupts the workspace (the reason
 * goes to the Repository); the domain stays for the admin to look at
 * until undeploy. */
static void
vm_failed(struct vws_manager *m, struct inst *i, const char *doing)
{
    char *why = vws_asprintf("%s failed: %s", doing, vws_error_message());
    vws_error_code code = vws_error_code_last();

    report(m, i->key, VWS_MGR_CORRUPTED, -1, why);
    pthread_mutex_lock(&m->lock);
    i->state = VWS_MGR_CORRUPTED;
    set_reason(i, why);
    touch(m, i);
    pthread_mutex_unlock(&m->lock);
    vws_report_error(code, "%s", why);
    free(why);
}

static const char *const op_verbs[VWS_MGR_N_OPS] = {
    "start", "stop", "pause", "unpause", "serialize", "read the status of"
};

int
vws_manager_op(struct vws_manager *m, const char *key, enum vws_mgr_op op,
               vws_mgr_authorize_fn authorize, void *arg, unsigned timeout_ms,
               struct vws_mgr_status *out)
{
    const char *verb = (unsigned)op < VWS_MGR_N_OPS ? op_verbs[op] : "?";
    struct vws_vmm_domain *dom = NULL;
    struct inst *i;
    enum vws_vmm_state vs = VWS_VMM_NOSTATE;
    enum vws_mgr_state next;
    char *saved = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (op == VWS_MGR_OP_STATUS) {
        pthread_mutex_lock(&m->lock);
        i = find(m, key);
        if (i && (!authorize || authorize(arg, i->owner)))
            status_fill(m, i, out);
        pthread_mutex_unlock(&m->lock);
        if (!i || !out->owner)
            return not_here(key);
        status_vm(m, out);
        return 0;
    }
    if (!(i = take(m, key, authorize, arg, verb)))
        return -1;
    if (need_staged(i, verb) < 0)
        goto out;
    if (i->state == VWS_MGR_CORRUPTED) {
        vws_report_error(VWS_ERR_STATE, "cannot %s workspace '%s': it is corrupted: %s",
                         verb, key, i->reason ? i->reason : "no reason recorded");
        goto out;
    }
    if (!(dom = vws_vmm_lookup(m->vmm, i->domain)) || vws_vmm_state(dom, &vs) < 0) {
        vm_failed(m, i, verb);
        goto out;
    }
    saved = inst_path(m, key, "state.save");
    switch (op) {
    case VWS_MGR_OP_START:
        if (vs == VWS_VMM_RUNNING) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is already running", key);
            goto out;
        }
        if (vs == VWS_VMM_PAUSED) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is paused: unpause it", key);
            goto out;
        }
        if (i->hot && file_exists(saved)) {
            if (vws_vmm_restore(dom, saved) < 0) {
                vm_failed(m, i, "resuming the serialized state");
                goto out;
            }
            unlink(saved);   /* the disk moves on: the state is stale now */
            VWS_INFO("workspace '%s' resumed from its serialized state", key);
        } else if (vws_vmm_start(dom) < 0) {
            vm_failed(m, i, "start");
            goto out;
        } else {
            VWS_INFO("workspace '%s' started", key);
        }
        pthread_mutex_lock(&m->lock);
        i->hot = false;
        pthread_mutex_unlock(&m->lock);
        next = VWS_MGR_RUNNING;
        break;
    case VWS_MGR_OP_STOP:
        if (vs == VWS_VMM_SHUTOFF && !i->hot) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is not running", key);
            goto out;
        }
        if (vs != VWS_VMM_SHUTOFF) {
            bool forced = false;
            if (vws_vmm_shutdown(dom, timeout_ms ? timeout_ms : m->shutdown_timeout_ms,
                                 &forced) < 0) {
                vm_failed(m, i, "stop");
                goto out;
            }
            VWS_INFO("workspace '%s' stopped%s", key,
                     forced ? " (the guest did not power off in time: destroyed)" : "");
        }
        unlink(saved);
        pthread_mutex_lock(&m->lock);
        i->hot = false;
        pthread_mutex_unlock(&m->lock);
        next = VWS_MGR_SHUTDOWN;
        break;
    case VWS_MGR_OP_PAUSE:
        if (vs != VWS_VMM_RUNNING) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is not running (%s)", key,
                             vws_vmm_state_name(vs));
            goto out;
        }
        if (vws_vmm_pause(dom) < 0) {
            vm_failed(m, i, "pause");
            goto out;
        }
        next = VWS_MGR_PAUSED;
        break;
    case VWS_MGR_OP_UNPAUSE:
        if (vs != VWS_VMM_PAUSED) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is not paused (%s)%s", key,
                             vws_vmm_state_name(vs),
                             i->hot ? ": it is serialized, start resumes it" : "");
            goto out;
        }
        if (vws_vmm_resume(dom) < 0) {
            vm_failed(m, i, "unpause");
            goto out;
        }
        next = VWS_MGR_RUNNING;
        break;
    case VWS_MGR_OP_SERIALIZE:
        if (vs != VWS_VMM_RUNNING && vs != VWS_VMM_PAUSED) {
            vws_report_error(VWS_ERR_STATE, "workspace '%s' is not running (%s)", key,
                             vws_vmm_state_name(vs));
            goto out;
        }
        unlink(saved);
        if (vws_vmm_save(dom, saved) < 0) {
            vm_failed(m, i, "serialize");
            goto out;
        }
        VWS_INFO("workspace '%s' serialized to '%s'", key, saved);
        pthread_mutex_lock(&m->lock);
        i->hot = true;
        pthread_mutex_unlock(&m->lock);
        next = VWS_MGR_PAUSED;
        break;
    default:
        vws_report_error(VWS_ERR_INVALID_ARG, "unknown operation %d", (int)op);
        goto out;
    }
    report(m, key, (int)next, -1, NULL);
    pthread_mutex_lock(&m->lock);
    i->state = next;
    touch(m, i);
    pthread_mutex_unlock(&m->lock);
    rc = 0;
out:
    vws_vmm_domain_free(dom);
    free(saved);
    if (rc == 0) {
        give_back(m, i, out);
    } else {
        vws_error_code code = vws_error_code_last();
        char *msg = vws_strdup(vws_error_message());
        give_back(m, i, NULL);
        vws_report_error(code, "%s", msg);
        free(msg);
    }
    return rc;
}

/* ---- undeploy --------------------------------------------------------- */

static int
put_file(struct vws_manager *m, const char *key, const char *file, const char *target)
{
    char *src = inst_path(m, key, file);
    char *url = vws_asprintf("%s/%s", target, file);
    int rc = 0;

    if (file_exists(src)) {
        VWS_INFO("workspace '%s': saving '%s' to '%s'", key, file, url);
        rc = vws_transfer_put(src, url, NULL, &m->xfer);
    }
    free(src);
    free(url);
    return rc;
}

int
vws_manager_undeploy(struct vws_manager *m, const char *key,
                     vws_mgr_authorize_fn authorize, void *arg,
                     const char *save_target, struct vws_mgr_status *out)
{
    struct inst *i;
    struct vws_vmm_domain *dom = NULL;
    enum vws_vmm_state vs = VWS_VMM_SHUTOFF;
    enum vws_mgr_state final;
    char *domain;

    memset(out, 0, sizeof(*out));
    if (save_target && vws_transfer_url_check(save_target) < 0)
        return -1;
    if (!(i = take(m, key, authorize, arg, "undeploy")))
        return -1;
    if (i->phase == VWS_MGR_STAGING || i->phase == VWS_MGR_UNSTAGING) {
        give_back(m, i, NULL);
        vws_report_error(VWS_ERR_STATE, "cannot undeploy workspace '%s' while it is %s",
                         key, vws_mgr_phase_name(i->phase));
        return -1;
    }
    if (i->phase == VWS_MGR_FAILED) {
        /* nothing is left but the record of the failure */
        pthread_mutex_lock(&m->lock);
        unlink_inst(m, i);
        record_delete(m, key);
        status_fill(m, i, out);
        out->phase = VWS_MGR_UNSTAGED;
        pthread_mutex_unlock(&m->lock);
        inst_free(i);
        return 0;
    }
    domain = i->domain ? vws_strdup(i->domain) : NULL;
    if (domain && (dom = vws_vmm_lookup(m->vmm, domain)))
        vws_vmm_state(dom, &vs);
    final = i->state == VWS_MGR_CORRUPTED ? VWS_MGR_CORRUPTED : VWS_MGR_SHUTDOWN;
    if (dom && vs != VWS_VMM_SHUTOFF) {
        bool forced = false;
        if (vws_vmm_shutdown(dom, m->shutdown_timeout_ms, &forced) < 0)
            VWS_WARN("%s", vws_error_message());
    }
    vws_vmm_domain_free(dom);
    if (save_target && i->hot && final != VWS_MGR_CORRUPTED)
        final = VWS_MGR_PAUSED;
    if (final != VWS_MGR_CORRUPTED)
        report(m, key, (int)final, -1, NULL);
    report(m, key, (int)final, LOC_UNSTAGING, NULL);
    pthread_mutex_lock(&m->lock);
    i->phase = VWS_MGR_UNSTAGING;
    i->state = final;
    touch(m, i);
    pthread_mutex_unlock(&m->lock);
    if (save_target) {
        if (put_file(m, key, "disk.qcow2", save_target) < 0 ||
            (final == VWS_MGR_PAUSED && put_file(m, key, "state.save", save_target) < 0)) {
            /* keep the instance: the admin or a retry can save it */
            vws_error_code code = vws_error_code_last();
            char *msg = vws_strdup(vws_error_message());
            pthread_mutex_lock(&m->lock);
            i->phase = VWS_MGR_STAGED;
            touch(m, i);
            pthread_mutex_unlock(&m->lock);
            report(m, key, (int)final, -1, NULL);
            give_back(m, i, NULL);
            free(domain);
            vws_report_error(code, "undeploy of workspace '%s': saving the instance "
                             "failed, it stays deployed: %s", key, msg);
            free(msg);
            return -1;
        }
    }
    teardown(m, key, domain);
    release_lock(m, key);
    pthread_mutex_lock(&m->lock);
    unlink_inst(m, i);
    if (record_delete(m, key) < 0)
        VWS_ERROR("%s", vws_error_message());
    status_fill(m, i, out);
    out->phase = VWS_MGR_UNSTAGED;
    pthread_mutex_unlock(&m->lock);
    VWS_INFO("workspace '%s' undeployed%s%s", key, save_target ? ", saved to " : "",
             save_target ? save_target : "");
    inst_free(i);
    free(domain);
    return 0;
}

/* ---- queries ---------------------------------------------------------- */

int
vws_manager_list(struct vws_manager *m, struct vws_mgr_status **list, size_t *n)
{
    size_t k = 0, count = 0;

    pthread_mutex_lock(&m->lock);
    for (struct inst *i = m->list; i; i = i->next)
        count++;
    *list = vws_calloc(count ? count : 1, sizeof(**list));
    for (struct inst *i = m->list; i; i = i->next)
        status_fill(m, i, &(*list)[k++]);
    pthread_mutex_unlock(&m->lock);
    for (size_t j = 0; j < k; j++)
        status_vm(m, &(*list)[j]);
    *n = k;
    return 0;
}

char *
vws_manager_metadata(struct vws_manager *m, const char *key,
                     vws_mgr_authorize_fn authorize, void *arg)
{
    struct inst *i;
    char *owner = NULL, *meta = NULL;

    pthread_mutex_lock(&m->lock);
    if ((i = find(m, key))) {
        owner = vws_strdup(i->owner);
        meta = i->metadata ? vws_strdup(i->metadata) : NULL;
    }
    pthread_mutex_unlock(&m->lock);
    if (!owner || (authorize && !authorize(arg, owner)) || !meta) {
        free(owner);
        free(meta);
        not_here(key);
        return NULL;
    }
    free(owner);
    return meta;
}

struct vws_cache *
vws_manager_cache(struct vws_manager *m)
{
    return m->cache;
}

const char *
vws_manager_vmm_uri(struct vws_manager *m)
{
    return vws_vmm_conn_uri(m->vmm);
}

struct vws_vmm_conn *
vws_manager_vmm(struct vws_manager *m)
{
    return m->vmm;
}

/* ---- reconciliation at open ------------------------------------------- */

static bool
has_record(struct vws_manager *m, const char *key)
{
    return find(m, key) != NULL;
}

static void
reconcile(struct vws_manager *m)
{
    struct vws_vmm_domain_info *doms = NULL;
    size_t n_doms = 0;
    char **pinned = NULL;
    size_t n_pinned = 0;
    struct inst *next;
    DIR *dir;

    /* 1. records against libvirt */
    for (struct inst *i = m->list; i; i = next) {
        struct vws_vmm_domain *dom;
        enum vws_vmm_state vs = VWS_VMM_NOSTATE;

        next = i->next;
        if (i->phase == VWS_MGR_FAILED)
            continue;
        if (i->phase == VWS_MGR_STAGING || i->phase == VWS_MGR_UNSTAGING) {
            VWS_WARN("workspace '%s' was %s when the manager stopped: rolled back, "
                     "the check-out released", i->key, vws_mgr_phase_name(i->phase));
            teardown(m, i->key, i->domain ? i->domain : NULL);
            if (!i->domain) {
                /* the domain may have been defined before the record said so */
                char *name = vws_asprintf(VWS_VMM_NAME_PREFIX "%s", i->key);
                teardown(m, i->key, name);
                free(name);
            }
            release_lock(m, i->key);
            unlink_inst(m, i);
            record_delete(m, i->key);
            inst_free(i);
            continue;
        }
        dom = i->domain ? vws_vmm_lookup(m->vmm, i->domain) : NULL;
        if (!dom) {
            char *why = vws_asprintf("its domain '%s' vanished from the hypervisor",
                                     i->domain ? i->domain : "?");
            VWS_WARN("workspace '%s': %s: marked corrupted, check-out released", i->key, why);
            teardown(m, i->key, NULL);
            report(m, i->key, VWS_MGR_CORRUPTED, -1, why);
            release_lock(m, i->key);
            unlink_inst(m, i);
            record_delete(m, i->key);
            inst_free(i);
            free(why);
            continue;
        }
        if (vws_vmm_state(dom, &vs) == 0 && i->state != VWS_MGR_CORRUPTED) {
            enum vws_mgr_state now = i->state;
            if (vs == VWS_VMM_RUNNING)
                now = VWS_MGR_RUNNING;
            else if (vs == VWS_VMM_PAUSED)
                now = VWS_MGR_PAUSED;
            else if (vs == VWS_VMM_SHUTOFF || vs == VWS_VMM_CRASHED)
                now = i->hot ? VWS_MGR_PAUSED : VWS_MGR_SHUTDOWN;
            if (vs == VWS_VMM_SHUTTING_DOWN) {
                /* stuck: nobody held the driver when the guest powered off */
                vws_vmm_destroy(dom);
                now = VWS_MGR_SHUTDOWN;
            }
            if (now != i->state) {
                VWS_INFO("workspace '%s': the domain is %s, the record said %s: reported",
                         i->key, vws_vmm_state_name(vs), state_names[i->state]);
                i->state = now;
                touch(m, i);
                report(m, i->key, (int)now, -1, NULL);
            }
        }
        vws_vmm_domain_free(dom);
    }

    /* 2. libvirt's domains without a record: orphans */
    if (vws_vmm_list(m->vmm, VWS_VMM_NAME_PREFIX, &doms, &n_doms) == 0) {
        for (size_t k = 0; k < n_doms; k++) {
            bool known = false;
            for (struct inst *i = m->list; i && !known; i = i->next)
                known = i->domain && strcmp(i->domain, doms[k].name) == 0;
            if (!known) {
                VWS_WARN("domain '%s' has no record: an orphan, removed", doms[k].name);
                teardown(m, doms[k].name + strlen(VWS_VMM_NAME_PREFIX), doms[k].name);
            }
        }
        vws_vmm_domain_info_free(doms, n_doms);
    } else {
        VWS_WARN("%s", vws_error_message());
    }

    /* 3. instance directories and cache pins without a record */
    if ((dir = opendir(m->instances_dir))) {
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.' || has_record(m, e->d_name))
                continue;
            if (!vws_uuid_is_valid(e->d_name)) {
                VWS_WARN("'%s/%s' is not an instance: left alone", m->instances_dir,
                         e->d_name);
                continue;
            }
            VWS_WARN("instance directory '%s' has no record: removed", e->d_name);
            if (vws_instance_remove_dir(m->instances_dir, e->d_name) < 0)
                VWS_WARN("%s", vws_error_message());
        }
        closedir(dir);
    }
    if (vws_cache_pinned_instances(m->cache, &pinned, &n_pinned) == 0) {
        for (size_t k = 0; k < n_pinned; k++) {
            if (!has_record(m, pinned[k])) {
                VWS_INFO("cache pins of '%s' have no record: dropped", pinned[k]);
                vws_cache_unpin_instance(m->cache, pinned[k]);
            }
        }
        vws_cache_instances_free(pinned, n_pinned);
    }
}

/* ---- open and close --------------------------------------------------- */

struct vws_manager *
vws_manager_open(const struct vws_manager_options *o)
{
    struct vws_manager *m = vws_calloc(1, sizeof(*m));
    struct vws_cache_options co = { 0 };
    struct vws_db_options dbo = { 0 };
    enum vws_vmm_nic_type t;
    const char *src;
    char *db = NULL;

    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->idle, NULL);
    m->repo = o->repo;
    m->kvm = o->kvm;
    m->shutdown_timeout_ms = o->shutdown_timeout_ms ? o->shutdown_timeout_ms : 30000;
    m->nic_mode = vws_strdup(o->nic_mode ? o->nic_mode : "user");
    if (strcmp(m->nic_mode, "none") != 0 && nic_type(m->nic_mode, &t, &src) < 0) {
        vws_report_error(VWS_ERR_CONFIG, "nic mode '%s' is none of user, none, "
                         "network:NAME, bridge:NAME", m->nic_mode);
        goto fail;
    }
    m->cert_dir = o->cert_dir ? vws_strdup(o->cert_dir) : NULL;
    m->cert_file = o->cert_file ? vws_strdup(o->cert_file) : NULL;
    m->key_file = o->key_file ? vws_strdup(o->key_file) : NULL;
    m->xfer.cert_dir = m->cert_dir;
    m->xfer.cert = m->cert_file;
    m->xfer.key = m->key_file;
    m->xfer.retries = o->transfer_retries;
    m->xfer.retry_delay_ms = 500;
    if (mkdir(o->state_dir, 0700) < 0 && errno != EEXIST) {
        vws_report_error(VWS_ERR_SYSTEM, "cannot create the state directory '%s': %s",
                         o->state_dir, strerror(errno));
        goto fail;
    }
    m->instances_dir = vws_asprintf("%s/instances", o->state_dir);
    if (mkdir(m->instances_dir, 0700) < 0 && errno != EEXIST) {
        vws_report_error(VWS_ERR_SYSTEM, "cannot create '%s': %s", m->instances_dir,
                         strerror(errno));
        goto fail;
    }
    db = vws_asprintf("%s/manager.db", o->state_dir);
    dbo.what = "manager records";
    dbo.migrations = migrations;
    dbo.n_migrations = VWS_N_ELEMENTS(migrations);
    dbo.busy_timeout_ms = 10000;
    dbo.private_file = true;
    if (vws_db_open(&m->dbh, db, &dbo) < 0)
        goto fail;
    co.dir = o->cache_dir;
    co.size_mb = o->cache_mb;
    co.policy = o->cache_policy;
    if (!(m->cache = vws_cache_open(&co)))
        goto fail;
    if (!(m->vmm = vws_vmm_open(o->vmm_uri)))
        goto fail;
    if (o->vmm_faults && *o->vmm_faults) {
        char *rules = vws_strdup(o->vmm_faults), *save = NULL;
        if (!(m->vmm = vws_vmm_faulty_wrap(m->vmm))) {
            free(rules);
            goto fail;
        }
        for (char *r = strtok_r(rules, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
            if (vws_vmm_faulty_add_rule(m->vmm, r) < 0) {
                free(rules);
                goto fail;
            }
        }
        free(rules);
        VWS_WARN("VMM fault injection is on: %s", o->vmm_faults);
    }
    if (records_load(m) < 0)
        goto fail;
    reconcile(m);
    free(db);
    return m;
fail:
    free(db);
    vws_manager_close(m);
    return NULL;
}

void
vws_manager_close(struct vws_manager *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    while (m->deploys > 0)
        pthread_cond_wait(&m->idle, &m->lock);
    pthread_mutex_unlock(&m->lock);
    while (m->list) {
        struct inst *i = m->list;
        m->list = i->next;
        inst_free(i);
    }
    vws_vmm_close(m->vmm);
    vws_cache_close(m->cache);
    vws_db_close(&m->dbh);
    free(m->instances_dir);
    free(m->nic_mode);
    free(m->cert_dir);
    free(m->cert_file);
    free(m->key_file);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->idle);
    free(m);
}
