/*
 * daemon.c — the daemon conventions of vws, once (see daemon.h).
 *
 * Layout: config checks; command line; init (log, pid file, GSI, ACL,
 * socket); detach; the workers (per-connection state, the recv wrapper that
 * knows whether a connection is idle or inside a request, the queue); the
 * acceptor loop and the graceful stop; vws_daemon_main().
 *
 * Signals only write one byte to the control pipe ('T' stop, 'H' reload);
 * the acceptor polls it with the listening socket.  A second pipe is written
 * once at stop and never read: every worker waiting for the next request on
 * an idle keep-alive connection polls it and closes.  A third pipe wakes the
 * acceptor when a worker freed a place in a full queue.
 */
#define VWS_MODULE "daemon"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stdsoap2.h"

#include "wsdl/soap.h"
#include "acl.h"
#include "conf.h"
#include "daemon.h"
#include "gsi.h"
#include "identity.h"
#include "internal.h"

/* malloc arenas a daemon uses at most (see vws_daemon_init()). */
#define VWS_DAEMON_MALLOC_ARENAS 4

/* ---- configuration ---- */

/* The line of the last "KEY = ..." in [SECTION] of FILE, 0 if none. */
static unsigned
conf_line(const char *file, const char *section, const char *key)
{
    FILE *f = file ? fopen(file, "re") : NULL;
    char line[VWS_CONF_MAX_LINE + 2];
    char cur[128] = "";
    unsigned n = 0, found = 0;
    size_t klen = strlen(key);

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        char *p = line;

        n++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[') {
            char *e = strchr(p, ']');
            if (e)
                vws_strlcpy(cur, p + 1, (size_t)(e - p) < sizeof(cur) ? (size_t)(e - p) : sizeof(cur));
        } else if (strcmp(cur, section) == 0 && strncmp(p, key, klen) == 0 &&
                   (p[klen] == ' ' || p[klen] == '\t' || p[klen] == '=')) {
            found = n;
        }
    }
    fclose(f);
    return found;
}

/* Report a bad value of SECTION.KEY, naming where it came from. */
static void
bad_value(const char *file, const char *const *overrides, const char *section,
          const char *key, const char *value, const char *expected)
{
    char full[160];
    size_t flen;

    snprintf(full, sizeof(full), "%s.%s=", section, key);
    flen = strlen(full);
    for (size_t i = 0; overrides && overrides[i]; i++) {
        if (strncmp(overrides[i], full, flen) == 0) {
            vws_report_error(VWS_ERR_CONFIG, "command line: [%s] %s: bad value '%s' "
                             "(expected %s)", section, key, value, expected);
            return;
        }
    }
    if (file && conf_line(file, section, key))
        vws_report_error(VWS_ERR_CONFIG, "%s:%u: [%s] %s: bad value '%s' (expected %s)",
                         file, conf_line(file, section, key), section, key, value,
                         expected);
    else
        vws_report_error(VWS_ERR_CONFIG, "[%s] %s: bad value '%s' (expected %s)",
                         section, key, value, expected);
}

/* Split "HOST:PORT" ("[V6]:PORT", "*:PORT"); HOST NULL for every address. */
static int
parse_listen(const char *s, char *host, size_t hostsize, int *port)
{
    const char *colon = strrchr(s, ':');
    const char *h = s, *hend = colon;
    int64_t p;

    if (!colon || colon == s || vws_parse_i64(colon + 1, &p) < 0 || p < 0 || p > 65535)
        return -1;
    if (*h == '[') {
        if (hend[-1] != ']' || hend - h < 3)
            return -1;
        h++;
        hend--;
    }
    if ((size_t)(hend - h) >= hostsize)
        return -1;
    for (const char *q = h; q < hend; q++)
        if (*q == ' ' || *q == '\t' || *q == '/' || *q == '[' || *q == ']')
            return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (strcmp(host, "*") == 0)
        host[0] = '\0';
    *port = (int)p;
    return 0;
}

static void
fill_default(char **field, const char *value)
{
    if (!*field || !**field) {
        free(*field);
        *field = vws_strdup(value);
    }
}

int
vws_daemon_config_check(struct vws_daemon_config *c, const char *file,
                        const char *const *overrides)
{
    struct vws_gsi_config g;
    char host[256];
    int port;

    if (!c->listen || parse_listen(c->listen, host, sizeof(host), &port) < 0) {
        bad_value(file, overrides, "daemon", "listen", c->listen ? c->listen : "",
                  "HOST:PORT such as 127.0.0.1:8443 or *:8443");
        return -1;
    }
    if (!c->log || (strcmp(c->log, "stderr") != 0 && strcmp(c->log, "syslog") != 0 &&
                    c->log[0] != '/')) {
        bad_value(file, overrides, "daemon", "log", c->log ? c->log : "",
                  "stderr, syslog or an absolute file name");
        return -1;
    }
    vws_gsi_config_service(&g);
    fill_default(&c->cert_dir, g.cert_dir);
    fill_default(&c->vomsdir, g.vomsdir);
    fill_default(&c->host_cert, g.cert_file);
    fill_default(&c->host_key, g.key_file);
    vws_gsi_config_release(&g);
    return 0;
}

