/*
 * vws-manager — the Manager service daemon, one per VMM host: deploys
 * workspaces checked out of the Repository into libvirt domains, stages
 * their templates into the host's template cache over GridFTP, and drives
 * them.  The daemon conventions (config, pid file, signals, GSI, workers)
 * are common/daemon.c's; this file adds the [manager] section.
 * See vws-manager(8).
 */
#define VWS_MODULE "manager"
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"

#include "daemon.h"
#include "gsi.h"
#include "common/gridftp.h"
#include "manager/cache.h"
#include "manager/manager.h"
#include "manager/repoclient.h"
#include "manager/service.h"
#include "wsdl/soap.h"
#include "internal.h"

struct manager_config {
    struct vws_daemon_config daemon;
    char *repository_url;
    char *vmm_uri;
    char *state_dir;
    char *cache_dir;
    int64_t cache_size;
    int cache_policy;
    char *nic;
    bool kvm;
    int64_t shutdown_timeout;
    int64_t transfer_retries;
    char *vmm_faults;
    char *factory_url;
    char *public_url;
    int64_t vms;
    int64_t memory;
};

static const char *const policies[] = { "lru", "lfu", NULL };

static const struct vws_conf_option options[] = {
    VWS_DAEMON_CONF_OPTIONS(struct manager_config, daemon, "127.0.0.1:8445"),
    VWS_CONF_STRING_OPT("manager", "repository_url", struct manager_config, repository_url,
        "https://localhost:8444/vws/repository", "the site Repository this host works for"),
    VWS_CONF_STRING_OPT("manager", "vmm_uri", struct manager_config, vmm_uri,
        "qemu:///embed?root=" VWS_LOCALSTATEDIR "/libvirt",
        "the libvirt URI (qemu:///embed?root=DIR: QEMU inside this process, no daemon)"),
    VWS_CONF_PATH_OPT("manager", "state_dir", struct manager_config, state_dir,
        VWS_LOCALSTATEDIR "/manager", "the records (manager.db) and the instances"),
    VWS_CONF_PATH_OPT("manager", "cache_dir", struct manager_config, cache_dir,
        VWS_LOCALSTATEDIR "/cache", "the template cache"),
    VWS_CONF_SIZE_OPT("manager", "cache_size", struct manager_config, cache_size,
        "10G", INT64_C(1) << 20, INT64_C(1) << 44, "the template cache's size"),
    VWS_CONF_ENUM_OPT("manager", "cache_policy", struct manager_config, cache_policy,
        "lru", policies, "which unpinned template is evicted first: lru or lfu"),
    VWS_CONF_STRING_OPT("manager", "nic", struct manager_config, nic, "user",
        "how NICs attach: user, none, network:NAME or bridge:NAME"),
    VWS_CONF_BOOL_OPT("manager", "kvm", struct manager_config, kvm, "no",
        "KVM acceleration (no: TCG, which works everywhere)"),
    VWS_CONF_DURATION_OPT("manager", "shutdown_timeout", struct manager_config,
        shutdown_timeout, "30s", 1, 3600, "time a guest has to power off before it is destroyed"),
    VWS_CONF_INT_OPT("manager", "transfer_retries", struct manager_config, transfer_retries,
        "2", 0, 100, "further attempts after a failed template transfer"),
    VWS_CONF_STRING_OPT("manager", "vmm_faults", struct manager_config, vmm_faults, NULL,
        "tests only: VMM faults to inject, OP:NTH[:MESSAGE] joined by commas"),
    VWS_CONF_STRING_OPT("manager", "factory_url", struct manager_config, factory_url, NULL,
        "the site Factory to register with and heartbeat to (empty: none)"),
    VWS_CONF_STRING_OPT("manager", "public_url", struct manager_config, public_url,
        "https://localhost:8445/vws/manager", "this Manager's address, as the Factory calls it"),
    VWS_CONF_INT_OPT("manager", "vms", struct manager_config, vms, "2", 1, 1024,
        "VMs this host offers at once (told to the Factory)"),
    VWS_CONF_INT_OPT("manager", "memory", struct manager_config, memory, "4096", 64,
        INT64_C(1) << 30, "memory this host offers to VMs, MB (told to the Factory)"),
    VWS_CONF_END
};

