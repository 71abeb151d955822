/* SPDX-License-Identifier: GPL-2.0 */
/* What the accounting asks of the host, answered from libvirt where it knows, else /proc. */
#ifndef KT_VMSOURCE_H
#define KT_VMSOURCE_H

#include "account.h"
#include "domains.h"

/*
 * A VM's name and UUID: the libvirt domain whose VMM it is (by PID, or by the UUID on its
 * command line), else its command line (QEMU -name/-uuid, Firecracker --id), else comm-PID.
 * doms may be a disabled join.
 */
struct vm_source host_vm_source(struct domains *doms);

#endif /* KT_VMSOURCE_H */
