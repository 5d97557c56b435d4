/*
 * check_cache.c — template caches: LRU and LFU eviction order, pinning,
 * entries still in transfer, refusals.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_sched.h"
#include "scheduler/cache.h"
#include "internal.h"

static void
add_ready(vws_cache *c, const char *name, int64_t mb, char ***ev, size_t *nev)
{
    ck_assert_int_eq(vws_cache_insert(c, name, mb, ev, nev), 0);
    ck_assert_int_eq(vws_cache_set_ready(c, name), 0);
}

static void
free_evicted(char **ev, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(ev[i]);
    free(ev);
}

START_TEST(test_lru_order)
{
    vws_cache *c = vws_cache_new(VWS_CACHE_LRU, 1800);
    char **ev = NULL;
    size_t nev = 0;

    add_ready(c, "a", 600, &ev, &nev);
    add_ready(c, "b", 600, &ev, &nev);
    add_ready(c, "c", 600, &ev, &nev);
    ck_assert_int_eq(vws_cache_used(c), 1800);
    /* a used again: b is now least recently used */
    ck_assert_int_eq(vws_cache_touch(c, "a"), 0);
    ck_assert_str_eq(vws_cache_victim(c)->name, "b");
    add_ready(c, "d", 600, &ev, &nev);
    ck_assert_int_eq(nev, 1);
    ck_assert_str_eq(ev[0], "b");
    ck_assert_ptr_null(vws_cache_lookup(c, "b"));
    /* next: c, then a, then d */
    add_ready(c, "e", 1200, &ev, &nev);
    ck_assert_int_eq(nev, 3);
    ck_assert_str_eq(ev[1], "c");
    ck_assert_str_eq(ev[2], "a");
    ck_assert_ptr_nonnull(vws_cache_lookup(c, "d"));
    ck_assert_int_eq(vws_cache_used(c), 1800);
    free_evicted(ev, nev);
    vws_cache_free(c);
}
END_TEST

START_TEST(test_lfu_order)
{
    vws_cache *c = vws_cache_new(VWS_CACHE_LFU, 1800);
    char **ev = NULL;
    size_t nev = 0;

    add_ready(c, "a", 600, &ev, &nev);   /* 1 use */
    add_ready(c, "b", 600, &ev, &nev);
    add_ready(c, "c", 600, &ev, &nev);
    vws_cache_touch(c, "a");
    vws_cache_touch(c, "a");             /* a: 3 uses */
    vws_cache_touch(c, "c");             /* c: 2 uses; b: 1 */
    ck_assert_str_eq(vws_cache_victim(c)->name, "b");
    add_ready(c, "d", 600, &ev, &nev);   /* evicts b; d has 1 use */
    ck_assert_str_eq(ev[0], "b");
    /* d (1 use) goes before c (2) even though c is older */
    add_ready(c, "e", 600, &ev, &nev);
    ck_assert_str_eq(ev[1], "d");
    /* equal uses: the least recently used goes first (e then c? c has 2) */
    vws_cache_touch(c, "e");             /* e: 2, c: 2, c older */
    add_ready(c, "f", 600, &ev, &nev);
    ck_assert_str_eq(ev[2], "c");
    ck_assert_ptr_nonnull(vws_cache_lookup(c, "a"));
    free_evicted(ev, nev);
    vws_cache_free(c);
}
END_TEST

START_TEST(test_pinning)
{
    vws_cache *c = vws_cache_new(VWS_CACHE_LRU, 1200);

    add_ready(c, "a", 600, NULL, NULL);
    add_ready(c, "b", 600, NULL, NULL);
    ck_assert_int_eq(vws_cache_pin(c, "a"), 0);
    /* a is the LRU but pinned: b goes */
    ck_assert_str_eq(vws_cache_victim(c)->name, "b");
    ck_assert_int_eq(vws_cache_insert(c, "c", 600, NULL, NULL), 0);
    ck_assert_ptr_null(vws_cache_lookup(c, "b"));
    /* c is still in transfer (not ready): neither can go */
    ck_assert_ptr_null(vws_cache_victim(c));
    ck_assert(!vws_cache_can_insert(c, 600));
    ck_assert_int_eq(vws_cache_insert(c, "d", 600, NULL, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_ptr_nonnull(vws_cache_lookup(c, "a"));
    ck_assert_ptr_nonnull(vws_cache_lookup(c, "c"));
    /* pins nest */
    ck_assert_int_eq(vws_cache_pin(c, "a"), 0);
    ck_assert_int_eq(vws_cache_unpin(c, "a"), 0);
    vws_cache_set_ready(c, "c");
    ck_assert_str_eq(vws_cache_victim(c)->name, "c");
    ck_assert_int_eq(vws_cache_unpin(c, "a"), 0);
    ck_assert_int_eq(vws_cache_unpin(c, "a"), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INTERNAL);
    ck_assert_str_eq(vws_cache_victim(c)->name, "a");
    vws_cache_free(c);
}
END_TEST

START_TEST(test_refusals)
{
    vws_cache *c = vws_cache_new(VWS_CACHE_LFU, 500);
    vws_cache *none = vws_cache_new(VWS_CACHE_NONE, 5000);
    vws_cache_policy p;

    ck_assert_int_eq(vws_cache_insert(c, "big", 600, NULL, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_int_eq(vws_cache_insert(c, "x", -1, NULL, NULL), -1);
    ck_assert_int_eq(vws_cache_insert(c, "x", 100, NULL, NULL), 0);
    ck_assert_int_eq(vws_cache_insert(c, "x", 100, NULL, NULL), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_EXISTS);
    ck_assert_int_eq(vws_cache_touch(c, "nope"), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_NOT_FOUND);
    ck_assert_int_eq(vws_cache_insert(none, "x", 1, NULL, NULL), -1);
    ck_assert_int_eq(vws_cache_remove(c, "x"), 0);
    ck_assert_int_eq(vws_cache_count(c), 0);
    ck_assert_int_eq(vws_cache_policy_parse("lfu", &p), 0);
    ck_assert_int_eq(p, VWS_CACHE_LFU);
    ck_assert_int_eq(vws_cache_policy_parse("LRU2", &p), -1);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "'LRU2'"));
    vws_cache_free(c);
    vws_cache_free(none);
}
END_TEST

Suite *
vws_suite_cache(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_lru_order);
    tcase_add_test(tc, test_lfu_order);
    tcase_add_test(tc, test_pinning);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}
