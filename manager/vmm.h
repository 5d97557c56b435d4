/*
 * vmm.h — the Manager's only way to reach virtual machines: a table of
 * hypervisor operations (after libvirt's own virHypervisorDriver).
 *
 * A driver is a struct vws_vmm_driver of function pointers.  Two exist:
 *   - vws_vmm_libvirt_driver (vmm_libvirt.c): libvirt, for any URI —
 *     "test:///default" (in-memory, unit tests), "qemu:///embed?root=DIR"
 *     (the QEMU driver inside this process, TCG, no daemon: the embedded
 *     default) and "qemu:///system";
 *   - the fault-injecting wrapper (vmm_faulty.c) around another open
 *     connection: "fail the N-th call of operation X with message M".
 *
 * The public calls below check their arguments, then dispatch through the
 * table of the connection; an empty slot reports VWS_ERR_UNSUPPORTED
 * naming the operation and the driver.  Every call returns 0 (or a
 * pointer) on success and -1 (or NULL) after reporting the error once
 * (error.h).  Connections and domain handles may be used from several
 * threads at once (libvirt connections are thread-safe); a handle must not
 * be freed while another thread uses it.
 *
 * Typical life of a workspace:
 *     conn = vws_vmm_open("qemu:///embed?root=/var/lib/vws/libvirt");
 *     dom  = vws_vmm_define(conn, &spec);        -- persistent, shut off
 *     vws_vmm_start(dom);  vws_vmm_pause(dom);  vws_vmm_resume(dom);
 *     vws_vmm_save(dom, "/.../hot.save");        -- the domain stops
 *     vws_vmm_restore(dom, "/.../hot.save");     -- it runs again
 *     vws_vmm_shutdown(dom, 30000, &forced);     -- ACPI, then destroy
 *     vws_vmm_undefine(dom);  vws_vmm_domain_free(dom);
 *     vws_vmm_close(conn);
 * After a restart, vws_vmm_list() and vws_vmm_lookup() find the domains
 * again (reconciliation with the Manager's records).
 */
#ifndef VWS_MANAGER_VMM_H
#define VWS_MANAGER_VMM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* ---- domain description ----------------------------------------------- */

/* Limits that vws_vmm_spec_check() enforces. */
#define VWS_VMM_MAX_NAME 200              /* bytes of a domain name */
#define VWS_VMM_MAX_MEMORY_MB (1024u * 1024u)   /* 1 TiB */
#define VWS_VMM_MAX_VCPUS 256u
#define VWS_VMM_MAX_DISKS 16u
#define VWS_VMM_MAX_NICS 8u
#define VWS_VMM_MAX_CMDLINE 4096          /* bytes of a kernel command line */
#define VWS_VMM_MAX_PATH 4096
#define VWS_VMM_NAME_PREFIX "vws-"        /* of names made from a key */
/* <cputune> period in microseconds; quota = period * cpu_percent / 100. */
#define VWS_VMM_CPU_PERIOD_US 100000u

enum vws_vmm_disk_format {
    VWS_VMM_DISK_QCOW2 = 0,
    VWS_VMM_DISK_RAW,
    VWS_VMM_DISK_N_FORMATS
};

enum vws_vmm_disk_bus {
    VWS_VMM_BUS_VIRTIO = 0,     /* vda, vdb, ... (the default) */
    VWS_VMM_BUS_IDE,            /* hda, hdb, hdd (hdc is the CD-ROM) */
    VWS_VMM_BUS_SCSI,           /* sda, sdb, ... */
    VWS_VMM_BUS_SATA,           /* sda, sdb, ... */
    VWS_VMM_BUS_N
};

struct vws_vmm_disk {
    const char *path;                   /* absolute */
    enum vws_vmm_disk_format format;
    enum vws_vmm_disk_bus bus;
    bool readonly;
};

enum vws_vmm_nic_type {
    VWS_VMM_NIC_NETWORK = 0,    /* source = a libvirt network name */
    VWS_VMM_NIC_BRIDGE,         /* source = a host bridge, e.g. "br0" */
    VWS_VMM_NIC_USER,           /* QEMU user-mode networking, no source */
    VWS_VMM_NIC_N_TYPES
};

struct vws_vmm_nic {
    enum vws_vmm_nic_type type;
    const char *source;         /* network or bridge name; NULL for user */
    const char *mac;            /* "52:54:00:xx:xx:xx" (unicast), or NULL:
                                   the hypervisor picks one */
};

