/*
 * internal.h — included first by every vws source file after config.h and
 * the system headers it needs: the common API and, last, banned.h.
 */
#ifndef VWS_INTERNAL_H
#define VWS_INTERNAL_H

#include "error.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"
#include "banned.h"

#endif /* VWS_INTERNAL_H */
