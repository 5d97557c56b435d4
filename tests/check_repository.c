/*
 * check_repository.c — the real vws-repository daemon on 127.0.0.1 over GSI
 * with the test PKI, driven through the generated client stubs: every
 * operation, who may see and do what, invalid transitions, hostile
 * requests, scheduled termination, and a kill -9 in the middle of a stream
 * of registrations and destructions after which every acknowledged
 * operation is still there.
 */
#define VWS_MODULE "test"
#include <config.h>

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
#include "sitetest.h"
#include "soaptest.h"
#include "internal.h"

#define ALICE "/O=Grid/OU=vws-test/CN=Alice"
#define PROPS_DIALECT "http://www.w3.org/TR/1999/REC-xpath-19991116"
#define IMG_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static pid_t daemon_pid;
static int port;

static void
start_daemon(void)
{
    daemon_pid = sitetest_start("repository/vws-repository", "repository", &port);
}

static int
stop_daemon(int sig)
{
    int status = sitetest_stop(daemon_pid, sig);

    daemon_pid = 0;
    return status;
}

static void
setup_site(void)
{
    sitetest_setup("vws-check-repo");
    sitetest_write("acl",
                   "allow dn \"/O=Grid/OU=vws-test/CN=Alice\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=Bob\" create,inspect,manage,deploy\n"
                   "allow dn \"/O=Grid/OU=vws-test/CN=host/*\" host\n"
                   "allow fqan /vws/Role=admin admin,inspect\n");
    sitetest_write("pools/default.pool",
                   "netmask = 255.255.255.0\ngateway = 192.0.2.1\n"
                   "ws1.vws.localhost 192.0.2.10\nws2.vws.localhost 192.0.2.11\n");
    sitetest_repository_config("repository",
                               "threads = 4\nmax_request_bytes = 1M\n"
                               "recv_timeout = 2s\nrequest_timeout = 3s\n");
}

/* ---- a client ---- */

static struct soap *
client(const char *cred)
{
    struct soap *soap = sitetest_client(cred);

    ck_assert_msg(soap != NULL, "%s: %s", cred, vws_error_message());
    return soap;
}

static const char *
url(void)
{
    static char u[64];

    snprintf(u, sizeof(u), "https://localhost:%d/vws/repository", port);
    return u;
}

static void
with_key(struct soap *soap, const char *key)
{
    soap->header = soap_new_SOAP_ENV__Header(soap, 1);
    soap->header->vws__WorkspaceKey = soap_strdup(soap, key);
}

static const char *
fault_of(struct soap *soap)
{
    const char **s = soap_faultstring(soap);
    return s && *s ? *s : "(no fault)";
}

/* Register a workspace as CRED; returns its key (malloc'd) or NULL. */
static char *
do_register(const char *cred, const char *image, const char *owner)
{
    struct soap *c = client(cred);
    struct _repo__Register req = { 0 };
    struct _repo__RegisterResponse resp = { 0 };
    struct vws__NetworkType *net = soap_new_vws__NetworkType(c, 1);
    char *key = NULL;

    req.vws__virtualWorkspace = soaptest_workspace(c);
    net->__sizenic = 1;
    net->nic = soap_new_vws__NICType(c, 1);
    net->nic->name = soap_strdup(c, "eth0");
    net->nic->method = vws__IPMethodType__pool;
    req.vws__virtualWorkspace->network = net;
    if (image) {
        req.vws__deploymentRequest = soaptest_request(c, 1);
        req.vws__deploymentRequest->imageTemplate = soap_strdup(c, image);
    }
    req.owner = owner ? soap_strdup(c, owner) : NULL;
    if (soap_call___repo__Register(c, url(), NULL, &req, &resp) == SOAP_OK) {
        key = vws_strdup(resp.key);
        ck_assert_str_eq(resp.workspace.Address, "https://localhost/vws/repository");
        ck_assert_ptr_nonnull(strstr(resp.workspace.ReferenceParameters->__any[0], key));
    } else {
        fprintf(stderr, "register as %s: %s\n", cred, fault_of(c));
    }
    vws_soap_free(c);
    return key;
}

