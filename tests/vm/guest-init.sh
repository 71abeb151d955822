#!/bin/sh
# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the kvmtrace-bpf test guest (busybox-static initramfs built by
# tests/vm/testbed.sh). It loads the virtio modules, reads its workload from the
# kernel command line, runs it and logs to the serial console:
#
#   KT-BOOT name=NAME cpus=N          init started
#   KT-READY disk=yes|no net=yes|no  modules loaded, network configured
#   KT-START ITEM t=UPTIME           a workload item begins
#   KT-DONE ITEM t=UPTIME [k=v...]   it ended well
#   KT-FAIL ITEM reason              it did not
#   KT-ALL-DONE t=UPTIME             the whole chain ended (then the guest idles)
#
# Kernel parameters: kt.work=ITEM[,ITEM...] kt.ip=A.B.C.D kt.peer=A.B.C.D
# kt.sinkport=N kt.sourceport=N kt.loop=1 (repeat the chain forever) kt.name=NAME
# Items: burn:SECONDS (0 = forever) | idle | sleep:SECONDS | disk-write:MIB |
# disk-read:MIB | disk-rw:WMIB:RMIB | net-send:MIB | net-recv:MIB

PATH=/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp
exec </dev/console >/dev/console 2>&1

WORK=idle
IP=
PEER=10.213.0.1
SINKPORT=5001
SOURCEPORT=5002
LOOP=0
NAME=guest
# shellcheck disable=SC2013 # the command line is space separated words
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	kt.work=*) WORK=${arg#kt.work=} ;;
	kt.ip=*) IP=${arg#kt.ip=} ;;
	kt.peer=*) PEER=${arg#kt.peer=} ;;
	kt.sinkport=*) SINKPORT=${arg#kt.sinkport=} ;;
	kt.sourceport=*) SOURCEPORT=${arg#kt.sourceport=} ;;
	kt.loop=*) LOOP=${arg#kt.loop=} ;;
	kt.name=*) NAME=${arg#kt.name=} ;;
	esac
done

uptime_s() {
	read -r up _ </proc/uptime
	echo "$up"
}

say() {
	echo "$*"
}

NCPU=$(nproc 2>/dev/null || echo 1)
say "KT-BOOT name=$NAME cpus=$NCPU work=$WORK"

# Modules in dependency order, written by the image builder.
if [ -f /lib/modules/load.list ]; then
	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "/lib/modules/$mod.ko" || say "KT-WARN insmod $mod failed"
	done </lib/modules/load.list
fi

# Device nodes appear asynchronously after the driver probes.
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ "$i" -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

DISK=no
if wait_for /sys/block/vda && [ -b /dev/vda ]; then
	DISK=yes
fi

NET=no
if [ -n "$IP" ] && wait_for /sys/class/net/eth0; then
	ip link set lo up
	ip addr add "$IP/24" dev eth0 && ip link set eth0 up && NET=yes
fi
say "KT-READY disk=$DISK net=$NET ip=${IP:-none}"

burn() {
	secs=$1
	pids=
	n=0
	while [ "$n" -lt "$NCPU" ]; do
		(while :; do :; done) &
		pids="$pids $!"
		n=$((n + 1))
	done
	if [ "$secs" -eq 0 ]; then
		wait
		return 0
	fi
	sleep "$secs"
	# shellcheck disable=SC2086 # word splitting of the PID list is wanted
	kill $pids
	wait 2>/dev/null
	return 0
}

need_disk() {
	if [ ! -b /dev/vda ]; then
		FAIL_REASON="no /dev/vda"
		return 1
	fi
}

need_net() {
	if [ "$NET" != yes ]; then
		FAIL_REASON="no network (kt.ip missing or no eth0)"
		return 1
	fi
}

is_num() {
	case "$1" in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# busybox dd prints "F+P records out" (F full 1 MiB blocks, P partial ones):
# bytes of the full blocks, with "+partial" when a short block was copied too.
dd_bytes() {
	rec=$(sed -n 's/^\([0-9]*+[0-9]*\) records out.*/\1/p' /tmp/dd.err | tail -n 1)
	full=${rec%%+*}
	part=${rec#*+}
	[ -n "$full" ] || full=0
	if [ -n "$part" ] && [ "$part" != 0 ] && [ "$part" != "$rec" ]; then
		echo "$((full * 1048576))+partial"
	else
		echo "$((full * 1048576))"
	fi
}

# disk_dd WHAT KEY DD_ARGS...: dd with DD_ARGS (on the disk, which must be there); adds
# "KEY=BYTES" (dd_bytes) to EXTRA; when dd fails, says "dd WHAT failed" and its last line.
disk_dd() {
	need_disk || return 1
	dd_what=$1
	dd_key=$2
	shift 2
	dd "$@" 2>/tmp/dd.err
	rc=$?
	EXTRA="$EXTRA $dd_key=$(dd_bytes)"
	[ "$rc" -eq 0 ] || FAIL_REASON="dd $dd_what failed: $(tail -n 1 /tmp/dd.err)"
	return "$rc"
}

disk_write() {
	disk_dd write wbytes if=/dev/zero of=/dev/vda bs=1M count="$1" oflag=direct conv=notrunc
}

disk_read() {
	disk_dd read rbytes if=/dev/vda of=/dev/null bs=1M count="$1" iflag=direct
}

net_send() {
	need_net || return 1
	# busybox nc exits at the end of its input; the peer counts what arrived.
	if dd if=/dev/zero bs=1M count="$1" 2>/dev/null | nc "$PEER" "$SINKPORT"; then
		EXTRA=" sent=$(($1 * 1048576))"
		return 0
	fi
	FAIL_REASON="nc to $PEER:$SINKPORT failed"
	return 1
}

net_recv() {
	need_net || return 1
	got=$(wget -q -O - "http://$PEER:$SOURCEPORT/$(($1 * 1048576))" | wc -c)
	EXTRA=" received=$got"
	if [ "$got" -eq $(($1 * 1048576)) ]; then
		return 0
	fi
	FAIL_REASON="received $got bytes from $PEER:$SOURCEPORT"
	return 1
}

run_item() {
	item=$1
	kind=${item%%:*}
	args=
	case "$item" in *:*) args=${item#*:} ;; esac
	a1=${args%%:*}
	a2=
	case "$args" in *:*) a2=${args#*:} ;; esac
	FAIL_REASON="bad workload"
	EXTRA=
	say "KT-START $item t=$(uptime_s)"
	rc=1
	case "$kind" in
	burn) is_num "$a1" && burn "$a1" && rc=0 ;;
	idle) rc=0 ;;
	sleep) is_num "$a1" && sleep "$a1" && rc=0 ;;
	disk-write) is_num "$a1" && disk_write "$a1" && rc=0 ;;
	disk-read) is_num "$a1" && disk_read "$a1" && rc=0 ;;
	disk-rw) is_num "$a1" && is_num "$a2" && disk_write "$a1" && disk_read "$a2" && rc=0 ;;
	net-send) is_num "$a1" && net_send "$a1" && rc=0 ;;
	net-recv) is_num "$a1" && net_recv "$a1" && rc=0 ;;
	*) FAIL_REASON="unknown workload '$kind'" ;;
	esac
	if [ "$rc" -eq 0 ]; then
		say "KT-DONE $item t=$(uptime_s)$EXTRA"
	else
		say "KT-FAIL $item $FAIL_REASON"
	fi
}

run_chain() {
	old_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # split the chain on commas
	set -- $WORK
	IFS=$old_ifs
	for item in "$@"; do
		run_item "$item"
	done
}

run_chain
while [ "$LOOP" = 1 ]; do
	sleep 1
	run_chain
done
say "KT-ALL-DONE t=$(uptime_s)"

# Stay up and idle so the tracer keeps seeing the VM; init must never exit.
while :; do
	sleep 3600
done
