/*
 * check_soap_unserved.c — a daemon defines only its own operations: here,
 * like a Manager, only GetInstanceMetadata.  Every other operation of the generated
 * dispatcher answers with a fault naming it (wsdl/gen/unserved.c, weak).
 */
#define VWS_MODULE "test"
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "soaptest.h"
#include "internal.h"

int
__mgr__GetInstanceMetadata(struct soap *soap, struct _mgr__GetInstanceMetadata *req,
                           struct _mgr__GetInstanceMetadataResponse *resp)
{
    return soap_sender_fault(soap, "no such workspace here", req->workspaceId);
}

START_TEST(test_unserved_operation)
{
    struct soaptest_server *srv = soaptest_start(2);
    struct soap *c = vws_soap_new();
    struct _repo__GetImageTemplate req = { .name = "tiny" };
    struct _repo__GetImageTemplateResponse resp = { 0 };
    char url[256];

    snprintf(url, sizeof(url), "%s", soaptest_url(srv, "vws/manager"));
    ck_assert_int_eq(soap_call___repo__GetImageTemplate(c, url, NULL, &req, &resp), SOAP_CLI_FAULT);
    ck_assert_str_eq(*soap_faultstring(c), "operation not served by this endpoint");
    ck_assert_ptr_nonnull(strstr(*soap_faultdetail(c), "__repo__GetImageTemplate"));
    soap_destroy(c);
    soap_end(c);

    /* the operation this daemon defines is its own */
    {
        struct _mgr__GetInstanceMetadata mreq = {
            .workspaceId = "6f1c2a9e-3b4d-4e5f-8a6b-7c8d9e0f1a2b" };
        struct _mgr__GetInstanceMetadataResponse mresp = { 0 };
        ck_assert_int_eq(soap_call___mgr__GetInstanceMetadata(c, url, NULL, &mreq, &mresp),
                         SOAP_CLI_FAULT);
        ck_assert_str_eq(*soap_faultstring(c), "no such workspace here");
    }
    vws_soap_free(c);
    soaptest_stop(srv);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("soap-unserved");
    TCase *tc = tcase_create("dispatch");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_unserved_operation);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
