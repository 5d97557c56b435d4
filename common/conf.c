/*
 * config.c — configuration files read through a declared option table
 * (see conf.h for the API and docs/vws.conf.5 for the syntax).
 *
 * How a load works: the option values live in a private array, one slot per
 * table row, first filled from the defaults, then from the file line by line,
 * then from the -o overrides.  Only when all of it parsed are the values
 * moved into the caller's struct (old strings freed), so any error leaves the
 * struct as it was.  The file is read whole (it is small: at most 1 MiB) and
 * each line is checked for length, NUL bytes, control characters and UTF-8
 * before it is parsed, so binary junk stops at its first line with a reason.
 *
 * Errors are reported once, as "NAME:LINE: what is wrong", NAME being the
 * file name (or "command line" for overrides).
 */
#define VWS_MODULE "config"
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "internal.h"

const char *const vws_conf_log_levels[] = {
    [VWS_LOG_ERROR] = "error",
    [VWS_LOG_WARN] = "warn",
    [VWS_LOG_INFO] = "info",
    [VWS_LOG_DEBUG] = "debug",
    NULL
};

/* The value of one option while it is being parsed. */
union conf_value {
    char *s;
    int64_t i;
    bool b;
    int e;
};

/* Where a value comes from, for error messages. */
struct conf_loc {
    const char *name;      /* file name, "command line", ... or NULL */
    unsigned line;         /* 0: no line */
    vws_error_code code;   /* VWS_ERR_CONFIG, or INTERNAL for the table */
    struct vws_buf prefix; /* scratch for loc_prefix() */
};

static const char *
loc_prefix(struct conf_loc *loc)
{
    vws_buf_reset(&loc->prefix);
    if (loc->name) {
        vws_buf_adds(&loc->prefix, loc->name);
        if (loc->line)
            vws_buf_addf(&loc->prefix, ":%u", loc->line);
        vws_buf_adds(&loc->prefix, ": ");
    }
    return loc->prefix.s;
}

#define conf_error(loc, code, fmt, ...) \
    vws_report_error((code), "%s" fmt, loc_prefix(loc), ##__VA_ARGS__)

/* A value quoted in a message: at most 64 bytes of it. */
struct shortstr { char s[72]; };

static struct shortstr
shorten(const char *s)
{
    struct shortstr r;
    size_t n = strlen(s);

    if (n <= 64) {
        memcpy(r.s, s, n + 1);
    } else {
        /* do not cut a UTF-8 sequence in two */
        n = 61;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        memcpy(r.s, s, n);
        memcpy(r.s + n, "...", 4);
    }
    return r;
}

/* "section.name", or "name" at the top level. */
struct optname { char s[160]; };

static const char *
opt_section(const struct vws_conf_option *o)
{
    return o->section ? o->section : "";
}

static struct optname
opt_name(const struct vws_conf_option *o)
{
    struct optname r;
    const char *sec = opt_section(o);

    snprintf(r.s, sizeof(r.s), "%s%s%s", sec, *sec ? "." : "", o->name);
    return r;
}

static size_t
table_len(const struct vws_conf_option *table)
{
    size_t n = 0;

    while (table[n].name)
        n++;
    return n;
}

static bool
is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static bool
is_valid_name(const char *s, bool empty_ok)
{
    if (!*s)
        return empty_ok;
    for (; *s; s++)
        if (!is_name_char((unsigned char)*s))
            return false;
    return true;
}

static bool
is_blank(int c)
{
    return c == ' ' || c == '\t';
}

/* ---- text checks ------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at S (N bytes left), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return len;
}

/* Check N bytes of text: no NUL, no control character but tab, valid UTF-8.
 * WHAT names the text in the message ("line", "value"). */
static int
check_text(struct conf_loc *loc, const char *what, const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < n) {
        if (s[i] == '\0') {
            conf_error(loc, VWS_ERR_CONFIG,
                       "NUL byte in %s (is this a binary file?)", what);
            return -1;
        }
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7F) {
            conf_error(loc, VWS_ERR_CONFIG,
                       "control character 0x%02x in %s", s[i], what);
            return -1;
        }
        size_t len = utf8_seq(s + i, n - i);
        if (!len) {
            conf_error(loc, VWS_ERR_CONFIG,
                       "invalid UTF-8 in %s (byte 0x%02x)", what, s[i]);
            return -1;
        }
        i += len;
    }
    return 0;
}

