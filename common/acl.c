/*
 * acl.c — the site ACL file: parsing, decisions and live reloading (see
 * acl.h for the API and docs/vws-acl.5 for the syntax admins see).
 *
 * Loading reads the top file and every include and grid-mapfile in place,
 * depth first, into one flat array of rules in file order.  Each file is
 * read whole (at most VWS_ACL_MAX_FILE bytes) and each line is checked for
 * length, NUL and control bytes and UTF-8 before it is split into words, so
 * binary junk stops at its first line with a reason.  Every error names the
 * innermost FILE:LINE and the chain of includes that led there.  The
 * (device, inode, size, mtime, ctime) of every file read is kept, so that
 * vws_acl_changed() can tell cheaply whether a reload is needed.
 *
 * A decision walks the rules once: the first matching deny decides at once,
 * else the first matching allow is remembered; nothing matching is deny.
 *
 * The handle swaps whole ACLs: a reader takes a reference under a mutex held
 * for a pointer copy; a reload builds the new ACL without any lock readers
 * need and publishes it by swapping the pointer.
 */
#define VWS_MODULE "acl"
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "words.h"
#include "internal.h"

/* ==== operations ======================================================= */

struct acl_op_info {
    const char *name;
    bool limited_ok;   /* may a limited proxy do it? */
};

static const struct acl_op_info op_table[VWS_ACL_N_OPS] = {
    [VWS_ACL_CREATE]  = { "create",  false },
    [VWS_ACL_INSPECT] = { "inspect", true },
    [VWS_ACL_MANAGE]  = { "manage",  true },
    [VWS_ACL_DEPLOY]  = { "deploy",  false },
    [VWS_ACL_BROKER]  = { "broker",  true },
    [VWS_ACL_HOST]    = { "host",    true },
    [VWS_ACL_ADMIN]   = { "admin",   true },
};

_Static_assert(VWS_ACL_N_OPS <= 32, "operations are a 32-bit mask");

#define OPS_ALL ((uint32_t)(((uint64_t)1 << VWS_ACL_N_OPS) - 1))
#define OP_BIT(op) ((uint32_t)1 << (op))
/* What a grid-mapfile allows when its directive names no operations. */
#define OPS_GRIDMAP_DEFAULT (OP_BIT(VWS_ACL_CREATE) | OP_BIT(VWS_ACL_INSPECT) | \
                             OP_BIT(VWS_ACL_MANAGE) | OP_BIT(VWS_ACL_DEPLOY))

const char *
vws_acl_op_name(enum vws_acl_op op)
{
    if ((unsigned)op >= VWS_ACL_N_OPS || !op_table[op].name)
        return "unknown";
    return op_table[op].name;
}

int
vws_acl_op_parse(const char *name)
{
    for (int i = 0; i < VWS_ACL_N_OPS; i++)
        if (op_table[i].name && strcmp(op_table[i].name, name) == 0)
            return i;
    return -1;
}

/* "create, inspect, ... or *", for messages. */
static void
ops_expected(struct vws_buf *b)
{
    for (int i = 0; i < VWS_ACL_N_OPS; i++)
        vws_buf_addf(b, "%s%s", op_table[i].name,
                     i + 1 < VWS_ACL_N_OPS ? ", " : " or *");
}

/* ==== the ACL ========================================================== */

enum rule_subject { SUBJ_DN, SUBJ_FQAN, SUBJ_ANY };

struct acl_rule {
    bool deny;
    bool glob;              /* SUBJ_DN: the pattern has wildcards */
    enum rule_subject subject;
    uint32_t ops;
    char *pattern;          /* DN pattern, or FQAN group path ("/vws/users") */
    char *role;             /* FQAN role, or NULL for any */
    const char *file;       /* one of acl->files */
    unsigned line;
    char *text;             /* as written, for decisions */
};

