/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structures shared by the BPF programs (kvmtrace.bpf.c) and the user-space loader.
 * All counters are cumulative since a VM started being tracked; user space turns them into
 * per-interval deltas, so a late or missed drain never loses time.
 */
#ifndef KVMTRACE_H
#define KVMTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KT_MAX_VMS		1024
#define KT_MAX_THREADS		32768
#define KT_MAX_EXIT_KEYS	16384
#define KT_MAX_DEAD_VMS		1024
#define KT_MAX_IFACES		1024
#define KT_BIO_WAYS		2	/* in-flight bios: slots per set (one cache line) */
#define KT_BIO_SET_BITS		13
#define KT_MAX_BIOS		(KT_BIO_WAYS << KT_BIO_SET_BITS)
#define KT_MAX_NET_KEYS		4096
#define KT_TRACKED_BLOCK_SHIFT	4	/* tracked tgids: a summary bit per block of 16 */
#define KT_MAX_COUNTERS		8	/* perf counters read at switch and entry/exit */
/* Kernel text ranges by component; a power of two, so the search takes a fixed 16 steps. */
#define KT_KSYM_SEARCH_STEPS	16
#define KT_MAX_KSYM_RANGES	(1 << KT_KSYM_SEARCH_STEPS)

#define KT_COMM_LEN		16	/* the kernel's TASK_COMM_LEN */
/* Process names (comm, at most 15 characters) that mark a VMM even before it enters guest mode. */
#define KT_VMM_COMM_PREFIXES	{ "qemu-system-", "qemu-kvm", "firecracker", "cloud-hyperviso", \
				  "crosvm" }
/* Names that must match exactly: "kvm" as a prefix would also match kernel threads. */
#define KT_VMM_COMM_EXACT	{ "kvm" }

/* How a process came to be tracked (struct kt_vm.flags). */
enum kt_vm_flags {
	KT_VM_BY_KVM	= 1 << 0,	/* one of its threads ran kvm_exit */
	KT_VM_BY_NAME	= 1 << 1,	/* exec'd a VMM binary while we watched */
	KT_VM_BY_USER	= 1 << 2,	/* added by user space (startup scan or -p) */
	/* All its threads' time is its own, from their birth: a VMM that forked it and never
	 * exec'd (QEMU -daemonize). An exec'd VMM's first thread did other work before exec. */
	KT_VM_FROM_BIRTH = 1 << 3,
	/* Its last thread has run sched_process_exit: it is retired once every thread entry of
	 * it is folded, at each one's final switch-out. */
	KT_VM_GROUP_DEAD = 1 << 4,
};

/* Per-thread flags (struct kt_thread.flags). */
enum kt_thread_flags {
	KT_THREAD_VCPU	= 1 << 0,	/* has entered guest mode: a vCPU thread */
	/* The kernel charged it guest time (task->gtime): a vCPU thread, whatever KVM's hooks. */
	KT_THREAD_GUEST_TIME = 1 << 1,
	/* Seen inside KVM_RUN for vCPU vcpu_id: a vCPU thread, and which one. */
	KT_THREAD_IN_KVM_RUN = 1 << 2,
	/* Has run sched_process_exit; its entry is folded into its VM at its final switch-out,
	 * so that tearing down its address space is counted too. */
	KT_THREAD_EXITED = 1 << 3,
	/* Folded into its VM: kept until user space has drained its last figures (its vCPU
	 * row's last interval), otherwise as gone. */
	KT_THREAD_FOLDED = 1 << 4,
};

/*
 * The high 16 bits of kt_thread.flags count the thread's renames (task:task_rename), modulo
 * 2^16: user space reads a thread's name again only when they changed, not every so often.
 */
#define KT_THREAD_RENAME_ONE	(1U << 16)
#define KT_THREAD_RENAMES	(~(KT_THREAD_RENAME_ONE - 1))