/*
 * What a domain is made of.  The caller owns every string and array; the
 * define call copies what it needs.  Zero-initialise and fill in:
 *   name          the domain name, or NULL to use "vws-" + workspace_key.
 *                 Any printable text without '/' or '\\', not starting with
 *                 '.', at most VWS_VMM_MAX_NAME bytes; quotes and angle
 *                 brackets are allowed (escaped in the XML).
 *   workspace_key used for the name when name is NULL (a UUID normally);
 *                 then a valid UUID is also the domain's UUID.
 *   memory_mb     1 .. VWS_VMM_MAX_MEMORY_MB.
 *   vcpus         1 .. VWS_VMM_MAX_VCPUS.
 *   cpu_percent   0 = no cap; 1..100 = share of one host CPU per vCPU
 *                 (<cputune> quota/period).
 *   kvm           false: <domain type='qemu'> (TCG, the default, safe under
 *                 nested virtualisation); true: 'kvm'.
 *   disks         n_disks (0 .. VWS_VMM_MAX_DISKS) disks, in boot order.
 *   cdrom         an ISO (the config drive), read-only on IDE hdc; or NULL.
 *   kernel, initrd, cmdline   direct kernel boot (all optional; initrd and
 *                 cmdline need kernel).
 *   nics          n_nics (0 .. VWS_VMM_MAX_NICS) interfaces; 0 = no network.
 *   console_log   a file the first serial port writes to (the guest's
 *                 console output), or NULL for no serial port.
 * Paths must be absolute, without control characters.
 */
struct vws_vmm_domain_spec {
    const char *name;
    const char *workspace_key;
    unsigned memory_mb;
    unsigned vcpus;
    unsigned cpu_percent;
    bool kvm;
    const struct vws_vmm_disk *disks;
    size_t n_disks;
    const char *cdrom;
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    const struct vws_vmm_nic *nics;
    size_t n_nics;
    const char *console_log;
};

/* Check SPEC against the rules above.  0, or -1 with VWS_ERR_INVALID_ARG,
 * VWS_ERR_LIMIT (memory, vCPUs, counts, lengths) or VWS_ERR_SECURITY (a
 * name or path that tries traversal) reported. */
int vws_vmm_spec_check(const struct vws_vmm_domain_spec *spec);

/* The domain name SPEC gives (spec->name or "vws-<key>"), in a new string
 * (caller frees); NULL with an error reported if it is not valid. */
char *vws_vmm_spec_name(const struct vws_vmm_domain_spec *spec);

/* Whether NAME is acceptable as a domain name (see the spec comment).
 * Reports nothing. */
bool vws_vmm_name_is_valid(const char *name);

/* The libvirt domain XML for SPEC, in a new string (caller frees), or NULL
 * with an error reported (SPEC is checked first).  Every value is escaped.
 * (vmm_libvirt.c) */
char *vws_vmm_domain_xml(const struct vws_vmm_domain_spec *spec);

/* ---- states and operations -------------------------------------------- */

enum vws_vmm_state {
    VWS_VMM_NOSTATE = 0,
    VWS_VMM_RUNNING,            /* running or blocked */
    VWS_VMM_PAUSED,
    VWS_VMM_SHUTTING_DOWN,      /* ACPI shutdown in progress */
    VWS_VMM_SHUTOFF,            /* defined, not running (also after save) */
    VWS_VMM_CRASHED,
    VWS_VMM_SUSPENDED,          /* guest power-management suspend */
    VWS_VMM_N_STATES
};

/* "running", "paused", "shutting-down", "shutoff", "crashed", ... */
const char *vws_vmm_state_name(enum vws_vmm_state state);

/* The operations of the table, for messages and fault injection. */
enum vws_vmm_op {
    VWS_VMM_OP_DEFINE = 0,
    VWS_VMM_OP_LOOKUP,
    VWS_VMM_OP_START,
    VWS_VMM_OP_SHUTDOWN,        /* the graceful request only */
    VWS_VMM_OP_DESTROY,
    VWS_VMM_OP_PAUSE,
    VWS_VMM_OP_RESUME,
    VWS_VMM_OP_SAVE,
    VWS_VMM_OP_RESTORE,
    VWS_VMM_OP_STATE,
    VWS_VMM_OP_LIST,
    VWS_VMM_OP_UNDEFINE,
    VWS_VMM_OP_XML,
    VWS_VMM_N_OPS
};

