/*
 * words.h — the line lexer of vws's admin files (the ACL, vws-acl(5), and
 * the group policy, vws-policy(5)): blanks separate words, '#' outside
 * quotes starts a comment, "..." quotes with \" and \\ as escapes (any
 * other backslash is kept as it is); and the UTF-8 check their readers
 * apply to every line first.
 */
#ifndef VWS_WORDS_H
#define VWS_WORDS_H

#include <stddef.h>

#define VWS_WORDS_MAX 64            /* the most a caller may ask for */

struct vws_words {
    char *w[VWS_WORDS_MAX];         /* owned: vws_words_release() */
    size_t n;
    size_t start;                   /* offset of the first word */
    size_t end;                     /* offset just after the last word */
};

/* Split LINE (NUL-terminated) into at most MAX (<= VWS_WORDS_MAX) words
 * in WS.  0, or -1 with WS empty and a message without a location in WHY
 * ("unterminated quote (the '\"' at column 7 has no closing '\"')", "more
 * than 32 words on a line", ...); nothing is reported: the caller names
 * the file and line. */
int vws_words_split(const char *line, size_t max, struct vws_words *ws,
                    char *why, size_t why_size);
void vws_words_release(struct vws_words *ws);

/* Length of the valid UTF-8 prefix of S[0..LEN): no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
size_t vws_utf8_valid_prefix(const unsigned char *s, size_t len);

#endif /* VWS_WORDS_H */
