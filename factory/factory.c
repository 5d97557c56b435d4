/*
 * factory.c — agreements, hosts and orchestration (factory.h).
 *
 * Locking: f->lock protects the lists and every field of agreements and
 * hosts.  The orchestrator calls our ops from its thread; each op only
 * queues work for a detached action thread (counted, joined at close), so
 * the clock thread never waits on a Manager.  Action threads call the
 * Managers and the Repository without the lock.
 */
#define VWS_MODULE "factory"
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soapH.h"

#include "db.h"
#include "document.h"
#include "identity.h"
#include "strbuf.h"
#include "util.h"
#include "uuid.h"
#include "xstime.h"
#include "factory/factory.h"
#include "factory/policy.h"
#include "manager/repoclient.h"
#include "scheduler/orch.h"
#include "wsdl/soap.h"
#include "internal.h"

enum agr_state { AGR_PENDING = 0, AGR_OBSERVED, AGR_REJECTED, AGR_COMPLETED, AGR_TERMINATED };
enum host_state { HOST_ACTIVE = 0, HOST_DRAINING, HOST_DOWN };

#define MAX_NODES 64

struct member {
    char key[VWS_UUID_BUFSIZE];
    int host;                   /* slot, or -1 */
    int state;                  /* vws__StateType */
    bool deployed;
    bool busy;                  /* an action is deploying or starting it */
    vws_time ready;             /* started, or 0 */
};

struct agreement {
    struct agreement *next;
    char key[VWS_UUID_BUFSIZE];
    char *owner, *broker;
    char *creator;              /* the caller who asked (policy counts) */
    char *fqans;                /* the creator's FQANs, one per line */
    enum agr_state state;
    char *reason;
    char *terms_xml, *desc_xml; /* the deployment request and description */
    char *image;
    int64_t image_mb;
    vws_lease_request req;      /* req.image points at image */
    uint64_t lease;
    vws_time booked_start, booked_end;
    int nodes;
    struct member m[MAX_NODES];
    vws_time created;
    struct vws_orch_staging *staging;   /* the staging planned, last seen */
    size_t n_staging;
    /* admission under way (the Repository registers the nodes): the
     * orchestrator's start and end wait for it */
    bool admitting, start_due, end_due;
    uint64_t xfer_due[16];      /* transfers asked for while admitting */
    size_t n_xfer_due;
};

struct host {
    struct host *next;
    char *name, *url;
    enum host_state state;
    unsigned vms, memory;
    vws_time last;
    char *reason;
    int slot;
};

struct vws_factory {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    pthread_cond_t member_free; /* a member's busy flag dropped */
    unsigned actions;           /* action threads running */
    bool closing;
    struct agreement *agreements;
    struct host *hosts;
    struct vws_db dbh;
    struct vws_orch *orch;
    struct vws_policy *policy;
    char *policy_file;          /* reloaded when it changes */
    struct timespec policy_mtime;
    vws_site site;
    char *strategy;
    char *repository_url, *public_url;
    struct vws_gsi_config gsi;
    unsigned heartbeat_s, host_timeout_s, stop_timeout_s;
    pthread_t monitor;
    bool monitor_running;
    pthread_cond_t wake;
};

static void policy_refresh(struct vws_factory *f);

/* ---- small helpers ---------------------------------------------------- */

static void
set_text(char **field, const char *s)
{
    free(*field);
    *field = s ? vws_strdup(s) : NULL;
}

static struct agreement *
find_agreement(struct vws_factory *f, const char *key)
{
    for (struct agreement *a = f->agreements; a; a = a->next)
        if (strcmp(a->key, key) == 0)
            return a;
    return NULL;
}

static struct host *
find_host(struct vws_factory *f, const char *name)
{
    for (struct host *h = f->hosts; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h;
    return NULL;
}

static struct host *
host_of_slot(struct vws_factory *f, int slot)
{
    for (struct host *h = f->hosts; h; h = h->next)
        if (h->slot == slot)
            return h;
    return NULL;
}

static bool
live(const struct agreement *a)
{
    return a->state == AGR_PENDING || a->state == AGR_OBSERVED;
}

/* ---- records ---------------------------------------------------------- */

static const struct vws_db_migration migrations[] = {
    { 1, "agreements and hosts",
      "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
      " applied INTEGER NOT NULL, description TEXT NOT NULL);"
      "CREATE TABLE agreements (key TEXT PRIMARY KEY, owner TEXT NOT NULL, broker TEXT,"
      " state INTEGER NOT NULL, reason TEXT, terms TEXT NOT NULL, description TEXT,"
      " image TEXT NOT NULL, image_mb INTEGER NOT NULL, type INTEGER NOT NULL,"
      " start INTEGER NOT NULL, end INTEGER NOT NULL, duration INTEGER NOT NULL,"
      " nodes INTEGER NOT NULL, memory INTEGER NOT NULL, cpu INTEGER NOT NULL,"
      " booked_start INTEGER NOT NULL, booked_end INTEGER NOT NULL,"
      " members TEXT NOT NULL, created INTEGER NOT NULL, creator TEXT, fqans TEXT);"
      "CREATE TABLE hosts (name TEXT PRIMARY KEY, url TEXT NOT NULL, state INTEGER NOT NULL,"
      " vms INTEGER NOT NULL, memory INTEGER NOT NULL, slot INTEGER NOT NULL, reason TEXT);" },
};

/* "KEY@SLOT@STATE@DEPLOYED@READY;..." */
static char *
members_text(const struct agreement *a)
{
    struct vws_buf b = VWS_BUF_INIT;

    for (int i = 0; i < a->nodes; i++)
        vws_buf_addf(&b, "%s%s@%d@%d@%d@%lld", i ? ";" : "", a->m[i].key, a->m[i].host,
                     a->m[i].state, a->m[i].deployed, (long long)a->m[i].ready);
    vws_buf_addch(&b, '\0');
    return vws_buf_detach(&b, NULL);
}

static void
members_parse(struct agreement *a, const char *text)
{
    char *copy = vws_strdup(text), *save = NULL;
    int i = 0;

    for (char *t = strtok_r(copy, ";", &save); t && i < MAX_NODES; t = strtok_r(NULL, ";", &save)) {
        int host = -1, state = 0, dep = 0;
        long long ready = 0;
        char key[64] = "";
        if (sscanf(t, "%63[^@]@%d@%d@%d@%lld", key, &host, &state, &dep, &ready) >= 1) {
            vws_strlcpy(a->m[i].key, key, sizeof(a->m[i].key));
            a->m[i].host = host;
            a->m[i].state = state;
            a->m[i].deployed = dep != 0;
            a->m[i].ready = ready;
            i++;
        }
    }
    free(copy);
}

static void
save_agreement(struct vws_factory *f, const struct agreement *a)
{
    sqlite3_stmt *st = NULL;
    char *mem = members_text(a);

    if (sqlite3_prepare_v2(f->dbh.db,
            "INSERT OR REPLACE INTO agreements (key, owner, broker, state, reason, terms,"
            " description, image, image_mb, type, start, end, duration, nodes, memory, cpu,"
            " booked_start, booked_end, members, created, creator, fqans)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK) {
        vws_db_fail(&f->dbh, "saving an agreement");
        VWS_ERROR("%s", vws_error_message());
        free(mem);
        return;
    }
    sqlite3_bind_text(st, 1, a->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->broker, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)a->state);
    sqlite3_bind_text(st, 5, a->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->terms_xml, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, a->desc_xml, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->image, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, a->image_mb);
    sqlite3_bind_int(st, 10, (int)a->req.type);
    sqlite3_bind_int64(st, 11, a->req.start);
    sqlite3_bind_int64(st, 12, a->req.end);
    sqlite3_bind_int64(st, 13, a->req.duration);
    sqlite3_bind_int(st, 14, a->nodes);
    sqlite3_bind_int64(st, 15, a->req.mem_mb);
    sqlite3_bind_int64(st, 16, a->req.cpu_pct);
    sqlite3_bind_int64(st, 17, a->booked_start);
    sqlite3_bind_int64(st, 18, a->booked_end);
    sqlite3_bind_text(st, 19, mem, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 20, a->created);
    sqlite3_bind_text(st, 21, a->creator, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 22, a->fqans, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        vws_db_fail(&f->dbh, "saving an agreement");
        VWS_ERROR("%s", vws_error_message());
    }
    sqlite3_finalize(st);
    free(mem);
}

static void
save_host(struct vws_factory *f, const struct host *h)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(f->dbh.db, "INSERT OR REPLACE INTO hosts (name, url, state, vms,"
                           " memory, slot, reason) VALUES (?,?,?,?,?,?,?)", -1, &st,
                           NULL) != SQLITE_OK) {
        vws_db_fail(&f->dbh, "saving a host");
        VWS_ERROR("%s", vws_error_message());
        return;
    }
    sqlite3_bind_text(st, 1, h->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, h->url, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)h->state);
    sqlite3_bind_int(st, 4, (int)h->vms);
    sqlite3_bind_int(st, 5, (int)h->memory);
    sqlite3_bind_int(st, 6, h->slot);
    sqlite3_bind_text(st, 7, h->reason, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        vws_db_fail(&f->dbh, "saving a host");
        VWS_ERROR("%s", vws_error_message());
    }
    sqlite3_finalize(st);
}

