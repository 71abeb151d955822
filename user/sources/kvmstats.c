// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "cli_values.h"
#include "kvmstats.h"

/* Not every libc that builds this has the wrappers (glibc 2.36 does): call the kernel. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define ANON_VM "anon_inode:kvm-vm"
#define ANON_VM_STATS "anon_inode:kvm-vm-stats"
#define ANON_VCPU "anon_inode:kvm-vcpu:"
#define ANON_VCPU_STATS "anon_inode:kvm-vcpu-stats:"

struct vcpu {
	int index;
	int fd;
	bool valid;		/* the last read got the whole data block */
	struct kvm_stats_layout layout;
	unsigned char *data;	/* layout.data_size bytes, as read */
};

struct kvm_stats {
	int pidfd;		/* -1 for kvm_stats_new */
	size_t nr, cap;
	struct vcpu *vcpus;	/* sorted by index */
};

/* The decimal number that is all of s, or -1. */
static int parse_index(const char *s)
{
	long v;

	return cli_digits(s, INT_MAX, &v) ? -1 : (int)v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int cmp_stats_fd(const void *a, const void *b)
{
	const struct kvm_vcpu_stats_fd *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int kvm_fds_scan(const char *proc_root, int pid, struct kvm_fds *out)
{
	char path[512], target[128];
	struct dirent *de;
	ssize_t n;
	DIR *dir;
	int idx;

	memset(out, 0, sizeof(*out));
	out->vm_stats_fd = -1;
	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		int fd = parse_index(de->d_name);

		if (fd < 0)
			continue;
		/* Relative to the open folder: no walk of the whole path for each fd. */
		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue;	/* closed since readdir */
		target[n] = '\0';
		if (!strcmp(target, "/dev/kvm")) {
			out->dev_kvm = true;
		} else if (!strcmp(target, ANON_VM)) {
			out->nr_vms++;
		} else if (!strcmp(target, ANON_VM_STATS)) {
			out->vm_stats_fd = fd;
		} else if (!strncmp(target, ANON_VCPU, strlen(ANON_VCPU))) {
			idx = parse_index(target + strlen(ANON_VCPU));
			if (idx < 0)
				continue;
			if (out->nr_vcpus < KVM_FDS_MAX_VCPUS)
				out->vcpu_index[out->nr_vcpus] = idx;
			out->nr_vcpus++;
		} else if (!strncmp(target, ANON_VCPU_STATS, strlen(ANON_VCPU_STATS))) {
			idx = parse_index(target + strlen(ANON_VCPU_STATS));
			if (idx < 0 || out->nr_stats >= KVM_FDS_MAX_VCPUS)
				continue;
			out->stats[out->nr_stats].index = idx;
			out->stats[out->nr_stats].fd = fd;
			out->nr_stats++;
		}
	}
	closedir(dir);
	/* readdir's order is the kernel's fd table walk: sort so callers see vCPU order. */
	qsort(out->vcpu_index, out->nr_vcpus < KVM_FDS_MAX_VCPUS ? out->nr_vcpus :
	      KVM_FDS_MAX_VCPUS, sizeof(out->vcpu_index[0]), cmp_int);
	qsort(out->stats, out->nr_stats, sizeof(out->stats[0]), cmp_stats_fd);
	return 0;
}

/* Reads exactly len bytes at off: 0, 1 when the fd ends first, -1 on an error (errno). */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			return 1;
		done += n;
	}
	return 0;
}

/* Formats why for a pread_full result that is not 0. */
static void read_failure(int ret, const char *what, char *why, size_t len)
{
	if (ret < 0)
		snprintf(why, len, "cannot read its %s: %s", what, strerror(errno));
	else
		snprintf(why, len, "its %s lie past the end of the file", what);
}

void kvm_stats_layout_free(struct kvm_stats_layout *layout)
{
	free(layout->id);
	free(layout->desc);
	free(layout->names);
	memset(layout, 0, sizeof(*layout));
}

