/*
 * check_cache.c — unit tests of the template cache (manager/cache.h):
 * LRU and LFU eviction order on hand-made sequences, pins that block
 * eviction, the limit error, one fetch for 2 and 8 concurrent acquires of a
 * template, a failing fetch that leaves nothing and fails every waiter,
 * reconciliation of the index with the files at reopen (stray, missing,
 * truncated and corrupted files), counters, and names that try traversal.
 *
 * Templates are 1 MB of one repeated byte, so a cache of a few MB shows
 * the policies; every test works in a temporary directory of its own.
 */
#define VWS_MODULE "check_cache"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manager/cache.h"
#include "internal.h"

#define TMB (1024u * 1024u)

static char tmpdir[64];
static char *cachedir;

static void
setup(void)
{
    vws_strlcpy(tmpdir, "/tmp/vws-check-cache-XXXXXX", sizeof(tmpdir));
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    cachedir = vws_asprintf("%s/cache", tmpdir);
    vws_error_reset();
}

static void
teardown(void)
{
    char *cmd = vws_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    free(cmd);
    VWS_FREE(cachedir);
}

static struct vws_cache *
open_cache(uint64_t mb, enum vws_cache_policy policy, bool verify)
{
    struct vws_cache_options o = { cachedir, mb, policy, verify };
    struct vws_cache *c = vws_cache_open(&o);

    ck_assert_msg(c != NULL, "%s", vws_error_message());
    return c;
}

static void
assert_error(vws_error_code code, const char *part)
{
    ck_assert_msg(vws_error_code_last() == code, "code %s (%s), want %s",
                  vws_error_code_name(vws_error_code_last()),
                  vws_error_message(), vws_error_code_name(code));
    if (part)
        ck_assert_msg(strstr(vws_error_message(), part) != NULL,
                      "'%s' not in '%s'", part, vws_error_message());
    vws_error_reset();
}

/* ---- templates and fetchers ------------------------------------------- */

struct tmpl {
    const char *name;
    unsigned char byte;     /* content: SIZE copies of BYTE */
    uint64_t size;
    char sha[VWS_CACHE_SHA256_LEN + 1];
    atomic_int calls;
    int delay_ms;
    enum { FETCH_OK, FETCH_FAIL, FETCH_SHORT, FETCH_WRONG } mode;
};

