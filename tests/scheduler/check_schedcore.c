/*
 * check_schedcore.c — the scheduler: each strategy's transfer-start rule,
 * AR admission on hand-made cases (feasible, infeasible by one second),
 * EDF order, placement on cached hosts, one transfer per template and
 * host, the local-copy cost, ASAP backfilling, immediate and event-window
 * leases, invariants under randomised workloads, determinism.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_sched.h"
#include "scheduler/report.h"
#include "scheduler/rng.h"
#include "scheduler/sched-priv.h"
#include "scheduler/trace.h"
#include "internal.h"

struct env {
    vws_clock *clock;
    vws_sched *s;
};

static void
env_init(struct env *e, const char *strategy, const vws_site *site, int net)
{
    vws_site def;

    if (!site) {
        vws_site_defaults(&def);
        site = &def;
    }
    e->clock = vws_clock_new_simulated(0);
    e->s = vws_sched_new(site, e->clock, strategy, net);
    ck_assert_msg(e->s != NULL, "%s", vws_error_message());
}

static void
env_release(struct env *e)
{
    vws_sched_free(e->s);
    vws_clock_free(e->clock);
}

static vws_lease_request
ar(vws_time start_s, vws_time dur_s, int nodes, const char *img, int64_t mb)
{
    vws_lease_request r;

    memset(&r, 0, sizeof(r));
    r.type = VWS_LEASE_AR;
    r.start = VWS_SEC(start_s);
    r.end = VWS_SEC(start_s + dur_s);
    r.nodes = nodes;
    r.mem_mb = 512;
    r.cpu_pct = 50;
    r.image = img;
    r.image_mb = mb;
    return r;
}

static vws_lease_request
asap(vws_time dur_s, int nodes, const char *img, int64_t mb)
{
    vws_lease_request r = ar(0, 1, nodes, img, mb);

    r.type = VWS_LEASE_ASAP;
    r.duration = VWS_SEC(dur_s);
    return r;
}

/* Submit R at time AT (an event), the lease lands in *OUT. */
struct pending_submit {
    vws_sched *s;
    vws_lease_request r;
    vws_lease **out;
};

static void
ev_submit(void *arg, uint64_t tag, vws_time now)
{
    struct pending_submit *p = arg;
    vws_lease *l = vws_sched_submit(p->s, &p->r);

    if (p->out)
        *p->out = l;
    free(p);
}

static void
submit_at(struct env *e, vws_time at_s, vws_lease_request r, vws_lease **out)
{
    struct pending_submit *p = vws_malloc(sizeof(*p));

    p->s = e->s;
    p->r = r;
    p->out = out;
    vws_clock_at(e->clock, VWS_SEC(at_s), ev_submit, p, 0);
}

static void
run_all(struct env *e)
{
    while (vws_clock_step(e->clock))
        ck_assert_msg(vws_sched_check(e->s) == 0, "%s", vws_error_message());
}

/* The same, forgetting the slot table's past after every event (what long
 * runs do now and then): nothing may change but memory. */
static void
run_all_compacting(struct env *e)
{
    while (vws_clock_step(e->clock)) {
        vws_sched_compact(e->s);
        ck_assert_msg(vws_sched_check(e->s) == 0, "%s", vws_error_message());
    }
}

/* ---------------------------------------------------------------- */

START_TEST(test_start_rules)
{
    static const struct {
        const char *strategy;
        vws_time first, second;   /* planned starts, s */
        double sat;
    } want[] = {
        { "job-style", 1000, 1000, 0.0 },     /* 96 s of a 60 s lease */
        { "jit", 904, 904, 1.0 },             /* 1000 - 2 x 48 */
        { "aggressive", 0, 0, 1.0 },
        { "hybrid", 0, 48, 1.0 },             /* one at a time */
    };
    size_t i;

    for (i = 0; i < VWS_N_ELEMENTS(want); i++) {
        struct env e;
        vws_lease *l = NULL;

        env_init(&e, want[i].strategy, NULL, 1);
        submit_at(&e, 0, ar(1000, 60, 2, "img", 600), &l);
        vws_clock_step(e.clock);
        ck_assert_ptr_nonnull(l);
        ck_assert_int_eq(l->state, VWS_LEASE_ACCEPTED);
        ck_assert_int_eq(e.s->nxfers, 2);
        ck_assert_int_eq(e.s->xfers[0]->planned_start, VWS_SEC(want[i].first));
        ck_assert_int_eq(e.s->xfers[1]->planned_start, VWS_SEC(want[i].second));
        run_all(&e);
        ck_assert_int_eq(l->state, VWS_LEASE_DONE);
        ck_assert_msg(vws_lease_satisfaction(l) == want[i].sat,
                      "%s: satisfaction %f", want[i].strategy,
                      vws_lease_satisfaction(l));
        env_release(&e);
    }
}
END_TEST

