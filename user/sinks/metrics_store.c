// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus sink's series (metrics_store.h). The main loop publishes; the HTTP thread
 * renders. Both hold one mutex for the whole of their work, so a scrape sees one publish
 * entirely or not at all; rendering goes into memory, and the network transfer comes after.
 *
 * Each series keeps one slot per field of its file (fields.h), so a figure added to the table
 * is exported without a line here.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics_store.h"

#ifndef KT_VERSION
#define KT_VERSION "dev"
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

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
	[KT_DROP_READING_RACE] = "reading_race",
};

/* One field's series. */
struct slot {
	bool seen;	/* counters: measured once at least; gauges: in the latest publish */
	uint64_t v;	/* integral figures */
	double d;	/* figures in doubles (watts, joules, a mean latency) */
};

/* A VM's series under one more label: its vCPUs by index, its exits by reason. */
struct keyed {
	char key[KT_REASON_MAX];
	struct slot *slot;	/* one per field of its file */
};

struct keyed_set {
	struct keyed *k;
	size_t nr, cap;
};

struct perf_series {
	char event[32];
	bool clock;		/* counts ns of CPU time: exported in seconds */
	struct slot guest, host;
};

/* One VM as Prometheus sees it: a vm and uuid label pair, whatever processes it had. */
struct vm_entry {
	char vm[KT_NAME_MAX + 1];
	char uuid[KT_UUID_LEN + 1];
	char *labels;		/* vm="...",uuid="..." escaped, rendered once */
	unsigned long seq;	/* the last publish that carried it */
	double last_epoch_s;	/* and its time */
	bool final;		/* its process ended: it goes after the next scrape */
	struct slot *slot;	/* one per field of the VM file */
	struct perf_series perf[KT_MAX_COUNTERS];
	size_t nr_perf;
	struct keyed_set vcpus, exits;
};

struct metrics_store {
	pthread_mutex_t lock;
	struct vm_entry **vms;
	size_t nr_vms, cap_vms;
	unsigned long seq;		/* publishes so far */
	double epoch_s, interval_s;	/* of the latest publish */
	struct slot *host;		/* one per field of the host file */
	char host_source[16];
	bool have_health;
	struct tracer_health health;
	bool warned_oom;
};

/* ---------------------------------------------------------------- taking the figures */

/* The latest interval's value. Two processes of one VM in it (a restart) add up, but a mean
 * does not: the first one measured stands. */
static void gauge_take(struct slot *s, const struct field *f, const struct field_row *row)
{
	if (s->seen && f->mean)
		return;
	if (f->type == FT_DOUBLE)
		s->d = (s->seen ? s->d : 0) + field_double(f, row);
	else
		s->v = (s->seen ? s->v : 0) + field_u64(f, row);
	s->seen = true;
}

/* The row's figures into its series' slots; first: the first record of this publish. row
 * NULL: no record, so the gauges are unknown and the counters stay. */
static void take_fields(struct slot *slot, enum field_file file, const struct field_row *row,
			bool first)
{
	const struct field_list *l = fields_of(file);
	const struct field *f;
	const void *total;
	size_t i;

	for (i = 0; i < l->n; i++) {
		f = &l->field[i];
		if (f->family == FAM_NONE)
			continue;
		if (families[f->family].type == METRIC_GAUGE) {
			if (first)
				slot[i].seen = false;
			if (row && field_measured(f, row))
				gauge_take(&slot[i], f, row);
		} else if (row && field_measured(f, row)) {
			/* The record's running total (account_totals.h), never a sum kept here. */
			total = field_total(f, row);
			if (f->type == FT_DOUBLE)
				slot[i].d = *(const double *)total;
			else
				slot[i].v = *(const uint64_t *)total;
			slot[i].seen = true;
		}
	}
}

static struct slot *slots_new(enum field_file file)
{
	return calloc(fields_of(file)->n, sizeof(struct slot));
}

