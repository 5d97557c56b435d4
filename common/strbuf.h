/*
 * strbuf.h — a growable string buffer (after git's strbuf).
 *
 *   struct vws_buf b = VWS_BUF_INIT;
 *   vws_buf_addf(&b, "%s=%d", k, v);
 *   use(b.s);                 -- always NUL-terminated, never NULL
 *   vws_buf_release(&b);      -- frees the contents, b is VWS_BUF_INIT again
 *
 * vws_buf_detach() hands the string to the caller (free() it) and resets b.
 * Growth never fails (out of memory aborts, see util.h).
 */
#ifndef VWS_STRBUF_H
#define VWS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct vws_buf {
    char *s;     /* points at vws_buf_empty[] until the first growth */
    size_t len;
    size_t cap;  /* 0 while s is the shared empty string */
};

extern char vws_buf_empty[];
#define VWS_BUF_INIT { vws_buf_empty, 0, 0 }

void vws_buf_init(struct vws_buf *b, size_t hint);
void vws_buf_release(struct vws_buf *b);
/* Make room for EXTRA more bytes beyond len (plus the terminator). */
void vws_buf_grow(struct vws_buf *b, size_t extra);
void vws_buf_add(struct vws_buf *b, const void *data, size_t n);
void vws_buf_adds(struct vws_buf *b, const char *s);
void vws_buf_addch(struct vws_buf *b, int c);
void vws_buf_addf(struct vws_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vws_buf_vaddf(struct vws_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append S with the five XML special characters escaped. */
void vws_buf_add_xml_escaped(struct vws_buf *b, const char *s);
void vws_buf_setlen(struct vws_buf *b, size_t len);
void vws_buf_reset(struct vws_buf *b);   /* len = 0, keeps the memory */
/* Return the string (caller frees) and reset B. */
char *vws_buf_detach(struct vws_buf *b, size_t *len);

#endif /* VWS_STRBUF_H */
