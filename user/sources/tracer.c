// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "kvmtrace.skel.h"
#include "ksyms.h"
#include "log.h"
#include "netdev.h"
#include "perf_events.h"
#include "sampler_cost.h"
#include "tracer.h"
#include "tracer_priv.h"

#define TRACEFS "/sys/kernel/tracing"
#define KALLSYMS "/proc/kallsyms"
#define MODULES "/proc/modules"
#define BPF_STATS "/proc/sys/kernel/bpf_stats_enabled"


static bool verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	/* libbpf's own messages are multi-line and technical: ours say what failed; -v shows them. */
	return verbose_libbpf ? vfprintf(stderr, fmt, ap) : 0;
}

static bool have_privileges(void)
{
	if (geteuid() == 0)
		return true;
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN))
		return true;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) &&
	       capng_have_capability(CAPNG_EFFECTIVE, CAP_PERFMON);
}

static bool btf_has(const struct btf *btf, const char *name, __u32 kind)
{
	return btf && btf__find_by_name_kind(btf, name, kind) >= 0;
}

/* Does the kernel keep per-task run delay (CONFIG_SCHED_INFO: struct sched_info has fields)? */
static bool kernel_keeps_run_delay(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "sched_info", BTF_KIND_STRUCT) : -1;
	const struct btf_member *m;
	const struct btf_type *t;
	int i;

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), "run_delay"))
			return true;
	return false;
}

/* Classic tracepoints need tracefs; mount it where it is absent, as perf does. */
static bool tracefs_ready(void)
{
	if (!access(TRACEFS "/events", F_OK))
		return true;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL))
		return false;
	kt_info("mounted tracefs on " TRACEFS " (needed for the kvm tracepoints)");
	return true;
}

/* PVM: its kvm tracepoints exist, but nothing fires them. */
static bool software_kvm(void)
{
	return !access("/sys/module/kvm_pvm", F_OK);
}

/* Can the kvm hooks load and attach here? Says why not in why. */
static bool kvm_hooks_usable(const struct btf *vmlinux, char *why, size_t len)
{
	struct btf *kvm_btf = NULL;
	bool typed;

	if (!tracefs_ready()) {
		snprintf(why, len, "cannot mount tracefs on %s: %s", TRACEFS, strerror(errno));
		return false;
	}
	if (access(TRACEFS "/events/kvm/kvm_exit", F_OK) ||
	    access(TRACEFS "/events/kvm/kvm_entry", F_OK)) {
		snprintf(why, len, "no kvm tracepoints (is the kvm module loaded?)");
		return false;
	}
	if (software_kvm()) {
		snprintf(why, len, "software KVM (PVM) has no call sites for them");
		return false;
	}
	/* On distribution kernels kvm is a module whose types live in its own BTF. */
	typed = btf_has(vmlinux, "trace_event_raw_kvm_exit", BTF_KIND_STRUCT);
	if (!typed) {
		kvm_btf = btf__load_module_btf("kvm", (struct btf *)vmlinux);
		typed = btf_has(kvm_btf, "trace_event_raw_kvm_exit", BTF_KIND_STRUCT);
		btf__free(kvm_btf);
	}
	if (!typed)
		snprintf(why, len, "no BTF for the kvm trace records (kernel or kvm module built "
			 "without BTF)");
	return typed;
}

/*
 * Says once where guest figures will come from. The kernel's guest time and KVM's statistics
 * serve where the tracepoints are not hooked or never fire (software KVM such as PVM has no
 * call sites for them); a VM without KVM (QEMU TCG) has no guest mode at all.
 */
static void say_guest_sources(bool wanted, bool hooked, const char *why)
{
	static const char fallback[] = "guest time comes from the kernel's accounting (a tick at "
				       "a time), exits from KVM's statistics";

	if (access("/dev/kvm", F_OK))
		kt_warn("no /dev/kvm: VMs on this host run without KVM (e.g. QEMU TCG); guest "
			"and exit columns will be empty");
	else if (!wanted)
		kt_info("kvm_entry/kvm_exit not hooked (--kvm-hooks off): %s", fallback);
	else if (!hooked && software_kvm() && !access(TRACEFS "/events/kvm/kvm_exit", F_OK))
		kt_warn("this host's KVM is software KVM (PVM), which does not fire kvm_entry/"
			"kvm_exit (left unhooked): %s; guests without KVM (QEMU TCG) have empty "
			"guest columns", fallback);
	else if (!hooked)
		kt_warn("cannot attach kvm:kvm_exit: %s; %s", why, fallback);
}

