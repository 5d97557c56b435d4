/*
 * sched.c — admission, preparation and execution of leases (see sched.h).
 *
 * Admission of a lease goes in four steps, and only the last changes
 * anything:
 *   1. placement: hosts with room for its VM slots over the booked time;
 *   2. a dry run of its preparation, host by host: a cache hit (local copy
 *      only), an attach to a transfer of the same template already headed
 *      for that host (a half-miss), a miss (one transfer into the cache,
 *      then a copy per instance), or a direct transfer (no cache);
 *   3. the staging strategy's check (hybrid: the EDF plan of the link);
 *   4. commit: VM slots booked, transfers created and booked on the link
 *      and the host's I/O, cache entries inserted and pinned, events armed.
 *
 * Execution is events on the clock: a transfer starts at its planned time
 * and ends when the network says so; a copy ends after the site's local
 * copy time; when a lease's last instance is ready it can run.  An AR lease
 * runs [max(start, ready), end): overhead that ran late costs the client,
 * which is what client satisfaction measures.  An ASAP lease runs for its
 * whole duration from ready.
 *
 * The policies live beside this file: policy/staging.c (the strategies'
 * table), policy/edf.c (hybrid's link plan), policy/placement.c (hosts).
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched-priv.h"
#include "internal.h"

static void schedule_queue(vws_sched *s);
static int too_big_for_available(vws_sched *s, vws_lease *l);
static void ev_xfer_start(void *arg, uint64_t tag, vws_time now);
static void xfer_done(void *ctx, void *handle, vws_time now);

/* ------------------------------------------------------------------ */
/* set-up */

vws_sched *
vws_sched_new(const vws_site *site, vws_clock *clock, const char *strategy,
              int simulate_network)
{
    const vws_staging *stg = vws_staging_find(strategy);
    vws_sched *s;
    vws_demand cap;
    size_t i;

    if (!stg)
        return NULL;
    if (site->hosts == 0 || site->vms_per_host <= 0 ||
        site->bandwidth_mbps <= 0 || site->local_copy < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "site needs hosts, VM slots and a bandwidth");
        return NULL;
    }
    s = vws_calloc(1, sizeof(*s));
    s->site = *site;
    s->clock = clock;
    s->staging = stg;
    cap.v[VWS_DIM_VMS] = site->vms_per_host;
    cap.v[VWS_DIM_MEM] = site->memory_mb;
    cap.v[VWS_DIM_CPU] = site->cpu_pct;
    cap.v[VWS_DIM_IO] = site->io_slots;
    s->st = vws_slottable_new(site->hosts, &cap, stg->edf ? 1 : 0);
    s->cache = vws_calloc(site->hosts, sizeof(*s->cache));
    for (i = 0; i < site->hosts; i++)
        s->cache[i] = vws_cache_new(site->cache_policy, site->cache_mb);
    if (simulate_network)
        s->net = vws_network_new(clock, vws_site_mb_per_s(site), xfer_done, s);
    s->stats.first_submit = -1;
    return s;
}

void
vws_sched_free(vws_sched *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < s->nleases; i++)
        vws_lease_free(s->leases[i]);
    for (i = 0; i < s->nxfers; i++) {
        free(s->xfers[i]->image);
        free(s->xfers[i]->w);
        free(s->xfers[i]);
    }
    for (i = 0; i < s->site.hosts; i++)
        vws_cache_free(s->cache[i]);
    free(s->cache);
    free(s->leases);
    free(s->queue);
    free(s->xfers);
    free(s->flex);
    free(s->down);
    vws_slottable_free(s->st);
    vws_network_free(s->net);
    free(s);
}

void
vws_sched_set_hooks(vws_sched *s, const vws_sched_hooks *h)
{
    s->hooks = *h;
}

const vws_sched_stats *vws_sched_get_stats(const vws_sched *s) { return &s->stats; }
size_t vws_sched_nleases(const vws_sched *s) { return s->nleases; }
size_t vws_sched_queue_length(const vws_sched *s) { return s->nqueue; }
vws_slottable *vws_sched_slottable(vws_sched *s) { return s->st; }
const vws_site *vws_sched_site(const vws_sched *s) { return &s->site; }
const char *vws_sched_strategy(const vws_sched *s) { return s->staging->name; }

const vws_lease *
vws_sched_lease(const vws_sched *s, size_t i)
{
    return i < s->nleases ? s->leases[i] : NULL;
}

vws_cache *
vws_sched_cache(vws_sched *s, size_t host)
{
    return host < s->site.hosts ? s->cache[host] : NULL;
}

/* ------------------------------------------------------------------ */
/* bookings */

static int
lease_book(vws_sched *s, vws_lease *l, size_t host, vws_time bs, vws_time be,
           const vws_demand *d, int overhead)
{
    struct vws_booking *b;

    if (bs >= be)
        return 0;
    if (vws_slottable_book(s->st, host, bs, be, d) < 0)
        return -1;
    l->bookings = vws_reallocarray(l->bookings, l->nbookings + 1,
                                   sizeof(*l->bookings));
    b = &l->bookings[l->nbookings++];
    b->host = host;
    b->s = bs;
    b->e = be;
    memcpy(b->v, d->v, sizeof(b->v));
    b->overhead = overhead;
    return 0;
}

static void
lease_unbook_all(vws_sched *s, vws_lease *l, int overhead_too)
{
    size_t i, j = 0;

    s->dirty = 1;
    for (i = 0; i < l->nbookings; i++) {
        struct vws_booking *b = &l->bookings[i];
        vws_demand d;

        if (b->overhead && !overhead_too) {
            l->bookings[j++] = *b;
            continue;
        }
        memcpy(d.v, b->v, sizeof(d.v));
        vws_slottable_release(s->st, b->host, b->s, b->e, &d);
    }
    l->nbookings = j;
}

/* Book one node-slot demand × count per host of L over [bs, be). */
static int
lease_book_vms(vws_sched *s, vws_lease *l, vws_time bs, vws_time be)
{
    vws_demand one, d;
    size_t i, j;
    int k;

    vws_lease_demand(s, l, &one);
    for (i = 0; i < (size_t)l->nodes; i++) {
        int count = 0, seen = 0;

        for (j = 0; j < i; j++)
            if (l->host[j] == l->host[i])
                seen = 1;
        if (seen)
            continue;
        for (j = i; j < (size_t)l->nodes; j++)
            if (l->host[j] == l->host[i])
                count++;
        for (k = 0; k < VWS_NDIMS; k++)
            d.v[k] = one.v[k] * count;
        if (lease_book(s, l, l->host[i], bs, be, &d, 0) < 0)
            return -1;
    }
    l->booked_start = bs;
    l->booked_end = be;
    return 0;
}

/* Move L's VM bookings to [bs, be).  0, or -1 if they did not fit (then
 * the old bookings are back). */
