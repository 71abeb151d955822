// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "attribution.h"

int parse_host_cpu(const char *line, struct host_cpu *cpu)
{
	unsigned long long v[8] = {};
	int n;

	/* The all-CPU line only ("cpu0" and the like are single CPUs). */
	if (strncmp(line, "cpu ", 4))
		return -1;
	/* user nice system idle iowait irq softirq steal: steal is another guest's, not ours. */
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	if (n < 7)
		return -1;
	cpu->busy = v[0] + v[1] + v[2] + v[5] + v[6];
	cpu->all = cpu->busy + v[3] + v[4];
	return 0;
}

int read_host_cpu(const char *proc, struct host_cpu *cpu)
{
	char path[512], line[512];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/stat", proc);
	f = fopen(path, "re");
	if (!f)
		return -1;
	err = fgets(line, sizeof(line), f) ? parse_host_cpu(line, cpu) : -1;
	fclose(f);
	return err;
}

void power_model_init(struct power_model *m, double idle_watts)
{
	m->learn_idle = idle_watts < 0;
	m->idle_w = idle_watts;
}

void power_attribute(struct power_model *m, const char *source, bool valid, double watts,
		     double energy_j, uint64_t busy_ns, uint64_t capacity_ns, struct vm_record *recs,
		     size_t n, struct host_record *host)
{
	uint64_t vms_cpu = 0, denominator;
	double active;
	size_t i;

	for (i = 0; i < n; i++)
		vms_cpu += recs[i].cpu_total_ns;
	memset(host, 0, sizeof(*host));
	host->valid = valid;
	host->source = source;
	host->cpu_busy_ns = busy_ns;
	host->cpu_capacity_ns = capacity_ns;
	if (valid && m->learn_idle && (m->idle_w < 0 || watts < m->idle_w))
		m->idle_w = watts;
	for (i = 0; i < n; i++) {
		recs[i].power_source = source;
		recs[i].host_power_w = recs[i].vm_power_w = recs[i].host_energy_j = -1;
	}
	if (!valid)
		return;
	host->host_power_w = watts;
	host->host_energy_j = energy_j;
	/* A configured idle power above this interval's: all of it is idle. */
	host->idle_w = m->idle_w < watts ? m->idle_w : watts;
	active = watts - host->idle_w;
	/* Tick-based host time can read below the VMs' exact time: never share out more. */
	denominator = busy_ns > vms_cpu ? busy_ns : vms_cpu;
	for (i = 0; i < n; i++) {
		recs[i].host_power_w = watts;
		recs[i].host_energy_j = energy_j;
		recs[i].vm_power_w = denominator ? active * recs[i].cpu_total_ns / denominator : 0;
		host->vms_w += recs[i].vm_power_w;
	}
	host->rest_w = active - host->vms_w;
}