/* GetResourceProperty QNAME of KEY as CRED: the literal XML of the first
 * value (malloc'd), "" for no value, or NULL with the fault in *FAULT. */
static char *
get_prop(const char *cred, const char *key, const char *qname, char **fault)
{
    struct soap *c = client(cred);
    struct _wsrp2__GetResourcePropertyResponse resp = { 0 };
    char *out = NULL;

    with_key(c, key);
    if (soap_call___repo__GetResourceProperty(c, url(), NULL, (char *)qname, &resp) == SOAP_OK)
        out = vws_strdup(resp.__size ? resp.__any[0] : "");
    else if (fault)
        *fault = vws_strdup(fault_of(c));
    vws_soap_free(c);
    return out;
}

/* ---- tests ---- */

static char *post_body(const char *cred, const char *body, size_t len);

START_TEST(test_register_and_properties)
{
    char *key = do_register("users/alice/proxy.pem", NULL, NULL);
    char *v, *f = NULL;

    ck_assert_ptr_nonnull(key);
    v = get_prop("users/alice/proxy.pem", key, "vws:state", NULL);
    ck_assert_str_eq(v, "<vws:state xmlns:vws=\"urn:vws:1.0\">shutdown</vws:state>");
    free(v);
    v = get_prop("users/alice/proxy.pem", key, "vws:owner", NULL);
    ck_assert_ptr_nonnull(strstr(v, ALICE));
    free(v);
    v = get_prop("users/alice/proxy.pem", key, "vws:location", NULL);
    ck_assert_ptr_nonnull(strstr(v, ">unstaged<"));
    free(v);
    /* a known property without a value, and an unknown one */
    v = get_prop("users/alice/proxy.pem", key, "vws:host", NULL);
    ck_assert_str_eq(v, "");
    free(v);
    ck_assert_ptr_null(get_prop("users/alice/proxy.pem", key, "vws:colour", &f));
    ck_assert_ptr_nonnull(strstr(f, "unknown resource property 'vws:colour'"));
    free(f);
    /* the workspace's own credential was issued at register */
    v = get_prop("users/alice/proxy.pem", key, "vws:virtualWorkspace", NULL);
    ck_assert_ptr_nonnull(strstr(v, "<vws:vmm>qemu</vws:vmm>"));
    free(v);
    free(key);
}
END_TEST

/* Someone else's workspace looks exactly like one that does not exist. */
START_TEST(test_visibility)
{
    char *key = do_register("users/alice/proxy.pem", NULL, NULL);
    char *f1 = NULL, *f2 = NULL, *f3 = NULL, *v;
    char other[] = "00000000-0000-4000-8000-000000000000";

    ck_assert_ptr_null(get_prop("users/bob/proxy.pem", key, "vws:state", &f1));
    ck_assert_ptr_null(get_prop("users/alice/proxy.pem", other, "vws:state", &f2));
    ck_assert_ptr_nonnull(strstr(f1, "no such workspace"));
    ck_assert_ptr_nonnull(strstr(f2, "no such workspace"));
    /* malformed key */
    ck_assert_ptr_null(get_prop("users/alice/proxy.pem", "../../etc/passwd", "vws:state", &f3));
    ck_assert_ptr_nonnull(strstr(f3, "malformed workspace key"));
    /* an admin sees it */
    v = get_prop("users/alice/voms-admin.pem", key, "vws:state", NULL);
    ck_assert_ptr_nonnull(v);
    free(v);
    /* mallory is in no ACL rule: cannot even register */
    ck_assert_ptr_null(do_register("users/mallory/proxy.pem", NULL, NULL));
    /* a limited proxy cannot create */
    ck_assert_ptr_null(do_register("users/alice/proxy-limited.pem", NULL, NULL));
    /* nor register for someone else without the host role */
    ck_assert_ptr_null(do_register("users/bob/proxy.pem", NULL, ALICE));
    free(f1);
    free(f2);
    free(f3);
    free(key);
}
END_TEST

