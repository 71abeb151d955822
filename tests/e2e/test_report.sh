#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/kvmtrace-bpf-report (issue 16, "a report to look at") on a real short run: the tests'
# own VMM in guest mode (where /dev/kvm is writable) and a QEMU guest of the test bed writing to
# its disk and sending over the test network, traced with power from the plug emulator. The page
# must have every section for every VM, refer to nothing outside itself, and every image must
# decode; its figures must be the CSVs' (an independent computation); a VM with one row and
# columns that were not measured must work, the latter shown as "not measured"; bad input and
# usage fail with one line and status 1 or 2. Then headless Chromium renders the page and the
# screenshot must show every section with its charts (skipped, saying so, without chromium).
# KT_REPORT_SAVE=DIR keeps a copy of the run, the report and the screenshot in DIR.
. "$(dirname "$0")/prelude.sh" "$@"
vmm=$build/tests/ktvmm
report=scripts/kvmtrace-bpf-report

t_testbed report
# shellcheck disable=SC2154 # $out: set by t_testbed
chmod 0755 "$out"
run=$out/run
qname='kt-rep <b>&web'

# --- the run: a plug emulator, the guests, the tracer
steps=(88 91 96 104 110 112 109 115 118 120 117 121 119 114 116 113)
t_plug_start digest "$out/plug.log" "${steps[@]}"
tb_add_cleanup "kill $plug 2>/dev/null || true"
t_plug_port "$out/plug.log"
t_check "plug emulator listening (port ${port:-none})" test -n "$port"

# Writing and sending over and over, whenever the tracer starts.
qemu=$(tb_start_qemu "$qname" disk-write:8,net-send:4 --loop --net --disk-mib 16) || exit 1
tb_wait_ready "$qname" || exit 1
pids=(-p "$qemu")
if [[ -w /dev/kvm && -x $vmm ]]; then
	"$vmm" --vcpus 2 --exit io --seconds 16 2>"$out/ktvmm.err" &
	ktvmm=$!
	tb_add_cleanup "kill $ktvmm 2>/dev/null || true"
	t_wait_ktvmm "$out/ktvmm.err"
	pids+=(-p "$ktvmm")
else
	echo "note: no writable /dev/kvm or no $vmm: the run has the QEMU guest only"
fi
KVMTRACE_PLUG_USER=admin KVMTRACE_PLUG_PASSWORD=1234 "$bin" -q -i 1 -c 10 "${pids[@]}" \
	--libvirt-uri none --power "edimax:127.0.0.1:$port" -o "$run" 2>"$out/tracer.err"
status=$?
host_rows=$(t_rows "$run/@host.csv" 2>/dev/null)
t_check "the tracer ran 10 intervals (status $status, ${host_rows:-no} host rows)" \
	test "$status" -eq 0 -a "${host_rows:-0}" -eq 10
tb_stop_guest "$qname"
vm_csvs=()
for f in "$run"/*.csv; do
	[[ $f == */@* || $f == *.vcpu.csv || $f == *.exits.csv ]] || vm_csvs+=("$f")
done
t_check "a CSV per traced VM (${#vm_csvs[@]}: $(basename -a "${vm_csvs[@]}" | tr '\n' ' '))" \
	test "${#vm_csvs[@]}" -eq "$((${#pids[@]} / 2))"
qcsv=$run/$(t_safe_name "$qname").csv

# --- the report
"$T_PYTHON" "$report" "$run" >"$out/report.out" 2>"$out/report.err"
status=$?
t_check "report: status $status, prints '$(cat "$out/report.out")', stderr '$(head -c 300 "$out/report.err")'" \
	test "$status" -eq 0 -a "$(cat "$out/report.out")" = "$run/report.html" -a ! -s "$out/report.err"
t_check "the command runs as it is (#!/usr/bin/python3, executable)" \
	test -x "$report" -a "$(head -n 1 "$report")" = "#!/usr/bin/python3"

