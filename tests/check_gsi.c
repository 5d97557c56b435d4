/*
 * check_gsi.c — GSI against the test service over real TLS on 127.0.0.1,
 * with the throwaway PKI of scripts/mkpki: every credential is accepted or
 * refused as it should be, with the DN, proxy kind and FQANs the service
 * saw, and for each refusal the reason the service logged.
 */
#define VWS_MODULE "test"
#include <config.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soapH.h"
#include "wsdl/soap.h"
#include "gsi.h"
#include "identity.h"
#include "gsiservice.h"
#include "soaptest.h"
#include "internal.h"

static char pki[256];          /* made once for the whole run */

static char *
P(const char *rel)
{
    return vws_asprintf("%s/%s", pki, rel);
}

static void
make_pki(void)
{
    const char *src = getenv("VWS_SRCDIR");
    char *cmd;

    snprintf(pki, sizeof(pki), "/tmp/vws-check-gsi-XXXXXX");
    if (!mkdtemp(pki)) {
        perror("mkdtemp");
        exit(EXIT_FAILURE);
    }
    cmd = vws_asprintf("%s/scripts/mkpki '%s' >/dev/null", src ? src : "..", pki);
    if (system(cmd) != 0) {
        fprintf(stderr, "check_gsi: scripts/mkpki failed\n");
        exit(EXIT_FAILURE);
    }
    free(cmd);
}

static void
server_config(struct vws_gsi_config *c, const char *host, int crl)
{
    *c = (struct vws_gsi_config)VWS_GSI_CONFIG_INIT;
    c->cert_dir = P("certificates");
    c->vomsdir = P("vomsdir");
    c->cert_file = vws_asprintf("%s/hosts/%s/hostcert.pem", pki, host);
    c->key_file = vws_asprintf("%s/hosts/%s/hostkey.pem", pki, host);
    c->crl_check = crl;
}

/* GET /whoami with the credential CERT/KEY (paths relative to the PKI; KEY
 * NULL: CERT is a proxy file).  0 and the text in *OUT, or -1 and the
 * client's error in *OUT. */
static int
whoami(int port, const char *host, const char *cert, const char *key, char **out)
{
    struct vws_gsi_config c = VWS_GSI_CONFIG_INIT;
    struct soap *soap = vws_soap_new();
    char url[256];
    size_t len;
    char *body;
    int rc = -1;

    c.cert_dir = P("certificates");
    c.vomsdir = P("vomsdir");
    c.cert_file = cert ? P(cert) : NULL;
    c.key_file = cert ? P(key ? key : cert) : NULL;
    *out = NULL;
    if (cert ? vws_gsi_client_init(soap, &c) < 0
             : soap_ssl_client_context(soap, SOAP_SSL_DEFAULT | SOAP_SSL_NO_DEFAULT_CA_PATH,
                                       NULL, NULL, NULL, c.cert_dir, NULL) != SOAP_OK) {
        *out = vws_strdup(vws_error_message());
        goto cleanup;
    }
    snprintf(url, sizeof(url), "https://%s:%d/whoami", host, port);
    if (soap_GET(soap, url, NULL) != SOAP_OK || soap_begin_recv(soap) != SOAP_OK ||
        !(body = soap_http_get_body(soap, &len))) {
        const char **s = soap_faultstring(soap);
        const char **d = soap_faultdetail(soap);
        *out = vws_asprintf("client: %s: %s", s && *s ? *s : "failed", d && *d ? *d : "");
        soap_closesock(soap);
        goto cleanup;
    }
    *out = vws_strndup(body, len);
    soap_end_recv(soap);
    soap_closesock(soap);
    rc = 0;

 cleanup:
    vws_soap_free(soap);
    vws_gsi_config_release(&c);
    return rc;
}

struct cred_case {
    const char *name;
    const char *cert, *key;    /* relative to the PKI; key NULL: proxy file */
    int accepted;
    const char *expect;        /* accepted: in the whoami text; else: in the refusal */
    const char *expect2;
};

