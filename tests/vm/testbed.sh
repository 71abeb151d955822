# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# kvmtrace-bpf VM test bed: real QEMU guests (direct or through libvirt), a private
# test network and a cleanup that leaves nothing behind. Source it from bash:
#
#   . tests/vm/testbed.sh
#   tb_init                       # lock, session state, EXIT/INT/TERM cleanup trap
#   tb_build_guest                # cached kernel + busybox initramfs
#   pid=$(tb_start_qemu vm1 burn:0 2)
#   tb_wait_start vm1 burn:0
#
# Every function returns non-zero with a one-line "testbed: ..." message on stderr
# when it fails. See tests/vm/README.md for the whole interface.
#
# State lives in $KT_TESTBED_DIR (default /var/lib/kvmtrace-testbed), a folder the
# libvirt-qemu user can traverse:
#   guest/KVER/{vmlinuz,initrd.img,stamp}   the cached guest image
#   lock/owner                              "PID STARTTIME" of the session holding the test bed
#   run/SESSION/                            one session (SESSION = PID of the sourcing shell)
#     owner, closed, hooks, net, libvirtd, virtlogd, libvirt-nets, peer.log
#     guests/NAME/{kind,pid,start,serial.log,disk.img,tap,ip,mac,stopped,...}
# A session whose shell died without cleaning up is cleaned by the next tb_init.

[[ -n ${_TB_SOURCED:-} ]] && return 0
_TB_SOURCED=1

_TB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

: "${KT_TESTBED_DIR:=/var/lib/kvmtrace-testbed}"
: "${KT_BRIDGE:=kt-br0}"
: "${KT_NETNS:=kt-peer}"
: "${KT_NET_PREFIX:=10.213.0}"
: "${KT_SINK_PORT:=5001}"
: "${KT_SOURCE_PORT:=5002}"
: "${KT_BOOT_TIMEOUT:=120}"
: "${KT_WORK_TIMEOUT:=300}"
: "${KT_LOCK_TIMEOUT:=1800}"
: "${KT_LIBVIRT_URI:=qemu:///system}"
: "${KT_QEMU:=qemu-system-x86_64}"
: "${KT_GUEST_MEM_MIB:=256}"
: "${KT_DISK_MIB:=64}"
: "${KT_GUEST_KVER:=}"
# Accelerator for QEMU guests: auto (KVM only where it boots a stock kernel), kvm or tcg.
: "${KT_ACCEL:=auto}"
# What the choice reads; tests point them at fakes.
: "${KT_DEV_KVM:=/dev/kvm}"
: "${KT_CPUINFO:=/proc/cpuinfo}"
: "${KT_SYS_MODULE:=/sys/module}"
KT_PEER_IP="$KT_NET_PREFIX.1"

# Bump when the image layout produced by tb_build_guest changes.
_TB_IMAGE_VERSION=1
# Roots of the module closure loaded by the guest's /init.
_TB_GUEST_MODULES=(virtio_pci virtio_blk virtio_net)

_TB_SESSION_ID=
_TB_LOCK_HELD=
_TB_SLEEP_PID=
TB_KERNEL=
TB_INITRD=
TB_KVER=

# ---------------------------------------------------------------- helpers

_tb_err() {
	echo "testbed: $*" >&2
}

_tb_info() {
	echo "testbed: $*" >&2
}

# Start time (clock ticks since boot) of PID, empty when it does not exist.
_tb_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# Field 22 of stat is field 20 after "pid (comm) ".
	# shellcheck disable=SC2086 # split the fields
	set -- $stat
	echo "${20}"
}

# True when "PID STARTTIME" still names the same live process.
_tb_owner_alive() {
	local pid start now
	read -r pid start <<<"$1"
	[[ -n ${pid:-} && -n ${start:-} ]] || return 1
	now=$(_tb_starttime "$pid") || return 1
	[[ $now == "$start" ]]
}

_tb_owner_of() {
	echo "$1 $(_tb_starttime "$1")"
}

# Wait until "PID STARTTIME" is gone; TERM first, KILL after TIMEOUT seconds.
_tb_kill_owner() {
	local owner=$1 timeout=${2:-10} pid i
	_tb_owner_alive "$owner" || return 0
	read -r pid _ <<<"$owner"
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < timeout * 10; i++)); do
		_tb_owner_alive "$owner" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		_tb_owner_alive "$owner" || return 0
		sleep 0.1
	done
	_tb_err "process $pid does not exit"
	return 1
}

# Cleanup must run to its end even under the caller's "set -e".
_tb_errexit_off() {
	_TB_HAD_ERREXIT=
	if [[ $- == *e* ]]; then
		_TB_HAD_ERREXIT=1
		set +e
	fi
}

_tb_errexit_restore() {
	if [[ -n ${_TB_HAD_ERREXIT:-} ]]; then
		set -e
	fi
	_TB_HAD_ERREXIT=
}

_tb_sess() {
	echo "$KT_TESTBED_DIR/run/$_TB_SESSION_ID"
}

_tb_need_session() {
	if [[ -z $_TB_SESSION_ID || ! -d $KT_TESTBED_DIR/run/$_TB_SESSION_ID ]]; then
		_tb_err "no session: call tb_init first (in the main shell, not in \$(...))"
		return 1
	fi
}

