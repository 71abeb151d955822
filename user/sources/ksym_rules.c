// SPDX-License-Identifier: GPL-2.0
/*
 * The tables of kernel symbol classification: modules, names and system calls by component,
 * as rules 1 and 2 of ksyms.h describe them. Data only: ksym_classify.c does the matching.
 */
#include "ksym_rules.h"

#define EXACT(s, c)	{ s, sizeof(s) - 1, KSYM_MATCH_EXACT, KT_COMP_##c }
#define PFX(s, c)	{ s, sizeof(s) - 1, KSYM_MATCH_PREFIX, KT_COMP_##c }
#define SFX(s, c)	{ s, sizeof(s) - 1, KSYM_MATCH_SUFFIX, KT_COMP_##c }
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Modules, by their name in kallsyms (the kernel turns '-' in file names into '_'). */
static const struct ksym_rule module_rules[] = {
	/* KVM */
	EXACT("kvm", KVM), PFX("kvm_", KVM), EXACT("irqbypass", KVM),
	/* vhost, vhost_net, vhost_vsock, vhost_scsi, vhost_iotlb, vhost_vdpa */
	PFX("vhost", VHOST),
	EXACT("tun", TAP), EXACT("tap", TAP), EXACT("macvtap", TAP), EXACT("ipvtap", TAP),
	EXACT("bridge", BRIDGE), EXACT("br_netfilter", BRIDGE),
	/* Protocols, netfilter, traffic control, tunnels, virtual devices. */
	PFX("nf_", NET), PFX("nft_", NET), PFX("xt_", NET), PFX("nfnetlink", NET),
	EXACT("x_tables", NET), PFX("ip_", NET), PFX("ip6_", NET), PFX("ipt_", NET),
	PFX("ip6t_", NET), PFX("iptable_", NET), PFX("ip6table_", NET), PFX("arptable_", NET),
	EXACT("arp_tables", NET), PFX("ebt", NET), PFX("sch_", NET), PFX("cls_", NET),
	PFX("act_", NET), PFX("em_", NET), PFX("tcp_", NET), PFX("udp_", NET), PFX("inet_", NET),
	EXACT("ipv6", NET), EXACT("sit", NET), EXACT("tunnel4", NET), EXACT("tunnel6", NET),
	EXACT("gre", NET), EXACT("ipip", NET), EXACT("fou", NET), EXACT("fou6", NET),
	PFX("xfrm", NET), EXACT("esp4", NET), EXACT("esp6", NET), EXACT("ah4", NET),
	EXACT("ah6", NET), EXACT("af_packet", NET), EXACT("af_key", NET), EXACT("unix", NET),
	EXACT("tls", NET), EXACT("sctp", NET), EXACT("dccp", NET), EXACT("mptcp", NET),
	EXACT("wireguard", NET), PFX("l2tp_", NET), PFX("ppp", NET), EXACT("slhc", NET),
	EXACT("veth", NET), EXACT("vxlan", NET), EXACT("geneve", NET), EXACT("bareudp", NET),
	EXACT("macvlan", NET), EXACT("ipvlan", NET), EXACT("bonding", NET), EXACT("team", NET),
	PFX("team_mode_", NET), EXACT("dummy", NET), EXACT("ifb", NET), EXACT("nlmon", NET),
	EXACT("openvswitch", NET), EXACT("8021q", NET), EXACT("llc", NET), EXACT("stp", NET),
	EXACT("garp", NET), EXACT("mrp", NET), EXACT("psample", NET), EXACT("vsock", NET),
	PFX("vsock_", NET), PFX("vmw_vsock", NET), EXACT("net_failover", NET),
	EXACT("failover", NET), EXACT("netdevsim", NET),
	/* NIC drivers and their helpers. */
	EXACT("virtio_net", NET), PFX("e1000", NET), PFX("igb", NET), EXACT("igc", NET),
	PFX("ixgb", NET), EXACT("i40e", NET), EXACT("iavf", NET), EXACT("ice", NET),
	PFX("mlx4_", NET), PFX("mlx5_", NET), PFX("mlxsw_", NET), EXACT("bnxt_en", NET),
	PFX("bnx2", NET), EXACT("tg3", NET), EXACT("r8169", NET), EXACT("ena", NET),
	EXACT("gve", NET), EXACT("vmxnet3", NET), EXACT("hv_netvsc", NET),
	EXACT("xen_netfront", NET), EXACT("xen_netback", NET), EXACT("sfc", NET),
	EXACT("nfp", NET), EXACT("qede", NET), EXACT("qed", NET), EXACT("cxgb4", NET),
	EXACT("enic", NET), EXACT("be2net", NET), EXACT("atlantic", NET), EXACT("mii", NET),
	PFX("mdio", NET), EXACT("libphy", NET), EXACT("phylink", NET), EXACT("cfg80211", NET),
	EXACT("mac80211", NET), PFX("iwl", NET), PFX("ath", NET),
	/* Storage drivers, the block layer, device mapper, md. */
	EXACT("virtio_blk", BLOCK), EXACT("virtio_scsi", BLOCK), PFX("nvme", BLOCK),
	EXACT("ahci", BLOCK), EXACT("libahci", BLOCK), EXACT("libata", BLOCK),
	PFX("ata_", BLOCK), PFX("pata_", BLOCK), PFX("sata_", BLOCK), EXACT("sd_mod", BLOCK),
	EXACT("sr_mod", BLOCK), EXACT("sg", BLOCK), PFX("scsi_", BLOCK), EXACT("cdrom", BLOCK),
	PFX("dm_", BLOCK), EXACT("md_mod", BLOCK), PFX("raid", BLOCK), EXACT("linear", BLOCK),
	EXACT("multipath", BLOCK), PFX("async_", BLOCK), EXACT("bfq", BLOCK),
	EXACT("kyber_iosched", BLOCK), EXACT("mq_deadline", BLOCK), EXACT("t10_pi", BLOCK),
	EXACT("nbd", BLOCK), EXACT("loop", BLOCK), EXACT("zram", BLOCK), EXACT("brd", BLOCK),
	EXACT("null_blk", BLOCK), EXACT("ublk_drv", BLOCK), EXACT("drbd", BLOCK),
	EXACT("rbd", BLOCK), PFX("iscsi", BLOCK), PFX("libiscsi", BLOCK),
	PFX("target_core_", BLOCK), EXACT("virtio_pmem", BLOCK), PFX("nd_", BLOCK),
	EXACT("libnvdimm", BLOCK), EXACT("dax", BLOCK), EXACT("dax_pmem", BLOCK),
	EXACT("bcache", BLOCK), EXACT("mpt3sas", BLOCK), EXACT("megaraid_sas", BLOCK),
	EXACT("hpsa", BLOCK), EXACT("aacraid", BLOCK), EXACT("qla2xxx", BLOCK),
	EXACT("lpfc", BLOCK), EXACT("vmw_pvscsi", BLOCK), EXACT("hv_storvsc", BLOCK),
	PFX("xen_blk", BLOCK), EXACT("mmc_block", BLOCK), EXACT("usb_storage", BLOCK),
	EXACT("uas", BLOCK),
	/* File systems, local and network: a VM's disk image lives on one. */
	EXACT("ext4", BLOCK), EXACT("ext2", BLOCK), EXACT("jbd2", BLOCK), EXACT("mbcache", BLOCK),
	EXACT("xfs", BLOCK), EXACT("btrfs", BLOCK), EXACT("f2fs", BLOCK), EXACT("overlay", BLOCK),
	EXACT("fuse", BLOCK), EXACT("virtiofs", BLOCK), EXACT("nfs", BLOCK), PFX("nfsv", BLOCK),
	EXACT("nfsd", BLOCK), EXACT("cifs", BLOCK), EXACT("ceph", BLOCK), EXACT("libceph", BLOCK),
	EXACT("fat", BLOCK), EXACT("vfat", BLOCK), EXACT("exfat", BLOCK), EXACT("isofs", BLOCK),
	EXACT("squashfs", BLOCK), EXACT("erofs", BLOCK), EXACT("udf", BLOCK), EXACT("zfs", BLOCK),
	EXACT("bcachefs", BLOCK), EXACT("9p", BLOCK), EXACT("netfs", BLOCK),
	EXACT("fscache", BLOCK), EXACT("cachefiles", BLOCK),
};