# inspect HTML DIR CHECK: checks the page against DIR's CSVs; CHECK is what to check. Prints one
# line per problem (and "ok: ..." lines), fails when there is a problem.
inspect() {
	"$T_PYTHON" - "$@" <<'PY'
import base64, csv, glob, html.parser, io, os, re, sys
from PIL import Image

page_path, folder, what = sys.argv[1:4]
text = open(page_path, encoding="utf-8").read()
problems = []

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.imgs, self.tags = [], [], [], []
        self.attrs_all, self.cells, self.cell, self.tiles = [], [], None, {}
        self.data = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs_all.append((tag, a))
        if tag == "section":
            self.sections.append({"vm": a.get("data-vm"), "id": a.get("id"), "charts": {},
                                  "class": a.get("class", ""), "text": []})
        if tag == "figure" and self.sections:
            self.chart = {"imgs": 0, "nm": 0, "text": []}
            self.sections[-1]["charts"][a.get("data-chart")] = self.chart
        if tag == "img":
            self.imgs.append(a)
            if self.sections and getattr(self, "chart", None) is not None:
                self.chart["imgs"] += 1
        if tag == "div" and "nm" in a.get("class", "").split():
            if getattr(self, "chart", None) is not None:
                self.chart["nm"] += 1
        if tag == "tr" and "data-vm" in a:
            self.row = {"vm": a["data-vm"], "cells": {}}
            self.cells.append(self.row)
        if tag == "td" and getattr(self, "row", None) is not None:
            self.cell = {"class": a.get("class", ""), "value": a.get("data-value"), "text": ""}
            for c in a.get("class", "").split():
                self.row["cells"][c] = self.cell
        if tag == "div" and "data-key" in a:
            self.tiles[a["data-key"]] = a.get("data-value")
        if tag not in ("br", "img", "meta", "input", "hr", "link", "sup", "small", "b", "i",
                       "span", "a"):
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag == "figure":
            self.chart = None
        if tag == "tr":
            self.row = None
        if tag == "td":
            self.cell = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data
        if getattr(self, "chart", None) is not None:
            self.chart["text"].append(data)
        if self.sections:
            self.sections[-1]["text"].append(data)

p = Page()
p.feed(text)

def num(row, c):
    v = (row.get(c) or "").strip()
    return float(v) if v else None

def vm_csvs():
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        b = os.path.basename(path)
        if not b.startswith("@") and not b.endswith((".vcpu.csv", ".exits.csv")):
            rows = list(csv.DictReader(open(path, newline="")))
            if rows:
                yield path, rows

def close(a, b, rel=1e-4):
    return a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b), 1e-9)

CHARTS = ("cpu", "components", "exits", "io", "power", "vcpus")
vms = {s["vm"]: s for s in p.sections if "vm" in s["class"].split()}
rows_by_vm = {r["vm"]: r["cells"] for r in p.cells}

if what == "sections":
    host = [s for s in p.sections if s["id"] == "host"]
    if len(host) != 1 or set(host[0]["charts"]) != {"host-cpu", "host-power"}:
        problems.append(f"host section: {[(s['id'], list(s['charts'])) for s in host]}")
    n = 0
    for path, rows in vm_csvs():
        name = rows[-1]["vm"]
        n += 1
        s = vms.get(name)
        if s is None:
            problems.append(f"{name}: no section")
            continue
        if tuple(s["charts"]) != CHARTS:
            problems.append(f"{name}: charts {list(s['charts'])}, want {list(CHARTS)}")
        for c, f in s["charts"].items():
            if f["imgs"] + f["nm"] != 1:
                problems.append(f"{name}/{c}: {f['imgs']} images, {f['nm']} not-measured boxes")
        if name not in rows_by_vm:
            problems.append(f"{name}: no row in the summary table")
    if len(vms) != n:
        problems.append(f"{len(vms)} VM sections for {n} VMs with rows")
    if not problems:
        print(f"ok: host section and {n} VM sections with {len(CHARTS)} charts each")