static int
lease_rebook_vms(vws_sched *s, vws_lease *l, vws_time bs, vws_time be)
{
    vws_time obs = l->booked_start, obe = l->booked_end;

    lease_unbook_all(s, l, 0);
    if (lease_book_vms(s, l, bs, be) == 0)
        return 0;
    lease_unbook_all(s, l, 0);
    if (lease_book_vms(s, l, obs, obe) < 0)
        vws_report_error(VWS_ERR_INTERNAL, "lost the bookings of lease %" PRIu64,
                         l->id);
    return -1;
}

void
vws_xfer_demand(vws_demand *d, int link)
{
    memset(d, 0, sizeof(*d));
    if (link)
        d->v[0] = 1;
    else
        d->v[VWS_DIM_IO] = 1;
}

void
vws_xfer_book(vws_sched *s, struct vws_xfer *x)
{
    vws_demand dl, dh;

    if (x->booked || x->planned_end <= x->planned_start)
        return;
    vws_xfer_demand(&dl, 1);
    vws_xfer_demand(&dh, 0);
    if (vws_slottable_book(s->st, VWS_LINK, x->planned_start, x->planned_end, &dl) < 0 ||
        vws_slottable_book(s->st, x->host, x->planned_start, x->planned_end, &dh) < 0) {
        VWS_WARN("transfer %" PRIu64 " overlaps the link plan: %s", x->id,
                 vws_error_message());
        return;
    }
    x->booked = 1;
}

void
vws_xfer_unbook(vws_sched *s, struct vws_xfer *x)
{
    vws_demand dl, dh;

    if (!x->booked)
        return;
    vws_xfer_demand(&dl, 1);
    vws_xfer_demand(&dh, 0);
    vws_slottable_release(s->st, VWS_LINK, x->planned_start, x->planned_end, &dl);
    vws_slottable_release(s->st, x->host, x->planned_start, x->planned_end, &dh);
    x->booked = 0;
}

void
vws_xfer_arm(vws_sched *s, struct vws_xfer *x)
{
    x->gen++;
    vws_clock_at(s->clock, x->planned_start, ev_xfer_start, x, x->gen);
}

/* ------------------------------------------------------------------ */
/* preparation: dry run and commit */

struct prep_plan {
    struct prep_unit *u;
    size_t nu;
    struct new_xfer *nx;
    size_t nnx;
    vws_time total;        /* all new transfers on an idle link */
};

static void
plan_release(struct prep_plan *p)
{
    free(p->u);
    free(p->nx);
    memset(p, 0, sizeof(*p));
}

static void
plan_add_xfer(struct prep_plan *p, size_t unit, size_t host, double mb,
              int count, int to_cache, vws_time deadline)
{
    p->nx = vws_reallocarray(p->nx, p->nnx + 1, sizeof(*p->nx));
    p->nx[p->nnx++] = (struct new_xfer){ unit, host, mb, count, to_cache,
                                         deadline, 0, 0 };
}

/* May a lease needing the image by DEADLINE wait for X? */
static int
can_attach(const vws_sched *s, const struct vws_xfer *x, vws_time deadline)
{
    if (x->state == XFER_DONE)
        return 0;
    if (x->state == XFER_RUNNING)
        return !s->staging->edf || x->planned_end <= deadline;
    return x->flexible || x->planned_end <= deadline;
}

/* Dry run of L's preparation, its instances needed at NEED_AT. */
static void
plan_prep(vws_sched *s, vws_lease *l, vws_time need_at, struct prep_plan *p)
{
    vws_time copy = s->site.local_copy;
    size_t i, j;

    memset(p, 0, sizeof(*p));
    p->u = vws_calloc((size_t)l->nodes, sizeof(*p->u));
    for (i = 0; i < (size_t)l->nodes; i++) {
        struct prep_unit *u;
        int seen = 0, count = 0;

        for (j = 0; j < i; j++)
            if (l->host[j] == l->host[i])
                seen = 1;
        if (seen)
            continue;
        for (j = i; j < (size_t)l->nodes; j++)
            if (l->host[j] == l->host[i])
                count++;
        u = &p->u[p->nu];
        u->host = l->host[i];
        u->count = count;
        if (s->site.cache_policy == VWS_CACHE_NONE) {
            u->kind = UNIT_DIRECT;
            if (s->site.dedup)
                plan_add_xfer(p, p->nu, u->host, (double)l->image_mb, count, 0,
                              need_at);
            else
                for (j = 0; j < (size_t)count; j++)
                    plan_add_xfer(p, p->nu, u->host, (double)l->image_mb, 1, 0,
                                  need_at);
        } else {
            vws_cache_entry *e = vws_cache_lookup(s->cache[u->host], l->image);

            if (e && e->ready) {
                u->kind = UNIT_HIT;
            } else if (e && e->data &&
                       can_attach(s, e->data, need_at - copy)) {
                u->kind = UNIT_ATTACH;
                u->attach = e->data;
            } else if (!e && vws_cache_can_insert(s->cache[u->host],
                                                  l->image_mb)) {
                u->kind = UNIT_MISS;
                plan_add_xfer(p, p->nu, u->host, (double)l->image_mb, count, 1,
                              need_at - copy);
            } else {
                u->kind = UNIT_DIRECT;
                plan_add_xfer(p, p->nu, u->host, (double)l->image_mb, count, 0,
                              need_at);
            }
        }
        p->nu++;
    }
    for (i = 0; i < p->nnx; i++)
        p->total += vws_site_transfer_time(&s->site, p->nx[i].mb);
}

struct copy_job {
    vws_sched *s;
    vws_lease *l;
    size_t host;
    int count;
    vws_time since;
};

static void instances_ready(vws_sched *s, vws_lease *l, int count,
                            vws_time since, vws_time now);

static void
ev_copy_done(void *arg, uint64_t tag, vws_time now)
{
    struct copy_job *c = arg;
    int k;

    for (k = 0; k < c->count; k++)
        vws_cache_unpin(c->s->cache[c->host], c->l->image);
    if (c->l->state != VWS_LEASE_DONE)
        instances_ready(c->s, c->l, c->count, c->since, now);
    free(c);
}

static void
start_copy(vws_sched *s, vws_lease *l, size_t host, int count,
           vws_time at, vws_time since)
{
    struct copy_job *c = vws_malloc(sizeof(*c));
    vws_demand d;

    *c = (struct copy_job){ s, l, host, count, since };
    if (s->site.local_copy > 0 && l->state != VWS_LEASE_DONE) {
        memset(&d, 0, sizeof(d));
        d.v[VWS_DIM_IO] = 1;
        if (lease_book(s, l, host, at, at + s->site.local_copy, &d, 1) < 0)
            VWS_DEBUG("copy for lease %" PRIu64 " beyond I/O capacity", l->id);
    }
    vws_clock_at_owned(s->clock, at + s->site.local_copy, ev_copy_done, c,
                       0);
}

