/*
 * check_slottable.c — the slot table: bookings, queries, refusals, and
 * its invariants under a bounded randomised workload checked against a
 * brute-force model.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_sched.h"
#include "scheduler/rng.h"
#include "scheduler/slottable.h"
#include "internal.h"

static vws_demand
dem(int64_t vms, int64_t mem, int64_t cpu, int64_t io)
{
    vws_demand d = { { vms, mem, cpu, io } };

    return d;
}

START_TEST(test_book_and_query)
{
    vws_demand cap = dem(2, 1024, 200, 0), one = dem(1, 512, 50, 0), peak;
    vws_slottable *st = vws_slottable_new(2, &cap, 1);

    ck_assert_int_eq(vws_slottable_book(st, 0, 100, 200, &one), 0);
    ck_assert_int_eq(vws_slottable_book(st, 0, 150, 300, &one), 0);
    vws_slottable_peak(st, 0, 0, 1000, &peak);
    ck_assert_int_eq(peak.v[VWS_DIM_VMS], 2);
    ck_assert_int_eq(peak.v[VWS_DIM_MEM], 1024);
    vws_slottable_peak(st, 0, 200, 300, &peak);
    ck_assert_int_eq(peak.v[VWS_DIM_VMS], 1);
    /* full over [150, 200): a third booking there is refused */
    ck_assert(!vws_slottable_fits(st, 0, 120, 180, &one));
    ck_assert_int_eq(vws_slottable_book(st, 0, 199, 201, &one), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_STATE);
    ck_assert(vws_slottable_fits(st, 0, 200, 250, &one));
    ck_assert(vws_slottable_fits(st, 0, 50, 150, &one));
    ck_assert_int_eq(vws_slottable_count_fit(st, 0, 0, 100, &one, 10), 2);
    ck_assert_int_eq(vws_slottable_count_fit(st, 0, 160, 170, &one, 10), 0);
    ck_assert_int_eq(vws_slottable_count_fit(st, 1, 160, 170, &one, 10), 2);
    /* earliest 2-slot window of 100 after 0 that avoids [100, 300) use */
    {
        vws_demand two = dem(2, 1024, 100, 0);

        ck_assert_int_eq(vws_slottable_earliest(st, 0, 0, 100, &two), 0);
        ck_assert_int_eq(vws_slottable_earliest(st, 0, 50, 100, &two), 300);
        ck_assert_int_eq(vws_slottable_earliest(st, 0, 0, 1, &one), 0);
        ck_assert_int_eq(vws_slottable_earliest(st, 0, 150, 10, &one), 200);
        /* more than capacity never fits */
        ck_assert_int_eq(vws_slottable_earliest(st, 0, 0, 1, &(vws_demand){ { 3, 0, 0, 0 } }),
                         VWS_TIME_NEVER);
    }
    ck_assert_int_eq(vws_slottable_check(st), 0);
    ck_assert_int_eq(vws_slottable_release(st, 0, 100, 200, &one), 0);
    ck_assert_int_eq(vws_slottable_release(st, 0, 150, 300, &one), 0);
    ck_assert_int_eq(vws_slottable_steps(st), 0);
    /* releasing what was never booked is refused, table unchanged */
    ck_assert_int_eq(vws_slottable_release(st, 0, 100, 200, &one), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INTERNAL);
    ck_assert_int_eq(vws_slottable_check(st), 0);
    /* bad intervals */
    ck_assert_int_eq(vws_slottable_book(st, 0, 200, 200, &one), -1);
    ck_assert_int_eq(vws_slottable_book(st, 0, 300, 200, &one), -1);
    ck_assert_int_eq(vws_slottable_book(st, 0, -5, 200, &one), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
    vws_slottable_free(st);
}
END_TEST

START_TEST(test_link_one_at_a_time)
{
    vws_demand cap = dem(2, 0, 0, 0), x = dem(1, 0, 0, 0);
    vws_slottable *st = vws_slottable_new(1, &cap, 1);

    ck_assert_int_eq(vws_slottable_book(st, VWS_LINK, 0, 48000, &x), 0);
    ck_assert_int_eq(vws_slottable_book(st, VWS_LINK, 47999, 50000, &x), -1);
    ck_assert_int_eq(vws_slottable_earliest(st, VWS_LINK, 0, 48000, &x), 48000);
    ck_assert_int_eq(vws_slottable_next_change(st, VWS_LINK, 0), 48000);
    ck_assert_int_eq(vws_slottable_next_change(st, VWS_LINK, 48000), VWS_TIME_NEVER);
    vws_slottable_free(st);
}
END_TEST

