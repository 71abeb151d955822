// SPDX-License-Identifier: GPL-2.0
/* The classification rules, symbol by symbol: built-in names, then modules (rules 1 and 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "components.h"
#include "ksym_classify.h"

struct expect {
	const char *name;
	enum kt_component comp;
};

static void check_names(const struct expect *e, size_t n, const char *module)
{
	size_t i;

	for (i = 0; i < n; i++) {
		enum kt_component got = ksym_classify(e[i].name, module);

		if (got != e[i].comp)
			fail_msg("%s [%s]: %s, want %s", e[i].name, module ? module : "",
				 component_name(got), component_name(e[i].comp));
	}
}

static void test_classify_builtin(void **state)
{
	static const struct expect names[] = {
		/* KVM, and its guest side, which is not the hypervisor. */
		{ "kvm_arch_vcpu_ioctl_run", KT_COMP_KVM },
		{ "__kvm_set_memory_region", KT_COMP_KVM },
		{ "vmx_vcpu_run", KT_COMP_KVM },
		{ "__vmx_vcpu_run", KT_COMP_KVM },
		{ "svm_vcpu_run", KT_COMP_KVM },
		{ "vcpu_enter_guest", KT_COMP_KVM },
		{ "nested_vmx_run", KT_COMP_KVM },
		{ "x86_emulate_instruction", KT_COMP_KVM },
		{ "em_mov", KT_COMP_KVM },
		{ "complete_emulated_mmio", KT_COMP_KVM },
		{ "kvm_x86_ops_update.cold", KT_COMP_KVM },
		{ "kvm_sched_clock_read", KT_COMP_OTHER_KERNEL },
		{ "kvm_wait", KT_COMP_OTHER_KERNEL },
		{ "kvm_wait_lapic_expire", KT_COMP_KVM },
		{ "em_cpu_get", KT_COMP_OTHER_KERNEL },
		{ "nested_table_alloc", KT_COMP_OTHER_KERNEL },
		{ "mmu_notifier_register", KT_COMP_OTHER_KERNEL },
		{ "mmu_spte_update", KT_COMP_KVM },
		{ "pvm_determine_end_from_reverse", KT_COMP_OTHER_KERNEL },
		{ "pvm_irq_enable", KT_COMP_OTHER_KERNEL },
		{ "tun_chr_poll", KT_COMP_OTHER_KERNEL },	/* readiness, no packet */
		{ "tun_chr_read_iter", KT_COMP_TAP },
		{ "unix_stream_sendmsg", KT_COMP_OTHER_KERNEL },
		{ "tcp_poll", KT_COMP_OTHER_KERNEL },
		{ "pvm_save_fl", KT_COMP_OTHER_KERNEL },
		{ "pvm_vcpu_run", KT_COMP_KVM },
		/* vhost, tun/tap and their lookalikes. */
		{ "vhost_task_fn", KT_COMP_VHOST },
		{ "vhost_worker", KT_COMP_VHOST },
		{ "tun_get_user", KT_COMP_TAP },
		{ "__tun_chr_ioctl", KT_COMP_TAP },
		{ "tun_chr_write_iter", KT_COMP_TAP },
		{ "tap_get_user", KT_COMP_TAP },
		{ "tune_lru_gen", KT_COMP_OTHER_KERNEL },
		{ "tunnel_key_act", KT_COMP_OTHER_KERNEL },
		{ "taprio_enqueue", KT_COMP_OTHER_KERNEL },
		{ "tun_dst_unclone", KT_COMP_NET },
		/* The bridge, not everything that starts with br. */
		{ "br_handle_frame", KT_COMP_BRIDGE },
		{ "__br_forward", KT_COMP_BRIDGE },
		{ "nbp_backup_change", KT_COMP_BRIDGE },
		{ "br_fdb_update", KT_COMP_BRIDGE },
		{ "break_ksm", KT_COMP_OTHER_KERNEL },
		{ "bringup_cpu", KT_COMP_OTHER_KERNEL },
		{ "__brelse", KT_COMP_BLOCK },
		/* The network stack. */
		{ "netif_receive_skb", KT_COMP_NET },
		{ "__netif_receive_skb_core.constprop.0", KT_COMP_NET },
		{ "napi_gro_receive", KT_COMP_NET },
		{ "net_rx_action", KT_COMP_NET },
		{ "__dev_queue_xmit", KT_COMP_NET },
		{ "dev_hard_start_xmit", KT_COMP_NET },
		{ "sch_direct_xmit", KT_COMP_NET },
		{ "skb_copy_bits", KT_COMP_NET },
		{ "__skb_datagram_iter", KT_COMP_NET },
		{ "sk_reset_timer", KT_COMP_NET },
		{ "kfree_skb_reason", KT_COMP_NET },
		{ "consume_skb", KT_COMP_NET },
		{ "tcp_sendmsg", KT_COMP_NET },
		{ "ip_rcv", KT_COMP_NET },
		{ "ip6_finish_output2", KT_COMP_NET },
		{ "nf_hook_slow", KT_COMP_NET },
		{ "virtnet_poll", KT_COMP_NET },
		{ "raw_sendmsg", KT_COMP_NET },
		{ "raw_spin_rq_lock_nested", KT_COMP_SCHED },
		{ "raw_notifier_call_chain", KT_COMP_OTHER_KERNEL },
		{ "dev_set_name", KT_COMP_OTHER_KERNEL },
		{ "ip6_addr_string", KT_COMP_OTHER_KERNEL },
		{ "ipi_send_mask", KT_COMP_OTHER_KERNEL },
		{ "skip_spaces", KT_COMP_OTHER_KERNEL },
		/* Storage. */
		{ "blk_mq_submit_bio", KT_COMP_BLOCK },
		{ "submit_bio_noacct", KT_COMP_BLOCK },
		{ "bio_endio", KT_COMP_BLOCK },
		{ "ext4_file_write_iter", KT_COMP_BLOCK },
		{ "jbd2_journal_commit_transaction", KT_COMP_BLOCK },
		{ "iomap_dio_rw", KT_COMP_BLOCK },
		{ "generic_perform_write", KT_COMP_BLOCK },
		{ "filemap_read", KT_COMP_BLOCK },
		{ "filemap_fault", KT_COMP_OTHER_KERNEL },
		{ "filemap_readahead.isra.0", KT_COMP_OTHER_KERNEL },
		{ "loop_queue_rq", KT_COMP_BLOCK },
		{ "loop_rw_iter", KT_COMP_OTHER_KERNEL },
		{ "add_disk_randomness", KT_COMP_OTHER_KERNEL },
		{ "csum_tree_block", KT_COMP_BLOCK },
		{ "csum_partial", KT_COMP_NET },
		/* The scheduler, and names that only look like it. */
		{ "schedule", KT_COMP_SCHED },
		{ "__schedule", KT_COMP_SCHED },
		{ "schedule_timeout", KT_COMP_SCHED },
		{ "preempt_schedule_irq", KT_COMP_SCHED },
		{ "scheduler_tick", KT_COMP_SCHED },
		{ "sched_tick", KT_COMP_SCHED },
		{ "pick_next_task_fair", KT_COMP_SCHED },
		{ "enqueue_task_rt", KT_COMP_SCHED },
		{ "dequeue_task_dl", KT_COMP_SCHED },
		{ "task_tick_idle", KT_COMP_SCHED },
		{ "check_preempt_wakeup_fair", KT_COMP_SCHED },
		{ "update_load_avg", KT_COMP_SCHED },
		{ "__update_load_avg_se", KT_COMP_SCHED },
		{ "try_to_wake_up", KT_COMP_SCHED },
		{ "ttwu_do_activate", KT_COMP_SCHED },
		{ "__wake_up_common", KT_COMP_SCHED },
		{ "finish_task_switch.isra.0", KT_COMP_SCHED },
		{ "__switch_to_asm", KT_COMP_SCHED },
		{ "psi_task_change", KT_COMP_SCHED },
		{ "sched_balance_rq", KT_COMP_SCHED },
		{ "load_balance", KT_COMP_SCHED },
		{ "schedule_on_each_cpu", KT_COMP_OTHER_KERNEL },
		{ "__schedule_delayed_monitor_work", KT_COMP_OTHER_KERNEL },
		{ "wake_up_klogd", KT_COMP_OTHER_KERNEL },
		{ "ip6_del_rt", KT_COMP_NET },
		{ "rt_mutex_lock", KT_COMP_OTHER_KERNEL },
		{ "balance_dirty_pages", KT_COMP_BLOCK },
		{ "sched_rq_cmp", KT_COMP_BLOCK },
		/* Helper prefixes and system call wrappers. */
		{ "__pfx_tcp_sendmsg", KT_COMP_NET },
		{ "__cfi_vhost_worker", KT_COMP_VHOST },
		{ "__x64_sys_sendmsg", KT_COMP_NET },
		{ "__ia32_sys_recvfrom", KT_COMP_NET },
		{ "__sys_socket", KT_COMP_NET },
		{ "__x64_sys_sched_yield", KT_COMP_SCHED },
		{ "__do_sys_fsync", KT_COMP_BLOCK },
		{ "__x64_sys_io_submit", KT_COMP_BLOCK },
		{ "__x64_sys_read", KT_COMP_OTHER_KERNEL },
		{ "__x64_sys_kill", KT_COMP_OTHER_KERNEL },
		/* Explicitly other: tracing glue, thunks, markers. */
		{ "__traceiter_kvm_exit", KT_COMP_OTHER_KERNEL },
		{ "trace_event_raw_event_sched_switch", KT_COMP_OTHER_KERNEL },
		{ "perf_trace_net_dev_xmit", KT_COMP_OTHER_KERNEL },
		{ "__bpf_trace_kvm_entry", KT_COMP_OTHER_KERNEL },
		{ "__x86_indirect_thunk_rax", KT_COMP_OTHER_KERNEL },
		{ "_stext", KT_COMP_OTHER_KERNEL },
		/* Degenerate names. */
		{ "", KT_COMP_OTHER_KERNEL },
		{ ".cold", KT_COMP_OTHER_KERNEL },
		{ "__pfx_", KT_COMP_OTHER_KERNEL },
		{ "__x64_sys_", KT_COMP_OTHER_KERNEL },
	};

	(void)state;
	check_names(names, sizeof(names) / sizeof(names[0]), NULL);
	/* An empty module is built-in code. */
	assert_int_equal(ksym_classify("tcp_sendmsg", ""), KT_COMP_NET);
}