START_TEST(test_missing_header)
{
    struct soap *c = client("users/alice/proxy.pem");
    struct _wsrp2__GetResourcePropertyResponse resp = { 0 };

    ck_assert_int_eq(soap_call___repo__GetResourceProperty(c, url(), NULL, "vws:state", &resp),
                     SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "no vws:WorkspaceKey header"));
    vws_soap_free(c);
}
END_TEST

START_TEST(test_multiple_and_query)
{
    char *key = do_register("users/alice/proxy.pem", NULL, NULL);
    struct soap *c = client("users/alice/proxy.pem");
    struct _wsrp2__GetMultipleResourceProperties mreq = { 0 };
    struct _wsrp2__GetMultipleResourcePropertiesResponse mresp = { 0 };
    struct _wsrp2__QueryResourceProperties qreq = { 0 };
    struct _wsrp2__QueryResourcePropertiesResponse qresp = { 0 };
    char *names[] = { "vws:state", "vws:location", "vws:key" };

    with_key(c, key);
    mreq.__sizeResourceProperty = 3;
    mreq.ResourceProperty = names;
    ck_assert_int_eq(soap_call___repo__GetMultipleResourceProperties(c, url(), NULL, &mreq, &mresp),
                     SOAP_OK);
    ck_assert_int_eq(mresp.__size, 3);
    ck_assert_ptr_nonnull(strstr(mresp.__any[2], key));

    qreq.QueryExpression = soap_new_wsrp2__QueryExpressionType(c, 1);
    qreq.QueryExpression->Dialect = PROPS_DIALECT;
    qreq.QueryExpression->__item = "/vws:workspaceProperties/vws:state | //vws:vmm";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__QueryResourceProperties(c, url(), NULL, &qreq, &qresp), SOAP_OK);
    ck_assert_int_eq(qresp.__size, 2);
    qreq.QueryExpression->__item = "count(//vws:nic)";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__QueryResourceProperties(c, url(), NULL, &qreq, &qresp), SOAP_OK);
    ck_assert_str_eq(qresp.__any[0], "<vws:queryValue xmlns:vws=\"urn:vws:1.0\">1</vws:queryValue>");
    qreq.QueryExpression->__item = "//[";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__QueryResourceProperties(c, url(), NULL, &qreq, &qresp),
                     SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "invalid XPath expression"));
    qreq.QueryExpression->Dialect = "urn:example:sql";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__QueryResourceProperties(c, url(), NULL, &qreq, &qresp),
                     SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "UnknownQueryExpressionDialect"));
    vws_soap_free(c);
    free(key);
}
END_TEST

