/*
 * instance.c — image instances: metadata checks, the kernel command line,
 * the config drive, qcow2 overlays, full copies and the instance
 * directory (see instance.h for the API and the layout).
 *
 * Overlays are written directly (see write_qcow2_overlay()); the one
 * program, genisoimage, is started with posix_spawnp(): an
 * argv and no shell, standard input from /dev/null, every descriptor but
 * 0-2 closed, standard output and error into one pipe whose first bytes
 * go into the error message when the program fails.  posix_spawn is
 * glibc's vfork+exec: safe in a threaded daemon (nothing runs between the
 * fork and the exec but the file actions) and cheap whatever the
 * daemon's size, which matters for an overlay that should cost
 * milliseconds.
 *
 * Every file this module creates is created with O_EXCL first (mode
 * 0600), so an existing file is never overwritten and a name is reserved
 * before a program writes into it; on failure the file is unlinked.
 * Paths handed to a program are absolute or start with "./", so no path
 * is read as an option ("-x").  An overlay's template path must be
 * absolute, so qemu never reads it as a protocol ("nbd:host").
 */
#define VWS_MODULE "instance"
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/uuid.h"
#include "manager/instance.h"
#include "internal.h"

extern char **environ;

#define OUTPUT_KEEP 600                 /* bytes of program output kept */
#define COPY_CHUNK (64u * 1024u * 1024u)
#define STAGE_PREFIX ".vws-config-"
#define META_FILE "meta.txt"
#define CERT_FILE "workspace.crt"
#define KEY_FILE "workspace.key"

/* ---- quoting values into messages ------------------------------------- */

/* S, at most 64 characters of it, with control and non-ASCII bytes as
 * \xNN, into BUF: a hostile value never breaks a log line. */
static const char *
shown(const char *s, char buf[300])
{
    size_t o = 0, i;

    if (!s)
        return "(null)";
    for (i = 0; s[i] && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            o += (size_t)snprintf(buf + o, 300 - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (s[i])
        o += (size_t)snprintf(buf + o, 300 - o, "...");
    buf[o] = '\0';
    return buf;
}

static bool
has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* ---- value checks -------------------------------------------------------- */

/* Dotted IPv4 as schema IPv4Type: four parts 0..255, no leading zeros. */
static bool
parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t v = 0;

    for (int part = 0; part < 4; part++) {
        unsigned n = 0;
        int digits = 0;

        if (part > 0 && *s++ != '.')
            return false;
        while (*s >= '0' && *s <= '9') {
            if (digits == 1 && n == 0)
                return false;           /* leading zero */
            n = n * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || n > 255)
                return false;
        }
        if (digits == 0)
            return false;
        v = (v << 8) | n;
    }
    if (*s)
        return false;
    *out = v;
    return true;
}

/* The prefix length of a contiguous netmask, or -1. */
static int
mask_prefix(uint32_t mask)
{
    int p = 0;

    while (p < 32 && (mask & (0x80000000u >> p)))
        p++;
    if (p < 32 && (mask << p) != 0)
        return -1;
    return p;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* XX:XX:XX:XX:XX:XX; *UNICAST false when the group bit is set or it is
 * all zeros. */
static bool
parse_mac(const char *s, bool *unicast)
{
    int first = 0, any = 0;

    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);
        if (hi < 0 || lo < 0)
            return false;
        if (p[2] != (i < 5 ? ':' : '\0'))
            return false;
        if (i == 0)
            first = hi * 16 + lo;
        any |= hi * 16 + lo;
    }
    *unicast = !(first & 1) && any != 0;
    return true;
}

static bool
is_nic_name(const char *s)
{
    size_t i;

    if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
                (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (i = 1; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
              c == '-'))
            return false;
        if (i >= 127)
            return false;
    }
    return true;
}

/* The label of "-----BEGIN LABEL-----" at S (uppercase letters, digits,
 * spaces), into LABEL; the length of the whole marker line or 0. */
static size_t
pem_marker(const char *s, const char *word, char label[64])
{
    size_t wl = strlen(word), i = 0;

    if (strncmp(s, "-----", 5) != 0 || strncmp(s + 5, word, wl) != 0 ||
        s[5 + wl] != ' ')
        return 0;
    s += 6 + wl;
    while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
           s[i] == ' ') {
        if (i >= 63)
            return 0;
        label[i] = s[i];
        i++;
    }
    label[i] = '\0';
    if (i == 0 || strncmp(s + i, "-----", 5) != 0)
        return 0;
    return 6 + wl + i + 5;
}

/* PEM shape: printable ASCII lines, optional white space, BEGIN LABEL,
 * body, END LABEL (the same), optional white space; KEY says whether the
 * label must be a private key's or a certificate's. */
