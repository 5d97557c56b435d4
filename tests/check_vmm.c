/*
 * check_vmm.c — unit tests of the VMM driver table (manager/vmm.h) on
 * libvirt's in-memory "test:///default" hypervisor: the whole life cycle,
 * the domain XML read back with libxml2, hostile names and values, the
 * fault-injecting wrapper, and slots a driver leaves empty.  One optional
 * test opens "qemu:///embed?root=DIR" (no guest) when this machine allows
 * it, and otherwise checks that the refusal names the fix.
 *
 * test:///default is one hypervisor per process: every test names its
 * domains uniquely and undefines them.
 */
#define VWS_MODULE "check_vmm"
#include <config.h>

#include <check.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "manager/vmm.h"
#include "internal.h"

#define TEST_URI "test:///default"

static char tmpdir[64];

static void
setup(void)
{
    vws_strlcpy(tmpdir, "/tmp/vws-check-vmm-XXXXXX", sizeof(tmpdir));
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    vws_error_reset();
}

static void
teardown(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    free(cmd);
}

static struct vws_vmm_conn *
open_test(void)
{
    struct vws_vmm_conn *conn = vws_vmm_open(TEST_URI);
    ck_assert_msg(conn != NULL, "%s", vws_error_message());
    return conn;
}

static const struct vws_vmm_disk test_disks[] = {
    { "/var/lib/vws/instances/a/root.qcow2", VWS_VMM_DISK_QCOW2,
      VWS_VMM_BUS_VIRTIO, false },
    { "/var/lib/vws/cache/templates/abc", VWS_VMM_DISK_RAW,
      VWS_VMM_BUS_VIRTIO, true },
};

static const struct vws_vmm_nic test_nics[] = {
    { VWS_VMM_NIC_NETWORK, "default", "52:54:00:12:34:56" },
};

/* A full spec named NAME (or from a key when NAME is NULL). */
static struct vws_vmm_domain_spec
make_spec(const char *name)
{
    struct vws_vmm_domain_spec s = { 0 };

    s.name = name;
    s.workspace_key = "6f1c7c1e-2b8e-4d35-9a51-0b7c6a1d2e3f";
    s.memory_mb = 128;
    s.vcpus = 2;
    s.cpu_percent = 50;
    s.disks = test_disks;
    s.n_disks = VWS_N_ELEMENTS(test_disks);
    s.cdrom = "/var/lib/vws/instances/a/config.iso";
    s.kernel = "/var/lib/vws/cache/templates/vmlinuz";
    s.initrd = "/var/lib/vws/cache/templates/initrd";
    s.cmdline = "console=ttyS0 vws.id=6f1c7c1e hostname=w1";
    s.nics = test_nics;
    s.n_nics = VWS_N_ELEMENTS(test_nics);
    s.console_log = "/var/lib/vws/instances/a/console.log";
    return s;
}

static void
assert_state(struct vws_vmm_domain *dom, enum vws_vmm_state want)
{
    enum vws_vmm_state st = VWS_VMM_NOSTATE;

    ck_assert_msg(vws_vmm_state(dom, &st) == 0, "%s", vws_error_message());
    ck_assert_msg(st == want, "state %s, want %s", vws_vmm_state_name(st),
                  vws_vmm_state_name(want));
}

static void
assert_error(vws_error_code code, const char *part)
{
    ck_assert_msg(vws_error_code_last() == code, "code %s (%s), want %s",
                  vws_error_code_name(vws_error_code_last()),
                  vws_error_message(), vws_error_code_name(code));
    if (part)
        ck_assert_msg(strstr(vws_error_message(), part) != NULL,
                      "'%s' not in '%s'", part, vws_error_message());
    vws_error_reset();
}

/* ---- life cycle ------------------------------------------------------- */

