/*
 * check_xml.c — XML documents: safe parsing, validation against the XSDs,
 * the rules XSD cannot state, the typed mapping and its round trip, and the
 * hostile corpus in tests/corpus/xml (expected.txt lists each file with the
 * text its first error must contain).
 */
#define VWS_MODULE "test"
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "soapH.h"
#include "document.h"
#include "xml.h"
#include "internal.h"

static char *
src_path(const char *rel)
{
    const char *top = getenv("VWS_SRCDIR");

    return vws_asprintf("%s/%s", top ? top : "..", rel);
}

/* Every example: valid, and serialize(parse(x)) carries the same data as x,
 * and serializing twice gives the same bytes. */
static void
roundtrip_file(const char *path)
{
    struct vws_doc a = VWS_DOC_INIT, b = VWS_DOC_INIT;
    struct vws_buf s1 = VWS_BUF_INIT, s2 = VWS_BUF_INIT, why = VWS_BUF_INIT;
    char *orig;
    size_t len;
    xmlDocPtr x1, x2;

    ck_assert_msg(vws_doc_load(&a, path, VWS_DOC_ANY) == 0, "%s: %s", path,
                  vws_error_message());
    ck_assert_int_eq(vws_doc_serialize(&a, &s1), 0);
    ck_assert_msg(vws_doc_parse(&b, "serialized", s1.s, s1.len, a.kind) == 0,
                  "%s: serialized form does not read back: %s\n%s", path,
                  vws_error_message(), s1.s);
    ck_assert_int_eq(b.kind, a.kind);
    ck_assert_int_eq(vws_doc_serialize(&b, &s2), 0);
    ck_assert_str_eq(s1.s, s2.s);

    ck_assert_int_eq(vws_xml_read_file(path, VWS_XML_MAX_BYTES, &orig, &len), 0);
    x1 = vws_xml_parse(path, orig, len);
    x2 = vws_xml_parse("serialized", s1.s, s1.len);
    ck_assert_ptr_nonnull(x1);
    ck_assert_ptr_nonnull(x2);
    ck_assert_msg(vws_xml_equal(xmlDocGetRootElement(x1), xmlDocGetRootElement(x2), &why),
                  "%s: round trip lost data: %s\n%s", path, why.s, s1.s);
    xmlFreeDoc(x1);
    xmlFreeDoc(x2);
    free(orig);
    vws_buf_release(&s1);
    vws_buf_release(&s2);
    vws_buf_release(&why);
    vws_doc_release(&a);
    vws_doc_release(&b);
}

START_TEST(test_examples_roundtrip)
{
    char *dir = src_path("schema/examples");
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0)
            continue;
        char *p = vws_asprintf("%s/%s", dir, e->d_name);
        roundtrip_file(p);
        free(p);
        n++;
    }
    closedir(d);
    free(dir);
    ck_assert_int_ge(n, 10);
}
END_TEST

/* The mapped structures hold what the document says. */
START_TEST(test_typed_values)
{
    struct vws_doc doc = VWS_DOC_INIT;
    char *p = src_path("schema/examples/osg-worker-node.xml");
    struct vws__VirtualWorkspaceType *w;

    ck_assert_int_eq(vws_doc_load(&doc, p, VWS_DOC_WORKSPACE), 0);
    w = doc.u.workspace;
    ck_assert_int_eq(w->category->__union_CategoryChoiceType,
                     SOAP_UNION__vws__union_CategoryChoiceType_vm);
    ck_assert_int_eq(w->category->union_CategoryChoiceType.vm->vmm, vws__VMMType__kvm);
    ck_assert_ptr_nonnull(w->hardware);
    ck_assert_uint_eq(w->hardware->ram->min_, 512);
    ck_assert_uint_eq(*w->hardware->ram->max_, 1024);
    ck_assert_int_eq(w->hardware->__sizedisk, 2);
    ck_assert_str_eq(w->hardware->disk[0].image, "osg-wn-0.4");
    ck_assert_ptr_null(w->hardware->disk[1].size->max_);
    ck_assert_str_eq(w->lastModified, "2026-11-23T09:05:12.250+01:00");
    ck_assert_str_eq(w->lifeCycle, "P7D");
    ck_assert_int_eq(w->capability->__sizeservice, 2);
    ck_assert_uint_eq(w->capability->service[1].port, 2811);
    vws_doc_release(&doc);
    free(p);

    p = src_path("schema/examples/deploy-window.xml");
    ck_assert_int_eq(vws_doc_load(&doc, p, VWS_DOC_DEPLOYMENT), 0);
    ck_assert_uint_eq(doc.u.deployment->nodes, 1);
    ck_assert_uint_eq(doc.u.deployment->cpuPercent, 100);
    ck_assert_str_eq(doc.u.deployment->start->union_StartType.window->event, "data-ready");
    vws_doc_release(&doc);
    vws_doc_release(&doc);   /* twice: a no-op */
    free(p);
}
END_TEST

