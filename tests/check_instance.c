/*
 * check_instance.c — unit tests of image instances (manager/instance.h)
 * with the real tools: overlays on raw and qcow2 templates checked with
 * qemu-img info and written through with qemu-io (the template's SHA-256
 * unchanged), refused overlays that leave nothing, full copies, the
 * config drive read back with isoinfo, hostile metadata, the kernel
 * command line, and the instance directory against traversal and planted
 * symbolic links.  Every test works in a temporary directory of its own.
 */
#define VWS_MODULE "check_instance"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manager/instance.h"
#include "internal.h"

#define KIB 1024u

static char tmpdir[64];

static const char cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUZmFrZS1jZXJ0LWZvci10ZXN0czAKBggqhkjOPQQDAjAS\n"
    "MRAwDgYDVQQDDAd0ZXN0LWNhMB4XDTI2MDEwMTAwMDAwMFoXDTI3MDEwMTAwMDAw\n"
    "-----END CERTIFICATE-----\n";
static const char key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgU0VDUkVULUtFWS1C\n"
    "-----END PRIVATE KEY-----\n";
#define KEY_BODY "U0VDUkVULUtFWS1C"
#define ID "1b4e28ba-2fa1-41d2-883f-0016d3cca427"

static struct vws_instance_nic nics[2];
static struct vws_instance_meta meta;

static void
setup(void)
{
    vws_strlcpy(tmpdir, "/tmp/vws-check-instance-XXXXXX", sizeof(tmpdir));
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    vws_error_reset();
    nics[0] = (struct vws_instance_nic){ "eth0", "52:54:00:12:34:56",
                                         "10.0.0.5", "255.255.255.0",
                                         "10.0.0.1" };
    nics[1] = (struct vws_instance_nic){ "eth1", "52:54:00:12:34:57",
                                         "192.168.7.9", "255.255.0.0", NULL };
    meta = (struct vws_instance_meta){
        .workspace_id = ID, .node = 2, .hostname = "tiny1.example.org",
        .nics = nics, .n_nics = 2, .cert_pem = cert, .key_pem = key,
        .subject = "/O=Grid/CN=workspace " ID,
    };
}

static void
teardown(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    free(cmd);
}

/* ---- helpers ------------------------------------------------------------- */

static char *
tpath(const char *name)
{
    return vws_asprintf("%s/%s", tmpdir, name);
}

/* Run CMD in a shell (our own temporary paths only); its stdout and
 * stderr, and its exit status in *STATUS. */
static char *
run(const char *cmd, int *status)
{
    char *full = vws_asprintf("%s 2>&1", cmd), chunk[4096];
    struct vws_buf b = VWS_BUF_INIT;
    FILE *p = popen(full, "r");
    size_t n;
    int st;

    ck_assert_ptr_nonnull(p);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        vws_buf_add(&b, chunk, n);
    st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    free(full);
    return vws_buf_detach(&b, NULL);
}

static bool
exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void
write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static char *
read_all(const char *path, size_t *len)
{
    struct vws_buf b = VWS_BUF_INIT;
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        vws_buf_add(&b, chunk, (size_t)n);
    close(fd);
    return vws_buf_detach(&b, len);
}

static void
sha256_file(const char *path, unsigned char out[32])
{
    size_t len;
    char *data = read_all(path, &len);
    unsigned int olen = 0;

    ck_assert_int_eq(EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL), 1);
    free(data);
}

/* A raw template of SIZE pseudo-random bytes. */
static char *
make_raw(const char *name, size_t size)
{
    char *path = tpath(name);
    unsigned char *buf = vws_malloc(size);
    uint32_t x = 2463534242u;

    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    write_file(path, buf, size);
    free(buf);
    return path;
}

static void
assert_error(vws_error_code code, const char *needle)
{
    ck_assert_int_eq(vws_error_code_last(), code);
    if (needle)
        ck_assert_msg(strstr(vws_error_message(), needle) != NULL,
                      "'%s' not in '%s'", needle, vws_error_message());
    vws_error_reset();
}

/* qemu-io writes 0x5a through OVERLAY; the template stays as it was and
 * the overlay reads the pattern back. */
