// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus sink: per-VM sums of the interval records, rendered on demand for each scrape.
 *
 * The main loop publishes; libmicrohttpd's thread renders. Both hold one mutex for the whole
 * of their work, so a scrape sees one publish entirely or not at all. Rendering happens into
 * memory under the lock and the network transfer after it, so a slow scraper never holds up
 * the main loop.
 *
 * Seconds are written from integer ns as exact decimals ("12.000000345"): float sums would
 * drift from the CSV's integers after a few days of 1 s intervals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <microhttpd.h>

#include "exit_reasons.h"
#include "log.h"
#include "metrics.h"

#ifndef KT_VERSION
#define KT_VERSION "dev"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NS_PER_S	((uint64_t)1000000000)

#define CT_TEXT		"text/plain; version=0.0.4; charset=utf-8"
#define CT_OPENMETRICS	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* Enough for a handful of scrapers; more wait in the backlog rather than cost memory. */
#define HTTP_MAX_CONNECTIONS	32
#define HTTP_TIMEOUT_S		30
/* ---------------------------------------------------------------- the state */

/* A counter: the deltas measured so far. Not exported until one was (unmeasured != 0). */
struct sum {
	bool seen;
	uint64_t v;
};

static void sum_add(struct sum *s, bool valid, uint64_t delta)
{
	if (!valid)
		return;
	s->seen = true;
	s->v += delta;
}

/* The ext_ components that can occur (record.h): the CSV's ext_* columns. */
static const unsigned int ext_shown[] = { KT_COMP_VHOST, KT_COMP_TAP, KT_COMP_BRIDGE,
					  KT_COMP_NET };

/* Label values of enum kt_component, as the CSV's hyp_<name>_ns columns spell them. */
static const char *const component_name[KT_NR_COMPONENTS] = {
	[KT_COMP_QEMU_USER] = "qemu_user",
	[KT_COMP_KVM] = "kvm",
	[KT_COMP_VHOST] = "vhost",
	[KT_COMP_TAP] = "tap",
	[KT_COMP_BRIDGE] = "bridge",
	[KT_COMP_NET] = "net",
	[KT_COMP_BLOCK] = "block",
	[KT_COMP_SCHED] = "sched",
	[KT_COMP_OTHER_KERNEL] = "other_kernel",
};

/* Label values of enum kt_drop: what was lost, or which kernel quirk was seen. */
static const char *const drop_name[KT_NR_DROPS] = {
	[KT_DROP_VM_FULL] = "vm_table_full",
	[KT_DROP_THREAD_FULL] = "thread_table_full",
	[KT_DROP_EXIT_FULL] = "exit_table_full",
	[KT_DROP_DEAD_FULL] = "ended_vm_table_full",
	[KT_DROP_OPEN_GUEST] = "unclosed_guest_interval",
	[KT_DROP_NET_FULL] = "net_table_full",
	[KT_DROP_BIO_FULL] = "bio_table_full",
	[KT_DROP_PERCPU_FULL] = "percpu_table_full",
	[KT_DROP_UNSEEN_SWITCH_IN] = "unseen_switch_in",
};

enum { NET_RX_BYTES, NET_TX_BYTES, NET_RX_PACKETS, NET_TX_PACKETS, NR_NET };
enum { DISK_READ_BYTES, DISK_WRITE_BYTES, DISK_READ_OPS, DISK_WRITE_OPS, NR_DISK };

struct vcpu_sum {
	int vcpu;
	struct sum cpu, guest, run_delay, exits;
};

struct exit_sum {
	char reason[KT_REASON_MAX];
	struct sum count, handling;
};

struct perf_sum {
	char event[32];
	bool clock;		/* counts ns of CPU time: exported in seconds */
	struct sum guest, host;
};

/* One VM as Prometheus sees it: a vm and uuid label pair, whatever processes it had. */
struct vm_entry {
	char vm[KT_NAME_MAX + 1];
	char uuid[KT_UUID_LEN + 1];
	char *labels;		/* vm="...",uuid="..." escaped, rendered once */
	unsigned long seq;	/* the last publish that carried it */
	double last_epoch_s;	/* and its time */
	bool final;		/* its process ended: it goes after the next scrape */

	struct sum cpu, guest, hyp_user, hyp_kernel, run_delay;
	struct sum hyp_comp[KT_NR_COMPONENTS];
	struct sum ext[ARRAY_SIZE(ext_shown)];
	struct sum net[NR_NET], disk[NR_DISK];
	struct perf_sum perf[KT_MAX_COUNTERS];
	size_t nr_perf;
	struct exit_sum *exits;
	size_t nr_exits, cap_exits;
	struct vcpu_sum *vcpus;
	size_t nr_vcpus, cap_vcpus;

	/* Gauges of the last publish that carried it; < 0: not measured. */
	double disk_lat_s;
	int64_t rss_bytes, guest_bytes;
	int nr_vcpus_gauge;
	double power_w;
};

struct metrics_server {
	struct MHD_Daemon *daemon;	/* NULL until metrics_start() */
	int fd;				/* the listening socket, the daemon's once it runs */
	bool ipv6;
	int port;
	char where[INET6_ADDRSTRLEN + 16];	/* "127.0.0.1:9477", the actual port */
	pthread_mutex_t lock;

	/* Under lock. */
	struct vm_entry **vms;
	size_t nr_vms, cap_vms;
	unsigned long seq;		/* publishes so far */
	double epoch_s, interval_s;	/* of the latest publish */
	bool have_host;
	struct host_record host;
	char host_source[16];
	bool energy_seen;
	double energy_j;
	bool have_health;
	struct tracer_health health;
	bool warned_oom;
};

/* ---------------------------------------------------------------- the text */

struct out {
	char *buf;
	size_t len, cap;
	bool failed;		/* out of memory: the scrape fails rather than lie */
	bool om;		/* OpenMetrics rather than the 0.0.4 text format */
	const struct family *fam;	/* whose header was written last */
};

