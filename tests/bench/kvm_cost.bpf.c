// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of kvmtrace-bpf's kvm_exit + kvm_entry handling per VM exit, where the tracepoints
 * cannot be made to fire (software KVM) or to be test-run (classic tracepoint programs): a
 * raw_tp program run with BPF_PROG_TEST_RUN calls the same helpers as the real hooks, with the
 * real clock, in a bpf_loop, and times the loop against an empty one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kvmtrace.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define BENCH_TGID	4000000		/* the pretend VM, and its vCPU thread */
#define BENCH_TID	4000001

__u64 elapsed_ns;	/* of the last run */

struct loop_state {
	__u32 tgid, tid;
	bool alternate;
};

/*
 * One VM exit as the hooks see it: kvm_exit, then the next kvm_entry. Reason HLT every time (a
 * run of one reason), or HLT and I/O in turn (every exit ends a run: the dearest case).
 */
static long one_exit(__u64 i, void *ctx)
{
	struct loop_state *l = ctx;
	__u32 reason = l->alternate && (i & 1) ? 30 : 12;

	kt_on_kvm_exit(bpf_ktime_get_ns(), l->tid, l->tgid, 1, reason, NULL);
	kt_on_kvm_entry(bpf_ktime_get_ns(), l->tid, l->tgid, 0, NULL);
	return 0;
}

static long nothing(__u64 i, void *ctx)
{
	return 0;
}

/* handlers: 0 an empty loop, 1 exits of one reason, 2 of two reasons in turn. */
SEC("raw_tp")
int BPF_PROG(kvm_cost, __u64 loops, __u64 handlers)
{
	struct loop_state l = { .tgid = BENCH_TGID, .tid = BENCH_TID, .alternate = handlers == 2 };
	__u64 start;

	if (!kt_track_vm(l.tgid, bpf_ktime_get_ns(), KT_VM_BY_USER, NULL))
		return 1;
	start = bpf_ktime_get_ns();
	if (handlers)
		bpf_loop(loops, one_exit, &l, 0);
	else
		bpf_loop(loops, nothing, &l, 0);
	elapsed_ns = bpf_ktime_get_ns() - start;
	return 0;
}
