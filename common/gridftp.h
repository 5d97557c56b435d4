/*
 * gridftp.h — image transfers: fetch a file from a GridFTP server (or a
 * local file:// URL) into a new local file while hashing it with SHA-256,
 * and upload a local file.  The Manager stages VM image templates with it
 * into its host cache (manager/cache.c).
 *
 * Schemes: gsiftp:// (GridFTP with GSI, through globus-ftp-client),
 * ftp:// (plain FTP, same library) and file:// (local read, hash, write; no
 * Globus).  Every URL goes through vws_transfer_url_check() first.
 *
 * Thread-safe: several transfers may run at once from different threads.
 * The Globus modules are activated on the first gsiftp:// or ftp://
 * transfer (with Globus's pthread thread model, set before Globus is first
 * activated); vws_transfer_shutdown() deactivates them at exit.
 *
 * Trusted CAs.  Globus GSI reads its CA directory only from the
 * environment: $X509_CERT_DIR, else ~/.globus/certificates, else
 * /etc/grid-security/certificates, for every GSI context of the process.
 * This library never calls setenv(): a program that uses a CA directory of
 * its own sets X509_CERT_DIR before its first transfer, before it starts
 * threads.  vws_transfer_options.cert_dir is then a check: when set, a
 * gsiftp transfer is refused (VWS_ERR_CONFIG) unless it is the directory
 * Globus will use.
 *
 * Errors: every function reports one error (common/error.h) that names the
 * URL and the reason, and returns -1.
 */
#ifndef VWS_GRIDFTP_H
#define VWS_GRIDFTP_H

#include <stdint.h>

#define VWS_TRANSFER_URL_MAX 2048
#define VWS_TRANSFER_SHA256_LEN 64

struct vws_transfer_options {
    /* Trusted CAs: see the top of this file.  NULL: whatever Globus uses
     * ($X509_CERT_DIR or /etc/grid-security/certificates). */
    const char *cert_dir;
    /* The credential to authenticate with: a certificate and its
     * (unencrypted) key, e.g. a host credential, or a proxy file (cert,
     * key, chain in one file) as CERT with KEY NULL.  NULL CERT: Globus's
     * defaults ($X509_USER_PROXY, /tmp/x509up_u<uid>, $X509_USER_CERT and
     * $X509_USER_KEY, ~/.globus/usercert.pem ...).  Read at the start of
     * each call; the files are not kept open. */
    const char *cert;
    const char *key;
    unsigned retries;          /* further attempts after a failed one (0: none) */
    unsigned retry_delay_ms;   /* pause between attempts */
    unsigned stall_timeout_s;  /* no data for this long: the attempt fails (0: 60) */
    /* GridFTP parallel data streams (extended block mode, MODE E); 0 or 1:
     * one stream in stream mode, the fastest on a LAN. */
    unsigned parallel;
    /* Called from the calling thread, at most every 50 ms and once at the
     * end of each successful attempt: DONE bytes are written and hashed of
     * TOTAL (the expected size, or the source size when known; 0: unknown).
     * DONE starts from 0 again after a retry.  May be NULL. */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    void *progress_arg;
};

/* Fetch URL into DEST, which must not exist: it is created with O_EXCL and
 * mode 0600, and the data is hashed as it arrives (data delivered out of
 * order by parallel streams is written at its offset and hashed when the
 * bytes before it are there).  Then check SIZE bytes (0: unchecked; more
 * data than SIZE stops the transfer at once) and SHA256 (64 hex digits in
 * either case; NULL: unchecked).  O may be NULL (defaults, no retries).
 *
 * A transport failure is retried O->retries times, from byte zero.  A
 * checksum or size mismatch, a file the server does not have (FTP 5xx
 * replies) and local errors are not retried.  On any failure DEST is
 * removed and one error is reported, e.g.
 *   VWS_ERR_INVALID   "checksum mismatch for 'URL': expected X, got Y"
 *   VWS_ERR_INVALID   "size mismatch for 'URL': expected N bytes, got M"
 *   VWS_ERR_NOT_FOUND "'URL': the server refused the transfer: 550 ..."
 *   VWS_ERR_IO        "'URL': transfer failed after 3 attempts: <reason>"
 *   VWS_ERR_TIMEOUT   (as VWS_ERR_IO, when the last attempt stalled)
 *   VWS_ERR_EXISTS    DEST exists
 * and the argument errors of vws_transfer_url_check(). */
int vws_transfer_fetch(const char *url, const char *dest, uint64_t size,
                       const char *sha256,
                       const struct vws_transfer_options *o);

/* Upload the local file SRC to URL (gsiftp://, ftp://, file://).  A file://
 * target must not exist (created O_EXCL, mode 0644 less the umask); a
 * GridFTP server overwrites.  SHA256_OUT (may be NULL) gets the lowercase
 * hash of what was sent.  Transport failures are retried like a fetch; a
 * failed upload to file:// leaves nothing, one to a server may leave a
 * partial file there. */
int vws_transfer_put(const char *src, const char *url,
                     char sha256_out[VWS_TRANSFER_SHA256_LEN + 1],
                     const struct vws_transfer_options *o);

/* Check URL: at most VWS_TRANSFER_URL_MAX bytes (VWS_ERR_LIMIT); printable
 * ASCII only, no space, query or fragment; scheme gsiftp, ftp or file;
 * gsiftp and ftp need a host (name, IPv4, or [IPv6]) and take an optional
 * port 1-65535; file:// takes no host but "localhost" and an absolute path
 * ("file:relative" is refused); no userinfo ("user:pw@host" is refused as
 * VWS_ERR_SECURITY: credentials do not belong in URLs); the path names a
 * file (not empty, not "/").  Path segments are checked after
 * percent-decoding, so "%2e%2e" counts as "..": a "." or ".." segment, an
 * encoded "/" (%2f) and an encoded control character are refused as
 * VWS_ERR_SECURITY; a bad %-escape as VWS_ERR_INVALID_ARG.
 * 0 if the URL is acceptable. */
int vws_transfer_url_check(const char *url);

/* Deactivate the Globus modules (if a transfer activated them), for a clean
 * exit under valgrind.  Call when no transfer is running; a later gsiftp://
 * or ftp:// transfer activates them again. */
void vws_transfer_shutdown(void);

#endif /* VWS_GRIDFTP_H */
