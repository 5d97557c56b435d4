/*
 * vmm.c — the public side of the VMM driver table (see vmm.h).
 *
 * Each public call checks its arguments, then dispatches to the slot of
 * the connection's driver; an empty slot is "unsupported", named with the
 * operation and the driver.  The rules of a domain description (names,
 * paths, limits) live here, so every driver gets a checked spec.  The
 * graceful shutdown with its timeout is built here from the driver's
 * shutdown request, state and destroy slots, so drivers stay small and the
 * fault wrapper sees each step.
 */
#define VWS_MODULE "vmm"
#include <config.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xstime.h"
#include "manager/vmm.h"
#include "internal.h"

#define SHUTDOWN_POLL_MS 50

struct vws_vmm_conn {
    const struct vws_vmm_driver *driver;
    char *uri;
    void *priv;
};

struct vws_vmm_domain {
    struct vws_vmm_conn *conn;
    char *name;
    void *priv;
};

/* ---- names ------------------------------------------------------------ */

static const char *const state_names[VWS_VMM_N_STATES] = {
    [VWS_VMM_NOSTATE] = "nostate",
    [VWS_VMM_RUNNING] = "running",
    [VWS_VMM_PAUSED] = "paused",
    [VWS_VMM_SHUTTING_DOWN] = "shutting-down",
    [VWS_VMM_SHUTOFF] = "shutoff",
    [VWS_VMM_CRASHED] = "crashed",
    [VWS_VMM_SUSPENDED] = "suspended",
};

static const char *const op_names[VWS_VMM_N_OPS] = {
    [VWS_VMM_OP_DEFINE] = "define",
    [VWS_VMM_OP_LOOKUP] = "lookup",
    [VWS_VMM_OP_START] = "start",
    [VWS_VMM_OP_SHUTDOWN] = "shutdown",
    [VWS_VMM_OP_DESTROY] = "destroy",
    [VWS_VMM_OP_PAUSE] = "pause",
    [VWS_VMM_OP_RESUME] = "resume",
    [VWS_VMM_OP_SAVE] = "save",
    [VWS_VMM_OP_RESTORE] = "restore",
    [VWS_VMM_OP_STATE] = "state",
    [VWS_VMM_OP_LIST] = "list",
    [VWS_VMM_OP_UNDEFINE] = "undefine",
    [VWS_VMM_OP_XML] = "xml",
};

const char *
vws_vmm_state_name(enum vws_vmm_state state)
{
    return (unsigned)state < VWS_VMM_N_STATES ? state_names[state]
                                               : "unknown";
}

const char *
vws_vmm_op_name(enum vws_vmm_op op)
{
    return (unsigned)op < VWS_VMM_N_OPS ? op_names[op] : "unknown";
}

int
vws_vmm_op_parse(const char *name)
{
    for (int i = 0; name && i < VWS_VMM_N_OPS; i++)
        if (strcmp(name, op_names[i]) == 0)
            return i;
    return -1;
}

/* ---- the rules of a spec ---------------------------------------------- */

static bool
has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

bool
vws_vmm_name_is_valid(const char *name)
{
    size_t n;

    if (!name || !*name || name[0] == '.')
        return false;
    n = strnlen(name, VWS_VMM_MAX_NAME + 1);
    if (n > VWS_VMM_MAX_NAME)
        return false;
    return !has_control(name) && !strchr(name, '/') && !strchr(name, '\\');
}

/* Report why NAME is not valid. */
static int
bad_name(const char *name)
{
    if (!name || !*name) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing domain name");
    } else if (strnlen(name, VWS_VMM_MAX_NAME + 1) > VWS_VMM_MAX_NAME) {
        vws_report_error(VWS_ERR_LIMIT,
                         "domain name is longer than %d bytes",
                         VWS_VMM_MAX_NAME);
    } else if (has_control(name)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "domain name has a control character");
    } else {
        vws_report_error(VWS_ERR_SECURITY,
                         "domain name '%s' is not allowed: it contains '/' "
                         "or '\\' or starts with '.'", name);
    }
    return -1;
}

