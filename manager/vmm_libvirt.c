/*
 * vmm_libvirt.c — the libvirt driver of the VMM table (see vmm.h).
 *
 * One virConnectPtr per vws connection, one virDomainPtr per domain
 * handle.  Any libvirt URI works: "test:///default" (in memory, the unit
 * tests), "qemu:///system", and "qemu:///embed?root=DIR", the QEMU driver
 * running inside this process.  For the embedded driver this file prepares
 * DIR/etc/qemu.conf (root, no dynamic ownership, no security driver, stdio
 * to files so no virtlogd is needed), checks that the user 'libvirt-qemu'
 * exists (libvirt refuses to start without it), and runs libvirt's default
 * event loop in a thread while at least one embedded connection is open.
 *
 * Domain XML is written by vws_vmm_domain_xml() from a checked spec; every
 * value passes through vws_buf_add_xml_escaped(), so a hostile name or
 * path can never add an element.  libvirt's own error printing is
 * silenced: its message goes into our one error report instead.
 */
#define VWS_MODULE "vmm"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>

#include "manager/vmm.h"
#include "uuid.h"
#include "internal.h"

#define EMBED_PREFIX "qemu:///embed"
#define EMBED_USER "libvirt-qemu"

static const char qemu_conf[] =
    "# written by vws for the embedded QEMU driver (qemu:///embed):\n"
    "# no daemon, no virtlogd, no privilege separation.\n"
    "user = \"root\"\n"
    "group = \"root\"\n"
    "dynamic_ownership = 0\n"
    "security_driver = \"none\"\n"
    "stdio_handler = \"file\"\n";

struct lv_conn {
    virConnectPtr conn;
    bool embedded;
};

/* ---- process-wide libvirt set-up ---------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void
quiet_errors(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;          /* reported through virGetLastError() instead */
}

static void
lv_init(void)
{
    init_result = virInitialize();
    virSetErrorFunc(NULL, quiet_errors);
}

/* The event loop the embedded driver needs, shared by embedded
 * connections: started by the first, stopped by the last. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned ev_users;
static bool ev_registered;
static atomic_bool ev_quit;
static pthread_t ev_thread;

static void *
ev_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&ev_quit))
        if (virEventRunDefaultImpl() < 0)
            break;
    return NULL;
}

static void
ev_wake(int timer, void *opaque)
{
    (void)timer;
    (void)opaque;
}

static int
ev_start(void)
{
    int rc = 0;

    pthread_mutex_lock(&ev_lock);
    if (!ev_registered) {
        if (virEventRegisterDefaultImpl() < 0) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "cannot register libvirt's event loop: %s",
                             virGetLastErrorMessage());
            rc = -1;
            goto out;
        }
        ev_registered = true;
    }
    if (ev_users == 0) {
        atomic_store(&ev_quit, false);
        errno = pthread_create(&ev_thread, NULL, ev_main, NULL);
        if (errno != 0) {
            vws_report_system_error("cannot start libvirt's event thread");
            rc = -1;
            goto out;
        }
    }
    ev_users++;
out:
    pthread_mutex_unlock(&ev_lock);
    return rc;
}

static void
ev_stop(void)
{
    int timer;

    pthread_mutex_lock(&ev_lock);
    if (ev_users > 0 && --ev_users == 0) {
        atomic_store(&ev_quit, true);
        /* a timer due at once makes the loop return */
        timer = virEventAddTimeout(0, ev_wake, NULL, NULL);
        pthread_join(ev_thread, NULL);
        if (timer >= 0)
            virEventRemoveTimeout(timer);
    }
    pthread_mutex_unlock(&ev_lock);
}

/* ---- errors ----------------------------------------------------------- */

static vws_error_code
lv_code(void)
{
    virErrorPtr e = virGetLastError();

    if (!e)
        return VWS_ERR_IO;
    switch (e->code) {
    case VIR_ERR_NO_DOMAIN:
        return VWS_ERR_NOT_FOUND;
    case VIR_ERR_OPERATION_INVALID:
        return VWS_ERR_STATE;
    case VIR_ERR_NO_SUPPORT:
    case VIR_ERR_ARGUMENT_UNSUPPORTED:
        return VWS_ERR_UNSUPPORTED;
    case VIR_ERR_OPERATION_TIMEOUT:
        return VWS_ERR_TIMEOUT;
    case VIR_ERR_NO_MEMORY:
        return VWS_ERR_NOMEM;
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_INVALID_ARG:
        return VWS_ERR_INVALID_ARG;
    default:
        return VWS_ERR_IO;
    }
}