/* Drop and anomaly counters, one slot each in the per-CPU "drops" array. */
enum kt_drop {
	KT_DROP_VM_FULL,	/* vms map full: a VM was not tracked */
	KT_DROP_THREAD_FULL,	/* threads map full: a thread's time was not counted */
	KT_DROP_EXIT_FULL,	/* exit_stats map full: an exit reason was not counted */
	KT_DROP_DEAD_FULL,	/* dead_vms map full: a VM's last row was lost */
	KT_DROP_OPEN_GUEST,	/* thread exited with an unclosed guest interval: not counted */
	KT_DROP_NET_FULL,	/* net_stats map full: a tap's packets were not counted */
	KT_DROP_BIO_FULL,	/* bios map full: a disk request's latency was not measured */
	KT_DROP_PERCPU_FULL,	/* vm_percpu map full: a VM's counters or samples were lost */
	KT_DROP_UNSEEN_SWITCH_IN, /* a slice's switch-in was not reported: its non-clock counts lost */
	KT_DROP_READING_RACE,	/* a counter reading lost four races in a row: its growth waits */
	KT_NR_DROPS,
};

/*
 * Where a VM's hypervisor time goes, as the sampler classifies it: user-space code of its VMM,
 * or the kernel code the sample's address falls in (symbol ranges from /proc/kallsyms).
 */
enum kt_component {
	KT_COMP_QEMU_USER,	/* the VMM's own user-space code */
	KT_COMP_KVM,		/* kvm, kvm_intel, kvm_amd: exit handling */
	KT_COMP_VHOST,		/* vhost workers */
	KT_COMP_TAP,		/* tun/tap, macvtap */
	KT_COMP_BRIDGE,		/* the Linux bridge */
	KT_COMP_NET,		/* the rest of the network stack and NIC drivers */
	KT_COMP_BLOCK,		/* file systems, the block layer and storage drivers */
	KT_COMP_SCHED,		/* the scheduler */
	KT_COMP_OTHER_KERNEL,	/* any other kernel code */
	KT_NR_COMPONENTS,
};

/* Kernel text from start up to the next range's start belongs to component. */
struct kt_ksym_range {
	__u64 start;
	__u32 component;	/* enum kt_component */
	__u32 pad;
};

/*
 * A VM's figures kept per CPU, so the hot paths need no atomics (user space sums the CPUs):
 * perf counter growth split at kvm_entry/kvm_exit, and the sampler's hits by component.
 */
struct kt_vm_percpu {
	__u64 counter_guest[KT_MAX_COUNTERS];
	__u64 counter_host[KT_MAX_COUNTERS];
	__u64 samples_own[KT_NR_COMPONENTS];	/* the VM's own threads in host mode */
	/* Network code its threads ran in softirq: its own traffic, or others' on their time. */
	__u64 samples_softirq[KT_NR_COMPONENTS];
	__u64 samples_ext[KT_NR_COMPONENTS];	/* its kernel workers (vhost kthreads) */
};

/* Sampler hits in network code run in softirq outside any VM: shared among VMs by bytes. */
struct kt_shared_samples {
	__u64 hits[KT_NR_COMPONENTS];
};

/* Time and events accumulated for one thread, or folded from a VM's exited threads. */
struct kt_totals {
	__u64 on_cpu_ns;	/* time on a CPU, from sched_switch */
	__u64 guest_ns;		/* time in guest mode, kvm_entry -> kvm_exit */
	/* Guest time as the kernel accounts it (task->gtime, charged a tick at a time): the
	 * source where kvm_entry/kvm_exit do not fire (software KVM such as PVM). */
	__u64 kernel_guest_ns;
	__u64 run_delay_ns;	/* time runnable but waiting for a CPU */
	__u64 exits;		/* VM exits */
	__u64 exit_handling_ns;	/* kvm_exit -> next kvm_entry */
	/* Of which the vCPU thread was on a CPU (KVM's and the VMM's work for the exits), and
	 * off one (halted, waiting for a CPU, stopped): the two add up to exit_handling_ns once
	 * each exit's next entry is seen. */
	__u64 exit_handling_cpu_ns;
	__u64 exit_wait_ns;
	__u64 disk_read_bytes;	/* the kernel's per-task I/O accounting (ioac.read_bytes) */
	__u64 disk_write_bytes;	/* ioac.write_bytes: charged when pages are dirtied */
	__u64 disk_read_ops;	/* bios the thread submitted */
	__u64 disk_write_ops;
	/* The kernel's user/system split (task->utime, stime; user includes guest time), charged
	 * a tick at a time: what /proc/PID/stat shows, without a read of it per VM and interval. */
	__u64 user_ns;
	__u64 system_ns;
};

/*
 * One tracked VMM process. The incarnation stamp (birth_ns) tells two processes that reused
 * one PID apart: user space sees a new stamp and starts a new VM.
 */
