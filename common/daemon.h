/*
 * daemon.h — what every vws daemon does the same way: its [daemon], [gsi]
 * and [acl] options, its command line, its life (foreground or detached, a
 * locked pid file, signals) and its SOAP server loop over GSI with a bounded
 * pool of worker threads.  The Repository, the Factory and the Manager differ
 * only in the operations they serve and in their own config sections.
 *
 * Threads and connections.  One thread (the caller of vws_daemon_run()) is
 * the acceptor: it accepts TCP connections and puts them in a queue of
 * THREADS places; THREADS worker threads take them, each with its own copy
 * of the gSOAP context.  A worker does the TLS handshake (vws_gsi_accept(): a
 * slow handshake holds one worker, never the acceptor), then serves requests
 * on the connection (keep-alive) through the service's dispatch function
 * until the client closes, keepalive_requests were served, the connection
 * was idle for keepalive_timeout, or the daemon stops.  When every worker is
 * busy and the queue is full, the acceptor stops accepting (back-pressure:
 * new clients wait in the kernel's listen backlog); there are never more
 * than THREADS workers or THREADS queued sockets.
 *
 * Time limits.  A client has accept_timeout seconds to complete its TLS
 * handshake, recv_timeout seconds between two pieces of a request,
 * request_timeout seconds for a whole request once it started, and
 * send_timeout seconds for each piece of a response; a client that breaks
 * one of them is dropped.  Requests over max_request_bytes are refused.
 *
 * Inside an operation: vws_daemon_caller(soap) is the authenticated caller
 * (the framework authorises nothing: the service decides with
 * vws_daemon_acl()), vws_daemon_service_data(soap) the service's pointer.
 * soap->user belongs to the framework.
 *
 * Stopping.  vws_daemon_stop() (SIGTERM, SIGINT) closes the listening socket
 * at once (new connections are refused), closes queued connections that no
 * worker took yet and idle keep-alive connections, lets requests in flight
 * finish, and after stop_timeout seconds shuts down the connections that
 * are still open.  vws_daemon_run() then returns 0.
 *
 * A program uses either vws_daemon_main() (everything above, in order) or
 * the pieces: vws_daemon_parse_args(), vws_conf_load_file() and
 * vws_daemon_config_check(), vws_daemon_init(), vws_daemon_detach(),
 * vws_daemon_run(), vws_daemon_free().  Tests run vws_daemon_run() in a
 * thread on "127.0.0.1:0" and ask vws_daemon_port() where it listens.
 * The admin's view (options, signals, files) is vws-daemons(5).
 */
#ifndef VWS_DAEMON_H
#define VWS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct soap;
struct vws_daemon;
struct vws_identity;
struct vws_acl_handle;
struct vws_gsi_config;

/* ---- configuration ---- */

/* Where the log goes: [daemon] log = stderr | syslog | /absolute/file. */
struct vws_daemon_config {
    char *listen;                 /* "HOST:PORT"; "*:PORT" every address */
    char *pid_file;               /* NULL: no pid file */
    char *log;                    /* "stderr", "syslog" or an absolute path */
    int log_level;                /* a vws_log_level */
    int64_t threads;              /* workers, 1..VWS_DAEMON_MAX_THREADS */
    int64_t max_request_bytes;
    int64_t keepalive_requests;   /* per connection; 0: no limit */
    int64_t keepalive_timeout;    /* idle seconds between two requests */
    int64_t accept_timeout;       /* seconds for the TLS handshake */
    int64_t recv_timeout;
    int64_t send_timeout;
    int64_t request_timeout;      /* seconds for one whole request */
    int64_t stop_timeout;         /* seconds in-flight requests get at stop */
    /* [gsi]: unset paths come from X509_* and the Globus defaults
     * (vws_gsi_config_service()) in vws_daemon_config_check(). */
    char *cert_dir;
    char *vomsdir;
    char *host_cert;
    char *host_key;
    bool crl_check;
    /* [acl] */
    char *acl_file;               /* NULL: no ACL (the service decides) */
    int64_t acl_check_interval_ms;
};

