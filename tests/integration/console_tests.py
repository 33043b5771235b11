#!/usr/bin/env python3
"""The shared console under a flood (issue 15), end to end: tests/configs/probe-console-flood.dts
runs the probe guest twice (tests/guests/probe/test_console_flood.cpp). `flood` floods its
UART from two vCPUs for 2.5 s after 1 s of quiet (its third spins on CPU 0, the drainer), and makes the hypervisor
log faults and unhandled GICD accesses about it; `witness`, on its own CPU, prints a
line every 10 ms stamped with the physical counter (when it began the line, and when it
had written the one before), and echoes what is typed to it.

Two measures of the bound the README states (one item of each other queue per round):
- In output order, free of host noise: once a witness line was all written, at most one
  flood item goes out before it per witness line still ahead of it in its queue. Each
  flood line of vCPU 0 carries the time it began, and no item holds two line starts, so
  flood lines begun after the witness line was written that still come out before it
  are counted against the witness lines in between.
- In time: the host notes when each line's newline arrived; QEMU's counter follows host
  time (no -icount), so a witness line's delay is its arrival less the moment it began,
  less the smallest such difference of the run. The quiet phases before and after the
  flood are the baseline, on the same machine under the same load.

Usage: console_tests.py --build-dir build SCENARIO
"""
import bisect
import os
import re
import sys
import time

import qemu_harness as q

MAIN_JOB = dict(smp=4, memory="2G")

# In time, the bound is a few ms on QEMU when the boot CPU runs; what a loaded 2-core
# host adds (QEMU's threads or this script's reader waiting for a core: stalls of
# 100-200 ms were seen) shows in the quiet phases too, but a boot CPU busy draining the
# flood is preempted more often than one that sleeps. So the flood may add at most
# FLOOD_MARGIN_S to the baseline's worst delay, and no line may be later than
# FLOOD_LIMIT_S: half the 1.2 s a witness line waited before the per-partition queues.
FLOOD_MARGIN_S = 0.3
FLOOD_LIMIT_S = 0.6
# A byte typed to the witness mid-flood comes back within the same limit (the witness
# polls its UART every ms).
INPUT_LIMIT_S = FLOOD_LIMIT_S

# What the hypervisor may say about `flood` once it starts flooding: 8 fault lines, 8
# unhandled-access lines, a muted line after each kind, and `off`; whatever did not fit
# in its queue is counted in `log-dropped N` lines.
FAULT_ADDRESS = "0x61000000"  # the first byte past flood's RAM (probe.fault-address default)
TOLD_ABOUT_FLOOD = [
    (re.compile(rf"^bulkhead: partition flood fault ipa {FAULT_ADDRESS} pc 0x[0-9a-f]+ read size 4$"), 8),
    (re.compile(r"^bulkhead: partition flood fault-logging muted after 8 faults$"), 1),
    (re.compile(r"^bulkhead: partition flood unhandled gic-distributor offset 0x14 read size 4$"), 8),
    (re.compile(r"^bulkhead: partition flood unhandled-logging muted after 8 accesses$"), 1),
    (re.compile(r"^bulkhead: partition flood off$"), 1),
]
DROPPED = re.compile(r"^bulkhead: partition flood log-dropped ([0-9]+)$")

WITNESS_PREFIX = "[witness] "
FLOOD_PREFIX = "[flood] "
WITNESS_LINE = re.compile(r"^witness: line ([0-9]+) at-us ([0-9]+) previous-end-us ([0-9]+)$")
WITNESS_END = re.compile(r"^witness: end lines ([0-9]+) last-end-us ([0-9]+) late-max-us ([0-9]+)$")
WITNESS_INPUT = re.compile(r"^witness: input (0x[0-9a-f]+) at-us ([0-9]+)$")
WITNESS_OTHER = [re.compile(r"^witness: start at-us [0-9]+ period-us [0-9]+$"), re.compile(r"^probe: ")]
TYPED = b"x\x14\x14"  # a byte, then the focus key twice: one Ctrl-T for the witness
TYPED_SEEN = ["0x78", "0x14"]

