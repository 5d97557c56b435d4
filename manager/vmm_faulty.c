/*
 * vmm_faulty.c — a VMM driver that wraps another open connection and makes
 * chosen calls fail (see vmm.h, "fault injection").  After SQLite's
 * fault-injecting VFS: the Manager's tests make the N-th start, save or
 * define fail and check that the workspace ends corrupted with the reason
 * and that nothing is left behind.
 *
 * A rule is (operation, N, code, message, flags).  Each call of an
 * operation advances the counter of every rule for it; the rule whose
 * counter reaches N fires once and is dropped (N = 0: fires on every
 * call).  A rule fires before the real call (nothing happened), or with
 * VWS_VMM_FAULT_AFTER after it (it happened, but the caller hears it
 * failed).  The wrapper's domain handles hold a handle of the inner
 * connection.
 */
#define VWS_MODULE "vmm"
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "manager/vmm.h"
#include "internal.h"

#define MAX_RULE_TEXT 1024

struct rule {
    enum vws_vmm_op op;
    unsigned nth;
    unsigned seen;
    vws_error_code code;
    char *message;
    unsigned flags;
    struct rule *next;
};

struct faulty {
    pthread_mutex_t lock;
    struct vws_vmm_conn *inner;
    struct rule *rules;
    unsigned calls[VWS_VMM_N_OPS];
    unsigned injected;
};

/* What a call should do, decided under the lock. */
struct verdict {
    bool fire;
    unsigned flags;
    vws_error_code code;
    char *message;
};

extern const struct vws_vmm_driver vws_vmm_faulty_driver;

static struct faulty *
priv(const struct vws_vmm_conn *conn)
{
    return vws_vmm_conn_priv(conn);
}

static void
rule_free(struct rule *r)
{
    free(r->message);
    free(r);
}

/* Count a call of OP and decide whether it fails. */
static struct verdict
judge(struct faulty *f, enum vws_vmm_op op)
{
    struct verdict v = { false, 0, VWS_ERR_OK, NULL };
    struct rule **pp;

    pthread_mutex_lock(&f->lock);
    f->calls[op]++;
    for (pp = &f->rules; *pp;) {
        struct rule *r = *pp;
        if (r->op != op) {
            pp = &r->next;
            continue;
        }
        r->seen++;
        if (!v.fire && (r->nth == 0 || r->seen == r->nth)) {
            v.fire = true;
            v.flags = r->flags;
            v.code = r->code;
            v.message = vws_strdup(r->message);
            f->injected++;
            if (r->nth != 0) {
                *pp = r->next;
                rule_free(r);
                continue;
            }
        }
        pp = &r->next;
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

static int
inject(struct verdict *v, enum vws_vmm_op op, const char *subject,
       bool domain)
{
    vws_report_error(v->code, "%s of %s'%s': %s", vws_vmm_op_name(op),
                     domain ? "domain " : "", subject, v->message);
    VWS_FREE(v->message);
    return -1;
}

/* ---- slots ------------------------------------------------------------ */

static int
fy_open(struct vws_vmm_conn *conn, const char *uri)
{
    (void)conn;
    vws_report_error(VWS_ERR_INVALID_ARG,
                     "cannot open '%s' with the faulty driver: use "
                     "vws_vmm_faulty_wrap() on an open connection", uri);
    return -1;
}

static void
fy_close(struct vws_vmm_conn *conn)
{
    struct faulty *f = priv(conn);

    if (!f)
        return;
    for (struct rule *r = f->rules, *next; r; r = next) {
        next = r->next;
        rule_free(r);
    }
    vws_vmm_close(f->inner);
    pthread_mutex_destroy(&f->lock);
    free(f);
    vws_vmm_conn_set_priv(conn, NULL);
}

static int
fy_define(struct vws_vmm_conn *conn, const struct vws_vmm_domain_spec *spec,
          struct vws_vmm_domain *dom)
{
    struct verdict v = judge(priv(conn), VWS_VMM_OP_DEFINE);
    struct vws_vmm_domain *in;

    if (v.fire && !(v.flags & VWS_VMM_FAULT_AFTER))
        return inject(&v, VWS_VMM_OP_DEFINE, vws_vmm_domain_name(dom), true);
    in = vws_vmm_define(priv(conn)->inner, spec);
    if (in)
        vws_vmm_domain_set_priv(dom, in);
    if (v.fire)
        return inject(&v, VWS_VMM_OP_DEFINE, vws_vmm_domain_name(dom), true);
    return in ? 0 : -1;
}

static int
fy_lookup(struct vws_vmm_conn *conn, struct vws_vmm_domain *dom)
{
    struct verdict v = judge(priv(conn), VWS_VMM_OP_LOOKUP);
    struct vws_vmm_domain *in;

    if (v.fire && !(v.flags & VWS_VMM_FAULT_AFTER))
        return inject(&v, VWS_VMM_OP_LOOKUP, vws_vmm_domain_name(dom), true);
    in = vws_vmm_lookup(priv(conn)->inner, vws_vmm_domain_name(dom));
    if (in)
        vws_vmm_domain_set_priv(dom, in);
    if (v.fire)
        return inject(&v, VWS_VMM_OP_LOOKUP, vws_vmm_domain_name(dom), true);
    return in ? 0 : -1;
}

static void
fy_domain_release(struct vws_vmm_domain *dom)
{
    vws_vmm_domain_free(vws_vmm_domain_priv(dom));
    vws_vmm_domain_set_priv(dom, NULL);
}

static struct vws_vmm_domain *
inner_dom(const struct vws_vmm_domain *dom)
{
    return vws_vmm_domain_priv(dom);
}

/* The body of a slot on a domain: judge, maybe fail, call CALL, maybe
 * fail after it. */
#define FAULTY_DOM(dom, op, call) \
    do { \
        struct verdict v_ = judge(priv(vws_vmm_domain_conn(dom)), (op)); \
        int rc_; \
        if (v_.fire && !(v_.flags & VWS_VMM_FAULT_AFTER)) \
            return inject(&v_, (op), vws_vmm_domain_name(dom), true); \
        rc_ = (call); \
        if (v_.fire) \
            return inject(&v_, (op), vws_vmm_domain_name(dom), true); \
        return rc_; \
    } while (0)

static int
fy_start(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_START, vws_vmm_start(inner_dom(dom)));
}

static int
inner_shutdown(struct vws_vmm_domain *in)
{
    const struct vws_vmm_driver *drv =
        vws_vmm_conn_driver(vws_vmm_domain_conn(in));

    if (!drv->shutdown) {
        vws_report_error(VWS_ERR_UNSUPPORTED,
                         "VMM driver '%s' does not support shutdown",
                         drv->name);
        return -1;
    }
    return drv->shutdown(in);
}

static int
fy_shutdown(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_SHUTDOWN, inner_shutdown(inner_dom(dom)));
}

