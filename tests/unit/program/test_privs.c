// SPDX-License-Identifier: GPL-2.0
/*
 * Least privilege: each case runs privs_drop() in a child (it cannot be undone) and checks
 * /proc/self/status, that dropped capabilities are gone (chroot, setuid, a root-owned file) and
 * that what the tracer still does works: bpf() on fds made before, /proc of another user's
 * process, files in the output folder. Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "privs.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define BIT(cap) (1ULL << (cap))
#define NOBODY 65534
/* Always kept for /proc of other users' VMMs. */
#define BASE (BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_SYS_PTRACE))

/* In the child: a failed check prints itself and exits non-zero (cmocka's asserts would
 * longjmp in the wrong process). */
#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "child: %s:%d: check failed: %s (errno %s)\n",       \
				__FILE__, __LINE__, #cond, strerror(errno));                \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

struct status {
	uint64_t inh, prm, eff, bnd, amb;
	int nnp;
};

static void read_status(struct status *s)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	memset(s, 0, sizeof(*s));
	s->nnp = -1;
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "CapInh: %" SCNx64, &s->inh);
		sscanf(line, "CapPrm: %" SCNx64, &s->prm);
		sscanf(line, "CapEff: %" SCNx64, &s->eff);
		sscanf(line, "CapBnd: %" SCNx64, &s->bnd);
		sscanf(line, "CapAmb: %" SCNx64, &s->amb);
		sscanf(line, "NoNewPrivs: %d", &s->nnp);
	}
	fclose(f);
}

/* Runs fn in a child and passes when it exits 0. */
static void in_child(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A process of another user, as QEMU under libvirt is; dumpable, as QEMU is. */
static pid_t other_user_process(void)
{
	struct stat st = {};
	char path[64];
	pid_t pid;
	int i;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		for (;;)
			pause();
	}
	/* Until it has changed user, its /proc files are still root's. */
	snprintf(path, sizeof(path), "/proc/%d", pid);
	for (i = 0; i < 500; i++) {
		if (!stat(path, &st) && st.st_uid == NOBODY)
			break;
		usleep(2000);
	}
	assert_int_equal(st.st_uid, NOBODY);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* What the tracer reads of a VMM each interval: its fds (taps), fdinfo and I/O counts. */
static bool proc_readable(pid_t pid)
{
	char path[64], target[256], buf[512];
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/fd/0", pid);
	if (readlink(path, target, sizeof(target)) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/0", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return false;
	close(fd);
	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return false;
	close(fd);
	return true;
}

/* Takes caps out of the effective set, keeping them permitted: to show a kept one matters. */
static void lower(uint64_t caps)
{
	int cap;

	CHECK(!capng_get_caps_process());
	for (cap = 0; cap < 64; cap++)
		if (caps & BIT(cap))
			capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, cap);
	CHECK(!capng_apply(CAPNG_SELECT_CAPS));
}

static void raise_back(uint64_t caps)
{
	int cap;

	CHECK(!capng_get_caps_process());
	for (cap = 0; cap < 64; cap++)
		if (caps & BIT(cap))
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, cap);
	CHECK(!capng_apply(CAPNG_SELECT_CAPS));
}

/* Each test changes users and capabilities: only root can. */
#define NEED_ROOT()                                                                         \
	do {                                                                                \
		(void)state;                                                                \
		if (geteuid() != 0)                                                         \
			skip();                                                             \
	} while (0)

/* A map and a program made with full privileges, as tracer_open() makes them. */
struct bpf_objs {
	int map, prog;
};

static void make_bpf(struct bpf_objs *o)
{
	/* r0 = 0; exit: a raw tracepoint program, test-run per CPU as kt_cpu_flush is. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	o->map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kt_privs", 4, 8, 4, NULL);
	o->prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "kt_privs", "GPL", insns, 2, NULL);
	CHECK(o->map >= 0);
	CHECK(o->prog >= 0);
}

/* 0 when the tracer's per-interval bpf() commands work, else -errno. */
static int use_bpf(const struct bpf_objs *o)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = 0);
	uint64_t v = 42, got = 0;
	uint32_t key = 1;

	if (bpf_map_update_elem(o->map, &key, &v, BPF_ANY))
		return -errno;
	if (bpf_map_lookup_elem(o->map, &key, &got))
		return -errno;
	if (got != 42)
		return -EIO;
	if (bpf_prog_test_run_opts(o->prog, &run))
		return -errno;
	return 0;
}

