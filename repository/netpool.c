/*
 * netpool.c — network pool files and address leases (see netpool.h and
 * docs/vws-netpool.5).
 *
 * A file is read whole (at most VWS_NETPOOL_MAX_FILE bytes), then line by
 * line: a line with '=' sets a header key, any other non-blank line is an
 * address "hostname ip [mac]".  Keys are rows of keys[] (name and where the
 * value goes).  Checks that need the whole file (every address inside the
 * subnet, not the network, broadcast or gateway address) run after the last
 * line and name the address's own line.  Addresses are IPv4.
 */
#define VWS_MODULE "netpool"
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repository/netpool.h"
#include "repository/store.h"
#include "internal.h"

/* ---- small parsers ---------------------------------------------------- */

/* A dotted quad: four decimal numbers 0..255, no leading zeros (so that
 * "010" cannot mean 8 to one program and 10 to another). */
static bool
parse_ipv4(const char *s, uint32_t *out)
{
    uint32_t v = 0;

    for (int part = 0; part < 4; part++) {
        unsigned n = 0;
        int digits = 0;

        if (part > 0 && *s++ != '.')
            return false;
        if (s[0] == '0' && isdigit((unsigned char)s[1]))
            return false;
        while (isdigit((unsigned char)*s) && digits < 4) {
            n = n * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || n > 255)
            return false;
        v = (v << 8) | n;
    }
    if (*s)
        return false;
    *out = v;
    return true;
}

static void
format_ipv4(uint32_t v, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", (v >> 24) & 255, (v >> 16) & 255,
             (v >> 8) & 255, v & 255);
}

/* xx:xx:xx:xx:xx:xx (hex, either case), unicast.  OUT gets it lowercase. */
static bool
parse_mac(const char *s, char out[18])
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[17] = '\0';
    return true;
}

static bool
mac_is_multicast(const char *mac)
{
    unsigned first = (unsigned)strtoul(mac, NULL, 16);   /* stops at ':' */
    return first & 1u;
}

/* ---- the parser ------------------------------------------------------- */

struct entry_src {
    int line;
    uint32_t ip;
};

struct parser {
    const char *path;
    int line;
    struct vws_netpool *pool;
    struct entry_src *src;       /* per entry: its line and address */
    int key_line[4];             /* line that set each key, 0 if none */
};

static int
fail(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parser *p, int line, const char *fmt, ...)
{
    struct vws_buf b = VWS_BUF_INIT;
    va_list ap;

    if (line > 0)
        vws_buf_addf(&b, "%s:%d: ", p->path, line);
    else
        vws_buf_addf(&b, "%s: ", p->path);
    va_start(ap, fmt);
    vws_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    vws_report_error(VWS_ERR_CONFIG, "%s", b.s);
    vws_buf_release(&b);
    return -1;
}

enum { KEY_NETMASK, KEY_GATEWAY, KEY_BROADCAST, KEY_DNS };

static const struct {
    const char *name;
    size_t offset;       /* of the char * in struct vws_netpool */
} keys[] = {
    [KEY_NETMASK] = { "netmask", offsetof(struct vws_netpool, netmask) },
    [KEY_GATEWAY] = { "gateway", offsetof(struct vws_netpool, gateway) },
    [KEY_BROADCAST] = { "broadcast", offsetof(struct vws_netpool, broadcast) },
    [KEY_DNS] = { "dns", offsetof(struct vws_netpool, dns) },
};

/* Check VALUE of key K; for dns, a list of addresses normalised to single
 * spaces into *NORM. */
