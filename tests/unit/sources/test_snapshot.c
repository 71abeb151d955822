// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snapshot.h"

static void add_exit(struct snapshot *s, uint32_t tgid, uint32_t reason, uint64_t count,
		     uint64_t handling_ns)
{
	s->exits = realloc(s->exits, (s->nr_exits + 1) * sizeof(*s->exits));
	assert_non_null(s->exits);
	s->cap_exits = s->nr_exits + 1;
	s->exits[s->nr_exits++] = (struct snap_exit){
		.key = { .tgid = tgid, .isa = 1, .reason = reason, .vm_birth_ns = 10 },
		.stat = { .count = count, .handling_ns = handling_ns },
	};
}

/* Run i of the latest thread. */
static void add_run(struct snapshot *s, int i, uint32_t reason, uint64_t exits,
		    uint64_t handling_ns)
{
	s->threads[s->nr_threads - 1].t.kvm.runs[i] = (struct kt_exit_run){
		.isa = 1, .reason = reason, .exits = exits, .handling_ns = handling_ns,
	};
}

/* A thread whose first run is of reason. */
static void add_thread(struct snapshot *s, uint32_t tid, uint32_t tgid, uint32_t reason,
		       uint64_t exits, uint64_t handling_ns)
{
	s->threads = realloc(s->threads, (s->nr_threads + 1) * sizeof(*s->threads));
	assert_non_null(s->threads);
	s->threads[s->nr_threads++] = (struct snap_thread){
		.tid = tid,
		.t = { .tgid = tgid, .vm_birth_ns = 10 },
	};
	add_run(s, 0, reason, exits, handling_ns);
}

static void assert_exit(const struct snap_exit *e, uint32_t tgid, uint32_t reason,
			uint64_t count, uint64_t handling_ns)
{
	assert_int_equal(e->key.tgid, tgid);
	assert_int_equal(e->key.isa, 1);
	assert_int_equal(e->key.reason, reason);
	assert_int_equal(e->key.vm_birth_ns, 10);
	assert_int_equal(e->stat.count, count);
	assert_int_equal(e->stat.handling_ns, handling_ns);
}

/*
 * Two vCPUs of one VM in runs of the reason exit_stats has, one in a reason it has not seen
 * yet and in runs of several reasons, a thread of another VM, and threads with no run: one entry
 * per VM and reason, in order.
 */
static void test_runs_join_their_reasons(void **state)
{
	struct snapshot s = { 0 };

	(void)state;
	add_exit(&s, 200, 30, 5, 500);
	add_exit(&s, 100, 48, 7, 70);
	add_exit(&s, 100, 12, 3, 300);
	add_thread(&s, 101, 100, 12, 2, 20);
	add_thread(&s, 102, 100, 12, 1, 0);
	add_thread(&s, 103, 100, 1, 4, 40);
	add_run(&s, 2, 12, 3, 30);		/* reasons in turn: runs of each */
	add_run(&s, 3, 48, 1, 1);
	add_thread(&s, 104, 100, 48, 0, 0);	/* its run moved to exit_stats */
	add_thread(&s, 201, 200, 30, 1, 9);
	assert_int_equal(snapshot_add_exit_runs(&s), 0);
	assert_int_equal(s.nr_exits, 4);
	assert_exit(&s.exits[0], 100, 1, 4, 40);
	assert_exit(&s.exits[1], 100, 12, 9, 350);
	assert_exit(&s.exits[2], 100, 48, 8, 71);
	assert_exit(&s.exits[3], 200, 30, 6, 509);
	assert_true(s.cap_exits >= s.nr_exits);
	free(s.exits);
	free(s.threads);
}

/* No exit_stats entry at all yet: the runs alone. No run: the table as it was. */
static void test_runs_alone_and_none(void **state)
{
	struct snapshot s = { 0 };

	(void)state;
	assert_int_equal(snapshot_add_exit_runs(&s), 0);
	assert_int_equal(s.nr_exits, 0);
	add_thread(&s, 101, 100, 12, 2, 20);
	assert_int_equal(snapshot_add_exit_runs(&s), 0);
	assert_int_equal(s.nr_exits, 1);
	assert_exit(&s.exits[0], 100, 12, 2, 20);
	free(s.exits);
	free(s.threads);
}

/* VM 20 retired between the two walks: in vms and dead_vms; its live copy goes, the order stays. */
static void test_retired_twin_dropped(void **state)
{
	struct snap_vm vms[5] = {
		{ .vm = { .tgid = 10, .birth_ns = 1 } },
		{ .vm = { .tgid = 20, .birth_ns = 2 } },
		{ .vm = { .tgid = 30, .birth_ns = 3 } },
		{ .dead = true, .vm = { .tgid = 20, .birth_ns = 2 } },
		{ .dead = true, .vm = { .tgid = 30, .birth_ns = 9 } },	/* an older incarnation */
	};
	struct snapshot s = { .vms = vms, .nr_vms = 5 };

	(void)state;
	snapshot_drop_retired_twins(&s, 3);
	assert_int_equal(s.nr_vms, 4);
	assert_int_equal(vms[0].vm.tgid, 10);
	assert_int_equal(vms[1].vm.tgid, 30);
	assert_false(vms[1].dead);
	assert_int_equal(vms[2].vm.tgid, 20);
	assert_true(vms[2].dead);
	assert_int_equal(vms[3].vm.birth_ns, 9);
	snapshot_drop_retired_twins(&s, 4);	/* none dead: nothing goes */
	assert_int_equal(s.nr_vms, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_join_their_reasons),
		cmocka_unit_test(test_runs_alone_and_none),
		cmocka_unit_test(test_retired_twin_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
