#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian package (issue 16): make deb builds kvmtrace-bpf_VERSION_amd64.deb with debhelper from
# a copy of the tree (nothing written beside or in the tree); lintian finds no error or
# warning; apt-get install puts the binary, the unit (enabled), the config and the logrotate
# snippet (conffiles), the man page and the example rules in place, and kvmtrace-bpf --version
# is the package's; a reinstall keeps a changed config; remove keeps config and logs; purge
# leaves nothing: no file of the package, no config, no /var/log/kvmtrace-bpf, no enablement.
# This host may have no systemd as PID 1: enabling must not fail there. The package is always
# purged at the end, even after a failure. Skips (saying why) where dpkg-buildpackage cannot
# run, where this is not root, and where kvmtrace-bpf is already on this host (not ours to
# replace).
. "$(dirname "$0")/prelude.sh" "$@"
pkg=kvmtrace-bpf
bin=/usr/sbin/kvmtrace-bpf
unit=/lib/systemd/system/kvmtrace-bpf.service
conf=/etc/kvmtrace-bpf.conf
rot=/etc/logrotate.d/kvmtrace-bpf
man=/usr/share/man/man8/kvmtrace-bpf.8.gz
doc=/usr/share/doc/kvmtrace-bpf
logdir=/var/log/kvmtrace-bpf
etcdir=/etc/kvmtrace-bpf
wants=/etc/systemd/system/multi-user.target.wants/kvmtrace-bpf.service
dsh=/var/lib/systemd/deb-systemd-helper-enabled/kvmtrace-bpf.service.dsh-also
version=$(sed -n 's/^VERSION := //p' Makefile)

# dpkg's view of the package: not-installed (or nothing) when unknown.
pkg_status() {
	local s
	s=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)
	echo "${s:-not-installed}"
}

[ "$(id -u)" -eq 0 ] || t_skip "not root: installing and purging the package needs root"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh apt-get; do
	command -v "$tool" >/dev/null ||
		t_skip "$tool not found, dpkg-buildpackage cannot run here:" \
			"apt-get install dpkg-dev debhelper (scripts/install-deps.sh)"
done
why=$(dpkg-checkbuilddeps debian/control 2>&1) ||
	t_skip "dpkg-buildpackage cannot run here: $why (scripts/install-deps.sh)"

# One package test at a time on this host, and never over an installation not its own.
exec 9>/run/lock/kt-e2e-deb.lock
flock -w 900 9 || t_skip "another test_deb holds /run/lock/kt-e2e-deb.lock"
[ "$(pkg_status)" = not-installed ] ||
	t_skip "$pkg is on this host ($(pkg_status)): the test would purge it"
for path in "$bin" "$unit" "$conf" "$rot" "$man" "$doc" "$logdir" "$etcdir" "$wants" "$dsh"; do
	[ -e "$path" ] || [ -L "$path" ] &&
		t_skip "$path exists (a make install?): the package would replace it and its purge remove it"
done

work=$(mktemp -d /tmp/kt-e2e-deb.XXXXXX)
# apt reads a local .deb as the _apt user where it can.
chmod 0755 "$work"
# The test's own output, for cleanup: a signal may run it inside a command's redirection.
exec 3>&1
cleanup() {
	if [ "$(pkg_status)" != not-installed ]; then
		echo "cleanup: purging $pkg ($(pkg_status))" >&3
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 \
			"$pkg" </dev/null >/dev/null 2>&1 ||
			dpkg --purge --force-all "$pkg" >/dev/null 2>&1
	fi
	# None of these existed before the test (checked above): what is left is the test's.
	rm -rf "$bin" "$unit" "$conf" "$rot" "$man" "$doc" "$logdir" "$etcdir" "$wants" "$dsh"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" </dev/null
}

# mode_is MODE FILE: a file with this mode.
mode_is() {
	[ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ]
}

# --- 1. make deb, from a copy of the tree
# debian/control's Build-Depends name the package of every pkg-config module the Makefile uses.
builddeps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' debian/control | sed '$d')
missing=
for module in $(grep -oE '\$\(PKG_CONFIG\) --(cflags|libs) [a-z0-9._+ -]+' Makefile |
	cut -d' ' -f3- | tr ' ' '\n' | grep -v '^[0-9]*$' | sort -u); do
	owner=$(dpkg -S "$(pkg-config --path "$module" 2>/dev/null)" 2>/dev/null | cut -d: -f1)
	grep -qw -- "${owner:-?}" <<<"$builddeps" || missing="$missing $module(${owner:-?})"
done
t_check "Build-Depends has every pkg-config module of the Makefile (missing:${missing:- none})" \
	test -z "$missing"
