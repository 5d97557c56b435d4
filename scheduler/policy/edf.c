/*
 * policy/edf.c — the hybrid strategy's plan of the image link (seed 000
 * §4.2.1: "transfers with loose deadlines can give way to transfers with
 * tighter deadlines ... actually scheduling a resource slot for the
 * preparation overhead").
 *
 * The link is booked one transfer at a time.  Transfers not yet started
 * are "flexible": each admission takes them all off the link, adds the
 * new lease's, sorts them by deadline (the time the image must be on the
 * host: lease start, minus the local copy when it goes through the cache)
 * and books each at the earliest time the link and the host's I/O are
 * free.  If one would finish after its deadline the old plan is put back
 * and the lease is refused (or, with admit_late, admitted late).  A moved
 * transfer gets a new start event; the old one goes stale by generation.
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "scheduler/sched-priv.h"
#include "internal.h"

struct edf_item {
    struct vws_xfer *x;    /* existing, or NULL for new */
    size_t ni;             /* index into nx for new */
    size_t host;
    double mb;
    vws_time deadline;
    uint64_t seq;
    vws_time start;
};

static int
edf_cmp(const void *a, const void *b)
{
    const struct edf_item *x = a, *y = b;

    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

vws_time
vws_link_fit(vws_sched *s, size_t host, vws_time from, vws_time dur)
{
    vws_demand dl, dh;
    vws_time t = from;
    int i;

    vws_xfer_demand(&dl, 1);
    vws_xfer_demand(&dh, 0);
    for (i = 0; i < 100000; i++) {
        vws_time a = vws_slottable_earliest(s->st, VWS_LINK, t, dur, &dl);
        vws_time b;

        if (a == VWS_TIME_NEVER)
            return a;
        b = vws_slottable_earliest(s->st, host, a, dur, &dh);
        if (b == a || b == VWS_TIME_NEVER)
            return b;
        t = b;
    }
    return VWS_TIME_NEVER;
}

int
vws_edf_plan(vws_sched *s, vws_time now, struct new_xfer *nx, size_t n,
             vws_time *late_by)
{
    struct edf_item *it = NULL;
    size_t ni = 0, i, done = 0;
    vws_demand dl, dh;
    int ret = -1;

    *late_by = 0;
    /* Drop transfers that started since the last plan. */
    for (i = 0, ni = 0; i < s->nflex; i++)
        if (s->flex[i]->state == XFER_PLANNED && s->flex[i]->flexible)
            s->flex[ni++] = s->flex[i];
    s->nflex = ni;
    ni = 0;
    it = vws_calloc(s->nflex + n + 1, sizeof(*it));
    for (i = 0; i < s->nflex; i++) {
        struct vws_xfer *x = s->flex[i];

        it[ni++] = (struct edf_item){ x, 0, x->host, x->mb, x->deadline,
                                      x->id, 0 };
        vws_xfer_unbook(s, x);
    }
    for (i = 0; i < n; i++)
        it[ni++] = (struct edf_item){ NULL, i, nx[i].host, nx[i].mb,
                                      nx[i].deadline,
                                      s->next_xfer_id + i + 1, 0 };
    qsort(it, ni, sizeof(*it), edf_cmp);
    vws_xfer_demand(&dl, 1);
    vws_xfer_demand(&dh, 0);
    for (done = 0; done < ni; done++) {
        vws_time dur = vws_site_transfer_time(&s->site, it[done].mb);
        vws_time t = vws_link_fit(s, it[done].host, now, dur);

        if (t == VWS_TIME_NEVER ||
            (t + dur > it[done].deadline && !s->site.admit_late)) {
            *late_by = t == VWS_TIME_NEVER ? VWS_TIME_NEVER
                                           : t + dur - it[done].deadline;
            goto undo;
        }
        vws_slottable_book(s->st, VWS_LINK, t, t + dur, &dl);
        vws_slottable_book(s->st, it[done].host, t, t + dur, &dh);
        it[done].start = t;
    }
    for (i = 0; i < ni; i++) {
        vws_time dur = vws_site_transfer_time(&s->site, it[i].mb);

        if (it[i].x) {
            struct vws_xfer *x = it[i].x;
            int moved = x->planned_start != it[i].start;

            x->planned_start = it[i].start;
            x->planned_end = it[i].start + dur;
            x->deadline = it[i].deadline;
            x->booked = 1;
            if (moved)
                vws_xfer_arm(s, x);
        } else {
            nx[it[i].ni].start = it[i].start;
            nx[it[i].ni].booked = 1;
        }
    }
    ret = 0;
    goto out;
undo:
    for (i = 0; i < done; i++) {
        vws_time dur = vws_site_transfer_time(&s->site, it[i].mb);

        vws_slottable_release(s->st, VWS_LINK, it[i].start, it[i].start + dur, &dl);
        vws_slottable_release(s->st, it[i].host, it[i].start, it[i].start + dur, &dh);
    }
    for (i = 0; i < ni; i++)
        if (it[i].x)
            vws_xfer_book(s, it[i].x);
out:
    free(it);
    return ret;
}

