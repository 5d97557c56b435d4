/*
 * uuid.h — random (version 4) UUIDs, as workspace, lease and agreement ids
 * and WS-Addressing message ids ("urn:uuid:" + the text).
 *
 * The bytes come from getrandom(2); the text form is the 36 characters of
 * RFC 9562 (8-4-4-4-12 hex digits), written in lowercase.  No libuuid.
 */
#ifndef VWS_UUID_H
#define VWS_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define VWS_UUID_STRLEN 36
#define VWS_UUID_BUFSIZE (VWS_UUID_STRLEN + 1)

struct vws_uuid {
    uint8_t b[16];
};

/* A new random UUID (version 4, variant 10).  0, or -1 with a system error
 * reported if the kernel gave no random bytes. */
int vws_uuid_generate(struct vws_uuid *out);

/* Write U as 36 lowercase characters and a NUL into BUF. */
void vws_uuid_format(const struct vws_uuid *u, char buf[VWS_UUID_BUFSIZE]);

/* vws_uuid_generate() and vws_uuid_format() in one: a new UUID's text. */
int vws_uuid_generate_string(char buf[VWS_UUID_BUFSIZE]);

/* Parse the 36-character form (hex digits in either case, hyphens at
 * positions 8, 13, 18 and 23, nothing before or after).  Any version and
 * variant are accepted: ids may come from other software.  0, or -1 with
 * VWS_ERR_INVALID reported and *OUT untouched. */
int vws_uuid_parse(const char *s, struct vws_uuid *out);

/* Whether S is a UUID in the form vws_uuid_parse() accepts.  Reports no
 * error. */
bool vws_uuid_is_valid(const char *s);

/* Whether A and B are the same UUID. */
bool vws_uuid_equal(const struct vws_uuid *a, const struct vws_uuid *b);

#endif /* VWS_UUID_H */