static int
check_value(struct parser *p, int k, char *value, char **norm)
{
    uint32_t v;

    *norm = NULL;
    if (k != KEY_DNS) {
        if (!parse_ipv4(value, &v))
            return fail(p, p->line, "invalid %s '%s' (an IPv4 address such "
                        "as 10.0.0.1)", keys[k].name, value);
        if (k == KEY_NETMASK) {
            uint32_t inv = ~v;
            /* contiguous ones: ~v + 1 is a power of two; /8 to /30 */
            if ((inv & (inv + 1)) != 0 || v < 0xff000000u ||
                v > 0xfffffffcu)
                return fail(p, p->line, "invalid netmask '%s' (contiguous, "
                            "from 255.0.0.0 to 255.255.255.252)", value);
        }
        *norm = vws_strdup(value);
        return 0;
    }
    {
        struct vws_buf b = VWS_BUF_INIT;
        char *save = NULL, *w;
        int n = 0;

        for (w = strtok_r(value, " \t,", &save); w;
             w = strtok_r(NULL, " \t,", &save)) {
            if (!parse_ipv4(w, &v)) {
                vws_buf_release(&b);
                return fail(p, p->line, "invalid dns server '%s'", w);
            }
            if (++n > 8) {
                vws_buf_release(&b);
                return fail(p, p->line, "more than 8 dns servers");
            }
            if (b.len)
                vws_buf_addch(&b, ' ');
            vws_buf_adds(&b, w);
        }
        if (n == 0)
            return fail(p, p->line, "'dns' needs at least one address");
        *norm = vws_buf_detach(&b, NULL);
    }
    return 0;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int
parse_key_line(struct parser *p, char *line, char *eq)
{
    char *name, *value, *norm, **slot;

    *eq = '\0';
    name = trim(line);
    value = trim(eq + 1);
    for (size_t k = 0; k < VWS_N_ELEMENTS(keys); k++) {
        if (strcmp(name, keys[k].name) != 0)
            continue;
        if (p->key_line[k])
            return fail(p, p->line, "duplicate '%s' (first set on line %d)",
                        name, p->key_line[k]);
        if (!*value)
            return fail(p, p->line, "'%s' needs a value", name);
        if (check_value(p, (int)k, value, &norm) < 0)
            return -1;
        slot = (char **)((char *)p->pool + keys[k].offset);
        *slot = norm;
        p->key_line[k] = p->line;
        return 0;
    }
    return fail(p, p->line, "unknown key '%.64s' (netmask, gateway, "
                "broadcast, dns)", name);
}

static int
parse_address_line(struct parser *p, char *line)
{
    struct vws_netpool *pool = p->pool;
    char *w[4], *save = NULL, mac[18];
    uint32_t ip;
    int n = 0;
    struct vws_lease *e;

    for (char *t = strtok_r(line, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (n == 3)
            return fail(p, p->line, "too many words: an address line is "
                        "'hostname ip [mac]'");
        w[n++] = t;
    }
    if (n < 2)
        return fail(p, p->line, "an address line is 'hostname ip [mac]', "
                    "not '%.64s'", w[0]);
    if (!vws_is_hostname(w[0]))
        return fail(p, p->line, "invalid hostname '%.64s'", w[0]);
    if (!parse_ipv4(w[1], &ip))
        return fail(p, p->line, "invalid IP address '%.64s'", w[1]);
    if (n == 3) {
        if (!parse_mac(w[2], mac))
            return fail(p, p->line, "invalid MAC address '%.64s' (six hex "
                        "pairs separated by ':')", w[2]);
        if (mac_is_multicast(mac))
            return fail(p, p->line, "MAC address '%s' is a multicast "
                        "address", w[2]);
    }
    for (size_t i = 0; i < pool->n_entries; i++) {
        e = &pool->entries[i];
        if (p->src[i].ip == ip)
            return fail(p, p->line, "duplicate IP address '%s' (also on "
                        "line %d)", w[1], p->src[i].line);
        if (strcasecmp(e->hostname, w[0]) == 0)
            return fail(p, p->line, "duplicate hostname '%s' (also on line "
                        "%d)", w[0], p->src[i].line);
        if (n == 3 && e->mac && strcmp(e->mac, mac) == 0)
            return fail(p, p->line, "duplicate MAC address '%s' (also on "
                        "line %d)", w[2], p->src[i].line);
    }
    if (pool->n_entries >= VWS_NETPOOL_MAX_ENTRIES) {
        vws_report_error(VWS_ERR_LIMIT, "%s:%d: more than %d addresses",
                         p->path, p->line, VWS_NETPOOL_MAX_ENTRIES);
        return -1;
    }
    pool->entries = vws_reallocarray(pool->entries, pool->n_entries + 1,
                                     sizeof(*pool->entries));
    p->src = vws_reallocarray(p->src, pool->n_entries + 1, sizeof(*p->src));
    e = &pool->entries[pool->n_entries];
    vws_lease_init(e);
    e->hostname = vws_strdup(w[0]);
    e->ip = vws_strdup(w[1]);
    e->mac = n == 3 ? vws_strdup(mac) : NULL;
    p->src[pool->n_entries].line = p->line;
    p->src[pool->n_entries].ip = ip;
    pool->n_entries++;
    return 0;
}

/* The checks that need the whole file, then the pool-wide fields copied
 * into each entry. */
static int
finish(struct parser *p)
{
    struct vws_netpool *pool = p->pool;
    uint32_t mask, net, bcast, gw = 0, v;
    char buf[16];

    if (!pool->netmask)
        return fail(p, 0, "missing 'netmask'");
    parse_ipv4(pool->netmask, &mask);
    /* the subnet: the gateway's, else the broadcast's, else the first
     * address's */
    if (pool->gateway)
        parse_ipv4(pool->gateway, &gw);
    if (pool->gateway)
        net = gw & mask;
    else if (pool->broadcast && parse_ipv4(pool->broadcast, &v))
        net = v & mask;
    else if (pool->n_entries > 0)
        net = p->src[0].ip & mask;
    else
        net = 0;
    bcast = net | ~mask;
    if (pool->gateway && (gw == net || gw == bcast))
        return fail(p, p->key_line[KEY_GATEWAY], "gateway '%s' is the "
                    "network or broadcast address of its subnet",
                    pool->gateway);
    if (pool->broadcast) {
        parse_ipv4(pool->broadcast, &v);
        if (v != bcast) {
            format_ipv4(bcast, buf);
            return fail(p, p->key_line[KEY_BROADCAST], "broadcast '%s' is "
                        "not the broadcast address of the subnet (%s with "
                        "netmask %s)", pool->broadcast, buf, pool->netmask);
        }
    }
    for (size_t i = 0; i < pool->n_entries; i++) {
        struct vws_lease *e = &pool->entries[i];
        uint32_t ip = p->src[i].ip;
        char netbuf[16];

        format_ipv4(net, netbuf);
        if ((ip & mask) != net)
            return fail(p, p->src[i].line, "IP address '%s' is outside the "
                        "subnet %s/%s%s", e->ip, netbuf, pool->netmask,
                        pool->gateway ? " of the gateway" : "");
        if (ip == net || ip == bcast)
            return fail(p, p->src[i].line, "IP address '%s' is the %s "
                        "address of the subnet", e->ip,
                        ip == net ? "network" : "broadcast");
        if (pool->gateway && ip == gw)
            return fail(p, p->src[i].line, "IP address '%s' is the gateway",
                        e->ip);
        e->pool = vws_strdup(pool->name);
        e->netmask = vws_strdup(pool->netmask);
        e->gateway = pool->gateway ? vws_strdup(pool->gateway) : NULL;
        e->broadcast = vws_strdup(pool->broadcast ? pool->broadcast
                                  : (format_ipv4(bcast, buf), buf));
        e->dns = pool->dns ? vws_strdup(pool->dns) : NULL;
    }
    if (pool->n_entries == 0)
        VWS_WARN("%s: pool '%s' has no addresses", p->path, pool->name);
    return 0;
}

/* Read PATH whole into a NUL-terminated buffer. */
static char *
read_file(const char *path, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        vws_report_system_error("cannot open pool file '%s'", path);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        vws_report_system_error("cannot stat pool file '%s'", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        vws_report_error(VWS_ERR_IO, "pool file '%s' is not a regular file",
                         path);
        goto fail;
    }
    if (st.st_size > VWS_NETPOOL_MAX_FILE) {
        vws_report_error(VWS_ERR_LIMIT, "pool file '%s' is larger than %d "
                         "bytes", path, VWS_NETPOOL_MAX_FILE);
        goto fail;
    }
    buf = vws_malloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            vws_report_system_error("cannot read pool file '%s'", path);
            goto fail;
        }
        if (n == 0)
            break;      /* it shrank: parse what is there */
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    *len = got;
    return buf;
fail:
    free(buf);
    close(fd);
    return NULL;
}

/* The pool name of PATH: its last component without ".pool". */
static char *
name_of_path(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".pool") == 0)
        n -= 5;
    return vws_strndup(base, n);
}