/* "define", "start", ... ; vws_vmm_op_parse() gives -1 for an unknown name. */
const char *vws_vmm_op_name(enum vws_vmm_op op);
int vws_vmm_op_parse(const char *name);

/* One domain as vws_vmm_list() reports it. */
struct vws_vmm_domain_info {
    char *name;
    enum vws_vmm_state state;
};

/* ---- the driver table ------------------------------------------------- */

struct vws_vmm_conn;
struct vws_vmm_domain;

/*
 * A driver.  The public calls have checked the arguments before a slot is
 * called.  open sets conn->priv (see vws_vmm_conn_priv()); define and
 * lookup set the new handle's private data with vws_vmm_domain_set_priv();
 * domain_release frees it.  A slot left NULL makes its public call fail
 * with VWS_ERR_UNSUPPORTED.  Every slot reports its own errors.
 */
struct vws_vmm_driver {
    const char *name;                   /* "libvirt", "faulty", ... */
    int (*open)(struct vws_vmm_conn *conn, const char *uri);
    void (*close)(struct vws_vmm_conn *conn);
    int (*define)(struct vws_vmm_conn *conn,
                  const struct vws_vmm_domain_spec *spec,
                  struct vws_vmm_domain *dom);
    int (*lookup)(struct vws_vmm_conn *conn, struct vws_vmm_domain *dom);
    void (*domain_release)(struct vws_vmm_domain *dom);
    int (*start)(struct vws_vmm_domain *dom);
    int (*shutdown)(struct vws_vmm_domain *dom);   /* request, no wait */
    int (*destroy)(struct vws_vmm_domain *dom);
    int (*pause)(struct vws_vmm_domain *dom);
    int (*resume)(struct vws_vmm_domain *dom);
    int (*save)(struct vws_vmm_domain *dom, const char *path);
    int (*restore)(struct vws_vmm_domain *dom, const char *path);
    int (*state)(struct vws_vmm_domain *dom, enum vws_vmm_state *state);
    int (*list)(struct vws_vmm_conn *conn,
                struct vws_vmm_domain_info **list, size_t *n);
    int (*undefine)(struct vws_vmm_domain *dom);
    char *(*xml)(struct vws_vmm_domain *dom);
};

extern const struct vws_vmm_driver vws_vmm_libvirt_driver;

/* ---- connections ------------------------------------------------------ */

/* Open URI with the libvirt driver.  For "qemu:///embed?root=DIR" (DIR
 * absolute) it first writes DIR/etc/qemu.conf if there is none (user and
 * group root, no dynamic ownership, no security driver, stdio_handler
 * "file") and checks that the user 'libvirt-qemu' exists, and runs
 * libvirt's event loop in a thread of its own while the connection is
 * open.  NULL with an error reported on failure. */
struct vws_vmm_conn *vws_vmm_open(const char *uri);

/* Open URI with DRIVER (a table that outlives the connection). */
struct vws_vmm_conn *vws_vmm_open_driver(const struct vws_vmm_driver *driver,
                                         const char *uri);

/* Close CONN (NULL: no-op).  Free its domain handles first. */
void vws_vmm_close(struct vws_vmm_conn *conn);

const char *vws_vmm_conn_uri(const struct vws_vmm_conn *conn);
const struct vws_vmm_driver *vws_vmm_conn_driver(
    const struct vws_vmm_conn *conn);
/* The driver's private data of CONN, and setting it (for drivers). */
void *vws_vmm_conn_priv(const struct vws_vmm_conn *conn);
void vws_vmm_conn_set_priv(struct vws_vmm_conn *conn, void *priv);
/* For wrapper drivers: a connection of DRIVER named URI (copied) with
 * private data PRIV, made without calling DRIVER->open.  Never fails. */
struct vws_vmm_conn *vws_vmm_conn_new_wrapper(
    const struct vws_vmm_driver *driver, const char *uri, void *priv);

/* ---- domains ---------------------------------------------------------- */

/* Define a persistent domain from SPEC (checked first); it is shut off.
 * Returns a new handle (vws_vmm_domain_free() it) or NULL; a domain of the
 * same name that already exists is VWS_ERR_EXISTS. */
struct vws_vmm_domain *vws_vmm_define(struct vws_vmm_conn *conn,
                                      const struct vws_vmm_domain_spec *spec);

/* A handle on the existing domain NAME, or NULL (VWS_ERR_NOT_FOUND when
 * there is none). */
struct vws_vmm_domain *vws_vmm_lookup(struct vws_vmm_conn *conn,
                                      const char *name);