elif what == "self-contained":
    for tag, a in p.attrs_all:
        if tag in ("script", "link", "iframe", "object", "embed", "base", "frame", "audio",
                   "video", "source"):
            problems.append(f"<{tag}> element")
        for k, v in a.items():
            v = v or ""
            if k == "src" and not v.startswith("data:image/png;base64,"):
                problems.append(f"<{tag} src={v[:60]}>")
            if k == "href" and not v.startswith("#"):
                problems.append(f"<{tag} href={v[:60]}>")
            if k in ("srcset", "action", "formaction", "poster", "background", "data"):
                problems.append(f"<{tag} {k}=...>")
            if k.startswith("on"):
                problems.append(f"<{tag} {k}=...> (script)")
            if k == "style" and re.search(r"url\s*\(|@import|expression", v, re.I):
                problems.append(f"<{tag} style={v[:60]}>")
    stripped = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", text)
    for pattern in (r"https?:", r"ftp:", r"file:", r"url\s*\(", r"@import", r"//[\w.-]+\.\w"):
        m = re.search(pattern, stripped, re.I)
        if m:
            problems.append(f"'{stripped[max(m.start() - 30, 0):m.end() + 30]}'")
    if not problems:
        print(f"ok: {len(p.tags)} elements, no reference outside the page")

elif what == "images":
    sizes = []
    for a in p.imgs:
        data = a["src"].split(",", 1)[1]
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError as e:
            problems.append(f"{a.get('alt')}: base64: {e}")
            continue
        if raw[:8] != b"\x89PNG\r\n\x1a\n":
            problems.append(f"{a.get('alt')}: no PNG signature")
            continue
        try:
            im = Image.open(io.BytesIO(raw))
            im.verify()
            im = Image.open(io.BytesIO(raw))
            im.load()
        except Exception as e:
            problems.append(f"{a.get('alt')}: {e}")
            continue
        if im.width < 200 or im.height < 100:
            problems.append(f"{a.get('alt')}: {im.width}x{im.height}")
        colours = len(set(im.convert("RGB").resize((200, 80)).getdata()))
        if colours < 8:
            problems.append(f"{a.get('alt')}: {colours} colours: blank")
        if not a.get("alt"):
            problems.append("an image without alt text")
        sizes.append(f"{im.width}x{im.height}")
    if not p.imgs:
        problems.append("no image")
    if not problems:
        print(f"ok: {len(p.imgs)} PNGs decode ({', '.join(sorted(set(sizes)))})")

elif what == "figures":
    # The summary against the CSVs, computed here independently.
    host = list(csv.DictReader(open(os.path.join(folder, "@host.csv"), newline="")))
    for path, rows in vm_csvs():
        name = rows[-1]["vm"]
        cells = rows_by_vm.get(name, {})
        dt = sum(num(r, "interval_s") for r in rows)
        def s(c):
            vals = [num(r, c) for r in rows if num(r, c) is not None]
            return sum(vals) if vals else None
        def per_dt(c):
            vals = [(num(r, c), num(r, "interval_s")) for r in rows if num(r, c) is not None]
            return sum(v for v, _ in vals) / sum(d for _, d in vals) if vals else None
        g_rows = [r for r in rows if num(r, "cpu_guest_ns") is not None]
        want = {
            "cpu": s("cpu_total_ns") / dt / 1e9 * 100,
            "guest": sum(num(r, "cpu_guest_ns") for r in g_rows)
            / sum(num(r, "cpu_total_ns") for r in g_rows) * 100 if g_rows else None,
            "exits": per_dt("exits"),
            "disk_read": s("disk_read_bytes"), "disk_write": s("disk_write_bytes"),
            "net_rx": s("net_rx_bytes"), "net_tx": s("net_tx_bytes"),
            "power": None if s("vm_power_w") is None else
            sum(num(r, "vm_power_w") * num(r, "interval_s") for r in rows
                if num(r, "vm_power_w") is not None)
            / sum(num(r, "interval_s") for r in rows if num(r, "vm_power_w") is not None),
        }
        for c, w in want.items():
            cell = cells.get(c)
            if cell is None:
                problems.append(f"{name}: no {c} cell")
            elif w is None:
                if cell["text"].strip() != "not measured" or cell["value"] is not None:
                    problems.append(f"{name}: {c} not measured in the CSV, page '{cell['text']}'")
            elif cell["value"] is None or not close(float(cell["value"]), w):
                problems.append(f"{name}: {c} {cell['value']} ('{cell['text']}'), CSV {w:.6g}")
        print(f"  {name}: " + ", ".join(f"{c} {cells[c]['text'].strip()}" for c in want
                                        if c in cells))
    hp = [(num(r, "host_power_w"), num(r, "interval_s")) for r in host
          if num(r, "host_power_w") is not None]
    want = sum(w * d for w, d in hp) / sum(d for _, d in hp) if hp else None
    got = p.tiles.get("host_power")
    if want is None or got is None or not close(float(got), want):
        problems.append(f"host power: page {got}, @host.csv {want}")
    if not problems:
        print(f"ok: the summary's figures are the CSVs' (host power {want:.1f} W)")