_tb_valid_name() {
	# Odd names (spaces, quotes, commas) are allowed on purpose: the tracer must cope.
	[[ -n $1 && ${#1} -le 64 && $1 != .* && $1 != */* && ! $1 =~ [[:cntrl:]] ]]
}

# Folder of guest NAME in the current session.
# Odd names get a safe folder name (paths go into QEMU options, where ',' is special).
_tb_gdir() {
	local d=$1
	if [[ ! $d =~ ^[A-Za-z0-9_.-]+$ ]]; then
		d="${d//[!A-Za-z0-9_.-]/_}-$(printf '%s' "$1" | cksum | cut -d' ' -f1)"
	fi
	echo "$(_tb_sess)/guests/$d"
}

_tb_gget() {
	cat "$(_tb_gdir "$1")/$2" 2>/dev/null || true
}

_tb_need_guest() {
	_tb_need_session || return 1
	if [[ ! -f $(_tb_gdir "$1")/kind ]]; then
		_tb_err "unknown guest '$1' (not started by this session)"
		return 1
	fi
}

_tb_virsh() {
	timeout 60 virsh -q -c "$KT_LIBVIRT_URI" "$@"
}

_tb_virsh_ok() {
	timeout 10 virsh -q -c "$KT_LIBVIRT_URI" uri >/dev/null 2>&1
}

# Check a workload chain on the host, so that a typo fails before a VM boots.
# Sets _TB_WL_DISK_MIB (largest disk need) and _TB_WL_NET (1 when it uses the network).
_tb_check_workload() {
	local chain=$1 item kind a1 a2 rest
	local -a items
	_TB_WL_DISK_MIB=0
	_TB_WL_NET=0
	if [[ -z $chain || ! $chain =~ ^[a-z0-9:,-]+$ ]]; then
		_tb_err "bad workload '$chain' (items: burn:S idle sleep:S disk-write:M disk-read:M disk-rw:W:R net-send:M net-recv:M)"
		return 1
	fi
	IFS=, read -r -a items <<<"$chain"
	for item in "${items[@]}"; do
		kind=${item%%:*}
		rest=
		[[ $item == *:* ]] && rest=${item#*:}
		a1=${rest%%:*}
		a2=
		[[ $rest == *:* ]] && a2=${rest#*:}
		case "$kind" in
		idle) [[ -z $rest ]] && continue ;;
		burn | sleep) [[ $a1 =~ ^[0-9]+$ && -z $a2 ]] && continue ;;
		disk-write | disk-read)
			if [[ $a1 =~ ^[0-9]+$ && -z $a2 ]]; then
				((a1 > _TB_WL_DISK_MIB)) && _TB_WL_DISK_MIB=$a1
				continue
			fi
			;;
		disk-rw)
			if [[ $a1 =~ ^[0-9]+$ && $a2 =~ ^[0-9]+$ ]]; then
				((a1 > _TB_WL_DISK_MIB)) && _TB_WL_DISK_MIB=$a1
				((a2 > _TB_WL_DISK_MIB)) && _TB_WL_DISK_MIB=$a2
				continue
			fi
			;;
		net-send | net-recv)
			if [[ $a1 =~ ^[0-9]+$ && -z $a2 ]]; then
				_TB_WL_NET=1
				continue
			fi
			;;
		esac
		_tb_err "bad workload item '$item' in '$chain'"
		return 1
	done
}

# ---------------------------------------------------------------- session

# Take the test bed lock (one session at a time; nested sessions of the holder pass).
_tb_lock() {
	local lock=$KT_TESTBED_DIR/lock owner deadline said=
	if [[ -n ${KT_TB_LOCK_OWNER:-} ]] && _tb_owner_alive "$KT_TB_LOCK_OWNER" &&
		[[ $(cat "$lock/owner" 2>/dev/null) == "$KT_TB_LOCK_OWNER" ]]; then
		return 0 # an ancestor holds it
	fi
	deadline=$((SECONDS + KT_LOCK_TIMEOUT))
	while ! mkdir "$lock" 2>/dev/null; do
		owner=$(cat "$lock/owner" 2>/dev/null) || true
		if [[ -n $owner ]] && ! _tb_owner_alive "$owner"; then
			rm -rf "$lock"
			continue
		fi
		if [[ -z $owner && -n $(find "$lock" -maxdepth 0 -mmin +1 2>/dev/null) ]]; then
			rm -rf "$lock" # created by a session killed before it wrote its owner
			continue
		fi
		if ((SECONDS >= deadline)); then
			_tb_err "test bed busy: $lock held by process ${owner%% *} for more than ${KT_LOCK_TIMEOUT}s"
			return 1
		fi
		if [[ -z $said ]]; then
			_tb_info "waiting for the test bed lock held by process ${owner%% *}"
			said=1
		fi
		sleep 1
	done
	_tb_owner_of $$ >"$lock/owner"
	_TB_LOCK_HELD=1
	KT_TB_LOCK_OWNER=$(cat "$lock/owner")
	export KT_TB_LOCK_OWNER
}

_tb_unlock() {
	local lock=$KT_TESTBED_DIR/lock
	[[ -n $_TB_LOCK_HELD ]] || return 0
	if [[ $(cat "$lock/owner" 2>/dev/null) == "$(_tb_owner_of $$)" ]]; then
		rm -rf "$lock"
	fi
	_TB_LOCK_HELD=
	unset KT_TB_LOCK_OWNER
}

# Clean sessions whose shell is gone, and forget old closed ones (keep their last 10 logs).
_tb_reap_stale() {
	local d owner n=0
	for d in "$KT_TESTBED_DIR"/run/*/; do
		d=${d%/}
		[[ -d $d ]] || continue
		[[ -f $d/closed ]] && continue
		owner=$(cat "$d/owner" 2>/dev/null) || true
		if [[ -n $owner ]] && _tb_owner_alive "$owner"; then
			continue
		fi
		_tb_info "cleaning up after dead session ${d##*/}"
		_tb_cleanup_dir "$d" stale
	done
	while read -r d; do
		n=$((n + 1))
		((n > 10)) && rm -rf "$(dirname "$d")"
	done < <(ls -1t "$KT_TESTBED_DIR"/run/*/closed 2>/dev/null)
	return 0
}

# tb_init: start a session in the current (main) shell.
tb_init() {
	local sess
	if [[ $EUID -ne 0 ]]; then
		_tb_err "must run as root (QEMU taps, bridges, namespaces, libvirt)"
		return 1
	fi
	if [[ $_TB_SESSION_ID == "$$" && -d $(_tb_sess) && ! -f $(_tb_sess)/closed ]]; then
		return 0
	fi
	if ! mkdir -p "$KT_TESTBED_DIR/run" "$KT_TESTBED_DIR/guest"; then
		_tb_err "cannot create $KT_TESTBED_DIR"
		return 1
	fi
	# libvirt-qemu must traverse it to reach kernels, initrds and disks.
	chmod 0755 "$KT_TESTBED_DIR" "$KT_TESTBED_DIR/run" "$KT_TESTBED_DIR/guest"
	_tb_lock || return 1
	_tb_errexit_off
	_tb_reap_stale
	_tb_errexit_restore
	_TB_SESSION_ID=$$
	sess=$(_tb_sess)
	rm -rf "$sess"
	mkdir -p "$sess/guests"
	chmod 0755 "$sess" "$sess/guests"
	_tb_owner_of $$ >"$sess/owner"
	trap '_tb_on_exit' EXIT
	trap '_tb_on_signal INT 130' INT
	trap '_tb_on_signal TERM 143' TERM
	trap '_tb_on_signal HUP 129' HUP
}

_tb_on_exit() {
	local rc=$?
	tb_cleanup
	exit "$rc"
}

_tb_on_signal() {
	_tb_err "caught SIG$1, cleaning up"
	tb_cleanup
	trap - EXIT
	exit "$2"
}

# tb_add_cleanup CMD: run CMD (eval'd in the main shell) first in tb_cleanup, last added first.
tb_add_cleanup() {
	_tb_need_session || return 1
	printf '%s\n' "$*" >>"$(_tb_sess)/hooks"
}

# tb_sleep SECONDS: sleep that lets INT/TERM run the cleanup at once (bash defers traps
# while a foreground command runs).
tb_sleep() {
	sleep "$1" &
	_TB_SLEEP_PID=$!
	wait "$_TB_SLEEP_PID"
	_TB_SLEEP_PID=
}

# tb_session_dir: print the current session's folder (logs, state files).
tb_session_dir() {
	_tb_need_session || return 1
	_tb_sess
}

# tb_cleanup: stop everything the session started and release the test bed. Idempotent.
tb_cleanup() {
	local sess hook
	[[ -n $_TB_SESSION_ID ]] || return 0
	sess=$(_tb_sess)
	trap '' INT TERM HUP
	_tb_errexit_off
	if [[ -n ${_TB_SLEEP_PID:-} ]]; then
		kill "$_TB_SLEEP_PID" 2>/dev/null
		_TB_SLEEP_PID=
	fi
	if [[ -f $sess/hooks ]]; then
		while read -r hook; do
			if [[ -n $hook ]] && ! eval "$hook"; then
				_tb_err "cleanup hook failed: $hook"
			fi
		done < <(tac "$sess/hooks")
		rm -f "$sess/hooks"
	fi
	_tb_cleanup_dir "$sess" own
	_tb_unlock
	_TB_SESSION_ID=
	trap - EXIT INT TERM HUP
	_tb_errexit_restore
	return 0
}

# Clean one session folder: guests, network, daemons, in that order.
_tb_cleanup_dir() {
	local dir=$1 g
	for g in "$dir"/guests/*/; do
		g=${g%/}
		[[ -f $g/kind ]] || continue
		_tb_stop_gdir "$g"
	done
	[[ -f $dir/net ]] && _tb_net_down_dir "$dir"
	_tb_libvirt_down_dir "$dir"
	: >"$dir/closed"
}