/* What a file looked like when it was read. */
struct acl_stamp {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct vws_acl {
    atomic_uint refs;
    struct acl_rule *rules;
    size_t n_rules, cap_rules;
    char **files;            /* names of the files read, for rule->file */
    size_t n_files;
    struct acl_stamp *stamps;
    size_t n_stamps;
};

static void
acl_destroy(struct vws_acl *acl)
{
    for (size_t i = 0; i < acl->n_rules; i++) {
        free(acl->rules[i].pattern);
        free(acl->rules[i].role);
        free(acl->rules[i].text);
    }
    free(acl->rules);
    for (size_t i = 0; i < acl->n_files; i++)
        free(acl->files[i]);
    free(acl->files);
    for (size_t i = 0; i < acl->n_stamps; i++)
        free(acl->stamps[i].path);
    free(acl->stamps);
    free(acl);
}

struct vws_acl *
vws_acl_ref(struct vws_acl *acl)
{
    if (acl)
        atomic_fetch_add(&acl->refs, 1);
    return acl;
}

void
vws_acl_free(struct vws_acl *acl)
{
    if (acl && atomic_fetch_sub(&acl->refs, 1) == 1)
        acl_destroy(acl);
}

size_t
vws_acl_n_rules(const struct vws_acl *acl)
{
    return acl ? acl->n_rules : 0;
}

void
vws_acl_dump(const struct vws_acl *acl, struct vws_buf *out)
{
    for (size_t i = 0; acl && i < acl->n_rules; i++)
        vws_buf_addf(out, "%s:%u: %s\n", acl->rules[i].file,
                     acl->rules[i].line, acl->rules[i].text);
}

static void
stamp_fill(struct acl_stamp *s, const struct stat *st)
{
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
    s->ctime = st->st_ctim;
}

static void
stamp_add(struct vws_acl *acl, const char *path, const struct stat *st)
{
    struct acl_stamp *s;

    acl->stamps = vws_reallocarray(acl->stamps, acl->n_stamps + 1,
                                   sizeof(*acl->stamps));
    s = &acl->stamps[acl->n_stamps++];
    s->path = vws_strdup(path);
    stamp_fill(s, st);
}

bool
vws_acl_changed(const struct vws_acl *acl)
{
    for (size_t i = 0; acl && i < acl->n_stamps; i++) {
        const struct acl_stamp *s = &acl->stamps[i];
        struct stat st;

        if (stat(s->path, &st) < 0)
            return true;
        if (st.st_dev != s->dev || st.st_ino != s->ino ||
            st.st_size != s->size ||
            st.st_mtim.tv_sec != s->mtime.tv_sec ||
            st.st_mtim.tv_nsec != s->mtime.tv_nsec ||
            st.st_ctim.tv_sec != s->ctime.tv_sec ||
            st.st_ctim.tv_nsec != s->ctime.tv_nsec)
            return true;
    }
    return false;
}

/* ==== parsing ========================================================== */

/* One file being read; PARENT is the file that included it. */
struct acl_frame {
    const char *path;        /* as it appears in messages */
    unsigned line;
    dev_t dev;
    ino_t ino;
    int depth;               /* 0 for the top file */
    const struct acl_frame *parent;
};

/* Report "PATH:LINE: message (included from ...)" for frame F. */
static void frame_error(const struct acl_frame *f, vws_error_code code,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
frame_error(const struct acl_frame *f, vws_error_code code,
            const char *fmt, ...)
{
    struct vws_buf b = VWS_BUF_INIT;
    va_list ap;

    if (f->path && f->line)
        vws_buf_addf(&b, "%s:%u: ", f->path, f->line);
    else if (f->path)
        vws_buf_addf(&b, "%s: ", f->path);
    va_start(ap, fmt);
    vws_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    for (const struct acl_frame *p = f->parent; p; p = p->parent)
        vws_buf_addf(&b, " (included from %s:%u)", p->path, p->line);
    vws_report_error(code, "%s", b.s);
    vws_buf_release(&b);
}

/* strerror() that is safe in threads (reloads run in any thread). */
struct errbuf { char s[128]; };

static const char *
errstr(int err, struct errbuf *b)
{
    return strerror_r(err, b->s, sizeof(b->s));   /* the GNU variant */
}

/* At most 64 bytes of S, for quoting in messages. */
static const char *
shorten(const char *s, char out[80])
{
    size_t n = strlen(s);

    if (n <= 64)
        return s;
    memcpy(out, s, 60);
    memcpy(out + 60, "...", 4);
    return out;
}

/* The words of one line (words.h), the ACL's syntax errors at F. */
#define MAX_WORDS VWS_WORDS_MAX

static int
split_words(const struct acl_frame *f, const char *line, struct vws_words *ws)
{
    char why[160];

    if (vws_words_split(line, MAX_WORDS, ws, why, sizeof(why)) < 0) {
        frame_error(f, VWS_ERR_CONFIG, "%s", why);
        return -1;
    }
    return 0;
}

/* Parse the operations in words W[0..N): comma-separated names, spaces
 * allowed around commas, or '*'. */
static int
parse_ops(const struct acl_frame *f, char **w, size_t n, uint32_t *out)
{
    struct vws_buf all = VWS_BUF_INIT;
    uint32_t ops = 0;
    char *p, *save = NULL, *item;
    int ret = -1;

    if (n == 0) {
        struct vws_buf e = VWS_BUF_INIT;

        ops_expected(&e);
        frame_error(f, VWS_ERR_CONFIG, "missing operations (expected a "
                    "comma-separated list of %s)", e.s);
        vws_buf_release(&e);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        vws_buf_addf(&all, "%s%s", i ? " " : "", w[i]);
    if (all.s[0] == ',' || all.s[all.len - 1] == ',' || strstr(all.s, ",,")) {
        frame_error(f, VWS_ERR_CONFIG, "empty operation in '%s'", all.s);
        goto cleanup;
    }
    for (p = all.s; (item = strtok_r(p, ",", &save)); p = NULL) {
        char sh[80];
        int op;

        while (*item == ' ')
            item++;
        for (char *e = item + strlen(item); e > item && e[-1] == ' '; )
            *--e = '\0';
        if (!*item) {
            frame_error(f, VWS_ERR_CONFIG, "empty operation in the list");
            goto cleanup;
        }
        if (strchr(item, ' ')) {
            frame_error(f, VWS_ERR_CONFIG, "expected ',' between operations "
                        "in '%s'", shorten(item, sh));
            goto cleanup;
        }
        if (strcmp(item, "*") == 0) {
            ops |= OPS_ALL;
            continue;
        }
        op = vws_acl_op_parse(item);
        if (op < 0) {
            struct vws_buf e = VWS_BUF_INIT;

            ops_expected(&e);
            frame_error(f, VWS_ERR_CONFIG, "unknown operation '%s' "
                        "(expected %s)", shorten(item, sh), e.s);
            vws_buf_release(&e);
            goto cleanup;
        }
        ops |= OP_BIT(op);
    }
    *out = ops;
    ret = 0;

 cleanup:
    vws_buf_release(&all);
    return ret;
}

struct acl_parser {
    struct vws_acl *acl;
    size_t files_read;
};

/* The name of a file read, kept for the life of the ACL. */
static const char *
intern_file(struct vws_acl *acl, const char *path)
{
    for (size_t i = acl->n_files; i > 0; i--)
        if (strcmp(acl->files[i - 1], path) == 0)
            return acl->files[i - 1];
    acl->files = vws_reallocarray(acl->files, acl->n_files + 1,
                                  sizeof(char *));
    acl->files[acl->n_files] = vws_strdup(path);
    return acl->files[acl->n_files++];
}

static struct acl_rule *
rule_new(struct acl_parser *p, const struct acl_frame *f, const char *text)
{
    struct vws_acl *acl = p->acl;
    struct acl_rule *r;

    if (acl->n_rules == acl->cap_rules) {
        acl->cap_rules = acl->cap_rules ? 2 * acl->cap_rules : 16;
        acl->rules = vws_reallocarray(acl->rules, acl->cap_rules,
                                      sizeof(*acl->rules));
    }
    r = &acl->rules[acl->n_rules++];
    memset(r, 0, sizeof(*r));
    r->file = intern_file(acl, f->path);
    r->line = f->line;
    r->text = vws_strdup(text);
    return r;
}

/* A path named in FROM's file: absolute, or relative to that file's
 * directory.  Returns a new string. */
static char *
resolve_path(const char *from, const char *name)
{
    const char *slash = strrchr(from, '/');

    if (name[0] == '/' || !slash)
        return vws_strdup(name);
    return vws_asprintf("%.*s/%s", (int)(slash - from), from, name);
}

static int parse_file(struct acl_parser *p, const char *path,
                      const struct acl_frame *parent, const char *buf,
                      size_t len, const struct stat *st,
                      bool gridmap, uint32_t gridmap_ops);

/* Read all of PATH (a regular file of at most VWS_ACL_MAX_FILE bytes),
 * and parse it.  FROM is the including file's frame (its line is the
 * directive's line), or NULL for the top file. */
static int
read_and_parse(struct acl_parser *p, const struct acl_frame *from,
               const char *path, bool gridmap, uint32_t gridmap_ops)
{
    struct acl_frame here = { NULL, 0, 0, 0, 0, NULL };   /* no prefix */
    const struct acl_frame *at = from ? from : &here;
    const char *what = gridmap ? "grid-mapfile" : from ? "include" : "ACL file";
    struct errbuf eb;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, ret = -1;

    if (from && from->depth + 1 > VWS_ACL_MAX_DEPTH) {
        frame_error(at, VWS_ERR_LIMIT, "includes are nested deeper than %d "
                    "files at '%s'", VWS_ACL_MAX_DEPTH, path);
        return -1;
    }
    if (p->files_read >= VWS_ACL_MAX_FILES) {
        frame_error(at, VWS_ERR_LIMIT, "more than %d files read for one ACL "
                    "at '%s'", VWS_ACL_MAX_FILES, path);
        return -1;
    }
    /* O_NONBLOCK: opening a FIFO must not hang until a writer comes */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int err = errno;
        char *slash = strrchr(path, '/');
        char *dir = slash ? vws_strndup(path, (size_t)(slash - path) + 1)
                          : vws_strdup(".");

        /* so that creating the missing file counts as a change */
        if (stat(dir, &st) == 0)
            stamp_add(p->acl, dir, &st);
        free(dir);
        frame_error(at, err == ENOENT ? VWS_ERR_NOT_FOUND : VWS_ERR_IO,
                    "cannot open %s '%s': %s", what, path, errstr(err, &eb));
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        int err = errno;

        frame_error(at, VWS_ERR_IO, "cannot stat %s '%s': %s", what, path,
                    errstr(err, &eb));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        frame_error(at, VWS_ERR_CONFIG, "%s '%s' is not a regular file",
                    what, path);
        goto cleanup;
    }
    for (const struct acl_frame *a = from; a; a = a->parent) {
        if (a->dev == st.st_dev && a->ino == st.st_ino) {
            frame_error(at, VWS_ERR_CONFIG, "include loop: '%s' is already "
                        "being read", path);
            goto cleanup;
        }
    }
    if (st.st_size > VWS_ACL_MAX_FILE) {
        frame_error(at, VWS_ERR_LIMIT, "%s '%s' is larger than 4 MiB "
                    "(%lld bytes)", what, path, (long long)st.st_size);
        goto cleanup;
    }
    /* one byte more than allowed, to notice a file that grew since fstat */
    buf = vws_malloc((size_t)st.st_size + 1 < VWS_ACL_MAX_FILE + 1
                     ? (size_t)st.st_size + 1 : VWS_ACL_MAX_FILE + 1);
    for (;;) {
        size_t room = ((size_t)st.st_size + 1 < VWS_ACL_MAX_FILE + 1
                       ? (size_t)st.st_size + 1 : VWS_ACL_MAX_FILE + 1) - len;
        ssize_t n;

        if (room == 0)
            break;
        n = read(fd, buf + len, room);
        if (n < 0) {
            int err = errno;

            if (err == EINTR)
                continue;
            frame_error(at, VWS_ERR_IO, "cannot read %s '%s': %s", what,
                        path, errstr(err, &eb));
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > (size_t)st.st_size) {
        frame_error(at, VWS_ERR_IO, "%s '%s' changed while it was read",
                    what, path);
        goto cleanup;
    }
    p->files_read++;
    stamp_add(p->acl, path, &st);
    ret = parse_file(p, path, from, buf, len, &st, gridmap, gridmap_ops);

 cleanup:
    free(buf);
    close(fd);
    return ret;
}

/* The first error glob() met (its callback has no context argument). */
static _Thread_local int glob_errno;

static int
glob_error(const char *epath, int eerrno)
{
    (void)epath;
    if (!glob_errno)
        glob_errno = eerrno;
    return 1;           /* stop: an unreadable directory is an error */
}

/* include PATTERN: a literal file must exist; a glob may match nothing,
 * and its matches are read in sorted order.  The directory the glob looks
 * into is stamped too, so a new file there is a change. */
static int
do_include(struct acl_parser *p, const struct acl_frame *f, const char *name)
{
    char *path = resolve_path(f->path, name);
    int ret = -1;

    if (!strpbrk(path, "*?[")) {
        ret = read_and_parse(p, f, path, false, 0);
    } else {
        glob_t g;
        struct errbuf eb;
        char *slash = strrchr(path, '/');
        struct stat st;
        int rc;

        glob_errno = 0;
        rc = glob(path, GLOB_ERR, glob_error, &g);
        if (rc != 0 && rc != GLOB_NOMATCH) {
            globfree(&g);
            frame_error(f, glob_errno == ENOENT ? VWS_ERR_NOT_FOUND
                                                : VWS_ERR_IO,
                        "cannot expand include '%s': %s", path,
                        glob_errno ? errstr(glob_errno, &eb)
                                   : "out of memory");
            goto cleanup;
        }
        if (slash) {
            char *dir = vws_strndup(path, (size_t)(slash - path) + 1);

            if (!strpbrk(dir, "*?[") && stat(dir, &st) == 0)
                stamp_add(p->acl, dir, &st);
            free(dir);
        } else if (stat(".", &st) == 0) {
            stamp_add(p->acl, ".", &st);
        }
        ret = 0;
        for (size_t i = 0; rc == 0 && i < g.gl_pathc && ret == 0; i++)
            ret = read_and_parse(p, f, g.gl_pathv[i], false, 0);
        if (rc == 0)
            globfree(&g);
    }

 cleanup:
    free(path);
    return ret;
}

/* One line of a grid-mapfile: "DN" account[,account...] — the accounts
 * are ignored; the DN gets an allow rule for OPS. */
static int
parse_gridmap_line(struct acl_parser *p, const struct acl_frame *f,
                   const char *line, struct vws_words *ws, uint32_t ops)
{
    const struct acl_frame *g = f->parent;   /* the gridmap directive */
    struct vws_buf text = VWS_BUF_INIT;
    struct acl_rule *r;

    if (ws->w[0][0] != '/') {
        char sh[80];

        frame_error(f, VWS_ERR_CONFIG, "expected a DN in Globus form, "
                    "\"/O=.../CN=...\", not '%s'", shorten(ws->w[0], sh));
        return -1;
    }
    vws_buf_add(&text, line + ws->start, ws->end - ws->start);
    vws_buf_addf(&text, " (grid-mapfile listed at %s:%u:", g->path, g->line);
    for (int i = 0; i < VWS_ACL_N_OPS; i++)
        if (ops & OP_BIT(i))
            vws_buf_addf(&text, "%c%s", text.s[text.len - 1] == ':' ? ' ' : ',',
                         op_table[i].name);
    vws_buf_addch(&text, ')');
    r = rule_new(p, f, text.s);
    r->subject = SUBJ_DN;
    r->glob = false;          /* grid-mapfile DNs are literal */
    r->ops = ops;
    r->pattern = vws_strdup(ws->w[0]);
    vws_buf_release(&text);
    return 0;
}

/* The subject of an allow/deny rule. */
static int
parse_subject(const struct acl_frame *f, struct acl_rule *r,
              struct vws_words *ws, size_t *next)
{
    const char *kind = ws->w[1];
    char sh[80];

    if (strcmp(kind, "any") == 0) {
        r->subject = SUBJ_ANY;
        *next = 2;
        return 0;
    }
    if (strcmp(kind, "dn") != 0 && strcmp(kind, "fqan") != 0) {
        frame_error(f, VWS_ERR_CONFIG, "unknown subject '%s' (expected dn, "
                    "fqan or any)", shorten(kind, sh));
        return -1;
    }
    if (ws->n < 3) {
        frame_error(f, VWS_ERR_CONFIG, "missing the %s after '%s %s'",
                    strcmp(kind, "dn") == 0 ? "DN" : "FQAN", ws->w[0], kind);
        return -1;
    }
    *next = 3;
    if (strcmp(kind, "dn") == 0) {
        const char *dn = ws->w[2];

        if (dn[0] != '/' && dn[0] != '*' && dn[0] != '?') {
            frame_error(f, VWS_ERR_CONFIG, "expected a DN in Globus form, "
                        "\"/O=.../CN=...\" (quoted when it has spaces), not "
                        "'%s'", shorten(dn, sh));
            return -1;
        }
        r->subject = SUBJ_DN;
        r->pattern = vws_strdup(dn);
        r->glob = strpbrk(dn, "*?\\") != NULL;
        return 0;
    } else {
        char *norm = vws_fqan_normalise(ws->w[2]);
        char *role;

        if (!norm) {
            frame_error(f, VWS_ERR_CONFIG, "bad FQAN '%s' (expected "
                        "/vo[/group...][/Role=role])", shorten(ws->w[2], sh));
            return -1;
        }
        if (strstr(norm, "/Capability=")) {
            frame_error(f, VWS_ERR_CONFIG, "bad FQAN '%s': capabilities are "
                        "not supported in rules (expected /vo[/group...]"
                        "[/Role=role])", shorten(ws->w[2], sh));
            free(norm);
            return -1;
        }
        r->subject = SUBJ_FQAN;
        if ((role = strstr(norm, "/Role="))) {
            r->role = vws_strdup(role + 6);
            *role = '\0';
        }
        r->pattern = norm;
        return 0;
    }
}

/* One non-empty line of an ACL file. */
static int
parse_acl_line(struct acl_parser *p, const struct acl_frame *f,
               const char *line, struct vws_words *ws)
{
    const char *kw = ws->w[0];
    char sh[80];

    if (strcmp(kw, "include") == 0) {
        if (ws->n != 2) {
            frame_error(f, VWS_ERR_CONFIG, "expected 'include PATH' (one "
                        "path, quoted when it has spaces)");
            return -1;
        }
        return do_include(p, f, ws->w[1]);
    }
    if (strcmp(kw, "gridmap") == 0) {
        uint32_t ops = OPS_GRIDMAP_DEFAULT;
        char *path;
        int ret;

        if (ws->n < 2) {
            frame_error(f, VWS_ERR_CONFIG, "expected 'gridmap PATH "
                        "[OPERATIONS]'");
            return -1;
        }
        if (ws->n > 2 && parse_ops(f, ws->w + 2, ws->n - 2, &ops) < 0)
            return -1;
        path = resolve_path(f->path, ws->w[1]);
        ret = read_and_parse(p, f, path, true, ops);
        free(path);
        return ret;
    }
    if (strcmp(kw, "allow") == 0 || strcmp(kw, "deny") == 0) {
        struct acl_rule rule = { 0 }, *r;
        struct vws_buf text = VWS_BUF_INIT;
        size_t next;

        rule.deny = kw[0] == 'd';
        if (ws->n < 2) {
            frame_error(f, VWS_ERR_CONFIG, "expected '%s dn|fqan|any ... "
                        "OPERATIONS'", kw);
            return -1;
        }
        if (parse_subject(f, &rule, ws, &next) < 0)
            return -1;
        if (parse_ops(f, ws->w + next, ws->n - next, &rule.ops) < 0) {
            free(rule.pattern);
            free(rule.role);
            return -1;
        }
        vws_buf_add(&text, line + ws->start, ws->end - ws->start);
        r = rule_new(p, f, text.s);
        vws_buf_release(&text);
        r->deny = rule.deny;
        r->subject = rule.subject;
        r->glob = rule.glob;
        r->ops = rule.ops;
        r->pattern = rule.pattern;
        r->role = rule.role;
        return 0;
    }
    frame_error(f, VWS_ERR_CONFIG, "unknown keyword '%s' (expected allow, "
                "deny, include or gridmap)", shorten(kw, sh));
    return -1;
}

static int
parse_file(struct acl_parser *p, const char *path,
           const struct acl_frame *parent, const char *buf, size_t len,
           const struct stat *st, bool gridmap, uint32_t gridmap_ops)
{
    struct acl_frame f = { path, 0, st ? st->st_dev : 0, st ? st->st_ino : 0,
                           parent ? parent->depth + 1 : 0, parent };
    struct vws_words ws = { .n = 0 };
    size_t off = 0;
    char *line = vws_malloc(VWS_ACL_MAX_LINE + 1);
    int ret = -1;

    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        off = 3;                     /* a UTF-8 byte order mark */
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        size_t valid;

        f.line++;
        if (n > 0 && buf[off + n - 1] == '\r')
            n--;                     /* CRLF */
        if (n > VWS_ACL_MAX_LINE) {
            frame_error(&f, VWS_ERR_LIMIT, "line is longer than %d bytes "
                        "(%zu bytes)", VWS_ACL_MAX_LINE, n);
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[off + i];

            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                frame_error(&f, VWS_ERR_CONFIG, "binary data: byte 0x%02x at "
                            "column %zu (expected a text file)", c, i + 1);
                goto cleanup;
            }
        }
        valid = vws_utf8_valid_prefix((const unsigned char *)buf + off, n);
        if (valid < n) {
            frame_error(&f, VWS_ERR_CONFIG, "not UTF-8 text: byte 0x%02x at "
                        "column %zu", (unsigned char)buf[off + valid],
                        valid + 1);
            goto cleanup;
        }
        memcpy(line, buf + off, n);
        line[n] = '\0';
        off += nl ? (size_t)(nl - (buf + off)) + 1 : len - off;

        if (split_words(&f, line, &ws) < 0)
            goto cleanup;
        if (ws.n == 0)
            continue;
        if ((gridmap ? parse_gridmap_line(p, &f, line, &ws, gridmap_ops)
                     : parse_acl_line(p, &f, line, &ws)) < 0)
            goto cleanup;
        vws_words_release(&ws);
    }
    ret = 0;

 cleanup:
    vws_words_release(&ws);
    free(line);
    return ret;
}

/* Load PATH.  On failure, *PARTIAL (when not NULL) gets what was read
 * before the error: its stamps tell when the broken files change. */
static struct vws_acl *
load_file(const char *path, struct vws_acl **partial)
{
    struct acl_parser p = { vws_calloc(1, sizeof(struct vws_acl)), 0 };

    atomic_init(&p.acl->refs, 1);
    if (!path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "no ACL file name");
        goto fail;
    }
    if (read_and_parse(&p, NULL, path, false, 0) < 0)
        goto fail;
    return p.acl;