static void
pin(vws_sched *s, vws_lease *l, size_t host, int count)
{
    int k;

    for (k = 0; k < count; k++)
        vws_cache_pin(s->cache[host], l->image);
}

static struct vws_xfer *
xfer_new(vws_sched *s, const struct new_xfer *n, const char *image)
{
    struct vws_xfer *x = vws_calloc(1, sizeof(*x));

    x->sched = s;
    x->id = ++s->next_xfer_id;
    x->host = n->host;
    x->image = vws_strdup(image);
    x->mb = n->mb;
    x->to_cache = n->to_cache;
    x->deadline = n->deadline;
    x->start = x->end = -1;
    if (s->nxfers == s->capxfers) {
        s->capxfers = s->capxfers ? s->capxfers * 2 : 64;
        s->xfers = vws_reallocarray(s->xfers, s->capxfers, sizeof(*s->xfers));
    }
    s->xfers[s->nxfers++] = x;
    return x;
}

static void
xfer_add_waiter(struct vws_xfer *x, vws_lease *l, int count, vws_time since)
{
    x->w = vws_reallocarray(x->w, x->nw + 1, sizeof(*x->w));
    x->w[x->nw++] = (struct xfer_waiter){ l, count, since };
}

/* Count hits, misses and half-misses (a redundant transfer avoided). */
static void
commit_count(vws_sched *s, vws_lease *l, const struct prep_plan *p)
{
    size_t i;

    for (i = 0; i < p->nu; i++) {
        const struct prep_unit *u = &p->u[i];

        switch (u->kind) {
        case UNIT_HIT:
            l->hits += u->count;
            break;
        case UNIT_ATTACH:
            l->half_misses += u->count;
            break;
        case UNIT_MISS:
            l->misses += 1;
            l->half_misses += u->count - 1;
            break;
        case UNIT_DIRECT:
            if (s->site.cache_policy != VWS_CACHE_NONE) {
                l->misses += 1;
                l->half_misses += u->count - 1;
            }
            break;
        }
    }
    s->stats.hits += (uint64_t)l->hits;
    s->stats.misses += (uint64_t)l->misses;
    s->stats.half_misses += (uint64_t)l->half_misses;
}

/* Commit the plan.  NEED_AT: when the instances are needed; ASAP: the
 * lease is being granted now. */
static void
commit_prep(vws_sched *s, vws_lease *l, struct prep_plan *p, vws_time now,
            vws_time need_at, int asap)
{
    const vws_staging *stg = s->staging;
    vws_time copy = s->site.local_copy;
    size_t i;

    commit_count(s, l, p);
    l->pending = l->nodes;
    for (i = 0; i < p->nu; i++) {
        struct prep_unit *u = &p->u[i];

        switch (u->kind) {
        case UNIT_HIT: {
            vws_time at;

            vws_cache_touch(s->cache[u->host], l->image);
            pin(s, l, u->host, u->count);
            if (asap || stg->inside_lease)
                at = need_at > now ? need_at : now;
            else
                at = need_at - copy > now ? need_at - copy : now;
            start_copy(s, l, u->host, u->count, at, at);
            break;
        }
        case UNIT_ATTACH:
            vws_cache_touch(s->cache[u->host], l->image);
            pin(s, l, u->host, u->count);
            xfer_add_waiter(u->attach, l, u->count, now);
            break;
        case UNIT_MISS:
        case UNIT_DIRECT:
            break;
        }
    }
    for (i = 0; i < p->nnx; i++) {
        struct new_xfer *n = &p->nx[i];
        struct vws_xfer *x = xfer_new(s, n, l->image);
        vws_time dur = vws_site_transfer_time(&s->site, n->mb);

        l->transfers++;
        if (n->to_cache) {
            vws_cache_entry *e;

            if (vws_cache_insert(s->cache[n->host], l->image, (int64_t)n->mb,
                                 NULL, NULL) < 0)
                VWS_WARN("lease %" PRIu64 ": %s", l->id, vws_error_message());
            e = vws_cache_lookup(s->cache[n->host], l->image);
            if (e) {
                e->data = x;
                pin(s, l, n->host, n->count);
            } else {
                x->to_cache = 0;
            }
        }
        xfer_add_waiter(x, l, n->count, now);
        if (n->booked) {
            x->planned_start = n->start;
            x->flexible = !asap;
            if (x->flexible) {
                if (s->nflex == s->capflex) {
                    s->capflex = s->capflex ? s->capflex * 2 : 64;
                    s->flex = vws_reallocarray(s->flex, s->capflex,
                                               sizeof(*s->flex));
                }
                s->flex[s->nflex++] = x;
            }
        } else if (stg->edf) {
            x->planned_start = vws_link_fit(s, n->host, now, dur);
            if (x->planned_start == VWS_TIME_NEVER)
                x->planned_start = now;
        } else if (asap) {
            x->planned_start = now;
        } else {
            x->planned_start = stg->start_time(now, n->deadline, p->total);
        }
        x->planned_end = x->planned_start + dur;
        if (!n->booked)
            vws_xfer_book(s, x);
        else
            x->booked = 1;
        vws_xfer_arm(s, x);
    }
}

/* ------------------------------------------------------------------ */
/* execution */

static void
ev_xfer_done_est(void *arg, uint64_t tag, vws_time now)
{
    struct vws_xfer *x = arg;

    xfer_done(NULL, x, now);
}

static void
ev_xfer_start(void *arg, uint64_t tag, vws_time now)
{
    struct vws_xfer *x = arg;
    vws_sched *s = x->sched;

    if (tag != x->gen || x->state != XFER_PLANNED)
        return;
    x->state = XFER_RUNNING;
    x->flexible = 0;
    x->start = now;
    s->stats.transfers++;
    if (s->hooks.start_transfer)
        s->hooks.start_transfer(s->hooks.ctx, x->id, x->host, x->image, x->mb);
    else if (s->net)
        vws_network_start(s->net, x, x->mb);
    else
        vws_clock_at(s->clock, now + vws_site_transfer_time(&s->site, x->mb),
                     ev_xfer_done_est, x, 0);
}

/* L runs from now: its state and the lease_started hook, once. */
static void
lease_run(vws_sched *s, vws_lease *l)
{
    if (l->state == VWS_LEASE_RUNNING)
        return;
    l->state = VWS_LEASE_RUNNING;
    if (s->hooks.lease_started)
        s->hooks.lease_started(s->hooks.ctx, l);
}

static void
lease_finish(vws_sched *s, vws_lease *l, vws_time now)
{
    vws_time recv;

    if (l->state == VWS_LEASE_DONE)
        return;
    l->state = VWS_LEASE_DONE;
    lease_unbook_all(s, l, 1);
    recv = vws_lease_received(l);
    s->stats.completed++;
    s->stats.vm_time += recv * l->nodes;
    if (l->actual_end > s->stats.last_end)
        s->stats.last_end = l->actual_end;
    if (now > s->stats.last_end)
        s->stats.last_end = now;
    if (s->hooks.lease_done)
        s->hooks.lease_done(s->hooks.ctx, l);
    /* Keep the profiles short on long runs: the past cannot be booked. */
    if ((s->stats.completed & 1023) == 0)
        vws_slottable_forget(s->st, now);
}