# ---------------------------------------------------------------- guest image

# Newest Debian kernel in /boot with its modules installed (or $KT_GUEST_KVER).
_tb_guest_kver() {
	local f v best=
	if [[ -n $KT_GUEST_KVER ]]; then
		echo "$KT_GUEST_KVER"
		return 0
	fi
	for f in /boot/vmlinuz-*; do
		[[ -f $f ]] || continue
		v=${f#/boot/vmlinuz-}
		[[ -f /lib/modules/$v/modules.dep ]] || continue
		best+="$v"$'\n'
	done
	best=$(printf '%s' "$best" | sort -V | tail -n 1)
	if [[ -z $best ]]; then
		_tb_err "no guest kernel: install linux-image-amd64 (need /boot/vmlinuz-V and /lib/modules/V)"
		return 1
	fi
	echo "$best"
}

# Append NAME and its dependencies (first) to _TB_MODS as "name path" lines.
_tb_mod_closure() {
	local kver=$1 name=${2//-/_} path deps d
	[[ " $_TB_MOD_SEEN " == *" $name "* ]] && return 0
	_TB_MOD_SEEN+=" $name"
	if grep -q "/$name\.ko" "/lib/modules/$kver/modules.builtin" 2>/dev/null; then
		return 0
	fi
	path=$(modinfo -k "$kver" -n "$name" 2>/dev/null) || true
	if [[ -z $path ]]; then
		_tb_err "kernel module $name not found for kernel $kver"
		return 1
	fi
	[[ $path == "(builtin)" ]] && return 0
	deps=$(modinfo -k "$kver" -F depends "$name" 2>/dev/null) || true
	local -a dl
	IFS=, read -r -a dl <<<"$deps"
	for d in "${dl[@]}"; do
		[[ -n $d ]] && { _tb_mod_closure "$kver" "$d" || return 1; }
	done
	_TB_MODS+="$name $path"$'\n'
}

# Copy a module, decompressing .ko.xz/.ko.zst/.ko.gz.
_tb_copy_module() {
	local src=$1 dst=$2
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -q -dc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*)
		_tb_err "unknown module format: $src"
		return 1
		;;
	esac
}

_tb_guest_stamp() {
	local kver=$1
	{
		echo "image $_TB_IMAGE_VERSION kver $kver"
		sha256sum "/boot/vmlinuz-$kver" "$_TB_LIB_DIR/guest-init.sh" /bin/busybox | cut -d' ' -f1
	} 2>/dev/null
}

_tb_build_image() {
	local kver=$1 out=$2 tmp root a name path
	tmp=$out.tmp.$$
	root=$tmp/root
	rm -rf "$tmp"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules} || return 1
	if ldd /bin/busybox >/dev/null 2>&1 || [[ ! -x /bin/busybox ]]; then
		_tb_err "/bin/busybox is missing or not static: apt-get install busybox-static"
		rm -rf "$tmp"
		return 1
	fi
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
	done
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
	install -m 0755 "$_TB_LIB_DIR/guest-init.sh" "$root/init"
	_TB_MOD_SEEN=
	_TB_MODS=
	for name in "${_TB_GUEST_MODULES[@]}"; do
		_tb_mod_closure "$kver" "$name" || {
			rm -rf "$tmp"
			return 1
		}
	done
	while read -r name path; do
		[[ -n $name ]] || continue
		_tb_copy_module "$path" "$root/lib/modules/$name.ko" || {
			rm -rf "$tmp"
			return 1
		}
		echo "$name" >>"$root/lib/modules/load.list"
	done <<<"$_TB_MODS"
	cp "/boot/vmlinuz-$kver" "$tmp/vmlinuz"
	if ! (cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp/initrd.img"; then
		_tb_err "cannot build the initramfs (cpio/gzip failed)"
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$root"
	chmod 0755 "$tmp"
	chmod 0644 "$tmp/vmlinuz" "$tmp/initrd.img"
	_tb_guest_stamp "$kver" >"$tmp/stamp"
	rm -rf "$out"
	mv "$tmp" "$out"
}

# tb_build_guest: build (or reuse) the guest kernel + initramfs; sets TB_KERNEL, TB_INITRD, TB_KVER.
tb_build_guest() {
	local kver out d rc
	kver=$(_tb_guest_kver) || return 1
	out=$KT_TESTBED_DIR/guest/$kver
	mkdir -p "$KT_TESTBED_DIR/guest" && chmod 0755 "$KT_TESTBED_DIR" "$KT_TESTBED_DIR/guest"
	if [[ ! -f $out/stamp || $(cat "$out/stamp") != "$(_tb_guest_stamp "$kver")" ]]; then
		(
			flock -w 600 9 || {
				_tb_err "timed out waiting for another guest build"
				exit 1
			}
			if [[ ! -f $out/stamp || $(cat "$out/stamp") != "$(_tb_guest_stamp "$kver")" ]]; then
				_tb_info "building guest image for kernel $kver"
				_tb_build_image "$kver" "$out" || exit 1
			fi
		) 9>"$KT_TESTBED_DIR/guest/.lock"
		rc=$?
		((rc == 0)) || return 1
	fi
	# Images of kernels no longer installed are not needed anymore.
	for d in "$KT_TESTBED_DIR"/guest/*/; do
		d=${d%/}
		[[ -d $d && $d != "$out" && ! -e /boot/vmlinuz-${d##*/} ]] && rm -rf "$d"
	done
	# shellcheck disable=SC2034 # for callers
	TB_KVER=$kver
	TB_KERNEL=$out/vmlinuz
	TB_INITRD=$out/initrd.img
}