static void
delete_host(struct vws_factory *f, const char *name)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(f->dbh.db, "DELETE FROM hosts WHERE name = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

static char *
col(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? vws_strdup((const char *)t) : NULL;
}

static void
agreement_free(struct agreement *a)
{
    if (!a)
        return;
    free(a->owner);
    free(a->broker);
    free(a->creator);
    free(a->fqans);
    free(a->reason);
    free(a->staging);
    free(a->terms_xml);
    free(a->desc_xml);
    free(a->image);
    free(a);
}

static int
load_records(struct vws_factory *f)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(f->dbh.db, "SELECT name, url, state, vms, memory, slot, reason"
                           " FROM hosts", -1, &st, NULL) != SQLITE_OK)
        return vws_db_fail(&f->dbh, "reading the hosts");
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct host *h = vws_calloc(1, sizeof(*h));
        h->name = col(st, 0);
        h->url = col(st, 1);
        h->state = (enum host_state)sqlite3_column_int(st, 2);
        h->vms = (unsigned)sqlite3_column_int(st, 3);
        h->memory = (unsigned)sqlite3_column_int(st, 4);
        h->slot = sqlite3_column_int(st, 5);
        h->reason = col(st, 6);
        h->last = vws_time_now_ms();     /* a grace period after our restart */
        h->next = f->hosts;
        f->hosts = h;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(f->dbh.db, "SELECT key, owner, broker, state, reason, terms,"
                           " description, image, image_mb, type, start, end, duration, nodes,"
                           " memory, cpu, booked_start, booked_end, members, created,"
                           " creator, fqans FROM agreements ORDER BY created", -1, &st, NULL) != SQLITE_OK)
        return vws_db_fail(&f->dbh, "reading the agreements");
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct agreement *a = vws_calloc(1, sizeof(*a));
        char *mem;

        vws_strlcpy(a->key, (const char *)sqlite3_column_text(st, 0), sizeof(a->key));
        a->owner = col(st, 1);
        a->broker = col(st, 2);
        a->state = (enum agr_state)sqlite3_column_int(st, 3);
        a->reason = col(st, 4);
        a->terms_xml = col(st, 5);
        a->desc_xml = col(st, 6);
        a->image = col(st, 7);
        a->image_mb = sqlite3_column_int64(st, 8);
        a->req.type = (vws_lease_type)sqlite3_column_int(st, 9);
        a->req.start = sqlite3_column_int64(st, 10);
        a->req.end = sqlite3_column_int64(st, 11);
        a->req.duration = sqlite3_column_int64(st, 12);
        a->nodes = sqlite3_column_int(st, 13);
        a->req.nodes = a->nodes;
        a->req.mem_mb = sqlite3_column_int64(st, 14);
        a->req.cpu_pct = sqlite3_column_int64(st, 15);
        a->req.image = a->image;
        a->req.image_mb = a->image_mb;
        a->booked_start = sqlite3_column_int64(st, 16);
        a->booked_end = sqlite3_column_int64(st, 17);
        mem = col(st, 18);
        members_parse(a, mem ? mem : "");
        free(mem);
        a->created = sqlite3_column_int64(st, 19);
        a->creator = col(st, 20);
        a->fqans = col(st, 21);
        if (!a->owner || !a->terms_xml || !a->image) {
            VWS_ERROR("agreement '%s' in the database is damaged: skipped", a->key);
            agreement_free(a);
            continue;
        }
        a->next = f->agreements;
        f->agreements = a;
    }
    sqlite3_finalize(st);
    return 0;
}

/* ---- calls to Managers and the Repository ------------------------------ */

static struct soap *
client(struct vws_factory *f, const char *key, unsigned timeout_s)
{
    return vws_service_client(&f->gsi, timeout_s, key);
}

enum mgr_call { M_DEPLOY, M_START, M_STOP, M_UNDEPLOY };

/* One call to the Manager at URL on workspace KEY.  "Already" answers
 * (deployed, running, not running) count as success: the calls are
 * idempotent for the orchestration. */
static int
manager_call(struct vws_factory *f, const char *url, const char *key, enum mgr_call c)
{
    struct soap *soap = client(f, key, 600);
    enum xsd__boolean yes = xsd__boolean__true_;
    static const char *const names[] = { "deploy", "start", "stop", "undeploy" };
    int rc;

    if (!soap)
        return -1;
    switch (c) {
    case M_DEPLOY: {
        struct _mgr__Deploy q = { &yes, NULL };
        struct _mgr__DeployResponse a = { 0 };
        rc = soap_call___mgr__Deploy(soap, url, NULL, &q, &a);
        break;
    }
    case M_START: {
        struct _mgr__Start q;
        struct _mgr__StartResponse a = { 0 };
        memset(&q, 0, sizeof(q));
        rc = soap_call___mgr__Start(soap, url, NULL, &q, &a);
        break;
    }
    case M_STOP: {
        unsigned t = f->stop_timeout_s;
        struct _mgr__Stop q = { &t };
        struct _mgr__StopResponse a = { 0 };
        rc = soap_call___mgr__Stop(soap, url, NULL, &q, &a);
        break;
    }
    default: {
        struct _mgr__Undeploy q = { &yes, NULL };
        struct _mgr__UndeployResponse a = { 0 };
        rc = soap_call___mgr__Undeploy(soap, url, NULL, &q, &a);
        break;
    }
    }
    if (rc != SOAP_OK) {
        const char **s = soap_faultstring(soap);
        const char *text = s && *s ? *s : "";
        if ((c == M_DEPLOY && strstr(text, "already deployed")) ||
            (c == M_START && strstr(text, "already running")) ||
            (c == M_STOP && strstr(text, "not running")) ||
            (c == M_UNDEPLOY && strstr(text, "no such workspace"))) {
            vws_soap_free(soap);
            return 0;
        }
        {
            char what[256];
            snprintf(what, sizeof(what), "%s of workspace '%s' at '%s'", names[c], key, url);
            vws_soap_call_failed(soap, what);
        }
        vws_soap_free(soap);
        return -1;
    }
    vws_soap_free(soap);
    return 0;
}

static int
image_size_mb(struct vws_factory *f, const char *name, int64_t *mb)
{
    struct soap *soap = client(f, NULL, 30);
    struct _repo__GetImageTemplate q = { (char *)name };
    struct _repo__GetImageTemplateResponse a = { 0 };
    uint64_t bytes;

    if (!soap)
        return -1;
    if (soap_call___repo__GetImageTemplate(soap, f->repository_url, NULL, &q, &a)) {
        char what[256];
        snprintf(what, sizeof(what), "image template '%s'", name);
        vws_soap_call_failed(soap, what);
        vws_soap_free(soap);
        return -1;
    }
    bytes = a.vws__imageTemplate->size +
            (a.vws__imageTemplate->initrd ? a.vws__imageTemplate->initrd->size : 0);
    *mb = (int64_t)((bytes + (1u << 20) - 1) >> 20);
    if (*mb < 1)
        *mb = 1;
    vws_soap_free(soap);
    return 0;
}

static int
repo_register(struct vws_factory *f, const char *owner, struct vws__VirtualWorkspaceType *ws,
              struct vws__DeploymentRequestType *req, vws_time termination, char *key_out)
{
    struct soap *soap = client(f, NULL, 30);
    struct _repo__Register q = { 0 };
    struct _repo__RegisterResponse a = { 0 };

    if (!soap)
        return -1;
    q.vws__virtualWorkspace = ws;
    q.vws__deploymentRequest = req;
    q.owner = (char *)owner;
    q.terminationTime = termination > 0 ? vws_soap_time(soap, termination) : NULL;
    if (soap_call___repo__Register(soap, f->repository_url, NULL, &q, &a)) {
        vws_soap_call_failed(soap, "registering a workspace with the repository");
        vws_soap_free(soap);
        return -1;
    }
    vws_strlcpy(key_out, a.key, VWS_UUID_BUFSIZE);
    vws_soap_free(soap);
    return 0;
}

/* Tell the Repository that workspace KEY is lost (its host stopped
 * answering): corrupted with REASON, its lock and addresses taken back. */
