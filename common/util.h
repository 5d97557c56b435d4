/*
 * util.h — small helpers used everywhere: allocation that never returns
 * NULL (out of memory aborts with a message, as in Redis and GLib: no caller
 * can recover from it sensibly), array sizes, safe string copies.
 */
#ifndef VWS_UTIL_H
#define VWS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VWS_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

void *vws_malloc(size_t size);
void *vws_calloc(size_t n, size_t size);
void *vws_realloc(void *p, size_t size);
/* realloc of an array of N elements of SIZE bytes, with overflow check. */
void *vws_reallocarray(void *p, size_t n, size_t size);
char *vws_strdup(const char *s);
char *vws_strndup(const char *s, size_t n);
/* printf into a new string; never NULL. */
char *vws_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy SRC into DST of DSTSIZE bytes, always terminated.  Returns 0, or -1
 * if SRC did not fit (DST then holds a truncated copy). */
int vws_strlcpy(char *dst, const char *src, size_t dstsize);

/* Free *P and set it to NULL. */
#define VWS_FREE(p) do { free(p); (p) = NULL; } while (0)

/* Parse a whole base-10 integer; 0 on success, -1 (errno set) otherwise:
 * empty, trailing junk, out of range. */
int vws_parse_i64(const char *s, int64_t *out);
int vws_parse_u64(const char *s, uint64_t *out);

/* Strip leading and trailing white space (isspace) from S in place;
 * returns the first non-space character of S. */
char *vws_trim(char *s);

/* S is an RFC 1123 host name: labels of letters, digits and inner '-', at
 * most 63 characters each, 253 in all. */
bool vws_is_hostname(const char *s);

#endif /* VWS_UTIL_H */
