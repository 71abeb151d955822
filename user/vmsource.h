/* SPDX-License-Identifier: GPL-2.0 */
/* What the accounting asks of the host, answered from libvirt where it knows, else /proc. */
#ifndef KT_VMSOURCE_H
#define KT_VMSOURCE_H

#include "account.h"
#include "domains.h"
#include "tracer.h"

/* What the sources know of the host: the libvirt join, and the taps found this interval. */
struct host {
	struct domains *domains;
	struct iface_binding *taps;
	size_t nr_taps;
};
/*
 * A VM's name and UUID: the libvirt domain whose VMM it is (by PID, or by the UUID on its
 * command line), else its command line (QEMU -name/-uuid, Firecracker --id), else comm-PID.
 * h->domains may be a disabled join.
 */
struct vm_source host_vm_source(struct host *h);

/* Finds the taps of the snapshot's live VMs (the tun devices their VMMs hold), for counting. */
void host_find_taps(struct host *h, const struct snapshot *s);

#endif /* KT_VMSOURCE_H */
