#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Logs in production (issue 7, acceptance 2): files moved away and SIGHUP sent during a run lose
# no row and split none across files; a full disk (a small tmpfs as -o) is reported, tracing
# goes on, and writing resumes when there is space again, with no torn line left behind.
. "$(dirname "$0")/prelude.sh" "$@"

t_testbed logs
tb_start_qemu kt-logs burn:0 >/dev/null || exit 1
tb_wait_start kt-logs burn:0 || exit 1

# rows_ok FILE...: every line of every file has the header's field count, each file starts
# with the header, and the rows, in time order, follow each other with no interval missing or
# repeated. Prints how many rows it saw.
rows_ok() {
	"$T_PYTHON" - "$@" <<'PY'
import csv, sys
rows, bad, header = [], 0, None
for path in sys.argv[1:]:
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    if not lines:
        continue
    if header is None:
        header = lines[0]
    if lines[0] != header:
        print(f"{path}: does not start with the header")
        bad += 1
    for n, line in enumerate(lines[1:], 2):
        if len(line) != len(header):
            print(f"{path}:{n}: {len(line)} fields, the header has {len(header)}")
            bad += 1
            continue
        rows.append((float(line[1]), float(line[2])))
rows.sort()
for (end0, _), (end1, length1) in zip(rows, rows[1:]):
    # Each row starts where the previous one ended (the stamps are rounded to the ms).
    if abs((end1 - length1) - end0) > 0.002:
        print(f"rows ending at {end0:.3f} and {end1:.3f} are not adjacent")
        bad += 1
print(f"{len(rows)} rows")
sys.exit(bad != 0 or len(rows) < 2)
PY
}

# 1. Move the files away and send SIGHUP, five times, as logrotate does.
hup=$out/hup
mkdir -p "$hup"
"$bin" -q -i 0.2 -o "$hup" 2>"$out/hup.err" &
tracer=$!
tb_add_cleanup "kill $tracer 2>/dev/null || true"
t_wait_for 100 0.1 test -s "$hup/kt-logs.csv"
sleep 0.5
for i in 1 2 3 4 5; do
	mv "$hup/kt-logs.csv" "$hup/kt-logs.csv.$i"
	kill -HUP "$tracer"
	sleep 0.7
done
kill -INT "$tracer"
wait "$tracer"
status=$?
t_check "the tracer ran through five SIGHUPs and ended cleanly (status $status)" \
	test "$status" -eq 0
t_check "each SIGHUP started a new file: 6 files" \
	test "$(ls "$hup"/kt-logs.csv* | wc -l)" -eq 6
t_check "no row lost, repeated or split across the files" \
	rows_ok "$hup"/kt-logs.csv.{1,2,3,4,5} "$hup/kt-logs.csv"
t_check "files are created 0640" test "$(stat -c %a "$hup/kt-logs.csv")" = 640

# 2. A full disk: a 24 KiB tmpfs fills up within seconds.
full=$out/full
mkdir -p "$full"
mount -t tmpfs -o size=24k kt-full "$full" || exit 1
tb_add_cleanup "umount -l '$full' 2>/dev/null || true"
"$bin" -q -i 0.2 -o "$full" 2>"$out/full.err" &
tracer=$!
tb_add_cleanup "kill $tracer 2>/dev/null || true"
t_wait_for 100 0.2 grep -q "cannot write CSV rows" "$out/full.err"
t_check "the full disk is reported" grep -q "cannot write CSV rows in '$full'" "$out/full.err"
sleep 1
t_check "tracing goes on while the disk is full" kill -0 "$tracer"
mount -o remount,size=4m "$full"
t_wait_for 50 0.2 grep -q "writing CSV rows in '$full' again" "$out/full.err"
t_check "writing resumes when space is back, and says so" \
	grep -q "writing CSV rows in '$full' again" "$out/full.err"
before=$(t_rows "$full/kt-logs.csv")
sleep 1.5
kill -INT "$tracer"
wait "$tracer"
status=$?
after=$(t_rows "$full/kt-logs.csv")
cat "$out/full.err"
t_check "the tracer ended cleanly (status $status)" test "$status" -eq 0
t_check "rows were added after the recovery ($before, then $after)" test "$after" -gt "$before"
whole_lines() {
	"$T_PYTHON" - "$@" <<'PY'
import csv, sys
bad = 0
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        print(f"{path}: ends in a torn line")
        bad += 1
    lines = list(csv.reader(open(path, newline="")))
    bad += sum(len(line) != len(lines[0]) for line in lines[1:])
sys.exit(bad != 0)
PY
}
t_check "no torn or short line in any file of the full disk" whole_lines "$full"/*.csv

t_summary