# ---------------------------------------------------------------- guests (common)

# Parse "[VCPUS] [--vcpus N] [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]"
# into the caller's locals o_vcpus o_disk o_cache o_net o_loop o_mem.
_tb_parse_guest_opts() {
	if [[ ${1:-} =~ ^[0-9]+$ ]]; then
		o_vcpus=$1
		shift
	fi
	while (($#)); do
		case "$1" in
		--vcpus | --disk-mib | --cache | --mem)
			if (($# < 2)); then
				_tb_err "option $1 needs a value"
				return 1
			fi
			case "$1" in
			--vcpus) o_vcpus=$2 ;;
			--disk-mib) o_disk=$2 ;;
			--cache) o_cache=$2 ;;
			--mem) o_mem=$2 ;;
			esac
			shift 2
			;;
		--net) o_net=1 && shift ;;
		--loop) o_loop=1 && shift ;;
		*)
			_tb_err "unknown option '$1' (use [VCPUS] --vcpus N --disk-mib N --cache none|writeback|writethrough|directsync|unsafe --net --loop --mem MIB)"
			return 1
			;;
		esac
	done
	if [[ ! $o_vcpus =~ ^[1-9][0-9]*$ || ! $o_disk =~ ^[0-9]+$ || ! $o_mem =~ ^[1-9][0-9]*$ ]]; then
		_tb_err "vcpus, disk size and memory must be numbers"
		return 1
	fi
	case "$o_cache" in
	none | writeback | writethrough | directsync | unsafe) ;;
	*)
		_tb_err "bad cache mode '$o_cache'"
		return 1
		;;
	esac
}

# Pick a free test-network address among every live session's guests.
_tb_alloc_ip() {
	local used='' i d g
	for d in "$KT_TESTBED_DIR"/run/*/; do
		[[ -f $d/closed ]] && continue
		for g in "$d"guests/*/; do
			# Stopped guests keep their address: the peer's per-address byte counts stay theirs.
			[[ -f $g/ip ]] && used+="$(cat "$g/ip")"$'\n'
		done
	done
	for ((i = 10; i < 250; i++)); do
		if ! grep -qx "$KT_NET_PREFIX.$i" <<<"$used"; then
			echo "$KT_NET_PREFIX.$i"
			return 0
		fi
	done
	_tb_err "no free address left on $KT_NET_PREFIX.0/24"
	return 1
}

_tb_mac_for_ip() {
	printf '52:54:00:6b:74:%02x\n' "${1##*.}"
}

_tb_cmdline() {
	local name=$1 work=$2 ip=$3 loop=$4 c
	c="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off kt.name=${name//[!A-Za-z0-9_.-]/_} kt.work=$work"
	if [[ -n $ip ]]; then
		c+=" kt.ip=$ip kt.peer=$KT_PEER_IP kt.sinkport=$KT_SINK_PORT kt.sourceport=$KT_SOURCE_PORT"
	fi
	[[ $loop == 1 ]] && c+=" kt.loop=1"
	echo "$c"
}

# Prepare a guest record: checks, image, disk, address. Sets g_dir g_ip g_disk.
_tb_prepare_guest() {
	local name=$1 work=$2
	_tb_need_session || return 1
	if ! _tb_valid_name "$name"; then
		_tb_err "bad guest name '$name' (1 to 64 characters, no '/', no control characters, no leading '.')"
		return 1
	fi
	_tb_check_workload "$work" || return 1
	g_dir=$(_tb_gdir "$name")
	if [[ -f $g_dir/kind && ! -f $g_dir/stopped ]]; then
		_tb_err "guest '$name' is already running in this session"
		return 1
	fi
	if [[ -z $TB_KERNEL || ! -f $TB_KERNEL || ! -f $TB_INITRD ]]; then
		tb_build_guest || return 1
	fi
	((_TB_WL_NET)) && o_net=1
	if ((o_disk > 0 && o_disk < _TB_WL_DISK_MIB)); then
		o_disk=$_TB_WL_DISK_MIB
	fi
	if ((o_disk == 0 && _TB_WL_DISK_MIB > 0)); then
		_tb_err "workload '$work' needs a disk but --disk-mib is 0"
		return 1
	fi
	rm -rf "$g_dir"
	mkdir -p "$g_dir"
	chmod 0755 "$g_dir"
	printf '%s\n' "$name" >"$g_dir/name"
	g_ip=
	if ((o_net)); then
		tb_net_up || return 1
		g_ip=$(_tb_alloc_ip) || return 1
		echo "$g_ip" >"$g_dir/ip"
		_tb_mac_for_ip "$g_ip" >"$g_dir/mac"
	fi
	g_disk=
	if ((o_disk > 0)); then
		g_disk=$g_dir/disk.img
		if ! truncate -s "${o_disk}M" "$g_disk"; then
			_tb_err "cannot create disk image $g_disk"
			return 1
		fi
		chmod 0644 "$g_disk"
	fi
	: >"$g_dir/serial.log"
	chmod 0644 "$g_dir/serial.log"
}