elif what.startswith("chart-text:"):
    # chart-text:VM:CHART:PATTERN: the chart's card (text outside images) matches PATTERN.
    _, name, chart, pattern = what.split(":", 3)
    f = vms.get(name, {}).get("charts", {}).get(chart)
    body = " ".join(" ".join(f["text"]).split()) if f else ""
    if f is None or not re.search(pattern, body):
        problems.append(f"{name}/{chart}: '{body[:200]}' does not match '{pattern}'")
    else:
        print(f"ok: {name}/{chart}: '{re.search(pattern, body).group(0)}'")

elif what.startswith("cell:"):
    # cell:VM:CLASS:PATTERN: the summary cell matches PATTERN.
    _, name, c, pattern = what.split(":", 3)
    cell = rows_by_vm.get(name, {}).get(c)
    if cell is None or not re.fullmatch(pattern, cell["text"].strip()):
        problems.append(f"{name}: cell {c} '{cell and cell['text']}' is not '{pattern}'")
    else:
        print(f"ok: {name}: {c} '{cell['text'].strip()}'")

elif what.startswith("has-image:"):
    _, name, chart = what.split(":", 2)
    f = vms.get(name, {}).get("charts", {}).get(chart)
    if f is None or f["imgs"] != 1:
        problems.append(f"{name}/{chart}: {f}")
    else:
        print(f"ok: {name}/{chart} is drawn")

for line in problems:
    print("  " + line)
sys.exit(1 if problems else 0)
PY
}

html=$run/report.html
t_check "every section for every VM" inspect "$html" "$run" sections
t_check "refers to nothing outside itself" inspect "$html" "$run" self-contained
t_check "every image is a PNG that decodes" inspect "$html" "$run" images
t_check "the summary's figures are the CSVs'" inspect "$html" "$run" figures
t_check "the VM name is escaped, never raw HTML" \
	bash -c "grep -q 'kt-rep &lt;b&gt;&amp;web' '$html' && ! grep -q '<b>&web' '$html'"
qsource=$(t_column "$qcsv" guest_source | sort -u | tr '\n' ' ')
if [[ $qsource == " " ]]; then
	t_check "TCG guest: guest mode said not measured beside its CPU" \
		inspect "$html" "$run" "chart-text:$qname:cpu:guest mode: not measured"
	t_check "TCG guest: exits not measured, not zero" \
		inspect "$html" "$run" "chart-text:$qname:exits:not measured"
	t_check "TCG guest: its guest share cell says not measured" \
		inspect "$html" "$run" "cell:$qname:guest:not measured"
else
	echo "note: the QEMU guest ran with KVM (guest source: $qsource)"
fi
t_check "QEMU guest: disk and network drawn" inspect "$html" "$run" "has-image:$qname:io"
t_check "QEMU guest: its disk writes are in the table" \
	inspect "$html" "$run" "cell:$qname:disk_write:[0-9.]+ [MG]B"
