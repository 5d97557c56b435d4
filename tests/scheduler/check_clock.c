/*
 * check_clock.c — simulated and real clocks, and the fair-sharing link.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_sched.h"
#include "scheduler/clock.h"
#include "scheduler/network.h"
#include "internal.h"

static char order[16];
static size_t norder;

static void
mark(void *arg, uint64_t tag, vws_time now)
{
    order[norder++] = (char)(uintptr_t)arg;
}

START_TEST(test_simulated_order)
{
    vws_clock *c = vws_clock_new_simulated(1000);

    norder = 0;
    memset(order, 0, sizeof(order));
    vws_clock_at(c, 3000, mark, (void *)(uintptr_t)'c', 0);
    vws_clock_at(c, 2000, mark, (void *)(uintptr_t)'a', 0);
    vws_clock_at(c, 2000, mark, (void *)(uintptr_t)'b', 0);   /* FIFO at a tie */
    vws_clock_at(c, 500, mark, (void *)(uintptr_t)'p', 0);    /* past: now */
    ck_assert_int_eq(vws_clock_pending(c), 4);
    ck_assert_int_eq(vws_clock_run(c, 2500), 3);
    ck_assert_str_eq(order, "pab");
    ck_assert_int_eq(vws_clock_now(c), 2000);
    ck_assert_int_eq(vws_clock_next(c), 3000);
    ck_assert_int_eq(vws_clock_step(c), 1);
    ck_assert_int_eq(vws_clock_step(c), 0);
    ck_assert_str_eq(order, "pabc");
    ck_assert_int_eq(vws_clock_at(c, 1, NULL, NULL, 0), -1);
    vws_clock_free(c);
}
END_TEST

START_TEST(test_real_clock)
{
    vws_clock *c = vws_clock_new_real();
    vws_time t0 = vws_clock_now(c);

    ck_assert_int_eq(vws_clock_get_kind(c), VWS_CLOCK_REAL);
    ck_assert(t0 > VWS_SEC(1600000000));   /* wall time, ms */
    norder = 0;
    memset(order, 0, sizeof(order));
    vws_clock_at(c, t0 + 30, mark, (void *)(uintptr_t)'r', 0);
    ck_assert_int_eq(vws_clock_run(c, VWS_TIME_NEVER), 1);
    ck_assert(vws_clock_now(c) >= t0 + 30);
    ck_assert_str_eq(order, "r");
    vws_clock_free(c);
}
END_TEST

struct done_log {
    void *h[8];
    vws_time t[8];
    int n;
};

static void
on_done(void *ctx, void *handle, vws_time now)
{
    struct done_log *d = ctx;

    d->h[d->n] = handle;
    d->t[d->n++] = now;
}

static void
start_b(void *arg, uint64_t tag, vws_time now)
{
    vws_network_start(arg, (void *)(uintptr_t)2, 100);
}

START_TEST(test_fair_sharing)
{
    vws_clock *c = vws_clock_new_simulated(0);
    struct done_log d = { { 0 }, { 0 }, 0 };
    vws_network *n = vws_network_new(c, 12.5, on_done, &d);

    /* two 600 MB transfers together: each at 6.25 MB/s, both at 96 s */
    vws_network_start(n, (void *)(uintptr_t)1, 600);
    vws_network_start(n, (void *)(uintptr_t)2, 600);
    ck_assert_int_eq(vws_network_active(n), 2);
    vws_clock_run(c, VWS_TIME_NEVER);
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_eq(d.t[0], 96000);
    ck_assert_int_eq(d.t[1], 96000);
    ck_assert(vws_network_delivered(n) > 1199.99 && vws_network_delivered(n) < 1200.01);
    vws_network_free(n);
    vws_clock_free(c);

    /* A (200 MB) alone for 8 s (100 MB), then shared with B (100 MB):
     * both have 100 MB left at 6.25 MB/s: both end at 8 + 16 = 24 s */
    c = vws_clock_new_simulated(0);
    memset(&d, 0, sizeof(d));
    n = vws_network_new(c, 12.5, on_done, &d);
    vws_network_start(n, (void *)(uintptr_t)1, 200);
    vws_clock_at(c, 8000, start_b, n, 0);
    vws_clock_run(c, VWS_TIME_NEVER);
    ck_assert_int_eq(d.n, 2);
    ck_assert_int_eq(d.t[0], 24000);
    ck_assert_int_eq(d.t[1], 24000);
    vws_network_free(n);
    vws_clock_free(c);

    /* A 100 MB and B 300 MB together: A at 16 s, B alone for its last
     * 200 MB: 16 + 16 = 32 s */
    c = vws_clock_new_simulated(0);
    memset(&d, 0, sizeof(d));
    n = vws_network_new(c, 12.5, on_done, &d);
    vws_network_start(n, (void *)(uintptr_t)1, 100);
    vws_network_start(n, (void *)(uintptr_t)2, 300);
    vws_clock_run(c, VWS_TIME_NEVER);
    ck_assert_int_eq(d.n, 2);
    ck_assert_ptr_eq(d.h[0], (void *)(uintptr_t)1);
    ck_assert_int_eq(d.t[0], 16000);
    ck_assert_int_eq(d.t[1], 32000);
    vws_network_free(n);
    vws_clock_free(c);
}
END_TEST

Suite *
vws_suite_clock(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_simulated_order);
    tcase_add_test(tc, test_real_clock);
    tcase_add_test(tc, test_fair_sharing);
    suite_add_tcase(s, tc);
    return s;
}
