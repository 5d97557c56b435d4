/*
 * conf.h — configuration files as a declared table of options.
 *
 * Every program declares its options once, as rows of a table (after Redis's
 * config.c): section, name, type, default, bounds and help, and the offset of
 * the field of the program's own struct that receives the value.  Nothing
 * looks an option up by a string at run time: code reads the struct field.
 *
 *   struct fconf { char *state_dir; int64_t port; bool tls; int64_t cache; };
 *   static const struct vws_conf_option fopts[] = {
 *       VWS_CONF_PATH_OPT("service", "state_dir", struct fconf, state_dir,
 *                         "/var/lib/vws", "where the database lives"),
 *       VWS_CONF_INT_OPT("net", "port", struct fconf, port, "8443", 1, 65535,
 *                        "TCP port of the SOAP endpoint"),
 *       VWS_CONF_BOOL_OPT("net", "tls", struct fconf, tls, "yes", "use TLS"),
 *       VWS_CONF_SIZE_OPT("cache", "size", struct fconf, cache, "10G",
 *                         0, INT64_MAX, "template cache size"),
 *       VWS_CONF_END
 *   };
 *   struct fconf c;
 *   if (vws_conf_defaults(fopts, &c) < 0 ||
 *       vws_conf_load_file(fopts, &c, path, overrides) < 0)
 *       ... print vws_error_message() and stop ...
 *   ...
 *   vws_conf_release(fopts, &c);
 *
 * The file syntax (INI-like) is documented for admins in vws.conf(5):
 *
 *   # comment            ; comment too
 *   top_level_key = 1    (options whose section is "" come before any header)
 *   [net]
 *   port = 8443          # a comment after whitespace ends an unquoted value
 *   motd = "a \"quoted\" value with # and ; and a \\ backslash"
 *
 * Loading is all-or-nothing: the file (and the overrides) are parsed into a
 * private copy that replaces the target's option fields only when everything
 * was valid, so a daemon that reloads a broken file keeps its last good
 * configuration.  Every error names its place ("FILE:LINE: ...") and what was
 * expected; it is reported once through vws_report_error().
 *
 * Types and the C type of the field they fill:
 *   VWS_CONF_STRING    char *    any text; never NULL after defaults ("")
 *   VWS_CONF_PATH      char *    an absolute path; NULL when unset (value "")
 *   VWS_CONF_INT       int64_t   base-10 integer within [min, max]
 *   VWS_CONF_BOOL      bool      yes/no, true/false, on/off, 1/0
 *   VWS_CONF_ENUM      int       index of the value in enum_names[]
 *   VWS_CONF_SIZE      int64_t   bytes; suffix K, M, G, T (powers of 1024,
 *                                either case), within [min, max]
 *   VWS_CONF_DURATION  int64_t   seconds; suffix s, m, h, d, within [min, max]
 * The VWS_CONF_*_OPT macros check the field's type at compile time.
 *
 * Not thread-safe with respect to TARGET: callers serialise loads and reads
 * of the same struct (daemons reload in their main loop).
 */
#ifndef VWS_CONF_H
#define VWS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vws_buf;

enum vws_conf_type {
    VWS_CONF_NONE = 0,   /* marks the end of a table */
    VWS_CONF_STRING,
    VWS_CONF_PATH,
    VWS_CONF_INT,
    VWS_CONF_BOOL,
    VWS_CONF_ENUM,
    VWS_CONF_SIZE,
    VWS_CONF_DURATION,
};

/* Longest line, biggest file that a load accepts. */
#define VWS_CONF_MAX_LINE 4096
#define VWS_CONF_MAX_FILE (1024 * 1024)

struct vws_conf_option {
    const char *section;   /* "" or NULL: before any [section] header */
    const char *name;      /* [A-Za-z0-9_-]+, unique within its section */
    enum vws_conf_type type;
    size_t offset;         /* offsetof() of the field in the target struct */
    const char *defval;    /* default in file syntax; NULL: "" / unset / 0 /
                              no / first enum name */
    int64_t min, max;      /* bounds for INT, SIZE, DURATION */
    const char *const *enum_names; /* ENUM: NULL-terminated list of names */
    const char *help;      /* one line for admins (vws_conf_format) */
};