 fail:
    if (partial)
        *partial = p.acl;
    else
        acl_destroy(p.acl);
    return NULL;
}

struct vws_acl *
vws_acl_load(const char *path)
{
    return load_file(path, NULL);
}

struct vws_acl *
vws_acl_load_buffer(const char *name, const char *buf, size_t len)
{
    struct acl_parser p = { vws_calloc(1, sizeof(struct vws_acl)), 0 };

    atomic_init(&p.acl->refs, 1);
    if (!name)
        name = "(buffer)";
    if (len > VWS_ACL_MAX_FILE) {
        vws_report_error(VWS_ERR_LIMIT, "%s: ACL is larger than 4 MiB", name);
        goto fail;
    }
    if (parse_file(&p, name, NULL, buf, len, NULL, false, 0) < 0)
        goto fail;
    return p.acl;

 fail:
    acl_destroy(p.acl);
    return NULL;
}

/* ==== decisions ======================================================== */

/* Glob match of S against PATTERN: '*' any run (also '/'), '?' one byte,
 * '\' makes the next byte literal.  Iterative, backtracking only to the
 * last '*', so O(len(pattern) * len(s)) at worst. */
static bool
glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*pat == '*') {
            star = ++pat;
            resume = s;
            continue;
        }
        if (*pat == '?' ||
            (*pat == '\\' && pat[1] && pat[1] == *s) ||
            (*pat != '\\' && *pat && *pat == *s)) {
            pat += *pat == '\\' ? 2 : 1;
            s++;
            continue;
        }
        if (!star)
            return false;
        pat = star;
        s = ++resume;
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* Does the caller's FQAN match a rule's group path and role?  The group
 * must be the rule's group or below it; a rule with a role asks for exactly
 * that group and that role. */
