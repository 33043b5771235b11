#!/usr/bin/env python3
"""Deterministic benchmarks under QEMU -icount shift=0,sleep=off (one instruction = 1 ns
of virtual time; sleep=off keeps idle CPUs from warping virtual time to the host clock,
so counter-based timings repeat exactly). Prints one fixed-format line per figure:

  benchmark NAME key value key value ...

The probe guest's figures come from build/probe-bench.img, next to --image
(tests/configs/probe-bench.dts): at shift=0 its nanoseconds are instructions.

Usage: benchmarks.py --image build/bulkhead.img [--check-determinism]
"""
import argparse
import itertools
import os
import re
import struct
import sys

import exit_profile
import qemu_harness as q
from pci_tests import RICH_TOPOLOGY
from vpci_tests import description_bootargs

ICOUNT = ["-icount", "shift=0,sleep=off"]


def pci_enumeration(image):
    args = q.machine_args(smp=2, memory="1G", extra=["-icount", "shift=0,sleep=off", *RICH_TOPOLOGY])
    run = q.boot(image, args, timeout=120)
    run.expect_exited_by_itself()
    facts = run.facts("pci-enumeration")
    run.expect(len(facts) == 1, "no pci-enumeration line")
    values = dict(zip(facts[0][1::2], facts[0][2::2]))
    run.expect(values["errors"] == "no", "enumeration reported errors")
    return (f"benchmark pci-enumeration topology rich segments {values['segments']} functions {values['functions']} "
            f"config-accesses {values['config-accesses']} time-ns {values['ns']}")


def probe_figures(run, partition):
    figures = {}
    for line in run.lines:
        match = re.match(rf"^\[{partition}\] probe: bench ([a-z-]+) ([0-9]+)$", line)
        if match:
            figures[match.group(1)] = int(match.group(2))
    return figures


def expect_steady(run, figures, name):
    """A latency figure is the mean of one path only if its iterations agree to a counter
    tick. Under -icount the CPUs take turns on one instruction clock, so another CPU's work
    that runs inside an iteration's window (a partition booting, the boot CPU writing the
    console) is counted in it: the probe prints the spread (slowest minus fastest, the
    first iteration left out, see tests/guests/probe/cost.hpp) of each latency, and a wider
    one means the figure no longer measures the interrupt path."""
    spread = figures.get(f"{name}-spread-ticks")
    run.expect(spread is not None, f"the probe printed no {name}-spread-ticks figure")
    run.expect(spread <= 1, f"{name}: its iterations differ by {spread} counter ticks (at most 1 for one path): "
                            f"other work ran inside some of them")


def boot_timeline(run, image_name):
    """The hypervisor's boot timeline (README.md, `boot-phase`): for each phase the
    instructions since reset when it ended and those it took, then each partition's
    first entry as the hypervisor saw it."""
    lines = []
    previous = 0
    for words in run.facts("boot-phase"):
        values = dict(zip(words[2::2], words[3::2]))
        end = int(values["ns"])
        phase = words[1] + (f" partition {values['partition']}" if "partition" in values else "")
        lines.append(f"benchmark boot-phase image {image_name} phase {phase} end-instructions {end} "
                     f"instructions {end - previous}")
        previous = end
    run.expect(lines, f"{image_name}: no boot-phase lines")
    for words in run.facts("partition"):
        if words[2:3] == ["first-entry"]:
            values = dict(zip(words[3::2], words[4::2]))
            lines.append(f"benchmark first-entry image {image_name} partition {words[1]} instructions {values['ns']}")
    return lines


