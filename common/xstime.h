/*
 * xstime.h — XML Schema xs:dateTime and xs:duration, and the real-time clock.
 *
 * Workspace descriptions, deployment requests and WSRF termination times
 * carry times as xs:dateTime ("2026-11-23T10:00:00.5+01:00") and lengths as
 * xs:duration ("PT2H30M").  The parsers here are strict about the lexical
 * form (see the comments of each function) and report what is wrong with
 * vws_report_error(VWS_ERR_INVALID, "invalid xs:dateTime '...': ...").
 * Leading and trailing XML whitespace is ignored, as the types' whiteSpace
 * facet (collapse) says.
 *
 * A parsed dateTime keeps how it was written (fraction digits, timezone), so
 * formatting it gives the same text back; the instant itself is in sec/nsec.
 * A duration keeps its components; formatting gives the canonical form.
 * None of these functions allocates memory.
 */
#ifndef VWS_XSTIME_H
#define VWS_XSTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- xs:dateTime ------------------------------------------------------ */

struct vws_datetime {
    int64_t sec;          /* the instant: seconds since 1970-01-01T00:00:00Z;
                             without a timezone the time is taken as UTC */
    int32_t nsec;         /* 0..999999999 */
    int16_t tz_minutes;   /* offset from UTC as written, -840..840 (±14:00);
                             0 without a timezone */
    bool has_tz;          /* a timezone was written */
    bool tz_is_z;         /* ... and it was written 'Z' (not "+00:00") */
    uint8_t frac_digits;  /* digits of the fraction as written, 0..9 */
};

/* Big enough for any formatted dateTime:
 * "9999-12-31T23:59:59.999999999+14:00" and the NUL. */
#define VWS_DATETIME_BUFSIZE 40

/* Parse an xs:dateTime: YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|(+|-)hh:mm].
 * Years 0001..9999 (four digits; negative years and years of five digits
 * are refused by name), real calendar days (leap years: divisible by 4, not
 * by 100 unless by 400), hours 00..23 or the end of day 24:00:00 (with no
 * other non-zero field; it becomes 00:00:00 of the next day), seconds 00..59
 * (no leap seconds), at most 9 fraction digits, timezone within ±14:00.
 * 0 on success; -1 with VWS_ERR_INVALID reported and *OUT untouched. */
int vws_datetime_parse(const char *s, struct vws_datetime *out);

/* Write DT to BUF of SIZE bytes (VWS_DATETIME_BUFSIZE is always enough):
 * local time of the timezone given, the fraction with frac_digits digits (or
 * more if nsec needs them), then the timezone as given.  For a parsed value
 * this gives the parsed text back, except that 24:00:00 comes back as 00:00:00
 * of the next day and "-00:00" as "+00:00".  0, or -1 (VWS_ERR_INVALID_ARG)
 * if DT is outside years 0001..9999 or its fields are out of range, or BUF is
 * too small. */
int vws_datetime_format(const struct vws_datetime *dt, char *buf,
                        size_t size);

/* The instant SEC.NSEC in UTC ('Z'), with no fraction if NSEC is 0, else
 * with as many digits as NSEC needs.  NSEC must be in 0..999999999. */
void vws_datetime_from_unix(int64_t sec, int32_t nsec,
                            struct vws_datetime *out);
/* The instant MS milliseconds after the epoch, 'Z', three fraction digits. */
void vws_datetime_from_ms(int64_t ms, struct vws_datetime *out);
/* Now, from the real-time clock, as vws_datetime_from_ms(). */
void vws_datetime_now(struct vws_datetime *out);

/* Milliseconds since the epoch (rounded down). */
int64_t vws_datetime_to_ms(const struct vws_datetime *dt);

/* <0, 0, >0 as the instant A is before, the same as, after B (timezones
 * and how the values were written do not matter). */
int vws_datetime_compare(const struct vws_datetime *a,
                         const struct vws_datetime *b);

/* ---- xs:duration ------------------------------------------------------ */

struct vws_duration {
    bool negative;
    int64_t years, months, days;     /* each >= 0, as written */
    int64_t hours, minutes, seconds;
    int32_t nsec;                    /* fraction of the seconds */
};

/* Big enough for any canonical duration. */
#define VWS_DURATION_BUFSIZE 96

/* Parse an xs:duration: -?P(nY)?(nM)?(nD)?(T(nH)?(nM)?(n(.n)?S)?)? with at
 * least one component, 'T' followed by at least one, components in this
 * order, digits on both sides of a '.', at most 9 fraction digits, only the
 * seconds with a fraction.  The total of the months (years * 12 + months)
 * and of the seconds (days, hours, minutes and seconds) must each fit in
 * an int64_t.  0; or -1 with VWS_ERR_INVALID reported and *OUT untouched. */
int vws_duration_parse(const char *s, struct vws_duration *out);

/* Write the canonical form of D to BUF: months folded into years and months
 * < 12, seconds into days, hours < 24, minutes < 60, seconds < 60, zero
 * components left out, "PT0S" for zero, no trailing zeros in the fraction.
 * 0, or -1 (VWS_ERR_INVALID_ARG) if D's totals overflow or BUF is too small
 * (VWS_DURATION_BUFSIZE always suffices). */
int vws_duration_format(const struct vws_duration *d, char *buf, size_t size);

/* Let vws_duration_to_seconds() count a year as 365 days and a month as 30
 * days, instead of refusing durations with years or months. */
#define VWS_DURATION_APPROX_MONTHS 0x1u

/* The length of D in seconds: *SEC + *NSEC / 1e9 with *NSEC in
 * 0..999999999 (so -PT0.5S is -1 s + 500000000 ns).  With NSEC NULL the
 * fraction is dropped (rounded toward zero).  Years and months have no fixed
 * length: unless FLAGS has VWS_DURATION_APPROX_MONTHS, a duration with them
 * is refused (VWS_ERR_INVALID).  -1 also on overflow. */
int vws_duration_to_seconds(const struct vws_duration *d, unsigned flags,
                            int64_t *sec, int32_t *nsec);

/* The duration of SEC + NSEC / 1e9 seconds (NSEC in 0..999999999), as
 * days, hours, minutes and seconds. */
void vws_duration_from_seconds(int64_t sec, int32_t nsec,
                               struct vws_duration *out);

/* ---- clocks ----------------------------------------------------------- */

/* Real time (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t vws_time_now_ms(void);
/* A clock that never goes back (CLOCK_MONOTONIC), in milliseconds, for
 * timeouts and intervals; its zero means nothing. */
int64_t vws_time_monotonic_ms(void);

#endif /* VWS_XSTIME_H */
