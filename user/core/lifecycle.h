/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM lifecycle policy: which processes are VMs and when one ends. The BPF hooks find most
 * VMs themselves (kvm_entry, a VMM's exec); this adds those they cannot see start (libvirt
 * domains of unusual VMMs, forks of a VMM that never exec, as QEMU -daemonize makes), hands a
 * daemonized VM over from its launcher, and retires VMs whose last row is out. Decided once
 * here, upstream of every sink.
 */
#ifndef KT_LIFECYCLE_H
#define KT_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "domains.h"
#include "snapshot.h"
#include "tracer.h"

struct lifecycle;

/* pids (nr_pids of them): trace only these (-p); none: every VM of the host. */
struct lifecycle *lifecycle_new(struct tracer *tr, struct account *a, struct domains *doms,
				const int *pids, size_t nr_pids);

/* Tracks the VMs that run at the start. */
void lifecycle_start(struct lifecycle *lc);

/* Before a drain: libvirt's domains the hooks have not found (s: the last snapshot). */
void lifecycle_before_drain(struct lifecycle *lc, const struct snapshot *s);

/* After accounting the drain s: VMMs the hooks could not see start, and hand-overs. */
void lifecycle_after_account(struct lifecycle *lc, const struct snapshot *s);

/*
 * After the sinks wrote s's rows: ended VMs leave the maps. Returns how many VMs still run.
 */
size_t lifecycle_after_sinks(struct lifecycle *lc, const struct snapshot *s);

void lifecycle_free(struct lifecycle *lc);

#endif /* KT_LIFECYCLE_H */