# The two vCPUs' streams, told apart by their alphabets (test_console_flood.cpp): vCPU 1
# writes '<', '>', A-J and the bytes 0xf0..0xff, vCPU 0 everything else; the multiplexer
# shows bytes from 0x7f up as `\xHH`.
RUN_LETTERS = frozenset("<>ABCDEFGHIJ")
SHOWN_BYTE = re.compile(r"\\x[0-9a-f]{2}|.", re.S)
LINE_SPLIT_MARKER = "\\"  # core/console/console_mux.hpp: a line longer than 200 characters
LINE_CAPACITY = 200
FLOOD_LINE_HEAD = re.compile(r"flood: line ([0-9]{6}) at-us ([0-9]{10}) ")


def shown(byte):
    return chr(byte) if 0x20 <= byte < 0x7f else f"\\x{byte:02x}"


def flood_line_padding(index):
    return "".join(shown(0x80 + i % 26) for i in range(40 + (index % 7) * 30))


def flood_run(index):
    return ["<", *(chr(ord("A") + int(d)) for d in f"{index:06d}"), ">", *(shown(b) for b in range(0xf0, 0x100))]


def from_runs(token):
    return token in RUN_LETTERS or (len(token) == 4 and int(token[2:], 16) >= 0xf0)


class StampedSession(q.QemuSession):
    """A QEMU session that also notes when each piece of output arrived."""

    def __init__(self, image, args):
        self.arrivals = []  # (bytes received so far, time.monotonic() then)
        self.received = 0
        super().__init__(image, args, interactive=True)

    def _drain(self):
        while True:
            data = os.read(self.process.stdout.fileno(), 65536)
            now = time.monotonic()
            if not data:
                return
            with self.lock:
                self.chunks.append(data)
                self.received += len(data)
                self.arrivals.append((self.received, now))

    def output_lines(self):
        """Every complete output line, in order: (index, text, host time its newline arrived)."""
        with self.lock:
            data = b"".join(self.chunks)
            ends = [end for end, _ in self.arrivals]
            times = [at for _, at in self.arrivals]
        lines = []
        start = 0
        for newline in re.finditer(b"\n", data):
            chunk = bisect.bisect_right(ends, newline.start())
            lines.append((len(lines), data[start:newline.start()].decode("latin-1").rstrip("\r"), times[chunk]))
            start = newline.end()
        return lines

    def largest_gap(self, begin, end):
        """The longest time between begin and end in which no output arrived."""
        with self.lock:
            times = [at for _, at in self.arrivals if begin <= at <= end]
        points = [begin, *times, end]
        return max(b - a for a, b in zip(points, points[1:]))


def partition_lines(lines, prefix):
    return [(index, text[len(prefix):], at) for index, text, at in lines if text.startswith(prefix)]


def drop_redraw_fragments(lines):
    """Once someone typed, the focused partition's partial line is shown live and redrawn
    whole after any other line cut it (console_mux.hpp): a line that the same console's
    next line starts with (or repeats: cut again before it grew) was such a fragment."""
    return [line for line, following in zip(lines, lines[1:] + [None])
            if following is None or not following[1].startswith(line[1])]


def first_difference(got, expected):
    at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    around = slice(max(0, at - 40), at + 40)
    return f"at {at} of {len(expected)}: got {got[around]!r}, expected {expected[around]!r}"


