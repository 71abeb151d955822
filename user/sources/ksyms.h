/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel text ranges by component, from /proc/kallsyms: the table the BPF sampler searches to
 * tell which part of the hypervisor a sampled kernel instruction belongs to (the split into the
 * VMM, the kvm module, tun/tap, the bridge, vhost and the network stack, plus storage and the
 * scheduler).
 *
 * Classification of one text symbol, first rule that applies (rules 1 and 2 are the tables of
 * ksym_rules.txt, applied by ksym_classify.c; rules 3 and 4 are the loader's, ksyms.c):
 *
 * 1. Module symbols ("[name]" in kallsyms) go by the module, whatever the symbol's name:
 *    kvm, kvm_* (kvm_intel, kvm_amd), irqbypass: KVM. vhost*: VHOST. tun, tap, macvtap, ipvtap:
 *    TAP. bridge, br_netfilter: BRIDGE. NIC drivers, tunnels, netfilter (nf_*, nft_*, xt_*,
 *    ip*table*, ebt*), qdiscs and classifiers (sch_*, cls_*, act_*), bonding, team, veth,
 *    vxlan, geneve, macvlan, ipvlan, openvswitch, 8021q, llc, stp, garp, mrp, ipv6, vsock, ...:
 *    NET. Storage drivers, the block layer's modules, device mapper and md (dm_*, raid*),
 *    file systems (local and network: ext4, xfs, btrfs, fuse, nfs, ceph, ...), loop, nbd,
 *    zram: BLOCK. Any other module, and the kernel's pseudo-modules ([bpf] for BPF programs,
 *    [__builtin__ftrace] for trampolines): OTHER_KERNEL.
 *
 * 2. Built-in symbols go by name. Before matching, the name loses the prefixes the kernel puts
 *    on helpers of a function (__pfx_, __cfi_, __raw_callee_save_), so they land with the
 *    function, and everything from the first '.' (compiler clones: .cold, .isra.0, .constprop.0,
 *    .part.0, .llvm.*). System call wrappers (__x64_sys_NAME, __do_sys_NAME, __se_sys_NAME,
 *    __sys_NAME, ...) are classified by NAME: socket calls are NET, fsync and native AIO calls
 *    BLOCK, sched_* SCHED. The name is then matched against a table of exact names, prefixes
 *    and suffixes; the longest match wins, so a longer rule can carve an exception out of a
 *    shorter one (schedule_on_each_cpu is a workqueue call, not the scheduler). In short:
 *    - KVM: kvm_, __kvm_, vmx_, svm_, pvm_ (the PVM backend), vcpu_, nested_vmx_, nested_svm_,
 *      vmcs_, vmcb_, ept_, tdp_mmu_, the x86 emulator (em_, emulator_, x86_emulate_), KVM's
 *      mmu_ helpers, irqfd_, ioeventfd_; not the guest-side paravirt code in
 *      arch/x86/kernel/kvm*.c (kvm_sched_clock_read, kvm_wait, ...) nor PVM's guest-side
 *      paravirt operations (pvm_irq_enable, pvm_save_fl, ...), which run only when this host is
 *      itself a guest.
 *    - VHOST: vhost_. TAP: tun_, __tun_, tap_, __tap_, macvtap_, ipvtap_ ("tune_" is not tun).
 *    - BRIDGE: br_, __br_ (not __brelse), nbp_, brnf_, fdb_.
 *    - NET: the core (netif_, napi_, skb_, sk_, sock_, netdev_, dev_queue_xmit, qdisc_, gro_,
 *      net_, rtnl_, netlink_, nla_, flow_, xdp_, page_pool_, csum_), protocols (eth_, ip_, ip6_,
 *      ipv6_, inet_, tcp_, udp_, icmp_, arp_, neigh_, fib_, raw sockets, packet_,
 *      vsock_), netfilter (nf_, nft_, xt_, ipt_, ebt_), tunnels and virtual devices (vxlan_,
 *      geneve_, veth_, macvlan_, ipvlan_, bond_, vlan_, ovs_) and NIC drivers (virtnet_,
 *      e1000_, igb_, ixgbe_, i40e_, ice_, mlx5_, bnxt_, ...).
 *    - BLOCK: the block layer (blk_, bio_, submit_bio, bdev_, disk_, elevators, rq_qos_),
 *      drivers (nvme_, scsi_, ata_, virtblk_, dm_, md_, raid*, lo_, nbd_, zram_), file
 *      systems (ext4_, jbd2_, xfs_, btrfs_, fuse_, nfs_, ...), iomap_, mpage_, buffer heads,
 *      writeback, native AIO (aio_) and the file read/write/fsync paths of the page cache
 *      (generic_perform_write, filemap_read, filemap_fdatawrite, vfs_fsync, ...). The rest of
 *      the page cache and memory management serves everyone and stays OTHER_KERNEL.
 *    - SCHED: schedule, __schedule, schedule_*, preempt_schedule*, sched_*, __sched_*,
 *      the sched_class methods (pick_next_task*, pick_task_*, put_prev_task*, set_next_task*,
 *      enqueue_task*, dequeue_task*, select_task_rq*, task_tick_*, switched_to_*, ...),
 *      *_fair, update_curr*, load tracking (update_load_avg, __update_load_avg*), wakeups
 *      (try_to_wake_up, ttwu_, wake_up_*, __wake_up*, wait queues), context switch
 *      (context_switch, __switch_to*, finish_task_switch*, switch_mm*), load balancing
 *      (load_balance, sched_balance_*, nohz_*), cputime accounting, psi_, cpuacct_, sugov_.
 *      *_rt and *_dl are not used as suffixes: ip6_del_rt is IPv6 routing.
 *    - OTHER_KERNEL, explicitly: readiness polls (tun_chr_poll, tap_poll, sock_poll,
 *      tcp_poll, ...: an event loop asking, moving no packet; in modules too), Unix sockets
 *      (unix_: local IPC such as a VMM's monitor), tracing glue (__traceiter_*,
 *      trace_event_raw_event_*, perf_trace_*, __bpf_trace_*, ...), retpoline and return thunks,
 *      _stext, _etext, and namesakes of the rules above (vsprintf's ip6_addr_string, SELinux's
 *      sock_has_perm).
 *    Section markers (__sched_text_start, ...) are not code and are not symbols here.
 *
 * 3. Static helpers rarely carry their subsystem's prefix (KVM's sync_regs, fair.c's
 *    __calc_delta). The linker keeps a file's functions together, so a run of at most 8
 *    built-in functions no rule matched (__pfx_ and __cfi_ symbols not counted), lying between
 *    two built-in symbols of one component, takes that component. Longer runs are more often
 *    another file (drivers/net/loopback.c lies between macvtap.c and tun.c) than helpers.
 *    Symbols that matched a rule, OTHER_KERNEL ones included, are never relabelled; module
 *    symbols never take part; nor do the sections that gather functions by property rather
 *    than by file (.entry.text, .noinstr.text, .sched.text, .lock.text, .text.unlikely, ...,
 *    known by their __NAME_text_start/_end markers), where neighbours say nothing: mutex_lock
 *    sits between schedule and schedule_timeout in .sched.text.
 *
 * 4. Init code (between _sinittext and _einittext) is freed after boot and never runs again:
 *    it is one OTHER_KERNEL range, whatever its symbols are called.
 */
