# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Assertions for the end-to-end tests: each check prints ok/FAIL with what it compared, and
# t_summary prints "N passed, N failed" and sets the exit status.

T_PASSED=0
T_FAILED=0

t_ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok   - $*"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "FAIL - $*"
}

# t_check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
t_check() {
	local what=$1
	shift
	if "$@"; then
		t_ok "$what"
	else
		t_fail "$what"
	fi
}

t_summary() {
	echo "$T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}

# t_oracle SUBCOMMAND ARGS...: the oracle checker (tests/e2e/oracle.py).
t_oracle() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/oracle.py" "$@"
}