static int
check_pem(const char *field, const char *pem, bool key)
{
    size_t len = strnlen(pem, VWS_INSTANCE_MAX_PEM + 1), n, end;
    char begin[64], last[64];
    const char *p = pem, *e;

    if (len > VWS_INSTANCE_MAX_PEM) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s: longer than %d bytes", field,
                         VWS_INSTANCE_MAX_PEM);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pem[i];
        if (!((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' ||
              c == '\t')) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "invalid %s: byte 0x%02x at offset %zu is not "
                             "PEM text", field, c, i);
            return -1;
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    n = pem_marker(p, "BEGIN", begin);
    /* the last END marker: back over trailing white space */
    end = len;
    while (end > 0 && strchr(" \t\r\n", pem[end - 1]))
        end--;
    e = NULL;
    for (size_t i = end; i-- > (size_t)(p - pem) + n && !e;)
        if (pem[i] == '\n' && strncmp(pem + i + 1, "-----END ", 9) == 0)
            e = pem + i + 1;
    if (n == 0 || !e || pem_marker(e, "END", last) != (size_t)(pem + end - e) ||
        strcmp(begin, last) != 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s: not a PEM block (-----BEGIN ...----- "
                         "to -----END ...-----)", field);
        return -1;
    }
    if (key) {
        size_t bl = strlen(begin);
        if (bl < 11 || strcmp(begin + bl - 11, "PRIVATE KEY") != 0 ||
            strcmp(begin, "ENCRYPTED PRIVATE KEY") == 0) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "invalid %s: '%s' is not an unencrypted "
                             "private key", field, begin);
            return -1;
        }
    } else if (strcmp(begin, "CERTIFICATE") != 0 ||
               strstr(pem, "PRIVATE KEY") != NULL) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s: want certificates only (BEGIN "
                         "CERTIFICATE), found '%s'%s", field, begin,
                         strstr(pem, "PRIVATE KEY") ? " and a private key" : "");
        return -1;
    }
    return 0;
}

static int
check_nic(size_t i, const struct vws_instance_nic *nic)
{
    char f[48], b[300];
    uint32_t ip, mask, gw;
    bool unicast;

    if (!is_nic_name(nic->name)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid nic[%zu].name '%s': want letters, digits, "
                         "'._+-', at most 128", i, shown(nic->name, b));
        return -1;
    }
    snprintf(f, sizeof(f), "nic[%zu].mac", i);
    if (!nic->mac || !parse_mac(nic->mac, &unicast)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s '%s': want XX:XX:XX:XX:XX:XX", f,
                         shown(nic->mac, b));
        return -1;
    }
    if (!unicast) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s '%s': not a unicast address (multicast "
                         "bit set, or all zeros)", f, nic->mac);
        return -1;
    }
    snprintf(f, sizeof(f), "nic[%zu].ip", i);
    if (!nic->ip || !parse_ipv4(nic->ip, &ip)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s '%s': want a dotted IPv4 address", f,
                         shown(nic->ip, b));
        return -1;
    }
    snprintf(f, sizeof(f), "nic[%zu].netmask", i);
    if (!nic->netmask || !parse_ipv4(nic->netmask, &mask) ||
        mask_prefix(mask) < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s '%s': want a dotted IPv4 netmask of "
                         "contiguous ones", f, shown(nic->netmask, b));
        return -1;
    }
    snprintf(f, sizeof(f), "nic[%zu].gateway", i);
    if (nic->gateway && !parse_ipv4(nic->gateway, &gw)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s '%s': want a dotted IPv4 address", f,
                         shown(nic->gateway, b));
        return -1;
    }
    return 0;
}

int
vws_instance_meta_check(const struct vws_instance_meta *m)
{
    char b[300];

    if (!m) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no instance metadata");
        return -1;
    }
    if (!m->workspace_id || !vws_uuid_is_valid(m->workspace_id)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid workspace_id '%s': not a UUID",
                         shown(m->workspace_id, b));
        return -1;
    }
    if (!m->hostname || !vws_is_hostname(m->hostname)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid hostname '%s': want an RFC 1123 host name "
                         "(letters, digits, '-', '.')", shown(m->hostname, b));
        return -1;
    }
    if (m->n_nics > VWS_INSTANCE_MAX_NICS || (m->n_nics && !m->nics)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid nics: %zu given, at most %d", m->n_nics,
                         VWS_INSTANCE_MAX_NICS);
        return -1;
    }
    for (size_t i = 0; i < m->n_nics; i++) {
        if (check_nic(i, &m->nics[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(m->nics[i].mac, m->nics[j].mac) == 0) {
                vws_report_error(VWS_ERR_INVALID_ARG,
                                 "invalid nic[%zu].mac '%s': nic[%zu] has it "
                                 "too", i, m->nics[i].mac, j);
                return -1;
            }
            if (strcmp(m->nics[i].name, m->nics[j].name) == 0) {
                vws_report_error(VWS_ERR_INVALID_ARG,
                                 "invalid nic[%zu].name '%s': nic[%zu] has "
                                 "it too", i, m->nics[i].name, j);
                return -1;
            }
        }
    }
    if (!m->cert_pem != !m->key_pem) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "invalid %s: the certificate and the key come "
                         "together", m->cert_pem ? "key_pem" : "cert_pem");
        return -1;
    }
    if (m->cert_pem && (check_pem("cert_pem", m->cert_pem, false) < 0 ||
                        check_pem("key_pem", m->key_pem, true) < 0))
        return -1;
    if (m->subject) {
        size_t len = strnlen(m->subject, VWS_INSTANCE_MAX_SUBJECT + 1);
        if (len == 0 || len > VWS_INSTANCE_MAX_SUBJECT ||
            has_control(m->subject, len)) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "invalid subject '%s': want 1 to %d bytes "
                             "without control characters",
                             shown(m->subject, b), VWS_INSTANCE_MAX_SUBJECT);
            return -1;
        }
    }
    return 0;
}

