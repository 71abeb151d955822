#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` from a clean clone (issue 3, acceptance 4): it ends with CSVs in logs/ and leaves
# no VM, bridge, namespace or daemon it started.
. "$(dirname "$0")/prelude.sh" "$@"
top=$PWD
work=$(mktemp -d /tmp/kt-e2e-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

daemons() {
	pgrep -x libvirtd
	pgrep -x virtlogd
}
daemons_before=$(daemons | sort)
git clone -q "$top" "$work/repo" || exit 1
(cd "$work/repo" && KT_DEMO_SECONDS=6 make demo) >"$work/demo.log" 2>&1
status=$?
tail -n 15 "$work/demo.log"
t_check "make demo succeeds in a clean clone (status $status)" test "$status" -eq 0
for vm in kt-demo-cpu kt-demo-io; do
	csv=$work/repo/logs/$vm.csv
	t_check "logs/$vm.csv has its header and at least 5 rows" \
		test -f "$csv" -a "$(head -c 9 "$csv" 2>/dev/null)" = timestamp -a \
		"$(t_rows "$csv" 2>/dev/null || echo 0)" -ge 5
done
t_check "no demo VM is left running" test -z "$(pgrep -f 'guest=kt-demo')"
t_check "no test bridge or namespace is left" \
	test -z "$(ip -o link show kt-br0 2>/dev/null)$(ip netns list | grep kt-peer)"
t_check "the daemons are as before the demo" test "$(daemons | sort)" = "$daemons_before"
t_summary