START_TEST(test_admission_by_one_second)
{
    static const char *const strategies[] = { "hybrid", "jit", "aggressive" };
    size_t i;

    for (i = 0; i < 3; i++) {
        struct env e;
        vws_lease *ok = NULL, *late = NULL;

        env_init(&e, strategies[i], NULL, 1);
        /* 600 MB at 100 Mb/s: 48 s; needed at 48 s: just feasible */
        submit_at(&e, 0, ar(48, 60, 1, "a", 600), &ok);
        /* on another host and image, needed at 47 s: one second short
         * (hybrid: the link is also busy with the first) */
        submit_at(&e, 0, ar(47 + (i == 0 ? 48 : 0), 60, 1, "b", 600), &late);
        run_all(&e);
        ck_assert_int_eq(ok->state, VWS_LEASE_DONE);
        ck_assert(vws_lease_satisfaction(ok) == 1.0 || i > 0);
        ck_assert_int_eq(late->state, VWS_LEASE_REJECTED);
        if (i == 0)
            ck_assert_msg(strstr(late->reason, "1.000 s late") != NULL, "%s",
                          late->reason);
        else
            ck_assert_msg(strstr(late->reason, "needs 48.0 s") != NULL, "%s",
                          late->reason);
        ck_assert_int_eq(vws_sched_get_stats(e.s)->rejected, 1);
        env_release(&e);
    }
}
END_TEST

START_TEST(test_admission_copy_and_room)
{
    vws_site site;
    struct env e;
    vws_lease *a = NULL, *b = NULL, *c = NULL, *d = NULL, *big = NULL;

    vws_site_defaults(&site);
    site.cache_policy = VWS_CACHE_LFU;
    site.cache_mb = 1800;
    env_init(&e, "hybrid", &site, 1);
    /* transfer 48 s + local copy 60 s: 108 s is enough, 107 s is not */
    submit_at(&e, 0, ar(108, 60, 1, "a", 600), &a);
    submit_at(&e, 0, ar(107 + 48, 60, 1, "b", 600), &b);
    /* 16 VM slots: 17 nodes never fit */
    submit_at(&e, 0, ar(5000, 60, 17, "c", 600), &big);
    /* 16 nodes at 5000 fit; then one more over the same time does not */
    submit_at(&e, 0, ar(5000, 60, 16, "c", 0), &c);
    submit_at(&e, 0, ar(5030, 60, 1, "d", 0), &d);
    run_all(&e);
    ck_assert_int_eq(a->state, VWS_LEASE_DONE);
    ck_assert(vws_lease_satisfaction(a) == 1.0);
    ck_assert_int_eq(a->ready, VWS_SEC(108));
    ck_assert_int_eq(b->state, VWS_LEASE_REJECTED);
    ck_assert_int_eq(big->state, VWS_LEASE_REJECTED);
    ck_assert_ptr_nonnull(strstr(big->reason, "larger than the site"));
    ck_assert_int_eq(c->state, VWS_LEASE_DONE);
    ck_assert_int_eq(d->state, VWS_LEASE_REJECTED);
    ck_assert_msg(strstr(d->reason, "no room: 1 nodes needed, 0 free") != NULL,
                  "%s", d->reason);
    env_release(&e);
}
END_TEST

START_TEST(test_edf_order)
{
    struct env e;
    vws_lease *loose = NULL, *tight = NULL;

    env_init(&e, "hybrid", NULL, 1);
    submit_at(&e, 0, ar(1000, 60, 1, "loose", 600), &loose);
    submit_at(&e, 0, ar(50, 60, 1, "tight", 600), &tight);
    vws_clock_step(e.clock);
    ck_assert_int_eq(e.s->xfers[0]->planned_start, 0);
    vws_clock_step(e.clock);
    /* the tight one goes first; the loose one gives way */
    ck_assert_int_eq(e.s->xfers[1]->planned_start, 0);
    ck_assert_int_eq(e.s->xfers[0]->planned_start, VWS_SEC(48));
    run_all(&e);
    ck_assert(vws_lease_satisfaction(tight) == 1.0);
    ck_assert(vws_lease_satisfaction(loose) == 1.0);
    ck_assert_int_eq(tight->ready, VWS_SEC(48));
    ck_assert_int_eq(loose->ready, VWS_SEC(96));
    env_release(&e);
}
END_TEST

