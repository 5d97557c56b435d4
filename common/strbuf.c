/*
 * strbuf.c — growable string buffer (see strbuf.h).
 */
#define VWS_MODULE "strbuf"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

char vws_buf_empty[1];

void
vws_buf_init(struct vws_buf *b, size_t hint)
{
    b->s = vws_buf_empty;
    b->len = 0;
    b->cap = 0;
    if (hint)
        vws_buf_grow(b, hint);
}

void
vws_buf_release(struct vws_buf *b)
{
    if (b->cap)
        free(b->s);
    vws_buf_init(b, 0);
}

void
vws_buf_grow(struct vws_buf *b, size_t extra)
{
    size_t need;

    if (extra > SIZE_MAX - b->len - 1)
        abort();
    need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->cap) {
        b->s = vws_realloc(b->s, cap);
    } else {
        b->s = vws_malloc(cap);
        b->s[0] = '\0';
    }
    b->cap = cap;
}

void
vws_buf_add(struct vws_buf *b, const void *data, size_t n)
{
    vws_buf_grow(b, n);
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void
vws_buf_adds(struct vws_buf *b, const char *s)
{
    vws_buf_add(b, s, strlen(s));
}

void
vws_buf_addch(struct vws_buf *b, int c)
{
    vws_buf_grow(b, 1);
    b->s[b->len++] = (char)c;
    b->s[b->len] = '\0';
}

void
vws_buf_vaddf(struct vws_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    vws_buf_grow(b, 64);
    va_copy(cp, ap);
    n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        abort();
    if ((size_t)n >= b->cap - b->len) {
        vws_buf_grow(b, (size_t)n);
        n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void
vws_buf_addf(struct vws_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vws_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void
vws_buf_add_xml_escaped(struct vws_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': vws_buf_adds(b, "&lt;"); break;
        case '>': vws_buf_adds(b, "&gt;"); break;
        case '&': vws_buf_adds(b, "&amp;"); break;
        case '"': vws_buf_adds(b, "&quot;"); break;
        case '\'': vws_buf_adds(b, "&apos;"); break;
        default: vws_buf_addch(b, *s);
        }
    }
}

void
vws_buf_setlen(struct vws_buf *b, size_t len)
{
    if (len > (b->cap ? b->cap - 1 : 0))
        abort();
    b->len = len;
    if (b->cap)
        b->s[len] = '\0';
}

void
vws_buf_reset(struct vws_buf *b)
{
    vws_buf_setlen(b, 0);
}

char *
vws_buf_detach(struct vws_buf *b, size_t *len)
{
    char *s;

    if (len)
        *len = b->len;
    s = b->cap ? b->s : vws_strdup("");
    vws_buf_init(b, 0);
    return s;
}
