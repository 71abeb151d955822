// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netdev.h"

int netdev_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

static void take_link(const struct nlmsghdr *nh, struct netdev_counts *c, size_t n)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta = IFLA_RTA(ifi);
	int len = IFLA_PAYLOAD(nh);
	struct rtnl_link_stats64 st;
	size_t i;

	for (i = 0; i < n && c[i].ifindex != (unsigned int)ifi->ifi_index; i++)
		;
	if (i == n)
		return;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type != IFLA_STATS64 || RTA_PAYLOAD(rta) < sizeof(st))
			continue;
		/* Attributes are 4-byte aligned only. */
		memcpy(&st, RTA_DATA(rta), sizeof(st));
		c[i].rx_bytes = st.rx_bytes;
		c[i].rx_packets = st.rx_packets;
		c[i].tx_bytes = st.tx_bytes;
		c[i].tx_packets = st.tx_packets;
		c[i].found = true;
		return;
	}
}

int netdev_parse(const void *buf, size_t len, struct netdev_counts *c, size_t n)
{
	const struct nlmsghdr *nh = buf;
	int left = (int)len;

	for (; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error ? e->error : -EPROTO;
		}
		if (nh->nlmsg_type != RTM_NEWLINK)
			continue;
		if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			return -EBADMSG;
		take_link(nh, c, n);
	}
	return left ? -EBADMSG : 0;
}

int netdev_read(int fd, struct netdev_counts *c, size_t n)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t got;
	size_t i;
	int done = 0;

	for (i = 0; i < n; i++)
		c[i].found = false;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	while (!done) {
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;	/* the rest of the dump is still queued */
		if (got < 0)
			return -errno;
		if (!got)
			return -EPIPE;
		done = netdev_parse(buf, got, c, n);
		if (done < 0)
			return done;
	}
	return 0;
}