static const struct cred_case cases[] = {
    { "alice proxy", "users/alice/proxy.pem", NULL, 1,
      "dn: /O=Grid/OU=vws-test/CN=Alice\n", "proxy: full\nproxy-depth: 1\n" },
    { "alice end-entity", "users/alice/usercert.pem", "users/alice/userkey.pem", 1,
      "dn: /O=Grid/OU=vws-test/CN=Alice\n", "proxy: none\nproxy-depth: 0\n" },
    { "alice limited", "users/alice/proxy-limited.pem", NULL, 1,
      "dn: /O=Grid/OU=vws-test/CN=Alice\n", "proxy: limited\n" },
    { "alice proxy of proxy", "users/alice/proxy-of-proxy.pem", NULL, 1,
      "dn: /O=Grid/OU=vws-test/CN=Alice\n", "proxy-depth: 2\n" },
    { "alice VOMS admin", "users/alice/voms-admin.pem", NULL, 1,
      "fqan: /vws/Role=admin\n", "vo: vws\n" },
    { "bob VOMS users", "users/bob/voms-users.pem", NULL, 1,
      "dn: /O=Grid/OU=vws-test/CN=Bob\n", "fqan: /vws/users\n" },
    { "bob proxy", "users/bob/proxy.pem", NULL, 1, "CN=Bob\n", "proxy: full\n" },
    { "host credential", "hosts/repository.localhost/hostcert.pem",
      "hosts/repository.localhost/hostkey.pem", 1, "host: yes\n", "CN=host/repository.localhost" },
    { "alice expired proxy", "users/alice/proxy-expired.pem", NULL, 0,
      "certificate has expired", NULL },
    { "carol expired certificate", "users/carol/usercert.pem", "users/carol/userkey.pem", 0,
      "certificate has expired", NULL },
    { "mallory forged VOMS", "users/mallory/voms-forged.pem", NULL, 0,
      "VOMS attributes do not verify", NULL },
    { "rogue CA alice", "rogue/alice/usercert.pem", "rogue/alice/userkey.pem", 0,
      "CN=Alice", "local issuer" },
    { "rogue CA alice proxy", "rogue/alice/proxy.pem", NULL, 0, "local issuer", NULL },
    { "truncated chain", "truncated/alice-proxy-noeec.pem", NULL, 0, "issuer", NULL },
    { "alice VOMS AC expired", "users/alice/voms-expired-ac.pem", NULL, 0,
      "VOMS attributes do not verify", NULL },
    { "mallory rogue VOMS server", "users/mallory/voms-rogue.pem", NULL, 0,
      "VOMS attributes do not verify", NULL },
    { "rogue CA alice without key ids", "rogue/alice-nokeyid/proxy.pem", NULL, 0,
      "CN=Alice", NULL },
};

