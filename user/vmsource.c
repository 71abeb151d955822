// SPDX-License-Identifier: GPL-2.0
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>

#include "discovery.h"
#include "vmsource.h"

#define PROC "/proc"

static const struct domain_info *domain_of(struct host *h, int pid, const char *uuid)
{
	struct domains *doms = h->domains;

	const struct domain_info *dom = domains_by_pid(doms, pid);

	return dom ? dom : domains_by_uuid(doms, uuid);
}

static int host_identify(void *ctx, int pid, char *name, size_t name_len, char *uuid,
			 size_t uuid_len)
{
	const struct domain_info *dom;

	if (discovery_identify(PROC, pid, name, name_len, uuid, uuid_len))
		return -1;
	dom = domain_of(ctx, pid, uuid);
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

static void host_memory(void *ctx, int pid, const char *uuid, int64_t *rss, int64_t *guest)
{
	const struct domain_info *dom = domain_of(ctx, pid, uuid);

	*rss = discovery_rss_bytes(PROC, pid);
	*guest = dom ? (int64_t)dom->memory_bytes : -1;
}

void host_find_taps(struct host *h, const struct snapshot *s)
{
	char names[DOMAIN_MAX_TAPS][TAP_NAME_LEN];
	struct iface_binding *b;
	size_t i, j, n;
	unsigned int ifindex;

	h->nr_taps = 0;
	for (i = 0; i < s->nr_vms; i++) {
		if (s->vms[i].dead)
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
		.ctx = h,
	};

	return src;
}