bool
vws_acl_fqan_match(const char *group, const char *rrole, const char *fqan)
{
    size_t glen = strlen(group);
    const char *role = strstr(fqan, "/Role=");
    const char *cap = strstr(fqan, "/Capability=");
    size_t flen = role ? (size_t)(role - fqan)
                       : cap ? (size_t)(cap - fqan) : strlen(fqan);

    if (flen < glen || strncmp(fqan, group, glen) != 0)
        return false;
    if (!rrole)
        return flen == glen || fqan[glen] == '/';
    if (flen != glen || !role)
        return false;
    role += 6;
    {
        size_t rlen = strlen(rrole);
        return strncmp(role, rrole, rlen) == 0 &&
               (role[rlen] == '\0' || role[rlen] == '/');
    }
}

static bool
fqan_match(const struct acl_rule *r, const char *fqan)
{
    return vws_acl_fqan_match(r->pattern, r->role, fqan);
}

bool
vws_acl_dn_match(const char *pattern, const char *dn)
{
    return pattern && dn && glob_match(pattern, dn);
}

static bool
rule_matches(const struct acl_rule *r, const struct vws_identity *id)
{
    switch (r->subject) {
    case SUBJ_ANY:
        return true;
    case SUBJ_DN:
        return r->glob ? glob_match(r->pattern, id->dn)
                       : strcmp(r->pattern, id->dn) == 0;
    case SUBJ_FQAN:
        for (size_t i = 0; i < id->n_fqans; i++)
            if (id->fqans[i] && fqan_match(r, id->fqans[i]))
                return true;
        return false;
    }
    return false;
}