START_TEST(test_burst_jit_vs_hybrid)
{
    static const struct { const char *s; double sat; } want[] = {
        /* 4 transfers share the link from 404 s: all end at 596 s */
        { "jit", (1100.0 - 596.0) / 600.0 },
        { "aggressive", 1.0 },
        { "hybrid", 1.0 },
    };
    size_t i;

    for (i = 0; i < VWS_N_ELEMENTS(want); i++) {
        struct env e;
        vws_lease *a = NULL, *b = NULL;

        env_init(&e, want[i].s, NULL, 1);
        submit_at(&e, 0, ar(500, 600, 2, "x", 600), &a);
        submit_at(&e, 0, ar(500, 600, 2, "y", 600), &b);
        run_all(&e);
        ck_assert_msg(vws_lease_satisfaction(a) > want[i].sat - 1e-9 &&
                      vws_lease_satisfaction(a) < want[i].sat + 1e-9,
                      "%s: %f", want[i].s, vws_lease_satisfaction(a));
        ck_assert(vws_lease_satisfaction(b) == vws_lease_satisfaction(a));
        env_release(&e);
    }
}
END_TEST

START_TEST(test_cached_placement_and_copy)
{
    vws_site site;
    struct env e;
    vws_lease *first = NULL, *again = NULL, *other = NULL;

    vws_site_defaults(&site);
    site.cache_policy = VWS_CACHE_LRU;
    site.cache_mb = 1200;
    env_init(&e, "hybrid", &site, 1);
    /* fill host 0 with a lease elsewhere in time so index order alone
     * would not pick host 3 */
    submit_at(&e, 0, ar(300, 60, 1, "x", 600), &first);
    run_all(&e);
    ck_assert_int_eq(first->host[0], 0);
    ck_assert_int_eq(first->misses, 1);
    /* a lease on host 0 now makes host 1 the "emptiest" tie-winner for
     * an uncached image, and host 0 still the only one caching x */
    submit_at(&e, 1000, ar(2000, 600, 1, "y", 600), &other);
    submit_at(&e, 1001, ar(2100, 60, 1, "x", 600), &again);
    run_all(&e);
    ck_assert_int_eq(again->host[0], 0);
    ck_assert_int_eq(again->hits, 1);
    ck_assert_int_eq(again->transfers, 0);
    /* the hit costs the 60 s local copy, booked just before the start */
    ck_assert_int_eq(again->ready, VWS_SEC(2100));
    ck_assert_int_eq(again->deploy_total, VWS_SEC(60));
    ck_assert(vws_lease_satisfaction(again) == 1.0);
    ck_assert_int_eq(vws_sched_get_stats(e.s)->hits, 1);
    env_release(&e);
}
END_TEST

START_TEST(test_one_transfer_per_host)
{
    vws_site site;
    int mode;

    for (mode = 0; mode < 3; mode++) {
        struct env e;
        vws_lease *l = NULL;

        vws_site_defaults(&site);
        if (mode == 0) {
            site.cache_policy = VWS_CACHE_LFU;
            site.cache_mb = 1800;
        } else {
            site.dedup = mode == 2;
        }
        env_init(&e, "aggressive", &site, 1);
        submit_at(&e, 0, ar(1000, 60, 2, "img", 600), &l);
        run_all(&e);
        ck_assert_int_eq(l->host[0], l->host[1]);
        ck_assert_int_eq(l->transfers, mode == 1 ? 2 : 1);
        ck_assert_int_eq(vws_sched_get_stats(e.s)->transfers, mode == 1 ? 2 : 1);
        if (mode == 0) {
            ck_assert_int_eq(l->misses, 1);
            ck_assert_int_eq(l->half_misses, 1);
        }
        env_release(&e);
    }
}
END_TEST

START_TEST(test_copy_on_write)
{
    vws_site site;
    struct env e;
    vws_lease *a = NULL, *b = NULL;

    vws_site_defaults(&site);
    site.cache_policy = VWS_CACHE_LRU;
    site.cache_mb = 600;
    site.local_copy = 0;
    env_init(&e, "jit", &site, 1);
    submit_at(&e, 0, asap(10, 1, "img", 600), &a);
    submit_at(&e, 100, asap(10, 1, "img", 600), &b);
    run_all(&e);
    ck_assert_int_eq(a->ready, VWS_SEC(48));     /* transfer, no copy */
    ck_assert_int_eq(b->hits, 1);
    ck_assert_int_eq(b->ready, VWS_SEC(100));    /* hit: at once */
    ck_assert_int_eq(b->actual_end, VWS_SEC(110));
    env_release(&e);
}
END_TEST