static void
repo_lost(struct vws_factory *f, const char *key, const char *reason)
{
    struct soap *soap = client(f, key, 30);
    struct _repo__ReportState q = { 0 };
    struct _repo__ReportStateResponse a;

    memset(&a, 0, sizeof(a));
    if (!soap)
        return;
    q.state = vws__StateType__corrupted;
    q.reason = (char *)reason;
    if (soap_call___repo__ReportState(soap, f->repository_url, NULL, &q, &a)) {
        char what[128];
        snprintf(what, sizeof(what), "declaring workspace '%.64s' lost", key);
        vws_soap_call_failed(soap, what);
        VWS_WARN("%s", vws_error_message());
    }
    vws_soap_free(soap);
}

static void
repo_destroy(struct vws_factory *f, const char *key)
{
    struct soap *soap = client(f, key, 30);
    struct _wsrl2__Destroy q;
    struct _wsrl2__DestroyResponse a;

    memset(&q, 0, sizeof(q));
    memset(&a, 0, sizeof(a));
    if (!soap)
        return;
    if (soap_call___repo__Destroy(soap, f->repository_url, NULL, &q, &a)) {
        char what[128];
        snprintf(what, sizeof(what), "destroying workspace '%.64s'", key);
        vws_soap_call_failed(soap, what);
        VWS_WARN("%s", vws_error_message());
    }
    vws_soap_free(soap);
}

/* ---- actions: threads that talk to Managers ----------------------------- */

enum action_kind { ACT_PRESTAGE, ACT_START, ACT_END };

struct action {
    struct vws_factory *f;
    enum action_kind kind;
    char key[VWS_UUID_BUFSIZE];     /* the agreement */
    uint64_t xfer;                  /* prestage: the transfer it stands for, or 0 */
    uint64_t more[16];              /* prestage: more transfers done with it */
    size_t n_more;
    int host;                       /* prestage: the slot */
    bool terminated;                /* end: early */
};

static char *
url_of_slot(struct vws_factory *f, int slot)
{
    struct host *h = host_of_slot(f, slot);
    return h ? vws_strdup(h->url) : NULL;
}

/* Deploy (if needed) and optionally start node I of agreement KEY. */
static int
node_up(struct vws_factory *f, const char *akey, int i, bool start)
{
    struct agreement *a;
    char key[VWS_UUID_BUFSIZE], *url;
    bool deployed;
    int rc = 0;

    pthread_mutex_lock(&f->lock);
    /* one action at a time on a node: a pre-deploy and the start's deploy
     * must not both check it out */
    while ((a = find_agreement(f, akey)) && i < a->nodes && a->m[i].busy)
        pthread_cond_wait(&f->member_free, &f->lock);
    if (!a || !live(a) || i >= a->nodes || a->m[i].host < 0) {
        pthread_mutex_unlock(&f->lock);
        return 0;
    }
    a->m[i].busy = true;
    vws_strlcpy(key, a->m[i].key, sizeof(key));
    deployed = a->m[i].deployed;
    url = url_of_slot(f, a->m[i].host);
    pthread_mutex_unlock(&f->lock);
    if (!url) {
        vws_report_error(VWS_ERR_STATE, "node %d of agreement '%s' has no host", i, akey);
        rc = -1;
        goto out;
    }
    if (!deployed && (rc = manager_call(f, url, key, M_DEPLOY)) == 0) {
        pthread_mutex_lock(&f->lock);
        if ((a = find_agreement(f, akey))) {
            a->m[i].deployed = true;
            save_agreement(f, a);
        }
        pthread_mutex_unlock(&f->lock);
    }
    if (rc == 0 && start && (rc = manager_call(f, url, key, M_START)) == 0) {
        vws_time now = vws_time_now_ms();
        pthread_mutex_lock(&f->lock);
        if ((a = find_agreement(f, akey))) {
            a->m[i].state = vws__StateType__running;
            a->m[i].ready = now;
            VWS_INFO("agreement '%s': node %d (workspace '%s') running, %+lld ms from its "
                     "start", akey, i, key, (long long)(now - a->booked_start));
            save_agreement(f, a);
        }
        pthread_mutex_unlock(&f->lock);
    }
out:
    pthread_mutex_lock(&f->lock);
    if ((a = find_agreement(f, akey)) && i < a->nodes)
        a->m[i].busy = false;
    pthread_cond_broadcast(&f->member_free);
    pthread_mutex_unlock(&f->lock);
    free(url);
    return rc;
}

static void
node_down(struct vws_factory *f, const char *akey, int i)
{
    struct agreement *a;
    char key[VWS_UUID_BUFSIZE], *url;
    bool deployed;

    pthread_mutex_lock(&f->lock);
    while ((a = find_agreement(f, akey)) && i < a->nodes && a->m[i].busy)
        pthread_cond_wait(&f->member_free, &f->lock);
    if (!a || i >= a->nodes || a->m[i].host < 0) {
        pthread_mutex_unlock(&f->lock);
        return;
    }
    vws_strlcpy(key, a->m[i].key, sizeof(key));
    deployed = a->m[i].deployed;
    url = url_of_slot(f, a->m[i].host);
    pthread_mutex_unlock(&f->lock);
    if (url && deployed) {
        if (manager_call(f, url, key, M_STOP) < 0)
            VWS_WARN("%s", vws_error_message());
        if (manager_call(f, url, key, M_UNDEPLOY) < 0)
            VWS_WARN("%s", vws_error_message());
    }
    pthread_mutex_lock(&f->lock);
    if ((a = find_agreement(f, akey))) {
        a->m[i].deployed = false;
        if (a->m[i].state != vws__StateType__corrupted)
            a->m[i].state = vws__StateType__shutdown;
    }
    pthread_mutex_unlock(&f->lock);
    free(url);
}

struct node_job {
    struct vws_factory *f;
    char key[VWS_UUID_BUFSIZE];
    int node;
    bool up, start;
    int rc;
    char *error;
};

static void *
node_thread(void *arg)
{
    struct node_job *j = arg;

    if (j->up) {
        j->rc = node_up(j->f, j->key, j->node, j->start);
        if (j->rc < 0)
            j->error = vws_strdup(vws_error_message());
    } else {
        node_down(j->f, j->key, j->node);
    }
    return NULL;
}

/* Run node jobs for every node of agreement KEY at once (nodes start
 * together: a 2-node reservation is ready at T on both hosts). */
static void
all_nodes(struct vws_factory *f, const char *key, int nodes, bool up, bool start,
          int only_host)
{
    struct node_job jobs[MAX_NODES];
    pthread_t t[MAX_NODES];
    bool started[MAX_NODES] = { false };
    struct agreement *a;

    for (int i = 0; i < nodes; i++) {
        pthread_mutex_lock(&f->lock);
        a = find_agreement(f, key);
        bool skip = !a || i >= a->nodes || (only_host >= 0 && a->m[i].host != only_host);
        pthread_mutex_unlock(&f->lock);
        if (skip)
            continue;
        jobs[i] = (struct node_job){ f, "", i, up, start, 0, NULL };
        vws_strlcpy(jobs[i].key, key, sizeof(jobs[i].key));
        started[i] = pthread_create(&t[i], NULL, node_thread, &jobs[i]) == 0;
        if (!started[i])
            node_thread(&jobs[i]);
    }
    for (int i = 0; i < nodes; i++) {
        if (started[i])
            pthread_join(t[i], NULL);
        if (up && (started[i] || jobs[i].error) && jobs[i].rc < 0) {
            VWS_WARN("agreement '%s': node %d: %s", key, i, jobs[i].error ? jobs[i].error : "");
            pthread_mutex_lock(&f->lock);
            if ((a = find_agreement(f, key)) && i < a->nodes) {
                a->m[i].state = vws__StateType__corrupted;
                if (!a->reason)
                    set_text(&a->reason, jobs[i].error);
                save_agreement(f, a);
            }
            pthread_mutex_unlock(&f->lock);
        }
        if (started[i] || jobs[i].error)
            free(jobs[i].error);
    }
}

static void *
action_thread(void *arg)
{
    struct action *x = arg;
    struct vws_factory *f = x->f;
    struct agreement *a;
    int nodes = 0;

    pthread_mutex_lock(&f->lock);
    if ((a = find_agreement(f, x->key)))
        nodes = a->nodes;
    pthread_mutex_unlock(&f->lock);
    switch (x->kind) {
    case ACT_PRESTAGE:
        all_nodes(f, x->key, nodes, true, false, x->host);
        if (x->xfer)
            vws_orch_transfer_done(f->orch, x->xfer, 1);
        for (size_t i = 0; i < x->n_more; i++)
            vws_orch_transfer_done(f->orch, x->more[i], 1);
        break;
    case ACT_START:
        all_nodes(f, x->key, nodes, true, true, -1);
        break;
    case ACT_END:
        all_nodes(f, x->key, nodes, false, false, -1);
        pthread_mutex_lock(&f->lock);
        if ((a = find_agreement(f, x->key)) && live(a)) {
            a->state = x->terminated ? AGR_TERMINATED : AGR_COMPLETED;
            save_agreement(f, a);
            VWS_INFO("agreement '%s' %s", a->key, x->terminated ? "terminated" : "completed");
        }
        pthread_mutex_unlock(&f->lock);
        break;
    }
    pthread_mutex_lock(&f->lock);
    f->actions--;
    pthread_cond_broadcast(&f->idle);
    pthread_mutex_unlock(&f->lock);
    free(x);
    return NULL;
}

