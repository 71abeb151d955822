#!/bin/sh
# Installs the Debian 12 packages that kvmtrace-bpf needs to build, run and be tested.
# Idempotent: does nothing (and needs no network) when everything is already installed.
set -eu

# build: compiler, BPF toolchain and libraries (ncurses: the live view)
build="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libcap-ng-dev
libvirt-dev libxml2-dev libcurl4-openssl-dev libmicrohttpd-dev libncurses-dev"
# tests: unit tests and the fuzzer, real QEMU/libvirt guests built from Debian's kernel and
# busybox, the oracles, the model check's plot, a Prometheus server scraping the endpoint, the
# install checks (systemd-analyze, man, logrotate), headless Chromium rendering the report, a
# terminal for the live view (tmux)
tests="libcmocka-dev libclang-rt-14-dev python3 python3-libvirt python3-matplotlib python3-pil
qemu-system-x86 qemu-utils busybox-static linux-image-amd64 kmod cpio libvirt-daemon-system
libvirt-clients iproute2 util-linux procps linux-perf iperf3 fio prometheus curl systemd man-db
logrotate bpftrace chromium tmux"
# rules: the Prometheus rules' checks (promtool comes with prometheus, above), PyYAML
rules="python3-yaml"
# package: make deb (dpkg-buildpackage, debhelper) and its test's lintian
package="dpkg-dev debhelper lintian"

missing=""
for pkg in $build $tests $rules $package; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $pkg"
	fi
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run this script as root" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q $missing
# The tests start their own Prometheus on loopback; Debian's package starts a server (and a
# node exporter listening on every address) on systemd hosts: not ours to leave running.
case " $missing " in
*" prometheus "*)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now prometheus prometheus-node-exporter 2>/dev/null || true
	fi
	;;
esac
