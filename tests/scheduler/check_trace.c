/*
 * check_trace.c — reading workloads: the paper format and its hostile
 * variants (each a line-numbered error), SWF with filters and garbage,
 * the real DataStar extraction of Traces III/IV, the AR generator, and
 * site files.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_sched.h"
#include "scheduler/site.h"
#include "scheduler/trace.h"
#include "internal.h"

#define GOOD "26;nfs:///img/600M_4.img;600;4;512;50;RW;277;60;AR\n"

START_TEST(test_paper_good)
{
    const char *text = "# a comment\n\n" GOOD
        "  0 ; nfs:///img/a.img ; 600 ; 2 ; 512 ; 50 ; RW ; NULL ; 26 ; BATCH  \n"
        "30;x;1;1;1;1;RO;0;1;AR # trailing comment\n";
    char *p = vws_test_file("good.trace", text, strlen(text));
    vws_trace t = VWS_TRACE_INIT;

    ck_assert_int_eq(vws_trace_load_paper(&t, p, 0), 0);
    ck_assert_int_eq(t.n, 3);
    /* sorted by submit */
    ck_assert_int_eq(t.e[0].submit, 0);
    ck_assert_int_eq(t.e[0].req.type, VWS_LEASE_ASAP);
    ck_assert_int_eq(t.e[0].req.duration, VWS_SEC(26));
    ck_assert_str_eq(t.e[0].req.image, "nfs:///img/a.img");
    ck_assert_int_eq(t.e[1].req.type, VWS_LEASE_AR);
    ck_assert_int_eq(t.e[1].req.start, VWS_SEC(26 + 277));
    ck_assert_int_eq(t.e[1].req.end, VWS_SEC(26 + 277 + 60));
    ck_assert_int_eq(t.e[1].req.nodes, 4);
    ck_assert_int_eq(t.e[1].line, 3);
    vws_trace_release(&t);
    /* duration override applies to AR only */
    ck_assert_int_eq(vws_trace_load_paper(&t, p, 1800), 0);
    ck_assert_int_eq(t.e[1].req.end - t.e[1].req.start, VWS_SEC(1800));
    ck_assert_int_eq(t.e[0].req.duration, VWS_SEC(26));
    vws_trace_release(&t);
    free(p);
}
END_TEST

static const struct {
    const char *text;
    const char *want;     /* substring of the error */
} bad_lines[] = {
    { "26;img;600;4;512;50;RW;277;60\n", ":2: 9 fields, expected 10 (missing 'tag')" },
    { "26;img;600;4;512;50;RW;277;60;AR;extra\n", ":2: more than 10 fields (unknown field 'extra')" },
    { "26;img;600;four;512;50;RW;277;60;AR\n", ":2: field 'nodes': 'four' is not an integer" },
    { "-5;img;600;4;512;50;RW;277;60;AR\n", ":2: field 'submit_time' is negative" },
    { "26;img;600;4;512;50;RW;-1;60;AR\n", ":2: field 'deadline' is negative" },
    { "26;img;600;4;512;50;RW;277;99999999999999999999;AR\n", ":2: field 'duration': '99999999999999999999' is not an integer (out of range)" },
    { "26;img;600;4;512;50;RW;277;9999999999999;AR\n", ":2: field 'duration' is too large" },
    { "26;img;600;4;512;50;RW;277;60;XX\n", ":2: field 'tag' must be AR or BATCH" },
    { "26;;600;4;512;50;RW;277;60;AR\n", ":2: field 'image_uri' is empty" },
    { "26;img;600;4;;50;RW;277;60;AR\n", ":2: field 'memory_MB' is empty" },
    { "26;img;600;0;512;50;RW;277;60;AR\n", ":2: field 'nodes' is 0" },
    { "26;img;600;4;512;50;WX;277;60;AR\n", ":2: field 'mode' must be RW or RO" },
    { "26;img;600;4;512;50;RW;277;0;AR\n", ":2: field 'duration' is 0" },
    { "26;img;600;4;512;50;RW;277;60;AR\x00junk\n", ":2: NUL byte" },
    { "garbage\n", ":2: 1 fields, expected 10" },
    { "1e3;img;600;4;512;50;RW;277;60;AR\n", ":2: field 'submit_time': '1e3' is not an integer" },
};