/* An optional absolute path WHAT. */
static int
check_path(const char *what, const char *path, bool required)
{
    if (!path) {
        if (!required)
            return 0;
        vws_report_error(VWS_ERR_INVALID_ARG, "missing %s path", what);
        return -1;
    }
    if (strnlen(path, VWS_VMM_MAX_PATH + 1) > VWS_VMM_MAX_PATH) {
        vws_report_error(VWS_ERR_LIMIT, "%s path is longer than %d bytes",
                         what, VWS_VMM_MAX_PATH);
        return -1;
    }
    if (has_control(path)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "%s path has a control character", what);
        return -1;
    }
    if (path[0] != '/') {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "%s path '%s' is not absolute", what, path);
        return -1;
    }
    return 0;
}

static bool
mac_is_valid(const char *mac)
{
    unsigned first = 0;

    if (strlen(mac) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (mac[i] != ':')
                return false;
        } else if (!isxdigit((unsigned char)mac[i])) {
            return false;
        }
    }
    first = (unsigned)strtoul(mac, NULL, 16);
    return (first & 1u) == 0;   /* not multicast */
}

/* A network or bridge name: printable, no '/', not too long. */
static bool
source_is_valid(const char *s)
{
    return s && *s && strlen(s) <= 64 && !has_control(s) && !strchr(s, '/');
}

char *
vws_vmm_spec_name(const struct vws_vmm_domain_spec *spec)
{
    char *name;

    if (!spec) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing domain description");
        return NULL;
    }
    if (spec->name) {
        if (!vws_vmm_name_is_valid(spec->name)) {
            bad_name(spec->name);
            return NULL;
        }
        return vws_strdup(spec->name);
    }
    if (!spec->workspace_key || !*spec->workspace_key) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "domain description has neither a name nor a "
                         "workspace key");
        return NULL;
    }
    name = vws_asprintf(VWS_VMM_NAME_PREFIX "%s", spec->workspace_key);
    if (!vws_vmm_name_is_valid(name)) {
        bad_name(name);
        VWS_FREE(name);
    }
    return name;
}

int
vws_vmm_spec_check(const struct vws_vmm_domain_spec *spec)
{
    char *name = vws_vmm_spec_name(spec);

    if (!name)
        return -1;
    free(name);
    if (spec->memory_mb == 0 || spec->memory_mb > VWS_VMM_MAX_MEMORY_MB) {
        vws_report_error(spec->memory_mb ? VWS_ERR_LIMIT : VWS_ERR_INVALID_ARG,
                         "memory of %u MB is out of range (1 to %u MB)",
                         spec->memory_mb, VWS_VMM_MAX_MEMORY_MB);
        return -1;
    }
    if (spec->vcpus == 0 || spec->vcpus > VWS_VMM_MAX_VCPUS) {
        vws_report_error(spec->vcpus ? VWS_ERR_LIMIT : VWS_ERR_INVALID_ARG,
                         "%u vCPUs is out of range (1 to %u)", spec->vcpus,
                         VWS_VMM_MAX_VCPUS);
        return -1;
    }
    if (spec->cpu_percent > 100) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "CPU share of %u%% is out of range (0 to 100)",
                         spec->cpu_percent);
        return -1;
    }
    if (spec->n_disks > VWS_VMM_MAX_DISKS ||
        (spec->n_disks > 0 && !spec->disks)) {
        vws_report_error(VWS_ERR_LIMIT, "%zu disks: at most %u", spec->n_disks,
                         VWS_VMM_MAX_DISKS);
        return -1;
    }
    for (size_t i = 0; i < spec->n_disks; i++) {
        const struct vws_vmm_disk *d = &spec->disks[i];
        if (check_path("disk", d->path, true) < 0)
            return -1;
        if ((unsigned)d->format >= VWS_VMM_DISK_N_FORMATS ||
            (unsigned)d->bus >= VWS_VMM_BUS_N) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "disk '%s' has an unknown format or bus",
                             d->path);
            return -1;
        }
    }
    if (check_path("CD-ROM", spec->cdrom, false) < 0 ||
        check_path("kernel", spec->kernel, false) < 0 ||
        check_path("initrd", spec->initrd, false) < 0 ||
        check_path("console log", spec->console_log, false) < 0)
        return -1;
    if (!spec->kernel && (spec->initrd || spec->cmdline)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "an initrd or a kernel command line needs a kernel");
        return -1;
    }
    if (spec->cmdline) {
        if (strnlen(spec->cmdline, VWS_VMM_MAX_CMDLINE + 1) >
            VWS_VMM_MAX_CMDLINE) {
            vws_report_error(VWS_ERR_LIMIT,
                             "kernel command line is longer than %d bytes",
                             VWS_VMM_MAX_CMDLINE);
            return -1;
        }
        if (has_control(spec->cmdline)) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "kernel command line has a control character");
            return -1;
        }
    }
    if (spec->n_nics > VWS_VMM_MAX_NICS || (spec->n_nics > 0 && !spec->nics)) {
        vws_report_error(VWS_ERR_LIMIT, "%zu network interfaces: at most %u",
                         spec->n_nics, VWS_VMM_MAX_NICS);
        return -1;
    }
    for (size_t i = 0; i < spec->n_nics; i++) {
        const struct vws_vmm_nic *nic = &spec->nics[i];
        if ((unsigned)nic->type >= VWS_VMM_NIC_N_TYPES) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "network interface %zu has an unknown type", i);
            return -1;
        }
        if (nic->type != VWS_VMM_NIC_USER && !source_is_valid(nic->source)) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "network interface %zu needs a network or "
                             "bridge name (printable, no '/', at most 64 "
                             "bytes)", i);
            return -1;
        }
        if (nic->mac && !mac_is_valid(nic->mac)) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "invalid MAC address '%s' (want "
                             "xx:xx:xx:xx:xx:xx, unicast)", nic->mac);
            return -1;
        }
    }
    return 0;
}

