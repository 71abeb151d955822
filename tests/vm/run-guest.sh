#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Start one test guest by hand, follow its serial console until Ctrl-C, clean up.
# Handy to try the tracer on a VM: in another terminal, run build/kvmtrace-bpf.
#
# Usage: tests/vm/run-guest.sh [--libvirt] NAME WORKLOAD [VCPUS] [--vcpus N]
#          [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]
# Example: tests/vm/run-guest.sh --libvirt web disk-rw:64:64,net-send:32 --loop --net

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=testbed.sh
. "$HERE/testbed.sh"

libvirt=0
if [[ ${1:-} == --libvirt ]]; then
	libvirt=1
	shift
fi
if (($# < 2)); then
	sed -n 's/^# \{0,1\}//; 7,9p' "${BASH_SOURCE[0]}" >&2
	exit 2
fi

tb_init || exit 1
tb_build_guest || exit 1
if ((libvirt)); then
	name=$(tb_start_domain "$@") || exit 1
else
	name=$1
	tb_start_qemu "$@" >/dev/null || exit 1
fi
echo "guest $name: PID $(tb_guest_pid "$name") ($(tb_guest_kind "$name")), serial log $(tb_serial_log "$name")"
if [[ -n $(tb_guest_ip "$name") ]]; then
	echo "guest $name: address $(tb_guest_ip "$name"), tap $(tb_guest_tap "$name"), peer $KT_PEER_IP in netns $KT_NETNS"
fi
echo "Ctrl-C to stop and clean up"
tail -n +1 -f "$(tb_serial_log "$name")" &
tail_pid=$!
tb_add_cleanup "kill $tail_pid 2>/dev/null"
while tb_guest_alive "$name"; do
	tb_sleep 1
done
echo "guest $name: QEMU exited"