/* ---- values ----------------------------------------------------------- */

struct unit { char suffix; int64_t factor; };

static const struct unit size_units[] = {
    { 'T', INT64_C(1) << 40 }, { 'G', INT64_C(1) << 30 },
    { 'M', INT64_C(1) << 20 }, { 'K', INT64_C(1) << 10 },
};
static const struct unit duration_units[] = {
    { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
};

/* V in the largest unit that divides it exactly ("2G", "90m", "7"). */
static void
format_units(char *buf, size_t size, int64_t v, const struct unit *units,
             size_t nunits)
{
    for (size_t i = 0; i < nunits && v != 0; i++) {
        if (units[i].factor > 1 && v % units[i].factor == 0) {
            snprintf(buf, size, "%" PRId64 "%c", v / units[i].factor,
                     units[i].suffix);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64 "%s", v,
             units == duration_units && v != 0 ? "s" : "");
}

/* Parse "123" or "123X" with X one of UNITS (CASELESS: either case).
 * Returns 0; -1 not a number; -2 negative; -3 overflow. */
static int
parse_units(const char *s, const struct unit *units, size_t nunits,
            bool caseless, int64_t *out)
{
    int64_t v = 0, factor = 1;
    const char *p = s;

    if (*p == '-') {
        p++;
        if (isdigit((unsigned char)*p))
            return -2;
        return -1;
    }
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10)
            return -3;
        v = v * 10 + d;
    }
    if (*p) {
        size_t i;
        for (i = 0; i < nunits; i++) {
            char c = units[i].suffix;
            if (*p == c || (caseless && tolower((unsigned char)*p) ==
                                        tolower((unsigned char)c)))
                break;
        }
        if (i == nunits || p[1])
            return -1;
        factor = units[i].factor;
    }
    if (v > INT64_MAX / factor)
        return -3;
    *out = v * factor;
    return 0;
}

static int
check_bounds(struct conf_loc *loc, const struct vws_conf_option *o,
             int64_t v)
{
    char a[32], b[32];
    const char *kind = "value";

    if (v >= o->min && v <= o->max)
        return 0;
    if (o->type == VWS_CONF_SIZE) {
        kind = "size";
        format_units(a, sizeof(a), v, size_units, 4);
        format_units(b, sizeof(b), v < o->min ? o->min : o->max,
                     size_units, 4);
    } else if (o->type == VWS_CONF_DURATION) {
        kind = "duration";
        format_units(a, sizeof(a), v, duration_units, 4);
        format_units(b, sizeof(b), v < o->min ? o->min : o->max,
                     duration_units, 4);
    } else {
        snprintf(a, sizeof(a), "%" PRId64, v);
        snprintf(b, sizeof(b), "%" PRId64, v < o->min ? o->min : o->max);
    }
    conf_error(loc, loc->code, "%s %s is %s the %s %s for '%s'", kind, a,
               v < o->min ? "below" : "above",
               v < o->min ? "minimum" : "maximum", b, opt_name(o).s);
    return -1;
}

static const char *const bool_true[] = { "yes", "true", "on", "1" };
static const char *const bool_false[] = { "no", "false", "off", "0" };

