/*
 * instance.h — turning a cached image template into an image instance
 * (seed 004: an image instance = an image template + the metadata bound
 * at deploy time).
 *
 * An instance lives in a directory of its own, named after the workspace
 * id and made by vws_instance_dir():
 *     ROOT/<workspace-id>/disk.qcow2    the copy-on-write overlay
 *     ROOT/<workspace-id>/config.iso    the config drive (VWSMETA)
 *     ROOT/<workspace-id>/console.log   the serial console
 *     ROOT/<workspace-id>/state.save    saved state (serialize)
 * The disk is a qcow2 overlay backed by the cached template
 * (vws_instance_overlay()), so a cache hit costs a few milliseconds; a full
 * private copy (vws_instance_copy()) is the fallback where no overlay is
 * possible.
 *
 * The metadata reaches the guest in two ways, both read by the test guest
 * (vws-guest(7)): words vws.KEY=VALUE appended to a direct-boot template's
 * kernel command line (vws_instance_cmdline()), and an ISO9660 config
 * drive labelled VWSMETA with meta.txt and the workspace credential
 * (vws_instance_config_drive()).  The private key only ever goes into the
 * config drive: never on a command line (which every local user can read
 * in /proc) nor in meta.txt.
 *
 * Every value is checked first (vws_instance_meta_check()) against what
 * the guest accepts, so nothing reaches a command line, a file or the
 * guest that the guest would refuse or misread; the other calls check
 * again and refuse what the check refuses.
 *
 * genisoimage(1) is run with an argv, no shell, its output captured into
 * the error message on failure.
 *
 * Each call returns 0 (or a pointer the caller frees) on success and -1
 * (or NULL) after reporting the error once (error.h).  All are
 * thread-safe.
 */
#ifndef VWS_MANAGER_INSTANCE_H
#define VWS_MANAGER_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#define VWS_INSTANCE_MAX_NICS 8          /* schema/instance.xsd */
#define VWS_INSTANCE_MAX_PEM 65536       /* bytes of a PEM text */
#define VWS_INSTANCE_MAX_SUBJECT 1024    /* bytes of the subject */
#define VWS_INSTANCE_MAX_CMDLINE 4096    /* bytes of a whole command line */

/* The files of an instance directory. */
#define VWS_INSTANCE_DISK "disk.qcow2"
#define VWS_INSTANCE_CONFIG_ISO "config.iso"
#define VWS_INSTANCE_CONSOLE "console.log"
#define VWS_INSTANCE_STATE "state.save"

struct vws_instance_nic {
    const char *name;       /* the NIC's name (schema NameType), e.g. "eth0" */
    const char *mac;        /* unicast, XX:XX:XX:XX:XX:XX */
    const char *ip;         /* dotted IPv4 */
    const char *netmask;    /* dotted IPv4, contiguous ones */
    const char *gateway;    /* dotted IPv4, or NULL */
};

struct vws_instance_meta {
    const char *workspace_id;   /* UUID */
    unsigned node;              /* which node of the workspace, from 0 */
    const char *hostname;       /* RFC 1123 */
    const struct vws_instance_nic *nics;   /* the first is the one the guest
                                              configures */
    size_t n_nics;              /* 0 .. VWS_INSTANCE_MAX_NICS */
    const char *cert_pem;       /* the workspace credential, or both NULL */
    const char *key_pem;
    const char *subject;        /* cert subject for meta.txt, or NULL */
};

/*
 * Check every value of M against what the guest accepts (vws-guest(7)):
 * the id a UUID, the host name RFC 1123, each NIC a name, a unicast MAC
 * (not all zeros, distinct across NICs), dotted IPv4 address and gateway
 * (no leading zeros, each part <= 255) and a contiguous netmask; the
 * certificate and key both given or both NULL, each one PEM block of
 * printable ASCII (BEGIN CERTIFICATE / BEGIN ... PRIVATE KEY) of at most
 * VWS_INSTANCE_MAX_PEM bytes; the subject printable (no control
 * characters) and at most VWS_INSTANCE_MAX_SUBJECT bytes.
 * 0, or -1 with VWS_ERR_INVALID_ARG naming the field ("nic[1].mac").
 */