START_TEST(test_expected_kind)
{
    struct vws_doc doc = VWS_DOC_INIT;
    char *p = src_path("schema/examples/deploy-ar.xml");

    ck_assert_int_eq(vws_doc_load(&doc, p, VWS_DOC_WORKSPACE), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(vws_error_message(),
                                 "expected a 'virtualWorkspace' document, not 'deploymentRequest'"));
    ck_assert_ptr_null(doc.soap);
    free(p);
}
END_TEST

/* Every file of the hostile corpus is refused with its specific message. */
START_TEST(test_corpus)
{
    char *manifest = src_path("tests/corpus/xml/expected.txt");
    FILE *f = fopen(manifest, "r");
    char line[1024];
    int n = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f)) {
        char *tab, *path;
        struct vws_doc doc = VWS_DOC_INIT;

        if (line[0] == '#' || !(tab = strchr(line, '\t')))
            continue;
        *tab++ = '\0';
        tab[strcspn(tab, "\n")] = '\0';
        path = vws_asprintf("%s/tests/corpus/xml/%s", getenv("VWS_SRCDIR"), line);
        vws_error_reset();
        ck_assert_msg(vws_doc_load(&doc, path, VWS_DOC_ANY) == -1, "%s was accepted", line);
        ck_assert_ptr_null(doc.soap);
        ck_assert_msg(strstr(vws_error_message(), tab) != NULL,
                      "%s: got '%s', expected it to contain '%s'", line,
                      vws_error_message(), tab);
        ck_assert_msg(vws_error_code_last() != VWS_ERR_INTERNAL,
                      "%s: internal error: %s", line, vws_error_message());
        free(path);
        n++;
    }
    fclose(f);
    free(manifest);
    ck_assert_int_ge(n, 40);
}
END_TEST

static char *
tmpfile_with(const char *data, size_t len)
{
    char *path = vws_strdup("/tmp/vws-check-xml-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

/* A 100 MB document is refused before it is read or parsed. */
START_TEST(test_huge_document)
{
    char *path = vws_strdup("/tmp/vws-check-xml-huge-XXXXXX");
    int fd = mkstemp(path);
    struct vws_doc doc = VWS_DOC_INIT;
    size_t big = 100u * 1024 * 1024;
    char *buf;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)big), 0);   /* sparse: no disk used */
    close(fd);
    ck_assert_int_eq(vws_doc_load(&doc, path, VWS_DOC_ANY), -1);
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "document is 104857600 bytes, more than the limit"));
    unlink(path);
    free(path);

    /* the same through the in-memory entry point (a request body) */
    buf = vws_malloc(big);
    memset(buf, ' ', big);
    memcpy(buf, "<virtualWorkspace xmlns='urn:vws:1.0'>", 38);
    ck_assert_ptr_null(vws_xml_parse("request", buf, big));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    free(buf);
}
END_TEST

/* 10,000 nested elements: refused at the depth limit, no stack blow-up. */
START_TEST(test_deep_nesting)
{
    struct vws_buf b = VWS_BUF_INIT;
    xmlDocPtr x;

    vws_buf_adds(&b, "<virtualWorkspace xmlns=\"urn:vws:1.0\">");
    for (int i = 0; i < 10000; i++)
        vws_buf_adds(&b, "<a>");
    for (int i = 0; i < 10000; i++)
        vws_buf_adds(&b, "</a>");
    vws_buf_adds(&b, "</virtualWorkspace>");
    ck_assert_ptr_null(x = vws_xml_parse("deep", b.s, b.len));
    ck_assert_int_eq(vws_error_code_last(), VWS_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "nested deeper than 64 levels"));
    vws_buf_release(&b);
}
END_TEST

/* Wide but shallow: many elements are fine for the parser, and the schema
 * bounds them (at most 16 disks). */
START_TEST(test_many_elements)
{
    struct vws_buf b = VWS_BUF_INIT;
    struct vws_doc doc = VWS_DOC_INIT;

    vws_buf_adds(&b, "<virtualWorkspace xmlns=\"urn:vws:1.0\"><category><vm><vmm>qemu</vmm>"
                     "</vm></category><hardware><ram min=\"1\"/>");
    for (int i = 0; i < 5000; i++)
        vws_buf_addf(&b, "<disk name=\"d%d\" type=\"virtio\" access=\"rw\"><size min=\"1\"/></disk>", i);
    vws_buf_adds(&b, "</hardware></virtualWorkspace>");
    ck_assert_int_eq(vws_doc_parse(&doc, "wide", b.s, b.len, VWS_DOC_ANY), -1);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "Element 'disk': This element is not expected"));
    vws_buf_release(&b);
}
END_TEST

START_TEST(test_not_regular_files)
{
    struct vws_doc doc = VWS_DOC_INIT;

    ck_assert_int_eq(vws_doc_load(&doc, "/tmp", VWS_DOC_ANY), -1);
    ck_assert_str_eq(vws_error_message(), "'/tmp' is not a regular file");
    ck_assert_int_eq(vws_doc_load(&doc, "/dev/zero", VWS_DOC_ANY), -1);
    ck_assert_str_eq(vws_error_message(), "'/dev/zero' is not a regular file");
    ck_assert_int_eq(vws_doc_load(&doc, "/nonexistent/ws.xml", VWS_DOC_ANY), -1);
    ck_assert_str_eq(vws_error_message(),
                     "cannot open '/nonexistent/ws.xml': No such file or directory");
}
END_TEST