/* ---- command line -------------------------------------------------------- */

static int
nic_prefix(const struct vws_instance_nic *nic)
{
    uint32_t mask = 0;

    parse_ipv4(nic->netmask, &mask);        /* checked before */
    return mask_prefix(mask);
}

char *
vws_instance_cmdline(const char *base, const struct vws_instance_meta *m)
{
    struct vws_buf b = VWS_BUF_INIT;
    size_t blen = 0;

    if (vws_instance_meta_check(m) < 0)
        return NULL;
    if (base) {
        blen = strnlen(base, VWS_INSTANCE_MAX_CMDLINE + 1);
        if (blen > VWS_INSTANCE_MAX_CMDLINE) {
            vws_report_error(VWS_ERR_LIMIT,
                             "template command line longer than %d bytes",
                             VWS_INSTANCE_MAX_CMDLINE);
            return NULL;
        }
        if (has_control(base, blen)) {
            char sb[300];
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "template command line '%s' has a control "
                             "character", shown(base, sb));
            return NULL;
        }
        vws_buf_add(&b, base, blen);
    }
    if (b.len > 0 && b.s[b.len - 1] != ' ')
        vws_buf_addch(&b, ' ');
    vws_buf_addf(&b, "vws.id=%s vws.hostname=%s", m->workspace_id,
                 m->hostname);
    if (m->n_nics > 0) {
        const struct vws_instance_nic *nic = &m->nics[0];
        vws_buf_addf(&b, " vws.ip=%s/%d", nic->ip, nic_prefix(nic));
        if (nic->gateway)
            vws_buf_addf(&b, " vws.gw=%s", nic->gateway);
        vws_buf_addf(&b, " vws.mac=%s", nic->mac);
    }
    if (b.len > VWS_INSTANCE_MAX_CMDLINE) {
        vws_report_error(VWS_ERR_LIMIT,
                         "kernel command line of %zu bytes with the metadata: "
                         "at most %d", b.len, VWS_INSTANCE_MAX_CMDLINE);
        vws_buf_release(&b);
        return NULL;
    }
    return vws_buf_detach(&b, NULL);
}

/* ---- running programs ---------------------------------------------------- */

/*
 * Run ARGV[0] (searched in PATH) with ARGV.  Standard output goes to
 * OUT_FD when >= 0, else with standard error into the captured output.
 * 0 when it exits 0; otherwise -1 with an error naming WHAT, the exit
 * status and the start of the output.
 */
static int
run_program(const char *what, char *const argv[], int out_fd)
{
    posix_spawn_file_actions_t fa;
    int pipefd[2], status = 0, rc, ret = -1;
    pid_t pid;
    struct vws_buf out = VWS_BUF_INIT;
    char chunk[4096];

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        vws_report_system_error("cannot make a pipe for %s", what);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : pipefd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        errno = rc;
        vws_report_system_error("cannot run '%s' for %s", argv[0], what);
        close(pipefd[0]);
        return -1;
    }
    for (;;) {
        ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out.len < OUTPUT_KEEP)
            vws_buf_add(&out, chunk, (size_t)n);
    }
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            vws_report_system_error("cannot wait for '%s'", argv[0]);
            goto cleanup;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ret = 0;
        goto cleanup;
    }
    if (out.len > OUTPUT_KEEP)
        vws_buf_setlen(&out, OUTPUT_KEEP);
    for (size_t i = 0; i < out.len; i++)
        if (out.s[i] == '\n' || out.s[i] == '\r' || out.s[i] == '\t')
            out.s[i] = ' ';
        else if ((unsigned char)out.s[i] < 0x20)
            out.s[i] = '?';
    if (WIFEXITED(status))
        vws_report_error(VWS_ERR_IO, "%s: '%s' exited with %d: %s", what,
                         argv[0], WEXITSTATUS(status),
                         out.len ? vws_trim(out.s) : "(no output)");
    else
        vws_report_error(VWS_ERR_IO, "%s: '%s' killed by signal %d: %s",
                         what, argv[0],
                         WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                         out.len ? vws_trim(out.s) : "(no output)");