/* Free the handle only (the domain stays); NULL: no-op. */
void vws_vmm_domain_free(struct vws_vmm_domain *dom);

const char *vws_vmm_domain_name(const struct vws_vmm_domain *dom);
struct vws_vmm_conn *vws_vmm_domain_conn(const struct vws_vmm_domain *dom);
void *vws_vmm_domain_priv(const struct vws_vmm_domain *dom);
void vws_vmm_domain_set_priv(struct vws_vmm_domain *dom, void *priv);

int vws_vmm_start(struct vws_vmm_domain *dom);

/* Ask the guest to power off (ACPI), wait up to TIMEOUT_MS for it to be
 * shut off, then destroy it.  *FORCED (may be NULL) says whether destroy
 * was needed.  A domain already shut off is a success.  0 or -1. */
int vws_vmm_shutdown(struct vws_vmm_domain *dom, unsigned timeout_ms,
                     bool *forced);

/* Power off at once (the domain stays defined). */
int vws_vmm_destroy(struct vws_vmm_domain *dom);
int vws_vmm_pause(struct vws_vmm_domain *dom);
int vws_vmm_resume(struct vws_vmm_domain *dom);

/* Write the memory state of the running or paused domain to PATH (an
 * absolute path; the file must not exist); the domain is then shut off. */
int vws_vmm_save(struct vws_vmm_domain *dom, const char *path);

/* Start the domain again from PATH, made by vws_vmm_save() of this same
 * domain (another domain's file is refused with VWS_ERR_INVALID_ARG). */
int vws_vmm_restore(struct vws_vmm_domain *dom, const char *path);

int vws_vmm_state(struct vws_vmm_domain *dom, enum vws_vmm_state *state);

/* Remove the definition (the domain must be shut off: VWS_ERR_STATE
 * otherwise).  The handle stays to be freed. */
int vws_vmm_undefine(struct vws_vmm_domain *dom);

/* The hypervisor's current XML of the domain (caller frees), or NULL. */
char *vws_vmm_xml(struct vws_vmm_domain *dom);

/* Every domain whose name starts with PREFIX (NULL or "": all), sorted by
 * name, into a new array *LIST of *N entries: free it with
 * vws_vmm_domain_info_free(). */
int vws_vmm_list(struct vws_vmm_conn *conn, const char *prefix,
                 struct vws_vmm_domain_info **list, size_t *n);
void vws_vmm_domain_info_free(struct vws_vmm_domain_info *list, size_t n);

/* ---- fault injection (vmm_faulty.c) ----------------------------------- */

/* Fault flags. */
#define VWS_VMM_FAULT_AFTER 0x1u  /* run the real operation, then fail (an
                                     operation that happened but reported a
                                     failure: the hardest case to clean) */

/* Wrap INNER (an open connection, owned by the wrapper from now on: closing
 * the wrapper closes it) in a fault-injecting connection.  With no rule it
 * passes every call through.  NULL (INNER closed) on failure. */
struct vws_vmm_conn *vws_vmm_faulty_wrap(struct vws_vmm_conn *inner);

/* Make the NTH call of OP from now on (1 = the next one; 0 = every call
 * from now on) fail with CODE and MESSAGE (copied; the report reads
 * "<op> of domain 'NAME': MESSAGE").  FLAGS: VWS_VMM_FAULT_*.  Each rule
 * fires once (NTH > 0) and is then gone.  CONN must come from
 * vws_vmm_faulty_wrap() (VWS_ERR_INVALID_ARG otherwise). */
int vws_vmm_faulty_add(struct vws_vmm_conn *conn, enum vws_vmm_op op,
                       unsigned nth, vws_error_code code,
                       const char *message, unsigned flags);

/* The same from a text rule "OP:NTH[:MESSAGE]" or "OP:NTH:after[:MESSAGE]"
 * (for a config option or an environment variable in integration tests),
 * e.g. "start:2:injected failure".  The code is VWS_ERR_IO. */
int vws_vmm_faulty_add_rule(struct vws_vmm_conn *conn, const char *rule);

/* Drop every rule. */
void vws_vmm_faulty_clear(struct vws_vmm_conn *conn);

/* How many calls of OP reached the wrapper since it was made, and how many
 * faults it injected in all. */
unsigned vws_vmm_faulty_calls(struct vws_vmm_conn *conn, enum vws_vmm_op op);
unsigned vws_vmm_faulty_injected(struct vws_vmm_conn *conn);

#endif /* VWS_MANAGER_VMM_H */