void
vws_daemon_config_gsi(const struct vws_daemon_config *c, struct vws_gsi_config *out)
{
    *out = (struct vws_gsi_config)VWS_GSI_CONFIG_INIT;
    out->cert_dir = c->cert_dir ? vws_strdup(c->cert_dir) : NULL;
    out->vomsdir = c->vomsdir ? vws_strdup(c->vomsdir) : NULL;
    out->cert_file = c->host_cert ? vws_strdup(c->host_cert) : NULL;
    out->key_file = c->host_key ? vws_strdup(c->host_key) : NULL;
    out->crl_check = c->crl_check;
}

/* ---- command line ---- */

static void
usage(const struct vws_daemon_program *p, FILE *fp)
{
    fprintf(fp,
            "usage: %s [-f] [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]\n"
            "%s\n\n"
            "  -c, --config FILE     configuration file%s%s%s\n"
            "  -f, --foreground      do not detach; log to stderr unless [daemon] log says\n"
            "  -o, --option S.K=V    override one option of the file (repeatable)\n"
            "      --print-config    print the effective configuration and exit\n"
            "      --version         print the version and exit\n"
            "      --help            print this help and exit\n"
            "Options and signals: vws-daemons(5).\n",
            p->name, p->summary ? p->summary : "",
            p->default_config ? " [" : "", p->default_config ? p->default_config : "",
            p->default_config ? "]" : "");
}

int
vws_daemon_parse_args(struct vws_daemon_args *a, int argc, char **argv,
                      const struct vws_daemon_program *p)
{
    enum { OPT_PRINT = 256, OPT_VERSION, OPT_HELP };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "foreground", no_argument, NULL, 'f' },
        { "option", required_argument, NULL, 'o' },
        { "print-config", no_argument, NULL, OPT_PRINT },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int opt;

    *a = (struct vws_daemon_args)VWS_DAEMON_ARGS_INIT;
    a->config_file = p->default_config;
    a->overrides = vws_calloc(1, sizeof(*a->overrides));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:fo:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            a->config_file = optarg;
            break;
        case 'f':
            a->foreground = true;
            break;
        case 'o':
            a->overrides = vws_reallocarray(a->overrides, a->n_overrides + 2,
                                            sizeof(*a->overrides));
            a->overrides[a->n_overrides++] = optarg;
            a->overrides[a->n_overrides] = NULL;
            break;
        case OPT_PRINT:
            a->print_config = true;
            break;
        case OPT_VERSION:
            printf("%s %s\n", p->name, p->version ? p->version : "");
            return 1;
        case OPT_HELP:
            usage(p, stdout);
            return 1;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "%s: bad or incomplete option '-%c'\n", p->name, optopt);
            else
                fprintf(stderr, "%s: bad option '%s'\n", p->name, argv[optind - 1]);
            usage(p, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", p->name, argv[optind]);
        usage(p, stderr);
        return -1;
    }
    return 0;
}

void
vws_daemon_args_release(struct vws_daemon_args *a)
{
    if (!a)
        return;
    free(a->overrides);
    *a = (struct vws_daemon_args)VWS_DAEMON_ARGS_INIT;
}

/* ---- the daemon ---- */

/* One worker and the connection it holds: soap->user of its context. */
struct conn {
    struct vws_daemon *d;
    struct soap *soap;
    pthread_t thread;
    bool started;
    struct vws_identity id;
    bool idle;                    /* waiting for the first byte of a request */
    struct timespec request_start;
    struct timespec conn_start;
    int shut_fd;                  /* dup of the socket, for a forced stop */
    size_t (*frecv)(struct soap *, char *, size_t);   /* gSOAP's */
};

struct pending {
    SOAP_SOCKET sock;
    int port;
    char host[64];
};

struct vws_daemon {
    const struct vws_daemon_config *cfg;
    struct vws_daemon_options opt;
    struct vws_gsi_config gsi;
    struct vws_acl_handle *acl;
    struct soap *master;
    int port;
    int ctl[2];                   /* signals and requests: 'T', 'H' */
    int stop_pipe[2];             /* written once at stop, never read */
    int space[2];                 /* a worker freed a place in a full queue */
    int pid_fd;
    pid_t pid_owner;              /* the process that wrote the pid file */
    int notify_fd;                /* to the waiting original process */
    const struct vws_daemon_service *service;

    pthread_mutex_t lock;
    pthread_cond_t nonempty;      /* queue got a connection, or stop */
    pthread_cond_t all_idle;      /* busy dropped to 0 */
    struct pending *queue;
    unsigned qcap, qhead, qlen;
    bool stopping;
    struct conn *conns;
    unsigned n_conns;
    struct vws_daemon_stats stats;
};