struct lease_ev {
    vws_sched *s;
    vws_lease *l;
};

static void
ev_lease_end(void *arg, uint64_t tag, vws_time now)
{
    struct lease_ev *e = arg;
    vws_sched *s = e->s;
    vws_lease *l = e->l;

    if (tag != l->end_gen) {
        free(e);
        return;
    }
    free(e);
    if (l->type == VWS_LEASE_AR) {
        l->actual_end = l->end;
        if (l->ready >= 0 && l->ready < l->end)
            l->actual_start = l->ready > l->start ? l->ready : l->start;
        else
            l->actual_start = -1;
    }
    lease_finish(s, l, now);
    schedule_queue(s);
}

static void
arm_end(vws_sched *s, vws_lease *l, vws_time at)
{
    struct lease_ev *e = vws_malloc(sizeof(*e));

    e->s = s;
    e->l = l;
    l->end_gen++;
    vws_clock_at_owned(s->clock, at, ev_lease_end, e, l->end_gen);
}

static void
ev_lease_start(void *arg, uint64_t tag, vws_time now)
{
    struct lease_ev *e = arg;

    /* An AR_WINDOW lease runs when its event comes, not when its window
     * opens (window_fire). */
    if (e->l->type == VWS_LEASE_AR && e->l->state == VWS_LEASE_ACCEPTED &&
        e->l->ready >= 0)
        lease_run(e->s, e->l);
    free(e);
}

/* AR_WINDOW: the event came at T (or the window closed). */
static void
window_fire(vws_sched *s, vws_lease *l, vws_time t)
{
    vws_time end;

    if (t < l->start)
        t = l->start;
    l->event = t;
    end = t + l->duration;
    l->actual_end = end;
    if (l->ready >= 0)
        l->actual_start = l->ready > t ? l->ready : t;
    /* Give back the rest of the window. */
    if (end < l->booked_end && lease_rebook_vms(s, l, l->booked_start, end) < 0)
        VWS_WARN("lease %" PRIu64 ": cannot shrink its booking", l->id);
    arm_end(s, l, end);
    if (l->ready >= 0)
        lease_run(s, l);
}

static void
ev_window_close(void *arg, uint64_t tag, vws_time now)
{
    struct lease_ev *e = arg;

    if (e->l->event < 0 && e->l->state != VWS_LEASE_DONE)
        window_fire(e->s, e->l, now);
    free(e);
}

int
vws_sched_signal(vws_sched *s, uint64_t lease_id)
{
    vws_time now = vws_clock_now(s->clock);
    vws_lease *l = vws_sched_find(s, lease_id);

    if (!l) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no lease %" PRIu64, lease_id);
        return -1;
    }
    if (l->type != VWS_LEASE_AR_WINDOW || l->event >= 0 ||
        l->state == VWS_LEASE_DONE || l->state == VWS_LEASE_REJECTED) {
        vws_report_error(VWS_ERR_STATE,
                         "lease %" PRIu64 " is not waiting for an event",
                         lease_id);
        return -1;
    }
    window_fire(s, l, now);
    return 0;
}

static void
lease_ready(vws_sched *s, vws_lease *l, vws_time now)
{
    l->ready = now;
    switch (l->type) {
    case VWS_LEASE_AR:
        if (now >= l->start && now < l->end)
            lease_run(s, l);
        break;
    case VWS_LEASE_AR_WINDOW:
        if (l->event >= 0) {
            l->actual_start = now > l->event ? now : l->event;
            if (l->actual_start > l->actual_end)
                l->actual_start = l->actual_end;
            lease_run(s, l);
        }
        break;
    case VWS_LEASE_ASAP:
    case VWS_LEASE_IMMEDIATE: {
        vws_time end = now + l->duration;

        l->actual_start = now;
        s->stats.wait_total += now - l->submit;
        s->stats.waited++;
        if (end != l->booked_end &&
            lease_rebook_vms(s, l, l->booked_start, end) < 0) {
            /* An advance reservation holds the nodes after our booking:
             * it wins, this lease stops at the end of its booking. */
            end = l->booked_end;
            l->cut = 1;
            s->stats.cut++;
        }
        l->actual_end = end;
        arm_end(s, l, end);
        lease_run(s, l);
        schedule_queue(s);
        break;
    }
    }
}

static void
instances_ready(vws_sched *s, vws_lease *l, int count, vws_time since,
                vws_time now)
{
    l->pending -= count;
    l->deployed += count;
    l->deploy_total += (now - since) * count;
    s->stats.instances += (uint64_t)count;
    s->stats.deploy_total += (now - since) * count;
    s->stats.mb_deployed += (double)l->image_mb * count;
    if (s->hooks.deployed)
        s->hooks.deployed(s->hooks.ctx, now, &s->stats);
    if (l->pending == 0)
        lease_ready(s, l, now);
}

static void
xfer_done(void *ctx, void *handle, vws_time now)
{
    struct vws_xfer *x = handle;
    vws_sched *s = x->sched;
    size_t i;

    x->state = XFER_DONE;
    x->end = now;
    s->stats.mb_transferred += x->mb;
    vws_xfer_unbook(s, x);
    if (x->to_cache) {
        vws_cache_entry *e = vws_cache_lookup(s->cache[x->host], x->image);

        if (e && e->data == x) {
            e->ready = 1;
            e->data = NULL;
        }
    }
    for (i = 0; i < x->nw; i++) {
        struct xfer_waiter *w = &x->w[i];
        vws_time since = w->since > x->start ? w->since : x->start;

        if (w->lease->state == VWS_LEASE_DONE) {
            if (x->to_cache) {
                int k;

                for (k = 0; k < w->count; k++)
                    vws_cache_unpin(s->cache[x->host], x->image);
            }
            continue;
        }
        if (x->to_cache)
            start_copy(s, w->lease, x->host, w->count, now, since);
        else
            instances_ready(s, w->lease, w->count, since, now);
    }
}

int
vws_sched_transfer_done(vws_sched *s, uint64_t xfer_id, int ok)
{
    struct vws_xfer *x;
    vws_time now = vws_clock_now(s->clock);

    /* ids are given in creation order from 1: the array index is id - 1 */
    if (xfer_id == 0 || xfer_id > s->nxfers) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no transfer %" PRIu64, xfer_id);
        return -1;
    }
    x = s->xfers[xfer_id - 1];
    if (x->state != XFER_RUNNING) {
        vws_report_error(VWS_ERR_STATE, "transfer %" PRIu64 " is not running",
                         xfer_id);
        return -1;
    }
    if (!ok) {
        VWS_WARN("transfer %" PRIu64 " of '%s' to host %zu failed; retrying",
                 x->id, x->image, x->host);
        x->state = XFER_PLANNED;
        x->planned_start = now;
        vws_xfer_arm(s, x);
        return 0;
    }
    xfer_done(s, x, now);
    return 0;
}