/* Parse TEXT as the value of O into *OUT (a new string for STRING/PATH). */
static int
parse_value(struct conf_loc *loc, const struct vws_conf_option *o,
            const char *text, union conf_value *out)
{
    const char *what;
    int64_t v;
    int rc;

    switch (o->type) {
    case VWS_CONF_STRING:
        out->s = vws_strdup(text);
        return 0;

    case VWS_CONF_PATH:
        if (!*text) {
            out->s = NULL;
            return 0;
        }
        if (text[0] != '/') {
            conf_error(loc, loc->code, "path '%s' for '%s' is not absolute",
                       shorten(text).s, opt_name(o).s);
            return -1;
        }
        out->s = vws_strdup(text);
        return 0;

    case VWS_CONF_INT:
        if (!*text) {
            conf_error(loc, loc->code,
                       "empty value for '%s', expected an integer",
                       opt_name(o).s);
            return -1;
        }
        if (vws_parse_i64(text, &v) < 0) {
            if (errno == ERANGE)
                conf_error(loc, loc->code, "'%s' is out of range for '%s'",
                           shorten(text).s, opt_name(o).s);
            else
                conf_error(loc, loc->code,
                           "'%s' is not a number ('%s' expects an integer)",
                           shorten(text).s, opt_name(o).s);
            return -1;
        }
        if (check_bounds(loc, o, v) < 0)
            return -1;
        out->i = v;
        return 0;

    case VWS_CONF_BOOL:
        for (size_t i = 0; i < VWS_N_ELEMENTS(bool_true); i++) {
            if (strcasecmp(text, bool_true[i]) == 0) {
                out->b = true;
                return 0;
            }
            if (strcasecmp(text, bool_false[i]) == 0) {
                out->b = false;
                return 0;
            }
        }
        conf_error(loc, loc->code,
                   "'%s' is not a boolean for '%s' (expected yes/no, "
                   "true/false, on/off or 1/0)",
                   shorten(text).s, opt_name(o).s);
        return -1;

    case VWS_CONF_ENUM: {
        struct vws_buf names = VWS_BUF_INIT;
        for (int i = 0; o->enum_names[i]; i++) {
            if (strcasecmp(text, o->enum_names[i]) == 0) {
                out->e = i;
                return 0;
            }
        }
        for (int i = 0; o->enum_names[i]; i++)
            vws_buf_addf(&names, "%s%s", i ? ", " : "", o->enum_names[i]);
        conf_error(loc, loc->code, "'%s' is not one of %s for '%s'",
                   shorten(text).s, names.s, opt_name(o).s);
        vws_buf_release(&names);
        return -1;
    }

    case VWS_CONF_SIZE:
    case VWS_CONF_DURATION:
        if (o->type == VWS_CONF_SIZE) {
            what = "size";
            rc = parse_units(text, size_units, 4, true, &v);
        } else {
            what = "duration";
            rc = parse_units(text, duration_units, 4, false, &v);
        }
        if (rc == -2) {
            conf_error(loc, loc->code,
                       "%s '%s' for '%s' is negative", what,
                       shorten(text).s, opt_name(o).s);
            return -1;
        }
        if (rc == -3) {
            conf_error(loc, loc->code, "%s '%s' is too large for '%s'",
                       what, shorten(text).s, opt_name(o).s);
            return -1;
        }
        if (rc < 0) {
            conf_error(loc, loc->code,
                       "'%s' is not a %s for '%s' (expected a number with "
                       "an optional suffix %s)", shorten(text).s, what,
                       opt_name(o).s,
                       o->type == VWS_CONF_SIZE ? "K, M, G or T"
                                                : "s, m, h or d");
            return -1;
        }
        if (check_bounds(loc, o, v) < 0)
            return -1;
        out->i = v;
        return 0;

    case VWS_CONF_NONE:
        break;
    }
    vws_report_error(VWS_ERR_INTERNAL, "option '%s' has an unknown type %d",
                     opt_name(o).s, (int)o->type);
    return -1;
}

static void
value_release(const struct vws_conf_option *o, union conf_value *v)
{
    if (o->type == VWS_CONF_STRING || o->type == VWS_CONF_PATH)
        VWS_FREE(v->s);
}

/* Move V into O's field of TARGET, freeing the old string. */
static void
value_store(const struct vws_conf_option *o, void *target,
            union conf_value *v)
{
    char *field = (char *)target + o->offset;

    switch (o->type) {
    case VWS_CONF_STRING:
    case VWS_CONF_PATH: {
        char **sp = (char **)(void *)field;
        free(*sp);
        *sp = v->s;
        v->s = NULL;
        break;
    }
    case VWS_CONF_INT:
    case VWS_CONF_SIZE:
    case VWS_CONF_DURATION:
        *(int64_t *)(void *)field = v->i;
        break;
    case VWS_CONF_BOOL:
        *(bool *)(void *)field = v->b;
        break;
    case VWS_CONF_ENUM:
        *(int *)(void *)field = v->e;
        break;
    case VWS_CONF_NONE:
        break;
    }
}