START_TEST(test_lifecycle)
{
    struct vws_vmm_conn *conn = open_test();
    struct vws_vmm_domain_spec spec = make_spec(NULL);
    struct vws_vmm_domain *dom, *again;
    struct vws_vmm_domain_info *list;
    size_t n;
    bool forced = true;
    char *save = vws_asprintf("%s/hot.save", tmpdir);

    dom = vws_vmm_define(conn, &spec);
    ck_assert_msg(dom != NULL, "%s", vws_error_message());
    ck_assert_str_eq(vws_vmm_domain_name(dom),
                     "vws-6f1c7c1e-2b8e-4d35-9a51-0b7c6a1d2e3f");
    assert_state(dom, VWS_VMM_SHUTOFF);

    ck_assert_int_eq(vws_vmm_start(dom), 0);
    assert_state(dom, VWS_VMM_RUNNING);
    ck_assert_int_eq(vws_vmm_pause(dom), 0);
    assert_state(dom, VWS_VMM_PAUSED);
    ck_assert_int_eq(vws_vmm_resume(dom), 0);
    assert_state(dom, VWS_VMM_RUNNING);

    ck_assert_msg(vws_vmm_save(dom, save) == 0, "%s", vws_error_message());
    assert_state(dom, VWS_VMM_SHUTOFF);
    ck_assert_int_eq(access(save, F_OK), 0);
    /* a second save over the file is refused */
    ck_assert_int_eq(vws_vmm_start(dom), 0);
    ck_assert_int_eq(vws_vmm_save(dom, save), -1);
    assert_error(VWS_ERR_EXISTS, "exists already");
    ck_assert_int_eq(vws_vmm_destroy(dom), 0);
    ck_assert_msg(vws_vmm_restore(dom, save) == 0, "%s", vws_error_message());
    assert_state(dom, VWS_VMM_RUNNING);

    ck_assert_int_eq(vws_vmm_shutdown(dom, 2000, &forced), 0);
    ck_assert(!forced);
    assert_state(dom, VWS_VMM_SHUTOFF);
    /* shutting down a domain that is off is a success */
    ck_assert_int_eq(vws_vmm_shutdown(dom, 100, NULL), 0);
    /* a paused guest cannot hear ACPI: destroyed */
    ck_assert_int_eq(vws_vmm_start(dom), 0);
    ck_assert_int_eq(vws_vmm_pause(dom), 0);
    ck_assert_int_eq(vws_vmm_shutdown(dom, 100, &forced), 0);
    ck_assert(forced);
    assert_state(dom, VWS_VMM_SHUTOFF);

    /* reconciliation: list and lookup see it */
    ck_assert_int_eq(vws_vmm_start(dom), 0);
    ck_assert_int_eq(vws_vmm_list(conn, VWS_VMM_NAME_PREFIX, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].name, vws_vmm_domain_name(dom));
    ck_assert_int_eq(list[0].state, VWS_VMM_RUNNING);
    vws_vmm_domain_info_free(list, n);
    /* without a prefix the test driver's own "test" domain shows too */
    ck_assert_int_eq(vws_vmm_list(conn, NULL, &list, &n), 0);
    ck_assert_uint_ge(n, 2);
    vws_vmm_domain_info_free(list, n);

    again = vws_vmm_lookup(conn, vws_vmm_domain_name(dom));
    ck_assert_ptr_nonnull(again);
    assert_state(again, VWS_VMM_RUNNING);
    vws_vmm_domain_free(again);

    /* undefine needs it off; a second define of the name is refused */
    ck_assert_int_eq(vws_vmm_undefine(dom), -1);
    assert_error(VWS_ERR_STATE, "not shut off");
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_EXISTS, "exists already");
    ck_assert_int_eq(vws_vmm_destroy(dom), 0);
    ck_assert_int_eq(vws_vmm_undefine(dom), 0);
    vws_vmm_domain_free(dom);

    ck_assert_int_eq(vws_vmm_list(conn, VWS_VMM_NAME_PREFIX, &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(list);
    ck_assert_ptr_null(vws_vmm_lookup(conn, spec.name ? spec.name
                       : "vws-6f1c7c1e-2b8e-4d35-9a51-0b7c6a1d2e3f"));
    assert_error(VWS_ERR_NOT_FOUND, "no domain");

    free(save);
    vws_vmm_close(conn);
}
END_TEST

START_TEST(test_restore_other_domain)
{
    struct vws_vmm_conn *conn = open_test();
    struct vws_vmm_domain_spec sa = make_spec("vws-restore-a");
    struct vws_vmm_domain_spec sb = make_spec("vws-restore-b");
    struct vws_vmm_domain *a = vws_vmm_define(conn, &sa);
    struct vws_vmm_domain *b = vws_vmm_define(conn, &sb);
    char *save = vws_asprintf("%s/a.save", tmpdir);

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(vws_vmm_start(a), 0);
    ck_assert_int_eq(vws_vmm_save(a, save), 0);
    ck_assert_int_eq(vws_vmm_restore(b, save), -1);
    assert_error(VWS_ERR_INVALID_ARG, "holds domain 'vws-restore-a'");
    assert_state(b, VWS_VMM_SHUTOFF);
    ck_assert_int_eq(vws_vmm_restore(a, save), 0);
    ck_assert_int_eq(vws_vmm_destroy(a), 0);
    /* relative or missing paths */
    ck_assert_int_eq(vws_vmm_save(a, "x.save"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not absolute");
    ck_assert_int_eq(vws_vmm_restore(a, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "missing save path");

    ck_assert_int_eq(vws_vmm_undefine(a), 0);
    ck_assert_int_eq(vws_vmm_undefine(b), 0);
    vws_vmm_domain_free(a);
    vws_vmm_domain_free(b);
    free(save);
    vws_vmm_close(conn);
}
END_TEST

/* ---- domain XML ------------------------------------------------------- */

static xmlDocPtr
parse(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "not XML: %s", xml);
    return doc;
}

/* The first element at PATH ("os/kernel") below NODE. */
static xmlNodePtr
child(xmlNodePtr node, const char *path)
{
    char *copy = vws_strdup(path), *save = NULL;

    for (char *part = strtok_r(copy, "/", &save); part && node;
         part = strtok_r(NULL, "/", &save)) {
        xmlNodePtr n;
        for (n = node->children; n; n = n->next)
            if (n->type == XML_ELEMENT_NODE &&
                xmlStrcmp(n->name, BAD_CAST part) == 0)
                break;
        node = n;
    }
    free(copy);
    return node;
}

static void
assert_text(xmlNodePtr root, const char *path, const char *want)
{
    xmlNodePtr n = child(root, path);
    xmlChar *t;

    ck_assert_msg(n != NULL, "no <%s>", path);
    t = xmlNodeGetContent(n);
    ck_assert_msg(t && strcmp((const char *)t, want) == 0,
                  "<%s> is '%s', want '%s'", path, t ? (char *)t : "", want);
    xmlFree(t);
}

static void
assert_attr(xmlNodePtr n, const char *attr, const char *want)
{
    xmlChar *v;

    ck_assert_ptr_nonnull(n);
    v = xmlGetProp(n, BAD_CAST attr);
    ck_assert_msg(v && strcmp((const char *)v, want) == 0,
                  "<%s %s='%s'>, want '%s'", (const char *)n->name, attr,
                  v ? (char *)v : "", want);
    xmlFree(v);
}

/* The N-th element named NAME directly below NODE. */
static xmlNodePtr
nth(xmlNodePtr node, const char *name, int index)
{
    for (xmlNodePtr n = node->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE &&
            xmlStrcmp(n->name, BAD_CAST name) == 0 && index-- == 0)
            return n;
    return NULL;
}

START_TEST(test_domain_xml)
{
    struct vws_vmm_domain_spec spec = make_spec("vws-xml");
    char *xml = vws_vmm_domain_xml(&spec);
    xmlDocPtr doc;
    xmlNodePtr root, devices, disk;

    ck_assert_msg(xml != NULL, "%s", vws_error_message());
    doc = parse(xml);
    root = xmlDocGetRootElement(doc);
    ck_assert_str_eq((const char *)root->name, "domain");
    assert_attr(root, "type", "qemu");
    assert_text(root, "name", "vws-xml");
    assert_text(root, "memory", "128");
    assert_attr(child(root, "memory"), "unit", "MiB");
    assert_text(root, "vcpu", "2");
    assert_text(root, "cputune/period", "100000");
    assert_text(root, "cputune/quota", "50000");
    assert_text(root, "os/type", "hvm");
    assert_text(root, "os/kernel", spec.kernel);
    assert_text(root, "os/initrd", spec.initrd);
    assert_text(root, "os/cmdline", spec.cmdline);
    ck_assert_ptr_nonnull(child(root, "features/acpi"));
    devices = child(root, "devices");
    ck_assert_ptr_nonnull(devices);

    disk = nth(devices, "disk", 0);
    assert_attr(disk, "device", "disk");
    assert_attr(child(disk, "driver"), "type", "qcow2");
    assert_attr(child(disk, "source"), "file", test_disks[0].path);
    assert_attr(child(disk, "target"), "dev", "vda");
    assert_attr(child(disk, "target"), "bus", "virtio");
    ck_assert_ptr_null(child(disk, "readonly"));
    disk = nth(devices, "disk", 1);
    assert_attr(child(disk, "driver"), "type", "raw");
    assert_attr(child(disk, "target"), "dev", "vdb");
    ck_assert_ptr_nonnull(child(disk, "readonly"));
    disk = nth(devices, "disk", 2);
    assert_attr(disk, "device", "cdrom");
    assert_attr(child(disk, "source"), "file", spec.cdrom);
    assert_attr(child(disk, "target"), "dev", "hdc");
    ck_assert_ptr_nonnull(child(disk, "readonly"));
    ck_assert_ptr_null(nth(devices, "disk", 3));

    assert_attr(nth(devices, "interface", 0), "type", "network");
    assert_attr(child(nth(devices, "interface", 0), "mac"), "address",
                "52:54:00:12:34:56");
    assert_attr(child(nth(devices, "interface", 0), "source"), "network",
                "default");
    assert_attr(nth(devices, "serial", 0), "type", "file");
    assert_attr(child(nth(devices, "serial", 0), "source"), "path",
                spec.console_log);
    xmlFreeDoc(doc);
    free(xml);

    /* kvm, no cap, no kernel, no serial: boot from the disk */
    spec.kvm = true;
    spec.cpu_percent = 0;
    spec.kernel = spec.initrd = spec.cmdline = NULL;
    spec.console_log = NULL;
    spec.n_nics = 0;
    xml = vws_vmm_domain_xml(&spec);
    ck_assert_ptr_nonnull(xml);
    doc = parse(xml);
    root = xmlDocGetRootElement(doc);
    assert_attr(root, "type", "kvm");
    ck_assert_ptr_null(child(root, "cputune"));
    ck_assert_ptr_null(child(root, "os/kernel"));
    assert_attr(child(root, "os/boot"), "dev", "hd");
    ck_assert_ptr_null(child(root, "devices/serial"));
    ck_assert_ptr_null(child(root, "devices/interface"));
    xmlFreeDoc(doc);
    free(xml);
}
END_TEST

/* What libvirt keeps is what we asked for. */
START_TEST(test_defined_xml)
{
    struct vws_vmm_conn *conn = open_test();
    struct vws_vmm_domain_spec spec = make_spec("vws-defined-xml");
    struct vws_vmm_domain *dom = vws_vmm_define(conn, &spec);
    char *xml;
    xmlDocPtr doc;
    xmlNodePtr root;

    ck_assert_ptr_nonnull(dom);
    xml = vws_vmm_xml(dom);
    ck_assert_ptr_nonnull(xml);
    doc = parse(xml);
    root = xmlDocGetRootElement(doc);
    assert_text(root, "name", "vws-defined-xml");
    assert_text(root, "memory", "131072");       /* KiB */
    assert_text(root, "vcpu", "2");
    assert_text(root, "cputune/quota", "50000");
    assert_text(root, "os/kernel", spec.kernel);
    assert_text(root, "os/cmdline", spec.cmdline);
    assert_attr(child(root, "devices/serial/source"), "path",
                spec.console_log);
    xmlFreeDoc(doc);
    free(xml);
    ck_assert_int_eq(vws_vmm_undefine(dom), 0);
    vws_vmm_domain_free(dom);
    vws_vmm_close(conn);
}
END_TEST

/* ---- hostile values --------------------------------------------------- */

START_TEST(test_hostile_names_escaped)
{
    static const char evil[] = "vws-'x\"<y>&z<name><devices>&amp;";
    static const struct vws_vmm_disk disk = {
        "/tmp/a'b\"<c>&d/root.qcow2", VWS_VMM_DISK_QCOW2, VWS_VMM_BUS_VIRTIO,
        false };
    struct vws_vmm_conn *conn = open_test();
    struct vws_vmm_domain_spec spec = make_spec(evil);
    struct vws_vmm_domain *dom, *found;
    char *xml;
    xmlDocPtr doc;
    xmlNodePtr root;

    spec.disks = &disk;
    spec.n_disks = 1;
    spec.cmdline = "console=ttyS0 x=\"<script>\" y='&amp;'";
    xml = vws_vmm_domain_xml(&spec);
    ck_assert_ptr_nonnull(xml);
    doc = parse(xml);
    root = xmlDocGetRootElement(doc);
    assert_text(root, "name", evil);
    assert_text(root, "os/cmdline", spec.cmdline);
    assert_attr(child(root, "devices/disk/source"), "file", disk.path);
    ck_assert_ptr_null(nth(root, "devices", 1));
    xmlFreeDoc(doc);
    free(xml);

    /* libvirt takes the name as it is */
    dom = vws_vmm_define(conn, &spec);
    ck_assert_msg(dom != NULL, "%s", vws_error_message());
    found = vws_vmm_lookup(conn, evil);
    ck_assert_ptr_nonnull(found);
    ck_assert_str_eq(vws_vmm_domain_name(found), evil);
    vws_vmm_domain_free(found);
    ck_assert_int_eq(vws_vmm_undefine(dom), 0);
    vws_vmm_domain_free(dom);
    vws_vmm_close(conn);
}
END_TEST

START_TEST(test_hostile_values_refused)
{
    static const char *const bad_names[] = {
        "../etc/passwd", "a/b", ".hidden", "..", "a\\b", "x\ny",
    };
    static const struct vws_vmm_disk rel = {
        "root.qcow2", VWS_VMM_DISK_QCOW2, VWS_VMM_BUS_VIRTIO, false };
    static const struct vws_vmm_nic bad_mac = {
        VWS_VMM_NIC_BRIDGE, "br0", "01:00:5e:00:00:01" };
    static const struct vws_vmm_nic bad_bridge = {
        VWS_VMM_NIC_BRIDGE, "../br0", NULL };
    struct vws_vmm_conn *conn = open_test();
    struct vws_vmm_domain_spec spec;
    char long_name[VWS_VMM_MAX_NAME + 2];

    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_names); i++) {
        spec = make_spec(bad_names[i]);
        ck_assert_ptr_null(vws_vmm_define(conn, &spec));
        ck_assert_msg(vws_error_code_last() == VWS_ERR_SECURITY ||
                      vws_error_code_last() == VWS_ERR_INVALID_ARG,
                      "%s: %s", bad_names[i], vws_error_message());
        vws_error_reset();
        ck_assert_ptr_null(vws_vmm_lookup(conn, bad_names[i]));
        vws_error_reset();
        ck_assert_ptr_null(vws_vmm_domain_xml(&spec));
        vws_error_reset();
    }
    spec = make_spec(NULL);
    spec.workspace_key = "../../../etc/shadow";
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_SECURITY, "not allowed");
    spec = make_spec("");
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "missing domain name");
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    spec = make_spec(long_name);
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_LIMIT, "longer than");

    spec = make_spec("vws-bad");
    spec.memory_mb = 0;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "memory of 0 MB");
    spec.memory_mb = VWS_VMM_MAX_MEMORY_MB + 1;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_LIMIT, "out of range");
    spec.memory_mb = 0xffffffffu;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_LIMIT, "out of range");
    spec = make_spec("vws-bad");
    spec.vcpus = 0;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "vCPUs");
    spec.vcpus = 100000;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_LIMIT, "vCPUs");
    spec = make_spec("vws-bad");
    spec.cpu_percent = 101;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "101%");
    spec = make_spec("vws-bad");
    spec.disks = &rel;
    spec.n_disks = 1;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "not absolute");
    spec = make_spec("vws-bad");
    spec.n_disks = VWS_VMM_MAX_DISKS + 1;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_LIMIT, "disks");
    spec = make_spec("vws-bad");
    spec.cmdline = "console=ttyS0\ninit=/bin/sh";
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "control character");
    spec = make_spec("vws-bad");
    spec.kernel = NULL;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "needs a kernel");
    spec = make_spec("vws-bad");
    spec.nics = &bad_mac;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "invalid MAC");
    spec.nics = &bad_bridge;
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "bridge name");
    spec = make_spec("vws-bad");
    spec.console_log = "console.log";
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "console log path");

    /* NULL arguments */
    ck_assert_ptr_null(vws_vmm_define(NULL, &spec));
    assert_error(VWS_ERR_INVALID_ARG, "missing VMM connection");
    ck_assert_ptr_null(vws_vmm_define(conn, NULL));
    assert_error(VWS_ERR_INVALID_ARG, NULL);
    ck_assert_int_eq(vws_vmm_start(NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "missing domain");
    ck_assert_ptr_null(vws_vmm_open(NULL));
    assert_error(VWS_ERR_INVALID_ARG, "missing VMM URI");
    ck_assert_ptr_null(vws_vmm_open("nosuchdriver:///x"));
    assert_error(VWS_ERR_IO, "nosuchdriver");
    vws_vmm_close(NULL);
    vws_vmm_domain_free(NULL);
    vws_vmm_close(conn);
}
END_TEST

