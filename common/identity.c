/*
 * identity.c — the caller's identity value (see identity.h).
 */
#define VWS_MODULE "identity"
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "internal.h"

void
vws_identity_release(struct vws_identity *id)
{
    if (!id)
        return;
    free(id->dn);
    free(id->issuer);
    for (size_t i = 0; i < id->n_fqans; i++)
        free(id->fqans[i]);
    free(id->fqans);
    free(id->vo);
    *id = (struct vws_identity)VWS_IDENTITY_INIT;
}

void
vws_identity_copy(struct vws_identity *dst, const struct vws_identity *src)
{
    *dst = *src;
    dst->dn = src->dn ? vws_strdup(src->dn) : NULL;
    dst->issuer = src->issuer ? vws_strdup(src->issuer) : NULL;
    dst->vo = src->vo ? vws_strdup(src->vo) : NULL;
    dst->fqans = src->n_fqans ? vws_calloc(src->n_fqans, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n_fqans; i++)
        dst->fqans[i] = vws_strdup(src->fqans[i]);
}

static int
fqan_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

char *
vws_fqan_normalise(const char *fqan)
{
    struct vws_buf out = VWS_BUF_INIT;
    const char *p = fqan;
    int groups = 0, seen_role = 0, seen_cap = 0;

    if (!fqan || fqan[0] != '/' || strlen(fqan) > 1024)
        goto bad;
    while (*p == '/') {
        const char *start = ++p, *value = NULL;
        size_t len;

        while (*p && *p != '/')
            p++;
        len = (size_t)(p - start);
        if (len == 0)
            goto bad;
        if (len > 5 && strncmp(start, "Role=", 5) == 0) {
            if (seen_role || seen_cap || groups == 0)
                goto bad;
            seen_role = 1;
            value = start + 5;
        } else if (len > 11 && strncmp(start, "Capability=", 11) == 0) {
            if (seen_cap || groups == 0)
                goto bad;
            seen_cap = 1;
            value = start + 11;
        } else if (seen_role || seen_cap) {
            goto bad;       /* a group after the role */
        } else {
            value = start;
            groups++;
        }
        for (const char *q = value; q < p; q++)
            if (!fqan_char_ok(*q))
                goto bad;
        if (value != start && p - value == 4 && strncmp(value, "NULL", 4) == 0)
            continue;       /* "Role=NULL", "Capability=NULL": no information */
        vws_buf_addch(&out, '/');
        vws_buf_add(&out, start, len);
    }
    if (*p || groups == 0)
        goto bad;
    return vws_buf_detach(&out, NULL);

 bad:
    vws_buf_release(&out);
    vws_report_error(VWS_ERR_INVALID,
                     "'%s' is not a VOMS FQAN (expected /vo[/group...][/Role=role]"
                     "[/Capability=cap])", fqan ? fqan : "(null)");
    return NULL;
}

const char *
vws_proxy_kind_name(enum vws_proxy_kind kind)
{
    switch (kind) {
    case VWS_PROXY_NONE: return "none";
    case VWS_PROXY_FULL: return "full";
    case VWS_PROXY_LIMITED: return "limited";
    case VWS_PROXY_INDEPENDENT: return "independent";
    case VWS_PROXY_RESTRICTED: return "restricted";
    }
    return "unknown";
}
