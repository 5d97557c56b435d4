/*
 * vws-sim.c — run the scheduler on a simulated site against a trace.
 *
 *   vws-sim [options] TRACE          paper format, or SWF (*.swf, *.swf.gz)
 *   vws-sim --generate-ar N [options]
 *
 * Each strategy named (or all four) runs on its own fresh site; the summary
 * of each is printed, and per-lease records, the "MB deployed" series and
 * gnuplot figures are written on request.  See docs/vws-sim.1.
 */
#define VWS_MODULE "sim"
#include <config.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "sched.h"
#include "trace.h"
#include "internal.h"

struct opts {
    vws_site site;
    const char *strategy;
    const char *format;
    int64_t duration;
    vws_swf_filter swf;
    vws_argen gen;
    vws_asapgen agen;
    int generate;
    const char *write_trace;
    const char *csv, *json, *series, *plot;
    int64_t mark;
    int no_network;
    int quiet;
    int check;
    int stats;
};

struct submit_ev {
    vws_sched *s;
    const vws_trace_entry *e;
};

static void
ev_submit(void *arg, uint64_t tag, vws_time now)
{
    struct submit_ev *ev = arg;
    vws_lease *l = vws_sched_submit(ev->s, &ev->e->req);

    if (!l)
        fprintf(stderr, "vws-sim: line %ld: %s\n", ev->e->line,
                vws_error_message());
}

static char *
path_for(const char *base, const char *strategy, int many)
{
    const char *dot;

    if (!many)
        return vws_strdup(base);
    dot = strrchr(base, '.');
    if (!dot || strchr(dot, '/'))
        return vws_asprintf("%s-%s", base, strategy);
    return vws_asprintf("%.*s-%s%s", (int)(dot - base), base, strategy, dot);
}

static int
write_file(const char *path, int (*fn)(void *, FILE *), void *arg)
{
    FILE *f = fopen(path, "w");
    int ret;

    if (!f) {
        vws_report_system_error("cannot write '%s'", path);
        return -1;
    }
    ret = fn(arg, f);
    if (fclose(f) != 0 || ret < 0) {
        vws_report_system_error("cannot write '%s'", path);
        return -1;
    }
    return 0;
}

struct out_ctx {
    vws_sched *s;
    vws_report *r;
    vws_summary *m;
};

static int w_csv(void *a, FILE *f) { return vws_report_write_csv(((struct out_ctx *)a)->s, f); }
static int w_json(void *a, FILE *f) { struct out_ctx *c = a; return vws_report_write_json(c->s, c->m, f); }
static int w_series(void *a, FILE *f) { return vws_report_write_series(((struct out_ctx *)a)->r, f); }

static int
plot(const char *prefix, const char *strategy, struct out_ctx *c)
{
    char *csv = vws_asprintf("%s-%s.csv", prefix, strategy);
    char *ser = vws_asprintf("%s-%s-series.csv", prefix, strategy);
    char *gp = vws_asprintf("%s-%s.gp", prefix, strategy);
    const char *term[2][2] = { { "pngcairo size 800,500", "png" },
                               { "svg size 800,500", "svg" } };
    FILE *f;
    int i, ret = -1;

    if (write_file(csv, w_csv, c) < 0 || write_file(ser, w_series, c) < 0)
        goto out;
    f = fopen(gp, "w");
    if (!f) {
        vws_report_system_error("cannot write '%s'", gp);
        goto out;
    }
    fprintf(f, "set datafile separator ','\nset key autotitle columnhead\n"
            "set key bottom right opaque\nset offsets 1, 1, 0, 0\n");
    for (i = 0; i < 2; i++) {
        fprintf(f, "set terminal %s\n", term[i][0]);
        fprintf(f, "set output '%s-%s-satisfaction.%s'\n", prefix, strategy, term[i][1]);
        fprintf(f, "set title 'Client satisfaction (%s)'\nset xlabel 'lease'\n"
                "set ylabel 'satisfaction (%%)'\nset yrange [0:105]\n"
                "plot '%s' using 1:($16*100) with impulses lw 3 title '%s'\n",
                strategy, csv, strategy);
        fprintf(f, "set output '%s-%s-deployed.%s'\n", prefix, strategy, term[i][1]);
        fprintf(f, "set title 'MB deployed (%s)'\nset xlabel 'time (s)'\n"
                "set ylabel 'MB'\nset autoscale y\n"
                "plot '%s' using 1:2 with steps title 'deployed', "
                "'' using 1:3 with steps title 'transferred'\n", strategy, ser);
    }
    fclose(f);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char *cmd = vws_asprintf("gnuplot '%s'", gp);

        if (system(cmd) != 0)
            fprintf(stderr, "vws-sim: gnuplot failed on '%s'\n", gp);
        free(cmd);
    } else {
        fprintf(stderr, "vws-sim: gnuplot not found; script left in '%s'\n", gp);
    }
    ret = 0;
