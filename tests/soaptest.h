/*
 * soaptest.h — a gSOAP server on 127.0.0.1 in a thread, for tests of the
 * generated services.  Plain HTTP: TLS comes with the GSI layer.
 */
#ifndef VWS_TESTS_SOAPTEST_H
#define VWS_TESTS_SOAPTEST_H

struct soaptest_server;

/* Bind an ephemeral port on 127.0.0.1 and serve up to MAX_REQUESTS
 * requests in a thread.  Aborts the test on failure. */
struct soaptest_server *soaptest_start(int max_requests);
/* "http://127.0.0.1:PORT/PATH" (static buffer per call site: copy it). */
const char *soaptest_url(struct soaptest_server *s, const char *path);
int soaptest_port(struct soaptest_server *s);
/* Stop accepting, join the thread, free. */
void soaptest_stop(struct soaptest_server *s);

#include "requests.h"

#endif
