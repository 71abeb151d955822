/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps and accounting logic of kvmtrace-bpf, one header per area. The real hooks
 * (kvmtrace.bpf.c) and the BPF logic tests (tests/bpf/) call these same __always_inline helpers
 * with the event's time and IDs, so the tests drive exactly the code that runs in production.
 *
 * Hot path: every handler first tests the tgid in the "tracked" bitmap (an array lookup the
 * verifier inlines); only events of tracked VMs touch the hash maps.
 */
#ifndef KVMTRACE_BPF_H
#define KVMTRACE_BPF_H

#include "kt_maps.bpf.h"		/* maps, settings, helpers of every area */
#include "kt_counters.bpf.h"	/* perf counters, guest and host shares */
#include "kt_sched.bpf.h"	/* switch, wakeup, exit, exec, the drain's flush */
#include "kt_kvm.bpf.h"		/* kvm_entry, kvm_exit */
#include "kt_io.bpf.h"		/* block, net */
#include "kt_sampler.bpf.h"	/* samples by component, softirq */

#endif /* KVMTRACE_BPF_H */
