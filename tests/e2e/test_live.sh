#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The live view (issue 16): the real tracer in a tmux terminal, tracing two of the test bed's own
# VMs (tests/vm/ktvmm.c): one busy in guest mode (--exit none), one exiting to its VMM all the
# time (--exit io). The screen has the title, the host line (the tracer's cost once
# kernel.bpf_stats_enabled is on), the header and both VMs' lines; sorting by GUEST and by HYP
# puts each VM first in turn; v shows their vCPU lines; p freezes the screen while the CSV rows
# go on; a terminal 80 and 50 columns wide drops columns in the README's order ("Live view"),
# redrawn at once, and still shows both VMs; ? shows the keys; a message on stderr shows on the
# screen; q ends the tracer with status 0, writing the interval's rows, and leaves the terminal
# as it was (alternate screen left, cursor shown, the shell's prompt back, the held message
# printed), as SIGINT and -c do. With stdout in a file: plain lines, no escape character at all.
. "$(dirname "$0")/prelude.sh" "$@"

vmm=$build/tests/ktvmm
if [[ ! -x $build/kvmtrace-bpf || ! -x $vmm ]]; then
	echo "FAIL - $build/kvmtrace-bpf or $vmm missing: build them first (make all unit)"
	exit 1
fi
tracer=$bin
command -v tmux >/dev/null ||
	t_skip "tmux not found (scripts/install-deps.sh installs it): no terminal to test in"
