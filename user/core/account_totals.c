// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "account_totals.h"

/* A series of its own within a VM: a vCPU index, an exit name or a perf counter name. */
struct vcpu_sum {
	int vcpu;
	struct vcpu_totals total;
};

struct exit_sum {
	char name[KT_REASON_MAX];
	struct exit_totals total;
};

struct counter_sum {
	const char *name;	/* the run's counter names outlive every record */
	uint64_t guest, host;
};

struct identity {
	char vm[KT_NAME_MAX];
	char uuid[KT_UUID_LEN];
	bool seen;		/* has a record in this interval */
	struct vm_totals total;
	struct vcpu_sum *vcpus;
	size_t nr_vcpus;
	struct exit_sum *exits;
	size_t nr_exits;
	struct counter_sum counters[KT_MAX_COUNTERS];
	size_t nr_counters;
};

struct account_totals {
	struct identity *ids;
	size_t nr_ids;
	struct host_totals host;
};

struct account_totals *account_totals_new(void)
{
	return calloc(1, sizeof(struct account_totals));
}

static void identity_free(struct identity *id)
{
	free(id->vcpus);
	free(id->exits);
}

void account_totals_free(struct account_totals *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr_ids; i++)
		identity_free(&t->ids[i]);
	free(t->ids);
	free(t);
}

static int identity_cmp(const struct identity *id, const struct vm_record *r)
{
	int c = strcmp(id->vm, r->vm);

	return c ? c : strcmp(id->uuid, r->uuid);
}

/*
 * The identity of r, made when new. They are kept sorted by name and UUID: each record is
 * looked up twice an interval, and a pass over every VM's would cost as many VMs squared.
 */
static struct identity *identity_get(struct account_totals *t, const struct vm_record *r)
{
	size_t lo = 0, hi = t->nr_ids, mid;
	struct identity *id;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = identity_cmp(&t->ids[mid], r);
		if (!c)
			return &t->ids[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	id = realloc(t->ids, (t->nr_ids + 1) * sizeof(*id));
	if (!id)
		return NULL;
	t->ids = id;
	memmove(&t->ids[lo + 1], &t->ids[lo], (t->nr_ids - lo) * sizeof(*id));
	t->nr_ids++;
	id = &t->ids[lo];
	memset(id, 0, sizeof(*id));
	memcpy(id->vm, r->vm, sizeof(id->vm));
	memcpy(id->uuid, r->uuid, sizeof(id->uuid));
	return id;
}

static struct vcpu_totals *vcpu_total(struct identity *id, int vcpu)
{
	struct vcpu_sum *v;
	size_t i;

	for (i = 0; i < id->nr_vcpus; i++)
		if (id->vcpus[i].vcpu == vcpu)
			return &id->vcpus[i].total;
	v = realloc(id->vcpus, (id->nr_vcpus + 1) * sizeof(*v));
	if (!v)
		return NULL;
	id->vcpus = v;
	v = &id->vcpus[id->nr_vcpus++];
	memset(v, 0, sizeof(*v));
	v->vcpu = vcpu;
	return &v->total;
}

static struct exit_totals *exit_total(struct identity *id, const char *name)
{
	struct exit_sum *e;
	size_t i;

	for (i = 0; i < id->nr_exits; i++)
		if (!strcmp(id->exits[i].name, name))
			return &id->exits[i].total;
	e = realloc(id->exits, (id->nr_exits + 1) * sizeof(*e));
	if (!e)
		return NULL;
	id->exits = e;
	e = &id->exits[id->nr_exits++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, sizeof(e->name));
	return &e->total;
}

static struct counter_sum *counter_total(struct identity *id, const char *name)
{
	size_t i;