/* ---- the table -------------------------------------------------------- */

static int
check_table(const struct vws_conf_option *table)
{
    for (size_t i = 0; table[i].name; i++) {
        const struct vws_conf_option *o = &table[i];

        if (!is_valid_name(o->name, false) ||
            !is_valid_name(opt_section(o), true)) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "option table: invalid option name '%s'",
                             opt_name(o).s);
            return -1;
        }
        if (o->type <= VWS_CONF_NONE || o->type > VWS_CONF_DURATION) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "option table: '%s' has an unknown type %d",
                             opt_name(o).s, (int)o->type);
            return -1;
        }
        if (o->type == VWS_CONF_ENUM && (!o->enum_names ||
                                         !o->enum_names[0])) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "option table: enum '%s' has no names",
                             opt_name(o).s);
            return -1;
        }
        if ((o->type == VWS_CONF_INT || o->type == VWS_CONF_SIZE ||
             o->type == VWS_CONF_DURATION) &&
            (o->min > o->max ||
             (o->type != VWS_CONF_INT && o->min < 0))) {
            vws_report_error(VWS_ERR_INTERNAL,
                             "option table: bad bounds [%" PRId64 ", %"
                             PRId64 "] for '%s'", o->min, o->max,
                             opt_name(o).s);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(table[j].name, o->name) == 0 &&
                strcmp(opt_section(&table[j]), opt_section(o)) == 0) {
                vws_report_error(VWS_ERR_INTERNAL,
                                 "option table: '%s' is declared twice",
                                 opt_name(o).s);
                return -1;
            }
        }
    }
    return 0;
}

static const char *
default_text(const struct vws_conf_option *o)
{
    if (o->defval)
        return o->defval;
    switch (o->type) {
    case VWS_CONF_INT:
    case VWS_CONF_SIZE:
    case VWS_CONF_DURATION:
        return "0";
    case VWS_CONF_BOOL:
        return "no";
    case VWS_CONF_ENUM:
        return o->enum_names[0];
    default:
        return "";
    }
}

/* The private copy of all values during a load. */
struct conf_tmp {
    const struct vws_conf_option *table;
    size_t n;
    union conf_value *v;
    unsigned *line;        /* line of the file that set it, 0: not set */
    struct conf_loc loc;
    char section[VWS_CONF_MAX_LINE + 1];  /* current [section], "" at top */
};

static void
tmp_release(struct conf_tmp *t)
{
    if (t->v)
        for (size_t i = 0; i < t->n; i++)
            value_release(&t->table[i], &t->v[i]);
    VWS_FREE(t->v);
    VWS_FREE(t->line);
    vws_buf_release(&t->loc.prefix);
}

/* Check the table and fill T with the defaults. */
static int
tmp_init(struct conf_tmp *t, const struct vws_conf_option *table)
{
    memset(t, 0, sizeof(*t));
    t->table = table;
    vws_buf_init(&t->loc.prefix, 0);
    if (check_table(table) < 0)
        return -1;
    t->n = table_len(table);
    t->v = vws_calloc(t->n + 1, sizeof(*t->v));
    t->line = vws_calloc(t->n + 1, sizeof(*t->line));
    t->loc.name = "option table: default";
    t->loc.code = VWS_ERR_INTERNAL;
    for (size_t i = 0; i < t->n; i++)
        if (parse_value(&t->loc, &table[i], default_text(&table[i]),
                        &t->v[i]) < 0)
            return -1;
    return 0;
}

static void
tmp_commit(struct conf_tmp *t, void *target)
{
    for (size_t i = 0; i < t->n; i++)
        value_store(&t->table[i], target, &t->v[i]);
}

static bool
section_known(const struct vws_conf_option *table, const char *sec)
{
    for (size_t i = 0; table[i].name; i++)
        if (strcmp(opt_section(&table[i]), sec) == 0)
            return true;
    return false;
}