/* ---- connections ------------------------------------------------------ */

struct vws_vmm_conn *
vws_vmm_open_driver(const struct vws_vmm_driver *driver, const char *uri)
{
    struct vws_vmm_conn *conn;

    if (!driver || !driver->name) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing VMM driver");
        return NULL;
    }
    if (!uri || !*uri) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing VMM URI");
        return NULL;
    }
    if (!driver->open) {
        vws_report_error(VWS_ERR_UNSUPPORTED,
                         "VMM driver '%s' does not support open",
                         driver->name);
        return NULL;
    }
    conn = vws_calloc(1, sizeof(*conn));
    conn->driver = driver;
    conn->uri = vws_strdup(uri);
    if (driver->open(conn, uri) < 0) {
        free(conn->uri);
        free(conn);
        return NULL;
    }
    return conn;
}

struct vws_vmm_conn *
vws_vmm_open(const char *uri)
{
    return vws_vmm_open_driver(&vws_vmm_libvirt_driver, uri);
}

void
vws_vmm_close(struct vws_vmm_conn *conn)
{
    if (!conn)
        return;
    if (conn->driver->close)
        conn->driver->close(conn);
    free(conn->uri);
    free(conn);
}

const char *
vws_vmm_conn_uri(const struct vws_vmm_conn *conn)
{
    return conn ? conn->uri : NULL;
}

const struct vws_vmm_driver *
vws_vmm_conn_driver(const struct vws_vmm_conn *conn)
{
    return conn ? conn->driver : NULL;
}

void *
vws_vmm_conn_priv(const struct vws_vmm_conn *conn)
{
    return conn ? conn->priv : NULL;
}

void
vws_vmm_conn_set_priv(struct vws_vmm_conn *conn, void *priv)
{
    conn->priv = priv;
}

struct vws_vmm_conn *
vws_vmm_conn_new_wrapper(const struct vws_vmm_driver *driver,
                         const char *uri, void *priv)
{
    struct vws_vmm_conn *conn = vws_calloc(1, sizeof(*conn));

    conn->driver = driver;
    conn->uri = vws_strdup(uri);
    conn->priv = priv;
    return conn;
}

/* ---- dispatch helpers ------------------------------------------------- */

static int
unsupported(const struct vws_vmm_conn *conn, enum vws_vmm_op op)
{
    vws_report_error(VWS_ERR_UNSUPPORTED,
                     "VMM driver '%s' does not support %s",
                     conn->driver->name, vws_vmm_op_name(op));
    return -1;
}

