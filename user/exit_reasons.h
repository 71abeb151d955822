/* SPDX-License-Identifier: GPL-2.0 */
/* Names of VM exit reasons: VMX basic exit reasons (Intel SDM) and SVM exit codes (AMD APM). */
#ifndef KT_EXIT_REASONS_H
#define KT_EXIT_REASONS_H

#include <stddef.h>
#include <stdint.h>

#define KT_ISA_VMX 1
#define KT_ISA_SVM 2

/* Writes the reason's name (e.g. "EPT_VIOLATION", "HLT", "NPF") into out; an unknown code
 * becomes "VMX_<dec>" or "SVM_0x<hex>", an unknown isa "ISA<isa>_<dec>". Returns out. */
const char *exit_reason_name(uint32_t isa, uint32_t reason, char *out, size_t len);

#endif /* KT_EXIT_REASONS_H */
