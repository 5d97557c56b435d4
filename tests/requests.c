/*
 * requests.c — see requests.h.
 */
#include <config.h>

#include "soapH.h"
#include "requests.h"

struct vws__VirtualWorkspaceType *
soaptest_workspace(struct soap *soap)
{
    struct vws__VirtualWorkspaceType *w = soap_new_vws__VirtualWorkspaceType(soap, 1);

    w->category = soap_new_vws__CategoryChoiceType(soap, 1);
    w->category->__union_CategoryChoiceType = SOAP_UNION__vws__union_CategoryChoiceType_vm;
    w->category->union_CategoryChoiceType.vm = soap_new_vws__VMCategoryType(soap, 1);
    w->category->union_CategoryChoiceType.vm->vmm = vws__VMMType__qemu;
    return w;
}

struct vws__DeploymentRequestType *
soaptest_request(struct soap *soap, unsigned nodes)
{
    struct vws__DeploymentRequestType *d = soap_new_vws__DeploymentRequestType(soap, 1);

    d->imageTemplate = soap_strdup(soap, "tiny");
    d->nodes = nodes;
    d->memory = 128;
    d->cpuPercent = 50;
    d->end = soap_new_vws__EndType(soap, 1);
    d->end->__union_EndType = SOAP_UNION__vws__union_EndType_duration;
    d->end->union_EndType.duration = soap_strdup(soap, "PT30M");
    return d;
}