/* ---- fault injection -------------------------------------------------- */

START_TEST(test_faulty)
{
    struct vws_vmm_conn *conn = vws_vmm_faulty_wrap(open_test());
    struct vws_vmm_domain_spec spec = make_spec("vws-faulty");
    struct vws_vmm_domain *dom, *orphan;
    enum vws_vmm_state st;

    ck_assert_ptr_nonnull(conn);
    dom = vws_vmm_define(conn, &spec);
    ck_assert_ptr_nonnull(dom);

    /* the next start fails; nothing happened */
    ck_assert_int_eq(vws_vmm_faulty_add(conn, VWS_VMM_OP_START, 1,
                                        VWS_ERR_IO, "libvirt went away", 0),
                     0);
    ck_assert_int_eq(vws_vmm_start(dom), -1);
    assert_error(VWS_ERR_IO,
                 "start of domain 'vws-faulty': libvirt went away");
    assert_state(dom, VWS_VMM_SHUTOFF);
    ck_assert_int_eq(vws_vmm_start(dom), 0);
    ck_assert_uint_eq(vws_vmm_faulty_calls(conn, VWS_VMM_OP_START), 2);

    /* the 2nd pause from now fails */
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "pause:2:no memory"), 0);
    ck_assert_int_eq(vws_vmm_pause(dom), 0);
    ck_assert_int_eq(vws_vmm_resume(dom), 0);
    ck_assert_int_eq(vws_vmm_pause(dom), -1);
    assert_error(VWS_ERR_IO, "pause of domain 'vws-faulty': no memory");
    assert_state(dom, VWS_VMM_RUNNING);

    /* after: the save happened, the caller hears it failed */
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "save:1:after:disk full"),
                     0);
    {
        char *save = vws_asprintf("%s/f.save", tmpdir);
        ck_assert_int_eq(vws_vmm_save(dom, save), -1);
        assert_error(VWS_ERR_IO, "disk full");
        ck_assert_int_eq(access(save, F_OK), 0);
        assert_state(dom, VWS_VMM_SHUTOFF);
        free(save);
    }

    /* every state call fails while the rule stands; shutdown says why */
    ck_assert_int_eq(vws_vmm_start(dom), 0);
    ck_assert_int_eq(vws_vmm_faulty_add(conn, VWS_VMM_OP_STATE, 0,
                                        VWS_ERR_TIMEOUT, "hung", 0), 0);
    ck_assert_int_eq(vws_vmm_state(dom, &st), -1);
    assert_error(VWS_ERR_TIMEOUT, "hung");
    ck_assert_int_eq(vws_vmm_shutdown(dom, 100, NULL), -1);
    assert_error(VWS_ERR_TIMEOUT, "state of domain 'vws-faulty': hung");
    vws_vmm_faulty_clear(conn);

    /* a shutdown request that fails: the guest keeps running */
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "shutdown:1"), 0);
    ck_assert_int_eq(vws_vmm_shutdown(dom, 100, NULL), -1);
    assert_error(VWS_ERR_IO, "injected failure");
    assert_state(dom, VWS_VMM_RUNNING);
    ck_assert_int_eq(vws_vmm_destroy(dom), 0);

    /* define after: the domain exists though the call failed */
    ck_assert_int_eq(vws_vmm_faulty_add(conn, VWS_VMM_OP_DEFINE, 1,
                                        VWS_ERR_IO, "lost reply",
                                        VWS_VMM_FAULT_AFTER), 0);
    spec.name = "vws-faulty-orphan";
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_IO, "define of domain 'vws-faulty-orphan'");
    orphan = vws_vmm_lookup(conn, "vws-faulty-orphan");
    ck_assert_ptr_nonnull(orphan);
    ck_assert_int_eq(vws_vmm_undefine(orphan), 0);
    vws_vmm_domain_free(orphan);

    /* list and undefine faults */
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "list:1:gone"), 0);
    {
        struct vws_vmm_domain_info *list = (void *)1;
        size_t n = 7;
        ck_assert_int_eq(vws_vmm_list(conn, NULL, &list, &n), -1);
        ck_assert_ptr_null(list);
        ck_assert_uint_eq(n, 0);
        assert_error(VWS_ERR_IO, "list of 'faulty+test:///default': gone");
    }
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "undefine:1"), 0);
    ck_assert_int_eq(vws_vmm_undefine(dom), -1);
    vws_error_reset();
    ck_assert_uint_eq(vws_vmm_faulty_injected(conn), 9);

    /* bad rules */
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "reboot:1"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid fault rule 'reboot:1'");
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "start:x"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid fault rule");
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "start"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid fault rule");
    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "define:1"), 0);
    vws_vmm_faulty_clear(conn);
    ck_assert_int_eq(vws_vmm_faulty_add(NULL, VWS_VMM_OP_START, 1,
                                        VWS_ERR_IO, "x", 0), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not a fault-injecting");

    ck_assert_int_eq(vws_vmm_undefine(dom), 0);
    vws_vmm_domain_free(dom);
    vws_vmm_close(conn);
}
END_TEST

