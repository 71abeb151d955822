/* SPDX-License-Identifier: GPL-2.0 */
/* I/O: the disk requests of tracked VMs (operations, latency) and the frames on their taps. */
#ifndef KT_IO_BPF_H
#define KT_IO_BPF_H

#include "kt_maps.bpf.h"

/*
 * A bio that never completes as a request's first (merged behind another, split) leaves its
 * slot taken: after this long the slot is free again, and a completion of that address is of
 * another bio that reuses it.
 */
#define KT_STALE_BIO_NS		(2 * 1000000000ull)
/* The address of a slot being filled, no bio's: neither free nor stale, nor anyone's match. */
#define KT_BIO_FILLING		1

/* The set of a bio: the high half of a kernel address is alike for all, the low one is hashed. */
static __always_inline struct kt_bio_set *kt_bio_set_of(__u64 bio)
{
	__u32 key = ((__u32)bio * 0x9e3779b1u) >> (32 - KT_BIO_SET_BITS);

	return bpf_map_lookup_elem(&bios, &key);
}

/* Takes a free or stale slot of bio's set for it; none: its latency is not measured. */
static __always_inline void kt_bio_remember(__u64 bio, __u32 tgid, __u64 vm_birth_ns, __u64 now)
{
	struct kt_bio_set *set = kt_bio_set_of(bio);
	struct kt_bio *slot;
	__u64 old;
	int i;

	if (!set)
		return;
	for (i = 0; i < KT_BIO_WAYS; i++) {
		slot = &set->way[i];
		old = slot->bio;
		if (old == KT_BIO_FILLING ||
		    (old && old != bio && now < slot->start_ns + KT_STALE_BIO_NS))
			continue;
		/*
		 * Claimed, filled, then published (xchg: ordered after the fields), so that another
		 * CPU never judges a half-written slot stale; the completion of a stale bio replaced
		 * fails its own claim.
		 */
		if (__sync_val_compare_and_swap(&slot->bio, old, KT_BIO_FILLING) != old)
			continue;
		slot->tgid = tgid;
		slot->vm_birth_ns = vm_birth_ns;
		slot->start_ns = now;
		__sync_lock_test_and_set(&slot->bio, bio);
		return;
	}
	kt_count_drop(KT_DROP_BIO_FULL);
}

/* The slot of a pending bio of a tracked VM; NULL for any other, the test every request pays. */
static __always_inline struct kt_bio *kt_bio_pending(__u64 bio)
{
	struct kt_bio_set *set;
	int i;

	if (!bio)	/* a flush: no data */
		return NULL;
	set = kt_bio_set_of(bio);
	if (!set)
		return NULL;
	for (i = 0; i < KT_BIO_WAYS; i++)
		if (set->way[i].bio == bio)
			return &set->way[i];
	return NULL;
}

/*
 * block_bio_queue, in the submitter's context: a bio of a tracked VM is an operation, and is
 * remembered until its request completes, for the latency. start_ns: when the submitter began
 * (0: unknown), for an entry made here (an I/O worker born since the last task iteration).
 */
static __always_inline void kt_on_bio_queue(__u64 now, __u32 tid, __u32 tgid, __u64 start_ns,
					    __u64 bio, bool write)
{
	struct kt_thread *t;

	if (!kt_is_tracked(tgid))
		return;
	t = kt_thread_of(tid, tgid, start_ns);
	if (!t)
		return;
	if (write)
		t->sum.disk_write_ops++;
	else
		t->sum.disk_read_ops++;
	kt_bio_remember(bio, tgid, t->vm_birth_ns, kt_now(now));
}

/* block_rq_complete: the request's first bio says whether a tracked VM waited for it. */
static __always_inline void kt_on_rq_complete(__u64 now, __u64 bio)
{
	struct kt_bio *slot = kt_bio_pending(bio);
	struct kt_bio pending;
	struct kt_vm *vm;
	__u64 latency;

	if (!slot)
		return;
	pending = *slot;
	/* Freed by one: a partial completion on another CPU, or a bio taking a stale slot. */
	if (__sync_val_compare_and_swap(&slot->bio, bio, 0) != bio)
		return;
	now = kt_now(now);
	if (now >= pending.start_ns + KT_STALE_BIO_NS)
		return;
	vm = bpf_map_lookup_elem(&vms, &pending.tgid);
	if (vm && vm->birth_ns == pending.vm_birth_ns) {
		latency = now > pending.start_ns ? now - pending.start_ns : 0;
		__sync_fetch_and_add(&vm->disk_lat_ns, latency);
		__sync_fetch_and_add(&vm->disk_lat_count, 1);
	}
}

/*
 * A frame on a network device: counted when the device is a tracked VM's tap (one lookup decides
 * for every other packet of the host). to_guest: the host transmits it on the tap.
 */
static __always_inline void kt_on_net(__u32 ifindex, __u64 bytes, bool to_guest)
{
	struct kt_iface *ifc = bpf_map_lookup_elem(&ifaces, &ifindex);
	struct kt_net_stat *stat, fresh = {};
	struct kt_net_key key = {};

	if (!ifc)
		return;
	key.ifindex = ifindex;
	key.tgid = ifc->tgid;
	key.vm_birth_ns = ifc->vm_birth_ns;
	stat = bpf_map_lookup_elem(&net_stats, &key);
	if (!stat) {
		if (bpf_map_update_elem(&net_stats, &key, &fresh, BPF_NOEXIST) == -KT_E2BIG)
			kt_count_drop(KT_DROP_NET_FULL);
		stat = bpf_map_lookup_elem(&net_stats, &key);
		if (!stat)
			return;
	}
	if (to_guest) {
		stat->rx_bytes += bytes;
		stat->rx_packets++;
	} else {
		stat->tx_bytes += bytes;
		stat->tx_packets++;
	}
}

#endif /* KT_IO_BPF_H */