#define VWS_DAEMON_MAX_THREADS 256

/* The option rows of struct vws_daemon_config MEMBER of the program's config
 * struct ST, to put in the program's own table (before VWS_CONF_END):
 *
 *   struct repo_conf { struct vws_daemon_config daemon; char *state_dir; };
 *   static const struct vws_conf_option repo_options[] = {
 *       VWS_DAEMON_CONF_OPTIONS(struct repo_conf, daemon, "127.0.0.1:8443"),
 *       VWS_CONF_PATH_OPT("repository", "state_dir", ...),
 *       VWS_CONF_END
 *   };
 *
 * DEFAULT_LISTEN is the program's default listening address. */
#define VWS_DAEMON_CONF_OPTIONS(st, m, default_listen) \
    VWS_CONF_STRING_OPT("daemon", "listen", st, m.listen, (default_listen), \
        "HOST:PORT to accept SOAP connections on (*:PORT: every address)"), \
    VWS_CONF_PATH_OPT("daemon", "pid_file", st, m.pid_file, NULL, \
        "pid file, locked while the daemon runs (empty: none)"), \
    VWS_CONF_STRING_OPT("daemon", "log", st, m.log, "stderr", \
        "where the log goes: stderr, syslog or an absolute file name"), \
    VWS_CONF_ENUM_OPT("daemon", "log_level", st, m.log_level, "info", \
        vws_conf_log_levels, "error, warn, info or debug (one line per request)"), \
    VWS_CONF_INT_OPT("daemon", "threads", st, m.threads, "8", 1, \
        VWS_DAEMON_MAX_THREADS, "worker threads: connections served at once"), \
    VWS_CONF_SIZE_OPT("daemon", "max_request_bytes", st, m.max_request_bytes, \
        "8M", 1024, INT64_C(1) << 32, "largest request accepted"), \
    VWS_CONF_INT_OPT("daemon", "keepalive_requests", st, m.keepalive_requests, \
        "1000", 0, 1000000, "requests per connection (0: no limit)"), \
    VWS_CONF_DURATION_OPT("daemon", "keepalive_timeout", st, m.keepalive_timeout, \
        "5s", 1, 3600, "an idle keep-alive connection is closed after this"), \
    VWS_CONF_DURATION_OPT("daemon", "accept_timeout", st, m.accept_timeout, \
        "10s", 1, 3600, "time a new connection has for its TLS handshake"), \
    VWS_CONF_DURATION_OPT("daemon", "recv_timeout", st, m.recv_timeout, \
        "10s", 1, 3600, "longest pause while a request arrives"), \
    VWS_CONF_DURATION_OPT("daemon", "send_timeout", st, m.send_timeout, \
        "10s", 1, 3600, "longest pause while a response is sent"), \
    VWS_CONF_DURATION_OPT("daemon", "request_timeout", st, m.request_timeout, \
        "60s", 1, 86400, "time one whole request may take to arrive"), \
    VWS_CONF_DURATION_OPT("daemon", "stop_timeout", st, m.stop_timeout, \
        "30s", 0, 3600, "time requests in flight get to finish at stop"), \
    VWS_CONF_PATH_OPT("gsi", "cert_dir", st, m.cert_dir, NULL, \
        "trusted CAs (empty: $X509_CERT_DIR or /etc/grid-security/certificates)"), \
    VWS_CONF_PATH_OPT("gsi", "vomsdir", st, m.vomsdir, NULL, \
        "VOMS servers (empty: $X509_VOMS_DIR or /etc/grid-security/vomsdir)"), \
    VWS_CONF_PATH_OPT("gsi", "host_cert", st, m.host_cert, NULL, \
        "host certificate (empty: $X509_USER_CERT or /etc/grid-security/hostcert.pem)"), \
    VWS_CONF_PATH_OPT("gsi", "host_key", st, m.host_key, NULL, \
        "host key (empty: $X509_USER_KEY or /etc/grid-security/hostkey.pem)"), \
    VWS_CONF_BOOL_OPT("gsi", "crl_check", st, m.crl_check, "no", \
        "refuse certificates listed in the CRLs of cert_dir"), \
    VWS_CONF_PATH_OPT("acl", "file", st, m.acl_file, NULL, \
        "the ACL file, vws-acl(5) (empty: none)"), \
    VWS_CONF_INT_OPT("acl", "check_interval_ms", st, m.acl_check_interval_ms, \
        "1000", -1, 86400000, "how often to look whether the ACL changed (-1: only on SIGHUP)")

