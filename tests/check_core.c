/*
 * check_core.c — unit tests of the common core: strbuf, util, config,
 * xstime (dateTime, duration) and uuid.
 *
 * The hostile configuration files live in tests/corpus/config/ of the source
 * tree (found through VWS_SRCDIR); each has its expected message in
 * corpus_cases[] below, and a file without an entry fails the test, so the
 * corpus cannot grow untested.  Files that must not be committed (a 2 MB
 * file, a FIFO) are made in a temporary directory at run time.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "common/uuid.h"
#include "common/xstime.h"
#include "internal.h"

/* The last error must have CODE and exactly the message MSG. */
#define ck_error(code, msg) \
    do { \
        ck_assert_ptr_nonnull(vws_error_last()); \
        ck_assert_str_eq(vws_error_message(), (msg)); \
        ck_assert_str_eq(vws_error_code_name(vws_error_code_last()), \
                         vws_error_code_name(code)); \
    } while (0)

/* ==== strbuf ============================================================ */

START_TEST(strbuf_init_empty)
{
    struct vws_buf b = VWS_BUF_INIT;

    ck_assert_ptr_eq(b.s, vws_buf_empty);
    ck_assert_str_eq(b.s, "");
    ck_assert_uint_eq(b.len, 0);
    vws_buf_release(&b);        /* a no-op on an empty buffer */
    ck_assert_ptr_eq(b.s, vws_buf_empty);
    vws_buf_init(&b, 100);
    ck_assert_uint_ge(b.cap, 101);
    ck_assert_str_eq(b.s, "");
    vws_buf_release(&b);
}
END_TEST

START_TEST(strbuf_growth)
{
    struct vws_buf b = VWS_BUF_INIT;

    for (int i = 0; i < 100000; i++) {
        vws_buf_addch(&b, 'a' + i % 26);
        ck_assert_uint_lt(b.len, b.cap);
    }
    ck_assert_uint_eq(b.len, 100000);
    ck_assert_uint_eq(strlen(b.s), 100000);
    for (int i = 0; i < 100000; i++)
        ck_assert_int_eq(b.s[i], 'a' + i % 26);
    vws_buf_add(&b, "xyz", 3);
    vws_buf_adds(&b, "!");
    ck_assert_str_eq(b.s + 100000, "xyz!");
    vws_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.s, "");
    vws_buf_release(&b);
}
END_TEST

START_TEST(strbuf_addf_long)
{
    struct vws_buf b = VWS_BUF_INIT;
    char *big = vws_malloc(10001);

    memset(big, 'q', 10000);
    big[10000] = '\0';
    vws_buf_adds(&b, "<");
    vws_buf_addf(&b, "%s|%d|%s", big, 42, big);   /* far beyond the first 64 */
    vws_buf_addf(&b, "%s", "");
    vws_buf_addf(&b, ">%05d", 7);
    ck_assert_uint_eq(b.len, 1 + 10000 + 4 + 10000 + 6);
    ck_assert_uint_eq(strlen(b.s), b.len);
    ck_assert_int_eq(b.s[0], '<');
    ck_assert_int_eq(memcmp(b.s + 10001, "|42|", 4), 0);
    ck_assert_str_eq(b.s + b.len - 6, ">00007");
    free(big);
    vws_buf_release(&b);
}
END_TEST

START_TEST(strbuf_detach)
{
    struct vws_buf b = VWS_BUF_INIT;
    size_t len = 99;
    char *s;

    s = vws_buf_detach(&b, &len);        /* empty: still a string to free */
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(len, 0);
    free(s);

    vws_buf_addf(&b, "id-%d", 12);
    s = vws_buf_detach(&b, &len);
    ck_assert_str_eq(s, "id-12");
    ck_assert_uint_eq(len, 5);
    ck_assert_ptr_eq(b.s, vws_buf_empty);
    ck_assert_uint_eq(b.len, 0);
    vws_buf_adds(&b, "again");           /* the buffer is usable after it */
    ck_assert_str_eq(b.s, "again");
    free(s);
    s = vws_buf_detach(&b, NULL);
    ck_assert_str_eq(s, "again");
    free(s);
}
END_TEST

START_TEST(strbuf_xml_escape)
{
    struct vws_buf b = VWS_BUF_INIT;

    vws_buf_add_xml_escaped(&b, "<a href=\"x\">Tom & Jerry's</a>");
    ck_assert_str_eq(b.s, "&lt;a href=&quot;x&quot;&gt;Tom &amp; "
                          "Jerry&apos;s&lt;/a&gt;");
    vws_buf_reset(&b);
    vws_buf_add_xml_escaped(&b, "");
    ck_assert_str_eq(b.s, "");
    vws_buf_add_xml_escaped(&b, "plain caf\xc3\xa9");
    ck_assert_str_eq(b.s, "plain caf\xc3\xa9");
    vws_buf_release(&b);
}
END_TEST

START_TEST(strbuf_setlen)
{
    struct vws_buf b = VWS_BUF_INIT;

    vws_buf_adds(&b, "hello world");
    vws_buf_setlen(&b, 5);
    ck_assert_str_eq(b.s, "hello");
    vws_buf_release(&b);
}
END_TEST

/* ==== util ============================================================== */

static const struct {
    const char *s;
    int ok;
    int64_t v;
    int err;
} i64_cases[] = {
    { "0", 1, 0, 0 },
    { "-0", 1, 0, 0 },
    { "42", 1, 42, 0 },
    { "-42", 1, -42, 0 },
    { "+7", 1, 7, 0 },
    { "007", 1, 7, 0 },
    { "9223372036854775807", 1, INT64_MAX, 0 },
    { "-9223372036854775808", 1, INT64_MIN, 0 },
    { "9223372036854775808", 0, 0, ERANGE },
    { "-9223372036854775809", 0, 0, ERANGE },
    { "99999999999999999999999", 0, 0, ERANGE },
    { "", 0, 0, EINVAL },
    { " 1", 0, 0, EINVAL },
    { "1 ", 0, 0, EINVAL },
    { "12a", 0, 0, EINVAL },
    { "0x10", 0, 0, EINVAL },
    { "1e3", 0, 0, EINVAL },
    { "-", 0, 0, EINVAL },
    { "\t5", 0, 0, EINVAL },
};

START_TEST(util_parse_i64)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(i64_cases); i++) {
        int64_t v = -12345;
        int rc = vws_parse_i64(i64_cases[i].s, &v);

        ck_assert_msg((rc == 0) == i64_cases[i].ok, "'%s': rc %d",
                      i64_cases[i].s, rc);
        if (i64_cases[i].ok) {
            ck_assert_msg(v == i64_cases[i].v, "'%s' gave %" PRId64,
                          i64_cases[i].s, v);
        } else {
            ck_assert_msg(errno == i64_cases[i].err, "'%s': errno %d",
                          i64_cases[i].s, errno);
            ck_assert_msg(v == -12345, "'%s' changed the output",
                          i64_cases[i].s);
        }
    }
    int64_t v;
    ck_assert_int_eq(vws_parse_i64(NULL, &v), -1);
}
END_TEST

