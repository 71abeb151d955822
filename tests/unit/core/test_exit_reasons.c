// SPDX-License-Identifier: GPL-2.0
/* Exit reason names: known codes of both ISAs, unknown codes, VM-entry failures, buffer sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exit_reasons.h"
#include "record.h"

static const char *name(uint32_t isa, uint32_t reason)
{
	static char buf[KT_REASON_MAX];

	return exit_reason_name(isa, reason, buf, sizeof(buf));
}

static void test_vmx_known(void **state)
{
	(void)state;
	assert_string_equal(name(KT_ISA_VMX, 0), "EXCEPTION_NMI");
	assert_string_equal(name(KT_ISA_VMX, 1), "EXTERNAL_INTERRUPT");
	assert_string_equal(name(KT_ISA_VMX, 7), "INTERRUPT_WINDOW");
	assert_string_equal(name(KT_ISA_VMX, 10), "CPUID");
	assert_string_equal(name(KT_ISA_VMX, 12), "HLT");
	assert_string_equal(name(KT_ISA_VMX, 28), "CR_ACCESS");
	assert_string_equal(name(KT_ISA_VMX, 30), "IO_INSTRUCTION");
	assert_string_equal(name(KT_ISA_VMX, 31), "MSR_READ");
	assert_string_equal(name(KT_ISA_VMX, 32), "MSR_WRITE");
	assert_string_equal(name(KT_ISA_VMX, 40), "PAUSE_INSTRUCTION");
	assert_string_equal(name(KT_ISA_VMX, 44), "APIC_ACCESS");
	assert_string_equal(name(KT_ISA_VMX, 48), "EPT_VIOLATION");
	assert_string_equal(name(KT_ISA_VMX, 49), "EPT_MISCONFIG");
	assert_string_equal(name(KT_ISA_VMX, 52), "PREEMPTION_TIMER");
	assert_string_equal(name(KT_ISA_VMX, 56), "APIC_WRITE");
	assert_string_equal(name(KT_ISA_VMX, 74), "BUS_LOCK");
	assert_string_equal(name(KT_ISA_VMX, 75), "NOTIFY");
	assert_string_equal(name(KT_ISA_VMX, 77), "TDCALL");
	assert_string_equal(name(KT_ISA_VMX, 85), "MSR_WRITE_IMM");
}

/* Every basic reason the SDM defines up to 77 has a name; only the reserved ones do not. */
static void test_vmx_table_complete(void **state)
{
	uint32_t r;

	(void)state;
	for (r = 0; r <= 79; r++) {
		bool reserved = r == 35 || r == 38 || r == 42 || r == 71;
		char want[16];

		snprintf(want, sizeof(want), "VMX_%u", r);
		if (reserved)
			assert_string_equal(name(KT_ISA_VMX, r), want);
		else
			assert_string_not_equal(name(KT_ISA_VMX, r), want);
	}
}

static void test_vmx_unknown(void **state)
{
	(void)state;
	assert_string_equal(name(KT_ISA_VMX, 35), "VMX_35");
	assert_string_equal(name(KT_ISA_VMX, 86), "VMX_86");
	assert_string_equal(name(KT_ISA_VMX, 1000), "VMX_1000");
	/* Only the basic reason (low 16 bits) names an exit; bit 27 (enclave) is not part of it. */
	assert_string_equal(name(KT_ISA_VMX, (1u << 27) | 12), "HLT");
	assert_string_equal(name(KT_ISA_VMX, 0x10030), "EPT_VIOLATION");
}

static void test_vmx_entry_failure(void **state)
{
	(void)state;
	assert_string_equal(name(KT_ISA_VMX, 0x80000021), "VMX_ENTRY_FAIL_INVALID_STATE");
	assert_string_equal(name(KT_ISA_VMX, 0x80000022), "VMX_ENTRY_FAIL_MSR_LOAD_FAIL");
	assert_string_equal(name(KT_ISA_VMX, 0x80000029), "VMX_ENTRY_FAIL_MCE_DURING_VMENTRY");
	assert_string_equal(name(KT_ISA_VMX, 0x80000023), "VMX_ENTRY_FAIL_35");
	/* Distinguishable from the plain exit with the same basic reason. */
	assert_string_equal(name(KT_ISA_VMX, 33), "INVALID_STATE");
}

