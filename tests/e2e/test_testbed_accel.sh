#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test bed's choice of accelerator (issue 12, acceptance 1), on fake inputs: KVM only where
# it can boot a stock kernel (a writable /dev/kvm, vmx or svm, and QEMU's probe passing), else
# TCG with the reason; KT_ACCEL forces either. Needs no VM and no root.
. "$(dirname "$0")/prelude.sh" "$@"

fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/module/kvm" "$fake/pvm-module/kvm_pvm"
: >"$fake/kvm"
chmod 0600 "$fake/kvm"
echo "flags		: fpu vme de pse tsc msr pae" >"$fake/cpuinfo-none"
echo "flags		: fpu vme de pse vmx tsc msr" >"$fake/cpuinfo-vmx"
echo "flags		: fpu vme de pse svm tsc msr" >"$fake/cpuinfo-svm"

probe_result=0
_tb_kvm_probe() {
	return "$probe_result"
}

# choice DEV CPUINFO MODULES [KT_ACCEL]: what the test bed would choose.
choice() {
	KT_DEV_KVM=$1 KT_CPUINFO=$2 KT_SYS_MODULE=$3 KT_ACCEL=${4:-auto} _tb_accel_choice
}

# expect WHAT WANT ARGS...: checks the choice's accelerator; its reason is left in $why.
why=
expect() {
	local what=$1 want=$2
	shift 2
	why=$(choice "$@" 2>&1)
	t_check "$what: '$why'" test "${why%% *}" = "$want"
}

expect "no /dev/kvm" tcg "$fake/absent" "$fake/cpuinfo-vmx" "$fake/module"
t_check "no /dev/kvm: the reason names the device" grep -q "no $fake/absent" <<<"$why"
expect "software KVM (PVM)" tcg "$fake/kvm" "$fake/cpuinfo-none" "$fake/pvm-module"
t_check "software KVM: the reason says so" \
	grep -q "is software KVM (PVM): Linux guests run under TCG" <<<"$why"
expect "PVM beside vmx flags (nested)" tcg "$fake/kvm" "$fake/cpuinfo-vmx" "$fake/pvm-module"
expect "/dev/kvm without vmx/svm" tcg "$fake/kvm" "$fake/cpuinfo-none" "$fake/module"
expect "VMX, probe passes" kvm "$fake/kvm" "$fake/cpuinfo-vmx" "$fake/module"
expect "SVM, probe passes" kvm "$fake/kvm" "$fake/cpuinfo-svm" "$fake/module"
probe_result=1
expect "VMX, probe fails" tcg "$fake/kvm" "$fake/cpuinfo-vmx" "$fake/module"
t_check "failed probe: the reason says so" grep -q "probe" <<<"$why"
probe_result=0
expect "KT_ACCEL=kvm forces KVM on PVM" kvm "$fake/kvm" "$fake/cpuinfo-none" "$fake/pvm-module" kvm
expect "KT_ACCEL=tcg forces TCG on VMX" tcg "$fake/kvm" "$fake/cpuinfo-vmx" "$fake/module" tcg
t_check "KT_ACCEL=bogus is refused" \
	bash -c '. tests/vm/testbed.sh; KT_ACCEL=bogus _tb_accel_choice 2>/dev/null; test $? -ne 0'

# tb_accel says its choice once per session, and prints only the accelerator.
KT_TESTBED_DIR=$fake/testbed
_TB_SESSION_ID=$$
mkdir -p "$(_tb_sess)"
KT_DEV_KVM=$fake/kvm KT_CPUINFO=$fake/cpuinfo-none KT_SYS_MODULE=$fake/pvm-module
first=$(tb_accel 2>"$fake/err1")
second=$(tb_accel 2>"$fake/err2")
t_check "tb_accel prints the accelerator ($first, $second)" test "$first/$second" = tcg/tcg
t_check "tb_accel says why once" \
	test "$(cat "$fake/err1")" = "testbed: $fake/kvm is software KVM (PVM): Linux guests run under TCG"
t_check "and not again" test ! -s "$fake/err2"

# This host: a PVM host must never get KVM for Linux guests.
if [[ -d /sys/module/kvm_pvm ]]; then
	KT_DEV_KVM=/dev/kvm KT_CPUINFO=/proc/cpuinfo KT_SYS_MODULE=/sys/module
	t_check "this host (software KVM) gets TCG" test "$(_tb_accel_choice | cut -d' ' -f1)" = tcg
fi
t_summary