START_TEST(util_parse_u64)
{
    uint64_t v = 0;

    ck_assert_int_eq(vws_parse_u64("0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(vws_parse_u64("18446744073709551615", &v), 0);
    ck_assert(v == UINT64_MAX);
    ck_assert_int_eq(vws_parse_u64("18446744073709551616", &v), -1);
    ck_assert_int_eq(errno, ERANGE);
    ck_assert_int_eq(vws_parse_u64("-1", &v), -1);   /* strtoull would wrap */
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(vws_parse_u64("-0", &v), -1);
    ck_assert_int_eq(vws_parse_u64("", &v), -1);
    ck_assert_int_eq(vws_parse_u64(" 1", &v), -1);
    ck_assert_int_eq(vws_parse_u64("1x", &v), -1);
    ck_assert_int_eq(vws_parse_u64(NULL, &v), -1);
    ck_assert(v == UINT64_MAX);
}
END_TEST

START_TEST(util_strlcpy)
{
    char buf[6];

    ck_assert_int_eq(vws_strlcpy(buf, "hello", sizeof(buf)), 0);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(vws_strlcpy(buf, "hello!", sizeof(buf)), -1);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(vws_strlcpy(buf, "x", 0), -1);
}
END_TEST

/* ==== config ============================================================ */

struct tconf {
    char *name;
    char *state_dir;
    char *log_file;
    int log_level;
    char *motd;
    int64_t port;
    bool tls;
    int64_t backlog;
    int64_t timeout;
    int64_t cache_size;
    int policy;
    int64_t sweep;
    int untouched;           /* not an option: a load must leave it alone */
};

static const char *const policies[] = { "lru", "lfu", NULL };

#define TIB (INT64_C(1) << 40)

static const struct vws_conf_option topts[] = {
    VWS_CONF_STRING_OPT("", "name", struct tconf, name, "vws",
                        "name of this site"),
    VWS_CONF_PATH_OPT("service", "state_dir", struct tconf, state_dir,
                      "/var/lib/vws", "where the database lives"),
    VWS_CONF_PATH_OPT("service", "log_file", struct tconf, log_file, NULL,
                      "log file; unset: standard error"),
    VWS_CONF_ENUM_OPT("service", "log_level", struct tconf, log_level,
                      "info", vws_conf_log_levels, "error, warn, info, debug"),
    VWS_CONF_STRING_OPT("service", "motd", struct tconf, motd, NULL,
                        "message of the day"),
    VWS_CONF_INT_OPT("net", "port", struct tconf, port, "8443", 1, 65535,
                     "TCP port"),
    VWS_CONF_BOOL_OPT("net", "tls", struct tconf, tls, "yes", "use TLS"),
    VWS_CONF_INT_OPT("net", "backlog", struct tconf, backlog, "128", -1, 1024,
                     "listen backlog; -1: the system's"),
    VWS_CONF_DURATION_OPT("net", "timeout", struct tconf, timeout, "30s", 1,
                          86400, "request timeout"),
    VWS_CONF_SIZE_OPT("cache", "size", struct tconf, cache_size, "10G", 0,
                      TIB, "template cache size"),
    VWS_CONF_ENUM_OPT("cache", "policy", struct tconf, policy, "lru",
                      policies, "eviction policy"),
    VWS_CONF_DURATION_OPT("cache", "sweep", struct tconf, sweep, "5m", 0,
                          7 * 86400, "how often to sweep"),
    VWS_CONF_END
};

static void
tconf_init(struct tconf *c)
{
    memset(c, 0, sizeof(*c));
    c->untouched = 77;
    ck_assert_int_eq(vws_conf_defaults(topts, c), 0);
}

static void
check_defaults(const struct tconf *c)
{
    ck_assert_str_eq(c->name, "vws");
    ck_assert_str_eq(c->state_dir, "/var/lib/vws");
    ck_assert_ptr_null(c->log_file);
    ck_assert_int_eq(c->log_level, VWS_LOG_INFO);
    ck_assert_str_eq(c->motd, "");
    ck_assert_int_eq(c->port, 8443);
    ck_assert(c->tls);
    ck_assert_int_eq(c->backlog, 128);
    ck_assert_int_eq(c->timeout, 30);
    ck_assert(c->cache_size == INT64_C(10) << 30);
    ck_assert_int_eq(c->policy, 0);
    ck_assert_int_eq(c->sweep, 300);
    ck_assert_int_eq(c->untouched, 77);
}

static int
load_str(struct tconf *c, const char *text)
{
    return vws_conf_load_buffer(topts, c, "test.conf", text, strlen(text),
                                NULL);
}

START_TEST(config_defaults)
{
    struct tconf c;

    tconf_init(&c);
    check_defaults(&c);
    /* an empty file means the defaults */
    ck_assert_int_eq(load_str(&c, ""), 0);
    check_defaults(&c);
    vws_conf_release(topts, &c);
    ck_assert_ptr_null(c.name);
    ck_assert_ptr_null(c.state_dir);
    ck_assert_ptr_null(c.motd);
    vws_conf_release(topts, &c);     /* twice is harmless */
}
END_TEST

START_TEST(config_all_types)
{
    struct tconf c;
    const char *text =
        "# comment\n"
        "; another comment\n"
        "\n"
        "name = \"quoted \\\"name\\\" with \\\\ # and ;\"  # trailing\n"
        "[service]\n"
        "  state_dir=/srv/state   \n"
        "log_file = /var/log/vws.log\n"
        "log_level = Debug\n"
        "motd = hello world ; comment\n"
        "[net]\n"
        "port = 65535\n"
        "tls = Off\n"
        "backlog = -1\n"
        "timeout = 1d\n"
        "[cache]\n"
        "size = 1T\n"
        "policy = LFU\n"
        "sweep = 0\n";

    tconf_init(&c);
    ck_assert_int_eq(load_str(&c, text), 0);
    ck_assert_str_eq(c.name, "quoted \"name\" with \\ # and ;");
    ck_assert_str_eq(c.state_dir, "/srv/state");
    ck_assert_str_eq(c.log_file, "/var/log/vws.log");
    ck_assert_int_eq(c.log_level, VWS_LOG_DEBUG);
    ck_assert_str_eq(c.motd, "hello world");
    ck_assert_int_eq(c.port, 65535);
    ck_assert(!c.tls);
    ck_assert_int_eq(c.backlog, -1);
    ck_assert_int_eq(c.timeout, 86400);
    ck_assert(c.cache_size == TIB);
    ck_assert_int_eq(c.policy, 1);
    ck_assert_int_eq(c.sweep, 0);
    ck_assert_int_eq(c.untouched, 77);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_unquoted_values)
{
    struct tconf c;

    tconf_init(&c);
    /* '#' and ';' inside a word are text; after whitespace they comment */
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = a#b;c # d\n"), 0);
    ck_assert_str_eq(c.motd, "a#b;c");
    ck_assert_int_eq(load_str(&c, "[service]\nmotd =\n"), 0);
    ck_assert_str_eq(c.motd, "");
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = #nothing\n"), 0);
    ck_assert_str_eq(c.motd, "");
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = \"\"\n"), 0);
    ck_assert_str_eq(c.motd, "");
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = caf\xc3\xa9 \xe2\x82\xac"
                                  "\tx\n"), 0);
    ck_assert_str_eq(c.motd, "caf\xc3\xa9 \xe2\x82\xac\tx");
    /* no newline at the end of the file */
    ck_assert_int_eq(load_str(&c, "[net]\nport = 99"), 0);
    ck_assert_int_eq(c.port, 99);
    /* a path set to "" is unset */
    ck_assert_int_eq(load_str(&c, "[service]\nlog_file = \"\"\n"), 0);
    ck_assert_ptr_null(c.log_file);
    vws_conf_release(topts, &c);
}
END_TEST

/* Accepted values of each type, through vws_conf_set(). */
static const struct {
    const char *key, *value;
    int64_t expect;
} good_values[] = {
    { "net.port", "1", 1 },
    { "net.port", "65535", 65535 },
    { "net.port", "+80", 80 },
    { "net.port", "0080", 80 },
    { "net.backlog", "-1", -1 },
    { "net.backlog", "1024", 1024 },
    { "net.tls", "yes", 1 }, { "net.tls", "no", 0 },
    { "net.tls", "true", 1 }, { "net.tls", "false", 0 },
    { "net.tls", "on", 1 }, { "net.tls", "off", 0 },
    { "net.tls", "1", 1 }, { "net.tls", "0", 0 },
    { "net.tls", "YES", 1 }, { "net.tls", "False", 0 },
    { "net.timeout", "1", 1 },
    { "net.timeout", "45s", 45 },
    { "net.timeout", "2m", 120 },
    { "net.timeout", "3h", 10800 },
    { "net.timeout", "1d", 86400 },
    { "net.timeout", "86400", 86400 },
    { "cache.size", "0", 0 },
    { "cache.size", "1", 1 },
    { "cache.size", "1K", 1024 },
    { "cache.size", "1k", 1024 },
    { "cache.size", "3M", 3 << 20 },
    { "cache.size", "2g", INT64_C(2) << 30 },
    { "cache.size", "1T", TIB },
    { "cache.size", "1099511627776", TIB },
    { "cache.policy", "lru", 0 }, { "cache.policy", "lfu", 1 },
    { "cache.policy", "LfU", 1 },
    { "service.log_level", "error", VWS_LOG_ERROR },
    { "service.log_level", "warn", VWS_LOG_WARN },
    { "service.log_level", "debug", VWS_LOG_DEBUG },
    { "cache.sweep", "7d", 7 * 86400 },
};

static int64_t
tconf_get(const struct tconf *c, const char *key)
{
    if (!strcmp(key, "net.port")) return c->port;
    if (!strcmp(key, "net.backlog")) return c->backlog;
    if (!strcmp(key, "net.tls")) return c->tls;
    if (!strcmp(key, "net.timeout")) return c->timeout;
    if (!strcmp(key, "cache.size")) return c->cache_size;
    if (!strcmp(key, "cache.policy")) return c->policy;
    if (!strcmp(key, "cache.sweep")) return c->sweep;
    if (!strcmp(key, "service.log_level")) return c->log_level;
    ck_abort_msg("no key %s", key);
    return 0;
}

START_TEST(config_set_values)
{
    struct tconf c;

    tconf_init(&c);
    for (size_t i = 0; i < VWS_N_ELEMENTS(good_values); i++) {
        int rc = vws_conf_set(topts, &c, good_values[i].key,
                              good_values[i].value);
        ck_assert_msg(rc == 0, "%s=%s: %s", good_values[i].key,
                      good_values[i].value, vws_error_message());
        ck_assert_msg(tconf_get(&c, good_values[i].key) ==
                      good_values[i].expect, "%s=%s gave %" PRId64,
                      good_values[i].key, good_values[i].value,
                      tconf_get(&c, good_values[i].key));
    }
    ck_assert_int_eq(vws_conf_set(topts, &c, "name", "top"), 0);
    ck_assert_str_eq(c.name, "top");
    ck_assert_int_eq(vws_conf_set(topts, &c, "service.motd", "  spaced # "),
                     0);
    ck_assert_str_eq(c.motd, "  spaced # ");
    ck_assert_int_eq(vws_conf_set_arg(topts, &c, "service.state_dir=/a=b"),
                     0);
    ck_assert_str_eq(c.state_dir, "/a=b");
    ck_assert_int_eq(c.untouched, 77);
    vws_conf_release(topts, &c);
}
END_TEST

/* Values refused by vws_conf_set(), with the exact message. */
static const struct {
    const char *key, *value, *msg;
} bad_values[] = {
    { "net.port", "0", "value 0 is below the minimum 1 for 'net.port'" },
    { "net.port", "65536",
      "value 65536 is above the maximum 65535 for 'net.port'" },
    { "net.port", "", "empty value for 'net.port', expected an integer" },
    { "net.port", "1.5",
      "'1.5' is not a number ('net.port' expects an integer)" },
    { "net.port", " 1",
      "' 1' is not a number ('net.port' expects an integer)" },
    { "net.port", "-9223372036854775809",
      "'-9223372036854775809' is out of range for 'net.port'" },
    { "net.backlog", "-2",
      "value -2 is below the minimum -1 for 'net.backlog'" },
    { "net.tls", "2", "'2' is not a boolean for 'net.tls' (expected yes/no, "
      "true/false, on/off or 1/0)" },
    { "net.tls", "", "'' is not a boolean for 'net.tls' (expected yes/no, "
      "true/false, on/off or 1/0)" },
    { "net.timeout", "0", "duration 0 is below the minimum 1s for "
      "'net.timeout'" },
    { "net.timeout", "86401", "duration 86401s is above the maximum 1d for "
      "'net.timeout'" },
    { "net.timeout", "1w", "'1w' is not a duration for 'net.timeout' "
      "(expected a number with an optional suffix s, m, h or d)" },
    { "net.timeout", "1 s", "'1 s' is not a duration for 'net.timeout' "
      "(expected a number with an optional suffix s, m, h or d)" },
    { "net.timeout", "1ss", "'1ss' is not a duration for 'net.timeout' "
      "(expected a number with an optional suffix s, m, h or d)" },
    { "net.timeout", "-1", "duration '-1' for 'net.timeout' is negative" },
    { "net.timeout", "9999999999999999999d",
      "duration '9999999999999999999d' is too large for 'net.timeout'" },
    { "net.timeout", "999999999999999999d",
      "duration '999999999999999999d' is too large for 'net.timeout'" },
    { "cache.size", "1025G",
      "size 1025G is above the maximum 1T for 'cache.size'" },
    { "cache.size", "1099511627777",
      "size 1099511627777 is above the maximum 1T for 'cache.size'" },
    { "cache.size", "1KB", "'1KB' is not a size for 'cache.size' (expected a "
      "number with an optional suffix K, M, G or T)" },
    { "cache.size", "K", "'K' is not a size for 'cache.size' (expected a "
      "number with an optional suffix K, M, G or T)" },
    { "cache.size", "", "'' is not a size for 'cache.size' (expected a "
      "number with an optional suffix K, M, G or T)" },
    { "cache.size", "-0", "size '-0' for 'cache.size' is negative" },
    { "cache.size", "9007199254740992M",
      "size '9007199254740992M' is too large for 'cache.size'" },
    { "cache.policy", "fifo",
      "'fifo' is not one of lru, lfu for 'cache.policy'" },
    { "service.log_level", "trace", "'trace' is not one of error, warn, "
      "info, debug for 'service.log_level'" },
    { "service.state_dir", "relative",
      "path 'relative' for 'service.state_dir' is not absolute" },
    { "service.state_dir", "~/x",
      "path '~/x' for 'service.state_dir' is not absolute" },
    { "service.motd", "two\nlines", "control character 0x0a in value" },
    { "service.motd", "bad \xff", "invalid UTF-8 in value (byte 0xff)" },
    { "net.bogus", "1", "unknown option 'bogus' in section [net]" },
    { "bogus.port", "1", "unknown section [bogus]" },
    { "port", "1", "unknown option 'port' outside any section (it belongs "
      "in section [net])" },
    { "net.name", "1", "unknown option 'name' in section [net] (it belongs "
      "before any section)" },
    { "net.port.x", "1",
      "invalid option name 'net.port.x' (expected section.key)" },
    { ".port", "1", "unknown option 'port' outside any section (it belongs "
      "in section [net])" },
    { "net.", "1", "invalid option name 'net.' (expected section.key)" },
};