/* After a load (file and -o overrides): fill the unset [gsi] paths from the
 * environment and the Globus defaults, and check what the table cannot:
 * listen is HOST:PORT, log is stderr, syslog or an absolute path.  FILE and
 * OVERRIDES are those of the load, to name where a bad value came from
 * ("FILE:LINE: ..." or "command line: ...").  0, or -1 reported. */
int vws_daemon_config_check(struct vws_daemon_config *c, const char *file,
                            const char *const *overrides);

/* C's [gsi] values as a GSI config (strings copied: release it). */
void vws_daemon_config_gsi(const struct vws_daemon_config *c,
                           struct vws_gsi_config *out);

/* ---- command line ---- */

/* What a daemon program is: for --help, --version, the log and main(). */
struct vws_daemon_program {
    const char *name;              /* "vws-repository" */
    const char *summary;           /* one line for --help */
    const char *version;           /* PACKAGE_VERSION */
    const char *default_config;    /* used without -c; NULL: none */
    const struct vws_conf_option *options;   /* with VWS_DAEMON_CONF_OPTIONS */
    size_t config_size;            /* sizeof the program's config struct */
    size_t daemon_offset;          /* offsetof its struct vws_daemon_config */
};

struct vws_daemon_args {
    const char *config_file;       /* -c, else the program's default */
    bool foreground;               /* -f */
    bool print_config;             /* --print-config */
    const char **overrides;        /* -o values, NULL-terminated (owned) */
    size_t n_overrides;
};
#define VWS_DAEMON_ARGS_INIT { NULL, false, false, NULL, 0 }

/* Parse  -c FILE  -f  -o section.key=value  --print-config  --version
 * --help.  0: run; 1: --help or --version was printed, exit 0; -1: a usage
 * error was printed to stderr, exit 2.  The strings point into ARGV. */
int vws_daemon_parse_args(struct vws_daemon_args *a, int argc, char **argv,
                          const struct vws_daemon_program *p);
void vws_daemon_args_release(struct vws_daemon_args *a);

/* ---- the daemon ---- */

struct vws_daemon_options {
    /* Borrowed: must outlive the daemon (the program's loaded config). */
    const struct vws_daemon_config *config;
    const char *ident;             /* log ident: the program name */
    bool foreground;               /* false: vws_daemon_detach() is called */
    bool handle_signals;           /* install SIGTERM/SIGINT/SIGHUP handlers */
    /* SIGHUP (or vws_daemon_reload()), after the log was reopened and an
     * ACL reload requested; called in the acceptor thread.  May be NULL. */
    void (*on_reload)(struct vws_daemon *d, void *arg);
    void *reload_arg;
};

/* What the daemon serves. */
struct vws_daemon_service {
    int (*serve)(struct soap *soap);   /* dispatch: normally soap_serve */
    int (*fget)(struct soap *soap);    /* HTTP GET, or NULL: refused */
    void *data;                        /* vws_daemon_service_data() */
};

/* Set up everything that can fail while the admin still sees stderr: the
 * log, the pid file lock (refused, naming the pid, while another instance
 * holds it), the host credential and trust, the ACL, the listening socket
 * (bound when this returns: clients may connect).  0 with *D set, or -1
 * reported and *D NULL. */
