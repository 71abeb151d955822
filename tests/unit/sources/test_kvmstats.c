// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "kvmstats.h"

/* fd N of pid in a fixture /proc: a symlink whose target is what readlink shows. */
static void fake_fd(const char *root, int pid, int fd, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d/fd/%d", root, pid, fd);
	assert_int_equal(symlink(target, path), 0);
}

static void fake_fd_dir(const char *root, int pid)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A QEMU-like process (vCPUs created out of order, among other fds) and a shell. */
static void test_fds_scan(void **state)
{
	char root[] = "/tmp/kt-kvmfds-XXXXXX", path[512];
	struct kvm_fds fds;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_fd_dir(root, 100);
	fake_fd(root, 100, 0, "/dev/null");
	fake_fd(root, 100, 1, "socket:[123]");
	fake_fd(root, 100, 2, "/var/log/libvirt/qemu/web01.log");
	fake_fd(root, 100, 3, "/dev/kvm");
	fake_fd(root, 100, 4, "anon_inode:kvm-vm");
	fake_fd(root, 100, 5, "anon_inode:[eventfd]");
	fake_fd(root, 100, 9, "anon_inode:kvm-vcpu:2");
	fake_fd(root, 100, 10, "anon_inode:kvm-vcpu:0");
	fake_fd(root, 100, 11, "anon_inode:kvm-vcpu:1");
	fake_fd(root, 100, 12, "anon_inode:kvm-vcpu-stats:1");
	fake_fd(root, 100, 13, "anon_inode:kvm-vcpu-stats:0");
	fake_fd(root, 100, 14, "anon_inode:kvm-vcpu-stats:2");
	fake_fd(root, 100, 15, "anon_inode:kvm-vm-stats");
	/* Not KVM's: a malformed index, a file named like an anon inode, a pipe. */
	fake_fd(root, 100, 16, "anon_inode:kvm-vcpu:x");
	fake_fd(root, 100, 17, "/tmp/anon_inode:kvm-vm");
	fake_fd(root, 100, 18, "pipe:[4242]");
	fake_fd(root, 100, 19, "anon_inode:kvm-vcpu-stats:");
	/* An entry that is no link (readlink fails) is skipped. */
	snprintf(path, sizeof(path), "%s/100/fd/20", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);

	assert_int_equal(kvm_fds_scan(root, 100, &fds), 0);
	assert_true(fds.dev_kvm);
	assert_int_equal(fds.nr_vms, 1);
	assert_int_equal(fds.vm_stats_fd, 15);
	assert_int_equal(fds.nr_vcpus, 3);
	assert_int_equal(fds.vcpu_index[0], 0);
	assert_int_equal(fds.vcpu_index[1], 1);
	assert_int_equal(fds.vcpu_index[2], 2);
	assert_int_equal(fds.nr_stats, 3);
	assert_int_equal(fds.stats[0].index, 0);
	assert_int_equal(fds.stats[0].fd, 13);
	assert_int_equal(fds.stats[1].index, 1);
	assert_int_equal(fds.stats[1].fd, 12);
	assert_int_equal(fds.stats[2].index, 2);
	assert_int_equal(fds.stats[2].fd, 14);

	/* A process with no KVM fds is found but holds nothing. */
	fake_fd_dir(root, 200);
	fake_fd(root, 200, 0, "/dev/pts/0");
	fake_fd(root, 200, 3, "socket:[99]");
	assert_int_equal(kvm_fds_scan(root, 200, &fds), 0);
	assert_false(fds.dev_kvm);
	assert_int_equal(fds.nr_vms, 0);
	assert_int_equal(fds.vm_stats_fd, -1);
	assert_int_equal(fds.nr_vcpus, 0);
	assert_int_equal(fds.nr_stats, 0);

	/* A gone process. */
	assert_int_equal(kvm_fds_scan(root, 999, &fds), -1);

	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

/* One descriptor of a synthetic stats image. */
struct img_desc {
	const char *name;
	uint32_t flags;
	int16_t exponent;
	uint16_t size;
	uint32_t offset;
};

/*
 * Writes a stats image as KVM lays it out (header, id, descriptors, values) to a new memfd and
 * returns it; where lets a test find the descriptors and values.
 */
static int image(uint32_t name_size, const struct img_desc *d, size_t n, const uint64_t *values,
		 size_t nr_values, struct kvm_stats_header *where)
{
	size_t one = sizeof(struct kvm_stats_desc) + name_size, i;
	struct kvm_stats_header h = {
		.name_size = name_size,
		.num_desc = n,
		.id_offset = sizeof(h),
		.desc_offset = sizeof(h) + name_size,
		.data_offset = sizeof(h) + name_size + n * one,
	};
	size_t total = h.data_offset + nr_values * sizeof(uint64_t);
	char *buf = calloc(1, total);
	struct kvm_stats_desc fixed;
	int fd = memfd_create("kvmstats", MFD_CLOEXEC);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memcpy(buf, &h, sizeof(h));
	snprintf(buf + h.id_offset, name_size, "kvm-4242/vcpu-0");
	for (i = 0; i < n; i++) {
		memset(&fixed, 0, sizeof(fixed));
		fixed.flags = d[i].flags;
		fixed.exponent = d[i].exponent;
		fixed.size = d[i].size;
		fixed.offset = d[i].offset;
		memcpy(buf + h.desc_offset + i * one, &fixed, sizeof(fixed));
		memcpy(buf + h.desc_offset + i * one + sizeof(fixed), d[i].name,
		       strnlen(d[i].name, name_size));
	}
	memcpy(buf + h.data_offset, values, nr_values * sizeof(uint64_t));
	assert_int_equal(write(fd, buf, total), total);
	free(buf);
	if (where)
		*where = h;
	return fd;
}

static const struct img_desc descs[] = {
	{ "exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 0 },
	{ "halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1, 8 },
	{ "blocking", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1, 16 },
	{ "halt_wait_hist", KVM_STATS_TYPE_LOG_HIST | KVM_STATS_UNIT_SECONDS, -9, 4, 24 },
	{ "max_wait", KVM_STATS_TYPE_PEAK, 0, 1, 56 },
	{ "io_exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 64 },
};
#define NR_DESCS (sizeof(descs) / sizeof(descs[0]))
/* What descs describe, from offset 0: a u64 each, the histogram's four from 24. */
static const uint64_t descs_values[] = { 42, 1000, 1, 1, 2, 3, 4, 7, 5 };
#define NR_VALUES (sizeof(descs_values) / sizeof(descs_values[0]))

static void test_parse(void **state)
{
	struct kvm_stats_layout l;
	char why[256];
	int fd;

	(void)state;
	fd = image(48, descs, NR_DESCS, descs_values, NR_VALUES, NULL);
	assert_int_equal(kvm_stats_parse(fd, &l, why, sizeof(why)), 0);
	assert_string_equal(l.id, "kvm-4242/vcpu-0");
	assert_int_equal(l.nr_desc, NR_DESCS);
	assert_int_equal(l.data_size, 72);
	assert_string_equal(l.desc[0].name, "exits");
	assert_string_equal(l.desc[1].name, "halt_wait_ns");
	assert_int_equal(l.desc[1].exponent, -9);
	assert_int_equal(l.desc[1].flags & KVM_STATS_UNIT_MASK, KVM_STATS_UNIT_SECONDS);
	assert_int_equal(l.desc[3].size, 4);
	assert_int_equal(kvm_stats_layout_find(&l, "io_exits"), 5);
	assert_int_equal(kvm_stats_layout_find(&l, "hypercalls"), -1);
	assert_true(kvm_stats_is_scalar(&l.desc[0]));
	assert_true(kvm_stats_is_scalar(&l.desc[2]));
	assert_true(kvm_stats_is_scalar(&l.desc[4]));
	assert_false(kvm_stats_is_scalar(&l.desc[3]));
	kvm_stats_layout_free(&l);
	close(fd);

	/* An odd name_size leaves the descriptors unaligned; the parse does not care. */
	fd = image(17, descs, NR_DESCS, descs_values, NR_VALUES, NULL);
	assert_int_equal(kvm_stats_parse(fd, &l, why, sizeof(why)), 0);
	assert_string_equal(l.desc[5].name, "io_exits");
	assert_string_equal(l.id, "kvm-4242/vcpu-0");
	kvm_stats_layout_free(&l);
	close(fd);

	/* No descriptors at all is a valid, empty, image. */
	fd = image(48, descs, 0, descs_values, 0, NULL);
	assert_int_equal(kvm_stats_parse(fd, &l, why, sizeof(why)), 0);
	assert_int_equal(l.nr_desc, 0);
	assert_int_equal(l.data_size, 0);
	kvm_stats_layout_free(&l);
	close(fd);
}

/* Parses fd, expecting a refusal whose reason holds word; closes fd. */
static void refused(int fd, const char *word)
{
	struct kvm_stats_layout l;
	char why[256] = "";

	assert_int_equal(kvm_stats_parse(fd, &l, why, sizeof(why)), -1);
	if (!strstr(why, word))
		fail_msg("reason \"%s\" lacks \"%s\"", why, word);
	assert_null(l.desc);
	close(fd);
}

/* A header field, by its offset: all of them are __u32. */
#define HDR(field) offsetof(struct kvm_stats_header, field)

/* A good image whose header then says field is value: refused for a reason holding word. */
static void refused_header(size_t field, uint32_t value, const char *word)
{
	struct kvm_stats_header h;
	int fd = image(48, descs, NR_DESCS, descs_values, NR_VALUES, &h);

	memcpy((char *)&h + field, &value, sizeof(value));
	assert_int_equal(pwrite(fd, &h, sizeof(h), 0), sizeof(h));
	refused(fd, word);
}

static void test_parse_malformed(void **state)
{
	struct kvm_stats_header h;
	struct img_desc bad[2];
	char name[48];
	int fd;

	(void)state;
	fd = memfd_create("empty", MFD_CLOEXEC);
	refused(fd, "header");

	refused_header(HDR(num_desc), KVM_STATS_MAX_DESC + 1, "descriptors");
	refused_header(HDR(num_desc), 0xffffffff, "descriptors");
	refused_header(HDR(name_size), 0, "name_size 0");
	refused_header(HDR(name_size), KVM_STATS_MAX_NAME + 1, "name_size");
	refused_header(HDR(desc_offset), 1u << 30, "past the end");
	refused_header(HDR(id_offset), 0xfffffff0, "past the end");

	/* The values the descriptors describe are not all there. */
	fd = image(48, descs, NR_DESCS, descs_values, NR_VALUES, &h);
	assert_int_equal(ftruncate(fd, h.data_offset + 8 * 8), 0);
	refused(fd, "values");

	refused_header(HDR(data_offset), 0x7fffffff, "values");

	/* A descriptor whose values would be 4 GiB away. */
	bad[0] = descs[0];
	bad[1] = descs[1];
	bad[1].offset = 0xfffffff0;
	refused(image(48, bad, 2, descs_values, 2, NULL), "more than");

	bad[1] = descs[1];
	bad[1].name = "";
	refused(image(48, bad, 2, descs_values, 2, NULL), "no name");

	/* A name that fills name_size has no terminating NUL. */
	memset(name, 'x', sizeof(name));
	bad[1].name = name;
	refused(image(sizeof(name), bad, 2, descs_values, 2, NULL), "unterminated");
}

/* After a read: vCPU i's value of name is known, and is want. */
static void assert_value(const struct kvm_stats *ks, size_t i, const char *name, uint64_t want)
{
	uint64_t v;

	if (!kvm_stats_value(ks, i, name, &v))
		fail_msg("vCPU %zu: no %s", i, name);
	assert_int_equal(v, want);
}

/* After a read: the VM's value of name (a peak's: the highest vCPU's) is known, and is want. */
static void assert_sum(const struct kvm_stats *ks, const char *name, uint64_t want)
{
	uint64_t v;

	if (!kvm_stats_sum(ks, name, &v))
		fail_msg("VM: no %s", name);
	assert_int_equal(v, want);
}

static void test_reader(void **state)
{
	const uint64_t v1[] = { 8, 500, 0, 0, 0, 0, 1, 9, 0 };
	const struct kvm_stat_desc *d;
	struct kvm_stats_header h;
	struct kvm_stats *ks;
	uint64_t v, newer = 50;
	char why[256];
	size_t j, cumulative = 0;
	int fd0, fd1;

	(void)state;
	ks = kvm_stats_new();
	assert_non_null(ks);
	fd0 = image(48, descs, NR_DESCS, descs_values, NR_VALUES, &h);
	fd1 = image(17, descs, NR_DESCS, v1, NR_VALUES, NULL);
	/* Added out of order, listed by index. */
	assert_int_equal(kvm_stats_add(ks, 3, fd1, why, sizeof(why)), 0);
	assert_int_equal(kvm_stats_add(ks, 0, fd0, why, sizeof(why)), 0);
	assert_int_equal(kvm_stats_add(ks, 3, dup(fd1), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "already"));
	assert_int_equal(kvm_stats_add(ks, 5, memfd_create("x", 0), why, sizeof(why)), -1);
	assert_int_equal(kvm_stats_nr_vcpus(ks), 2);
	assert_int_equal(kvm_stats_vcpu_index(ks, 0), 0);
	assert_int_equal(kvm_stats_vcpu_index(ks, 1), 3);
	assert_int_equal(kvm_stats_vcpu_index(ks, 2), -1);
	assert_string_equal(kvm_stats_vcpu_layout(ks, 1)->desc[0].name, "exits");

	/* Nothing is known before the first read. */
	assert_false(kvm_stats_value(ks, 0, "exits", &v));
	assert_false(kvm_stats_sum(ks, "exits", &v));
	assert_int_equal(kvm_stats_read(ks), 0);
	assert_value(ks, 0, "exits", 42);
	assert_value(ks, 1, "exits", 8);
	assert_value(ks, 1, "io_exits", 0);
	assert_sum(ks, "exits", 50);
	assert_sum(ks, "halt_wait_ns", 1500);
	assert_sum(ks, "blocking", 1);
	/* A peak's VM value is the highest vCPU's; histograms are not read. */
	assert_sum(ks, "max_wait", 9);
	assert_false(kvm_stats_value(ks, 0, "halt_wait_hist", &v));
	assert_false(kvm_stats_sum(ks, "halt_wait_hist", &v));
	assert_false(kvm_stats_sum(ks, "hypercalls", &v));
	assert_false(kvm_stats_value(ks, 2, "exits", &v));

	for (j = 0; (d = kvm_stats_desc(ks, j)); j++)
		if ((d->flags & KVM_STATS_TYPE_MASK) == KVM_STATS_TYPE_CUMULATIVE)
			cumulative++;
	assert_int_equal(j, NR_DESCS);
	assert_int_equal(cumulative, 3);
	/* By descriptor as by name: the VM's value of each scalar, none of a histogram. */
	for (j = 0; (d = kvm_stats_desc(ks, j)); j++) {
		v = ~0ull;
		assert_int_equal(kvm_stats_sum_desc(ks, j, &v), kvm_stats_is_scalar(d));
		if (kvm_stats_is_scalar(d))
			assert_sum(ks, d->name, v);
	}
	assert_false(kvm_stats_sum_desc(ks, NR_DESCS, &v));

	/* Every read is a fresh one. */
	assert_int_equal(pwrite(fd0, &newer, sizeof(newer), h.data_offset), sizeof(newer));
	assert_int_equal(kvm_stats_read(ks), 0);
	assert_sum(ks, "exits", 58);

	/* A vCPU whose values cannot be read is left out, not reported as 0 or stale. */
	assert_int_equal(ftruncate(fd0, h.data_offset + 8), 0);
	assert_int_equal(kvm_stats_read(ks), -1);
	assert_false(kvm_stats_value(ks, 0, "exits", &v));
	assert_sum(ks, "exits", 8);

	/* No process to duplicate from. */
	assert_int_equal(kvm_stats_update_fds(ks, &(struct kvm_fds){ .nr_stats = 1 }, why,
					      sizeof(why)), -1);
	kvm_stats_close(ks);
	kvm_stats_close(NULL);

	ks = kvm_stats_new();
	assert_null(kvm_stats_desc(ks, 0));
	assert_int_equal(kvm_stats_read(ks), 0);
	kvm_stats_close(ks);
}

static void test_open_refusals(void **state)
{
	static struct kvm_fds fds;
	char why[256];

	(void)state;
	memset(&fds, 0, sizeof(fds));
	fds.vm_stats_fd = -1;
	assert_null(kvm_stats_open(getpid(), &fds, why, sizeof(why)));
	assert_string_equal(why, "holds no KVM VM");
	fds.nr_vms = 1;
	fds.nr_vcpus = 1;
	assert_null(kvm_stats_open(getpid(), &fds, why, sizeof(why)));
	assert_non_null(strstr(why, "KVM_GET_STATS_FD"));
}

/* What the VMM child tells its parent: ok, or the step that failed and its errno. */
struct child_report {
	int ok;
	int err;
	char step[32];
};

/* A minimal VMM: a VM with two vCPUs and a stats fd for each; no KVM_RUN. Never returns. */
static void vmm_child(int wfd)
{
	struct child_report r = { .ok = 0 };
	int kvm, vm, vcpu, i;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(r.step, sizeof(r.step), "open /dev/kvm");
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(r.step, sizeof(r.step), "KVM_CREATE_VM");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		vcpu = ioctl(vm, KVM_CREATE_VCPU, i);
		if (vcpu < 0) {
			snprintf(r.step, sizeof(r.step), "KVM_CREATE_VCPU");
			goto out;
		}
		if (ioctl(vcpu, KVM_GET_STATS_FD, NULL) < 0) {
			snprintf(r.step, sizeof(r.step), "KVM_GET_STATS_FD");
			goto out;
		}
	}
	r.ok = 1;
out:
	r.err = errno;
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	for (;;)
		pause();
}

/* Whether a process without privileges, and another user, is refused with the reason. */
static bool refused_unprivileged(int pid, const struct kvm_fds *fds)
{
	struct kvm_stats *ks;
	char why[256];
	int status;
	pid_t p;

	fflush(stdout);		/* or the child prints what the parent buffered, again */
	p = fork();
	assert_true(p >= 0);
	if (!p) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		ks = kvm_stats_open(pid, fds, why, sizeof(why));
		if (ks)
			_exit(3);
		printf("# unprivileged: %s\n", why);
		fflush(stdout);
		_exit(strstr(why, "CAP_SYS_PTRACE") ? 0 : 4);
	}
	assert_int_equal(waitpid(p, &status, 0), p);
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/* Lists the descriptors once, for whoever reads the test's output on a new kernel. */
static void print_descriptors(const struct kvm_stats *ks)
{
	static const char *const types[] = { "cumulative", "instant", "peak", "linear_hist",
					     "log_hist" };
	static const char *const units[] = { "", " bytes", " seconds", " cycles", " boolean" };
	const struct kvm_stat_desc *d;
	uint32_t type, unit;
	size_t j;

	printf("# vCPU stats on this kernel (%s):\n", kvm_stats_vcpu_layout(ks, 0)->id);
	for (j = 0; (d = kvm_stats_desc(ks, j)); j++) {
		type = (d->flags & KVM_STATS_TYPE_MASK) >> KVM_STATS_TYPE_SHIFT;
		unit = (d->flags & KVM_STATS_UNIT_MASK) >> KVM_STATS_UNIT_SHIFT;
		printf("#   %-28s %s%s", d->name, type < 5 ? types[type] : "unknown",
		       unit < 5 ? units[unit] : " unknown");
		if (d->exponent)
			printf(" %s^%d", d->flags & KVM_STATS_BASE_POW2 ? "2" : "10", d->exponent);
		if (d->size != 1)
			printf(" [%u]", d->size);
		printf("\n");
	}
}

/* The VMM child and its reader, for the teardown to end when an assertion fails. */
static pid_t vmm_pid;
static struct kvm_stats *vmm_ks;

static int end_vmm(void **state)
{
	(void)state;
	if (vmm_pid > 0) {
		kill(vmm_pid, SIGKILL);
		waitpid(vmm_pid, NULL, 0);
	}
	vmm_pid = 0;
	kvm_stats_close(vmm_ks);
	vmm_ks = NULL;
	return 0;
}

static void test_real_vm(void **state)
{
	static struct kvm_fds fds, first;
	struct child_report r;
	struct kvm_stats *ks;
	int pipefd[2], status;
	char why[256];
	uint64_t v;
	pid_t pid;

	(void)state;
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("# no usable /dev/kvm (%s): skipping the real VM\n", strerror(errno));
		skip();
	}
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(pipefd[0]);
		vmm_child(pipefd[1]);
	}
	vmm_pid = pid;
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &r, sizeof(r)), sizeof(r));
	close(pipefd[0]);
	if (!r.ok) {
		printf("# %s: %s: skipping the real VM\n", r.step, strerror(r.err));
		skip();
	}

	assert_int_equal(kvm_fds_scan("/proc", pid, &fds), 0);
	assert_true(fds.dev_kvm);
	assert_int_equal(fds.nr_vms, 1);
	assert_int_equal(fds.nr_vcpus, 2);
	assert_int_equal(fds.vcpu_index[0], 0);
	assert_int_equal(fds.vcpu_index[1], 1);
	assert_int_equal(fds.nr_stats, 2);
	assert_int_equal(fds.vm_stats_fd, -1);

	/* First only vCPU 0, as if vCPU 1 appeared later. */
	first = fds;
	first.nr_stats = 1;
	ks = vmm_ks = kvm_stats_open(pid, &first, why, sizeof(why));
	if (!ks)
		fail_msg("kvm_stats_open: %s", why);
	assert_int_equal(kvm_stats_nr_vcpus(ks), 1);
	assert_int_equal(kvm_stats_update_fds(ks, &fds, why, sizeof(why)), 1);
	assert_int_equal(kvm_stats_update_fds(ks, &fds, why, sizeof(why)), 0);
	assert_int_equal(kvm_stats_nr_vcpus(ks), 2);
	assert_int_equal(kvm_stats_vcpu_index(ks, 0), 0);
	assert_int_equal(kvm_stats_vcpu_index(ks, 1), 1);
	print_descriptors(ks);

	assert_int_equal(kvm_stats_read(ks), 0);
	assert_value(ks, 0, "exits", 0);
	assert_value(ks, 1, "exits", 0);
	assert_sum(ks, "exits", 0);

	if (geteuid() == 0)
		assert_true(refused_unprivileged(pid, &fds));

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	vmm_pid = 0;
	/* The duplicates outlive the VMM: KVM's stats stay readable until they are closed. */
	assert_int_equal(kvm_stats_read(ks), 0);
	assert_true(kvm_stats_sum(ks, "exits", &v));
	kvm_stats_close(ks);
	vmm_ks = NULL;

	/* The VMM is gone now. */
	assert_int_equal(kvm_fds_scan("/proc", pid, &fds), -1);
	assert_null(kvm_stats_open(pid, &first, why, sizeof(why)));
	assert_string_equal(why, "has ended");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fds_scan),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test_teardown(test_real_vm, end_vmm),
	};

	return cmocka_run_group_tests_name("kvmstats", tests, NULL, NULL);
}
