/*
 * slottable.c — availability profiles of hosts and the link (see
 * slottable.h for the model).
 *
 * A profile is two parallel arrays: t[] strictly increasing, u[] the usage
 * from t[i] to t[i+1].  Before t[0] nothing is booked; the last step always
 * has zero usage (every booking ends).  Adjacent steps with equal usage are
 * merged after every change so the profile holds only real changes.
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "slottable.h"
#include "internal.h"

struct profile {
    size_t n, cap;
    vws_time *t;
    vws_demand *u;
    vws_demand capacity;
    int ndims;
    vws_time horizon;   /* steps before it were forgotten */
};

struct vws_slottable {
    size_t nhosts;
    struct profile *host;
    struct profile link;
    struct profile site;   /* sum of the hosts */
};

static void
profile_init(struct profile *p, const vws_demand *cap, int ndims)
{
    memset(p, 0, sizeof(*p));
    p->capacity = *cap;
    p->ndims = ndims;
}

static void
profile_release(struct profile *p)
{
    free(p->t);
    free(p->u);
}

vws_slottable *
vws_slottable_new(size_t nhosts, const vws_demand *cap, int64_t link_cap)
{
    vws_slottable *st = vws_calloc(1, sizeof(*st));
    vws_demand lc = { { link_cap, 0, 0, 0 } };
    size_t i;

    st->nhosts = nhosts;
    st->host = vws_calloc(nhosts ? nhosts : 1, sizeof(*st->host));
    for (i = 0; i < nhosts; i++)
        profile_init(&st->host[i], cap, VWS_NDIMS);
    profile_init(&st->link, &lc, 1);
    {
        vws_demand sc;
        int k;

        for (k = 0; k < VWS_NDIMS; k++)
            sc.v[k] = cap->v[k] * (int64_t)nhosts;
        profile_init(&st->site, &sc, VWS_NDIMS);
    }
    return st;
}

void
vws_slottable_free(vws_slottable *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < st->nhosts; i++)
        profile_release(&st->host[i]);
    profile_release(&st->link);
    profile_release(&st->site);
    free(st->host);
    free(st);
}

size_t
vws_slottable_nhosts(const vws_slottable *st)
{
    return st->nhosts;
}

static const struct profile *
cprof(const vws_slottable *st, size_t host)
{
    if (host == VWS_LINK)
        return &st->link;
    return host == VWS_SITE ? &st->site : &st->host[host];
}

static struct profile *
prof(vws_slottable *st, size_t host)
{
    if (host == VWS_LINK)
        return &st->link;
    return host == VWS_SITE ? &st->site : &st->host[host];
}

const vws_demand *
vws_slottable_capacity(const vws_slottable *st, size_t host)
{
    return &cprof(st, host)->capacity;
}