/* Built-in code, by symbol name (after the prefixes and suffixes described in ksyms.h). */
static const struct ksym_rule name_rules[] = {
	/* KVM, with its helpers that do not say kvm. */
	PFX("kvm_", KVM), PFX("__kvm_", KVM), PFX("vmx_", KVM), PFX("__vmx_", KVM),
	PFX("svm_", KVM), PFX("__svm_", KVM), PFX("pvm_", KVM), PFX("__pvm_", KVM),
	PFX("vcpu_", KVM), PFX("__vcpu_", KVM), PFX("nested_vmx_", KVM), PFX("nested_svm_", KVM),
	PFX("nested_ept_", KVM), PFX("nested_npt_", KVM), PFX("vmcs_", KVM), PFX("__vmcs_", KVM),
	PFX("vmcs12_", KVM), PFX("vmcb_", KVM), PFX("ept_", KVM), PFX("tdp_mmu_", KVM),
	PFX("__tdp_mmu_", KVM), PFX("tdp_iter_", KVM), PFX("paging32_", KVM),
	PFX("paging64_", KVM), PFX("make_spte", KVM), PFX("make_mmio_spte", KVM),
	PFX("make_nonleaf_spte", KVM), PFX("mmu_alloc_", KVM), PFX("mmu_free_", KVM),
	PFX("mmu_flush_", KVM), PFX("mmu_page_", KVM), PFX("mmu_pages_", KVM),
	PFX("mmu_set_spte", KVM), PFX("mmu_spte_", KVM), PFX("mmu_sync_", KVM),
	PFX("mmu_topup_", KVM), PFX("mmu_try_to_unsync", KVM), PFX("mmu_zap_", KVM),
	PFX("em_", KVM), PFX("emulator_", KVM), PFX("x86_emulate_", KVM),
	PFX("x86_decode_insn", KVM), PFX("complete_emulated_", KVM),
	PFX("complete_fast_pio_", KVM), PFX("handle_fastpath_", KVM),
	PFX("__handle_fastpath_", KVM), PFX("irqfd_", KVM), PFX("ioeventfd_", KVM),
	PFX("gfn_to_", KVM), PFX("__gfn_to_", KVM), PFX("hva_to_pfn", KVM),
	PFX("mark_page_dirty", KVM), PFX("async_pf_", KVM), EXACT("writeback_registers", KVM),
	/* mm/vmalloc.c's per-cpu areas are pvm_ too. */
	PFX("pvm_determine_", OTHER_KERNEL), PFX("pvm_find_va_", OTHER_KERNEL),
	/* The energy model is em_ too. */
	PFX("em_cpu_", OTHER_KERNEL), PFX("em_dev_", OTHER_KERNEL), PFX("em_pd_", OTHER_KERNEL),
	PFX("em_perf_", OTHER_KERNEL), PFX("em_table_", OTHER_KERNEL),
	/* PVM's guest side: the paravirt operations a PVM guest kernel runs for itself. */
	PFX("pvm_irq_", OTHER_KERNEL), PFX("pvm_save_fl", OTHER_KERNEL),
	PFX("pvm_restore_fl", OTHER_KERNEL), PFX("pvm_safe_halt", OTHER_KERNEL),
	EXACT("pvm_halt", OTHER_KERNEL), EXACT("pvm_halt_hc", OTHER_KERNEL),
	PFX("pvm_read_cr", OTHER_KERNEL), PFX("pvm_write_cr", OTHER_KERNEL),
	PFX("pvm_write_msr", OTHER_KERNEL), PFX("pvm_flush_tlb_local", OTHER_KERNEL),
	PFX("pvm_flush_tlb_one_user", OTHER_KERNEL), PFX("pvm_flush_tlb_multi", OTHER_KERNEL),
	PFX("pvm_flush_tlb_all_ipi", OTHER_KERNEL), EXACT("pvm_kick_noop", OTHER_KERNEL),
	/* KVM's guest side: paravirt code run when this kernel is itself a KVM guest. */
	PFX("kvm_sched_clock", OTHER_KERNEL), PFX("kvm_clock_", OTHER_KERNEL),
	EXACT("kvm_steal_clock", OTHER_KERNEL), EXACT("kvm_wait", OTHER_KERNEL),
	EXACT("kvm_kick_cpu", OTHER_KERNEL), PFX("kvm_send_ipi_mask", OTHER_KERNEL),
	EXACT("kvm_smp_send_call_func_ipi", OTHER_KERNEL),
	EXACT("kvm_flush_tlb_multi", OTHER_KERNEL), PFX("kvm_guest_cpu_", OTHER_KERNEL),
	EXACT("kvm_guest_init", OTHER_KERNEL), EXACT("kvm_guest_apic_eoi_write", OTHER_KERNEL),
	EXACT("kvm_read_and_reset_apf_flags", OTHER_KERNEL),
	EXACT("__kvm_handle_async_pf", OTHER_KERNEL), PFX("kvm_async_pf_task_", OTHER_KERNEL),
	EXACT("kvm_para_available", OTHER_KERNEL), PFX("kvm_arch_para_", OTHER_KERNEL),
	EXACT("__kvm_vcpu_is_preempted", OTHER_KERNEL), EXACT("kvm_io_delay", OTHER_KERNEL),
	EXACT("kvm_pv_reboot_notify", OTHER_KERNEL), EXACT("kvm_pv_guest_cpu_reboot", OTHER_KERNEL),

	PFX("vhost_", VHOST), PFX("__vhost_", VHOST),

	PFX("tun_", TAP), PFX("__tun_", TAP), PFX("tap_", TAP), PFX("__tap_", TAP),
	PFX("macvtap_", TAP), PFX("ipvtap_", TAP),
	/* Tunnel metadata helpers inlined into vxlan, geneve, ...: not the tun device. */
	PFX("tun_dst_", NET),

	PFX("br_", BRIDGE), PFX("__br_", BRIDGE), PFX("nbp_", BRIDGE), PFX("brnf_", BRIDGE),
	PFX("fdb_", BRIDGE),

	/* Network core. */
	PFX("netif_", NET), PFX("__netif_", NET), PFX("napi_", NET), PFX("__napi_", NET),
	PFX("net_", NET), PFX("__net_", NET), PFX("netdev_", NET), PFX("__netdev_", NET),
	PFX("skb_", NET), PFX("__skb_", NET), PFX("kfree_skb", NET), PFX("__kfree_skb", NET),
	PFX("consume_skb", NET), PFX("alloc_skb", NET), PFX("__alloc_skb", NET),
	PFX("build_skb", NET), PFX("__build_skb", NET), PFX("napi_alloc_", NET),
	PFX("sk_", NET), PFX("__sk_", NET), PFX("sock_", NET), PFX("__sock_", NET),
	PFX("sockfd_", NET), PFX("sockfs_", NET), PFX("move_addr_to_", NET), PFX("scm_", NET),
	PFX("__scm_", NET), PFX("qdisc_", NET), PFX("__qdisc_", NET), PFX("pfifo_", NET),
	PFX("fq_codel_", NET), PFX("sch_", NET), PFX("tc_", NET), PFX("tcf_", NET),
	PFX("__tcf_", NET), PFX("tcx_", NET), PFX("cls_", NET), PFX("gro_", NET),
	PFX("__gro_", NET), PFX("validate_xmit_", NET), PFX("__validate_xmit", NET),
	PFX("enqueue_to_backlog", NET), PFX("process_backlog", NET), PFX("deliver_skb", NET),
	PFX("deliver_ptype_list_skb", NET), PFX("rps_", NET), PFX("xps_", NET),
	PFX("rtnl_", NET), PFX("__rtnl_", NET), PFX("rtnetlink_", NET), PFX("netlink_", NET),
	PFX("__netlink_", NET), PFX("nlmsg_", NET), PFX("genl_", NET), PFX("genlmsg_", NET),
	PFX("nla_", NET), PFX("__nla_", NET), PFX("flow_", NET), PFX("xdp_", NET),
	PFX("__xdp_", NET), PFX("bpf_xdp_", NET), PFX("bpf_skb_", NET), PFX("bpf_sk_", NET),
	PFX("xsk_", NET), PFX("page_pool_", NET), PFX("csum_", NET), PFX("__csum_", NET),
	PFX("dst_", NET), PFX("__dst_", NET), PFX("lwtunnel_", NET), PFX("netpoll_", NET),
	PFX("ethtool_", NET), PFX("__ethtool_", NET), PFX("ethnl_", NET),
	PFX("phylink_", NET), PFX("genphy_", NET), PFX("mdiobus_", NET), PFX("mii_", NET),
	/* Namesakes elsewhere: vsprintf's %pI and %pN printers, SELinux, x86 TLS descriptors. */
	PFX("ip6_addr_string", OTHER_KERNEL), EXACT("ip6_compressed_string", OTHER_KERNEL),
	EXACT("ip6_string", OTHER_KERNEL), EXACT("ip_addr_string", OTHER_KERNEL),
	EXACT("netdev_bits", OTHER_KERNEL), EXACT("sock_has_perm", OTHER_KERNEL),
	EXACT("cls_destroy", OTHER_KERNEL), EXACT("tls_desc_okay", OTHER_KERNEL),
	EXACT("bdev_name", OTHER_KERNEL),
	/* btrfs checksums, not packet ones. */
	EXACT("csum_tree_block", BLOCK), PFX("csum_one_bio", BLOCK),
	/* The dev_ calls of net/core; dev_ alone is the driver core's too. */
	PFX("dev_queue_xmit", NET), PFX("__dev_queue_xmit", NET),
	PFX("dev_hard_start_xmit", NET), PFX("dev_xmit_", NET), PFX("dev_direct_xmit", NET),
	PFX("__dev_direct_xmit", NET), PFX("dev_loopback_xmit", NET), PFX("dev_pick_tx", NET),
	PFX("dev_kfree_skb", NET), PFX("__dev_kfree_skb", NET), PFX("dev_forward_skb", NET),
	PFX("__dev_forward_skb", NET), PFX("dev_gro_", NET), PFX("dev_get_by_", NET),
	PFX("dev_get_stats", NET), PFX("dev_get_tstats", NET), PFX("dev_fetch_sw_netstats", NET),
	PFX("dev_change_", NET), PFX("__dev_change_", NET), PFX("dev_set_mtu", NET),
	PFX("dev_set_mac_address", NET), PFX("dev_set_promiscuity", NET),
	PFX("dev_set_allmulti", NET), PFX("dev_open", NET), PFX("__dev_open", NET),
	PFX("dev_close", NET), PFX("__dev_close", NET), PFX("dev_activate", NET),
	PFX("dev_deactivate", NET), PFX("dev_ioctl", NET), PFX("dev_ifsioc", NET),
	PFX("dev_addr_", NET), PFX("dev_uc_", NET), PFX("dev_mc_", NET), PFX("dev_add_pack", NET),
	PFX("dev_remove_pack", NET), PFX("dev_ethtool", NET), PFX("dev_eth_ioctl", NET),
	PFX("dev_watchdog", NET), PFX("dev_qdisc_", NET), PFX("dev_ingress_queue", NET),
	PFX("dev_xdp_", NET), PFX("dev_map_", NET), PFX("dev_nit_active", NET),
	PFX("dev_queue_xmit_nit", NET),
	/* Protocols. */
	PFX("eth_", NET), PFX("__eth_", NET), PFX("arp_", NET), PFX("ip_", NET), PFX("__ip_", NET),
	PFX("ipv4_", NET), PFX("ipv6_", NET), PFX("__ipv6_", NET), PFX("ip6_", NET),
	PFX("__ip6_", NET), PFX("ip6mr_", NET), PFX("ipmr_", NET), PFX("ipip_", NET),
	PFX("iptunnel_", NET), PFX("inet_", NET), PFX("__inet_", NET), PFX("inet6_", NET),
	PFX("__inet6_", NET), PFX("in6_", NET), PFX("in_dev_", NET), PFX("inetdev_", NET),
	PFX("devinet_", NET), PFX("in_aton", NET), PFX("in4_pton", NET), PFX("tcp_", NET),
	PFX("__tcp_", NET), PFX("tcp4_", NET), PFX("tcp6_", NET), PFX("tcpv6_", NET),
	PFX("udp_", NET), PFX("__udp_", NET), PFX("udp4_", NET), PFX("__udp4_", NET),
	PFX("udp6_", NET), PFX("__udp6_", NET), PFX("udpv6_", NET), PFX("udplite_", NET),
	PFX("icmp_", NET), PFX("__icmp_", NET), PFX("icmpv6_", NET), PFX("icmp6_", NET),
	PFX("igmp_", NET), PFX("igmp6_", NET), PFX("mld_", NET), PFX("ndisc_", NET),
	PFX("addrconf_", NET), PFX("ping_", NET), PFX("neigh_", NET), PFX("__neigh_", NET),
	PFX("fib_", NET), PFX("__fib_", NET), PFX("fib4_", NET), PFX("fib6_", NET),
	PFX("rt6_", NET), PFX("__rt6_", NET), PFX("rawv6_", NET), PFX("raw_v4_", NET),
	PFX("raw_v6_", NET), PFX("raw_rcv", NET), PFX("raw_sendmsg", NET),
	PFX("raw_recvmsg", NET), PFX("raw_local_deliver", NET), PFX("raw_icmp_error", NET),
	PFX("raw_hash_sk", NET), PFX("raw_unhash_sk", NET), PFX("raw_abort", NET),
	PFX("raw_bind", NET), PFX("raw_close", NET), PFX("raw_destroy", NET),
	PFX("raw_getfrag", NET), PFX("raw_getsockopt", NET), PFX("raw_setsockopt", NET),
	PFX("raw_ioctl", NET), PFX("raw_init", NET), PFX("raw_sk_init", NET),
	PFX("raw_seq_", NET), PFX("raw_get_", NET), PFX("packet_", NET), PFX("__packet_", NET),
	PFX("tpacket_", NET), PFX("vsock_", NET),
	/* Unix sockets are local IPC (a VMM's monitor and its manager), not the network. */
	PFX("unix_", OTHER_KERNEL), PFX("__unix_", OTHER_KERNEL),
	PFX("virtio_transport_", NET), PFX("xfrm_", NET), PFX("__xfrm_", NET), PFX("tls_", NET),
	PFX("mptcp_", NET), PFX("sctp_", NET), PFX("dccp_", NET), PFX("llc_", NET),
	PFX("stp_", NET), PFX("garp_", NET), PFX("mrp_", NET),
	/* Netfilter. */
	PFX("nf_", NET), PFX("__nf_", NET), PFX("nft_", NET), PFX("__nft_", NET),
	PFX("nfnl_", NET), PFX("nfnetlink_", NET), PFX("ctnetlink_", NET), PFX("xt_", NET),
	PFX("ipt_", NET), PFX("ip6t_", NET), PFX("arpt_", NET), PFX("ebt_", NET),
	/* Virtual devices, tunnels, NIC drivers. */
	PFX("vlan_", NET), PFX("__vlan_", NET), PFX("veth_", NET), PFX("vxlan_", NET),
	PFX("geneve_", NET), PFX("gre_", NET), PFX("ipgre_", NET), PFX("ip6gre_", NET),
	PFX("macvlan_", NET), PFX("ipvlan_", NET), PFX("bond_", NET), PFX("__bond_", NET),
	PFX("team_", NET), PFX("ovs_", NET), PFX("dsa_", NET), PFX("switchdev_", NET),
	PFX("virtnet_", NET), PFX("e1000_", NET), PFX("e1000e_", NET), PFX("igb_", NET),
	PFX("igc_", NET), PFX("ixgbe_", NET), PFX("ixgbevf_", NET), PFX("i40e_", NET),
	PFX("iavf_", NET), PFX("ice_", NET), PFX("mlx4_en_", NET), PFX("mlx5e_", NET),
	PFX("mlx5_", NET), PFX("bnxt_", NET), PFX("bnx2x_", NET), PFX("tg3_", NET),
	PFX("rtl8169_", NET), PFX("ena_", NET), PFX("gve_", NET), PFX("vmxnet3_", NET),
	PFX("netvsc_", NET), PFX("xennet_", NET), PFX("efx_", NET), PFX("nfp_", NET),
	PFX("qede_", NET), PFX("cxgb4_", NET),

	/* Block layer and storage drivers. */
	PFX("blk_", BLOCK), PFX("__blk_", BLOCK), PFX("blkdev_", BLOCK), PFX("__blkdev_", BLOCK),
	PFX("blockdev_", BLOCK), PFX("__blockdev_", BLOCK), PFX("blkcg_", BLOCK),
	PFX("__blkcg_", BLOCK), PFX("blkg_", BLOCK), PFX("__blkg_", BLOCK), PFX("bio_", BLOCK),
	PFX("__bio_", BLOCK), PFX("submit_bio", BLOCK), PFX("__submit_bio", BLOCK),
	PFX("submit_bh", BLOCK), PFX("bdev_", BLOCK), PFX("bd_", BLOCK), PFX("disk_", BLOCK),
	PFX("device_add_disk", BLOCK), PFX("del_gendisk", BLOCK),
	PFX("part_", BLOCK), PFX("bsg_", BLOCK), PFX("elv_", BLOCK), PFX("__elv_", BLOCK),
	PFX("elevator_", BLOCK), PFX("bfq_", BLOCK), PFX("kyber_", BLOCK), PFX("dd_", BLOCK),
	PFX("deadline_", BLOCK), PFX("ioc_", BLOCK), PFX("iocg_", BLOCK), PFX("rq_qos_", BLOCK),
	PFX("__rq_qos_", BLOCK), PFX("wbt_", BLOCK), PFX("throtl_", BLOCK),
	PFX("badblocks_", BLOCK), PFX("t10_pi_", BLOCK), PFX("scsi_", BLOCK),
	PFX("__scsi_", BLOCK), PFX("ata_", BLOCK), PFX("__ata_", BLOCK), PFX("ahci_", BLOCK),
	PFX("sata_", BLOCK), PFX("nvme_", BLOCK), PFX("__nvme_", BLOCK), PFX("nvmet_", BLOCK),
	PFX("virtblk_", BLOCK), PFX("virtscsi_", BLOCK), PFX("dm_", BLOCK), PFX("__dm_", BLOCK),
	PFX("md_", BLOCK), PFX("__md_", BLOCK), PFX("raid0_", BLOCK), PFX("raid1_", BLOCK),
	PFX("raid10_", BLOCK), PFX("raid5_", BLOCK), PFX("raid6_", BLOCK), PFX("r5c_", BLOCK),
	PFX("r5l_", BLOCK), PFX("lo_", BLOCK), PFX("nbd_", BLOCK), PFX("zram_", BLOCK),
	PFX("pmem_", BLOCK), PFX("nvdimm_", BLOCK), PFX("nd_region_", BLOCK),
	PFX("nd_pmem_", BLOCK), PFX("nd_btt_", BLOCK), PFX("nd_namespace_", BLOCK),
	/* loop_ alone is also io_uring's, the BPF verifier's, the TSC sync's. */
	PFX("loop_queue_rq", BLOCK), PFX("loop_process_work", BLOCK), PFX("loop_workfn", BLOCK),
	PFX("loop_rootcg_workfn", BLOCK), PFX("loop_handle_cmd", BLOCK),
	PFX("loop_configure", BLOCK), PFX("loop_set_status", BLOCK),
	PFX("btt_", BLOCK), PFX("dax_", BLOCK), PFX("blkif_", BLOCK), PFX("mmc_blk_", BLOCK),
	PFX("usb_stor_", BLOCK), PFX("cdrom_", BLOCK),
	/* File systems. */
	PFX("ext4_", BLOCK), PFX("__ext4_", BLOCK), PFX("ext2_", BLOCK), PFX("jbd2_", BLOCK),
	PFX("__jbd2_", BLOCK), PFX("mb_cache_", BLOCK), PFX("xfs_", BLOCK), PFX("__xfs_", BLOCK),
	PFX("xlog_", BLOCK), PFX("btrfs_", BLOCK), PFX("__btrfs_", BLOCK), PFX("f2fs_", BLOCK),
	PFX("fat_", BLOCK), PFX("vfat_", BLOCK), PFX("msdos_", BLOCK), PFX("exfat_", BLOCK),
	PFX("isofs_", BLOCK), PFX("squashfs_", BLOCK), PFX("erofs_", BLOCK),
	PFX("z_erofs_", BLOCK), PFX("ovl_", BLOCK), PFX("fuse_", BLOCK),
	PFX("virtio_fs_", BLOCK), PFX("nfs_", BLOCK), PFX("__nfs_", BLOCK), PFX("nfs3_", BLOCK),
	PFX("nfs4_", BLOCK), PFX("cifs_", BLOCK), PFX("smb2_", BLOCK), PFX("ceph_", BLOCK),
	PFX("rbd_", BLOCK), PFX("iomap_", BLOCK), PFX("__iomap_", BLOCK), PFX("mpage_", BLOCK),
	PFX("__mpage_", BLOCK),
	/* Buffer heads, writeback, and the file I/O paths of the page cache. */
	PFX("block_write_", BLOCK), PFX("__block_write_", BLOCK),
	PFX("block_read_full_folio", BLOCK), PFX("block_dirty_folio", BLOCK),
	PFX("block_invalidate_folio", BLOCK), PFX("block_commit_write", BLOCK),
	PFX("__block_commit_write", BLOCK), PFX("block_page_mkwrite", BLOCK),
	PFX("block_truncate_page", BLOCK), PFX("block_is_partially_uptodate", BLOCK),
	PFX("mark_buffer_", BLOCK), PFX("end_buffer_", BLOCK), PFX("__brelse", BLOCK),
	PFX("__bforget", BLOCK), PFX("__getblk", BLOCK), PFX("__bread", BLOCK),
	PFX("__find_get_block", BLOCK), PFX("sync_dirty_buffer", BLOCK),
	PFX("__sync_dirty_buffer", BLOCK), PFX("write_dirty_buffer", BLOCK),
	PFX("create_empty_buffers", BLOCK), PFX("try_to_free_buffers", BLOCK),
	PFX("writeback_", BLOCK), PFX("__writeback_", BLOCK), PFX("wb_", BLOCK),
	PFX("wbc_", BLOCK), PFX("do_writepages", BLOCK), PFX("write_cache_pages", BLOCK),
	PFX("balance_dirty_pages", BLOCK), PFX("generic_perform_write", BLOCK),
	PFX("generic_file_read_iter", BLOCK), PFX("generic_file_write_iter", BLOCK),
	PFX("__generic_file_write_iter", BLOCK), PFX("generic_file_direct_write", BLOCK),
	EXACT("filemap_read", BLOCK), PFX("filemap_write_and_wait", BLOCK),
	PFX("file_write_and_wait", BLOCK), PFX("filemap_fdatawrite", BLOCK),
	PFX("__filemap_fdatawrite", BLOCK), PFX("filemap_fdatawait", BLOCK),
	PFX("__filemap_fdatawait", BLOCK), PFX("filemap_flush", BLOCK),
	PFX("vfs_fsync", BLOCK), PFX("do_fsync", BLOCK), PFX("aio_", BLOCK),
	PFX("io_submit_one", BLOCK),

	/* The scheduler: the entry points, */
	EXACT("schedule", SCHED), PFX("schedule_", SCHED), EXACT("__schedule", SCHED),
	PFX("__schedule_bug", SCHED), PFX("__schedule_loop", SCHED),
	PFX("preempt_schedule", SCHED), PFX("__cond_resched", SCHED), PFX("_cond_resched", SCHED),
	EXACT("yield", SCHED), EXACT("yield_to", SCHED), PFX("io_schedule", SCHED),
	PFX("sched_", SCHED), PFX("__sched_", SCHED), EXACT("scheduler_tick", SCHED),
	EXACT("scheduler_ipi", SCHED), EXACT("sysvec_reschedule_ipi", SCHED),
	/* the sched_class methods and their helpers, */
	PFX("pick_next_task", SCHED), PFX("__pick_next_task", SCHED), PFX("pick_task_", SCHED),
	PFX("pick_next_entity", SCHED), PFX("pick_eevdf", SCHED),
	PFX("pick_next_pushable_", SCHED), PFX("put_prev_task", SCHED),
	PFX("put_prev_entity", SCHED), PFX("set_next_task", SCHED), PFX("set_next_entity", SCHED),
	PFX("set_next_buddy", SCHED), PFX("enqueue_task", SCHED), PFX("dequeue_task", SCHED),
	PFX("enqueue_entit", SCHED), PFX("dequeue_entit", SCHED), PFX("__enqueue_entity", SCHED),
	PFX("__dequeue_entity", SCHED), PFX("enqueue_rt_", SCHED), PFX("dequeue_rt_", SCHED),
	PFX("enqueue_dl_", SCHED), PFX("dequeue_dl_", SCHED), PFX("enqueue_top_rt_rq", SCHED),
	PFX("dequeue_top_rt_rq", SCHED), PFX("enqueue_pushable_", SCHED),
	PFX("dequeue_pushable_", SCHED), PFX("requeue_task_", SCHED),
	PFX("select_task_rq", SCHED), PFX("select_idle_", SCHED),
	PFX("select_fallback_rq", SCHED), PFX("check_preempt", SCHED),
	PFX("wakeup_preempt", SCHED), PFX("resched_", SCHED), PFX("task_tick_", SCHED),
	PFX("task_fork_", SCHED), PFX("task_dead_", SCHED), PFX("task_woken_", SCHED),
	PFX("task_change_group_", SCHED), PFX("switched_to_", SCHED),
	PFX("switched_from_", SCHED), PFX("prio_changed_", SCHED), PFX("yield_task_", SCHED),
	PFX("yield_to_task_", SCHED), PFX("rq_online_", SCHED), PFX("rq_offline_", SCHED),
	PFX("rq_attach_root", SCHED), PFX("migrate_task_rq_", SCHED),
	PFX("set_cpus_allowed_", SCHED), PFX("__set_cpus_allowed_", SCHED),
	PFX("do_set_cpus_allowed", SCHED), PFX("get_rr_interval_", SCHED),
	PFX("reweight_task", SCHED), PFX("reweight_entity", SCHED), PFX("set_task_rq_", SCHED),
	PFX("hrtick", SCHED), PFX("place_entity", SCHED), PFX("avg_vruntime", SCHED),
	PFX("entity_eligible", SCHED), PFX("cfs_", SCHED), PFX("dl_server_", SCHED),
	PFX("dl_task_", SCHED), PFX("dl_bw_", SCHED), PFX("cpupri_", SCHED),
	PFX("cpudl_", SCHED), PFX("raw_spin_rq_", SCHED), PFX("__task_rq_lock", SCHED),
	PFX("task_rq_lock", SCHED), PFX("idle_cpu", SCHED), PFX("available_idle_cpu", SCHED),
	SFX("_fair", SCHED),
	/* load tracking and balancing, */
	PFX("update_curr", SCHED), PFX("update_load_avg", SCHED), PFX("__update_load_avg", SCHED),
	PFX("update_cfs_", SCHED), PFX("update_rq_clock", SCHED),
	PFX("update_blocked_averages", SCHED), PFX("update_entity_lag", SCHED),
	PFX("update_min_vruntime", SCHED), PFX("update_tg_load_avg", SCHED),
	PFX("update_dl_", SCHED), PFX("update_rt_rq_", SCHED), PFX("update_irq_load_avg", SCHED),
	PFX("update_other_load_avgs", SCHED), PFX("update_group_capacity", SCHED),
	PFX("update_sd_", SCHED), PFX("update_sg_", SCHED), PFX("update_numa_stats", SCHED),
	EXACT("load_balance", SCHED), PFX("newidle_balance", SCHED),
	PFX("rebalance_domains", SCHED), PFX("run_rebalance_domains", SCHED),
	PFX("active_load_balance", SCHED), PFX("nohz_", SCHED), PFX("find_busiest_", SCHED),
	PFX("find_idlest_", SCHED), PFX("find_later_rq", SCHED), PFX("find_lowest_rq", SCHED),
	PFX("find_lock_later_rq", SCHED), PFX("find_lock_lowest_rq", SCHED),
	PFX("migrate_swap", SCHED), PFX("migration_cpu_stop", SCHED),
	PFX("move_queued_task", SCHED), PFX("__migrate_task", SCHED),
	PFX("affine_move_task", SCHED), PFX("push_rt_task", SCHED), PFX("push_dl_task", SCHED),
	PFX("pull_rt_task", SCHED), PFX("pull_dl_task", SCHED),
	/* wakeups and wait queues, */
	PFX("try_to_wake_up", SCHED), PFX("ttwu_", SCHED), PFX("wake_up_", SCHED),
	PFX("__wake_up", SCHED), PFX("wake_q_", SCHED), PFX("default_wake_function", SCHED),
	PFX("autoremove_wake_function", SCHED), PFX("woken_wake_function", SCHED),
	PFX("prepare_to_wait", SCHED), PFX("finish_wait", SCHED), PFX("add_wait_queue", SCHED),
	PFX("remove_wait_queue", SCHED), PFX("kick_process", SCHED),
	/* context switch, */
	PFX("context_switch", SCHED), PFX("__switch_to", SCHED), PFX("finish_task_switch", SCHED),
	PFX("prepare_task_switch", SCHED), EXACT("switch_mm", SCHED),
	PFX("switch_mm_irqs_off", SCHED),
	/* accounting. */
	PFX("account_system_", SCHED), PFX("account_idle_", SCHED),
	EXACT("account_user_time", SCHED), EXACT("account_guest_time", SCHED),
	EXACT("account_process_tick", SCHED), EXACT("account_steal_time", SCHED),
	PFX("irqtime_account_", SCHED), PFX("cputime_adjust", SCHED), PFX("task_cputime", SCHED),
	PFX("thread_group_cputime", SCHED), PFX("psi_", SCHED), PFX("cpuacct_", SCHED),
	PFX("sugov_", SCHED),
	/* Not the scheduler despite the name. */
	EXACT("schedule_on_each_cpu", OTHER_KERNEL),
	EXACT("schedule_console_callback", OTHER_KERNEL),
	EXACT("schedule_page_work_fn", OTHER_KERNEL), PFX("wake_up_klogd", OTHER_KERNEL),
	EXACT("schedule_flush_migrate_mm", OTHER_KERNEL), PFX("__wake_up_klogd", OTHER_KERNEL),
	PFX("wake_up_and_wait_for_irq_thread", OTHER_KERNEL), EXACT("sched_rq_cmp", BLOCK),

	/* Tracing glue, thunks and section markers: never relabelled from their neighbours. */
	PFX("__traceiter_", OTHER_KERNEL), PFX("__probestub_", OTHER_KERNEL),
	PFX("trace_event_raw_event_", OTHER_KERNEL), PFX("trace_raw_output_", OTHER_KERNEL),
	PFX("perf_trace_", OTHER_KERNEL), PFX("__bpf_trace_", OTHER_KERNEL),
	PFX("__SCT__", OTHER_KERNEL), PFX("__SCK__", OTHER_KERNEL),
	PFX("__x86_indirect_", OTHER_KERNEL), PFX("__x86_return_thunk", OTHER_KERNEL),
	PFX("srso_", OTHER_KERNEL), PFX("retbleed_", OTHER_KERNEL),
	EXACT("_stext", OTHER_KERNEL), EXACT("_text", OTHER_KERNEL), EXACT("_etext", OTHER_KERNEL),
	EXACT("_sinittext", OTHER_KERNEL), EXACT("_einittext", OTHER_KERNEL),
};

