/*
 * policy/staging.c — the four image staging strategies of seed 000 §4.2.1
 * as a table: when each starts a transfer, and what it checks before
 * admitting a lease.
 *
 *   job-style   start at the lease start; checks nothing (the overhead is
 *               the client's problem: the baseline);
 *   jit         start at need_by - (the lease's transfer time on an idle
 *               link); refuses only what could not be staged even alone;
 *   aggressive  start at once; same check;
 *   hybrid      EDF on the link (sched.c books it); refuses a lease unless
 *               every transfer, old and new, still meets its deadline.
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scheduler/sched-priv.h"
#include "internal.h"

static vws_time
start_inside(vws_time now, vws_time need_by, vws_time total)
{
    return need_by > now ? need_by : now;
}

static vws_time
start_jit(vws_time now, vws_time need_by, vws_time total)
{
    return need_by - total > now ? need_by - total : now;
}

static vws_time
start_now(vws_time now, vws_time need_by, vws_time total)
{
    return now;
}

static int
admit_anything(vws_sched *s, vws_lease *l, vws_time now, vws_time need_by,
               vws_time total)
{
    return 0;
}

static int
admit_alone(vws_sched *s, vws_lease *l, vws_time now, vws_time need_by,
            vws_time total)
{
    if (now + total > need_by) {
        snprintf(l->reason, sizeof(l->reason),
                 "preparation needs %.1f s but the images are needed in "
                 "%.1f s", (double)total / 1000.0,
                 (double)(need_by - now) / 1000.0);
        return -1;
    }
    return 0;
}

static const vws_staging strategies[] = {
    { "job-style", 1, 0, start_inside, admit_anything },
    { "jit", 0, 0, start_jit, admit_alone },
    { "aggressive", 0, 0, start_now, admit_alone },
    /* hybrid: admission is the EDF plan itself (policy/edf.c) */
    { "hybrid", 0, 1, start_now, admit_alone },
};

const char *const vws_staging_names[] = {
    "job-style", "jit", "aggressive", "hybrid", NULL
};

const vws_staging *
vws_staging_find(const char *name)
{
    size_t i;

    for (i = 0; i < VWS_N_ELEMENTS(strategies); i++)
        if (!strcmp(strategies[i].name, name))
            return &strategies[i];
    vws_report_error(VWS_ERR_INVALID_ARG,
                     "unknown staging strategy '%s' (job-style, jit, "
                     "aggressive, hybrid)", name);
    return NULL;
}
