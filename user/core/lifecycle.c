// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery.h"
#include "lifecycle.h"
#include "log.h"

#define PROC "/proc"

/*
 * Every process's descriptors are looked at for a KVM VM every FULL_SCAN_S; in between only
 * those of processes younger than that at the last full scan (a VMM makes its VM soon after it
 * starts): a late one is found within FULL_SCAN_S, counted from its birth all the same. In
 * between, the task iterator lists the processes to look at, where it runs: the scan then
 * reads no stat of the many others.
 */
#define FULL_SCAN_S	10

/* The filter of the scans between two full ones: processes begun after started_after. */
static uint64_t young_after(uint64_t full_scan_ticks)
{
	uint64_t full = FULL_SCAN_S * sysconf(_SC_CLK_TCK);

	return full_scan_ticks > full ? full_scan_ticks - full : 0;
}

struct lifecycle {
	struct tracer *tracer;
	struct account *account;
	struct domains *domains;
	const int *pids;	/* -p: only these */
	size_t nr_pids;
	int unseen[KT_MAX_VMS];	/* untracked VMMs the last scan found, waiting a scan */
	size_t nr_unseen;
	uint64_t full_scan_ticks;	/* when every process's descriptors were last looked at */
	int self;		/* the tracer's PID */
};

struct lifecycle *lifecycle_new(struct tracer *tr, struct account *a, struct domains *doms,
				const int *pids, size_t nr_pids)
{
	struct lifecycle *lc = calloc(1, sizeof(*lc));

	if (!lc)
		return NULL;
	lc->tracer = tr;
	lc->account = a;
	lc->domains = doms;
	lc->pids = pids;
	lc->nr_pids = nr_pids;
	lc->self = getpid();
	return lc;
}

void lifecycle_free(struct lifecycle *lc)
{
	free(lc);
}

/*
 * Tracks a process found alive, with its name: a VM the first drain sees only after its end
 * (its /proc entry gone) is still named as it ran.
 */
static int track(struct lifecycle *lc, int pid, bool from_birth)
{
	char comm[KT_COMM_LEN];

	if (discovery_thread_name(PROC, pid, pid, comm, sizeof(comm)))
		comm[0] = '\0';
	return tracer_add_vm(lc->tracer, pid, comm, from_birth);
}

void lifecycle_start(struct lifecycle *lc)
{
	int pids[KT_MAX_VMS];
	size_t i, n;

	if (lc->nr_pids) {
		for (i = 0; i < lc->nr_pids; i++)
			if (track(lc, lc->pids[i], false))
				kt_warn("cannot track PID %d: the VM table is full", lc->pids[i]);
		return;
	}
	lc->full_scan_ticks = discovery_now_ticks();
	n = discovery_scan(PROC, NULL, pids, KT_MAX_VMS);
	for (i = 0; i < n; i++)
		if (track(lc, pids[i], false))
			kt_warn("cannot track PID %d: the VM table is full", pids[i]);
	tracer_list_processes(lc->tracer, young_after(lc->full_scan_ticks));
}

static bool is_tracked(const struct snapshot *s, int pid)
{
	size_t i;

	for (i = 0; i < s->nr_vms; i++)
		if (s->vms[i].vm.tgid == (uint32_t)pid)
			return true;
	return false;
}

/* What the scans pass over: the VMs of a snapshot, and the tracer itself. */
struct known {
	const struct snapshot *s;
	int self;
};

/*
 * The tracer is no VMM, but holds several fds per VM: a look at each (it is young for its
 * first scans) would cost more than the rest of the scan.
 */
static bool known_pid(int pid, void *known)
{
	const struct known *k = known;

	return pid == k->self || is_tracked(k->s, pid);
}

/* libvirt's domains whose VMM the kernel hooks have not found (an unusual VMM name). libvirt
 * lists a domain until it has reaped its QEMU: a zombie is no VM to add again. */
void lifecycle_before_drain(struct lifecycle *lc, const struct snapshot *s)
{
	const struct domain_info *doms;
	size_t i, n;

	if (lc->nr_pids)
		return;
	n = domains_list(lc->domains, &doms);
	for (i = 0; i < n; i++)
		if (doms[i].pid > 0 && !is_tracked(s, doms[i].pid) &&
		    discovery_alive(PROC, doms[i].pid) && !discovery_fork_parent(PROC, doms[i].pid))
			track(lc, doms[i].pid, false);
}

/*
 * The VM a daemonized VMM continues: the live one of its name, whose process has its command
 * line or is gone already. QEMU -daemonize forks twice, so the VM is its launcher's grandchild,
 * an orphan by the time we see it: no parent links them. 0 when none.
 */
