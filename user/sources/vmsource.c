// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"
#include "kvmstats.h"
#include "log.h"
#include "vmsource.h"

#define PROC "/proc"

static const struct domain_info *domain_of(struct host *h, int pid, const char *uuid)
{
	struct domains *doms = h->domains;

	const struct domain_info *dom = domains_by_pid(doms, pid);

	return dom ? dom : domains_by_uuid(doms, uuid);
}

static int host_identify(void *ctx, const struct kt_vm *vm, char *name, size_t name_len,
			 char *uuid, size_t uuid_len)
{
	struct host *h = ctx;
	const struct domain_info *dom;
	static struct exec_args exec;
	int pid = vm->tgid;

	exec.len = h->tracer ? tracer_exec_args(h->tracer, vm, exec.args, sizeof(exec.args)) : 0;
	if (discovery_identify(PROC, pid, &exec, name, name_len, uuid, uuid_len))
		return -1;
	dom = domain_of(h, pid, uuid);
	if (dom) {
		snprintf(name, name_len, "%s", dom->name);
		snprintf(uuid, uuid_len, "%s", dom->uuid);
	}
	return 0;
}

static int host_cputime(void *ctx, int pid, struct proc_cputime *ct)
{
	(void)ctx;
	return discovery_cputime(PROC, pid, ct);
}

static int host_thread_name(void *ctx, int pid, int tid, char *out, size_t len)
{
	(void)ctx;
	return discovery_thread_name(PROC, pid, tid, out, len);
}

static int host_vcpus(void *ctx, int pid, const char *uuid)
{
	const struct domain_info *dom = domain_of(ctx, pid, uuid);

	return dom ? dom->vcpus : -1;
}

static int host_taps(void *ctx, int pid)
{
	struct host *h = ctx;
	size_t i;
	int n = 0;

	for (i = 0; i < h->nr_taps; i++)
		n += h->taps[i].tgid == (__u32)pid;
	return n;
}

/*
 * A scan of a VMM's fds (for hot-plugged vCPUs, for taps) costs ~0.2 ms: 40 ms an interval for
 * 200 VMs if each were scanned at every interval. One is due when the number of its fds
 * changed (Linux 6.2 gives it as the size of /proc/PID/fd: one fstat per VM and interval, which
 * both scans share), else every RESCAN_S.
 */
#define RESCAN_S	10

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Opens /proc/PID/name into *fd, closing what it held: a kept fd stays bound to the process it
 * was opened for, so a failed read opens the file again, the PID being another process's now.
 */
static bool proc_reopen(int *fd, int pid, const char *name, int flags)
{
	char path[64];

	if (*fd >= 0)
		close(*fd);
	snprintf(path, sizeof(path), PROC "/%d/%s", pid, name);
	*fd = open(path, flags | O_CLOEXEC);
	return *fd >= 0;
}

static bool fstat_ok(int fd, struct stat *st)
{
	return fd >= 0 && !fstat(fd, st);
}

/* How many fds the VMM holds, or 0 where the kernel does not say. */
static long long fd_count(struct host_kvm_stats *e)
{
	struct stat st;

	if (!fstat_ok(e->fd_dir, &st) &&
	    !(proc_reopen(&e->fd_dir, e->pid, "fd", O_RDONLY | O_DIRECTORY) &&
	      fstat_ok(e->fd_dir, &st)))
		return 0;
	return (long long)st.st_size;
}

/* The VMM's resident memory in bytes, or -1 when it is gone. */
static long long rss_bytes(struct host_kvm_stats *e)
{
	long long rss = e->statm_fd >= 0 ? discovery_rss_bytes(e->statm_fd) : -1;

	if (rss < 0 && proc_reopen(&e->statm_fd, e->pid, "statm", O_RDONLY))
		rss = discovery_rss_bytes(e->statm_fd);
	return rss;
}

/* Is a scan due, n fds held now? If so, it is taken as done now. */
static bool rescan_due(long long n, struct fd_scan *last)
{
	time_t now = mono_s();

	if (n > 0 ? n == last->nr_fds : last->at && now - last->at < RESCAN_S)
		return false;
	last->nr_fds = n;
	last->at = now;
	return true;
}

/*
 * KVM's own exit categories, in the descriptors' order, which a kernel keeps, found once per
 * reader (the descriptors of a VMM's vCPUs do not change): a pass over them by name at every
 * interval cost more than reading them. Returns to user space for a signal or an interrupt
 * request are counted as "*_exits" too, but are no VM exits: they are not part of "exits".
 */