def probe_guest(image):
    """Two probe partitions (tests/configs/probe-bench.dts): for each, when its first
    instruction ran (CNTPCT, which counts from QEMU's reset; at shift=0 one nanosecond is
    one instruction), and from the one running `bench` the mean cost of a null
    hypercall, of a trapped GICD_TYPER read, of a trapped ECAM read (vendor ID) and write
    (Interrupt Line) on its virtual PCI bus, and of a virtual-timer interrupt from
    CNTV_CVAL to the guest's IRQ vector.

    QEMU runs the CPUs one after the other, so the second partition's first instruction
    comes after whatever the first guest ran meanwhile. That guest sleeps first
    (probe.sleep-first-ms): what it ran before (`sleep-counter` minus its first
    instruction) is taken out, so the second figure counts the hypervisor's work only."""
    probe_image = os.path.join(os.path.dirname(os.path.abspath(image)), "probe-bench.img")
    args = exit_profile.probe_bench_args()
    run = q.boot(probe_image, args, timeout=120)
    run.expect_exited_by_itself()
    run.expect_line("[probe] probe: done passed 1 failed 0")
    run.expect_line("[second] probe: done passed 1 failed 0")
    figures = probe_figures(run, "probe")
    for name in ("first-instruction-counter", "counter-frequency", "sleep-counter", "null-hvc-ns", "gicd-read-ns",
                 "ecam-read-ns", "ecam-write-ns", "irq-latency-ns"):
        run.expect(name in figures, f"the probe printed no {name} figure")
    expect_steady(run, figures, "irq-latency")

    def instructions(ticks):
        return ticks * 1000000000 // figures["counter-frequency"]

    first_guest = instructions(figures["sleep-counter"] - figures["first-instruction-counter"])
    entries = []
    for partition in ("probe", "second"):
        entry = probe_figures(run, partition)
        run.expect("first-instruction-counter" in entry, f"{partition} printed no first-instruction-counter")
        ticks = entry["first-instruction-counter"]
        if partition == "probe":
            entries.append(f"benchmark partition-entry partition {partition} counter-ticks {ticks} "
                           f"instructions {instructions(ticks)}")
        else:
            run.expect(ticks > figures["sleep-counter"], "the second partition started before the first slept")
            entries.append(f"benchmark partition-entry partition {partition} counter-ticks {ticks} "
                           f"instructions {instructions(ticks) - first_guest} first-guest-instructions {first_guest}")
    return "\n".join([
        *entries,
        *boot_timeline(run, "probe-bench"),
        f"benchmark null-hvc instructions {figures['null-hvc-ns']}",
        f"benchmark gicd-read instructions {figures['gicd-read-ns']}",
        f"benchmark ecam-read instructions {figures['ecam-read-ns']}",
        f"benchmark ecam-write instructions {figures['ecam-write-ns']}",
        f"benchmark irq-latency instructions {figures['irq-latency-ns']}",
    ])


LINUX_FIRST_ENTRY = "bulkhead: partition linux first-entry "


def main_job_boot(image):
    """The main job's image (bulkhead.img: Debian Linux with a 32 MB kernel, and the
    heartbeat) on the main job's machine as partition_tests.py boots it (its NVMe and NIC
    present, else Linux's partition is refused), up to Linux's first entry and the end of
    the boot report: where the boot's time goes when the payload is large."""
    session = q.QemuSession(image, q.main_job_args("bench-main-job", extra=ICOUNT))
    try:
        session.wait(240, until=(q.REPORT_COMPLETE, LINUX_FIRST_ENTRY))
    finally:
        session.stop()
    run = session.run()
    run.expect_match("^" + re.escape(LINUX_FIRST_ENTRY))
    run.expect_line("bulkhead: boot-complete")
    return "\n".join(boot_timeline(run, "bulkhead"))


def elf_sizes(image):
    """Section sizes of the hypervisor's ELF (the image's code and data; .noinit is the
    never-zeroed storage for pools, stacks and tables, core/lib/boot_storage.hpp)."""
    path = os.path.splitext(os.path.abspath(image))[0] + ".elf"
    blob = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3a)
    sections = [struct.unpack_from("<IIQQQQ", blob, shoff + i * shentsize) for i in range(shnum)]
    names_offset = sections[shstrndx][4]

    def name(section):
        end = blob.index(b"\0", names_offset + section[0])
        return blob[names_offset + section[0]:end].decode()

    sizes = {name(section): section[5] for section in sections}
    return (f"benchmark image-size file {os.path.basename(path)} text {sizes.get('.text', 0)} "
            f"rodata {sizes.get('.rodata', 0)} data {sizes.get('.data', 0)} bss {sizes.get('.bss', 0)} "
            f"noinit {sizes.get('.noinit', 0)}")


def msi_latency(image):
    """Issue 13: from edu's MSI (the guest's store to its raise register) to the guest's
    IRQ vector, through the SMMU, the ITS, the LPI taken at EL2 and the virtual SPI, next to
    the virtual timer's interrupt measured the same way in the same run
    (tests/configs/probe-msi-bench.dts)."""
    msi_image = os.path.join(os.path.dirname(os.path.abspath(image)), "probe-msi-bench.img")
    args = q.machine_args(smp=2, memory="1G", extra=["-icount", "shift=0,sleep=off", "-device", "edu,addr=1"])
    run = q.boot(msi_image, args, timeout=120)
    run.expect_exited_by_itself()
    run.expect_line("[probe] probe: PASS msi-bench means over 50 edu MSIs and 50 vtimer irqs")
    figures = probe_figures(run, "probe")
    expect_steady(run, figures, "msi-latency")
    expect_steady(run, figures, "timer-latency")
    msi, timer = figures["msi-latency-ns"], figures["timer-latency-ns"]
    return (f"benchmark msi-latency instructions {msi} timer-latency instructions {timer} "
            f"ratio {msi / timer:.2f}")


def dma_figures(run, partition):
    figures = probe_figures(run, partition)
    for name in ("dma-transfers", "dma-bytes", "dma-ticks", "counter-frequency"):
        run.expect(name in figures, f"{partition} printed no {name} figure")
    return figures


