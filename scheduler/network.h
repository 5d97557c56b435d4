/*
 * network.h — the simulated link from the image repository.
 *
 * Transfers running at the same time share the link fairly: with n of
 * them, each moves at bandwidth / n.  This is what makes naive staging
 * degrade under bursts (seed 000 §5.1, Trace II): transfers started "just
 * in time" for the same window slow each other down and arrive late.
 *
 * The network runs on a clock; when a transfer completes it calls the
 * DONE callback with the caller's handle.
 */
#ifndef VWS_NETWORK_H
#define VWS_NETWORK_H

#include <stddef.h>

#include "clock.h"

typedef struct vws_network vws_network;
typedef void (*vws_network_done_fn)(void *ctx, void *handle, vws_time now);

/* A link of MB_PER_S on CLOCK.  Never NULL. */
vws_network *vws_network_new(vws_clock *clock, double mb_per_s,
                             vws_network_done_fn done, void *ctx);
void vws_network_free(vws_network *n);

/* Start moving MB for HANDLE now.  A zero-size transfer completes at once
 * (through an event, never from inside this call). */
void vws_network_start(vws_network *n, void *handle, double mb);

size_t vws_network_active(const vws_network *n);
/* MB still to move over all running transfers. */
double vws_network_backlog(vws_network *n);
/* Total MB delivered so far. */
double vws_network_delivered(const vws_network *n);

#endif /* VWS_NETWORK_H */