START_TEST(test_termination_and_sweeper)
{
    char *key = do_register("users/alice/proxy.pem", NULL, NULL);
    struct soap *c = client("users/alice/proxy.pem");
    struct _wsrl2__SetTerminationTime req = { 0 };
    struct _wsrl2__SetTerminationTimeResponse resp = { 0 };
    char *v, *f = NULL;

    req.__union_SetTerminationTime = SOAP_UNION__wsrl2__union_SetTerminationTime_RequestedTerminationTime;
    req.union_SetTerminationTime.RequestedTerminationTime = "2001-01-01T00:00:00Z";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__SetTerminationTime(c, url(), NULL, &req, &resp), SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "in the past"));
    /* nil: never (gSOAP's C client cannot write a nil union member: by hand) */
    {
        char *body = vws_asprintf(
            "<S:Envelope xmlns:S='http://schemas.xmlsoap.org/soap/envelope/' "
            "xmlns:rl='http://docs.oasis-open.org/wsrf/rl-2' xmlns:vws='urn:vws:1.0' "
            "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'><S:Header>"
            "<vws:WorkspaceKey>%s</vws:WorkspaceKey></S:Header><S:Body><rl:SetTerminationTime>"
            "<rl:RequestedTerminationTime xsi:nil='true'/></rl:SetTerminationTime></S:Body>"
            "</S:Envelope>", key);
        char *r = post_body("users/alice/proxy.pem", body, strlen(body));
        ck_assert_msg(strstr(r, "<wsrl2:NewTerminationTime xsi:nil=\"true\"/>") &&
                      strstr(r, "<wsrl2:CurrentTime>"), "nil termination: %s", r);
        free(r);
        free(body);
    }
    v = get_prop("users/alice/proxy.pem", key, "wsrl2:TerminationTime", NULL);
    ck_assert_ptr_nonnull(strstr(v, "nil=\"true\""));
    free(v);

    /* bob may not change alice's workspace: he cannot even see it */
    vws_soap_free(c);
    c = client("users/bob/proxy.pem");
    req.__union_SetTerminationTime = SOAP_UNION__wsrl2__union_SetTerminationTime_RequestedLifetimeDuration;
    req.union_SetTerminationTime.RequestedLifetimeDuration = "PT1S";
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__SetTerminationTime(c, url(), NULL, &req, &resp), SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "no such workspace"));
    vws_soap_free(c);

    /* one second to live: the sweeper (every second) destroys it */
    c = client("users/alice/proxy.pem");
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__SetTerminationTime(c, url(), NULL, &req, &resp), SOAP_OK);
    ck_assert_ptr_nonnull(resp.NewTerminationTime);
    vws_soap_free(c);
    for (int i = 0; i < 60; i++) {   /* 6 s at most */
        usleep(100000);
        free(f);
        f = NULL;
        v = get_prop("users/alice/proxy.pem", key, "vws:state", &f);
        if (!v)
            break;
        free(v);
    }
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(strstr(f, "no such workspace"));
    free(f);
    free(key);
}
END_TEST

static int
select_count(const char *cred, const char *owner)
{
    struct soap *c = client(cred);
    struct _repo__Select req = { 0 };
    struct _repo__SelectResponse resp = { 0 };
    int n = -1;

    req.owner = owner ? soap_strdup(c, owner) : NULL;
    if (soap_call___repo__Select(c, url(), NULL, &req, &resp) == SOAP_OK)
        n = resp.__sizeentry;
    vws_soap_free(c);
    return n;
}

START_TEST(test_select_clone_refine)
{
    char *key = do_register("users/alice/proxy.pem", NULL, NULL);
    struct soap *c = client("users/alice/proxy.pem");
    struct _repo__Clone creq;
    memset(&creq, 0, sizeof(creq));
    struct _repo__CloneResponse cresp = { 0 };
    struct _repo__Refine rreq = { 0 };
    struct _repo__RefineResponse rresp;
    memset(&rresp, 0, sizeof(rresp));
    int before = select_count("users/alice/proxy.pem", NULL);
    char *v;

    ck_assert_int_ge(before, 1);
    ck_assert_int_eq(select_count("users/bob/proxy.pem", ALICE), 0);   /* not his */
    ck_assert_int_ge(select_count("users/alice/voms-admin.pem", NULL), before);
    with_key(c, key);
    ck_assert_int_eq(soap_call___repo__Clone(c, url(), NULL, &creq, &cresp), SOAP_OK);
    ck_assert_str_ne(cresp.key, key);
    ck_assert_int_eq(select_count("users/alice/proxy.pem", NULL), before + 1);

    rreq.vws__virtualWorkspace = soaptest_workspace(c);
    rreq.vws__virtualWorkspace->name = "refined";
    with_key(c, cresp.key);
    ck_assert_int_eq(soap_call___repo__Refine(c, url(), NULL, &rreq, &rresp), SOAP_OK);
    v = get_prop("users/alice/proxy.pem", cresp.key, "vws:virtualWorkspace", NULL);
    ck_assert_ptr_nonnull(strstr(v, "<vws:name>refined</vws:name>"));
    free(v);
    /* an invalid description is refused with the rule it breaks */
    rreq.vws__virtualWorkspace->hardware = soap_new_vws__HardwareType(c, 1);
    rreq.vws__virtualWorkspace->hardware->ram = soap_new_vws__MegabytesRangeType(c, 1);
    rreq.vws__virtualWorkspace->hardware->ram->min_ = 1024;
    rreq.vws__virtualWorkspace->hardware->ram->max_ = soap_malloc(c, sizeof(unsigned));
    *rreq.vws__virtualWorkspace->hardware->ram->max_ = 512;
    with_key(c, cresp.key);
    ck_assert_int_eq(soap_call___repo__Refine(c, url(), NULL, &rreq, &rresp), SOAP_CLI_FAULT);
    ck_assert_ptr_nonnull(strstr(fault_of(c), "min 1024 is greater than max 512"));
    vws_soap_free(c);
    free(key);
}
END_TEST

