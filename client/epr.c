/*
 * epr.c — EPR files (see epr.h).
 */
#define VWS_MODULE "epr"
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "epr.h"
#include "xml.h"
#include "internal.h"

#define WSA_NS "http://www.w3.org/2005/08/addressing"

static xmlNodePtr
child(xmlNodePtr n, const char *ns, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns && strcmp((const char *)c->ns->href, ns) == 0 &&
            strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

int
vws_epr_load(struct vws_epr *epr, const char *path)
{
    char *buf = NULL;
    size_t len;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, addr, key;
    xmlChar *a = NULL, *k = NULL;
    int rc = -1;

    memset(epr, 0, sizeof(*epr));
    if (vws_xml_read_file(path, 64 * 1024, &buf, &len) < 0 ||
        !(doc = vws_xml_parse(path, buf, len)))
        goto out;
    root = xmlDocGetRootElement(doc);
    if (!root || !root->ns || strcmp((const char *)root->ns->href, WSA_NS) != 0 ||
        strcmp((const char *)root->name, "EndpointReference") != 0) {
        vws_report_error(VWS_ERR_INVALID, "%s: not a wsa:EndpointReference", path);
        goto out;
    }
    addr = child(root, WSA_NS, "Address");
    key = child(child(root, WSA_NS, "ReferenceParameters"), VWS_XML_NS, "WorkspaceKey");
    a = addr ? xmlNodeGetContent(addr) : NULL;
    k = key ? xmlNodeGetContent(key) : NULL;
    if (!a || strncmp((const char *)a, "https://", 8) != 0) {
        vws_report_error(VWS_ERR_INVALID, "%s: the EPR has no https:// Address", path);
        goto out;
    }
    if (!k || !vws_uuid_is_valid((const char *)k)) {
        vws_report_error(VWS_ERR_INVALID, "%s: the EPR has no vws:WorkspaceKey "
                         "reference parameter (a workspace UUID)", path);
        goto out;
    }
    epr->address = vws_strdup((const char *)a);
    vws_strlcpy(epr->key, (const char *)k, sizeof(epr->key));
    rc = 0;
 out:
    xmlFree(a);
    xmlFree(k);
    xmlFreeDoc(doc);
    free(buf);
    return rc;
}

int
vws_epr_save(const struct vws_epr *epr, const char *path)
{
    struct vws_buf b = VWS_BUF_INIT;
    char *tmp = NULL;
    FILE *f;
    int rc = -1;

    vws_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<wsa:EndpointReference xmlns:wsa=\"" WSA_NS "\">\n  <wsa:Address>");
    vws_buf_add_xml_escaped(&b, epr->address);
    vws_buf_addf(&b, "</wsa:Address>\n  <wsa:ReferenceParameters>\n"
                     "    <vws:WorkspaceKey xmlns:vws=\"urn:vws:1.0\">%s</vws:WorkspaceKey>\n"
                     "  </wsa:ReferenceParameters>\n</wsa:EndpointReference>\n", epr->key);
    if (strcmp(path, "-") == 0) {
        fputs(b.s, stdout);
        vws_buf_release(&b);
        return 0;
    }
    tmp = vws_asprintf("%s.tmp", path);
    if (!(f = fopen(tmp, "w"))) {
        vws_report_system_error("cannot write '%s'", tmp);
        goto out;
    }
    if (fputs(b.s, f) < 0 || fclose(f) != 0) {
        vws_report_system_error("cannot write '%s'", tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        vws_report_system_error("cannot rename '%s' to '%s'", tmp, path);
        goto out;
    }
    rc = 0;
 out:
    if (rc < 0 && tmp)
        unlink(tmp);
    free(tmp);
    vws_buf_release(&b);
    return rc;
}

void
vws_epr_release(struct vws_epr *epr)
{
    free(epr->address);
    epr->address = NULL;
}