static void test_svm_known(void **state)
{
	(void)state;
	assert_string_equal(name(KT_ISA_SVM, 0x000), "READ_CR0");
	assert_string_equal(name(KT_ISA_SVM, 0x003), "READ_CR3");
	assert_string_equal(name(KT_ISA_SVM, 0x00f), "READ_CR15");
	assert_string_equal(name(KT_ISA_SVM, 0x010), "WRITE_CR0");
	assert_string_equal(name(KT_ISA_SVM, 0x018), "WRITE_CR8");
	assert_string_equal(name(KT_ISA_SVM, 0x027), "READ_DR7");
	assert_string_equal(name(KT_ISA_SVM, 0x037), "WRITE_DR7");
	assert_string_equal(name(KT_ISA_SVM, 0x040), "DE_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x041), "DB_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x046), "UD_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x04d), "GP_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x04e), "PF_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x052), "MC_EXCP");
	assert_string_equal(name(KT_ISA_SVM, 0x049), "EXCP_9");
	assert_string_equal(name(KT_ISA_SVM, 0x05f), "EXCP_31");
	assert_string_equal(name(KT_ISA_SVM, 0x060), "INTR");
	assert_string_equal(name(KT_ISA_SVM, 0x061), "NMI");
	assert_string_equal(name(KT_ISA_SVM, 0x064), "VINTR");
	assert_string_equal(name(KT_ISA_SVM, 0x072), "CPUID");
	assert_string_equal(name(KT_ISA_SVM, 0x077), "PAUSE");
	assert_string_equal(name(KT_ISA_SVM, 0x078), "HLT");
	assert_string_equal(name(KT_ISA_SVM, 0x07b), "IOIO");
	assert_string_equal(name(KT_ISA_SVM, 0x07c), "MSR");
	assert_string_equal(name(KT_ISA_SVM, 0x07f), "SHUTDOWN");
	assert_string_equal(name(KT_ISA_SVM, 0x081), "VMMCALL");
	assert_string_equal(name(KT_ISA_SVM, 0x08d), "XSETBV");
	assert_string_equal(name(KT_ISA_SVM, 0x08e), "RDPRU");
	assert_string_equal(name(KT_ISA_SVM, 0x08f), "EFER_WRITE_TRAP");
	assert_string_equal(name(KT_ISA_SVM, 0x090), "CR0_WRITE_TRAP");
	assert_string_equal(name(KT_ISA_SVM, 0x098), "CR8_WRITE_TRAP");
	assert_string_equal(name(KT_ISA_SVM, 0x0a2), "INVPCID");
	assert_string_equal(name(KT_ISA_SVM, 0x0a5), "BUS_LOCK");
	assert_string_equal(name(KT_ISA_SVM, 0x0a6), "IDLE_HLT");
	assert_string_equal(name(KT_ISA_SVM, 0x400), "NPF");
	assert_string_equal(name(KT_ISA_SVM, 0x401), "AVIC_INCOMPLETE_IPI");
	assert_string_equal(name(KT_ISA_SVM, 0x402), "AVIC_UNACCELERATED_ACCESS");
	assert_string_equal(name(KT_ISA_SVM, 0x403), "VMGEXIT");
	assert_string_equal(name(KT_ISA_SVM, 0x80000001), "VMGEXIT_MMIO_READ");
	assert_string_equal(name(KT_ISA_SVM, 0xf0000000), "SW");
	assert_string_equal(name(KT_ISA_SVM, 0xffffffff), "ERR");
}

static void test_svm_unknown(void **state)
{
	(void)state;
	assert_string_equal(name(KT_ISA_SVM, 0x0a7), "SVM_0xa7");
	assert_string_equal(name(KT_ISA_SVM, 0x0b0), "SVM_0xb0");
	assert_string_equal(name(KT_ISA_SVM, 0x404), "SVM_0x404");
	assert_string_equal(name(KT_ISA_SVM, 0x12345), "SVM_0x12345");
	assert_string_equal(name(KT_ISA_SVM, 0x80000006), "SVM_0x80000006");
}

