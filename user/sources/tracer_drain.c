// SPDX-License-Identifier: GPL-2.0
/* Draining the BPF maps into a snapshot once per interval, and freeing what ended. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "netdev.h"
#include "tracer.h"
#include "tracer_priv.h"

static void *grow(void *arr, size_t *cap, size_t want, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *p;

	if (want <= *cap)
		return arr;
	while (n < want)
		n *= 2;
	p = realloc(arr, n * elem);
	if (p)
		*cap = n;
	return p;
}

typedef int (*entry_fn)(const void *key, const void *value, void *ctx);

/*
 * Calls fn for every entry of a map: in batches where the kernel has them (5.6+), else key by
 * key. Per-CPU values arrive as one value per possible CPU.
 */
static int walk_map(struct tracer *tr, struct bpf_map *map, entry_fn fn, void *ctx)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	size_t max = bpf_map__max_entries(map), i;
	int fd = bpf_map__fd(map), err;
	__u64 in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	char *keys, *values;
	__u32 count;
	void *key = NULL;

	if (bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH)
		vsz = ((vsz + 7) / 8 * 8) * tr->nr_cpus;
	if (tr->buf_len < max * (ksz + vsz)) {
		free(tr->buf);
		tr->buf_len = max * (ksz + vsz);
		tr->buf = malloc(tr->buf_len);
		if (!tr->buf) {
			tr->buf_len = 0;
			return -ENOMEM;
		}
	}
	keys = tr->buf;
	values = keys + max * ksz;
	while (!done) {
		count = max;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, values,
					   &count, NULL);
		if (err && errno != ENOENT)
			break;
		done = err != 0;
		for (i = 0; i < count; i++)
			fn(keys + i * ksz, values + i * vsz, ctx);
		in_batch = out_batch;
		first = false;
	}
	if (done)
		return 0;
	if (!first || (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP))
		return -errno;
	/* No batch operations: walk key by key. */
	while (!bpf_map_get_next_key(fd, key, keys)) {
		if (!bpf_map_lookup_elem(fd, keys, values))
			fn(keys, values, ctx);
		memcpy(keys + ksz, keys, ksz);
		key = keys + ksz;
	}
	return 0;
}

struct drain_ctx {
	struct tracer *tr;
	struct snapshot *s;
	bool dead;
	int err;
};

static int add_vm_entry(const void *key, const void *value, void *ctx)
{
	struct drain_ctx *d = ctx;
	struct snapshot *s = d->s;
	struct snap_vm *vms = grow(s->vms, &s->cap_vms, s->nr_vms + 1, sizeof(*vms));

	(void)key;
	if (!vms)
		return d->err = -ENOMEM;
	s->vms = vms;
	vms[s->nr_vms].dead = d->dead;
	memcpy(&vms[s->nr_vms].vm, value, sizeof(struct kt_vm));
	s->nr_vms++;
	return 0;
}

static int add_thread_entry(const void *key, const void *value, void *ctx)
{
	struct drain_ctx *d = ctx;
	struct snapshot *s = d->s;
	struct snap_thread *th = grow(s->threads, &s->cap_threads, s->nr_threads + 1, sizeof(*th));

	if (!th)
		return d->err = -ENOMEM;
	s->threads = th;
	th[s->nr_threads].tid = *(const __u32 *)key;
	memcpy(&th[s->nr_threads].t, value, sizeof(struct kt_thread));
	s->nr_threads++;
	return 0;
}

static int add_exit_entry(const void *key, const void *value, void *ctx)
{
	struct drain_ctx *d = ctx;
	struct snapshot *s = d->s;
	struct snap_exit *ex = grow(s->exits, &s->cap_exits, s->nr_exits + 1, sizeof(*ex));
	const struct kt_exit_stat *per_cpu = value;
	struct kt_exit_stat sum = {};
	int cpu;

	if (!ex)
		return d->err = -ENOMEM;
	s->exits = ex;
	for (cpu = 0; cpu < d->tr->nr_cpus; cpu++) {
		sum.count += per_cpu[cpu].count;
		sum.handling_ns += per_cpu[cpu].handling_ns;
	}
	memcpy(&ex[s->nr_exits].key, key, sizeof(struct kt_exit_key));
	ex[s->nr_exits].stat = sum;
	s->nr_exits++;
	return 0;
}