int
vws_netpool_load(const char *path, const char *name, struct vws_netpool **out)
{
    struct parser p = { .path = path };
    struct vws_netpool *pool;
    char *buf, *line, *next;
    size_t len;
    int ret = -1;

    *out = NULL;
    if (!path) {
        vws_report_error(VWS_ERR_INVALID_ARG, "missing pool file");
        return -1;
    }
    pool = vws_calloc(1, sizeof(*pool));
    pool->path = vws_strdup(path);
    pool->name = name ? vws_strdup(name) : name_of_path(path);
    p.pool = pool;
    if (!vws_store_name_is_valid(pool->name)) {
        vws_report_error(VWS_ERR_CONFIG, "%s: invalid pool name '%.64s' "
                         "(letters, digits, '.', '_', '+', '-')", path,
                         pool->name);
        vws_netpool_free(pool);
        return -1;
    }
    if (!(buf = read_file(path, &len))) {
        vws_netpool_free(pool);
        return -1;
    }
    if (memchr(buf, '\0', len)) {
        fail(&p, 0, "NUL byte at offset %zu: not a text file",
             (size_t)((char *)memchr(buf, '\0', len) - buf));
        goto out;
    }
    for (line = buf; line && *line; line = next) {
        char *hash, *eq, *t;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        p.line++;
        if (strlen(line) > VWS_NETPOOL_MAX_LINE) {
            vws_report_error(VWS_ERR_LIMIT, "%s:%d: line longer than %d "
                             "bytes", path, p.line, VWS_NETPOOL_MAX_LINE);
            goto out;
        }
        for (t = line; *t; t++)
            if ((unsigned char)*t < 0x20 && *t != '\t' && *t != '\r') {
                fail(&p, p.line, "control character 0x%02x",
                     (unsigned)(unsigned char)*t);
                goto out;
            }
        /* a comment may be UTF-8; what is parsed must be ASCII */
        if ((hash = strchr(line, '#')))
            *hash = '\0';
        for (t = line; *t; t++)
            if ((unsigned char)*t >= 0x7f) {
                fail(&p, p.line, "byte 0x%02x: pool files are ASCII "
                     "outside comments", (unsigned)(unsigned char)*t);
                goto out;
            }
        line = trim(line);
        if (!*line)
            continue;
        eq = strchr(line, '=');
        if (eq ? parse_key_line(&p, line, eq) < 0
               : parse_address_line(&p, line) < 0)
            goto out;
    }
    if (finish(&p) < 0)
        goto out;
    *out = pool;
    pool = NULL;
    ret = 0;
out:
    free(buf);
    free(p.src);
    vws_netpool_free(pool);
    return ret;
}

