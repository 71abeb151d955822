#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prometheus rules (issue 16): dist/prometheus/kvmtrace-bpf.rules.yml passes promtool check
# rules; every alert has a severity, a one-line summary and runbook; every metric the rules
# and runbooks name is one the tracer exports, every recorded series one the rules define;
# promtool test rules passes on the synthetic series of kvmtrace-bpf.rules.test.yml, which
# check every recording rule's values and every alert firing and not firing; and the tests
# catch broken rules: each alert made never to fire, to fire without its for:, without its
# thresholds (and two exclusions removed) makes promtool test rules fail.
# Skips (0 failed) only where promtool is absent.
. "$(dirname "$0")/prelude.sh" "$@"
rules=dist/prometheus/kvmtrace-bpf.rules.yml
tests=dist/prometheus/kvmtrace-bpf.rules.test.yml

command -v promtool >/dev/null ||
	t_skip "promtool not found (Debian's prometheus package has it: scripts/install-deps.sh);" \
		"the rules are not checked"
work=$(mktemp -d /tmp/kt-e2e-rules.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- 1. promtool check rules
promtool check rules "$rules" >"$work/check.out" 2>&1
status=$?
t_check "promtool check rules $rules ($status): $(grep -m1 -E 'SUCCESS|FAILED' "$work/check.out")" \
	test "$status" -eq 0
t_check "promtool check rules: no warning or error: $(grep -v -e '^Checking' -e SUCCESS \
	"$work/check.out" | head -c 300)" \
	test -z "$(grep -v -e '^Checking' -e SUCCESS "$work/check.out")"

# --- 2. what the rules say, and what the test file checks (Python: YAML and the tracer's sources)
# Prints one "ok<TAB>what" or "FAIL<TAB>what" line per check.
"$T_PYTHON" - "$rules" "$tests" >"$work/lint.out" 2>&1 <<'PY'
import glob, re, sys, yaml

rules_file, tests_file = sys.argv[1:3]
rules = [r for g in yaml.safe_load(open(rules_file))["groups"] for r in g["rules"]]
tests = yaml.safe_load(open(tests_file))["tests"]
alerts = [r for r in rules if "alert" in r]
records = [r for r in rules if "record" in r]

def check(ok, what):
    print(("ok" if ok else "FAIL") + "\t" + what)

check(len(alerts) == 6 and len(records) >= 10,
      f"{len(alerts)} alerts, {len(records)} recording rules")
want = {"KvmtraceVMCPUStarved", "KvmtraceVMHypervisorHeavy", "KvmtraceVMExitStorm",
        "KvmtraceDrops", "KvmtracePowerUnreadable", "KvmtraceOverBudget"}
got = {a["alert"] for a in alerts}
check(got == want, "the alerts of issue 16: " + ", ".join(sorted(got)) +
      (f" (missing: {', '.join(sorted(want - got))})" if want - got else ""))

for a in alerts:
    ann, name = a.get("annotations", {}), a["alert"]
    bad = [k for k in ("summary", "runbook") if not ann.get(k) or "\n" in ann[k].strip()]
    check(not bad, f"{name}: one-line summary and runbook annotations"
          + (f" (bad: {', '.join(bad)})" if bad else ""))
    check(a.get("labels", {}).get("severity") in ("warning", "critical", "info"),
          f"{name}: severity label ({a.get('labels', {}).get('severity')})")

# Recorded names follow level:metric:operations, and are all checked in the test file.
tested_exprs = " ".join(t["expr"] for g in tests for t in g.get("promql_expr_test", []))
for r in records:
    check(re.fullmatch(r"[a-z_]+:kvmtrace_[a-z0-9_]+:[a-z0-9_]+", r["record"]) is not None,
          f"recorded name {r['record']} is level:metric:operations")
    check(re.search(re.escape(r["record"]) + r"\b", tested_exprs) is not None,
          f"recorded {r['record']}: its values are checked in the test file")

# Metric names in expressions and runbooks: each exported by the tracer (the family names in
# user/, with _total for counters and _info for build info); recorded names: each defined.
families = set()
for src in glob.glob("user/*/*.[ch]"):
    families |= set(re.findall(r'"(kvmtrace_[a-z0-9_]+)"', open(src).read()))
check(len(families) > 20, f"{len(families)} metric families found in user/")
exported = families | {f + "_total" for f in families} | {f + "_info" for f in families}
defined = {r["record"] for r in records}
for r in rules:
    text = r["expr"] + " " + " ".join(r.get("annotations", {}).values())
    what = r.get("alert") or r.get("record")
    names = set(re.findall(r"(?<![\w:])[a-zA-Z_:][\w:]*", text))
    raw = {n for n in names if n.startswith("kvmtrace_") and n != "kvmtrace_bpf"}
    recorded = {n for n in names if n.count(":") == 2 and "kvmtrace_" in n}
    unknown = sorted(raw - exported) + sorted(recorded - defined)
    check(not unknown, f"{what}: names only exported or recorded series"
          + (f" (unknown: {', '.join(unknown)})" if unknown else f" ({len(raw | recorded)})"))

# Every alert is tested firing (a non-empty exp_alerts) and not firing (an empty one).
for a in alerts:
    cases = [c for g in tests for c in g.get("alert_rule_test", []) if c["alertname"] == a["alert"]]
    fires = [c for c in cases if c.get("exp_alerts")]
    quiet = [c for c in cases if not c.get("exp_alerts")]
    check(fires and quiet, f"{a['alert']}: tested firing ({len(fires)} times) and not ({len(quiet)})")
PY
status=$?
while IFS=$'\t' read -r verdict what; do
	case $verdict in
	ok) t_ok "$what" ;;
	FAIL) t_fail "$what" ;;
	*) t_fail "rules check said: $verdict $what" ;;
	esac