static void test_unknown_isa(void **state)
{
	(void)state;
	assert_string_equal(name(0, 12), "ISA0_12");
	assert_string_equal(name(4, 4294967295u), "ISA4_4294967295");
}

/* Upstream PVM: vectors in the low bits, kinds above; renumbered kinds keep their number. */
static void test_pvm(void **state)
{
	char isa[16];

	(void)state;
	assert_string_equal(name(KT_ISA_PVM, 14), "PVM_PF_EXCP");
	assert_string_equal(name(KT_ISA_PVM, 13), "PVM_GP_EXCP");
	assert_string_equal(name(KT_ISA_PVM, 0x10000), "PVM_SYSCALL");
	assert_string_equal(name(KT_ISA_PVM, 0x20000), "PVM_HYPERCALL");
	assert_string_equal(name(KT_ISA_PVM, 0x30000), "PVM_ERETU");
	assert_string_equal(name(KT_ISA_PVM, 0x40000), "PVM_KIND4");
	assert_string_equal(name(KT_ISA_PVM, 1025), "PVM_1025");
	assert_string_equal(name(KT_ISA_PVM, 0xffffffffu), "PVM_KIND65535");
	assert_string_equal(exit_isa_name(KT_ISA_PVM, isa, sizeof(isa)), "pvm");
	assert_string_equal(exit_isa_name(KT_ISA_VMX, isa, sizeof(isa)), "vmx");
	assert_string_equal(exit_isa_name(KT_ISA_KVM_STATS, isa, sizeof(isa)), "kvm_stats");
	assert_string_equal(exit_isa_name(9, isa, sizeof(isa)), "9");
}

static void test_buffer_sizes(void **state)
{
	char buf[8];
	const char *ret;

	(void)state;
	ret = exit_reason_name(KT_ISA_VMX, 48, buf, 4);
	assert_ptr_equal(ret, buf);
	assert_string_equal(buf, "EPT");
	memcpy(buf, "xyz", 4);
	ret = exit_reason_name(KT_ISA_SVM, 0x78, buf, 0);
	assert_ptr_equal(ret, buf);
	assert_string_equal(buf, "xyz");
	assert_null(exit_reason_name(KT_ISA_SVM, 0x78, NULL, 0));
}

/* Names go into CSV files and the table: short, unique per ISA, in [A-Z0-9_] (and 0x<hex>). */
static void check_names(uint32_t isa, const uint32_t *codes, size_t n)
{
	char (*names)[KT_REASON_MAX] = calloc(n, KT_REASON_MAX);
	size_t i, j;
	char big[256];

	assert_non_null(names);
	for (i = 0; i < n; i++) {
		exit_reason_name(isa, codes[i], big, sizeof(big));
		assert_true(strlen(big) < KT_REASON_MAX);
		assert_int_equal(strspn(big, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_xabcdef"),
				 strlen(big));
		strcpy(names[i], big);
	}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (!strcmp(names[i], names[j]))
				fail_msg("0x%x and 0x%x are both %s", codes[i], codes[j], names[i]);
		}
	}
	free(names);
}

static void test_names_unique_and_short(void **state)
{
	uint32_t codes[0x600];
	size_t n = 0;
	uint32_t c;

	(void)state;
	for (c = 0; c < 0x100; c++)
		codes[n++] = c;
	for (c = 0; c < 0x100; c++)
		codes[n++] = 0x80000000u | c;
	check_names(KT_ISA_VMX, codes, n);

	n = 0;
	for (c = 0; c < 0x500; c++)
		codes[n++] = c;
	codes[n++] = 0x80000001;
	codes[n++] = 0x8000ffff;
	codes[n++] = 0xf0000000;
	codes[n++] = 0xffffffff;
	check_names(KT_ISA_SVM, codes, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmx_known),
		cmocka_unit_test(test_vmx_table_complete),
		cmocka_unit_test(test_vmx_unknown),
		cmocka_unit_test(test_vmx_entry_failure),
		cmocka_unit_test(test_svm_known),
		cmocka_unit_test(test_svm_unknown),
		cmocka_unit_test(test_unknown_isa),
		cmocka_unit_test(test_pvm),
		cmocka_unit_test(test_buffer_sizes),
		cmocka_unit_test(test_names_unique_and_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
