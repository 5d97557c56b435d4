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

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
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

    unlink(log);
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