done <"$work/lint.out"
t_check "the rules check ran to its end (status $status)" test "$status" -eq 0

# --- 3. promtool test rules
promtool test rules "$tests" >"$work/test.out" 2>&1
status=$?
t_check "promtool test rules $tests ($status): $(grep -m1 -E 'SUCCESS|FAILED' "$work/test.out")" \
	test "$status" -eq 0
[ "$status" -eq 0 ] || head -c 4000 "$work/test.out"

# --- 4. the tests catch broken rules: each mutant of the rules must fail promtool test rules
# Writes MUTANT-NAME/kvmtrace-bpf.rules.yml (and the test file beside it) for each mutant.
"$T_PYTHON" - "$rules" "$tests" "$work/mutants" <<'PY'
import os, re, shutil, sys, yaml

rules_file, tests_file, outdir = sys.argv[1:4]
doc = yaml.safe_load(open(rules_file))

def mutant(name, alert, change):
    d = yaml.safe_load(yaml.safe_dump(doc))
    for g in d["groups"]:
        for r in g["rules"]:
            if r.get("alert") == alert:
                change(r)
    path = os.path.join(outdir, name)
    os.makedirs(path)
    with open(os.path.join(path, os.path.basename(rules_file)), "w") as f:
        yaml.safe_dump(d, f, width=1000)
    shutil.copy(tests_file, path)

def strip_thresholds(r):
    r["expr"] = re.sub(r"\s*>\s*[0-9.]+", "", r["expr"])

# The control: the rules as they are, through the same YAML round trip, must pass.
mutant("control-unchanged", None, lambda r: None)
for g in doc["groups"]:
    for r in g["rules"]:
        a = r.get("alert")
        if not a:
            continue
        mutant(f"{a}-never-fires", a, lambda r: r.update(expr="vector(0) > 1"))
        if "for" in r:
            mutant(f"{a}-without-its-for", a, lambda r: r.pop("for"))
        mutant(f"{a}-without-thresholds", a, strip_thresholds)
mutant("KvmtraceDrops-counting-kernel-quirks", "KvmtraceDrops",
       lambda r: r.update(expr=r["expr"].replace('{reason=~".+_table_full"}', "")))
mutant("KvmtraceVMHypervisorHeavy-on-TCG-too", "KvmtraceVMHypervisorHeavy",
       lambda r: r.update(expr=r["expr"].replace(
           "and vm:kvmtrace_vm_guest_share:ratio_rate5m", "")))
PY
t_check "mutants of the rules written" test -d "$work/mutants"
for dir in "$work"/mutants/*/; do
	name=$(basename "$dir")
	(cd "$dir" && promtool check rules kvmtrace-bpf.rules.yml >/dev/null 2>&1)
	valid=$?
	(cd "$dir" && promtool test rules kvmtrace-bpf.rules.test.yml >"$work/mutant.out" 2>&1)
	status=$?
	if [ "$name" = control-unchanged ]; then
		t_check "the unchanged rules, written as the mutants are, pass ($valid, $status)" \
			test "$valid" -eq 0 -a "$status" -eq 0
		continue
	fi
	t_check "mutant $name (valid rules: $valid) fails promtool test rules ($status)" \
		test "$valid" -eq 0 -a "$status" -ne 0
done

t_summary
