// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmtrace.h"
#include "discovery.h"
#include "kvmstats.h"

bool vmm_comm_matches(const char *comm)
{
	static const char *const prefixes[] = KT_VMM_COMM_PREFIXES;
	static const char *const exact[] = KT_VMM_COMM_EXACT;
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(comm, prefixes[i], strlen(prefixes[i])))
			return true;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (!strcmp(comm, exact[i]))
			return true;
	return false;
}

/* Copies a QEMU option value up to an unescaped ',' (",," stands for one ','). */
static void copy_qemu_value(const char *v, char *out, size_t outlen)
{
	size_t n = 0;

	while (*v && n + 1 < outlen) {
		if (*v == ',') {
			if (v[1] != ',')
				break;
			v++;
		}
		out[n++] = *v++;
	}
	out[n] = '\0';
}

/* QEMU's -name value: "guest=NAME,opt=..." or a bare "NAME,opt=...". */
static void qemu_name(const char *value, char *out, size_t outlen)
{
	const char *p = value;

	while (*p) {
		if (!strncmp(p, "guest=", 6)) {
			copy_qemu_value(p + 6, out, outlen);
			return;
		}
		/* Skip to the next unescaped comma. */
		while (*p && !(*p == ',' && p[1] != ',')) {
			if (*p == ',')
				p++;
			p++;
		}
		if (*p)
			p++;
	}
	/* No "guest=": the legacy form, whose first element is the name unless it is an option. */
	copy_qemu_value(value, out, outlen);
	if (strchr(out, '='))
		out[0] = '\0';
}

/* The value following the first of the options in a NUL-separated command line, or NULL. */
static const char *option_value(const char *cmdline, size_t len, const char *const *options)
{
	const char *arg = cmdline, *end = cmdline + len, *next;
	const char *const *opt;

	for (; arg < end; arg = next) {
		next = arg + strnlen(arg, end - arg) + 1;
		if (next >= end)
			break;
		for (opt = options; *opt; opt++)
			if (!strcmp(arg, *opt))
				return next;
	}
	return NULL;
}

int vm_name_from_cmdline(const char *cmdline, size_t len, char *out, size_t outlen)
{
	static const char *const qemu[] = { "-name", "--name", NULL };
	static const char *const firecracker[] = { "--id", NULL };
	const char *value;

	if (!outlen)
		return -1;
	out[0] = '\0';
	value = option_value(cmdline, len, qemu);
	if (value)
		qemu_name(value, out, outlen);
	value = option_value(cmdline, len, firecracker);
	if (!out[0] && value)
		snprintf(out, outlen, "%s", value);
	return out[0] ? 0 : -1;
}

int vm_uuid_from_cmdline(const char *cmdline, size_t len, char *out, size_t outlen)
{
	static const char *const qemu[] = { "-uuid", "--uuid", NULL };
	const char *value = option_value(cmdline, len, qemu);

	if (!outlen)
		return -1;
	out[0] = '\0';
	/* Only a well-formed UUID (8-4-4-4-12 hex digits) is taken. */
	if (!value || strlen(value) != 36 || strspn(value, "0123456789abcdefABCDEF-") != 36 ||
	    value[8] != '-' || value[13] != '-' || value[18] != '-' || value[23] != '-')
		return -1;
	snprintf(out, outlen, "%s", value);
	return 0;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static int read_comm(const char *path, char *out, size_t outlen)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, outlen, "%s", buf);
	return 0;
}

/* What one read of a process's stat tells of it. */
struct proc_ids {
	char comm[64];
	char state;
	int ppid;
	uint64_t start;		/* clock ticks since boot, when start_known */
	bool start_known;
};