/* Report "cannot VERB domain 'NAME': <libvirt's message>". */
static int
dom_fail(const struct vws_vmm_domain *dom, const char *verb)
{
    vws_report_error(lv_code(), "cannot %s domain '%s': %s", verb,
                     vws_vmm_domain_name(dom), virGetLastErrorMessage());
    return -1;
}

static virConnectPtr
lv(const struct vws_vmm_conn *conn)
{
    return ((struct lv_conn *)vws_vmm_conn_priv(conn))->conn;
}

static virDomainPtr
lvdom(const struct vws_vmm_domain *dom)
{
    return vws_vmm_domain_priv(dom);
}

/* ---- the embedded driver's directory ------------------------------------ */

/* The root=DIR of an embed URI into a new string, or NULL (reported). */
static char *
embed_root(const char *uri)
{
    const char *q = strchr(uri, '?'), *p, *end;
    char *raw, *root;

    for (p = q ? q + 1 : NULL; p && *p; p = end ? end + 1 : NULL) {
        end = strchr(p, '&');
        if (strncmp(p, "root=", 5) == 0) {
            p += 5;
            raw = end ? vws_strndup(p, (size_t)(end - p)) : vws_strdup(p);
            root = xmlURIUnescapeString(raw, 0, NULL);
            free(raw);
            if (!root) {
                vws_report_error(VWS_ERR_NOMEM, "cannot unescape '%s'", uri);
                return NULL;
            }
            raw = vws_strdup(root);
            xmlFree(root);
            if (raw[0] != '/') {
                vws_report_error(VWS_ERR_CONFIG,
                                 "cannot open '%s': root '%s' is not an "
                                 "absolute directory", uri, raw);
                free(raw);
                return NULL;
            }
            return raw;
        }
    }
    vws_report_error(VWS_ERR_CONFIG,
                     "cannot open '%s': an embedded QEMU URI needs "
                     "'?root=DIR'", uri);
    return NULL;
}

static int
mkdir_one(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST) {
        vws_report_system_error("cannot create directory '%s'", path);
        return -1;
    }
    return 0;
}

/* DIR and DIR/etc exist, and DIR/etc/qemu.conf: written if absent. */
static int
embed_prepare(const char *uri)
{
    struct passwd pw, *found = NULL;
    char pwbuf[4096];
    char *root, *etc = NULL, *conf = NULL;
    int fd = -1, rc = -1;
    size_t len = sizeof(qemu_conf) - 1;

    if (!(root = embed_root(uri)))
        return -1;
    if (getpwnam_r(EMBED_USER, &pw, pwbuf, sizeof(pwbuf), &found) != 0 ||
        !found) {
        vws_report_error(VWS_ERR_CONFIG,
                         "cannot open '%s': the user '%s' does not exist "
                         "(install libvirt-daemon-system, or create it: "
                         "useradd --system --no-create-home %s)",
                         uri, EMBED_USER, EMBED_USER);
        goto cleanup;
    }
    etc = vws_asprintf("%s/etc", root);
    conf = vws_asprintf("%s/qemu.conf", etc);
    if (mkdir_one(root) < 0 || mkdir_one(etc) < 0)
        goto cleanup;
    fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              0644);
    if (fd < 0) {
        if (errno == EEXIST) {
            rc = 0;
            goto cleanup;
        }
        vws_report_system_error("cannot create '%s'", conf);
        goto cleanup;
    }
    if (write(fd, qemu_conf, len) != (ssize_t)len || fsync(fd) < 0) {
        vws_report_system_error("cannot write '%s'", conf);
        unlink(conf);
        goto cleanup;
    }
    VWS_INFO("wrote '%s' for the embedded QEMU driver", conf);
    rc = 0;

cleanup:
    if (fd >= 0)
        close(fd);
    free(conf);
    free(etc);
    free(root);
    return rc;
}

