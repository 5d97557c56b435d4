/*
 * voms.c — VOMS attributes from a proxy chain (see voms.h).
 */
#define VWS_MODULE "voms"
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <voms/voms_apic.h>

#include "identity.h"
#include "voms.h"
#include "internal.h"

int
vws_voms_attributes(X509 *leaf, STACK_OF(X509) *chain, const char *vomsdir,
                    const char *certdir, struct vws_identity *id)
{
    struct vomsdata *vd;
    char **fqans = NULL;
    size_t n = 0;
    char *vo = NULL;
    int err = VERR_NONE;
    int rc = -1;

    if (!(vd = VOMS_Init((char *)vomsdir, (char *)certdir))) {
        vws_report_error(VWS_ERR_INTERNAL, "cannot initialise VOMS with vomsdir '%s'",
                         vomsdir);
        return -1;
    }
    if (!VOMS_Retrieve(leaf, chain, RECURSE_CHAIN, vd, &err)) {
        if (err == VERR_NOEXT) {
            rc = 0;
        } else {
            char *msg = VOMS_ErrorMessage(vd, err, NULL, 0);
            vws_report_error(VWS_ERR_DENIED, "VOMS attributes do not verify: %s",
                             msg ? msg : "unknown VOMS error");
            free(msg);
        }
        goto cleanup;
    }
    for (int i = 0; vd->data && vd->data[i]; i++) {
        struct voms *v = vd->data[i];

        if (!vo && v->voname)
            vo = vws_strdup(v->voname);
        for (int j = 0; v->fqan && v->fqan[j]; j++) {
            char *f = vws_fqan_normalise(v->fqan[j]);
            if (!f) {
                vws_report_error(VWS_ERR_DENIED, "VOMS attribute '%s' is not an FQAN",
                                 v->fqan[j]);
                goto cleanup;
            }
            fqans = vws_reallocarray(fqans, n + 1, sizeof(char *));
            fqans[n++] = f;
        }
    }
    if (n == 0) {
        vws_report_error(VWS_ERR_DENIED, "VOMS extension without attributes");
        goto cleanup;
    }
    id->fqans = fqans;
    id->n_fqans = n;
    id->vo = vo;
    fqans = NULL;
    vo = NULL;
    n = 0;
    rc = 1;

 cleanup:
    for (size_t i = 0; i < n; i++)
        free(fqans[i]);
    free(fqans);
    free(vo);
    VOMS_Destroy(vd);
    return rc;
}