static int
register_image(const char *cred, const char *name)
{
    struct soap *c = client(cred);
    struct _repo__RegisterImage req = { 0 };
    struct _repo__RegisterImageResponse resp;
    memset(&resp, 0, sizeof(resp));
    int rc;

    req.vws__imageTemplate = soap_new_vws__ImageTemplateType(c, 1);
    req.vws__imageTemplate->name = soap_strdup(c, name);
    req.vws__imageTemplate->format = vws__ImageFormatType__qcow2;
    req.vws__imageTemplate->location = "gsiftp://localhost:2811/images/tiny.qcow2";
    req.vws__imageTemplate->size = 1048576;
    req.vws__imageTemplate->sha256 = IMG_SHA;
    rc = soap_call___repo__RegisterImage(c, url(), NULL, &req, &resp);
    vws_soap_free(c);
    return rc;
}

static int
remove_image(const char *cred, const char *name, char **fault)
{
    struct soap *c = client(cred);
    struct _repo__RemoveImage req = { .name = (char *)name };
    struct _repo__RemoveImageResponse resp;
    memset(&resp, 0, sizeof(resp));
    int rc = soap_call___repo__RemoveImage(c, url(), NULL, &req, &resp);

    if (rc && fault) {
        free(*fault);
        *fault = vws_strdup(fault_of(c));
    }
    vws_soap_free(c);
    return rc;
}

static int
call_on(const char *cred, const char *key, const char *op, char **fault)
{
    struct soap *c = client(cred);
    int rc;

    with_key(c, key);
    if (strcmp(op, "checkout") == 0) {
        struct _repo__Checkout req = { 0 };
        struct _repo__CheckoutResponse resp = { 0 };
        rc = soap_call___repo__Checkout(c, url(), NULL, &req, &resp);
        if (rc == SOAP_OK) {
            ck_assert_int_eq(resp.__sizeinstanceMetadata, 1);
            ck_assert_str_eq(resp.vws__instanceMetadata->workspaceId, key);
            ck_assert_int_eq(resp.vws__instanceMetadata->__sizenic, 1);
            ck_assert_ptr_nonnull(strstr(resp.vws__instanceMetadata->nic->ip, "192.0.2.1"));
            ck_assert_ptr_nonnull(resp.vws__instanceMetadata->credential);
            ck_assert_ptr_nonnull(strstr(resp.vws__instanceMetadata->credential->certificate,
                                         "BEGIN CERTIFICATE"));
            ck_assert_ptr_nonnull(resp.vws__imageTemplate);
            ck_assert_str_eq(resp.vws__imageTemplate->sha256, IMG_SHA);
        }
    } else if (strcmp(op, "release") == 0) {
        struct _repo__Release req;
    memset(&req, 0, sizeof(req));
        struct _repo__ReleaseResponse resp;
    memset(&resp, 0, sizeof(resp));
        rc = soap_call___repo__Release(c, url(), NULL, &req, &resp);
    } else if (strcmp(op, "staged") == 0) {
        enum vws__LocationStateType loc = vws__LocationStateType__staged;
        struct _repo__ReportState req = { .state = vws__StateType__shutdown, .location = &loc };
        struct _repo__ReportStateResponse resp;
        memset(&resp, 0, sizeof(resp));
        rc = soap_call___repo__ReportState(c, url(), NULL, &req, &resp);
    } else if (strcmp(op, "running") == 0 || strcmp(op, "shutdown") == 0) {
        struct _repo__ReportState req = { .state = strcmp(op, "running") == 0
                                                   ? vws__StateType__running
                                                   : vws__StateType__shutdown };
        struct _repo__ReportStateResponse resp;
    memset(&resp, 0, sizeof(resp));
        rc = soap_call___repo__ReportState(c, url(), NULL, &req, &resp);
    } else {
        struct _wsrl2__Destroy req;
    memset(&req, 0, sizeof(req));
        struct _wsrl2__DestroyResponse resp;
    memset(&resp, 0, sizeof(resp));
        rc = soap_call___repo__Destroy(c, url(), NULL, &req, &resp);
    }
    if (rc && fault) {
        free(*fault);
        *fault = vws_strdup(fault_of(c));
    }
    vws_soap_free(c);
    return rc;
}

