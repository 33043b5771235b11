#!/usr/bin/env python3
"""The probe guest (tests/guests/probe) judged on what it and the hypervisor printed:
architecture behaviour a partition sees (PSCI, timers, SGIs, the virtual GIC, FP and
register state, isolation), fault storms, and partition restarts, each next to the
heartbeat, which must keep beating. Images: build/probe-*.img (tests/configs/).

Usage: probe_tests.py --build-dir build SCENARIO
"""
import os
import re
import sys

import qemu_harness as q

MAIN_JOB = dict(smp=4, memory="2G")
BEATS = [f"[heartbeat] heartbeat {n}" for n in range(1, 21)] + ["[heartbeat] heartbeat done"]


def probe_lines(run):
    return [line[len("[probe] "):] for line in run.lines if line.startswith("[probe] probe: ")]


def bootargs(run):
    """The probe's bootargs as the hypervisor reported them, as a dict."""
    line = run.expect_match(r'^bulkhead: partition probe dtb 0x[0-9a-f]+ bootargs "')[0]
    text = line.split('bootargs "', 1)[1].rstrip('"')
    return dict(word.split("=", 1) for word in text.split() if "=" in word)


def expect_no_failures(run):
    failures = [line for line in probe_lines(run) if line.startswith("probe: FAIL ")]
    run.expect(not failures, "the probe reported failures:\n" + "\n".join(failures))


# A gap: the heartbeat saw a 100 ms deadline only a whole period late. Far above what a
# busy host causes (a few ms), far below what stopping its CPU would.
LATENESS_LIMIT_US = 100000


def expect_heartbeat(run):
    """Every beat, in order, none missing or repeated, none a period late, then `heartbeat done`."""
    beats = [line for line in run.lines if line.startswith("[heartbeat] heartbeat")]
    run.expect(beats == BEATS, f"heartbeat lines are not 1..20 then done: {beats}")
    lateness = int(run.expect_match(r"^\[heartbeat\] beat lateness max-us [0-9]+$")[0].split()[-1])
    run.expect(lateness < LATENESS_LIMIT_US, f"the heartbeat fell {lateness} us behind: a gap")
    print(f"heartbeat 1..20, at worst {lateness} us late")


def expect_done(run, passed):
    run.expect_line(f"[probe] probe: done passed {passed} failed 0")


scenario = q.Scenarios()


@scenario()
def suite(build):
    """Every test the suite's bootargs name passes; each isolation probe faults at EL1 and
    the hypervisor logs both accesses; the heartbeat beats throughout."""
    run = q.boot(os.path.join(build, "probe-suite.img"), q.machine_args(**MAIN_JOB), timeout=120)
    run.expect_exited_by_itself()
    args = bootargs(run)
    tests = args["probe.tests"].split(",")
    probes = [item.split("@") for item in args["probe.isolation"].split(",")]
    run.expect_line("bulkhead: partition probe cpus 1,2 mpidrs 0x1,0x2")
    run.expect_line("[probe] probe: start vcpus 2 ram 0x60000000 size 0x1000000")
    expect_no_failures(run)
    for test in tests:
        if test != "isolation":
            run.expect_match(rf"^\[probe\] probe: PASS {re.escape(test)} ")
    for name, address in probes:
        run.expect_line(f"[probe] probe: PASS isolation {name} {address} read+write faulted")
        for access in ("read", "write"):
            run.expect_match(rf"^bulkhead: partition probe fault ipa {address} pc 0x[0-9a-f]+ {access} size 4$")
    passed = len(tests) - 1 + len(probes)
    run.expect(len([l for l in probe_lines(run) if l.startswith("probe: PASS ")]) == passed,
               f"expected {passed} PASS lines")
    expect_done(run, passed)
    run.expect_line("bulkhead: partition probe off")
    expect_heartbeat(run)
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with power-off reason all-partitions-off")
    print(f"{passed} probe results passed: {', '.join(tests)}")


