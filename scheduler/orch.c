/*
 * orch.c — the scheduler on the real clock, driving hosts (see orch.h).
 *
 * Three parts share one mutex:
 *   - the scheduler's hooks, called under the lock while events run or a
 *     call admits, signals or cancels: each turns into an operation on
 *     the queue (a prestage, a start, an end, a rejection), with copies
 *     of what it needs;
 *   - the clock thread: runs every due event, then waits on TICK until
 *     the next one (pthread_cond_timedwait on CLOCK_REALTIME, the clock
 *     the scheduler's times are in); calls that add events signal TICK;
 *   - the workers: take the oldest operation whose lease is not busy in
 *     another worker, run it without the lock, and look again.
 * Nothing sleeps inside vws_clock_step(): it only runs events already
 * due.
 */
#define VWS_MODULE "orch"
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "orch.h"
#include "sched.h"
#include "xstime.h"
#include "internal.h"

enum op_kind { OP_PRESTAGE, OP_START, OP_END, OP_REJECTED };

struct op {
    enum op_kind kind;
    uint64_t id;           /* transfer (prestage) or lease */
    size_t host;
    int nodes;
    size_t *hosts;
    char *text;            /* image or reason */
};

struct vws_orch {
    pthread_mutex_t mu;
    pthread_cond_t tick;   /* the clock thread: events added, or stop */
    pthread_cond_t work;   /* workers: operations queued, or stop */
    vws_clock *clock;
    vws_sched *sched;
    struct vws_orch_ops ops;

    pthread_t clock_thread;
    pthread_t workers[VWS_ORCH_WORKERS];
    size_t nworkers;
    int clock_running;
    int stop;

    struct op *q;          /* FIFO */
    size_t nq, capq;
    uint64_t busy[VWS_ORCH_WORKERS];   /* lease each worker runs, or 0 */

    unsigned char *started;    /* by lease id - 1: start was queued */
    size_t capstarted;
    int admitting;         /* inside submit/restore: its rejection is
                              the caller's answer, not an operation */
};

/* ------------------------------------------------------------------ */
/* the operation queue (under the lock) */

static void
op_release(struct op *op)
{
    free(op->hosts);
    free(op->text);
}

static void
queue_op(vws_orch *o, const struct op *op)
{
    if (o->nq == o->capq) {
        o->capq = o->capq ? o->capq * 2 : 32;
        o->q = vws_reallocarray(o->q, o->capq, sizeof(*o->q));
    }
    o->q[o->nq++] = *op;
    pthread_cond_signal(&o->work);
}

static size_t *
hosts_copy(const vws_lease *l)
{
    size_t *h = vws_calloc((size_t)l->nodes, sizeof(*h));

    memcpy(h, l->host, (size_t)l->nodes * sizeof(*h));
    return h;
}

static int
was_started(const vws_orch *o, uint64_t id)
{
    return id >= 1 && id <= o->capstarted && o->started[id - 1];
}

static void
mark_started(vws_orch *o, uint64_t id)
{
    if (id > o->capstarted) {
        size_t cap = o->capstarted ? o->capstarted : 64;

        while (cap < id)
            cap *= 2;
        o->started = vws_realloc(o->started, cap);
        memset(o->started + o->capstarted, 0, cap - o->capstarted);
        o->capstarted = cap;
    }
    o->started[id - 1] = 1;
}

/* ------------------------------------------------------------------ */
/* snapshots */

static void
format_ms(vws_time ms, char *buf, size_t size)
{
    struct vws_datetime dt;

    vws_datetime_from_ms(ms, &dt);
    if (vws_datetime_format(&dt, buf, size) < 0)
        snprintf(buf, size, "%" PRId64 " ms", ms);
}

