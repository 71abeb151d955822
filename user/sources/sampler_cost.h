/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What one sample of the sampler costs the CPU it interrupts: the timer interrupt, the perf
 * overflow path and the program's way out for a task of no VM. bpf_stats sees only the program,
 * and on a nested VM the interrupt is the most of it (tens of microseconds), so it is measured.
 */
#ifndef KT_SAMPLER_COST_H
#define KT_SAMPLER_COST_H

#include <stddef.h>

struct sampler;

/*
 * Measures it on the calling thread's CPU: a loop pinned there reads the clock, and the gaps
 * between two reads (interrupts) take more of its time while a probe event with the sampler's
 * program samples it at a high rate; that time per sample is the cost (the median of 25 pairs
 * of windows, 0.2 s in all). Returns ns per sample (>= 0), or -1 with a one-line reason in why.
 */
double sampler_cost_measure(const struct sampler *s, char *why, size_t len);

#endif /* KT_SAMPLER_COST_H */