/* ---- connection slots ------------------------------------------------- */

static int
lv_open(struct vws_vmm_conn *conn, const char *uri)
{
    struct lv_conn *c;
    bool embedded = strncmp(uri, EMBED_PREFIX, strlen(EMBED_PREFIX)) == 0;

    pthread_once(&init_once, lv_init);
    if (init_result < 0) {
        vws_report_error(VWS_ERR_INTERNAL, "cannot initialise libvirt: %s",
                         virGetLastErrorMessage());
        return -1;
    }
    if (embedded && (embed_prepare(uri) < 0 || ev_start() < 0))
        return -1;
    c = vws_calloc(1, sizeof(*c));
    c->embedded = embedded;
    c->conn = virConnectOpen(uri);
    if (!c->conn) {
        vws_report_error(VWS_ERR_IO, "cannot open '%s': %s", uri,
                         virGetLastErrorMessage());
        if (embedded)
            ev_stop();
        free(c);
        return -1;
    }
    vws_vmm_conn_set_priv(conn, c);
    return 0;
}

static void
lv_close(struct vws_vmm_conn *conn)
{
    struct lv_conn *c = vws_vmm_conn_priv(conn);

    if (!c)
        return;
    if (virConnectClose(c->conn) < 0)
        VWS_WARN("closing '%s': %s", vws_vmm_conn_uri(conn),
                 virGetLastErrorMessage());
    if (c->embedded)
        ev_stop();
    free(c);
    vws_vmm_conn_set_priv(conn, NULL);
}

/* ---- domain XML ------------------------------------------------------- */

static const char *const format_names[VWS_VMM_DISK_N_FORMATS] = {
    [VWS_VMM_DISK_QCOW2] = "qcow2",
    [VWS_VMM_DISK_RAW] = "raw",
};

static const char *const bus_names[VWS_VMM_BUS_N] = {
    [VWS_VMM_BUS_VIRTIO] = "virtio",
    [VWS_VMM_BUS_IDE] = "ide",
    [VWS_VMM_BUS_SCSI] = "scsi",
    [VWS_VMM_BUS_SATA] = "sata",
};

/* "  <NAME>TEXT</NAME>\n" with TEXT escaped. */
static void
add_elem(struct vws_buf *b, const char *indent, const char *name,
         const char *text)
{
    vws_buf_addf(b, "%s<%s>", indent, name);
    vws_buf_add_xml_escaped(b, text);
    vws_buf_addf(b, "</%s>\n", name);
}

/* " NAME='VALUE'" with VALUE escaped. */
static void
add_attr(struct vws_buf *b, const char *name, const char *value)
{
    vws_buf_addf(b, " %s='", name);
    vws_buf_add_xml_escaped(b, value);
    vws_buf_addch(b, '\'');
}

/* The target device name of disk I: vda.., hda/hdb/hdd (hdc: CD-ROM),
 * sda.. .  -1 when the bus has no name left. */
static int
disk_target(const struct vws_vmm_disk *d, unsigned *n_vd, unsigned *n_hd,
            unsigned *n_sd, char out[8])
{
    static const char ide_letters[] = "abd";

    switch (d->bus) {
    case VWS_VMM_BUS_VIRTIO:
        snprintf(out, 8, "vd%c", 'a' + (*n_vd)++);
        return 0;
    case VWS_VMM_BUS_IDE:
        if (*n_hd >= sizeof(ide_letters) - 1) {
            vws_report_error(VWS_ERR_LIMIT,
                             "disk '%s': at most 3 IDE disks (hdc is the "
                             "CD-ROM)", d->path);
            return -1;
        }
        snprintf(out, 8, "hd%c", ide_letters[(*n_hd)++]);
        return 0;
    case VWS_VMM_BUS_SCSI:
    case VWS_VMM_BUS_SATA:
        snprintf(out, 8, "sd%c", 'a' + (*n_sd)++);
        return 0;
    default:
        vws_report_error(VWS_ERR_INTERNAL, "unknown disk bus");
        return -1;
    }
}