/* A buffer that is not NUL-terminated is read only up to its length. */
START_TEST(test_unterminated_buffer)
{
    static const char text[] =
        "<imageTemplate xmlns=\"urn:vws:1.0\"><name>t</name><format>raw</format>"
        "<location>file:///i</location><size>1</size><sha256>"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</sha256>"
        "</imageTemplate>GARBAGE";
    struct vws_doc doc = VWS_DOC_INIT;
    size_t len = sizeof(text) - 1 - strlen("GARBAGE");
    char *copy = vws_malloc(len);

    memcpy(copy, text, len);   /* no terminator: ASan catches an over-read */
    ck_assert_msg(vws_doc_parse(&doc, "buffer", copy, len, VWS_DOC_IMAGE) == 0, "%s",
                  vws_error_message());
    ck_assert_uint_eq(doc.u.image->size, 1);
    vws_doc_release(&doc);
    free(copy);
}
END_TEST

static void *
parse_many(void *arg)
{
    const char *path = arg;

    for (int i = 0; i < 50; i++) {
        struct vws_doc doc = VWS_DOC_INIT;
        if (vws_doc_load(&doc, path, VWS_DOC_ANY) < 0)
            return (void *)1;
        vws_doc_release(&doc);
    }
    return NULL;
}

/* Schemas compile once; validation from several threads at once. */
START_TEST(test_threads)
{
    char *p = src_path("schema/examples/osg-worker-node.xml");
    pthread_t t[4];
    void *r;

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, parse_many, p), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], &r), 0);
        ck_assert_ptr_null(r);
    }
    free(p);
}
END_TEST

START_TEST(test_compare)
{
    static const char a[] = "<r xmlns='urn:x' a='1' b='2'><c>t</c><!-- c --><d/></r>";
    static const char b[] = "<p:r xmlns:p='urn:x' b='2' a='1'>\n <p:c>t</p:c>\n <p:d></p:d></p:r>";
    static const char c[] = "<r xmlns='urn:x' a='1' b='2'><c>u</c><d/></r>";
    static const char d[] = "<r xmlns='urn:y' a='1' b='2'><c>t</c><d/></r>";
    xmlDocPtr xa = vws_xml_parse("a", a, sizeof(a) - 1);
    xmlDocPtr xb = vws_xml_parse("b", b, sizeof(b) - 1);
    xmlDocPtr xc = vws_xml_parse("c", c, sizeof(c) - 1);
    xmlDocPtr xd = vws_xml_parse("d", d, sizeof(d) - 1);
    struct vws_buf why = VWS_BUF_INIT;

    ck_assert(vws_xml_equal(xmlDocGetRootElement(xa), xmlDocGetRootElement(xb), NULL));
    ck_assert(!vws_xml_equal(xmlDocGetRootElement(xa), xmlDocGetRootElement(xc), &why));
    ck_assert_str_eq(why.s, "text 't' vs 'u'");
    ck_assert(!vws_xml_equal(xmlDocGetRootElement(xa), xmlDocGetRootElement(xd), NULL));
    xmlFreeDoc(xa);
    xmlFreeDoc(xb);
    xmlFreeDoc(xc);
    xmlFreeDoc(xd);
    vws_buf_release(&why);
}
END_TEST

/* A document valid for libxml2 may still be refused later: nothing leaks
 * and DOC stays empty on every failure path. */
START_TEST(test_failure_leaves_doc_empty)
{
    static const char bad[] = "<deploymentRequest xmlns='urn:vws:1.0'><imageTemplate>t"
        "</imageTemplate><nodes>1</nodes><memory>1</memory><cpuPercent>1</cpuPercent>"
        "<end><duration>-P1D</duration></end></deploymentRequest>";
    struct vws_doc doc = VWS_DOC_INIT;
    char *p = tmpfile_with(bad, sizeof(bad) - 1);

    ck_assert_int_eq(vws_doc_load(&doc, p, VWS_DOC_ANY), -1);
    ck_assert_ptr_null(doc.soap);
    ck_assert_ptr_null(doc.u.any);
    ck_assert_ptr_nonnull(strstr(vws_error_message(), "must be positive"));
    unlink(p);
    free(p);
}
END_TEST

static Suite *
xml_suite(void)
{
    Suite *s = suite_create("xml");
    TCase *tc = tcase_create("documents");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_examples_roundtrip);
    tcase_add_test(tc, test_typed_values);
    tcase_add_test(tc, test_expected_kind);
    tcase_add_test(tc, test_corpus);
    tcase_add_test(tc, test_huge_document);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_many_elements);
    tcase_add_test(tc, test_not_regular_files);
    tcase_add_test(tc, test_unterminated_buffer);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_compare);
    tcase_add_test(tc, test_failure_leaves_doc_empty);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(xml_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    xmlCleanupParser();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
