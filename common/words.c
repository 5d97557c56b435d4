/*
 * words.c — the line lexer of the admin files (words.h).
 */
#define VWS_MODULE "words"
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "strbuf.h"
#include "words.h"
#include "internal.h"

void
vws_words_release(struct vws_words *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i]);
    ws->n = 0;
}

int
vws_words_split(const char *line, size_t max, struct vws_words *ws,
                char *why, size_t why_size)
{
    const char *p = line;
    struct vws_buf w = VWS_BUF_INIT;

    if (max > VWS_WORDS_MAX)
        max = VWS_WORDS_MAX;
    ws->n = 0;
    ws->start = ws->end = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            break;
        if (ws->n == max) {
            snprintf(why, why_size, "more than %zu words on a line", max);
            goto fail;
        }
        if (ws->n == 0)
            ws->start = (size_t)(p - line);
        vws_buf_reset(&w);
        if (*p == '"') {
            const char *open = p++;

            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                vws_buf_addch(&w, *p++);
            }
            if (!*p) {
                snprintf(why, why_size, "unterminated quote (the '\"' at column %zu "
                         "has no closing '\"')", (size_t)(open - line) + 1);
                goto fail;
            }
            p++;
            if (*p && *p != ' ' && *p != '\t' && *p != '#') {
                snprintf(why, why_size, "expected a space after the closing quote "
                         "at column %zu", (size_t)(p - line));
                goto fail;
            }
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '#') {
                if (*p == '"') {
                    snprintf(why, why_size, "unexpected '\"' inside a word at column "
                             "%zu (quote the whole word)", (size_t)(p - line) + 1);
                    goto fail;
                }
                vws_buf_addch(&w, *p++);
            }
        }
        ws->end = (size_t)(p - line);
        ws->w[ws->n++] = vws_buf_detach(&w, NULL);
    }
    vws_buf_release(&w);
    return 0;

 fail:
    vws_buf_release(&w);
    vws_words_release(ws);
    return -1;
}

size_t
vws_utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1; cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2; cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3; cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += n + 1;
    }
    return len;
}
