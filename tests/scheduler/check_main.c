/*
 * check_main.c — runs the scheduler's suites (slot table, caches, clocks
 * and network, scheduler, traces).
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_sched.h"
#include "internal.h"

static char tmpdir[64];

char *
vws_test_file(const char *name, const char *content, size_t len)
{
    char *path;
    FILE *f;

    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/vws-sched-XXXXXX");
        if (!mkdtemp(tmpdir))
            abort();
    }
    path = vws_asprintf("%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    if (!f)
        abort();
    if (len && fwrite(content, 1, len, f) != len)
        abort();
    fclose(f);
    return path;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    vws_log_set_level(VWS_LOG_ERROR);     /* expected warnings stay quiet */
    sr = srunner_create(vws_suite_slottable());
    srunner_add_suite(sr, vws_suite_cache());
    srunner_add_suite(sr, vws_suite_clock());
    srunner_add_suite(sr, vws_suite_sched());
    srunner_add_suite(sr, vws_suite_trace());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (tmpdir[0]) {
        char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);

        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
        free(cmd);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