struct kt_vm {
	__u64 birth_ns;		/* bpf_ktime_get_ns() when tracking began */
	__u64 death_ns;		/* when the last thread exited (dead_vms only) */
	__u32 flags;		/* enum kt_vm_flags */
	__u32 tgid;
	struct kt_totals exited; /* totals of the VM's threads that have exited */
	__u64 disk_lat_ns;	/* summed latency of its completed disk requests */
	__u64 disk_lat_count;
	__u32 nr_threads;	/* thread entries made for it and not folded yet */
	__u32 pad;
	char comm[KT_COMM_LEN];	/* its name when tracking began: names one first drained dead */
};

/*
 * A VMM's arguments as it exec'd (NUL-separated, their first KT_ARGS_LEN bytes): the name of a VM
 * whose process went before user space read its /proc/PID/cmdline (QEMU -daemonize: the process
 * that execs exits once its fork runs the VM, often within the first interval).
 */
#define KT_ARGS_LEN		512

struct kt_vmm_args {
	__u64 birth_ns;		/* the kt_vm incarnation they belong to; 0 while being written */
	__u32 len;
	__u32 pad;
	char args[KT_ARGS_LEN];
};

/* Key of the dead_vms map: a VM that has exited and awaits its last row. */
struct kt_vm_key {
	__u32 tgid;
	__u32 pad;
	__u64 birth_ns;
};

/* The kernel's run_delay is not readable (no CONFIG_SCHED_INFO): measure it from wakeups. */
#define KT_NO_RUN_DELAY		(~0ULL)
/* A counter the kernel does not keep (no CONFIG_TASK_IO_ACCOUNTING), or not read yet. */
#define KT_NO_COUNTER		(~0ULL)

/* How far a task is in exiting (struct kt_task_sample.exiting). */
enum kt_exiting {
	KT_RUNNING_ON,		/* not exiting */
	KT_EXITING,		/* PF_EXITING: in do_exit, may still sleep */
	KT_EXIT_DEAD,		/* TASK_DEAD: its final switch-out, or (task iterator) done with it */
};

/*
 * What the scheduler hook reads of a task: its IDs always, the rest only when it is tracked.
 * exec_ns and run_delay_ns are the kernel's own cumulative on-CPU and run-queue time
 * (se.sum_exec_runtime, sched_info.run_delay), the figures /proc/PID/schedstat shows.
 */
struct kt_task_sample {
	__u32 tid;
	__u32 tgid;
	__u64 exec_ns;
	__u64 run_delay_ns;	/* KT_NO_RUN_DELAY when the kernel does not keep it */
	__u64 io_read_bytes;	/* ioac.read_bytes, ioac.write_bytes; KT_NO_COUNTER without */
	__u64 io_write_bytes;
	__u64 guest_ns;		/* task->gtime: the kernel's cumulative guest time */
	__u64 utime_ns;		/* task->utime, task->stime */
	__u64 stime_ns;
	__u64 start_ns;		/* task->start_time (CLOCK_MONOTONIC); 0: unknown */
	__u16 runnable;		/* still TASK_RUNNING when switched out: preempted */
	__u16 exiting;		/* enum kt_exiting */
	/* 1 + the KVM vCPU id it is in KVM_RUN for; 0 (as a zeroed sample): not in KVM_RUN */
	__u32 in_kvm_run;
};

/* A disk request (bio) a tracked VM submitted, until it completes; bio 0: a free slot. */
struct kt_bio {
	__u64 bio;		/* its address */
	__u32 tgid;
	__u32 pad;
	__u64 vm_birth_ns;
	__u64 start_ns;
};

/* The slots of the bios whose address hashes to one set. */
struct kt_bio_set {
	struct kt_bio way[KT_BIO_WAYS];
};

/* One thread of a tracked VM. Timestamps are CLOCK_MONOTONIC ns; 0 means "not in that state". */
/* Exits of one reason a vCPU counts in its own entry; isa 0: an unused run. */
#define KT_EXIT_RUNS		4	/* a power of two: an index is masked, not checked */
struct kt_exit_run {
	__u32 isa;		/* 1 = VMX, 2 = SVM */
	__u32 reason;
	__u64 exits;
	__u64 handling_ns;
};

/*
 * A vCPU's exits: the pending one's times, and the exits of its latest reasons not yet in
 * exit_stats. A reason's run moves there when a reason not among them takes its place or the
 * thread ends, so that exits of a few reasons in turn (I/O, interrupt, HLT, timer) cost no
 * lookup each. Readers add the runs to their reasons' exit_stats, read first.
 */
