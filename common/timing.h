/*
 * timing: a monotonic clock and the percentile of a set of measured durations.
 */
#ifndef SVRLAB_TIMING_H
#define SVRLAB_TIMING_H

#include <stddef.h>
#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC: only differences mean something. */
uint64_t timing_now_ns(void);

/* Sort v[0..n) in place, ascending. */
void timing_sort(uint64_t *v, size_t n);

/* The p-th percentile (0 < p <= 100) of v[0..n), which must be sorted ascending, by the
 * nearest-rank method: the smallest value such that at least p percent of the values are
 * less than or equal to it. Returns 0 when n is 0. */
uint64_t timing_percentile(const uint64_t *sorted, size_t n, double p);

/* In a loop that spins on memory another CPU will change: tell this CPU so (x86's pause,
 * about 15 ns here; arm64's yield). It saves power, leaves the core to its other hyperthread,
 * and avoids the pipeline flush on the loop's exit. */
static inline void timing_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