cleanup:
    vws_buf_release(&out);
    return ret;
}

/* PATH as a program argument: absolute, or "./" + PATH. */
static char *
arg_path(const char *path)
{
    return path[0] == '/' ? vws_strdup(path) : vws_asprintf("./%s", path);
}

/* Reserve PATH: create it empty, mode 0600, failing if anything (even a
 * dangling link) is there.  The descriptor, or -1. */
static int
create_new(const char *what, const char *path)
{
    int fd;

    if (!path || !*path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no %s path", what);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        if (errno == EEXIST)
            vws_report_error(VWS_ERR_EXISTS, "%s '%s' already exists", what,
                             path);
        else
            vws_report_system_error("cannot create %s '%s'", what, path);
    }
    return fd;
}

/* ---- config drive -------------------------------------------------------- */

static int
write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
stage_file(int dfd, const char *dir, const char *name, const char *data,
           mode_t mode)
{
    int fd = openat(dfd, name,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode);

    if (fd < 0) {
        vws_report_system_error("cannot create '%s/%s'", dir, name);
        return -1;
    }
    if (write_all(fd, data, strlen(data)) < 0) {
        vws_report_system_error("cannot write '%s/%s'", dir, name);
        close(fd);
        return -1;
    }
    if (close(fd) < 0) {
        vws_report_system_error("cannot write '%s/%s'", dir, name);
        return -1;
    }
    return 0;
}

/* Remove the staging directory NAME in DFD: our three files, then the
 * directory.  Quiet: -1 (errno set) when something else is in it. */
static int
remove_stage(int dfd, const char *name)
{
    static const char *const files[] = { META_FILE, CERT_FILE, KEY_FILE };
    int sfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                O_CLOEXEC);

    if (sfd < 0)
        return unlinkat(dfd, name, 0);      /* a link or file: not ours */
    for (size_t i = 0; i < VWS_N_ELEMENTS(files); i++)
        unlinkat(sfd, files[i], 0);
    close(sfd);
    return unlinkat(dfd, name, AT_REMOVEDIR);
}

static char *
meta_text(const struct vws_instance_meta *m)
{
    struct vws_buf b = VWS_BUF_INIT;

    vws_buf_adds(&b, "# vws instance metadata, see vws-guest(7)\n");
    vws_buf_addf(&b, "id=%s\nnode=%u\nhostname=%s\n", m->workspace_id,
                 m->node, m->hostname);
    if (m->n_nics > 0) {
        const struct vws_instance_nic *nic = &m->nics[0];
        vws_buf_addf(&b, "ip=%s/%d\nnetmask=%s\n", nic->ip, nic_prefix(nic),
                     nic->netmask);
        if (nic->gateway)
            vws_buf_addf(&b, "gw=%s\n", nic->gateway);
        vws_buf_addf(&b, "mac=%s\n", nic->mac);
    }
    for (size_t i = 0; i < m->n_nics; i++) {
        const struct vws_instance_nic *nic = &m->nics[i];
        vws_buf_addf(&b, "nic%zu.name=%s\nnic%zu.mac=%s\nnic%zu.ip=%s/%d\n"
                     "nic%zu.netmask=%s\n", i, nic->name, i, nic->mac, i,
                     nic->ip, nic_prefix(nic), i, nic->netmask);
        if (nic->gateway)
            vws_buf_addf(&b, "nic%zu.gw=%s\n", i, nic->gateway);
    }
    if (m->subject)
        vws_buf_addf(&b, "subject=%s\n", m->subject);
    return vws_buf_detach(&b, NULL);
}