# Stop the guest recorded in folder G (any session), then drop its disk and tap.
_tb_stop_gdir() {
	local g=$1 name kind owner tap i
	[[ -f $g/stopped ]] && return 0
	name=$(cat "$g/name" 2>/dev/null) || name=${g##*/}
	kind=$(cat "$g/kind" 2>/dev/null) || true
	owner=$(cat "$g/owner" 2>/dev/null) || true
	if [[ $kind == libvirt && $name == kt-* ]] && _tb_virsh_ok; then
		if _tb_virsh domid "$name" >/dev/null 2>&1; then
			_tb_virsh destroy "$name" >/dev/null 2>&1 || _tb_err "virsh destroy $name failed"
		fi
		for ((i = 0; i < 100; i++)); do
			if [[ -z $owner ]] || ! _tb_owner_alive "$owner"; then
				break
			fi
			sleep 0.1
		done
	fi
	# Direct QEMU, or a domain whose daemon is gone: the recorded process itself.
	[[ -n $owner ]] && _tb_kill_owner "$owner" 10
	tap=$(cat "$g/tap" 2>/dev/null) || true
	if [[ $kind == qemu && $tap == kt-* ]] && ip link show "$tap" >/dev/null 2>&1; then
		ip link del "$tap" 2>/dev/null
	fi
	rm -f "$g/disk.img"
	: >"$g/stopped"
}

# tb_stop_guest NAME: stop a guest of either kind started by this session.
tb_stop_guest() {
	_tb_need_guest "$1" || return 1
	_tb_stop_gdir "$(_tb_gdir "$1")"
}

# tb_guest_pid NAME: QEMU PID of a guest of either kind.
tb_guest_pid() {
	local pid
	_tb_need_guest "$1" || return 1
	pid=$(_tb_gget "$1" pid)
	if [[ -z $pid ]]; then
		_tb_err "guest '$1' has no PID"
		return 1
	fi
	echo "$pid"
}

# tb_guest_kind NAME: "qemu" (direct) or "libvirt".
tb_guest_kind() {
	_tb_need_guest "$1" || return 1
	_tb_gget "$1" kind
}

# tb_guest_alive NAME: true while the guest's QEMU runs.
tb_guest_alive() {
	local owner
	_tb_need_guest "$1" 2>/dev/null || return 1
	[[ -f $(_tb_gdir "$1")/stopped ]] && return 1
	owner=$(_tb_gget "$1" owner)
	[[ -n $owner ]] && _tb_owner_alive "$owner"
}

# tb_serial_log NAME: path of the guest's serial console log.
tb_serial_log() {
	_tb_need_guest "$1" || return 1
	echo "$(_tb_gdir "$1")/serial.log"
}

# tb_guest_ip NAME: the guest's address on the test network (empty without --net).
tb_guest_ip() {
	_tb_need_guest "$1" || return 1
	_tb_gget "$1" ip
}

# tb_guest_tap NAME: host tap device of the guest's NIC.
tb_guest_tap() {
	local tap
	_tb_need_guest "$1" || return 1
	tap=$(_tb_gget "$1" tap)
	if [[ -z $tap && $(_tb_gget "$1" kind) == libvirt ]]; then
		tap=$(tb_domain_tap "$1") || return 1
	fi
	if [[ -z $tap ]]; then
		_tb_err "guest '$1' has no NIC (start it with --net)"
		return 1
	fi
	echo "$tap"
}

# tb_wait_log NAME ERE [TIMEOUT]: wait for a serial log line matching ERE.
tb_wait_log() {
	local name=$1 re=$2 timeout=${3:-$KT_BOOT_TIMEOUT} log deadline last
	_tb_need_guest "$name" || return 1
	log=$(_tb_gdir "$name")/serial.log
	deadline=$((SECONDS + timeout))
	while :; do
		grep -aqE -- "$re" "$log" 2>/dev/null && return 0
		if ! tb_guest_alive "$name"; then
			_tb_err "$name: QEMU exited before '$re' appeared in $log"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			last=$(tr -d '\r' <"$log" | grep -av '^$' | tail -n 1) || true
			_tb_err "$name: no '$re' in $log after ${timeout}s (last line: ${last:-none})"
			return 1
		fi
		sleep 0.2
	done
}

# tb_wait_ready NAME [TIMEOUT]: wait until the guest's /init loaded its modules.
tb_wait_ready() {
	tb_wait_log "$1" '^KT-READY' "${2:-$KT_BOOT_TIMEOUT}"
}

# tb_wait_start NAME ITEM [TIMEOUT]: wait until the workload item began.
tb_wait_start() {
	tb_wait_log "$1" "^KT-START $2( |"$'\r'"|$)" "${3:-$KT_BOOT_TIMEOUT}"
}

# tb_wait_done NAME [ITEM] [TIMEOUT]: wait for "KT-DONE ITEM" (or KT-ALL-DONE without
# ITEM); fails at once on "KT-FAIL ITEM".
tb_wait_done() {
	local name=$1 item=${2:-} timeout=${3:-$((KT_BOOT_TIMEOUT + KT_WORK_TIMEOUT))} re log
	_tb_need_guest "$name" || return 1
	log=$(_tb_gdir "$name")/serial.log
	if [[ -n $item ]]; then
		re="^KT-(DONE|FAIL) $item( |"$'\r'"|$)"
	else
		re='^KT-ALL-DONE'
	fi
	tb_wait_log "$name" "$re" "$timeout" || return 1
	if [[ -n $item ]] && grep -aqE -- "^KT-FAIL $item( |"$'\r'"|$)" "$log"; then
		_tb_err "$name: $(grep -aE -- "^KT-FAIL $item( |"$'\r'"|$)" "$log" | tail -n 1 | tr -d '\r')"
		return 1
	fi
	return 0
}

# tb_guest_result NAME ITEM KEY: value of KEY=... on the guest's KT-DONE ITEM line.
tb_guest_result() {
	local line
	_tb_need_guest "$1" || return 1
	line=$(grep -aE -- "^KT-DONE $2( |"$'\r'"|$)" "$(_tb_gdir "$1")/serial.log" | tail -n 1 | tr -d '\r') || true
	[[ " $line " =~ \ $3=([^ ]*)\  ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# ---------------------------------------------------------------- accelerator

# True when QEMU can create and reset a "-cpu host" vCPU under KVM: on software KVM (PVM) QEMU
# aborts there ("failed to set MSR 0x10a").
_tb_kvm_probe() {
	timeout 20 "$KT_QEMU" -machine pc,accel=kvm -cpu host -m 16 -nodefaults -no-user-config \
		-display none -S -monitor stdio <<<quit >/dev/null 2>&1
}

# _tb_accel_choice: prints "kvm|tcg WHY". Linux guests need hardware virtualization: a software
# KVM (the PVM vendor module) runs only guests written for it, a stock kernel never boots there.
_tb_accel_choice() {
	case $KT_ACCEL in
	kvm | tcg)
		echo "$KT_ACCEL KT_ACCEL=$KT_ACCEL"
		return 0
		;;
	auto) ;;
	*)
		_tb_err "KT_ACCEL=$KT_ACCEL: use auto, kvm or tcg"
		return 1
		;;
	esac
	if [[ ! -e $KT_DEV_KVM ]]; then
		echo "tcg no $KT_DEV_KVM: Linux guests run under TCG"
	elif [[ ! -w $KT_DEV_KVM ]]; then
		echo "tcg $KT_DEV_KVM is not writable: Linux guests run under TCG"
	elif [[ -d $KT_SYS_MODULE/kvm_pvm ]]; then
		echo "tcg $KT_DEV_KVM is software KVM (PVM): Linux guests run under TCG"
	elif ! grep -qwE 'vmx|svm' "$KT_CPUINFO" 2>/dev/null; then
		echo "tcg $KT_DEV_KVM without vmx/svm in $KT_CPUINFO: Linux guests run under TCG"
	elif ! _tb_kvm_probe; then
		echo "tcg $KT_DEV_KVM fails QEMU's KVM probe (-cpu host): Linux guests run under TCG"
	else
		echo "kvm $KT_DEV_KVM with hardware virtualization: guests run under KVM"
	fi
}

# tb_accel: kvm or tcg for this session's QEMU guests; the first call says which and why.
tb_accel() {
	local f choice
	_tb_need_session || return 1
	f=$(_tb_sess)/accel
	if [[ ! -s $f ]]; then
		choice=$(_tb_accel_choice) || return 1
		echo "$choice" >"$f"
		_tb_info "${choice#* }"
	fi
	cut -d' ' -f1 "$f"
}

# ---------------------------------------------------------------- direct QEMU

_tb_new_tap() {
	local i
	for ((i = 0; i < 1000; i++)); do
		if ! ip link show "kt-tap$i" >/dev/null 2>&1; then
			echo "kt-tap$i"
			return 0
		fi
	done
	_tb_err "no free kt-tapN name"
	return 1
}

# tb_start_qemu NAME WORKLOAD [VCPUS] [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]
# Starts QEMU directly (KVM or TCG, as tb_accel chooses) in the background; prints its PID.
tb_start_qemu() {
	local name=${1:-} work=${2:-} g_dir g_ip g_disk accel tap pid i
	local o_vcpus=1 o_disk=$KT_DISK_MIB o_cache=none o_net=0 o_loop=0 o_mem=$KT_GUEST_MEM_MIB
	local -a args
	if (($# < 2)); then
		_tb_err "usage: tb_start_qemu NAME WORKLOAD [VCPUS] [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]"
		return 1
	fi
	shift 2
	_tb_parse_guest_opts "$@" || return 1
	if ! command -v "$KT_QEMU" >/dev/null; then
		_tb_err "$KT_QEMU not found: apt-get install qemu-system-x86"
		return 1
	fi
	_tb_prepare_guest "$name" "$work" || return 1
	echo qemu >"$g_dir/kind"
	accel=$(tb_accel) || return 1
	# QEMU option syntax: a comma inside a value is written twice.
	args=(-name "guest=${name//,/,,},debug-threads=on" -machine "pc,accel=$accel"
		-m "$o_mem" -smp "$o_vcpus" -nodefaults -no-user-config -display none
		-kernel "$TB_KERNEL" -initrd "$TB_INITRD"
		-append "$(_tb_cmdline "$name" "$work" "$g_ip" "$o_loop")"
		-serial "file:$g_dir/serial.log" -monitor none -no-reboot
		-daemonize -pidfile "$g_dir/qemu.pid")
	[[ $accel == kvm ]] && args+=(-cpu host)
	if [[ -n $g_disk ]]; then
		args+=(-drive "file=$g_disk,if=virtio,format=raw,cache=$o_cache")
	fi
	if ((o_net)); then
		tap=$(_tb_new_tap) || return 1
		echo "$tap" >"$g_dir/tap"
		if ! ip tuntap add dev "$tap" mode tap ||
			! ip link set "$tap" master "$KT_BRIDGE" ||
			! ip link set "$tap" up; then
			_tb_err "cannot create tap $tap on $KT_BRIDGE"
			_tb_stop_gdir "$g_dir"
			return 1
		fi
		args+=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
			-device "virtio-net-pci,netdev=n0,mac=$(cat "$g_dir/mac")")
	fi
	printf '%q ' "$KT_QEMU" "${args[@]}" >"$g_dir/cmd"
	if ! "$KT_QEMU" "${args[@]}" </dev/null >"$g_dir/qemu.out" 2>&1; then
		_tb_err "QEMU for $name failed: $(tail -n 1 "$g_dir/qemu.out")"
		_tb_stop_gdir "$g_dir"
		return 1
	fi
	for ((i = 0; i < 50; i++)); do
		pid=$(cat "$g_dir/qemu.pid" 2>/dev/null) || true
		[[ -n $pid ]] && break
		sleep 0.1
	done
	if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
		_tb_err "QEMU for $name did not stay up: $(tail -n 1 "$g_dir/qemu.out")"
		_tb_stop_gdir "$g_dir"
		return 1
	fi
	echo "$pid" >"$g_dir/pid"
	_tb_owner_of "$pid" >"$g_dir/owner"
	echo "$pid"
}

# ---------------------------------------------------------------- libvirt

_tb_pidfile_owner() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] || return 1
	_tb_owner_of "$pid"
}