/* Checkout, state reports and release by hosts; the image pool. */
START_TEST(test_checkout_lifecycle)
{
    char *key, *f = NULL, *v;

    ck_assert_int_ne(register_image("users/bob/proxy.pem", "tiny"), SOAP_OK);  /* not admin */
    ck_assert_int_eq(register_image("users/alice/voms-admin.pem", "tiny"), SOAP_OK);
    ck_assert_ptr_null(do_register("users/alice/proxy.pem", "no-such-image", NULL));
    key = do_register("users/alice/proxy.pem", "tiny", NULL);
    ck_assert_ptr_nonnull(key);

    ck_assert_int_ne(call_on("users/alice/proxy.pem", key, "checkout", &f), SOAP_OK);  /* not a host */
    ck_assert_ptr_nonnull(strstr(f, "no such workspace"));
    ck_assert_int_eq(call_on("hosts/manager1.localhost", key, "checkout", &f), SOAP_OK);
    v = get_prop("users/alice/proxy.pem", key, "vws:location", NULL);
    ck_assert_ptr_nonnull(strstr(v, ">staging<"));
    free(v);
    /* locked: another host cannot take it, nor report on it */
    ck_assert_int_ne(call_on("hosts/manager2.localhost", key, "checkout", &f), SOAP_OK);
    ck_assert_int_ne(call_on("hosts/manager2.localhost", key, "running", &f), SOAP_OK);
    /* the image is in use */
    ck_assert_int_ne(remove_image("users/alice/voms-admin.pem", "tiny", &f), SOAP_OK);
    ck_assert_msg(strstr(f, "in use") || strstr(f, "uses"), "fault: %s", f);

    /* running is reported once the image is staged */
    ck_assert_int_ne(call_on("hosts/manager1.localhost", key, "running", &f), SOAP_OK);
    ck_assert_msg(strstr(f, "staged"), "fault: %s", f);
    ck_assert_int_eq(call_on("hosts/manager1.localhost", key, "staged", &f), SOAP_OK);
    ck_assert_int_eq(call_on("hosts/manager1.localhost", key, "running", &f), SOAP_OK);
    v = get_prop("users/alice/proxy.pem", key, "vws:state", NULL);
    ck_assert_ptr_nonnull(strstr(v, ">running<"));
    free(v);
    /* a running workspace cannot be released: stop it first */
    ck_assert_int_ne(call_on("hosts/manager1.localhost", key, "release", &f), SOAP_OK);
    ck_assert_msg(strstr(f, "running"), "fault: %s", f);
    ck_assert_int_eq(call_on("hosts/manager1.localhost", key, "shutdown", &f), SOAP_OK);
    ck_assert_int_eq(call_on("hosts/manager1.localhost", key, "release", &f), SOAP_OK);
    v = get_prop("users/alice/proxy.pem", key, "vws:location", NULL);
    ck_assert_ptr_nonnull(strstr(v, ">unstaged<"));
    free(v);
    /* checked out again, then destroyed by its owner while the host holds it:
     * the lock and the address go with it, the host's release finds nothing */
    ck_assert_int_eq(call_on("hosts/manager2.localhost", key, "checkout", &f), SOAP_OK);
    ck_assert_int_eq(call_on("users/alice/proxy.pem", key, "destroy", &f), SOAP_OK);
    ck_assert_int_ne(call_on("hosts/manager2.localhost", key, "release", &f), SOAP_OK);
    ck_assert_ptr_nonnull(strstr(f, "no such workspace"));
    ck_assert_int_eq(remove_image("users/alice/voms-admin.pem", "tiny", &f), SOAP_OK);
    free(f);
    free(key);
}
END_TEST