static volatile sig_atomic_t signal_fd = -1;

static int
make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        fds[0] = fds[1] = -1;
        vws_report_system_error("cannot create a pipe");
        return -1;
    }
    return 0;
}

static void
close_pipe(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

static int
open_log(const struct vws_daemon_config *c)
{
    vws_log_set_level((vws_log_level)c->log_level);
    if (strcmp(c->log, "stderr") == 0)
        return vws_log_open(VWS_LOG_TO_STDERR, NULL);
    if (strcmp(c->log, "syslog") == 0)
        return vws_log_open(VWS_LOG_TO_SYSLOG, NULL);
    return vws_log_open(VWS_LOG_TO_FILE, c->log);
}

/* Lock PATH; refuse while another process holds it. */
static int
lock_pid_file(struct vws_daemon *d, const char *path)
{
    char buf[32] = "";
    ssize_t n;
    int64_t pid;

    if ((d->pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        vws_report_system_error("cannot open pid file '%s'", path);
        return -1;
    }
    if (flock(d->pid_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK) {
        vws_report_system_error("cannot lock pid file '%s'", path);
        return -1;
    }
    n = pread(d->pid_fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (vws_parse_i64(buf, &pid) == 0)
        vws_report_error(VWS_ERR_EXISTS, "another instance is running: pid file '%s' "
                         "is locked by pid %lld", path, (long long)pid);
    else
        vws_report_error(VWS_ERR_EXISTS, "another instance is running: pid file '%s' "
                         "is locked (pid not written yet)", path);
    return -1;
}

static int
write_pid_file(struct vws_daemon *d)
{
    char buf[32];
    int len;

    if (d->pid_fd < 0)
        return 0;
    len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(d->pid_fd, 0) < 0 || pwrite(d->pid_fd, buf, (size_t)len, 0) != len) {
        vws_report_system_error("cannot write pid file '%s'", d->cfg->pid_file);
        return -1;
    }
    d->pid_owner = getpid();
    return 0;
}

static int
bind_socket(struct vws_daemon *d)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[256];
    int port;

    if (parse_listen(d->cfg->listen, host, sizeof(host), &port) < 0) {
        vws_report_error(VWS_ERR_CONFIG, "bad listen address '%s' (expected HOST:PORT)",
                         d->cfg->listen);
        return -1;
    }
    d->master->bind_flags = SO_REUSEADDR;
    soap_set_mode(d->master, SOAP_IO_KEEPALIVE);
    if (!soap_valid_socket(soap_bind(d->master, host[0] ? host : NULL, port, 128))) {
        int e = d->master->errnum;
        const char **s = soap_faultstring(d->master);

        vws_report_error(VWS_ERR_IO, "cannot listen on '%s': %s", d->cfg->listen,
                         e ? strerror(e) : s && *s ? *s : "bind failed");
        return -1;
    }
    if (getsockname(d->master->master, (struct sockaddr *)&ss, &len) < 0) {
        vws_report_system_error("cannot read the address of '%s'", d->cfg->listen);
        return -1;
    }
    d->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int
vws_daemon_init(struct vws_daemon **dp, const struct vws_daemon_options *o)
{
    struct vws_daemon *d = vws_calloc(1, sizeof(*d));
    const struct vws_daemon_config *c = o->config;
    pthread_condattr_t ca;

    *dp = NULL;
    /* glibc gives every thread that allocates its own malloc arena: with
     * dozens of workers the daemon's RSS creeps up for many minutes
     * (bench/repository's soak: +5 MB in 10 min) without leaking.  A few
     * arenas are plenty for request handling; MALLOC_ARENA_MAX overrides. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, VWS_DAEMON_MALLOC_ARENAS);
    d->cfg = c;
    d->opt = *o;
    d->pid_fd = d->notify_fd = -1;
    d->ctl[0] = d->ctl[1] = d->stop_pipe[0] = d->stop_pipe[1] = -1;
    d->space[0] = d->space[1] = -1;
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->nonempty, &ca);
    pthread_cond_init(&d->all_idle, &ca);
    pthread_condattr_destroy(&ca);
    vws_daemon_config_gsi(c, &d->gsi);
    if (c->threads < 1 || c->threads > VWS_DAEMON_MAX_THREADS) {
        vws_report_error(VWS_ERR_CONFIG, "[daemon] threads: %lld is not within 1..%d",
                         (long long)c->threads, VWS_DAEMON_MAX_THREADS);
        goto error;
    }
    if (o->ident)
        vws_log_set_ident(o->ident);
    if (open_log(c) < 0)
        goto error;
    if (make_pipe(d->ctl) < 0 || make_pipe(d->stop_pipe) < 0 || make_pipe(d->space) < 0)
        goto error;
    if (c->pid_file && lock_pid_file(d, c->pid_file) < 0)
        goto error;
    if (!(d->master = vws_soap_new()) || vws_gsi_server_init(d->master, &d->gsi) < 0)
        goto error;
    if (c->acl_file &&
        !(d->acl = vws_acl_handle_open(c->acl_file, (int)c->acl_check_interval_ms)))
        goto error;
    if (bind_socket(d) < 0)
        goto error;
    d->qcap = (unsigned)c->threads;
    d->queue = vws_calloc(d->qcap, sizeof(*d->queue));
    *dp = d;
    return 0;

 error:
    vws_daemon_free(d);
    return -1;
}

int
vws_daemon_detach(struct vws_daemon *d, int *exit_code)
{
    int fds[2];
    pid_t pid;

    *exit_code = 0;
    fflush(stdout);
    fflush(stderr);
    if (pipe2(fds, O_CLOEXEC) < 0) {
        vws_report_system_error("cannot create a pipe");
        return -1;
    }
    if ((pid = fork()) < 0) {
        vws_report_system_error("cannot fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid > 0) {
        char msg[1024];
        size_t len = 0;
        ssize_t n;

        close(fds[1]);
        while (len < sizeof(msg) - 1 &&
               ((n = read(fds[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
                (n < 0 && errno == EINTR)))
            if (n > 0)
                len += (size_t)n;
        msg[len] = '\0';
        close(fds[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (strcmp(msg, "ok") != 0) {
            fprintf(stderr, "%s: %s\n", d->opt.ident ? d->opt.ident : "daemon",
                    len ? msg : "the daemon exited during start-up (see its log)");
            *exit_code = 1;
        }
        return 1;
    }
    /* the first child: a new session, then the daemon is its child */
    close(fds[0]);
    if (setsid() < 0 || (pid = fork()) < 0) {
        const char *m = "cannot detach: setsid or fork failed";
        if (write(fds[1], m, strlen(m)) < 0) {
            /* the parent sees EOF and says so */
        }
        _exit(1);
    }
    if (pid > 0)
        _exit(0);
    d->notify_fd = fds[1];
    if (chdir("/") < 0)
        VWS_WARN("cannot change directory to '/': %s", strerror(errno));
    {
        int null = open("/dev/null", O_RDWR);

        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            if (strcmp(d->cfg->log, "stderr") != 0)
                dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
    }
    return 0;
}

static void
notify(struct vws_daemon *d, const char *msg)
{
    if (d->notify_fd < 0)
        return;
    if (write(d->notify_fd, msg, strlen(msg)) < 0) {
        /* the original process is gone: nobody to tell */
    }
    close(d->notify_fd);
    d->notify_fd = -1;
}

void
vws_daemon_startup_failed(struct vws_daemon *d, const char *message)
{
    notify(d, message && *message ? message : "start-up failed");
}

void
vws_daemon_stop(struct vws_daemon *d)
{
    if (write(d->ctl[1], "T", 1) < 0) {
        /* a full pipe already holds a request */
    }
}

void
vws_daemon_reload(struct vws_daemon *d)
{
    if (write(d->ctl[1], "H", 1) < 0) {
        /* a full pipe already holds a request */
    }
}

void
vws_daemon_free(struct vws_daemon *d)
{
    if (!d)
        return;
    notify(d, "start-up failed (see the log)");
    if (d->master) {
        if (soap_valid_socket(d->master->master)) {
            close(d->master->master);
            d->master->master = SOAP_INVALID_SOCKET;
        }
        vws_soap_free(d->master);
    }
    vws_acl_handle_close(d->acl);
    if (d->pid_fd >= 0) {
        if (d->pid_owner == getpid() && d->cfg->pid_file)
            unlink(d->cfg->pid_file);
        close(d->pid_fd);
    }
    close_pipe(d->ctl);
    close_pipe(d->stop_pipe);
    close_pipe(d->space);
    vws_gsi_config_release(&d->gsi);
    free(d->queue);
    free(d->conns);
    pthread_cond_destroy(&d->nonempty);
    pthread_cond_destroy(&d->all_idle);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int
vws_daemon_port(const struct vws_daemon *d)
{
    return d->port;
}

struct vws_acl_handle *
vws_daemon_acl(struct vws_daemon *d)
{
    return d->acl;
}

const struct vws_gsi_config *
vws_daemon_gsi(const struct vws_daemon *d)
{
    return &d->gsi;
}

void
vws_daemon_get_stats(struct vws_daemon *d, struct vws_daemon_stats *st)
{
    pthread_mutex_lock(&d->lock);
    *st = d->stats;
    pthread_mutex_unlock(&d->lock);
}

/* ---- inside a connection ---- */

static struct conn *
conn_of(struct soap *soap)
{
    struct conn *c = soap ? soap->user : NULL;

    return c && c->soap == soap ? c : NULL;
}

const struct vws_identity *
vws_daemon_caller(struct soap *soap)
{
    struct conn *c = conn_of(soap);

    return c && c->id.dn ? &c->id : NULL;
}

void *
vws_daemon_service_data(struct soap *soap)
{
    struct conn *c = conn_of(soap);

    return c && c->d->service ? c->d->service->data : NULL;
}

static double
elapsed(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (now.tv_nsec - since->tv_nsec) / 1e9;
}

static void
count_dropped(struct vws_daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->stats.dropped++;
    pthread_mutex_unlock(&d->lock);
}

/* End the connection from inside gSOAP's recv: a zero read, and no waiting
 * for the peer's TLS close_notify (gSOAP's close would wait up to 5 s for
 * it, holding the worker). */
static size_t
conn_close(struct soap *soap)
{
    soap->keep_alive = 0;
    shutdown(soap->socket, SHUT_RD);
    return 0;
}

/* gSOAP's recv, with the daemon's view of the connection: while it is idle
 * (between requests) wait for the next request, the keep-alive timeout or
 * the stop; inside a request, enforce request_timeout.  0 closes. */
static size_t
conn_recv(struct soap *soap, char *buf, size_t len)
{
    struct conn *c = soap->user;
    struct vws_daemon *d = c->d;

    if (c->idle) {
        if (!(soap->ssl && SSL_pending(soap->ssl) > 0)) {
            struct pollfd p[2] = { { soap->socket, POLLIN, 0 },
                                   { d->stop_pipe[0], POLLIN, 0 } };
            int n;

            do
                n = poll(p, 2, (int)d->cfg->keepalive_timeout * 1000);
            while (n < 0 && errno == EINTR);
            if (n <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
                VWS_DEBUG("closing idle connection from %s '%s'%s", soap->host,
                          c->id.dn ? c->id.dn : "", n == 0 ? " (keep-alive timeout)" : "");
                return conn_close(soap);   /* idle timeout or stop */
            }
        }
        c->idle = false;
        clock_gettime(CLOCK_MONOTONIC, &c->request_start);
    } else if (elapsed(&c->request_start) > (double)d->cfg->request_timeout) {
        VWS_WARN("dropping %s ('%s'): request not complete after %llds", soap->host,
                 c->id.dn ? c->id.dn : "", (long long)d->cfg->request_timeout);
        count_dropped(d);
        return conn_close(soap);
    }
    {
        size_t n = c->frecv(soap, buf, len);

        if (n == 0)   /* the peer closed, or a timeout: do not linger */
            shutdown(soap->socket, SHUT_RD);
        return n;
    }
}

/* After each request: log it, free its memory, start waiting for the next. */
static void
request_done(struct soap *soap, struct conn *c, const char *kind)
{
    struct vws_daemon *d = c->d;
    bool stopping;

    pthread_mutex_lock(&d->lock);
    d->stats.requests++;
    stopping = d->stopping;
    pthread_mutex_unlock(&d->lock);
    VWS_DEBUG("%s %s from %s '%s' (%.1f ms)", kind, soap->path, soap->host,
              c->id.dn ? c->id.dn : "", elapsed(&c->request_start) * 1000);
    c->idle = true;
    if (stopping)
        soap->keep_alive = 0;
}

static int
conn_serveloop(struct soap *soap)
{
    struct conn *c = soap->user;

    request_done(soap, c, "POST");
    soap_destroy(soap);
    soap_end(soap);
    return SOAP_OK;
}

static int
conn_get(struct soap *soap)
{
    struct conn *c = soap->user;
    int rc = c->d->service->fget ? c->d->service->fget(soap) : 405;

    request_done(soap, c, "GET");
    return rc;
}

static bool
dequeue(struct vws_daemon *d, struct pending *p)
{
    bool was_full;

    pthread_mutex_lock(&d->lock);
    while (!d->qlen && !d->stopping)
        pthread_cond_wait(&d->nonempty, &d->lock);
    if (!d->qlen) {
        pthread_mutex_unlock(&d->lock);
        return false;
    }
    was_full = d->qlen == d->qcap;
    *p = d->queue[d->qhead];
    d->qhead = (d->qhead + 1) % d->qcap;
    d->qlen--;
    d->stats.queued = d->qlen;
    if (++d->stats.busy > d->stats.peak_busy)
        d->stats.peak_busy = d->stats.busy;
    pthread_mutex_unlock(&d->lock);
    if (was_full && write(d->space[1], "s", 1) < 0) {
        /* the pipe is full: the acceptor is awake anyway */
    }
    return true;
}

static void
serve_connection(struct conn *c, const struct pending *p)
{
    struct vws_daemon *d = c->d;
    struct soap *soap = c->soap;
    int shut = dup(p->sock);
    int rc;

    pthread_mutex_lock(&d->lock);
    c->shut_fd = shut;
    pthread_mutex_unlock(&d->lock);
    soap->socket = p->sock;
    soap->port = p->port;
    vws_strlcpy(soap->host, p->host, sizeof(soap->host));
    soap->keep_alive = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->request_start);
    c->conn_start = c->request_start;
    /* gSOAP bounds the handshake by the I/O timeouts: use accept_timeout */
    soap->recv_timeout = soap->send_timeout = (int)d->cfg->accept_timeout;
    rc = vws_gsi_accept(soap, &d->gsi, &c->id);
    soap->recv_timeout = (int)d->cfg->recv_timeout;
    soap->send_timeout = (int)d->cfg->send_timeout;
    if (rc < 0) {
        pthread_mutex_lock(&d->lock);
        d->stats.refused++;
        pthread_mutex_unlock(&d->lock);
    } else {
        c->idle = true;
        d->service->serve(soap);
        if (!c->idle && soap->error && soap->error != SOAP_EOF)
            VWS_DEBUG("connection from %s '%s' ended: gSOAP error %d", p->host,
                      c->id.dn ? c->id.dn : "", soap->error);
    }
    soap_destroy(soap);
    soap_end(soap);
    soap->keep_alive = 0;
    /* no lingering for the peer's TLS close_notify (gSOAP would wait up to
     * 5 s for it, holding the worker): the exchange is over */
    if (soap_valid_socket(soap->socket))
        shutdown(soap->socket, SHUT_RD);
    soap_closesock(soap);
    if (soap_valid_socket(soap->socket))
        soap_force_closesock(soap);
    VWS_DEBUG("connection from %s closed after %.1f ms", p->host,
              elapsed(&c->conn_start) * 1000);
    vws_identity_release(&c->id);
    c->idle = false;
    pthread_mutex_lock(&d->lock);
    c->shut_fd = -1;
    if (--d->stats.busy == 0)
        pthread_cond_broadcast(&d->all_idle);
    pthread_mutex_unlock(&d->lock);
    if (shut >= 0)
        close(shut);
}

static void *
worker(void *arg)
{
    struct conn *c = arg;
    struct pending p;

    while (dequeue(c->d, &p))
        serve_connection(c, &p);
    return NULL;
}

/* A worker's own copy of the master context, with the daemon's limits. */
static int
conn_setup(struct vws_daemon *d, struct conn *c)
{
    const struct vws_daemon_config *cfg = d->cfg;
    struct soap *soap = soap_copy(d->master);

    if (!soap) {
        vws_report_error(VWS_ERR_NOMEM, "cannot copy the gSOAP context");
        return -1;
    }
    c->d = d;
    c->soap = soap;
    c->shut_fd = -1;
    c->id = (struct vws_identity)VWS_IDENTITY_INIT;
    soap->user = c;
    soap->socket = SOAP_INVALID_SOCKET;
    soap->master = SOAP_INVALID_SOCKET;
    soap->accept_timeout = (int)cfg->accept_timeout;
    soap->recv_timeout = (int)cfg->recv_timeout;
    soap->send_timeout = (int)cfg->send_timeout;
    soap->recv_maxlength = (ULONG64)cfg->max_request_bytes;
    soap->max_keep_alive = (int)cfg->keepalive_requests;
    c->frecv = soap->frecv;
    soap->frecv = conn_recv;
    soap->fserveloop = conn_serveloop;
    soap->fget = conn_get;
    return 0;
}

/* ---- the acceptor ---- */

static void
on_signal(int sig)
{
    int saved = errno;
    char b = sig == SIGHUP ? 'H' : 'T';

    if (signal_fd >= 0 && write(signal_fd, &b, 1) < 0) {
        /* nothing to do in a handler */
    }
    errno = saved;
}

static void
install_signals(struct vws_daemon *d, bool on)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    if (!d->opt.handle_signals)
        return;
    signal_fd = on ? d->ctl[1] : -1;
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void
do_reload(struct vws_daemon *d)
{
    VWS_INFO("reload requested: reopening the log%s", d->acl ? ", reloading the ACL" : "");
    if (vws_log_reopen() < 0)
        VWS_WARN("%s", vws_error_message());
    if (d->acl)
        vws_acl_handle_request_reload(d->acl);
    if (d->opt.on_reload)
        d->opt.on_reload(d, d->opt.reload_arg);
}

/* Accept one connection and queue it (the queue has room). */
static void
accept_one(struct vws_daemon *d)
{
    struct pending p;
    SOAP_SOCKET s = soap_accept(d->master);

    if (!soap_valid_socket(s)) {
        int e = d->master->errnum;

        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            VWS_WARN("cannot accept a connection: %s", strerror(e));
            poll(NULL, 0, 100);   /* let workers close some first */
        }
        return;
    }
    d->master->socket = SOAP_INVALID_SOCKET;
    p.sock = s;
    p.port = d->master->port;
    vws_strlcpy(p.host, d->master->host, sizeof(p.host));
    pthread_mutex_lock(&d->lock);
    d->queue[(d->qhead + d->qlen) % d->qcap] = p;
    d->qlen++;
    d->stats.connections++;
    d->stats.queued = d->qlen;
    if (d->qlen > d->stats.peak_queued)
        d->stats.peak_queued = d->qlen;
    pthread_cond_signal(&d->nonempty);
    pthread_mutex_unlock(&d->lock);
}

static void
drain(int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

/* Serve until 'T' comes through the control pipe. */
static void
accept_loop(struct vws_daemon *d)
{
    for (;;) {
        struct pollfd p[3];
        bool full;
        int n;

        pthread_mutex_lock(&d->lock);
        full = d->qlen == d->qcap;
        pthread_mutex_unlock(&d->lock);
        p[0] = (struct pollfd){ d->ctl[0], POLLIN, 0 };
        p[1] = (struct pollfd){ full ? -1 : d->master->master, POLLIN, 0 };
        p[2] = (struct pollfd){ d->space[0], POLLIN, 0 };
        n = poll(p, 3, -1);
        if (n < 0) {
            if (errno != EINTR)
                VWS_WARN("poll: %s", strerror(errno));
            continue;
        }
        if (p[0].revents & POLLIN) {
            char buf[16];
            ssize_t k = read(d->ctl[0], buf, sizeof(buf));
            bool reload = false;

            for (ssize_t i = 0; i < k; i++) {
                if (buf[i] == 'T')
                    return;
                if (buf[i] == 'H')
                    reload = true;
            }
            if (reload)
                do_reload(d);
        }
        if (p[2].revents & POLLIN)
            drain(d->space[0]);
        if (p[1].revents & POLLIN)
            accept_one(d);
    }
}

static void
deadline_after(struct timespec *t, int64_t seconds)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += (time_t)seconds;
}

/* Stop accepting, drop what waits, let requests in flight finish. */
static void
graceful_stop(struct vws_daemon *d)
{
    struct timespec deadline;
    unsigned dropped = 0, busy;

    close(d->master->master);
    d->master->master = SOAP_INVALID_SOCKET;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    while (d->qlen) {
        close(d->queue[d->qhead].sock);
        d->qhead = (d->qhead + 1) % d->qcap;
        d->qlen--;
        dropped++;
    }
    d->stats.queued = 0;
    d->stats.dropped += dropped;
    busy = d->stats.busy;
    pthread_cond_broadcast(&d->nonempty);
    pthread_mutex_unlock(&d->lock);
    VWS_INFO("stopping: %u connection%s open, %u waiting closed", busy,
             busy == 1 ? "" : "s", dropped);
    if (write(d->stop_pipe[1], "T", 1) < 0)
        VWS_WARN("cannot wake the workers: %s", strerror(errno));

    deadline_after(&deadline, d->cfg->stop_timeout);
    pthread_mutex_lock(&d->lock);
    while (d->stats.busy &&
           pthread_cond_timedwait(&d->all_idle, &d->lock, &deadline) != ETIMEDOUT)
        ;
    if (d->stats.busy) {
        VWS_WARN("stop: %u connection%s still busy after %llds: shutting them down",
                 d->stats.busy, d->stats.busy == 1 ? "" : "s",
                 (long long)d->cfg->stop_timeout);
        for (unsigned i = 0; i < d->n_conns; i++)
            if (d->conns[i].shut_fd >= 0) {
                shutdown(d->conns[i].shut_fd, SHUT_RDWR);
                d->stats.dropped++;
            }
    }
    pthread_mutex_unlock(&d->lock);
}

static void
stop_workers(struct vws_daemon *d)
{
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->nonempty);
    pthread_mutex_unlock(&d->lock);
    for (unsigned i = 0; i < d->n_conns; i++) {
        struct conn *c = &d->conns[i];

        if (c->started)
            pthread_join(c->thread, NULL);
        if (c->soap) {
            c->soap->user = NULL;
            soap_destroy(c->soap);
            soap_end(c->soap);
            soap_free(c->soap);
            c->soap = NULL;
        }
    }
    d->n_conns = 0;
}

int
vws_daemon_run(struct vws_daemon *d, const struct vws_daemon_service *service)
{
    sigset_t block, old;
    int rc = 0;

    if (!service || !service->serve) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no service to run");
        notify(d, vws_error_message());
        return -1;
    }
    d->service = service;
    if (write_pid_file(d) < 0) {
        notify(d, vws_error_message());
        return -1;
    }
    install_signals(d, true);
    /* workers leave the signals to the acceptor */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    d->conns = vws_calloc(d->qcap, sizeof(*d->conns));
    for (d->n_conns = 0; d->n_conns < d->qcap; d->n_conns++) {
        struct conn *c = &d->conns[d->n_conns];
        int e;

        if (conn_setup(d, c) < 0) {
            rc = -1;
            break;
        }
        if ((e = pthread_create(&c->thread, NULL, worker, c)) != 0) {
            vws_report_error(VWS_ERR_SYSTEM, "cannot start worker thread %u: %s",
                             d->n_conns, strerror(e));
            d->n_conns++;   /* its context is freed with the others */
            rc = -1;
            break;
        }
        c->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        notify(d, vws_error_message());
        stop_workers(d);
        install_signals(d, false);
        return -1;
    }
    VWS_INFO("serving on %s (port %d) with %u threads, pid %ld", d->cfg->listen, d->port,
             d->n_conns, (long)getpid());
    notify(d, "ok");
    accept_loop(d);
    graceful_stop(d);
    stop_workers(d);
    install_signals(d, false);
    VWS_INFO("stopped");
    return 0;
}