START_TEST(config_set_errors)
{
    struct tconf c;

    tconf_init(&c);
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_values); i++) {
        vws_error_reset();
        ck_assert_msg(vws_conf_set(topts, &c, bad_values[i].key,
                                   bad_values[i].value) == -1,
                      "%s=%s was accepted", bad_values[i].key,
                      bad_values[i].value);
        ck_error(VWS_ERR_CONFIG, bad_values[i].msg);
    }
    check_defaults(&c);          /* nothing changed */
    ck_assert_int_eq(vws_conf_set_arg(topts, &c, "net.port"), -1);
    ck_error(VWS_ERR_CONFIG,
             "missing '=' in 'net.port' (expected section.key=value)");
    vws_conf_release(topts, &c);
}
END_TEST

/* Parse errors in file text, with the exact "test.conf:LINE: " message. */
static const struct {
    const char *text;
    vws_error_code code;
    const char *msg;
} bad_texts[] = {
    { "[net]\nport 8443\n", VWS_ERR_CONFIG,
      "test.conf:2: missing '=' after 'port'" },
    { "\n\n\nport\n", VWS_ERR_CONFIG,
      "test.conf:4: missing '=' after 'port'" },
    { "[net]\n= 5\n", VWS_ERR_CONFIG, "test.conf:2: expected 'key = value', "
      "'[section]' or a comment, found '= 5'" },
    { "[net]\n\"port\" = 5\n", VWS_ERR_CONFIG, "test.conf:2: expected "
      "'key = value', '[section]' or a comment, found '\"port\" = 5'" },
    { "[net\n", VWS_ERR_CONFIG, "test.conf:1: section header is missing ']'" },
    { "[ net ]\n", VWS_ERR_CONFIG, "test.conf:1: invalid character ' ' in "
      "section name (expected letters, digits, '_' or '-')" },
    { "[]\n", VWS_ERR_CONFIG, "test.conf:1: empty section name '[]'" },
    { "[net] junk\n", VWS_ERR_CONFIG, "test.conf:1: unexpected text 'junk' "
      "after section header [net]" },
    { "[Net]\n", VWS_ERR_CONFIG, "test.conf:1: unknown section [Net]" },
    { "[net]\nPort = 1\n", VWS_ERR_CONFIG,
      "test.conf:2: unknown option 'Port' in section [net]" },
    { "[net]\nsize = 1\n", VWS_ERR_CONFIG, "test.conf:2: unknown option "
      "'size' in section [net] (it belongs in section [cache])" },
    { "[net]\nport = 1\nport = 1\n", VWS_ERR_CONFIG,
      "test.conf:3: duplicate option 'net.port' (first set on line 2)" },
    { "name = a\n[net]\n[cache]\nname = b\n", VWS_ERR_CONFIG,
      "test.conf:4: unknown option 'name' in section [cache] (it belongs "
      "before any section)" },
    { "name = a\nname = b\n", VWS_ERR_CONFIG,
      "test.conf:2: duplicate option 'name' (first set on line 1)" },
    { "[service]\nmotd = \"abc\n", VWS_ERR_CONFIG,
      "test.conf:2: unterminated quote (missing closing '\"')" },
    { "[service]\nmotd = \"abc\\\"\n", VWS_ERR_CONFIG,
      "test.conf:2: unterminated quote (missing closing '\"')" },
    { "[service]\nmotd = \"a\\tb\"\n", VWS_ERR_CONFIG, "test.conf:2: unknown "
      "escape '\\t' in quoted value (only \\\" and \\\\ exist)" },
    { "[service]\nmotd = \"a\"\"b\"\n", VWS_ERR_CONFIG,
      "test.conf:2: unexpected text '\"b\"' after the closing quote" },
    { "[net]\nport = \"0\"\n", VWS_ERR_CONFIG,
      "test.conf:2: value 0 is below the minimum 1 for 'net.port'" },
    { "[net]\nport = 8443\r\ntls = x\r\n", VWS_ERR_CONFIG,
      "test.conf:3: 'x' is not a boolean for 'net.tls' (expected yes/no, "
      "true/false, on/off or 1/0)" },
    { "[net]\nport = 1\rtls = no\n", VWS_ERR_CONFIG,
      "test.conf:2: control character 0x0d in line" },
    { "[net]\n\x01", VWS_ERR_CONFIG,
      "test.conf:2: control character 0x01 in line" },
    { "# \x7f\n", VWS_ERR_CONFIG,
      "test.conf:1: control character 0x7f in line" },
    { "# \xed\xa0\x80 surrogate\n", VWS_ERR_CONFIG,
      "test.conf:1: invalid UTF-8 in line (byte 0xed)" },
    { "# \xf4\x90\x80\x80 above U+10FFFF\n", VWS_ERR_CONFIG,
      "test.conf:1: invalid UTF-8 in line (byte 0xf4)" },
    { "# cut \xe2\x82\n", VWS_ERR_CONFIG,
      "test.conf:1: invalid UTF-8 in line (byte 0xe2)" },
    { "\xef\xbb\xbf\xef\xbb\xbf", VWS_ERR_CONFIG,   /* only one BOM */
      "test.conf:1: expected 'key = value', '[section]' or a comment, "
      "found '\xef\xbb\xbf'" },
};