START_TEST(test_paper_bad)
{
    char *text, *p;
    vws_trace t = VWS_TRACE_INIT;
    size_t len;
    const char *line = bad_lines[_i].text;

    /* the NUL case has an explicit length */
    len = _i == 13 ? 37 : strlen(line);
    text = vws_malloc(strlen(GOOD) + len + 1);
    memcpy(text, GOOD, strlen(GOOD));
    memcpy(text + strlen(GOOD), line, len);
    p = vws_test_file("bad.trace", text, strlen(GOOD) + len);
    ck_assert_int_eq(vws_trace_load_paper(&t, p, 0), -1);
    ck_assert_msg(strstr(vws_error_message(), bad_lines[_i].want) != NULL,
                  "case %d: got '%s'", _i, vws_error_message());
    ck_assert_msg(strstr(vws_error_message(), "bad.trace:") != NULL, "%s",
                  vws_error_message());
    vws_trace_release(&t);
    free(text);
    free(p);
}
END_TEST

START_TEST(test_paper_huge)
{
    size_t n = VWS_TRACE_MAX_LINE + 100, i;
    char *text = vws_malloc(n + 2);
    vws_trace t = VWS_TRACE_INIT;
    char *p;
    struct vws_buf b = VWS_BUF_INIT;

    /* one line longer than the limit */
    memset(text, 'x', n);
    text[n] = '\n';
    p = vws_test_file("long.trace", text, n + 1);
    ck_assert_int_eq(vws_trace_load_paper(&t, p, 0), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "long.trace:1: line longer"));
    free(p);
    free(text);
    /* a big valid file parses (bounded: 50 000 lines) */
    for (i = 0; i < 50000; i++)
        vws_buf_addf(&b, "%zu;img%zu;600;2;512;50;RW;300;60;AR\n", i, i % 7);
    p = vws_test_file("big.trace", b.s, b.len);
    ck_assert_int_eq(vws_trace_load_paper(&t, p, 0), 0);
    ck_assert_int_eq(t.n, 50000);
    vws_trace_release(&t);
    vws_buf_release(&b);
    free(p);
    /* a missing file */
    ck_assert_int_eq(vws_trace_load_paper(&t, "/nonexistent/x.trace", 0), -1);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "cannot open trace '/nonexistent/x.trace'"));
}
END_TEST

#define SWF_HDR "; Version: 2.2\n; Computer: test\n"

START_TEST(test_swf)
{
    const char *text = SWF_HDR
        "1 100 5 60 8 -1 -1 8 120 -1 1 1 1 -1 1 -1 -1 -1\n"
        "2 110 5 30 -1 -1 -1 16 120 -1 1 1 1 -1 1 -1 -1 -1\n"
        "3 120 5 30 4 -1 -1 4 120 -1 0 1 1 -1 1 -1 -1 -1\n"      /* failed */
        "4 130 5 30 4 -1 -1 4 120 -1 1 1 1 -1 2 -1 -1 -1\n"      /* queue 2 */
        "5 140 5 -1 4 -1 -1 4 120 -1 1 1 1 -1 1 -1 -1 -1\n"      /* no run time */
        "6 150 5 40 6 -1 -1 -1 120 -1 1 1 1 -1 1 -1 -1 -1\n";    /* requested -1 */
    char *p = vws_test_file("t.swf", text, strlen(text));
    vws_swf_filter f;
    vws_trace t = VWS_TRACE_INIT;
    size_t skipped = 0;

    vws_swf_filter_defaults(&f);
    f.queues = "1";
    f.statuses = "1";
    f.proc_scale = 4;
    f.images = "1";
    ck_assert_int_eq(vws_trace_load_swf(&t, p, &f, &skipped), 0);
    ck_assert_int_eq(t.n, 3);
    ck_assert_int_eq(skipped, 1);
    ck_assert_int_eq(t.e[0].submit, 0);                 /* shifted */
    ck_assert_int_eq(t.e[0].req.nodes, 2);              /* 8 / 4 */
    ck_assert_int_eq(t.e[1].req.nodes, 4);              /* 16 / 4 */
    ck_assert_int_eq(t.e[1].submit, VWS_SEC(10));
    ck_assert_int_eq(t.e[2].req.nodes, 2);              /* 6 allocated -> 2 */
    ck_assert_int_eq(t.e[0].req.duration, VWS_SEC(60));
    ck_assert_str_eq(t.e[0].req.image, "img1");
    vws_trace_release(&t);
    /* job-number and time ranges */
    f.job_min = 2;
    f.job_max = 6;
    f.time_min = 100;
    f.time_max = 145;
    ck_assert_int_eq(vws_trace_load_swf(&t, p, &f, NULL), 0);
    ck_assert_int_eq(t.n, 1);
    vws_trace_release(&t);
    /* bad filters */
    vws_swf_filter_defaults(&f);
    f.queues = "1,x";
    ck_assert_int_eq(vws_trace_load_swf(&t, p, &f, NULL), -1);
    vws_swf_filter_defaults(&f);
    f.images = "1,-2";
    ck_assert_int_eq(vws_trace_load_swf(&t, p, &f, NULL), -1);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "image distribution"));
    free(p);
}
END_TEST

