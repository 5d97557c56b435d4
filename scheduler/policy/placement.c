/*
 * policy/placement.c — which hosts get a lease's nodes.
 *
 * Every host with room over the booked interval is a candidate.  Hosts
 * whose cache already holds the template come first, then hosts that are
 * receiving it, then the rest; among equals, the host with more room (so a
 * lease's nodes land together and share one transfer), then the lower
 * index (deterministic).  Nodes are handed out greedily in that order.
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "scheduler/sched-priv.h"
#include "internal.h"

struct cand {
    size_t host;
    int score;
    int64_t room;
};

static int
cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->score != y->score)
        return y->score - x->score;
    if (x->room != y->room)
        return x->room > y->room ? -1 : 1;
    return x->host < y->host ? -1 : x->host > y->host;
}

void
vws_lease_demand(const vws_sched *s, const vws_lease *l, vws_demand *d)
{
    d->v[VWS_DIM_VMS] = 1;
    d->v[VWS_DIM_MEM] = l->mem_mb;
    d->v[VWS_DIM_CPU] = l->cpu_pct;
    d->v[VWS_DIM_IO] = 0;
}

int
vws_place(vws_sched *s, vws_lease *l, vws_time bs, vws_time be)
{
    size_t nh = s->site.hosts, i, nc = 0;
    struct cand *c = vws_malloc(nh * sizeof(*c));
    vws_demand d;
    int64_t total = 0;
    int left = l->nodes, k = 0;

    vws_lease_demand(s, l, &d);
    for (i = 0; i < nh; i++) {
        int64_t room = vws_slottable_count_fit(s->st, i, bs, be, &d, l->nodes);
        vws_cache_entry *e;
        int score = 0;

        if (room <= 0)
            continue;
        e = vws_cache_lookup(s->cache[i], l->image);
        if (e)
            score = e->ready ? 2 : 1;
        c[nc++] = (struct cand){ i, score, room };
        total += room;
    }
    if (total < l->nodes) {
        snprintf(l->reason, sizeof(l->reason),
                 "no room: %d nodes needed, %lld free over the interval",
                 l->nodes, (long long)total);
        free(c);
        return -1;
    }
    qsort(c, nc, sizeof(*c), cand_cmp);
    for (i = 0; i < nc && left > 0; i++) {
        int64_t take = c[i].room < left ? c[i].room : left;

        while (take-- > 0) {
            l->host[k++] = c[i].host;
            left--;
        }
    }
    free(c);
    return 0;
}