int vws_daemon_init(struct vws_daemon **d, const struct vws_daemon_options *o);

/* Become a daemon: fork twice, setsid, chdir /, stdin and stdout (and
 * stderr unless the log goes there) to /dev/null.  The original process
 * waits until the daemon serves (or failed to start) and gets 1 with
 * *EXIT_CODE set: it frees D and returns *EXIT_CODE from main.  The daemon
 * gets 0.  -1 reported when fork fails. */
int vws_daemon_detach(struct vws_daemon *d, int *exit_code);

/* Tell the waiting original process that start-up failed with MESSAGE
 * (after vws_daemon_detach(), before vws_daemon_run()). */
void vws_daemon_startup_failed(struct vws_daemon *d, const char *message);

/* Serve until stopped: write the pid file, start the workers, accept.
 * SERVICE is borrowed until the return.  0 after a graceful stop, -1
 * reported when the workers cannot start. */
int vws_daemon_run(struct vws_daemon *d, const struct vws_daemon_service *service);

/* Ask a running daemon to stop, or to reload as on SIGHUP.  Both only write
 * to a pipe: async-signal-safe, callable from any thread, also before
 * vws_daemon_run() (which then returns at once). */
void vws_daemon_stop(struct vws_daemon *d);
void vws_daemon_reload(struct vws_daemon *d);

/* Close everything; remove the pid file if this process wrote it.  NULL is
 * a no-op.  Not while vws_daemon_run() runs. */
void vws_daemon_free(struct vws_daemon *d);

/* The bound port (the real one when listen asked for port 0). */
int vws_daemon_port(const struct vws_daemon *d);
/* The ACL handle, or NULL when [acl] file is unset.  Owned by D. */
struct vws_acl_handle *vws_daemon_acl(struct vws_daemon *d);
/* The GSI config the daemon authenticates with.  Owned by D. */
const struct vws_gsi_config *vws_daemon_gsi(const struct vws_daemon *d);

/* Inside an operation (SOAP is a worker's context): the caller, valid until
 * the connection ends, and the service's data pointer.  NULL when SOAP is
 * not a daemon worker's context. */
const struct vws_identity *vws_daemon_caller(struct soap *soap);
void *vws_daemon_service_data(struct soap *soap);

/* Counters, for tests and status pages. */
struct vws_daemon_stats {
    unsigned long connections;    /* accepted */
    unsigned long refused;        /* failed the TLS handshake or GSI */
    unsigned long requests;       /* served (SOAP and GET) */
    unsigned long dropped;        /* closed for a timeout or at stop */
    unsigned busy, peak_busy;     /* workers holding a connection */
    unsigned queued, peak_queued; /* accepted, waiting for a worker */
};
void vws_daemon_get_stats(struct vws_daemon *d, struct vws_daemon_stats *st);

/* ---- all of it ---- */

/* A daemon's main(): parse ARGV, load the config (-c, -o; errors name
 * FILE:LINE), --print-config, init, detach unless -f, run SERVICE until
 * SIGTERM; SIGHUP re-reads the config file and applies log_level (other
 * changes need a restart and are logged as such).  START, if not NULL, runs
 * in the final process before serving with the loaded config: it may fill
 * SERVICE (data ...) and returns 0 or -1 reported; STOP after serving.
 * Returns the exit status: 0, 1 (start failed), 2 (usage). */
struct vws_daemon_hooks {
    int (*start)(void *config, struct vws_daemon *d,
                 struct vws_daemon_service *service);
    void (*stop)(void *config, struct vws_daemon *d,
                 struct vws_daemon_service *service);
};
int vws_daemon_main(const struct vws_daemon_program *p,
                    const struct vws_daemon_hooks *hooks,
                    struct vws_daemon_service *service,
                    int argc, char **argv);

#endif /* VWS_DAEMON_H */
