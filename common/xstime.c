/*
 * xstime.c — xs:dateTime and xs:duration parsing and formatting, and the
 * clocks (see xstime.h).
 *
 * The parsers scan a trimmed copy of the text left to right with small
 * helpers that read a fixed number of digits or a bounded number; every
 * failure names the field and the range it should have been in.  Calendar
 * arithmetic is left to timegm() and gmtime_r() (proleptic Gregorian, 64-bit
 * time_t), after the fields were checked here.
 */
#define VWS_MODULE "xstime"
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xstime.h"
#include "internal.h"

#define NSEC_PER_SEC 1000000000

static const int32_t pow10_9[10] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
    1000000000,
};

static bool
is_xml_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy S without leading and trailing XML whitespace into BUF; -1 if it
 * does not fit. */
static int
trim_copy(const char *s, char *buf, size_t size)
{
    const char *end;

    while (is_xml_space((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_xml_space((unsigned char)end[-1]))
        end--;
    if ((size_t)(end - s) >= size)
        return -1;
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    return 0;
}

/* The text of a value for a message: at most 64 bytes. */
struct shortstr { char s[72]; };

static struct shortstr
shorten(const char *s)
{
    struct shortstr r;
    size_t n = strlen(s);

    if (n <= 64) {
        memcpy(r.s, s, n + 1);
    } else {
        memcpy(r.s, s, 61);
        memcpy(r.s + 61, "...", 4);
    }
    return r;
}

/* Read exactly N digits at *PP into *OUT. */
static bool
fixed_digits(const char **pp, int n, int *out)
{
    const char *p = *pp;
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *pp = p + n;
    *out = v;
    return true;
}

static size_t
count_digits(const char *p)
{
    size_t n = 0;

    while (isdigit((unsigned char)p[n]))
        n++;
    return n;
}

/* Read a fraction of 1..9 digits after the '.' at *PP into nanoseconds.
 * Returns the number of digits, 0 if none, -1 if more than 9. */
static int
read_fraction(const char **pp, int32_t *nsec)
{
    const char *p = *pp + 1;
    size_t n = count_digits(p);
    int32_t v = 0;

    if (n == 0)
        return 0;
    if (n > 9)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    *nsec = v * pow10_9[9 - n];
    *pp = p + n;
    return (int)n;
}

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---- xs:dateTime ------------------------------------------------------ */

#define dt_error(text, fmt, ...) \
    vws_report_error(VWS_ERR_INVALID, "invalid xs:dateTime '%s': " fmt, \
                     shorten(text).s, ##__VA_ARGS__)

int
vws_datetime_parse(const char *s, struct vws_datetime *out)
{
    char buf[64];
    const char *p = buf;
    int year, month, day, hour, minute, second;
    int32_t nsec = 0;
    int frac = 0, tzh = 0, tzm = 0, tz = 0;
    bool has_tz = false, tz_is_z = false;
    size_t n;

    if (trim_copy(s, buf, sizeof(buf)) < 0) {
        dt_error(s, "too long");
        return -1;
    }

    /* the year */
    if (*p == '-') {
        dt_error(buf, "negative years are not supported");
        return -1;
    }
    n = count_digits(p);
    if (n > 4) {
        if (*p == '0')
            dt_error(buf, "a year of more than four digits must not start "
                     "with '0'");
        else
            dt_error(buf, "year %.*s is out of range (0001..9999)", (int)n,
                     p);
        return -1;
    }
    if (n < 4 || !fixed_digits(&p, 4, &year)) {
        dt_error(buf, "expected a four-digit year (YYYY-MM-DDThh:mm:ss)");
        return -1;
    }
    if (year == 0) {
        dt_error(buf, "year 0000 is out of range (0001..9999)");
        return -1;
    }

    /* the rest of the date and the time */
    if (*p++ != '-' || !fixed_digits(&p, 2, &month)) {
        dt_error(buf, "expected '-MM' after the year");
        return -1;
    }
    if (*p++ != '-' || !fixed_digits(&p, 2, &day)) {
        dt_error(buf, "expected '-DD' after the month");
        return -1;
    }
    if (*p++ != 'T') {
        dt_error(buf, "expected 'T' after the date");
        return -1;
    }
    if (!fixed_digits(&p, 2, &hour) || *p++ != ':' ||
        !fixed_digits(&p, 2, &minute) || *p++ != ':' ||
        !fixed_digits(&p, 2, &second)) {
        dt_error(buf, "expected the time as hh:mm:ss after 'T'");
        return -1;
    }
    if (*p == '.') {
        frac = read_fraction(&p, &nsec);
        if (frac == 0) {
            dt_error(buf, "expected digits after '.'");
            return -1;
        }
        if (frac < 0) {
            dt_error(buf, "more than 9 fraction digits (finer than "
                     "nanoseconds)");
            return -1;
        }
    }

    /* the timezone */
    if (*p == 'Z') {
        has_tz = tz_is_z = true;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        if (!fixed_digits(&p, 2, &tzh) || *p++ != ':' ||
            !fixed_digits(&p, 2, &tzm)) {
            dt_error(buf, "expected the timezone as +hh:mm or -hh:mm");
            return -1;
        }
        has_tz = true;
        tz = sign * (tzh * 60 + tzm);
    }
    if (*p) {
        dt_error(buf, "unexpected '%c' after the %s", *p,
                 has_tz ? "timezone" : "time");
        return -1;
    }

    /* the ranges */
    if (month < 1 || month > 12) {
        dt_error(buf, "month %02d is out of range (01..12)", month);
        return -1;
    }
    if (day < 1 || day > days_in_month(year, month)) {
        if (month == 2 && day == 29)
            dt_error(buf, "%04d is not a leap year, February has 28 days",
                     year);
        else
            dt_error(buf, "day %02d is out of range (01..%02d)", day,
                     days_in_month(year, month));
        return -1;
    }
    if (hour == 24) {
        if (minute != 0 || second != 0 || nsec != 0) {
            dt_error(buf, "hour 24 is only allowed as 24:00:00");
            return -1;
        }
    } else if (hour > 23) {
        dt_error(buf, "hour %02d is out of range (00..23, or 24:00:00)",
                 hour);
        return -1;
    }
    if (minute > 59) {
        dt_error(buf, "minute %02d is out of range (00..59)", minute);
        return -1;
    }
    if (second == 60) {
        dt_error(buf, "second 60 is out of range (leap seconds are not "
                 "supported)");
        return -1;
    }
    if (second > 59) {
        dt_error(buf, "second %02d is out of range (00..59)", second);
        return -1;
    }
    if (tzm > 59 || tz < -840 || tz > 840) {
        dt_error(buf, "timezone %c%02d:%02d is out of range (-14:00..+14:00)",
                 tz < 0 ? '-' : '+', tzh, tzm);
        return -1;
    }

    struct tm tm = {
        .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
        .tm_hour = hour, .tm_min = minute, .tm_sec = second,
    };
    time_t t = timegm(&tm);   /* normalises 24:00:00 into the next day */
    if (tm.tm_year + 1900 > 9999) {
        dt_error(buf, "24:00:00 of the last day of 9999 is out of range");
        return -1;
    }

    out->sec = (int64_t)t - (int64_t)tz * 60;
    out->nsec = nsec;
    out->tz_minutes = (int16_t)tz;
    out->has_tz = has_tz;
    out->tz_is_z = tz_is_z;
    out->frac_digits = (uint8_t)frac;
    return 0;
}

int
vws_datetime_format(const struct vws_datetime *dt, char *buf, size_t size)
{
    struct tm tm;
    time_t t;
    int digits = dt->frac_digits, n;
    int tz = dt->has_tz ? dt->tz_minutes : 0;
    int64_t local;

    if (dt->nsec < 0 || dt->nsec >= NSEC_PER_SEC || digits > 9 ||
        tz < -840 || tz > 840 ||
        dt->sec < INT64_C(-62135596800) - 840 * 60 ||  /* 0001-01-01 */
        dt->sec > INT64_C(253402300799) + 840 * 60) {  /* 9999-12-31 */
        vws_report_error(VWS_ERR_INVALID_ARG, "dateTime fields out of "
                         "range (sec %" PRId64 ", nsec %" PRId32 ", "
                         "timezone %d min)", dt->sec, dt->nsec, tz);
        return -1;
    }
    local = dt->sec + tz * 60;
    t = (time_t)local;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 ||
        tm.tm_year + 1900 > 9999) {
        vws_report_error(VWS_ERR_INVALID_ARG, "dateTime %" PRId64 " is "
                         "outside the years 0001..9999", dt->sec);
        return -1;
    }
    /* never drop digits that nsec has */
    while (digits < 9 && dt->nsec % pow10_9[9 - digits] != 0)
        digits++;

    n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
    if (n >= 0 && digits > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, ".%0*" PRId32, digits,
                      dt->nsec / pow10_9[9 - digits]);
    if (n >= 0 && dt->has_tz && (size_t)n < size) {
        if (dt->tz_is_z && tz == 0)
            n += snprintf(buf + n, size - (size_t)n, "Z");
        else
            n += snprintf(buf + n, size - (size_t)n, "%c%02d:%02d",
                          tz < 0 ? '-' : '+', (tz < 0 ? -tz : tz) / 60,
                          (tz < 0 ? -tz : tz) % 60);
    }
    if (n < 0 || (size_t)n >= size) {
        vws_report_error(VWS_ERR_INVALID_ARG, "buffer of %zu bytes is too "
                         "small for a dateTime", size);
        return -1;
    }
    return 0;
}

void
vws_datetime_from_unix(int64_t sec, int32_t nsec, struct vws_datetime *out)
{
    int digits = 0;

    while (digits < 9 && nsec % pow10_9[9 - digits] != 0)
        digits++;
    out->sec = sec;
    out->nsec = nsec;
    out->tz_minutes = 0;
    out->has_tz = true;
    out->tz_is_z = true;
    out->frac_digits = (uint8_t)digits;
}

void
vws_datetime_from_ms(int64_t ms, struct vws_datetime *out)
{
    int64_t sec = ms / 1000, rem = ms % 1000;

    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    vws_datetime_from_unix(sec, (int32_t)rem * 1000000, out);
    out->frac_digits = 3;
}

void
vws_datetime_now(struct vws_datetime *out)
{
    vws_datetime_from_ms(vws_time_now_ms(), out);
}

int64_t
vws_datetime_to_ms(const struct vws_datetime *dt)
{
    return dt->sec * 1000 + dt->nsec / 1000000;
}

int
vws_datetime_compare(const struct vws_datetime *a,
                     const struct vws_datetime *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    if (a->nsec != b->nsec)
        return a->nsec < b->nsec ? -1 : 1;
    return 0;
}

/* ---- xs:duration ------------------------------------------------------ */

#define du_error(text, fmt, ...) \
    vws_report_error(VWS_ERR_INVALID, "invalid xs:duration '%s': " fmt, \
                     shorten(text).s, ##__VA_ARGS__)

/* The totals of D: months, and seconds (without the fraction).  False on
 * overflow. */
static bool
duration_totals(const struct vws_duration *d, int64_t *months,
                int64_t *seconds)
{
    int64_t m, s, x;

    if (d->years < 0 || d->months < 0 || d->days < 0 || d->hours < 0 ||
        d->minutes < 0 || d->seconds < 0)
        return false;
    if (__builtin_mul_overflow(d->years, 12, &m) ||
        __builtin_add_overflow(m, d->months, &m))
        return false;
    if (__builtin_mul_overflow(d->days, 86400, &s) ||
        __builtin_mul_overflow(d->hours, 3600, &x) ||
        __builtin_add_overflow(s, x, &s) ||
        __builtin_mul_overflow(d->minutes, 60, &x) ||
        __builtin_add_overflow(s, x, &s) ||
        __builtin_add_overflow(s, d->seconds, &s))
        return false;
    *months = m;
    *seconds = s;
    return true;
}

int
vws_duration_parse(const char *s, struct vws_duration *out)
{
    static const char date_units[] = "YMD", time_units[] = "HMS";
    char buf[256];
    const char *p = buf;
    struct vws_duration d;
    int64_t *date_fields[] = { &d.years, &d.months, &d.days };
    int64_t *time_fields[] = { &d.hours, &d.minutes, &d.seconds };
    int64_t total_m, total_s;
    bool any = false;

    memset(&d, 0, sizeof(d));
    if (trim_copy(s, buf, sizeof(buf)) < 0) {
        du_error(s, "too long");
        return -1;
    }
    if (*p == '-') {
        d.negative = true;
        p++;
    }
    if (*p++ != 'P') {
        du_error(buf, "expected 'P'%s", d.negative ? " after '-'" :
                 " (or '-P') at the start");
        return -1;
    }

    for (int part = 0; part < 2; part++) {
        const char *units = part ? time_units : date_units;
        int64_t **fields = part ? time_fields : date_fields;
        int next = 0;          /* index of the first unit still allowed */
        bool any_here = false;

        if (part == 1) {
            if (*p != 'T')
                break;
            p++;
        }
        while (*p) {
            int64_t v = 0;
            int32_t nsec = 0;
            bool has_frac = false;
            const char *num = p;
            const char *u;

            if (!isdigit((unsigned char)*p)) {
                if (part == 0 && *p == 'T')
                    break;
                du_error(buf, "expected a number, found '%c'", *p);
                return -1;
            }
            for (; isdigit((unsigned char)*p); p++) {
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, *p - '0', &v)) {
                    du_error(buf, "number %.*s... is too large",
                             (int)count_digits(num), num);
                    return -1;
                }
            }
            if (*p == '.') {
                int frac = read_fraction(&p, &nsec);
                if (frac == 0) {
                    du_error(buf, "expected digits after '.'");
                    return -1;
                }
                if (frac < 0) {
                    du_error(buf, "more than 9 fraction digits (finer than "
                             "nanoseconds)");
                    return -1;
                }
                has_frac = true;
            }
            if (!*p) {
                du_error(buf, "number %s at the end has no designator",
                         num);
                return -1;
            }
            u = strchr(units, *p);
            if (!u) {
                if (part == 0 && strchr(time_units, *p) && *p != 'M')
                    du_error(buf, "'%c' must come after 'T'", *p);
                else
                    du_error(buf, "unexpected '%c' after %.*s%s", *p,
                             (int)(p - num), num,
                             part ? " (expected H, M or S)"
                                  : " (expected Y, M or D)");
                return -1;
            }
            if (u - units < next) {
                du_error(buf, "'%c' is repeated or out of order (the order "
                         "is %s)", *p, part ? "H, M, S" : "Y, M, D");
                return -1;
            }
            if (has_frac && !(part == 1 && *p == 'S')) {
                du_error(buf, "only seconds may have a fraction");
                return -1;
            }
            *fields[u - units] = v;
            if (has_frac)
                d.nsec = nsec;
            next = (int)(u - units) + 1;
            any_here = any = true;
            p++;
        }
        if (part == 1 && !any_here) {
            du_error(buf, "'T' must be followed by hours, minutes or "
                     "seconds");
            return -1;
        }
    }
    if (*p) {
        du_error(buf, "unexpected '%c'", *p);
        return -1;
    }
    if (!any) {
        du_error(buf, "no component (write PT0S for zero)");
        return -1;
    }
    if (!duration_totals(&d, &total_m, &total_s)) {
        du_error(buf, "too large (the months or the seconds do not fit in "
                 "64 bits)");
        return -1;
    }
    *out = d;
    return 0;
}

int
vws_duration_format(const struct vws_duration *d, char *buf, size_t size)
{
    int64_t months, secs;
    struct vws_buf b = VWS_BUF_INIT;
    int ret = -1;

    if (d->nsec < 0 || d->nsec >= NSEC_PER_SEC ||
        !duration_totals(d, &months, &secs)) {
        vws_report_error(VWS_ERR_INVALID_ARG, "duration fields are "
                         "negative or too large");
        return -1;
    }
    if (months == 0 && secs == 0 && d->nsec == 0) {
        vws_buf_adds(&b, "PT0S");
    } else {
        int64_t dd = secs / 86400, h = secs % 86400 / 3600;
        int64_t mi = secs % 3600 / 60, s = secs % 60;

        vws_buf_adds(&b, d->negative ? "-P" : "P");
        if (months / 12)
            vws_buf_addf(&b, "%" PRId64 "Y", months / 12);
        if (months % 12)
            vws_buf_addf(&b, "%" PRId64 "M", months % 12);
        if (dd)
            vws_buf_addf(&b, "%" PRId64 "D", dd);
        if (h || mi || s || d->nsec) {
            vws_buf_addch(&b, 'T');
            if (h)
                vws_buf_addf(&b, "%" PRId64 "H", h);
            if (mi)
                vws_buf_addf(&b, "%" PRId64 "M", mi);
            if (s || d->nsec) {
                vws_buf_addf(&b, "%" PRId64, s);
                if (d->nsec) {
                    int digits = 9;
                    int32_t f = d->nsec;
                    while (f % 10 == 0) {
                        f /= 10;
                        digits--;
                    }
                    vws_buf_addf(&b, ".%0*" PRId32, digits, f);
                }
                vws_buf_addch(&b, 'S');
            }
        }
    }
    if (b.len >= size) {
        vws_report_error(VWS_ERR_INVALID_ARG, "buffer of %zu bytes is too "
                         "small for duration '%s'", size, b.s);
        goto cleanup;
    }
    memcpy(buf, b.s, b.len + 1);
    ret = 0;

 cleanup:
    vws_buf_release(&b);
    return ret;
}

int
vws_duration_to_seconds(const struct vws_duration *d, unsigned flags,
                        int64_t *sec, int32_t *nsec)
{
    char text[VWS_DURATION_BUFSIZE];
    int64_t months, total, x;

    if (vws_duration_format(d, text, sizeof(text)) < 0 ||
        !duration_totals(d, &months, &total))
        return -1;
    if (months) {
        if (!(flags & VWS_DURATION_APPROX_MONTHS)) {
            vws_report_error(VWS_ERR_INVALID, "duration '%s' has years or "
                             "months, which have no fixed length in seconds",
                             text);
            return -1;
        }
        if (__builtin_mul_overflow(d->years, 365 * 86400, &x) ||
            __builtin_add_overflow(total, x, &total) ||
            __builtin_mul_overflow(d->months, 30 * 86400, &x) ||
            __builtin_add_overflow(total, x, &total)) {
            vws_report_error(VWS_ERR_INVALID, "duration '%s' is too long to "
                             "count in seconds", text);
            return -1;
        }
    }
    if (!nsec) {
        *sec = d->negative ? -total : total;
    } else if (!d->negative) {
        *sec = total;
        *nsec = d->nsec;
    } else if (d->nsec) {
        *sec = -total - 1;
        *nsec = NSEC_PER_SEC - d->nsec;
    } else {
        *sec = -total;
        *nsec = 0;
    }
    return 0;
}

void
vws_duration_from_seconds(int64_t sec, int32_t nsec, struct vws_duration *out)
{
    uint64_t mag;
    int32_t mag_ns;

    memset(out, 0, sizeof(*out));
    if (sec < 0) {
        out->negative = true;
        if (nsec > 0) {
            mag = (uint64_t)-(sec + 1);
            mag_ns = NSEC_PER_SEC - nsec;
        } else {
            mag = (uint64_t)0 - (uint64_t)sec;
            mag_ns = 0;
        }
    } else {
        mag = (uint64_t)sec;
        mag_ns = nsec;
    }
    out->days = (int64_t)(mag / 86400);
    out->hours = (int64_t)(mag % 86400 / 3600);
    out->minutes = (int64_t)(mag % 3600 / 60);
    out->seconds = (int64_t)(mag % 60);
    out->nsec = mag_ns;
}

/* ---- clocks ----------------------------------------------------------- */

static int64_t
clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
vws_time_now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t
vws_time_monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}
