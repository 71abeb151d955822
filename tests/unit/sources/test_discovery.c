// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "discovery.h"

static void test_vmm_comm(void **state)
{
	(void)state;
	assert_true(vmm_comm_matches("qemu-system-x86"));
	assert_true(vmm_comm_matches("qemu-system-aar"));
	assert_true(vmm_comm_matches("qemu-kvm"));
	assert_true(vmm_comm_matches("kvm"));
	assert_true(vmm_comm_matches("firecracker"));
	assert_true(vmm_comm_matches("cloud-hyperviso"));
	assert_true(vmm_comm_matches("crosvm"));
	assert_false(vmm_comm_matches("kvm-pit/1234"));
	assert_false(vmm_comm_matches("kvm-nx-lpage-re"));
	assert_false(vmm_comm_matches("qemu-img"));
	assert_false(vmm_comm_matches("bash"));
	assert_false(vmm_comm_matches(""));
}

/* Builds a NUL-separated command line from a list of arguments. */
static size_t cmdline(char *buf, size_t len, const char *const *args)
{
	size_t n = 0;

	for (; *args; args++) {
		assert_true(n + strlen(*args) + 1 <= len);
		memcpy(buf + n, *args, strlen(*args) + 1);
		n += strlen(*args) + 1;
	}
	return n;
}

static const char *name_of(const char *const *args)
{
	static char out[256];
	char buf[1024];
	size_t n = cmdline(buf, sizeof(buf), args);

	if (vm_name_from_cmdline(buf, n, out, sizeof(out)))
		return NULL;
	return out;
}

static void test_vm_names(void **state)
{
	const char *const libvirt[] = { "/usr/bin/qemu-system-x86_64", "-name",
					"guest=web 01,debug-threads=on", "-S", NULL };
	const char *const legacy[] = { "qemu-kvm", "-m", "512", "-name", "db,process=x", NULL };
	const char *const escaped[] = { "qemu", "-name", "debug-threads=on,guest=a,,b", NULL };
	const char *const dashdash[] = { "qemu", "--name", "guest=x", NULL };
	const char *const fc[] = { "firecracker", "--api-sock", "/tmp/s", "--id", "vm-7", NULL };
	const char *const none[] = { "qemu-system-x86_64", "-m", "64", NULL };
	const char *const trailing[] = { "qemu-system-x86_64", "-name", NULL };
	const char *const only_opts[] = { "qemu", "-name", "debug-threads=on", NULL };

	(void)state;
	assert_string_equal(name_of(libvirt), "web 01");
	assert_string_equal(name_of(legacy), "db");
	assert_string_equal(name_of(escaped), "a,b");
	assert_string_equal(name_of(dashdash), "x");
	assert_string_equal(name_of(fc), "vm-7");
	assert_null(name_of(none));
	assert_null(name_of(trailing));
	assert_null(name_of(only_opts));
}