static void
add_disk(struct vws_buf *b, const char *device, const char *format,
         const char *path, const char *target, const char *bus, bool ro)
{
    vws_buf_addf(b, "    <disk type='file' device='%s'>\n", device);
    vws_buf_addf(b, "      <driver name='qemu' type='%s'/>\n", format);
    vws_buf_adds(b, "      <source");
    add_attr(b, "file", path);
    vws_buf_adds(b, "/>\n");
    vws_buf_addf(b, "      <target dev='%s' bus='%s'/>\n", target, bus);
    if (ro)
        vws_buf_adds(b, "      <readonly/>\n");
    vws_buf_adds(b, "    </disk>\n");
}

char *
vws_vmm_domain_xml(const struct vws_vmm_domain_spec *spec)
{
    struct vws_buf b = VWS_BUF_INIT;
    unsigned n_vd = 0, n_hd = 0, n_sd = 0;
    char *name, target[8];

    if (vws_vmm_spec_check(spec) < 0 || !(name = vws_vmm_spec_name(spec)))
        return NULL;
    vws_buf_addf(&b, "<domain type='%s'>\n", spec->kvm ? "kvm" : "qemu");
    add_elem(&b, "  ", "name", name);
    free(name);
    /* a domain named after its workspace key has the key as its UUID: a
     * saved state (whose XML carries the UUID) restores into a later
     * definition of the same workspace, on this host or another */
    if (!spec->name && spec->workspace_key && vws_uuid_is_valid(spec->workspace_key))
        add_elem(&b, "  ", "uuid", spec->workspace_key);
    vws_buf_addf(&b, "  <memory unit='MiB'>%u</memory>\n", spec->memory_mb);
    vws_buf_addf(&b, "  <vcpu>%u</vcpu>\n", spec->vcpus);
    if (spec->cpu_percent > 0) {
        unsigned long long quota =
            (unsigned long long)VWS_VMM_CPU_PERIOD_US * spec->cpu_percent / 100;
        vws_buf_addf(&b, "  <cputune>\n    <period>%u</period>\n"
                         "    <quota>%llu</quota>\n  </cputune>\n",
                     VWS_VMM_CPU_PERIOD_US, quota);
    }
    vws_buf_adds(&b, "  <os>\n    <type>hvm</type>\n");
    if (spec->kernel) {
        add_elem(&b, "    ", "kernel", spec->kernel);
        if (spec->initrd)
            add_elem(&b, "    ", "initrd", spec->initrd);
        if (spec->cmdline)
            add_elem(&b, "    ", "cmdline", spec->cmdline);
    } else {
        if (spec->n_disks > 0)
            vws_buf_adds(&b, "    <boot dev='hd'/>\n");
        if (spec->cdrom)
            vws_buf_adds(&b, "    <boot dev='cdrom'/>\n");
    }
    vws_buf_adds(&b, "  </os>\n"
                     "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
                     "  <clock offset='utc'/>\n"
                     "  <on_poweroff>destroy</on_poweroff>\n"
                     "  <on_reboot>restart</on_reboot>\n"
                     "  <on_crash>destroy</on_crash>\n"
                     "  <devices>\n");
    for (size_t i = 0; i < spec->n_disks; i++) {
        const struct vws_vmm_disk *d = &spec->disks[i];
        if (disk_target(d, &n_vd, &n_hd, &n_sd, target) < 0) {
            vws_buf_release(&b);
            return NULL;
        }
        add_disk(&b, "disk", format_names[d->format], d->path, target,
                 bus_names[d->bus], d->readonly);
    }
    if (spec->cdrom)
        add_disk(&b, "cdrom", "raw", spec->cdrom, "hdc", "ide", true);
    for (size_t i = 0; i < spec->n_nics; i++) {
        const struct vws_vmm_nic *nic = &spec->nics[i];
        static const char *const types[VWS_VMM_NIC_N_TYPES] = {
            [VWS_VMM_NIC_NETWORK] = "network",
            [VWS_VMM_NIC_BRIDGE] = "bridge",
            [VWS_VMM_NIC_USER] = "user",
        };
        vws_buf_addf(&b, "    <interface type='%s'>\n", types[nic->type]);
        if (nic->mac) {
            vws_buf_adds(&b, "      <mac");
            add_attr(&b, "address", nic->mac);
            vws_buf_adds(&b, "/>\n");
        }
        if (nic->type != VWS_VMM_NIC_USER) {
            vws_buf_adds(&b, "      <source");
            add_attr(&b, types[nic->type], nic->source);
            vws_buf_adds(&b, "/>\n");
        }
        vws_buf_adds(&b, "      <model type='virtio'/>\n"
                         "    </interface>\n");
    }
    if (spec->console_log) {
        vws_buf_adds(&b, "    <serial type='file'>\n      <source");
        add_attr(&b, "path", spec->console_log);
        /* append: a start after a stop or a resume from a saved state
         * continues the log instead of truncating it */
        vws_buf_adds(&b, " append='on'/>\n      <target port='0'/>\n    </serial>\n");
    }
    vws_buf_adds(&b, "    <memballoon model='none'/>\n"
                     "  </devices>\n</domain>\n");
    return vws_buf_detach(&b, NULL);
}