void
vws_netpool_free(struct vws_netpool *pool)
{
    if (!pool)
        return;
    vws_lease_list_free(pool->entries, pool->n_entries);
    free(pool->name);
    free(pool->path);
    free(pool->netmask);
    free(pool->gateway);
    free(pool->broadcast);
    free(pool->dns);
    free(pool);
}

void
vws_netpool_free_all(struct vws_netpool **pools, size_t n)
{
    for (size_t i = 0; pools && i < n; i++)
        vws_netpool_free(pools[i]);
    free(pools);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
vws_netpool_load_dir(const char *dir, struct vws_netpool ***pools, size_t *n)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t count = 0, loaded = 0;
    struct vws_netpool **list = NULL;
    int ret = -1;

    *pools = NULL;
    *n = 0;
    if (!(d = opendir(dir))) {
        vws_report_system_error("cannot open pool directory '%s'", dir);
        return -1;
    }
    while ((de = readdir(d)) && count < 4096) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 ||
            strcmp(de->d_name + len - 5, ".pool") != 0)
            continue;
        names = vws_reallocarray(names, count + 1, sizeof(*names));
        names[count++] = vws_strdup(de->d_name);
    }
    closedir(d);
    if (count)
        qsort(names, count, sizeof(*names), cmp_str);
    list = vws_calloc(count ? count : 1, sizeof(*list));
    for (; loaded < count; loaded++) {
        char *path = vws_asprintf("%s/%s", dir, names[loaded]);
        int rc = vws_netpool_load(path, NULL, &list[loaded]);
        free(path);
        if (rc < 0)
            goto out;
    }
    *pools = list;
    *n = count;
    list = NULL;
    ret = 0;
out:
    vws_netpool_free_all(list, loaded);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return ret;
}

struct vws_netpool *
vws_netpool_find(struct vws_netpool **pools, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(pools[i]->name, name) == 0)
            return pools[i];
    return NULL;
}

int
vws_netpool_lease(const struct vws_netpool *pool, struct vws_store *store,
                  const char *key, struct vws_lease *out)
{
    if (!pool || !store) {
        vws_lease_init(out);
        vws_report_error(VWS_ERR_INVALID_ARG, "missing pool or store");
        return -1;
    }
    return vws_store_lease_take(store, pool->name, key, pool->entries,
                                pool->n_entries, out);
}

int
vws_netpool_count_leased(const struct vws_netpool *pool,
                         struct vws_store *store, size_t *leased)
{
    struct vws_lease *list;
    size_t n, count = 0;

    *leased = 0;
    if (vws_store_lease_list(store, pool->name, NULL, &list, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < pool->n_entries; j++)
            if (strcmp(list[i].ip, pool->entries[j].ip) == 0) {
                count++;
                break;
            }
    vws_lease_list_free(list, n);
    *leased = count;
    return 0;
}