int
vws_instance_config_drive(const char *iso, const struct vws_instance_meta *m)
{
    char *dir = NULL, *stage = NULL, *text = NULL, *slash;
    int iso_fd = -1, dfd = -1, ret = -1;
    bool created = false;

    if (vws_instance_meta_check(m) < 0)
        return -1;
    if ((iso_fd = create_new("config drive", iso)) < 0)
        return -1;
    created = true;

    /* the staging directory, next to ISO */
    dir = arg_path(iso);
    slash = strrchr(dir, '/');
    *slash = '\0';
    stage = vws_asprintf("%s/" STAGE_PREFIX "XXXXXX", dir[0] ? dir : "");
    if (!mkdtemp(stage)) {
        vws_report_system_error("cannot make a staging directory in '%s'",
                                dir[0] ? dir : "/");
        VWS_FREE(stage);
        goto cleanup;
    }
    dfd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        vws_report_system_error("cannot open '%s'", stage);
        goto cleanup;
    }
    text = meta_text(m);
    if (stage_file(dfd, stage, META_FILE, text, 0644) < 0)
        goto cleanup;
    if (m->cert_pem &&
        (stage_file(dfd, stage, CERT_FILE, m->cert_pem, 0644) < 0 ||
         stage_file(dfd, stage, KEY_FILE, m->key_pem, 0600) < 0))
        goto cleanup;

    {
        char *argv[] = {
            "genisoimage", "-quiet", "-input-charset", "utf-8",
            "-V", "VWSMETA", "-r", "-J", stage, NULL
        };
        if (run_program("cannot write the config drive", argv, iso_fd) < 0)
            goto cleanup;
    }
    if (fsync(iso_fd) < 0) {
        vws_report_system_error("cannot sync '%s'", iso);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (iso_fd >= 0 && close(iso_fd) < 0 && ret == 0) {
        vws_report_system_error("cannot write '%s'", iso);
        ret = -1;
    }
    if (dfd >= 0)
        close(dfd);
    if (stage && remove_stage(AT_FDCWD, stage) < 0)
        VWS_WARN("cannot remove staging directory '%s': %s", stage,
                     strerror(errno));
    if (ret < 0 && created)
        unlink(iso);
    free(text);
    free(stage);
    free(dir);
    return ret;
}

/* ---- overlay ------------------------------------------------------------- */

static uint64_t
be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* The virtual size of the qcow2 image in FD, refusing what could reach
 * other files: a backing file, an external data file. */
static int
qcow2_template_size(int fd, const char *path, uint64_t *size)
{
    unsigned char h[104];
    ssize_t n = pread(fd, h, sizeof(h), 0);
    uint32_t version;

    if (n < 0) {
        vws_report_system_error("cannot read template '%s'", path);
        return -1;
    }
    if (n < 72 || memcmp(h, "QFI\xfb", 4) != 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template '%s' is not a qcow2 image", path);
        return -1;
    }
    version = be32(h + 4);
    if (version != 2 && version != 3) {
        vws_report_error(VWS_ERR_UNSUPPORTED,
                         "template '%s': qcow2 version %u", path, version);
        return -1;
    }
    if (be64(h + 8) != 0) {
        vws_report_error(VWS_ERR_SECURITY,
                         "template '%s' has a backing file: a template must "
                         "be a standalone image", path);
        return -1;
    }
    if (version == 3) {
        if (n < 104) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "template '%s': truncated qcow2 header", path);
            return -1;
        }
        if (be64(h + 72) & 4) {     /* incompatible: external data file */
            vws_report_error(VWS_ERR_SECURITY,
                             "template '%s' has an external data file: a "
                             "template must be a standalone image", path);
            return -1;
        }
    }
    *size = be64(h + 24);
    return 0;
}

/*
 * The overlay is written here rather than by qemu-img create: spawning
 * qemu-img costs ~7 ms (it loads its block layer, opens the backing
 * file, flushes), which is most of an instance's cost on a cache hit;
 * the same image written directly is a few system calls (bench/instance).
 * The layout is the one qemu-img 7.2 writes for "create -f qcow2 -F FMT
 * -b TEMPLATE SIZE" (qcow2 version 3, 64 KiB clusters, 16-bit refcounts,
 * zlib), checked in tests/check_instance.c with qemu-img check and
 * qemu-io, and byte for byte against qemu-img when the versions match:
 *     cluster 0   header (112 bytes), extensions (backing format, feature
 *                 names, end), the backing file name
 *     cluster 1   refcount table: one entry, the block at cluster 2
 *     cluster 2   refcount block: 1 for each cluster in use
 *     cluster 3.. L1 table of l1_size zero entries (no data yet), the
 *                 file ending after it
 * Every field is big-endian; the zeros are holes.
 */
#define QCOW2_CLUSTER_BITS 16
#define QCOW2_CLUSTER ((uint64_t)1 << QCOW2_CLUSTER_BITS)
#define QCOW2_HEADER_LEN 112
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u
#define QCOW2_MAX_BACKING_NAME 1023     /* qemu's limit */
/* 1 PiB: an L1 table of 2^21 entries (256 clusters), far below the
 * 32768 clusters one refcount block covers */
#define QCOW2_MAX_SIZE ((uint64_t)1 << 50)

