/* SPDX-License-Identifier: GPL-2.0 */
/* What the accounting asks of the host, answered from libvirt where it knows, else /proc. */
#ifndef KT_VMSOURCE_H
#define KT_VMSOURCE_H

#include <time.h>

#include "account.h"
#include "domains.h"
#include "tracer.h"

/* A scan of a VMM's fds: how many it held then, and when (CLOCK_MONOTONIC s). */
struct fd_scan {
	long long nr_fds;
	time_t at;
};

/*
 * What is kept of a VMM process while it lives: its KVM statistics reader and the /proc files
 * read at every interval, open, so that a reading is one system call (a path's open and close
 * cost twice the read).
 */
struct host_kvm_stats {
	int pid;
	struct kvm_stats *ks;	/* NULL: no KVM VM, or none readable (and why was said once) */
	int statm_fd;		/* /proc/PID/statm, or -1 */
	int fd_dir;		/* /proc/PID/fd, or -1 */
	size_t kind_desc[KT_KVM_EXIT_KINDS];	/* its exit categories (kvm_stats_desc's j) */
	size_t nr_kinds;

	long long nr_fds;	/* fds it holds, as host_find_taps counted them this interval */
	struct fd_scan vcpus;	/* the last scan of its fds for hot-plugged vCPUs */
	struct fd_scan taps;	/* and for taps */
	bool taps_due;		/* this interval's host_find_taps scans them */
};

/*
 * What the sources know of the host: the libvirt join, the taps found this interval, and the
 * KVM statistics of the VMs whose guest time comes from the kernel.
 */
struct host {
	struct domains *domains;
	struct tracer *tracer;		/* the arguments VMMs exec'd with; NULL: none */
	struct iface_binding *taps;
	size_t nr_taps;
	struct host_kvm_stats *kvm;
	size_t nr_kvm;
};
/*
 * A VM's name and UUID: the libvirt domain whose VMM it is (by PID, or by the UUID on its
 * command line), else its command line (QEMU -name/-uuid, Firecracker --id), else comm-PID.
 * h->domains may be a disabled join.
 */
struct vm_source host_vm_source(struct host *h);

/*
 * Finds the taps of the snapshot's live VMs (the tun devices their VMMs hold), for counting,
 * and lets go of the KVM statistics of processes no longer in it.
 */
void host_find_taps(struct host *h, const struct snapshot *s);

/* Closes what host_find_taps and the KVM statistics hold (not the libvirt join). */
void host_release(struct host *h);

#endif /* KT_VMSOURCE_H */