static int
fy_destroy(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_DESTROY, vws_vmm_destroy(inner_dom(dom)));
}

static int
fy_pause(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_PAUSE, vws_vmm_pause(inner_dom(dom)));
}

static int
fy_resume(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_RESUME, vws_vmm_resume(inner_dom(dom)));
}

static int
fy_save(struct vws_vmm_domain *dom, const char *path)
{
    FAULTY_DOM(dom, VWS_VMM_OP_SAVE, vws_vmm_save(inner_dom(dom), path));
}

static int
fy_restore(struct vws_vmm_domain *dom, const char *path)
{
    FAULTY_DOM(dom, VWS_VMM_OP_RESTORE,
               vws_vmm_restore(inner_dom(dom), path));
}

static int
fy_state(struct vws_vmm_domain *dom, enum vws_vmm_state *state)
{
    FAULTY_DOM(dom, VWS_VMM_OP_STATE, vws_vmm_state(inner_dom(dom), state));
}

static int
fy_undefine(struct vws_vmm_domain *dom)
{
    FAULTY_DOM(dom, VWS_VMM_OP_UNDEFINE, vws_vmm_undefine(inner_dom(dom)));
}

static char *
fy_xml(struct vws_vmm_domain *dom)
{
    struct verdict v = judge(priv(vws_vmm_domain_conn(dom)), VWS_VMM_OP_XML);
    char *xml;

    if (v.fire && !(v.flags & VWS_VMM_FAULT_AFTER)) {
        inject(&v, VWS_VMM_OP_XML, vws_vmm_domain_name(dom), true);
        return NULL;
    }
    xml = vws_vmm_xml(inner_dom(dom));
    if (v.fire) {
        free(xml);
        inject(&v, VWS_VMM_OP_XML, vws_vmm_domain_name(dom), true);
        return NULL;
    }
    return xml;
}

static int
fy_list(struct vws_vmm_conn *conn, struct vws_vmm_domain_info **list,
        size_t *n)
{
    struct verdict v = judge(priv(conn), VWS_VMM_OP_LIST);
    int rc;

    if (v.fire && !(v.flags & VWS_VMM_FAULT_AFTER))
        return inject(&v, VWS_VMM_OP_LIST, vws_vmm_conn_uri(conn), false);
    rc = vws_vmm_list(priv(conn)->inner, NULL, list, n);
    if (v.fire) {
        if (rc == 0) {
            vws_vmm_domain_info_free(*list, *n);
            *list = NULL;
            *n = 0;
        }
        return inject(&v, VWS_VMM_OP_LIST, vws_vmm_conn_uri(conn), false);
    }
    return rc;
}

const struct vws_vmm_driver vws_vmm_faulty_driver = {
    .name = "faulty",
    .open = fy_open,
    .close = fy_close,
    .define = fy_define,
    .lookup = fy_lookup,
    .domain_release = fy_domain_release,
    .start = fy_start,
    .shutdown = fy_shutdown,
    .destroy = fy_destroy,
    .pause = fy_pause,
    .resume = fy_resume,
    .save = fy_save,
    .restore = fy_restore,
    .state = fy_state,
    .list = fy_list,
    .undefine = fy_undefine,
    .xml = fy_xml,
};