/* ---- all of it ---- */

struct main_state {
    const struct vws_daemon_program *p;
    const struct vws_daemon_args *a;
};

/* SIGHUP: read the config file again; log_level applies now. */
static void
main_reload(struct vws_daemon *d, void *arg)
{
    struct main_state *m = arg;
    const struct vws_daemon_program *p = m->p;
    void *fresh = vws_calloc(1, p->config_size);
    struct vws_daemon_config *dc = (struct vws_daemon_config *)((char *)fresh + p->daemon_offset);

    (void)d;
    if (vws_conf_defaults(p->options, fresh) < 0 ||
        (m->a->config_file &&
         vws_conf_load_file(p->options, fresh, m->a->config_file, m->a->overrides) < 0) ||
        (!m->a->config_file && m->a->n_overrides &&
         vws_conf_load_buffer(p->options, fresh, "command line", "", 0,
                              m->a->overrides) < 0) ||
        vws_daemon_config_check(dc, m->a->config_file, m->a->overrides) < 0) {
        VWS_WARN("configuration not reloaded: %s", vws_error_message());
    } else {
        vws_log_set_level((vws_log_level)dc->log_level);
        VWS_INFO("configuration re-read: log_level is '%s' (other changes need a restart)",
                 vws_log_level_name((vws_log_level)dc->log_level));
    }
    vws_conf_release(p->options, fresh);
    free(fresh);
}