@scenario()
def fault_loop(build):
    """1000 data aborts in a row, all reflected to the guest; the hypervisor logs the
    first 8 and says it muted the rest; the heartbeat does not notice."""
    run = q.boot(os.path.join(build, "probe-fault-loop.img"), q.machine_args(**MAIN_JOB), timeout=120)
    run.expect_exited_by_itself()
    args = bootargs(run)
    count, address = args["probe.faults"], args["probe.fault-address"]
    expect_no_failures(run)
    run.expect_line(f"[probe] probe: PASS fault-loop {count} data aborts at {address} all caught")
    expect_done(run, 1)
    logged = [line for line in run.report if line.startswith("partition probe fault ")]
    run.expect(len(logged) == 8, f"expected exactly 8 fault lines, got {len(logged)}")
    pattern = re.compile(rf"^partition probe fault ipa {address} pc 0x[0-9a-f]+ read size 4$")
    run.expect(all(pattern.match(line) for line in logged), f"unexpected fault lines: {logged}")
    run.expect_line("bulkhead: partition probe fault-logging muted after 8 faults")
    muted = run.report.index("partition probe fault-logging muted after 8 faults")
    run.expect(run.report.index(logged[-1]) < muted, "the muted line must follow the 8th fault")
    expect_heartbeat(run)
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with power-off reason all-partitions-off")


@scenario()
def reset_loop(build):
    """SYSTEM_RESET with restart-policy "restart": the hypervisor starts the probe again
    from its pristine payload, again and again, while the heartbeat beats 1..20 without a
    gap. The probe never powers off: QEMU is stopped once the heartbeat is done."""
    run = q.boot(os.path.join(build, "probe-reset-loop.img"), q.machine_args(**MAIN_JOB), timeout=120,
                 until="[heartbeat] heartbeat done")
    run.expect(not run.timed_out, "the heartbeat never finished")
    expect_no_failures(run)
    boots = run.lines.count("[probe] probe: reset-loop boot")
    run.expect(boots >= 5, f"the probe booted {boots} times; each SYSTEM_RESET must restart it")
    # Each boot found its initialised data as the image has it and its free RAM zeroed,
    # although the previous boot had scribbled on both (tests/guests/probe/test_faults.cpp).
    restarts = [line for line in run.lines if line.startswith("bulkhead: partition probe restart ")]
    expected = [f"bulkhead: partition probe restart {n} system-reset" for n in range(1, len(restarts) + 1)]
    run.expect(restarts == expected, f"restart lines are not numbered 1..N: {restarts[:5]}")
    run.expect(len(restarts) in (boots - 1, boots), f"{boots} boots but {len(restarts)} restart lines")
    running = run.lines.count("bulkhead: partition probe running vmid 1 entry 0x60000000 cpu 1")
    run.expect(running in (boots, boots + 1), f"{boots} boots but {running} running lines")
    run.expect(not [line for line in run.report if line.startswith("partition probe off")],
               "the probe partition was stopped instead of restarted")
    expect_heartbeat(run)
    print(f"{boots} probe boots while the heartbeat beat 1..20")


# What test_traps provokes, in order: accesses without a syndrome, then refused widths.
REFUSED_ACCESSES = [
    ("0x8000000", "read", 0, "no-syndrome", "gic-distributor"),     # LDP
    ("0x9000000", "write", 0, "no-syndrome", "uart"),               # STP
    ("0x8000000", "read", 0, "no-syndrome", "gic-distributor"),     # LDR post-index
    ("0x8000000", "read", 0, "no-syndrome", "gic-distributor"),     # LDR s0
    ("0x8000000", "read", 2, "width", "gic-distributor"),           # LDRH
    ("0x8000000", "write", 2, "width", "gic-distributor"),          # STRH
    ("0x80a0014", "read", 2, "width", "gic-redistributors"),        # LDRH GICR_WAKER
    ("0x9000000", "read", 8, "width", "uart"),                      # 64-bit LDR
]


@scenario()
def traps(build):
    """Accesses to emulated registers the hypervisor cannot or will not emulate (no
    syndrome, a refused width) are external aborts in the guest with one log line each;
    sign-extending and big-endian accesses are emulated as the architecture says."""
    run = q.boot(os.path.join(build, "probe-traps.img"), q.machine_args(**MAIN_JOB), timeout=120)
    run.expect_exited_by_itself()
    expect_no_failures(run)
    run.expect_match(r"^\[probe\] probe: PASS traps ")
    expect_done(run, 1)
    logged = [line for line in run.report if line.startswith("partition probe fault ")]
    expected = [rf"^partition probe fault ipa {ipa} pc 0x[0-9a-f]+ {access} size {size} refused {reason} region {region}$"
                for ipa, access, size, reason, region in REFUSED_ACCESSES]
    run.expect(len(logged) == len(expected), f"expected {len(expected)} fault lines, got {logged}")
    for line, pattern in zip(logged, expected):
        run.expect(re.match(pattern, line), f"fault line {line!r} does not match {pattern!r}")
    run.expect_line("bulkhead: partition probe fault-logging muted after 8 faults")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    print(f"{len(logged)} refused accesses aborted and logged")


if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