static void out_put(struct out *o, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 16384;
		while (o->len + n + 1 > cap)
			cap *= 2;
		p = realloc(o->buf, cap);
		if (!p) {
			o->failed = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->failed = true;
		return;
	}
	/* Only fixed text and numbers come through here: 256 is plenty. */
	out_put(o, small, (size_t)n < sizeof(small) ? (size_t)n : sizeof(small) - 1);
}

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes), or 0. Prometheus rejects a whole
 * scrape over one label value that is not UTF-8, and a VM name may be any bytes.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A label value as both formats want it: \\, \" and \n escaped, bad bytes as U+FFFD. */
static void put_label_value(struct out *o, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, len;

	while (i < n) {
		if (p[i] == '\\' || p[i] == '"') {
			out_put(o, "\\", 1);
			out_put(o, s + i, 1);
			i++;
			continue;
		}
		if (p[i] == '\n') {
			out_puts(o, "\\n");
			i++;
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (!len) {
			out_puts(o, "\xef\xbf\xbd");
			i++;
			continue;
		}
		out_put(o, s + i, len);
		i += len;
	}
}

enum kind { COUNTER, GAUGE, INFO };

struct family {
	const char *name;	/* the OpenMetrics family name: samples add _total or _info */
	enum kind kind;
	const char *unit;	/* OpenMetrics UNIT, a suffix of name; NULL: none */
	const char *help;	/* no '\\' or '"': both formats take it as it is */
};

static const char *suffix(const struct family *f)
{
	return f->kind == COUNTER ? "_total" : f->kind == INFO ? "_info" : "";
}

static void header(struct out *o, const struct family *f)
{
	static const char *const om_type[] = { "counter", "gauge", "info" };

	if (o->om) {
		out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   om_type[f->kind]);
		if (f->unit)
			out_printf(o, "# UNIT %s %s\n", f->name, f->unit);
		return;
	}
	/* The 0.0.4 format names the family after its samples and has no info type. */
	out_printf(o, "# HELP %s%s %s\n# TYPE %s%s %s\n", f->name, suffix(f), f->help, f->name,
		   suffix(f), f->kind == COUNTER ? "counter" : "gauge");
}

/*
 * One sample: labels (already escaped, may be empty) and up to two more label pairs whose
 * values are escaped here. A family's header comes before its first sample, so a family
 * without samples is left out, and the samples of one family must come together.
 */
static void sample(struct out *o, const struct family *f, const char *labels, const char *k1,
		   const char *v1, const char *k2, const char *v2, const char *value)
{
	bool any = labels && *labels;

	if (o->fam != f) {
		header(o, f);
		o->fam = f;
	}
	out_puts(o, f->name);
	out_puts(o, suffix(f));
	if (any || k1)
		out_puts(o, "{");
	if (any)
		out_puts(o, labels);
	if (k1) {
		out_printf(o, "%s%s=\"", any ? "," : "", k1);
		put_label_value(o, v1, SIZE_MAX);
		out_puts(o, "\"");
	}
	if (k2) {
		out_printf(o, ",%s=\"", k2);
		put_label_value(o, v2, SIZE_MAX);
		out_puts(o, "\"");
	}
	if (any || k1)
		out_puts(o, "}");
	out_printf(o, " %s\n", value);
}

struct num {
	char s[48];
};

static const char *ns_text(struct num *n, uint64_t ns)
{
	snprintf(n->s, sizeof(n->s), "%" PRIu64 ".%09" PRIu64, ns / NS_PER_S, ns % NS_PER_S);
	return n->s;
}

static const char *u64_text(struct num *n, uint64_t v)
{
	snprintf(n->s, sizeof(n->s), "%" PRIu64, v);
	return n->s;
}

/* Numbers assume the C locale, as the CSV does: no setlocale() in this program. */
static const char *double_text(struct num *n, const char *format, double v)
{
	snprintf(n->s, sizeof(n->s), format, v);
	return n->s;
}

/* ---------------------------------------------------------------- the families */