struct drop_case {
	pid_t other;		/* a process of another user */
	const char *outdir;
	bool kallsyms;
};

/* The common case: root, a root-owned output folder. */
static void drop_child(void *arg)
{
	const struct drop_case *c = arg;
	struct privs_needs needs = { .outdir = c->outdir, .kallsyms = c->kallsyms };
	bool visible_before = privs_kallsyms_visible();
	char why[256], path[256], theirs[256];
	struct bpf_objs o;
	struct status s;
	struct stat st;
	int fd;

	make_bpf(&o);
	/* A file of another user, which root may read and write only by its capabilities. */
	snprintf(theirs, sizeof(theirs), "%s/theirs", c->outdir);
	fd = open(theirs, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && !fchown(fd, NOBODY, NOBODY));
	close(fd);

	CHECK(privs_drop(&needs, why, sizeof(why)) == 0);
	CHECK(!strncmp(why, "keeping cap_dac_read_search, cap_sys_ptrace", 43));
	read_status(&s);
	/* Only the base, and the conditional ones each where this host needs it (below). */
	CHECK((s.eff & ~(BIT(CAP_BPF) | BIT(CAP_SYSLOG))) == BASE);
	CHECK(s.prm == s.eff);
	CHECK(s.inh == 0);
	CHECK(s.amb == 0);
	CHECK(s.bnd == 0);
	CHECK(s.nnp == 1);

	/* Dropped: chroot, changing user, signalling or writing what is another user's. */
	CHECK(chroot("/") == -1 && errno == EPERM);
	CHECK(setuid(1000) == -1 && errno == EPERM);
	CHECK(kill(c->other, 0) == -1 && errno == EPERM);
	CHECK(open(theirs, O_WRONLY) == -1 && errno == EACCES);

	/* Kept: reading what is another user's, /proc of their process, bpf() on the fds. */
	fd = open(theirs, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK(proc_readable(c->other));
	CHECK(use_bpf(&o) == 0);
	if (s.eff & BIT(CAP_BPF)) {
		/* Kept because this kernel wants it for bpf() at all (before Linux 5.19). */
		lower(BIT(CAP_BPF));
		CHECK(use_bpf(&o) == -EPERM);
		raise_back(BIT(CAP_BPF));
	}
	if (c->kallsyms && visible_before)
		CHECK(privs_kallsyms_visible());
	if (s.eff & BIT(CAP_SYSLOG)) {
		/* Kept because addresses are hidden without it here. */
		CHECK(c->kallsyms);
		lower(BIT(CAP_SYSLOG));
		CHECK(!privs_kallsyms_visible());
		raise_back(BIT(CAP_SYSLOG));
	}
	snprintf(path, sizeof(path), "%s/row.csv", c->outdir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0);
	CHECK(write(fd, "a,b\n", 4) == 4);
	close(fd);
	CHECK(!stat(path, &st));
	/* umask 027: the CSV files are 0640. */
	CHECK((st.st_mode & 0777) == 0640);
	CHECK(umask(027) == 027);
	CHECK(!unlink(path) && !unlink(theirs));
}

static void test_drop_root(void **state)
{
	char dir[] = "/tmp/kt-privs-XXXXXX";
	struct drop_case c = { .outdir = dir };

	NEED_ROOT();
	assert_non_null(mkdtemp(dir));
	c.other = other_user_process();
	in_child(drop_child, &c);
	c.kallsyms = true;
	in_child(drop_child, &c);
	stop(c.other);
	rmdir(dir);
}

/* Each of the two always kept is needed for the /proc reads: without either, they fail. */
static void base_child(void *arg)
{
	const pid_t *other = arg;
	char why[256];

	CHECK(privs_drop(NULL, why, sizeof(why)) == 0);
	CHECK(proc_readable(*other));
	lower(BIT(CAP_DAC_READ_SEARCH));
	CHECK(!proc_readable(*other));
	raise_back(BIT(CAP_DAC_READ_SEARCH));
	lower(BIT(CAP_SYS_PTRACE));
	CHECK(!proc_readable(*other));
	raise_back(BIT(CAP_SYS_PTRACE));
	CHECK(proc_readable(*other));
}

static void test_base_is_needed(void **state)
{
	pid_t other;

	NEED_ROOT();
	other = other_user_process();
	in_child(base_child, &other);
	stop(other);
}

/* An output folder root does not own (a clone of the repository): CAP_DAC_OVERRIDE stays. */
static void foreign_dir_child(void *arg)
{
	struct privs_needs needs = { .outdir = arg };
	char why[256], path[256];
	struct status s;
	int fd;

	CHECK(privs_drop(&needs, why, sizeof(why)) == 0);
	CHECK(strstr(why, "cap_dac_override"));
	read_status(&s);
	CHECK(s.eff & BIT(CAP_DAC_OVERRIDE));
	snprintf(path, sizeof(path), "%s/vm.csv", (const char *)arg);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	/* It is the one that makes writing there possible. */
	lower(BIT(CAP_DAC_OVERRIDE));
	CHECK(open(path, O_WRONLY | O_CREAT | O_EXCL, 0666) == -1 && errno == EACCES);
}

static void owned_dir_child(void *arg)
{
	struct privs_needs needs = { .outdir = arg };
	char why[256];
	struct status s;

	CHECK(privs_drop(&needs, why, sizeof(why)) == 0);
	CHECK(!strstr(why, "cap_dac_override"));
	read_status(&s);
	CHECK(!(s.eff & BIT(CAP_DAC_OVERRIDE)));
}

static void test_output_folder(void **state)
{
	char dir[] = "/tmp/kt-privs-XXXXXX";

	NEED_ROOT();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	in_child(owned_dir_child, dir);
	assert_int_equal(chown(dir, NOBODY, NOBODY), 0);
	in_child(foreign_dir_child, dir);
	rmdir(dir);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* Another thread would keep every capability: refused, nothing changed. */
static void threads_child(void *arg)
{
	struct status before, after;
	char why[256];
	pthread_t t;

	(void)arg;
	read_status(&before);
	CHECK(!pthread_create(&t, NULL, sleeper, NULL));
	CHECK(privs_drop(NULL, why, sizeof(why)) == -1);
	CHECK(!strcmp(why, "2 threads: capabilities are per thread, so privileges must be "
		  "dropped before any other thread starts"));
	read_status(&after);
	CHECK(after.eff == before.eff && after.nnp == before.nnp);
}

static void test_refuses_threads(void **state)
{
	NEED_ROOT();
	in_child(threads_child, NULL);
}

/* Not root and no capabilities (a test as a user): nothing to drop, still no_new_privs. */
static void unprivileged_child(void *arg)
{
	char why[256];
	struct status s;

	(void)arg;
	CHECK(!setresgid(NOBODY, NOBODY, NOBODY) && !setresuid(NOBODY, NOBODY, NOBODY));
	CHECK(privs_drop(NULL, why, sizeof(why)) == 0);
	CHECK(!strcmp(why, "keeping no capability (bounding set unchanged: no CAP_SETPCAP)"));
	read_status(&s);
	CHECK(s.eff == 0 && s.prm == 0 && s.nnp == 1);
}

static void test_unprivileged(void **state)
{
	NEED_ROOT();
	in_child(unprivileged_child, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_root),
		cmocka_unit_test(test_base_is_needed),
		cmocka_unit_test(test_output_folder),
		cmocka_unit_test(test_refuses_threads),
		cmocka_unit_test(test_unprivileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
