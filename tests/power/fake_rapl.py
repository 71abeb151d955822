#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A fake powercap tree for the RAPL tests: SYSFS/class/powercap with two packages, a core
sub-zone (inside its package: must not be counted again) and a dram sub-zone (counted), whose
energy_uj counters advance with the wall clock at the given watts and wrap at a small
max_energy_range_uj, so a few seconds of tracing cross several wraparounds.

    fake_rapl.py SYSFS PKG0_W PKG1_W DRAM_W
"""
import os
import sys
import time

RANGE_UJ = 65_000_000  # 65 J: the 30 W package wraps about every 2 s


def zone(root, name, label, watts):
    path = os.path.join(root, "class", "powercap", name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "name"), "w") as f:
        f.write(label + "\n")
    with open(os.path.join(path, "max_energy_range_uj"), "w") as f:
        f.write(f"{RANGE_UJ}\n")
    return os.path.join(path, "energy_uj"), watts


def main():
    root, pkg0, pkg1, dram = sys.argv[1], *map(float, sys.argv[2:5])
    zones = [
        zone(root, "intel-rapl:0", "package-0", pkg0),
        zone(root, "intel-rapl:0:0", "core", pkg0 * 0.7),
        zone(root, "intel-rapl:0:1", "dram", dram),
        zone(root, "intel-rapl:1", "package-1", pkg1),
    ]
    # Updated in place, as sysfs is (a reader may keep the file open), in one fixed-width
    # write, so a reader never sees half a number.
    fds = [(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), watts) for path, watts in zones]
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        for fd, watts in fds:
            value = int(1_000_000 + elapsed * watts * 1e6) % RANGE_UJ
            os.pwrite(fd, f"{value:012d}\n".encode(), 0)
        time.sleep(0.005)


if __name__ == "__main__":
    main()