static struct {
    struct vws_repoclient repo;
    struct vws_manager *manager;
    struct vws_manager_service service;
    struct manager_config *config;
    pthread_t heart;
    bool heart_running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* Register with the Factory, again every heartbeat interval it asks for;
 * a failure is logged when it starts and when it ends. */
static void *
heartbeat(void *arg)
{
    unsigned interval = 5;
    bool failing = false;

    (void)arg;
    pthread_mutex_lock(&g.lock);
    while (!g.stopping) {
        struct _fac__RegisterHost q = { 0 };
        struct _fac__RegisterHostResponse a = { 0 };
        struct timespec until;
        struct soap *soap;

        pthread_mutex_unlock(&g.lock);
        if ((soap = vws_service_client(&g.repo.gsi, 10, NULL))) {
            q.url = g.config->public_url;
            q.vms = (unsigned)g.config->vms;
            q.memory = (unsigned)g.config->memory;
            if (soap_call___fac__RegisterHost(soap, g.config->factory_url, NULL, &q, &a)) {
                vws_soap_call_failed(soap, "registering with the factory");
                if (!failing)
                    VWS_WARN("%s (retrying every %u s)", vws_error_message(), interval);
                failing = true;
            } else {
                if (failing || a.heartbeat != interval)
                    VWS_INFO("registered with the factory '%s' (heartbeat %u s)",
                             g.config->factory_url, a.heartbeat);
                failing = false;
                if (a.heartbeat >= 1 && a.heartbeat <= 3600)
                    interval = a.heartbeat;
            }
            vws_soap_free(soap);
        }
        pthread_mutex_lock(&g.lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += interval;
        if (!g.stopping)
            pthread_cond_timedwait(&g.wake, &g.lock, &until);
    }
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

static int
start(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    struct manager_config *c = config;
    const struct vws_gsi_config *gsi = vws_daemon_gsi(d);
    struct vws_manager_options o = { 0 };

    if (vws_repoclient_init(&g.repo, c->repository_url, gsi) < 0)
        return -1;
    /* Globus reads its trusted CAs only from the environment
     * (common/gridftp.h): set it before any thread starts */
    if (gsi->cert_dir && setenv("X509_CERT_DIR", gsi->cert_dir, 1) < 0) {
        vws_report_error(VWS_ERR_SYSTEM, "setenv X509_CERT_DIR failed");
        return -1;
    }
    o.vmm_uri = c->vmm_uri;
    o.vmm_faults = c->vmm_faults;
    o.state_dir = c->state_dir;
    o.cache_dir = c->cache_dir;
    o.cache_mb = (uint64_t)c->cache_size >> 20;
    o.cache_policy = (enum vws_cache_policy)c->cache_policy;
    o.nic_mode = c->nic;
    o.kvm = c->kvm;
    o.shutdown_timeout_ms = (unsigned)c->shutdown_timeout * 1000u;
    o.transfer_retries = (unsigned)c->transfer_retries;
    o.cert_dir = gsi->cert_dir;
    o.cert_file = gsi->cert_file;
    o.key_file = gsi->key_file;
    o.repo = &g.repo;
    if (!(g.manager = vws_manager_open(&o)))
        return -1;
    if (!vws_daemon_acl(d))
        VWS_WARN("no [acl] file: nobody is served");
    g.service.manager = g.manager;
    g.service.acl = vws_daemon_acl(d);
    service->serve = soap_serve;
    service->data = &g.service;
    g.config = c;
    if (c->factory_url) {
        if (pthread_create(&g.heart, NULL, heartbeat, NULL) != 0) {
            vws_report_error(VWS_ERR_SYSTEM, "cannot start the heartbeat thread");
            return -1;
        }
        g.heart_running = true;
    }
    VWS_INFO("manager: VMM '%s', cache '%s' (%lld MB, %s), repository '%s'",
             c->vmm_uri, c->cache_dir, (long long)(c->cache_size >> 20),
             policies[c->cache_policy], c->repository_url);
    return 0;
}

static void
stop(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    (void)config;
    (void)d;
    (void)service;
    if (g.heart_running) {
        pthread_mutex_lock(&g.lock);
        g.stopping = true;
        pthread_cond_signal(&g.wake);
        pthread_mutex_unlock(&g.lock);
        pthread_join(g.heart, NULL);
        g.heart_running = false;
    }
    vws_manager_close(g.manager);
    g.manager = NULL;
    vws_repoclient_free(&g.repo);
    vws_transfer_shutdown();
}

int
main(int argc, char **argv)
{
    static const struct vws_daemon_program program = {
        .name = "vws-manager",
        .summary = "the vws Manager service: workspaces on this VMM host",
        .version = PACKAGE_VERSION,
        .default_config = VWS_SYSCONFDIR "/manager.conf",
        .options = options,
        .config_size = sizeof(struct manager_config),
        .daemon_offset = offsetof(struct manager_config, daemon),
    };
    static const struct vws_daemon_hooks hooks = { start, stop };
    struct vws_daemon_service service = { 0 };

    return vws_daemon_main(&program, &hooks, &service, argc, argv);
}