static const struct {
    uint8_t type, bit;
    const char *name;
} qcow2_features[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

static void
put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static int
pwrite_all(int fd, const void *data, size_t n, off_t off)
{
    const char *p = data;

    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Write the qcow2 overlay into the new, empty file FD. */
static int
write_qcow2_overlay(int fd, const char *path, const char *backing,
                    const char *format, uint64_t size)
{
    size_t blen = strlen(backing), flen = strlen(format), o;
    uint64_t l2_cover = QCOW2_CLUSTER * (QCOW2_CLUSTER / 8);
    uint64_t l1_size = (size + l2_cover - 1) / l2_cover;
    uint64_t l1_clusters = (l1_size * 8 + QCOW2_CLUSTER - 1) / QCOW2_CLUSTER;
    unsigned char hdr[2048], rt[8], rb[2 * 260];
    uint64_t n_clusters = 3 + l1_clusters;

    if (blen > QCOW2_MAX_BACKING_NAME) {
        vws_report_error(VWS_ERR_LIMIT,
                         "template path of %zu bytes: at most %d in a qcow2 "
                         "overlay", blen, QCOW2_MAX_BACKING_NAME);
        return -1;
    }
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, "QFI\xfb", 4);
    put_be32(hdr + 4, 3);                           /* version */
    /* 8: backing_file_offset, 16: backing_file_size, below */
    put_be32(hdr + 20, QCOW2_CLUSTER_BITS);
    put_be64(hdr + 24, size);
    put_be32(hdr + 32, 0);                          /* no encryption */
    put_be32(hdr + 36, (uint32_t)l1_size);
    put_be64(hdr + 40, 3 * QCOW2_CLUSTER);          /* L1 table */
    put_be64(hdr + 48, 1 * QCOW2_CLUSTER);          /* refcount table */
    put_be32(hdr + 56, 1);                          /* its clusters */
    /* 60: no snapshots; 72, 80, 88: no features */
    put_be32(hdr + 96, 4);                          /* 16-bit refcounts */
    put_be32(hdr + 100, QCOW2_HEADER_LEN);
    /* 104: compression type zlib (0), padding */
    o = QCOW2_HEADER_LEN;
    put_be32(hdr + o, QCOW2_EXT_BACKING_FORMAT);
    put_be32(hdr + o + 4, (uint32_t)flen);
    memcpy(hdr + o + 8, format, flen);
    o += 8 + (flen + 7) / 8 * 8;
    put_be32(hdr + o, QCOW2_EXT_FEATURE_NAMES);
    put_be32(hdr + o + 4, (uint32_t)(48 * VWS_N_ELEMENTS(qcow2_features)));
    o += 8;
    for (size_t i = 0; i < VWS_N_ELEMENTS(qcow2_features); i++, o += 48) {
        hdr[o] = qcow2_features[i].type;
        hdr[o + 1] = qcow2_features[i].bit;
        memcpy(hdr + o + 2, qcow2_features[i].name,
               strlen(qcow2_features[i].name));
    }
    o += 8;                                         /* end of extensions */
    put_be64(hdr + 8, o);
    put_be32(hdr + 16, (uint32_t)blen);
    memcpy(hdr + o, backing, blen);
    o += blen;

    put_be64(rt, 2 * QCOW2_CLUSTER);
    memset(rb, 0, sizeof(rb));
    for (uint64_t i = 0; i < n_clusters; i++)
        rb[2 * i + 1] = 1;

    if (pwrite_all(fd, hdr, o, 0) < 0 ||
        pwrite_all(fd, rt, sizeof(rt), (off_t)QCOW2_CLUSTER) < 0 ||
        pwrite_all(fd, rb, 2 * n_clusters, (off_t)(2 * QCOW2_CLUSTER)) < 0 ||
        ftruncate(fd, (off_t)(3 * QCOW2_CLUSTER + l1_size * 8)) < 0 ||
        fdatasync(fd) < 0) {
        vws_report_system_error("cannot write overlay '%s'", path);
        return -1;
    }
    return 0;
}

int
vws_instance_overlay(const char *template_path, const char *template_format,
                     const char *overlay, uint64_t size_bytes)
{
    struct stat st;
    uint64_t tsize;
    int tfd, ofd = -1, ret = -1;

    if (!template_path || template_path[0] != '/') {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template path '%s' is not absolute",
                         template_path ? template_path : "");
        return -1;
    }
    if (has_control(template_path, strlen(template_path))) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template path has a control character");
        return -1;
    }
    if (!template_format || (strcmp(template_format, "raw") != 0 &&
                             strcmp(template_format, "qcow2") != 0)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template format '%s': want raw or qcow2",
                         template_format ? template_format : "");
        return -1;
    }
    tfd = open(template_path, O_RDONLY | O_CLOEXEC);
    if (tfd < 0) {
        if (errno == ENOENT)
            vws_report_error(VWS_ERR_NOT_FOUND, "template '%s' does not "
                             "exist", template_path);
        else
            vws_report_system_error("cannot open template '%s'",
                                    template_path);
        return -1;
    }
    if (fstat(tfd, &st) < 0) {
        vws_report_system_error("cannot stat template '%s'", template_path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "template '%s' is not a regular file", template_path);
        goto cleanup;
    }
    tsize = (uint64_t)st.st_size;
    if (strcmp(template_format, "qcow2") == 0 &&
        qcow2_template_size(tfd, template_path, &tsize) < 0)
        goto cleanup;
    if (size_bytes != 0 && size_bytes < tsize) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "overlay size %llu is smaller than template '%s' "
                         "(%llu bytes)", (unsigned long long)size_bytes,
                         template_path, (unsigned long long)tsize);
        goto cleanup;
    }
    if (size_bytes == 0)
        size_bytes = tsize;
    if (size_bytes > UINT64_MAX - 511) {
        vws_report_error(VWS_ERR_INVALID_ARG, "overlay size too large");
        goto cleanup;
    }
    size_bytes = (size_bytes + 511) / 512 * 512;

    if (size_bytes == 0) {
        vws_report_error(VWS_ERR_INVALID_ARG, "template '%s' is empty",
                         template_path);
        goto cleanup;
    }
    if (size_bytes > QCOW2_MAX_SIZE) {
        vws_report_error(VWS_ERR_LIMIT,
                         "overlay size %llu: at most %llu bytes (1 PiB)",
                         (unsigned long long)size_bytes,
                         (unsigned long long)QCOW2_MAX_SIZE);
        goto cleanup;
    }
    if ((ofd = create_new("overlay", overlay)) < 0)
        goto cleanup;
    if (write_qcow2_overlay(ofd, overlay, template_path, template_format,
                            size_bytes) < 0) {
        close(ofd);
        unlink(overlay);
        goto cleanup;
    }
    if (close(ofd) < 0) {
        vws_report_system_error("cannot write overlay '%s'", overlay);
        unlink(overlay);
        goto cleanup;
    }
    ret = 0;

