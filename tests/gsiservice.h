/*
 * gsiservice.h — the small test service over TLS (issue 3): a gSOAP server
 * on 127.0.0.1 that authenticates every client with common/gsi and answers
 *   GET /whoami      the caller's identity as text (dn, issuer, proxy, fqan)
 *   Factory Create   refused for limited proxies, else an EPR
 * It records why it refused the last client, as an admin would read it in
 * the log.  Used in a thread by tests/check_gsi.c and as the program
 * tests/vws-test-service by shell tests.
 */
#ifndef VWS_TESTS_GSISERVICE_H
#define VWS_TESTS_GSISERVICE_H

struct vws_gsi_config;
struct gsiservice;

/* Start serving on 127.0.0.1:PORT (0: any free port) in a thread; at most
 * MAX_CONNECTIONS connections, then the thread ends.  NULL on error. */
struct gsiservice *gsiservice_start(const struct vws_gsi_config *c, int port,
                                    int max_connections);
int gsiservice_port(struct gsiservice *s);
/* Why the last client was refused ("" if none); copied into BUF. */
void gsiservice_last_refusal(struct gsiservice *s, char *buf, size_t size);
void gsiservice_clear_refusal(struct gsiservice *s);
void gsiservice_stop(struct gsiservice *s);
/* Serve in the calling thread until stopped (for the standalone program). */
void gsiservice_run(struct gsiservice *s);
struct gsiservice *gsiservice_new(const struct vws_gsi_config *c, int port,
                                  int max_connections);

#endif