/* L's reason; for an advance reservation it names the times asked for. */
static void
lease_reason(const vws_lease *l, char *buf, size_t size)
{
    char a[VWS_DATETIME_BUFSIZE], b[VWS_DATETIME_BUFSIZE];
    char *text;

    if (l->state != VWS_LEASE_REJECTED ||
        (l->type != VWS_LEASE_AR && l->type != VWS_LEASE_AR_WINDOW)) {
        vws_strlcpy(buf, l->reason, size);
        return;
    }
    format_ms(l->start, a, sizeof(a));
    format_ms(l->end, b, sizeof(b));
    if (l->type == VWS_LEASE_AR)
        text = vws_asprintf("cannot reserve %d nodes from %s to %s: %s",
                            l->nodes, a, b, l->reason);
    else
        text = vws_asprintf("cannot reserve %d nodes for %.3f s starting "
                            "between %s and %s: %s", l->nodes,
                            (double)l->duration / 1000.0, a, b, l->reason);
    vws_strlcpy(buf, text, size);     /* cut to the snapshot's size */
    free(text);
}

static void
snapshot(vws_orch *o, const vws_lease *l, struct vws_orch_lease *out)
{
    vws_sched_staging st[VWS_ORCH_MAX_NODES];
    size_t i, n;

    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    out->id = l->id;
    out->type = l->type;
    out->state = l->state;
    lease_reason(l, out->reason, sizeof(out->reason));
    out->start = l->actual_start >= 0 ? l->actual_start : l->booked_start;
    out->end = l->actual_end >= 0 ? l->actual_end : l->booked_end;
    if (l->state == VWS_LEASE_REJECTED || l->state == VWS_LEASE_QUEUED)
        out->start = out->end = -1;
    out->started = was_started(o, l->id);
    out->cancelled = l->cancelled;
    out->nodes = l->nodes;
    if (l->state != VWS_LEASE_REJECTED && l->state != VWS_LEASE_QUEUED)
        for (i = 0; i < (size_t)l->nodes && i < VWS_ORCH_MAX_NODES; i++)
            out->hosts[i] = l->host[i];
    n = vws_sched_lease_staging(o->sched, l->id, st, VWS_ORCH_MAX_NODES);
    if (n > VWS_ORCH_MAX_NODES)
        n = VWS_ORCH_MAX_NODES;
    for (i = 0; i < n; i++) {
        struct vws_orch_staging *s = &out->staging[i];

        s->xfer = st[i].xfer;
        s->host = st[i].host;
        vws_strlcpy(s->image, st[i].image, sizeof(s->image));
        s->start = st[i].start;
        s->end = st[i].end;
        s->running = st[i].running;
        s->done = st[i].done;
    }
    out->n_staging = n;
}

/* ------------------------------------------------------------------ */
/* the scheduler's hooks (under the lock) */

static void
hook_start_transfer(void *ctx, uint64_t xfer, size_t host, const char *image,
                    double mb)
{
    vws_orch *o = ctx;
    struct op op = { .kind = OP_PRESTAGE, .id = xfer, .host = host,
                     .text = vws_strdup(image) };

    queue_op(o, &op);
}

static void
hook_lease_started(void *ctx, const vws_lease *l)
{
    vws_orch *o = ctx;
    struct op op = { .kind = OP_START, .id = l->id, .nodes = l->nodes,
                     .hosts = hosts_copy(l) };

    mark_started(o, l->id);
    queue_op(o, &op);
}

static void
hook_lease_done(void *ctx, const vws_lease *l)
{
    vws_orch *o = ctx;
    struct op op = { .id = l->id };

    if (l->state == VWS_LEASE_REJECTED) {
        char reason[sizeof(l->reason) + 128];

        if (o->admitting || !o->ops.rejected)
            return;
        lease_reason(l, reason, sizeof(reason));
        op.kind = OP_REJECTED;
        op.text = vws_strdup(reason);
        queue_op(o, &op);
        return;
    }
    if (!was_started(o, l->id))
        return;
    op.kind = OP_END;
    op.nodes = l->nodes;
    op.hosts = hosts_copy(l);
    queue_op(o, &op);
}

/* ------------------------------------------------------------------ */
/* threads */