/* The name, state, parent and start of pid from its stat line. Returns 0 or -1 (gone). */
static int read_stat_ids(const char *proc, int pid, struct proc_ids *ids)
{
	char path[512], line[2048];
	struct proc_cputime ct;
	const char *open, *close;

	snprintf(path, sizeof(path), "%s/%d/stat", proc, pid);
	if (read_file(path, line, sizeof(line)) < 0)
		return -1;
	/* "PID (comm) S PPID ...": the comm may hold spaces and parentheses, the last ')' ends
	 * it. It is the comm file's text, so the stat line alone tells a scan what it needs. */
	open = strchr(line, '(');
	close = strrchr(line, ')');
	if (!open || !close || close < open ||
	    sscanf(close + 1, " %c %d", &ids->state, &ids->ppid) != 2)
		return -1;
	snprintf(ids->comm, sizeof(ids->comm), "%.*s", (int)(close - open - 1), open + 1);
	ids->start_known = !parse_proc_stat(line, &ct);
	ids->start = ct.start;
	return 0;
}

static bool ids_alive(const struct proc_ids *ids)
{
	return ids->state != 'Z' && ids->state != 'X';
}

bool discovery_alive(const char *proc, int pid)
{
	struct proc_ids ids;

	return !read_stat_ids(proc, pid, &ids) && ids_alive(&ids);
}

int discovery_fork_parent(const char *proc, int pid)
{
	struct proc_ids ids, parent;

	if (read_stat_ids(proc, pid, &ids) || ids.ppid <= 1 ||
	    read_stat_ids(proc, ids.ppid, &parent))
		return 0;
	return strcmp(ids.comm, parent.comm) ? 0 : ids.ppid;
}

bool discovery_same_cmdline(const char *proc, int a, int b)
{
	static char cmdline_a[65536], cmdline_b[65536];
	char path[512];
	ssize_t na, nb;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc, a);
	na = read_file(path, cmdline_a, sizeof(cmdline_a));
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc, b);
	nb = read_file(path, cmdline_b, sizeof(cmdline_b));
	return na > 0 && na == nb && !memcmp(cmdline_a, cmdline_b, na);
}

/* A process holding a KVM VM is a VMM, whatever it is called. */
static bool holds_kvm_vm(const char *proc, int pid)
{
	static struct kvm_fds fds;

	return !kvm_fds_scan(proc, pid, &fds) && fds.nr_vms > 0;
}

/* Did an earlier scan look at the descriptors of a process begun then? Unreadable start times
 * say no. */
static bool fds_seen(const struct proc_ids *ids, const struct discovery_filter *f)
{
	return f && f->started_after && ids->start_known && ids->start <= f->started_after;
}

/* Is pid a running VMM the scan finds, under filter f (one read of its stat when not)? */
static bool scan_finds(const char *proc, const struct discovery_filter *f, int pid)
{
	struct proc_ids ids;

	if ((f && f->known && f->known(pid, f->ctx)) || read_stat_ids(proc, pid, &ids))
		return false;
	if (!vmm_comm_matches(ids.comm) && (fds_seen(&ids, f) || !holds_kvm_vm(proc, pid)))
		return false;
	/* Read again: it may have ended while its descriptors were looked at. */
	return discovery_alive(proc, pid);
}

size_t discovery_scan(const char *proc, const struct discovery_filter *f, int *pids, size_t max)
{
	DIR *dir = opendir(proc);
	struct dirent *de;
	size_t n = 0;
	int pid;

	if (!dir)
		return 0;
	while (n < max && (de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (scan_finds(proc, f, pid))
			pids[n++] = pid;
	}
	closedir(dir);
	return n;
}

size_t discovery_check(const char *proc, const struct discovery_filter *f, const uint32_t *cands,
		       size_t nr_cands, int *pids, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < nr_cands && n < max; i++)
		if (scan_finds(proc, f, (int)cands[i]))
			pids[n++] = (int)cands[i];
	return n;
}

uint64_t discovery_now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * sysconf(_SC_CLK_TCK) +
	       (uint64_t)ts.tv_nsec * sysconf(_SC_CLK_TCK) / 1000000000;
}