START_TEST(test_swf_garbage)
{
    static const struct { const char *line, *want; } cases[] = {
        { "1 2 3\n", "g.swf:3: 3 fields, SWF has 18" },
        { "1 100 5 60 8 -1 -1 8 120 -1 1 1 1 -1 1 -1 -1 -1 19\n", "g.swf:3: more than 18 fields" },
        { "1 100 5 6x 8 -1 -1 8 120 -1 1 1 1 -1 1 -1 -1 -1\n", "g.swf:3: SWF field 4 is not a number" },
        { "1 100 5 60 8 -1 -1 8 120 -1 1 1 1 -7 1 -1 -1 -1\n", "g.swf:3: SWF field 14 out of range" },
        { "\x01\x02\xff\xfe binary\n", "g.swf:3: SWF field 1 is not a number" },
    };
    size_t i;

    for (i = 0; i < VWS_N_ELEMENTS(cases); i++) {
        char *text = vws_asprintf("%s%s", SWF_HDR, cases[i].line);
        char *p = vws_test_file("g.swf", text, strlen(text));
        vws_swf_filter f;
        vws_trace t = VWS_TRACE_INIT;

        vws_swf_filter_defaults(&f);
        ck_assert_int_eq(vws_trace_load_swf(&t, p, &f, NULL), -1);
        ck_assert_msg(strstr(vws_error_message(), cases[i].want) != NULL,
                      "case %zu: %s", i, vws_error_message());
        vws_trace_release(&t);
        free(text);
        free(p);
    }
}
END_TEST

/* Traces III/IV are jobs 21543-21662 of the express queue that completed,
 * nodes = processors / 4: our reading of the log must give the same
 * submissions, sizes and durations as the published trace. */
START_TEST(test_datastar_extraction)
{
    const char *src = getenv("VWS_SRCDIR");
    char *swf, *paper;
    vws_swf_filter f;
    vws_trace a = VWS_TRACE_INIT, b = VWS_TRACE_INIT;
    size_t i;
    FILE *probe;

    if (!src)
        src = ".";
    swf = vws_asprintf("%s/../shared/data/traces/SDSC-DS-2004-2.1-cln.swf.gz", src);
    paper = vws_asprintf("%s/../shared/data/traces/test_sdsc_uniform.trace", src);
    probe = fopen(swf, "r");
    if (!probe) {
        fprintf(stderr, "check_sched: %s not found, extraction test skipped\n", swf);
        free(swf);
        free(paper);
        return;
    }
    fclose(probe);
    vws_swf_filter_defaults(&f);
    f.queues = "1";
    f.statuses = "1";
    f.job_min = 21543;
    f.job_max = 21662;
    f.proc_scale = 4;
    ck_assert_msg(vws_trace_load_swf(&a, swf, &f, NULL) == 0, "%s", vws_error_message());
    ck_assert_msg(vws_trace_load_paper(&b, paper, 0) == 0, "%s", vws_error_message());
    ck_assert_int_eq(a.n, 62);
    ck_assert_int_eq(a.n, b.n);
    for (i = 0; i < a.n; i++) {
        ck_assert_int_eq(a.e[i].submit, b.e[i].submit);
        ck_assert_int_eq(a.e[i].req.duration, b.e[i].req.duration);
        ck_assert_int_eq(a.e[i].req.nodes, b.e[i].req.nodes);
    }
    vws_trace_release(&a);
    vws_trace_release(&b);
    free(swf);
    free(paper);
}
END_TEST