static void copy_text(char *dst, size_t size, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The series of key (at most max bytes), added if new; NULL when out of memory. */
static struct keyed *keyed_get(struct keyed_set *set, const char *key, size_t max,
			       enum field_file file)
{
	struct keyed *k;
	size_t i, cap;

	for (i = 0; i < set->nr; i++)
		if (!strncmp(set->k[i].key, key, max))
			return &set->k[i];
	if (set->nr == set->cap) {
		cap = set->cap ? 2 * set->cap : 4;
		k = realloc(set->k, cap * sizeof(*k));
		if (!k)
			return NULL;
		set->k = k;
		set->cap = cap;
	}
	k = &set->k[set->nr];
	k->slot = slots_new(file);
	if (!k->slot)
		return NULL;
	copy_text(k->key, sizeof(k->key), key, max);
	set->nr++;
	return k;
}

static void keyed_free(struct keyed_set *set)
{
	size_t i;

	for (i = 0; i < set->nr; i++)
		free(set->k[i].slot);
	free(set->k);
}

/* Clock events count ns of CPU time (perf_events.h): they become seconds. */
static bool event_is_clock(const char *name)
{
	return !strcmp(name, "cpu-clock") || !strcmp(name, "task-clock");
}

static struct perf_series *perf_get(struct vm_entry *e, const char *event)
{
	struct perf_series *p;
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

/* The record's perf counters, vCPUs and exits; false when some did not fit in memory. */
static bool add_details(struct vm_entry *e, const struct field_row *vm_row)
{
	const struct vm_record *r = vm_row->vm;
	struct field_row row = *vm_row;
	bool ok = true;
	const struct counter_record *c;
	struct perf_series *p;
	struct keyed *k;
	char idx[16];
	size_t i;

	for (i = 0; i < r->nr_counters && i < KT_MAX_COUNTERS; i++) {
		c = &r->counter[i];
		if (!c->valid || !c->name)
			continue;
		p = perf_get(e, c->name);
		if (!p)
			continue;
		/* Their running totals, as the fields' are. */
		if (r->guest_source == GUEST_SOURCE_TRACEPOINT)
			p->guest = (struct slot){ .seen = true, .v = c->total_guest };
		p->host = (struct slot){ .seen = true, .v = c->total_host };
	}
	for (i = 0; i < r->nr_exits; i++) {
		row.exit = &r->exit[i];
		k = keyed_get(&e->exits, row.exit->name, sizeof(row.exit->name), FIELDS_EXITS);
		ok = ok && k;
		if (k)
			take_fields(k->slot, FIELDS_EXITS, &row, false);
	}
	row.exit = NULL;
	for (i = 0; i < r->nr_vcpus; i++) {
		row.vcpu = &r->vcpu[i];
		/* account.c gives every vCPU thread an index; one without has no label. */
		if (row.vcpu->vcpu < 0)
			continue;
		snprintf(idx, sizeof(idx), "%d", row.vcpu->vcpu);
		k = keyed_get(&e->vcpus, idx, sizeof(idx), FIELDS_VCPU);
		ok = ok && k;
		if (k)
			take_fields(k->slot, FIELDS_VCPU, &row, false);
	}
	return ok;
}

static bool add_record(struct metrics_store *m, struct vm_entry *e,
		       const struct interval_info *iv, const struct vm_record *r)
{
	const struct field_row row = { .iv = iv, .vm = r };
	bool first = e->seq != m->seq;

	take_fields(e->slot, FIELDS_VM, &row, first);
	/* Ended only when every process behind it ended in this interval. */
	e->final = first ? r->final : e->final && r->final;
	e->seq = m->seq;
	e->last_epoch_s = iv->epoch_s;
	return add_details(e, &row);
}

/* ---------------------------------------------------------------- the VMs */

static void entry_free(struct vm_entry *e)
{
	if (!e)
		return;
	free(e->labels);
	free(e->slot);
	keyed_free(&e->vcpus);
	keyed_free(&e->exits);
	free(e);
}

static bool entry_is(const struct vm_entry *e, const struct vm_record *r)
{
	return !strncmp(e->vm, r->vm, sizeof(r->vm)) && !strncmp(e->uuid, r->uuid, sizeof(r->uuid));
}

static struct vm_entry *entry_new(struct metrics_store *m, const struct vm_record *r)
{
	struct expo o = { 0 };
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
	expo_puts(&o, "vm=\"");
	expo_label_value(&o, e->vm, sizeof(e->vm));
	expo_puts(&o, "\",uuid=\"");
	expo_label_value(&o, e->uuid, sizeof(e->uuid));
	expo_puts(&o, "\"");
	e->labels = o.buf;
	e->slot = slots_new(FIELDS_VM);
	if (o.failed || !e->slot) {
		entry_free(e);
		return NULL;
	}
	m->vms[m->nr_vms++] = e;
	return e;
}

/* Records come sorted by name each interval, so the entry at the same index is a good guess. */
static struct vm_entry *entry_get(struct metrics_store *m, const struct vm_record *r,
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

/* Removes the entries drop() picks, keeping the others in order. */
static void sweep(struct metrics_store *m, bool (*drop)(const struct metrics_store *m,
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

static bool drop_final(const struct metrics_store *m, const struct vm_entry *e, double now)
{
	(void)m;
	(void)now;
	return e->final;
}

/* Ended (or renamed) METRICS_FINAL_KEEP_S ago and never scraped since: nobody is looking. */
static bool drop_stale(const struct metrics_store *m, const struct vm_entry *e, double now)
{
	return e->seq != m->seq && fabs(now - e->last_epoch_s) >= METRICS_FINAL_KEEP_S;
}

/* ---------------------------------------------------------------- publishing */

struct metrics_store *metrics_store_new(void)
{
	struct metrics_store *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->host = slots_new(FIELDS_HOST);
	if (!m->host) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_store_free(struct metrics_store *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr_vms; i++)
		entry_free(m->vms[i]);
	free(m->vms);
	free(m->host);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_store_publish(struct metrics_store *m, const struct interval_info *iv,
			   const struct vm_record *r, size_t n, const struct host_record *h,
			   const struct tracer_health *health)
{
	struct vm_entry *e;
	bool ok = true;
	size_t i;

	pthread_mutex_lock(&m->lock);
	m->seq++;
	m->epoch_s = iv->epoch_s;
	m->interval_s = iv->interval_s;
	for (i = 0; i < n; i++) {
		e = entry_get(m, &r[i], i);
		if (!e || !add_record(m, e, iv, &r[i]))
			ok = false;
	}
	/* Gone without a last row: renamed (libvirt's name came). Its series ends the same way. */
	for (i = 0; i < m->nr_vms; i++)
		if (m->vms[i]->seq != m->seq)
			m->vms[i]->final = true;
	sweep(m, drop_stale, iv->epoch_s);
	/* Without a host record, the host's gauges are unknown; its counters stay. */
	take_fields(m->host, FIELDS_HOST, h ? &(struct field_row){ .iv = iv, .host = h } : NULL,
		    true);
	if (h)
		snprintf(m->host_source, sizeof(m->host_source), "%s",
			 h->source ? h->source : "none");
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

/* ---------------------------------------------------------------- rendering */

/* A slot's value in the exposition's units: seconds for times. */
static const char *value_text(const struct field *f, const struct slot *s, struct num *n)
{
	if (!strcmp(f->unit, "ns"))
		return expo_ns(n, s->v);
	if (!strcmp(f->unit, "µs"))
		return expo_double(n, 9, s->d / 1e6);
	if (f->type == FT_DOUBLE)
		return expo_double(n, f->decimals, s->d);
	return expo_u64(n, s->v);
}

/* The samples of family id among one series' slots; key: the series' own label, or NULL. */
static void render_slots(struct expo *o, enum family_id id, enum field_file file,
			 const struct slot *slot, const char *labels, const char *key,
			 const char *key_value)
{
	const struct field_list *l = fields_of(file);
	const struct field *f;
	struct num n;
	size_t i;

	for (i = 0; i < l->n; i++) {
		f = &l->field[i];
		if (f->family != id || !slot[i].seen)
			continue;
		if (key)
			expo_sample(o, &families[id], labels, key, key_value, f->label,
				    field_label_value(f), value_text(f, &slot[i], &n));
		else
			expo_sample(o, &families[id], labels, f->label, field_label_value(f), NULL,
				    NULL, value_text(f, &slot[i], &n));
	}
}

static void render_perf(struct expo *o, const struct vm_entry *e, enum family_id id)
{
	const struct family *f = &families[id];
	bool clocks = id == FAM_PERF_CLOCK;
	const struct perf_series *p;
	struct num n;
	size_t c;

	for (c = 0; c < e->nr_perf; c++) {
		p = &e->perf[c];
		if (p->clock != clocks)
			continue;
		if (p->guest.seen)
			expo_sample(o, f, e->labels, "event", p->event, "mode", "guest",
				    clocks ? expo_ns(&n, p->guest.v) : expo_u64(&n, p->guest.v));
		if (p->host.seen)
			expo_sample(o, f, e->labels, "event", p->event, "mode", "host",
				    clocks ? expo_ns(&n, p->host.v) : expo_u64(&n, p->host.v));
	}
}

/* The tracer's own families: its build always, the rest once published. */
static void render_tracer(const struct metrics_store *m, struct expo *o, enum family_id id)
{
	const struct tracer_health *t = &m->health;
	const struct family *f = &families[id];
	struct num n;
	size_t i;

	if (id == FAM_BUILD)
		expo_sample(o, f, "", "version", KT_VERSION, NULL, NULL, "1");
	if (!m->seq)
		return;
	if (id == FAM_INTERVALS)
		expo_sample(o, f, "", NULL, NULL, NULL, NULL, expo_u64(&n, m->seq));
	if (id == FAM_LAST)
		expo_sample(o, f, "", NULL, NULL, NULL, NULL, expo_double(&n, 3, m->epoch_s));
	if (id == FAM_INTERVAL)
		expo_sample(o, f, "", NULL, NULL, NULL, NULL, expo_double(&n, 6, m->interval_s));
	if (!m->have_health)
		return;
	if (id == FAM_LAG)
		expo_sample(o, f, "", NULL, NULL, NULL, NULL,
			    expo_double(&n, 6, t->interval_lag_s));
	for (i = 0; id == FAM_DROPS && i < KT_NR_DROPS; i++)
		expo_sample(o, f, "", "reason", drop_name[i], NULL, NULL,
			    expo_u64(&n, t->drops[i]));
	if (id == FAM_POWER_FAILURES)
		expo_sample(o, f, "", NULL, NULL, NULL, NULL, expo_u64(&n, t->plug_failures));
	for (i = 0; id == FAM_PROG_RUNS && i < t->nr_progs; i++)
		expo_sample(o, f, "", "program", t->prog[i].name, NULL, NULL,
			    expo_u64(&n, t->prog[i].run_cnt));
	for (i = 0; id == FAM_PROG_TIME && i < t->nr_progs; i++)
		expo_sample(o, f, "", "program", t->prog[i].name, NULL, NULL,
			    expo_ns(&n, t->prog[i].run_time_ns));
}

static void render_family(const struct metrics_store *m, struct expo *o, enum family_id id)
{
	const struct vm_entry *e;
	size_t i, k;

	/* The tracer's cost is a figure of the host's record: in its slots, without a source. */
	if (families[id].scope == SCOPE_TRACER) {
		render_tracer(m, o, id);
		render_slots(o, id, FIELDS_HOST, m->host, "", NULL, NULL);
	}
	if (families[id].scope == SCOPE_HOST)
		render_slots(o, id, FIELDS_HOST, m->host, "", "source", m->host_source);
	for (i = 0; i < m->nr_vms; i++) {
		e = m->vms[i];
		switch (families[id].scope) {
		case SCOPE_VM:
			render_slots(o, id, FIELDS_VM, e->slot, e->labels, NULL, NULL);
			break;
		case SCOPE_PERF:
			render_perf(o, e, id);
			break;
		case SCOPE_VCPU:
			for (k = 0; k < e->vcpus.nr; k++)
				render_slots(o, id, FIELDS_VCPU, e->vcpus.k[k].slot, e->labels,
					     "vcpu", e->vcpus.k[k].key);
			break;
		case SCOPE_EXIT:
			for (k = 0; k < e->exits.nr; k++)
				render_slots(o, id, FIELDS_EXITS, e->exits.k[k].slot, e->labels,
					     "reason", e->exits.k[k].key);
			break;
		default:
			break;
		}
	}
}

void metrics_store_render(struct metrics_store *m, struct expo *o)
{
	int id;

	pthread_mutex_lock(&m->lock);
	o->fam = NULL;
	for (id = FAM_NONE + 1; id < NR_FAMILIES; id++)
		render_family(m, o, id);
	expo_end(o);
	if (!o->failed)
		sweep(m, drop_final, 0);
	pthread_mutex_unlock(&m->lock);
}