class Flood:
    """What `flood` printed: its stamps, and where each line of vCPU 0 began in the output."""

    def __init__(self, run, lines):
        for _, text, _ in lines:
            body = text[:-1] if text.endswith(LINE_SPLIT_MARKER) else text
            run.expect(len(body) <= LINE_CAPACITY,
                       f"a flood line longer than the multiplexer's 200 characters: {text[:80]!r}")
        # The partition's text as written, each piece noted with the output line it is on.
        joined, self.pieces = "", []
        for index, text, _ in lines:
            self.pieces.append((len(joined), index))
            joined += text[:-1] if text.endswith(LINE_SPLIT_MARKER) else text + "\n"
        start = re.search(r"^flood: start at-us ([0-9]+)\n", joined, re.M)
        run.expect(start, "no `flood: start` line")
        end = re.search(r"flood: end at-us ([0-9]+) lines ([0-9]+) runs ([0-9]+) aborts ([0-9]+) gicd-reads ([0-9]+) "
                        r"full-waits ([0-9]+) empty-waits ([0-9]+) burst-when-full (yes|no)\n", joined)
        run.expect(end, "no `flood: end` line")
        self.start_us, self.end_us = int(start.group(1)), int(end.group(1))
        self.lines, self.runs, self.full_waits, self.empty_waits = (int(end.group(i)) for i in (2, 3, 6, 7))
        self.filled = end.group(8) == "yes"
        self.region = joined[start.end():end.start()]
        # vCPU 0 writes each line under its UART lock: its head is never cut by vCPU 1.
        self.line_starts = [(int(m.group(2)), self.output_index(start.end() + m.start()))
                            for m in FLOOD_LINE_HEAD.finditer(self.region)]

    def output_index(self, offset):
        return self.pieces[bisect.bisect_right(self.pieces, (offset, float("inf"))) - 1][1]

    def check_streams(self, run):
        """Every byte both vCPUs wrote arrived, in order: vCPU 0's lines numbered and
        whole, vCPU 1's runs back to back."""
        tokens = SHOWN_BYTE.findall(self.region)
        by_runs = [t for t in tokens if from_runs(t)]
        by_lines = "".join(t for t in tokens if not from_runs(t)).split("\n")
        run.expect(by_lines[-1] == "", f"vcpu 0's last line is not whole: {by_lines[-1][:80]!r}")
        run.expect(len(by_lines) - 1 == self.lines, f"vcpu 0 wrote {self.lines} lines, {len(by_lines) - 1} arrived")
        stamps = []
        for index, line in enumerate(by_lines[:-1]):
            head = FLOOD_LINE_HEAD.match(line)
            run.expect(head and int(head.group(1)) == index and line[head.end():] == flood_line_padding(index),
                       f"vcpu 0's line {index} did not arrive whole and in order: {line[:120]!r}")
            stamps.append(int(head.group(2)))
        run.expect(stamps == sorted(stamps), "vcpu 0's line stamps go back in time")
        expected_runs = [t for i in range(self.runs) for t in flood_run(i)]
        run.expect(by_runs == expected_runs, f"vcpu 1's {self.runs} runs did not arrive whole and in order: "
                   + first_difference(by_runs, expected_runs))
        run.expect(self.filled and self.full_waits + self.empty_waits > 0,
                   "the UART never read full: the flood did not outrun the console, so flow control went untested")
        run.expect_match(rf"^\[flood\] probe: PASS console-flood {self.lines} lines and {self.runs} runs from 2 vcpus ")
        run.expect_line("[flood] probe: done passed 1 failed 0")
        print(f"flood: vcpu 0 {self.lines} lines ({len(SHOWN_BYTE.findall(''.join(by_lines)))} bytes, "
              f"{self.full_waits} waits for FR.TXFF), vcpu 1 {self.runs} runs ({len(expected_runs)} bytes, "
              f"{self.empty_waits} waits for FR.TXFE), every byte in order")


def check_hypervisor_lines(run, lines):
    """The lines about `flood` since it started flooding are what it provoked, each told
    or counted as dropped, exactly."""
    begin = next(index for index, text, _ in lines if text.startswith("[flood] flood: start at-us "))
    about = [text for _, text, _ in lines[begin:] if text.startswith("bulkhead: partition flood ")]
    dropped = sum(int(DROPPED.match(text).group(1)) for text in about if DROPPED.match(text))
    told = [text for text in about if not DROPPED.match(text)]
    expected_total = sum(count for _, count in TOLD_ABOUT_FLOOD)
    for text in told:
        run.expect(any(pattern.match(text) for pattern, _ in TOLD_ABOUT_FLOOD), f"unexpected line about flood: {text!r}")
    for pattern, most in TOLD_ABOUT_FLOOD:
        seen = len([text for text in told if pattern.match(text)])
        run.expect(seen <= most, f"{seen} lines match {pattern.pattern!r}: at most {most}")
    run.expect(len(told) + dropped == expected_total,
               f"{len(told)} lines about flood told and {dropped} counted as dropped: expected {expected_total} in all:\n"
               + "\n".join(about))
    print(f"hypervisor lines about flood: {len(told)} told, {dropped} dropped and counted, of {expected_total}")