static int
check_conn(const struct vws_vmm_conn *conn)
{
    if (!conn) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing VMM connection");
        return -1;
    }
    return 0;
}

static int
check_dom(const struct vws_vmm_domain *dom)
{
    if (!dom) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing domain");
        return -1;
    }
    return 0;
}

static struct vws_vmm_domain *
domain_new(struct vws_vmm_conn *conn, char *name)
{
    struct vws_vmm_domain *dom = vws_calloc(1, sizeof(*dom));

    dom->conn = conn;
    dom->name = name;
    return dom;
}

/* ---- domains ---------------------------------------------------------- */

struct vws_vmm_domain *
vws_vmm_define(struct vws_vmm_conn *conn,
               const struct vws_vmm_domain_spec *spec)
{
    struct vws_vmm_domain *dom;
    char *name;

    if (check_conn(conn) < 0 || vws_vmm_spec_check(spec) < 0)
        return NULL;
    if (!conn->driver->define) {
        unsupported(conn, VWS_VMM_OP_DEFINE);
        return NULL;
    }
    if (!(name = vws_vmm_spec_name(spec)))
        return NULL;
    dom = domain_new(conn, name);
    if (conn->driver->define(conn, spec, dom) < 0) {
        vws_vmm_domain_free(dom);
        return NULL;
    }
    return dom;
}

struct vws_vmm_domain *
vws_vmm_lookup(struct vws_vmm_conn *conn, const char *name)
{
    struct vws_vmm_domain *dom;

    if (check_conn(conn) < 0)
        return NULL;
    if (!vws_vmm_name_is_valid(name)) {
        bad_name(name);
        return NULL;
    }
    if (!conn->driver->lookup) {
        unsupported(conn, VWS_VMM_OP_LOOKUP);
        return NULL;
    }
    dom = domain_new(conn, vws_strdup(name));
    if (conn->driver->lookup(conn, dom) < 0) {
        vws_vmm_domain_free(dom);
        return NULL;
    }
    return dom;
}

void
vws_vmm_domain_free(struct vws_vmm_domain *dom)
{
    if (!dom)
        return;
    if (dom->priv && dom->conn->driver->domain_release)
        dom->conn->driver->domain_release(dom);
    free(dom->name);
    free(dom);
}

const char *
vws_vmm_domain_name(const struct vws_vmm_domain *dom)
{
    return dom ? dom->name : NULL;
}

struct vws_vmm_conn *
vws_vmm_domain_conn(const struct vws_vmm_domain *dom)
{
    return dom ? dom->conn : NULL;
}

void *
vws_vmm_domain_priv(const struct vws_vmm_domain *dom)
{
    return dom ? dom->priv : NULL;
}

void
vws_vmm_domain_set_priv(struct vws_vmm_domain *dom, void *priv)
{
    dom->priv = priv;
}

/* Dispatch a slot that takes only the domain. */
#define DOM_CALL(dom, slot, op) \
    do { \
        if (check_dom(dom) < 0) \
            return -1; \
        if (!(dom)->conn->driver->slot) \
            return unsupported((dom)->conn, (op)); \
        return (dom)->conn->driver->slot(dom); \
    } while (0)

int
vws_vmm_start(struct vws_vmm_domain *dom)
{
    DOM_CALL(dom, start, VWS_VMM_OP_START);
}

int
vws_vmm_destroy(struct vws_vmm_domain *dom)
{
    DOM_CALL(dom, destroy, VWS_VMM_OP_DESTROY);
}

int
vws_vmm_pause(struct vws_vmm_domain *dom)
{
    DOM_CALL(dom, pause, VWS_VMM_OP_PAUSE);
}

int
vws_vmm_resume(struct vws_vmm_domain *dom)
{
    DOM_CALL(dom, resume, VWS_VMM_OP_RESUME);
}

int
vws_vmm_undefine(struct vws_vmm_domain *dom)
{
    DOM_CALL(dom, undefine, VWS_VMM_OP_UNDEFINE);
}

