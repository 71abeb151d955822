// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline of the benchmark (make bench): empty programs on the hooks that kvmtrace-bpf uses,
 * attached the same way (tp_btf), and an empty program for a cpu-clock event, run on each of its
 * samples as kvmtrace-bpf runs its sampler. Their cost is the floor that the tracer's programs
 * are compared with: on a hook, as bpf_stats reports it, the trampoline, the stats bookkeeping
 * and the call; on the event, the timer interrupt, the perf overflow path and the call into
 * BPF; with no work at all. empty_loader attaches the hooks' programs, all of them or those of
 * the hooks it is given, or the sampler's program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* An empty program on the tracepoint hook. */
#define EMPTY_ON(name, hook)			\
	SEC("tp_btf/" hook)			\
	int BPF_PROG(name)			\
	{					\
		return 0;			\
	}

EMPTY_ON(empty_switch, "sched_switch")
EMPTY_ON(empty_wakeup, "sched_wakeup")
EMPTY_ON(empty_net_xmit, "net_dev_start_xmit")
EMPTY_ON(empty_net_recv, "netif_receive_skb")
EMPTY_ON(empty_bio_queue, "block_bio_queue")
EMPTY_ON(empty_rq_done, "block_rq_complete")

SEC("perf_event")
int empty_sample(void *ctx)
{
	return 0;
}