/* What a system call wrapper's name says once the wrapper's prefix is gone. */
static const struct ksym_rule syscall_rules[] = {
	EXACT("socket", NET), EXACT("socketpair", NET), EXACT("socketcall", NET),
	EXACT("bind", NET), EXACT("connect", NET), EXACT("listen", NET), EXACT("accept", NET),
	EXACT("accept4", NET), PFX("send", NET), PFX("recv", NET), EXACT("getsockopt", NET),
	EXACT("setsockopt", NET), EXACT("getsockname", NET), EXACT("getpeername", NET),
	EXACT("shutdown", NET),
	EXACT("fsync", BLOCK), EXACT("fdatasync", BLOCK), EXACT("syncfs", BLOCK),
	EXACT("sync", BLOCK), PFX("sync_file_range", BLOCK), EXACT("io_setup", BLOCK),
	EXACT("io_destroy", BLOCK), EXACT("io_submit", BLOCK), EXACT("io_cancel", BLOCK),
	EXACT("io_getevents", BLOCK), PFX("io_pgetevents", BLOCK),
};

/* Stripped so that a function's padding, CFI hash and pv-call thunk land with it. */
static const char *const helper_prefixes[] = { "__pfx_", "__cfi_", "__raw_callee_save_" };

/* System call wrappers of the architectures' entry code and of the generic macros. */
static const char *const syscall_prefixes[] = {
	"__x64_sys_", "__ia32_sys_", "__x64_compat_sys_", "__ia32_compat_sys_", "__arm64_sys_",
	"__arm64_compat_sys_", "__riscv_sys_", "__s390x_sys_", "__se_sys_", "__do_sys_",
	"__se_compat_sys_", "__do_compat_sys_", "__sys_",
};

