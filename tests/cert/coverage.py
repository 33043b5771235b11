#!/usr/bin/env python3
"""Coverage of the portable code by the host unit tests, checked against floors.

Runs the coverage-instrumented unit tests once (every test case, one process), has gcovr
read the gcov data, and judges each top-level folder of portable code (core/, pci/,
smmu/, partitions/; target-only code is never compiled for the host, so it never
appears): lines >= LINE_FLOOR %, branches >= BRANCH_FLOOR %, and no function that no
test calls. A folder without code yet (smmu/ today) passes with "no code"; as soon as
it has a file, that file counts.

Lines the host cannot reach are listed, with the reason, in coverage_exclusions.txt:
    PATH  FUNCTION  reason
PATH is relative to the source root; FUNCTION is a glob over gcov's demangled name
without its parameter list (e.g. `bulkhead::psci::result_name`), and the whole function
(its lines, branches and itself) leaves the figures. An entry that matches nothing is an
error, so the list cannot go stale.

Prints the table, writes it to --table, writes the HTML report to --html, and ends with
`PASS coverage` or `FAIL coverage: ...` (CTest matches the former).
"""
import argparse
import fnmatch
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

LINE_FLOOR = 90.0
BRANCH_FLOOR = 75.0
FOLDERS = ("core", "pci", "smmu", "partitions")
# Built for the target only, or host tools: never part of the portable code's figures.
NOT_PORTABLE = ("core/arch/", "core/boot/", "partitions/boot/", "partitions/tool/")


def read_exclusions(path):
    entries = []
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                sys.exit(f"{path}:{number}: expected 'PATH FUNCTION reason', got: {raw.strip()}")
            entries.append({"where": f"{path}:{number}", "path": parts[0], "function": parts[1],
                            "reason": parts[2], "used": False})
    return entries


def run_tests(args):
    for stale in glob.glob(os.path.join(args.objects, "**", "*.gcda"), recursive=True):
        os.remove(stale)
    os.makedirs(args.work, exist_ok=True)
    for dtb in glob.glob(os.path.join(args.dtbs, "*.dtb")):
        shutil.copy(dtb, args.work)
    run = subprocess.run([args.tests], cwd=args.work, capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout + run.stderr)
        print(f"FAIL coverage: the coverage build of the unit tests failed (exit {run.returncode})")
        sys.exit(1)
    return run.stdout.strip().splitlines()[-3:]


def run_gcovr(args, json_path):
    os.makedirs(os.path.dirname(args.html), exist_ok=True)
    command = [args.gcovr, "--root", args.source, "--object-directory", args.objects,
               # Host-build artefacts of a target-only idea: exceptions are off in the image,
               # and a branch on a line without code is the compiler's, not ours.
               "--exclude-throw-branches", "--exclude-unreachable-branches",
               "--json", json_path, "--html-details", args.html, "--html-title", "Bulkhead portable code"]
    for folder in FOLDERS:
        command += ["--filter", f"{folder}/"]
    for folder in NOT_PORTABLE:
        command += ["--exclude", f"{folder}"]
    subprocess.run(command, check=True, cwd=args.source)
    with open(json_path) as f:
        return json.load(f)["files"]


def function_ranges(data):
    """(name, first line, last line) per function of a file: up to the next function."""
    functions = sorted(data["functions"], key=lambda fn: fn["lineno"])
    last_line = max((line["line_number"] for line in data["lines"]), default=0)
    ranges = []
    for i, fn in enumerate(functions):
        end = functions[i + 1]["lineno"] - 1 if i + 1 < len(functions) else last_line
        ranges.append((fn, fn["lineno"], end))
    return ranges


def short_name(demangled):
    depth = 0
    for i, char in enumerate(demangled):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif (char == "(" and depth == 0 and i > 0 and not demangled[:i].endswith("operator")
              and not demangled.startswith("(anonymous namespace)", i)):
            return demangled[:i]
    return demangled


def apply_exclusions(files, exclusions):
    """Drops excluded functions' lines; returns the set of (path, function name) excluded."""
    excluded = set()
    for data in files:
        path = data["file"]
        rules = [e for e in exclusions if e["path"] == path]
        if not rules:
            continue
        drop = set()
        for fn, first, last in function_ranges(data):
            for rule in rules:
                if fnmatch.fnmatchcase(short_name(fn["name"]), rule["function"]):
                    rule["used"] = True
                    excluded.add((path, fn["name"]))
                    drop.update(range(first, last + 1))
        data["lines"] = [line for line in data["lines"] if line["line_number"] not in drop]
    return excluded


def folder_of(path):
    return path.split("/", 1)[0]