static struct action *act_new(struct vws_factory *f, enum action_kind kind, const char *key,
                              uint64_t xfer, int host, bool terminated);
static void act_go(struct vws_factory *f, struct action *x);

/* Start an action (F->lock held). */
static void
act(struct vws_factory *f, enum action_kind kind, const char *key, uint64_t xfer, int host,
    bool terminated)
{
    act_go(f, act_new(f, kind, key, xfer, host, terminated));
}

static struct action *
act_new(struct vws_factory *f, enum action_kind kind, const char *key, uint64_t xfer, int host,
        bool terminated)
{
    struct action *x = vws_calloc(1, sizeof(*x));

    (void)f;
    x->f = f;
    x->kind = kind;
    vws_strlcpy(x->key, key, sizeof(x->key));
    x->xfer = xfer;
    x->host = host;
    x->terminated = terminated;
    return x;
}

/* Run X in a thread of its own (F->lock held). */
static void
act_go(struct vws_factory *f, struct action *x)
{
    pthread_attr_t attr;
    pthread_t t;

    f->actions++;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, action_thread, x) != 0) {
        f->actions--;
        VWS_ERROR("cannot start an action thread for agreement '%s'", x->key);
        free(x);
    }
    pthread_attr_destroy(&attr);
}

/* Keep the staging part of PLAN (the rest is in the agreement's own
 * fields): a copy of what is there, so an agreement costs what it holds. */
static void
keep_plan(struct agreement *a, const struct vws_orch_lease *plan)
{
    free(a->staging);
    a->staging = NULL;
    a->n_staging = plan->n_staging;
    if (plan->n_staging) {
        a->staging = vws_calloc(plan->n_staging, sizeof(*a->staging));
        memcpy(a->staging, plan->staging, plan->n_staging * sizeof(*a->staging));
    }
}

static struct agreement *
agreement_of_lease(struct vws_factory *f, uint64_t lease)
{
    for (struct agreement *a = f->agreements; a; a = a->next)
        if (a->lease == lease && live(a))
            return a;
    return NULL;
}

/* ---- the orchestrator's ops (its thread) -------------------------------- */

static void
op_prestage(void *ctx, uint64_t xfer, size_t host, const char *image)
{
    struct vws_factory *f = ctx;
    bool any = false;

    pthread_mutex_lock(&f->lock);
    for (struct agreement *a = f->agreements; a && !f->closing; a = a->next) {
        bool here = false;
        if (!live(a) || strcmp(a->image, image) != 0)
            continue;
        if (a->admitting) {
            bool mine = false;
            for (int i = 0; i < a->nodes; i++)
                mine = mine || a->m[i].host == (int)host;
            if (mine && !any && a->n_xfer_due < VWS_N_ELEMENTS(a->xfer_due)) {
                a->xfer_due[a->n_xfer_due++] = xfer;   /* done after its pre-deploy */
                any = true;
            }
            continue;
        }
        for (int i = 0; i < a->nodes; i++)
            here = here || (a->m[i].host == (int)host && !a->m[i].deployed);
        if (here) {
            VWS_INFO("agreement '%s': prestaging '%s' on host slot %zu", a->key, image, host);
            /* the first one reports the transfer done */
            act(f, ACT_PRESTAGE, a->key, any ? 0 : xfer, (int)host, false);
            any = true;
        }
    }
    pthread_mutex_unlock(&f->lock);
    if (!any)
        vws_orch_transfer_done(f->orch, xfer, 1);
}

static void
op_start(void *ctx, uint64_t lease, int nodes, const size_t *hosts)
{
    struct vws_factory *f = ctx;
    struct agreement *a;

    pthread_mutex_lock(&f->lock);
    if (!f->closing && (a = agreement_of_lease(f, lease))) {
        for (int i = 0; i < nodes && i < a->nodes; i++)
            if (a->m[i].host < 0)
                a->m[i].host = (int)hosts[i];
        if (a->admitting) {
            a->start_due = true;    /* started when the admission ends */
            pthread_mutex_unlock(&f->lock);
            return;
        }
        a->state = AGR_OBSERVED;
        a->booked_start = vws_time_now_ms();
        save_agreement(f, a);
        VWS_INFO("agreement '%s' starts: %d node(s)", a->key, a->nodes);
        act(f, ACT_START, a->key, 0, -1, false);
    }
    pthread_mutex_unlock(&f->lock);
}

static void
op_end(void *ctx, uint64_t lease, int nodes, const size_t *hosts)
{
    struct vws_factory *f = ctx;
    struct agreement *a;

    (void)nodes;
    (void)hosts;
    pthread_mutex_lock(&f->lock);
    if (!f->closing && (a = agreement_of_lease(f, lease)) && a->admitting) {
        a->end_due = true;
    } else if (!f->closing && a) {
        VWS_INFO("agreement '%s' ends", a->key);
        act(f, ACT_END, a->key, 0, -1, false);
    }
    pthread_mutex_unlock(&f->lock);
}

