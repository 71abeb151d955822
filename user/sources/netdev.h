/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Devices' traffic from the kernel's own counters (rtnetlink's IFLA_STATS64, one RTM_GETLINK
 * dump for every device): what the tap of a VM moved, read once per interval, where a program
 * per packet would cost every packet of the host.
 */
#ifndef KT_NETDEV_H
#define KT_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netdev_counts {
	unsigned int ifindex;	/* in: the device */
	bool found;		/* out: the dump had it, with its counters */
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;	/* the device's own view */
};

/* A NETLINK_ROUTE socket, or -1 with errno. */
int netdev_open(void);

/* Fills the counters of the devices in c, by ifindex. Returns 0, or -errno when the dump failed. */
int netdev_read(int fd, struct netdev_counts *c, size_t n);

/*
 * One part of a dump's reply, as received: takes the counters of the devices of c it holds.
 * Returns 1 when the dump is complete, 0 when more is to come, -errno on an error reply or a
 * malformed message.
 */
int netdev_parse(const void *buf, size_t len, struct netdev_counts *c, size_t n);

#endif /* KT_NETDEV_H */