struct hook {
	struct bpf_program *prog;
	struct bpf_link **link;
};

#define HOOK(skel, name) { (skel)->progs.name, &(skel)->links.name }

/*
 * The scheduler, network and block hooks in their tp_btf form, or the raw_tp twins for kernels without
 * tp_btf. The wakeup hooks only where the kernel keeps no run delay of its own: sched_switch
 * reads it.
 */
static size_t core_hooks(struct kvmtrace *skel, bool tp_btf, bool wakeups, struct hook *out)
{
	const struct hook btf[] = {
		HOOK(skel, kt_sched_switch), HOOK(skel, kt_sched_wakeup),
		HOOK(skel, kt_sched_wakeup_new), HOOK(skel, kt_sched_process_exit),
		HOOK(skel, kt_sched_process_exec), HOOK(skel, kt_net_xmit),
		HOOK(skel, kt_net_receive), HOOK(skel, kt_bio_queue), HOOK(skel, kt_rq_complete),
		HOOK(skel, kt_task_rename),
	};
	const struct hook raw[] = {
		HOOK(skel, kt_sched_switch_raw), HOOK(skel, kt_sched_wakeup_raw),
		HOOK(skel, kt_sched_wakeup_new_raw), HOOK(skel, kt_sched_process_exit_raw),
		HOOK(skel, kt_sched_process_exec_raw), HOOK(skel, kt_net_xmit_raw),
		HOOK(skel, kt_net_receive_raw), HOOK(skel, kt_bio_queue_raw),
		HOOK(skel, kt_rq_complete_raw), HOOK(skel, kt_task_rename_raw),
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(btf) / sizeof(btf[0]); i++) {
		bool wakeup = btf[i].prog == skel->progs.kt_sched_wakeup ||
			      btf[i].prog == skel->progs.kt_sched_wakeup_new;
		bool use = wakeups || !wakeup;

		bpf_program__set_autoload(btf[i].prog, use && tp_btf);
		bpf_program__set_autoload(raw[i].prog, use && !tp_btf);
		if (use)
			out[n++] = tp_btf ? btf[i] : raw[i];
	}
	return n;
}

static int attach_hook(const struct hook *h)
{
	*h->link = bpf_program__attach(h->prog);
	return *h->link ? 0 : -errno;
}

/*
 * The taps' traffic from their own counters, read once per interval, where rtnetlink answers;
 * else a program counts each packet of the host. Says which.
 */