START_TEST(test_credentials)
{
    const struct cred_case *t = &cases[_i];
    struct vws_gsi_config c;
    struct gsiservice *s;
    char refusal[1024];
    char *out;
    int rc;

    server_config(&c, "localhost", 0);
    s = gsiservice_start(&c, 0, 4);
    ck_assert_msg(s != NULL, "service: %s", vws_error_message());
    rc = whoami(gsiservice_port(s), "localhost", t->cert, t->key, &out);
    if (t->accepted) {
        ck_assert_msg(rc == 0, "%s: refused: %s", t->name, out);
        ck_assert_msg(strstr(out, t->expect), "%s: '%s' lacks '%s'", t->name, out, t->expect);
        if (t->expect2)
            ck_assert_msg(strstr(out, t->expect2), "%s: '%s' lacks '%s'", t->name, out, t->expect2);
    } else {
        ck_assert_msg(rc == -1, "%s: accepted: %s", t->name, out);
        /* the client sees little (TLS 1.3: the connection closes); the
         * service says why */
        for (int i = 0; i < 50; i++) {
            gsiservice_last_refusal(s, refusal, sizeof(refusal));
            if (refusal[0])
                break;
            usleep(20000);
        }
        ck_assert_msg(strstr(refusal, t->expect), "%s: refusal '%s' lacks '%s'", t->name,
                      refusal, t->expect);
        if (t->expect2)
            ck_assert_msg(strstr(refusal, t->expect2), "%s: refusal '%s' lacks '%s'", t->name,
                          refusal, t->expect2);
    }
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

/* No client certificate at all. */
START_TEST(test_no_certificate)
{
    struct vws_gsi_config c;
    struct gsiservice *s;
    char refusal[1024] = "";
    char *out;

    server_config(&c, "localhost", 0);
    s = gsiservice_start(&c, 0, 2);
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", NULL, NULL, &out), -1);
    for (int i = 0; i < 50 && !refusal[0]; i++) {
        gsiservice_last_refusal(s, refusal, sizeof(refusal));
        usleep(20000);
    }
    ck_assert_msg(strstr(refusal, "peer did not return a certificate"), "refusal: '%s'", refusal);
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

/* Eve is revoked: accepted without CRL checking, refused with it. */
START_TEST(test_crl)
{
    struct vws_gsi_config c;
    struct gsiservice *s;
    char refusal[1024] = "";
    char *out;

    server_config(&c, "localhost", 0);
    s = gsiservice_start(&c, 0, 2);
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/eve/proxy.pem", NULL, &out), 0);
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);

    server_config(&c, "localhost", 1);
    s = gsiservice_start(&c, 0, 4);
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/eve/proxy.pem", NULL, &out), -1);
    free(out);
    for (int i = 0; i < 50 && !refusal[0]; i++) {
        gsiservice_last_refusal(s, refusal, sizeof(refusal));
        usleep(20000);
    }
    ck_assert_msg(strstr(refusal, "revoked"), "refusal: '%s'", refusal);
    /* and the others still get in with CRL checking on */
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/alice/proxy.pem", NULL, &out), 0);
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

/* The client checks the server's host name. */
START_TEST(test_wrong_server_name)
{
    struct vws_gsi_config c;
    struct gsiservice *s;
    char *out;

    server_config(&c, "wrong.example", 0);
    s = gsiservice_start(&c, 0, 2);
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/alice/proxy.pem", NULL, &out), -1);
    ck_assert_msg(strstr(out, "host name") || strstr(out, "hostname") || strstr(out, "common name"),
                  "client error: '%s'", out);
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

/* Unusable client credentials fail before connecting, saying which file. */
START_TEST(test_bad_client_files)
{
    static const char *const files[] = { "garbage.pem", "bad-pem.pem", "nonexistent.pem",
                                         "truncated/alice-proxy-cut.pem" };

    for (size_t i = 0; i < VWS_N_ELEMENTS(files); i++) {
        char *out;
        ck_assert_int_eq(whoami(1, "localhost", files[i], NULL, &out), -1);
        ck_assert_msg(strstr(out, "cannot use certificate") && strstr(out, files[i]),
                      "%s: '%s'", files[i], out);
        free(out);
    }
}
END_TEST

/* A limited proxy may look, not create; a full proxy may create. */
START_TEST(test_limited_proxy_cannot_create)
{
    static const char *const creds[] = { "users/alice/proxy-limited.pem", "users/alice/proxy.pem" };
    struct vws_gsi_config c;
    struct gsiservice *s;

    server_config(&c, "localhost", 0);
    s = gsiservice_start(&c, 0, 4);
    for (int i = 0; i < 2; i++) {
        struct vws_gsi_config cc = VWS_GSI_CONFIG_INIT;
        struct soap *soap = vws_soap_new();
        struct _fac__Create req = { 0 };
        struct _fac__CreateResponse resp = { 0 };
        char url[128];
        int rc;

        cc.cert_dir = P("certificates");
        cc.vomsdir = P("vomsdir");
        cc.cert_file = P(creds[i]);
        cc.key_file = P(creds[i]);
        ck_assert_int_eq(vws_gsi_client_init(soap, &cc), 0);
        req.vws__virtualWorkspace = soaptest_workspace(soap);
        req.vws__deploymentRequest = soaptest_request(soap, 1);
        snprintf(url, sizeof(url), "https://localhost:%d/vws/factory", gsiservice_port(s));
        rc = soap_call___fac__Create(soap, url, NULL, &req, &resp);
        if (i == 0) {
            ck_assert_int_eq(rc, SOAP_CLI_FAULT);
            ck_assert_str_eq(*soap_faultstring(soap),
                             "a limited proxy may not create workspaces: use a full proxy "
                             "(grid-proxy-init without -limited)");
        } else {
            ck_assert_msg(rc == SOAP_OK, "full proxy: %s", *soap_faultstring(soap));
        }
        vws_soap_free(soap);
        vws_gsi_config_release(&cc);
    }
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

/* Verified VOMS attributes are cached per proxy; refusals are not. */
START_TEST(test_voms_cache)
{
    struct vws_gsi_config c;
    struct gsiservice *s;
    char refusal[1024];
    char *out;

    server_config(&c, "localhost", 0);
    s = gsiservice_start(&c, 0, 8);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/alice/voms-admin.pem",
                                NULL, &out), 0);
        ck_assert_msg(strstr(out, "fqan: /vws/Role=admin\n"), "round %d: %s", i, out);
        free(out);
    }
    for (int i = 0; i < 2; i++) {
        gsiservice_clear_refusal(s);
        ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/mallory/voms-forged.pem",
                                NULL, &out), -1);
        free(out);
        refusal[0] = '\0';
        for (int j = 0; j < 50 && !refusal[0]; j++) {
            gsiservice_last_refusal(s, refusal, sizeof(refusal));
            usleep(20000);
        }
        ck_assert_msg(strstr(refusal, "VOMS attributes do not verify"), "round %d: '%s'", i, refusal);
    }
    /* bob's attributes are his own, not alice's cached ones */
    ck_assert_int_eq(whoami(gsiservice_port(s), "localhost", "users/bob/voms-users.pem", NULL, &out), 0);
    ck_assert_ptr_nonnull(strstr(out, "fqan: /vws/users\n"));
    ck_assert_ptr_null(strstr(out, "Role=admin"));
    free(out);
    gsiservice_stop(s);
    vws_gsi_config_release(&c);
}
END_TEST

