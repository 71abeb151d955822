#!/bin/sh
# Regenerate vmlinux/<arch>/vmlinux.h from a kernel's BTF (default: the running kernel's).
# CO-RE relocations make one header serve every kernel of that architecture; regenerate it only
# to pick up types that a newer kernel added.
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-x86}
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -r "$btf" ]; then
	echo "gen-vmlinux: cannot read $btf: the kernel needs CONFIG_DEBUG_INFO_BTF=y" >&2
	exit 1
fi
mkdir -p "$top/vmlinux/$arch"
bpftool btf dump file "$btf" format c > "$top/vmlinux/$arch/vmlinux.h.tmp"
mv "$top/vmlinux/$arch/vmlinux.h.tmp" "$top/vmlinux/$arch/vmlinux.h"
echo "wrote vmlinux/$arch/vmlinux.h from $btf"
