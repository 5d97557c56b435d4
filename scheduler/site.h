/*
 * site.h — the physical site the scheduler books: identical hosts (VM
 * slots, memory, CPU, concurrent preparation I/O), one template cache per
 * host, and the link from the image repository.
 *
 * The defaults are the paper's testbed (seed 000 §5): 8 hosts, 2 VMs each,
 * 100 Mb/s, no cache, a 60 s local copy on a cache hit.
 *
 * A site file is "key = value" lines, '#' comments, an optional "[site]"
 * header; keys are the vws_site field names below (local_copy_s for
 * local_copy, in seconds).  See vws-sim(1).
 */
#ifndef VWS_SITE_H
#define VWS_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "clock.h"

typedef struct vws_site {
    size_t hosts;
    int64_t vms_per_host;
    int64_t memory_mb;       /* per host */
    int64_t cpu_pct;         /* per host, 100 per CPU */
    int64_t io_slots;        /* preparation operations at once; 0 unlimited */
    double bandwidth_mbps;   /* link, megabits per second */
    vws_time local_copy;     /* cost of making an instance from a cached
                                template (ms); 0 for copy-on-write */
    vws_cache_policy cache_policy;
    int64_t cache_mb;        /* per host */
    int dedup;               /* without a cache, still one transfer per
                                template per host and lease */
    int admit_late;          /* admit an AR whose preparation would be late
                                (it starts late; the paper's experiments,
                                whose traces were admitted offline) */
} vws_site;

/* The paper's testbed. */
void vws_site_defaults(vws_site *s);

/* Set one option from text.  WHERE ("file:line" or "--option") prefixes
 * the error.  0, or -1 with VWS_ERR_CONFIG. */
int vws_site_set(vws_site *s, const char *key, const char *value,
                 const char *where);

/* Read a site file over the current values.  0, or -1 with the file and
 * line in the error. */
int vws_site_load(vws_site *s, const char *path);

/* Link speed in MB per second: megabits / 8 (the paper's 600 MB image
 * takes 48 s at 100 Mb/s). */
double vws_site_mb_per_s(const vws_site *s);
/* Time to move MB over the idle link, rounded up to a millisecond. */
vws_time vws_site_transfer_time(const vws_site *s, double mb);

#endif /* VWS_SITE_H */