int
vws_daemon_main(const struct vws_daemon_program *p, const struct vws_daemon_hooks *hooks,
                struct vws_daemon_service *service, int argc, char **argv)
{
    struct vws_daemon_args a;
    struct vws_daemon_options o = { 0 };
    struct vws_daemon *d = NULL;
    struct main_state m = { p, &a };
    void *conf = vws_calloc(1, p->config_size);
    struct vws_daemon_config *dc = (struct vws_daemon_config *)((char *)conf + p->daemon_offset);
    bool started = false;
    int rc, status = 1;

    vws_log_set_ident(p->name);
    if ((rc = vws_daemon_parse_args(&a, argc, argv, p)) != 0) {
        free(conf);
        vws_daemon_args_release(&a);
        return rc > 0 ? 0 : 2;
    }
    if (vws_conf_defaults(p->options, conf) < 0) {
        fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
        goto cleanup_conf;
    }
    if ((a.config_file &&
         vws_conf_load_file(p->options, conf, a.config_file, a.overrides) < 0) ||
        (!a.config_file && a.n_overrides &&
         vws_conf_load_buffer(p->options, conf, "command line", "", 0, a.overrides) < 0) ||
        vws_daemon_config_check(dc, a.config_file, a.overrides) < 0) {
        fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
        goto cleanup;
    }
    if (a.print_config) {
        vws_conf_print(p->options, conf, stdout);
        status = 0;
        goto cleanup;
    }
    o.config = dc;
    o.ident = p->name;
    o.foreground = a.foreground;
    o.handle_signals = true;
    o.on_reload = main_reload;
    o.reload_arg = &m;
    if (vws_daemon_init(&d, &o) < 0) {
        fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
        goto cleanup;
    }
    if (!a.foreground) {
        int code;

        rc = vws_daemon_detach(d, &code);
        if (rc != 0) {
            if (rc < 0)
                fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
            status = rc < 0 ? 1 : code;
            goto cleanup;
        }
    }
    if (hooks && hooks->start) {
        if (hooks->start(conf, d, service) < 0) {
            VWS_ERROR("cannot start: %s", vws_error_message());
            vws_daemon_startup_failed(d, vws_error_message());
            if (a.foreground)
                fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
            goto cleanup;
        }
        started = true;
    }
    if (vws_daemon_run(d, service) < 0) {
        VWS_ERROR("%s", vws_error_message());
        if (a.foreground)
            fprintf(stderr, "%s: %s\n", p->name, vws_error_message());
    } else {
        status = 0;
    }

 cleanup:
    if (started && hooks->stop)
        hooks->stop(conf, d, service);
    vws_daemon_free(d);
    vws_conf_release(p->options, conf);
 cleanup_conf:
    free(conf);
    vws_daemon_args_release(&a);
    return status;
}