int kvm_stats_parse(int fd, struct kvm_stats_layout *layout, char *why, size_t len)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc d;
	size_t one, names_len = 0, i, nlen;
	uint64_t end = 0, ext;
	char *block = NULL, *name, *p, byte;
	int ret;

	memset(layout, 0, sizeof(*layout));
	ret = pread_full(fd, &h, sizeof(h), 0);
	if (ret) {
		read_failure(ret, "header", why, len);
		return -1;
	}
	if (!h.name_size || h.name_size > KVM_STATS_MAX_NAME) {
		snprintf(why, len, "name_size %u is not 1 to %d", h.name_size, KVM_STATS_MAX_NAME);
		return -1;
	}
	if (h.num_desc > KVM_STATS_MAX_DESC) {
		snprintf(why, len, "%u descriptors, more than %d", h.num_desc, KVM_STATS_MAX_DESC);
		return -1;
	}
	/* Each descriptor is the fixed part followed by name_size bytes of name. */
	one = sizeof(struct kvm_stats_desc) + h.name_size;
	block = malloc(one * h.num_desc + h.name_size);
	layout->id = calloc(1, h.name_size + 1);
	layout->desc = calloc(h.num_desc ? h.num_desc : 1, sizeof(*layout->desc));
	if (!block || !layout->id || !layout->desc) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	ret = pread_full(fd, layout->id, h.name_size, h.id_offset);
	if (ret) {
		read_failure(ret, "id", why, len);
		goto fail;
	}
	ret = pread_full(fd, block, one * h.num_desc, h.desc_offset);
	if (ret) {
		read_failure(ret, "descriptors", why, len);
		goto fail;
	}
	for (i = 0; i < h.num_desc; i++) {
		/* memcpy: with an odd name_size the descriptors are not aligned. */
		memcpy(&d, block + i * one, sizeof(d));
		name = block + i * one + sizeof(d);
		nlen = strnlen(name, h.name_size);
		if (!nlen || nlen == h.name_size) {
			snprintf(why, len, "descriptor %zu has %s name", i,
				 nlen ? "an unterminated" : "no");
			goto fail;
		}
		names_len += nlen + 1;
		ext = d.offset + (uint64_t)d.size * sizeof(uint64_t);
		if (ext > end)
			end = ext;
		layout->desc[i].flags = d.flags;
		layout->desc[i].exponent = d.exponent;
		layout->desc[i].size = d.size;
		layout->desc[i].offset = d.offset;
		layout->desc[i].bucket_size = d.bucket_size;
	}
	if (end > KVM_STATS_MAX_DATA) {
		snprintf(why, len, "its values span %llu bytes, more than %u",
			 (unsigned long long)end, KVM_STATS_MAX_DATA);
		goto fail;
	}
	/* The last byte of the values must be there: then every pread of them is whole. */
	if (end) {
		ret = pread_full(fd, &byte, 1, (off_t)h.data_offset + end - 1);
		if (ret) {
			read_failure(ret, "values", why, len);
			goto fail;
		}
	}
	layout->names = malloc(names_len ? names_len : 1);
	if (!layout->names) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	for (i = 0, p = layout->names; i < h.num_desc; i++) {
		name = block + i * one + sizeof(d);
		nlen = strlen(name) + 1;
		memcpy(p, name, nlen);
		layout->desc[i].name = p;
		p += nlen;
	}
	layout->nr_desc = h.num_desc;
	layout->data_offset = h.data_offset;
	layout->data_size = (uint32_t)end;
	free(block);
	return 0;
fail:
	free(block);
	kvm_stats_layout_free(layout);
	return -1;
}

int kvm_stats_layout_find(const struct kvm_stats_layout *layout, const char *name)
{
	uint32_t i;

	for (i = 0; i < layout->nr_desc; i++)
		if (!strcmp(layout->desc[i].name, name))
			return (int)i;
	return -1;
}

bool kvm_stats_is_scalar(const struct kvm_stat_desc *desc)
{
	uint32_t type = desc->flags & KVM_STATS_TYPE_MASK;

	return desc->size >= 1 && (type == KVM_STATS_TYPE_CUMULATIVE ||
				   type == KVM_STATS_TYPE_INSTANT || type == KVM_STATS_TYPE_PEAK);
}

struct kvm_stats *kvm_stats_new(void)
{
	struct kvm_stats *ks = calloc(1, sizeof(*ks));

	if (ks)
		ks->pidfd = -1;
	return ks;
}

/* Where vCPU index is, or would go, in ks's sorted array. */
static size_t vcpu_slot(const struct kvm_stats *ks, int index)
{
	size_t i;

	for (i = 0; i < ks->nr && ks->vcpus[i].index < index; i++)
		;
	return i;
}