static int read_drops(struct tracer *tr, struct snapshot *s)
{
	__u64 per_cpu[tr->nr_cpus];
	__u32 key;
	int cpu;

	for (key = 0; key < KT_NR_DROPS; key++) {
		if (bpf_map__lookup_elem(tr->skel->maps.drops, &key, sizeof(key), per_cpu,
					 sizeof(per_cpu), 0))
			return -errno;
		s->drops[key] = 0;
		for (cpu = 0; cpu < tr->nr_cpus; cpu++)
			s->drops[key] += per_cpu[cpu];
	}
	return 0;
}

static int add_net_entry(const void *key, const void *value, void *ctx)
{
	struct drain_ctx *d = ctx;
	struct snapshot *s = d->s;
	struct snap_net *net = grow(s->nets, &s->cap_nets, s->nr_nets + 1, sizeof(*net));
	const struct kt_net_stat *per_cpu = value;
	struct kt_net_stat sum = {};
	int cpu;

	if (!net)
		return d->err = -ENOMEM;
	s->nets = net;
	for (cpu = 0; cpu < d->tr->nr_cpus; cpu++) {
		sum.rx_bytes += per_cpu[cpu].rx_bytes;
		sum.rx_packets += per_cpu[cpu].rx_packets;
		sum.tx_bytes += per_cpu[cpu].tx_bytes;
		sum.tx_packets += per_cpu[cpu].tx_packets;
	}
	memcpy(&net[s->nr_nets].key, key, sizeof(struct kt_net_key));
	net[s->nr_nets].stat = sum;
	s->nr_nets++;
	return 0;
}

static int add_percpu_entry(const void *key, const void *value, void *ctx)
{
	struct drain_ctx *d = ctx;
	struct snapshot *s = d->s;
	struct snap_percpu *pc = grow(s->percpu, &s->cap_percpu, s->nr_percpu + 1, sizeof(*pc));
	const struct kt_vm_percpu *per_cpu = value;
	struct kt_vm_percpu *sum;
	int cpu, i;

	if (!pc)
		return d->err = -ENOMEM;
	s->percpu = pc;
	memcpy(&pc[s->nr_percpu].key, key, sizeof(struct kt_vm_key));
	sum = &pc[s->nr_percpu].sum;
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < d->tr->nr_cpus; cpu++) {
		for (i = 0; i < KT_MAX_COUNTERS; i++) {
			sum->counter_guest[i] += per_cpu[cpu].counter_guest[i];
			sum->counter_host[i] += per_cpu[cpu].counter_host[i];
		}
		for (i = 0; i < KT_NR_COMPONENTS; i++) {
			sum->samples_own[i] += per_cpu[cpu].samples_own[i];
			sum->samples_softirq[i] += per_cpu[cpu].samples_softirq[i];
			sum->samples_ext[i] += per_cpu[cpu].samples_ext[i];
		}
	}
	s->nr_percpu++;
	return 0;
}

static int read_shared_samples(struct tracer *tr, struct snapshot *s)
{
	struct kt_shared_samples per_cpu[tr->nr_cpus];
	__u32 key = 0;
	int cpu, i;

	if (bpf_map__lookup_elem(tr->skel->maps.shared_samples, &key, sizeof(key), per_cpu,
				 sizeof(per_cpu), 0))
		return -errno;
	memset(&s->shared, 0, sizeof(s->shared));
	for (cpu = 0; cpu < tr->nr_cpus; cpu++)
		for (i = 0; i < KT_NR_COMPONENTS; i++)
			s->shared.hits[i] += per_cpu[cpu].hits[i];
	return 0;
}