START_TEST(test_asap_backfilling)
{
    vws_site site;
    struct env e;
    vws_lease *a = NULL, *b = NULL, *c = NULL, *d = NULL;

    vws_site_defaults(&site);
    site.hosts = 1;
    env_init(&e, "job-style", &site, 0);
    submit_at(&e, 0, asap(1000, 1, "i", 0), &a);
    submit_at(&e, 0, asap(500, 2, "i", 0), &b);     /* head: waits for a */
    submit_at(&e, 0, asap(100, 1, "i", 0), &c);     /* backfills */
    submit_at(&e, 0, asap(5000, 1, "i", 0), &d);    /* would delay b */
    vws_clock_run(e.clock, 0);
    ck_assert_int_eq(b->state, VWS_LEASE_QUEUED);
    ck_assert_int_eq(d->state, VWS_LEASE_QUEUED);
    ck_assert_int_eq(vws_sched_queue_length(e.s), 2);
    run_all(&e);
    ck_assert_int_eq(a->actual_start, 0);
    ck_assert_int_eq(c->actual_start, 0);
    ck_assert_int_eq(b->actual_start, VWS_SEC(1000));
    ck_assert_int_eq(d->actual_start, VWS_SEC(1500));
    ck_assert(vws_lease_satisfaction(d) == 1.0);
    ck_assert_int_eq(vws_sched_get_stats(e.s)->cut, 0);
    env_release(&e);
}
END_TEST

START_TEST(test_immediate)
{
    vws_site site;
    struct env e;
    vws_lease *a = NULL, *b = NULL;
    vws_lease_request r = asap(100, 2, "i", 0);

    vws_site_defaults(&site);
    site.hosts = 1;
    env_init(&e, "hybrid", &site, 1);
    r.type = VWS_LEASE_IMMEDIATE;
    submit_at(&e, 0, r, &a);
    r.nodes = 1;
    submit_at(&e, 10, r, &b);
    run_all(&e);
    ck_assert_int_eq(a->state, VWS_LEASE_DONE);
    ck_assert_int_eq(a->actual_start, 0);
    ck_assert_int_eq(b->state, VWS_LEASE_REJECTED);
    ck_assert_ptr_nonnull(strstr(b->reason, "no room now"));
    env_release(&e);
}
END_TEST

static void
ev_signal(void *arg, uint64_t tag, vws_time now)
{
    struct env *e = arg;

    ck_assert_int_eq(vws_sched_signal(e->s, tag), 0);
    ck_assert_int_eq(vws_sched_signal(e->s, tag), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_STATE);
}

START_TEST(test_event_window)
{
    vws_site site;
    struct env e;
    vws_lease *a = NULL, *b = NULL;
    vws_lease_request r = ar(100, 1, 2, "i", 0);
    vws_demand two = { { 2, 0, 0, 0 } };

    vws_site_defaults(&site);
    site.hosts = 1;
    env_init(&e, "hybrid", &site, 1);
    r.type = VWS_LEASE_AR_WINDOW;
    r.start = VWS_SEC(100);
    r.end = VWS_SEC(300);
    r.duration = VWS_SEC(50);
    submit_at(&e, 0, r, &a);
    vws_clock_at(e.clock, VWS_SEC(150), ev_signal, &e, 1);
    vws_clock_run(e.clock, VWS_SEC(150));
    /* the rest of the window was given back */
    ck_assert(vws_slottable_fits(vws_sched_slottable(e.s), 0, VWS_SEC(200),
                                 VWS_SEC(350), &two));
    ck_assert(!vws_slottable_fits(vws_sched_slottable(e.s), 0, VWS_SEC(199),
                                  VWS_SEC(200), &two));
    r.start = VWS_SEC(400);
    r.end = VWS_SEC(600);
    submit_at(&e, 200, r, &b);     /* no event: starts when the window closes */
    run_all(&e);
    ck_assert_int_eq(a->actual_start, VWS_SEC(150));
    ck_assert_int_eq(a->actual_end, VWS_SEC(200));
    ck_assert_int_eq(b->actual_start, VWS_SEC(600));
    ck_assert_int_eq(b->actual_end, VWS_SEC(650));
    ck_assert_int_eq(vws_sched_signal(e.s, 99), -1);
    env_release(&e);
}
END_TEST

