// SPDX-License-Identifier: GPL-2.0
/*
 * Baseline of the benchmark (make bench): empty programs on the hooks that kvmtrace-bpf uses,
 * attached the same way (tp_btf). Their cost per run, as bpf_stats reports it, is the floor that
 * the tracer's handlers are compared with: the trampoline, the stats bookkeeping and the call,
 * with no work at all. empty_loader attaches all of them or those of the hooks it is given.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch)
{
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(empty_wakeup)
{
	return 0;
}

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(empty_net_xmit)
{
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(empty_net_recv)
{
	return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(empty_bio_queue)
{
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(empty_rq_done)
{
	return 0;
}
