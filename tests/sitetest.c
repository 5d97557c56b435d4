/*
 * sitetest.c — see sitetest.h.
 */
#define VWS_MODULE "sitetest"
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
#include "requests.h"
#include "sitetest.h"
#include "internal.h"

static char dir[128];
static int config_port;      /* the port the last config written listens on */

static void
die(const char *what)
{
    fprintf(stderr, "sitetest: %s\n", what);
    exit(EXIT_FAILURE);
}

/* A port free on 127.0.0.1 now (the kernel's pick for port 0). */
static int
free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p = 0;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        p = ntohs(sin.sin_port);
    if (fd >= 0)
        close(fd);
    if (!p)
        die("no free port on 127.0.0.1");
    return p;
}

static int
port_open(int p)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    sin.sin_port = htons((uint16_t)p);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

const char *
sitetest_setup(const char *prefix)
{
    const char *src = getenv("VWS_SRCDIR");
    char *cmd;

    snprintf(dir, sizeof(dir), "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(dir))
        die("cannot make a directory in /tmp");
    cmd = vws_asprintf("%s/scripts/mkpki '%s/pki' >/dev/null", src ? src : "..", dir);
    if (system(cmd) != 0)
        die("scripts/mkpki failed");
    free(cmd);
    return dir;
}

const char *
sitetest_dir(void)
{
    return dir;
}

char *
sitetest_path(const char *rel)
{
    return vws_asprintf("%s/%s", dir, rel);
}

void
sitetest_write(const char *rel, const char *text)
{
    char *p = sitetest_path(rel);
    char *slash = strrchr(p, '/');
    FILE *f;

    if (slash) {
        char *cmd;
        *slash = '\0';
        cmd = vws_asprintf("mkdir -p '%s'", p);
        if (system(cmd) != 0)
            die("mkdir failed");
        free(cmd);
        *slash = '/';
    }
    if (!(f = fopen(p, "w")) || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write a file");
    free(p);
}

int
sitetest_free_port(void)
{
    return free_port();
}

void
sitetest_config(const char *name, int port, const char *text)
{
    char *rel = vws_asprintf("%s.conf", name);

    config_port = port;
    sitetest_write(rel, text);
    free(rel);
}

void
sitetest_repository_config(const char *name, const char *extra_daemon)
{
    char *conf = vws_asprintf(
        "[daemon]\nlisten = 127.0.0.1:%d\n%s"
        "[gsi]\ncert_dir = %s/pki/certificates\nvomsdir = %s/pki/vomsdir\n"
        "host_cert = %s/pki/hosts/repository.localhost/hostcert.pem\n"
        "host_key = %s/pki/hosts/repository.localhost/hostkey.pem\n"
        "[acl]\nfile = %s/acl\n"
        "[repository]\ndatabase = %s/%s.db\npool_dir = %s/pools\n"
        "public_url = https://localhost/vws/repository\n"
        "workspace_ca_cert = %s/pki/wsca/cacert.pem\nworkspace_ca_key = %s/pki/wsca/cakey.pem\n"
        "sweep_interval = 1s\n",
        config_port = free_port(), extra_daemon ? extra_daemon : "", dir, dir, dir, dir, dir, dir, name, dir, dir, dir);
    char *rel = vws_asprintf("%s.conf", name);

    sitetest_write(rel, conf);
    free(rel);
    free(conf);
}

pid_t
sitetest_start(const char *program, const char *name, int *port)
{
    const char *build = getenv("VWS_BUILDDIR");
    char *bin = vws_asprintf("%s/%s", build ? build : "..", program);
    char *conf = vws_asprintf("%s/%s.conf", dir, name);
    char *log = vws_asprintf("%s/%s.log", dir, name);
    pid_t pid;

    {   /* the log of an earlier run of NAME (a restart) is kept as NAME.log.1 */
        char *old = vws_asprintf("%s.1", log);
        rename(log, old);
        free(old);
    }
    if ((pid = fork()) == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, "-f", "-c", conf, (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 200 && !*port; i++) {   /* 10 s at most */
        usleep(50000);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;                               /* it exited */
        if (port_open(config_port))
            *port = config_port;
    }
    if (!*port) {
        char *cmd = vws_asprintf("cat '%s' >&2", log);
        fprintf(stderr, "sitetest: %s did not start; its log:\n", program);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
        exit(EXIT_FAILURE);
    }
    free(bin);
    free(conf);
    free(log);
    return pid;
}

int
sitetest_stop(pid_t pid, int sig)
{
    int status = 0;

    if (pid <= 0)
        return 0;
    kill(pid, sig);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return status;
}

long
sitetest_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

struct soap *
sitetest_client(const char *cred)
{
    struct vws_gsi_config c = VWS_GSI_CONFIG_INIT;
    struct soap *soap = vws_soap_new();

    c.cert_dir = vws_asprintf("%s/pki/certificates", dir);
    c.vomsdir = vws_asprintf("%s/pki/vomsdir", dir);
    if (strncmp(cred, "hosts/", 6) == 0) {
        c.cert_file = vws_asprintf("%s/pki/%s/hostcert.pem", dir, cred);
        c.key_file = vws_asprintf("%s/pki/%s/hostkey.pem", dir, cred);
    } else {
        c.cert_file = vws_asprintf("%s/pki/%s", dir, cred);
        c.key_file = vws_strdup(c.cert_file);
    }
    if (!soap || vws_gsi_client_init(soap, &c) < 0) {
        vws_soap_free(soap);
        soap = NULL;
    }
    vws_gsi_config_release(&c);
    return soap;
}

void
sitetest_cleanup(void)
{
    char *cmd;

    if (getenv("VWS_KEEP_TEST_DIR") || !dir[0])
        return;
    cmd = vws_asprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(cmd);
}

/* ---- site fixtures ---- */

void
sitetest_sha256(const char *path, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
    unsigned len = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f || !c)
        die("cannot hash an image");
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(c, buf, n);
    EVP_DigestFinal_ex(c, md, &len);
    EVP_MD_CTX_free(c);
    fclose(f);
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
sitetest_make_image(const char *name, long size)
{
    char *cmd = vws_asprintf("mkdir -p '%s/images' && head -c %ld /dev/urandom > '%s/images/%s'",
                             dir, size, dir, name);
    if (system(cmd) != 0)
        die("cannot make an image file");
    free(cmd);
}

static long
size_of(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (!f || fseek(f, 0, SEEK_END) != 0)
        die("cannot size an image file");
    n = ftell(f);
    fclose(f);
    return n;
}

static const char *
fault_text(struct soap *soap)
{
    const char **s = soap_faultstring(soap);
    return s && *s ? *s : "(no fault string)";
}

void
sitetest_register_image(const char *repo_url, const char *name, const char *format,
                        const char *file, const char *initrd, const char *sha,
                        const char *url_prefix)
{
    struct soap *c = sitetest_client("users/alice/voms-admin.pem");
    struct _repo__RegisterImage req = { 0 };
    struct _repo__RegisterImageResponse resp;
    struct vws__ImageTemplateType *t;
    char hex[65], *path = vws_asprintf("%s/images/%s", dir, file), *u;

    if (!c)
        die("no admin client");
    memset(&resp, 0, sizeof(resp));
    t = soap_new_vws__ImageTemplateType(c, 1);
    sitetest_sha256(path, hex);
    t->name = soap_strdup(c, name);
    soap_s2vws__ImageFormatType(c, format, &t->format);
    u = vws_asprintf("%s%s", url_prefix, path);
    t->location = soap_strdup(c, u);
    free(u);
    t->size = (ULONG64)size_of(path);
    t->sha256 = soap_strdup(c, sha ? sha : hex);
    if (initrd) {
        char *ip = vws_asprintf("%s/images/%s", dir, initrd);
        t->initrd = soap_new_vws__FileRefType(c, 1);
        sitetest_sha256(ip, hex);
        u = vws_asprintf("%s%s", url_prefix, ip);
        t->initrd->location = soap_strdup(c, u);
        free(u);
        t->initrd->size = (ULONG64)size_of(ip);
        t->initrd->sha256 = soap_strdup(c, hex);
        t->cmdline = soap_strdup(c, "console=ttyS0 quiet");
        free(ip);
    }
    req.vws__imageTemplate = t;
    if (soap_call___repo__RegisterImage(c, repo_url, NULL, &req, &resp) != SOAP_OK) {
        fprintf(stderr, "sitetest: register image %s: %s\n", name, fault_text(c));
        exit(EXIT_FAILURE);
    }
    free(path);
    vws_soap_free(c);
}

char *
sitetest_register_ws(const char *cred, const char *repo_url, const char *image)
{
    struct soap *c = sitetest_client(cred);
    struct _repo__Register req = { 0 };
    struct _repo__RegisterResponse resp = { 0 };
    struct vws__NetworkType *net;
    char *key;

    if (!c)
        die("no client");
    net = soap_new_vws__NetworkType(c, 1);
    req.vws__virtualWorkspace = soaptest_workspace(c);
    net->__sizenic = 1;
    net->nic = soap_new_vws__NICType(c, 1);
    net->nic->name = soap_strdup(c, "eth0");
    net->nic->method = vws__IPMethodType__pool;
    req.vws__virtualWorkspace->network = net;
    req.vws__deploymentRequest = soaptest_request(c, 1);
    req.vws__deploymentRequest->imageTemplate = soap_strdup(c, image);
    if (soap_call___repo__Register(c, repo_url, NULL, &req, &resp) != SOAP_OK) {
        fprintf(stderr, "sitetest: register: %s\n", fault_text(c));
        exit(EXIT_FAILURE);
    }
    key = vws_strdup(resp.key);
    vws_soap_free(c);
    return key;
}

char *
sitetest_repo_prop(const char *repo_url, const char *key, const char *qname)
{
    struct soap *c = sitetest_client("users/alice/voms-admin.pem");   /* sees all */
    struct _wsrp2__GetResourcePropertyResponse resp = { 0 };
    char *out;

    if (!c)
        die("no admin client");
    c->header = soap_new_SOAP_ENV__Header(c, 1);
    c->header->vws__WorkspaceKey = soap_strdup(c, key);
    if (soap_call___repo__GetResourceProperty(c, repo_url, NULL, (char *)qname, &resp) ==
            SOAP_OK && resp.__size > 0) {
        const char *x = resp.__any[0], *gt = strchr(x, '>'), *lt = gt ? strchr(gt, '<') : NULL;
        out = gt && lt ? vws_strndup(gt + 1, (size_t)(lt - gt - 1)) : vws_strdup(x);
    } else {
        out = vws_strdup("");
    }
    vws_soap_free(c);
    return out;
}

static const char *
srcdir(void)
{
    const char *src = getenv("VWS_SRCDIR");
    return src ? src : "..";
}

int
sitetest_gridftp_start(void)
{
    int port = free_port();
    char *cmd = vws_asprintf("'%s/scripts/gridftp-server' start '%s/pki' %d '%s' >/dev/null",
                             srcdir(), dir, port, dir);

    if (system(cmd) != 0)
        die("scripts/gridftp-server start failed");
    free(cmd);
    return port;
}

void
sitetest_gridftp_stop(int port)
{
    char *cmd = vws_asprintf("'%s/scripts/gridftp-server' stop '%s/pki' %d >/dev/null 2>&1",
                             srcdir(), dir, port);

    if (system(cmd) != 0)
        fprintf(stderr, "sitetest: gridftp-server stop failed\n");
    free(cmd);
}