out:
    free(csv);
    free(ser);
    free(gp);
    return ret;
}

static int
run_one(const struct opts *o, const vws_trace *t, const char *strategy,
        int many)
{
    vws_clock *clock = vws_clock_new_simulated(0);
    vws_sched *s = vws_sched_new(&o->site, clock, strategy, !o->no_network);
    struct submit_ev *ev;
    vws_report rep;
    vws_summary m;
    struct out_ctx c;
    struct timespec t0, t1;
    size_t i;
    int ret = -1;

    if (!s) {
        vws_clock_free(clock);
        return -1;
    }
    vws_report_init(&rep);
    vws_report_attach(&rep, s);
    ev = vws_calloc(t->n ? t->n : 1, sizeof(*ev));
    for (i = 0; i < t->n; i++) {
        ev[i].s = s;
        ev[i].e = &t->e[i];
        vws_clock_at(clock, t->e[i].submit, ev_submit, &ev[i], 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (vws_clock_step(clock)) {
        if (o->check && vws_sched_check(s) < 0) {
            fprintf(stderr, "vws-sim: invariant broken: %s\n",
                    vws_error_message());
            goto out;
        }
        if ((vws_clock_events_run(clock) & 0xffff) == 0)
            vws_sched_compact(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (o->stats) {
        struct rusage ru;
        double wall = (double)(t1.tv_sec - t0.tv_sec) +
                      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        uint64_t nev = vws_clock_events_run(clock);

        getrusage(RUSAGE_SELF, &ru);
        printf("stats %s: %zu leases, %" PRIu64 " events, %.3f s, %.3f us/event, "
               "peak RSS %ld MB\n", strategy, t->n, nev, wall,
               nev ? wall * 1e6 / (double)nev : 0.0, ru.ru_maxrss / 1024);
    }
    vws_report_summarize(s, &m);
    if (!o->quiet) {
        vws_report_print_summary(&m, stdout);
        if (o->mark > 0)
            printf("at %" PRId64 " s        %.1f MB deployed, %.1f MB transferred\n",
                   o->mark, vws_report_deployed_at(&rep, VWS_SEC(o->mark), 0),
                   vws_report_deployed_at(&rep, VWS_SEC(o->mark), 1));
        printf("\n");
    }
    c = (struct out_ctx){ s, &rep, &m };
    if (o->csv) {
        char *p = path_for(o->csv, strategy, many);
        int r = write_file(p, w_csv, &c);

        free(p);
        if (r < 0)
            goto out;
    }
    if (o->json) {
        char *p = path_for(o->json, strategy, many);
        int r = write_file(p, w_json, &c);

        free(p);
        if (r < 0)
            goto out;
    }
    if (o->series) {
        char *p = path_for(o->series, strategy, many);
        int r = write_file(p, w_series, &c);

        free(p);
        if (r < 0)
            goto out;
    }
    if (o->plot && plot(o->plot, strategy, &c) < 0)
        goto out;
    ret = 0;
out:
    free(ev);
    vws_report_release(&rep);
    vws_sched_free(s);
    vws_clock_free(clock);
    return ret;
}

static void
usage(FILE *f)
{
    fprintf(f,
"usage: vws-sim [options] TRACE\n"
"       vws-sim --generate-ar N [options]\n"
"site:\n"
"  --site FILE            site file (key = value)\n"
"  --set KEY=VALUE        one site option (hosts, vms_per_host, memory_mb,\n"
"                         cpu_pct, io_slots, bandwidth_mbps, local_copy_s,\n"
"                         cache_policy, cache_mb, dedup)\n"
"scheduling:\n"
"  --strategy NAME        job-style, jit, aggressive, hybrid or all [all]\n"
"  --no-network           transfers take their estimated time (no sharing)\n"
"trace:\n"
"  --format paper|swf     default: swf for *.swf and *.swf.gz, else paper\n"
"  --duration S           replace AR durations (paper: 1800)\n"
"  --swf-queue LIST --swf-status LIST --swf-jobs A-B --swf-time A-B\n"
"  --swf-scale N          nodes = processors / N, rounded up [1]\n"
"  --images N|W1,W2,...   image distribution [6]; --image-mb MB [600]\n"
"  --seed N               random seed [1]\n"
"  --generate-ar N        generate N AR requests instead of reading a trace\n"
"  --gen-span S --gen-nodes A-B --gen-lead A-B --gen-window W:EVERY\n"
"  --generate-asap SPAN   ASAP stress trace over SPAN seconds (seed 000 5.3)\n"
"  --gen-interval A-B --gen-duration A-B   its gaps and durations (s)\n"
"  --write-trace FILE     write the trace (paper format) and continue\n"
"output:\n"
"  --csv FILE --json FILE per-lease records (+ summary in JSON)\n"
"  --series FILE          MB deployed/transferred over time (CSV)\n"
"  --plot PREFIX          CSVs, a gnuplot script, PNG and SVG figures\n"
"  --mark S               print MB deployed at S seconds\n"
"  --check                verify scheduler invariants after every event\n"
"  --stats                print events, wall time, cost per event, peak RSS\n"
"  --quiet                no summary\n");
}

static int
parse_range(const char *s, int64_t *a, int64_t *b, char sep)
{
    const char *d = strchr(s, sep);
    char *x;
    int r;

    if (!d)
        return -1;
    x = vws_strndup(s, (size_t)(d - s));
    r = vws_parse_i64(x, a) < 0 || vws_parse_i64(d + 1, b) < 0 || *a > *b ||
        *a < 0 ? -1 : 0;
    free(x);
    return r;
}

static int
parse_num(const char *opt, const char *s, int64_t min, int64_t *out)
{
    if (vws_parse_i64(s, out) < 0 || *out < min) {
        fprintf(stderr, "vws-sim: %s needs an integer >= %lld, not '%s'\n",
                opt, (long long)min, s);
        return -1;
    }
    return 0;
}

enum {
    O_SITE = 256, O_SET, O_STRATEGY, O_NONET, O_FORMAT, O_DURATION, O_QUEUE,
    O_STATUS, O_JOBS, O_TIME, O_SCALE, O_IMAGES, O_IMAGEMB, O_SEED, O_GEN,
    O_GSPAN, O_GNODES, O_GLEAD, O_GWIN, O_WRITE, O_CSV, O_JSON, O_SERIES,
    O_PLOT, O_MARK, O_QUIET, O_CHECK, O_HELP, O_GASAP, O_GINT, O_GDUR,
    O_STATS
};

int
main(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "site", 1, NULL, O_SITE }, { "set", 1, NULL, O_SET },
        { "strategy", 1, NULL, O_STRATEGY }, { "no-network", 0, NULL, O_NONET },
        { "format", 1, NULL, O_FORMAT }, { "duration", 1, NULL, O_DURATION },
        { "swf-queue", 1, NULL, O_QUEUE }, { "swf-status", 1, NULL, O_STATUS },
        { "swf-jobs", 1, NULL, O_JOBS }, { "swf-time", 1, NULL, O_TIME },
        { "swf-scale", 1, NULL, O_SCALE }, { "images", 1, NULL, O_IMAGES },
        { "image-mb", 1, NULL, O_IMAGEMB }, { "seed", 1, NULL, O_SEED },
        { "generate-ar", 1, NULL, O_GEN }, { "gen-span", 1, NULL, O_GSPAN },
        { "gen-nodes", 1, NULL, O_GNODES }, { "gen-lead", 1, NULL, O_GLEAD },
        { "gen-window", 1, NULL, O_GWIN }, { "write-trace", 1, NULL, O_WRITE },
        { "csv", 1, NULL, O_CSV }, { "json", 1, NULL, O_JSON },
        { "series", 1, NULL, O_SERIES }, { "plot", 1, NULL, O_PLOT },
        { "mark", 1, NULL, O_MARK }, { "quiet", 0, NULL, O_QUIET },
        { "check", 0, NULL, O_CHECK }, { "help", 0, NULL, O_HELP },
        { "generate-asap", 1, NULL, O_GASAP }, { "stats", 0, NULL, O_STATS },
        { "gen-interval", 1, NULL, O_GINT }, { "gen-duration", 1, NULL, O_GDUR },
        { NULL, 0, NULL, 0 }
    };
    struct opts o;
    vws_trace t = VWS_TRACE_INIT;
    int c, ret = 1, i;
    int64_t v;

    vws_log_set_ident("vws-sim");
    memset(&o, 0, sizeof(o));
    vws_site_defaults(&o.site);
    vws_swf_filter_defaults(&o.swf);
    vws_argen_defaults(&o.gen);
    vws_asapgen_defaults(&o.agen);
    o.strategy = "all";
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (c) {
        case O_SITE:
            if (vws_site_load(&o.site, optarg) < 0)
                goto err;
            break;
        case O_SET: {
            char *eq = strchr(optarg, '='), *key;
            int r;

            if (!eq) {
                fprintf(stderr, "vws-sim: --set needs KEY=VALUE\n");
                return 2;
            }
            key = vws_strndup(optarg, (size_t)(eq - optarg));
            r = vws_site_set(&o.site, key, eq + 1, "--set");
            free(key);
            if (r < 0)
                goto err;
            break;
        }
        case O_STRATEGY: o.strategy = optarg; break;
        case O_NONET: o.no_network = 1; break;
        case O_FORMAT: o.format = optarg; break;
        case O_DURATION:
            if (parse_num("--duration", optarg, 1, &o.duration) < 0)
                return 2;
            break;
        case O_QUEUE: o.swf.queues = optarg; break;
        case O_STATUS: o.swf.statuses = optarg; break;
        case O_JOBS:
            if (parse_range(optarg, &o.swf.job_min, &o.swf.job_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --swf-jobs needs A-B\n");
                return 2;
            }
            break;
        case O_TIME:
            if (parse_range(optarg, &o.swf.time_min, &o.swf.time_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --swf-time needs A-B\n");
                return 2;
            }
            break;
        case O_SCALE:
            if (parse_num("--swf-scale", optarg, 1, &o.swf.proc_scale) < 0)
                return 2;
            break;
        case O_IMAGES: o.swf.images = o.agen.images = optarg; break;
        case O_IMAGEMB:
            if (parse_num("--image-mb", optarg, 0, &o.swf.image_mb) < 0)
                return 2;
            o.gen.image_mb = o.agen.image_mb = o.swf.image_mb;
            break;
        case O_SEED:
            if (parse_num("--seed", optarg, 0, &v) < 0)
                return 2;
            o.swf.seed = o.gen.seed = o.agen.seed = (uint64_t)v;
            break;
        case O_GEN:
            if (parse_num("--generate-ar", optarg, 1, &v) < 0)
                return 2;
            o.generate |= 1;
            o.gen.count = (size_t)v;
            break;
        case O_GSPAN:
            if (parse_num("--gen-span", optarg, 1, &o.gen.span_s) < 0)
                return 2;
            o.agen.span_s = o.gen.span_s;
            break;
        case O_GASAP:
            if (parse_num("--generate-asap", optarg, 1, &o.agen.span_s) < 0)
                return 2;
            o.generate |= 2;
            break;
        case O_GINT:
            if (parse_range(optarg, &o.agen.interval_min, &o.agen.interval_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --gen-interval needs A-B\n");
                return 2;
            }
            break;
        case O_GDUR:
            if (parse_range(optarg, &o.agen.duration_min, &o.agen.duration_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --gen-duration needs A-B\n");
                return 2;
            }
            break;
        case O_GNODES:
            if (parse_range(optarg, &o.gen.nodes_min, &o.gen.nodes_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --gen-nodes needs A-B\n");
                return 2;
            }
            o.agen.nodes_min = o.gen.nodes_min;
            o.agen.nodes_max = o.gen.nodes_max;
            break;
        case O_GLEAD:
            if (parse_range(optarg, &o.gen.lead_min, &o.gen.lead_max, '-') < 0) {
                fprintf(stderr, "vws-sim: --gen-lead needs A-B\n");
                return 2;
            }
            break;
        case O_GWIN: {
            int64_t a, b;

            if (sscanf(optarg, "%" SCNd64 ":%" SCNd64, &a, &b) != 2 || a < 1 ||
                b < a) {
                fprintf(stderr, "vws-sim: --gen-window needs W:EVERY, W <= EVERY\n");
                return 2;
            }
            o.gen.window_s = a;
            o.gen.every_s = b;
            break;
        }
        case O_WRITE: o.write_trace = optarg; break;
        case O_CSV: o.csv = optarg; break;
        case O_JSON: o.json = optarg; break;
        case O_SERIES: o.series = optarg; break;
        case O_PLOT: o.plot = optarg; break;
        case O_MARK:
            if (parse_num("--mark", optarg, 0, &o.mark) < 0)
                return 2;
            break;
        case O_QUIET: o.quiet = 1; break;
        case O_STATS: o.stats = 1; break;
        case O_CHECK: o.check = 1; break;
        case O_HELP: case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.generate) {
        if (o.duration > 0)
            o.gen.duration_s = o.duration;
        if (optind != argc) {
            fprintf(stderr, "vws-sim: --generate-ar/--generate-asap take no trace file\n");
            return 2;
        }
        if ((o.generate & 1) && vws_trace_generate_ar(&t, &o.gen) < 0)
            goto err;
        if ((o.generate & 2) && vws_trace_generate_asap(&t, &o.agen) < 0)
            goto err;
        vws_trace_sort(&t);
    } else {
        const char *path;
        size_t len, skipped = 0;
        int swf;

        if (optind + 1 != argc) {
            usage(stderr);
            return 2;
        }
        path = argv[optind];
        len = strlen(path);
        swf = o.format ? !strcmp(o.format, "swf") :
            (len > 4 && !strcmp(path + len - 4, ".swf")) ||
            (len > 7 && !strcmp(path + len - 7, ".swf.gz"));
        if (o.format && strcmp(o.format, "swf") && strcmp(o.format, "paper")) {
            fprintf(stderr, "vws-sim: --format is paper or swf\n");
            return 2;
        }
        if (swf ? vws_trace_load_swf(&t, path, &o.swf, &skipped) < 0
                : vws_trace_load_paper(&t, path, o.duration) < 0)
            goto err;
        if (skipped && !o.quiet)
            fprintf(stderr, "vws-sim: %zu SWF jobs without run time or "
                    "processors skipped\n", skipped);
    }
    if (o.write_trace) {
        FILE *f = fopen(o.write_trace, "w");

        if (!f || vws_trace_write_paper(&t, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "vws-sim: cannot write '%s'\n", o.write_trace);
            goto out;
        }
    }
    if (!o.quiet)
        printf("trace: %zu requests; site: %zu hosts x %" PRId64 " VMs, %.0f Mb/s, "
               "cache %s %" PRId64 " MB, local copy %.0f s\n\n", t.n,
               o.site.hosts, o.site.vms_per_host, o.site.bandwidth_mbps,
               vws_cache_policy_name(o.site.cache_policy), o.site.cache_mb,
               (double)o.site.local_copy / 1000.0);
    if (!strcmp(o.strategy, "all")) {
        for (i = 0; vws_staging_names[i]; i++)
            if (run_one(&o, &t, vws_staging_names[i], 1) < 0)
                goto err;
    } else if (run_one(&o, &t, o.strategy, 0) < 0) {
        goto err;
    }
    ret = 0;
    goto out;
err:
    fprintf(stderr, "vws-sim: %s\n", vws_error_message());
out:
    vws_trace_release(&t);
    return ret;
}
