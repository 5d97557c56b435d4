/*
 * uuid.c — random UUIDs from getrandom(2) (see uuid.h).
 */
#define VWS_MODULE "uuid"
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include "uuid.h"
#include "internal.h"

int
vws_uuid_generate(struct vws_uuid *out)
{
    struct vws_uuid u;
    size_t got = 0;

    while (got < sizeof(u.b)) {
        ssize_t n = getrandom(u.b + got, sizeof(u.b) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vws_report_system_error("cannot get random bytes for a UUID");
            return -1;
        }
        got += (size_t)n;
    }
    u.b[6] = (uint8_t)((u.b[6] & 0x0F) | 0x40);   /* version 4 */
    u.b[8] = (uint8_t)((u.b[8] & 0x3F) | 0x80);   /* variant 10 */
    *out = u;
    return 0;
}

void
vws_uuid_format(const struct vws_uuid *u, char buf[VWS_UUID_BUFSIZE])
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[u->b[i] >> 4];
        *p++ = hex[u->b[i] & 0x0F];
    }
    *p = '\0';
}

int
vws_uuid_generate_string(char buf[VWS_UUID_BUFSIZE])
{
    struct vws_uuid u;

    if (vws_uuid_generate(&u) < 0)
        return -1;
    vws_uuid_format(&u, buf);
    return 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool
is_hyphen_pos(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

/* Parse S into *OUT; on failure return a static reason and set *POS. */
static const char *
parse(const char *s, struct vws_uuid *out, size_t *pos)
{
    struct vws_uuid u;
    size_t i, k = 0;

    for (i = 0; i < VWS_UUID_STRLEN; i++) {
        *pos = i + 1;
        if (!s[i])
            return "too short (a UUID has 36 characters)";
        if (is_hyphen_pos(i)) {
            if (s[i] != '-')
                return "expected '-'";
            continue;
        }
        int hi = hexval(s[i]);
        if (hi < 0)
            return "expected a hex digit";
        if (k % 2 == 0) {
            u.b[k / 2] = (uint8_t)(hi << 4);
        } else {
            u.b[k / 2] = (uint8_t)(u.b[k / 2] | hi);
        }
        k++;
    }
    if (s[i]) {
        *pos = i + 1;
        return "too long (a UUID has 36 characters)";
    }
    *out = u;
    return NULL;
}

int
vws_uuid_parse(const char *s, struct vws_uuid *out)
{
    size_t pos = 0;
    const char *why = parse(s, out, &pos);

    if (why) {
        vws_report_error(VWS_ERR_INVALID, "invalid UUID '%.64s%s': %s at "
                         "character %zu", s, strlen(s) > 64 ? "..." : "",
                         why, pos);
        return -1;
    }
    return 0;
}

bool
vws_uuid_is_valid(const char *s)
{
    struct vws_uuid u;
    size_t pos;

    return parse(s, &u, &pos) == NULL;
}

bool
vws_uuid_equal(const struct vws_uuid *a, const struct vws_uuid *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}