void
vws_acl_decision_release(struct vws_acl_decision *why)
{
    if (!why)
        return;
    free(why->file);
    free(why->rule);
    *why = (struct vws_acl_decision)VWS_ACL_DECISION_INIT;
}

void
vws_acl_decision_format(const struct vws_acl_decision *why,
                        struct vws_buf *out)
{
    switch (why->reason) {
    case VWS_ACL_RULE:
        vws_buf_addf(out, "%s:%u: %s", why->file, why->line, why->rule);
        break;
    case VWS_ACL_BUILTIN:
        vws_buf_addf(out, "%s (built-in)", why->rule);
        break;
    case VWS_ACL_NO_MATCH:
    default:
        vws_buf_adds(out, "no rule matched (default deny)");
        break;
    }
    if (why->context)
        vws_buf_addf(out, " [%s]", why->context);
}

static int
decide(struct vws_acl_decision *why, bool allow, enum vws_acl_reason reason,
       const struct acl_rule *r, const char *builtin)
{
    if (why) {
        vws_acl_decision_release(why);
        why->allow = allow;
        why->reason = reason;
        if (r) {
            why->file = vws_strdup(r->file);
            why->line = r->line;
            why->rule = vws_strdup(r->text);
        } else if (builtin) {
            why->rule = vws_strdup(builtin);
        }
    }
    return allow ? 1 : 0;
}

