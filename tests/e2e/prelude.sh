# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The start of every end-to-end test, its first line after the comment that says what it tests:
#
#   . "$(dirname "$0")/prelude.sh" "$@"
#
# Sets -u; $build, the build folder: the test's first argument (tests/run.sh passes it), or
# build; goes to the top of the tree; sources the test bed (tests/vm/testbed.sh: nothing happens
# until tb_init) and the assertions (tests/e2e/lib.sh); and sets $bin, the tracer in $build as an
# absolute path. A test that needs neither the build nor the test bed just leaves them unused.
# (tests/e2e/.shellcheckrc lets shellcheck, run from the top, follow this file.)
set -u
build=${1:-build}
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
. tests/vm/testbed.sh
. tests/e2e/lib.sh
# -m: no error where there is no build folder (a test that ignores it).
# shellcheck disable=SC2034 # for the test
bin=$(realpath -m "$build/kvmtrace-bpf")