static void test_classify_modules(void **state)
{
	static const struct {
		const char *module;
		enum kt_component comp;
	} modules[] = {
		{ "kvm", KT_COMP_KVM }, { "kvm_intel", KT_COMP_KVM }, { "kvm_amd", KT_COMP_KVM },
		{ "vhost", KT_COMP_VHOST }, { "vhost_net", KT_COMP_VHOST },
		{ "vhost_vsock", KT_COMP_VHOST }, { "vhost_iotlb", KT_COMP_VHOST },
		{ "tun", KT_COMP_TAP }, { "tap", KT_COMP_TAP }, { "macvtap", KT_COMP_TAP },
		{ "bridge", KT_COMP_BRIDGE }, { "br_netfilter", KT_COMP_BRIDGE },
		{ "virtio_net", KT_COMP_NET }, { "e1000e", KT_COMP_NET }, { "ixgbe", KT_COMP_NET },
		{ "mlx5_core", KT_COMP_NET }, { "macvlan", KT_COMP_NET },
		{ "nf_conntrack", KT_COMP_NET }, { "nft_chain_nat", KT_COMP_NET },
		{ "xt_MASQUERADE", KT_COMP_NET }, { "iptable_nat", KT_COMP_NET },
		{ "ip6_tables", KT_COMP_NET }, { "ebtable_filter", KT_COMP_NET },
		{ "ebtables", KT_COMP_NET }, { "openvswitch", KT_COMP_NET },
		{ "8021q", KT_COMP_NET },
		{ "llc", KT_COMP_NET }, { "stp", KT_COMP_NET }, { "ipv6", KT_COMP_NET },
		{ "sch_fq_codel", KT_COMP_NET }, { "veth", KT_COMP_NET },
		{ "virtio_blk", KT_COMP_BLOCK }, { "nvme", KT_COMP_BLOCK },
		{ "nvme_core", KT_COMP_BLOCK }, { "dm_mod", KT_COMP_BLOCK },
		{ "dm_crypt", KT_COMP_BLOCK }, { "raid456", KT_COMP_BLOCK },
		{ "ext4", KT_COMP_BLOCK }, { "xfs", KT_COMP_BLOCK }, { "jbd2", KT_COMP_BLOCK },
		{ "overlay", KT_COMP_BLOCK }, { "fuse", KT_COMP_BLOCK },
		{ "sd_mod", KT_COMP_BLOCK },
		{ "i2c_piix4", KT_COMP_OTHER_KERNEL }, { "snd_hda_intel", KT_COMP_OTHER_KERNEL },
		{ "bpf", KT_COMP_OTHER_KERNEL }, { "__builtin__ftrace", KT_COMP_OTHER_KERNEL },
		{ "kvmgt", KT_COMP_OTHER_KERNEL }, { "tunnel_key", KT_COMP_OTHER_KERNEL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		enum kt_component got = ksym_classify("some_function", modules[i].module);

		if (got != modules[i].comp)
			fail_msg("[%s]: %s, want %s", modules[i].module, component_name(got),
				 component_name(modules[i].comp));
	}
	/* The module decides, whatever the symbol says. */
	assert_int_equal(ksym_classify("tcp_sendmsg", "kvm"), KT_COMP_KVM);
	assert_int_equal(ksym_classify("kvm_vcpu_ioctl", "i2c_piix4"), KT_COMP_OTHER_KERNEL);
	assert_int_equal(ksym_classify("start_xmit", "virtio_net"), KT_COMP_NET);
	/* A readiness poll is the event loop's, in a module too. */
	assert_int_equal(ksym_classify("tun_chr_poll", "tun"), KT_COMP_OTHER_KERNEL);
	assert_int_equal(ksym_classify("tun_get_user", "tun"), KT_COMP_TAP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_builtin),
		cmocka_unit_test(test_classify_modules),
	};

	return cmocka_run_group_tests_name("ksym_rules", tests, NULL, NULL);
}
