#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Service install (issue 7, part 2): make install DESTDIR lays out the binary, the unit, the man
# page, the logrotate snippet and the config file with their modes and keeps a changed config;
# systemd-analyze accepts the unit; the man page renders without warnings and documents every
# option; the installed config parses and the command line overrides it; uninstall leaves only
# the config.
. "$(dirname "$0")/prelude.sh" "$@"
work=$(mktemp -d /tmp/kt-e2e-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest=$work/root

# mode_is MODE FILE: the file exists with this mode.
mode_is() {
	[ -f "$2" ] && [ "$(stat -c %a "$2")" = "$1" ]
}

# --- 1. the layout
make -s install DESTDIR="$dest" OUTPUT="$build" >"$work/install.out" 2>&1
t_check "make install DESTDIR exits 0" test $? -eq 0
bin=$dest/usr/sbin/kvmtrace-bpf
unit=$dest/lib/systemd/system/kvmtrace-bpf.service
conf=$dest/etc/kvmtrace-bpf.conf
man=$dest/usr/share/man/man8/kvmtrace-bpf.8.gz
rot=$dest/etc/logrotate.d/kvmtrace-bpf
t_check "binary /usr/sbin/kvmtrace-bpf, 0755" mode_is 755 "$bin"
t_check "unit /lib/systemd/system/kvmtrace-bpf.service, 0644" mode_is 644 "$unit"
t_check "config /etc/kvmtrace-bpf.conf, 0640" mode_is 640 "$conf"
t_check "man page /usr/share/man/man8/kvmtrace-bpf.8.gz, 0644" mode_is 644 "$man"
t_check "logrotate snippet /etc/logrotate.d/kvmtrace-bpf, 0644" mode_is 644 "$rot"
t_check "the installed binary is the build's" cmp -s "$bin" "$build/kvmtrace-bpf"
t_check "nothing else installed (5 files)" \
	test "$(find "$dest" -type f | wc -l)" -eq 5
# gzip -n: no name or time stamp in the header, so two installs give the same bytes.
t_check "man page gzip'ed without name or time (gzip -n)" \
	test "$(od -An -tu4 -j4 -N4 "$man" | tr -d ' ')" -eq 0
t_check "man page is the source, compressed" cmp -s <(zcat "$man") dist/kvmtrace-bpf.8

# A changed config survives a reinstall.
echo "interval = 2" >>"$conf"
cp "$conf" "$work/conf.changed"
make -s install DESTDIR="$dest" OUTPUT="$build" >"$work/install2.out" 2>&1
t_check "second make install exits 0 and says it keeps the config" \
	grep -q "keeping $conf" "$work/install2.out"
t_check "a changed config is not overwritten" cmp -s "$conf" "$work/conf.changed"
cp dist/kvmtrace-bpf.conf "$conf"

# --- 2. the unit
t_check "ExecStart runs the installed binary with the installed config, quiet" \
	grep -qx 'ExecStart=/usr/sbin/kvmtrace-bpf -C /etc/kvmtrace-bpf.conf -q' "$unit"
for key in Type=simple Restart=on-failure NoNewPrivileges=yes UMask=0027 ProtectSystem=strict \
	LogsDirectory=kvmtrace-bpf; do
	t_check "unit sets $key" grep -qx "$key" "$unit"
done
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists and that the Documentation= page is there: a copy
	# of the installed unit whose paths point into the staged tree, man pages from there.
	mkdir "$work/units"
	sed -e "s|/usr/sbin/kvmtrace-bpf|$bin|" -e "s|/etc/kvmtrace-bpf.conf|$conf|" \
		"$unit" >"$work/units/kvmtrace-bpf.service"
	MANPATH=$dest/usr/share/man systemd-analyze verify "$work/units/kvmtrace-bpf.service" \
		>"$work/verify.out" 2>&1
	status=$?
	t_check "systemd-analyze verify accepts the unit (status $status)" test "$status" -eq 0
	t_check "systemd-analyze verify says nothing about it: $(head -c 300 "$work/verify.out")" \
		test ! -s "$work/verify.out"
	systemd-analyze security --offline=true "$work/units/kvmtrace-bpf.service" \
		>"$work/security.out" 2>&1
	level=$(sed -n 's/.*Overall exposure level for kvmtrace-bpf.service: \([0-9.]*\).*/\1/p' \
		"$work/security.out")
	echo "systemd-analyze security: exposure ${level:-?}"
	t_check "systemd-analyze security rates its exposure below 5 (${level:-none})" \
		"$T_PYTHON" -c "import sys; sys.exit(not ('$level' and float('$level') < 5))"
else
	t_fail "systemd-analyze not found: apt-get install systemd (scripts/install-deps.sh)"
fi

# --- 3. the man page
if command -v man >/dev/null; then
	MANWIDTH=100 LC_ALL=C.UTF-8 man -l "$man" >"$work/man.txt" 2>"$work/man.err"
	t_check "man -l renders the page" test $? -eq 0 -a -s "$work/man.txt"
	for section in NAME SYNOPSIS DESCRIPTION OPTIONS "CONFIGURATION FILE" SIGNALS \
		"EXIT STATUS" FILES SECURITY EXAMPLES "SEE ALSO"; do
		t_check "man page has $section" grep -qx "$section" "$work/man.txt"
	done
else
	t_fail "man not found: apt-get install man-db (scripts/install-deps.sh)"
	: >"$work/man.txt"
fi
zcat "$man" | groff -man -Tutf8 -ww -z >"$work/groff.err" 2>&1
t_check "groff -man -ww: no warnings: $(head -c 300 "$work/groff.err")" test ! -s "$work/groff.err"
missing=
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$opt" "$work/man.txt" || missing="$missing $opt"
done
t_check "the man page documents every option of --help (missing:${missing:- none})" \
	test -z "$missing"

# --- 4. the config file: every option that is a setting has its key, and it parses
missing=
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	case $opt in --help | --version | --config) continue ;; esac
	grep -q "^#\?${opt#--} = " "$conf" || missing="$missing ${opt#--}"
