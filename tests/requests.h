/*
 * requests.h — minimal valid request documents for tests and benchmarks.
 */
#ifndef VWS_TESTS_REQUESTS_H
#define VWS_TESTS_REQUESTS_H

struct soap;

/* A minimal valid VM workspace and deployment request (NODES nodes of
 * template "tiny"), allocated in SOAP's memory. */
struct vws__VirtualWorkspaceType *soaptest_workspace(struct soap *soap);
struct vws__DeploymentRequestType *soaptest_request(struct soap *soap, unsigned nodes);

#endif
