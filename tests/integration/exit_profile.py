#!/usr/bin/env python3
"""Where a guest exit's instructions go: entry/save, dispatch, handler, list-register
work, restore. QEMU runs the probe benchmark image one instruction per translation block
(-singlestep) and logs every executed block (-d exec,nochain) whose address lies in the
trap path's code (-dfilter, the ranges of the functions listed below, as the ELF's symbol
table gives them). Each exit is the instruction sequence from a lower-EL vector to the
ERET; every instruction is attributed to a phase by the function it belongs to, as
compiled (inlined code counts where it was inlined). Under -icount the sequence is the
same for every exit of a kind, so the figures repeat exactly.

Used by benchmarks.py; also runs alone:
  exit_profile.py --elf build/image/images/probe-bench.elf --image build/probe-bench.img
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

import qemu_harness as q

NM = os.environ.get("BULKHEAD_NM", "aarch64-linux-gnu-nm")

# The code a guest exit can run: traced (everything else, the boot above all, is not).
TRACED = re.compile(r"^(el2_vectors|exception_(entry|return)|guest_synchronous_(entry|return)|"
                    r"dispatch_el2_exception|dispatch_guest_synchronous|__stack_chk|memcpy|memset)|"
                    r"^bulkhead::(vcpu|vgic|psci_guest|arch|console|boot::runtime|pci::vpci)::")
# Phases by function (vectors.S: the vectors, exception_entry and guest_synchronous_entry
# save, exception_return and guest_synchronous_return restore). A data abort's exit
# (handle_data_abort_exit) is one function, the emulation and the exit's lock and
# list-register checks inlined together: it counts as handler.
LR_WORK = re.compile(r"^bulkhead::vcpu::(fold|sync|load|refire)_list_registers?|^bulkhead::vgic::VirqQueue::|"
                     r"^bulkhead::vgic::VirtualGic::(fold|sync|fill|rebuild)")
DISPATCH = re.compile(r"^dispatch_el2_exception|^dispatch_guest_synchronous|^bulkhead::vcpu::handle_exit")
ENTRY_SAVE = ("el2_vectors", "exception_entry", "guest_synchronous_entry")
RESTORE = ("exception_return", "guest_synchronous_return")
PHASES = ("entry-save", "dispatch", "handler", "lr-work", "restore")
VECTOR_SYNC_LOWER = 0x400
VECTOR_IRQ_LOWER = 0x480
# The machine the probe benchmark (tests/configs/probe-bench.dts) runs on, with the PCI
# function its probe partition owns.
PROBE_BENCH_DEVICES = ["-device", "pci-testdev"]


def probe_bench_args():
    return q.machine_args(smp=3, memory="1G", extra=["-icount", "shift=0,sleep=off", *PROBE_BENCH_DEVICES])


class Symbols:
    def __init__(self, elf):
        listing = subprocess.run([NM, "-n", "-C", elf], check=True, capture_output=True, text=True).stdout
        self.functions = []
        for line in listing.splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] in "tTwW":
                self.functions.append((int(parts[0], 16), parts[2]))
        self.starts = [address for address, _ in self.functions]
        self.address = {name: address for address, name in self.functions}
        for name in (*ENTRY_SAVE, *RESTORE):
            if name not in self.address:
                raise q.TestFailure(f"no symbol {name} in {elf}: the vectors changed, update exit_profile.py")

    def name(self, pc):
        index = bisect.bisect_right(self.starts, pc) - 1
        return self.functions[index][1] if index >= 0 else "?"

    def traced_ranges(self):
        ranges = []
        for (start, name), (end, _) in zip(self.functions, self.functions[1:]):
            if TRACED.search(name) and end > start:
                if ranges and ranges[-1][1] == start:
                    ranges[-1][1] = end
                else:
                    ranges.append([start, end])
        return ",".join(f"0x{start:x}+0x{end - start:x}" for start, end in ranges)

    def phase(self, pc, name):
        if name in ENTRY_SAVE:
            return "entry-save"
        if name in RESTORE:
            return "restore"
        if LR_WORK.search(name):
            return "lr-work"
        if DISPATCH.search(name):
            return "dispatch"
        return "handler"


def trace_exits(symbols, image, args, cpu, timeout=300):
    """The probe's exits on `cpu` (QEMU's CPU index), each a list of PCs."""
    vectors = symbols.address["el2_vectors"]
    with tempfile.TemporaryDirectory() as work:
        log = os.path.join(work, "exec.log")
        run = q.boot(image, [*args, "-singlestep", "-d", "exec,nochain", "-dfilter", symbols.traced_ranges(), "-D", log],
                     timeout=timeout)
        run.expect_exited_by_itself()
        exits = []
        current = None
        line_pattern = re.compile(r"^Trace (\d+): \S+ \[[0-9a-f]+/([0-9a-f]+)/")
        with open(log) as trace:
            for line in trace:
                match = line_pattern.match(line)
                if not match or int(match.group(1)) != cpu:
                    continue
                pc = int(match.group(2), 16)
                if pc in (vectors + VECTOR_SYNC_LOWER, vectors + VECTOR_IRQ_LOWER):
                    if current and current[-1] == pc:
                        continue  # the same instruction again (QEMU's I/O recompilation rewinds it)
                    current = []
                    exits.append(current)
                if current is not None:
                    current.append(pc)
    return run, exits


def classify(symbols, pcs):
    names = {symbols.name(pc) for pc in pcs}
    if pcs[0] == symbols.address["el2_vectors"] + VECTOR_IRQ_LOWER:
        return "irq-latency"
    if any("handle_psci" in name for name in names):
        return "null-hvc"
    if any("VirtualDistributor::read" in name for name in names):
        return "gicd-read"
    # The ECAM window's direct handlers (their fixed header registers inlined), or the bus's full decode.
    if any("ecam_config_read" in name or "VirtualPciBus::config_read" in name for name in names):
        return "ecam-read"
    if any("ecam_config_write" in name or "VirtualPciBus::config_write" in name for name in names):
        return "ecam-write"
    return None


def breakdown(symbols, exits):
    """Per kind: the phases of its most frequent exit (they all repeat exactly)."""
    by_kind = collections.defaultdict(list)
    for pcs in exits:
        kind = classify(symbols, pcs)
        if kind:
            phases = collections.Counter(symbols.phase(pc, symbols.name(pc)) for pc in pcs)
            by_kind[kind].append(tuple(phases[phase] for phase in PHASES))
    result = {}
    for kind, samples in by_kind.items():
        result[kind] = collections.Counter(samples).most_common(1)[0][0]
    return result


def lines(elf, image, args, cpu):
    symbols = Symbols(elf)
    run, exits = trace_exits(symbols, image, args, cpu)
    figures = breakdown(symbols, exits)
    output = []
    for kind in ("null-hvc", "gicd-read", "ecam-read", "ecam-write", "irq-latency"):
        run.expect(kind in figures, f"no {kind} exit in the trace")
        phases = figures[kind]
        words = " ".join(f"{phase} {count}" for phase, count in zip(PHASES, phases))
        output.append(f"benchmark exit-breakdown {kind} {words} total {sum(phases)}")
    return output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--elf", required=True)
    parser.add_argument("--image", required=True)
    options = parser.parse_args()
    args = probe_bench_args()
    try:
        print("\n".join(lines(options.elf, options.image, args, cpu=1)))
    except q.TestFailure as failure:
        print(f"FAIL: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