before=$(ls -d ../"$pkg"_* ../"$pkg"-dbgsym_* 2>/dev/null)
in_tree=$(ls -d debian/build "debian/$pkg" debian/files debian/.debhelper 2>/dev/null)
out=$work/out
make -s deb OUTPUT="$out" >"$work/deb.log" 2>&1
status=$?
t_check "make deb exits 0 ($status: $(tail -n 1 "$work/deb.log"))" test "$status" -eq 0
[ "$status" -eq 0 ] || tail -n 30 "$work/deb.log"
deb=$(find "$out" -maxdepth 1 -name "${pkg}_*.deb" 2>/dev/null | head -n 1)
t_check "the .deb is in OUTPUT: ${deb:-none}" test -n "$deb" -a -f "${deb:-/nonexistent}"
if [ -z "$deb" ]; then
	echo "no package built: nothing to check, install or purge"
	t_summary
	exit
fi
t_check "it is ${pkg}_${version}_amd64.deb (the Makefile's VERSION, debian/changelog's)" \
	test "$(basename "$deb")" = "${pkg}_${version}_amd64.deb" -a \
	"$(dpkg-parsechangelog -S Version)" = "$version"
t_check "dpkg-buildpackage wrote nothing beside the tree" \
	test "$(ls -d ../"$pkg"_* ../"$pkg"-dbgsym_* 2>/dev/null)" = "$before"
t_check "nor in it (debian/build, debian/$pkg, debian/files, debian/.debhelper)" \
	test "$(ls -d debian/build "debian/$pkg" debian/files debian/.debhelper 2>/dev/null)" = \
	"$in_tree"

dpkg-deb -c "$deb" >"$work/contents" 2>&1
dpkg-deb -e "$deb" "$work/control" 2>/dev/null
for f in ./usr/sbin/kvmtrace-bpf ./lib/systemd/system/kvmtrace-bpf.service ./etc/kvmtrace-bpf.conf \
	./etc/logrotate.d/kvmtrace-bpf ./usr/share/man/man8/kvmtrace-bpf.8.gz \
	./usr/share/doc/kvmtrace-bpf/copyright ./usr/share/doc/kvmtrace-bpf/examples/kvmtrace-bpf.rules.yml; do
	t_check "the package holds $f" grep -q " $f\$" "$work/contents"
done
t_check "conffiles: /etc/kvmtrace-bpf.conf and /etc/logrotate.d/kvmtrace-bpf" \
	test "$(sort "$work/control/conffiles" 2>/dev/null | tr '\n' ' ')" = "$conf $rot "
t_check "postinst enables the unit (deb-systemd-helper enable)" \
	grep -q "deb-systemd-helper enable 'kvmtrace-bpf.service'" "$work/control/postinst"
t_check "postinst starts it only where systemd runs (/run/systemd/system)" \
	grep -q 'if \[ -d /run/systemd/system \]; then' "$work/control/postinst"
t_check "postrm purge removes $logdir" grep -qx "	rm -rf $logdir" "$work/control/postrm"
t_check "postrm purge has deb-systemd-helper purge the unit's enablement" \
	grep -q "deb-systemd-helper purge 'kvmtrace-bpf.service'" "$work/control/postrm"
mkdir "$work/x"
dpkg-deb -x "$deb" "$work/x"
t_check "the binary is stripped and hardened (PIE, RELRO, BIND_NOW)" \
	bash -c "readelf -h '$work/x$bin' | grep -q 'DYN ' &&
		readelf -lW '$work/x$bin' | grep -q GNU_RELRO &&
		readelf -dW '$work/x$bin' | grep -q 'BIND_NOW' &&
		! readelf -SW '$work/x$bin' | grep -q '\.debug_info'"

# --- 2. lintian
if command -v lintian >/dev/null; then
	lintian --pedantic --display-info "$deb" >"$work/lintian.out" 2>"$work/lintian.err"
	status=$?
	echo "lintian: $(grep -c '^[EWIPX]:' "$work/lintian.out") tags:"
	sed 's/^/  /' "$work/lintian.out"
	t_check "lintian ran ($status: $(grep -v 'root privileges' "$work/lintian.err" | head -c 300))" \
		test "$status" -eq 0 -o "$status" -eq 1
	t_check "lintian: no error" test "$(grep -c '^E:' "$work/lintian.out")" -eq 0
	t_check "lintian: no warning" test "$(grep -c '^W:' "$work/lintian.out")" -eq 0
else
	t_fail "lintian not found: apt-get install lintian (scripts/install-deps.sh)"
fi

# --- 3. apt-get install
apt_get install "$deb" >"$work/install.out" 2>&1
status=$?
t_check "apt-get install $deb exits 0 ($status: $(tail -n 1 "$work/install.out"))" \
	test "$status" -eq 0