[[ -w /dev/kvm ]] || t_skip "no writable /dev/kvm: the test VMs need guest mode"
out=$(mktemp -d /tmp/kt-e2e-live.XXXXXX)
# A tmux server of our own: other sessions on the host are not ours to see or end.
sock=$out/tmux.sock
pids=()
stats_were=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
	local shell
	echo "$stats_were" >/proc/sys/kernel/bpf_stats_enabled
	# A tracer still in the terminal: SIGHUP would only reopen its files.
	shell=$(tm display-message -t live -p '#{pane_pid}' 2>/dev/null)
	[[ -n $shell ]] && pkill -TERM -P "$shell" -x kvmtrace-bpf
	tmux -S "$sock" kill-server 2>/dev/null
	[[ ${#pids[@]} -gt 0 ]] && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

tm() {
	tmux -S "$sock" "$@"
}

# start_vmm NAME ARGS...: a test VM in the background, its PID in $pid once its vCPUs run.
start_vmm() {
	local name=$1
	shift
	: >"$out/$name.err"
	"$vmm" "$@" >/dev/null 2>"$out/$name.err" &
	pid=$!
	pids+=("$pid")
	t_wait_ktvmm "$out/$name.err" && return 0
	echo "ktvmm did not start: $(cat "$out/$name.err")"
	return 1
}

screen() {
	tm capture-pane -t live -p
}

# on_screen EGREP: the screen shows a line matching EGREP.
on_screen() {
	screen | grep -Eq -- "$1"
}

# wait_screen SECONDS EGREP: until the screen shows a line matching EGREP.
wait_screen() {
	t_wait_for $(($1 * 5)) 0.2 on_screen "$2"
}

# line_of NAME: the screen line number of the VM's line.
line_of() {
	screen | grep -n -m1 "^$1 " | cut -d: -f1
}

# before A B: the line of VM A is above the line of VM B.
before() {
	local a b
	a=$(line_of "$1")
	b=$(line_of "$2")
	[[ -n $a && -n $b && $a -lt $b ]]
}

# both_shown: the tracer started and the screen has both VMs' lines.
both_shown() {
	wait_screen 20 "^ktvmm-$io " && wait_screen 5 "^ktvmm-$busy "
}

# sorted_first WHAT A B: the title says "sorted by WHAT" and VM A's line is above B's.
sorted_first() {
	wait_screen 3 "sorted by $1\$" && before "$2" "$3"
}

# vcpus_follow FILE: in a screen, the two lines after each VM's are its vCPUs'.
vcpus_follow() {
	local vm
	for vm in "ktvmm-$busy" "ktvmm-$io"; do
		[[ $(grep -A2 "^$vm " "$1" | grep -c '^  vcpu [01] ') -eq 2 ]] || return 1
	done
}

# frozen A B: A is a paused screen, and B the same.
frozen() {
	grep -q PAUSED "$1" && cmp -s "$1" "$2"
}

# moved_on PAUSED: not paused any more, and the screen is not the paused one.
moved_on() {
	! wait_screen 2 PAUSED && ! screen | cmp -s - "$1"
}

# shows_vms FILE [COLS]: both VMs' lines are in a screen, and no line is longer than COLS.
shows_vms() {
	grep -q "^ktvmm-$busy " "$1" && grep -q "^ktvmm-$io " "$1" &&
		! awk -v max="${2:-1000}" 'length($0) > max { bad = 1 } END { exit !bad }' "$1"
}

# no_escape FILE: not one escape character in it.
no_escape() {
	! grep -q $'\033' "$1"
}

# status_restored: the tracer's status 0 and the terminal as it was.
status_restored() {
	[[ ${status:-1} == 0 ]] && restored
}

# plain_lines FILE: the header once, then a line per VM per interval (2 intervals).
plain_lines() {
	[[ $(grep -c '^TIME  *NAME  *PID  *CPU' "$1") -eq 1 &&
		$(grep -Ec "Z ktvmm-($busy|$io) " "$1") -eq 4 ]]
}

# the_tracer ARGS...: the tracer in the tmux terminal, its exit status printed after it.
the_tracer() {
	local cmd="$tracer -i 1 --libvirt-uri none -p $busy -p $io $*"
	tm send-keys -t live "clear; $cmd; echo kt-live-exit=\$?" Enter
}

# ended: the tracer has ended; its status in $status.
ended() {
	wait_screen 15 '^kt-live-exit=[0-9]+' || return 1
	status=$(screen | sed -n 's/^kt-live-exit=\([0-9]*\).*/\1/p' | tail -n 1)
}

# restored: the terminal is as the shell left it: main screen, cursor shown, the prompt last.
restored() {
	[[ $(tm display-message -t live -p '#{alternate_on} #{cursor_flag}') == "0 1" ]] &&
		[[ $(screen | grep -v '^$' | tail -n 1) == 'kt-live$' ]]
}

start_vmm busy --vcpus 2 --seconds 90 --exit none || exit 1
busy=$pid
start_vmm io --vcpus 2 --seconds 90 --exit io --loop 100 || exit 1
io=$pid
tm new-session -d -s live -x 160 -y 40 "env PS1='kt-live\$ ' bash --norc --noprofile" || exit 1

# --- 1. the view: title, host line, header, a line per VM
the_tracer -o "$out/csv"
t_check "the screen shows both VMs' lines" both_shown
screen >"$out/screen.1"
t_check "title line: kvmtrace-bpf, the interval's end, 2 VMs" \
	grep -Eq '^kvmtrace-bpf  [0-9T:.-]+Z  interval [0-9.]+ s  2 VMs' "$out/screen.1"
host='^host power .*VMs CPU [0-9.]+%  guest share [0-9.]+%.*tracer CPU [0-9.]+%  tracer BPF '
t_check "host line: power, the VMs' CPU, guest share, the tracer's cost" \
	grep -Eq "$host" "$out/screen.1"
header='^NAME +PID +CPU +GUEST +HYP +DELAY +EXITS TOP EXIT +READ +WRITE +RX +TX +RSS +WATTS$'
t_check "header: every column at 160 columns" grep -Eq "$header" "$out/screen.1"
t_check "the footer names the keys" grep -q '^q quit  p pause  v vCPUs  ? help' "$out/screen.1"
t_check "the alternate screen is on while the view runs" \
	test "$(tm display-message -t live -p '#{alternate_on}')" = 1
# The tracer's cost: while the kernel counts BPF run time, as test_prometheus turns it on.
if [[ $stats_were == 0 ]]; then
	t_check "kernel.bpf_stats_enabled off: tracer BPF -" grep -Eq 'tracer BPF -( |$)' "$out/screen.1"
fi
echo 1 >/proc/sys/kernel/bpf_stats_enabled
t_check "kernel.bpf_stats_enabled on: the tracer's cost, % of one CPU" \
	wait_screen 5 'tracer BPF [0-9]+\.[0-9]+%( |$)'
t_check "and the sampler's rate and cost, last" \
	wait_screen 2 'tracer BPF [0-9.]+%  sampler [0-9]+ Hz [0-9]+\.[0-9]+%$'
echo "$stats_were" >/proc/sys/kernel/bpf_stats_enabled

# --- 2. sorting: the busy guest first by GUEST, the exiting one first by HYP
tm send-keys -t live g
t_check "g: sorted by GUEST, the busy guest first" sorted_first GUEST "ktvmm-$busy" "ktvmm-$io"
tm send-keys -t live h
t_check "h: sorted by HYP, the VM that exits first" sorted_first HYP "ktvmm-$io" "ktvmm-$busy"
tm send-keys -t live h
t_check "h again: reversed" sorted_first "HYP, reversed" "ktvmm-$busy" "ktvmm-$io"

# --- 3. v: the vCPU lines under each VM
tm send-keys -t live v
wait_screen 3 '^  vcpu 1 '
screen >"$out/screen.v"
t_check "v: two vCPU lines under each VM" \
	test "$(grep -c '^  vcpu [01] ' "$out/screen.v")" -eq 4
t_check "v: each VM's vCPU lines follow its own" \
	vcpus_follow "$out/screen.v"
tm send-keys -t live v
sleep 0.5
t_check "v again: the vCPU lines go" eval '! screen | grep -q "^  vcpu "'

# --- 4. p: the screen freezes, the CSV files do not
tm send-keys -t live p
wait_screen 3 'PAUSED'
screen >"$out/paused.1"
rows=$(t_rows "$out/csv/ktvmm-$busy.csv")
sleep 2.5
screen >"$out/paused.2"
t_check "p: PAUSED, and the screen keeps its figures for 2.5 s" \
	frozen "$out/paused.1" "$out/paused.2"
t_check "p: the CSV rows go on ($rows, then $(t_rows "$out/csv/ktvmm-$busy.csv"))" \
	test "$(t_rows "$out/csv/ktvmm-$busy.csv")" -ge $((rows + 2))
tm send-keys -t live p
t_check "p again: the figures move on" moved_on "$out/paused.1"

# --- 5. a narrow terminal: columns drop in the stated order, every VM stays. Paused, so that
# only the resize can redraw the screen, at once.
tm send-keys -t live p
wait_screen 3 PAUSED
tm resize-window -t live -x 80
t_check "80 columns: redrawn at once, PID, RSS, TX, RX and WRITE dropped" \
	wait_screen 1 '^NAME +CPU +GUEST +HYP +DELAY +EXITS TOP EXIT +READ +WATTS$'
screen >"$out/screen.80"
t_check "80 columns: both VMs still shown, no line longer" shows_vms "$out/screen.80" 80
t_check "80 columns: still PAUSED" grep -q PAUSED "$out/screen.80"
tm resize-window -t live -x 50
t_check "50 columns: NAME, CPU, GUEST, HYP, DELAY and EXITS left" \
	wait_screen 1 '^NAME +CPU +GUEST +HYP +DELAY +EXITS$'
screen >"$out/screen.50"
t_check "50 columns: both VMs still shown, no line longer" shows_vms "$out/screen.50" 50
tm resize-window -t live -x 160
t_check "160 columns again: every column back" wait_screen 1 'RSS +WATTS$'
tm send-keys -t live p
wait_screen 3 'sorted by HYP, reversed$'

# --- 6. ? shows the keys, any key goes back
tm send-keys -t live '?'
t_check "?: the help screen" wait_screen 3 '^kvmtrace-bpf live view: keys'
tm send-keys -t live x
t_check "a key: back to the VMs, as they were" wait_screen 3 'sorted by HYP, reversed$'
tm send-keys -t live x
t_check "x: sorted by RX" wait_screen 3 'sorted by RX$'

# --- 7. a message while the view is up shows above the keys (SIGHUP: the files reopened)
pkill -HUP -P "$(tm display-message -t live -p '#{pane_pid}')" -x kvmtrace-bpf
t_check "a message on stderr shows on the screen" \
	wait_screen 3 "^reopened the files in '$out/csv' \(SIGHUP\)\$"

# --- 8. q: status 0, this interval's rows written, the terminal restored
rows=$(t_rows "$out/csv/ktvmm-$io.csv")
tm send-keys -t live q
ended
t_check "q: the tracer ends with status 0 (${status:-none})" test "${status:-1}" = 0
t_check "q: the interval it ended gets its row ($rows, then $(t_rows "$out/csv/ktvmm-$io.csv"))" \
	test "$(t_rows "$out/csv/ktvmm-$io.csv")" -gt "$rows"
t_check "q: main screen, cursor shown, the shell's prompt back" restored
screen >"$out/screen.q"
t_check "q: the messages from before the view are on the main screen" \
	grep -q '^kvmtrace-bpf: tracing; rows every 1 s' "$out/screen.q"
t_check "q: and so is the one the view held back" \
	grep -q "^kvmtrace-bpf: reopened the files in '$out/csv' (SIGHUP)" "$out/screen.q"

# --- 9. SIGINT and -c end it as cleanly
the_tracer -o "$out/csv"
wait_screen 20 "^ktvmm-$busy "
tm send-keys -t live C-c
ended
t_check "Ctrl-C: status 0 (${status:-none}), the terminal restored" status_restored
the_tracer -o "$out/csv" -c 2
ended
t_check "-c 2: status 0 (${status:-none}), the terminal restored" status_restored

# --- 10. stdout in a file: plain lines, no escape character
"$tracer" -i 1 -c 2 --libvirt-uri none -p "$busy" -p "$io" -o "$out/csv" >"$out/plain" \
	2>"$out/plain.err" </dev/null
status=$?
t_check "plain: status 0 ($status)" test "$status" -eq 0
t_check "plain: no escape character in $(wc -c <"$out/plain") bytes" no_escape "$out/plain"
t_check "plain: the header once, then one line per VM per interval" plain_lines "$out/plain"
t_summary