done
t_check "the config file shows every key (missing:${missing:- none})" test -z "$missing"
t_check "output = /var/log/kvmtrace-bpf is the one setting made" \
	test "$(grep -v '^#' "$conf" | grep -c .)" -eq 1 -a \
	"$(grep -v '^#' "$conf" | grep .)" = "output = /var/log/kvmtrace-bpf"
"$bin" -C "$conf" --help >"$work/help.out" 2>"$work/help.err"
status=$?
t_check "the installed config parses: -C CONF --help exits 0 ($status: $(cat "$work/help.err"))" \
	test "$status" -eq 0
printf 'interval = 1\n# a comment\n\nintervall = 2\n' >"$work/bad.conf"
"$bin" -C "$work/bad.conf" --help >/dev/null 2>"$work/bad.err"
status=$?
want="^kvmtrace-bpf: $work/bad.conf:4: unknown key 'intervall'"
t_check "a misspelt key: status 2, one line naming file and line: $(cat "$work/bad.err")" \
	test "$status" -eq 2 -a "$(wc -l <"$work/bad.err")" -eq 1 -a \
	"$(grep -c "$want" "$work/bad.err")" -eq 1
printf 'interval = 0\n' >"$work/bad-value.conf"
"$bin" -C "$work/bad-value.conf" --help >/dev/null 2>"$work/bad-value.err"
status=$?
t_check "a bad value: status 2, the option's own message: $(cat "$work/bad-value.err")" \
	test "$status" -eq 2 -a "$(grep -c "invalid interval '0'" "$work/bad-value.err")" -eq 1
# The command line wins: the config's output folder is replaced by -o, its count kept.
mkdir "$work/from-conf" "$work/from-cli"
printf 'output = %s\ncount = 2\ninterval = 0.2\nlibvirt-uri = none\n' "$work/from-conf" \
	>"$work/run.conf"
printf 'sample-hz = 0\ncounters = none\npower = none\n' >>"$work/run.conf"
timeout 60 "$bin" -C "$work/run.conf" -q -o "$work/from-cli" 2>"$work/run.err"
status=$?
t_check "a run with -C and -o exits 0 after the config's count ($status: $(tail -n 1 \
	"$work/run.err"))" \
	test "$status" -eq 0
t_check "-o on the command line overrides the config's output" \
	test -f "$work/from-cli/@host.csv" -a ! -e "$work/from-conf/@host.csv"
t_check "the config's count (2) applies: 2 host rows" \
	test "$(t_rows "$work/from-cli/@host.csv" 2>/dev/null || echo 0)" -eq 2

# --- 5. logrotate accepts the snippet (debug mode: nothing is rotated)
if command -v logrotate >/dev/null; then
	logrotate -d -s "$work/logrotate.state" "$rot" >"$work/logrotate.out" 2>&1
	status=$?
	t_check "logrotate -d reads the snippet without error ($status)" \
		test "$status" -eq 0 -a "$(grep -ci 'error' "$work/logrotate.out")" -eq 0
	want='rotating pattern: /var/log/kvmtrace-bpf/\*.csv  after 1 days (14 rotations)'
	t_check "logrotate: daily, 14 kept" grep -q "$want" "$work/logrotate.out"
else
	t_fail "logrotate not found: apt-get install logrotate (scripts/install-deps.sh)"
fi
t_check "postrotate sends SIGHUP to the service's main process" \
	grep -q 'systemctl kill --kill-whom=main --signal=HUP kvmtrace-bpf.service' "$rot"

# --- 6. uninstall: all but the config
make -s uninstall DESTDIR="$dest" OUTPUT="$build" >"$work/uninstall.out" 2>&1
t_check "make uninstall exits 0" test $? -eq 0
t_check "uninstall removes the binary, unit, man page and logrotate snippet" \
	test ! -e "$bin" -a ! -e "$unit" -a ! -e "$man" -a ! -e "$rot"
t_check "uninstall keeps the config and says so" \
	test -f "$conf" -a "$(grep -c "kept $conf" "$work/uninstall.out")" -eq 1

t_summary