struct kt_vcpu_exits {
	__u64 exit_since;	/* last kvm_exit at; 0 if no exit awaits its next entry */
	__u64 handling_since;	/* on its CPU handling that exit since; 0: not */
	__u32 vcpu_id;		/* KVM vCPU id */
	/* 16 bits: the thread entry is built on stacks whose frames add up to near 512 B. */
	__u16 exit_run;		/* runs[] of the latest exit, whose handling the next entry ends */
	__u16 next_run;		/* the run a reason not in runs[] replaces next: the oldest */
	struct kt_exit_run runs[KT_EXIT_RUNS];
};

struct kt_thread {
	__u32 tgid;
	__u32 flags;		/* enum kt_thread_flags */
	__u64 vm_birth_ns;	/* incarnation of the VM this thread belongs to */
	__u64 born_ns;		/* when its entry was made: a reused tid's new thread is told apart */
	__u64 oncpu_since;	/* on a CPU since; 0 if off CPU or not known */
	__u64 exec_seen;	/* the kernel's sum_exec_runtime when last read; KT_NO_COUNTER: not yet */
	__u64 run_delay_seen;	/* the kernel's run_delay when last read; KT_NO_RUN_DELAY: unread */
	__u64 io_read_seen;	/* ioac counters when last read; KT_NO_COUNTER: unread */
	__u64 io_write_seen;
	__u64 gtime_seen;	/* task->gtime when last read; KT_NO_COUNTER: unread */
	__u64 utime_seen;	/* task->utime, stime when last read; KT_NO_COUNTER: unread */
	__u64 stime_seen;
	__u64 runnable_since;	/* woken or preempted at; 0 if not waiting (wakeup fallback) */
	__u64 waiting_since;	/* off its CPU with an exit pending since; 0: not */
	__u64 switch_exec_ns;	/* its runtime at its last switch-out (switch_lean); 0: none */
	/*
	 * Its vcpu_id: valid with KT_THREAD_VCPU or _IN_KVM_RUN. While the vCPU keeps a CPU, the
	 * rest is in that CPU's live copy (kt_vcpu_live), given back when it leaves.
	 */
	struct kt_vcpu_exits kvm;
	struct kt_totals sum;
};

/*
 * A vCPU's latest kvm_entry on this CPU, until its kvm_exit (per-CPU, one slot). From
 * kvm_entry to kvm_exit the CPU runs the guest with interrupts off: the exit comes on the same
 * CPU, from the same thread, before any other program runs there but in NMI context. So the
 * entry writes here without asking who runs (a helper call) or looking the thread up, and the
 * exit takes it into the thread's entry; a program finding it open otherwise (a switch-out)
 * knows a kvm_exit was missed by the thread on this CPU.
 */
struct kt_guest_entry {
	__u64 at;		/* entered at; 0: no entry open */
	__u32 tid;		/* the thread, where the entry asked (perf counters); 0: unasked */
	__u32 vcpu_id;
};

/* Exits per reason for one VM incarnation (per-CPU values, summed by user space). */
struct kt_exit_key {
	__u32 tgid;
	__u32 isa;
	__u32 reason;
	__u32 pad;
	__u64 vm_birth_ns;
};

struct kt_exit_stat {
	__u64 count;
	__u64 handling_ns;
};

/* A VM's network device (its tap), as user space found it: which VM incarnation owns it. */
struct kt_iface {
	__u32 tgid;
	__u32 pad;
	__u64 vm_birth_ns;
};

/* Traffic of one tap for one VM incarnation (per-CPU values, summed by user space). */
struct kt_net_key {
	__u32 ifindex;
	__u32 tgid;
	__u64 vm_birth_ns;
};

/* From the guest's point of view, as libvirt reports it: what the host sends on the tap is
 * received by the guest. Bytes are whole frames, as the tap's own statistics count them. */
struct kt_net_stat {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

/* Context of the kt_add_vm syscall program. */
struct kt_add_vm_args {
	__u32 tgid;
	__u32 from_birth;	/* in: KT_VM_FROM_BIRTH applies */
	__u64 birth_ns;		/* out: the VM's incarnation stamp, 0 if it could not be tracked */
	char comm[KT_COMM_LEN];	/* in: its name (/proc/PID/comm) */
};

#endif /* KVMTRACE_H */
