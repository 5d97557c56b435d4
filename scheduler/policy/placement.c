/*
 * policy/placement.c — which hosts get a lease's nodes.
 *
 * Hosts are looked at from a cursor that moves round the site with every
 * lease.  The look stops when hosts caching the template offer room for
 * twice the nodes, or when PLACE_WINDOW hosts were seen and there is room
 * enough anyway; so a big site costs a bounded number of queries per lease
 * unless it is nearly full.  Candidates are ranked: template cached and
 * ready, then being received, then not cached; among equals more room
 * first (a lease's nodes land together and share one transfer), then the
 * order found.  Nodes are handed out greedily in that order.  Hosts made
 * unavailable (vws_sched_set_host_available) are skipped.
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
    size_t order;
};

static int
cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->score != y->score)
        return y->score - x->score;
    if (x->room != y->room)
        return x->room > y->room ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void
vws_lease_demand(const vws_sched *s, const vws_lease *l, vws_demand *d)
{
    d->v[VWS_DIM_VMS] = 1;
    d->v[VWS_DIM_MEM] = l->mem_mb;
    d->v[VWS_DIM_CPU] = l->cpu_pct;
    d->v[VWS_DIM_IO] = 0;
}

/* Stop looking once this many hosts were seen and there is room enough. */
#define PLACE_WINDOW 64

int
vws_place(vws_sched *s, vws_lease *l, vws_time bs, vws_time be)
{
    size_t nh = s->site.hosts, i, nc = 0, start;
    struct cand *c = vws_malloc(nh * sizeof(*c));
    vws_demand d;
    int64_t total = 0, best = 0, want;
    int left = l->nodes, k = 0;
    uint64_t hash = vws_cache_hash(l->image);

    vws_lease_demand(s, l, &d);
    want = 2 * (int64_t)l->nodes;
    start = s->place_cursor % nh;
    for (i = 0; i < nh; i++) {
        size_t h = (start + i) % nh;
        vws_cache_entry *e;
        int64_t room;
        int score;

        if (best >= want || (total >= l->nodes && i >= PLACE_WINDOW))
            break;
        if (s->ndown && s->down[h])
            continue;
        room = vws_slottable_count_fit(s->st, h, bs, be, &d, l->nodes);
        if (room <= 0)
            continue;
        e = vws_cache_lookup_hashed(s->cache[h], l->image, hash);
        score = e ? (e->ready ? 2 : 1) : 0;
        c[nc] = (struct cand){ h, score, room, nc };
        nc++;
        total += room;
        if (score == 2)
            best += room;
    }
    if (total < l->nodes) {
        snprintf(l->reason, sizeof(l->reason),
                 "no room: %d nodes needed, %lld free over the interval",
                 l->nodes, (long long)total);
        free(c);
        return -1;
    }
    s->place_cursor = start + i;
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
