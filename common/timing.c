/*
 * timing: a monotonic clock and nearest-rank percentiles of measured durations,
 * for the benchmarks and the latency figures of the lab.
 */
#include "timing.h"

#include <stdlib.h>
#include <time.h>

uint64_t timing_now_ns(void)
{
    /* CLOCK_MONOTONIC, not the wall clock: an NTP step must not make a request look
     * negative or an hour long. It can not fail with a valid clock id and pointer. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Compare, not subtract: the difference of two uint64_t does not fit in an int. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void timing_sort(uint64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_u64);
}

uint64_t timing_percentile(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* rank = ceil(p/100 * n). Multiplying before dividing keeps whole products exact
     * (7 * 100 / 100 is 7, where 7 / 100 * 100 is 7.000000000000001 and would give
     * rank 8), and the small slack stops a rounding error just above a whole number
     * (p = 99.9 is not exact in binary) from moving the rank up by one. */
    double x = p * (double)n / 100.0;
    size_t rank;
    if (!(x > 1.0)) /* also catches p <= 0 and NaN */
        rank = 1;
    else if (x >= (double)n)
        rank = n;
    else {
        /* ceil by hand, so that every program linking common/ does not need -lm */
        double r = x - 1e-9;
        rank = (size_t)r;
        if ((double)rank < r)
            rank++;
    }
    return sorted[rank - 1];
}