START_TEST(config_text_errors)
{
    struct tconf c;

    tconf_init(&c);
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad_texts); i++) {
        vws_error_reset();
        ck_assert_msg(load_str(&c, bad_texts[i].text) == -1,
                      "case %zu was accepted", i);
        ck_error(bad_texts[i].code, bad_texts[i].msg);
        check_defaults(&c);
    }
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_nul_in_buffer)
{
    struct tconf c;
    static const char text[] = "[net]\nport = 1\0junk\n";

    tconf_init(&c);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "mem", text,
                                          sizeof(text) - 1, NULL), -1);
    ck_error(VWS_ERR_CONFIG, "mem:2: NUL byte in line (is this a binary "
             "file?)");
    check_defaults(&c);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_line_limit)
{
    struct tconf c;
    struct vws_buf b = VWS_BUF_INIT;

    tconf_init(&c);
    /* exactly VWS_CONF_MAX_LINE bytes (plus CR LF) are fine */
    vws_buf_adds(&b, "[service]\nmotd = ");
    while (b.len - 10 < VWS_CONF_MAX_LINE)
        vws_buf_addch(&b, 'm');
    vws_buf_adds(&b, "\r\n");
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "t", b.s, b.len, NULL),
                     0);
    ck_assert_uint_eq(strlen(c.motd), VWS_CONF_MAX_LINE - 7);
    /* one more is not */
    vws_buf_setlen(&b, b.len - 2);
    vws_buf_adds(&b, "m\n");
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "t", b.s, b.len, NULL),
                     -1);
    ck_error(VWS_ERR_LIMIT, "t:2: line is longer than 4096 bytes");
    ck_assert_uint_eq(strlen(c.motd), VWS_CONF_MAX_LINE - 7);
    vws_buf_release(&b);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_failed_load_keeps_target)
{
    struct tconf c;
    char *motd, *state;

    tconf_init(&c);
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = first\n"
                                  "state_dir = /one\n[net]\nport = 1000\n"
                                  "[cache]\nsize = 1M\n"), 0);
    motd = c.motd;
    state = c.state_dir;
    /* good values first, an error at the end */
    ck_assert_int_eq(load_str(&c, "[service]\nmotd = second\n"
                                  "state_dir = /two\n[net]\nport = 2000\n"
                                  "tls = no\n[cache]\nsize = 2M\n"
                                  "policy = mru\n"), -1);
    ck_error(VWS_ERR_CONFIG, "test.conf:9: 'mru' is not one of lru, lfu for "
             "'cache.policy'");
    ck_assert_ptr_eq(c.motd, motd);          /* the very same strings */
    ck_assert_ptr_eq(c.state_dir, state);
    ck_assert_str_eq(c.motd, "first");
    ck_assert_str_eq(c.state_dir, "/one");
    ck_assert_int_eq(c.port, 1000);
    ck_assert(c.tls);
    ck_assert_int_eq(c.cache_size, 1 << 20);
    ck_assert_int_eq(c.untouched, 77);

    /* a good load starts again from the defaults: a line removed from the
     * file gives its option the default back */
    ck_assert_int_eq(load_str(&c, "[net]\nport = 3000\n"), 0);
    ck_assert_int_eq(c.port, 3000);
    ck_assert_str_eq(c.motd, "");
    ck_assert_str_eq(c.state_dir, "/var/lib/vws");
    ck_assert(c.cache_size == INT64_C(10) << 30);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_overrides)
{
    struct tconf c;
    const char *const ov[] = { "net.port=9000", "service.motd= spaced ",
                               "name=x=y", "net.port=9001", NULL };
    const char *const bad_value[] = { "net.tls=no", "net.port=http", NULL };
    const char *const bad_key[] = { "net.prot=1", NULL };
    const char *const no_eq[] = { "net.port", NULL };
    const char *const junk[] = { "service.motd=a\x1b", NULL };
    const char *file = "[net]\nport = 1\ntls = no\n";

    tconf_init(&c);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "f", file, strlen(file),
                                          ov), 0);
    ck_assert_int_eq(c.port, 9001);          /* the last one wins */
    ck_assert(!c.tls);                       /* the file still counts */
    ck_assert_str_eq(c.motd, " spaced ");    /* verbatim */
    ck_assert_str_eq(c.name, "x=y");

    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "f", "", 0, bad_value),
                     -1);
    ck_error(VWS_ERR_CONFIG, "command line: 'http' is not a number "
             "('net.port' expects an integer)");
    ck_assert_int_eq(c.port, 9001);
    ck_assert(!c.tls);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "f", "", 0, bad_key),
                     -1);
    ck_error(VWS_ERR_CONFIG, "command line: unknown option 'prot' in "
             "section [net]");
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "f", "", 0, no_eq), -1);
    ck_error(VWS_ERR_CONFIG, "command line: missing '=' in 'net.port' "
             "(expected section.key=value)");
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "f", "", 0, junk), -1);
    ck_error(VWS_ERR_CONFIG, "command line: control character 0x1b in "
             "value");
    ck_assert_int_eq(c.port, 9001);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_format_round_trip)
{
    struct tconf a, b;
    struct vws_buf out = VWS_BUF_INIT, again = VWS_BUF_INIT;

    tconf_init(&a);
    tconf_init(&b);
    ck_assert_int_eq(load_str(&a, "name = \" lead#;\\\"\\\\\"\n"
                                  "[service]\nmotd = x\n"
                                  "log_file = /l\n[net]\nport = 7\n"
                                  "timeout = 90m\n[cache]\nsize = 1536K\n"
                                  "sweep = 7200\n"), 0);
    vws_conf_format(topts, &a, &out);
    ck_assert_msg(strstr(out.s, "name = \" lead#;\\\"\\\\\"\n") != NULL,
                  "%s", out.s);
    ck_assert_msg(strstr(out.s, "# request timeout\ntimeout = 90m\n") != NULL,
                  "%s", out.s);
    ck_assert_msg(strstr(out.s, "size = 1536K\n") != NULL, "%s", out.s);
    ck_assert_msg(strstr(out.s, "sweep = 2h\n") != NULL, "%s", out.s);
    ck_assert_msg(strstr(out.s, "tls = yes\n") != NULL, "%s", out.s);
    ck_assert_msg(strstr(out.s, "log_level = info\n") != NULL, "%s", out.s);
    ck_assert_msg(strncmp(out.s, "# name of this site\nname = ", 27) == 0,
                  "%s", out.s);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &b, "printed", out.s,
                                          out.len, NULL), 0);
    vws_conf_format(topts, &b, &again);
    ck_assert_str_eq(out.s, again.s);
    ck_assert_str_eq(b.name, a.name);
    ck_assert_str_eq(b.log_file, "/l");
    ck_assert_int_eq(b.timeout, 5400);
    ck_assert_int_eq(b.cache_size, 1536 * 1024);

    /* defaults print and load back, too (an unset path as "") */
    vws_conf_release(topts, &a);
    tconf_init(&a);
    vws_buf_reset(&out);
    vws_conf_format(topts, &a, &out);
    ck_assert_msg(strstr(out.s, "log_file = \"\"\n") != NULL, "%s", out.s);
    ck_assert_msg(strstr(out.s, "size = 10G\n") != NULL, "%s", out.s);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &b, "printed", out.s,
                                          out.len, NULL), 0);
    check_defaults(&b);

    /* vws_conf_print() writes the same text */
    FILE *fp = tmpfile();
    char text[4096];
    ck_assert_ptr_nonnull(fp);
    vws_conf_print(topts, &a, fp);
    rewind(fp);
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    text[n] = '\0';
    fclose(fp);
    ck_assert_str_eq(text, out.s);

    vws_buf_release(&out);
    vws_buf_release(&again);
    vws_conf_release(topts, &a);
    vws_conf_release(topts, &b);
}
END_TEST

struct small { int64_t n; char *s; };