int
vws_acl_check(const struct vws_acl *acl, const struct vws_identity *id,
              enum vws_acl_op op, struct vws_acl_decision *why)
{
    const struct acl_rule *allow = NULL;
    uint32_t bit;

    if (!acl || (unsigned)op >= VWS_ACL_N_OPS) {
        vws_report_error(VWS_ERR_INVALID_ARG, "%s", !acl ? "no ACL"
                         : "unknown operation");
        return decide(why, false, VWS_ACL_BUILTIN, NULL, "invalid request");
    }
    if (!id || !id->dn || !id->dn[0])
        return decide(why, false, VWS_ACL_BUILTIN, NULL,
                      "the caller has no DN");
    if (id->proxy == VWS_PROXY_LIMITED && !op_table[op].limited_ok) {
        char *msg = vws_asprintf("a limited proxy may not %s",
                                 op_table[op].name);
        int ret = decide(why, false, VWS_ACL_BUILTIN, NULL, msg);

        free(msg);
        return ret;
    }
    bit = OP_BIT(op);
    for (size_t i = 0; i < acl->n_rules; i++) {
        const struct acl_rule *r = &acl->rules[i];

        if (!(r->ops & bit) || (!r->deny && allow) || !rule_matches(r, id))
            continue;
        if (r->deny)
            return decide(why, false, VWS_ACL_RULE, r, NULL);
        allow = r;
    }
    if (allow)
        return decide(why, true, VWS_ACL_RULE, allow, NULL);
    return decide(why, false, VWS_ACL_NO_MATCH, NULL, NULL);
}