cleanup:
    close(tfd);
    return ret;
}

/* ---- full copy ----------------------------------------------------------- */

/* Copy N bytes from IN to OUT at their offsets: copy_file_range, then
 * sendfile, then read/write when the kernel cannot do better. */
static int
copy_fd(int in, int out, uint64_t n)
{
    enum { CFR, SENDFILE, RW } how = CFR;
    char *buf = NULL;
    int ret = -1;

    while (n > 0) {
        size_t want = n > COPY_CHUNK ? COPY_CHUNK : (size_t)n;
        ssize_t got;

        if (how == CFR) {
            got = copy_file_range(in, NULL, out, NULL, want, 0);
            if (got < 0 && (errno == EXDEV || errno == ENOSYS ||
                            errno == EINVAL || errno == EOPNOTSUPP)) {
                how = SENDFILE;
                continue;
            }
        } else if (how == SENDFILE) {
            got = sendfile(out, in, NULL, want);
            if (got < 0 && (errno == EINVAL || errno == ENOSYS)) {
                how = RW;
                continue;
            }
        } else {
            if (!buf)
                buf = vws_malloc(1024 * 1024);
            got = read(in, buf, want < 1024 * 1024 ? want : 1024 * 1024);
            if (got > 0 && write_all(out, buf, (size_t)got) < 0)
                goto cleanup;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto cleanup;
        if (got == 0) {
            errno = EIO;            /* the source shrank under us */
            goto cleanup;
        }
        n -= (uint64_t)got;
    }
    ret = 0;
cleanup:
    free(buf);
    return ret;
}

int
vws_instance_copy(const char *src, const char *dest)
{
    struct stat st;
    int in, out = -1, ret = -1;

    if (!src || !*src) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no source path");
        return -1;
    }
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ENOENT)
            vws_report_error(VWS_ERR_NOT_FOUND, "'%s' does not exist", src);
        else
            vws_report_system_error("cannot open '%s'", src);
        return -1;
    }
    if (fstat(in, &st) < 0) {
        vws_report_system_error("cannot stat '%s'", src);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "'%s' is not a regular file",
                         src);
        goto cleanup;
    }
    if ((out = create_new("copy", dest)) < 0)
        goto cleanup;
    posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (copy_fd(in, out, (uint64_t)st.st_size) < 0) {
        vws_report_system_error("cannot copy '%s' to '%s'", src, dest);
        goto cleanup;
    }
    if (fsync(out) < 0) {
        vws_report_system_error("cannot sync '%s'", dest);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (out >= 0) {
        if (close(out) < 0 && ret == 0) {
            vws_report_system_error("cannot write '%s'", dest);
            ret = -1;
        }
        if (ret < 0)
            unlink(dest);
    }
    close(in);
    return ret;
}

/* ---- instance directory -------------------------------------------------- */