static void find_kinds(struct host_kvm_stats *e)
{
	const struct kvm_stat_desc *d;
	size_t j, n;

	e->nr_kinds = 0;
	for (j = 0; (d = kvm_stats_desc(e->ks, j)) && e->nr_kinds < KT_KVM_EXIT_KINDS; j++) {
		n = strlen(d->name);
		if (!kvm_stats_is_scalar(d) || n <= 6 || strcmp(d->name + n - 6, "_exits") ||
		    !strcmp(d->name, "signal_exits") || !strcmp(d->name, "request_irq_exits"))
			continue;
		e->kind_desc[e->nr_kinds++] = j;
	}
}

/*
 * What is kept of the VMM, made at the first ask; NULL when it is gone. A VMM without KVM (QEMU
 * TCG), or whose fds cannot be read, is kept with no statistics reader.
 */
static struct host_kvm_stats *kvm_stats_of(struct host *h, int pid)
{
	struct host_kvm_stats *e;
	struct kvm_fds fds;
	int statm_fd = -1;
	bool kvm;
	char why[256];
	size_t i;

	for (i = 0; i < h->nr_kvm; i++)
		if (h->kvm[i].pid == pid)
			return &h->kvm[i];
	if (!proc_reopen(&statm_fd, pid, "statm", O_RDONLY))
		return NULL;
	e = realloc(h->kvm, (h->nr_kvm + 1) * sizeof(*e));
	if (!e) {
		close(statm_fd);
		return NULL;
	}
	h->kvm = e;
	e = &h->kvm[h->nr_kvm++];
	e->pid = pid;
	e->statm_fd = statm_fd;
	e->fd_dir = -1;
	e->nr_fds = fd_count(e);
	/* This scan for the vCPUs; the taps' is due. */
	e->vcpus = (struct fd_scan){ .nr_fds = e->nr_fds, .at = mono_s() };
	e->taps = (struct fd_scan){ 0 };
	kvm = !kvm_fds_scan(PROC, pid, &fds) && fds.nr_vms;
	e->ks = kvm ? kvm_stats_open(pid, &fds, why, sizeof(why)) : NULL;
	if (kvm && !e->ks)
		kt_warn("VM pid %d: %s; its exit columns stay empty", pid, why);
	if (e->ks)
		find_kinds(e);
	return e;
}

static void host_memory(void *ctx, int pid, const char *uuid, int64_t *rss, int64_t *guest)
{
	const struct domain_info *dom = domain_of(ctx, pid, uuid);
	struct host_kvm_stats *e = kvm_stats_of(ctx, pid);

	*rss = e ? rss_bytes(e) : -1;
	*guest = dom ? (int64_t)dom->memory_bytes : -1;
}

/* A statistic's name into a kind's, cut to its size. */
static void kind_name(char *out, size_t len, const char *name)
{
	if (!memccpy(out, name, '\0', len))
		out[len - 1] = '\0';
}

static int host_kvm_exits(void *ctx, int pid, struct kvm_exit_counts *out)
{
	struct host_kvm_stats *e = kvm_stats_of(ctx, pid);
	struct kvm_fds fds;
	char why[256];
	size_t j;

	memset(out, 0, sizeof(*out));
	if (!e || !e->ks)
		return -1;
	/* vCPUs hot-plugged since: KVM counts from their creation, so none of theirs is lost. */
	if (rescan_due(e->nr_fds, &e->vcpus)) {
		if (!kvm_fds_scan(PROC, pid, &fds) && fds.nr_stats > kvm_stats_nr_vcpus(e->ks)) {
			kvm_stats_update_fds(e->ks, &fds, why, sizeof(why));
			find_kinds(e);	/* the first vCPU may be another one now */
		}
	}
	if (kvm_stats_read(e->ks) || !kvm_stats_sum(e->ks, "exits", &out->exits))
		return -1;
	for (j = 0; j < e->nr_kinds; j++) {
		kind_name(out->kind[j].name, sizeof(out->kind[j].name),
			  kvm_stats_desc(e->ks, e->kind_desc[j])->name);
		kvm_stats_sum_desc(e->ks, e->kind_desc[j], &out->kind[j].count);
	}
	out->nr_kinds = e->nr_kinds;
	/* Exits KVM handled with no category of its own (hypercalls, page faults, MSRs, ...). */
	if (out->nr_kinds < KT_KVM_EXIT_KINDS) {
		uint64_t categorized = 0;

		for (j = 0; j < out->nr_kinds; j++)
			categorized += out->kind[j].count;
		kind_name(out->kind[out->nr_kinds].name, sizeof(out->kind[0].name), "other_exits");
		out->kind[out->nr_kinds++].count = out->exits > categorized ?
						   out->exits - categorized : 0;
	}
	for (j = 0; j < kvm_stats_nr_vcpus(e->ks) && out->nr_vcpus < KT_KVM_MAX_VCPUS; j++) {
		out->vcpu[out->nr_vcpus].index = kvm_stats_vcpu_index(e->ks, j);
		if (kvm_stats_value(e->ks, j, "exits", &out->vcpu[out->nr_vcpus].exits))
			out->nr_vcpus++;
	}
	out->valid = true;
	return 0;
}