static void
op_rejected(void *ctx, uint64_t lease, const char *reason)
{
    struct vws_factory *f = ctx;
    struct agreement *a;

    pthread_mutex_lock(&f->lock);
    if ((a = agreement_of_lease(f, lease))) {
        a->state = AGR_TERMINATED;
        set_text(&a->reason, reason);
        save_agreement(f, a);
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- status ------------------------------------------------------------- */

static char *
dup_or_null(struct soap *soap, const char *s)
{
    return s ? soap_strdup(soap, s) : NULL;
}

/* The stored terms as a deployment request in SOAP's memory (parsed from
 * the records' text: agreements keep no gSOAP context of their own). */
static struct vws__DeploymentRequestType *
terms_copy(struct soap *soap, const char *xml)
{
    struct vws_doc doc = VWS_DOC_INIT;
    struct vws__DeploymentRequestType *d = soap_new_vws__DeploymentRequestType(soap, 1), *s;

    if (vws_doc_parse(&doc, "agreement terms", xml, strlen(xml), VWS_DOC_DEPLOYMENT) < 0) {
        VWS_ERROR("%s", vws_error_message());
        d->imageTemplate = soap_strdup(soap, "?");
        d->nodes = 1;
        d->memory = 1;
        d->cpuPercent = 1;
        d->end = soap_new_vws__EndType(soap, 1);
        d->end->__union_EndType = SOAP_UNION__vws__union_EndType_duration;
        d->end->union_EndType.duration = soap_strdup(soap, "PT0S");
        return d;
    }
    s = doc.u.deployment;
    d->imageTemplate = dup_or_null(soap, s->imageTemplate);
    d->nodes = s->nodes;
    d->memory = s->memory;
    d->cpuPercent = s->cpuPercent;
    if (s->vcpus) {
        d->vcpus = soap_malloc(soap, sizeof(*d->vcpus));
        *d->vcpus = *s->vcpus;
    }
    if (s->immediate) {
        d->immediate = soap_malloc(soap, sizeof(*d->immediate));
        *d->immediate = *s->immediate;
    }
    if (s->start) {
        d->start = soap_new_vws__StartType(soap, 1);
        d->start->__union_StartType = s->start->__union_StartType;
        if (s->start->__union_StartType == SOAP_UNION__vws__union_StartType_exact) {
            d->start->union_StartType.exact = dup_or_null(soap, s->start->union_StartType.exact);
        } else {
            struct vws__EventWindowType *w = s->start->union_StartType.window;
            d->start->union_StartType.window = soap_new_vws__EventWindowType(soap, 1);
            d->start->union_StartType.window->earliest = dup_or_null(soap, w->earliest);
            d->start->union_StartType.window->latest = dup_or_null(soap, w->latest);
            d->start->union_StartType.window->event = dup_or_null(soap, w->event);
        }
    }
    if (s->end) {
        d->end = soap_new_vws__EndType(soap, 1);
        d->end->__union_EndType = s->end->__union_EndType;
        if (s->end->__union_EndType == SOAP_UNION__vws__union_EndType_duration)
            d->end->union_EndType.duration = dup_or_null(soap, s->end->union_EndType.duration);
        else
            d->end->union_EndType.exact = dup_or_null(soap, s->end->union_EndType.exact);
    }
    vws_doc_release(&doc);
    return d;
}

static void
fill_status(struct vws_factory *f, struct agreement *a, struct soap *soap,
            struct agr__AgreementStatusType *out)
{
    memset(out, 0, sizeof(*out));
    out->key = soap_strdup(soap, a->key);
    out->owner = soap_strdup(soap, a->owner);
    out->broker = a->broker ? soap_strdup(soap, a->broker) : NULL;
    out->state = (enum agr__AgreementStateType)a->state;
    out->reason = a->reason ? soap_strdup(soap, a->reason) : NULL;
    out->terms = terms_copy(soap, a->terms_xml);
    if (a->booked_start > 0)
        out->start = vws_soap_time(soap, a->booked_start);
    if (a->booked_end > 0 && a->booked_end != VWS_TIME_NEVER)
        out->end = vws_soap_time(soap, a->booked_end);
    out->__sizestaging = (int)a->n_staging;
    if (a->n_staging) {
        out->staging = soap_new_agr__StagingType(soap, (int)a->n_staging);
        for (size_t i = 0; i < a->n_staging; i++) {
            struct host *h = host_of_slot(f, (int)a->staging[i].host);
            out->staging[i].host = soap_strdup(soap, h ? h->name : "?");
            out->staging[i].image = soap_strdup(soap, a->staging[i].image);
            out->staging[i].start = vws_soap_time(soap, a->staging[i].start);
            out->staging[i].end = vws_soap_time(soap, a->staging[i].end);
        }
    }
    out->__sizemember = a->nodes;
    out->member = soap_new_agr__MemberType(soap, a->nodes ? a->nodes : 1);
    for (int i = 0; i < a->nodes; i++) {
        struct agr__MemberType *m = &out->member[i];
        struct host *h = a->m[i].host >= 0 ? host_of_slot(f, a->m[i].host) : NULL;
        m->key = soap_strdup(soap, a->m[i].key);
        m->node = (unsigned)i;
        vws_soap_epr(soap, &m->workspace, f->repository_url, a->m[i].key);
        m->host = h ? soap_strdup(soap, h->name) : NULL;
        m->state = soap_malloc(soap, sizeof(*m->state));
        *m->state = (enum vws__StateType)a->m[i].state;
        if (a->m[i].ready > 0)
            m->ready = vws_soap_time(soap, a->m[i].ready);
    }
    out->created = vws_soap_time(soap, a->created);
}

/* ---- admission ---------------------------------------------------------- */

struct count_arg {
    struct vws_factory *f;
};

static bool
has_fqan(const char *lines, const char *group)
{
    char *copy, *save = NULL;
    bool hit = false;

    if (!lines)
        return false;
    copy = vws_strdup(lines);
    for (char *t = strtok_r(copy, "\n", &save); t && !hit; t = strtok_r(NULL, "\n", &save))
        hit = vws_policy_fqan_matches(group, t) != 0;
    free(copy);
    return hit;
}

/* Live workspaces (nodes) created by DN, or by callers in FQAN group
 * (F->lock held by the caller of vws_policy_check). */
static unsigned
count_live(void *arg, const char *dn, const char *fqan)
{
    struct vws_factory *f = ((struct count_arg *)arg)->f;
    unsigned n = 0;

    for (struct agreement *a = f->agreements; a; a = a->next) {
        if (!live(a))
            continue;
        if ((dn && a->creator && strcmp(a->creator, dn) == 0) ||
            (fqan && has_fqan(a->fqans, fqan)))
            n += (unsigned)a->nodes;
    }
    return n;
}

static int
to_ms(const char *text, vws_time *out)
{
    struct vws_datetime dt;

    if (vws_datetime_parse(text, &dt) < 0)
        return -1;
    *out = vws_datetime_to_ms(&dt);
    return 0;
}

static int
duration_ms(const char *text, vws_time *out)
{
    struct vws_duration d;
    int64_t s;

    if (vws_duration_parse(text, &d) < 0 || vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS, &s, NULL) < 0)
        return -1;
    *out = s * 1000;
    return 0;
}

/* The lease the request asks for. */
static int
lease_from(const struct vws__DeploymentRequestType *r, vws_time now, vws_lease_request *q)
{
    vws_time start = -1, end = -1, dur = -1;

    memset(q, 0, sizeof(*q));
    if (r->end && r->end->__union_EndType == SOAP_UNION__vws__union_EndType_duration) {
        if (duration_ms(r->end->union_EndType.duration, &dur) < 0)
            return -1;
    } else if (r->end && to_ms(r->end->union_EndType.exact, &end) < 0) {
        return -1;
    }
    if (r->start && r->start->__union_StartType == SOAP_UNION__vws__union_StartType_exact) {
        if (to_ms(r->start->union_StartType.exact, &start) < 0)
            return -1;
        q->type = VWS_LEASE_AR;
        q->start = start;
        q->end = end > 0 ? end : start + dur;
        q->duration = q->end - q->start;
    } else if (r->start) {
        vws_time lo, hi;
        if (to_ms(r->start->union_StartType.window->earliest, &lo) < 0 ||
            to_ms(r->start->union_StartType.window->latest, &hi) < 0)
            return -1;
        q->type = VWS_LEASE_AR_WINDOW;
        q->start = lo;
        q->end = hi;
        q->duration = dur > 0 ? dur : end - hi;
    } else {
        q->type = r->immediate && *r->immediate == xsd__boolean__true_ ? VWS_LEASE_IMMEDIATE
                                                                       : VWS_LEASE_ASAP;
        q->start = -1;
        q->end = -1;
        q->duration = dur > 0 ? dur : end - now;
    }
    if (q->duration <= 0) {
        vws_report_error(VWS_ERR_INVALID, "the requested end is not after the start");
        return -1;
    }
    if ((q->type == VWS_LEASE_AR || q->type == VWS_LEASE_AR_WINDOW) && q->start < now) {
        vws_report_error(VWS_ERR_INVALID, "the requested start is in the past");
        return -1;
    }
    q->nodes = (int)r->nodes;
    q->mem_mb = r->memory;
    q->cpu_pct = r->cpuPercent ? r->cpuPercent : 100;
    return 0;
}

/* A document's XML through the document layer: validated like any input
 * (schema and rules), the text kept for the records. */
static char *
checked(enum vws_doc_kind kind, struct soap *soap, void *x, bool validate)
{
    struct vws_doc doc = { kind, soap, { x } }, parsed = VWS_DOC_INIT;
    struct vws_buf b = VWS_BUF_INIT;
    char *text;

    if (vws_doc_serialize(&doc, &b) < 0) {
        vws_buf_release(&b);
        return NULL;
    }
    text = vws_buf_detach(&b, NULL);
    if (validate) {
        if (vws_doc_parse(&parsed, vws_doc_kind_name(kind), text, strlen(text), kind) < 0) {
            free(text);
            return NULL;
        }
        vws_doc_release(&parsed);
    }
    return text;
}

static struct vws__VirtualWorkspaceType *
default_workspace(struct soap *soap)
{
    struct vws__VirtualWorkspaceType *w = soap_new_vws__VirtualWorkspaceType(soap, 1);
    struct vws__NetworkType *net = soap_new_vws__NetworkType(soap, 1);

    w->category = soap_new_vws__CategoryChoiceType(soap, 1);
    w->category->__union_CategoryChoiceType = SOAP_UNION__vws__union_CategoryChoiceType_vm;
    w->category->union_CategoryChoiceType.vm = soap_new_vws__VMCategoryType(soap, 1);
    w->category->union_CategoryChoiceType.vm->vmm = vws__VMMType__qemu;
    net->__sizenic = 1;
    net->nic = soap_new_vws__NICType(soap, 1);
    net->nic->name = soap_strdup(soap, "eth0");
    net->nic->method = vws__IPMethodType__pool;
    w->network = net;
    return w;
}

int
vws_factory_admit(struct vws_factory *f, const struct vws_identity *caller,
                  const char *owner, const char *broker,
                  struct vws__VirtualWorkspaceType *ws,
                  struct vws__DeploymentRequestType *req,
                  struct soap *soap, struct agr__AgreementStatusType *out)
{
    struct agreement *a = vws_calloc(1, sizeof(*a));
    struct vws_orch_lease plan;
    vws_time now = vws_time_now_ms();
    int registered = 0;

    policy_refresh(f);
    if (!ws)
        ws = default_workspace(soap);
    if (!(a->desc_xml = checked(VWS_DOC_WORKSPACE, soap, ws, false)) ||
        !(a->terms_xml = checked(VWS_DOC_DEPLOYMENT, soap, req, true)))
        goto fail;
    if (req->nodes < 1 || req->nodes > MAX_NODES) {
        vws_report_error(VWS_ERR_LIMIT, "%u nodes: this site takes 1 to %d per agreement",
                         req->nodes, MAX_NODES);
        goto fail;
    }
    if (lease_from(req, now, &a->req) < 0)
        goto fail;
    if (f->policy) {
        struct vws_policy_request pr = { req->nodes, req->memory, a->req.duration / 1000 };
        struct count_arg ca = { f };
        int rc;
        pthread_mutex_lock(&f->lock);
        rc = vws_policy_check(f->policy, caller, &pr, count_live, &ca);
        pthread_mutex_unlock(&f->lock);
        if (rc < 0)
            goto fail;
    }
    a->image = vws_strdup(req->imageTemplate);
    if (image_size_mb(f, a->image, &a->image_mb) < 0)
        goto fail;
    a->req.image = a->image;
    a->req.image_mb = a->image_mb;
    a->nodes = (int)req->nodes;
    a->owner = vws_strdup(owner);
    a->broker = broker ? vws_strdup(broker) : NULL;
    a->creator = vws_strdup(caller->dn);
    {
        struct vws_buf fb = VWS_BUF_INIT;
        for (size_t i = 0; i < caller->n_fqans; i++)
            vws_buf_addf(&fb, "%s%s", i ? "\n" : "", caller->fqans[i]);
        vws_buf_addch(&fb, '\0');
        a->fqans = vws_buf_detach(&fb, NULL);
    }
    a->created = now;
    vws_uuid_generate_string(a->key);
    for (int i = 0; i < a->nodes; i++)
        a->m[i].host = -1;

    /* admission: the scheduler books the time, or says why not */
    if (vws_orch_submit(f->orch, &a->req, &plan) < 0)
        goto fail;
    if (plan.state == VWS_LEASE_REJECTED) {
        vws_report_error(VWS_ERR_STATE, "rejected: %s", plan.reason);
        goto fail;
    }
    a->lease = plan.id;
    keep_plan(a, &plan);
    a->booked_start = plan.start;
    a->booked_end = plan.end;
    for (int i = 0; i < a->nodes && i < plan.nodes; i++)
        a->m[i].host = (int)plan.hosts[i];

    /* listed at once, so that the orchestrator's start or end (which may
     * come while the Repository registers the nodes) finds it */
    a->state = AGR_PENDING;
    a->admitting = true;
    pthread_mutex_lock(&f->lock);
    a->next = f->agreements;
    f->agreements = a;
    pthread_mutex_unlock(&f->lock);

    /* one workspace per node: all or nothing */
    for (int i = 0; i < a->nodes; i++) {
        vws_time term = a->booked_end > 0 && a->booked_end != VWS_TIME_NEVER
                        ? a->booked_end + 3600 * 1000 : 0;
        char key[VWS_UUID_BUFSIZE];
        if (repo_register(f, a->owner, ws, req, term, key) < 0)
            goto unwind;
        pthread_mutex_lock(&f->lock);
        vws_strlcpy(a->m[i].key, key, sizeof(a->m[i].key));
        registered++;
        pthread_mutex_unlock(&f->lock);
    }
    pthread_mutex_lock(&f->lock);
    a->admitting = false;
    if (a->start_due) {
        a->state = AGR_OBSERVED;
        a->booked_start = vws_time_now_ms();
        VWS_INFO("agreement '%s' starts: %d node(s)", a->key, a->nodes);
        act(f, ACT_START, a->key, 0, -1, false);
    } else if (a->req.type == VWS_LEASE_AR || a->req.type == VWS_LEASE_AR_WINDOW) {
        /* a reservation's nodes are deployed now, well before their start
         * (staged and bound: at T only the start is left) */
        struct action *x = act_new(f, ACT_PRESTAGE, a->key, 0, -1, false);
        VWS_INFO("agreement '%s': prestaging: its %d node(s) deployed ahead of the start",
                 a->key, a->nodes);
        memcpy(x->more, a->xfer_due, a->n_xfer_due * sizeof(uint64_t));
        x->n_more = a->n_xfer_due;
        a->n_xfer_due = 0;
        act_go(f, x);
    }
    if (a->end_due)
        act(f, ACT_END, a->key, 0, -1, false);
    save_agreement(f, a);
    fill_status(f, a, soap, out);
    pthread_mutex_unlock(&f->lock);
    VWS_INFO("agreement '%s' for '%s'%s%s: %s lease %llu, %d node(s) of '%s'", a->key, a->owner,
             broker ? " by broker " : "", broker ? broker : "",
             vws_lease_type_name(a->req.type), (unsigned long long)a->lease, a->nodes, a->image);
    return 0;
unwind:
    {
        vws_error_code code = vws_error_code_last();
        char *msg = vws_strdup(vws_error_message());
        char keys[MAX_NODES][VWS_UUID_BUFSIZE];

        /* unlisted first: the cancel's end op must not find it */
        pthread_mutex_lock(&f->lock);
        for (struct agreement **p = &f->agreements; *p; p = &(*p)->next) {
            if (*p == a) {
                *p = a->next;
                break;
            }
        }
        for (int i = 0; i < registered; i++)
            memcpy(keys[i], a->m[i].key, sizeof(keys[i]));
        pthread_mutex_unlock(&f->lock);
        vws_orch_cancel(f->orch, a->lease);
        for (int i = 0; i < registered; i++)
            repo_destroy(f, keys[i]);
        vws_report_error(code, "%s", msg);
        free(msg);
    }
fail:
    agreement_free(a);
    return -1;
}

/* ---- agreement operations ---------------------------------------------- */

int
vws_factory_agreement(struct vws_factory *f, const char *key, enum vws_agreement_op op,
                      vws_factory_authorize_fn authorize, void *arg,
                      struct soap *soap, struct agr__AgreementStatusType *out)
{
    struct agreement *a;
    uint64_t lease;
    int rc = 0;

    pthread_mutex_lock(&f->lock);
    a = find_agreement(f, key);
    if (!a || a->admitting || (authorize && !authorize(arg, a->owner, a->broker))) {
        pthread_mutex_unlock(&f->lock);
        vws_report_error(VWS_ERR_NOT_FOUND, "no such agreement '%s'", key);
        return -1;
    }
    lease = a->lease;
    switch (op) {
    case VWS_AGR_STATUS:
        break;
    case VWS_AGR_TERMINATE:
        if (!live(a)) {
            vws_report_error(VWS_ERR_STATE, "agreement '%s' is already over", key);
            rc = -1;
            break;
        }
        /* over first, so that the cancel's end op does not end it twice */
        set_text(&a->reason, "terminated by its owner or broker");
        a->state = AGR_TERMINATED;
        save_agreement(f, a);
        act(f, ACT_END, key, 0, -1, true);
        pthread_mutex_unlock(&f->lock);
        vws_orch_cancel(f->orch, lease);
        pthread_mutex_lock(&f->lock);
        break;
    case VWS_AGR_SIGNAL:
        if (!a || a->req.type != VWS_LEASE_AR_WINDOW || a->state != AGR_PENDING) {
            vws_report_error(VWS_ERR_STATE, "agreement '%s' does not wait for an event", key);
            rc = -1;
            break;
        }
        pthread_mutex_unlock(&f->lock);
        rc = vws_orch_signal(f->orch, lease);
        pthread_mutex_lock(&f->lock);
        break;
    }
    if (rc == 0 && (a = find_agreement(f, key))) {
        struct vws_orch_lease plan;
        if (live(a) && vws_orch_get(f->orch, a->lease, &plan) == 0) {
            keep_plan(a, &plan);
            if (plan.start > 0)
                a->booked_start = plan.start;
            if (plan.end > 0)
                a->booked_end = plan.end;
        }
        fill_status(f, a, soap, out);
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int
vws_factory_list(struct vws_factory *f, vws_factory_authorize_fn authorize, void *arg,
                 struct soap *soap, struct agr__AgreementStatusType **out, int *n)
{
    int count = 0, k = 0;

    pthread_mutex_lock(&f->lock);
    for (struct agreement *a = f->agreements; a; a = a->next)
        count++;
    *out = soap_new_agr__AgreementStatusType(soap, count ? count : 1);
    for (struct agreement *a = f->agreements; a; a = a->next)
        if (!a->admitting && (!authorize || authorize(arg, a->owner, a->broker)))
            fill_status(f, a, soap, &(*out)[k++]);
    pthread_mutex_unlock(&f->lock);
    *n = k;
    return 0;
}

/* ---- hosts -------------------------------------------------------------- */

static void
fill_host(struct vws_factory *f, const struct host *h, struct soap *soap,
          struct fac__HostType *out)
{
    unsigned n = 0;

    for (struct agreement *a = f->agreements; a; a = a->next)
        for (int i = 0; live(a) && i < a->nodes; i++)
            n += a->m[i].host == h->slot;
    memset(out, 0, sizeof(*out));
    out->name = soap_strdup(soap, h->name);
    out->url = soap_strdup(soap, h->url);
    out->state = (enum fac__HostStateType)h->state;
    out->vms = h->vms;
    out->memory = h->memory;
    out->lastHeartbeat = vws_soap_time(soap, h->last);
    out->workspaces = n;
    out->reason = h->reason ? soap_strdup(soap, h->reason) : NULL;
}

int
vws_factory_register_host(struct vws_factory *f, const char *name, const char *url,
                          unsigned vms, unsigned memory_mb, unsigned *heartbeat_s)
{
    struct host *h;
    bool fresh = false;

    if (strncmp(url, "https://", 8) != 0 || strlen(url) > 1024) {
        vws_report_error(VWS_ERR_INVALID_ARG, "manager URL '%s' is not https://HOST:PORT/PATH",
                         url);
        return -1;
    }
    pthread_mutex_lock(&f->lock);
    if (!(h = find_host(f, name))) {
        bool used[1024] = { false };
        int slot = -1;
        for (struct host *o = f->hosts; o; o = o->next)
            if (o->slot >= 0 && o->slot < 1024)
                used[o->slot] = true;
        for (size_t s = 0; s < f->site.hosts && s < 1024; s++)
            if (!used[s]) {
                slot = (int)s;
                break;
            }
        if (slot < 0) {
            pthread_mutex_unlock(&f->lock);
            vws_report_error(VWS_ERR_LIMIT, "the site is full: %zu hosts", f->site.hosts);
            return -1;
        }
        h = vws_calloc(1, sizeof(*h));
        h->name = vws_strdup(name);
        h->slot = slot;
        h->state = HOST_ACTIVE;
        h->next = f->hosts;
        f->hosts = h;
        fresh = true;
    }
    if (strcmp(h->url ? h->url : "", url) != 0)
        set_text(&h->url, url);
    h->vms = vms;
    h->memory = memory_mb;
    h->last = vws_time_now_ms();
    if (h->state == HOST_DOWN) {
        VWS_INFO("host '%s' answers again: active", name);
        h->state = HOST_ACTIVE;
        set_text(&h->reason, NULL);
        fresh = true;
    }
    if (fresh) {
        save_host(f, h);
        VWS_INFO("host '%s' registered at '%s' (slot %d)", name, url, h->slot);
    }
    {
        int slot = h->slot;
        bool avail = h->state == HOST_ACTIVE;
        pthread_mutex_unlock(&f->lock);
        if (fresh)
            vws_orch_set_host_available(f->orch, (size_t)slot, avail);
    }
    *heartbeat_s = f->heartbeat_s;
    return 0;
}

int
vws_factory_drain_host(struct vws_factory *f, const char *name, struct soap *soap,
                       struct fac__HostType *out)
{
    struct host *h;
    int slot;

    pthread_mutex_lock(&f->lock);
    if (!(h = find_host(f, name))) {
        pthread_mutex_unlock(&f->lock);
        vws_report_error(VWS_ERR_NOT_FOUND, "no such host '%s'", name);
        return -1;
    }
    h->state = HOST_DRAINING;
    set_text(&h->reason, "drained by an admin");
    save_host(f, h);
    slot = h->slot;
    fill_host(f, h, soap, out);
    pthread_mutex_unlock(&f->lock);
    vws_orch_set_host_available(f->orch, (size_t)slot, false);
    VWS_INFO("host '%s' drained: no new leases", name);
    return 0;
}

int
vws_factory_remove_host(struct vws_factory *f, const char *name, struct soap *soap,
                        struct fac__HostType *out)
{
    struct host *h;

    pthread_mutex_lock(&f->lock);
    if (!(h = find_host(f, name))) {
        pthread_mutex_unlock(&f->lock);
        vws_report_error(VWS_ERR_NOT_FOUND, "no such host '%s'", name);
        return -1;
    }
    fill_host(f, h, soap, out);
    if (out->workspaces > 0) {
        pthread_mutex_unlock(&f->lock);
        vws_report_error(VWS_ERR_STATE, "host '%s' still has %u workspace(s): drain it and "
                         "wait for them to end", name, out->workspaces);
        return -1;
    }
    for (struct host **p = &f->hosts; *p; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            break;
        }
    }
    delete_host(f, name);
    {
        int slot = h->slot;
        free(h->name);
        free(h->url);
        free(h->reason);
        free(h);
        pthread_mutex_unlock(&f->lock);
        vws_orch_set_host_available(f->orch, (size_t)slot, false);
    }
    VWS_INFO("host '%s' removed", name);
    return 0;
}

int
vws_factory_hosts(struct vws_factory *f, struct soap *soap, struct fac__HostType **out, int *n)
{
    int count = 0, k = 0;

    pthread_mutex_lock(&f->lock);
    for (struct host *h = f->hosts; h; h = h->next)
        count++;
    *out = soap_new_fac__HostType(soap, count ? count : 1);
    for (struct host *h = f->hosts; h; h = h->next)
        fill_host(f, h, soap, &(*out)[k++]);
    pthread_mutex_unlock(&f->lock);
    *n = k;
    return 0;
}

static int
list_images(struct vws_factory *f, struct soap *soap, char ***names, int *n)
{
    struct soap *c = client(f, NULL, 30);
    struct _repo__ListImages q;
    struct _repo__ListImagesResponse a;

    memset(&q, 0, sizeof(q));
    memset(&a, 0, sizeof(a));
    *n = 0;
    *names = NULL;
    if (!c)
        return -1;
    if (soap_call___repo__ListImages(c, f->repository_url, NULL, &q, &a)) {
        vws_soap_call_failed(c, "listing the image pool");
        vws_soap_free(c);
        return -1;
    }
    *names = soap_malloc(soap, sizeof(char *) * (size_t)(a.__sizeimageTemplate + 1));
    for (int i = 0; i < a.__sizeimageTemplate; i++)
        (*names)[i] = soap_strdup(soap, a.vws__imageTemplate[i].name);
    *n = a.__sizeimageTemplate;
    vws_soap_free(c);
    return 0;
}

int
vws_factory_properties(struct vws_factory *f, struct soap *soap,
                       struct fac__FactoryPropertiesType *out)
{
    memset(out, 0, sizeof(*out));
    out->__sizevmm = 1;
    out->vmm = soap_malloc(soap, sizeof(char *));
    out->vmm[0] = soap_strdup(soap, "qemu");
    out->strategy = soap_strdup(soap, f->strategy);
    out->hosts = (unsigned)f->site.hosts;
    out->vmsPerHost = (unsigned)f->site.vms_per_host;
    out->memoryPerHost = (unsigned)f->site.memory_mb;
    if (list_images(f, soap, &out->template_, &out->__sizetemplate_) < 0)
        VWS_WARN("%s", vws_error_message());
    pthread_mutex_lock(&f->lock);
    if (f->policy) {
        char **d = vws_policy_describe(f->policy);
        int n = 0;
        while (d && d[n])
            n++;
        out->__sizelimit = n;
        out->limit = soap_malloc(soap, sizeof(char *) * (size_t)(n ? n : 1));
        for (int i = 0; i < n; i++)
            out->limit[i] = soap_strdup(soap, d[i]);
        vws_policy_describe_free(d);
    }
    pthread_mutex_unlock(&f->lock);
    return vws_factory_hosts(f, soap, &out->host_, &out->__sizehost);
}

const char *
vws_factory_repository_url(struct vws_factory *f)
{
    return f->repository_url;
}

/* Reload the policy file if it changed since the last load (called under
 * no lock, before each admission).  A broken file keeps the last good
 * policy: say why. */
static void
policy_refresh(struct vws_factory *f)
{
    struct stat sb;
    struct vws_policy *p;

    if (!f->policy_file)
        return;
    if (stat(f->policy_file, &sb) < 0) {
        VWS_WARN("policy file '%s': %s: the last good policy stays", f->policy_file,
                 strerror(errno));
        return;
    }
    pthread_mutex_lock(&f->lock);
    if (sb.st_mtim.tv_sec == f->policy_mtime.tv_sec &&
        sb.st_mtim.tv_nsec == f->policy_mtime.tv_nsec) {
        pthread_mutex_unlock(&f->lock);
        return;
    }
    f->policy_mtime = sb.st_mtim;
    pthread_mutex_unlock(&f->lock);
    if (!(p = vws_policy_load(f->policy_file))) {
        VWS_ERROR("%s: the last good policy stays", vws_error_message());
        return;
    }
    VWS_INFO("policy '%s' loaded", f->policy_file);
    vws_factory_set_policy(f, p);
}

int
vws_factory_set_policy_file(struct vws_factory *f, const char *path)
{
    struct stat sb;
    struct vws_policy *p;

    if (!(p = vws_policy_load(path)))
        return -1;
    free(f->policy_file);
    f->policy_file = vws_strdup(path);
    if (stat(path, &sb) == 0)
        f->policy_mtime = sb.st_mtim;
    vws_factory_set_policy(f, p);
    return 0;
}

void
vws_factory_set_policy(struct vws_factory *f, struct vws_policy *p)
{
    struct vws_policy *old;

    pthread_mutex_lock(&f->lock);
    old = f->policy;
    f->policy = p;
    pthread_mutex_unlock(&f->lock);
    vws_policy_free(old);
}

/* ---- the host monitor -------------------------------------------------- */

static void *
monitor(void *arg)
{
    struct vws_factory *f = arg;

    pthread_mutex_lock(&f->lock);
    while (!f->closing) {
        struct timespec until;
        vws_time now = vws_time_now_ms();
        int down[64];
        size_t n_down = 0;
        uint64_t cancel[256];
        size_t n_cancel = 0;
        struct { char key[VWS_UUID_BUFSIZE]; char why[200]; } lost[64];
        size_t n_lost = 0;

        for (struct host *h = f->hosts; h; h = h->next) {
            if (h->state == HOST_DOWN || now - h->last <= (vws_time)f->host_timeout_s * 1000)
                continue;
            h->state = HOST_DOWN;
            free(h->reason);
            h->reason = vws_asprintf("no heartbeat for %u s", f->host_timeout_s);
            save_host(f, h);
            VWS_WARN("host '%s' stopped answering (%s): down", h->name, h->reason);
            if (n_down < 64)
                down[n_down++] = h->slot;
            for (struct agreement *a = f->agreements; a; a = a->next) {
                bool hit = false;
                for (int i = 0; live(a) && i < a->nodes; i++) {
                    if (a->m[i].host == h->slot) {
                        a->m[i].state = vws__StateType__corrupted;
                        a->m[i].deployed = false;
                        hit = true;
                        if (n_lost < 64) {
                            vws_strlcpy(lost[n_lost].key, a->m[i].key, sizeof(lost[n_lost].key));
                            snprintf(lost[n_lost].why, sizeof(lost[n_lost].why),
                                     "its host '%.100s' stopped answering", h->name);
                            n_lost++;
                        }
                    }
                }
                if (hit) {
                    free(a->reason);
                    a->reason = vws_asprintf("host '%s' stopped answering: its node(s) are "
                                             "lost, the lease is released", h->name);
                    a->state = AGR_TERMINATED;
                    save_agreement(f, a);
                    VWS_WARN("agreement '%s': %s", a->key, a->reason);
                    act(f, ACT_END, a->key, 0, -1, true);
                    if (n_cancel < 256)
                        cancel[n_cancel++] = a->lease;
                }
            }
        }
        pthread_mutex_unlock(&f->lock);
        for (size_t i = 0; i < n_down; i++)
            vws_orch_set_host_available(f->orch, (size_t)down[i], false);
        for (size_t i = 0; i < n_cancel; i++)
            vws_orch_cancel(f->orch, cancel[i]);
        for (size_t i = 0; i < n_lost; i++)
            repo_lost(f, lost[i].key, lost[i].why);
        pthread_mutex_lock(&f->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!f->closing)
            pthread_cond_timedwait(&f->wake, &f->lock, &until);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* ---- open, restore, close ---------------------------------------------- */

static void
restore(struct vws_factory *f)
{
    vws_time now = vws_time_now_ms();

    for (size_t s = 0; s < f->site.hosts; s++) {
        struct host *h = host_of_slot(f, (int)s);
        vws_orch_set_host_available(f->orch, s, h && h->state == HOST_ACTIVE);
    }
    for (struct agreement *a = f->agreements; a; a = a->next) {
        struct vws_orch_lease plan;
        vws_lease_request r = a->req;
        size_t hosts[MAX_NODES];

        if (!live(a))
            continue;
        if (a->booked_end > 0 && a->booked_end != VWS_TIME_NEVER && a->booked_end <= now) {
            /* it ended while we were away */
            VWS_INFO("agreement '%s' ended while the factory was stopped", a->key);
            pthread_mutex_lock(&f->lock);
            act(f, ACT_END, a->key, 0, -1, false);
            pthread_mutex_unlock(&f->lock);
            continue;
        }
        for (int i = 0; i < a->nodes; i++)
            hosts[i] = a->m[i].host >= 0 ? (size_t)a->m[i].host : 0;
        if (a->req.type == VWS_LEASE_AR_WINDOW && a->state == AGR_PENDING) {
            r = a->req;                 /* still waiting for its event */
        } else if (a->booked_start > 0 && a->booked_end > 0 &&
                   a->booked_end != VWS_TIME_NEVER) {
            r.type = VWS_LEASE_AR;      /* its booked time, running or not */
            r.start = a->booked_start;
            r.end = a->booked_end;
            r.duration = r.end - r.start;
        } else {
            /* a queued ASAP lease: queued again */
            int rc = vws_orch_submit(f->orch, &a->req, &plan);
            pthread_mutex_lock(&f->lock);
            if (rc == 0 && plan.state != VWS_LEASE_REJECTED) {
                a->lease = plan.id;
                keep_plan(a, &plan);
            }
            pthread_mutex_unlock(&f->lock);
            continue;
        }
        if (vws_orch_restore(f->orch, &r, hosts, &plan) < 0 ||
            plan.state == VWS_LEASE_REJECTED) {
            free(a->reason);
            a->reason = vws_asprintf("could not be honoured after the factory restarted: %s",
                                     plan.state == VWS_LEASE_REJECTED ? plan.reason
                                                                      : vws_error_message());
            pthread_mutex_lock(&f->lock);
            a->state = AGR_TERMINATED;
            save_agreement(f, a);
            VWS_WARN("agreement '%s' %s", a->key, a->reason);
            act(f, ACT_END, a->key, 0, -1, true);
            pthread_mutex_unlock(&f->lock);
            continue;
        }
        pthread_mutex_lock(&f->lock);
        a->lease = plan.id;
        keep_plan(a, &plan);
        pthread_mutex_unlock(&f->lock);
        VWS_INFO("agreement '%s' kept across the restart: lease %llu from %lld", a->key,
                 (unsigned long long)a->lease, (long long)plan.start);
    }
}

struct vws_factory *
vws_factory_open(const struct vws_factory_options *o)
{
    struct vws_factory *f = vws_calloc(1, sizeof(*f));
    struct vws_db_options dbo = { 0 };
    struct vws_orch_ops ops = { op_prestage, op_start, op_end, op_rejected, NULL };

    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->idle, NULL);
    pthread_cond_init(&f->wake, NULL);
    pthread_cond_init(&f->member_free, NULL);
    f->site = o->site;
    f->strategy = vws_strdup(o->strategy);
    f->repository_url = vws_strdup(o->repository_url);
    f->public_url = vws_strdup(o->public_url);
    f->gsi.cert_dir = o->gsi->cert_dir ? vws_strdup(o->gsi->cert_dir) : NULL;
    f->gsi.vomsdir = o->gsi->vomsdir ? vws_strdup(o->gsi->vomsdir) : NULL;
    f->gsi.cert_file = o->gsi->cert_file ? vws_strdup(o->gsi->cert_file) : NULL;
    f->gsi.key_file = o->gsi->key_file ? vws_strdup(o->gsi->key_file) : NULL;
    f->heartbeat_s = o->heartbeat_s ? o->heartbeat_s : 5;
    f->host_timeout_s = o->host_timeout_s ? o->host_timeout_s : 3 * f->heartbeat_s;
    f->stop_timeout_s = o->stop_timeout_s ? o->stop_timeout_s : 10;
    dbo.what = "factory records";
    dbo.migrations = migrations;
    dbo.n_migrations = VWS_N_ELEMENTS(migrations);
    dbo.busy_timeout_ms = 10000;
    if (vws_db_open(&f->dbh, o->database, &dbo) < 0)
        goto fail;
    if (load_records(f) < 0)
        goto fail;
    ops.ctx = f;
    if (!(f->orch = vws_orch_new(&f->site, f->strategy, &ops)))
        goto fail;
    restore(f);
    if (pthread_create(&f->monitor, NULL, monitor, f) != 0) {
        vws_report_error(VWS_ERR_SYSTEM, "cannot start the host monitor");
        goto fail;
    }
    f->monitor_running = true;
    return f;
fail:
    vws_factory_close(f);
    return NULL;
}

void
vws_factory_close(struct vws_factory *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->closing = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
    if (f->monitor_running)
        pthread_join(f->monitor, NULL);
    /* actions finish (they may still tell the orchestrator), then the
     * orchestrator stops; its ops do nothing once closing is set */
    pthread_mutex_lock(&f->lock);
    while (f->actions > 0)
        pthread_cond_wait(&f->idle, &f->lock);
    pthread_mutex_unlock(&f->lock);
    vws_orch_free(f->orch);
    f->orch = NULL;
    while (f->agreements) {
        struct agreement *a = f->agreements;
        f->agreements = a->next;
        agreement_free(a);
    }
    while (f->hosts) {
        struct host *h = f->hosts;
        f->hosts = h->next;
        free(h->name);
        free(h->url);
        free(h->reason);
        free(h);
    }
    vws_policy_free(f->policy);
    free(f->policy_file);
    vws_db_close(&f->dbh);
    free(f->strategy);
    free(f->repository_url);
    free(f->public_url);
    vws_gsi_config_release(&f->gsi);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->idle);
    pthread_cond_destroy(&f->wake);
    pthread_cond_destroy(&f->member_free);
    free(f);
}
