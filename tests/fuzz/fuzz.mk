# SPDX-License-Identifier: GPL-2.0
# Fuzzing of the plug's reply parser (libFuzzer with ASan and LSan); included by the top
# Makefile, whose OUTPUT, CLANG and PKG_CONFIG it uses (with the same defaults when used alone).
#   make fuzz-quick   a bounded run for make test: FUZZ_QUICK_RUNS inputs, at most
#                     FUZZ_QUICK_TIME seconds
#   make fuzz         a long run: FUZZ_TIME seconds (default 10 minutes)
# The corpus grows in $(OUTPUT)/fuzz/corpus between runs; crashes land in $(OUTPUT)/fuzz/ as
# crash-* files, to replay with $(OUTPUT)/fuzz/fuzz_edimax FILE.

OUTPUT ?= build
CLANG ?= clang
PKG_CONFIG ?= pkg-config
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_QUICK_RUNS ?= 200000
FUZZ_QUICK_TIME ?= 30
FUZZ_TIME ?= 600
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address -fno-omit-frame-pointer -D_GNU_SOURCE \
	-Iuser/sources -Ibpf $(shell $(PKG_CONFIG) --cflags libxml-2.0)
FUZZ_LIBS := $(shell $(PKG_CONFIG) --libs libxml-2.0 2>/dev/null || echo -lxml2)
# Leaks count as failures; a libxml2 document freed on every path must stay that way.
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
FUZZ_ARGS := -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict=$(FUZZ_OUT)/edimax.dict -artifact_prefix=$(FUZZ_OUT)/

.PHONY: fuzz fuzz-quick

$(FUZZ_OUT) $(FUZZ_OUT)/corpus:
	@mkdir -p $@

# The parser alone (edimax_proto.c does no I/O and needs only libxml2); a sanitizer build of its
# own, apart from the tool's objects.
$(FUZZ_OUT)/fuzz_edimax: tests/fuzz/fuzz_edimax.c user/sources/edimax_proto.c user/sources/edimax_proto.h \
		| $(FUZZ_OUT)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_edimax.c user/sources/edimax_proto.c $(FUZZ_LIBS) -o $@

# Seeds: a real reply and each way the plug answers, so that mutations start from the grammar.
# (Make joins continued lines with a space: between tags, where XML does not mind.)
SEED_GOOD := <?xml version="1.0" encoding="UTF8"?><SMARTPLUG id="edimax"><CMD id="get"> \
	<NOW_POWER><Device.System.Power.NowCurrent>0.1184</Device.System.Power.NowCurrent> \
	<Device.System.Power.NowPower>25.53</Device.System.Power.NowPower></NOW_POWER></CMD> \
	</SMARTPLUG>
SEED_FAILED := <?xml version="1.0" encoding="UTF8"?><SMARTPLUG id="edimax"> \
	<CMD id="get">FAILED</CMD></SMARTPLUG>
SEED_NOMETER := <SMARTPLUG id="edimax"><CMD id="get"><NOW_POWER></NOW_POWER></CMD></SMARTPLUG>
SEED_CDATA := <SMARTPLUG><CMD><NOW_POWER><Device.System.Power.NowPower><![CDATA[1]]>2.5 \
	</Device.System.Power.NowPower></NOW_POWER></CMD></SMARTPLUG>

$(FUZZ_OUT)/corpus/.seeded: tests/fuzz/fuzz.mk | $(FUZZ_OUT)/corpus
	@printf '%s' '$(SEED_GOOD)' > $(FUZZ_OUT)/corpus/seed-good
	@printf '%s' '$(SEED_FAILED)' > $(FUZZ_OUT)/corpus/seed-failed
	@printf '%s' '$(SEED_NOMETER)' > $(FUZZ_OUT)/corpus/seed-nometer
	@printf '%s' '$(SEED_CDATA)' > $(FUZZ_OUT)/corpus/seed-cdata
	@printf '%s' 'XML Header error' > $(FUZZ_OUT)/corpus/seed-header
	@touch $@

$(FUZZ_OUT)/edimax.dict: tests/fuzz/fuzz.mk | $(FUZZ_OUT)
	@printf '%s\n' '"<SMARTPLUG id=\"edimax\">"' '"</SMARTPLUG>"' '"<CMD id=\"get\">"' \
		'"</CMD>"' '"<NOW_POWER>"' '"</NOW_POWER>"' '"Device.System.Power.NowPower"' \
		'"Device.System.Power.NowCurrent"' '"FAILED"' '"<![CDATA["' '"]]>"' '"<!--"' \
		'"-->"' '"&#"' '"&amp;"' '"<?xml version=\"1.0\" encoding=\"UTF8\"?>"' \
		'"<!DOCTYPE"' '"<!ENTITY"' '"100000"' '"."' > $@

FUZZ_DEPS := $(FUZZ_OUT)/fuzz_edimax $(FUZZ_OUT)/corpus/.seeded $(FUZZ_OUT)/edimax.dict

fuzz-quick: $(FUZZ_DEPS)
	$(FUZZ_ENV) $(FUZZ_OUT)/fuzz_edimax $(FUZZ_ARGS) -runs=$(FUZZ_QUICK_RUNS) \
		-max_total_time=$(FUZZ_QUICK_TIME) $(FUZZ_OUT)/corpus

fuzz: $(FUZZ_DEPS)
	$(FUZZ_ENV) $(FUZZ_OUT)/fuzz_edimax $(FUZZ_ARGS) -max_total_time=$(FUZZ_TIME) \
		$(FUZZ_OUT)/corpus