START_TEST(test_faulty_not_wrapper)
{
    struct vws_vmm_conn *conn = open_test();

    ck_assert_int_eq(vws_vmm_faulty_add_rule(conn, "start:1"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not a fault-injecting");
    ck_assert_ptr_null(vws_vmm_faulty_wrap(NULL));
    assert_error(VWS_ERR_INVALID_ARG, NULL);
    vws_vmm_close(conn);
}
END_TEST

/* ---- a driver with empty slots ---------------------------------------- */

static int
partial_open(struct vws_vmm_conn *conn, const char *uri)
{
    (void)uri;
    vws_vmm_conn_set_priv(conn, vws_strdup("partial"));
    return 0;
}

static void
partial_close(struct vws_vmm_conn *conn)
{
    free(vws_vmm_conn_priv(conn));
}

static int
partial_lookup(struct vws_vmm_conn *conn, struct vws_vmm_domain *dom)
{
    (void)conn;
    vws_vmm_domain_set_priv(dom, vws_strdup("dom"));
    return 0;
}

static void
partial_release(struct vws_vmm_domain *dom)
{
    free(vws_vmm_domain_priv(dom));
}

static const struct vws_vmm_driver partial_driver = {
    .name = "partial",
    .open = partial_open,
    .close = partial_close,
    .lookup = partial_lookup,
    .domain_release = partial_release,
};

START_TEST(test_unsupported)
{
    struct vws_vmm_conn *conn = vws_vmm_open_driver(&partial_driver, "p://");
    struct vws_vmm_domain_spec spec = make_spec("vws-p");
    struct vws_vmm_domain *dom;
    struct vws_vmm_domain_info *list;
    enum vws_vmm_state st;
    size_t n;

    ck_assert_ptr_nonnull(conn);
    ck_assert_ptr_eq(vws_vmm_conn_driver(conn), &partial_driver);
    ck_assert_str_eq(vws_vmm_conn_uri(conn), "p://");
    ck_assert_ptr_null(vws_vmm_define(conn, &spec));
    assert_error(VWS_ERR_UNSUPPORTED,
                 "VMM driver 'partial' does not support define");
    dom = vws_vmm_lookup(conn, "vws-p");
    ck_assert_ptr_nonnull(dom);
#define UNSUP(call, opname) \
    do { \
        ck_assert_int_eq((call), -1); \
        assert_error(VWS_ERR_UNSUPPORTED, \
                     "VMM driver 'partial' does not support " opname); \
    } while (0)
    UNSUP(vws_vmm_start(dom), "start");
    UNSUP(vws_vmm_pause(dom), "pause");
    UNSUP(vws_vmm_resume(dom), "resume");
    UNSUP(vws_vmm_destroy(dom), "destroy");
    UNSUP(vws_vmm_save(dom, "/tmp/x"), "save");
    UNSUP(vws_vmm_restore(dom, "/tmp/x"), "restore");
    UNSUP(vws_vmm_state(dom, &st), "state");
    UNSUP(vws_vmm_shutdown(dom, 10, NULL), "shutdown");
    UNSUP(vws_vmm_undefine(dom), "undefine");
    UNSUP(vws_vmm_list(conn, NULL, &list, &n), "list");
#undef UNSUP
    ck_assert_ptr_null(vws_vmm_xml(dom));
    assert_error(VWS_ERR_UNSUPPORTED, "does not support xml");
    vws_vmm_domain_free(dom);
    vws_vmm_close(conn);

    ck_assert_str_eq(vws_vmm_op_name(VWS_VMM_OP_RESTORE), "restore");
    ck_assert_int_eq(vws_vmm_op_parse("undefine"), VWS_VMM_OP_UNDEFINE);
    ck_assert_int_eq(vws_vmm_op_parse("nope"), -1);
    ck_assert_str_eq(vws_vmm_state_name(VWS_VMM_SHUTOFF), "shutoff");
    ck_assert_str_eq(vws_vmm_state_name((enum vws_vmm_state)99), "unknown");
}
END_TEST

/* ---- the embedded QEMU driver (optional) ------------------------------- */

START_TEST(test_embed_open)
{
    char pwbuf[4096];
    struct passwd pw, *found = NULL;
    char *uri = vws_asprintf("qemu:///embed?root=%s/embed", tmpdir);
    char *conf = vws_asprintf("%s/embed/etc/qemu.conf", tmpdir);
    struct vws_vmm_conn *conn;
    struct vws_vmm_domain_info *list;
    size_t n;

    if (getpwnam_r("libvirt-qemu", &pw, pwbuf, sizeof(pwbuf), &found) != 0 ||
        !found) {
        /* the refusal must say what to do */
        ck_assert_ptr_null(vws_vmm_open(uri));
        assert_error(VWS_ERR_CONFIG, "useradd --system");
        fprintf(stderr, "check_vmm: embed: skipped opening %s: no user "
                "'libvirt-qemu' on this machine (refusal checked)\n", uri);
        goto out;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "check_vmm: embed: skipped: needs root\n");
        goto out;
    }
    conn = vws_vmm_open(uri);
    if (!conn) {
        fprintf(stderr, "check_vmm: embed: skipped: %s\n",
                vws_error_message());
        vws_error_reset();
        goto out;
    }
    ck_assert_int_eq(access(conf, R_OK), 0);
    ck_assert_int_eq(vws_vmm_list(conn, NULL, &list, &n), 0);
    ck_assert_uint_eq(n, 0);
    vws_vmm_close(conn);
out:
    ck_assert_ptr_null(vws_vmm_open("qemu:///embed"));
    assert_error(VWS_ERR_CONFIG, "root=DIR");
    ck_assert_ptr_null(vws_vmm_open("qemu:///embed?root=relative/dir"));
    assert_error(VWS_ERR_CONFIG, "not an absolute");
    free(conf);
    free(uri);
}
END_TEST

static Suite *
vmm_suite(void)
{
    Suite *su = suite_create("vmm");
    TCase *tc = tcase_create("vmm");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);          /* valgrind */
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_restore_other_domain);
    tcase_add_test(tc, test_domain_xml);
    tcase_add_test(tc, test_defined_xml);
    tcase_add_test(tc, test_hostile_names_escaped);
    tcase_add_test(tc, test_hostile_values_refused);
    tcase_add_test(tc, test_faulty);
    tcase_add_test(tc, test_faulty_not_wrapper);
    tcase_add_test(tc, test_unsupported);
    tcase_add_test(tc, test_embed_open);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    SRunner *sr = srunner_create(vmm_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    xmlCleanupParser();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