/* Index of the option SEC.NAME, or -1 after reporting it as unknown. */
static long
find_option(struct conf_loc *loc, const struct vws_conf_option *table,
            const char *sec, const char *name)
{
    long other = -1;

    for (size_t i = 0; table[i].name; i++) {
        if (strcmp(table[i].name, name) != 0)
            continue;
        if (strcmp(opt_section(&table[i]), sec) == 0)
            return (long)i;
        other = (long)i;
    }
    if (*sec && !section_known(table, sec)) {
        conf_error(loc, VWS_ERR_CONFIG, "unknown section [%s]",
                   shorten(sec).s);
        return -1;
    }
    struct vws_buf hint = VWS_BUF_INIT;
    if (other >= 0) {
        const char *osec = opt_section(&table[other]);
        if (*osec)
            vws_buf_addf(&hint, " (it belongs in section [%s])", osec);
        else
            vws_buf_adds(&hint, " (it belongs before any section)");
    }
    if (*sec)
        conf_error(loc, VWS_ERR_CONFIG, "unknown option '%s' in section "
                   "[%s]%s", shorten(name).s, sec, hint.s);
    else
        conf_error(loc, VWS_ERR_CONFIG, "unknown option '%s' outside any "
                   "section%s", shorten(name).s, hint.s);
    vws_buf_release(&hint);
    return -1;
}

/* Set option I of T from TEXT. */
static int
tmp_set(struct conf_tmp *t, size_t i, const char *text)
{
    union conf_value v;

    if (parse_value(&t->loc, &t->table[i], text, &v) < 0)
        return -1;
    value_release(&t->table[i], &t->v[i]);
    t->v[i] = v;
    return 0;
}

/* ---- the file --------------------------------------------------------- */

/* Unquote the quoted value starting at *P (on the opening quote), in place.
 * On success *P points after the closing quote. */
static int
unquote(struct conf_loc *loc, char **pp)
{
    char *p = *pp + 1, *w = *pp;

    for (;;) {
        if (*p == '\0') {
            conf_error(loc, VWS_ERR_CONFIG, "unterminated quote (missing "
                       "closing '\"')");
            return -1;
        }
        if (*p == '"')
            break;
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\') {
                if (*p)
                    conf_error(loc, VWS_ERR_CONFIG, "unknown escape '\\%c' "
                               "in quoted value (only \\\" and \\\\ exist)",
                               *p);
                else
                    conf_error(loc, VWS_ERR_CONFIG, "unterminated quote "
                               "(missing closing '\"')");
                return -1;
            }
        }
        *w++ = *p++;
    }
    *w = '\0';
    *pp = p + 1;
    return 0;
}

static bool
is_comment_start(const char *p)
{
    return *p == '#' || *p == ';';
}

/* Parse one line (NUL-terminated, already checked as text). */
static int
parse_line(struct conf_tmp *t, char *line)
{
    struct conf_loc *loc = &t->loc;
    char *p = line, *name, *name_end, *value;

    while (is_blank(*p))
        p++;
    if (!*p || is_comment_start(p))
        return 0;

    if (*p == '[') {
        name = ++p;
        while (is_name_char((unsigned char)*p))
            p++;
        if (*p != ']') {
            if (!*p)
                conf_error(loc, VWS_ERR_CONFIG,
                           "section header is missing ']'");
            else
                conf_error(loc, VWS_ERR_CONFIG, "invalid character '%c' in "
                           "section name (expected letters, digits, '_' "
                           "or '-')", *p);
            return -1;
        }
        if (p == name) {
            conf_error(loc, VWS_ERR_CONFIG, "empty section name '[]'");
            return -1;
        }
        *p++ = '\0';
        while (is_blank(*p))
            p++;
        if (*p && !is_comment_start(p)) {
            conf_error(loc, VWS_ERR_CONFIG, "unexpected text '%s' after "
                       "section header [%s]", shorten(p).s, name);
            return -1;
        }
        if (!section_known(t->table, name)) {
            conf_error(loc, VWS_ERR_CONFIG, "unknown section [%s]", name);
            return -1;
        }
        vws_strlcpy(t->section, name, sizeof(t->section));
        return 0;
    }

    name = p;
    while (is_name_char((unsigned char)*p))
        p++;
    if (p == name) {
        conf_error(loc, VWS_ERR_CONFIG, "expected 'key = value', "
                   "'[section]' or a comment, found '%s'", shorten(p).s);
        return -1;
    }
    name_end = p;
    while (is_blank(*p))
        p++;
    if (*p != '=') {
        *name_end = '\0';
        conf_error(loc, VWS_ERR_CONFIG, "missing '=' after '%s'", name);
        return -1;
    }
    p++;
    *name_end = '\0';
    while (is_blank(*p))
        p++;

    if (*p == '"') {
        value = p;
        if (unquote(loc, &p) < 0)
            return -1;
        while (is_blank(*p))
            p++;
        if (*p && !is_comment_start(p)) {
            conf_error(loc, VWS_ERR_CONFIG, "unexpected text '%s' after "
                       "the closing quote", shorten(p).s);
            return -1;
        }
    } else {
        char *end;
        value = p;
        /* the value ends at the end of line, or at a comment that starts
         * the value or follows whitespace */
        while (*p && !(is_comment_start(p) &&
                       (p == value || is_blank(p[-1]))))
            p++;
        end = p;
        while (end > value && is_blank(end[-1]))
            end--;
        *end = '\0';
    }

    long i = find_option(loc, t->table, t->section, name);
    if (i < 0)
        return -1;
    if (t->line[i]) {
        conf_error(loc, VWS_ERR_CONFIG, "duplicate option '%s' (first set "
                   "on line %u)", opt_name(&t->table[i]).s, t->line[i]);
        return -1;
    }
    if (tmp_set(t, (size_t)i, value) < 0)
        return -1;
    t->line[i] = loc->line;
    return 0;
}

