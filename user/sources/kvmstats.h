/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's own per-vCPU statistics, read from outside the VMM: the binary stats fds
 * (KVM_GET_STATS_FD, Documentation/virt/kvm/api.rst) a VMM holds are found in /proc/PID/fd,
 * duplicated with pidfd_getfd(2) (CAP_SYS_PTRACE) and read with pread. Opening /proc/PID/fd/N
 * gives ENXIO, so only stats fds the VMM already asked for can be read. Counters are looked up
 * by KVM's names: the layout differs between kernels and architectures.
 */
#ifndef KT_KVMSTATS_H
#define KT_KVMSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* vCPU fds kvm_fds_scan records; more are counted in nr_vcpus but not listed. */
#define KVM_FDS_MAX_VCPUS 1024
/* A stats fd with more descriptors, or longer names, is refused as malformed. */
#define KVM_STATS_MAX_DESC 512
#define KVM_STATS_MAX_NAME 256
/* The most bytes of values (data block) a stats fd may have: 1 MiB. */
#define KVM_STATS_MAX_DATA (1u << 20)

/* A vCPU stats fd in a VMM: its fd number there and its vCPU's id. */
struct kvm_vcpu_stats_fd {
	int index;		/* N of anon_inode:kvm-vcpu-stats:N, the KVM_CREATE_VCPU id */
	int fd;
};

/* What kvm_fds_scan found in a process's fds; every list is sorted by vCPU index. */
struct kvm_fds {
	bool dev_kvm;		/* holds /dev/kvm open */
	int nr_vms;		/* anon_inode:kvm-vm fds: a process holding one is a VM */
	int vm_stats_fd;	/* fd number of anon_inode:kvm-vm-stats, or -1 */
	size_t nr_vcpus;	/* anon_inode:kvm-vcpu:N fds, all of them */
	int vcpu_index[KVM_FDS_MAX_VCPUS];	/* the first KVM_FDS_MAX_VCPUS of them */
	size_t nr_stats;	/* anon_inode:kvm-vcpu-stats:N fds listed */
	struct kvm_vcpu_stats_fd stats[KVM_FDS_MAX_VCPUS];
};

/*
 * Fills out from the links in proc_root/PID/fd (proc_root is "/proc" but for tests). Returns 0,
 * or -1 when the process is gone or its fds are unreadable (another user's, without privileges).
 */
int kvm_fds_scan(const char *proc_root, int pid, struct kvm_fds *out);

/* One statistic as its descriptor gives it; flags hold KVM_STATS_TYPE/UNIT/BASE_* bits. */
struct kvm_stat_desc {
	const char *name;
	uint32_t flags;
	int16_t exponent;	/* the value is in unit * base^exponent (e.g. ns: SECONDS, -9) */
	uint16_t size;		/* u64 values: 1, or the buckets of a histogram */
	uint32_t offset;	/* of the first value in the data block */
	uint32_t bucket_size;	/* of a linear histogram */
};

/* The layout of one stats fd, parsed once: its values are then one pread away. */
struct kvm_stats_layout {
	char *id;		/* KVM's id string, e.g. "kvm-1234/vcpu-0" */
	uint32_t data_offset;	/* where the values start in the fd */
	uint32_t data_size;	/* bytes from data_offset that hold every descriptor's values */
	uint32_t nr_desc;
	struct kvm_stat_desc *desc;
	char *names;		/* the descriptors' names, packed */
};

/*
 * Parses the header, id and descriptors of a stats image in fd (a KVM stats fd or, in tests, a
 * memfd) and checks that the whole data block can be read. Refuses more than
 * KVM_STATS_MAX_DESC descriptors, a name_size of 0 or above KVM_STATS_MAX_NAME, unnamed
 * descriptors, values beyond KVM_STATS_MAX_DATA and anything the fd does not hold (a short
 * read): returns 0, or -1 with a one-line reason in why.
 */
