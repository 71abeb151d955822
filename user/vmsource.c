// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "discovery.h"
#include "vmsource.h"

#define PROC "/proc"

static const struct domain_info *domain_of(struct domains *doms, int pid, const char *uuid)
{
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

struct vm_source host_vm_source(struct domains *doms)
{
	struct vm_source src = {
		.identify = host_identify,
		.cputime = host_cputime,
		.thread_name = host_thread_name,
		.vcpus = host_vcpus,
		.ctx = doms,
	};

	return src;
}