# Start daemon NAME (virtlogd, libvirtd) unless it runs; record it when we started it.
_tb_start_daemon() {
	local d=$1 sess owner i
	sess=$(_tb_sess)
	_tb_pidfile_owner "/run/$d.pid" "$d" >/dev/null && return 0
	if ! command -v "$d" >/dev/null; then
		_tb_err "$d not found: apt-get install libvirt-daemon-system"
		return 1
	fi
	if ! "$d" -d </dev/null >"$sess/$d.out" 2>&1; then
		_tb_err "$d -d failed: $(tail -n 1 "$sess/$d.out")"
		return 1
	fi
	for ((i = 0; i < 100; i++)); do
		owner=$(_tb_pidfile_owner "/run/$d.pid" "$d") && break
		sleep 0.1
	done
	if [[ -z $owner ]]; then
		_tb_err "$d did not start (no /run/$d.pid)"
		return 1
	fi
	echo "$owner" >"$sess/$d"
}

# tb_libvirt_up: make libvirt usable; starts virtlogd and libvirtd when they do not run.
tb_libvirt_up() {
	local sess i links n br
	_tb_need_session || return 1
	if ! command -v virsh >/dev/null; then
		_tb_err "virsh not found: apt-get install libvirt-clients libvirt-daemon-system"
		return 1
	fi
	_tb_virsh_ok && return 0
	sess=$(_tb_sess)
	links=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1)
	_tb_start_daemon virtlogd || return 1
	if ! _tb_pidfile_owner /run/libvirtd.pid libvirtd >/dev/null; then
		_tb_start_daemon libvirtd || return 1
	fi
	for ((i = 0; i < 300; i++)); do
		_tb_virsh_ok && break
		sleep 0.1
	done
	if ! _tb_virsh_ok; then
		_tb_err "libvirtd runs but $KT_LIBVIRT_URI does not answer"
		return 1
	fi
	# Networks that came up because we started the daemon go down with it.
	if [[ -f $sess/libvirtd ]]; then
		for n in $(_tb_virsh net-list --name 2>/dev/null); do
			br=$(_tb_virsh net-info "$n" 2>/dev/null | awk '$1 == "Bridge:" {print $2}') || true
			if [[ -n $br ]] && ! grep -qx "$br" <<<"$links"; then
				echo "$n" >>"$sess/libvirt-nets"
			fi
		done
	fi
}