[ "$status" -eq 0 ] || tail -n 20 "$work/install.out"
t_check "dpkg: $pkg $version installed ($(pkg_status))" \
	test "$(pkg_status)" = installed -a \
	"$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)" = "$version"
t_check "binary $bin, 0755" mode_is 755 "$bin"
t_check "unit $unit, 0644" mode_is 644 "$unit"
t_check "config $conf, 0640" mode_is 640 "$conf"
t_check "logrotate snippet $rot, 0644" mode_is 644 "$rot"
t_check "man page $man, 0644" mode_is 644 "$man"
t_check "example rules in $doc/examples" test -f "$doc/examples/kvmtrace-bpf.rules.yml"
t_check "dpkg registers both conffiles" \
	test "$(dpkg-query -W -f='${Conffiles}\n' "$pkg" | awk 'NF {print $1}' | sort | tr '\n' ' ')" \
	= "$conf $rot "
t_check "the unit is the project's, with the installed paths" \
	grep -qx "ExecStart=$bin -C $conf -q" "$unit"
t_check "the config is the project's" cmp -s "$conf" dist/kvmtrace-bpf.conf
got=$("$bin" --version 2>&1)
t_check "kvmtrace-bpf --version: '$got' is $version" test "$got" = "kvmtrace-bpf $version"
"$bin" -C "$conf" --help >/dev/null 2>"$work/help.err"
t_check "the installed config parses (-C $conf --help: $?)" test ! -s "$work/help.err"
if [ -d /run/systemd/system ]; then
	t_check "systemd: the service is enabled ($(systemctl is-enabled kvmtrace-bpf 2>&1))" \
		test "$(systemctl is-enabled kvmtrace-bpf 2>&1)" = enabled
else
	echo "no systemd as PID 1 here: enabled by its symlink, not started"
fi
t_check "the service is enabled: $wants -> $unit" \
	test "$(readlink "$wants" 2>/dev/null)" = "$unit"
t_check "deb-systemd-helper recorded it, for purge: $dsh" test -f "$dsh"
dpkg -L "$pkg" >"$work/files" 2>/dev/null

# --- 4. what a running service and an administrator would add; a reinstall keeps the config
mkdir -m 0750 "$logdir" "$etcdir"
echo "timestamp,vm" >"$logdir/web01.csv"
echo "timestamp,vm" | gzip -n >"$logdir/web01.csv.20261201T000000Z.gz"
printf 'user = admin\npassword = secret\n' >"$etcdir/plug.conf"
chmod 0600 "$etcdir/plug.conf"
echo "interval = 2" >>"$conf"
cp "$conf" "$work/conf.changed"
apt_get install --reinstall "$deb" >"$work/reinstall.out" 2>&1
status=$?
t_check "apt-get install --reinstall exits 0 ($status: $(tail -n 1 "$work/reinstall.out"))" \
	test "$status" -eq 0
t_check "a changed config survives a reinstall" cmp -s "$conf" "$work/conf.changed"

# --- 5. remove: the program goes, config and logs stay
apt_get remove "$pkg" >"$work/remove.out" 2>&1
status=$?
t_check "apt-get remove exits 0 ($status: $(tail -n 1 "$work/remove.out"))" test "$status" -eq 0
t_check "remove: the package is config-files ($(pkg_status))" test "$(pkg_status)" = config-files
t_check "remove takes the binary, unit, man page and example rules" \
	test ! -e "$bin" -a ! -e "$unit" -a ! -e "$man" -a ! -e "$doc/examples/kvmtrace-bpf.rules.yml"
t_check "remove keeps the config, the logrotate snippet, the logs and plug.conf" \
	test -f "$conf" -a -f "$rot" -a -f "$logdir/web01.csv" -a -f "$etcdir/plug.conf"

# --- 6. purge: nothing left
apt_get purge "$pkg" >"$work/purge.out" 2>&1
status=$?
t_check "apt-get purge exits 0 ($status: $(tail -n 1 "$work/purge.out"))" test "$status" -eq 0
t_check "purge: dpkg no longer knows $pkg ($(pkg_status))" test "$(pkg_status)" = not-installed
for path in "$bin" "$unit" "$conf" "$rot" "$man" "$doc" "$logdir" "$etcdir" "$wants" "$dsh"; do
	t_check "purge leaves no $path" test ! -e "$path" -a ! -L "$path"
done
left=
while read -r f; do
	# Folders stay when other packages have files there (/lib is merged /usr's link).
	if [ -f "$f" ] || { [ -L "$f" ] && [ ! -d "$f" ]; }; then
		left="$left $f"
	fi
done <"$work/files"
t_check "purge leaves no file of the package's $(wc -l <"$work/files") paths (left:${left:- none})" \
	test -n "$(cat "$work/files")" -a -z "$left"

t_summary