class Witness:
    """The witness's whole lines: numbered 1..N in order, each with when it began, when
    it was all written (the next line says), where it is in the output and when it
    arrived."""

    def __init__(self, run, lines):
        self.lines = drop_redraw_fragments(lines)
        for _, text, _ in self.lines:
            run.expect(any(p.match(text) for p in [WITNESS_LINE, WITNESS_INPUT, WITNESS_END, *WITNESS_OTHER]),
                       f"a witness line not whole: {text!r}")
        end = [WITNESS_END.match(text) for _, text, _ in self.lines if WITNESS_END.match(text)]
        run.expect(len(end) == 1, "no witness end line")
        count, late_us = int(end[0].group(1)), int(end[0].group(3))
        numbered = [(WITNESS_LINE.match(text), index, at) for index, text, at in self.lines if WITNESS_LINE.match(text)]
        numbers = [int(m.group(1)) for m, _, _ in numbered]
        run.expect(numbers == list(range(1, count + 1)), f"witness lines are not 1..{count} in order: {numbers[:20]}...")
        ends = [int(m.group(3)) for m, _, _ in numbered[1:]] + [int(end[0].group(2))]
        # (number, began us, written us, output index, arrival)
        self.numbered = [(int(m.group(1)), int(m.group(2)), written, index, at)
                         for (m, index, at), written in zip(numbered, ends)]
        self.indices = [index for index, _, _ in self.lines]
        run.expect_match(rf"^\[witness\] probe: PASS console-witness {count} lines every ")
        run.expect_line("[witness] probe: done passed 1 failed 0")
        print(f"witness: lines 1..{count} whole and in order; its own loop at worst {late_us} us late")

    def check_order(self, run, flood):
        """No witness line is overtaken by more flood items, once it was written, than
        there are witness lines ahead of it in its queue, plus one (the round it was
        written in). Returns the most any line saw."""
        most = 0
        for number, _, written, index, _ in self.numbered:
            overtaking = sorted(at for began, at in flood.line_starts if began > written and at < index)
            if not overtaking:
                continue
            ahead = bisect.bisect_left(self.indices, index) - bisect.bisect_right(self.indices, overtaking[0])
            run.expect(len(overtaking) <= ahead + 1,
                       f"witness line {number} (written at {written} us) was overtaken by {len(overtaking)} flood lines "
                       f"begun after it, with only {ahead} witness lines ahead of it")
            most = max(most, len(overtaking) - ahead)
        return most

    def delays(self):
        """(began us, delay s, of which after it was written s): arrival less the moment
        the line began, the smallest such difference of the run taken as zero."""
        reference = min(at - began / 1e6 for _, began, _, _, at in self.numbered)
        return [(began, at - began / 1e6 - reference, at - written / 1e6 - reference)
                for _, began, written, _, at in self.numbered]


def summary(label, values):
    if not values:
        return f"{label}: no lines"
    ordered = sorted(values)
    return (f"{label}: {len(ordered)} lines, median {ordered[len(ordered) // 2] * 1e3:.1f} ms, "
            f"90% {ordered[len(ordered) * 9 // 10] * 1e3:.1f} ms, worst {ordered[-1] * 1e3:.1f} ms")


scenario = q.Scenarios()


