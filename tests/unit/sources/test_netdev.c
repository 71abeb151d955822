// SPDX-License-Identifier: GPL-2.0
/* The devices' counters from rtnetlink: a dump's reply parsed, and a real dump of lo. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netdev.h"

/* Appends an RTM_NEWLINK of ifindex with IFLA_STATS64 (or without) to buf at *off. */
static void add_link(char *buf, size_t *off, int ifindex, const struct rtnl_link_stats64 *st)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(buf + *off);
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *rta;

	memset(nh, 0, NLMSG_SPACE(sizeof(*ifi)) + RTA_SPACE(sizeof(*st)));
	nh->nlmsg_type = RTM_NEWLINK;
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	ifi->ifi_index = ifindex;
	if (st) {
		rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
		rta->rta_type = IFLA_STATS64;
		rta->rta_len = RTA_LENGTH(sizeof(*st));
		memcpy(RTA_DATA(rta), st, sizeof(*st));
		nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(sizeof(*st));
	}
	*off += NLMSG_ALIGN(nh->nlmsg_len);
}

static void add_type(char *buf, size_t *off, int type, int error)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)(buf + *off);

	memset(nh, 0, NLMSG_SPACE(sizeof(struct nlmsgerr)));
	nh->nlmsg_type = type;
	nh->nlmsg_len = NLMSG_LENGTH(type == NLMSG_ERROR ? sizeof(struct nlmsgerr) : sizeof(int));
	if (type == NLMSG_ERROR)
		((struct nlmsgerr *)NLMSG_DATA(nh))->error = error;
	*off += NLMSG_ALIGN(nh->nlmsg_len);
}

/* Two devices asked for, three in the reply (one without counters), then the end. */
static void test_parse(void **state)
{
	static char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct rtnl_link_stats64 a = { .rx_bytes = 1000, .rx_packets = 10, .tx_bytes = 2000,
				       .tx_packets = 20 };
	struct rtnl_link_stats64 b = { .rx_bytes = 7, .tx_packets = 1 };
	struct netdev_counts c[3] = { { .ifindex = 5 }, { .ifindex = 9 }, { .ifindex = 4 } };
	size_t off = 0;

	(void)state;
	add_link(buf, &off, 3, &b);
	add_link(buf, &off, 5, &a);
	add_link(buf, &off, 4, NULL);
	assert_int_equal(netdev_parse(buf, off, c, 3), 0);	/* more to come */
	off = 0;
	add_link(buf, &off, 9, &b);
	add_type(buf, &off, NLMSG_DONE, 0);
	assert_int_equal(netdev_parse(buf, off, c, 3), 1);
	assert_true(c[0].found);
	assert_int_equal(c[0].rx_bytes, 1000);
	assert_int_equal(c[0].rx_packets, 10);
	assert_int_equal(c[0].tx_bytes, 2000);
	assert_int_equal(c[0].tx_packets, 20);
	assert_true(c[1].found);
	assert_int_equal(c[1].rx_bytes, 7);
	assert_int_equal(c[1].tx_packets, 1);
	assert_false(c[2].found);
}

/* An error reply, a truncated message. */
static void test_parse_errors(void **state)
{
	static char buf[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct netdev_counts c = { .ifindex = 1 };
	size_t off = 0;

	(void)state;
	add_type(buf, &off, NLMSG_ERROR, -EPERM);
	assert_int_equal(netdev_parse(buf, off, &c, 1), -EPERM);
	off = 0;
	add_link(buf, &off, 1, NULL);
	assert_int_equal(netdev_parse(buf, off - 4, &c, 1), -EBADMSG);
}

/* The loopback device of this host is in a real dump, with the counters it has. */
static void test_dump_lo(void **state)
{
	struct netdev_counts c = { .ifindex = 1 };
	int fd = netdev_open();

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(netdev_read(fd, &c, 1), 0);
	assert_true(c.found);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_dump_lo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