	for (i = 0; i < id->nr_counters; i++)
		if (!strcmp(id->counters[i].name, name))
			return &id->counters[i];
	if (id->nr_counters == KT_MAX_COUNTERS)
		return NULL;
	id->counters[id->nr_counters].name = name;
	return &id->counters[id->nr_counters++];
}

/* Each figure counts in the intervals it was measured in, as the CSV shows it. */
static int add_record(struct identity *id, const struct vm_record *r)
{
	struct vm_totals *t = &id->total;
	size_t i, c;

	t->cpu_total_ns += r->cpu_total_ns;
	t->run_delay_ns += r->run_delay_ns;
	if (r->guest_valid)
		t->cpu_guest_ns += r->cpu_guest_ns;
	if (r->guest_valid && !r->exit_handling_unmeasured) {
		t->exit_handling_cpu_ns += r->exit_handling_cpu_ns;
		t->exit_wait_ns += r->exit_wait_ns;
	}
	if (r->hyp_split_valid) {
		t->cpu_hyp_user_ns += r->cpu_hyp_user_ns;
		t->cpu_hyp_kernel_ns += r->cpu_hyp_kernel_ns;
	}
	if (r->net_valid) {
		t->net_rx_bytes += r->net_rx_bytes;
		t->net_tx_bytes += r->net_tx_bytes;
		t->net_rx_packets += r->net_rx_packets;
		t->net_tx_packets += r->net_tx_packets;
	}
	if (r->disk_valid) {
		t->disk_read_bytes += r->disk_read_bytes;
		t->disk_write_bytes += r->disk_write_bytes;
		t->disk_read_ops += r->disk_read_ops;
		t->disk_write_ops += r->disk_write_ops;
	}
	for (c = 0; c < KT_NR_COMPONENTS; c++) {
		if (r->hyp_components_valid)
			t->hyp_component_ns[c] += r->hyp_component_ns[c];
		if (r->ext_components_valid)
			t->ext_component_ns[c] += r->ext_component_ns[c];
	}
	for (i = 0; i < r->nr_vcpus; i++) {
		const struct vcpu_record *v = &r->vcpu[i];
		struct vcpu_totals *vt;

		if (v->vcpu < 0)
			continue;
		vt = vcpu_total(id, v->vcpu);
		if (!vt)
			return -1;
		vt->cpu_total_ns += v->cpu_total_ns;
		vt->run_delay_ns += v->run_delay_ns;
		if (r->guest_valid)
			vt->cpu_guest_ns += v->cpu_guest_ns;
		if (r->guest_valid && !v->exits_unmeasured)
			vt->exits += v->exits;
	}
	for (i = 0; i < r->nr_exits; i++) {
		struct exit_totals *et = exit_total(id, r->exit[i].name);

		if (!et)
			return -1;
		et->count += r->exit[i].count;
		et->handling_ns += r->exit[i].handling_ns;
	}
	for (i = 0; i < r->nr_counters; i++) {
		const struct counter_record *cr = &r->counter[i];
		struct counter_sum *cs;

		if (!cr->valid || !cr->name)
			continue;
		cs = counter_total(id, cr->name);
		if (!cs)
			continue;
		if (r->guest_source == GUEST_SOURCE_TRACEPOINT)
			cs->guest += cr->guest;
		cs->host += cr->host;
	}
	return 0;
}

/* Writes the identity's totals into one of its records. */
static void write_back(const struct identity *id, struct vm_record *r)
{
	size_t i, j;

	r->total = id->total;
	for (i = 0; i < r->nr_vcpus; i++)
		for (j = 0; j < id->nr_vcpus; j++)
			if (id->vcpus[j].vcpu == r->vcpu[i].vcpu)
				r->vcpu[i].total = id->vcpus[j].total;
	for (i = 0; i < r->nr_exits; i++)
		for (j = 0; j < id->nr_exits; j++)
			if (!strcmp(id->exits[j].name, r->exit[i].name))
				r->exit[i].total = id->exits[j].total;
	for (i = 0; i < r->nr_counters; i++)
		for (j = 0; r->counter[i].name && j < id->nr_counters; j++)
			if (!strcmp(id->counters[j].name, r->counter[i].name)) {
				r->counter[i].total_guest = id->counters[j].guest;
				r->counter[i].total_host = id->counters[j].host;
			}
}

int account_totals_update(struct account_totals *t, struct vm_record *recs, size_t n)
{
	struct identity *id;
	size_t i, kept = 0;

	for (i = 0; i < t->nr_ids; i++)
		t->ids[i].seen = false;
	for (i = 0; i < n; i++) {
		id = identity_get(t, &recs[i]);
		if (!id || add_record(id, &recs[i]))
			return -1;
		id->seen = true;
	}
	/* After every addition: an identity's records in this interval carry the same totals. */
	for (i = 0; i < n; i++)
		write_back(identity_get(t, &recs[i]), &recs[i]);
	for (i = 0; i < t->nr_ids; i++) {
		if (t->ids[i].seen)
			t->ids[kept++] = t->ids[i];
		else
			identity_free(&t->ids[i]);
	}
	t->nr_ids = kept;
	return 0;
}

/* As the host file shows it: the energy of the intervals whose power was read, the BPF
 * programs' time of those the kernel counted it in, the sampler's of those it was known in. */
void account_totals_host(struct account_totals *t, struct host_record *h)
{
	if (h->valid && h->host_energy_j >= 0)
		t->host.host_energy_j += h->host_energy_j;
	t->host.tracer_cpu_ns += h->tracer_cpu_ns;
	if (h->tracer_bpf_ns >= 0)
		t->host.tracer_bpf_ns += h->tracer_bpf_ns;
	if (h->sampler_cost_ns >= 0)
		t->host.sampler_cost_ns += h->sampler_cost_ns;
	h->total = t->host;
}