static int
check_id(const char *workspace_id)
{
    char b[300];

    if (!workspace_id || !vws_uuid_is_valid(workspace_id)) {
        vws_report_error(VWS_ERR_SECURITY,
                         "workspace id '%s' is not a UUID: refused as an "
                         "instance directory name", shown(workspace_id, b));
        return -1;
    }
    return 0;
}

static int
open_root(const char *root)
{
    int fd;

    if (!root || !*root) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no instances directory");
        return -1;
    }
    fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        vws_report_system_error("cannot open instances directory '%s'",
                                root);
    return fd;
}

char *
vws_instance_dir(const char *instances_root, const char *workspace_id)
{
    int rfd, dfd;
    char *path = NULL;

    if (check_id(workspace_id) < 0 || (rfd = open_root(instances_root)) < 0)
        return NULL;
    if (mkdirat(rfd, workspace_id, 0700) < 0 && errno != EEXIST) {
        vws_report_system_error("cannot create '%s/%s'", instances_root,
                                workspace_id);
        goto cleanup;
    }
    dfd = openat(rfd, workspace_id,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            vws_report_error(VWS_ERR_SECURITY,
                             "'%s/%s' is not a directory (a link?): refused",
                             instances_root, workspace_id);
        else
            vws_report_system_error("cannot open '%s/%s'", instances_root,
                                    workspace_id);
        goto cleanup;
    }
    close(dfd);
    path = vws_asprintf("%s/%s", instances_root, workspace_id);
cleanup:
    close(rfd);
    return path;
}

static const char *const instance_files[] = {
    VWS_INSTANCE_DISK, VWS_INSTANCE_CONFIG_ISO, VWS_INSTANCE_CONSOLE,
    VWS_INSTANCE_STATE,
};

char *
vws_instance_path(const char *instances_root, const char *workspace_id,
                  const char *file)
{
    if (check_id(workspace_id) < 0)
        return NULL;
    for (size_t i = 0; file && i < VWS_N_ELEMENTS(instance_files); i++)
        if (strcmp(file, instance_files[i]) == 0)
            return vws_asprintf("%s/%s/%s", instances_root ? instances_root
                                                           : ".",
                                workspace_id, file);
    vws_report_error(VWS_ERR_INVALID_ARG, "'%s' is not an instance file",
                     file ? file : "");
    return NULL;
}

static bool
is_instance_file(const char *name)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(instance_files); i++)
        if (strcmp(name, instance_files[i]) == 0)
            return true;
    return false;
}

int
vws_instance_remove_dir(const char *instances_root, const char *workspace_id)
{
    int rfd, dfd = -1, ret = -1;
    DIR *d = NULL;
    struct dirent *de;
    char *foreign = NULL;
    size_t n_foreign = 0;

    if (check_id(workspace_id) < 0 || (rfd = open_root(instances_root)) < 0)
        return -1;
    dfd = openat(rfd, workspace_id,
                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            ret = 0;
        else if (errno == ELOOP || errno == ENOTDIR)
            vws_report_error(VWS_ERR_SECURITY,
                             "'%s/%s' is not a directory (a link?): not "
                             "removed", instances_root, workspace_id);
        else
            vws_report_system_error("cannot open '%s/%s'", instances_root,
                                    workspace_id);
        goto cleanup;
    }
    d = fdopendir(dfd);
    if (!d) {
        vws_report_system_error("cannot read '%s/%s'", instances_root,
                                workspace_id);
        close(dfd);
        goto cleanup;
    }
    dfd = dirfd(d);
    while ((errno = 0, de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        int rc;

        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (is_instance_file(name))
            rc = unlinkat(dfd, name, 0);    /* a link goes as a link */
        else if (strncmp(name, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0)
            rc = remove_stage(dfd, name);
        else {
            errno = EEXIST;
            rc = -1;
        }
        if (rc < 0 && errno != ENOENT) {
            if (!foreign)
                foreign = vws_strdup(name);
            n_foreign++;
        }
    }
    if (errno != 0) {
        vws_report_system_error("cannot read '%s/%s'", instances_root,
                                workspace_id);
        goto cleanup;
    }
    if (foreign) {
        char b[300];
        vws_report_error(VWS_ERR_STATE,
                         "instance directory '%s/%s' holds %zu entr%s vws "
                         "did not make (such as '%s'): left in place",
                         instances_root, workspace_id, n_foreign,
                         n_foreign == 1 ? "y" : "ies", shown(foreign, b));
        goto cleanup;
    }
    if (unlinkat(rfd, workspace_id, AT_REMOVEDIR) < 0 && errno != ENOENT) {
        vws_report_system_error("cannot remove '%s/%s'", instances_root,
                                workspace_id);
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (d)
        closedir(d);
    free(foreign);
    close(rfd);
    return ret;
}