START_TEST(config_bad_tables)
{
    static const struct vws_conf_option dup[] = {
        VWS_CONF_INT_OPT("a", "n", struct small, n, "1", 0, 9, NULL),
        VWS_CONF_STRING_OPT("a", "n", struct small, s, NULL, NULL),
        VWS_CONF_END
    };
    static const struct vws_conf_option bad_default[] = {
        VWS_CONF_STRING_OPT("a", "s", struct small, s, "kept?", NULL),
        VWS_CONF_INT_OPT("a", "n", struct small, n, "10", 0, 9, NULL),
        VWS_CONF_END
    };
    static const struct vws_conf_option bad_name[] = {
        VWS_CONF_INT_OPT("a b", "n", struct small, n, "1", 0, 9, NULL),
        VWS_CONF_END
    };
    static const struct vws_conf_option inverted[] = {
        VWS_CONF_INT_OPT("a", "n", struct small, n, "1", 9, 0, NULL),
        VWS_CONF_END
    };
    static const struct vws_conf_option neg_size[] = {
        VWS_CONF_SIZE_OPT("a", "n", struct small, n, "1", -1, 9, NULL),
        VWS_CONF_END
    };
    static const struct vws_conf_option no_names[] = {
        { "a", "n", VWS_CONF_ENUM, offsetof(struct small, n), NULL, 0, 0,
          NULL, NULL },
        VWS_CONF_END
    };
    static const struct vws_conf_option zero_default[] = {
        VWS_CONF_INT_OPT(NULL, "n", struct small, n, NULL, 1, 9, NULL),
        VWS_CONF_END
    };
    struct small s = { 5, NULL };

    ck_assert_int_eq(vws_conf_defaults(dup, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: 'a.n' is declared twice");
    ck_assert_int_eq(vws_conf_defaults(bad_default, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: default: value 10 is above the "
             "maximum 9 for 'a.n'");
    ck_assert_int_eq(vws_conf_defaults(bad_name, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: invalid option name 'a b.n'");
    ck_assert_int_eq(vws_conf_defaults(inverted, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: bad bounds [9, 0] for 'a.n'");
    ck_assert_int_eq(vws_conf_defaults(neg_size, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: bad bounds [-1, 9] for 'a.n'");
    ck_assert_int_eq(vws_conf_defaults(no_names, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: enum 'a.n' has no names");
    ck_assert_int_eq(vws_conf_defaults(zero_default, &s), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: default: value 0 is below the "
             "minimum 1 for 'n'");
    ck_assert_int_eq(vws_conf_load_buffer(dup, &s, "x", "", 0, NULL), -1);
    ck_assert_int_eq(vws_conf_set(dup, &s, "a.n", "1"), -1);
    ck_error(VWS_ERR_INTERNAL, "option table: 'a.n' is declared twice");
    ck_assert_int_eq(s.n, 5);          /* untouched by all of these */
    ck_assert_ptr_null(s.s);
}
END_TEST

/* ---- config files ---- */

static char *
srcpath(const char *rel)
{
    const char *top = getenv("VWS_SRCDIR");

    return vws_asprintf("%s/%s", top && *top ? top : ".", rel);
}

/* A temporary directory for files made at run time. */
static char *
make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = vws_asprintf("%s/vws-check-core-XXXXXX",
                             base && *base ? base : "/tmp");

    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    return dir;
}

/* Each corpus file: NULL message means it must load; else the exact
 * message after "PATH". */
static const struct {
    const char *file;
    vws_error_code code;
    const char *msg;
} corpus_cases[] = {
    { "valid-full.conf", VWS_ERR_OK, NULL },
    { "valid-crlf.conf", VWS_ERR_OK, NULL },
    { "valid-bom.conf", VWS_ERR_OK, NULL },
    { "empty.conf", VWS_ERR_OK, NULL },
    { "only-comments.conf", VWS_ERR_OK, NULL },
    { "missing-equals.conf", VWS_ERR_CONFIG, ":2: missing '=' after 'port'" },
    { "missing-key.conf", VWS_ERR_CONFIG, ":2: expected 'key = value', "
      "'[section]' or a comment, found '= 8443'" },
    { "section-unclosed.conf", VWS_ERR_CONFIG,
      ":2: section header is missing ']'" },
    { "section-empty.conf", VWS_ERR_CONFIG, ":1: empty section name '[]'" },
    { "section-bad-char.conf", VWS_ERR_CONFIG, ":1: invalid character ' ' "
      "in section name (expected letters, digits, '_' or '-')" },
    { "section-trailing-text.conf", VWS_ERR_CONFIG, ":1: unexpected text "
      "'port = 1' after section header [net]" },
    { "unknown-section.conf", VWS_ERR_CONFIG, ":3: unknown section [bogus]" },
    { "unknown-option.conf", VWS_ERR_CONFIG,
      ":3: unknown option 'foo' in section [net]" },
    { "misplaced-option.conf", VWS_ERR_CONFIG, ":2: unknown option 'port' "
      "outside any section (it belongs in section [net])" },
    { "duplicate-key.conf", VWS_ERR_CONFIG,
      ":4: duplicate option 'net.port' (first set on line 2)" },
    { "duplicate-across-headers.conf", VWS_ERR_CONFIG,
      ":6: duplicate option 'net.tls' (first set on line 2)" },
    { "unterminated-quote.conf", VWS_ERR_CONFIG,
      ":2: unterminated quote (missing closing '\"')" },
    { "unterminated-escape.conf", VWS_ERR_CONFIG,
      ":2: unterminated quote (missing closing '\"')" },
    { "bad-escape.conf", VWS_ERR_CONFIG, ":2: unknown escape '\\n' in quoted "
      "value (only \\\" and \\\\ exist)" },
    { "text-after-quote.conf", VWS_ERR_CONFIG,
      ":2: unexpected text 'b' after the closing quote" },
    { "out-of-range.conf", VWS_ERR_CONFIG,
      ":2: value 99999 is above the maximum 1024 for 'net.backlog'" },
    { "below-minimum.conf", VWS_ERR_CONFIG,
      ":2: value 0 is below the minimum 1 for 'net.port'" },
    { "int-overflow.conf", VWS_ERR_CONFIG,
      ":2: '99999999999999999999' is out of range for 'net.port'" },
    { "not-a-number.conf", VWS_ERR_CONFIG,
      ":2: '84x3' is not a number ('net.port' expects an integer)" },
    { "empty-int.conf", VWS_ERR_CONFIG,
      ":2: empty value for 'net.port', expected an integer" },
    { "negative-size.conf", VWS_ERR_CONFIG,
      ":2: size '-5M' for 'cache.size' is negative" },
    { "negative-duration.conf", VWS_ERR_CONFIG,
      ":2: duration '-30s' for 'net.timeout' is negative" },
    { "bad-size-suffix.conf", VWS_ERR_CONFIG, ":2: '10X' is not a size for "
      "'cache.size' (expected a number with an optional suffix K, M, G or "
      "T)" },
    { "size-overflow.conf", VWS_ERR_CONFIG,
      ":2: size '99999999999T' is too large for 'cache.size'" },
    { "size-above-max.conf", VWS_ERR_CONFIG,
      ":2: size 2T is above the maximum 1T for 'cache.size'" },
    { "bad-duration-suffix.conf", VWS_ERR_CONFIG, ":2: '5M' is not a "
      "duration for 'net.timeout' (expected a number with an optional suffix "
      "s, m, h or d)" },
    { "duration-above-max.conf", VWS_ERR_CONFIG,
      ":2: duration 2d is above the maximum 1d for 'net.timeout'" },
    { "bad-bool.conf", VWS_ERR_CONFIG, ":2: 'maybe' is not a boolean for "
      "'net.tls' (expected yes/no, true/false, on/off or 1/0)" },
    { "bad-enum.conf", VWS_ERR_CONFIG,
      ":2: 'fifo' is not one of lru, lfu for 'cache.policy'" },
    { "relative-path.conf", VWS_ERR_CONFIG,
      ":2: path 'var/lib/vws' for 'service.state_dir' is not absolute" },
    { "binary-nul.conf", VWS_ERR_CONFIG,
      ":2: NUL byte in line (is this a binary file?)" },
    { "binary-elf.conf", VWS_ERR_CONFIG,
      ":1: control character 0x7f in line" },
    { "invalid-utf8.conf", VWS_ERR_CONFIG,
      ":2: invalid UTF-8 in line (byte 0xe9)" },
    { "overlong-utf8.conf", VWS_ERR_CONFIG,
      ":2: invalid UTF-8 in line (byte 0xc0)" },
    { "control-char.conf", VWS_ERR_CONFIG,
      ":2: control character 0x1b in line" },
    { "long-line.conf", VWS_ERR_LIMIT,
      ":3: line is longer than 4096 bytes" },
    { "long-comment.conf", VWS_ERR_LIMIT,
      ":1: line is longer than 4096 bytes" },
};

START_TEST(config_corpus)
{
    char *dirpath = srcpath("tests/corpus/config");
    DIR *dir = opendir(dirpath);
    struct dirent *de;
    bool seen[VWS_N_ELEMENTS(corpus_cases)] = { false };

    ck_assert_msg(dir != NULL, "cannot open '%s': %s", dirpath,
                  strerror(errno));
    while ((de = readdir(dir)) != NULL) {
        struct tconf c;
        char *path, *expect;
        size_t i;
        int rc;

        if (de->d_name[0] == '.')
            continue;
        for (i = 0; i < VWS_N_ELEMENTS(corpus_cases); i++)
            if (strcmp(corpus_cases[i].file, de->d_name) == 0)
                break;
        ck_assert_msg(i < VWS_N_ELEMENTS(corpus_cases),
                      "corpus file '%s' has no expected result in "
                      "check_core.c", de->d_name);
        seen[i] = true;

        path = vws_asprintf("%s/%s", dirpath, de->d_name);
        tconf_init(&c);
        vws_error_reset();
        rc = vws_conf_load_file(topts, &c, path, NULL);
        if (!corpus_cases[i].msg) {
            ck_assert_msg(rc == 0, "%s: %s", de->d_name,
                          vws_error_message());
        } else {
            ck_assert_msg(rc == -1, "%s was accepted", de->d_name);
            expect = vws_asprintf("%s%s", path, corpus_cases[i].msg);
            ck_error(corpus_cases[i].code, expect);
            free(expect);
            check_defaults(&c);
        }
        vws_conf_release(topts, &c);
        free(path);
    }
    closedir(dir);
    for (size_t i = 0; i < VWS_N_ELEMENTS(corpus_cases); i++)
        ck_assert_msg(seen[i], "corpus file '%s' is missing",
                      corpus_cases[i].file);
    free(dirpath);
}
END_TEST

START_TEST(config_corpus_values)
{
    char *path = srcpath("tests/corpus/config/valid-full.conf");
    struct tconf c;

    tconf_init(&c);
    ck_assert_int_eq(vws_conf_load_file(topts, &c, path, NULL), 0);
    ck_assert_str_eq(c.name, "site \"alpha\"");
    ck_assert_str_eq(c.state_dir, "/srv/vws/state");
    ck_assert_str_eq(c.log_file, "/var/log/vws/factory.log");
    ck_assert_int_eq(c.log_level, VWS_LOG_DEBUG);
    ck_assert_str_eq(c.motd, "welcome");
    ck_assert_int_eq(c.port, 9443);
    ck_assert(!c.tls);
    ck_assert_int_eq(c.backlog, -1);
    ck_assert_int_eq(c.timeout, 120);
    ck_assert_int_eq(c.cache_size, 512 << 20);
    ck_assert_int_eq(c.policy, 1);
    ck_assert_int_eq(c.sweep, 3600);
    free(path);

    path = srcpath("tests/corpus/config/valid-crlf.conf");
    ck_assert_int_eq(vws_conf_load_file(topts, &c, path, NULL), 0);
    ck_assert_int_eq(c.port, 8080);
    ck_assert(c.cache_size == INT64_C(1) << 30);
    ck_assert_str_eq(c.motd, "");             /* back to the default */
    free(path);

    path = srcpath("tests/corpus/config/valid-bom.conf");
    ck_assert_int_eq(vws_conf_load_file(topts, &c, path, NULL), 0);
    ck_assert_int_eq(c.port, 7000);
    free(path);
    vws_conf_release(topts, &c);
}
END_TEST

START_TEST(config_special_files)
{
    char *dir = make_tmpdir();
    char *big = vws_asprintf("%s/big.conf", dir);
    char *fifo = vws_asprintf("%s/fifo.conf", dir);
    char *missing = vws_asprintf("%s/missing.conf", dir);
    char *limit = vws_asprintf("%s/limit.conf", dir);
    char *msg;
    struct tconf c;
    FILE *fp;

    tconf_init(&c);

    /* 2 MB of valid-looking comments */
    fp = fopen(big, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 2 * 1024 * 1024 / 32; i++)
        fputs("# 32 bytes of a very long file!\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(vws_conf_load_file(topts, &c, big, NULL), -1);
    msg = vws_asprintf("%s: file is larger than 1 MiB (2097152 bytes)", big);
    ck_error(VWS_ERR_LIMIT, msg);
    free(msg);

    /* exactly 1 MiB is still fine */
    fp = fopen(limit, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 1024 * 1024 / 32; i++)
        fputs("# 32 bytes of a very long file!\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(vws_conf_load_file(topts, &c, limit, NULL), 0);

    /* the same limit for buffers */
    char *mem = vws_calloc(VWS_CONF_MAX_FILE + 1, 1);
    ck_assert_int_eq(vws_conf_load_buffer(topts, &c, "mem", mem,
                                          VWS_CONF_MAX_FILE + 1, NULL), -1);
    ck_error(VWS_ERR_LIMIT, "mem: file is larger than 1 MiB (1048577 bytes)");
    free(mem);

    /* a FIFO must not hang the loader */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(vws_conf_load_file(topts, &c, fifo, NULL), -1);
    msg = vws_asprintf("%s: not a regular file", fifo);
    ck_error(VWS_ERR_CONFIG, msg);
    free(msg);

    /* a directory, a device */
    ck_assert_int_eq(vws_conf_load_file(topts, &c, dir, NULL), -1);
    msg = vws_asprintf("%s: not a regular file", dir);
    ck_error(VWS_ERR_CONFIG, msg);
    free(msg);
    ck_assert_int_eq(vws_conf_load_file(topts, &c, "/dev/null", NULL), -1);
    ck_error(VWS_ERR_CONFIG, "/dev/null: not a regular file");

    /* a missing file */
    ck_assert_int_eq(vws_conf_load_file(topts, &c, missing, NULL), -1);
    msg = vws_asprintf("cannot open '%s': %s", missing, strerror(ENOENT));
    ck_error(VWS_ERR_SYSTEM, msg);
    free(msg);

    check_defaults(&c);
    vws_conf_release(topts, &c);
    unlink(big);
    unlink(limit);
    unlink(fifo);
    rmdir(dir);
    free(big);
    free(limit);
    free(fifo);
    free(missing);
    free(dir);
}
END_TEST

/* ==== xs:dateTime ======================================================= */

static const struct {
    const char *in;
    int64_t sec;
    int32_t nsec;
    int tz;
    bool has_tz;
    const char *out;          /* NULL: the same as IN */
} dt_good[] = {
    { "1970-01-01T00:00:00Z", 0, 0, 0, true, NULL },
    { "1970-01-01T00:00:00", 0, 0, 0, false, NULL },
    { "1970-01-01T00:00:00+00:00", 0, 0, 0, true, NULL },
    { "1970-01-01T00:00:00-00:00", 0, 0, 0, true,
      "1970-01-01T00:00:00+00:00" },
    { "1969-12-31T23:59:59.9Z", -1, 900000000, 0, true, NULL },
    { "2000-02-29T12:00:00Z", 951825600, 0, 0, true, NULL },
    { "2024-02-29T00:00:00+14:00", 1709114400, 0, 840, true, NULL },
    { "2024-02-29T00:00:00-14:00", 1709215200, 0, -840, true, NULL },
    { "2026-11-23T10:00:00.5+01:00", 1795424400, 500000000, 60, true, NULL },
    { "2026-11-23T10:00:00.500-05:30", 1795447800, 500000000, -330, true,
      NULL },
    { "2026-11-23T10:00:00.000000001Z", 1795428000, 1, 0, true, NULL },
    { "2026-11-23T10:00:00.000Z", 1795428000, 0, 0, true, NULL },
    { "0001-01-01T00:00:00Z", INT64_C(-62135596800), 0, 0, true, NULL },
    { "0001-01-01T00:00:00+14:00", INT64_C(-62135647200), 0, 840, true,
      NULL },
    { "9999-12-31T23:59:59.999999999Z", INT64_C(253402300799), 999999999, 0,
      true, NULL },
    { "9999-12-31T23:59:59-14:00", INT64_C(253402351199), 0, -840, true,
      NULL },
    { "1999-12-31T24:00:00Z", 946684800, 0, 0, true,
      "2000-01-01T00:00:00Z" },
    { "2024-02-28T24:00:00.000+02:00", 1709157600, 0, 120, true,
      "2024-02-29T00:00:00.000+02:00" },
    { " \t2026-01-01T00:00:00Z\r\n", 1767225600, 0, 0, true,
      "2026-01-01T00:00:00Z" },
    { "2038-01-19T03:14:08Z", INT64_C(2147483648), 0, 0, true, NULL },
};

static const struct {
    const char *in, *why;
} dt_bad[] = {
    { "", "expected a four-digit year (YYYY-MM-DDThh:mm:ss)" },
    { "   ", "expected a four-digit year (YYYY-MM-DDThh:mm:ss)" },
    { "-0001-01-01T00:00:00Z", "negative years are not supported" },
    { "-2026-01-01T00:00:00Z", "negative years are not supported" },
    { "+2026-01-01T00:00:00Z",
      "expected a four-digit year (YYYY-MM-DDThh:mm:ss)" },
    { "10000-01-01T00:00:00Z", "year 10000 is out of range (0001..9999)" },
    { "02026-01-01T00:00:00Z",
      "a year of more than four digits must not start with '0'" },
    { "0000-01-01T00:00:00Z", "year 0000 is out of range (0001..9999)" },
    { "999-01-01T00:00:00Z",
      "expected a four-digit year (YYYY-MM-DDThh:mm:ss)" },
    { "2026-1-01T00:00:00Z", "expected '-MM' after the year" },
    { "2026/01/01T00:00:00Z", "expected '-MM' after the year" },
    { "2026-01-1T00:00:00Z", "expected '-DD' after the month" },
    { "2026-01-01", "expected 'T' after the date" },
    { "2026-01-01 00:00:00Z", "expected 'T' after the date" },
    { "2026-01-01t00:00:00Z", "expected 'T' after the date" },
    { "2026-01-01T00:00Z", "expected the time as hh:mm:ss after 'T'" },
    { "2026-01-01T0:00:00Z", "expected the time as hh:mm:ss after 'T'" },
    { "2026-13-01T00:00:00Z", "month 13 is out of range (01..12)" },
    { "2026-00-01T00:00:00Z", "month 00 is out of range (01..12)" },
    { "2026-01-00T00:00:00Z", "day 00 is out of range (01..31)" },
    { "2026-01-32T00:00:00Z", "day 32 is out of range (01..31)" },
    { "2026-04-31T00:00:00Z", "day 31 is out of range (01..30)" },
    { "2023-02-29T00:00:00Z", "2023 is not a leap year, February has 28 days" },
    { "1900-02-29T00:00:00Z", "1900 is not a leap year, February has 28 days" },
    { "2000-02-30T00:00:00Z", "day 30 is out of range (01..29)" },
    { "2026-01-01T25:00:00Z", "hour 25 is out of range (00..23, or 24:00:00)" },
    { "2026-01-01T24:00:01Z", "hour 24 is only allowed as 24:00:00" },
    { "2026-01-01T24:30:00Z", "hour 24 is only allowed as 24:00:00" },
    { "2026-01-01T24:00:00.1Z", "hour 24 is only allowed as 24:00:00" },
    { "9999-12-31T24:00:00Z",
      "24:00:00 of the last day of 9999 is out of range" },
    { "2026-01-01T12:60:00Z", "minute 60 is out of range (00..59)" },
    { "2026-12-31T23:59:60Z",
      "second 60 is out of range (leap seconds are not supported)" },
    { "2026-01-01T12:00:61Z", "second 61 is out of range (00..59)" },
    { "2026-01-01T12:00:00.Z", "expected digits after '.'" },
    { "2026-01-01T12:00:00,5Z", "unexpected ',' after the time" },
    { "2026-01-01T12:00:00.1234567890Z",
      "more than 9 fraction digits (finer than nanoseconds)" },
    { "2026-01-01T12:00:00+14:01",
      "timezone +14:01 is out of range (-14:00..+14:00)" },
    { "2026-01-01T12:00:00-15:00",
      "timezone -15:00 is out of range (-14:00..+14:00)" },
    { "2026-01-01T12:00:00+05:60",
      "timezone +05:60 is out of range (-14:00..+14:00)" },
    { "2026-01-01T12:00:00+0500",
      "expected the timezone as +hh:mm or -hh:mm" },
    { "2026-01-01T12:00:00+5:00",
      "expected the timezone as +hh:mm or -hh:mm" },
    { "2026-01-01T12:00:00z", "unexpected 'z' after the time" },
    { "2026-01-01T12:00:00ZZ", "unexpected 'Z' after the timezone" },
    { "2026-01-01T12:00:00Z x", "unexpected ' ' after the timezone" },
    { "2026-01-01T12:00:00+01:00Z", "unexpected 'Z' after the timezone" },
};

START_TEST(xstime_datetime_good)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(dt_good); i++) {
        struct vws_datetime dt;
        char buf[VWS_DATETIME_BUFSIZE];
        const char *in = dt_good[i].in;

        ck_assert_msg(vws_datetime_parse(in, &dt) == 0, "'%s': %s", in,
                      vws_error_message());
        ck_assert_msg(dt.sec == dt_good[i].sec, "'%s': sec %" PRId64, in,
                      dt.sec);
        ck_assert_int_eq(dt.nsec, dt_good[i].nsec);
        ck_assert_int_eq(dt.tz_minutes, dt_good[i].tz);
        ck_assert_int_eq(dt.has_tz, dt_good[i].has_tz);
        ck_assert_int_eq(vws_datetime_format(&dt, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, dt_good[i].out ? dt_good[i].out : in);
        /* and the formatted text parses to the same instant */
        struct vws_datetime again;
        ck_assert_int_eq(vws_datetime_parse(buf, &again), 0);
        ck_assert_int_eq(vws_datetime_compare(&dt, &again), 0);
        ck_assert_int_eq(again.tz_minutes, dt.tz_minutes);
    }
}
END_TEST

START_TEST(xstime_datetime_bad)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(dt_bad); i++) {
        struct vws_datetime dt = { 42, 7, 0, false, false, 0 };
        char *msg;
        char trimmed[64];
        const char *in = dt_bad[i].in;

        vws_error_reset();
        ck_assert_msg(vws_datetime_parse(in, &dt) == -1, "'%s' was accepted",
                      in);
        /* the message quotes the trimmed text */
        size_t b = strspn(in, " \t\r\n"), e = strlen(in);
        while (e > b && strchr(" \t\r\n", in[e - 1]))
            e--;
        snprintf(trimmed, sizeof(trimmed), "%.*s", (int)(e - b), in + b);
        msg = vws_asprintf("invalid xs:dateTime '%s': %s", trimmed,
                           dt_bad[i].why);
        ck_error(VWS_ERR_INVALID, msg);
        free(msg);
        ck_assert_int_eq(dt.sec, 42);        /* untouched */
        ck_assert_int_eq(dt.nsec, 7);
    }

    /* very long input */
    char *junk = vws_malloc(1001);
    memset(junk, '9', 1000);
    junk[1000] = '\0';
    struct vws_datetime dt;
    ck_assert_int_eq(vws_datetime_parse(junk, &dt), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "': too long"));
    free(junk);
}
END_TEST

START_TEST(xstime_leap_years)
{
    int leaps = 0;

    for (int y = 1; y <= 9999; y++) {
        char text[32];
        struct vws_datetime feb28, mar1, feb29;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        snprintf(text, sizeof(text), "%04d-02-28T00:00:00Z", y);
        ck_assert_int_eq(vws_datetime_parse(text, &feb28), 0);
        snprintf(text, sizeof(text), "%04d-03-01T00:00:00Z", y);
        ck_assert_int_eq(vws_datetime_parse(text, &mar1), 0);
        ck_assert_msg(mar1.sec - feb28.sec == (leap ? 2 : 1) * 86400,
                      "year %d", y);
        snprintf(text, sizeof(text), "%04d-02-29T00:00:00Z", y);
        ck_assert_msg((vws_datetime_parse(text, &feb29) == 0) == leap,
                      "year %d", y);
        leaps += leap;
    }
    ck_assert_int_eq(leaps, 2424);
}
END_TEST

START_TEST(xstime_datetime_sweep)
{
    /* from_unix -> format -> parse gives the instant back, across the whole
     * range, in several timezones */
    static const int zones[] = { 0, 60, -300, 840, -840, 345 };
    int64_t lo = INT64_C(-62135596800) + 86400, hi = INT64_C(253402300799) -
                 86400;
    uint64_t x = 88172645463325252u;

    for (int i = 0; i < 20000; i++) {
        struct vws_datetime dt, back;
        char buf[VWS_DATETIME_BUFSIZE];

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t sec = lo + (int64_t)(x % (uint64_t)(hi - lo));
        vws_datetime_from_unix(sec, (int32_t)(x % 1000000000u), &dt);
        dt.tz_minutes = (int16_t)zones[i % 6];
        dt.tz_is_z = dt.tz_minutes == 0;
        ck_assert_int_eq(vws_datetime_format(&dt, buf, sizeof(buf)), 0);
        ck_assert_int_eq(vws_datetime_parse(buf, &back), 0);
        ck_assert_msg(back.sec == sec && back.nsec == dt.nsec, "%s", buf);
        ck_assert_int_eq(back.tz_minutes, dt.tz_minutes);
    }
}
END_TEST

START_TEST(xstime_datetime_helpers)
{
    struct vws_datetime a, b;
    char buf[VWS_DATETIME_BUFSIZE];

    vws_datetime_from_ms(INT64_C(1795428000123), &a);
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2026-11-23T10:00:00.123Z");
    ck_assert(vws_datetime_to_ms(&a) == INT64_C(1795428000123));
    vws_datetime_from_ms(-1, &a);
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
    ck_assert_int_eq(vws_datetime_to_ms(&a), -1);
    vws_datetime_from_unix(0, 120000000, &a);
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.12Z");

    /* the same instant written two ways */
    ck_assert_int_eq(vws_datetime_parse("2026-01-01T12:00:00+02:00", &a), 0);
    ck_assert_int_eq(vws_datetime_parse("2026-01-01T10:00:00Z", &b), 0);
    ck_assert_int_eq(vws_datetime_compare(&a, &b), 0);
    ck_assert_int_eq(vws_datetime_parse("2026-01-01T10:00:00.1Z", &b), 0);
    ck_assert_int_lt(vws_datetime_compare(&a, &b), 0);
    ck_assert_int_gt(vws_datetime_compare(&b, &a), 0);

    /* now is now */
    int64_t before = vws_time_now_ms();
    vws_datetime_now(&a);
    int64_t after = vws_time_now_ms();
    ck_assert(vws_datetime_to_ms(&a) >= before);
    ck_assert(vws_datetime_to_ms(&a) <= after);
    ck_assert(before > INT64_C(1700000000000));
    int64_t m1 = vws_time_monotonic_ms(), m2 = vws_time_monotonic_ms();
    ck_assert(m2 >= m1);

    /* formatting refuses what it cannot write */
    ck_assert_int_eq(vws_datetime_parse("2026-01-01T10:00:00.5Z", &a), 0);
    ck_assert_int_eq(vws_datetime_format(&a, buf, 20), -1);
    ck_error(VWS_ERR_INVALID_ARG,
             "buffer of 20 bytes is too small for a dateTime");
    a.nsec = 1000000000;
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);
    vws_datetime_from_unix(INT64_C(253402300800), 0, &a);   /* year 10000 */
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), -1);
    vws_datetime_from_unix(INT64_C(-62135596801), 0, &a);   /* year 0 */
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), -1);
    vws_datetime_from_unix(INT64_MAX, 0, &a);
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), -1);
    /* a digit count too small for nsec is widened, never rounded */
    vws_datetime_from_unix(0, 123456789, &a);
    a.frac_digits = 2;
    ck_assert_int_eq(vws_datetime_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.123456789Z");
}
END_TEST

/* ==== xs:duration ======================================================= */

static const struct {
    const char *in;
    bool neg;
    int64_t y, mo, d, h, mi, s;
    int32_t nsec;
    const char *canon;
} du_good[] = {
    { "P1Y", false, 1, 0, 0, 0, 0, 0, 0, "P1Y" },
    { "P13M", false, 0, 13, 0, 0, 0, 0, 0, "P1Y1M" },
    { "P1D", false, 0, 0, 1, 0, 0, 0, 0, "P1D" },
    { "PT36H", false, 0, 0, 0, 36, 0, 0, 0, "P1DT12H" },
    { "PT90M", false, 0, 0, 0, 0, 90, 0, 0, "PT1H30M" },
    { "PT3600S", false, 0, 0, 0, 0, 0, 3600, 0, "PT1H" },
    { "PT0S", false, 0, 0, 0, 0, 0, 0, 0, "PT0S" },
    { "-PT0S", true, 0, 0, 0, 0, 0, 0, 0, "PT0S" },
    { "P0D", false, 0, 0, 0, 0, 0, 0, 0, "PT0S" },
    { "P0Y0M0DT0H0M0S", false, 0, 0, 0, 0, 0, 0, 0, "PT0S" },
    { "PT1.5S", false, 0, 0, 0, 0, 0, 1, 500000000, "PT1.5S" },
    { "PT1.500S", false, 0, 0, 0, 0, 0, 1, 500000000, "PT1.5S" },
    { "PT0.000000001S", false, 0, 0, 0, 0, 0, 0, 1, "PT0.000000001S" },
    { "PT0.0S", false, 0, 0, 0, 0, 0, 0, 0, "PT0S" },
    { "P1Y2M3DT4H5M6.7S", false, 1, 2, 3, 4, 5, 6, 700000000,
      "P1Y2M3DT4H5M6.7S" },
    { "-P1D", true, 0, 0, 1, 0, 0, 0, 0, "-P1D" },
    { "-P1Y2MT3M", true, 1, 2, 0, 0, 3, 0, 0, "-P1Y2MT3M" },
    { "P1MT1M", false, 0, 1, 0, 0, 1, 0, 0, "P1MT1M" },
    { "P2DT25H61M61S", false, 0, 0, 2, 25, 61, 61, 0, "P3DT2H2M1S" },
    { " PT1H\n", false, 0, 0, 0, 1, 0, 0, 0, "PT1H" },
    { "PT9223372036854775807S", false, 0, 0, 0, 0, 0, INT64_MAX, 0,
      "P106751991167300DT15H30M7S" },
    { "P768614336404564650Y7M", false, 768614336404564650, 7, 0, 0, 0, 0, 0,
      "P768614336404564650Y7M" },
    { "P106751991167300D", false, 0, 0, 106751991167300, 0, 0, 0, 0,
      "P106751991167300D" },
};

static const struct {
    const char *in, *why;
} du_bad[] = {
    { "", "expected 'P' (or '-P') at the start" },
    { "1Y", "expected 'P' (or '-P') at the start" },
    { "+P1Y", "expected 'P' (or '-P') at the start" },
    { "p1y", "expected 'P' (or '-P') at the start" },
    { "-", "expected 'P' after '-'" },
    { "--P1D", "expected 'P' after '-'" },
    { "P", "no component (write PT0S for zero)" },
    { "-P", "no component (write PT0S for zero)" },
    { "PT", "'T' must be followed by hours, minutes or seconds" },
    { "P1YT", "'T' must be followed by hours, minutes or seconds" },
    { "P-1Y", "expected a number, found '-'" },
    { "P1D2Y", "'Y' is repeated or out of order (the order is Y, M, D)" },
    { "P1Y1Y", "'Y' is repeated or out of order (the order is Y, M, D)" },
    { "P1M1Y", "'Y' is repeated or out of order (the order is Y, M, D)" },
    { "PT1S1M", "'M' is repeated or out of order (the order is H, M, S)" },
    { "PT1H1H", "'H' is repeated or out of order (the order is H, M, S)" },
    { "P1H", "'H' must come after 'T'" },
    { "P1S", "'S' must come after 'T'" },
    { "PT1D", "unexpected 'D' after 1 (expected H, M or S)" },
    { "PT1Y", "unexpected 'Y' after 1 (expected H, M or S)" },
    { "P1W", "unexpected 'W' after 1 (expected Y, M or D)" },
    { "P1.5Y", "only seconds may have a fraction" },
    { "P1.5D", "only seconds may have a fraction" },
    { "PT1.5M", "only seconds may have a fraction" },
    { "PT1.S", "expected digits after '.'" },
    { "PT.5S", "expected a number, found '.'" },
    { "PT1.1234567890S",
      "more than 9 fraction digits (finer than nanoseconds)" },
    { "P1", "number 1 at the end has no designator" },
    { "PT1H30", "number 30 at the end has no designator" },
    { "P1Y 2M", "expected a number, found ' '" },
    { "P1DT", "'T' must be followed by hours, minutes or seconds" },
    { "P1DTT1H", "expected a number, found 'T'" },
    { "PT1HT1M", "expected a number, found 'T'" },
    { "P99999999999999999999Y", "number 99999999999999999999... is too "
      "large" },
    { "P768614336404564651Y", "too large (the months or the seconds do not "
      "fit in 64 bits)" },
    { "P768614336404564650Y8M", "too large (the months or the seconds do "
      "not fit in 64 bits)" },
    { "P106751991167301D", "too large (the months or the seconds do not fit "
      "in 64 bits)" },
    { "P1DT9223372036854775807S", "too large (the months or the seconds do "
      "not fit in 64 bits)" },
    { "PT9223372036854775808S", "number 9223372036854775808... is too "
      "large" },
};

START_TEST(xstime_duration_good)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(du_good); i++) {
        struct vws_duration d;
        char buf[VWS_DURATION_BUFSIZE];
        const char *in = du_good[i].in;

        ck_assert_msg(vws_duration_parse(in, &d) == 0, "'%s': %s", in,
                      vws_error_message());
        ck_assert_int_eq(d.negative, du_good[i].neg);
        ck_assert(d.years == du_good[i].y);
        ck_assert(d.months == du_good[i].mo);
        ck_assert(d.days == du_good[i].d);
        ck_assert(d.hours == du_good[i].h);
        ck_assert(d.minutes == du_good[i].mi);
        ck_assert(d.seconds == du_good[i].s);
        ck_assert_int_eq(d.nsec, du_good[i].nsec);
        ck_assert_int_eq(vws_duration_format(&d, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, du_good[i].canon);
        /* the canonical form is a fixed point */
        struct vws_duration c;
        char again[VWS_DURATION_BUFSIZE];
        ck_assert_int_eq(vws_duration_parse(buf, &c), 0);
        ck_assert_int_eq(vws_duration_format(&c, again, sizeof(again)), 0);
        ck_assert_str_eq(again, buf);
    }
}
END_TEST

START_TEST(xstime_duration_bad)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(du_bad); i++) {
        struct vws_duration d = { .days = 42 };
        char *msg;

        vws_error_reset();
        ck_assert_msg(vws_duration_parse(du_bad[i].in, &d) == -1,
                      "'%s' was accepted", du_bad[i].in);
        msg = vws_asprintf("invalid xs:duration '%s': %s", du_bad[i].in,
                           du_bad[i].why);
        ck_error(VWS_ERR_INVALID, msg);
        free(msg);
        ck_assert_int_eq(d.days, 42);
    }
}
END_TEST

