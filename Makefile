# SPDX-License-Identifier: GPL-2.0
# kvmtrace-bpf: per-VM CPU, guest/hypervisor time and exits from KVM hosts, with eBPF.

OUTPUT ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Where make install puts things (DESTDIR=/tmp/x: a staged tree); the unit gets the binary's
# and the config file's installed paths.
PREFIX ?= /usr
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
VERSION := 0.1.0

CFLAGS ?= -g -O2
WARNINGS := -Wall -Wextra -Werror
# user/ by layer: where data comes from, the interval core, the sinks, the program around them.
USER_LAYERS := sources core sinks program
CPPFLAGS += -I$(OUTPUT) -Ibpf $(addprefix -Iuser/,$(USER_LAYERS)) -D_GNU_SOURCE -DKT_VERSION=\"$(VERSION)\" $(shell $(PKG_CONFIG) --cflags libxml-2.0)
LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf) $(shell $(PKG_CONFIG) --libs libvirt libxml-2.0) $(shell $(PKG_CONFIG) --libs ncursesw) -lcurl -lmicrohttpd -lcap-ng -lelf -lz -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux/$(ARCH) -Ibpf

# BPF objects of the product and of the BPF logic tests; each gets a skeleton in $(OUTPUT).
BPF_PROGS := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
BPF_TEST_PROGS := $(patsubst tests/bpf/%.bpf.c,%,$(wildcard tests/bpf/*.bpf.c))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_PROGS) $(BPF_TEST_PROGS))

# The kallsyms rules are data (user/sources/ksym_rules.txt); their C tables are generated.
KSYM_RULES_C := $(OUTPUT)/gen/ksym_rules.c
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(wildcard user/*/*.c)) \
	$(OUTPUT)/gen/ksym_rules.o
# Everything but main(): linked into the tool and into every unit test.
LIB_OBJS := $(filter-out $(OUTPUT)/user/program/main.o,$(USER_OBJS))

# Unit tests sit in their module's layer folder; their binaries in one folder, for tests/run.sh.
UNIT_TESTS := $(patsubst %.c,$(OUTPUT)/tests/%,$(notdir $(wildcard tests/unit/*/test_*.c)))
vpath test_%.c $(addprefix tests/unit/,$(USER_LAYERS))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(wildcard tests/bpf/test_*.c))

.PHONY: all test unit bench install uninstall clean demo deps soak
.DELETE_ON_ERROR:
# Keep BPF objects between the skeletons and the benchmark that loads them.
.SECONDARY:

all: $(OUTPUT)/kvmtrace-bpf

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	@mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.bpf.o: tests/bpf/%.bpf.c | $(OUTPUT)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(KSYM_RULES_C): scripts/gen-ksym-rules.awk bpf/kvmtrace.h user/sources/ksym_rules.txt
	@mkdir -p $(@D)
	awk -f $^ > $@

$(OUTPUT)/gen/ksym_rules.o: $(KSYM_RULES_C)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP -c $< -o $@

$(OUTPUT)/kvmtrace-bpf: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/test_%: test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP $< $(LIB_OBJS) $(LIBS) -lcmocka -o $@

$(OUTPUT)/tests/%: tests/bpf/%.c $(LIB_OBJS) | $(OUTPUT)/tests $(SKELS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNINGS) -MMD -MP $< $(LIB_OBJS) $(LIBS) -lcmocka -o $@

# With the tests' own VMM, which the end-to-end tests run.
unit: $(UNIT_TESTS) $(BPF_TESTS) $(OUTPUT)/tests/ktvmm

# Unit tests, BPF logic tests (BPF_PROG_TEST_RUN) and end-to-end tests with real QEMU guests.
test: all unit fuzz-quick
	tests/run.sh $(OUTPUT)

bench: all bench-tools
	scripts/bench/bench.py $(OUTPUT)

demo: all
	tests/vm/demo.sh $(OUTPUT)

# Soak test, not part of make test: SOAK_MINUTES (30) of tracing while VMs come and go.
soak: all
	tests/soak/soak.sh $(OUTPUT)

deps:
	scripts/install-deps.sh

# The binary, the systemd unit, the man page, the logrotate snippet and the config file, which
# is never replaced: it holds the administrator's settings.
install: all
	install -D -m 0755 $(OUTPUT)/kvmtrace-bpf $(DESTDIR)$(SBINDIR)/kvmtrace-bpf
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8
	sed -e 's|/usr/sbin/kvmtrace-bpf|$(SBINDIR)/kvmtrace-bpf|' \
	    -e 's|/etc/kvmtrace-bpf.conf|$(SYSCONFDIR)/kvmtrace-bpf.conf|' \
	    dist/kvmtrace-bpf.service >$(DESTDIR)$(UNITDIR)/kvmtrace-bpf.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/kvmtrace-bpf.service
	gzip -n -9 -c dist/kvmtrace-bpf.8 >$(DESTDIR)$(MANDIR)/man8/kvmtrace-bpf.8.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/kvmtrace-bpf.8.gz
	install -D -m 0644 dist/kvmtrace-bpf.logrotate $(DESTDIR)$(LOGROTATEDIR)/kvmtrace-bpf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/kvmtrace-bpf.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/kvmtrace-bpf.conf: it holds your settings"; \
	else \
		install -D -m 0640 dist/kvmtrace-bpf.conf $(DESTDIR)$(SYSCONFDIR)/kvmtrace-bpf.conf; \
	fi

# Everything but the config file, which may hold the administrator's settings.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/kvmtrace-bpf $(DESTDIR)$(UNITDIR)/kvmtrace-bpf.service \
	      $(DESTDIR)$(MANDIR)/man8/kvmtrace-bpf.8.gz $(DESTDIR)$(LOGROTATEDIR)/kvmtrace-bpf
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/kvmtrace-bpf.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/kvmtrace-bpf.conf: remove it by hand if unwanted"; \
	fi

# A Debian package (debian/, debhelper; README "Debian package"): built from a copy of the tree
# in $(OUTPUT)/deb/src (dpkg-buildpackage writes its products to the folder above the tree),
# the .deb copied to $(OUTPUT). The copy leaves out .git, logs, build and $(OUTPUT) (if in here).
.PHONY: deb
deb:
	rm -rf $(OUTPUT)/deb
	mkdir -p $(OUTPUT)/deb/src
	tar -c --exclude=./.git --exclude=./logs --exclude=./build \
	    --exclude=.$(patsubst $(CURDIR)%,%,$(abspath $(OUTPUT))) -f - . | \
	    tar -x -C $(OUTPUT)/deb/src -f -
	cd $(OUTPUT)/deb/src && dpkg-buildpackage -b -us -uc -Jauto
	cp $(OUTPUT)/deb/kvmtrace-bpf_[0-9]*.deb $(OUTPUT)/
	@echo "make deb: $$(ls $(OUTPUT)/kvmtrace-bpf_[0-9]*.deb)"

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/gen/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d)

# The test bed's own VMM (real guest mode on any KVM host) keeps its build rule beside it.
include tests/vm/ktvmm.mk

# Benchmarks (make bench) keep their build rules beside their sources.
-include tests/bench/bench.mk

# Fuzzing of the plug's reply parser: a bounded run in make test, a long one in make fuzz.
-include tests/fuzz/fuzz.mk