/*
 * Readiness polls: a VMM's event loop asks its taps and sockets whether they have data many
 * times a second, moving no packet. That is the event loop's cost, not packet processing, so
 * these count as other kernel code wherever they live (the tun driver is often a module).
 */
static const char *const readiness_polls[] = {
	"tun_chr_poll", "tap_poll", "sock_poll", "tcp_poll", "udp_poll", "datagram_poll",
	"unix_poll", "unix_dgram_poll",
};

_Static_assert(ARRAY_LEN(name_rules) <= KSYM_MAX_RULES &&
	       ARRAY_LEN(module_rules) <= KSYM_MAX_RULES &&
	       ARRAY_LEN(syscall_rules) <= KSYM_MAX_RULES, "rule indexes are unsigned short");

const struct ksym_rule_table ksym_module_rules = { module_rules, ARRAY_LEN(module_rules) };
const struct ksym_rule_table ksym_name_rules = { name_rules, ARRAY_LEN(name_rules) };
const struct ksym_rule_table ksym_syscall_rules = { syscall_rules, ARRAY_LEN(syscall_rules) };

const struct ksym_name_list ksym_helper_prefixes = {
	helper_prefixes, ARRAY_LEN(helper_prefixes)
};
const struct ksym_name_list ksym_syscall_prefixes = {
	syscall_prefixes, ARRAY_LEN(syscall_prefixes)
};
const struct ksym_name_list ksym_readiness_polls = {
	readiness_polls, ARRAY_LEN(readiness_polls)
};
