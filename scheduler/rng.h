/*
 * rng.h — a small seeded random generator (splitmix64), so traces and
 * simulations are the same for the same seed on every platform.
 */
#ifndef VWS_RNG_H
#define VWS_RNG_H

#include <stdint.h>

typedef struct vws_rng {
    uint64_t state;
} vws_rng;

static inline void
vws_rng_seed(vws_rng *r, uint64_t seed)
{
    r->state = seed;
}

static inline uint64_t
vws_rng_next(vws_rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double
vws_rng_double(vws_rng *r)
{
    return (double)(vws_rng_next(r) >> 11) / 9007199254740992.0;
}

/* Uniform integer in [lo, hi] (lo <= hi). */
static inline int64_t
vws_rng_range(vws_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;

    return span ? lo + (int64_t)(vws_rng_next(r) % span) : lo;
}

#endif /* VWS_RNG_H */