static void test_vm_uuids(void **state)
{
	static const char libvirt[] = "qemu-system-x86_64\0-name\0guest=a\0-uuid\0"
				      "7b2c1f3e-8d4a-4e6b-9c0d-1a2b3c4d5e6f\0-S\0";
	static const char bad[] = "qemu\0-uuid\0not-a-uuid\0";
	static const char last[] = "qemu\0-uuid\0";
	char out[37];

	(void)state;
	assert_int_equal(vm_uuid_from_cmdline(libvirt, sizeof(libvirt) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "7b2c1f3e-8d4a-4e6b-9c0d-1a2b3c4d5e6f");
	assert_int_equal(vm_uuid_from_cmdline(bad, sizeof(bad) - 1, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(vm_uuid_from_cmdline(last, sizeof(last) - 1, out, sizeof(out)), -1);
}

static void test_parse_proc_stat(void **state)
{
	/* A comm with spaces and parentheses must not shift the fields. */
	const char *line = "4242 (CPU 0/KVM) (x)) S 1 4242 4242 0 -1 4194560 1 0 0 0 "
			   "1500 300 0 0 20 0 4 0 100 1000 10 18446744073709551615 1 1 0 0 0 0 "
			   "0 0 0 0 0 0 17 1 0 0 0 1200 0 0 0 0 0 0 0 0 0\n";
	struct proc_cputime ct;

	(void)state;
	assert_int_equal(parse_proc_stat(line, &ct), 0);
	assert_int_equal(ct.utime, 1500);
	assert_int_equal(ct.stime, 300);
	assert_int_equal(ct.guest, 1200);
	assert_int_equal(ct.start, 100);
	assert_int_equal(parse_proc_stat("12 (x) S 1 2 3", &ct), -1);
	assert_int_equal(parse_proc_stat("garbage", &ct), -1);
}

static void test_vcpu_index(void **state)
{
	(void)state;
	assert_int_equal(vcpu_index_from_thread_name("CPU 0/KVM"), 0);
	assert_int_equal(vcpu_index_from_thread_name("CPU 13/TCG"), 13);
	assert_int_equal(vcpu_index_from_thread_name("CPU x/KVM"), -1);
	assert_int_equal(vcpu_index_from_thread_name("CPU 1"), -1);
	assert_int_equal(vcpu_index_from_thread_name("qemu-system-x86"), -1);
	assert_int_equal(vcpu_index_from_thread_name("vhost-4242"), -1);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* One process in a fixture /proc: comm, state and (optionally) command line. */
static void fake_process(const char *root, int pid, const char *comm, char state,
			 const char *cmdline, size_t cmdline_len)
{
	char path[512], text[128];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	write_file(path, text, strlen(text));
	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	snprintf(text, sizeof(text), "%d (%s) %c 1 %d %d 0", pid, comm, state, pid, pid);
	write_file(path, text, strlen(text));
	if (!cmdline)
		return;
	snprintf(path, sizeof(path), "%s/%d/cmdline", root, pid);
	write_file(path, cmdline, cmdline_len);
}

/* A fixture /proc: a QEMU, a kernel thread named like kvm, a plain "kvm", a zombie QEMU. */
static void test_scan_and_describe(void **state)
{
	char root[] = "/tmp/kt-proc-XXXXXX", path[512], name[256], uuid[37];
	static struct exec_args exec;
	static const char qemu_cmd[] = "qemu-system-x86_64\0-name\0guest=alpha\0-uuid\0"
				       "7b2c1f3e-8d4a-4e6b-9c0d-1a2b3c4d5e6f\0";
	int pids[8];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_process(root, 100, "qemu-system-x86", 'S', qemu_cmd, sizeof(qemu_cmd) - 1);
	fake_process(root, 200, "kvm-pit/100", 'S', NULL, 0);
	fake_process(root, 300, "kvm", 'R', "kvm\0-m\0128\0", 11);
	fake_process(root, 400, "qemu-kvm", 'Z', NULL, 0);
	snprintf(path, sizeof(path), "%s/self", root);
	mkdir(path, 0755);

	n = discovery_scan(root, NULL, pids, 8);
	assert_int_equal(n, 2);
	assert_true((pids[0] == 100 && pids[1] == 300) || (pids[0] == 300 && pids[1] == 100));
	assert_true(discovery_alive(root, 100));
	assert_false(discovery_alive(root, 400));
	assert_false(discovery_alive(root, 999));
	assert_int_equal(discovery_identify(root, 100, NULL, name, sizeof(name), uuid,
					    sizeof(uuid)), 0);
	assert_string_equal(name, "alpha");
	assert_string_equal(uuid, "7b2c1f3e-8d4a-4e6b-9c0d-1a2b3c4d5e6f");
	assert_int_equal(discovery_identify(root, 300, NULL, name, sizeof(name), uuid,
					    sizeof(uuid)), 0);
	assert_string_equal(name, "kvm-300");
	assert_string_equal(uuid, "");
	assert_int_equal(discovery_identify(root, 999, NULL, name, sizeof(name), uuid,
					    sizeof(uuid)), -1);
	/* The arguments it exec'd with name one exiting (its cmdline reads empty) or gone. */
	memcpy(exec.args, qemu_cmd, sizeof(qemu_cmd) - 1);
	exec.len = sizeof(qemu_cmd) - 1;
	assert_int_equal(discovery_identify(root, 400, &exec, name, sizeof(name), uuid,
					    sizeof(uuid)), 0);
	assert_string_equal(name, "alpha");
	assert_string_equal(uuid, "7b2c1f3e-8d4a-4e6b-9c0d-1a2b3c4d5e6f");
	assert_int_equal(discovery_identify(root, 999, &exec, name, sizeof(name), uuid,
					    sizeof(uuid)), 0);
	assert_string_equal(name, "alpha");
	/* Its own command line first, where it has one. */
	assert_int_equal(discovery_identify(root, 300, &exec, name, sizeof(name), uuid,
					    sizeof(uuid)), 0);
	assert_string_equal(name, "kvm-300");

	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

static bool is_600(int pid, void *ctx)
{
	(void)ctx;
	return pid == 600;
}

/* Its stat: begun at tick 100, with threads threads. */
static void begun_at_100(const char *root, int pid, const char *comm, int threads)
{
	char path[512], text[256];

	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	snprintf(text, sizeof(text), "%d (%s) S 1 %d %d 0 -1 4194560 10 0 0 0 3 4 0 0 20 0 %d 0 "
		 "100 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0", pid,
		 comm, pid, pid, threads);
	write_file(path, text, strlen(text));
}

/*
 * A process under no VMM's name that holds a KVM VM, begun at tick 100: found when its
 * descriptors are looked at (every process's, or those begun after a tick before 100), passed
 * over when an earlier scan looked at them, and when it is known already.
 */
static void test_scan_filter(void **state)
{
	char root[] = "/tmp/kt-proc-XXXXXX", path[512];
	struct discovery_filter f = { 0 };
	int pids[8];

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_process(root, 600, "myvmm", 'S', NULL, 0);
	begun_at_100(root, 600, "myvmm", 2);
	snprintf(path, sizeof(path), "%s/600/fd", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/600/fd/3", root);
	assert_int_equal(symlink("anon_inode:kvm-vm", path), 0);

	assert_int_equal(discovery_scan(root, NULL, pids, 8), 1);
	assert_int_equal(pids[0], 600);
	f.started_after = 99;
	assert_int_equal(discovery_scan(root, &f, pids, 8), 1);
	f.started_after = 100;
	assert_int_equal(discovery_scan(root, &f, pids, 8), 0);
	f.started_after = 0;
	f.known = is_600;
	assert_int_equal(discovery_scan(root, &f, pids, 8), 0);

	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

/* A child libvirt forked and that has not exec'd QEMU yet is not a VM yet. */
static void test_awaits_exec(void **state)
{
	char root[] = "/tmp/kt-proc-XXXXXX", path[512], text[128];

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_process(root, 600, "rpc-libvirtd", 'S', NULL, 0);
	fake_process(root, 700, "rpc-libvirtd", 'S', NULL, 0);
	fake_process(root, 800, "qemu-system-x86", 'S', NULL, 0);
	/* 700 and 800 are children of 600 (the fixture's parent is 1, init). */
	snprintf(path, sizeof(path), "%s/700/stat", root);
	snprintf(text, sizeof(text), "700 (rpc-libvirtd) S 600 700 700 0");
	write_file(path, text, strlen(text));
	snprintf(path, sizeof(path), "%s/800/stat", root);
	snprintf(text, sizeof(text), "800 (qemu-system-x86) S 600 800 800 0");
	write_file(path, text, strlen(text));
	assert_int_equal(discovery_fork_parent(root, 700), 600);
	assert_int_equal(discovery_fork_parent(root, 800), 0);	/* exec'd */
	assert_int_equal(discovery_fork_parent(root, 600), 0);	/* a child of init */
	assert_int_equal(discovery_fork_parent(root, 999), 0);	/* gone */
	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

/* Taps come from the tun descriptors the process holds, named by "iff:" in their fdinfo. */
static void test_taps(void **state)
{
	char root[] = "/tmp/kt-proc-XXXXXX", path[512], names[4][TAP_NAME_LEN];
	static const char tun_info[] = "pos:\t0\nflags:\t0104002\nmnt_id:\t25\niff:\tvnet7\n";
	static const char file_info[] = "pos:\t0\nflags:\t02\n";

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_process(root, 100, "qemu-system-x86", 'S', NULL, 0);
	snprintf(path, sizeof(path), "%s/100/fd", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/100/fdinfo", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/100/fd/31", root);
	assert_int_equal(symlink("/dev/net/tun", path), 0);
	snprintf(path, sizeof(path), "%s/100/fdinfo/31", root);
	write_file(path, tun_info, sizeof(tun_info) - 1);
	snprintf(path, sizeof(path), "%s/100/fd/7", root);
	assert_int_equal(symlink("/var/lib/libvirt/images/disk.img", path), 0);
	snprintf(path, sizeof(path), "%s/100/fdinfo/7", root);
	write_file(path, file_info, sizeof(file_info) - 1);

	assert_int_equal(discovery_taps(root, 100, names, 4), 1);
	assert_string_equal(names[0], "vnet7");
	assert_int_equal(discovery_taps(root, 999, names, 4), 0);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

/* A daemonized QEMU and its launcher share their command line; another VM's differs by a byte. */
static void test_same_cmdline(void **state)
{
	static const char vm_a[] = "qemu-system-x86_64\0-name\0guest=a\0";
	static const char vm_b[] = "qemu-system-x86_64\0-name\0guest=b\0";
	char root[] = "/tmp/kt-proc-XXXXXX", path[512];

	(void)state;
	assert_non_null(mkdtemp(root));
	fake_process(root, 100, "qemu-system-x86", 'S', vm_a, sizeof(vm_a) - 1);
	fake_process(root, 200, "qemu-system-x86", 'S', vm_a, sizeof(vm_a) - 1);
	fake_process(root, 300, "qemu-system-x86", 'S', vm_b, sizeof(vm_b) - 1);
	fake_process(root, 400, "qemu-system-x86", 'Z', "", 0);	/* a zombie's is empty */
	assert_true(discovery_same_cmdline(root, 100, 200));
	assert_false(discovery_same_cmdline(root, 100, 300));
	assert_false(discovery_same_cmdline(root, 400, 400));
	assert_false(discovery_same_cmdline(root, 100, 999));	/* gone */
	snprintf(path, sizeof(path), "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

/* Resident memory is statm's second field in pages, read again from the start at each ask. */
static void test_rss(void **state)
{
	char path[] = "/tmp/kt-statm-XXXXXX";
	long long page = sysconf(_SC_PAGESIZE);
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "3189 401 365 3 0 2652 0\n", 24), 24);
	assert_int_equal(discovery_rss_bytes(fd), 401 * page);
	assert_int_equal(discovery_rss_bytes(fd), 401 * page);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(discovery_rss_bytes(fd), -1);	/* no text, as of a process gone */
	close(fd);
	assert_int_equal(discovery_rss_bytes(fd), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmm_comm),
		cmocka_unit_test(test_vm_names),
		cmocka_unit_test(test_vm_uuids),
		cmocka_unit_test(test_parse_proc_stat),
		cmocka_unit_test(test_vcpu_index),
		cmocka_unit_test(test_scan_and_describe),
		cmocka_unit_test(test_scan_filter),
		cmocka_unit_test(test_awaits_exec),
		cmocka_unit_test(test_same_cmdline),
		cmocka_unit_test(test_taps),
		cmocka_unit_test(test_rss),
	};

	return cmocka_run_group_tests_name("discovery", tests, NULL, NULL);
}
