# SPDX-License-Identifier: GPL-2.0
# Build rule of ktvmm (tests/vm/ktvmm.c), the tests' own minimal VMM: plain C against
# linux/kvm.h, neither BPF nor the project's library. Included by the top Makefile, whose
# OUTPUT, CC, CFLAGS and WARNINGS it uses; its dependency file lands in $(OUTPUT)/tests,
# which the Makefile already includes.

$(OUTPUT)/tests/ktvmm: tests/vm/ktvmm.c | $(OUTPUT)/tests
	$(CC) $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -MMD -MP $< -o $@ -lpthread
