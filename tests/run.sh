#!/bin/bash
# Runs every test suite: unit and BPF logic tests (cmocka binaries in BUILD/tests), then the
# end-to-end scripts in tests/e2e. Prints one summary line of cases passed and failed.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
passed=0
failed=0
failed_suites=()

# Adds a suite's counts, read from its own summary lines.
count() {
	local name=$1 log=$2 status=$3 p f
	p=$(sed -n -e 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' \
		-e 's/^\([0-9]*\) passed, [0-9]* failed.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n -e 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' \
		-e 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
	p=${p:-0}
	f=${f:-0}
	# A suite that died before its summary counts as one failure.
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || failed_suites+=("$name")
}

run_suite() {
	local name=$1 log status
	shift
	log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	count "$name" "$log" "$status"
	rm -f "$log"
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] && run_suite "$(basename "$t")" "$t"
done
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] && run_suite "$(basename "$t" .sh)" bash "$t" "$build"
done

echo
[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