int
vws_sched_check(const vws_sched *s)
{
    size_t i, j;

    if (vws_slottable_check(s->st) < 0)
        return -1;
    for (i = 0; i < s->nleases; i++) {
        const vws_lease *l = s->leases[i];

        if (l->state != VWS_LEASE_ACCEPTED && l->state != VWS_LEASE_RUNNING)
            continue;
        if (l->type != VWS_LEASE_AR && l->type != VWS_LEASE_AR_WINDOW)
            continue;
        /* Only hybrid promises it: naive strategies start late copies
         * inside the lease when their transfers ran late. */
        if (!s->staging->edf || s->site.admit_late || l->restored)
            continue;
        for (j = 0; j < l->nbookings; j++) {
            const struct vws_booking *b = &l->bookings[j];

            if (b->overhead && b->e > l->start) {
                vws_report_error(VWS_ERR_INTERNAL,
                                 "lease %" PRIu64 ": preparation booked until "
                                 "%" PRId64 " inside its time from %" PRId64,
                                 l->id, b->e, l->start);
                return -1;
            }
            if (!b->overhead && b->s > l->start) {
                vws_report_error(VWS_ERR_INTERNAL,
                                 "lease %" PRIu64 ": booked from %" PRId64
                                 ", asked from %" PRId64, l->id, b->s,
                                 l->start);
                return -1;
            }
        }
    }
    for (i = 0; i < s->nxfers; i++) {
        const struct vws_xfer *x = s->xfers[i];

        if (s->staging->edf && !s->site.admit_late &&
            x->state == XFER_PLANNED && x->flexible &&
            x->planned_end > x->deadline) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "transfer %" PRIu64 " planned to end %" PRId64
                             " after its deadline %" PRId64, x->id,
                             x->planned_end, x->deadline);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* admission */

static vws_lease *
lease_register(vws_sched *s, const vws_lease_request *r, vws_time now)
{
    vws_lease *l = vws_lease_new(s->nleases + 1, r, now);

    if (s->nleases == s->capleases) {
        s->capleases = s->capleases ? s->capleases * 2 : 64;
        s->leases = vws_reallocarray(s->leases, s->capleases, sizeof(*s->leases));
    }
    s->leases[s->nleases++] = l;
    s->stats.submitted++;
    if (s->stats.first_submit < 0)
        s->stats.first_submit = now;
    return l;
}

static void
reject(vws_sched *s, vws_lease *l)
{
    l->state = VWS_LEASE_REJECTED;
    s->stats.rejected++;
    VWS_DEBUG("lease %" PRIu64 " rejected: %s", l->id, l->reason);
    if (s->hooks.lease_done)
        s->hooks.lease_done(s->hooks.ctx, l);
}

/* Admit an AR or AR_WINDOW lease now, or reject it with a reason.
 * FIXED (vws_sched_restore): L->host is given and known to fit from
 * max(start, now); preparation that cannot be on time is admitted late. */
static void
admit_ar(vws_sched *s, vws_lease *l, vws_time now, int fixed)
{
    vws_time bs = l->start;
    vws_time be = l->type == VWS_LEASE_AR ? l->end : l->end + l->duration;
    vws_time copy = s->site.local_copy;
    int late_ok = s->site.admit_late || fixed;
    vws_time need_by;
    struct prep_plan p;
    size_t i;

    if (fixed && bs < now)
        bs = now;
    if (bs < now) {
        snprintf(l->reason, sizeof(l->reason),
                 "start %.3f s is in the past (now %.3f s)",
                 (double)bs / 1000.0, (double)now / 1000.0);
        reject(s, l);
        return;
    }
    if (!fixed && vws_place(s, l, bs, be) < 0) {
        reject(s, l);
        return;
    }
    plan_prep(s, l, bs, &p);
    need_by = bs - (s->site.cache_policy != VWS_CACHE_NONE ? copy : 0);
    if (!s->staging->inside_lease) {
        /* A hit needs its copy done by the start too. */
        for (i = 0; i < p.nu; i++)
            if (p.u[i].kind == UNIT_HIT && now + copy > bs && !late_ok) {
                snprintf(l->reason, sizeof(l->reason),
                         "the local copy needs %.1f s but the lease starts "
                         "in %.1f s", (double)copy / 1000.0,
                         (double)(bs - now) / 1000.0);
                goto refuse;
            }
    }
    if (s->staging->edf) {
        vws_time late = 0, *saved = vws_calloc(p.nu + 1, sizeof(*saved));
        int r;

        /* Transfers this lease will wait for must now also be in time for
         * it: lower their deadlines for the plan, put them back if the
         * plan fails. */
        for (i = 0; i < p.nu; i++)
            if (p.u[i].kind == UNIT_ATTACH && p.u[i].attach->flexible) {
                saved[i] = p.u[i].attach->deadline;
                if (bs - copy < p.u[i].attach->deadline)
                    p.u[i].attach->deadline = bs - copy;
            }
        r = vws_edf_plan(s, now, p.nx, p.nnx, &late);
        if (r < 0)
            for (i = 0; i < p.nu; i++)
                if (p.u[i].kind == UNIT_ATTACH && p.u[i].attach->flexible)
                    p.u[i].attach->deadline = saved[i];
        free(saved);
        /* Restored: its transfers go after the plan (commit_prep books
         * them where the link is free), late rather than refused and
         * without moving anyone else's. */
        if (r < 0 && fixed)
            r = 0;
        if (r < 0) {
            if (late == VWS_TIME_NEVER)
                snprintf(l->reason, sizeof(l->reason),
                         "preparation cannot be booked on the link");
            else
                snprintf(l->reason, sizeof(l->reason),
                         "preparation overhead cannot be honoured: image "
                         "transfers would finish %.3f s late", (double)late / 1000.0);
            goto refuse;
        }
    } else if (p.nnx && !late_ok &&
               s->staging->admit(s, l, now, need_by, p.total) < 0) {
        goto refuse;
    }
    if (lease_book_vms(s, l, bs, be) < 0) {
        snprintf(l->reason, sizeof(l->reason), "internal: %s",
                 vws_error_message());
        lease_unbook_all(s, l, 0);
        goto refuse;
    }
    l->state = VWS_LEASE_ACCEPTED;
    l->granted = now;
    s->stats.accepted++;
    commit_prep(s, l, &p, now, bs, 0);
    plan_release(&p);
    {
        struct lease_ev *e = vws_malloc(sizeof(*e));

        e->s = s;
        e->l = l;
        vws_clock_at_owned(s->clock, bs, ev_lease_start, e, 0);
    }
    if (l->type == VWS_LEASE_AR) {
        arm_end(s, l, l->end);
    } else {
        struct lease_ev *e = vws_malloc(sizeof(*e));

        e->s = s;
        e->l = l;
        vws_clock_at_owned(s->clock, l->end, ev_window_close, e, 0);
    }
    return;
refuse:
    if (s->staging->edf && p.nnx) {
        /* vws_edf_plan() left nothing booked on failure; on a later
         * refusal (never expected) give back what it booked. */
        for (i = 0; i < p.nnx; i++)
            if (p.nx[i].booked) {
                vws_demand dl = { { 1, 0, 0, 0 } }, dh = { { 0, 0, 0, 1 } };
                vws_time dur = vws_site_transfer_time(&s->site, p.nx[i].mb);

                vws_slottable_release(s->st, VWS_LINK, p.nx[i].start,
                                      p.nx[i].start + dur, &dl);
                vws_slottable_release(s->st, p.nx[i].host, p.nx[i].start,
                                      p.nx[i].start + dur, &dh);
            }
    }
    plan_release(&p);
    reject(s, l);
}

/* How long L's preparation may take if granted now; its booking is made
 * that long, then fitted to the real end when its images are ready.
 *
 * hybrid: exact — its transfers are booked one after another on the link
 * after what is already there.  Otherwise the link is shared fairly and
 * more leases may start transfers meanwhile, so the estimate is the
 * current flows plus its own, with room for as many again (at least 16,
 * at most every VM slot of the site — a true bound on small sites like
 * the paper's).  If the images still arrive later, the booking grows; if
 * an advance reservation is in the way, the lease is cut (counted). */
static vws_time
asap_prep_estimate(vws_sched *s, const vws_lease *l)
{
    double slots = (double)s->site.hosts * (double)s->site.vms_per_host;
    vws_time t = 0, one = vws_site_transfer_time(&s->site, (double)l->image_mb);

    if (s->staging->edf) {
        vws_demand dl = { { 1, 0, 0, 0 } };
        vws_time now = vws_clock_now(s->clock), at = now;
        int k;

        for (k = 0; k < l->nodes && one > 0; k++) {
            at = vws_slottable_earliest(s->st, VWS_LINK, at, one, &dl);
            if (at == VWS_TIME_NEVER)
                break;
            at += one;
        }
        t = at == VWS_TIME_NEVER ? one * l->nodes : at - now;
    } else if (s->net) {
        double flows = 2.0 * ((double)vws_network_active(s->net) + l->nodes);

        if (flows < 16)
            flows = 16;
        if (flows > slots)
            flows = slots;
        if (flows < l->nodes)
            flows = l->nodes;
        t = vws_site_transfer_time(&s->site, (double)l->image_mb * flows);
    } else {
        t = one;
    }
    if (s->site.cache_policy != VWS_CACHE_NONE)
        t += s->site.local_copy;
    return t;
}

/* Failed grants of one queue pass: a lease needing at least as many
 * nodes until at least as late cannot be granted either (grants only
 * take room), so it is not placed again. */
#define MEMO_MAX 16
struct grant_memo {
    int nodes[MEMO_MAX];
    vws_time until[MEMO_MAX];
    int n;
};

static int
memo_dominated(const struct grant_memo *m, int nodes, vws_time until)
{
    int i;

    for (i = 0; m && i < m->n; i++)
        if (nodes >= m->nodes[i] && until >= m->until[i])
            return 1;
    return 0;
}

static void
memo_add(struct grant_memo *m, int nodes, vws_time until)
{
    if (!m)
        return;
    if (m->n == MEMO_MAX)
        m->n--;                /* keep the first ones: the smallest asks */
    m->nodes[m->n] = nodes;
    m->until[m->n] = until;
    m->n++;
}

/* Try to grant an ASAP/IMMEDIATE lease now.  0 if granted, -1 if not. */
static int
try_grant(vws_sched *s, vws_lease *l, vws_time now, struct grant_memo *memo)
{
    vws_time be = now + asap_prep_estimate(s, l) + l->duration;
    struct prep_plan p;
    vws_demand one;

    if (memo_dominated(memo, l->nodes, be))
        return -1;

    /* The site's sum at this instant first: O(log n), often enough to say
     * no (over the whole interval the sum has too many steps to walk). */
    vws_lease_demand(s, l, &one);
    if (vws_slottable_count_fit(s->st, VWS_SITE, now, now + 1, &one,
                                l->nodes) < l->nodes)
        return -1;
    if (vws_place(s, l, now, be) < 0) {
        memo_add(memo, l->nodes, be);
        return -1;
    }
    if (lease_book_vms(s, l, now, be) < 0) {
        lease_unbook_all(s, l, 0);
        return -1;
    }
    l->state = VWS_LEASE_ACCEPTED;
    l->granted = now;
    l->reason[0] = '\0';
    s->stats.accepted++;
    plan_prep(s, l, now, &p);
    commit_prep(s, l, &p, now, now, 1);
    plan_release(&p);
    return 0;
}

/* The earliest time the head of the queue could be granted, with its
 * hosts in L->host; VWS_TIME_NEVER if never. */
static vws_time
shadow_time(vws_sched *s, vws_lease *l, vws_time now, vws_time len)
{
    vws_time t = now;
    vws_demand one;
    int iter, deep = 0;

    vws_lease_demand(s, l, &one);
    /* Candidate times are the changes of the site's sum; the sum's free
     * room at t is checked first (O(log n)), the hosts only when it allows.
     * Bounded (256 changes, 2 looks at the hosts): past that the head
     * gets no shadow and nothing is backfilled (never delaying it),
     * rather than scanning on. */
    for (iter = 0; iter < 256 && t != VWS_TIME_NEVER; iter++) {
        if (vws_slottable_count_fit(s->st, VWS_SITE, t, t + 1, &one,
                                    l->nodes) >= l->nodes) {
            if (++deep > 2)
                break;
            if (vws_place(s, l, t, t + len) == 0)
                return t;
        }
        t = vws_slottable_next_change(s->st, VWS_SITE, t);
    }
    return VWS_TIME_NEVER;
}

static void
queue_remove(vws_sched *s, size_t i)
{
    memmove(s->queue + i, s->queue + i + 1,
            (s->nqueue - i - 1) * sizeof(*s->queue));
    s->nqueue--;
}

/* VM slots free at NOW over the whole site: a necessary condition for
 * granting anything now (a cheap filter before placement). */
static int64_t
free_now(vws_sched *s, vws_time now)
{
    vws_demand one = { { 1, 0, 0, 0 } };

    return vws_slottable_count_fit(s->st, VWS_SITE, now, now + 1, &one,
                                   (int64_t)s->site.hosts * s->site.vms_per_host);
}

/* How far down the queue backfilling looks (as Maui's BACKFILLDEPTH):
 * bounds the cost of a pass when thousands of leases wait. */
#define BACKFILL_DEPTH 128

/* Grant what the queue allows now: the head if it fits, else book the
 * head's earliest slot tentatively and backfill the others around it
 * (EASY backfilling: nothing may delay the head). */
static void
schedule_queue(vws_sched *s)
{
    vws_time now = vws_clock_now(s->clock);
    vws_lease *head;
    vws_time len, shadow;
    struct grant_memo memo = { .n = 0 };
    int64_t room;
    size_t i, looked;

    /* Nothing was given back and nobody new came: the last pass stands. */
    if (s->scheduling || !s->nqueue || !s->dirty)
        return;
    s->scheduling = 1;
    s->dirty = 0;
    room = free_now(s, now);
    while (s->nqueue && s->queue[0]->nodes <= room &&
           try_grant(s, s->queue[0], now, NULL) == 0) {
        room -= s->queue[0]->nodes;
        queue_remove(s, 0);
    }
    if (s->nqueue > 1 && room > 0) {
        int have_shadow = 0;

        head = s->queue[0];
        shadow = VWS_TIME_NEVER;
        for (i = 1, looked = 0; i < s->nqueue && room > 0 &&
                                looked < BACKFILL_DEPTH; looked++) {
            vws_lease *l = s->queue[i];

            if (l->nodes > room) {
                i++;
                continue;
            }
            /* The head's shadow booking, made when the first candidate
             * shows up (most passes of a busy site have none). */
            if (!have_shadow) {
                have_shadow = 1;
                len = asap_prep_estimate(s, head) + head->duration;
                shadow = shadow_time(s, head, now, len);
                if (shadow != VWS_TIME_NEVER &&
                    lease_book_vms(s, head, shadow, shadow + len) < 0)
                    shadow = VWS_TIME_NEVER;
                if (shadow == VWS_TIME_NEVER)
                    break;
            }
            if (try_grant(s, l, now, &memo) == 0) {
                room -= l->nodes;
                queue_remove(s, i);
            } else {
                i++;
            }
        }
        if (shadow != VWS_TIME_NEVER)
            lease_unbook_all(s, head, 0);
        head->booked_start = head->booked_end = -1;
    }
    s->scheduling = 0;
}

vws_lease *
vws_sched_submit(vws_sched *s, const vws_lease_request *r)
{
    vws_time now = vws_clock_now(s->clock);
    vws_lease *l;

    if (vws_lease_request_check(r) < 0)
        return NULL;
    if (r->nodes > (int64_t)s->site.hosts * s->site.vms_per_host ||
        (r->mem_mb > s->site.memory_mb && s->site.memory_mb > 0) ||
        (r->cpu_pct > s->site.cpu_pct && s->site.cpu_pct > 0)) {
        l = lease_register(s, r, now);
        snprintf(l->reason, sizeof(l->reason),
                 "larger than the site: %d nodes of %lld MB, %lld%% CPU",
                 r->nodes, (long long)r->mem_mb, (long long)r->cpu_pct);
        reject(s, l);
        return l;
    }
    l = lease_register(s, r, now);
    switch (l->type) {
    case VWS_LEASE_AR:
    case VWS_LEASE_AR_WINDOW:
        admit_ar(s, l, now, 0);
        break;
    case VWS_LEASE_IMMEDIATE:
        if (s->nqueue || try_grant(s, l, now, NULL) < 0) {
            snprintf(l->reason, sizeof(l->reason),
                     "no room now for %d nodes%s", l->nodes,
                     s->nqueue ? " (ASAP leases are queued)" : "");
            reject(s, l);
        }
        break;
    case VWS_LEASE_ASAP:
        if (too_big_for_available(s, l)) {
            reject(s, l);
            break;
        }
        l->state = VWS_LEASE_QUEUED;
        if (s->nqueue == s->capqueue) {
            s->capqueue = s->capqueue ? s->capqueue * 2 : 64;
            s->queue = vws_reallocarray(s->queue, s->capqueue, sizeof(*s->queue));
        }
        s->queue[s->nqueue++] = l;
        s->dirty = 1;
        schedule_queue(s);
        break;
    }
    return l;
}

void
vws_sched_compact(vws_sched *s)
{
    vws_slottable_forget(s->st, vws_clock_now(s->clock));
}

/* ------------------------------------------------------------------ */
/* control from a driver: cancel, host availability, restore, queries */

vws_lease *
vws_sched_find(const vws_sched *s, uint64_t lease_id)
{
    /* ids are given in registration order from 1 */
    if (lease_id == 0 || lease_id > s->nleases)
        return NULL;
    return s->leases[lease_id - 1];
}

static int
xfer_serves(const struct vws_xfer *x, const vws_lease *l)
{
    size_t i;

    for (i = 0; i < x->nw; i++)
        if (x->w[i].lease == l)
            return 1;
    return 0;
}

/* Drop the transfers not yet started that served only leases now done
 * (L among them): their link and I/O bookings and their cache entries. */
static void
drop_unneeded_xfers(vws_sched *s, const vws_lease *l)
{
    size_t i, j;

    for (i = 0; i < s->nxfers; i++) {
        struct vws_xfer *x = s->xfers[i];
        int needed = 0;

        if (x->state != XFER_PLANNED || !xfer_serves(x, l))
            continue;
        for (j = 0; j < x->nw; j++)
            if (x->w[j].lease->state != VWS_LEASE_DONE)
                needed = 1;
        if (needed)
            continue;
        vws_xfer_unbook(s, x);
        x->state = XFER_DONE;
        x->flexible = 0;
        if (x->to_cache) {
            vws_cache_entry *e = vws_cache_lookup(s->cache[x->host], x->image);

            if (e && e->data == x)
                vws_cache_remove(s->cache[x->host], x->image);
        }
    }
}

int
vws_sched_cancel(vws_sched *s, uint64_t lease_id)
{
    vws_time now = vws_clock_now(s->clock);
    vws_lease *l = vws_sched_find(s, lease_id);
    size_t i;

    if (!l) {
        vws_report_error(VWS_ERR_NOT_FOUND, "no lease %" PRIu64, lease_id);
        return -1;
    }
    switch (l->state) {
    case VWS_LEASE_QUEUED:
        for (i = 0; i < s->nqueue; i++)
            if (s->queue[i] == l) {
                queue_remove(s, i);
                break;
            }
        break;
    case VWS_LEASE_ACCEPTED:
        l->actual_start = l->actual_end = -1;
        break;
    case VWS_LEASE_RUNNING:
        if (l->type == VWS_LEASE_AR)
            l->actual_start = l->ready > l->start ? l->ready : l->start;
        l->actual_end = now;
        break;
    default:
        vws_report_error(VWS_ERR_STATE, "lease %" PRIu64 " is %s",
                         lease_id, vws_lease_state_name(l->state));
        return -1;
    }
    l->cancelled = 1;
    l->end_gen++;              /* its end event goes stale */
    lease_finish(s, l, now);
    drop_unneeded_xfers(s, l);
    schedule_queue(s);
    return 0;
}

/* How many nodes of L the available hosts could hold at once, empty. */
static int64_t
available_room(const vws_sched *s, const vws_lease *l)
{
    vws_demand one;
    int64_t total = 0;
    size_t h;
    int k;

    vws_lease_demand(s, l, &one);
    for (h = 0; h < s->site.hosts; h++) {
        const vws_demand *cap = vws_slottable_capacity(s->st, h);
        int64_t n = INT64_MAX;

        if (s->ndown && s->down[h])
            continue;
        for (k = 0; k < VWS_NDIMS; k++)
            if (cap->v[k] > 0 && one.v[k] > 0 && cap->v[k] / one.v[k] < n)
                n = cap->v[k] / one.v[k];
        total += n;
        if (total >= l->nodes)
            break;
    }
    return total;
}

static int
too_big_for_available(vws_sched *s, vws_lease *l)
{
    int64_t room;

    if (!s->ndown)
        return 0;
    room = available_room(s, l);
    if (room >= l->nodes)
        return 0;
    snprintf(l->reason, sizeof(l->reason),
             "no room on the available hosts: %d nodes needed, %lld fit on "
             "the %zu hosts in service", l->nodes, (long long)room,
             s->site.hosts - s->ndown);
    return 1;
}

int
vws_sched_set_host_available(vws_sched *s, size_t host, int available)
{
    size_t i;

    if (host >= s->site.hosts) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no host %zu (the site has %zu)",
                         host, s->site.hosts);
        return -1;
    }
    if (!s->down)
        s->down = vws_calloc(s->site.hosts, 1);
    if (!available == !!s->down[host])
        return 0;
    s->down[host] = !available;
    if (available) {
        s->ndown--;
        s->dirty = 1;
        schedule_queue(s);
        return 0;
    }
    s->ndown++;
    for (i = 0; i < s->nqueue;) {
        vws_lease *l = s->queue[i];

        if (too_big_for_available(s, l)) {
            queue_remove(s, i);
            reject(s, l);
        } else {
            i++;
        }
    }
    return 0;
}