static int
parse_buffer(struct conf_tmp *t, const char *name, const char *buf,
             size_t len)
{
    char line[VWS_CONF_MAX_LINE + 1];
    size_t pos = 0;

    t->loc.name = name;
    t->loc.line = 0;
    t->loc.code = VWS_ERR_CONFIG;
    t->section[0] = '\0';

    if (len > VWS_CONF_MAX_FILE) {
        conf_error(&t->loc, VWS_ERR_LIMIT, "file is larger than 1 MiB "
                   "(%zu bytes)", len);
        return -1;
    }
    /* a UTF-8 byte order mark, as some editors write */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;

    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - pos;

        t->loc.line++;
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        if (n > VWS_CONF_MAX_LINE) {
            conf_error(&t->loc, VWS_ERR_LIMIT, "line is longer than %d "
                       "bytes", VWS_CONF_MAX_LINE);
            return -1;
        }
        if (check_text(&t->loc, "line", buf + pos, n) < 0)
            return -1;
        memcpy(line, buf + pos, n);
        line[n] = '\0';
        if (parse_line(t, line) < 0)
            return -1;
        pos = end + 1;
    }
    return 0;
}

/* Index of the option named KEY ("section.name" or "name"), or -1. */
static long
find_key(struct conf_loc *loc, const struct vws_conf_option *table,
         const char *key)
{
    char *copy = vws_strdup(key);
    char *dot = strchr(copy, '.');
    const char *sec = "", *name = copy;
    long i = -1;

    if (dot) {
        *dot = '\0';
        sec = copy;
        name = dot + 1;
    }
    if (!is_valid_name(sec, true) || !is_valid_name(name, false))
        conf_error(loc, VWS_ERR_CONFIG, "invalid option name '%s' "
                   "(expected section.key)", shorten(key).s);
    else
        i = find_option(loc, table, sec, name);
    free(copy);
    return i;
}

static int
apply_overrides(struct conf_tmp *t, const char *const *overrides)
{
    if (!overrides)
        return 0;
    t->loc.name = "command line";
    t->loc.line = 0;
    t->loc.code = VWS_ERR_CONFIG;
    for (size_t k = 0; overrides[k]; k++) {
        const char *arg = overrides[k];
        const char *eq = strchr(arg, '=');
        char *key;
        long i;

        if (!eq) {
            conf_error(&t->loc, VWS_ERR_CONFIG, "missing '=' in '%s' "
                       "(expected section.key=value)", shorten(arg).s);
            return -1;
        }
        key = vws_strndup(arg, (size_t)(eq - arg));
        i = find_key(&t->loc, t->table, key);
        free(key);
        if (i < 0)
            return -1;
        if (check_text(&t->loc, "value", eq + 1, strlen(eq + 1)) < 0 ||
            tmp_set(t, (size_t)i, eq + 1) < 0)
            return -1;
    }
    return 0;
}

