// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of kvmtrace-bpf's kvm_exit + kvm_entry handling per VM exit, where the tracepoints
 * cannot be made to fire (software KVM) or to be test-run (classic tracepoint programs): a
 * raw_tp program run with BPF_PROG_TEST_RUN runs the real hooks' bodies, their helper calls
 * included, in a bpf_loop, and times the loop against an empty one. The running process (this
 * benchmark, the test run's caller) is the pretend VM, and its thread the vCPU. And the floor
 * they are compared with: an empty program on a classic tracepoint, as the kvm hooks are, that
 * the benchmark fires at will (getppid), its cost per run from bpf_stats.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kvmtrace.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u64 elapsed_ns;	/* of the last run */

struct loop_state {
	__u32 reasons;
};

/*
 * One VM exit as the hooks see it: kvm_exit, then the next kvm_entry. Of one reason every time
 * (a run), or of l->reasons reasons in turn: as many as a vCPU's entry keeps runs of, or one more,
 * when every exit moves the oldest reason's run to exit_stats (the dearest case).
 */
static long one_exit(__u64 i, void *ctx)
{
	struct loop_state *l = ctx;

	kt_kvm_exit_hook(1, 12 + (__u32)(i % l->reasons));
	kt_kvm_entry_hook(0);
	return 0;
}

static long nothing(__u64 i, void *ctx)
{
	return 0;
}

/* reasons: 0 an empty loop, else exits of that many reasons in turn. */
SEC("raw_tp")
int BPF_PROG(kvm_cost, __u64 loops, __u64 reasons)
{
	struct loop_state l = { .reasons = reasons };
	__u64 start;

	if (!kt_track_vm(bpf_get_current_pid_tgid() >> 32, bpf_ktime_get_ns(), KT_VM_BY_USER, NULL))
		return 1;
	start = bpf_ktime_get_ns();
	if (reasons)
		bpf_loop(loops, one_exit, &l, 0);
	else
		bpf_loop(loops, nothing, &l, 0);
	elapsed_ns = bpf_ktime_get_ns() - start;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int empty_tracepoint(void *ctx)
{
	return 0;
}