static int open_netdev(void)
{
	struct netdev_counts probe = { .ifindex = 1 };
	int fd = netdev_open(), err = fd < 0 ? -errno : netdev_read(fd, &probe, 1);

	if (!err) {
		kt_info("network figures: the taps' own counters, read once per interval; no "
			"program runs per packet");
		return fd;
	}
	kt_warn("cannot read the devices' counters (rtnetlink): %s; a program counts each "
		"packet instead", strerror(-err));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A hook whose figures come from the kernel's counters instead: left unattached. */
static bool hook_replaced(const struct tracer *tr, const struct bpf_program *prog)
{
	const struct kvmtrace *skel = tr->skel;
	bool net = prog == skel->progs.kt_net_xmit || prog == skel->progs.kt_net_receive ||
		   prog == skel->progs.kt_net_xmit_raw || prog == skel->progs.kt_net_receive_raw;
	bool sched = prog == skel->progs.kt_sched_switch || prog == skel->progs.kt_sched_switch_raw;

	return (net && tr->netdev_fd >= 0) || (sched && !tr->switch_hooked);
}

/* Can the scheduler figures come from a task iterator (Linux 5.8) and the task's freeing? */
static bool task_iter_usable(const struct btf *vmlinux, bool tp_btf, bool wakeups)
{
	return tp_btf && !wakeups && btf_has(vmlinux, "bpf_iter__task", BTF_KIND_STRUCT) &&
	       btf_has(vmlinux, "btf_trace_sched_process_free", BTF_KIND_TYPEDEF);
}

/*
 * The scheduler figures from the kernel's per-task counters, read once per interval by the task
 * iterator, and a thread's final ones at its freeing, where the kernel allows. sched_switch is
 * hooked only where a figure needs it: an exit's handling, split where the vCPU leaves its CPU
 * (kvm hooks), and the counters (read at every switch of a VM thread); it then keeps only those,
 * or, without the iterator, every figure. Says once which it is and why.
 */
static void choose_sched_source(struct tracer *tr, bool usable, bool kvm)
{
	const char *why = NULL;
	bool counters = false;
	size_t i;

	for (i = 0; i < KT_MAX_COUNTERS; i++)
		counters |= tracer_counter_active(tr, i);
	if (kvm)
		why = "kvm_entry/kvm_exit are hooked (--kvm-hooks off leaves them)";
	else if (counters)
		why = "--counters are counted per VM thread (--counters none leaves them)";
	tr->switch_hooked = true;
	tr->cpu_flush = true;
	if (usable) {
		struct hook iter = HOOK(tr->skel, kt_task_iter);
		struct hook freeing = HOOK(tr->skel, kt_sched_process_free);

		tr->task_iter = !attach_hook(&iter) && !attach_hook(&freeing);
		if (!tr->task_iter)
			kt_info("scheduler figures: read at every context switch (cannot attach the "
				"task iterator)");
	} else {
		kt_info("scheduler figures: read at every context switch (this kernel has no task "
			"iterator or no run delay of its own)");
	}
	if (!tr->task_iter)
		return;
	tr->switch_hooked = why != NULL;
	/* Counters, and the exits a vCPU keeps on its CPU (kt_vcpu_live), wait for it there. */
	tr->cpu_flush = counters || kvm;
	tr->skel->bss->switch_lean = tr->switch_hooked;
	tr->skel->bss->switch_exits = kvm;
	if (why)
		kt_info("scheduler figures: the kernel's per-task counters, read once per interval; "
			"sched_switch runs for VM threads only, for what no counter gives (%s)", why);
	else
		kt_info("scheduler figures: the kernel's per-task counters, read once per interval; "
			"no program runs at context switches");
}

/*
 * Loads the kernel text ranges of /proc/kallsyms into the sampler's table; the slots after
 * them get the sentinel start that no address reaches.
 */
static int load_ksym_ranges(struct tracer *tr)
{
	struct ksym_ranges kr = {};
	struct kt_ksym_range *all;
	__u32 *keys, i, count = KT_MAX_KSYM_RANGES;
	int fd = bpf_map__fd(tr->skel->maps.ksym_ranges), err;

	tr->modules_seen = ksym_modules_fingerprint(MODULES);
	err = ksym_ranges_load(KALLSYMS, &kr);
	if (err)
		return err;
	all = calloc(KT_MAX_KSYM_RANGES, sizeof(*all));
	keys = calloc(KT_MAX_KSYM_RANGES, sizeof(*keys));
	if (!all || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < KT_MAX_KSYM_RANGES; i++) {
		keys[i] = i;
		if (i < kr.nr)
			all[i] = kr.range[i];
		else
			all[i].start = ~0ULL;
	}
	err = bpf_map_update_batch(fd, keys, all, &count, NULL) ? -errno : 0;
	/* Kernels before 5.6 update key by key. */
	for (i = 0; err && i < KT_MAX_KSYM_RANGES; i++)
		if (bpf_map_update_elem(fd, &keys[i], &all[i], BPF_ANY))
			break;
	if (err && i == KT_MAX_KSYM_RANGES)
		err = 0;
out:
	free(all);
	free(keys);
	ksym_ranges_free(&kr);
	return err;
}

void tracer_follow_modules(struct tracer *tr)
{
	/* A module loaded or unloaded moves kernel text: classify samples by the new layout. */
	if (tr->sampler && ksym_modules_fingerprint(MODULES) != tr->modules_seen &&
	    load_ksym_ranges(tr))
		kt_warn("cannot reload kernel symbols after a module change; samples in moved "
			"code count as other_kernel");
}

/*
 * The sampler's twin: the exact softirq test needs the preempt count's address (with
 * CONFIG_KALLSYMS_ALL); elsewhere the network softirqs' entry and exit hooks (returned in
 * softirq_hooks, NULL progs when not needed) keep a flag. NULL without a sampler.
 */
static struct bpf_program *choose_sampler(struct kvmtrace *skel, bool sampler, bool tp_btf,
					  struct hook *softirq_hooks)
{
	bool flag = sampler && !ksym_exists(KALLSYMS, "__preempt_count");
	struct bpf_program *prog = flag ? skel->progs.kt_sample_softirq_flag :
				   skel->progs.kt_sample;
	const struct hook btf[] = {
		HOOK(skel, kt_softirq_entry), HOOK(skel, kt_softirq_exit),
	};
	const struct hook raw[] = {
		HOOK(skel, kt_softirq_entry_raw), HOOK(skel, kt_softirq_exit_raw),
	};
	int i;

	bpf_program__set_autoload(skel->progs.kt_sample, sampler && !flag);
	bpf_program__set_autoload(skel->progs.kt_sample_softirq_flag, flag);
	for (i = 0; i < 2; i++) {
		bpf_program__set_autoload(btf[i].prog, flag && tp_btf);
		bpf_program__set_autoload(raw[i].prog, flag && !tp_btf);
		softirq_hooks[i] = tp_btf ? btf[i] : raw[i];
		if (!flag)
			softirq_hooks[i].prog = NULL;
	}
	return sampler ? prog : NULL;
}

/* Starts the sampler; without it the component columns stay empty, which a warning says. */
static void start_sampler(struct tracer *tr, struct bpf_program *prog, unsigned int hz,
			  const struct hook *softirq_hooks)
{
	char why[256];
	int err, i;

	for (i = 0; i < 2; i++) {
		err = softirq_hooks[i].prog ? attach_hook(&softirq_hooks[i]) : 0;
		if (err) {
			kt_warn("cannot attach %s: %s; hypervisor component columns will be empty",
				bpf_program__section_name(softirq_hooks[i].prog), strerror(-err));
			return;
		}
	}
	err = load_ksym_ranges(tr);
	if (err) {
		kt_warn("cannot read kernel symbols from " KALLSYMS ": %s; hypervisor component "
			"columns will be empty", err == -EPERM ? "addresses hidden "
			"(kernel.kptr_restrict): run as root" : strerror(-err));
		return;
	}
	tr->sampler = sampler_open(prog, hz, why, sizeof(why));
	if (!tr->sampler)
		kt_warn("cannot start the sampler: %s; hypervisor component columns will be empty",
			why);
}

struct tracer *tracer_open(const struct tracer_opts *opts, char *why, size_t len)
{
	struct btf *vmlinux = NULL;
	struct hook hooks[16];
	struct tracer *tr;
	char kvm_why[256];
	struct bpf_program *sample_prog;
	struct hook softirq_hooks[2];
	bool kvm, tp_btf, wakeups, task_iter;
	size_t i, n;
	int err;

	verbose_libbpf = opts->verbose;
	libbpf_set_print(libbpf_print);
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, len, "the kernel has no BTF (/sys/kernel/btf/vmlinux): use a kernel "
			 "built with CONFIG_DEBUG_INFO_BTF=y (Linux 5.5 or later)");
		return NULL;
	}
	if (!have_privileges()) {
		snprintf(why, len, "needs root, or CAP_BPF and CAP_PERFMON: run it with sudo");
		return NULL;
	}
	tr = calloc(1, sizeof(*tr));
	if (!tr) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	/* Kept open: each interval asks whether bpf_stats is on with one pread(), no open(). */
	tr->bpf_stats_fd = open(BPF_STATS, O_RDONLY | O_CLOEXEC);
	tr->netdev_fd = open_netdev();
	tr->nr_cpus = libbpf_num_possible_cpus();
	vmlinux = btf__load_vmlinux_btf();
	tp_btf = btf_has(vmlinux, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	wakeups = !kernel_keeps_run_delay(vmlinux);
	tr->disk_observable = btf_has(vmlinux, "task_io_accounting", BTF_KIND_STRUCT);
	kvm = opts->kvm_hooks && kvm_hooks_usable(vmlinux, kvm_why, sizeof(kvm_why));
	task_iter = task_iter_usable(vmlinux, tp_btf, wakeups);
	btf__free(vmlinux);

	tr->skel = kvmtrace__open();
	if (!tr->skel) {
		snprintf(why, len, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	tr->skel->rodata->discover = opts->discover;
	n = core_hooks(tr->skel, tp_btf, wakeups, hooks);
	bpf_program__set_autoload(tr->skel->progs.kt_task_iter, task_iter);
	bpf_program__set_autoload(tr->skel->progs.kt_sched_process_free, task_iter);
	bpf_program__set_autoload(tr->skel->progs.kt_kvm_entry, kvm);
	bpf_program__set_autoload(tr->skel->progs.kt_kvm_exit, kvm);
	tr->skel->rodata->nr_counters = opts->nr_counters;
	for (i = 0; i < opts->nr_counters; i++)
		if (counter_is_clock(&opts->counters[i]))
			tr->skel->rodata->clock_counters |= 1U << i;
	bpf_map__set_max_entries(tr->skel->maps.counters, tr->nr_cpus * KT_MAX_COUNTERS);
	sample_prog = choose_sampler(tr->skel, opts->sample_hz > 0, tp_btf, softirq_hooks);
	err = kvmtrace__load(tr->skel);
	if (err) {
		snprintf(why, len, "cannot load the BPF programs: %s; run with -v for the "
			 "verifier's log", strerror(-err));
		goto fail;
	}
	/* kvm_exit first: an entry we see is then always closed by an exit we see. */
	if (kvm) {
		struct hook kvm_exit = HOOK(tr->skel, kt_kvm_exit);
		struct hook kvm_entry = HOOK(tr->skel, kt_kvm_entry);

		err = attach_hook(&kvm_exit);
		if (!err)
			err = attach_hook(&kvm_entry);
		if (err) {
			kvm = false;
			snprintf(kvm_why, sizeof(kvm_why), "%s", strerror(-err));
		}
	}
	say_guest_sources(opts->kvm_hooks, kvm, kvm_why);
	tr->guest_observable = kvm;
	if (opts->nr_counters) {
		tr->counters = counters_open(opts->counters, opts->nr_counters,
					     bpf_map__fd(tr->skel->maps.counters));
		if (!tr->counters) {
			snprintf(why, len, "cannot set up the perf counters: %s", strerror(errno));
			goto fail;
		}
	}
	choose_sched_source(tr, task_iter, kvm);
	for (i = 0; i < n; i++) {
		if (hook_replaced(tr, hooks[i].prog))
			continue;
		err = attach_hook(&hooks[i]);
		if (err) {
			snprintf(why, len, "cannot attach %s: %s",
				 bpf_program__section_name(hooks[i].prog), strerror(-err));
			goto fail;
		}
	}
	if (opts->sample_hz)
		start_sampler(tr, sample_prog, opts->sample_hz, softirq_hooks);
	return tr;
fail:
	tracer_close(tr);
	return NULL;
}

bool tracer_guest_observable(const struct tracer *tr)
{
	return tr->guest_observable;
}

bool tracer_disk_observable(const struct tracer *tr)
{
	return tr->disk_observable;
}

bool tracer_counter_active(const struct tracer *tr, size_t i)
{
	return tr->counters && counters_active(tr->counters, i);
}

__u64 tracer_sample_period_ns(const struct tracer *tr)
{
	return tr->sampler ? sampler_period_ns(tr->sampler) : 0;
}

unsigned int tracer_sample_hz(const struct tracer *tr)
{
	return sampler_hz(tr->sampler);
}

unsigned int tracer_sampled_cpus(const struct tracer *tr)
{
	return sampler_nr_cpus(tr->sampler);
}

int tracer_set_sample_hz(struct tracer *tr, unsigned int hz, char *why, size_t len)
{
	if (!tr->sampler) {
		kt_why(why, len, "the sampler does not run");
		return -1;
	}
	return sampler_set_hz(tr->sampler, hz, why, len);
}

double tracer_sample_cost_ns(const struct tracer *tr, char *why, size_t len)
{
	if (!tr->sampler) {
		kt_why(why, len, "the sampler does not run");
		return -1;
	}
	return sampler_cost_measure(tr->sampler, why, len);
}

static int run_vm_prog(struct bpf_program *prog, int pid, const char *comm, bool from_birth)
{
	struct kt_add_vm_args args = { .tgid = pid, .from_birth = from_birth };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	int err;

	snprintf(args.comm, sizeof(args.comm), "%s", comm);
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err)
		return err;
	return opts.retval ? -ENOSPC : 0;
}

/* A sysctl file is read afresh at every read from offset 0: one turned on later is seen. */
static bool bpf_stats_on(const struct tracer *tr)
{
	char c;

	return tr->bpf_stats_fd >= 0 && pread(tr->bpf_stats_fd, &c, 1, 0) == 1 && c != '0';
}

size_t tracer_prog_stats(const struct tracer *tr, struct prog_stat *out, size_t max)
{
	struct bpf_prog_info info;
	struct bpf_program *prog;
	__u32 size;
	size_t n = 0;
	int fd;

	if (!bpf_stats_on(tr))
		return 0;
	bpf_object__for_each_program(prog, tr->skel->obj) {
		fd = bpf_program__fd(prog);
		if (fd < 0 || n == max)
			continue;
		memset(&info, 0, sizeof(info));
		size = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &size))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].run_cnt = info.run_cnt;
		out[n].run_time_ns = info.run_time_ns;
		n++;
	}
	return n;
}