int
vws_acl_may_manage(const struct vws_acl *acl, const struct vws_identity *id,
                   const char *owner_dn, struct vws_acl_decision *why)
{
    int ret;

    if (owner_dn && id && id->dn && strcmp(id->dn, owner_dn) == 0) {
        ret = vws_acl_check(acl, id, VWS_ACL_MANAGE, why);
        if (why)
            why->context = "the caller owns the workspace";
        return ret;
    }
    ret = vws_acl_check(acl, id, VWS_ACL_ADMIN, why);
    if (why)
        why->context = ret ? "admin" : "not the owner, and not admin";
    return ret;
}

/* ==== the handle ======================================================= */

struct vws_acl_handle {
    char *path;
    int check_ms;
    pthread_mutex_t lock;          /* guards current */
    pthread_mutex_t reload_lock;   /* one reload at a time; guards broken */
    struct vws_acl *current;
    /* what the last broken load read: its files' stamps, so that it is not
     * retried (and logged) again until one of them changes */
    struct vws_acl *broken_stamps;
    atomic_int reload_requested;
    atomic_llong next_check_ms;
    atomic_ulong generation;
};

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct vws_acl_handle *
vws_acl_handle_open(const char *path, int check_ms)
{
    struct vws_acl_handle *h;
    struct vws_acl *acl = vws_acl_load(path);

    if (!acl)
        return NULL;
    h = vws_calloc(1, sizeof(*h));
    h->path = vws_strdup(path);
    h->check_ms = check_ms;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->reload_lock, NULL);
    h->current = acl;
    atomic_init(&h->reload_requested, 0);
    atomic_init(&h->next_check_ms, now_ms() + (check_ms > 0 ? check_ms : 0));
    atomic_init(&h->generation, 1);
    return h;
}

