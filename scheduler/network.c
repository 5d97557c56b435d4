/*
 * network.c — fair bandwidth sharing on one link (see network.h).
 *
 * State is the remaining MB of each running transfer and the time it was
 * last brought up to date.  Any change (a start, a completion) first
 * advances every transfer by elapsed × bandwidth / n, then schedules one
 * clock event for the next completion.  Events carry a generation number:
 * a later change makes earlier events stale and they do nothing.
 */
#define VWS_MODULE "network"
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "internal.h"

struct flow {
    void *handle;
    double remaining;
};

struct vws_network {
    vws_clock *clock;
    double rate;             /* MB per ms */
    vws_network_done_fn done;
    void *ctx;
    struct flow *f;
    size_t n, cap;
    vws_time updated;
    uint64_t gen;
    double delivered;
};

vws_network *
vws_network_new(vws_clock *clock, double mb_per_s, vws_network_done_fn done,
                void *ctx)
{
    vws_network *n = vws_calloc(1, sizeof(*n));

    n->clock = clock;
    n->rate = mb_per_s / 1000.0;
    n->done = done;
    n->ctx = ctx;
    n->updated = vws_clock_now(clock);
    return n;
}

void
vws_network_free(vws_network *n)
{
    if (!n)
        return;
    free(n->f);
    free(n);
}

static void
advance(vws_network *n, vws_time now)
{
    double each;
    size_t i;

    if (n->n && now > n->updated) {
        each = (double)(now - n->updated) * n->rate / (double)n->n;
        for (i = 0; i < n->n; i++) {
            double moved = each < n->f[i].remaining ? each : n->f[i].remaining;

            n->f[i].remaining -= each;
            n->delivered += moved;
        }
    }
    n->updated = now;
}

static void on_event(void *arg, uint64_t tag, vws_time now);

static void
reschedule(vws_network *n)
{
    double least = INFINITY;
    vws_time dt;
    size_t i;

    n->gen++;
    if (!n->n)
        return;
    for (i = 0; i < n->n; i++)
        if (n->f[i].remaining < least)
            least = n->f[i].remaining;
    if (least < 0)
        least = 0;
    dt = (vws_time)ceil(least * (double)n->n / n->rate - 1e-6);
    vws_clock_at(n->clock, n->updated + dt, on_event, n, n->gen);
}

static void
on_event(void *arg, uint64_t tag, vws_time now)
{
    vws_network *n = arg;
    void **finished = NULL;
    size_t nfin = 0, i, j;

    if (tag != n->gen)
        return;
    advance(n, now);
    /* Complete every flow within a micro-MB of its end, in start order. */
    for (i = 0, j = 0; i < n->n; i++) {
        if (n->f[i].remaining <= 1e-6) {
            finished = vws_reallocarray(finished, nfin + 1, sizeof(*finished));
            finished[nfin++] = n->f[i].handle;
        } else {
            n->f[j++] = n->f[i];
        }
    }
    n->n = j;
    reschedule(n);
    for (i = 0; i < nfin; i++)
        n->done(n->ctx, finished[i], now);
    free(finished);
}

void
vws_network_start(vws_network *n, void *handle, double mb)
{
    advance(n, vws_clock_now(n->clock));
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 16;
        n->f = vws_reallocarray(n->f, n->cap, sizeof(*n->f));
    }
    n->f[n->n++] = (struct flow){ handle, mb > 0 ? mb : 0 };
    reschedule(n);
}

size_t
vws_network_active(const vws_network *n)
{
    return n->n;
}

double
vws_network_backlog(vws_network *n)
{
    double sum = 0;
    size_t i;

    advance(n, vws_clock_now(n->clock));
    for (i = 0; i < n->n; i++)
        sum += n->f[i].remaining > 0 ? n->f[i].remaining : 0;
    return sum;
}

double
vws_network_delivered(const vws_network *n)
{
    return n->delivered;
}
