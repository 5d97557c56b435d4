/*
 * vws-factory — the Factory service daemon, one per site: admits workspace
 * requests and brokers' agreements through the scheduler, registers the
 * workspaces with the Repository, keeps the registry of the hosts'
 * Managers, and drives them on the real clock so that a reservation is
 * ready at its start.  The daemon conventions are common/daemon.c's; this
 * file adds the [factory] section.  See vws-factory(8).
 */
#define VWS_MODULE "factory"
#include <config.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"

#include "daemon.h"
#include "gsi.h"
#include "factory/factory.h"
#include "factory/service.h"
#include "internal.h"

struct factory_config {
    struct vws_daemon_config daemon;
    char *database;
    char *repository_url;
    char *public_url;
    char *policy_file;
    int strategy;
    int64_t hosts;
    int64_t vms_per_host;
    int64_t memory_per_host;
    int64_t cpu_per_host;
    int64_t bandwidth_mbps;
    int64_t cache_size;
    int cache_policy;
    int64_t local_copy;
    int64_t heartbeat;
    int64_t host_timeout;
    int64_t stop_timeout;
};

static const char *const strategies[] = { "jit", "aggressive", "hybrid", "job-style", NULL };
static const char *const policies[] = { "lru", "lfu", NULL };

static const struct vws_conf_option options[] = {
    VWS_DAEMON_CONF_OPTIONS(struct factory_config, daemon, "127.0.0.1:8443"),
    VWS_CONF_PATH_OPT("factory", "database", struct factory_config, database,
        VWS_LOCALSTATEDIR "/factory.db", "agreements and hosts (SQLite)"),
    VWS_CONF_STRING_OPT("factory", "repository_url", struct factory_config, repository_url,
        "https://localhost:8444/vws/repository", "the site Repository"),
    VWS_CONF_STRING_OPT("factory", "public_url", struct factory_config, public_url,
        "https://localhost:8443/vws/agreement", "the address put in agreement EPRs"),
    VWS_CONF_PATH_OPT("factory", "policy_file", struct factory_config, policy_file, NULL,
        "group policy limits, vws-policy(5) (empty: none)"),
    VWS_CONF_ENUM_OPT("factory", "strategy", struct factory_config, strategy, "hybrid",
        strategies, "image staging: jit, aggressive, hybrid or job-style"),
    VWS_CONF_INT_OPT("factory", "hosts", struct factory_config, hosts, "8", 1, 1024,
        "VMM hosts the site can have (slots Managers register into)"),
    VWS_CONF_INT_OPT("factory", "vms_per_host", struct factory_config, vms_per_host, "2", 1,
        1024, "VMs each host runs at once"),
    VWS_CONF_INT_OPT("factory", "memory_per_host", struct factory_config, memory_per_host,
        "4096", 64, INT64_C(1) << 30, "memory of each host for VMs, MB"),
    VWS_CONF_INT_OPT("factory", "cpu_per_host", struct factory_config, cpu_per_host, "200", 1,
        100000, "CPU of each host, percent (100 per core)"),
    VWS_CONF_INT_OPT("factory", "bandwidth_mbps", struct factory_config, bandwidth_mbps,
        "1000", 1, 1000000, "the link from the image repository, megabits per second"),
    VWS_CONF_INT_OPT("factory", "cache_size", struct factory_config, cache_size, "10240", 0,
        INT64_C(1) << 30, "each host's template cache, MB (as the Managers' cache_size)"),
    VWS_CONF_ENUM_OPT("factory", "cache_policy", struct factory_config, cache_policy, "lru",
        policies, "the hosts' cache policy (as the Managers')"),
    VWS_CONF_DURATION_OPT("factory", "local_copy", struct factory_config, local_copy, "0s", 0,
        3600, "time to make an instance from a cached template (0: copy-on-write)"),
    VWS_CONF_DURATION_OPT("factory", "heartbeat", struct factory_config, heartbeat, "5s", 1,
        3600, "how often Managers are told to register again"),
    VWS_CONF_DURATION_OPT("factory", "host_timeout", struct factory_config, host_timeout,
        "15s", 1, 86400, "a host silent this long is down"),
    VWS_CONF_DURATION_OPT("factory", "stop_timeout", struct factory_config, stop_timeout,
        "10s", 1, 3600, "time a guest has to power off at the end of its lease"),
    VWS_CONF_END
};

static struct {
    struct vws_factory *factory;
    struct vws_factory_service service;
} g;

static int
start(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    struct factory_config *c = config;
    struct vws_factory_options o = { 0 };

    o.database = c->database;
    o.repository_url = c->repository_url;
    o.public_url = c->public_url;
    o.gsi = vws_daemon_gsi(d);
    vws_site_defaults(&o.site);
    o.site.hosts = (size_t)c->hosts;
    o.site.vms_per_host = c->vms_per_host;
    o.site.memory_mb = c->memory_per_host;
    o.site.cpu_pct = c->cpu_per_host;
    o.site.bandwidth_mbps = (double)c->bandwidth_mbps;
    o.site.cache_mb = c->cache_size;
    o.site.cache_policy = c->cache_policy == 1 ? VWS_CACHE_LFU : VWS_CACHE_LRU;
    o.site.local_copy = c->local_copy * 1000;
    o.site.dedup = 1;
    o.strategy = strategies[c->strategy];
    o.heartbeat_s = (unsigned)c->heartbeat;
    o.host_timeout_s = (unsigned)c->host_timeout;
    o.stop_timeout_s = (unsigned)c->stop_timeout;
    if (!(g.factory = vws_factory_open(&o)))
        return -1;
    if (c->policy_file && vws_factory_set_policy_file(g.factory, c->policy_file) < 0)
        return -1;
    if (!vws_daemon_acl(d))
        VWS_WARN("no [acl] file: nobody is served");
    g.service.factory = g.factory;
    g.service.acl = vws_daemon_acl(d);
    g.service.public_url = c->public_url;
    service->serve = soap_serve;
    service->data = &g.service;
    VWS_INFO("factory: %lld host slots x %lld VMs, %s staging, repository '%s'%s%s",
             (long long)c->hosts, (long long)c->vms_per_host, strategies[c->strategy],
             c->repository_url, c->policy_file ? ", policy " : "",
             c->policy_file ? c->policy_file : "");
    return 0;
}

static void
stop(void *config, struct vws_daemon *d, struct vws_daemon_service *service)
{
    (void)config;
    (void)d;
    (void)service;
    vws_factory_close(g.factory);
    g.factory = NULL;
}

int
main(int argc, char **argv)
{
    static const struct vws_daemon_program program = {
        .name = "vws-factory",
        .summary = "the vws Factory service: admission, agreements, hosts, orchestration",
        .version = PACKAGE_VERSION,
        .default_config = VWS_SYSCONFDIR "/factory.conf",
        .options = options,
        .config_size = sizeof(struct factory_config),
        .daemon_offset = offsetof(struct factory_config, daemon),
    };
    static const struct vws_daemon_hooks hooks = { start, stop };
    struct vws_daemon_service service = { 0 };

    return vws_daemon_main(&program, &hooks, &service, argc, argv);
}