/* A random mix of AR and ASAP leases on a small site with caches,
 * checked after every event; hybrid never lets an admitted lease lose
 * time to its own preparation. */
START_TEST(test_random_workload)
{
    const char *strategy = vws_staging_names[_i % 4];
    vws_site site;
    struct env e;
    vws_rng rng;
    int k;

    vws_site_defaults(&site);
    site.hosts = _i >= 16 ? 16 : 4;     /* the last ones: more hosts to share */
    site.cache_policy = _i % 2 ? VWS_CACHE_LFU : VWS_CACHE_LRU;
    site.cache_mb = 1200;
    site.local_copy = VWS_SEC(10);
    env_init(&e, strategy, &site, 1);
    vws_rng_seed(&rng, (uint64_t)_i * 7 + 3);
    for (k = 0; k < 60; k++) {
        vws_time at = vws_rng_range(&rng, 0, 3000);
        static const char *const imgs[] = { "i1", "i2", "i3", "i4" };
        const char *img = imgs[vws_rng_range(&rng, 0, 3)];
        int nodes = (int)vws_rng_range(&rng, 1, 4);

        if (vws_rng_next(&rng) % 2 || _i >= 16)
            submit_at(&e, at, ar(at + vws_rng_range(&rng, 0, 400),
                                 vws_rng_range(&rng, 30, 600), nodes, img, 300),
                      NULL);
        else
            submit_at(&e, at, asap(vws_rng_range(&rng, 10, 500), nodes, img, 300),
                      NULL);
    }
    if (_i % 3 == 0)
        run_all_compacting(&e);
    else
        run_all(&e);
    ck_assert_int_eq(vws_sched_nleases(e.s), 60);
    ck_assert_int_eq(vws_sched_queue_length(e.s), 0);
    for (k = 0; k < 60; k++) {
        const vws_lease *l = vws_sched_lease(e.s, (size_t)k);

        ck_assert(l->state == VWS_LEASE_DONE || l->state == VWS_LEASE_REJECTED);
        if (l->state == VWS_LEASE_REJECTED)
            ck_assert(l->reason[0]);
        if (!strcmp(strategy, "hybrid") && l->state == VWS_LEASE_DONE &&
            l->type == VWS_LEASE_AR)
            ck_assert_msg(vws_lease_satisfaction(l) == 1.0,
                          "lease %d got %f", k, vws_lease_satisfaction(l));
        if (l->state == VWS_LEASE_DONE && l->type == VWS_LEASE_ASAP && !l->cut)
            ck_assert_int_eq(vws_lease_received(l), l->duration);
    }
    /* everything given back */
    ck_assert_int_eq(vws_slottable_steps(vws_sched_slottable(e.s)), 0);
    env_release(&e);
}
END_TEST

static char *
run_to_csv(const vws_trace *t, const char *strategy, int compact)
{
    vws_site site;
    struct env e;
    char *buf = NULL;
    size_t len = 0, i;
    FILE *f;

    vws_site_defaults(&site);
    site.cache_policy = VWS_CACHE_LFU;
    site.cache_mb = 1800;
    env_init(&e, strategy, &site, 1);
    for (i = 0; i < t->n; i++)
        submit_at(&e, t->e[i].submit / 1000, t->e[i].req, NULL);
    if (compact)
        run_all_compacting(&e);
    else
        run_all(&e);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(vws_report_write_csv(e.s, f), 0);
    fclose(f);
    env_release(&e);
    return buf;
}

START_TEST(test_determinism)
{
    vws_trace t1 = VWS_TRACE_INIT, t2 = VWS_TRACE_INIT;
    vws_argen g;
    char *a, *b;

    vws_argen_defaults(&g);
    g.count = 40;
    g.duration_s = 300;
    g.seed = 42;
    ck_assert_int_eq(vws_trace_generate_ar(&t1, &g), 0);
    ck_assert_int_eq(vws_trace_generate_ar(&t2, &g), 0);
    ck_assert_int_eq(t1.n, 40);
    a = run_to_csv(&t1, "hybrid", 0);
    b = run_to_csv(&t2, "hybrid", 0);
    ck_assert_str_eq(a, b);
    free(b);
    /* forgetting the past changes nothing */
    b = run_to_csv(&t1, "hybrid", 1);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    g.seed = 43;
    vws_trace_release(&t2);
    ck_assert_int_eq(vws_trace_generate_ar(&t2, &g), 0);
    a = run_to_csv(&t1, "jit", 0);
    b = run_to_csv(&t2, "jit", 0);
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
    vws_trace_release(&t1);
    vws_trace_release(&t2);
}
END_TEST