t_check "QEMU guest: its network sends are in the table" \
	inspect "$html" "$run" "cell:$qname:net_tx:[0-9.]+ [MG]B"
t_check "QEMU guest: power and its share drawn" inspect "$html" "$run" "has-image:$qname:power"
if [[ -n ${ktvmm:-} ]]; then
	kname=ktvmm-$ktvmm
	top=$("$T_PYTHON" - "$run/$kname.exits.csv" <<'PY'
import collections, csv, sys
c = collections.Counter()
for r in csv.DictReader(open(sys.argv[1], newline="")):
    c[r["reason"]] += int(r["count"])
print(c.most_common(1)[0][0] if c else "")
PY
)
	t_check "ktvmm: exits drawn, the top reason of its exits file first ($top)" \
		inspect "$html" "$run" "chart-text:$kname:exits:reason exits per s share mean handling $top"
	t_check "ktvmm: guest mode measured: a guest share" inspect "$html" "$run" \
		"cell:$kname:guest:[0-9.]+%"
	t_check "ktvmm: hypervisor components drawn" inspect "$html" "$run" "has-image:$kname:components"
fi

# rerun SRC DST HOW: each CSV of the run SRC that has rows, again in DST (same name, same header)
# with other rows: HOW "one", only those of its first row's interval; "long", its intervals
# repeated for 3 hours at 1 s, with a 10-minute stop in it.
rerun() {
	"$T_PYTHON" - "$@" <<'PY'
import collections, csv, glob, os, sys
src, dst, how = sys.argv[1:]
for path in glob.glob(os.path.join(src, "*.csv")):
    rows = list(csv.DictReader(open(path, newline="")))
    if not rows:
        continue
    with open(os.path.join(dst, os.path.basename(path)), "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        w.writeheader()
        if how == "one":
            first = rows[0]["epoch_s"]
            w.writerows(r for r in rows if r["epoch_s"] == first)
            continue
        by = collections.defaultdict(list)
        for r in rows:
            by[r["epoch_s"]].append(r)
        epochs = sorted(by, key=float)
        first = float(epochs[0])
        for i in range(10800):
            if 4000 <= i < 4600:
                continue
            for r in by[epochs[i % len(epochs)]]:
                w.writerow(dict(r, epoch_s=f"{first + i:.3f}", interval_s="1.000000"))
PY
}

# --- a VM with one row, and columns not measured
one=$out/one
mkdir "$one"
rerun "$run" "$one" one
"$T_PYTHON" "$report" "$one" -o "$out/one.html" >/dev/null 2>"$out/one.err"
status=$?
t_check "one row per VM: status $status $(head -c 200 "$out/one.err")" test "$status" -eq 0
t_check "one row per VM: every section" inspect "$out/one.html" "$one" sections
t_check "one row per VM: every image decodes" inspect "$out/one.html" "$one" images
t_check "one row per VM: the figures are the row's" inspect "$out/one.html" "$one" figures

blank=$out/blank
mkdir "$blank"
"$T_PYTHON" - "$qcsv" "$blank" <<'PY'
import csv, os, sys
EMPTY = ("cpu_guest_ns", "exits", "exit_handling_ns", "top_exit_reason", "net_", "host_power_w",
         "vm_power_w", "host_energy_j", "hyp_", "ext_", "guest_source")
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
with open(os.path.join(sys.argv[2], os.path.basename(sys.argv[1])), "w", newline="") as f:
    w = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if k.startswith(EMPTY) else v for k, v in r.items()})
    # And a VM whose file has no row yet.
with open(os.path.join(sys.argv[2], "kt-new.csv"), "w") as f:
    f.write(",".join(rows[0]) + "\n")
PY
"$T_PYTHON" "$report" "$blank" -o "$out/blank.html" >/dev/null 2>"$out/blank.err"
status=$?
t_check "empty columns, no @host.csv, no exits or vCPU file: status $status $(head -c 200 "$out/blank.err")" \
	test "$status" -eq 0