static const struct family
	F_BUILD = { "kvmtrace_build", INFO, NULL, "The version of kvmtrace-bpf serving these." },
	F_INTERVALS = { "kvmtrace_intervals", COUNTER, NULL, "Intervals published." },
	F_LAST = { "kvmtrace_last_interval_timestamp_seconds", GAUGE, "seconds",
		   "End of the latest interval, Unix time: the epoch_s of its CSV rows." },
	F_INTERVAL = { "kvmtrace_interval_seconds", GAUGE, "seconds",
		       "Measured length of the latest interval." },
	F_LAG = { "kvmtrace_interval_lag_seconds", GAUGE, "seconds",
		  "How late the latest drain was against its schedule." },
	F_DROPS = { "kvmtrace_drops", COUNTER, NULL,
		    "Events lost to full BPF maps, or kernel quirks seen, by reason." },
	F_POWER_FAILURES = { "kvmtrace_power_read_failures", COUNTER, NULL,
			     "Intervals whose host power could not be read." },
	F_PROG_RUNS = { "kvmtrace_bpf_program_runs", COUNTER, NULL,
			"Runs of each BPF program (only while kernel.bpf_stats_enabled is on)." },
	F_PROG_TIME = { "kvmtrace_bpf_program_run_seconds", COUNTER, "seconds",
			"Time spent in each BPF program (only while kernel.bpf_stats_enabled is "
			"on)." },

	F_CPU = { "kvmtrace_vm_cpu_seconds", COUNTER, "seconds",
		  "On-CPU time of all the VMM's threads." },
	F_GUEST = { "kvmtrace_vm_guest_seconds", COUNTER, "seconds",
		    "Of the on-CPU time, time in guest mode (kvm_entry to kvm_exit)." },
	F_HYP = { "kvmtrace_vm_hypervisor_seconds", COUNTER, "seconds",
		  "Of the on-CPU time, time outside guest mode: in the VMM's user space or in the "
		  "kernel." },
	F_HYP_COMP = { "kvmtrace_vm_hypervisor_component_seconds", COUNTER, "seconds",
		       "Time outside guest mode by component: sampled shares of the exact total." },
	F_EXT = { "kvmtrace_vm_external_seconds", COUNTER, "seconds",
		  "Kernel work for the VM outside its threads, estimated from samples." },
	F_RUN_DELAY = { "kvmtrace_vm_run_delay_seconds", COUNTER, "seconds",
			"Time the VM's threads were runnable but waiting for a CPU." },
	F_EXITS = { "kvmtrace_vm_exits", COUNTER, NULL, "VM exits by reason." },
	F_EXIT_TIME = { "kvmtrace_vm_exit_handling_seconds", COUNTER, "seconds",
			"Time from each VM exit to the vCPU's next entry, by exit reason." },
	F_NET[NR_NET] = {
		[NET_RX_BYTES] = { "kvmtrace_vm_network_receive_bytes", COUNTER, "bytes",
				   "Bytes of the frames the host sent to the guest on its taps." },
		[NET_TX_BYTES] = { "kvmtrace_vm_network_transmit_bytes", COUNTER, "bytes",
				   "Bytes of the frames the guest sent on its taps." },
		[NET_RX_PACKETS] = { "kvmtrace_vm_network_receive_packets", COUNTER, NULL,
				     "Frames the host sent to the guest on its taps." },
		[NET_TX_PACKETS] = { "kvmtrace_vm_network_transmit_packets", COUNTER, NULL,
				     "Frames the guest sent on its taps." },
	},
	F_DISK[NR_DISK] = {
		[DISK_READ_BYTES] = { "kvmtrace_vm_disk_read_bytes", COUNTER, "bytes",
				      "Bytes the VM's threads read from storage." },
		[DISK_WRITE_BYTES] = { "kvmtrace_vm_disk_write_bytes", COUNTER, "bytes",
				       "Bytes the VM's threads wrote (buffered: when dirtied)." },
		[DISK_READ_OPS] = { "kvmtrace_vm_disk_read_ops", COUNTER, NULL,
				    "Read requests (bios) the VM's threads queued." },
		[DISK_WRITE_OPS] = { "kvmtrace_vm_disk_write_ops", COUNTER, NULL,
				     "Write requests (bios) the VM's threads queued." },
	},
	F_DISK_LAT = { "kvmtrace_vm_disk_latency_average_seconds", GAUGE, "seconds",
		       "Mean queue-to-completion time of the VM's disk requests that completed in "
		       "the latest interval." },
	F_RSS = { "kvmtrace_vm_memory_rss_bytes", GAUGE, "bytes",
		  "Resident memory of the VMM process." },
	F_GUEST_MEM = { "kvmtrace_vm_memory_guest_bytes", GAUGE, "bytes",
			"The guest's current memory as libvirt has it (balloon size)." },
	F_VCPUS = { "kvmtrace_vm_vcpus", GAUGE, NULL, "vCPUs of the VM." },
	F_PERF = { "kvmtrace_vm_perf_events", COUNTER, NULL,
		   "Perf counter counts of the VM's threads, in guest mode and outside it (all in "
		   "host where guest mode is not observed)." },
	F_PERF_CLOCK = { "kvmtrace_vm_perf_clock_seconds", COUNTER, "seconds",
			 "Perf clock events (cpu-clock, task-clock) of the VM's threads, in guest "
			 "mode and outside it." },
	F_VM_POWER = { "kvmtrace_vm_power_watts", GAUGE, "watts",
		       "The VM's share of the host's power over the latest interval." },

	F_VCPU_CPU = { "kvmtrace_vcpu_cpu_seconds", COUNTER, "seconds",
		       "On-CPU time of a vCPU thread." },
	F_VCPU_GUEST = { "kvmtrace_vcpu_guest_seconds", COUNTER, "seconds",
			 "Time of a vCPU thread in guest mode." },
	F_VCPU_RUN_DELAY = { "kvmtrace_vcpu_run_delay_seconds", COUNTER, "seconds",
			     "Time a vCPU thread was runnable but waiting for a CPU." },
	F_VCPU_EXITS = { "kvmtrace_vcpu_exits", COUNTER, NULL, "VM exits of a vCPU thread." },

	F_HOST_POWER = { "kvmtrace_host_power_watts", GAUGE, "watts",
			 "The host's average power over the latest interval." },
	F_HOST_IDLE = { "kvmtrace_host_idle_power_watts", GAUGE, "watts",
			"The idle part of the host's power in the model." },
	F_HOST_REST = { "kvmtrace_host_rest_power_watts", GAUGE, "watts",
			"The active part of the host's power that no VM's threads used." },
	F_HOST_ENERGY = { "kvmtrace_host_energy_joules", COUNTER, "joules",
			  "The host's energy over the intervals whose power was read." };

/* ---------------------------------------------------------------- rendering */

/* A family of one counter per VM, at offset off of struct vm_entry. */
static void vm_sums(struct metrics_server *m, struct out *o, const struct family *f, size_t off,
		    bool ns)
{
	const struct sum *s;
	struct num n;
	size_t i;

	for (i = 0; i < m->nr_vms; i++) {
		s = (const struct sum *)((const char *)m->vms[i] + off);
		if (s->seen)
			sample(o, f, m->vms[i]->labels, NULL, NULL, NULL, NULL,
			       ns ? ns_text(&n, s->v) : u64_text(&n, s->v));
	}
}

