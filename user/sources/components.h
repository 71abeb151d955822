/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hypervisor components the sampler tells apart (enum kt_component, bpf/kvmtrace.h), named
 * once: every module that prints or labels a component takes its spelling from here.
 */
#ifndef KT_COMPONENTS_H
#define KT_COMPONENTS_H

#include "kvmtrace.h"

struct component_info {
	enum kt_component id;	/* its index in components[] */
	const char *name;	/* "qemu_user", "kvm", ...: the metrics' component label */
	const char *hyp_column;	/* "hyp_<name>_ns": the VM file's column of its own threads' time */
	/*
	 * "ext_<name>_ns": the column of kernel work for the VM outside its threads, NULL for the
	 * components no such work is charged to (only vhost, tap, bridge and net occur, record.h).
	 */
	const char *ext_column;
};

/* Every component, in enum order, which is also the order of the CSV columns. */
extern const struct component_info components[KT_NR_COMPONENTS];

/* The component's name; NULL if c is out of range. */
const char *component_name(enum kt_component c);

#endif /* KT_COMPONENTS_H */