/* Raw bytes to the daemon over TLS are not possible without a client cert;
 * hostile bodies go through a real GSI client with a hand-made envelope. */
static char *
post_body(const char *cred, const char *body, size_t len)
{
    struct soap *c = client(cred);
    char *out = NULL;
    size_t n;

    soap_set_mode(c, SOAP_ENC_PLAIN);
    if (soap_POST(c, url(), NULL, "text/xml") == SOAP_OK &&
        soap_send_raw(c, body, len) == SOAP_OK && soap_end_send(c) == SOAP_OK &&
        soap_begin_recv(c) == SOAP_OK) {
        char *b = soap_http_get_body(c, &n);
        out = vws_strdup(b ? b : "");
        soap_end_recv(c);
    } else {
        out = vws_asprintf("ERROR %d %s", c->error, fault_of(c));
    }
    soap_closesock(c);
    vws_soap_free(c);
    return out;
}

START_TEST(test_hostile_bodies)
{
    static const char wrong_ns[] =
        "<S:Envelope xmlns:S='http://schemas.xmlsoap.org/soap/envelope/'><S:Body>"
        "<r:Register xmlns:r='urn:example:evil'/></S:Body></S:Envelope>";
    static const char dtd[] =
        "<?xml version='1.0'?><!DOCTYPE S:Envelope [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        "<S:Envelope xmlns:S='http://schemas.xmlsoap.org/soap/envelope/'><S:Body>&x;</S:Body></S:Envelope>";
    static const char junk[] = "\x01\x02 not xml";
    struct vws_buf big = VWS_BUF_INIT;
    char *r;

    r = post_body("users/alice/proxy.pem", wrong_ns, sizeof(wrong_ns) - 1);
    ck_assert_msg(strstr(r, "Fault") || strstr(r, "ERROR"), "wrong namespace: %s", r);
    free(r);
    r = post_body("users/alice/proxy.pem", dtd, sizeof(dtd) - 1);
    ck_assert_msg(!strstr(r, "root:"), "the DTD was processed: %s", r);
    free(r);
    r = post_body("users/alice/proxy.pem", junk, sizeof(junk) - 1);
    ck_assert_msg(!strstr(r, "RegisterResponse"), "junk: %s", r);
    free(r);
    vws_buf_adds(&big, "<S:Envelope xmlns:S='http://schemas.xmlsoap.org/soap/envelope/'><S:Body>");
    while (big.len < 2u * 1024 * 1024)
        vws_buf_adds(&big, "<x>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</x>");
    vws_buf_adds(&big, "</S:Body></S:Envelope>");
    r = post_body("users/alice/proxy.pem", big.s, big.len);
    ck_assert_msg(!strstr(r, "Response>"), "2 MB body accepted: %.200s", r);
    free(r);
    vws_buf_release(&big);
    /* the daemon is still there */
    r = do_register("users/alice/proxy.pem", NULL, NULL);
    ck_assert_ptr_nonnull(r);
    free(r);
}
END_TEST

/* A slow client holds its connection; the daemon serves others meanwhile
 * and drops it after request_timeout. */