static void render_vm_cpu(struct metrics_server *m, struct out *o)
{
	const struct vm_entry *e;
	struct num n;
	size_t i, c;

	vm_sums(m, o, &F_CPU, offsetof(struct vm_entry, cpu), true);
	vm_sums(m, o, &F_GUEST, offsetof(struct vm_entry, guest), true);
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->hyp_user.seen)
			sample(o, &F_HYP, e->labels, "mode", "user", NULL, NULL,
			       ns_text(&n, e->hyp_user.v));
		if (e->hyp_kernel.seen)
			sample(o, &F_HYP, e->labels, "mode", "kernel", NULL, NULL,
			       ns_text(&n, e->hyp_kernel.v));
	}
	for (i = 0; i < m->nr_vms; i++)
		for (c = 0; c < KT_NR_COMPONENTS; c++)
			if (m->vms[i]->hyp_comp[c].seen)
				sample(o, &F_HYP_COMP, m->vms[i]->labels, "component",
				       component_name[c], NULL, NULL,
				       ns_text(&n, m->vms[i]->hyp_comp[c].v));
	for (i = 0; i < m->nr_vms; i++)
		for (c = 0; c < ARRAY_SIZE(ext_shown); c++)
			if (m->vms[i]->ext[c].seen)
				sample(o, &F_EXT, m->vms[i]->labels, "component",
				       component_name[ext_shown[c]], NULL, NULL,
				       ns_text(&n, m->vms[i]->ext[c].v));
	vm_sums(m, o, &F_RUN_DELAY, offsetof(struct vm_entry, run_delay), true);
}

static void render_vm_exits(struct metrics_server *m, struct out *o)
{
	const struct vm_entry *e;
	struct num n;
	size_t i, x;

	for (i = 0; i < m->nr_vms; i++)
		for (e = m->vms[i], x = 0; x < e->nr_exits; x++)
			if (e->exits[x].count.seen)
				sample(o, &F_EXITS, e->labels, "reason", e->exits[x].reason, NULL,
				       NULL, u64_text(&n, e->exits[x].count.v));
	for (i = 0; i < m->nr_vms; i++)
		for (e = m->vms[i], x = 0; x < e->nr_exits; x++)
			if (e->exits[x].handling.seen)
				sample(o, &F_EXIT_TIME, e->labels, "reason", e->exits[x].reason,
				       NULL, NULL, ns_text(&n, e->exits[x].handling.v));
}

static void render_vm_io(struct metrics_server *m, struct out *o)
{
	const struct vm_entry *e;
	struct num n;
	size_t i, k;

	for (k = 0; k < NR_NET; k++)
		vm_sums(m, o, &F_NET[k], offsetof(struct vm_entry, net) + k * sizeof(struct sum),
			false);
	for (k = 0; k < NR_DISK; k++)
		vm_sums(m, o, &F_DISK[k],
			offsetof(struct vm_entry, disk) + k * sizeof(struct sum), false);
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->disk_lat_s >= 0)
			sample(o, &F_DISK_LAT, e->labels, NULL, NULL, NULL, NULL,
			       double_text(&n, "%.9f", e->disk_lat_s));
	}
}

static void render_vm_gauges(struct metrics_server *m, struct out *o)
{
	const struct vm_entry *e;
	struct num n;
	size_t i;

	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->rss_bytes >= 0)
			sample(o, &F_RSS, e->labels, NULL, NULL, NULL, NULL,
			       u64_text(&n, e->rss_bytes));
	}
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->guest_bytes >= 0)
			sample(o, &F_GUEST_MEM, e->labels, NULL, NULL, NULL, NULL,
			       u64_text(&n, e->guest_bytes));
	}
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->nr_vcpus_gauge >= 0)
			sample(o, &F_VCPUS, e->labels, NULL, NULL, NULL, NULL,
			       u64_text(&n, e->nr_vcpus_gauge));
	}
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		if (e->power_w >= 0)
			sample(o, &F_VM_POWER, e->labels, NULL, NULL, NULL, NULL,
			       double_text(&n, "%.3f", e->power_w));
	}
}

static void render_vm_perf(struct metrics_server *m, struct out *o, bool clocks)
{
	const struct family *f = clocks ? &F_PERF_CLOCK : &F_PERF;
	const struct perf_sum *p;
	const struct vm_entry *e;
	struct num n;
	size_t i, c;

	for (i = 0; i < m->nr_vms; i++) {
		for (e = m->vms[i], c = 0; c < e->nr_perf; c++) {
			p = &e->perf[c];
			if (p->clock != clocks)
				continue;
			if (p->guest.seen)
				sample(o, f, e->labels, "event", p->event, "mode", "guest",
				       clocks ? ns_text(&n, p->guest.v) : u64_text(&n, p->guest.v));
			if (p->host.seen)
				sample(o, f, e->labels, "event", p->event, "mode", "host",
				       clocks ? ns_text(&n, p->host.v) : u64_text(&n, p->host.v));
		}
	}
}

/* A per-vCPU counter family; off is the sum's offset in struct vcpu_sum. */
static void render_vcpu_family(struct metrics_server *m, struct out *o, const struct family *f,
			       size_t off, bool ns)
{
	const struct vm_entry *e;
	const struct sum *s;
	struct num n, idx;
	size_t i, v;

	for (i = 0; i < m->nr_vms; i++) {
		for (e = m->vms[i], v = 0; v < e->nr_vcpus; v++) {
			s = (const struct sum *)((const char *)&e->vcpus[v] + off);
			if (!s->seen)
				continue;
			snprintf(idx.s, sizeof(idx.s), "%d", e->vcpus[v].vcpu);
			sample(o, f, e->labels, "vcpu", idx.s, NULL, NULL,
			       ns ? ns_text(&n, s->v) : u64_text(&n, s->v));
		}
	}
}