static bool vm_known(const struct snapshot *s, __u32 tgid, __u64 birth)
{
	size_t i;

	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].vm.tgid == tgid && s->vms[i].vm.birth_ns == birth)
			return true;
	return false;
}

/* Threads of VMs already forgotten (their exit was never seen) are freed, not reported. */
static void drop_orphan_threads(struct tracer *tr, struct snapshot *s)
{
	const struct kt_thread *t;
	size_t i, kept = 0;

	for (i = 0; i < s->nr_threads; i++) {
		t = &s->threads[i].t;
		if (vm_known(s, t->tgid, t->vm_birth_ns)) {
			s->threads[kept++] = s->threads[i];
			continue;
		}
		/* A VM tracked since the VMs were walked has it next time; else its VM is gone. */
		if (t->vm_birth_ns < s->mono_ns)
			bpf_map__delete_elem(tr->skel->maps.threads, &s->threads[i].tid,
					     sizeof(__u32), 0);
	}
	s->nr_threads = kept;
}

/* Threads folded into their VM leave the map once drained: this snapshot has their last row. */
static void forget_folded_threads(struct tracer *tr, const struct snapshot *s)
{
	size_t i;

	for (i = 0; i < s->nr_threads; i++)
		if (s->threads[i].t.flags & KT_THREAD_FOLDED)
			bpf_map__delete_elem(tr->skel->maps.threads, &s->threads[i].tid,
					     sizeof(__u32), 0);
}

struct kt_net_stat tap_guest_view(const struct netdev_counts *c)
{
	return (struct kt_net_stat){
		.rx_bytes = c->tx_bytes, .rx_packets = c->tx_packets,
		.tx_bytes = c->rx_bytes, .tx_packets = c->rx_packets,
	};
}

/* Adds a counter's growth since its last reading; one that went back (a new device of that
 * index) adds nothing, so that what was counted stays. */
static void take_growth(__u64 *sum, __u64 *last, __u64 cur, bool read)
{
	if (read && cur > *last)
		*sum += cur - *last;
	*last = cur;
}

static void advance_tap(struct tap_reading *r, const struct kt_net_stat *cur)
{
	take_growth(&r->now.rx_bytes, &r->last.rx_bytes, cur->rx_bytes, r->read);
	take_growth(&r->now.rx_packets, &r->last.rx_packets, cur->rx_packets, r->read);
	take_growth(&r->now.tx_bytes, &r->last.tx_bytes, cur->tx_bytes, r->read);
	take_growth(&r->now.tx_packets, &r->last.tx_packets, cur->tx_packets, r->read);
	r->read = true;
}

/*
 * The taps' traffic from their own counters: one dump for all, into the snapshot's entries as
 * the network hooks would have made them. A failed dump leaves the figures as they were.
 */
static int read_taps(struct tracer *tr, struct snapshot *s)
{
	struct netdev_counts *c = calloc(tr->nr_taps + 1, sizeof(*c));
	struct snap_net *nets;
	struct kt_net_stat cur;
	size_t i;
	int err;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < tr->nr_taps; i++)
		c[i].ifindex = tr->taps[i].key.ifindex;
	err = tr->nr_taps ? netdev_read(tr->netdev_fd, c, tr->nr_taps) : 0;
	if (err && !tr->netdev_failures++)
		kt_warn("cannot read the taps' counters (rtnetlink): %s; their figures stay as "
			"they were until a reading succeeds", strerror(-err));
	for (i = 0; i < tr->nr_taps; i++) {
		if (tr->taps[i].bound && c[i].found) {
			cur = tap_guest_view(&c[i]);
			advance_tap(&tr->taps[i], &cur);
		}
	}
	free(c);
	nets = grow(s->nets, &s->cap_nets, tr->nr_taps + 1, sizeof(*nets));
	if (!nets)
		return -ENOMEM;
	s->nets = nets;
	for (i = 0; i < tr->nr_taps; i++)
		nets[i] = (struct snap_net){ .key = tr->taps[i].key, .stat = tr->taps[i].now };
	s->nr_nets = tr->nr_taps;
	return 0;
}