static void *
clock_main(void *arg)
{
    vws_orch *o = arg;

    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        vws_time next = vws_clock_next(o->clock);
        struct timespec ts;

        if (next <= vws_clock_now(o->clock)) {
            vws_clock_step(o->clock);      /* due: it does not sleep */
            continue;
        }
        if (next == VWS_TIME_NEVER) {
            pthread_cond_wait(&o->tick, &o->mu);
            continue;
        }
        ts.tv_sec = (time_t)(next / 1000);
        ts.tv_nsec = (long)(next % 1000) * 1000000L;
        pthread_cond_timedwait(&o->tick, &o->mu, &ts);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* The oldest queued operation no other worker's lease blocks, or -1. */
static ssize_t
next_op(const vws_orch *o)
{
    size_t i, w;

    for (i = 0; i < o->nq; i++) {
        int blocked = 0;

        if (o->q[i].kind != OP_PRESTAGE)
            for (w = 0; w < VWS_ORCH_WORKERS; w++)
                if (o->busy[w] == o->q[i].id)
                    blocked = 1;
        if (!blocked)
            return (ssize_t)i;
    }
    return -1;
}

struct worker_arg {
    vws_orch *o;
    size_t index;
};

static void
run_op(const struct vws_orch_ops *ops, const struct op *op)
{
    switch (op->kind) {
    case OP_PRESTAGE:
        ops->prestage(ops->ctx, op->id, op->host, op->text);
        break;
    case OP_START:
        ops->start(ops->ctx, op->id, op->nodes, op->hosts);
        break;
    case OP_END:
        ops->end(ops->ctx, op->id, op->nodes, op->hosts);
        break;
    case OP_REJECTED:
        ops->rejected(ops->ctx, op->id, op->text);
        break;
    }
}

static void *
worker_main(void *arg)
{
    struct worker_arg *wa = arg;
    vws_orch *o = wa->o;
    size_t me = wa->index;

    free(wa);
    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        ssize_t i = next_op(o);
        struct op op;

        if (i < 0) {
            pthread_cond_wait(&o->work, &o->mu);
            continue;
        }
        op = o->q[i];
        memmove(o->q + i, o->q + i + 1,
                (o->nq - (size_t)i - 1) * sizeof(*o->q));
        o->nq--;
        o->busy[me] = op.kind == OP_PRESTAGE ? 0 : op.id;
        pthread_mutex_unlock(&o->mu);
        run_op(&o->ops, &op);
        op_release(&op);
        pthread_mutex_lock(&o->mu);
        o->busy[me] = 0;
        if (o->nq)
            pthread_cond_broadcast(&o->work);  /* one may wait on our lease */
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* life cycle */

static void
orch_stop(vws_orch *o)
{
    size_t i;

    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_broadcast(&o->tick);
    pthread_cond_broadcast(&o->work);
    pthread_mutex_unlock(&o->mu);
    if (o->clock_running)
        pthread_join(o->clock_thread, NULL);
    for (i = 0; i < o->nworkers; i++)
        pthread_join(o->workers[i], NULL);
    o->clock_running = 0;
    o->nworkers = 0;
}

void
vws_orch_free(vws_orch *o)
{
    size_t i;

    if (!o)
        return;
    orch_stop(o);
    for (i = 0; i < o->nq; i++)
        op_release(&o->q[i]);
    free(o->q);
    free(o->started);
    vws_sched_free(o->sched);
    vws_clock_free(o->clock);
    pthread_cond_destroy(&o->work);
    pthread_cond_destroy(&o->tick);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

vws_orch *
vws_orch_new(const vws_site *site, const char *strategy,
             const struct vws_orch_ops *ops)
{
    vws_sched_hooks hooks;
    vws_orch *o;
    size_t i;
    int err;

    if (!ops || !ops->prestage || !ops->start || !ops->end) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "orchestrator needs prestage, start and end operations");
        return NULL;
    }
    o = vws_calloc(1, sizeof(*o));
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->tick, NULL);
    pthread_cond_init(&o->work, NULL);
    o->ops = *ops;
    o->clock = vws_clock_new_real();
    o->sched = vws_sched_new(site, o->clock, strategy, 0);
    if (!o->sched)
        goto error;
    memset(&hooks, 0, sizeof(hooks));
    hooks.start_transfer = hook_start_transfer;
    hooks.lease_started = hook_lease_started;
    hooks.lease_done = hook_lease_done;
    hooks.ctx = o;
    vws_sched_set_hooks(o->sched, &hooks);

    if ((err = pthread_create(&o->clock_thread, NULL, clock_main, o)) != 0) {
        errno = err;
        vws_report_system_error("cannot start the orchestrator's clock thread");
        goto error;
    }
    o->clock_running = 1;
    for (i = 0; i < VWS_ORCH_WORKERS; i++) {
        struct worker_arg *wa = vws_malloc(sizeof(*wa));

        wa->o = o;
        wa->index = i;
        if ((err = pthread_create(&o->workers[i], NULL, worker_main, wa)) != 0) {
            free(wa);
            errno = err;
            vws_report_system_error("cannot start an orchestrator worker");
            goto error;
        }
        o->nworkers++;
    }
    return o;
error:
    vws_orch_free(o);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* calls */

static int
check_nodes(const vws_lease_request *r)
{
    if (r->nodes > VWS_ORCH_MAX_NODES) {
        vws_report_error(VWS_ERR_LIMIT, "lease of %d nodes: at most %d",
                         r->nodes, VWS_ORCH_MAX_NODES);
        return -1;
    }
    return 0;
}

int
vws_orch_submit(vws_orch *o, const vws_lease_request *r,
                struct vws_orch_lease *out)
{
    vws_lease *l;

    if (check_nodes(r) < 0)
        return -1;
    pthread_mutex_lock(&o->mu);
    o->admitting = 1;
    l = vws_sched_submit(o->sched, r);
    o->admitting = 0;
    if (l) {
        snapshot(o, l, out);
        pthread_cond_signal(&o->tick);
    }
    pthread_mutex_unlock(&o->mu);
    return l ? 0 : -1;
}

int
vws_orch_restore(vws_orch *o, const vws_lease_request *r,
                 const size_t *hosts, struct vws_orch_lease *out)
{
    vws_lease *l;

    if (check_nodes(r) < 0)
        return -1;
    pthread_mutex_lock(&o->mu);
    o->admitting = 1;
    l = vws_sched_restore(o->sched, r, hosts);
    o->admitting = 0;
    if (l) {
        if (l->state == VWS_LEASE_RUNNING)
            mark_started(o, l->id);    /* its VMs run: end will come */
        snapshot(o, l, out);
        pthread_cond_signal(&o->tick);
    }
    pthread_mutex_unlock(&o->mu);
    return l ? 0 : -1;
}

int
vws_orch_get(vws_orch *o, uint64_t lease, struct vws_orch_lease *out)
{
    vws_lease *l;

    pthread_mutex_lock(&o->mu);
    l = vws_sched_find(o->sched, lease);
    if (l)
        snapshot(o, l, out);
    pthread_mutex_unlock(&o->mu);
    if (!l) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no lease %" PRIu64, lease);
        return -1;
    }
    return 0;
}

int
vws_orch_signal(vws_orch *o, uint64_t lease)
{
    int r;

    pthread_mutex_lock(&o->mu);
    r = vws_sched_signal(o->sched, lease);
    pthread_cond_signal(&o->tick);
    pthread_mutex_unlock(&o->mu);
    return r;
}

int
vws_orch_cancel(vws_orch *o, uint64_t lease)
{
    int r;

    pthread_mutex_lock(&o->mu);
    r = vws_sched_cancel(o->sched, lease);
    pthread_cond_signal(&o->tick);
    pthread_mutex_unlock(&o->mu);
    return r;
}

int
vws_orch_transfer_done(vws_orch *o, uint64_t xfer, int ok)
{
    int r;

    pthread_mutex_lock(&o->mu);
    r = vws_sched_transfer_done(o->sched, xfer, ok);
    pthread_cond_signal(&o->tick);
    pthread_mutex_unlock(&o->mu);
    return r;
}

int
vws_orch_set_host_available(vws_orch *o, size_t host, bool available)
{
    int r;

    pthread_mutex_lock(&o->mu);
    r = vws_sched_set_host_available(o->sched, host, available);
    pthread_cond_signal(&o->tick);
    pthread_mutex_unlock(&o->mu);
    return r;
}