/* offsetof(ST, FIELD), and a compile error unless FIELD has type T. */
#define VWS_CONF_FIELD_(st, field, T) \
    (offsetof(st, field) + 0 * sizeof(struct { \
        _Static_assert(_Generic(((st *)0)->field, T: 1, default: 0), \
                       "field '" #field "' of " #st " is not of type " #T); \
        int dummy_; }))

#define VWS_CONF_STRING_OPT(sec, name, st, field, def, help) \
    { (sec), (name), VWS_CONF_STRING, VWS_CONF_FIELD_(st, field, char *), \
      (def), 0, 0, NULL, (help) }
#define VWS_CONF_PATH_OPT(sec, name, st, field, def, help) \
    { (sec), (name), VWS_CONF_PATH, VWS_CONF_FIELD_(st, field, char *), \
      (def), 0, 0, NULL, (help) }
#define VWS_CONF_INT_OPT(sec, name, st, field, def, lo, hi, help) \
    { (sec), (name), VWS_CONF_INT, VWS_CONF_FIELD_(st, field, int64_t), \
      (def), (lo), (hi), NULL, (help) }
#define VWS_CONF_BOOL_OPT(sec, name, st, field, def, help) \
    { (sec), (name), VWS_CONF_BOOL, VWS_CONF_FIELD_(st, field, bool), \
      (def), 0, 0, NULL, (help) }
#define VWS_CONF_ENUM_OPT(sec, name, st, field, def, names, help) \
    { (sec), (name), VWS_CONF_ENUM, VWS_CONF_FIELD_(st, field, int), \
      (def), 0, 0, (names), (help) }
#define VWS_CONF_SIZE_OPT(sec, name, st, field, def, lo, hi, help) \
    { (sec), (name), VWS_CONF_SIZE, VWS_CONF_FIELD_(st, field, int64_t), \
      (def), (lo), (hi), NULL, (help) }
#define VWS_CONF_DURATION_OPT(sec, name, st, field, def, lo, hi, help) \
    { (sec), (name), VWS_CONF_DURATION, \
      VWS_CONF_FIELD_(st, field, int64_t), (def), (lo), (hi), NULL, (help) }
#define VWS_CONF_END { NULL, NULL, VWS_CONF_NONE, 0, NULL, 0, 0, NULL, NULL }

/* Names of the log levels in vws_log_level order, for an ENUM option whose
 * int field can be passed to vws_log_set_level(). */
extern const char *const vws_conf_log_levels[];

/* Fill every option field of TARGET with its default.  The fields are
 * overwritten without being freed: call this on a fresh struct (or after
 * vws_conf_release()).  Also checks the table itself (unique names, a valid
 * default within bounds, ENUM rows with names); a bad table is a bug,
 * reported as VWS_ERR_INTERNAL.  Returns 0, or -1 with TARGET untouched. */
int vws_conf_defaults(const struct vws_conf_option *table, void *target);

/* Load the configuration file PATH: TARGET's option fields become the
 * defaults, then the file's values, then OVERRIDES (a NULL-terminated list of
 * "section.key=value" strings as given with -o, later ones win; may be NULL).
 * TARGET must hold a configuration (from vws_conf_defaults() or an earlier
 * load); its old strings are freed when the new values replace them.
 * Returns 0, or -1 after reporting the first error, with TARGET untouched.
 * PATH must name a regular file of at most VWS_CONF_MAX_FILE bytes. */
int vws_conf_load_file(const struct vws_conf_option *table, void *target,
                       const char *path, const char *const *overrides);

/* The same for LEN bytes of BUF (need not be NUL-terminated); NAME stands for
 * the file name in error messages. */
int vws_conf_load_buffer(const struct vws_conf_option *table, void *target,
                         const char *name, const char *buf, size_t len,
                         const char *const *overrides);

/* Set one option, KEY being "section.name" (or "name" for an option of the
 * top level), from VALUE in file syntax (no quotes needed).  The other
 * options keep their values.  0, or -1 with TARGET untouched. */
int vws_conf_set(const struct vws_conf_option *table, void *target,
                 const char *key, const char *value);

/* vws_conf_set() for one "section.name=value" argument of -o. */
int vws_conf_set_arg(const struct vws_conf_option *table, void *target,
                     const char *arg);

/* Free the strings of TARGET's option fields and set them to NULL.  TARGET
 * may then be filled again with vws_conf_defaults(). */
void vws_conf_release(const struct vws_conf_option *table, void *target);

/* Append the effective configuration to OUT in file syntax, one section after
 * the other, each option preceded by its help as a comment.  Loading the
 * text again gives the same values. */
void vws_conf_format(const struct vws_conf_option *table, const void *target,
                     struct vws_buf *out);
/* vws_conf_format() written to FP. */
void vws_conf_print(const struct vws_conf_option *table, const void *target,
                    FILE *fp);

#endif /* VWS_CONF_H */
