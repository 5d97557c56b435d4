/*
 * check_sched.h — the suites of the scheduler's Check test program and
 * the helpers they share.
 */
#ifndef VWS_CHECK_SCHED_H
#define VWS_CHECK_SCHED_H

#include <check.h>

Suite *vws_suite_slottable(void);
Suite *vws_suite_cache(void);
Suite *vws_suite_clock(void);
Suite *vws_suite_sched(void);
Suite *vws_suite_trace(void);

/* Write CONTENT (LEN bytes) to a new file in a per-run temp directory;
 * returns its path (static storage per call site is not needed: caller
 * frees). */
char *vws_test_file(const char *name, const char *content, size_t len);

#endif