int
vws_vmm_state(struct vws_vmm_domain *dom, enum vws_vmm_state *state)
{
    if (check_dom(dom) < 0)
        return -1;
    if (!state) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing state result");
        return -1;
    }
    if (!dom->conn->driver->state)
        return unsupported(dom->conn, VWS_VMM_OP_STATE);
    return dom->conn->driver->state(dom, state);
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int
vws_vmm_shutdown(struct vws_vmm_domain *dom, unsigned timeout_ms,
                 bool *forced)
{
    const struct vws_vmm_driver *drv;
    enum vws_vmm_state st;
    int64_t deadline;
    unsigned polls;

    if (forced)
        *forced = false;
    if (check_dom(dom) < 0)
        return -1;
    drv = dom->conn->driver;
    if (!drv->shutdown)
        return unsupported(dom->conn, VWS_VMM_OP_SHUTDOWN);
    if (!drv->state)
        return unsupported(dom->conn, VWS_VMM_OP_STATE);
    if (drv->state(dom, &st) < 0)
        return -1;
    if (st == VWS_VMM_SHUTOFF)
        return 0;
    /* a paused guest cannot see ACPI; a crashed one will not answer */
    if (st == VWS_VMM_RUNNING || st == VWS_VMM_SHUTTING_DOWN) {
        if (drv->shutdown(dom) < 0)
            return -1;
        deadline = vws_time_monotonic_ms() + timeout_ms;
        polls = timeout_ms / SHUTDOWN_POLL_MS + 2;
        for (unsigned i = 0; i < polls; i++) {
            if (drv->state(dom, &st) < 0)
                return -1;
            if (st == VWS_VMM_SHUTOFF)
                return 0;
            if (vws_time_monotonic_ms() >= deadline)
                break;
            sleep_ms(SHUTDOWN_POLL_MS);
        }
        VWS_INFO("domain '%s' did not shut down within %u ms: destroying it",
                 dom->name, timeout_ms);
    }
    if (!drv->destroy)
        return unsupported(dom->conn, VWS_VMM_OP_DESTROY);
    if (drv->destroy(dom) < 0)
        return -1;
    if (forced)
        *forced = true;
    return 0;
}

int
vws_vmm_save(struct vws_vmm_domain *dom, const char *path)
{
    if (check_dom(dom) < 0 || check_path("save", path, true) < 0)
        return -1;
    if (!dom->conn->driver->save)
        return unsupported(dom->conn, VWS_VMM_OP_SAVE);
    return dom->conn->driver->save(dom, path);
}

int
vws_vmm_restore(struct vws_vmm_domain *dom, const char *path)
{
    if (check_dom(dom) < 0 || check_path("save", path, true) < 0)
        return -1;
    if (!dom->conn->driver->restore)
        return unsupported(dom->conn, VWS_VMM_OP_RESTORE);
    return dom->conn->driver->restore(dom, path);
}

char *
vws_vmm_xml(struct vws_vmm_domain *dom)
{
    if (check_dom(dom) < 0)
        return NULL;
    if (!dom->conn->driver->xml) {
        unsupported(dom->conn, VWS_VMM_OP_XML);
        return NULL;
    }
    return dom->conn->driver->xml(dom);
}

static int
info_cmp(const void *a, const void *b)
{
    const struct vws_vmm_domain_info *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int
vws_vmm_list(struct vws_vmm_conn *conn, const char *prefix,
             struct vws_vmm_domain_info **list, size_t *n)
{
    struct vws_vmm_domain_info *all = NULL;
    size_t n_all = 0, kept = 0, plen = prefix ? strlen(prefix) : 0;

    if (check_conn(conn) < 0)
        return -1;
    if (!list || !n) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing list result");
        return -1;
    }
    *list = NULL;
    *n = 0;
    if (!conn->driver->list)
        return unsupported(conn, VWS_VMM_OP_LIST);
    if (conn->driver->list(conn, &all, &n_all) < 0)
        return -1;
    for (size_t i = 0; i < n_all; i++) {
        if (plen == 0 || strncmp(all[i].name, prefix, plen) == 0)
            all[kept++] = all[i];
        else
            free(all[i].name);
    }
    if (kept > 1)
        qsort(all, kept, sizeof(*all), info_cmp);
    if (kept == 0)
        VWS_FREE(all);
    *list = all;
    *n = kept;
    return 0;
}

void
vws_vmm_domain_info_free(struct vws_vmm_domain_info *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i].name);
    free(list);
}