START_TEST(xstime_duration_seconds)
{
    struct vws_duration d;
    int64_t sec;
    int32_t nsec;

    ck_assert_int_eq(vws_duration_parse("PT1H30M", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
    ck_assert_int_eq(sec, 5400);
    ck_assert_int_eq(nsec, 0);
    ck_assert_int_eq(vws_duration_parse("P2DT1.25S", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
    ck_assert_int_eq(sec, 172801);
    ck_assert_int_eq(nsec, 250000000);
    ck_assert_int_eq(vws_duration_parse("-PT1.5S", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
    ck_assert_int_eq(sec, -2);
    ck_assert_int_eq(nsec, 500000000);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, NULL), 0);
    ck_assert_int_eq(sec, -1);
    ck_assert_int_eq(vws_duration_parse("-PT3S", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
    ck_assert_int_eq(sec, -3);
    ck_assert_int_eq(nsec, 0);

    /* months have no fixed length */
    ck_assert_int_eq(vws_duration_parse("P1M", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), -1);
    ck_error(VWS_ERR_INVALID, "duration 'P1M' has years or months, which "
             "have no fixed length in seconds");
    ck_assert_int_eq(vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS,
                                             &sec, &nsec), 0);
    ck_assert_int_eq(sec, 30 * 86400);
    ck_assert_int_eq(vws_duration_parse("-P1Y1DT1S", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), -1);
    ck_error(VWS_ERR_INVALID, "duration '-P1Y1DT1S' has years or months, "
             "which have no fixed length in seconds");
    ck_assert_int_eq(vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS,
                                             &sec, NULL), 0);
    ck_assert_int_eq(sec, -(366 * 86400 + 1));
    /* fits as months, overflows as seconds */
    ck_assert_int_eq(vws_duration_parse("P768614336404564650Y", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, VWS_DURATION_APPROX_MONTHS,
                                             &sec, NULL), -1);
    ck_error(VWS_ERR_INVALID, "duration 'P768614336404564650Y' is too long "
             "to count in seconds");
    /* the largest one that fits */
    ck_assert_int_eq(vws_duration_parse("-PT9223372036854775807.5S", &d), 0);
    ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
    ck_assert(sec == INT64_MIN);
    ck_assert_int_eq(nsec, 500000000);
}
END_TEST

START_TEST(xstime_duration_from_seconds)
{
    static const struct {
        int64_t sec;
        int32_t nsec;
        const char *text;
    } cases[] = {
        { 0, 0, "PT0S" },
        { 5400, 0, "PT1H30M" },
        { 86400, 0, "P1D" },
        { 90061, 1000, "P1DT1H1M1.000001S" },
        { -1, 500000000, "-PT0.5S" },
        { -2, 0, "-PT2S" },
        { INT64_MAX, 999999999, "P106751991167300DT15H30M7.999999999S" },
        { INT64_MIN, 1, "-P106751991167300DT15H30M7.999999999S" },
    };
    struct vws_duration d;
    char buf[VWS_DURATION_BUFSIZE];

    for (size_t i = 0; i < VWS_N_ELEMENTS(cases); i++) {
        int64_t sec;
        int32_t nsec;

        vws_duration_from_seconds(cases[i].sec, cases[i].nsec, &d);
        ck_assert_int_eq(vws_duration_format(&d, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, cases[i].text);
        ck_assert_int_eq(vws_duration_to_seconds(&d, 0, &sec, &nsec), 0);
        ck_assert(sec == cases[i].sec);
        ck_assert_int_eq(nsec, cases[i].nsec);
    }
    /* -2^63 s has no positive magnitude in an int64_t */
    vws_duration_from_seconds(INT64_MIN, 0, &d);
    ck_assert_int_eq(vws_duration_format(&d, buf, sizeof(buf)), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID_ARG);

    /* formatting checks a hand-made struct */
    memset(&d, 0, sizeof(d));
    d.hours = -1;
    ck_assert_int_eq(vws_duration_format(&d, buf, sizeof(buf)), -1);
    ck_error(VWS_ERR_INVALID_ARG, "duration fields are negative or too large");
    memset(&d, 0, sizeof(d));
    d.nsec = 1000000000;
    ck_assert_int_eq(vws_duration_format(&d, buf, sizeof(buf)), -1);
    memset(&d, 0, sizeof(d));
    d.days = 1;
    ck_assert_int_eq(vws_duration_format(&d, buf, 3), -1);
    ck_error(VWS_ERR_INVALID_ARG, "buffer of 3 bytes is too small for "
             "duration 'P1D'");
    ck_assert_int_eq(vws_duration_format(&d, buf, 4), 0);
    ck_assert_str_eq(buf, "P1D");
}
END_TEST

/* ==== uuid ============================================================== */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(uuid_generate_unique)
{
    enum { N = 10000 };
    char **ids = vws_calloc(N, sizeof(*ids));

    for (int i = 0; i < N; i++) {
        char buf[VWS_UUID_BUFSIZE];

        ck_assert_int_eq(vws_uuid_generate_string(buf), 0);
        ck_assert_uint_eq(strlen(buf), VWS_UUID_STRLEN);
        for (int k = 0; k < VWS_UUID_STRLEN; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                ck_assert_int_eq(buf[k], '-');
            else
                ck_assert_msg(strchr("0123456789abcdef", buf[k]) != NULL,
                              "'%s' is not lowercase hex", buf);
        }
        ck_assert_int_eq(buf[14], '4');                     /* version */
        ck_assert_ptr_nonnull(strchr("89ab", buf[19]));     /* variant */
        ck_assert(vws_uuid_is_valid(buf));
        ids[i] = vws_strdup(buf);
    }
    qsort(ids, N, sizeof(*ids), cmp_str);
    for (int i = 1; i < N; i++)
        ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate %s",
                      ids[i]);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
}
END_TEST

START_TEST(uuid_parse_round_trip)
{
    struct vws_uuid a, b;
    char buf[VWS_UUID_BUFSIZE];

    ck_assert_int_eq(vws_uuid_generate(&a), 0);
    vws_uuid_format(&a, buf);
    ck_assert_int_eq(vws_uuid_parse(buf, &b), 0);
    ck_assert(vws_uuid_equal(&a, &b));

    ck_assert_int_eq(vws_uuid_parse("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6",
                                    &b), 0);
    vws_uuid_format(&b, buf);
    ck_assert_str_eq(buf, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    ck_assert_int_eq(b.b[0], 0xf8);
    ck_assert_int_eq(b.b[15], 0xf6);
    ck_assert(!vws_uuid_equal(&a, &b));
    ck_assert_int_eq(vws_uuid_parse("00000000-0000-0000-0000-000000000000",
                                    &b), 0);
    vws_uuid_format(&b, buf);
    ck_assert_str_eq(buf, "00000000-0000-0000-0000-000000000000");
}
END_TEST

static const struct {
    const char *in, *why;
} uuid_bad[] = {
    { "", "too short (a UUID has 36 characters) at character 1" },
    { "f81d4fae-7dec-11d0-a765-00a0c91e6bf",
      "too short (a UUID has 36 characters) at character 36" },
    { "f81d4fae-7dec-11d0-a765-00a0c91e6bf60",
      "too long (a UUID has 36 characters) at character 37" },
    { "f81d4fae-7dec-11d0-a765-00a0c91e6bf6\n",
      "too long (a UUID has 36 characters) at character 37" },
    { "g81d4fae-7dec-11d0-a765-00a0c91e6bf6",
      "expected a hex digit at character 1" },
    { "f81d4fae07dec-11d0-a765-00a0c91e6bf6", "expected '-' at character 9" },
    { "f81d4fa-e7dec-11d0-a765-00a0c91e6bf6",
      "expected a hex digit at character 8" },
    { "f81d4fae7dec11d0a76500a0c91e6bf6",
      "expected '-' at character 9" },
    { "{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}",
      "expected a hex digit at character 1" },
    { "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
      "expected a hex digit at character 1" },
    { " f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
      "expected a hex digit at character 1" },
};

START_TEST(uuid_parse_errors)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(uuid_bad); i++) {
        struct vws_uuid u = { { 1 } };
        char *msg;

        vws_error_reset();
        ck_assert(!vws_uuid_is_valid(uuid_bad[i].in));
        ck_assert_ptr_null(vws_error_last());    /* is_valid is silent */
        ck_assert_int_eq(vws_uuid_parse(uuid_bad[i].in, &u), -1);
        msg = vws_asprintf("invalid UUID '%s': %s", uuid_bad[i].in,
                           uuid_bad[i].why);
        ck_error(VWS_ERR_INVALID, msg);
        free(msg);
        ck_assert_int_eq(u.b[0], 1);
    }
}
END_TEST

/* ==== the suite ========================================================= */

static Suite *
core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc;

    tc = tcase_create("strbuf");
    tcase_add_test(tc, strbuf_init_empty);
    tcase_add_test(tc, strbuf_growth);
    tcase_add_test(tc, strbuf_addf_long);
    tcase_add_test(tc, strbuf_detach);
    tcase_add_test(tc, strbuf_xml_escape);
    tcase_add_test(tc, strbuf_setlen);
    suite_add_tcase(s, tc);

    tc = tcase_create("util");
    tcase_add_test(tc, util_parse_i64);
    tcase_add_test(tc, util_parse_u64);
    tcase_add_test(tc, util_strlcpy);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_test(tc, config_defaults);
    tcase_add_test(tc, config_all_types);
    tcase_add_test(tc, config_unquoted_values);
    tcase_add_test(tc, config_set_values);
    tcase_add_test(tc, config_set_errors);
    tcase_add_test(tc, config_text_errors);
    tcase_add_test(tc, config_nul_in_buffer);
    tcase_add_test(tc, config_line_limit);
    tcase_add_test(tc, config_failed_load_keeps_target);
    tcase_add_test(tc, config_overrides);
    tcase_add_test(tc, config_format_round_trip);
    tcase_add_test(tc, config_bad_tables);
    tcase_add_test(tc, config_corpus);
    tcase_add_test(tc, config_corpus_values);
    tcase_add_test(tc, config_special_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("xstime");
    tcase_set_timeout(tc, 60);     /* valgrind: the sweeps take a while */
    tcase_add_test(tc, xstime_datetime_good);
    tcase_add_test(tc, xstime_datetime_bad);
    tcase_add_test(tc, xstime_leap_years);
    tcase_add_test(tc, xstime_datetime_sweep);
    tcase_add_test(tc, xstime_datetime_helpers);
    tcase_add_test(tc, xstime_duration_good);
    tcase_add_test(tc, xstime_duration_bad);
    tcase_add_test(tc, xstime_duration_seconds);
    tcase_add_test(tc, xstime_duration_from_seconds);
    suite_add_tcase(s, tc);

    tc = tcase_create("uuid");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, uuid_generate_unique);
    tcase_add_test(tc, uuid_parse_round_trip);
    tcase_add_test(tc, uuid_parse_errors);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(core_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
