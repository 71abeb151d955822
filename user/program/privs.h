/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Least privilege: once the BPF programs are loaded and attached and the perf events open, the
 * tracer needs few capabilities: the maps, programs and events are used through the fds it
 * holds, which the kernel checks when they are made, not when they are used.
 */
#ifndef KT_PRIVS_H
#define KT_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* What the rest of the run does that may need a capability, depending on the host. */
struct privs_needs {
	const char *outdir;	/* folder the files are written in; NULL: none */
	bool kallsyms;		/* kernel addresses read again (the sampler, after module loads) */
};

/*
 * Drops every capability but those the rest of the run needs, from the permitted, effective,
 * inheritable, ambient and (with CAP_SETPCAP) bounding sets, then sets no_new_privs and a umask
 * of 027. Kept, where held:
 *   CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE  /proc/PID/{fd,fdinfo,io,...} of VMMs run by other
 *                                        users (the file modes, then the ptrace access check)
 *   CAP_SYSLOG       with needs->kallsyms, if /proc/kallsyms shows no addresses without it
 *   CAP_DAC_OVERRIDE if needs->outdir is not writable without it (a folder root does not own)
 *   CAP_BPF          if the kernel refuses bpf() commands on fds without it (before Linux 5.19
 *                    with kernel.unprivileged_bpf_disabled set; CAP_SYS_ADMIN before 5.8)
 * Each conditional one is tested, not assumed: it leaves the effective set and the operation
 * is tried. Capabilities are per thread, so this must run while the process has a single one.
 * Returns 0 with the kept set in why ("keeping cap_dac_read_search, cap_sys_ptrace"), or -1
 * with a one-line reason in why.
 */
int privs_drop(const struct privs_needs *needs, char *why, size_t len);

/* Does /proc/kallsyms show addresses to this process? The kernel decides at open(). */
bool privs_kallsyms_visible(void);

#endif /* KT_PRIVS_H */
