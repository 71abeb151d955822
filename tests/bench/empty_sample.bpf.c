// SPDX-License-Identifier: GPL-2.0
/*
 * Floor of kvmtrace-bpf's sampler for the benchmark (make bench): an empty program run on each
 * sample of a cpu-clock event, attached as kvmtrace-bpf attaches its sampler. empty_sampler
 * loads it. What it costs is the timer interrupt, the perf overflow path and the call into BPF,
 * with no work at all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("perf_event")
int empty_sample(void *ctx)
{
	return 0;
}