_tb_libvirt_down_dir() {
	local dir=$1 n
	if [[ -f $dir/libvirtd ]] && _tb_owner_alive "$(cat "$dir/libvirtd")"; then
		if [[ -f $dir/libvirt-nets ]]; then
			while read -r n; do
				[[ -n $n ]] && _tb_virsh net-destroy "$n" >/dev/null 2>&1
			done <"$dir/libvirt-nets"
		fi
		_tb_kill_owner "$(cat "$dir/libvirtd")" 20
	fi
	if [[ -f $dir/virtlogd ]]; then
		_tb_kill_owner "$(cat "$dir/virtlogd")" 10
	fi
	rm -f "$dir/libvirtd" "$dir/virtlogd" "$dir/libvirt-nets"
}

# tb_domain_pid NAME: QEMU PID of a running libvirt domain (from /run/libvirt/qemu/NAME.pid).
tb_domain_pid() {
	local pid
	# libvirt 9 names the pid file of a domain called a'b "a&apos;b.pid" (XML-escaped).
	pid=$(cat "/run/libvirt/qemu/$1.pid" 2>/dev/null) ||
		pid=$(cat "/run/libvirt/qemu/$(_tb_xml_escape "$1").pid" 2>/dev/null) || true
	if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
		_tb_err "domain '$1' has no running QEMU (/run/libvirt/qemu/$1.pid)"
		return 1
	fi
	echo "$pid"
}

# tb_domain_tap NAME: tap device (vnetN) of the domain's first NIC.
tb_domain_tap() {
	local tap
	tap=$(_tb_virsh domiflist "$1" 2>/dev/null | awk 'NF >= 2 {print $1; exit}') || true
	if [[ -z $tap || $tap == - ]]; then
		_tb_err "domain '$1' has no tap device"
		return 1
	fi
	echo "$tap"
}

