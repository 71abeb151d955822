/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding VMM processes and describing them from /proc: the startup scan (VMMs started later
 * are caught in the kernel at exec), VM names from the VMM's command line, thread names, and the
 * kernel's user/system time split. Every function takes the proc root so tests use fixtures.
 */
#ifndef KT_DISCOVERY_H
#define KT_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmtrace.h"

/* User, system and guest time of a process, in clock ticks (USER_HZ), from /proc/PID/stat. */
struct proc_cputime {
	uint64_t utime;		/* includes guest time */
	uint64_t stime;
	uint64_t guest;
	uint64_t start;		/* when it began: clock ticks since boot */
};

/* Does a process name (comm) belong to a VMM? The same list as the BPF exec hook's. */
bool vmm_comm_matches(const char *comm);

/*
 * The VM name in a VMM command line (NUL-separated arguments, len bytes): QEMU's
 * "-name guest=NAME,..." or "-name NAME" (",," is QEMU's escaped comma), Firecracker's "--id ID".
 * Returns 0 and fills out, or -1 when the command line names no VM.
 */
int vm_name_from_cmdline(const char *cmdline, size_t len, char *out, size_t outlen);

/* Is pid a running process (not gone, not a zombie waiting to be reaped)? */
bool discovery_alive(const char *proc, int pid);

/*
 * The parent of pid when pid is its fork that has not exec'd (the same comm as its parent),
 * else 0. A manager such as libvirt shows a VM's PID before it execs QEMU: tracking it then
 * would make the exec end one VM and start another.
 */
int discovery_fork_parent(const char *proc, int pid);

/* Whether processes a and b have the same, readable, command line (a fork that never exec'd). */
bool discovery_same_cmdline(const char *proc, int a, int b);

/*
 * What a scan passes over: the processes known already (tracked VMs), and the descriptors of
 * those that began at or before started_after (clock ticks since boot, /proc/PID/stat's
 * starttime; 0: every process's), which an earlier scan looked at: a process rarely makes its
 * KVM VM long after it starts, so reading every process's descriptors at every interval would
 * cost much for nothing.
 */
struct discovery_filter {
	bool (*known)(int pid, void *ctx);
	void *ctx;
	uint64_t started_after;
};

/*
 * Fills pids with the running processes under proc whose comm is a VMM's or that hold a KVM VM
 * (an anon_inode:kvm-vm fd): a VMM found by what it does. f may be NULL: every process. Returns
 * how many.
 */
size_t discovery_scan(const char *proc, const struct discovery_filter *f, int *pids, size_t max);

/*
 * discovery_scan over the processes in cands only (nr_cands of them), a superset of those it
 * would find in proc (the task iterator's list): the same checks, without a pass over /proc.
 */
size_t discovery_check(const char *proc, const struct discovery_filter *f, const uint32_t *cands,
		       size_t nr_cands, int *pids, size_t max);

/* Now, in clock ticks since boot: the clock of /proc/PID/stat's starttime. */
uint64_t discovery_now_ticks(void);

/* The UUID in a VMM command line (QEMU's "-uuid U"): 0 and out filled (37 bytes), or -1. */
int vm_uuid_from_cmdline(const char *cmdline, size_t len, char *out, size_t outlen);

/* The arguments a VMM exec'd with, as the exec hook kept them: whole ones, NUL-separated. */
struct exec_args {
	char args[KT_ARGS_LEN];
	size_t len;		/* 0: none kept */
};

/*
 * A VM's name and UUID from pid's command line, or where it reads empty (the process exits or
 * is gone) from exec (NULL: none): the name from vm_name_from_cmdline, else "<comm>-<pid>"; the
 * UUID, or "" when there is none. Returns -1 if pid is gone and exec names no VM.
 */
int discovery_identify(const char *proc, int pid, const struct exec_args *exec, char *name,
		       size_t name_len, char *uuid, size_t uuid_len);

/* Parses a /proc/PID/stat line (comm may hold spaces and parentheses). Returns 0 or -1. */
int parse_proc_stat(const char *line, struct proc_cputime *ct);

/* Reads /proc/PID/stat. Returns 0, or -1 when the process is gone. */
int discovery_cputime(const char *proc, int pid, struct proc_cputime *ct);

/* Reads /proc/PID/task/TID/comm. Returns 0, or -1 when the thread is gone. */
int discovery_thread_name(const char *proc, int pid, int tid, char *out, size_t outlen);

#define TAP_NAME_LEN 16

/* The tap devices pid holds open (its /dev/net/tun descriptors; "iff:" in their fdinfo).
 * Returns how many names were written. */
size_t discovery_taps(const char *proc, int pid, char (*names)[TAP_NAME_LEN], size_t max);

/*
 * The resident memory in bytes from an open /proc/PID/statm, read from its start: the kernel
 * makes its text at each read, so one fd serves every interval. -1 when its process is gone.
 */
long long discovery_rss_bytes(int statm_fd);

/* The vCPU index in a QEMU vCPU thread name ("CPU 3/KVM", "CPU 0/TCG"), or -1. */
int vcpu_index_from_thread_name(const char *name);

#endif /* KT_DISCOVERY_H */