t_check "empty columns: every section" inspect "$out/blank.html" "$blank" sections
for c in guest exits reason net_rx net_tx power power_share energy; do
	t_check "empty columns: $c says not measured" inspect "$out/blank.html" "$blank" \
		"cell:$qname:$c:not measured"
done
for chart in exits components power; do
	t_check "empty columns: the $chart chart" inspect "$out/blank.html" "$blank" \
		"chart-text:$qname:$chart:not measured"
done
t_check "empty columns: no host power, no host CPU: not measured" \
	bash -c "grep -c 'no @host.csv in the folder' '$out/blank.html' | grep -qx '[1-9][0-9]*'"
t_check "a VM file without rows is named, not drawn" \
	grep -q 'VM files without rows, left out: kt-new.csv' "$out/blank.html"

# --- a long run: the real intervals repeated for 3 hours at 1 s, with a 10-minute stop in it
long=$out/long
mkdir "$long"
rerun "$run" "$long" long
SECONDS=0
"$T_PYTHON" "$report" "$long" -o "$out/long.html" >/dev/null 2>"$out/long.err"
status=$?
took=$SECONDS
size=$(stat -c %s "$out/long.html" 2>/dev/null || echo 0)
t_check "a 3-hour run: status $status in $took s (at most 60), $((size / 1024)) KiB (under 4 MB) $(head -c 200 "$out/long.err")" \
	test "$status" -eq 0 -a "$took" -le 60 -a "$size" -lt 4000000
t_check "a 3-hour run: every section" inspect "$out/long.html" "$long" sections
t_check "a 3-hour run: every image decodes" inspect "$out/long.html" "$long" images
t_check "a 3-hour run: the summary's figures are over every row" \
	inspect "$out/long.html" "$long" figures

# --- usage errors (2) and unreadable input (1): one line on stderr
# expect STATUS PATTERN DESCRIPTION -- ARGS...
expect() {
	local want=$1 pattern=$2 what=$3 status lines
	shift 4
	"$T_PYTHON" "$report" "$@" >"$out/err.out" 2>"$out/err"
	status=$?
	lines=$(wc -l <"$out/err")
	if [ "$status" -eq "$want" ] && [ "$lines" -eq 1 ] && [ ! -s "$out/err.out" ] &&
		grep -q "^kvmtrace-bpf-report: .*$pattern" "$out/err"; then
		t_ok "$what: status $status, '$(cat "$out/err")'"
	else
		t_fail "$what: status $status (want $want), stderr ($lines lines): $(head -c 300 "$out/err")"
	fi
}
mkdir "$out/empty" "$out/dir" "$out/dir/a.csv" "$out/latin" "$out/hostonly"
printf 'vm,epoch_s,interval_s,cpu_total_ns\n\xe9t\xe9,1,1,1\n' >"$out/latin/a.csv"
cp "$run/@host.csv" "$out/hostonly/"
expect 2 "required: DIR" "no DIR" --
expect 2 "unrecognized arguments: --bogus" "unknown option" -- "$run" --bogus
expect 2 "--top 0" "--top 0" -- "$run" --top 0
expect 2 "invalid int value" "--top x" -- "$run" --top x
expect 1 "cannot read $out/none: no such folder" "no such folder" -- "$out/none"
expect 1 "cannot read $qcsv: not a folder" "a file for DIR" -- "$qcsv"
expect 1 "no VM CSVs in" "an empty folder" -- "$out/empty"
expect 1 "no VM CSVs in" "a folder with @host.csv only" -- "$out/hostonly"
expect 1 "cannot read .*a.csv: Is a directory" "a folder named like a CSV" -- "$out/dir"
expect 1 "cannot read .*a.csv: not a CSV file" "a CSV that is not UTF-8" -- "$out/latin"
expect 1 "cannot write $out/none/x.html" "unwritable output" -- "$run" -o "$out/none/x.html"
t_check "no output left by the failures" \
	test ! -e "$out/empty/report.html" -a ! -e "$out/dir/report.html" -a ! -e "$out/none"