/* Index of the last step with t <= x, or -1 if x is before every step. */
static ptrdiff_t
find(const struct profile *p, vws_time x)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (p->t[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

void
vws_slottable_peak(const vws_slottable *st, size_t host, vws_time s,
                   vws_time e, vws_demand *peak)
{
    const struct profile *p = cprof(st, host);
    ptrdiff_t i = find(p, s);
    int d;

    memset(peak, 0, sizeof(*peak));
    if (i < 0)
        i = 0;
    for (; (size_t)i < p->n && p->t[i] < e; i++) {
        if (i + 1 < (ptrdiff_t)p->n && p->t[i + 1] <= s)
            continue;
        for (d = 0; d < p->ndims; d++)
            if (p->u[i].v[d] > peak->v[d])
                peak->v[d] = p->u[i].v[d];
    }
}

/* Does D fit above usage U?  A zero capacity is unlimited. */
static int
fits_on(const struct profile *p, const vws_demand *u, const vws_demand *d)
{
    int k;

    for (k = 0; k < p->ndims; k++)
        if (p->capacity.v[k] > 0 && d->v[k] > 0 &&
            u->v[k] + d->v[k] > p->capacity.v[k])
            return 0;
    return 1;
}

int
vws_slottable_fits(const vws_slottable *st, size_t host, vws_time s,
                   vws_time e, const vws_demand *d)
{
    const struct profile *p = cprof(st, host);
    vws_demand peak;

    vws_slottable_peak(st, host, s, e, &peak);
    return fits_on(p, &peak, d);
}

int64_t
vws_slottable_count_fit(const vws_slottable *st, size_t host, vws_time s,
                        vws_time e, const vws_demand *d, int64_t limit)
{
    const struct profile *p = cprof(st, host);
    vws_demand peak;
    int64_t best = limit;
    int k;

    vws_slottable_peak(st, host, s, e, &peak);
    for (k = 0; k < p->ndims; k++) {
        int64_t room;

        if (p->capacity.v[k] <= 0 || d->v[k] <= 0)
            continue;
        room = (p->capacity.v[k] - peak.v[k]) / d->v[k];
        if (room < 0)
            room = 0;
        if (room < best)
            best = room;
    }
    return best;
}

vws_time
vws_slottable_earliest(const vws_slottable *st, size_t host, vws_time from,
                       vws_time dur, const vws_demand *d)
{
    const struct profile *p = cprof(st, host);
    vws_demand zero = { { 0 } };
    vws_time c = from;
    ptrdiff_t i;

    if (!fits_on(p, &zero, d))
        return VWS_TIME_NEVER;
    i = find(p, c);
    if (i < 0)
        i = 0;
    /* Sweep: a step inside [c, c + dur) that does not fit moves c to the
     * end of that step; each step is looked at once. */
    for (; (size_t)i < p->n; i++) {
        vws_time seg_end = (size_t)i + 1 < p->n ? p->t[i + 1] : VWS_TIME_NEVER;

        if (p->t[i] >= c + dur)
            break;
        if (seg_end <= c)
            continue;
        if (!fits_on(p, &p->u[i], d)) {
            if (seg_end == VWS_TIME_NEVER)
                return VWS_TIME_NEVER;
            c = seg_end;
        }
    }
    return c;
}

vws_time
vws_slottable_next_change(const vws_slottable *st, size_t host, vws_time t)
{
    const struct profile *p = cprof(st, host);
    ptrdiff_t i = find(p, t);

    return (size_t)(i + 1) < p->n ? p->t[i + 1] : VWS_TIME_NEVER;
}

/* Make sure a step starts exactly at X; returns its index. */
static size_t
split_at(struct profile *p, vws_time x)
{
    ptrdiff_t i = find(p, x);
    size_t at;

    if (i >= 0 && p->t[i] == x)
        return (size_t)i;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->t = vws_reallocarray(p->t, p->cap, sizeof(*p->t));
        p->u = vws_reallocarray(p->u, p->cap, sizeof(*p->u));
    }
    at = (size_t)(i + 1);
    memmove(p->t + at + 1, p->t + at, (p->n - at) * sizeof(*p->t));
    memmove(p->u + at + 1, p->u + at, (p->n - at) * sizeof(*p->u));
    p->t[at] = x;
    if (i >= 0)
        p->u[at] = p->u[i];
    else
        memset(&p->u[at], 0, sizeof(p->u[at]));
    p->n++;
    return at;
}

static int
same_usage(const struct profile *p, size_t a, size_t b)
{
    return memcmp(&p->u[a], &p->u[b], sizeof(p->u[a])) == 0;
}

static int
is_zero(const struct profile *p, size_t a)
{
    vws_demand z = { { 0 } };

    return memcmp(&p->u[a], &z, sizeof(z)) == 0;
}

static void
remove_step(struct profile *p, size_t i)
{
    memmove(p->t + i, p->t + i + 1, (p->n - i - 1) * sizeof(*p->t));
    memmove(p->u + i, p->u + i + 1, (p->n - i - 1) * sizeof(*p->u));
    p->n--;
}

/* Merge redundant steps in [lo, hi] (indices, clamped). */
static void
merge_range(struct profile *p, size_t lo, size_t hi)
{
    size_t i;

    if (hi >= p->n)
        hi = p->n ? p->n - 1 : 0;
    for (i = hi + 1; i-- > lo;) {
        if (i >= p->n)
            continue;
        if (i == 0) {
            if (is_zero(p, 0))
                remove_step(p, 0);
        } else if (same_usage(p, i, i - 1)) {
            remove_step(p, i);
        }
    }
}

static int
check_interval(vws_time s, vws_time e)
{
    if (s >= e || s < 0 || e == VWS_TIME_NEVER) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "bad interval [%" PRId64 ", %" PRId64 ")", s, e);
        return -1;
    }
    return 0;
}

static void
apply(struct profile *p, vws_time s, vws_time e, const vws_demand *d,
      int sign)
{
    size_t i, j, k;
    int dim;

    i = split_at(p, s);
    j = split_at(p, e);
    for (k = i; k < j; k++)
        for (dim = 0; dim < VWS_NDIMS; dim++)
            p->u[k].v[dim] += sign * d->v[dim];
    merge_range(p, i ? i - 1 : 0, j + 1);
}

