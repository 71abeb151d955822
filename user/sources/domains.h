/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The libvirt join: a read-only libvirt connection, polled once per interval, that knows each
 * active domain's name, UUID, VMM PID, vCPUs, memory, taps and disks. If libvirtd goes away the
 * last known domains stay, one warning is printed, and the connection is retried each interval.
 * The polls run on a thread of their own, so a libvirtd that stalls never stalls the drain.
 */
#ifndef KT_DOMAINS_H
#define KT_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define DOMAIN_MAX_TAPS 16
#define DOMAIN_MAX_DISKS 16

struct domain_disk {
	char target[32];	/* e.g. "vda" */
	char source[256];	/* file or block device, empty when none */
};

struct domain_info {
	char name[KT_NAME_MAX];
	char uuid[KT_UUID_LEN];
	int id;			/* libvirt's domain id: changes when the domain restarts */
	int pid;		/* VMM PID, 0 when unknown */
	int vcpus;		/* current vCPUs */
	uint64_t memory_bytes;	/* current (balloon) memory */
	uint64_t max_memory_bytes;
	char taps[DOMAIN_MAX_TAPS][16];
	int nr_taps;
	struct domain_disk disks[DOMAIN_MAX_DISKS];
	int nr_disks;
};

struct domains;

/* Opens the join on uri ("none" or NULL: disabled, every lookup misses) and polls it once. Never
 * fails for an unreachable daemon: it warns once and keeps trying at each refresh. NULL when
 * out of memory or threads. */
struct domains *domains_open(const char *uri, double interval_s);

/* Asks for a poll of the active domains (once per interval) and takes the newest finished one,
 * waiting at most a quarter interval (250 ms at most) for it; reconnects when the daemon is
 * back. What the lookups below return changes only here. */
void domains_refresh(struct domains *d);

/* The active domain whose VMM is pid, or whose UUID is uuid; NULL when none is known. */
const struct domain_info *domains_by_pid(const struct domains *d, int pid);
const struct domain_info *domains_by_uuid(const struct domains *d, const char *uuid);

/* All known domains. */
size_t domains_list(const struct domains *d, const struct domain_info **out);

void domains_close(struct domains *d);

/* Fills the taps, disks and vCPU/memory figures of d from a domain's XML. Returns 0 or -1. */
int domain_parse_xml(const char *xml, struct domain_info *d);

#endif /* KT_DOMAINS_H */