# --- headless Chromium
if ! command -v chromium >/dev/null; then
	echo "skip: chromium is not installed (scripts/install-deps.sh installs it): no rendering"
else
	nvms=${#vm_csvs[@]}
	# Tall enough for the whole page: Chromium paints only what is in its window.
	height=$((1400 + 2000 * nvms))
	shot=$out/report.png
	# Chromium's profile, crash reports and caches go to $out, removed at the end, not $HOME.
	mkdir "$out/home"
	browser() {
		HOME=$out/home XDG_CONFIG_HOME=$out/home/.config XDG_CACHE_HOME=$out/home/.cache \
			timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
			--no-first-run --disable-crash-reporter --user-data-dir="$out/home/profile" "$@"
	}
	browser --screenshot="$shot" --window-size="1400,$height" "file://$html" \
		>"$out/chromium.log" 2>&1
	status=$?
	t_check "chromium renders the page (status $status)" test "$status" -eq 0 -a -s "$shot"
	dom_sections=$(browser --dump-dom "file://$html" 2>/dev/null |
		grep -o '<section class="vm"' | wc -l)
	t_check "chromium's DOM has $dom_sections VM sections ($nvms VMs)" test "$dom_sections" -eq "$nvms"
	t_check "the screenshot shows every section with its charts" "$T_PYTHON" - "$shot" "$height" \
		"$nvms" <<'PY'
import sys
from PIL import Image
path, height, nvms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
im = Image.open(path).convert("RGB")
ok = True
def fail(msg):
    global ok
    ok = False
    print("  " + msg)
if im.size != (1400, height):
    fail(f"size {im.size}, want (1400, {height})")
px = im.load()
w, h = im.size
BG, BAR = (244, 245, 247), (47, 75, 124)
# The whole page is inside the window: its last 80 rows are the page's background.
tail = sum(1 for y in range(h - 80, h) for x in range(0, w, 5) if px[x, y] != BG)
if tail:
    fail(f"{tail} pixels of content in the last 80 rows: the page is taller than the window")
sample = [px[x, y] for y in range(0, h, 4) for x in range(0, w, 4)]
busy = sum(1 for p in sample if p != BG and p != (255, 255, 255)) / len(sample)
if busy < 0.05:
    fail(f"only {busy:.1%} of the screenshot is neither background nor white")
# Section title bars, down the left edge: the host's, then one per VM.
bars, y = [], 0
while y < h:
    if px[30, y] == BAR:
        start = y
        while y < h and px[30, y] == BAR:
            y += 1
        if y - start >= 20:
            bars.append((start, y))
    y += 1
if len(bars) != 1 + nvms:
    fail(f"{len(bars)} section title bars at {bars}, want {1 + nvms}")
# In each section, the charts' colours (drawn areas): no image is broken or blank.
PALETTE = [(78, 121, 167), (242, 142, 43), (225, 87, 89), (89, 161, 79), (255, 190, 125),
           (255, 157, 167), (118, 183, 178), (217, 217, 217), (186, 176, 172)]
def near(p, q):
    return all(abs(a - b) <= 6 for a, b in zip(p, q))
ends = [b[0] for b in bars[1:]] + [h]
counts = []
for (top, _), end in zip(bars, ends):
    n = sum(1 for y in range(top, end, 2) for x in range(0, w, 2)
            if any(near(px[x, y], q) for q in PALETTE))
    counts.append(n * 4)
    if n * 4 < 20000:
        fail(f"section at y={top}: {n * 4} chart-coloured pixels")
print(f"  {w}x{h}, {busy:.0%} drawn, section bars at {[b[0] for b in bars]}, chart pixels {counts}")
sys.exit(0 if ok else 1)
PY
fi

if [[ -n ${KT_REPORT_SAVE:-} ]]; then
	mkdir -p "$KT_REPORT_SAVE" && cp -r "$run" "$out"/*.html "$out"/*.png "$KT_REPORT_SAVE"/ 2>/dev/null
	echo "saved in $KT_REPORT_SAVE"
fi
t_summary
