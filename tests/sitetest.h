/*
 * sitetest.h — a vws site on 127.0.0.1 for integration tests and
 * benchmarks: a directory with the test PKI (scripts/mkpki), config files,
 * the real daemons started as processes, and GSI clients with any of the
 * PKI's credentials.  No Check here: callers assert.
 */
#ifndef VWS_TESTS_SITETEST_H
#define VWS_TESTS_SITETEST_H

#include <sys/types.h>

struct soap;

/* Make a new directory under /tmp with the test PKI in DIR/pki; exits the
 * process when that fails (nothing can run without it). */
const char *sitetest_setup(const char *prefix);
const char *sitetest_dir(void);
/* DIR/REL (malloc'd). */
char *sitetest_path(const char *rel);
void sitetest_write(const char *rel, const char *text);

/* Write DIR/NAME.conf for vws-repository with a [daemon] section taking
 * EXTRA_DAEMON lines (may be NULL), listening on a free port of 127.0.0.1. */
void sitetest_repository_config(const char *name, const char *extra_daemon);

/* A free TCP port of 127.0.0.1 (free when asked). */
int sitetest_free_port(void);
/* Write DIR/NAME.conf with TEXT, a config that listens on PORT (what
 * sitetest_start() waits for). */
void sitetest_config(const char *name, int port, const char *text);

/* Start PROGRAM (relative to $VWS_BUILDDIR) with "-f -c DIR/NAME.conf"
 * (the config written last), logging to DIR/NAME.log; wait until its port
 * accepts connections; return its pid and set *PORT.  Exits the process if
 * it does not start in 10 s. */
pid_t sitetest_start(const char *program, const char *name, int *port);
/* Send SIG and reap: the wait status (0: exited with 0). */
int sitetest_stop(pid_t pid, int sig);
/* Resident set size of PID in kB (from /proc), or -1. */
long sitetest_rss_kb(pid_t pid);

/* A GSI client with credential CRED: a proxy file under DIR/pki
 * ("users/alice/proxy.pem") or "hosts/NAME" for a host certificate and key.
 * NULL (error reported) if the credential cannot be used. */
struct soap *sitetest_client(const char *cred);

/* ---- site fixtures shared by the integration tests (exit on failure) ---- */

/* The SHA-256 of the file at PATH, 64 lowercase hex digits. */
void sitetest_sha256(const char *path, char out[65]);
/* DIR/images/NAME: SIZE pseudo-random bytes. */
void sitetest_make_image(const char *name, long size);
/* Register image template NAME (FORMAT "raw", "qcow2" or "kernel+initrd")
 * with the Repository at REPO_URL as the site admin: FILE (and INITRD, or
 * NULL) under DIR/images, at URL_PREFIX + the absolute path ("file://" or
 * "gsiftp://localhost:PORT"); SHA NULL: the file's own. */
void sitetest_register_image(const char *repo_url, const char *name, const char *format,
                             const char *file, const char *initrd, const char *sha,
                             const char *url_prefix);
/* Register a one-NIC (pool) VM workspace of CRED for template IMAGE; its
 * key (malloc'd). */
char *sitetest_register_ws(const char *cred, const char *repo_url, const char *image);
/* Property QNAME of workspace KEY as the site admin sees it: its text (malloc'd;
 * "" when it has none). */
char *sitetest_repo_prop(const char *repo_url, const char *key, const char *qname);

/* A GSI GridFTP server (scripts/gridftp-server) on a free port of
 * 127.0.0.1 serving DIR, with the PKI's host credential; its port.  Exits
 * if it does not start. */
int sitetest_gridftp_start(void);
/* Stop it (a failure is only said on stderr). */
void sitetest_gridftp_stop(int port);

/* Remove the directory unless $VWS_KEEP_TEST_DIR is set. */
void sitetest_cleanup(void);

#endif