/* ---- domain slots ----------------------------------------------------- */

static int
lv_define(struct vws_vmm_conn *conn, const struct vws_vmm_domain_spec *spec,
          struct vws_vmm_domain *dom)
{
    virDomainPtr d;
    char *xml;

    d = virDomainLookupByName(lv(conn), vws_vmm_domain_name(dom));
    if (d) {
        virDomainFree(d);
        vws_report_error(VWS_ERR_EXISTS, "cannot define domain '%s': it "
                         "exists already", vws_vmm_domain_name(dom));
        return -1;
    }
    if (!(xml = vws_vmm_domain_xml(spec)))
        return -1;
    d = virDomainDefineXML(lv(conn), xml);
    free(xml);
    if (!d)
        return dom_fail(dom, "define");
    vws_vmm_domain_set_priv(dom, d);
    return 0;
}

static int
lv_lookup(struct vws_vmm_conn *conn, struct vws_vmm_domain *dom)
{
    virDomainPtr d = virDomainLookupByName(lv(conn), vws_vmm_domain_name(dom));

    if (!d) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no domain '%s' on '%s'",
                         vws_vmm_domain_name(dom), vws_vmm_conn_uri(conn));
        return -1;
    }
    vws_vmm_domain_set_priv(dom, d);
    return 0;
}

static void
lv_domain_release(struct vws_vmm_domain *dom)
{
    virDomainFree(lvdom(dom));
    vws_vmm_domain_set_priv(dom, NULL);
}

static int
lv_start(struct vws_vmm_domain *dom)
{
    return virDomainCreate(lvdom(dom)) < 0 ? dom_fail(dom, "start") : 0;
}

static int
lv_shutdown(struct vws_vmm_domain *dom)
{
    return virDomainShutdown(lvdom(dom)) < 0 ? dom_fail(dom, "shut down") : 0;
}

static int
lv_destroy(struct vws_vmm_domain *dom)
{
    return virDomainDestroy(lvdom(dom)) < 0 ? dom_fail(dom, "destroy") : 0;
}

static int
lv_pause(struct vws_vmm_domain *dom)
{
    return virDomainSuspend(lvdom(dom)) < 0 ? dom_fail(dom, "pause") : 0;
}

static int
lv_resume(struct vws_vmm_domain *dom)
{
    return virDomainResume(lvdom(dom)) < 0 ? dom_fail(dom, "resume") : 0;
}

static int
lv_save(struct vws_vmm_domain *dom, const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        vws_report_error(VWS_ERR_EXISTS, "cannot save domain '%s': '%s' "
                         "exists already", vws_vmm_domain_name(dom), path);
        return -1;
    }
    return virDomainSave(lvdom(dom), path) < 0 ? dom_fail(dom, "save") : 0;
}

/* The <name> of a domain XML document, or NULL. */
static char *
xml_domain_name(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "save.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    char *name = NULL;

    for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE &&
            xmlStrcmp(n->name, BAD_CAST "name") == 0) {
            xmlChar *t = xmlNodeGetContent(n);
            if (t) {
                name = vws_strdup((const char *)t);
                xmlFree(t);
            }
            break;
        }
    }
    xmlFreeDoc(doc);
    return name;
}

