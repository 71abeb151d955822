/* SPDX-License-Identifier: GPL-2.0 */
/* Names of VM exit reasons: VMX basic exit reasons (Intel SDM) and SVM exit codes (AMD APM). */
#ifndef KT_EXIT_REASONS_H
#define KT_EXIT_REASONS_H

#include <stddef.h>
#include <stdint.h>

#define KT_ISA_VMX 1
#define KT_ISA_SVM 2
/* Upstream PVM (software KVM) calls kvm_exit with an ISA of its own. */
#define KT_ISA_PVM 3
/* Not an ISA: exits by the categories of KVM's own statistics (halt_exits, irq_exits, ...). */
#define KT_ISA_KVM_STATS 0x100

/* Writes the reason's name (e.g. "EPT_VIOLATION", "HLT", "NPF") into out; an unknown code
 * becomes "VMX_<dec>" or "SVM_0x<hex>", an unknown isa "ISA<isa>_<dec>". Returns out. */
const char *exit_reason_name(uint32_t isa, uint32_t reason, char *out, size_t len);

/* The exits file's isa column: "vmx", "svm", "pvm", "kvm_stats", else the number. Returns out. */
const char *exit_isa_name(uint32_t isa, char *out, size_t len);

#endif /* KT_EXIT_REASONS_H */
