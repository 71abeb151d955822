// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "domains.h"

/* A live domain XML as libvirt 9 gives it (trimmed), with two NICs and three disks. */
static const char domain_xml[] =
	"<domain type='kvm' id='7'>\n"
	"  <name>web 01</name>\n"
	"  <uuid>3e9f6a4c-1b2d-4c5e-8f70-9a1b2c3d4e5f</uuid>\n"
	"  <memory unit='KiB'>2097152</memory>\n"
	"  <currentMemory unit='KiB'>1048576</currentMemory>\n"
	"  <vcpu placement='static' current='2'>4</vcpu>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='raw' cache='none'/>\n"
	"      <source file='/var/lib/libvirt/images/web01.img'/>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='block' device='disk'>\n"
	"      <source dev='/dev/vg0/data'/>\n"
	"      <target dev='vdb' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='file' device='cdrom'>\n"
	"      <target dev='sda' bus='sata'/>\n"
	"    </disk>\n"
	"    <interface type='bridge'>\n"
	"      <source bridge='br0'/>\n"
	"      <target dev='vnet3'/>\n"
	"    </interface>\n"
	"    <interface type='network'>\n"
	"      <target dev='vnet4'/>\n"
	"    </interface>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_parse_domain_xml(void **state)
{
	struct domain_info d;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(domain_parse_xml(domain_xml, &d), 0);
	assert_string_equal(d.name, "web 01");
	assert_string_equal(d.uuid, "3e9f6a4c-1b2d-4c5e-8f70-9a1b2c3d4e5f");
	assert_int_equal(d.vcpus, 2);
	assert_int_equal(d.max_memory_bytes, 2147483648ull);
	assert_int_equal(d.memory_bytes, 1073741824ull);
	assert_int_equal(d.nr_taps, 2);
	assert_string_equal(d.taps[0], "vnet3");
	assert_string_equal(d.taps[1], "vnet4");
	assert_int_equal(d.nr_disks, 3);
	assert_string_equal(d.disks[0].target, "vda");
	assert_string_equal(d.disks[0].source, "/var/lib/libvirt/images/web01.img");
	assert_string_equal(d.disks[1].target, "vdb");
	assert_string_equal(d.disks[1].source, "/dev/vg0/data");
	assert_string_equal(d.disks[2].target, "sda");
	assert_string_equal(d.disks[2].source, "");
}

static void test_units_and_defaults(void **state)
{
	static const char xml[] = "<domain><name>m</name><memory unit='GiB'>3</memory>"
				  "<vcpu>8</vcpu></domain>";
	struct domain_info d;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(domain_parse_xml(xml, &d), 0);
	assert_int_equal(d.vcpus, 8);
	assert_int_equal(d.max_memory_bytes, 3ull << 30);
	/* No currentMemory: the configured memory. */
	assert_int_equal(d.memory_bytes, 3ull << 30);
	assert_int_equal(d.nr_taps, 0);
	assert_int_equal(d.nr_disks, 0);
}

static void test_malformed(void **state)
{
	struct domain_info d;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(domain_parse_xml("<domain><name>x</name>", &d), -1);
	assert_int_equal(domain_parse_xml("", &d), -1);
	assert_int_equal(domain_parse_xml("<domain></domain>", &d), -1);
}

/* "none" disables the join: every lookup misses, nothing is listed. */
static void test_disabled(void **state)
{
	struct domains *d = domains_open("none", 1);
	const struct domain_info *list;

	(void)state;
	assert_non_null(d);
	domains_refresh(d);
	assert_null(domains_by_pid(d, 1));
	assert_null(domains_by_uuid(d, "3e9f6a4c-1b2d-4c5e-8f70-9a1b2c3d4e5f"));
	assert_int_equal(domains_list(d, &list), 0);
	domains_close(d);
}

/*
 * libvirt's in-process test driver, polled on the poller thread: the domain it always runs is
 * known after open and stays known over refreshes; a closed join leaves no thread behind.
 */
static void test_polls_libvirt(void **state)
{
	struct domains *d = domains_open("test:///default", 0.2);
	const struct domain_info *list, *dom;
	int i;

	(void)state;
	assert_non_null(d);
	for (i = 0; i < 3; i++) {
		assert_int_equal(domains_list(d, &list), 1);
		assert_string_equal(list[0].name, "test");
		dom = domains_by_uuid(d, "6695eb01-f6a4-8304-79aa-97f2502e193f");
		assert_ptr_equal(dom, &list[0]);
		assert_true(dom->vcpus > 0);
		assert_true(dom->memory_bytes > 0);
		domains_refresh(d);
	}
	domains_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_domain_xml),
		cmocka_unit_test(test_units_and_defaults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_polls_libvirt),
	};

	return cmocka_run_group_tests_name("domains", tests, NULL, NULL);
}