static int
load(const struct vws_conf_option *table, void *target, const char *name,
     const char *buf, size_t len, const char *const *overrides)
{
    struct conf_tmp t;
    int ret = -1;

    if (tmp_init(&t, table) < 0)
        goto cleanup;
    if (parse_buffer(&t, name, buf, len) < 0)
        goto cleanup;
    if (apply_overrides(&t, overrides) < 0)
        goto cleanup;
    tmp_commit(&t, target);
    ret = 0;

 cleanup:
    tmp_release(&t);
    return ret;
}

/* Read all of PATH, a regular file of at most VWS_CONF_MAX_FILE bytes, into
 * OUT (released by the caller, also on failure). */
static int
read_file(const char *path, struct vws_buf *out)
{
    struct stat st;
    int fd, ret = -1;

    /* O_NONBLOCK: opening a FIFO must not hang until a writer comes */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        vws_report_system_error("cannot open '%s'", path);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        vws_report_system_error("cannot stat '%s'", path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_CONFIG, "%s: not a regular file", path);
        goto cleanup;
    }
    if (st.st_size > VWS_CONF_MAX_FILE) {
        vws_report_error(VWS_ERR_LIMIT, "%s: file is larger than 1 MiB "
                         "(%lld bytes)", path, (long long)st.st_size);
        goto cleanup;
    }
    /* read to the end: the file may have grown since fstat() */
    vws_buf_grow(out, (size_t)st.st_size + 1);
    for (;;) {
        size_t room;
        ssize_t n;

        vws_buf_grow(out, 4096);
        room = out->cap - out->len - 1;
        n = read(fd, out->s + out->len, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vws_report_system_error("cannot read '%s'", path);
            goto cleanup;
        }
        if (n == 0)
            break;
        vws_buf_setlen(out, out->len + (size_t)n);
        if (out->len > VWS_CONF_MAX_FILE) {
            vws_report_error(VWS_ERR_LIMIT, "%s: file is larger than 1 MiB",
                             path);
            goto cleanup;
        }
    }
    ret = 0;

 cleanup:
    close(fd);
    return ret;
}

/* ---- API -------------------------------------------------------------- */

int
vws_conf_defaults(const struct vws_conf_option *table, void *target)
{
    struct conf_tmp t;
    int ret = -1;

    if (tmp_init(&t, table) < 0)
        goto cleanup;
    /* the fields hold no strings of ours yet: do not free them */
    for (size_t i = 0; i < t.n; i++)
        if (table[i].type == VWS_CONF_STRING ||
            table[i].type == VWS_CONF_PATH)
            *(char **)(void *)((char *)target + table[i].offset) = NULL;
    tmp_commit(&t, target);
    ret = 0;

 cleanup:
    tmp_release(&t);
    return ret;
}

int
vws_conf_load_buffer(const struct vws_conf_option *table, void *target,
                     const char *name, const char *buf, size_t len,
                     const char *const *overrides)
{
    return load(table, target, name ? name : "(buffer)", buf, len,
                overrides);
}

int
vws_conf_load_file(const struct vws_conf_option *table, void *target,
                   const char *path, const char *const *overrides)
{
    struct vws_buf buf = VWS_BUF_INIT;
    int ret = -1;

    if (read_file(path, &buf) == 0)
        ret = load(table, target, path, buf.s, buf.len, overrides);
    vws_buf_release(&buf);
    return ret;
}

int
vws_conf_set(const struct vws_conf_option *table, void *target,
             const char *key, const char *value)
{
    struct conf_loc loc = { NULL, 0, VWS_ERR_CONFIG, VWS_BUF_INIT };
    union conf_value v;
    long i;
    int ret = -1;

    if (check_table(table) < 0)
        goto cleanup;
    i = find_key(&loc, table, key);
    if (i < 0)
        goto cleanup;
    if (check_text(&loc, "value", value, strlen(value)) < 0 ||
        parse_value(&loc, &table[i], value, &v) < 0)
        goto cleanup;
    value_store(&table[i], target, &v);
    ret = 0;

 cleanup:
    vws_buf_release(&loc.prefix);
    return ret;
}