START_TEST(test_config_from_environment)
{
    struct vws_gsi_config c;

    setenv("X509_CERT_DIR", "/tmp/certs", 1);
    setenv("X509_USER_PROXY", "/tmp/myproxy", 1);
    unsetenv("X509_VOMS_DIR");
    vws_gsi_config_client(&c);
    ck_assert_str_eq(c.cert_dir, "/tmp/certs");
    ck_assert_str_eq(c.vomsdir, "/etc/grid-security/vomsdir");
    ck_assert_str_eq(c.cert_file, "/tmp/myproxy");
    ck_assert_str_eq(c.key_file, "/tmp/myproxy");
    vws_gsi_config_release(&c);

    unsetenv("X509_USER_PROXY");
    setenv("X509_USER_CERT", "/tmp/c.pem", 1);
    setenv("X509_USER_KEY", "/tmp/k.pem", 1);
    vws_gsi_config_client(&c);
    ck_assert_str_eq(c.cert_file, "/tmp/c.pem");
    ck_assert_str_eq(c.key_file, "/tmp/k.pem");
    vws_gsi_config_release(&c);

    unsetenv("X509_USER_CERT");
    unsetenv("X509_USER_KEY");
    unsetenv("X509_CERT_DIR");
    vws_gsi_config_service(&c);
    ck_assert_str_eq(c.cert_dir, "/etc/grid-security/certificates");
    ck_assert_str_eq(c.cert_file, "/etc/grid-security/hostcert.pem");
    ck_assert_str_eq(c.key_file, "/etc/grid-security/hostkey.pem");
    vws_gsi_config_release(&c);
}
END_TEST

START_TEST(test_fqan_normalise)
{
    static const struct { const char *in, *out; } good[] = {
        { "/vws/Role=admin/Capability=NULL", "/vws/Role=admin" },
        { "/vws/users/Role=NULL/Capability=NULL", "/vws/users" },
        { "/vws", "/vws" },
        { "/vws/users/atlas", "/vws/users/atlas" },
        { "/vws/Role=admin/Capability=cap1", "/vws/Role=admin/Capability=cap1" },
    };
    static const char *const bad[] = {
        "", "vws", "/", "//vws", "/vws/", "/Role=admin", "/vws/Role=admin/users",
        "/vws/Role=a/Role=b", "/vws/us ers", "/vws/Capability=x/Role=y",
    };

    for (size_t i = 0; i < VWS_N_ELEMENTS(good); i++) {
        char *s = vws_fqan_normalise(good[i].in);
        ck_assert_msg(s && strcmp(s, good[i].out) == 0, "%s -> %s", good[i].in, s ? s : "NULL");
        free(s);
    }
    for (size_t i = 0; i < VWS_N_ELEMENTS(bad); i++) {
        ck_assert_msg(vws_fqan_normalise(bad[i]) == NULL, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(vws_error_message(), "is not a VOMS FQAN"));
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("gsi");
    TCase *tc = tcase_create("credentials");
    SRunner *sr;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    make_pki();
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_credentials, 0, (int)VWS_N_ELEMENTS(cases));
    tcase_add_test(tc, test_no_certificate);
    tcase_add_test(tc, test_crl);
    tcase_add_test(tc, test_wrong_server_name);
    tcase_add_test(tc, test_bad_client_files);
    tcase_add_test(tc, test_limited_proxy_cannot_create);
    tcase_add_test(tc, test_voms_cache);
    tcase_add_test(tc, test_config_from_environment);
    tcase_add_test(tc, test_fqan_normalise);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!getenv("VWS_KEEP_PKI")) {
        char *cmd = vws_asprintf("rm -rf '%s'", pki);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", pki);
        free(cmd);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
