/* SPDX-License-Identifier: GPL-2.0 */
/* The accounting's running state, shared by its two halves: records (account.c) and the figures
 * in them (account_figures.c). */
#ifndef KT_ACCOUNT_PRIV_H
#define KT_ACCOUNT_PRIV_H

#include "account.h"

struct thread_state {
	uint32_t tid;
	uint64_t born_ns;		/* the BPF entry's: a reused tid is another thread */
	bool seen;			/* in the current snapshot */
	struct kt_totals reported;
	int kvm_index;			/* vCPU whose KVM exits it reports; -1: none yet */
	__u64 kvm_exits_reported;
	char name[KT_THREAD_NAME];
	__u32 renames;			/* KT_THREAD_RENAMES of its flags when its name was read */
};

struct exit_state {
	uint32_t isa, reason;
	struct kt_exit_stat reported;
};

/* The kernel's user, system and guest time of a VM's threads (charged a tick at a time). */
struct kernel_ticks {
	__u64 user_ns, system_ns, guest_ns;
};

struct vm_state {
	uint32_t tgid;
	uint64_t birth_ns;
	char name[KT_NAME_MAX];
	char uuid[KT_UUID_LEN];
	struct kt_totals reported;
	struct kt_net_stat net_reported;
	__u64 lat_ns_reported, lat_count_reported;
	struct kernel_ticks ticks_reported;	/* its threads' ticks, as far as reported */
	struct proc_cputime proc_life;	/* its whole life's ticks (/proc), when last read */
	unsigned int life_needs;	/* intervals that split by proc_life */
	struct kt_vm_percpu percpu_reported;
	struct kvm_exit_counts kvm_last;	/* KVM's statistics at the last drain */
	struct kt_exit_stat kvm_reported;
	enum guest_source guest_source;	/* chosen at the first guest evidence, then kept */
	bool seen;		/* present in the current snapshot */
	bool ended;		/* its process ended: this snapshot has its last figures */
	bool handed_over;	/* account_hand_over(): no rows, no name */
	uint32_t successor;	/* the process it was handed over to */
	struct thread_state *threads;
	size_t nr_threads;
	struct exit_state *exits;
	size_t nr_exits;
};

struct account {
	struct vm_source src;
	struct account_opts opts;
	struct kt_shared_samples shared_reported;
	struct vm_state *vms;
	size_t nr_vms;
	/* This interval's output, rebuilt by every update. */
	struct vm_record *records;
	struct vcpu_record *vcpu_pool;
	struct exit_record *exit_pool;
	/* The snapshot's threads (indices) by VM incarnation, each VM's in snapshot order. */
	size_t *thread_order;
};

/* One VM incarnation's threads in the snapshot: indices into its threads, in its order. */
struct thread_span {
	const size_t *idx;
	size_t n;
};

/* The advance of every running total since the last report (guest time capped by on-CPU). */
struct kt_totals totals_advance(struct kt_totals *reported, const struct kt_totals *cur);
/* The state of thread t (tid, as drained): a new one for a tid reused by another thread. */
struct thread_state *thread_state_get(struct vm_state *vs, uint32_t tid, const struct kt_thread *t);
/* Forgets the threads the current snapshot no longer has (they exited). */
void thread_states_sweep(struct vm_state *vs);
struct exit_state *exit_state_get(struct vm_state *vs, uint32_t isa, uint32_t reason);

/* The figures of a VM's record (account_figures.c). */
size_t vcpu_rows(struct account *a, struct vm_state *vs, const struct snapshot *s,
		 struct thread_span threads, const struct kvm_exit_counts *kvm_now,
		 struct vcpu_record *out);
size_t exit_rows(struct vm_state *vs, const struct snapshot *s, struct exit_record *out);
void split_hyp(struct account *a, struct vm_state *vs, const struct kt_totals *cur, bool dead,
	       struct vm_record *r);
void net_figures(struct account *a, struct vm_state *vs, const struct snapshot *s,
		 struct vm_record *r);
const struct kt_vm_percpu *percpu_of(const struct snapshot *s, const struct vm_state *vs);
void counter_figures(struct account *a, struct vm_state *vs,
		     const struct kt_vm_percpu *cur, struct vm_record *r);
void component_figures(struct account *a, struct vm_state *vs,
		       const struct kt_vm_percpu *cur, struct vm_record *r);
void share_network_work(struct account *a, const struct snapshot *s,
			struct vm_record *records, size_t n);
void read_kvm_exits(struct account *a, const struct vm_state *vs,
		    struct kvm_exit_counts *now);
void kvm_exit_figures(struct vm_state *vs, const struct kvm_exit_counts *now,
		      struct vm_record *r);
#endif /* KT_ACCOUNT_PRIV_H */