int
vws_slottable_book(vws_slottable *st, size_t host, vws_time s, vws_time e,
                   const vws_demand *d)
{
    struct profile *p;

    if (host == VWS_SITE) {
        vws_report_error(VWS_ERR_INVALID_ARG, "the site sum cannot be booked");
        return -1;
    }
    p = prof(st, host);
    if (check_interval(s, e) < 0)
        return -1;
    if (s < p->horizon)
        s = p->horizon;
    if (s >= e)
        return 0;
    if (!vws_slottable_fits(st, host, s, e, d)) {
        vws_report_error(VWS_ERR_STATE,
                         "%s %zu is full over [%" PRId64 ", %" PRId64 ")",
                         host == VWS_LINK ? "link" : "host",
                         host == VWS_LINK ? (size_t)0 : host, s, e);
        return -1;
    }
    apply(p, s, e, d, 1);
    if (host != VWS_LINK)
        apply(&st->site, s, e, d, 1);
    return 0;
}

int
vws_slottable_release(vws_slottable *st, size_t host, vws_time s,
                      vws_time e, const vws_demand *d)
{
    struct profile *p;
    ptrdiff_t i;
    int k;

    if (host == VWS_SITE) {
        vws_report_error(VWS_ERR_INVALID_ARG, "the site sum cannot be released");
        return -1;
    }
    p = prof(st, host);
    if (check_interval(s, e) < 0)
        return -1;
    if (s < p->horizon)
        s = p->horizon;
    if (s >= e)
        return 0;
    /* Everything in [s, e) must hold at least D. */
    i = find(p, s);
    if (i < 0 || (p->t[i] > s))
        goto bad;
    for (; (size_t)i < p->n && p->t[i] < e; i++) {
        for (k = 0; k < VWS_NDIMS; k++)
            if (p->u[i].v[k] < d->v[k])
                goto bad;
        if ((size_t)i + 1 == p->n)
            goto bad;
    }
    apply(p, s, e, d, -1);
    if (host != VWS_LINK)
        apply(&st->site, s, e, d, -1);
    return 0;
bad:
    vws_report_error(VWS_ERR_INTERNAL,
                     "release of [%" PRId64 ", %" PRId64 ") that was not booked",
                     s, e);
    return -1;
}

static void
forget(struct profile *p, vws_time t)
{
    ptrdiff_t i = find(p, t);

    if (t > p->horizon)
        p->horizon = t;
    /* Keep the step containing t; drop everything strictly before it. */
    if (i > 0) {
        memmove(p->t, p->t + i, (p->n - (size_t)i) * sizeof(*p->t));
        memmove(p->u, p->u + i, (p->n - (size_t)i) * sizeof(*p->u));
        p->n -= (size_t)i;
    }
    /* The kept step now starts at t: nothing before t is known any more. */
    if (p->n && p->t[0] < t)
        p->t[0] = t;
    if (p->n && is_zero(p, 0))
        remove_step(p, 0);
}

void
vws_slottable_forget(vws_slottable *st, vws_time t)
{
    size_t i;

    for (i = 0; i < st->nhosts; i++)
        forget(&st->host[i], t);
    forget(&st->link, t);
    forget(&st->site, t);
}

static int
check_profile(const struct profile *p, const char *what, size_t idx)
{
    size_t i;
    int k;

    for (i = 0; i < p->n; i++) {
        if (i && p->t[i] <= p->t[i - 1]) {
            vws_report_error(VWS_ERR_INTERNAL, "%s %zu: steps out of order",
                             what, idx);
            return -1;
        }
        for (k = 0; k < p->ndims; k++) {
            if (p->u[i].v[k] < 0 ||
                (p->capacity.v[k] > 0 && p->u[i].v[k] > p->capacity.v[k])) {
                vws_report_error(VWS_ERR_INTERNAL,
                                 "%s %zu: dimension %d holds %" PRId64
                                 " of %" PRId64 " at %" PRId64,
                                 what, idx, k, p->u[i].v[k],
                                 p->capacity.v[k], p->t[i]);
                return -1;
            }
        }
    }
    if (p->n && !is_zero(p, p->n - 1)) {
        vws_report_error(VWS_ERR_INTERNAL, "%s %zu: booking without an end",
                         what, idx);
        return -1;
    }
    return 0;
}

int
vws_slottable_check(const vws_slottable *st)
{
    size_t i;

    for (i = 0; i < st->nhosts; i++)
        if (check_profile(&st->host[i], "host", i) < 0)
            return -1;
    if (check_profile(&st->site, "site", 0) < 0)
        return -1;
    return check_profile(&st->link, "link", 0);
}

size_t
vws_slottable_steps(const vws_slottable *st)
{
    size_t i, n = st->link.n + st->site.n;

    for (i = 0; i < st->nhosts; i++)
        n += st->host[i].n;
    return n;
}
