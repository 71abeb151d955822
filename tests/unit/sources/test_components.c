// SPDX-License-Identifier: GPL-2.0
/* The table of hypervisor components: names, CSV columns, enum order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "components.h"

static void test_component_names(void **state)
{
	(void)state;
	assert_string_equal(component_name(KT_COMP_QEMU_USER), "qemu_user");
	assert_string_equal(component_name(KT_COMP_KVM), "kvm");
	assert_string_equal(component_name(KT_COMP_VHOST), "vhost");
	assert_string_equal(component_name(KT_COMP_TAP), "tap");
	assert_string_equal(component_name(KT_COMP_BRIDGE), "bridge");
	assert_string_equal(component_name(KT_COMP_NET), "net");
	assert_string_equal(component_name(KT_COMP_BLOCK), "block");
	assert_string_equal(component_name(KT_COMP_SCHED), "sched");
	assert_string_equal(component_name(KT_COMP_OTHER_KERNEL), "other_kernel");
	assert_null(component_name(KT_NR_COMPONENTS));
	assert_null(component_name((enum kt_component)-1));
}

/* Network code run for nobody's thread and vhost workers: what bpf/kt_sampler.bpf.h can charge
 * outside a VM's own threads (samples_ext, shared_samples). */
static bool charged_outside(enum kt_component c)
{
	return c == KT_COMP_VHOST || c == KT_COMP_TAP || c == KT_COMP_BRIDGE || c == KT_COMP_NET;
}

static void test_component_table(void **state)
{
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; i < KT_NR_COMPONENTS; i++) {
		const struct component_info *c = &components[i];

		assert_int_equal(c->id, i);
		assert_non_null(c->name);
		snprintf(want, sizeof(want), "hyp_%s_ns", c->name);
		assert_string_equal(c->hyp_column, want);
		if (!charged_outside(c->id)) {
			assert_null(c->ext_column);
			continue;
		}
		snprintf(want, sizeof(want), "ext_%s_ns", c->name);
		assert_non_null(c->ext_column);
		assert_string_equal(c->ext_column, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_component_names),
		cmocka_unit_test(test_component_table),
	};

	return cmocka_run_group_tests_name("components", tests, NULL, NULL);
}