/* ---- public ----------------------------------------------------------- */

struct vws_vmm_conn *
vws_vmm_faulty_wrap(struct vws_vmm_conn *inner)
{
    struct vws_vmm_conn *conn;
    struct faulty *f;
    char *uri;

    if (!inner) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing VMM connection");
        return NULL;
    }
    /* vws_vmm_open_driver() would call fy_open: build the wrapper by
     * opening nothing and setting the private data by hand */
    f = vws_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->inner = inner;
    uri = vws_asprintf("faulty+%s", vws_vmm_conn_uri(inner));
    conn = vws_vmm_conn_new_wrapper(&vws_vmm_faulty_driver, uri, f);
    free(uri);
    return conn;
}

static struct faulty *
faulty_of(struct vws_vmm_conn *conn)
{
    if (!conn || vws_vmm_conn_driver(conn) != &vws_vmm_faulty_driver) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "not a fault-injecting VMM connection");
        return NULL;
    }
    return priv(conn);
}

int
vws_vmm_faulty_add(struct vws_vmm_conn *conn, enum vws_vmm_op op,
                   unsigned nth, vws_error_code code, const char *message,
                   unsigned flags)
{
    struct faulty *f = faulty_of(conn);
    struct rule *r, **tail;

    if (!f)
        return -1;
    if ((unsigned)op >= VWS_VMM_N_OPS) {
        vws_report_error(VWS_ERR_INVALID_ARG, "unknown VMM operation %d",
                         (int)op);
        return -1;
    }
    r = vws_calloc(1, sizeof(*r));
    r->op = op;
    r->nth = nth;
    r->code = code == VWS_ERR_OK ? VWS_ERR_IO : code;
    r->message = vws_strdup(message && *message ? message
                                                : "injected failure");
    r->flags = flags;
    pthread_mutex_lock(&f->lock);
    for (tail = &f->rules; *tail; tail = &(*tail)->next)
        ;
    *tail = r;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

int
vws_vmm_faulty_add_rule(struct vws_vmm_conn *conn, const char *rule)
{
    char *copy, *op_end, *nth_text, *rest, *message = NULL;
    unsigned flags = 0;
    uint64_t nth;
    int op, rc = -1;

    if (!rule || strnlen(rule, MAX_RULE_TEXT + 1) > MAX_RULE_TEXT) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing or too long fault "
                         "rule");
        return -1;
    }
    copy = vws_strdup(rule);
    op_end = strchr(copy, ':');
    if (!op_end)
        goto bad;
    *op_end = '\0';
    nth_text = op_end + 1;
    rest = strchr(nth_text, ':');
    if (rest) {
        *rest++ = '\0';
        if (strncmp(rest, "after", 5) == 0 &&
            (rest[5] == '\0' || rest[5] == ':')) {
            flags |= VWS_VMM_FAULT_AFTER;
            rest = rest[5] == ':' ? rest + 6 : NULL;
        }
        message = rest;
    }
    if ((op = vws_vmm_op_parse(copy)) < 0 ||
        vws_parse_u64(nth_text, &nth) < 0 || nth > 1000000)
        goto bad;
    rc = vws_vmm_faulty_add(conn, (enum vws_vmm_op)op, (unsigned)nth,
                            VWS_ERR_IO, message, flags);
    free(copy);
    return rc;

bad:
    vws_report_error(VWS_ERR_INVALID_ARG,
                     "invalid fault rule '%s' (want OP:N[:after][:MESSAGE], "
                     "OP one of define, lookup, start, shutdown, destroy, "
                     "pause, resume, save, restore, state, list, undefine, "
                     "xml)", rule);
    free(copy);
    return -1;
}

void
vws_vmm_faulty_clear(struct vws_vmm_conn *conn)
{
    struct faulty *f = faulty_of(conn);
    struct rule *r, *next;

    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    r = f->rules;
    f->rules = NULL;
    pthread_mutex_unlock(&f->lock);
    for (; r; r = next) {
        next = r->next;
        rule_free(r);
    }
}

unsigned
vws_vmm_faulty_calls(struct vws_vmm_conn *conn, enum vws_vmm_op op)
{
    struct faulty *f = faulty_of(conn);
    unsigned n;

    if (!f || (unsigned)op >= VWS_VMM_N_OPS)
        return 0;
    pthread_mutex_lock(&f->lock);
    n = f->calls[op];
    pthread_mutex_unlock(&f->lock);
    return n;
}

unsigned
vws_vmm_faulty_injected(struct vws_vmm_conn *conn)
{
    struct faulty *f = faulty_of(conn);
    unsigned n;

    if (!f)
        return 0;
    pthread_mutex_lock(&f->lock);
    n = f->injected;
    pthread_mutex_unlock(&f->lock);
    return n;
}
