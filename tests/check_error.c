/*
 * check_error.c — the error type and the logger: one report at its origin
 * with module, file, function and line; per-thread; system errors carry
 * strerror; the log filters by level, writes whole lines to a file, and
 * follows a rotated file after vws_log_reopen().
 */
#define VWS_MODULE "errtest"
#include <config.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int
fails_here(void)
{
    vws_report_error(VWS_ERR_CONFIG, "cannot parse '%s'", "x.conf");
    return -1;
}

START_TEST(test_report_origin)
{
    const vws_error *e;
    int line = __LINE__ - 7;   /* the vws_report_error line above */

    vws_error_reset();
    ck_assert_ptr_null(vws_error_last());
    ck_assert_str_eq(vws_error_message(), "unknown error");
    ck_assert_int_eq(fails_here(), -1);
    e = vws_error_last();
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->code, VWS_ERR_CONFIG);
    ck_assert_str_eq(e->module, "errtest");
    ck_assert_str_eq(e->func, "fails_here");
    ck_assert_int_eq(e->line, line);
    ck_assert_ptr_nonnull(strstr(e->file, "check_error.c"));
    ck_assert_str_eq(e->message, "cannot parse 'x.conf'");
    ck_assert_str_eq(vws_error_code_name(e->code), "config");
    ck_assert_str_eq(vws_error_code_name((vws_error_code)999), "unknown");
    vws_error_reset();
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_OK);
}
END_TEST

START_TEST(test_system_error)
{
    errno = ENOENT;
    vws_report_system_error("cannot open '%s'", "/nope");
    ck_assert_str_eq(vws_error_message(), "cannot open '/nope': No such file or directory");
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_SYSTEM);
    ck_assert_int_eq(errno, ENOENT);   /* preserved for the caller */
    errno = ENOMEM;
    vws_report_system_error("cannot grow");
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_NOMEM);
}
END_TEST

START_TEST(test_long_message_truncated)
{
    char big[4000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vws_report_error(VWS_ERR_INVALID, "%s", big);
    ck_assert_uint_eq(strlen(vws_error_message()), sizeof(((vws_error *)0)->message) - 1);
}
END_TEST

static void *
other_thread(void *arg)
{
    /* a fresh thread starts with no error and its reports stay its own */
    if (vws_error_last() != NULL)
        return (void *)1;
    vws_report_error(VWS_ERR_TIMEOUT, "thread error");
    return vws_error_code_last() == VWS_ERR_TIMEOUT ? NULL : (void *)2;
}

START_TEST(test_per_thread)
{
    pthread_t t;
    void *r;

    vws_report_error(VWS_ERR_DENIED, "main error");
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &r), 0);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(vws_error_message(), "main error");
}
END_TEST

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    struct vws_buf b = VWS_BUF_INIT;
    char buf[512];
    size_t n;

    if (!f)
        return vws_strdup("");
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        vws_buf_add(&b, buf, n);
    fclose(f);
    return vws_buf_detach(&b, NULL);
}

START_TEST(test_log_file_levels_reopen)
{
    char dir[] = "/tmp/vws-log-XXXXXX";
    char *path, *rotated, *text;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    path = vws_asprintf("%s/vws.log", dir);
    rotated = vws_asprintf("%s/vws.log.1", dir);
    vws_log_set_ident("tester");
    vws_log_set_level(VWS_LOG_INFO);
    ck_assert_int_eq(vws_log_open(VWS_LOG_TO_FILE, path), 0);
    VWS_INFO("first %d", 1);
    VWS_DEBUG("hidden at info level");
    VWS_ERROR("an error with '%s'", "quotes");
    ck_assert_int_eq(rename(path, rotated), 0);
    ck_assert_int_eq(vws_log_reopen(), 0);
    VWS_WARN("after rotation");
    vws_log_close();

    text = slurp(rotated);
    ck_assert_ptr_nonnull(strstr(text, " tester["));
    ck_assert_ptr_nonnull(strstr(text, "] info errtest: first 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "] error errtest: an error with 'quotes'\n"));
    ck_assert_ptr_null(strstr(text, "hidden"));
    ck_assert_ptr_null(strstr(text, "after rotation"));
    ck_assert_int_eq(text[4], '-');   /* starts with a timestamp 2026-... */
    free(text);
    text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "] warn errtest: after rotation\n"));
    free(text);

    ck_assert_int_eq(vws_log_open(VWS_LOG_TO_FILE, "/nonexistent/dir/x.log"), -1);
    ck_assert_str_eq(vws_error_message(),
                     "cannot open log file '/nonexistent/dir/x.log': No such file or directory");
    ck_assert_int_eq(vws_log_open(VWS_LOG_TO_FILE, NULL), -1);
    ck_assert_int_eq(vws_log_open(VWS_LOG_TO_SYSLOG, NULL), 0);
    VWS_INFO("a line for syslog (harmless without a syslog daemon)");
    vws_log_close();

    unlink(path);
    unlink(rotated);
    rmdir(dir);
    free(path);
    free(rotated);
}
END_TEST

START_TEST(test_level_names)
{
    ck_assert_int_eq(vws_log_level_parse("debug"), VWS_LOG_DEBUG);
    ck_assert_int_eq(vws_log_level_parse("warning"), VWS_LOG_WARN);
    ck_assert_int_eq(vws_log_level_parse("loud"), -1);
    ck_assert_str_eq(vws_log_level_name(VWS_LOG_ERROR), "error");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_report_origin);
    tcase_add_test(tc, test_system_error);
    tcase_add_test(tc, test_long_message_truncated);
    tcase_add_test(tc, test_per_thread);
    tcase_add_test(tc, test_log_file_levels_reopen);
    tcase_add_test(tc, test_level_names);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