int kvm_stats_parse(int fd, struct kvm_stats_layout *layout, char *why, size_t len);

/* Frees what kvm_stats_parse allocated; the layout may then be parsed into again. */
void kvm_stats_layout_free(struct kvm_stats_layout *layout);

/* The index in layout->desc of the statistic called name, or -1. */
int kvm_stats_layout_find(const struct kvm_stats_layout *layout, const char *name);

/*
 * Whether a statistic has one value a caller can read: cumulative, instant and peak ones do;
 * histograms (linear and logarithmic) and types newer than this code are skipped.
 */
bool kvm_stats_is_scalar(const struct kvm_stat_desc *desc);

/* The stats of one VM process's vCPUs, sorted by vCPU index. */
struct kvm_stats;

/*
 * Duplicates the vCPU stats fds of pid that fds lists (pidfd_open and pidfd_getfd) and parses
 * each once. Returns NULL with a one-line reason in why: no VM, no stats fd (the VMM did not ask
 * for KVM_GET_STATS_FD), the process is gone, no permission (needs CAP_SYS_PTRACE), an old
 * kernel, a malformed stats fd. The duplicates keep the VM's struct kvm alive: close when the
 * VMM ends.
 */
struct kvm_stats *kvm_stats_open(int pid, const struct kvm_fds *fds, char *why, size_t len);

/*
 * Adds the vCPUs in fds (a later kvm_fds_scan of the same pid) that ks does not hold yet.
 * Returns how many were added, or -1 with a reason in why (what was held before is kept).
 */
int kvm_stats_update_fds(struct kvm_stats *ks, const struct kvm_fds *fds, char *why, size_t len);

/* A kvm_stats with no vCPUs and no process, for kvm_stats_add (tests, or fds from elsewhere). */
struct kvm_stats *kvm_stats_new(void);

/*
 * Adds vCPU index's stats fd, which ks then owns (and closes, also on failure). Returns 0, or
 * -1 with a reason in why: the fd is malformed, or ks already holds that vCPU.
 */
int kvm_stats_add(struct kvm_stats *ks, int index, int fd, char *why, size_t len);

/*
 * Reads every vCPU's values, one pread of its data block each. Returns 0, or -1 when some vCPU
 * could not be read: its values are then unavailable until a read succeeds.
 */
int kvm_stats_read(struct kvm_stats *ks);

/* How many vCPUs ks holds, and the vCPU id (N of kvm-vcpu-stats:N) of the i-th of them. */
size_t kvm_stats_nr_vcpus(const struct kvm_stats *ks);
int kvm_stats_vcpu_index(const struct kvm_stats *ks, size_t i);

/* The i-th vCPU's layout (its descriptors and id). */
const struct kvm_stats_layout *kvm_stats_vcpu_layout(const struct kvm_stats *ks, size_t i);

/*
 * The last read value of the scalar statistic name for the i-th vCPU. False when that vCPU has
 * no such scalar statistic or its last read failed.
 */
bool kvm_stats_value(const struct kvm_stats *ks, size_t i, const char *name, uint64_t *v);

/*
 * The statistic name over every vCPU that has it and was read: the sum, or for a peak
 * statistic the maximum. False when no vCPU has it.
 */
bool kvm_stats_sum(const struct kvm_stats *ks, const char *name, uint64_t *v);

/* kvm_stats_sum of the statistic kvm_stats_desc(ks, j) names, without a search by name. */
bool kvm_stats_sum_desc(const struct kvm_stats *ks, size_t j, uint64_t *v);

/*
 * The j-th descriptor of the first vCPU (every vCPU of a kernel has the same ones), or NULL past
 * the last: iterate to report every counter, e.g. each cumulative "*_exits".
 */
const struct kvm_stat_desc *kvm_stats_desc(const struct kvm_stats *ks, size_t j);

/* Closes the duplicated fds and frees ks (NULL is fine). */
void kvm_stats_close(struct kvm_stats *ks);

#endif /* KT_KVMSTATS_H */