int
vws_conf_set_arg(const struct vws_conf_option *table, void *target,
                 const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key;
    int ret;

    if (!eq) {
        vws_report_error(VWS_ERR_CONFIG, "missing '=' in '%s' (expected "
                         "section.key=value)", shorten(arg).s);
        return -1;
    }
    key = vws_strndup(arg, (size_t)(eq - arg));
    ret = vws_conf_set(table, target, key, eq + 1);
    free(key);
    return ret;
}

void
vws_conf_release(const struct vws_conf_option *table, void *target)
{
    for (size_t i = 0; table[i].name; i++) {
        if (table[i].type == VWS_CONF_STRING ||
            table[i].type == VWS_CONF_PATH) {
            char **sp = (char **)(void *)((char *)target + table[i].offset);
            VWS_FREE(*sp);
        }
    }
}

/* Does S need quotes to be read back as itself? */
static bool
needs_quotes(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || is_blank(s[0]) || is_blank(s[n - 1]) || s[0] == '"')
        return true;
    return strpbrk(s, "#;\"\\") != NULL;
}

static void
add_string(struct vws_buf *out, const char *s)
{
    if (!needs_quotes(s)) {
        vws_buf_adds(out, s);
        return;
    }
    vws_buf_addch(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            vws_buf_addch(out, '\\');
        vws_buf_addch(out, *s);
    }
    vws_buf_addch(out, '"');
}

static void
format_option(const struct vws_conf_option *o, const void *target,
              struct vws_buf *out)
{
    const char *field = (const char *)target + o->offset;
    char num[32];

    if (o->help)
        vws_buf_addf(out, "# %s\n", o->help);
    vws_buf_addf(out, "%s = ", o->name);
    switch (o->type) {
    case VWS_CONF_STRING:
    case VWS_CONF_PATH: {
        const char *s = *(char *const *)(const void *)field;
        add_string(out, s ? s : "");
        break;
    }
    case VWS_CONF_INT:
        vws_buf_addf(out, "%" PRId64, *(const int64_t *)(const void *)field);
        break;
    case VWS_CONF_SIZE:
        format_units(num, sizeof(num), *(const int64_t *)(const void *)field,
                     size_units, 4);
        vws_buf_adds(out, num);
        break;
    case VWS_CONF_DURATION:
        format_units(num, sizeof(num), *(const int64_t *)(const void *)field,
                     duration_units, 4);
        vws_buf_adds(out, num);
        break;
    case VWS_CONF_BOOL:
        vws_buf_adds(out, *(const bool *)(const void *)field ? "yes" : "no");
        break;
    case VWS_CONF_ENUM: {
        int e = *(const int *)(const void *)field;
        int n = 0;
        while (o->enum_names[n])
            n++;
        if (e >= 0 && e < n)
            vws_buf_adds(out, o->enum_names[e]);
        else
            vws_buf_addf(out, "\"(invalid value %d)\"", e);
        break;
    }
    case VWS_CONF_NONE:
        break;
    }
    vws_buf_addch(out, '\n');
}

void
vws_conf_format(const struct vws_conf_option *table, const void *target,
                struct vws_buf *out)
{
    size_t n = table_len(table);

    /* the top level first: it must come before any header */
    for (size_t i = 0; i < n; i++)
        if (!*opt_section(&table[i]))
            format_option(&table[i], target, out);
    /* then each section once, in the order of its first option */
    for (size_t i = 0; i < n; i++) {
        const char *sec = opt_section(&table[i]);
        bool seen = false;

        if (!*sec)
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(opt_section(&table[j]), sec) == 0;
        if (seen)
            continue;
        if (out->len)
            vws_buf_addch(out, '\n');
        vws_buf_addf(out, "[%s]\n", sec);
        for (size_t j = i; j < n; j++)
            if (strcmp(opt_section(&table[j]), sec) == 0)
                format_option(&table[j], target, out);
    }
}

void
vws_conf_print(const struct vws_conf_option *table, const void *target,
               FILE *fp)
{
    struct vws_buf b = VWS_BUF_INIT;

    vws_conf_format(table, target, &b);
    fwrite(b.s, 1, b.len, fp);
    vws_buf_release(&b);
}