int vws_instance_meta_check(const struct vws_instance_meta *m);

/*
 * The kernel command line of a direct-boot instance: BASE (the template's,
 * or NULL) followed by " vws.id=ID vws.hostname=NAME" and, for the first
 * NIC, " vws.ip=A.B.C.D/PREFIX [vws.gw=GW] vws.mac=MAC".  The words come
 * after BASE so they win over any vws.* word already in it.  Refuses M
 * when vws_instance_meta_check() does, BASE with a control character, and
 * a result longer than VWS_INSTANCE_MAX_CMDLINE bytes (VWS_ERR_LIMIT).
 * Never holds the key, the certificate or the subject.  A new string:
 * free() it.
 */
char *vws_instance_cmdline(const char *base, const struct vws_instance_meta *m);

/*
 * Write the config drive ISO: an ISO9660 image (Rock Ridge and Joliet)
 * labelled VWSMETA with meta.txt (id, node, hostname, ip, netmask, gw,
 * mac of the first NIC; nicN.name/mac/ip/netmask/gw for every NIC; subject)
 * and, when given, workspace.crt and workspace.key.  ISO must not exist
 * (VWS_ERR_EXISTS); it is created mode 0600 since it holds the key.  The
 * files are staged in a private temporary directory (0700, the key 0600)
 * next to ISO, removed afterwards.  Runs genisoimage(1).  On failure
 * nothing is left behind.
 */
int vws_instance_config_drive(const char *iso,
                              const struct vws_instance_meta *m);

/*
 * Create OVERLAY (must not exist: VWS_ERR_EXISTS), a qcow2 image mode 0600
 * backed by TEMPLATE_PATH (absolute, an existing regular file) in
 * TEMPLATE_FORMAT ("raw" or "qcow2").  A qcow2 template must be a
 * standalone image: no backing file, no external data file
 * (VWS_ERR_SECURITY, as a backing chain could reach any host file).
 * SIZE_BYTES is the overlay's virtual size: 0 for the template's, else at
 * least the template's (an overlay only grows); rounded up to 512 bytes,
 * at most 1 PiB (VWS_ERR_LIMIT); an empty template is refused.  The image
 * is the one "qemu-img create -f qcow2 -F FMT -b TEMPLATE SIZE" makes,
 * written directly (a few system calls and an fdatasync instead of a
 * ~7 ms program start).  On failure nothing is left behind.
 */
int vws_instance_overlay(const char *template_path,
                         const char *template_format, const char *overlay,
                         uint64_t size_bytes);

/*
 * Copy SRC to DEST (must not exist: VWS_ERR_EXISTS), a full private copy
 * mode 0600, synced to disk before the call returns.  Uses
 * copy_file_range(2) (sendfile(2) or read/write where the kernel cannot).
 * On failure DEST is removed.
 */
int vws_instance_copy(const char *src, const char *dest);

/*
 * The instance directory INSTANCES_ROOT/WORKSPACE_ID, created mode 0700
 * when missing (INSTANCES_ROOT must exist).  WORKSPACE_ID must be a UUID
 * (so it cannot name another path: VWS_ERR_SECURITY otherwise).  Returns
 * the directory's path: free() it.  An existing directory is reused, but
 * not a symbolic link or another kind of file.
 */
char *vws_instance_dir(const char *instances_root, const char *workspace_id);

/*
 * The path of FILE (one of the VWS_INSTANCE_* names above) in the
 * instance directory, without touching the file system; NULL when the id
 * is not a UUID or FILE is not one of ours.  free() it.
 */
char *vws_instance_path(const char *instances_root, const char *workspace_id,
                        const char *file);

/*
 * Remove the instance directory: the files vws creates in it (the
 * VWS_INSTANCE_* names, and leftover staging directories of the config
 * drive), then the directory.  Works on descriptors (openat/unlinkat with
 * O_NOFOLLOW): a symbolic link in the directory is removed as a link and
 * never followed, and the directory itself may not be a link.  Anything
 * else found in it is left and reported (VWS_ERR_STATE), the directory
 * staying.  A missing directory is not an error.
 */
int vws_instance_remove_dir(const char *instances_root,
                            const char *workspace_id);

#endif /* VWS_MANAGER_INSTANCE_H */