def measure(files, excluded):
    totals = {folder: {"lines": 0, "lines_hit": 0, "branches": 0, "branches_hit": 0, "files": 0,
                       "functions": 0, "uncalled": []} for folder in FOLDERS}
    for data in files:
        path = data["file"]
        folder = folder_of(path)
        if folder not in totals:
            continue
        t = totals[folder]
        t["files"] += 1
        for line in data["lines"]:
            if line.get("gcovr/noncode") or line.get("gcovr/excluded"):
                continue
            t["lines"] += 1
            t["lines_hit"] += line["count"] > 0
            for branch in line["branches"]:
                t["branches"] += 1
                t["branches_hit"] += branch["count"] > 0
        # A function is its definition: a template counts as called when any of its
        # instantiations ran (an instantiation no test reaches leaves its call site's
        # line uncovered, which the line figures already show).
        # gcovr 5.2 keeps one instantiation per line of a template and may keep one no test
        # ran; the count on the function's opening line is every instantiation's entries.
        entries = {line["line_number"]: line["count"] for line in data["lines"]}
        calls = {}
        for fn in data["functions"]:
            if (path, fn["name"]) in excluded:
                continue
            key = fn["lineno"]
            name, count = calls.get(key, (short_name(fn["name"]), 0))
            calls[key] = (name, max(count + fn["execution_count"], entries.get(key, 0)))
        for lineno, (name, count) in sorted(calls.items()):
            t["functions"] += 1
            if count == 0:
                t["uncalled"].append(f"{path}:{lineno}: {name}")
    return totals


def percent(hit, total):
    return 100.0 * hit / total if total else 100.0


def table(totals):
    rows = [f"coverage of the portable code by the unit tests (floors: lines >= {LINE_FLOOR:g} %, "
            f"branches >= {BRANCH_FLOOR:g} %, every function called)",
            f"  {'folder':<12} {'files':>5} {'lines':>15} {'branches':>15} {'functions':>14}  verdict"]
    failures = []
    for folder, t in totals.items():
        if t["files"] == 0:
            rows.append(f"  {folder + '/':<12} {0:>5} {'-':>15} {'-':>15} {'-':>14}  no code yet")
            continue
        lines = percent(t["lines_hit"], t["lines"])
        branches = percent(t["branches_hit"], t["branches"])
        called = t["functions"] - len(t["uncalled"])
        problems = []
        if lines < LINE_FLOOR:
            problems.append(f"lines {lines:.1f} % < {LINE_FLOOR:g} %")
        if branches < BRANCH_FLOOR:
            problems.append(f"branches {branches:.1f} % < {BRANCH_FLOOR:g} %")
        if t["uncalled"]:
            problems.append(f"{len(t['uncalled'])} function(s) no test calls")
        rows.append(f"  {folder + '/':<12} {t['files']:>5} "
                    f"{lines:>6.1f} % {t['lines_hit']:>4}/{t['lines']:<4}"
                    f"{branches:>6.1f} % {t['branches_hit']:>4}/{t['branches']:<4}"
                    f"{called:>6}/{t['functions']:<6}  {'ok' if not problems else 'BELOW: ' + '; '.join(problems)}")
        failures += [f"{folder}/: {p}" for p in problems]
        failures += [f"  untested: {u}" for u in t["uncalled"]]
    return rows, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True)
    parser.add_argument("--gcovr", required=True)
    parser.add_argument("--tests", required=True, help="the coverage-instrumented unit test binary")
    parser.add_argument("--objects", required=True, help="where its .gcno/.gcda files are")
    parser.add_argument("--dtbs", required=True, help="the QEMU DTBs the unit tests read")
    parser.add_argument("--work", required=True)
    parser.add_argument("--exclusions", required=True)
    parser.add_argument("--html", required=True)
    parser.add_argument("--table", required=True)
    args = parser.parse_args()
    for name in ("source", "tests", "objects", "dtbs", "work", "exclusions", "html", "table"):
        setattr(args, name, os.path.abspath(getattr(args, name)))

    exclusions = read_exclusions(args.exclusions)
    summary = run_tests(args)
    with tempfile.TemporaryDirectory() as scratch:
        files = run_gcovr(args, os.path.join(scratch, "coverage.json"))
    excluded = apply_exclusions(files, exclusions)
    rows, failures = table(measure(files, excluded))
    rows.append(f"  tests: {' / '.join(s.replace('[doctest] ', '').strip() for s in summary[:2])}")
    rows.append(f"  excluded: {len(excluded)} function(s), listed with reasons in tests/cert/coverage_exclusions.txt")
    rows.append(f"  report: {args.html}")
    for e in exclusions:
        if not e["used"]:
            failures.append(f"{e['where']}: exclusion '{e['path']} {e['function']}' matches no function")
    text = "\n".join(rows)
    print(text)
    with open(args.table, "w") as f:
        f.write(text + "\n")
        if failures:
            f.write("\n".join(failures) + "\n")
    if failures:
        print("\n".join(failures))
        print("FAIL coverage: " + "; ".join(x for x in failures if not x.startswith("  ")))
        return 1
    print("PASS coverage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