static void
tmpl_init(struct tmpl *t, const char *name, unsigned char byte, uint64_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32], *buf = vws_malloc(size);
    unsigned int len = 0;

    memset(t, 0, sizeof(*t));
    t->name = name;
    t->byte = byte;
    t->size = size;
    memset(buf, byte, size);
    ck_assert_int_eq(EVP_Digest(buf, size, md, &len, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++) {
        t->sha[2 * i] = hex[md[i] >> 4];
        t->sha[2 * i + 1] = hex[md[i] & 15];
    }
    t->sha[64] = '\0';
    free(buf);
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int
write_bytes(const char *path, unsigned char byte, uint64_t size)
{
    unsigned char *buf = vws_malloc(size ? size : 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ssize_t w;

    if (fd < 0) {
        free(buf);
        vws_report_system_error("cannot create '%s'", path);
        return -1;
    }
    memset(buf, byte, size ? size : 1);
    w = write(fd, buf, size);
    close(fd);
    free(buf);
    if (w != (ssize_t)size) {
        vws_report_system_error("cannot write '%s'", path);
        return -1;
    }
    return 0;
}

/* The fetch function of the tests: write, verify like a real fetcher. */
static int
fetch_tmpl(void *arg, const char *path)
{
    struct tmpl *t = arg;

    atomic_fetch_add(&t->calls, 1);
    if (t->delay_ms)
        sleep_ms(t->delay_ms);
    switch (t->mode) {
    case FETCH_FAIL:
        write_bytes(path, t->byte, t->size / 2);    /* a partial file */
        vws_report_error(VWS_ERR_IO, "transfer of '%s' broke at 50%%",
                         t->name);
        return -1;
    case FETCH_SHORT:
        return write_bytes(path, t->byte, t->size - 1);
    case FETCH_WRONG:
        if (write_bytes(path, (unsigned char)(t->byte + 1), t->size) < 0)
            return -1;
        return vws_cache_verify_file(path, t->sha);
    case FETCH_OK:
    default:
        if (write_bytes(path, t->byte, t->size) < 0)
            return -1;
        return vws_cache_verify_file(path, t->sha);
    }
}

/* Acquire T for INSTANCE; returns the outcome. */
static enum vws_cache_outcome
acquire(struct vws_cache *c, struct tmpl *t, const char *instance)
{
    enum vws_cache_outcome how = (enum vws_cache_outcome)-1;
    char *path = NULL;

    ck_assert_msg(vws_cache_acquire(c, t->name, t->sha, t->size, instance,
                                    fetch_tmpl, t, &path, &how) == 0,
                  "acquire '%s': %s", t->name, vws_error_message());
    ck_assert_ptr_nonnull(path);
    ck_assert_int_eq(access(path, R_OK), 0);
    free(path);
    return how;
}

/* Acquire and unpin at once: one use. */
static enum vws_cache_outcome
use(struct vws_cache *c, struct tmpl *t)
{
    enum vws_cache_outcome how = acquire(c, t, "user");
    ck_assert_int_eq(vws_cache_unpin(c, t->sha, "user"), 0);
    return how;
}

static void
assert_cached(struct vws_cache *c, struct tmpl *t, bool want)
{
    ck_assert_msg(vws_cache_contains(c, t->sha) == want, "'%s' is %scached",
                  t->name, want ? "not " : "");
}

/* The number of files in the templates directory. */
static int
count_files(void)
{
    char *dir = vws_asprintf("%s/templates", cachedir);
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    free(dir);
    return n;
}

/* ---- policies --------------------------------------------------------- */

START_TEST(test_lru_order)
{
    struct vws_cache *c = open_cache(3, VWS_CACHE_LRU, false);
    struct tmpl a, b, cc, d, e;
    struct vws_cache_entry *list;
    size_t n;

    tmpl_init(&a, "a", 'a', TMB);
    tmpl_init(&b, "b", 'b', TMB);
    tmpl_init(&cc, "c", 'c', TMB);
    tmpl_init(&d, "d", 'd', TMB);
    tmpl_init(&e, "e", 'e', TMB);
    ck_assert_int_eq(use(c, &a), VWS_CACHE_MISS);
    ck_assert_int_eq(use(c, &b), VWS_CACHE_MISS);
    ck_assert_int_eq(use(c, &cc), VWS_CACHE_MISS);
    /* a is used again, often: LRU does not care how often */
    ck_assert_int_eq(use(c, &a), VWS_CACHE_HIT);
    ck_assert_int_eq(use(c, &b), VWS_CACHE_HIT);
    ck_assert_int_eq(use(c, &b), VWS_CACHE_HIT);
    ck_assert_int_eq(use(c, &a), VWS_CACHE_HIT);
    /* order now: c (oldest), b, a */
    ck_assert_int_eq(vws_cache_list(c, &list, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(list[0].name, "c");
    ck_assert_str_eq(list[1].name, "b");
    ck_assert_str_eq(list[2].name, "a");
    ck_assert_uint_eq(list[2].uses, 3);
    vws_cache_entries_free(list, n);

    ck_assert_int_eq(use(c, &d), VWS_CACHE_MISS);
    assert_cached(c, &cc, false);
    assert_cached(c, &b, true);
    ck_assert_int_eq(use(c, &e), VWS_CACHE_MISS);
    assert_cached(c, &b, false);
    assert_cached(c, &a, true);
    assert_cached(c, &d, true);
    assert_cached(c, &e, true);
    ck_assert_int_eq(count_files(), 3);
    vws_cache_close(c);
}
END_TEST

START_TEST(test_lfu_order)
{
    struct vws_cache *c = open_cache(3, VWS_CACHE_LFU, false);
    struct tmpl a, b, cc, d, e;

    tmpl_init(&a, "a", 'a', TMB);
    tmpl_init(&b, "b", 'b', TMB);
    tmpl_init(&cc, "c", 'c', TMB);
    tmpl_init(&d, "d", 'd', TMB);
    tmpl_init(&e, "e", 'e', TMB);
    use(c, &a);
    use(c, &a);
    use(c, &a);         /* a: 3 uses */
    use(c, &b);         /* b: 1 use, the most recent is below */
    use(c, &cc);
    use(c, &cc);        /* c: 2 uses */
    /* b: fewest uses, though not the least recent */
    ck_assert_int_eq(use(c, &d), VWS_CACHE_MISS);
    assert_cached(c, &b, false);
    assert_cached(c, &a, true);
    assert_cached(c, &cc, true);
    /* d and e tie at 1 use: the older (d) goes */
    use(c, &cc);
    ck_assert_int_eq(use(c, &e), VWS_CACHE_MISS);
    assert_cached(c, &d, false);
    assert_cached(c, &e, true);
    /* e (1) before c (3) and a (3, older) */
    ck_assert_int_eq(use(c, &b), VWS_CACHE_MISS);
    assert_cached(c, &e, false);
    assert_cached(c, &a, true);
    assert_cached(c, &cc, true);
    ck_assert_int_eq(count_files(), 3);
    vws_cache_close(c);
}
END_TEST

/* ---- pins and limits -------------------------------------------------- */

START_TEST(test_pinning)
{
    struct vws_cache *c = open_cache(2, VWS_CACHE_LRU, false);
    struct tmpl a, b, cc, d, big;
    struct vws_cache_stats st;
    char **inst;
    size_t n;
    char *path = NULL;

    tmpl_init(&a, "a", 'a', TMB);
    tmpl_init(&b, "b", 'b', TMB);
    tmpl_init(&cc, "c", 'c', TMB);
    tmpl_init(&d, "d", 'd', TMB);
    tmpl_init(&big, "big", 'B', 3 * TMB);

    acquire(c, &a, "w1");           /* pinned, and the oldest */
    use(c, &b);
    ck_assert_int_eq(use(c, &cc), VWS_CACHE_MISS);
    assert_cached(c, &a, true);     /* pinned: b went instead */
    assert_cached(c, &b, false);

    acquire(c, &cc, "w2");
    acquire(c, &cc, "w2");          /* one pin per instance */
    ck_assert_int_eq(vws_cache_acquire(c, d.name, d.sha, d.size, "w3",
                                       fetch_tmpl, &d, &path, NULL), -1);
    assert_error(VWS_ERR_LIMIT,
                 "cache of 2 MB cannot hold 'd' (1 MB): 2 MB pinned");
    ck_assert_ptr_null(path);
    ck_assert_int_eq(atomic_load(&d.calls), 0);
    ck_assert_int_eq(vws_cache_acquire(c, big.name, big.sha, big.size, "w3",
                                       fetch_tmpl, &big, &path, NULL), -1);
    assert_error(VWS_ERR_LIMIT, "cannot hold 'big' (3 MB)");
    ck_assert_int_eq(vws_cache_remove(c, a.sha), -1);
    assert_error(VWS_ERR_STATE, "pinned");

    vws_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.pinned_bytes, 2 * TMB);
    ck_assert_uint_eq(st.used_bytes, 2 * TMB);
    ck_assert_uint_eq(st.limit_bytes, 2 * TMB);
    ck_assert_uint_eq(st.entries, 2);
    ck_assert_uint_eq(st.evictions, 1);

    ck_assert_int_eq(vws_cache_pinned_instances(c, &inst, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(inst[0], "w1");
    ck_assert_str_eq(inst[1], "w2");
    vws_cache_instances_free(inst, n);

    /* c pinned once by w2: one unpin frees it; then d fits */
    ck_assert_int_eq(vws_cache_unpin_instance(c, "w2"), 0);
    ck_assert_int_eq(acquire(c, &d, "w3"), VWS_CACHE_MISS);
    assert_cached(c, &cc, false);
    assert_cached(c, &a, true);
    /* pin by hand */
    ck_assert_int_eq(vws_cache_pin(c, cc.sha, "w4"), -1);
    assert_error(VWS_ERR_NOT_FOUND, "not cached");
    ck_assert_int_eq(vws_cache_unpin(c, a.sha, "w1"), 0);
    ck_assert_int_eq(vws_cache_unpin(c, a.sha, "w1"), 0);   /* no pin: ok */
    ck_assert_int_eq(vws_cache_remove(c, a.sha), 0);
    ck_assert_int_eq(vws_cache_remove(c, a.sha), -1);
    assert_error(VWS_ERR_NOT_FOUND, NULL);
    ck_assert_int_eq(count_files(), 1);
    vws_cache_close(c);
}
END_TEST

/* ---- concurrency ------------------------------------------------------ */

struct racer {
    struct vws_cache *c;
    struct tmpl *t;
    pthread_barrier_t *start;
    char instance[32];
    int rc;
    enum vws_cache_outcome how;
    vws_error_code code;
    char message[256];
    char *path;
};

static void *
race(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->start);
    r->rc = vws_cache_acquire(r->c, r->t->name, r->t->sha, r->t->size,
                              r->instance, fetch_tmpl, r->t, &r->path,
                              &r->how);
    if (r->rc < 0) {
        r->code = vws_error_code_last();
        vws_strlcpy(r->message, vws_error_message(), sizeof(r->message));
    }
    return NULL;
}

/* N threads acquire T at once; returns how many succeeded. */
static int
run_race(struct vws_cache *c, struct tmpl *t, int n, struct racer *rs)
{
    pthread_t th[8];
    pthread_barrier_t start;
    int ok = 0;

    ck_assert_int_le(n, 8);
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        rs[i].c = c;
        rs[i].t = t;
        rs[i].start = &start;
        snprintf(rs[i].instance, sizeof(rs[i].instance), "ws-%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (rs[i].rc == 0)
            ok++;
    }
    pthread_barrier_destroy(&start);
    return ok;
}

static void
one_fetch_for(int n)
{
    struct vws_cache *c = open_cache(10, VWS_CACHE_LRU, false);
    struct racer rs[8];
    struct tmpl t;
    struct vws_cache_stats st;
    struct vws_cache_entry *list;
    size_t count;
    int misses = 0, halves = 0;

    tmpl_init(&t, "shared", 's', TMB);
    t.delay_ms = 300;   /* long enough for every thread to arrive */
    ck_assert_int_eq(run_race(c, &t, n, rs), n);
    ck_assert_int_eq(atomic_load(&t.calls), 1);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(rs[i].path, rs[0].path);
        misses += rs[i].how == VWS_CACHE_MISS;
        halves += rs[i].how == VWS_CACHE_HALF_MISS;
    }
    for (int i = 0; i < n; i++)
        free(rs[i].path);
    ck_assert_int_eq(misses, 1);
    ck_assert_int_eq(halves, n - 1);
    vws_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.half_misses, (uint64_t)n - 1);
    ck_assert_uint_eq(st.hits, 0);
    ck_assert_int_eq(vws_cache_list(c, &list, &count), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(list[0].pins, (unsigned)n);
    ck_assert_uint_eq(list[0].uses, (uint64_t)n);
    vws_cache_entries_free(list, count);
    /* now a hit */
    ck_assert_int_eq(use(c, &t), VWS_CACHE_HIT);
    vws_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_int_eq(atomic_load(&t.calls), 1);
    vws_cache_close(c);
}

START_TEST(test_two_acquires_one_fetch)
{
    one_fetch_for(2);
}
END_TEST

START_TEST(test_eight_acquires_one_fetch)
{
    one_fetch_for(8);
}
END_TEST

START_TEST(test_failed_fetch_pollutes_nothing)
{
    struct vws_cache *c = open_cache(10, VWS_CACHE_LRU, false);
    struct racer rs[8];
    struct tmpl t;
    struct vws_cache_stats st;
    char *path = NULL;

    tmpl_init(&t, "flaky", 'f', TMB);
    t.delay_ms = 300;
    t.mode = FETCH_FAIL;
    ck_assert_int_eq(run_race(c, &t, 8, rs), 0);
    ck_assert_int_eq(atomic_load(&t.calls), 1);
    for (int i = 0; i < 8; i++) {
        ck_assert_ptr_null(rs[i].path);
        ck_assert_int_eq(rs[i].code, VWS_ERR_IO);
        ck_assert_str_eq(rs[i].message, "transfer of 'flaky' broke at 50%");
    }
    assert_cached(c, &t, false);
    ck_assert_int_eq(count_files(), 0);
    vws_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.fetch_failures, 1);
    ck_assert_uint_eq(st.used_bytes, 0);
    ck_assert_uint_eq(st.pinned_bytes, 0);
    ck_assert_uint_eq(st.entries, 0);

    /* the wrong size and the wrong content are refused the same way */
    t.delay_ms = 0;
    t.mode = FETCH_SHORT;
    ck_assert_int_eq(vws_cache_acquire(c, t.name, t.sha, t.size, "w",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID, "not the 1048576 declared");
    t.mode = FETCH_WRONG;
    ck_assert_int_eq(vws_cache_acquire(c, t.name, t.sha, t.size, "w",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID, "checksum mismatch");
    ck_assert_int_eq(count_files(), 0);
    ck_assert_ptr_null(path);

    /* a later good fetch works: a plain miss */
    t.mode = FETCH_OK;
    ck_assert_int_eq(use(c, &t), VWS_CACHE_MISS);
    ck_assert_int_eq(atomic_load(&t.calls), 4);
    ck_assert_int_eq(count_files(), 1);
    vws_cache_close(c);
}
END_TEST

/* ---- reconciliation --------------------------------------------------- */

START_TEST(test_reconcile)
{
    struct vws_cache *c = open_cache(10, VWS_CACHE_LFU, false);
    struct tmpl a, b, cc, d;
    struct vws_cache_entry *list;
    struct vws_cache_stats st;
    char **inst;
    size_t n;
    char *p;

    tmpl_init(&a, "a", 'a', TMB);
    tmpl_init(&b, "b", 'b', TMB);
    tmpl_init(&cc, "c", 'c', TMB);
    tmpl_init(&d, "d", 'd', TMB);
    acquire(c, &a, "w1");
    use(c, &a);
    use(c, &b);
    use(c, &cc);
    use(c, &d);
    vws_cache_close(c);

    /* stray files, a missing file, a short file, a corrupted file */
    p = vws_asprintf("%s/templates/%064d", cachedir, 7);
    ck_assert_int_eq(write_bytes(p, 'x', 10), 0);
    free(p);
    p = vws_asprintf("%s/templates/%s.part", cachedir, a.sha);
    ck_assert_int_eq(write_bytes(p, 'a', 100), 0);
    free(p);
    p = vws_asprintf("%s/templates/junk", cachedir);
    ck_assert_int_eq(write_bytes(p, 'j', 1), 0);
    free(p);
    p = vws_asprintf("%s/templates/%s", cachedir, b.sha);
    ck_assert_int_eq(unlink(p), 0);
    free(p);
    p = vws_asprintf("%s/templates/%s", cachedir, cc.sha);
    ck_assert_int_eq(truncate(p, 1000), 0);
    free(p);
    p = vws_asprintf("%s/templates/%s", cachedir, d.sha);
    ck_assert_int_eq(write_bytes(p, 'D', TMB), 0);   /* same size */
    free(p);
    ck_assert_int_eq(count_files(), 6);

    c = open_cache(10, VWS_CACHE_LFU, true);
    ck_assert_int_eq(vws_cache_list(c, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].sha256, a.sha);
    ck_assert_str_eq(list[0].name, "a");
    ck_assert_uint_eq(list[0].uses, 2);
    ck_assert_uint_eq(list[0].pins, 1);         /* the pin survived */
    vws_cache_entries_free(list, n);
    ck_assert_int_eq(count_files(), 1);
    ck_assert_int_eq(vws_cache_pinned_instances(c, &inst, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(inst[0], "w1");
    vws_cache_instances_free(inst, n);
    vws_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.used_bytes, TMB);
    ck_assert_uint_eq(st.hits + st.misses + st.half_misses, 0);
    /* they come back on demand */
    ck_assert_int_eq(use(c, &b), VWS_CACHE_MISS);
    ck_assert_int_eq(use(c, &a), VWS_CACHE_HIT);
    vws_cache_close(c);

    /* a smaller limit at reopen evicts what is not pinned */
    c = open_cache(1, VWS_CACHE_LRU, false);
    assert_cached(c, &a, true);
    assert_cached(c, &b, false);
    ck_assert_int_eq(count_files(), 1);
    vws_cache_close(c);
}
END_TEST

START_TEST(test_bad_index)
{
    struct vws_cache_options o = { NULL, 10, VWS_CACHE_LRU, false };
    char *db;

    ck_assert_ptr_null(vws_cache_open(&o));
    assert_error(VWS_ERR_INVALID_ARG, "missing cache directory");
    o.dir = cachedir;
    o.size_mb = 0;
    ck_assert_ptr_null(vws_cache_open(&o));
    assert_error(VWS_ERR_CONFIG, "out of range");
    o.size_mb = 10;
    o.policy = (enum vws_cache_policy)7;
    ck_assert_ptr_null(vws_cache_open(&o));
    assert_error(VWS_ERR_CONFIG, "policy");
    /* not a database */
    ck_assert_int_eq(mkdir(cachedir, 0700), 0);
    db = vws_asprintf("%s/index.db", cachedir);
    ck_assert_int_eq(write_bytes(db, 'z', 4096), 0);
    o.policy = VWS_CACHE_LFU;
    ck_assert_ptr_null(vws_cache_open(&o));
    assert_error(VWS_ERR_IO, "index.db");
    free(db);
}
END_TEST

/* ---- hostile names ---------------------------------------------------- */

START_TEST(test_traversal_names)
{
    struct vws_cache *c = open_cache(10, VWS_CACHE_LRU, false);
    struct tmpl t;
    char *path = NULL, *want, upper[VWS_CACHE_SHA256_LEN + 1];

    tmpl_init(&t, "../../../etc/passwd", 'p', 4096);
    ck_assert_int_eq(vws_cache_acquire(c, t.name, t.sha, t.size, "../w",
                                       fetch_tmpl, &t, &path, NULL), 0);
    want = vws_asprintf("%s/templates/%s", cachedir, t.sha);
    ck_assert_str_eq(path, want);
    free(want);
    free(path);
    path = NULL;
    ck_assert_int_eq(access("/etc/passwd", R_OK), 0);   /* untouched */
    ck_assert_int_eq(count_files(), 1);

    /* the same content under another label, upper-case digest: a hit */
    for (int i = 0; i <= VWS_CACHE_SHA256_LEN; i++)
        upper[i] = (t.sha[i] >= 'a' && t.sha[i] <= 'f')
                       ? (char)(t.sha[i] - 'a' + 'A') : t.sha[i];
    ck_assert_int_eq(vws_cache_acquire(c, "other", upper, t.size, "w2",
                                       fetch_tmpl, &t, &path, NULL), 0);
    free(path);
    path = NULL;
    ck_assert_int_eq(atomic_load(&t.calls), 1);

    ck_assert_int_eq(vws_cache_acquire(c, "x", "../../../../etc/passwd",
                                       10, "w", fetch_tmpl, &t, &path, NULL),
                     -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid SHA-256");
    ck_assert_int_eq(vws_cache_acquire(c, "x\n", t.sha, t.size, "w",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "control character");
    ck_assert_int_eq(vws_cache_acquire(c, "x", t.sha, t.size, "",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "missing instance id");
    ck_assert_int_eq(vws_cache_acquire(c, "x", t.sha, 0, "w",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid size");
    ck_assert_int_eq(vws_cache_acquire(c, "x", t.sha, t.size + 1, "w",
                                       fetch_tmpl, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, "is cached with 4096 bytes");
    ck_assert_int_eq(vws_cache_acquire(c, "x", t.sha, t.size, "w",
                                       NULL, &t, &path, NULL), -1);
    assert_error(VWS_ERR_INVALID_ARG, NULL);
    ck_assert_ptr_null(path);
    vws_cache_close(c);
    vws_cache_close(NULL);
}
END_TEST

/* ---- SHA-256 and names ------------------------------------------------ */

START_TEST(test_verify_file)
{
    struct tmpl t;
    char got[VWS_CACHE_SHA256_LEN + 1];
    char *p = vws_asprintf("%s/f", tmpdir);

    tmpl_init(&t, "f", 'q', 3 * TMB + 17);
    ck_assert_int_eq(write_bytes(p, 'q', t.size), 0);
    ck_assert_int_eq(vws_cache_sha256_file(p, got), 0);
    ck_assert_str_eq(got, t.sha);
    ck_assert_int_eq(vws_cache_verify_file(p, t.sha), 0);
    got[0] = got[0] == '0' ? '1' : '0';
    ck_assert_int_eq(vws_cache_verify_file(p, got), -1);
    assert_error(VWS_ERR_INVALID, "checksum mismatch for '");
    ck_assert_int_eq(vws_cache_verify_file(p, "abc"), -1);
    assert_error(VWS_ERR_INVALID_ARG, "invalid SHA-256");
    ck_assert_int_eq(vws_cache_verify_file("/nonexistent/x", t.sha), -1);
    assert_error(VWS_ERR_SYSTEM, "/nonexistent/x");
    /* the empty file */
    ck_assert_int_eq(write_bytes(p, 0, 0), 0);
    ck_assert_int_eq(vws_cache_verify_file(p,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        0);
    free(p);

    ck_assert_int_eq(vws_cache_policy_parse("LFU"), VWS_CACHE_LFU);
    ck_assert_int_eq(vws_cache_policy_parse("lru"), VWS_CACHE_LRU);
    ck_assert_int_eq(vws_cache_policy_parse("fifo"), -1);
    ck_assert_str_eq(vws_cache_policy_name(VWS_CACHE_LFU), "lfu");
}
END_TEST

static Suite *
cache_suite(void)
{
    Suite *su = suite_create("cache");
    TCase *tc = tcase_create("cache");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);          /* valgrind */
    tcase_add_test(tc, test_lru_order);
    tcase_add_test(tc, test_lfu_order);
    tcase_add_test(tc, test_pinning);
    tcase_add_test(tc, test_two_acquires_one_fetch);
    tcase_add_test(tc, test_eight_acquires_one_fetch);
    tcase_add_test(tc, test_failed_fetch_pollutes_nothing);
    tcase_add_test(tc, test_reconcile);
    tcase_add_test(tc, test_bad_index);
    tcase_add_test(tc, test_traversal_names);
    tcase_add_test(tc, test_verify_file);
    suite_add_tcase(su, tc);
    return su;
}

int
main(void)
{
    SRunner *sr = srunner_create(cache_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