static void render_host(struct metrics_server *m, struct out *o)
{
	const struct host_record *h = &m->host;
	const char *src = m->host_source;
	struct num n;

	if (m->have_host && h->valid) {
		sample(o, &F_HOST_POWER, "", "source", src, NULL, NULL,
		       double_text(&n, "%.3f", h->host_power_w));
		if (h->idle_w >= 0)
			sample(o, &F_HOST_IDLE, "", "source", src, NULL, NULL,
			       double_text(&n, "%.3f", h->idle_w));
		if (h->rest_w >= 0)
			sample(o, &F_HOST_REST, "", "source", src, NULL, NULL,
			       double_text(&n, "%.3f", h->rest_w));
	}
	if (m->energy_seen)
		sample(o, &F_HOST_ENERGY, "", "source", src, NULL, NULL,
		       double_text(&n, "%.3f", m->energy_j));
}

static void render_tracer(struct metrics_server *m, struct out *o)
{
	const struct tracer_health *t = &m->health;
	struct num n;
	size_t i;

	sample(o, &F_BUILD, "", "version", KT_VERSION, NULL, NULL, "1");
	if (!m->seq)
		return;
	sample(o, &F_INTERVALS, "", NULL, NULL, NULL, NULL, u64_text(&n, m->seq));
	sample(o, &F_LAST, "", NULL, NULL, NULL, NULL, double_text(&n, "%.3f", m->epoch_s));
	sample(o, &F_INTERVAL, "", NULL, NULL, NULL, NULL,
	       double_text(&n, "%.6f", m->interval_s));
	if (!m->have_health)
		return;
	sample(o, &F_LAG, "", NULL, NULL, NULL, NULL, double_text(&n, "%.6f", t->interval_lag_s));
	for (i = 0; i < KT_NR_DROPS; i++)
		sample(o, &F_DROPS, "", "reason", drop_name[i], NULL, NULL,
		       u64_text(&n, t->drops[i]));
	sample(o, &F_POWER_FAILURES, "", NULL, NULL, NULL, NULL, u64_text(&n, t->plug_failures));
	for (i = 0; i < t->nr_progs; i++)
		sample(o, &F_PROG_RUNS, "", "program", t->prog[i].name, NULL, NULL,
		       u64_text(&n, t->prog[i].run_cnt));
	for (i = 0; i < t->nr_progs; i++)
		sample(o, &F_PROG_TIME, "", "program", t->prog[i].name, NULL, NULL,
		       ns_text(&n, t->prog[i].run_time_ns));
}

static void entry_free(struct vm_entry *e)
{
	if (!e)
		return;
	free(e->labels);
	free(e->exits);
	free(e->vcpus);
	free(e);
}

/* Removes the entries drop() picks, keeping the others in order. */
static void sweep(struct metrics_server *m, bool (*drop)(const struct metrics_server *m,
							 const struct vm_entry *e, double now),
		  double now)
{
	size_t i, kept = 0;

	for (i = 0; i < m->nr_vms; i++) {
		if (drop(m, m->vms[i], now))
			entry_free(m->vms[i]);
		else
			m->vms[kept++] = m->vms[i];
	}
	m->nr_vms = kept;
}

static bool drop_final(const struct metrics_server *m, const struct vm_entry *e, double now)
{
	(void)m;
	(void)now;
	return e->final;
}

/* Under the lock: the whole exposition, then ended VMs go (they have been seen once). */
static void render_locked(struct metrics_server *m, struct out *o)
{
	o->fam = NULL;
	render_tracer(m, o);
	render_vm_cpu(m, o);
	render_vm_exits(m, o);
	render_vm_io(m, o);
	render_vm_gauges(m, o);
	render_vm_perf(m, o, false);
	render_vm_perf(m, o, true);
	render_vcpu_family(m, o, &F_VCPU_CPU, offsetof(struct vcpu_sum, cpu), true);
	render_vcpu_family(m, o, &F_VCPU_GUEST, offsetof(struct vcpu_sum, guest), true);
	render_vcpu_family(m, o, &F_VCPU_RUN_DELAY, offsetof(struct vcpu_sum, run_delay), true);
	render_vcpu_family(m, o, &F_VCPU_EXITS, offsetof(struct vcpu_sum, exits), false);
	render_host(m, o);
	if (o->om)
		out_puts(o, "# EOF\n");
	if (!o->failed)
		sweep(m, drop_final, 0);
}

static void render(struct metrics_server *m, struct out *o)
{
	pthread_mutex_lock(&m->lock);
	render_locked(m, o);
	pthread_mutex_unlock(&m->lock);
}

size_t metrics_render(struct metrics_server *m, char *buf, size_t len, bool openmetrics)
{
	struct out o = { .om = openmetrics };

	render(m, &o);
	if (len) {
		snprintf(buf, len, "%s", o.failed || !o.buf ? "" : o.buf);
	}
	free(o.buf);
	return o.failed ? 0 : o.len;
}

/* ---------------------------------------------------------------- publishing */