START_TEST(test_forget)
{
    vws_demand cap = dem(4, 0, 0, 0), one = dem(1, 0, 0, 0);
    vws_slottable *st = vws_slottable_new(1, &cap, 0);

    vws_slottable_book(st, 0, 0, 100, &one);
    vws_slottable_book(st, 0, 50, 500, &one);
    vws_slottable_book(st, 0, 120, 400, &one);
    vws_slottable_forget(st, 200);
    ck_assert_int_eq(vws_slottable_check(st), 0);
    ck_assert(!vws_slottable_fits(st, 0, 300, 310, &(vws_demand){ { 3, 0, 0, 0 } }));
    /* a booking that began before the horizon is released from it on */
    ck_assert_int_eq(vws_slottable_release(st, 0, 50, 500, &one), 0);
    ck_assert_int_eq(vws_slottable_release(st, 0, 120, 400, &one), 0);
    ck_assert_int_eq(vws_slottable_release(st, 0, 0, 100, &one), 0);
    ck_assert_int_eq(vws_slottable_steps(st), 0);
    vws_slottable_free(st);
}
END_TEST

/* Random bookings and releases on 3 hosts, compared step by step with a
 * brute-force model over a discrete timeline. */
#define HORIZON 200
#define NHOSTS 3

struct model_booking {
    size_t host;
    vws_time s, e;
    vws_demand d;
};

START_TEST(test_random_invariants)
{
    vws_demand cap = dem(3, 1000, 300, 2);
    vws_slottable *st = vws_slottable_new(NHOSTS, &cap, 0);
    struct model_booking live[400];
    size_t nlive = 0;
    vws_rng rng;
    int op, refused = 0, booked = 0;

    vws_rng_seed(&rng, (uint64_t)_i + 11);
    for (op = 0; op < 1500; op++) {
        if (nlive && (vws_rng_next(&rng) % 3 == 0 || nlive == 400)) {
            size_t k = (size_t)vws_rng_range(&rng, 0, (int64_t)nlive - 1);

            ck_assert_int_eq(vws_slottable_release(st, live[k].host, live[k].s,
                                                   live[k].e, &live[k].d), 0);
            live[k] = live[--nlive];
        } else {
            struct model_booking b;
            int64_t used[HORIZON][VWS_NDIMS];
            int fits = 1, t, k;
            size_t j;

            b.host = (size_t)vws_rng_range(&rng, 0, NHOSTS - 1);
            b.s = vws_rng_range(&rng, 0, HORIZON - 2);
            b.e = vws_rng_range(&rng, b.s + 1, HORIZON - 1);
            b.d = dem(vws_rng_range(&rng, 0, 2), vws_rng_range(&rng, 0, 600),
                      vws_rng_range(&rng, 0, 200), vws_rng_range(&rng, 0, 1));
            memset(used, 0, sizeof(used));
            for (j = 0; j < nlive; j++)
                if (live[j].host == b.host)
                    for (t = (int)live[j].s; t < live[j].e; t++)
                        for (k = 0; k < VWS_NDIMS; k++)
                            used[t][k] += live[j].d.v[k];
            for (t = (int)b.s; t < b.e; t++)
                for (k = 0; k < VWS_NDIMS; k++)
                    if (b.d.v[k] > 0 && used[t][k] + b.d.v[k] > cap.v[k])
                        fits = 0;
            ck_assert_int_eq(vws_slottable_fits(st, b.host, b.s, b.e, &b.d), fits);
            if (vws_slottable_book(st, b.host, b.s, b.e, &b.d) == 0) {
                ck_assert(fits);
                live[nlive++] = b;
                booked++;
            } else {
                ck_assert(!fits);
                refused++;
            }
            /* earliest() agrees with a scan of the model */
            {
                vws_time dur = vws_rng_range(&rng, 1, 20), want = VWS_TIME_NEVER;
                vws_time c;

                for (c = 0; c + dur <= HORIZON && want == VWS_TIME_NEVER; c++) {
                    int ok = 1;

                    for (t = (int)c; t < c + dur && ok; t++)
                        for (k = 0; k < VWS_NDIMS; k++)
                            if (b.d.v[k] > 0 &&
                                used[t][k] + (fits ? (t >= b.s && t < b.e ? b.d.v[k] : 0) : 0)
                                + b.d.v[k] > cap.v[k])
                                ok = 0;
                    if (ok)
                        want = c;
                }
                if (want != VWS_TIME_NEVER)
                    ck_assert_int_eq(vws_slottable_earliest(st, b.host, 0, dur, &b.d), want);
            }
        }
        ck_assert_msg(vws_slottable_check(st) == 0, "%s", vws_error_message());
    }
    ck_assert(booked > 100 && refused > 10);
    while (nlive) {
        nlive--;
        ck_assert_int_eq(vws_slottable_release(st, live[nlive].host, live[nlive].s,
                                               live[nlive].e, &live[nlive].d), 0);
    }
    ck_assert_int_eq(vws_slottable_steps(st), 0);
    vws_slottable_free(st);
}
END_TEST

Suite *
vws_suite_slottable(void)
{
    Suite *s = suite_create("slottable");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_book_and_query);
    tcase_add_test(tc, test_link_one_at_a_time);
    tcase_add_test(tc, test_forget);
    tcase_add_loop_test(tc, test_random_invariants, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
