/* SPDX-License-Identifier: GPL-2.0 */
/* I/O: the disk requests of tracked VMs (operations, latency) and the frames on their taps. */
#ifndef KT_IO_BPF_H
#define KT_IO_BPF_H

#include "kt_maps.bpf.h"

/*
 * block_bio_queue, in the submitter's context: a bio of a tracked VM is an operation, and is
 * remembered until its request completes, for the latency. start_ns: when the submitter began
 * (0: unknown), for an entry made here (an I/O worker born since the last task iteration).
 */
static __always_inline void kt_on_bio_queue(__u64 now, __u32 tid, __u32 tgid, __u64 start_ns,
					    __u64 bio, bool write)
{
	struct kt_bio pending = {};
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
	pending.tgid = tgid;
	pending.vm_birth_ns = t->vm_birth_ns;
	pending.start_ns = kt_now(now);
	if (bpf_map_update_elem(&bios, &bio, &pending, BPF_ANY))
		kt_count_drop(KT_DROP_BIO_FULL);
}

/* block_rq_complete: the request's first bio says whether a tracked VM waited for it. */
static __always_inline void kt_on_rq_complete(__u64 now, __u64 bio)
{
	struct kt_bio *pending = bpf_map_lookup_elem(&bios, &bio);
	struct kt_vm *vm;
	__u64 latency;

	if (!pending)
		return;
	vm = bpf_map_lookup_elem(&vms, &pending->tgid);
	if (vm && vm->birth_ns == pending->vm_birth_ns) {
		now = kt_now(now);
		latency = now > pending->start_ns ? now - pending->start_ns : 0;
		__sync_fetch_and_add(&vm->disk_lat_ns, latency);
		__sync_fetch_and_add(&vm->disk_lat_count, 1);
	}
	bpf_map_delete_elem(&bios, &bio);
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
