/*
 * admin-images.c — vws-admin images add|list|remove: the Repository's
 * image pool, for site admins (ACL operation admin).
 *
 *   vws-admin images add TEMPLATE.xml      register an image template
 *   vws-admin images list                  every template in the pool
 *   vws-admin images remove NAME           (refused while a workspace uses it)
 *
 * The Repository is --repository URL or $VWS_REPOSITORY; credentials are the
 * Globus ones (an admin's VOMS proxy, typically).
 */
#define VWS_MODULE "admin"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "client/admin.h"
#include "document.h"
#include "gsi.h"
#include "internal.h"

static struct soap *
admin_client(void)
{
    struct vws_gsi_config c;
    struct soap *soap = vws_soap_new();

    vws_gsi_config_client(&c);
    if (!soap || vws_gsi_client_init(soap, &c) < 0) {
        fprintf(stderr, "vws-admin: %s\n", vws_error_message());
        vws_soap_free(soap);
        soap = NULL;
    }
    vws_gsi_config_release(&c);
    return soap;
}

static int
call_failed(struct soap *soap, const char *what)
{
    const char **s = soap_faultstring(soap);

    fprintf(stderr, "vws-admin: %s: %s\n", what, s && *s ? *s : "cannot reach the Repository");
    return 1;
}

int
vws_admin_images(int argc, char **argv)
{
    const char *url = getenv("VWS_REPOSITORY");
    struct soap *soap;
    int i = 1, rc = 0;

    if (argc > 2 && strcmp(argv[1], "--repository") == 0) {
        url = argv[2];
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: vws-admin images [--repository URL] add FILE | list | remove NAME\n");
        return 2;
    }
    if (!url) {
        fprintf(stderr, "vws-admin: say which Repository: --repository URL or $VWS_REPOSITORY\n");
        return 2;
    }
    if (strcmp(argv[i], "add") == 0 && i + 2 == argc) {
        struct vws_doc doc = VWS_DOC_INIT;
        struct _repo__RegisterImage req = { 0 };
        struct _repo__RegisterImageResponse resp;

        memset(&resp, 0, sizeof(resp));
        if (vws_doc_load(&doc, argv[i + 1], VWS_DOC_IMAGE) < 0) {
            printf("%s\n", vws_error_message());
            return 1;
        }
        if (!(soap = admin_client())) {
            vws_doc_release(&doc);
            return 1;
        }
        req.vws__imageTemplate = doc.u.image;
        if (soap_call___repo__RegisterImage(soap, url, NULL, &req, &resp))
            rc = call_failed(soap, "images add");
        else
            printf("image '%s' registered\n", doc.u.image->name);
        vws_soap_free(soap);
        vws_doc_release(&doc);
        return rc;
    }
    if (strcmp(argv[i], "list") == 0 && i + 1 == argc) {
        struct _repo__ListImages req;
        struct _repo__ListImagesResponse resp = { 0 };
        static const char *const formats[] = { "raw", "qcow2", "kernel+initrd" };

        memset(&req, 0, sizeof(req));
        if (!(soap = admin_client()))
            return 1;
        if (soap_call___repo__ListImages(soap, url, NULL, &req, &resp)) {
            rc = call_failed(soap, "images list");
        } else {
            for (int j = 0; j < resp.__sizeimageTemplate; j++) {
                struct vws__ImageTemplateType *t = &resp.vws__imageTemplate[j];
                printf("%-24s %-14s %12llu  %s  %s\n", t->name, formats[t->format % 3],
                       (unsigned long long)t->size, t->sha256, t->location);
            }
        }
        vws_soap_free(soap);
        return rc;
    }
    if (strcmp(argv[i], "remove") == 0 && i + 2 == argc) {
        struct _repo__RemoveImage req = { .name = argv[i + 1] };
        struct _repo__RemoveImageResponse resp;

        memset(&resp, 0, sizeof(resp));
        if (!(soap = admin_client()))
            return 1;
        if (soap_call___repo__RemoveImage(soap, url, NULL, &req, &resp))
            rc = call_failed(soap, "images remove");
        else
            printf("image '%s' removed\n", argv[i + 1]);
        vws_soap_free(soap);
        return rc;
    }
    fprintf(stderr, "usage: vws-admin images [--repository URL] add FILE | list | remove NAME\n");
    return 2;
}