START_TEST(test_slow_client)
{
    struct soap *slow = client("users/bob/proxy.pem");
    char *key;

    soap_set_mode(slow, SOAP_ENC_PLAIN);
    ck_assert_int_eq(soap_POST(slow, url(), NULL, "text/xml"), SOAP_OK);
    ck_assert_int_eq(soap_send_raw(slow, "<S:Envelope xmlns:S='", 21), SOAP_OK);
    ck_assert_int_eq(soap_flush(slow), SOAP_OK);
    key = do_register("users/alice/proxy.pem", NULL, NULL);   /* served at once */
    ck_assert_ptr_nonnull(key);
    free(key);
    soap_closesock(slow);
    vws_soap_free(slow);
}
END_TEST

/* kill -9 in the middle of a stream of registrations and destructions:
 * after a restart every acknowledged operation is there. */
START_TEST(test_kill9)
{
    int fds[2];
    pid_t child;
    char line[128];
    FILE *in;
    char **created = NULL, **destroyed = NULL;
    size_t nc = 0, nd = 0;

    ck_assert_int_eq(pipe(fds), 0);
    if ((child = fork()) == 0) {
        close(fds[0]);
        for (int i = 0; i < 400; i++) {
            char *key = do_register("users/bob/proxy.pem", NULL, NULL);
            if (!key)
                _exit(0);       /* the daemon is gone */
            dprintf(fds[1], "C %s\n", key);
            if (i % 3 == 0) {
                if (call_on("users/bob/proxy.pem", key, "destroy", NULL) != SOAP_OK)
                    _exit(0);
                dprintf(fds[1], "D %s\n", key);
            }
            free(key);
        }
        _exit(0);
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == 'C') {
            created = vws_reallocarray(created, nc + 1, sizeof(char *));
            created[nc++] = vws_strdup(line + 2);
        } else {
            destroyed = vws_reallocarray(destroyed, nd + 1, sizeof(char *));
            destroyed[nd++] = vws_strdup(line + 2);
        }
        if (nc == 25)
            stop_daemon(SIGKILL);     /* in the middle of the stream */
    }
    fclose(in);
    waitpid(child, NULL, 0);
    ck_assert_int_ge(nc, 25);
    start_daemon();
    for (size_t i = 0; i < nc; i++) {
        int gone = 0;
        char *f = NULL, *v;
        for (size_t j = 0; j < nd; j++)
            gone |= strcmp(created[i], destroyed[j]) == 0;
        v = get_prop("users/bob/proxy.pem", created[i], "vws:state", &f);
        if (gone)
            ck_assert_msg(v == NULL, "%s was destroyed (acknowledged) but is back", created[i]);
        else
            ck_assert_msg(v != NULL, "%s was registered (acknowledged) but is lost: %s",
                          created[i], f ? f : "");
        free(v);
        free(f);
        free(created[i]);
    }
    for (size_t j = 0; j < nd; j++)
        free(destroyed[j]);
    free(created);
    free(destroyed);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("repository");
    TCase *tc = tcase_create("daemon");
    SRunner *sr;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    setup_site();
    start_daemon();
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_register_and_properties);
    tcase_add_test(tc, test_visibility);
    tcase_add_test(tc, test_missing_header);
    tcase_add_test(tc, test_multiple_and_query);
    tcase_add_test(tc, test_termination_and_sweeper);
    tcase_add_test(tc, test_select_clone_refine);
    tcase_add_test(tc, test_checkout_lifecycle);
    tcase_add_test(tc, test_hostile_bodies);
    tcase_add_test(tc, test_slow_client);
    tcase_add_test(tc, test_kill9);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);   /* the tests share one daemon */
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    /* a graceful stop exits 0: a crash, or a leak found by LeakSanitizer in
     * an ASan build, shows here (the daemon's log says which) */
    if (stop_daemon(SIGTERM) != 0) {
        char *log = sitetest_path("repository.log");
        fprintf(stderr, "vws-repository did not stop cleanly; see %s\n", log);
        free(log);
        failed++;
        setenv("VWS_KEEP_TEST_DIR", "1", 1);
    }
    sitetest_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