void
vws_acl_handle_close(struct vws_acl_handle *h)
{
    if (!h)
        return;
    vws_acl_free(h->current);
    vws_acl_free(h->broken_stamps);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->reload_lock);
    free(h->path);
    free(h);
}

static struct vws_acl *
current_ref(struct vws_acl_handle *h)
{
    struct vws_acl *acl;

    pthread_mutex_lock(&h->lock);
    acl = vws_acl_ref(h->current);
    pthread_mutex_unlock(&h->lock);
    return acl;
}

/* Reload with reload_lock held. */
static int
reload_locked(struct vws_acl_handle *h)
{
    struct vws_acl *partial = NULL, *old;
    struct vws_acl *acl = load_file(h->path, &partial);

    if (!acl) {
        VWS_WARN("keeping the last good ACL: %s", vws_error_message());
        vws_acl_free(h->broken_stamps);
        h->broken_stamps = partial;
        return -1;
    }
    pthread_mutex_lock(&h->lock);
    old = h->current;
    h->current = acl;
    pthread_mutex_unlock(&h->lock);
    vws_acl_free(old);
    vws_acl_free(h->broken_stamps);
    h->broken_stamps = NULL;
    atomic_fetch_add(&h->generation, 1);
    VWS_INFO("loaded '%s': %zu rules from %zu files", h->path,
             acl->n_rules, acl->n_files);
    return 0;
}

int
vws_acl_handle_reload(struct vws_acl_handle *h)
{
    int ret;

    pthread_mutex_lock(&h->reload_lock);
    atomic_store(&h->reload_requested, 0);
    ret = reload_locked(h);
    pthread_mutex_unlock(&h->reload_lock);
    return ret;
}

void
vws_acl_handle_request_reload(struct vws_acl_handle *h)
{
    atomic_store(&h->reload_requested, 1);
}

unsigned long
vws_acl_handle_generation(struct vws_acl_handle *h)
{
    return atomic_load(&h->generation);
}

/* Reload when asked to, or when the files changed (looked at no more
 * often than check_ms).  A thread that finds another reloading goes on
 * with the current ACL. */
static void
maybe_reload(struct vws_acl_handle *h)
{
    bool requested = atomic_load(&h->reload_requested) != 0;
    bool due = false;

    if (!requested && h->check_ms >= 0) {
        long long now = now_ms();

        due = now >= atomic_load(&h->next_check_ms);
        if (due)
            atomic_store(&h->next_check_ms, now + h->check_ms);
    }
    if (!requested && !due)
        return;
    if (pthread_mutex_trylock(&h->reload_lock) != 0)
        return;
    if (atomic_exchange(&h->reload_requested, 0)) {
        (void)reload_locked(h);
    } else if (due) {
        struct vws_acl *cur = current_ref(h);
        bool changed = vws_acl_changed(cur) &&
                       (!h->broken_stamps || vws_acl_changed(h->broken_stamps));

        vws_acl_free(cur);
        if (changed)
            (void)reload_locked(h);
    }
    pthread_mutex_unlock(&h->reload_lock);
}

struct vws_acl *
vws_acl_handle_get(struct vws_acl_handle *h)
{
    maybe_reload(h);
    return current_ref(h);
}

int
vws_acl_handle_check(struct vws_acl_handle *h, const struct vws_identity *id,
                     enum vws_acl_op op, struct vws_acl_decision *why)
{
    struct vws_acl *acl = vws_acl_handle_get(h);
    int ret = vws_acl_check(acl, id, op, why);

    vws_acl_free(acl);
    return ret;
}

int
vws_acl_handle_may_manage(struct vws_acl_handle *h,
                          const struct vws_identity *id,
                          const char *owner_dn, struct vws_acl_decision *why)
{
    struct vws_acl *acl = vws_acl_handle_get(h);
    int ret = vws_acl_may_manage(acl, id, owner_dn, why);

    vws_acl_free(acl);
    return ret;
}
