/*
 * vws-repository — the Repository service daemon: workspaces as WSRF
 * resources, the image pool, check-out locks and address leases, kept in
 * SQLite.  The daemon conventions (config, pid file, signals, GSI, the
 * bounded worker pool) are common/daemon.c's; this file adds the
 * [repository] section, opens the store, the workspace CA and the network
 * pools, and runs the sweeper that destroys expired workspaces.
 * See vws-repository(8).
 */
#define VWS_MODULE "repository"
#include <config.h>

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soapH.h"

#include "daemon.h"
#include "xstime.h"
#include "repository/netpool.h"
#include "repository/service.h"
#include "repository/store.h"
#include "repository/wsca.h"
#include "internal.h"

struct repo_config {
    struct vws_daemon_config daemon;
    char *database;
    char *public_url;
    char *pool_dir;
    char *default_pool;
    char *wsca_cert;
    char *wsca_key;
    int64_t default_lifetime;
    int64_t sweep_interval;
};

static const struct vws_conf_option options[] = {
    VWS_DAEMON_CONF_OPTIONS(struct repo_config, daemon, "127.0.0.1:8444"),
    VWS_CONF_PATH_OPT("repository", "database", struct repo_config, database,
        VWS_LOCALSTATEDIR "/repository.db", "the SQLite database of workspaces and images"),
    VWS_CONF_STRING_OPT("repository", "public_url", struct repo_config, public_url,
        "https://localhost:8444/vws/repository", "the address put in the EPRs handed out"),
    VWS_CONF_PATH_OPT("repository", "pool_dir", struct repo_config, pool_dir,
        VWS_SYSCONFDIR "/pools", "network pools, one NAME.pool file each, vws-netpool(5)"),
    VWS_CONF_STRING_OPT("repository", "default_pool", struct repo_config, default_pool,
        "default", "pool for NICs with method 'pool' and no association"),
    VWS_CONF_PATH_OPT("repository", "workspace_ca_cert", struct repo_config, wsca_cert,
        NULL, "certificate of the site workspace CA (empty: no workspace credentials)"),
    VWS_CONF_PATH_OPT("repository", "workspace_ca_key", struct repo_config, wsca_key,
        NULL, "key of the site workspace CA"),
    VWS_CONF_DURATION_OPT("repository", "default_lifetime", struct repo_config,
        default_lifetime, "7d", 0, INT64_C(3153600000),
        "termination time of a new workspace unless asked (0: never)"),
    VWS_CONF_DURATION_OPT("repository", "sweep_interval", struct repo_config,
        sweep_interval, "10s", 1, 86400, "how often expired workspaces are destroyed"),
    VWS_CONF_END
};

static struct {
    struct repo_config *config;
    struct vws_store *store;
    struct vws_wsca *wsca;
    struct vws_netpool **pools;
    size_t n_pools;
    struct vws_repository repo;
    pthread_t sweeper;
    int sweeper_running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* Scheduled termination: destroy what expired, every sweep_interval. */
static void *
sweeper(void *arg)
{
    pthread_mutex_lock(&g.lock);
    while (!g.stopping) {
        struct timespec until;
        struct vws_workspace *was = NULL;
        size_t n = 0;

        pthread_mutex_unlock(&g.lock);
        if (vws_store_sweep_expired(g.store, vws_time_now_ms(), &was, &n) < 0) {
            VWS_WARN("sweeping expired workspaces: %s", vws_error_message());
        } else {
            for (size_t i = 0; i < n; i++)
                VWS_INFO("workspace '%s' of '%s' reached its termination time: destroyed",
                         was[i].key, was[i].owner);
            vws_workspace_list_free(was, n);
        }
        pthread_mutex_lock(&g.lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += g.config->sweep_interval;
        if (!g.stopping)
            pthread_cond_timedwait(&g.wake, &g.lock, &until);
    }
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

static int
start(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    struct repo_config *c = config;
    struct vws_store_options so = { 0 };

    g.config = c;
    if (c->wsca_cert || c->wsca_key) {
        if (!c->wsca_cert || !c->wsca_key) {
            vws_report_error(VWS_ERR_CONFIG, "[repository] workspace_ca_cert and "
                                             "workspace_ca_key go together");
            return -1;
        }
        if (!(g.wsca = vws_wsca_open(c->wsca_cert, c->wsca_key, VWS_WSCA_KEY_EC_P256)))
            return -1;
        so.wsca = g.wsca;
    } else {
        VWS_WARN("no workspace CA configured: workspaces get no credentials of their own");
    }
    if (!(g.store = vws_store_open(c->database, &so)))
        return -1;
    if (vws_netpool_load_dir(c->pool_dir, &g.pools, &g.n_pools) < 0) {
        if (vws_error_code_last() != VWS_ERR_NOT_FOUND)
            return -1;
        VWS_WARN("%s: no network pools: NICs with method 'pool' cannot be checked out",
                 vws_error_message());
        g.pools = NULL;
        g.n_pools = 0;
    }
    if (!vws_daemon_acl(d))
        VWS_WARN("no [acl] file: only hosts and owners are served, and nobody may create");
    g.repo.store = g.store;
    g.repo.acl = vws_daemon_acl(d);
    g.repo.pools = g.pools;
    g.repo.n_pools = g.n_pools;
    g.repo.default_pool = c->default_pool;
    g.repo.public_url = c->public_url;
    g.repo.default_lifetime_s = c->default_lifetime;
    service->serve = soap_serve;
    service->data = &g.repo;
    if (pthread_create(&g.sweeper, NULL, sweeper, NULL) != 0) {
        vws_report_error(VWS_ERR_SYSTEM, "cannot start the sweeper thread");
        return -1;
    }
    g.sweeper_running = 1;
    VWS_INFO("repository: database '%s', %zu network pools, EPRs at '%s'",
             c->database, g.n_pools, c->public_url);
    return 0;
}

static void
stop(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    if (g.sweeper_running) {
        pthread_mutex_lock(&g.lock);
        g.stopping = 1;
        pthread_cond_signal(&g.wake);
        pthread_mutex_unlock(&g.lock);
        pthread_join(g.sweeper, NULL);
        g.sweeper_running = 0;
    }
    vws_netpool_free_all(g.pools, g.n_pools);
    vws_store_close(g.store);
    vws_wsca_free(g.wsca);
    g.pools = NULL;
    g.store = NULL;
    g.wsca = NULL;
}

int
main(int argc, char **argv)
{
    static const struct vws_daemon_program program = {
        .name = "vws-repository",
        .summary = "the vws Repository service: workspaces, the image pool, leases",
        .version = PACKAGE_VERSION,
        .default_config = VWS_SYSCONFDIR "/repository.conf",
        .options = options,
        .config_size = sizeof(struct repo_config),
        .daemon_offset = offsetof(struct repo_config, daemon),
    };
    static const struct vws_daemon_hooks hooks = { start, stop };
    struct vws_daemon_service service = { 0 };

    return vws_daemon_main(&program, &hooks, &service, argc, argv);
}