int kvm_stats_add(struct kvm_stats *ks, int index, int fd, char *why, size_t len)
{
	struct kvm_stats_layout layout;
	size_t slot = vcpu_slot(ks, index);
	unsigned char *data;
	struct vcpu *v;

	if (slot < ks->nr && ks->vcpus[slot].index == index) {
		snprintf(why, len, "vCPU %d is already read", index);
		goto fail;
	}
	if (kvm_stats_parse(fd, &layout, why, len))
		goto fail;
	data = calloc(1, layout.data_size ? layout.data_size : 1);
	if (!data) {
		snprintf(why, len, "out of memory");
		kvm_stats_layout_free(&layout);
		goto fail;
	}
	if (ks->nr == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 8;

		v = realloc(ks->vcpus, cap * sizeof(*v));
		if (!v) {
			snprintf(why, len, "out of memory");
			free(data);
			kvm_stats_layout_free(&layout);
			goto fail;
		}
		ks->vcpus = v;
		ks->cap = cap;
	}
	memmove(&ks->vcpus[slot + 1], &ks->vcpus[slot], (ks->nr - slot) * sizeof(*v));
	v = &ks->vcpus[slot];
	v->index = index;
	v->fd = fd;
	v->valid = false;
	v->layout = layout;
	v->data = data;
	ks->nr++;
	return 0;
fail:
	close(fd);
	return -1;
}

/* Whether ks's duplicate fd still is the vCPU index stats fd the scan saw (not a reused
 * number). An unreadable link is given the benefit of the doubt: the parse checks the format. */