static int
lv_restore(struct vws_vmm_domain *dom, const char *path)
{
    virConnectPtr c = virDomainGetConnect(lvdom(dom));
    char *xml, *name;
    virErrorPtr e;

    xml = virDomainSaveImageGetXMLDesc(c, path, 0);
    if (xml) {
        name = xml_domain_name(xml);
        free(xml);
        if (!name || strcmp(name, vws_vmm_domain_name(dom)) != 0) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "cannot restore domain '%s' from '%s': the file "
                             "holds domain '%s'", vws_vmm_domain_name(dom),
                             path, name ? name : "(unnamed)");
            free(name);
            return -1;
        }
        free(name);
    } else if (!(e = virGetLastError()) || e->code != VIR_ERR_NO_SUPPORT) {
        return dom_fail(dom, "restore");
    }
    return virDomainRestore(c, path) < 0 ? dom_fail(dom, "restore") : 0;
}

static enum vws_vmm_state
map_state(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return VWS_VMM_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return VWS_VMM_PAUSED;
    case VIR_DOMAIN_SHUTDOWN:
        return VWS_VMM_SHUTTING_DOWN;
    case VIR_DOMAIN_SHUTOFF:
        return VWS_VMM_SHUTOFF;
    case VIR_DOMAIN_CRASHED:
        return VWS_VMM_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
        return VWS_VMM_SUSPENDED;
    default:
        return VWS_VMM_NOSTATE;
    }
}

static int
lv_state(struct vws_vmm_domain *dom, enum vws_vmm_state *state)
{
    int st = 0, reason = 0;

    if (virDomainGetState(lvdom(dom), &st, &reason, 0) < 0)
        return dom_fail(dom, "get the state of");
    *state = map_state(st);
    return 0;
}

static int
lv_list(struct vws_vmm_conn *conn, struct vws_vmm_domain_info **list,
        size_t *n)
{
    virDomainPtr *doms = NULL;
    struct vws_vmm_domain_info *out;
    int count = virConnectListAllDomains(lv(conn), &doms, 0);

    if (count < 0) {
        vws_report_error(VWS_ERR_IO, "cannot list the domains of '%s': %s",
                         vws_vmm_conn_uri(conn), virGetLastErrorMessage());
        return -1;
    }
    out = vws_calloc(count > 0 ? (size_t)count : 1, sizeof(*out));
    for (int i = 0; i < count; i++) {
        const char *name = virDomainGetName(doms[i]);
        int st = 0, reason = 0;

        out[i].name = vws_strdup(name ? name : "");
        out[i].state = VWS_VMM_NOSTATE;
        if (virDomainGetState(doms[i], &st, &reason, 0) == 0)
            out[i].state = map_state(st);
        virDomainFree(doms[i]);
    }
    free(doms);
    *list = out;
    *n = (size_t)count;
    return 0;
}

static int
lv_undefine(struct vws_vmm_domain *dom)
{
    int active = virDomainIsActive(lvdom(dom));

    if (active < 0)
        return dom_fail(dom, "undefine");
    if (active) {
        vws_report_error(VWS_ERR_STATE, "cannot undefine domain '%s': it is "
                         "not shut off", vws_vmm_domain_name(dom));
        return -1;
    }
    if (virDomainUndefineFlags(lvdom(dom),
                               VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                               VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0)
        return dom_fail(dom, "undefine");
    return 0;
}

static char *
lv_xml(struct vws_vmm_domain *dom)
{
    char *x = virDomainGetXMLDesc(lvdom(dom), 0), *copy;

    if (!x) {
        dom_fail(dom, "describe");
        return NULL;
    }
    copy = vws_strdup(x);
    free(x);
    return copy;
}

const struct vws_vmm_driver vws_vmm_libvirt_driver = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .define = lv_define,
    .lookup = lv_lookup,
    .domain_release = lv_domain_release,
    .start = lv_start,
    .shutdown = lv_shutdown,
    .destroy = lv_destroy,
    .pause = lv_pause,
    .resume = lv_resume,
    .save = lv_save,
    .restore = lv_restore,
    .state = lv_state,
    .list = lv_list,
    .undefine = lv_undefine,
    .xml = lv_xml,
};