/* Runs the task iterator over every task, its output (the scan's processes) into s->procs. */
static int iterate_tasks(struct tracer *tr, struct snapshot *s)
{
	uint32_t *procs;
	ssize_t got;
	int fd;

	s->nr_procs = 0;
	s->listed = tr->skel->bss->scan_wanted;
	s->listed_after = tr->list_after;
	fd = bpf_iter_create(bpf_link__fd(tr->skel->links.kt_task_iter));
	if (fd < 0)
		return -errno;
	do {
		procs = grow(s->procs, &s->cap_procs, s->nr_procs + 256, sizeof(*procs));
		if (!procs) {
			close(fd);
			return -ENOMEM;
		}
		s->procs = procs;
		/* Records of 4 bytes, asked for whole: no read splits one. */
		got = read(fd, s->procs + s->nr_procs,
			   (s->cap_procs - s->nr_procs) * sizeof(*procs));
		if (got > 0)
			s->nr_procs += got / sizeof(*procs);
	} while (got > 0);
	got = got < 0 ? -errno : 0;
	close(fd);
	return got;
}

/*
 * Brings the tracked threads up to now: by the task iterator (kt_on_task_seen), and, where
 * sched_switch keeps figures (the counters at least), those running on the CPUs
 * (kt_on_cpu_flush).
 */
static int flush_threads(struct tracer *tr, struct snapshot *s)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU);
	int fd, cpu, err = 0;

	s->listed = false;
	if (tr->task_iter)
		err = iterate_tasks(tr, s);
	if (!tr->cpu_flush)
		return err;
	fd = bpf_program__fd(tr->skel->progs.kt_cpu_flush);
	/* An offline CPU refuses: nothing runs there to flush. */
	for (cpu = 0; cpu < tr->nr_cpus; cpu++) {
		opts.cpu = cpu;
		bpf_prog_test_run_opts(fd, &opts);
	}
	return err;
}

int tracer_drain(struct tracer *tr, struct snapshot *s)
{
	struct drain_ctx d = { .tr = tr, .s = s };
	struct timespec ts;
	size_t nr_live;
	int err;

	s->nr_vms = s->nr_threads = s->nr_exits = s->nr_nets = s->nr_percpu = 0;
	tracer_follow_modules(tr);
	err = flush_threads(tr, s);
	if (err)
		return err;
	/*
	 * Stamped once the running threads' figures are brought up to now, not before: a drain
	 * preempted on a busy host would otherwise count the time between stamp and flush in the
	 * wrong row (a counters row once read 2.35% over perf stat -p).
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	clock_gettime(CLOCK_REALTIME, &s->wall);
	s->mono_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	/*
	 * VMs before threads: a thread that exits between the two walks is then in neither its
	 * VM's exited sum nor the threads (the next drain has it), rather than in both. Exit
	 * reasons before threads likewise (snapshot_add_exit_runs). Only the kvm hooks count
	 * exits by reason: without them the table stays empty, and a walk of it would still
	 * visit each of its 16384 buckets.
	 */
	if (tr->guest_observable)
		err = walk_map(tr, tr->skel->maps.exit_stats, add_exit_entry, &d);
	if (!err)
		err = walk_map(tr, tr->skel->maps.vms, add_vm_entry, &d);
	nr_live = s->nr_vms;
	d.dead = true;
	if (!err)
		err = walk_map(tr, tr->skel->maps.dead_vms, add_vm_entry, &d);
	if (!err && !d.err)
		snapshot_drop_retired_twins(s, nr_live);
	if (!err)
		err = walk_map(tr, tr->skel->maps.threads, add_thread_entry, &d);
	if (!err && !d.err)
		err = snapshot_add_exit_runs(s);
	if (!err)
		err = tr->netdev_fd >= 0 ? read_taps(tr, s) :
		      walk_map(tr, tr->skel->maps.net_stats, add_net_entry, &d);
	if (!err)
		err = walk_map(tr, tr->skel->maps.vm_percpu, add_percpu_entry, &d);
	if (!err)
		err = read_shared_samples(tr, s);
	if (!err)
		err = read_drops(tr, s);
	if (err || d.err)
		return err ? err : d.err;
	drop_orphan_threads(tr, s);
	forget_folded_threads(tr, s);
	return 0;
}