static void host_kvm_stats_close(struct host_kvm_stats *e)
{
	kvm_stats_close(e->ks);
	if (e->statm_fd >= 0)
		close(e->statm_fd);
	if (e->fd_dir >= 0)
		close(e->fd_dir);
}

/* Statistics of processes the snapshot no longer has (their last row is out) are closed. */
static void release_gone_kvm_stats(struct host *h, const struct snapshot *s)
{
	size_t i, j, kept = 0;

	for (i = 0; i < h->nr_kvm; i++) {
		for (j = 0; j < s->nr_vms && s->vms[j].vm.tgid != (__u32)h->kvm[i].pid; j++)
			;
		if (j < s->nr_vms)
			h->kvm[kept++] = h->kvm[i];
		else
			host_kvm_stats_close(&h->kvm[i]);
	}
	h->nr_kvm = kept;
}

void host_release(struct host *h)
{
	size_t i;

	for (i = 0; i < h->nr_kvm; i++)
		host_kvm_stats_close(&h->kvm[i]);
	free(h->kvm);
	free(h->taps);
	h->kvm = NULL;
	h->taps = NULL;
	h->nr_kvm = h->nr_taps = 0;
}

/* The VM's taps as last scanned stand until its next scan is due. */
static bool taps_kept(struct host *h, const struct iface_binding *b)
{
	size_t i;

	for (i = 0; i < h->nr_kvm; i++)
		if (h->kvm[i].pid == (int)b->tgid)
			return !h->kvm[i].taps_due;
	return false;
}

void host_find_taps(struct host *h, const struct snapshot *s)
{
	char names[DOMAIN_MAX_TAPS][TAP_NAME_LEN];
	struct host_kvm_stats *e;
	struct iface_binding *b;
	size_t i, j, n, kept = 0;
	unsigned int ifindex;

	release_gone_kvm_stats(h, s);
	for (i = 0; i < s->nr_vms; i++)
		if (!s->vms[i].dead)
			kvm_stats_of(h, s->vms[i].vm.tgid);	/* made here for a new VM */
	for (i = 0; i < h->nr_kvm; i++) {
		h->kvm[i].nr_fds = fd_count(&h->kvm[i]);
		h->kvm[i].taps_due = rescan_due(h->kvm[i].nr_fds, &h->kvm[i].taps);
	}
	for (i = 0; i < h->nr_taps; i++)
		if (taps_kept(h, &h->taps[i]))
			h->taps[kept++] = h->taps[i];
	h->nr_taps = kept;
	for (i = 0; i < s->nr_vms; i++) {
		if (s->vms[i].dead)
			continue;
		e = kvm_stats_of(h, s->vms[i].vm.tgid);
		if (!e || !e->taps_due)
			continue;
		n = discovery_taps(PROC, s->vms[i].vm.tgid, names, DOMAIN_MAX_TAPS);
		for (j = 0; j < n; j++) {
			ifindex = if_nametoindex(names[j]);
			if (!ifindex)
				continue;
			b = realloc(h->taps, (h->nr_taps + 1) * sizeof(*b));
			if (!b)
				return;
			h->taps = b;
			h->taps[h->nr_taps++] = (struct iface_binding){
				.ifindex = ifindex,
				.tgid = s->vms[i].vm.tgid,
				.vm_birth_ns = s->vms[i].vm.birth_ns,
			};
		}
	}
}

struct vm_source host_vm_source(struct host *h)
{
	struct vm_source src = {
		.identify = host_identify,
		.cputime = host_cputime,
		.thread_name = host_thread_name,
		.vcpus = host_vcpus,
		.taps = host_taps,
		.memory = host_memory,
		.kvm_exits = host_kvm_exits,
		.ctx = h,
	};

	return src;
}
