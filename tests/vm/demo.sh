#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot two guests on the test bed, one burning CPU and one doing disk and
# network I/O, trace them with BUILD_DIR/kvmtrace-bpf -i 1 -d 15, print where the CSVs
# are, and clean up. Uses libvirt domains, or direct QEMU when libvirt is unavailable.
#
# Usage: tests/vm/demo.sh BUILD_DIR      (as root; CSVs go to ./logs)
# Env:   KT_DEMO_SECONDS (default 15), KT_DEMO_ARGS (extra tracer arguments),
#        KT_DEMO_NO_LIBVIRT=1 (force direct QEMU), plus testbed.sh's KT_* variables.

set -u

if (($# != 1)); then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
if [[ ! -x $1/kvmtrace-bpf ]]; then
	echo "demo: $1/kvmtrace-bpf not found: build it first (make)" >&2
	exit 1
fi
BIN=$(cd "$1" && pwd)/kvmtrace-bpf
SECONDS_TO_TRACE=${KT_DEMO_SECONDS:-15}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=testbed.sh
. "$HERE/testbed.sh"

tb_init || exit 1
tb_build_guest || exit 1

use_libvirt=1
if [[ ${KT_DEMO_NO_LIBVIRT:-0} == 1 ]]; then
	use_libvirt=0
elif ! tb_libvirt_up; then
	echo "demo: libvirt unavailable, starting the guests with QEMU directly"
	use_libvirt=0
fi

io_work=disk-rw:16:16,net-send:8,net-recv:8,sleep:1
io_opts=(--net --disk-mib 32 --cache none)
if ! tb_net_up; then
	echo "demo: no test network, the I/O guest does disk I/O only"
	io_work=disk-rw:16:16,sleep:1
	io_opts=(--disk-mib 32 --cache none)
fi

# start NAME WORKLOAD OPTIONS...: a libvirt domain, else a direct QEMU guest.
start() {
	local name=$1 work=$2 pid
	shift 2
	if ((use_libvirt)); then
		if tb_start_domain "$name" "$work" "$@" >/dev/null; then
			echo "demo: $name: libvirt domain, QEMU PID $(tb_guest_pid "$name"), workload $work"
			return 0
		fi
		echo "demo: libvirt could not start $name, starting it with QEMU directly"
		tb_stop_guest "$name" 2>/dev/null
	fi
	pid=$(tb_start_qemu "$name" "$work" "$@") || return 1
	echo "demo: $name: direct QEMU, PID $pid, workload $work"
}

start kt-demo-cpu burn:0 --vcpus 1 || exit 1
start kt-demo-io "$io_work" --vcpus 1 --loop "${io_opts[@]}" || exit 1
tb_wait_start kt-demo-cpu burn:0 || exit 1
tb_wait_ready kt-demo-io || exit 1

marker=$(tb_session_dir)/demo.start
: >"$marker"
extra=()
if [[ -n ${KT_DEMO_ARGS:-} ]]; then
	read -r -a extra <<<"$KT_DEMO_ARGS"
fi
echo "demo: running $BIN -i 1 -d $SECONDS_TO_TRACE${extra[*]:+ ${extra[*]}}"
"$BIN" -i 1 -d "$SECONDS_TO_TRACE" "${extra[@]}"
rc=$?
if ((rc != 0)); then
	echo "demo: kvmtrace-bpf exited with status $rc"
fi

csvs=$(find "$PWD/logs" -name '*.csv' -newer "$marker" 2>/dev/null | sort)
if [[ -n $csvs ]]; then
	echo "demo: CSVs written in $PWD/logs:"
	while read -r f; do
		echo "  $f ($(wc -l <"$f") lines)"
	done <<<"$csvs"
else
	echo "demo: no new CSV in $PWD/logs"
fi

tb_cleanup
exit "$rc"