int
vws_sched_host_available(const vws_sched *s, size_t host)
{
    return host < s->site.hosts && !(s->ndown && s->down[host]);
}

/* Do L's nodes fit on L->host over [bs, be)?  1, or 0 with a reason. */
static int
fixed_fits(vws_sched *s, vws_lease *l, vws_time bs, vws_time be)
{
    vws_demand one, d;
    size_t i, j;
    int k;

    vws_lease_demand(s, l, &one);
    for (i = 0; i < (size_t)l->nodes; i++) {
        int count = 0, seen = 0;

        for (j = 0; j < i; j++)
            if (l->host[j] == l->host[i])
                seen = 1;
        if (seen)
            continue;
        for (j = i; j < (size_t)l->nodes; j++)
            if (l->host[j] == l->host[i])
                count++;
        for (k = 0; k < VWS_NDIMS; k++)
            d.v[k] = one.v[k] * count;
        if (!vws_slottable_fits(s->st, l->host[i], bs, be, &d)) {
            snprintf(l->reason, sizeof(l->reason),
                     "no room any more on host %zu for %d nodes over "
                     "[%.3f s, %.3f s)", l->host[i], count,
                     (double)bs / 1000.0, (double)be / 1000.0);
            return 0;
        }
    }
    return 1;
}

