# SPDX-License-Identifier: GPL-2.0
# Build rules of the benchmark's helper programs (make bench-tools); included by the top
# Makefile, whose variables (CLANG, BPF_CFLAGS, BPFTOOL, CC, CFLAGS, WARNINGS, CPPFLAGS, LIBS,
# OUTPUT) they use. The benchmark itself, scripts/bench/bench.py (make bench), runs them.
# Everything goes to $(OUTPUT)/bench; the rules are explicit so that the Makefile's pattern
# rules for $(OUTPUT)/%.skel.h do not apply here.

BENCH_OUT := $(OUTPUT)/bench

.PHONY: bench-tools
bench-tools: $(BENCH_OUT)/empty_loader $(BENCH_OUT)/tap_fwd $(BENCH_OUT)/spin \
	$(BENCH_OUT)/kvm_cost

$(BENCH_OUT):
	@mkdir -p $@

# The floor of the hooks and of the sampler: empty programs, and their one loader.
$(BENCH_OUT)/empty.bpf.o: tests/bench/empty.bpf.c | $(BENCH_OUT)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_OUT)/bench_empty.skel.h: $(BENCH_OUT)/empty.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_empty > $@

$(BENCH_OUT)/empty_loader.o: tests/bench/empty_loader.c $(BENCH_OUT)/bench_empty.skel.h
	$(CC) $(CPPFLAGS) -I$(BENCH_OUT) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(BENCH_OUT)/empty_loader: $(BENCH_OUT)/empty_loader.o
	$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# The cost per VM exit of the kvm handlers, and of reading KVM's statistics instead.
$(BENCH_OUT)/kvm_cost.bpf.o: tests/bench/kvm_cost.bpf.c | $(BENCH_OUT)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_OUT)/bench_kvm_cost.skel.h: $(BENCH_OUT)/kvm_cost.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_kvm_cost > $@

$(BENCH_OUT)/kvm_cost.o: tests/bench/kvm_cost.c $(BENCH_OUT)/bench_kvm_cost.skel.h
	$(CC) $(CPPFLAGS) -I$(BENCH_OUT) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(BENCH_OUT)/kvm_cost: $(BENCH_OUT)/kvm_cost.o $(OUTPUT)/user/sources/kvmstats.o \
	$(OUTPUT)/user/program/cli_values.o $(OUTPUT)/user/sources/perf_events.o \
	$(OUTPUT)/user/sources/perf_names.o $(OUTPUT)/user/program/log.o
	$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# The pretend VM's network backend: plain C, no BPF.
$(BENCH_OUT)/tap_fwd: tests/bench/tap_fwd.c | $(BENCH_OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -pthread -MMD -MP $< -o $@

# The CPU-bound loop of the sampler part: plain C, no BPF.
$(BENCH_OUT)/spin: tests/bench/spin.c | $(BENCH_OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP $< -o $@

-include $(wildcard $(BENCH_OUT)/*.d)