static void copy_text(char *dst, size_t size, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool entry_is(const struct vm_entry *e, const struct vm_record *r)
{
	return !strncmp(e->vm, r->vm, sizeof(r->vm)) && !strncmp(e->uuid, r->uuid, sizeof(r->uuid));
}

static struct vm_entry *entry_new(struct metrics_server *m, const struct vm_record *r)
{
	struct out o = { 0 };
	struct vm_entry *e, **vms;
	size_t cap;

	if (m->nr_vms == m->cap_vms) {
		cap = m->cap_vms ? 2 * m->cap_vms : 16;
		vms = realloc(m->vms, cap * sizeof(*vms));
		if (!vms)
			return NULL;
		m->vms = vms;
		m->cap_vms = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	copy_text(e->vm, sizeof(e->vm), r->vm, sizeof(r->vm));
	copy_text(e->uuid, sizeof(e->uuid), r->uuid, sizeof(r->uuid));
	out_puts(&o, "vm=\"");
	put_label_value(&o, e->vm, sizeof(e->vm));
	out_puts(&o, "\",uuid=\"");
	put_label_value(&o, e->uuid, sizeof(e->uuid));
	out_puts(&o, "\"");
	if (o.failed) {
		free(o.buf);
		free(e);
		return NULL;
	}
	e->labels = o.buf;
	m->vms[m->nr_vms++] = e;
	return e;
}

/* Records come sorted by name each interval, so the entry at the same index is a good guess. */
static struct vm_entry *entry_get(struct metrics_server *m, const struct vm_record *r,
				  size_t hint)
{
	size_t i;

	if (hint < m->nr_vms && entry_is(m->vms[hint], r))
		return m->vms[hint];
	for (i = 0; i < m->nr_vms; i++)
		if (entry_is(m->vms[i], r))
			return m->vms[i];
	return entry_new(m, r);
}

/* Grows *arr (of *cap elements of size) to hold one more; false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t nr, size_t size)
{
	size_t n;
	void *p;

	if (nr < *cap)
		return true;
	n = *cap ? 2 * *cap : 4;
	p = realloc(*arr, n * size);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

static struct exit_sum *exit_get(struct vm_entry *e, const char *reason)
{
	struct exit_sum *x;
	size_t i;

	for (i = 0; i < e->nr_exits; i++)
		if (!strcmp(e->exits[i].reason, reason))
			return &e->exits[i];
	if (!grow((void **)&e->exits, &e->cap_exits, e->nr_exits, sizeof(*e->exits)))
		return NULL;
	x = &e->exits[e->nr_exits++];
	memset(x, 0, sizeof(*x));
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
	return x;
}

static struct vcpu_sum *vcpu_get(struct vm_entry *e, int vcpu)
{
	struct vcpu_sum *v;
	size_t i;

	for (i = 0; i < e->nr_vcpus; i++)
		if (e->vcpus[i].vcpu == vcpu)
			return &e->vcpus[i];
	if (!grow((void **)&e->vcpus, &e->cap_vcpus, e->nr_vcpus, sizeof(*e->vcpus)))
		return NULL;
	v = &e->vcpus[e->nr_vcpus++];
	memset(v, 0, sizeof(*v));
	v->vcpu = vcpu;
	return v;
}

/* Clock events count ns of CPU time (perf_events.h): they become seconds. */
static bool event_is_clock(const char *name)
{
	return !strcmp(name, "cpu-clock") || !strcmp(name, "task-clock");
}

static struct perf_sum *perf_get(struct vm_entry *e, const char *event)
{
	struct perf_sum *p;
	size_t i;

	for (i = 0; i < e->nr_perf; i++)
		if (!strcmp(e->perf[i].event, event))
			return &e->perf[i];
	if (e->nr_perf == ARRAY_SIZE(e->perf))
		return NULL;
	p = &e->perf[e->nr_perf++];
	snprintf(p->event, sizeof(p->event), "%s", event);
	p->clock = event_is_clock(event);
	return p;
}

static bool add_details(struct vm_entry *e, const struct vm_record *r)
{
	const struct counter_record *c;
	const struct exit_record *x;
	const struct vcpu_record *v;
	char name[KT_REASON_MAX];
	struct exit_sum *xs;
	struct vcpu_sum *vs;
	struct perf_sum *p;
	bool ok = true;
	size_t i;

	for (i = 0; i < r->nr_counters && i < KT_MAX_COUNTERS; i++) {
		c = &r->counter[i];
		if (!c->valid || !c->name)
			continue;
		p = perf_get(e, c->name);
		if (!p)
			continue;
		sum_add(&p->guest, r->guest_source == GUEST_SOURCE_TRACEPOINT, c->guest);
		sum_add(&p->host, true, c->host);
	}
	for (i = 0; i < r->nr_exits; i++) {
		x = &r->exit[i];
		if (x->name[0])
			copy_text(name, sizeof(name), x->name, sizeof(x->name));
		else
			exit_reason_name(x->isa, x->reason, name, sizeof(name));
		xs = exit_get(e, name);
		ok = ok && xs;
		if (!xs)
			continue;
		sum_add(&xs->count, true, x->count);
		sum_add(&xs->handling, true, x->handling_ns);
	}
	for (i = 0; i < r->nr_vcpus; i++) {
		v = &r->vcpu[i];
		/* account.c gives every vCPU thread an index; one without has no label. */
		if (v->vcpu < 0)
			continue;
		vs = vcpu_get(e, v->vcpu);
		ok = ok && vs;
		if (!vs)
			continue;
		sum_add(&vs->cpu, true, v->cpu_total_ns);
		sum_add(&vs->guest, r->guest_valid, v->cpu_guest_ns);
		sum_add(&vs->run_delay, true, v->run_delay_ns);
		sum_add(&vs->exits, r->guest_valid && !v->exits_unmeasured, v->exits);
	}
	return ok;
}

static void gauge_i64(int64_t *g, int64_t v)
{
	if (v < 0)
		return;
	*g = *g < 0 ? v : *g + v;
}

static void gauge_double(double *g, double v)
{
	if (v < 0)
		return;
	*g = *g < 0 ? v : *g + v;
}

/*
 * The latest interval's gauges. Two processes with one vm and uuid in an interval (a VMM that
 * restarted) add up: both used memory and power in it.
 */
static void set_gauges(struct vm_entry *e, const struct vm_record *r, bool first)
{
	int64_t vcpus;

	if (first) {
		e->disk_lat_s = e->power_w = -1;
		e->rss_bytes = e->guest_bytes = -1;
		e->nr_vcpus_gauge = -1;
	}
	gauge_i64(&e->rss_bytes, r->mem_rss_bytes);
	gauge_i64(&e->guest_bytes, r->mem_guest_bytes);
	gauge_double(&e->power_w, r->vm_power_w);
	vcpus = e->nr_vcpus_gauge;
	gauge_i64(&vcpus, r->vcpus);
	e->nr_vcpus_gauge = (int)vcpus;
	/* A mean does not add: the first one measured stands. */
	if (r->disk_valid && r->disk_lat_avg_us >= 0 && e->disk_lat_s < 0)
		e->disk_lat_s = r->disk_lat_avg_us / 1e6;
}

static bool add_record(struct metrics_server *m, struct vm_entry *e,
		       const struct interval_info *iv, const struct vm_record *r)
{
	const uint64_t *ext = r->ext_component_ns;
	bool first = e->seq != m->seq;
	size_t i;

	sum_add(&e->cpu, true, r->cpu_total_ns);
	sum_add(&e->guest, r->guest_valid, r->cpu_guest_ns);
	sum_add(&e->hyp_user, r->hyp_split_valid, r->cpu_hyp_user_ns);
	sum_add(&e->hyp_kernel, r->hyp_split_valid, r->cpu_hyp_kernel_ns);
	sum_add(&e->run_delay, true, r->run_delay_ns);
	for (i = 0; i < KT_NR_COMPONENTS; i++)
		sum_add(&e->hyp_comp[i], r->hyp_components_valid, r->hyp_component_ns[i]);
	for (i = 0; i < ARRAY_SIZE(ext_shown); i++)
		sum_add(&e->ext[i], r->ext_components_valid, ext[ext_shown[i]]);
	sum_add(&e->net[NET_RX_BYTES], r->net_valid, r->net_rx_bytes);
	sum_add(&e->net[NET_TX_BYTES], r->net_valid, r->net_tx_bytes);
	sum_add(&e->net[NET_RX_PACKETS], r->net_valid, r->net_rx_packets);
	sum_add(&e->net[NET_TX_PACKETS], r->net_valid, r->net_tx_packets);
	sum_add(&e->disk[DISK_READ_BYTES], r->disk_valid, r->disk_read_bytes);
	sum_add(&e->disk[DISK_WRITE_BYTES], r->disk_valid, r->disk_write_bytes);
	sum_add(&e->disk[DISK_READ_OPS], r->disk_valid, r->disk_read_ops);
	sum_add(&e->disk[DISK_WRITE_OPS], r->disk_valid, r->disk_write_ops);
	set_gauges(e, r, first);
	/* Ended only when every process behind it ended in this interval. */
	e->final = first ? r->final : e->final && r->final;
	e->seq = m->seq;
	e->last_epoch_s = iv->epoch_s;
	return add_details(e, r);
}

/* Ended (or renamed) METRICS_FINAL_KEEP_S ago and never scraped since: nobody is looking. */
static bool drop_stale(const struct metrics_server *m, const struct vm_entry *e, double now)
{
	return e->seq != m->seq && fabs(now - e->last_epoch_s) >= METRICS_FINAL_KEEP_S;
}

void metrics_publish(struct metrics_server *m, const struct interval_info *iv,
		     const struct vm_record *r, size_t n, const struct host_record *h,
		     const struct tracer_health *health)
{
	struct vm_entry *e;
	bool ok = true;
	size_t i;

	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->seq++;
	m->epoch_s = iv->epoch_s;
	m->interval_s = iv->interval_s;
	for (i = 0; i < n; i++) {
		e = entry_get(m, &r[i], i);
		if (!e || !add_record(m, e, iv, &r[i]))
			ok = false;
	}
	/* Gone without a last row: renamed (libvirt's name arrived). Its series ends the same way. */
	for (i = 0; i < m->nr_vms; i++)
		if (m->vms[i]->seq != m->seq)
			m->vms[i]->final = true;
	sweep(m, drop_stale, iv->epoch_s);
	m->have_host = h != NULL;
	if (h) {
		m->host = *h;
		m->host.source = NULL;	/* not ours to keep: copied below */
		snprintf(m->host_source, sizeof(m->host_source), "%s",
			 h->source ? h->source : "none");
		if (h->valid && h->host_energy_j >= 0) {
			m->energy_seen = true;
			m->energy_j += h->host_energy_j;
		}
	}
	m->have_health = health != NULL;
	if (health)
		m->health = *health;
	if (m->health.nr_progs > METRICS_MAX_PROGS)
		m->health.nr_progs = METRICS_MAX_PROGS;
	if (!ok && !m->warned_oom)
		kt_warn("out of memory: some VMs' metrics are missing from /metrics");
	m->warned_oom = m->warned_oom || !ok;
	pthread_mutex_unlock(&m->lock);
}

/* ---------------------------------------------------------------- HTTP */

/* The q of a media range's parameters ("; q=0.5; version=1.0.0"); version is returned too. */
static double media_params(char *params, const char **version)
{
	char *p, *save = NULL;
	double q = 1;

	*version = NULL;
	for (p = strtok_r(params, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		p += strspn(p, " \t");
		if (!strncasecmp(p, "q=", 2))
			q = strtod(p + 2, NULL);
		else if (!strncasecmp(p, "version=", 8))
			*version = p + 8;
	}
	return q;
}

/*
 * OpenMetrics when the Accept header prefers it to the text format (Prometheus asks for
 * "application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,...").
 */
static bool wants_openmetrics(const char *accept)
{
	double q, q_om = 0, q_text = 0;
	char *copy, *range, *save = NULL, *params, *end;
	const char *version;

	if (!accept || !(copy = strdup(accept)))
		return false;
	for (range = strtok_r(copy, ",", &save); range; range = strtok_r(NULL, ",", &save)) {
		range += strspn(range, " \t");
		params = strchr(range, ';');
		if (params)
			*params++ = '\0';
		for (end = range + strlen(range); end > range && (end[-1] == ' ' ||
								   end[-1] == '\t'); end--)
			;
		*end = '\0';
		q = params ? media_params(params, &version) : 1;
		if (!params)
			version = NULL;
		if (!strcasecmp(range, "application/openmetrics-text")) {
			if ((!version || !strncmp(version, "1.0.0", 5)) && q > q_om)
				q_om = q;
		} else if (!strcasecmp(range, "text/plain") || !strcasecmp(range, "text/*") ||
			   !strcmp(range, "*/*")) {
			if (q > q_text)
				q_text = q;
		}
	}
	free(copy);
	return q_om > 0 && q_om >= q_text;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text,
				  const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *m = cls;
	struct MHD_Response *resp;
	struct out o = { 0 };
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "Not found: the metrics are at /metrics\n",
				  NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD here\n",
				  "GET, HEAD");
	o.om = wants_openmetrics(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_ACCEPT));
	render(m, &o);
	if (o.failed) {
		free(o.buf);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory\n", NULL);
	}
	resp = MHD_create_response_from_buffer(o.len, o.buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(o.buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				o.om ? CT_OPENMETRICS : CT_TEXT);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------------------------------------------------------------- the listening socket */

static int parse_port(const char *s, int *port)
{
	long v = 0;

	if (!*s || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int metrics_parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen,
			 char *why, size_t len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_in *in = (struct sockaddr_in *)addr;
	char host[INET6_ADDRSTRLEN];
	const char *port, *end;
	size_t n;
	int p;

	memset(addr, 0, sizeof(*addr));
	snprintf(host, sizeof(host), "127.0.0.1");
	if (listen[0] == '[') {
		end = strchr(listen, ']');
		n = end ? (size_t)(end - listen - 1) : 0;
		if (!end || end[1] != ':' || !n || n >= sizeof(host)) {
			snprintf(why, len, "an IPv6 address goes in brackets before the port, "
				 "e.g. [::1]:9477");
			return -1;
		}
		memcpy(host, listen + 1, n);
		host[n] = '\0';
		port = end + 2;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
			snprintf(why, len, "not an IPv6 address in the brackets");
			return -1;
		}
		in6->sin6_family = AF_INET6;
		*addrlen = sizeof(*in6);
	} else {
		end = strrchr(listen, ':');
		port = end ? end + 1 : listen;
		n = end ? (size_t)(end - listen) : 0;
		if (n >= sizeof(host)) {
			snprintf(why, len, "ADDR is a numeric IPv4 address, or IPv6 in brackets");
			return -1;
		}
		if (n) {
			memcpy(host, listen, n);
			host[n] = '\0';
		}
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
			snprintf(why, len, "ADDR is a numeric IPv4 address, or IPv6 in brackets");
			return -1;
		}
		in->sin_family = AF_INET;
		*addrlen = sizeof(*in);
	}
	if (parse_port(port, &p)) {
		snprintf(why, len, "PORT is a number from 1 to 65535");
		return -1;
	}
	if (addr->ss_family == AF_INET6)
		in6->sin6_port = htons(p);
	else
		in->sin_port = htons(p);
	return 0;
}

/* "127.0.0.1:9477" or "[::1]:9477", for messages. */
static void addr_text(const struct sockaddr_storage *addr, char *out, size_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	char host[INET6_ADDRSTRLEN] = "?";

	if (addr->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
	}
}

static const char *listen_hint(int err)
{
	switch (err) {
	case EADDRINUSE:
		return "another program has that port: give a free one with --listen";
	case EADDRNOTAVAIL:
		return "no interface of this host has that address: give one it has, or 0.0.0.0";
	case EACCES:
		return "ports below 1024 need CAP_NET_BIND_SERVICE: give a higher one";
	case EAFNOSUPPORT:
		return "IPv6 is off on this host: give an IPv4 address";
	}
	return "check the address and port given to --listen";
}

/* A bound, listening socket; -1 with errno. */
static int open_socket(const struct sockaddr_storage *addr, socklen_t addrlen)
{
	int fd, one = 1, err;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* A restarted tracer must not wait for the old connections' TIME_WAIT to end. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] means IPv6 only, so that 0.0.0.0 on the same port stays possible. */
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, addrlen) || listen(fd, 64)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct metrics_server *metrics_open(const char *listen, char *why, size_t len)
{
	struct sockaddr_storage addr, bound;
	socklen_t addrlen, blen = sizeof(bound);
	struct metrics_server *m;
	char reason[128], where[INET6_ADDRSTRLEN + 16];
	int fd, err;

	if (metrics_parse_listen(listen, &addr, &addrlen, reason, sizeof(reason))) {
		snprintf(why, len, "invalid listen address '%s': %s", listen, reason);
		return NULL;
	}
	addr_text(&addr, where, sizeof(where));
	fd = open_socket(&addr, addrlen);
	if (fd < 0) {
		err = errno;
		snprintf(why, len, "cannot listen on %s: %s; %s", where, strerror(err),
			 listen_hint(err));
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		snprintf(why, len, "cannot listen on %s: out of memory; free some memory", where);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->fd = fd;
	m->ipv6 = addr.ss_family == AF_INET6;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen))
		bound = addr;
	m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port :
			((struct sockaddr_in *)&bound)->sin_port);
	addr_text(&bound, m->where, sizeof(m->where));
	return m;
}

int metrics_start(struct metrics_server *m, char *why, size_t len)
{
	sigset_t all, old;
	int err;

	/* The server's thread inherits our mask: SIGINT and SIGTERM must reach the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | (m->ipv6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, on_request, m,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned int)HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
				     MHD_OPTION_END);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		snprintf(why, len, "cannot listen on %s: the HTTP server did not start (%s); "
			 "check the system's thread and file limits", m->where, strerror(err));
		return -1;
	}
	return 0;
}

int metrics_port(const struct metrics_server *m)
{
	return m ? m->port : -1;
}

const char *metrics_address(const struct metrics_server *m)
{
	return m ? m->where : "";
}

void metrics_close(struct metrics_server *m)
{
	size_t i;

	if (!m)
		return;
	/* Joins the server's thread and closes the listening socket. */
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	else
		close(m->fd);
	for (i = 0; i < m->nr_vms; i++)
		entry_free(m->vms[i]);
	free(m->vms);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