int discovery_identify(const char *proc, int pid, const struct exec_args *exec, char *name,
		       size_t name_len, char *uuid, size_t uuid_len)
{
	char path[512], comm[64];
	static char cmdline[65536];
	const char *args = cmdline;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/cmdline", proc, pid);
	n = read_file(path, cmdline, sizeof(cmdline));
	if (n <= 0 && exec && exec->len) {
		args = exec->args;
		n = exec->len;
	}
	if (n <= 0 || vm_uuid_from_cmdline(args, n, uuid, uuid_len))
		uuid[0] = '\0';
	if (n > 0 && !vm_name_from_cmdline(args, n, name, name_len))
		return 0;
	snprintf(path, sizeof(path), "%s/%d/comm", proc, pid);
	if (read_comm(path, comm, sizeof(comm)))
		return -1;
	snprintf(name, name_len, "%s-%d", comm, pid);
	return 0;
}

int parse_proc_stat(const char *line, struct proc_cputime *ct)
{
	/* Fields after the comm's closing parenthesis start at field 3 (state). */
	const char *p = strrchr(line, ')');
	unsigned long long v;
	int field = 3;
	char *end;

	if (!p)
		return -1;
	p++;
	memset(ct, 0, sizeof(*ct));
	while (field <= 43) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		if (field == 14 || field == 15 || field == 22 || field == 43) {
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno || end == p)
				return -1;
			if (field == 14)
				ct->utime = v;
			else if (field == 15)
				ct->stime = v;
			else if (field == 22)
				ct->start = v;
			else
				ct->guest = v;
		}
		p += strcspn(p, " ");
		field++;
	}
	return 0;
}

int discovery_cputime(const char *proc, int pid, struct proc_cputime *ct)
{
	char path[512], line[2048];

	snprintf(path, sizeof(path), "%s/%d/stat", proc, pid);
	if (read_file(path, line, sizeof(line)) < 0)
		return -1;
	return parse_proc_stat(line, ct);
}

int discovery_thread_name(const char *proc, int pid, int tid, char *out, size_t outlen)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", proc, pid, tid);
	return read_comm(path, out, outlen);
}

size_t discovery_taps(const char *proc, int pid, char (*names)[TAP_NAME_LEN], size_t max)
{
	char path[512], target[64], info[1024], *iff;
	struct dirent *de;
	size_t n = 0;
	ssize_t len;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%d/fd", proc, pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (n < max && (de = readdir(dir))) {
		/* Relative to the open folder: no walk of the whole path for each fd. */
		len = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "/dev/net/tun"))
			continue;
		snprintf(path, sizeof(path), "%s/%d/fdinfo/%s", proc, pid, de->d_name);
		if (read_file(path, info, sizeof(info)) < 0)
			continue;
		iff = strstr(info, "iff:");
		if (!iff)
			continue;
		iff += 4;
		iff += strspn(iff, " \t");
		iff[strcspn(iff, "\n")] = '\0';
		if (*iff)
			snprintf(names[n++], TAP_NAME_LEN, "%s", iff);
	}
	closedir(dir);
	return n;
}

long long discovery_rss_bytes(int statm_fd)
{
	unsigned long long size, resident;
	char line[256];
	ssize_t n;

	n = pread(statm_fd, line, sizeof(line) - 1, 0);
	if (n < 0)
		return -1;
	line[n] = '\0';
	if (sscanf(line, "%llu %llu", &size, &resident) != 2)
		return -1;
	return (long long)(resident * (unsigned long long)sysconf(_SC_PAGESIZE));
}

int vcpu_index_from_thread_name(const char *name)
{
	char *end;
	long v;

	if (strncmp(name, "CPU ", 4) || !isdigit((unsigned char)name[4]))
		return -1;
	v = strtol(name + 4, &end, 10);
	return *end == '/' && v < 1 << 20 ? (int)v : -1;
}