vws_lease *
vws_sched_restore(vws_sched *s, const vws_lease_request *r,
                  const size_t *hosts)
{
    vws_time now = vws_clock_now(s->clock);
    vws_time bs, be;
    vws_lease *l;
    size_t i;

    if (vws_lease_request_check(r) < 0)
        return NULL;
    if (r->type != VWS_LEASE_AR && r->type != VWS_LEASE_AR_WINDOW) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "only an advance reservation can be restored "
                         "(give a started lease as AR at its booked times)");
        return NULL;
    }
    for (i = 0; i < (size_t)r->nodes; i++)
        if (hosts[i] >= s->site.hosts) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "node %zu on host %zu: the site has %zu hosts",
                             i, hosts[i], s->site.hosts);
            return NULL;
        }
    l = lease_register(s, r, now);
    l->restored = 1;
    memcpy(l->host, hosts, (size_t)r->nodes * sizeof(*hosts));
    bs = l->start > now ? l->start : now;
    be = l->type == VWS_LEASE_AR ? l->end : l->end + l->duration;
    if (be <= now) {
        snprintf(l->reason, sizeof(l->reason),
                 "its time ended at %.3f s (now %.3f s)", (double)be / 1000.0,
                 (double)now / 1000.0);
        reject(s, l);
        return l;
    }
    if (!fixed_fits(s, l, bs, be)) {
        reject(s, l);
        return l;
    }
    if (l->type == VWS_LEASE_AR_WINDOW || l->start > now) {
        admit_ar(s, l, now, 1);
        return l;
    }
    /* An AR running since its start: its VMs are on the hosts. */
    if (lease_book_vms(s, l, bs, be) < 0) {
        lease_unbook_all(s, l, 0);
        snprintf(l->reason, sizeof(l->reason), "internal: %s",
                 vws_error_message());
        reject(s, l);
        return l;
    }
    l->granted = now;
    l->ready = l->start;
    s->stats.accepted++;
    if (s->site.cache_policy != VWS_CACHE_NONE)
        for (i = 0; i < (size_t)l->nodes; i++)
            if (!vws_cache_lookup(s->cache[l->host[i]], l->image) &&
                vws_cache_can_insert(s->cache[l->host[i]], l->image_mb) &&
                vws_cache_insert(s->cache[l->host[i]], l->image, l->image_mb,
                                 NULL, NULL) == 0)
                vws_cache_set_ready(s->cache[l->host[i]], l->image);
    l->state = VWS_LEASE_RUNNING;      /* already started: no hook */
    arm_end(s, l, l->end);
    return l;
}

size_t
vws_sched_lease_staging(const vws_sched *s, uint64_t lease_id,
                        vws_sched_staging *out, size_t max)
{
    const vws_lease *l = vws_sched_find(s, lease_id);
    size_t i, n = 0;

    if (!l)
        return 0;
    for (i = 0; i < s->nxfers; i++) {
        const struct vws_xfer *x = s->xfers[i];

        if (!xfer_serves(x, l))
            continue;
        if (n < max) {
            vws_sched_staging *o = &out[n];

            o->xfer = x->id;
            o->host = x->host;
            o->image = x->image;
            o->mb = x->mb;
            o->start = x->start >= 0 ? x->start : x->planned_start;
            o->end = x->end >= 0 ? x->end : x->planned_end;
            o->running = x->state == XFER_RUNNING;
            o->done = x->state == XFER_DONE;
        }
        n++;
    }
    return n;
}