static void forget_taps(struct tracer *tr, const struct kt_vm *vm)
{
	size_t i, kept = 0;

	for (i = 0; i < tr->nr_taps; i++)
		if (tr->taps[i].key.tgid != vm->tgid || tr->taps[i].key.vm_birth_ns != vm->birth_ns)
			tr->taps[kept++] = tr->taps[i];
	tr->nr_taps = kept;
}

/* vm's entry in vmm_args, when there is one of this incarnation. */
static bool exec_args_of(struct tracer *tr, const struct kt_vm *vm, struct kt_vmm_args *a)
{
	__u32 tgid = vm->tgid;

	return !bpf_map__lookup_elem(tr->skel->maps.vmm_args, &tgid, sizeof(tgid), a, sizeof(*a),
				     0) && a->birth_ns == vm->birth_ns;
}

size_t tracer_exec_args(struct tracer *tr, const struct kt_vm *vm, char *buf, size_t len)
{
	struct kt_vmm_args a;
	const char *end;
	size_t n;

	if (!exec_args_of(tr, vm, &a))
		return 0;
	/* The last argument may be cut short: up to the last NUL only. */
	end = memrchr(a.args, '\0', a.len < sizeof(a.args) ? a.len : sizeof(a.args));
	n = end ? (size_t)(end + 1 - a.args) : 0;
	if (n > len)
		n = 0;
	memcpy(buf, a.args, n);
	return n;
}

void tracer_forget(struct tracer *tr, const struct snapshot *s, const struct kt_vm *vm)
{
	struct kt_vmm_args args;
	__u32 tgid = vm->tgid;
	struct kt_vm_key key = { .tgid = vm->tgid, .birth_ns = vm->birth_ns };
	size_t i;

	bpf_map__delete_elem(tr->skel->maps.dead_vms, &key, sizeof(key), 0);
	bpf_map__delete_elem(tr->skel->maps.vm_percpu, &key, sizeof(key), 0);
	for (i = 0; i < s->nr_exits; i++)
		if (s->exits[i].key.tgid == vm->tgid && s->exits[i].key.vm_birth_ns == vm->birth_ns)
			bpf_map__delete_elem(tr->skel->maps.exit_stats, &s->exits[i].key,
					     sizeof(s->exits[i].key), 0);
	for (i = 0; i < s->nr_threads; i++)
		if (s->threads[i].t.tgid == vm->tgid && s->threads[i].t.vm_birth_ns == vm->birth_ns)
			bpf_map__delete_elem(tr->skel->maps.threads, &s->threads[i].tid,
					     sizeof(__u32), 0);
	for (i = 0; i < s->nr_nets; i++)
		if (s->nets[i].key.tgid == vm->tgid && s->nets[i].key.vm_birth_ns == vm->birth_ns)
			bpf_map__delete_elem(tr->skel->maps.net_stats, &s->nets[i].key,
					     sizeof(s->nets[i].key), 0);
	if (exec_args_of(tr, vm, &args))
		bpf_map__delete_elem(tr->skel->maps.vmm_args, &tgid, sizeof(tgid), 0);
	forget_taps(tr, vm);
}

void snapshot_free(struct snapshot *s)
{
	free(s->vms);
	free(s->threads);
	free(s->exits);
	free(s->nets);
	free(s->percpu);
	free(s->procs);
	memset(s, 0, sizeof(*s));
}