static bool is_vcpu_stats_fd(int fd, int index)
{
	char path[64], target[128], want[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return true;
	target[n] = '\0';
	snprintf(want, sizeof(want), ANON_VCPU_STATS "%d", index);
	return !strcmp(target, want);
}

int kvm_stats_update_fds(struct kvm_stats *ks, const struct kvm_fds *fds, char *why, size_t len)
{
	char reason[256];
	int added = 0, fd;
	size_t i, slot;

	if (ks->pidfd < 0) {
		snprintf(why, len, "holds no process to duplicate fds from");
		return -1;
	}
	for (i = 0; i < fds->nr_stats; i++) {
		slot = vcpu_slot(ks, fds->stats[i].index);
		if (slot < ks->nr && ks->vcpus[slot].index == fds->stats[i].index)
			continue;
		fd = syscall(SYS_pidfd_getfd, ks->pidfd, fds->stats[i].fd, 0);
		if (fd < 0 && errno == EBADF)
			continue;	/* closed since the scan */
		if (fd < 0) {
			if (errno == ESRCH)
				snprintf(why, len, "has ended");
			else if (errno == ENOSYS)
				snprintf(why, len, "cannot duplicate its stats fds: pidfd_getfd "
					 "needs Linux 5.6");
			else
				snprintf(why, len, "cannot duplicate its stats fds: %s%s",
					 strerror(errno),
					 errno == EPERM ? "; needs CAP_SYS_PTRACE" : "");
			return -1;
		}
		if (!is_vcpu_stats_fd(fd, fds->stats[i].index)) {
			close(fd);
			continue;
		}
		if (kvm_stats_add(ks, fds->stats[i].index, fd, reason, sizeof(reason))) {
			snprintf(why, len, "its vCPU %d stats fd: %s", fds->stats[i].index, reason);
			return -1;
		}
		added++;
	}
	return added;
}

struct kvm_stats *kvm_stats_open(int pid, const struct kvm_fds *fds, char *why, size_t len)
{
	struct kvm_stats *ks;

	if (!fds->nr_stats) {
		if (!fds->nr_vms && !fds->nr_vcpus)
			snprintf(why, len, "holds no KVM VM");
		else
			snprintf(why, len, "holds no KVM stats fd (the VMM did not ask for "
				 "KVM_GET_STATS_FD)");
		return NULL;
	}
	ks = kvm_stats_new();
	if (!ks) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	ks->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (ks->pidfd < 0) {
		if (errno == ESRCH)
			snprintf(why, len, "has ended");
		else
			snprintf(why, len, "cannot open a pidfd for it: %s%s", strerror(errno),
				 errno == ENOSYS ? " (needs Linux 5.3)" : "");
		kvm_stats_close(ks);
		return NULL;
	}
	if (kvm_stats_update_fds(ks, fds, why, len) < 0) {
		kvm_stats_close(ks);
		return NULL;
	}
	if (!ks->nr) {
		snprintf(why, len, "closed its stats fds while they were being read");
		kvm_stats_close(ks);
		return NULL;
	}
	return ks;
}

int kvm_stats_read(struct kvm_stats *ks)
{
	int ret = 0;
	size_t i;

	for (i = 0; i < ks->nr; i++) {
		struct vcpu *v = &ks->vcpus[i];

		v->valid = !pread_full(v->fd, v->data, v->layout.data_size,
				       v->layout.data_offset);
		if (!v->valid)
			ret = -1;
	}
	return ret;
}

size_t kvm_stats_nr_vcpus(const struct kvm_stats *ks)
{
	return ks->nr;
}

int kvm_stats_vcpu_index(const struct kvm_stats *ks, size_t i)
{
	return i < ks->nr ? ks->vcpus[i].index : -1;
}

const struct kvm_stats_layout *kvm_stats_vcpu_layout(const struct kvm_stats *ks, size_t i)
{
	return i < ks->nr ? &ks->vcpus[i].layout : NULL;
}

/*
 * Where name is in v's descriptors: at hint first (another vCPU's index of it), as every vCPU of
 * a kernel has the same descriptors in the same order, so a lookup is one comparison, not a
 * search; -1 when v has no such statistic.
 */
static int vcpu_find(const struct vcpu *v, const char *name, int hint)
{
	const struct kvm_stats_layout *l = &v->layout;

	if (hint >= 0 && (uint32_t)hint < l->nr_desc && !strcmp(l->desc[hint].name, name))
		return hint;
	return kvm_stats_layout_find(l, name);
}

/* The value and descriptor of name in vCPU v, if it is a scalar there and was read. */
static const struct kvm_stat_desc *vcpu_value(const struct vcpu *v, const char *name, int hint,
					      uint64_t *val)
{
	int j = vcpu_find(v, name, hint);
	const struct kvm_stat_desc *d;

	if (j < 0 || !v->valid)
		return NULL;
	d = &v->layout.desc[j];
	if (!kvm_stats_is_scalar(d))
		return NULL;
	/* The parse checked offset + size * 8 <= data_size; memcpy: offsets need no alignment. */
	memcpy(val, v->data + d->offset, sizeof(*val));
	return d;
}

bool kvm_stats_value(const struct kvm_stats *ks, size_t i, const char *name, uint64_t *v)
{
	return i < ks->nr && vcpu_value(&ks->vcpus[i], name, -1, v);
}

/* kvm_stats_sum with name looked for at hint first in each vCPU. */
static bool sum_at(const struct kvm_stats *ks, const char *name, int hint, uint64_t *v)
{
	const struct kvm_stat_desc *d;
	bool found = false;
	uint64_t total = 0, val;
	size_t i;

	for (i = 0; i < ks->nr; i++) {
		d = vcpu_value(&ks->vcpus[i], name, hint, &val);
		if (!d)
			continue;
		found = true;
		/* A peak is a high-water mark: the VM's is the highest of its vCPUs'. */
		if ((d->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_PEAK)
			total = val > total ? val : total;
		else
			total += val;
	}
	if (found)
		*v = total;
	return found;
}

bool kvm_stats_sum(const struct kvm_stats *ks, const char *name, uint64_t *v)
{
	return sum_at(ks, name, ks->nr ? kvm_stats_layout_find(&ks->vcpus[0].layout, name) : -1, v);
}

bool kvm_stats_sum_desc(const struct kvm_stats *ks, size_t j, uint64_t *v)
{
	const struct kvm_stat_desc *d = kvm_stats_desc(ks, j);

	return d && sum_at(ks, d->name, (int)j, v);
}

const struct kvm_stat_desc *kvm_stats_desc(const struct kvm_stats *ks, size_t j)
{
	if (!ks->nr || j >= ks->vcpus[0].layout.nr_desc)
		return NULL;
	return &ks->vcpus[0].layout.desc[j];
}

void kvm_stats_close(struct kvm_stats *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->nr; i++) {
		close(ks->vcpus[i].fd);
		kvm_stats_layout_free(&ks->vcpus[i].layout);
		free(ks->vcpus[i].data);
	}
	if (ks->pidfd >= 0)
		close(ks->pidfd);
	free(ks->vcpus);
	free(ks);
}