def dma_throughput(image):
    """edu's DMA copy throughput seen by the probe's dma-bench (test_dma.cpp: 4032-byte
    transfers RAM -> device -> RAM, each ended by edu's INTx interrupt taken in WFI) in a
    partition (probe-dma-bench.img: every transfer through the SMMU's stage-1 context, the
    interrupt forwarded by the hypervisor) against the very same probe.elf on plain QEMU
    (no hypervisor: EL1, the SMMU left off, so DMA bypasses it; the device tree at the
    base of RAM), with the same bootargs and the same edu. Both under icount, so the
    figures are instructions and edu's DMA timer, which finishes each transfer 100 ms of
    virtual time after its command whatever its size: that timer is the throughput
    (about 40 KB/s). QEMU charges no time for the SMMU's walks, so what the hypervisor
    can add is each transfer's interrupt path (the exit, the injection, the guest's EOI)
    and the hypervisor's own activity meanwhile. The ratio is therefore bound to be close
    to 1 on QEMU; overhead-ns-per-transfer is the figure that tells the hypervisor's cost."""
    directory = os.path.dirname(os.path.abspath(image))
    edu = ["-icount", "shift=0,sleep=off", "-device", "edu,addr=1,dma_mask=0xffffffffffffffff"]
    partition = q.boot(os.path.join(directory, "probe-dma-bench.img"), q.machine_args(smp=2, memory="1G", extra=edu),
                       timeout=120)
    partition.expect_exited_by_itself()
    partition.expect(not partition.errors(), f"unexpected error lines: {partition.errors()}")
    partition.expect_line("[probe] probe: done passed 1 failed 0")
    inside = dma_figures(partition, "probe")
    bootargs = description_bootargs("probe-dma-bench.dts", "probe")
    native = q.boot(os.path.join(directory, "tests", "guests", "probe.elf"),
                    q.machine_args(smp=1, memory="1G", machine="virt,gic-version=3,iommu=smmuv3",
                                   extra=[*edu, "-append", bootargs]), timeout=120)
    native.expect_exited_by_itself()
    native.expect_line("probe: done passed 1 failed 0")
    figures = {}
    for line in native.lines:
        match = re.match(r"^probe: bench ([a-z-]+) ([0-9]+)$", line)
        if match:
            figures[match.group(1)] = int(match.group(2))
    for name in ("dma-transfers", "dma-bytes", "counter-frequency"):
        native.expect(figures.get(name) == inside[name], f"plain QEMU's {name} {figures.get(name)}, the partition's "
                                                         f"{inside[name]}: not the same run")
    frequency, transfers, size = inside["counter-frequency"], inside["dma-transfers"], inside["dma-bytes"]
    inside_rate = size * frequency // inside["dma-ticks"]
    native_rate = size * frequency // figures["dma-ticks"]
    overhead_ns = (inside["dma-ticks"] - figures["dma-ticks"]) * 1000000000 // frequency // transfers
    return (f"benchmark dma-throughput device edu transfers {transfers} bytes {size} "
            f"partition-bytes-per-s {inside_rate} native-bytes-per-s {native_rate} "
            f"ratio {figures['dma-ticks'] / inside['dma-ticks']:.5f} "
            f"partition-ticks {inside['dma-ticks']} native-ticks {figures['dma-ticks']} "
            f"overhead-ns-per-transfer {overhead_ns}")


def exit_breakdown(image):
    """Where the hypervisor's instructions go in each of the exits above (the probe runs
    on QEMU's CPU 1): traced instruction by instruction (exit_profile.py)."""
    directory = os.path.dirname(os.path.abspath(image))
    args = exit_profile.probe_bench_args()
    return "\n".join(exit_profile.lines(os.path.join(directory, "probe-bench.elf"),
                                         os.path.join(directory, "probe-bench.img"), args, cpu=1))


def differing_lines(first, second):
    """The lines of two runs' figures that differ, as `first:` / `second:` pairs (a line
    only one run printed is paired with `(none)`)."""
    pairs = []
    for a, b in itertools.zip_longest(first.split("\n"), second.split("\n"), fillvalue="(none)"):
        if a != b:
            pairs += [f"  first:  {a}", f"  second: {b}"]
    return pairs


BENCHMARKS = [pci_enumeration, probe_guest, msi_latency, exit_breakdown, dma_throughput, main_job_boot, elf_sizes]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--check-determinism", action="store_true",
                        help="run every benchmark twice and fail unless the figures are identical")
    options = parser.parse_args()
    try:
        for benchmark in BENCHMARKS:
            line = benchmark(options.image)
            print(line)
            if options.check_determinism:
                again = benchmark(options.image)
                if again != line:
                    print(f"FAIL {benchmark.__name__}: not deterministic; the second run differs in:")
                    print("\n".join(differing_lines(line, again)))
                    return 1
    except q.TestFailure as failure:
        print(f"FAIL: {failure}")
        return 1
    print("PASS benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
