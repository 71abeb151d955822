// SPDX-License-Identifier: GPL-2.0
/* What the drain makes of the maps it read, before the accounting sees them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int cmp_exit_key(const void *a, const void *b)
{
	const struct kt_exit_key *x = &((const struct snap_exit *)a)->key;
	const struct kt_exit_key *y = &((const struct snap_exit *)b)->key;

	return cmp_u64(x->tgid, y->tgid) ?: cmp_u64(x->vm_birth_ns, y->vm_birth_ns) ?:
	       cmp_u64(x->isa, y->isa) ?: cmp_u64(x->reason, y->reason);
}

static bool has_exits(const struct kt_exit_run *run)
{
	return run->exits || run->handling_ns;
}

int snapshot_add_exit_runs(struct snapshot *s)
{
	size_t i, j, n = s->nr_exits, runs = 0;
	struct snap_exit *ex;

	for (i = 0; i < s->nr_threads; i++)
		for (j = 0; j < KT_EXIT_RUNS; j++)
			runs += has_exits(&s->threads[i].t.kvm.runs[j]);
	if (n + runs > s->cap_exits) {
		ex = realloc(s->exits, (n + runs) * sizeof(*ex));
		if (!ex)
			return -ENOMEM;
		s->exits = ex;
		s->cap_exits = n + runs;
	}
	for (i = 0; i < s->nr_threads; i++) {
		const struct kt_thread *t = &s->threads[i].t;

		for (j = 0; j < KT_EXIT_RUNS; j++) {
			const struct kt_exit_run *run = &t->kvm.runs[j];

			if (!has_exits(run))
				continue;
			s->exits[n++] = (struct snap_exit){
				.key = { .tgid = t->tgid, .isa = run->isa, .reason = run->reason,
					 .vm_birth_ns = t->vm_birth_ns },
				.stat = { .count = run->exits, .handling_ns = run->handling_ns },
			};
		}
	}
	qsort(s->exits, n, sizeof(*s->exits), cmp_exit_key);
	s->nr_exits = 0;
	for (i = 0, ex = NULL; i < n; i++) {
		if (ex && !cmp_exit_key(ex, &s->exits[i])) {
			ex->stat.count += s->exits[i].stat.count;
			ex->stat.handling_ns += s->exits[i].stat.handling_ns;
		} else {
			ex = &s->exits[s->nr_exits++];
			*ex = s->exits[i];
		}
	}
	return 0;
}

static bool is_dead_among(const struct snapshot *s, size_t first_dead, const struct kt_vm *vm)
{
	size_t i;

	for (i = first_dead; i < s->nr_vms; i++)
		if (s->vms[i].vm.tgid == vm->tgid && s->vms[i].vm.birth_ns == vm->birth_ns)
			return true;
	return false;
}

void snapshot_drop_retired_twins(struct snapshot *s, size_t nr_live)
{
	size_t i, kept = 0;

	if (nr_live == s->nr_vms)	/* no VM ended: the common case */
		return;
	for (i = 0; i < nr_live; i++)
		if (!is_dead_among(s, nr_live, &s->vms[i].vm))
			s->vms[kept++] = s->vms[i];
	memmove(s->vms + kept, s->vms + nr_live, (s->nr_vms - nr_live) * sizeof(*s->vms));
	s->nr_vms = kept + (s->nr_vms - nr_live);
}