static void
write_through(const char *overlay, const char *template_path)
{
    unsigned char before[32], after[32];
    char *cmd, *out;
    int st;

    sha256_file(template_path, before);
    cmd = vws_asprintf("qemu-io -f qcow2 -c 'write -P 0x5a 0 64k' '%s'",
                       overlay);
    out = run(cmd, &st);
    ck_assert_msg(st == 0, "qemu-io write: %s", out);
    free(out);
    free(cmd);
    sha256_file(template_path, after);
    ck_assert_mem_eq(before, after, 32);

    cmd = vws_asprintf("qemu-img check -f qcow2 '%s'", overlay);
    out = run(cmd, &st);
    ck_assert_msg(st == 0, "qemu-img check: %s", out);
    free(out);
    free(cmd);

    cmd = vws_asprintf("qemu-io -f qcow2 -c 'read -P 0x5a 0 64k' '%s'",
                       overlay);
    out = run(cmd, &st);
    ck_assert_msg(st == 0 && !strstr(out, "failed"), "qemu-io read: %s", out);
    free(out);
    free(cmd);
}

static char *
qemu_info(const char *path)
{
    char *cmd = vws_asprintf("qemu-img info --output=json '%s'", path);
    int st;
    char *out = run(cmd, &st);

    ck_assert_msg(st == 0, "qemu-img info: %s", out);
    free(cmd);
    return out;
}

static void
assert_contains(const char *hay, const char *needle)
{
    ck_assert_msg(strstr(hay, needle) != NULL, "'%s' not in:\n%s", needle,
                  hay);
}

/* ---- overlays ------------------------------------------------------------ */