START_TEST(test_bad_arguments)
{
    vws_site site;
    vws_clock *c = vws_clock_new_simulated(0);
    struct env e;
    vws_lease_request r = ar(10, 10, 1, "i", 600);

    vws_site_defaults(&site);
    ck_assert_ptr_null(vws_sched_new(&site, c, "fastest", 1));
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "'fastest'"));
    site.hosts = 0;
    ck_assert_ptr_null(vws_sched_new(&site, c, "jit", 1));
    vws_clock_free(c);
    env_init(&e, "jit", NULL, 1);
    r.nodes = 0;
    ck_assert_ptr_null(vws_sched_submit(e.s, &r));
    r = ar(10, 10, 1, "", 600);
    ck_assert_ptr_null(vws_sched_submit(e.s, &r));
    r = ar(10, 10, 1, "i", 600);
    r.end = r.start;
    ck_assert_ptr_null(vws_sched_submit(e.s, &r));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
    r = asap(0, 1, "i", 1);
    ck_assert_ptr_null(vws_sched_submit(e.s, &r));
    ck_assert_int_eq(vws_sched_nleases(e.s), 0);
    env_release(&e);
}
END_TEST

/* A driver of real transfers: the scheduler asks, the test answers. */
struct driver {
    vws_sched *s;
    uint64_t started[8];
    int n;
};

static void
drv_start(void *ctx, uint64_t id, size_t host, const char *image, double mb)
{
    struct driver *d = ctx;

    ck_assert_str_eq(image, "img");
    ck_assert(mb == 600);
    d->started[d->n++] = id;
}

static void
drv_finish(void *arg, uint64_t tag, vws_time now)
{
    struct driver *d = arg;

    /* the first attempt fails, the retry succeeds */
    ck_assert_int_eq(vws_sched_transfer_done(d->s, d->started[tag], tag != 0), 0);
}

START_TEST(test_transfer_driver)
{
    struct env e;
    struct driver d;
    vws_sched_hooks h;
    vws_lease *l = NULL;

    env_init(&e, "aggressive", NULL, 0);
    memset(&d, 0, sizeof(d));
    memset(&h, 0, sizeof(h));
    d.s = e.s;
    h.start_transfer = drv_start;
    h.ctx = &d;
    vws_sched_set_hooks(e.s, &h);
    submit_at(&e, 0, ar(500, 60, 1, "img", 600), &l);
    vws_clock_run(e.clock, 0);
    ck_assert_int_eq(d.n, 1);
    vws_clock_at(e.clock, VWS_SEC(30), drv_finish, &d, 0);   /* fails */
    vws_clock_run(e.clock, VWS_SEC(30));
    ck_assert_int_eq(d.n, 2);                                 /* retried */
    ck_assert_int_eq(d.started[1], d.started[0]);
    vws_clock_at(e.clock, VWS_SEC(100), drv_finish, &d, 1);
    ck_assert_int_eq(vws_sched_transfer_done(e.s, 99, 1), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_NOT_FOUND);
    run_all(&e);
    ck_assert_int_eq(l->ready, VWS_SEC(100));
    ck_assert(vws_lease_satisfaction(l) == 1.0);
    ck_assert_int_eq(vws_sched_transfer_done(e.s, d.started[0], 1), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_STATE);
    env_release(&e);
}
END_TEST

Suite *
vws_suite_sched(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_start_rules);
    tcase_add_test(tc, test_admission_by_one_second);
    tcase_add_test(tc, test_admission_copy_and_room);
    tcase_add_test(tc, test_edf_order);
    tcase_add_test(tc, test_burst_jit_vs_hybrid);
    tcase_add_test(tc, test_cached_placement_and_copy);
    tcase_add_test(tc, test_one_transfer_per_host);
    tcase_add_test(tc, test_copy_on_write);
    tcase_add_test(tc, test_asap_backfilling);
    tcase_add_test(tc, test_immediate);
    tcase_add_test(tc, test_event_window);
    tcase_add_loop_test(tc, test_random_workload, 0, 24);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_transfer_driver);
    suite_add_tcase(s, tc);
    return s;
}