def flood_once(build):
    """One run of the flood: every check in output order and of content made (failing
    at once), the in-time figures returned as (problems, run): the bounds they break, if
    any."""
    session = StampedSession(os.path.join(build, "probe-console-flood.img"), q.machine_args(**MAIN_JOB))
    try:
        at = session.wait_for("[flood] flood: start at-us ", 60)
        session.wait_for("\n", 5, at)
        time.sleep(0.5)
        typed_at = time.monotonic()
        session.type(TYPED)
        session.wait(60)
    finally:
        session.stop()
    run = session.run()
    run.expect_exited_by_itself()
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with power-off reason all-partitions-off")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    lines = session.output_lines()
    flood_output = Flood(run, partition_lines(lines, FLOOD_PREFIX))
    flood_output.check_streams(run)
    check_hypervisor_lines(run, lines)
    witness = Witness(run, partition_lines(lines, WITNESS_PREFIX))

    most = witness.check_order(run, flood_output)
    print(f"in output order: no witness line overtaken by more than {most} flood item(s) begun after it beyond "
          f"the witness lines ahead of it")

    measured = witness.delays()
    phases = {"before the flood (baseline)": [], "during the flood": [], "after the flood": []}
    for began, delay, _ in measured:
        phase = "before the flood (baseline)" if began < flood_output.start_us else (
            "during the flood" if began <= flood_output.end_us else "after the flood")
        phases[phase].append(delay)
    for phase, delays in phases.items():
        print(summary(f"witness delay {phase}", delays))
    print(summary("  of which after the line was all written, during the flood",
                  [queued for began, _, queued in measured if flood_output.start_us <= began <= flood_output.end_us]))
    flood_start = min(at for _, began, _, _, at in witness.numbered if began >= flood_output.start_us)
    flood_end = max(at for _, began, _, _, at in witness.numbered if began <= flood_output.end_us)
    print(f"longest time without any output reaching the host during the flood: "
          f"{session.largest_gap(flood_start, flood_end) * 1e3:.1f} ms")
    baseline, flooded, after = phases.values()
    run.expect(len(baseline) >= 20 and len(flooded) >= 100 and len(after) >= 20,
               "too few witness lines before, during or after the flood")

    inputs = [(WITNESS_INPUT.match(text), at) for _, text, at in witness.lines if WITNESS_INPUT.match(text)]
    run.expect([m.group(1) for m, _ in inputs] == TYPED_SEEN, f"the witness saw {[m.group(1) for m, _ in inputs]} "
               f"typed: expected {TYPED_SEEN}")
    stamp = int(inputs[0][0].group(2))
    run.expect(flood_output.start_us <= stamp <= flood_output.end_us,
               "the typed byte reached the witness outside the flood")
    echoed = inputs[-1][1] - typed_at
    print(f"input typed mid-flood echoed by the witness {echoed * 1e3:.1f} ms later")

    problems = []
    quiet_worst, flood_worst = max(baseline + after), max(flooded)
    if flood_worst > min(FLOOD_LIMIT_S, quiet_worst + FLOOD_MARGIN_S):
        problems.append(f"a witness line waited {flood_worst * 1e3:.1f} ms during the flood (quiet phases at worst "
                        f"{quiet_worst * 1e3:.1f} ms; allowed: those + {FLOOD_MARGIN_S * 1e3:.0f} ms, "
                        f"at most {FLOOD_LIMIT_S * 1e3:.0f} ms)")
    if quiet_worst > FLOOD_LIMIT_S:
        problems.append(f"a witness line waited {quiet_worst * 1e3:.1f} ms without a flood")
    if echoed > INPUT_LIMIT_S:
        problems.append(f"typed mid-flood, the witness echoed it {echoed * 1e3:.1f} ms later")
    return problems, run


@scenario()
def flood(build):
    """Under the flood the witness's lines keep the bound (in output order, and in time
    against the quiet phases), every byte of the flood arrives in order, the hypervisor's
    lines about the flood are told or counted, and input typed to the witness mid-flood
    reaches it. The in-time bounds are measured in host time, which a loaded host can
    stall for longer than they allow (a QEMU thread not run for 300-480 ms was seen in 3
    of 16 runs on an idle 2-core machine, with the hypervisor unchanged): they are checked
    last, and a run that breaks only those is run once more (q.HostTimingFailure), the
    second must keep them."""
    problems, run = flood_once(build)
    run.expect(not problems, "; ".join(problems), q.HostTimingFailure)


if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