START_TEST(test_overlay_raw)
{
    char *tpl = make_raw("template.raw", 1024 * KIB);
    char *ov = tpath("disk.qcow2"), *info, *want;
    struct stat st;

    ck_assert_int_eq(vws_instance_overlay(tpl, "raw", ov, 0), 0);
    ck_assert_int_eq(stat(ov, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    info = qemu_info(ov);
    assert_contains(info, "\"format\": \"qcow2\"");
    want = vws_asprintf("\"backing-filename\": \"%s\"", tpl);
    assert_contains(info, want);
    assert_contains(info, "\"backing-filename-format\": \"raw\"");
    assert_contains(info, "\"virtual-size\": 1048576");
    write_through(ov, tpl);
    free(want);
    free(info);
    free(ov);
    free(tpl);
}
END_TEST

START_TEST(test_overlay_qcow2)
{
    char *tpl = tpath("template.qcow2"), *ov = tpath("disk.qcow2");
    char *cmd = vws_asprintf("qemu-img create -q -f qcow2 '%s' 2M && "
                             "qemu-io -f qcow2 -c 'write -P 0x11 0 1M' '%s'",
                             tpl, tpl);
    char *out, *info, *want;
    int st;

    out = run(cmd, &st);
    ck_assert_msg(st == 0, "%s", out);
    free(out);
    ck_assert_int_eq(vws_instance_overlay(tpl, "qcow2", ov, 4 * 1024 * KIB),
                     0);
    info = qemu_info(ov);
    want = vws_asprintf("\"backing-filename\": \"%s\"", tpl);
    assert_contains(info, want);
    assert_contains(info, "\"backing-filename-format\": \"qcow2\"");
    assert_contains(info, "\"virtual-size\": 4194304");
    write_through(ov, tpl);
    /* the template's data shows through past the written 64k */
    free(cmd);
    cmd = vws_asprintf("qemu-io -f qcow2 -c 'read -P 0x11 64k 960k' '%s'", ov);
    free(out = run(cmd, &st));
    ck_assert_int_eq(st, 0);
    free(want);
    free(info);
    free(cmd);
    free(ov);
    free(tpl);
}
END_TEST

/* The overlay is byte for byte what qemu-img create writes (when it is the
 * qemu-img 7 whose layout instance.c follows; otherwise qemu-img check
 * alone), for sizes whose L1 table takes one or two clusters. */
START_TEST(test_overlay_like_qemu_img)
{
    static const struct {
        size_t tsize;
        uint64_t size;
        const char *size_arg;
    } cases[] = {
        { 1000, 0, NULL },                          /* rounded up to 1024 */
        { 64 * KIB, 0, NULL },
        { 64 * KIB, 3 * 1024 * KIB + 1, "3145729" },
        { 64 * KIB, 3ULL << 40, "3T" },
        { 64 * KIB, 6ULL << 40, "6T" },             /* L1 of 2 clusters */
        { 64 * KIB, 1ULL << 50, "1P" },
    };
    char *version = run("qemu-img --version", NULL);
    bool same_qemu = strncmp(version, "qemu-img version 7.", 19) == 0;

    for (size_t i = 0; i < VWS_N_ELEMENTS(cases); i++) {
        char *tpl = make_raw("template.raw", cases[i].tsize);
        char *ours = tpath("ours.qcow2"), *theirs = tpath("theirs.qcow2");
        char *cmd, *out, *a, *b;
        size_t alen, blen;
        int st;

        ck_assert_int_eq(vws_instance_overlay(tpl, "raw", ours, cases[i].size),
                         0);
        cmd = vws_asprintf("qemu-img check -f qcow2 '%s'", ours);
        out = run(cmd, &st);
        ck_assert_msg(st == 0, "case %zu: %s", i, out);
        free(out);
        free(cmd);
        if (same_qemu) {
            cmd = vws_asprintf("qemu-img create -q -f qcow2 -F raw -b '%s' "
                               "'%s' %s", tpl, theirs,
                               cases[i].size_arg ? cases[i].size_arg : "");
            out = run(cmd, &st);
            ck_assert_msg(st == 0, "%s", out);
            a = read_all(ours, &alen);
            b = read_all(theirs, &blen);
            ck_assert_msg(alen == blen, "case %zu: %zu bytes, qemu-img %zu",
                          i, alen, blen);
            ck_assert_msg(memcmp(a, b, alen) == 0,
                          "case %zu: not what qemu-img writes", i);
            free(a);
            free(b);
            free(out);
            free(cmd);
            unlink(theirs);
        }
        unlink(ours);
        unlink(tpl);
        free(theirs);
        free(ours);
        free(tpl);
    }
    free(version);
}
END_TEST

START_TEST(test_overlay_refused)
{
    char *tpl = make_raw("template.raw", 64 * KIB);
    char *missing = tpath("missing.raw"), *ov = tpath("disk.qcow2");
    char *existing = tpath("existing"), *data, *chained = tpath("chain.qcow2");
    char *cmd, *out;
    size_t len;
    int st;

    ck_assert_int_eq(vws_instance_overlay(missing, "raw", ov, 0), -1);
    assert_error(VWS_ERR_NOT_FOUND, "does not exist");
    ck_assert(!exists(ov));

    ck_assert_int_eq(vws_instance_overlay("template.raw", "raw", ov, 0), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not absolute");
    ck_assert(!exists(ov));

    ck_assert_int_eq(vws_instance_overlay(tpl, "vmdk", ov, 0), -1);
    assert_error(VWS_ERR_INVALID_ARG, "want raw or qcow2");
    ck_assert_int_eq(vws_instance_overlay(tpl, "qcow2", ov, 0), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not a qcow2 image");
    ck_assert_int_eq(vws_instance_overlay(tpl, "raw", ov, 4 * KIB), -1);
    assert_error(VWS_ERR_INVALID_ARG, "smaller than template");
    ck_assert(!exists(ov));

    write_file(existing, "keep", 4);
    ck_assert_int_eq(vws_instance_overlay(tpl, "raw", existing, 0), -1);
    assert_error(VWS_ERR_EXISTS, "already exists");
    data = read_all(existing, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(data, "keep", 4);
    free(data);

    /* a template that is itself an overlay could reach any file */
    cmd = vws_asprintf("qemu-img create -q -f qcow2 -F raw -b /etc/passwd "
                       "'%s'", chained);
    free(out = run(cmd, &st));
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(vws_instance_overlay(chained, "qcow2", ov, 0), -1);
    assert_error(VWS_ERR_SECURITY, "backing file");
    ck_assert(!exists(ov));

    ck_assert_int_eq(vws_instance_overlay(tpl, "raw", ov, 1ULL << 62), -1);
    assert_error(VWS_ERR_LIMIT, "1 PiB");
    ck_assert(!exists(ov));
    /* an overlay in a directory that does not exist */
    free(existing);
    existing = tpath("nodir/disk.qcow2");
    ck_assert_int_eq(vws_instance_overlay(tpl, "raw", existing, 0), -1);
    assert_error(VWS_ERR_SYSTEM, "nodir");

    free(cmd);
    free(chained);
    free(existing);
    free(ov);
    free(missing);
    free(tpl);
}
END_TEST

/* ---- copies -------------------------------------------------------------- */

START_TEST(test_copy)
{
    char *src = make_raw("template.raw", 3 * 1024 * KIB + 123);
    char *dest = tpath("copy.raw"), *a, *b;
    size_t alen, blen;
    struct stat st;

    ck_assert_int_eq(vws_instance_copy(src, dest), 0);
    a = read_all(src, &alen);
    b = read_all(dest, &blen);
    ck_assert_uint_eq(alen, blen);
    ck_assert_mem_eq(a, b, alen);
    ck_assert_int_eq(stat(dest, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    ck_assert_int_eq(vws_instance_copy(src, dest), -1);
    assert_error(VWS_ERR_EXISTS, "already exists");
    free(b);
    b = read_all(dest, &blen);
    ck_assert_mem_eq(a, b, alen);         /* untouched */

    free(dest);
    dest = tpath("copy2.raw");
    ck_assert_int_eq(vws_instance_copy("/nonexistent/x", dest), -1);
    assert_error(VWS_ERR_NOT_FOUND, NULL);
    ck_assert_int_eq(vws_instance_copy(tmpdir, dest), -1);
    assert_error(VWS_ERR_INVALID_ARG, "not a regular file");
    ck_assert(!exists(dest));

    free(a);
    free(b);
    free(dest);
    free(src);
}
END_TEST

/* ---- config drive -------------------------------------------------------- */

static char *
iso_file(const char *iso, const char *name, int *status)
{
    char *cmd = vws_asprintf("isoinfo -i '%s' -R -x '%s'", iso, name);
    char *out = run(cmd, status);
    free(cmd);
    return out;
}

static size_t
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(test_config_drive)
{
    char *iso = tpath("config.iso"), *cmd, *out, *cmdline;
    struct stat st;
    int status;

    ck_assert_int_eq(vws_instance_config_drive(iso, &meta), 0);
    ck_assert_int_eq(stat(iso, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq(count_entries(tmpdir), 1);    /* staging removed */

    cmd = vws_asprintf("isoinfo -d -i '%s'", iso);
    out = run(cmd, &status);
    ck_assert_int_eq(status, 0);
    assert_contains(out, "Volume id: VWSMETA");
    free(out);
    free(cmd);

    out = iso_file(iso, "/meta.txt", &status);
    ck_assert_int_eq(status, 0);
    assert_contains(out, "\nid=" ID "\n");
    assert_contains(out, "\nnode=2\n");
    assert_contains(out, "\nhostname=tiny1.example.org\n");
    assert_contains(out, "\nip=10.0.0.5/24\n");
    assert_contains(out, "\nnetmask=255.255.255.0\n");
    assert_contains(out, "\ngw=10.0.0.1\n");
    assert_contains(out, "\nmac=52:54:00:12:34:56\n");
    assert_contains(out, "\nnic1.ip=192.168.7.9/16\n");
    assert_contains(out, "\nsubject=/O=Grid/CN=workspace " ID "\n");
    ck_assert_ptr_null(strstr(out, KEY_BODY));
    ck_assert_ptr_null(strstr(out, "PRIVATE"));
    free(out);

    out = iso_file(iso, "/workspace.crt", &status);
    ck_assert_str_eq(out, cert);
    free(out);
    out = iso_file(iso, "/workspace.key", &status);
    ck_assert_str_eq(out, key);
    free(out);

    cmdline = vws_instance_cmdline("console=ttyS0", &meta);
    ck_assert_ptr_nonnull(cmdline);
    ck_assert_ptr_null(strstr(cmdline, KEY_BODY));
    ck_assert_ptr_null(strstr(cmdline, "PRIVATE"));
    free(cmdline);

    /* an existing ISO is kept */
    ck_assert_int_eq(vws_instance_config_drive(iso, &meta), -1);
    assert_error(VWS_ERR_EXISTS, "already exists");
    ck_assert_uint_eq(count_entries(tmpdir), 1);
    free(iso);

    /* no credential: no files for it */
    meta.cert_pem = meta.key_pem = NULL;
    meta.subject = NULL;
    iso = tpath("bare.iso");
    ck_assert_int_eq(vws_instance_config_drive(iso, &meta), 0);
    cmd = vws_asprintf("isoinfo -i '%s' -R -f", iso);
    out = run(cmd, &status);
    assert_contains(out, "/meta.txt");
    ck_assert_ptr_null(strstr(out, "workspace"));
    free(out);
    free(cmd);

    /* hostile metadata: nothing written */
    free(iso);
    iso = tpath("bad.iso");
    meta.hostname = "a;b";
    ck_assert_int_eq(vws_instance_config_drive(iso, &meta), -1);
    assert_error(VWS_ERR_INVALID_ARG, "hostname");
    ck_assert(!exists(iso));
    ck_assert_uint_eq(count_entries(tmpdir), 2);
    free(iso);
}
END_TEST

/* ---- metadata checks ----------------------------------------------------- */

START_TEST(test_meta_check)
{
    static const struct {
        const char *field, *value, *needle;
    } bad[] = {
        { "hostname", "tiny 1", "hostname" },
        { "hostname", "tiny\"1", "hostname" },
        { "hostname", "tiny';1", "hostname" },
        { "hostname", "a;reboot", "hostname" },
        { "hostname", "tiny1\nip=6.6.6.6", "hostname" },
        { "hostname", "", "hostname" },
        { "hostname", "-a", "hostname" },
        { "id", "../../etc", "workspace_id" },
        { "id", ID "\n", "workspace_id" },
        { "id", "1b4e28ba2fa141d2883f0016d3cca427", "workspace_id" },
        { "ip", "999.1.1.1", "nic[0].ip" },
        { "ip", "10.0.0.5\n", "nic[0].ip" },
        { "ip", "10.0.0", "nic[0].ip" },
        { "ip", "010.0.0.5", "nic[0].ip" },
        { "ip", "10.0.0.5 vws.gw=6.6.6.6", "nic[0].ip" },
        { "mask", "255.0.255.0", "nic[0].netmask" },
        { "gw", "1.2.3.256", "nic[0].gateway" },
        { "mac", "01:00:5e:00:00:01", "nic[0].mac" },    /* multicast */
        { "mac", "ff:ff:ff:ff:ff:ff", "nic[0].mac" },
        { "mac", "00:00:00:00:00:00", "nic[0].mac" },
        { "mac", "52:54:00:12:34", "nic[0].mac" },
        { "mac", "52:54:00:12:34:56\n", "nic[0].mac" },
        { "name", "eth 0", "nic[0].name" },
        { "subject", "CN=x\nid=evil", "subject" },
        { "subject", "", "subject" },
        { "cert", "not a pem", "cert_pem" },
        { "cert", key, "cert_pem" },
        { "key", cert, "key_pem" },
        { "key", "-----BEGIN PRIVATE KEY-----\nAA\n-----END RSA PRIVATE KEY-----\n",
          "key_pem" },
    };
    struct vws_instance_meta m;
    struct vws_instance_nic n[2];
    char *big;

    ck_assert_int_eq(vws_instance_meta_check(&meta), 0);
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad); i++) {
        const char *f = bad[i].field, *v = bad[i].value;
        m = meta;
        memcpy(n, nics, sizeof(n));
        m.nics = n;
        if (!strcmp(f, "hostname")) m.hostname = v;
        else if (!strcmp(f, "id")) m.workspace_id = v;
        else if (!strcmp(f, "ip")) n[0].ip = v;
        else if (!strcmp(f, "mask")) n[0].netmask = v;
        else if (!strcmp(f, "gw")) n[0].gateway = v;
        else if (!strcmp(f, "mac")) n[0].mac = v;
        else if (!strcmp(f, "name")) n[0].name = v;
        else if (!strcmp(f, "subject")) m.subject = v;
        else if (!strcmp(f, "cert")) m.cert_pem = v;
        else if (!strcmp(f, "key")) m.key_pem = v;
        ck_assert_msg(vws_instance_meta_check(&m) == -1, "accepted %s", v);
        assert_error(VWS_ERR_INVALID_ARG, bad[i].needle);
        /* and nothing built from it */
        ck_assert_ptr_null(vws_instance_cmdline(NULL, &m));
        vws_error_reset();
    }

    /* a 70 KB PEM */
    big = vws_malloc(70 * 1024);
    memset(big, 'A', 70 * 1024 - 1);
    big[70 * 1024 - 1] = '\0';
    memcpy(big, "-----BEGIN CERTIFICATE-----\n", 28);
    memcpy(big + 70 * 1024 - 27, "\n-----END CERTIFICATE-----", 26);
    m = meta;
    m.cert_pem = big;
    ck_assert_int_eq(vws_instance_meta_check(&m), -1);
    assert_error(VWS_ERR_INVALID_ARG, "cert_pem");
    free(big);

    /* key without certificate; duplicate MACs; too many NICs */
    m = meta;
    m.cert_pem = NULL;
    ck_assert_int_eq(vws_instance_meta_check(&m), -1);
    assert_error(VWS_ERR_INVALID_ARG, "cert_pem");
    m = meta;
    memcpy(n, nics, sizeof(n));
    n[1].mac = "52:54:00:12:34:56";
    m.nics = n;
    ck_assert_int_eq(vws_instance_meta_check(&m), -1);
    assert_error(VWS_ERR_INVALID_ARG, "nic[1].mac");
    m = meta;
    m.n_nics = VWS_INSTANCE_MAX_NICS + 1;
    ck_assert_int_eq(vws_instance_meta_check(&m), -1);
    assert_error(VWS_ERR_INVALID_ARG, "nics");

    /* what is fine: no NIC, no gateway, no credential, no subject */
    m = meta;
    m.n_nics = 0;
    m.cert_pem = m.key_pem = m.subject = NULL;
    ck_assert_int_eq(vws_instance_meta_check(&m), 0);
    ck_assert_int_eq(vws_instance_meta_check(NULL), -1);
    vws_error_reset();
}
END_TEST

/* ---- command line -------------------------------------------------------- */

START_TEST(test_cmdline)
{
    char *s, *base;
    struct vws_instance_meta m;

    s = vws_instance_cmdline("console=ttyS0 quiet", &meta);
    ck_assert_str_eq(s, "console=ttyS0 quiet vws.id=" ID
                     " vws.hostname=tiny1.example.org vws.ip=10.0.0.5/24"
                     " vws.gw=10.0.0.1 vws.mac=52:54:00:12:34:56");
    free(s);

    m = meta;
    m.n_nics = 0;
    s = vws_instance_cmdline(NULL, &m);
    ck_assert_str_eq(s, "vws.id=" ID " vws.hostname=tiny1.example.org");
    free(s);

    m = meta;
    m.nics = &nics[1];
    m.n_nics = 1;
    s = vws_instance_cmdline("", &m);
    ck_assert_str_eq(s, "vws.id=" ID " vws.hostname=tiny1.example.org"
                     " vws.ip=192.168.7.9/16 vws.mac=52:54:00:12:34:57");
    free(s);

    ck_assert_ptr_null(vws_instance_cmdline("console=ttyS0\ninit=/bin/sh",
                                            &meta));
    assert_error(VWS_ERR_INVALID_ARG, "control character");
    ck_assert_ptr_null(vws_instance_cmdline("quiet\x1b[2J", &meta));
    assert_error(VWS_ERR_INVALID_ARG, "control character");

    base = vws_malloc(VWS_INSTANCE_MAX_CMDLINE - 20);
    memset(base, 'x', VWS_INSTANCE_MAX_CMDLINE - 21);
    base[VWS_INSTANCE_MAX_CMDLINE - 21] = '\0';
    ck_assert_ptr_null(vws_instance_cmdline(base, &meta));
    assert_error(VWS_ERR_LIMIT, "at most 4096");
    free(base);
}
END_TEST

/* ---- instance directory -------------------------------------------------- */

START_TEST(test_instance_dir)
{
    static const char *const bad_ids[] = {
        "../../etc", "..", "", "a/b", ID "/..", "/etc",
        "1b4e28ba-2fa1-41d2-883f-0016d3cca42/",
    };
    char *dir, *outside = tpath("outside"), *victim, *link, *p;
    struct stat st;

    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_ids); i++) {
        ck_assert_ptr_null(vws_instance_dir(tmpdir, bad_ids[i]));
        assert_error(VWS_ERR_SECURITY, "not a UUID");
        ck_assert_int_eq(vws_instance_remove_dir(tmpdir, bad_ids[i]), -1);
        assert_error(VWS_ERR_SECURITY, "not a UUID");
    }
    ck_assert_ptr_null(vws_instance_dir(tmpdir, NULL));
    assert_error(VWS_ERR_SECURITY, NULL);
    ck_assert_uint_eq(count_entries(tmpdir), 0);

    dir = vws_instance_dir(tmpdir, ID);
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(lstat(dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    free(dir);
    dir = vws_instance_dir(tmpdir, ID);         /* reused */
    ck_assert_ptr_nonnull(dir);
    p = vws_instance_path(tmpdir, ID, VWS_INSTANCE_DISK);
    assert_contains(p, ID "/disk.qcow2");
    free(p);
    ck_assert_ptr_null(vws_instance_path(tmpdir, ID, "../x"));
    vws_error_reset();

    /* files outside, and links to them planted in the directory */
    ck_assert_int_eq(mkdir(outside, 0700), 0);
    victim = vws_asprintf("%s/victim", outside);
    write_file(victim, "precious", 8);
    link = vws_asprintf("%s/%s", dir, VWS_INSTANCE_DISK);
    ck_assert_int_eq(symlink(victim, link), 0);
    free(link);
    link = vws_asprintf("%s/%s", dir, VWS_INSTANCE_STATE);
    ck_assert_int_eq(symlink(outside, link), 0);
    free(link);
    p = vws_asprintf("%s/%s", dir, VWS_INSTANCE_CONFIG_ISO);
    write_file(p, "iso", 3);
    free(p);
    link = vws_asprintf("%s/" ".vws-config-abcdef", dir);  /* stale staging */
    ck_assert_int_eq(symlink(outside, link), 0);
    free(link);

    ck_assert_int_eq(vws_instance_remove_dir(tmpdir, ID), 0);
    ck_assert(!exists(dir));
    ck_assert_int_eq(stat(victim, &st), 0);
    ck_assert_int_eq(st.st_size, 8);
    ck_assert_uint_eq(count_entries(outside), 1);
    ck_assert_int_eq(vws_instance_remove_dir(tmpdir, ID), 0);   /* gone */

    /* a foreign entry (or a link to a directory under another name) is
     * left, and so is the directory; nothing outside is touched */
    free(dir);
    dir = vws_instance_dir(tmpdir, ID);
    link = vws_asprintf("%s/evil", dir);
    ck_assert_int_eq(symlink(outside, link), 0);
    ck_assert_int_eq(vws_instance_remove_dir(tmpdir, ID), -1);
    assert_error(VWS_ERR_STATE, "'evil'");
    ck_assert(exists(link));
    ck_assert_uint_eq(count_entries(outside), 1);
    ck_assert_int_eq(unlink(link), 0);
    ck_assert_int_eq(vws_instance_remove_dir(tmpdir, ID), 0);
    free(link);

    /* the instance directory itself a link: refused both ways */
    link = vws_asprintf("%s/%s", tmpdir, ID);
    ck_assert_int_eq(symlink(outside, link), 0);
    ck_assert_ptr_null(vws_instance_dir(tmpdir, ID));
    assert_error(VWS_ERR_SECURITY, "not a directory");
    ck_assert_int_eq(vws_instance_remove_dir(tmpdir, ID), -1);
    assert_error(VWS_ERR_SECURITY, "not a directory");
    ck_assert_uint_eq(count_entries(outside), 1);

    free(link);
    free(victim);
    free(outside);
    free(dir);
}
END_TEST

static Suite *
instance_suite(void)
{
    Suite *su = suite_create("instance");
    TCase *tc = tcase_create("instance");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);          /* valgrind */
    tcase_add_test(tc, test_overlay_raw);
    tcase_add_test(tc, test_overlay_qcow2);
    tcase_add_test(tc, test_overlay_like_qemu_img);
    tcase_add_test(tc, test_overlay_refused);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_config_drive);
    tcase_add_test(tc, test_meta_check);
    tcase_add_test(tc, test_cmdline);
    tcase_add_test(tc, test_instance_dir);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    SRunner *sr = srunner_create(instance_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