static uint32_t launcher_of(struct lifecycle *lc, int pid)
{
	char name[KT_NAME_MAX], uuid[KT_UUID_LEN];
	uint32_t launcher;

	if (discovery_identify(PROC, pid, NULL, name, sizeof(name), uuid, sizeof(uuid)))
		return 0;
	launcher = account_vm_named(lc->account, name);
	if (!launcher || launcher == (uint32_t)pid)
		return 0;
	if (discovery_alive(PROC, launcher) && !discovery_same_cmdline(PROC, launcher, pid))
		return 0;
	return launcher;
}

/*
 * VMM processes the hooks cannot see start: a fork of a VMM that never execs, as QEMU's
 * -daemonize does (Proxmox starts its VMs so), or a process that holds a KVM VM under a name
 * that is no VMM's. A scan of /proc after each drain finds them. Such a process started after
 * the tracer (those before were tracked at the start): all its time is the VM's, from its
 * birth, and its first row (at the next drain) holds it. A fork continues its launcher's VM
 * under the same name; the launcher, which only waits for it, gets no more rows. After the
 * drain, so that a launcher that exec'd during this interval is known by name.
 */
void lifecycle_after_account(struct lifecycle *lc, const struct snapshot *s)
{
	int pids[KT_MAX_VMS], parent;
	size_t i, j, n, kept = 0;
	uint32_t launcher;
	struct known k = { .s = s, .self = lc->self };
	struct discovery_filter f = { .known = known_pid, .ctx = &k };
	uint64_t now = discovery_now_ticks(), full = FULL_SCAN_S * sysconf(_SC_CLK_TCK);

	if (lc->nr_pids)
		return;
	if (now >= lc->full_scan_ticks + full)
		lc->full_scan_ticks = now;
	else
		f.started_after = young_after(lc->full_scan_ticks);
	/* The iterator's list will do where it holds every process this filter passes. */
	if (f.started_after && s->listed && s->listed_after <= f.started_after)
		n = discovery_check(PROC, &f, s->procs, s->nr_procs, pids, KT_MAX_VMS);
	else
		n = discovery_scan(PROC, &f, pids, KT_MAX_VMS);
	tracer_list_processes(lc->tracer, young_after(lc->full_scan_ticks));
	for (i = 0; i < n; i++) {
		for (j = 0; j < lc->nr_unseen && lc->unseen[j] != pids[i]; j++)
			;
		/* A fork of the launcher itself may be -daemonize's middle fork, which exits at
		 * once: it waits a scan. A fork of that fork is the VM: it does not. */
		parent = discovery_fork_parent(PROC, pids[i]);
		if (j == lc->nr_unseen && parent > 0 && !discovery_fork_parent(PROC, parent)) {
			pids[kept++] = pids[i];
			continue;
		}
		if (track(lc, pids[i], true))
			continue;
		launcher = launcher_of(lc, pids[i]);
		if (launcher)
			account_hand_over(lc->account, launcher, pids[i]);
	}
	memcpy(lc->unseen, pids, kept * sizeof(pids[0]));
	lc->nr_unseen = kept;
}

/*
 * How long a VM whose exit was seen may wait for its threads' final figures once its process
 * is reaped: they come at each thread's freeing, an RCU grace period later.
 */
#define FINAL_FIGURES_NS	(2 * 1000000000ull)

/*
 * Gone, and its exit never seen (it ended while being added) or its last figures overdue. The
 * hooks see every other end, so a VM whose exit was not seen is looked at in /proc once every
 * FULL_SCAN_S only (VMs spread by PID): a read of its stat per VM and interval saved.
 */
static bool ended_unseen(const struct kt_vm *vm, uint64_t now_ns)
{
	bool exit_seen = vm->flags & KT_VM_GROUP_DEAD;

	if (!exit_seen && (now_ns / 1000000000 + vm->tgid) % FULL_SCAN_S)
		return false;
	if (discovery_alive(PROC, vm->tgid))
		return false;
	return !exit_seen || now_ns > vm->death_ns + FINAL_FIGURES_NS;
}

/* A VM that ended unseen is retired now and gets its last row at the next drain. */
size_t lifecycle_after_sinks(struct lifecycle *lc, const struct snapshot *s)
{
	const struct kt_vm *vm;
	size_t i, live = 0;

	for (i = 0; i < s->nr_vms; i++) {
		vm = &s->vms[i].vm;
		if (s->vms[i].dead)
			tracer_forget(lc->tracer, s, vm);
		else if (ended_unseen(vm, s->mono_ns))
			tracer_remove_vm(lc->tracer, vm->tgid);
		else
			live++;
	}
	return live;
}