int tracer_add_vm(struct tracer *tr, int pid, const char *comm, bool from_birth)
{
	return run_vm_prog(tr->skel->progs.kt_add_vm, pid, comm, from_birth);
}

void tracer_list_processes(struct tracer *tr, uint64_t after_ticks)
{
	if (!tr->task_iter)
		return;
	tr->list_after = after_ticks;
	tr->skel->bss->scan_after_ns = after_ticks * (1000000000ull / sysconf(_SC_CLK_TCK));
	tr->skel->bss->scan_wanted = true;
}

void tracer_remove_vm(struct tracer *tr, int pid)
{
	run_vm_prog(tr->skel->progs.kt_remove_vm, pid, "", false);
}

static bool same_tap(const struct kt_net_key *k, const struct iface_binding *b)
{
	return k->ifindex == b->ifindex && k->tgid == b->tgid && k->vm_birth_ns == b->vm_birth_ns;
}

/*
 * Readings of the devices' counters: new taps are added, based on their counters now (a hook
 * would count from now on), unbound ones kept as they last were.
 */
static int bind_taps(struct tracer *tr, const struct iface_binding *b, size_t n)
{
	size_t i, j, first_new = tr->nr_taps;
	struct tap_reading *more;
	struct netdev_counts *c;

	for (j = 0; j < tr->nr_taps; j++) {
		for (i = 0; i < n && !same_tap(&tr->taps[j].key, &b[i]); i++)
			;
		tr->taps[j].bound = i < n;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < tr->nr_taps && !same_tap(&tr->taps[j].key, &b[i]); j++)
			;
		if (j < tr->nr_taps)
			continue;
		more = realloc(tr->taps, (tr->nr_taps + 1) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		tr->taps = more;
		tr->taps[tr->nr_taps++] = (struct tap_reading){
			.key = { .ifindex = b[i].ifindex, .tgid = b[i].tgid,
				 .vm_birth_ns = b[i].vm_birth_ns },
			.bound = true,
		};
	}
	if (first_new == tr->nr_taps)
		return 0;
	c = calloc(tr->nr_taps - first_new, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (i = first_new; i < tr->nr_taps; i++)
		c[i - first_new].ifindex = tr->taps[i].key.ifindex;
	/* Unread now: the first drain that reads them starts them. */
	if (!netdev_read(tr->netdev_fd, c, tr->nr_taps - first_new)) {
		for (i = first_new; i < tr->nr_taps; i++) {
			if (!c[i - first_new].found)
				continue;
			tr->taps[i].last = tap_guest_view(&c[i - first_new]);
			tr->taps[i].read = true;
		}
	}
	free(c);
	return 0;
}

int tracer_set_ifaces(struct tracer *tr, const struct iface_binding *b, size_t n)
{
	struct bpf_map *map = tr->skel->maps.ifaces;
	__u32 key, next, *stale = NULL;
	size_t i, nr_stale = 0;
	struct kt_iface val;
	int err = 0;

	if (tr->netdev_fd >= 0)
		return bind_taps(tr, b, n);

	/* Taps no VM holds any more (deleted, or moved to another VM) leave the map. */
	for (err = bpf_map__get_next_key(map, NULL, &next, sizeof(next)); !err;
	     err = bpf_map__get_next_key(map, &key, &next, sizeof(next))) {
		key = next;
		for (i = 0; i < n && b[i].ifindex != key; i++)
			;
		if (i == n) {
			__u32 *more = realloc(stale, (nr_stale + 1) * sizeof(*stale));

			if (!more)
				break;
			stale = more;
			stale[nr_stale++] = key;
		}
	}
	for (i = 0; i < nr_stale; i++)
		bpf_map__delete_elem(map, &stale[i], sizeof(stale[i]), 0);
	free(stale);
	err = 0;
	for (i = 0; i < n; i++) {
		val = (struct kt_iface){ .tgid = b[i].tgid, .vm_birth_ns = b[i].vm_birth_ns };
		if (bpf_map__update_elem(map, &b[i].ifindex, sizeof(b[i].ifindex), &val,
					 sizeof(val), BPF_ANY))
			err = -errno;
	}
	return err;
}

void tracer_close(struct tracer *tr)
{
	if (!tr)
		return;
	sampler_close(tr->sampler);
	counters_close(tr->counters);
	kvmtrace__destroy(tr->skel);
	if (tr->bpf_stats_fd >= 0)
		close(tr->bpf_stats_fd);
	if (tr->netdev_fd >= 0)
		close(tr->netdev_fd);
	free(tr->taps);
	free(tr->buf);
	free(tr);
}