START_TEST(test_generator)
{
    vws_trace t = VWS_TRACE_INIT;
    vws_argen g;
    size_t i;

    vws_argen_defaults(&g);
    g.count = 200;
    g.window_s = 100;
    g.every_s = 900;
    ck_assert_int_eq(vws_trace_generate_ar(&t, &g), 0);
    ck_assert_int_eq(t.n, 200);
    for (i = 0; i < t.n; i++) {
        const vws_lease_request *r = &t.e[i].req;

        ck_assert_int_eq(r->type, VWS_LEASE_AR);
        ck_assert_int_lt((r->start / 1000) % 900, 100);   /* in a window */
        ck_assert(r->start >= t.e[i].submit);
        ck_assert_int_eq(r->end - r->start, VWS_SEC(1800));
        ck_assert(r->nodes >= 2 && r->nodes <= 4);
        if (i)
            ck_assert(t.e[i].submit >= t.e[i - 1].submit);
    }
    vws_trace_release(&t);
    g.nodes_min = 5;
    g.nodes_max = 4;
    ck_assert_int_eq(vws_trace_generate_ar(&t, &g), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_site_file)
{
    const char *good = "[site]\nhosts = 64 # comment\ncache_policy = lfu\n"
                       "cache_mb=1800\nbandwidth_mbps = 1000\nlocal_copy_s = 0\n";
    const char *bad[] = {
        "hosts = 8\nhots = 9\n", "x.site:2: unknown site option 'hots'",
        "hosts = -1\n", "x.site:1: 'hosts' must be an integer in [1, 1000000]",
        "cache_policy = fifo\n", "x.site:1: cache_policy must be lru, lfu or none",
        "bandwidth_mbps = fast\n", "x.site:1: 'bandwidth_mbps' must be a positive number",
        "just words\n", "x.site:1: expected 'key = value'",
    };
    vws_site s;
    char *p;
    size_t i;

    vws_site_defaults(&s);
    p = vws_test_file("good.site", good, strlen(good));
    ck_assert_int_eq(vws_site_load(&s, p), 0);
    ck_assert_int_eq(s.hosts, 64);
    ck_assert_int_eq(s.cache_policy, VWS_CACHE_LFU);
    ck_assert_int_eq(s.cache_mb, 1800);
    ck_assert_int_eq(s.local_copy, 0);
    ck_assert_int_eq(vws_site_transfer_time(&s, 600), 4800);
    free(p);
    for (i = 0; i < VWS_N_ELEMENTS(bad); i += 2) {
        p = vws_test_file("x.site", bad[i], strlen(bad[i]));
        ck_assert_int_eq(vws_site_load(&s, p), -1);
        ck_assert_msg(strstr(vws_error_message(), bad[i + 1]) != NULL, "%s",
                      vws_error_message());
        free(p);
    }
}
END_TEST

Suite *
vws_suite_trace(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_paper_good);
    tcase_add_loop_test(tc, test_paper_bad, 0, (int)VWS_N_ELEMENTS(bad_lines));
    tcase_add_test(tc, test_paper_huge);
    tcase_add_test(tc, test_swf);
    tcase_add_test(tc, test_swf_garbage);
    tcase_add_test(tc, test_datastar_extraction);
    tcase_add_test(tc, test_generator);
    tcase_add_test(tc, test_site_file);
    suite_add_tcase(s, tc);
    return s;
}
