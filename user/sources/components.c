// SPDX-License-Identifier: GPL-2.0
/* The table of hypervisor components: their names and the CSV columns they give. */
#include <stddef.h>

#include "components.h"

/* Spelled once per component; the columns follow from the name. */
#define OWN(c, n)	[KT_COMP_##c] = { KT_COMP_##c, n, "hyp_" n "_ns", NULL }
#define OWN_EXT(c, n)	[KT_COMP_##c] = { KT_COMP_##c, n, "hyp_" n "_ns", "ext_" n "_ns" }

const struct component_info components[KT_NR_COMPONENTS] = {
	OWN(QEMU_USER, "qemu_user"),
	OWN(KVM, "kvm"),
	OWN_EXT(VHOST, "vhost"),
	OWN_EXT(TAP, "tap"),
	OWN_EXT(BRIDGE, "bridge"),
	OWN_EXT(NET, "net"),
	OWN(BLOCK, "block"),
	OWN(SCHED, "sched"),
	OWN(OTHER_KERNEL, "other_kernel"),
};

const char *component_name(enum kt_component c)
{
	if ((unsigned int)c >= KT_NR_COMPONENTS)
		return NULL;
	return components[c].name;
}
