// SPDX-License-Identifier: GPL-2.0
/* Least privilege after start-up: see privs.h for what is kept and why. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include "outdir.h"
#include "privs.h"

/* Older uapi headers lack the capabilities added in Linux 5.8. */
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

#define BIT(cap) (1ULL << (cap))
/* The kernel's capabilities fit in 64 bits (CAP_LAST_CAP is 40 in Linux 6.x). */
#define NR_CAPS 64

static int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The set of capabilities of one kind the process holds now (after capng_get_caps_process()). */
static uint64_t held(capng_type_t which)
{
	uint64_t mask = 0;
	int cap;

	for (cap = 0; cap < NR_CAPS; cap++)
		if (capng_have_capability(which, cap))
			mask |= BIT(cap);
	return mask;
}

/* Sets the permitted and effective sets (and empties inheritable, and bounding if asked). */
static int apply(uint64_t permitted, uint64_t effective, bool bounding)
{
	capng_select_t sel = bounding ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS;
	int cap;

	capng_clear(sel);
	for (cap = 0; cap < NR_CAPS; cap++) {
		if ((permitted & BIT(cap)) && capng_update(CAPNG_ADD, CAPNG_PERMITTED, cap))
			return -1;
		if ((effective & BIT(cap)) && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, cap))
			return -1;
	}
	return capng_apply(sel) ? -1 : 0;
}

bool privs_kallsyms_visible(void)
{
	unsigned long long addr = 0;
	FILE *f = fopen("/proc/kallsyms", "re");
	bool seen;

	if (!f)
		return false;
	seen = fscanf(f, "%llx", &addr) == 1 && addr != 0;
	fclose(f);
	return seen;
}

static bool dir_writable(const char *dir)
{
	char why[256];

	return !outdir_check(dir, false, why, sizeof(why));
}

/*
 * Does the kernel want a capability for the bpf() commands of every interval (test runs, map
 * reads)? It checks capabilities before the fd, so an invalid fd tells: EPERM, or EBADF.
 */
static bool bpf_needs_cap(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = -1;
	return syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) < 0 && errno == EPERM;
}

/* "keeping cap_a, cap_b" or "keeping no capability". */
static void describe(uint64_t keep, bool bounding, char *out, size_t len)
{
	const char *name;
	size_t used;
	int cap;

	used = snprintf(out, len, "keeping %s", keep ? "" : "no capability");
	for (cap = 0; cap < NR_CAPS && used < len; cap++) {
		if (!(keep & BIT(cap)))
			continue;
		name = capng_capability_to_name(cap);
		keep &= ~BIT(cap);
		used += snprintf(out + used, len - used, "cap_%s%s", name ? name : "unknown",
				 keep ? ", " : "");
	}
	if (!bounding && used < len)
		snprintf(out + used, len - used, " (bounding set unchanged: no CAP_SETPCAP)");
}

int privs_drop(const struct privs_needs *needs, char *why, size_t len)
{
	const struct privs_needs none = {};
	uint64_t have, base, maybe, keep, setpcap;
	bool syslog_helps, dac_helps;
	int bpf_cap, n;

	if (!needs)
		needs = &none;
	n = nr_threads();
	if (n != 1) {
		if (n < 0)
			snprintf(why, len, "cannot count the threads in /proc/self/task: %s",
				 strerror(errno));
		else
			snprintf(why, len, "%d threads: capabilities are per thread, so privileges "
				 "must be dropped before any other thread starts", n);
		return -1;
	}
	if (capng_get_caps_process()) {
		snprintf(why, len, "cannot read this process's capabilities: %s", strerror(errno));
		return -1;
	}
	have = held(CAPNG_PERMITTED);
	setpcap = held(CAPNG_EFFECTIVE) & BIT(CAP_SETPCAP);
	base = have & (BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_SYS_PTRACE));
	bpf_cap = (have & BIT(CAP_BPF)) ? CAP_BPF : CAP_SYS_ADMIN;

	/* What works with the capabilities of now, to compare with what works without. */
	syslog_helps = needs->kallsyms && (have & BIT(CAP_SYSLOG)) && privs_kallsyms_visible();
	dac_helps = needs->outdir && (have & BIT(CAP_DAC_OVERRIDE)) && dir_writable(needs->outdir);
	maybe = (syslog_helps ? BIT(CAP_SYSLOG) : 0) | (dac_helps ? BIT(CAP_DAC_OVERRIDE) : 0) |
		(have & BIT(bpf_cap));

	/* The candidates leave the effective set only, so each can be tried without. */
	if (apply(base | maybe | setpcap, base | setpcap, false)) {
		snprintf(why, len, "cannot lower this process's capabilities: %s", strerror(errno));
		return -1;
	}
	keep = base;
	if (syslog_helps && !privs_kallsyms_visible())
		keep |= BIT(CAP_SYSLOG);
	if (dac_helps && !dir_writable(needs->outdir))
		keep |= BIT(CAP_DAC_OVERRIDE);
	if ((maybe & BIT(bpf_cap)) && bpf_needs_cap())
		keep |= BIT(bpf_cap);

	/* Ambient capabilities need no privilege to clear; kernels before 4.3 have none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		snprintf(why, len, "cannot clear the ambient capabilities: %s", strerror(errno));
		return -1;
	}
	/* The bounding set goes first, while CAP_SETPCAP is still effective (capng_apply). */
	if (apply(keep, keep, setpcap != 0)) {
		snprintf(why, len, "cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	/* Nothing run from here on (libvirt's ssh transport, say) gains any privilege. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(why, len, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* Files created from now on are for root and root's group alone (0640, 0750). */
	umask(027);
	describe(keep, setpcap != 0, why, len);
	return 0;
}