_tb_xml_escape() {
	local s=$1
	# Quoted replacements: bash 5.2 expands a bare & to the match (patsub_replacement).
	s=${s//&/"&amp;"}
	s=${s//</"&lt;"}
	s=${s//>/"&gt;"}
	s=${s//\'/"&apos;"}
	echo "$s"
}

# tb_start_domain NAME WORKLOAD [--vcpus N] [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]
# Defines and starts a transient libvirt domain; NAME gets a "kt-" prefix when it lacks
# one; prints the domain name.
tb_start_domain() {
	local name=${1:-} work=${2:-} g_dir g_ip g_disk type=qemu cpu xml pid i
	local o_vcpus=1 o_disk=$KT_DISK_MIB o_cache=none o_net=0 o_loop=0 o_mem=$KT_GUEST_MEM_MIB
	if (($# < 2)); then
		_tb_err "usage: tb_start_domain NAME WORKLOAD [--vcpus N] [--disk-mib N] [--cache MODE] [--net] [--loop] [--mem MIB]"
		return 1
	fi
	shift 2
	[[ $name == kt-* ]] || name=kt-$name
	_tb_parse_guest_opts "$@" || return 1
	tb_libvirt_up || return 1
	if _tb_virsh dominfo "$name" >/dev/null 2>&1; then
		_tb_err "domain $name already exists (not started by this session?)"
		return 1
	fi
	_tb_prepare_guest "$name" "$work" || return 1
	echo libvirt >"$g_dir/kind"
	cpu=
	if [[ $(tb_accel) == kvm ]]; then
		type=kvm
		cpu="
  <cpu mode='host-passthrough'/>"
	fi
	xml="<domain type='$type'>
  <name>$(_tb_xml_escape "$name")</name>
  <memory unit='MiB'>$o_mem</memory>
  <vcpu>$o_vcpus</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$TB_KERNEL</kernel>
    <initrd>$TB_INITRD</initrd>
    <cmdline>$(_tb_xml_escape "$(_tb_cmdline "$name" "$work" "$g_ip" "$o_loop")")</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>$cpu
  <devices>
    <serial type='file'>
      <source path='$g_dir/serial.log' append='off'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>"
	if [[ -n $g_disk ]]; then
		xml+="
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='$o_cache'/>
      <source file='$g_disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>"
	fi
	if ((o_net)); then
		xml+="
    <interface type='bridge'>
      <source bridge='$KT_BRIDGE'/>
      <mac address='$(cat "$g_dir/mac")'/>
      <model type='virtio'/>
    </interface>"
	fi
	xml+="
  </devices>
</domain>"
	echo "$xml" >"$g_dir/domain.xml"
	if ! _tb_virsh create "$g_dir/domain.xml" >"$g_dir/virsh.out" 2>&1; then
		_tb_err "virsh create $name failed: $(grep -v '^$' "$g_dir/virsh.out" | tail -n 1)"
		: >"$g_dir/stopped"
		rm -f "$g_disk"
		return 1
	fi
	for ((i = 0; i < 100; i++)); do
		pid=$(tb_domain_pid "$name" 2>/dev/null) && break
		sleep 0.1
	done
	if [[ -z $pid ]]; then
		_tb_err "domain $name started but has no QEMU PID"
		_tb_stop_gdir "$g_dir"
		return 1
	fi
	echo "$pid" >"$g_dir/pid"
	_tb_owner_of "$pid" >"$g_dir/owner"
	if ((o_net)); then
		tb_domain_tap "$name" >"$g_dir/tap" 2>/dev/null
	fi
	echo "$name"
}

# tb_destroy_domain NAME: destroy a domain started by this session.
tb_destroy_domain() {
	local name=$1
	[[ $name == kt-* ]] || name=kt-$name
	_tb_need_guest "$name" || return 1
	if [[ $(_tb_gget "$name" kind) != libvirt ]]; then
		_tb_err "'$name' is not a libvirt domain"
		return 1
	fi
	_tb_stop_gdir "$(_tb_gdir "$name")"
}

# ---------------------------------------------------------------- network

# tb_net_up: bridge $KT_BRIDGE, namespace $KT_NETNS holding $KT_PEER_IP and the peer server.
tb_net_up() {
	local sess vb vp py i d
	_tb_need_session || return 1
	sess=$(_tb_sess)
	if [[ $KT_BRIDGE != kt-* || $KT_NETNS != kt-* || ${#KT_BRIDGE} -gt 12 ]]; then
		_tb_err "KT_BRIDGE and KT_NETNS must start with kt- (bridge name at most 12 characters)"
		return 1
	fi
	[[ -f $sess/net ]] && return 0
	if ip link show "$KT_BRIDGE" >/dev/null 2>&1; then
		# Reuse the network of a live enclosing session.
		for d in "$KT_TESTBED_DIR"/run/*/; do
			d=${d%/}
			if [[ -f $d/net && ! -f $d/closed ]] && grep -qx "bridge $KT_BRIDGE" "$d/net"; then
				return 0
			fi
		done
		_tb_err "bridge $KT_BRIDGE exists but no test bed session owns it; delete it (ip link del $KT_BRIDGE) or set KT_BRIDGE"
		return 1
	fi
	if ip netns list | grep -qw -- "$KT_NETNS"; then
		_tb_err "network namespace $KT_NETNS exists but no test bed session owns it; delete it (ip netns del $KT_NETNS) or set KT_NETNS"
		return 1
	fi
	py=/usr/bin/python3
	[[ -x $py ]] || py=$(command -v python3) || {
		_tb_err "python3 not found (needed for the test network's peer)"
		return 1
	}
	vb=$KT_BRIDGE-vb
	vp=$KT_BRIDGE-vp
	# Record first, so a half-built network is still torn down.
	printf 'bridge %s\nnetns %s\nveth %s\n' "$KT_BRIDGE" "$KT_NETNS" "$vb" >"$sess/net"
	if ! ip link add "$KT_BRIDGE" type bridge stp_state 0 forward_delay 0 ||
		! ip link set "$KT_BRIDGE" up ||
		! ip netns add "$KT_NETNS" ||
		! ip link add "$vb" type veth peer name "$vp" ||
		! ip link set "$vp" netns "$KT_NETNS" ||
		! ip link set "$vb" master "$KT_BRIDGE" ||
		! ip link set "$vb" up ||
		! ip -n "$KT_NETNS" link set lo up ||
		! ip -n "$KT_NETNS" addr add "$KT_PEER_IP/24" dev "$vp" ||
		! ip -n "$KT_NETNS" link set "$vp" up; then
		_tb_err "cannot build the test network ($KT_BRIDGE, $KT_NETNS)"
		_tb_net_down_dir "$sess"
		return 1
	fi
	# The host takes no part in the test network.
	sysctl -qw "net.ipv6.conf.$KT_BRIDGE.disable_ipv6=1" "net.ipv6.conf.$vb.disable_ipv6=1" >/dev/null 2>&1
	ip netns exec "$KT_NETNS" sysctl -qw "net.ipv6.conf.$vp.disable_ipv6=1" >/dev/null 2>&1
	: >"$sess/peer.log"
	ip netns exec "$KT_NETNS" "$py" "$_TB_LIB_DIR/peer.py" --bind "$KT_PEER_IP" \
		--sink-port "$KT_SINK_PORT" --source-port "$KT_SOURCE_PORT" --log "$sess/peer.log" \
		</dev/null >"$sess/peer.out" 2>&1 &
	echo "$!" >"$sess/peer.pid"
	_tb_owner_of "$!" >"$sess/peer.owner"
	for ((i = 0; i < 100; i++)); do
		grep -qx ready "$sess/peer.log" && return 0
		grep -q '^error' "$sess/peer.log" && break
		_tb_owner_alive "$(cat "$sess/peer.owner")" || break
		sleep 0.1
	done
	_tb_err "peer server did not start: $(cat "$sess/peer.log" "$sess/peer.out" 2>/dev/null | tail -n 1)"
	_tb_net_down_dir "$sess"
	return 1
}

_tb_net_down_dir() {
	local dir=$1 br ns vb
	[[ -f $dir/net ]] || return 0
	br=$(awk '$1 == "bridge" {print $2}' "$dir/net")
	ns=$(awk '$1 == "netns" {print $2}' "$dir/net")
	vb=$(awk '$1 == "veth" {print $2}' "$dir/net")
	[[ -f $dir/peer.owner ]] && _tb_kill_owner "$(cat "$dir/peer.owner")" 5
	if [[ $ns == kt-* ]] && ip netns list | grep -qw -- "$ns"; then
		ip netns del "$ns"
	fi
	if [[ $vb == kt-* ]] && ip link show "$vb" >/dev/null 2>&1; then
		ip link del "$vb"
	fi
	if [[ $br == kt-* ]] && ip link show "$br" >/dev/null 2>&1; then
		ip link del "$br"
	fi
	rm -f "$dir/net" "$dir/peer.owner" "$dir/peer.pid"
}

# tb_net_down: tear down the test network if this session built it.
tb_net_down() {
	_tb_need_session || return 1
	_tb_net_down_dir "$(_tb_sess)"
}

# tb_peer_bytes sink|source IP: bytes the peer received from (sink) or sent to (source) IP.
tb_peer_bytes() {
	local d
	_tb_need_session || return 1
	for d in "$KT_TESTBED_DIR"/run/*/; do
		[[ -f $d/net && ! -f $d/closed ]] || continue
		awk -v k="$1" -v ip="$2" '$1 == k && $2 == ip {s += $3} END {print s + 0}' "$d/peer.log"
		return 0
	done
	_tb_err "no test network is up"
	return 1
}
