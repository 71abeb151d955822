// SPDX-License-Identifier: GPL-2.0
/*
 * Names of VM exit reasons. VMX names follow Linux's VMX_EXIT_REASONS (uapi/asm/vmx.h), with
 * names of our own for the few SDM reasons Linux does not list. SVM names are the suffixes of
 * Linux's SVM_EXIT_* macros (uapi/asm/svm.h), upper-cased, so both ISAs read alike ("HLT",
 * "IOIO", "NPF"). These strings end up in CSV files: never rename one.
 */
#include <stdio.h>

#include "exit_reasons.h"

/* Bit 31 of the VMX exit reason: the VM entry failed; the low 16 bits say why. */
#define VMX_ENTRY_FAILURE	0x80000000u
#define VMX_BASIC_MASK		0xffffu

/* Intel SDM vol. 3, appendix C, "VMX Basic Exit Reasons". */
static const char *const vmx_names[] = {
	[0] = "EXCEPTION_NMI",
	[1] = "EXTERNAL_INTERRUPT",
	[2] = "TRIPLE_FAULT",
	[3] = "INIT_SIGNAL",
	[4] = "SIPI_SIGNAL",
	[5] = "IO_SMI",
	[6] = "OTHER_SMI",
	[7] = "INTERRUPT_WINDOW",
	[8] = "NMI_WINDOW",
	[9] = "TASK_SWITCH",
	[10] = "CPUID",
	[11] = "GETSEC",
	[12] = "HLT",
	[13] = "INVD",
	[14] = "INVLPG",
	[15] = "RDPMC",
	[16] = "RDTSC",
	[17] = "RSM",
	[18] = "VMCALL",
	[19] = "VMCLEAR",
	[20] = "VMLAUNCH",
	[21] = "VMPTRLD",
	[22] = "VMPTRST",
	[23] = "VMREAD",
	[24] = "VMRESUME",
	[25] = "VMWRITE",
	[26] = "VMOFF",
	[27] = "VMON",
	[28] = "CR_ACCESS",
	[29] = "DR_ACCESS",
	[30] = "IO_INSTRUCTION",
	[31] = "MSR_READ",
	[32] = "MSR_WRITE",
	[33] = "INVALID_STATE",
	[34] = "MSR_LOAD_FAIL",
	[36] = "MWAIT_INSTRUCTION",
	[37] = "MONITOR_TRAP_FLAG",
	[39] = "MONITOR_INSTRUCTION",
	[40] = "PAUSE_INSTRUCTION",
	[41] = "MCE_DURING_VMENTRY",
	[43] = "TPR_BELOW_THRESHOLD",
	[44] = "APIC_ACCESS",
	[45] = "EOI_INDUCED",
	[46] = "GDTR_IDTR",
	[47] = "LDTR_TR",
	[48] = "EPT_VIOLATION",
	[49] = "EPT_MISCONFIG",
	[50] = "INVEPT",
	[51] = "RDTSCP",
	[52] = "PREEMPTION_TIMER",
	[53] = "INVVPID",
	[54] = "WBINVD",
	[55] = "XSETBV",
	[56] = "APIC_WRITE",
	[57] = "RDRAND",
	[58] = "INVPCID",
	[59] = "VMFUNC",
	[60] = "ENCLS",
	[61] = "RDSEED",
	[62] = "PML_FULL",
	[63] = "XSAVES",
	[64] = "XRSTORS",
	[65] = "PCONFIG",
	[66] = "SPP_EVENT",
	[67] = "UMWAIT",
	[68] = "TPAUSE",
	[69] = "LOADIWKEY",
	[70] = "ENCLV",
	[72] = "ENQCMD_PASID_FAIL",
	[73] = "ENQCMDS_PASID_FAIL",
	[74] = "BUS_LOCK",
	[75] = "NOTIFY",
	[76] = "SEAMCALL",
	[77] = "TDCALL",
	[78] = "RDMSRLIST",
	[79] = "WRMSRLIST",
	[84] = "MSR_READ_IMM",
	[85] = "MSR_WRITE_IMM",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* SVM codes 0x060..0x0af (AMD APM vol. 2, appendix C); 0x090..0x09f are filled in by code. */
#define SVM_DENSE_BASE	0x060u
static const char *const svm_dense[] = {
	[0x060 - SVM_DENSE_BASE] = "INTR",
	[0x061 - SVM_DENSE_BASE] = "NMI",
	[0x062 - SVM_DENSE_BASE] = "SMI",
	[0x063 - SVM_DENSE_BASE] = "INIT",
	[0x064 - SVM_DENSE_BASE] = "VINTR",
	[0x065 - SVM_DENSE_BASE] = "CR0_SEL_WRITE",
	[0x066 - SVM_DENSE_BASE] = "IDTR_READ",
	[0x067 - SVM_DENSE_BASE] = "GDTR_READ",
	[0x068 - SVM_DENSE_BASE] = "LDTR_READ",
	[0x069 - SVM_DENSE_BASE] = "TR_READ",
	[0x06a - SVM_DENSE_BASE] = "IDTR_WRITE",
	[0x06b - SVM_DENSE_BASE] = "GDTR_WRITE",
	[0x06c - SVM_DENSE_BASE] = "LDTR_WRITE",
	[0x06d - SVM_DENSE_BASE] = "TR_WRITE",
	[0x06e - SVM_DENSE_BASE] = "RDTSC",
	[0x06f - SVM_DENSE_BASE] = "RDPMC",
	[0x070 - SVM_DENSE_BASE] = "PUSHF",
	[0x071 - SVM_DENSE_BASE] = "POPF",
	[0x072 - SVM_DENSE_BASE] = "CPUID",
	[0x073 - SVM_DENSE_BASE] = "RSM",
	[0x074 - SVM_DENSE_BASE] = "IRET",
	[0x075 - SVM_DENSE_BASE] = "SWINT",
	[0x076 - SVM_DENSE_BASE] = "INVD",
	[0x077 - SVM_DENSE_BASE] = "PAUSE",
	[0x078 - SVM_DENSE_BASE] = "HLT",
	[0x079 - SVM_DENSE_BASE] = "INVLPG",
	[0x07a - SVM_DENSE_BASE] = "INVLPGA",
	[0x07b - SVM_DENSE_BASE] = "IOIO",
	[0x07c - SVM_DENSE_BASE] = "MSR",
	[0x07d - SVM_DENSE_BASE] = "TASK_SWITCH",
	[0x07e - SVM_DENSE_BASE] = "FERR_FREEZE",
	[0x07f - SVM_DENSE_BASE] = "SHUTDOWN",
	[0x080 - SVM_DENSE_BASE] = "VMRUN",
	[0x081 - SVM_DENSE_BASE] = "VMMCALL",
	[0x082 - SVM_DENSE_BASE] = "VMLOAD",
	[0x083 - SVM_DENSE_BASE] = "VMSAVE",
	[0x084 - SVM_DENSE_BASE] = "STGI",
	[0x085 - SVM_DENSE_BASE] = "CLGI",
	[0x086 - SVM_DENSE_BASE] = "SKINIT",
	[0x087 - SVM_DENSE_BASE] = "RDTSCP",
	[0x088 - SVM_DENSE_BASE] = "ICEBP",
	[0x089 - SVM_DENSE_BASE] = "WBINVD",
	[0x08a - SVM_DENSE_BASE] = "MONITOR",
	[0x08b - SVM_DENSE_BASE] = "MWAIT",
	[0x08c - SVM_DENSE_BASE] = "MWAIT_COND",
	[0x08d - SVM_DENSE_BASE] = "XSETBV",
	[0x08e - SVM_DENSE_BASE] = "RDPRU",
	[0x08f - SVM_DENSE_BASE] = "EFER_WRITE_TRAP",
	[0x0a0 - SVM_DENSE_BASE] = "INVLPGB",
	[0x0a1 - SVM_DENSE_BASE] = "INVLPGB_ILLEGAL",
	[0x0a2 - SVM_DENSE_BASE] = "INVPCID",
	[0x0a3 - SVM_DENSE_BASE] = "MCOMMIT",
	[0x0a4 - SVM_DENSE_BASE] = "TLBSYNC",
	[0x0a5 - SVM_DENSE_BASE] = "BUS_LOCK",
	[0x0a6 - SVM_DENSE_BASE] = "IDLE_HLT",
};

/* Sparse SVM codes: nested paging, AVIC, SEV-ES, and the software-defined ones. */
static const struct {
	uint32_t code;
	const char *name;
} svm_sparse[] = {
	{ 0x400, "NPF" },
	{ 0x401, "AVIC_INCOMPLETE_IPI" },
	{ 0x402, "AVIC_UNACCELERATED_ACCESS" },
	{ 0x403, "VMGEXIT" },
	{ 0x407, "PML_FULL" },
	/* SEV-ES GHCB exit codes, which Linux's table also names. */
	{ 0x80000001, "VMGEXIT_MMIO_READ" },
	{ 0x80000002, "VMGEXIT_MMIO_WRITE" },
	{ 0x80000003, "VMGEXIT_NMI_COMPLETE" },
	{ 0x80000004, "VMGEXIT_AP_HLT_LOOP" },
	{ 0x80000005, "VMGEXIT_AP_JUMP_TABLE" },
	{ 0x80000010, "VMGEXIT_PSC" },
	{ 0x80000011, "VMGEXIT_GUEST_REQUEST" },
	{ 0x80000012, "VMGEXIT_EXT_GUEST_REQUEST" },
	{ 0x80000013, "VMGEXIT_AP_CREATION" },
	{ 0x80000018, "VMGEXIT_SNP_RUN_VMPL" },
	{ 0x8000fffd, "VMGEXIT_HV_FEATURES" },
	{ 0x8000fffe, "VMGEXIT_TERM_REQUEST" },
	{ 0x8000ffff, "VMGEXIT_UNSUPPORTED_EVENT" },
	{ 0xf0000000, "SW" },
	/* VMEXIT_INVALID (-1): VMRUN found the guest state invalid. */
	{ 0xffffffff, "ERR" },
};

/* Exception vectors of the SVM exception intercepts 0x040 + vector. */
static const char *const x86_vectors[32] = {
	[0] = "DE", [1] = "DB", [2] = "NMI", [3] = "BP", [4] = "OF", [5] = "BR", [6] = "UD",
	[7] = "NM", [8] = "DF", [10] = "TS", [11] = "NP", [12] = "SS", [13] = "GP", [14] = "PF",
	[16] = "MF", [17] = "AC", [18] = "MC", [19] = "XF", [20] = "VE", [21] = "CP",
	[28] = "HV", [29] = "VC", [30] = "SX",
};

static const char *vmx_name(uint32_t basic)
{
	return basic < ARRAY_SIZE(vmx_names) ? vmx_names[basic] : NULL;
}

/* Writes the SVM name into out; returns 0, or -1 when the code has no name. */
static int svm_name(uint32_t code, char *out, size_t len)
{
	const char *name = NULL;
	size_t i;

	/* Ranges with one code per register or vector: name them from the number. */
	if (code < 0x010) {
		snprintf(out, len, "READ_CR%u", code);
	} else if (code < 0x020) {
		snprintf(out, len, "WRITE_CR%u", code - 0x010);
	} else if (code < 0x030) {
		snprintf(out, len, "READ_DR%u", code - 0x020);
	} else if (code < 0x040) {
		snprintf(out, len, "WRITE_DR%u", code - 0x030);
	} else if (code < 0x060) {
		if (x86_vectors[code - 0x040])
			snprintf(out, len, "%s_EXCP", x86_vectors[code - 0x040]);
		else
			snprintf(out, len, "EXCP_%u", code - 0x040);
	} else if (code >= 0x090 && code < 0x0a0) {
		snprintf(out, len, "CR%u_WRITE_TRAP", code - 0x090);
	} else {
		if (code - SVM_DENSE_BASE < ARRAY_SIZE(svm_dense))
			name = svm_dense[code - SVM_DENSE_BASE];
		for (i = 0; !name && i < ARRAY_SIZE(svm_sparse); i++) {
			if (svm_sparse[i].code == code)
				name = svm_sparse[i].name;
		}
		if (!name)
			return -1;
		snprintf(out, len, "%s", name);
	}
	return 0;
}

/*
 * Upstream PVM's reasons: an exception vector in the low 16 bits, or a kind in the upper bits.
 * Kinds 1-3 (SYSCALL, HYPERCALL, ERETU) are the same in every version of that tree; later
 * kinds were renumbered between versions, so they keep their number rather than risk a wrong
 * name.
 */
#define PVM_KIND_SHIFT		16
#define PVM_VECTOR_MASK		0xffffu

static const char *const pvm_kinds[] = { [1] = "SYSCALL", [2] = "HYPERCALL", [3] = "ERETU" };

static void pvm_name(uint32_t reason, char *out, size_t len)
{
	uint32_t kind = reason >> PVM_KIND_SHIFT, vector = reason & PVM_VECTOR_MASK;

	if (kind && kind < ARRAY_SIZE(pvm_kinds) && pvm_kinds[kind])
		snprintf(out, len, "PVM_%s", pvm_kinds[kind]);
	else if (kind)
		snprintf(out, len, "PVM_KIND%u", kind);
	else if (vector < ARRAY_SIZE(x86_vectors) && x86_vectors[vector])
		snprintf(out, len, "PVM_%s_EXCP", x86_vectors[vector]);
	else
		snprintf(out, len, "PVM_%u", vector);
}

const char *exit_isa_name(uint32_t isa, char *out, size_t len)
{
	static const char *const names[] = { [KT_ISA_VMX] = "vmx", [KT_ISA_SVM] = "svm",
					     [KT_ISA_PVM] = "pvm" };

	if (isa == KT_ISA_KVM_STATS)
		snprintf(out, len, "kvm_stats");
	else if (isa < ARRAY_SIZE(names) && names[isa])
		snprintf(out, len, "%s", names[isa]);
	else
		snprintf(out, len, "%u", isa);
	return out;
}

const char *exit_reason_name(uint32_t isa, uint32_t reason, char *out, size_t len)
{
	if (!out || !len)
		return out;

	if (isa == KT_ISA_VMX) {
		uint32_t basic = reason & VMX_BASIC_MASK;
		const char *name = vmx_name(basic);
		/* A failed entry is not an exit the guest caused: keep it apart in the stats. */
		const char *fail = (reason & VMX_ENTRY_FAILURE) ? "VMX_ENTRY_FAIL_" : "";

		if (name)
			snprintf(out, len, "%s%s", fail, name);
		else if (*fail)
			snprintf(out, len, "%s%u", fail, basic);
		else
			snprintf(out, len, "VMX_%u", basic);
	} else if (isa == KT_ISA_SVM) {
		if (svm_name(reason, out, len))
			snprintf(out, len, "SVM_0x%x", reason);
	} else if (isa == KT_ISA_PVM) {
		pvm_name(reason, out, len);
	} else {
		snprintf(out, len, "ISA%u_%u", isa, reason);
	}
	return out;
}