#ifndef KT_KSYMS_H
#define KT_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmtrace.h"

struct ksym_ranges {
	struct kt_ksym_range *range;	/* by start; adjacent ranges of one component merged */
	size_t nr;
	uint64_t text_start;		/* lowest kernel text address: below is user space */
};

/*
 * Reads a kallsyms file (text symbols t/T/w/W only; others are skipped), classifies, sorts,
 * merges. Of several symbols at one address, the one with a specific component is kept.
 * Returns 0, -EPERM when every address reads 0 (kptr_restrict / not root), -ENODATA when the
 * file holds no text symbol, -E2BIG when more than KT_MAX_KSYM_RANGES ranges remain after
 * merging, or -errno. On failure *out is left empty.
 */
int ksym_ranges_load(const char *path, struct ksym_ranges *out);

/* Frees the ranges and leaves r empty (safe on an empty or already freed r). */
void ksym_ranges_free(struct ksym_ranges *r);

/*
 * The range index an address falls in (last range with start <= addr), or -1 if below the
 * first: the same search the BPF side does; used by tests and for documentation. The last
 * range extends upward, so code loaded after the table was built (a new module, a BPF program)
 * is charged to whatever lies below it until the table is rebuilt.
 */
long ksym_ranges_find(const struct ksym_ranges *r, uint64_t addr);

/*
 * Does the kallsyms file list a symbol called name, of any type (data symbols appear only with
 * CONFIG_KALLSYMS_ALL)? The address is not looked at: a per-cpu symbol may be at offset 0, and
 * without privilege every address reads 0. False when the file cannot be read.
 */
bool ksym_exists(const char *path, const char *name);

/*
 * A cheap fingerprint of the loaded modules (FNV-1a of the file /proc/modules' name and address
 * columns) so the caller can rebuild the ranges when modules come or go. Returns 0 on read
 * failure (also on kernels without module support, which have no /proc/modules).
 */
uint64_t ksym_modules_fingerprint(const char *path);

#endif /* KT_KSYMS_H */
