#!/usr/bin/env python3
"""Issue-12 proof on QEMU, DMA half: what the SMMU lets a device reach.

`guest-dma` (build/probe-dma.img, tests/configs/probe-dma.dts): the probe drives its edu
(tests/guests/probe/test_dma.cpp): transfers into its own RAM and back arrive intact, up
to the last byte of its RAM; a transfer across the end of its RAM lands only the word
inside. Writes to the peer's RAM, to its own RAM by host address, to the hypervisor's
image and to the firmware DTB, a read of the peer's RAM, the word past its RAM, and
writes of its own INTx to GICD_SETSPI_NSR and GICD_ISPENDR<n> each fault with the exact
`dma-fault` line naming the partition and the function, in order, and nothing else
faults (each is one 4-byte access: QEMU's SMMU refuses blocked DMA 4 bytes at a time, one
event each; eight lines, the fault log's burst). While the probe holds (pci-hold) the
harness reads those targets through qtest: the hypervisor's first page is the image's,
the DTB and the probe's own host page carry no marker, the peer's watched RAM holds its
pattern. The peer checksums 1 MiB of its RAM every 250 ms: the same checksum (the one
computed here) throughout, its console lines exactly the expected sequence.

`unowned-stream` (the same image): while the probe holds, the stream table is read back
from memory through qtest (the SMMU's own registers give its base and format) and
walked: exactly the StreamIDs of functions the report gives a partition translate, each
through a stage-1 context whose tables map exactly that partition's RAM (IOVA = guest
address) and nothing else; every other StreamID aborts. Then qtest makes the edu nobody
owns master the bus (memory decode and bus master on in its own command register, DMA
programmed through its BAR): its writes to the peer's RAM and the hypervisor's image
and its read of the peer's RAM, one 4-byte access each, each give a `dma-fault unowned
... reason bad-ste` line (such records carry no address), and the memory is untouched.

`linux-nvme` (build/linux-nvme.img): unmodified Linux drives a passed-through NVMe
controller with the stock nvme driver: an 8 MiB disk image with known content made here
is read whole (its checksum matches), a 4 KiB block written with O_DIRECT reads back, and
the disk file holds exactly that block afterwards. The driver interrupts by MSI-X through
the ITS (issue 13): /proc/interrupts shows each of its queues on a GICv3 MBI (Linux's chip
"MSI", edge), every one of them counting.

Usage: smmu_dma_tests.py --build-dir build SCENARIO
"""
import hashlib
import os
import re
import struct
import sys
import time

import qemu_harness as q
import qtest
from vpci_tests import description_bootargs

WIDE_DMA = "dma_mask=0xffffffffffffffff"  # edu keeps 28 address bits otherwise
PROBE_EDU, UNOWNED_EDU, PEER_EDU = "0000:00:01.0", "0000:00:03.0", "0000:00:04.0"
TOPOLOGY = ["-device", f"edu,addr=1,{WIDE_DMA}", "-device", f"edu,addr=3,{WIDE_DMA}", "-device", "edu,addr=4"]
CONFIG = "probe-dma.dts"
HOLD = "[probe] probe: pci-hold waiting for a console byte:"
WATCH_OFFSET, WATCH_SIZE = 0x800000, 0x100000  # test_dma.cpp
HYPERVISOR_IMAGE_BASE = 0x40200000  # QEMU loads the Image at RAM + text_offset 0x200000
GICD_SETSPI_NSR, GICD_ISPENDR = 0x40, 0x200

# edu (hw/misc/edu.c): registers in BAR 0, the 4 KiB buffer's DMA address.
EDU_DMA_SOURCE, EDU_DMA_DESTINATION, EDU_DMA_COUNT, EDU_DMA_COMMAND = 0x80, 0x88, 0x90, 0x98
EDU_DMA_RUN, EDU_DMA_TO_RAM, EDU_BUFFER = 0x1, 0x2, 0x40000
PCI_COMMAND, COMMAND_MEMORY, COMMAND_BUS_MASTER, COMMAND_INTX_DISABLE = 0x04, 0x2, 0x4, 0x400

MASK64 = (1 << 64) - 1


def marker(length=4):
    """The bytes a probe DMA write carries (test_dma.cpp marker(), a 4-byte access)."""
    return bytes(((i * 0x3b + 0x5d) & 0xff) | 1 for i in range(length))


def watch_word(address):
    """The peer's pattern at a guest address (test_dma.cpp watch_word())."""
    return ((address * 0x9e3779b97f4a7c15) & MASK64) ^ 0x6474617463680000


def watch_bytes(guest, size):
    return b"".join(struct.pack("<Q", watch_word(a)) for a in range(guest, guest + size, 8))


def watch_checksum(guest):
    total = 0
    for a in range(guest, guest + WATCH_SIZE, 8):
        total = (((total << 1) | (total >> 63)) & MASK64) ^ watch_word(a)
    return total


def partition_ram(run, name):
    """(host, size, guest) from `partition NAME ram host 0x.. size 0x.. guest 0x..`."""
    words = run.expect_match(rf"^bulkhead: partition {name} ram host ")[0].split()
    values = dict(zip(words[4::2], words[5::2]))
    return int(values["host"], 16), int(values["size"], 16), int(values["guest"], 16)


def report_value(run, pattern, base=16):
    """The first capture group of the report line matching `pattern`, as a number."""
    for line in run.report:
        match = re.match(pattern, line)
        if match:
            return int(match[1], base)
    run.expect(False, f"no report line matches {pattern!r}")
    return None


def targets(bootargs, key):
    """probe.dma-write / probe.dma-read as [(name, address)]."""
    return [(name, int(address, 16)) for name, address in
            (item.split("@") for item in bootargs[key].split(",") if item)]


def elf_entry(path):
    with open(path, "rb") as elf:
        header = elf.read(64)
    if header[:4] != b"\x7fELF":
        raise q.TestFailure(f"{path} is not an ELF file")
    return struct.unpack_from("<Q", header, 0x18)[0]


class Setup:
    """The probe-dma description's facts, each checked against the boot report."""

    def __init__(self, build, run):
        text = description_bootargs(CONFIG, "probe")
        self.bootargs = dict(word.split("=", 1) for word in text.split() if "=" in word)
        self.probe = partition_ram(run, "probe")
        self.peer = partition_ram(run, "peer")
        self.writes = targets(self.bootargs, "probe.dma-write")
        self.reads = targets(self.bootargs, "probe.dma-read")
        self.gicd = int(self.bootargs["probe.dma-gicd"], 16)
        named = dict(self.writes + self.reads)
        probe_host, probe_size, probe_guest = self.probe
        peer_host, peer_size, peer_guest = self.peer
        expected = {
            "peer-ram": peer_host + WATCH_OFFSET,
            "own-ram-host": probe_host + WATCH_OFFSET,
            "hypervisor-image": elf_entry(os.path.join(build, "bulkhead.elf")),
            "firmware-dtb": report_value(run, r"^firmware-dtb (0x[0-9a-f]+) "),
        }
        run.expect(set(named) == set(expected), f"{CONFIG}: targets {sorted(named)}, expected {sorted(expected)}")
        for name, address in named.items():
            run.expect(address == expected[name], f"{CONFIG}: {name} is {address:#x}, the report gives {expected[name]:#x}")
        run.expect(expected["hypervisor-image"] == HYPERVISOR_IMAGE_BASE, "the hypervisor is not linked at 0x40200000")
        gicd = report_value(run, r"^gic-v3 \S+ distributor (0x[0-9a-f]+) ")
        run.expect(self.gicd == gicd, f"probe.dma-gicd {self.gicd:#x} is not the distributor {gicd:#x}")
        # edu's INTx as the hypervisor routes it: the INTID the probe writes.
        spi = report_value(run, rf"^partition probe pci-irq {PROBE_EDU} pin A intx allowed spi (\d+)$", base=10)
        self.intid = 32 + spi
        self.gicd_writes = [("setspi", gicd + GICD_SETSPI_NSR, self.intid),
                            ("ispendr", gicd + GICD_ISPENDR + 4 * (self.intid // 32), 1 << (self.intid % 32))]
        # Every target lies outside the probe's IOVA space (its guest RAM window).
        for name, address in [*named.items(), *((name, address) for name, address, _ in self.gicd_writes)]:
            run.expect(not probe_guest <= address < probe_guest + probe_size, f"{name} {address:#x} is the probe's own IOVA")
        run.expect(peer_guest == probe_guest, "the peer's guest addresses are the probe's (both probes run at 0x60000000)")
        self.watch_guest = peer_guest + WATCH_OFFSET
        self.watch_host = peer_host + WATCH_OFFSET


def check_memory(run, build, setup, tq):
    """The targets' memory read through qtest: what a DMA that got through would have changed."""
    image = open(os.path.join(build, "probe-dma.img"), "rb").read(256)
    run.expect(tq.read(HYPERVISOR_IMAGE_BASE, 256) == image, "the hypervisor's first page is not the image's")
    dtb = tq.read(dict(setup.writes)["firmware-dtb"], 256)
    run.expect(dtb[:4] == b"\xd0\x0d\xfe\xed" and marker() not in dtb, "the firmware DTB's start changed")
    own_host = tq.read(dict(setup.writes)["own-ram-host"], 256)
    run.expect(marker() not in own_host, "the probe's marker reached its RAM by host address")
    watched = tq.read(setup.watch_host, WATCH_SIZE)
    run.expect(watched == watch_bytes(setup.watch_guest, WATCH_SIZE), "the peer's watched RAM is not its pattern")


def fault_line(partition, sbdf, address, access):
    return f"partition {partition} dma-fault sbdf {sbdf} iova {address:#x} {access} reason translation-fault"


def expected_probe_faults(setup):
    """In the order test_dma.cpp makes them: the word past the end of RAM, the writes, the
    reads, the distributor: one line each."""
    probe_host, probe_size, probe_guest = setup.probe
    lines = [fault_line("probe", PROBE_EDU, probe_guest + probe_size, "write")]
    lines += [fault_line("probe", PROBE_EDU, address, "write") for _, address in setup.writes]
    lines += [fault_line("probe", PROBE_EDU, address, "read") for _, address in setup.reads]
    lines += [fault_line("probe", PROBE_EDU, address, "write") for _, address, _ in setup.gicd_writes]
    return lines


def probe_passes(run, partition, test):
    prefix = f"[{partition}] probe: PASS {test} "
    return [line[len(prefix):] for line in run.lines if line.startswith(prefix)]


def check_probe(run, setup):
    failures = [line for line in run.lines if line.startswith("[probe] probe: FAIL")]
    run.expect(not failures, f"the probe failed: {failures}")
    own = probe_passes(run, "probe", "dma-own")
    run.expect(len(own) == 3, f"dma-own passed {own}")
    probe_host, probe_size, probe_guest = setup.probe
    run.expect(own[2] == f"8 bytes device -> {probe_guest + probe_size - 4:#x}: the 4 below the end of RAM "
                         f"{probe_guest + probe_size:#x} landed", f"dma-own across the end: {own[2]}")
    isolation = probe_passes(run, "probe", "dma-isolation")
    want = [f"write {name} {address:#x}: edu finished a 4-byte marker (the SMMU must have faulted it)"
            for name, address in setup.writes]
    want += [f"read {name} {address:#x}: nothing came back" for name, address in setup.reads]
    want += [f"gicd {name} {address:#x}: edu wrote {value:#x} for INTID {setup.intid} (its own INTx, enabled): "
             "not pending, not taken" for name, address, value in setup.gicd_writes]
    got = [line.split(" (buffer:")[0] for line in isolation]
    run.expect(got == want, f"dma-isolation results {isolation}, expected {want}")
    passed = len([line for line in run.lines if line.startswith("[probe] probe: PASS ")])
    run.expect_line(f"[probe] probe: done passed {passed} failed 0")


def check_peer(run, setup):
    """The peer's console: its fill line, rounds 1..N with the one checksum, the PASS."""
    lines = [line[len("[peer] "):] for line in run.lines if line.startswith("[peer] ")]
    checksum = watch_checksum(setup.watch_guest)
    run.expect(len(lines) >= 6, f"the peer printed too little: {lines}")
    run.expect(lines[0].startswith("probe: start vcpus 1 "), f"the peer's first line: {lines[0]}")
    run.expect(lines[1] == f"probe: dma-watch filled {setup.watch_guest:#x}+{WATCH_SIZE:#x} checksum {checksum:#x}",
               f"the peer's fill line {lines[1]!r}, expected checksum {checksum:#x}")
    rounds = lines[2:-2]
    want = [f"probe: dma-watch round {n} checksum {checksum:#x}" for n in range(1, len(rounds) + 1)]
    run.expect(rounds == want, f"the peer's rounds changed: {[r for r, w in zip(rounds, want) if r != w][:3] or rounds}")
    run.expect(lines[-2:] == [f"probe: PASS dma-watch {setup.watch_guest:#x}+{WATCH_SIZE:#x} checksum {checksum:#x} "
                              f"unchanged over {len(rounds)} rounds", "probe: done passed 1 failed 0"],
               f"the peer's last lines: {lines[-2:]}")
    run.expect(not [line for line in run.report if line.startswith("partition peer fault") or
                    line.startswith("partition peer dma-fault")], "the peer faulted")
    return len(rounds)


def held_boot(build, at_hold):
    """Boots probe-dma.img with a qtest socket; at the probe's pci-hold runs
    `at_hold(session, held_run, qtest, setup)`, then lets the probe and the peer finish
    (a console byte each) and QEMU power off by itself. Returns (run, setup)."""
    socket_path = q.socket_path("qtest")
    args = q.machine_args(extra=[*TOPOLOGY, *qtest.args(socket_path)])
    session = q.QemuSession(os.path.join(build, "probe-dma.img"), args, interactive=True)
    try:
        session.wait_for(HOLD, 180)
        # The probe's faults are logged from the SMMU's event interrupt, long before the
        # peer's next round (250 ms).
        at = session.wait_for("[peer] probe: dma-watch round", 30, len(session.text()))
        held = session.run()
        setup = Setup(build, held)
        tq = qtest.Qtest(socket_path)
        at_hold(session, held, tq, setup)
        tq.close()
        # A watch round that began after everything above.
        at = session.wait_for("[peer] probe: dma-watch round", 30, len(session.text()))
        session.type("g")
        at = session.wait_for("bulkhead: partition probe off", 60, at)
        session.wait_for("bulkhead: console focus peer", 30, at)
        session.type("g")
        session.wait(60)
    finally:
        session.stop()
    run = session.run()
    run.expect_exited_by_itself()
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with all-partitions-off")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    # QEMU virt wires the SMMU's eventq and gerror SPIs: no polling, so every dma-fault
    # line the scenarios expect arrived through the event interrupt.
    run.expect_match(r"^bulkhead: smmu-v3 \S+ interrupts eventq intid \d+ gerror intid \d+$")
    return run, setup


scenario = q.Scenarios()


@scenario()
def guest_dma(build):
    def at_hold(session, held, tq, setup):
        check_memory(held, build, setup, tq)

    run, setup = held_boot(build, at_hold)
    check_probe(run, setup)
    faults = [line for line in run.report if "dma-fault" in line]
    want = expected_probe_faults(setup)
    run.expect(faults == want, "dma-fault lines:\n  " + "\n  ".join(faults) + "\nexpected:\n  " + "\n  ".join(want))
    rounds = check_peer(run, setup)
    print("\n".join(f"bulkhead: {line}" for line in faults))
    print(f"peer: {rounds} watch rounds, checksum {watch_checksum(setup.watch_guest):#x} throughout")


# The stream table as the SMMU reads it (Arm IHI 0070: registers 6.3, STE 5.2, CD 5.4).
SMMU_CR0, SMMU_STRTAB_BASE, SMMU_STRTAB_BASE_CFG = 0x20, 0x80, 0x88
ADDRESS_52 = ((1 << 52) - 1) & ~0x3f
STE_BYTES, CD_BYTES = 64, 64
STE_CONFIG_NAMES = {0b000: "abort", 0b100: "bypass", 0b101: "stage1", 0b110: "stage2", 0b111: "nested"}
NORMAL_WRITE_BACK = 0xff  # MAIR attribute of normal write-back memory (core/mmu/page_table.hpp)
DEVICE_NGNRE = 0x04  # MAIR attribute of Device-nGnRE (the ITS doorbell page)


def read_stream_table(run, tq, smmu_base):
    """{StreamID: dwords of its STE} for every StreamID with an STE in memory, and the
    StreamID width the table covers."""
    run.expect(tq.read32(smmu_base + SMMU_CR0) & 1 == 1, "SMMU_CR0.SMMUEN is off")
    base = tq.read64(smmu_base + SMMU_STRTAB_BASE) & ADDRESS_52
    config = tq.read32(smmu_base + SMMU_STRTAB_BASE_CFG)
    log2size, split, fmt = config & 0x3f, (config >> 6) & 0x1f, (config >> 16) & 0x3
    entries = {}

    def read_stes(address, first, count):
        data = tq.read(address, count * STE_BYTES)
        for i in range(count):
            entries[first + i] = struct.unpack_from("<8Q", data, i * STE_BYTES)

    if fmt == 0:
        read_stes(base, 0, 1 << log2size)
        return entries, log2size
    run.expect(fmt == 1, f"STRTAB_BASE_CFG.FMT {fmt}")
    level1 = tq.read(base, 8 << (log2size - split))
    for index in range(1 << (log2size - split)):
        descriptor = struct.unpack_from("<Q", level1, 8 * index)[0]
        span = descriptor & 0x1f
        if span:
            run.expect(span - 1 <= split, f"level-1 descriptor {index}: span {span} beyond the split {split}")
            read_stes(descriptor & ADDRESS_52, index << split, 1 << (span - 1))
    return entries, log2size


def walk_stage1(run, tq, table, t0sz):
    """Every leaf of a 4 KiB-granule stage-1 table: [(iova, physical, size, descriptor)]."""
    input_bits = 64 - t0sz
    start = 3 - (input_bits - 12 - 1) // 9
    leaves = []

    def walk(address, level, iova_base):
        shift = 12 + 9 * (3 - level)
        count = 1 << (input_bits - shift) if level == start else 512
        data = tq.read(address, 8 * count)
        for index in range(count):
            descriptor = struct.unpack_from("<Q", data, 8 * index)[0]
            if descriptor & 1 == 0:
                continue
            iova = iova_base + (index << shift)
            output = descriptor & ((1 << 48) - 1) & ~((1 << shift) - 1) if level < 3 else descriptor & 0xfffffffff000
            if level < 3 and descriptor & 2:
                walk(descriptor & 0xfffffffff000, level + 1, iova)
            elif (level == 3 and descriptor & 2) or (level in (1, 2) and descriptor & 2 == 0):
                leaves.append((iova, output, 1 << shift, descriptor))
            else:
                run.expect(False, f"reserved descriptor {descriptor:#x} at level {level}, iova {iova:#x}")

    walk(table, start, 0)
    return leaves


def extra_pages(run, partition):
    """{IOVA: physical} of the pages the report says the partition's context maps beside its
    RAM: GITS_TRANSLATER's page for its functions' MSIs (issue 13)."""
    pages = {int(words[4], 16): int(words[6], 16) for words in run.facts("smmu-v3-context")
             if words[1:4] == [partition, "extra-page", "iova"]}
    if pages:  # only GITS_TRANSLATER's page (the ITS's translation frame, base + 64 KiB)
        translater = report_value(run, r"^gic-v3-its \S+ base (0x[0-9a-f]+) ") + 0x10000
        run.expect(set(pages.values()) == {translater}, f"{partition}: extra pages {pages}, not just {translater:#x}")
    return pages


def check_context(run, tq, sid, ste, partition, ram):
    """One translating STE: its context descriptor and tables map exactly `ram`, and the
    extra pages the report names (Device-nGnRE, 4 KiB each)."""
    host, size, guest = ram
    config = (ste[0] >> 1) & 0x7
    run.expect(config == 0b101, f"StreamID {sid:#x} ({partition}): STE config {STE_CONFIG_NAMES.get(config, config)}; "
                                f"this walk reads stage-1 contexts (QEMU 7.2 has no stage 2)")
    run.expect((ste[0] >> 4) & 3 == 0 and ste[0] >> 59 == 0, f"StreamID {sid:#x}: not a single linear CD")
    cd = struct.unpack_from("<8Q", tq.read(ste[0] & ADDRESS_52, CD_BYTES))
    t0sz, granule, epd0, epd1 = cd[0] & 0x3f, (cd[0] >> 6) & 3, (cd[0] >> 14) & 1, (cd[0] >> 30) & 1
    valid, aa64, asid = (cd[0] >> 31) & 1, (cd[0] >> 41) & 1, cd[0] >> 48
    run.expect(valid and aa64 and granule == 0 and epd0 == 0 and epd1 == 1,
               f"StreamID {sid:#x}: CD {cd[0]:#x} is not a valid AArch64 4 KiB TTB0-only context")
    mair = cd[3]
    ranges = []
    extra, found = extra_pages(run, partition), {}
    for iova, output, length, descriptor in walk_stage1(run, tq, cd[1] & ((1 << 52) - 1) & ~0xf, t0sz):
        attribute = (mair >> (8 * ((descriptor >> 2) & 7))) & 0xff
        access = (descriptor >> 6) & 3  # AP[2:1]: 0b01 read/write at EL0 and EL1
        if extra.get(iova) == output and length == 0x1000 and attribute == DEVICE_NGNRE:
            found[iova] = output
            continue
        run.expect(access == 0b01 and descriptor & (1 << 10) and descriptor & (1 << 54) and
                   attribute == NORMAL_WRITE_BACK,
                   f"StreamID {sid:#x}: leaf {descriptor:#x} at {iova:#x}: AP {access:#b}, attribute {attribute:#x}")
        if ranges and ranges[-1][0] + ranges[-1][2] == iova and ranges[-1][1] + ranges[-1][2] == output:
            ranges[-1][2] += length
        else:
            ranges.append([iova, output, length])
    run.expect(found == extra, f"StreamID {sid:#x} ({partition}): extra pages {found}, the report's {extra}")
    run.expect(ranges == [[guest, host, size]],
               f"StreamID {sid:#x} ({partition}) maps {[[hex(v) for v in r] for r in ranges]}, "
               f"its RAM is guest {guest:#x} host {host:#x} size {size:#x}")
    return asid


def owned_streams(run):
    """{StreamID: (partition, SBDF)} of every function the report gives a partition."""
    sids = {words[1]: int(words[5], 16) for words in run.facts("pci-stream") if words[5] != "none"}
    owned = {}
    for words in run.facts("partition"):
        if len(words) > 4 and words[2] == "pci" and words[4] == "slot":
            owned[sids[words[3]]] = (words[1], words[3])
    return owned


def check_stream_table(run, tq):
    smmu_base = report_value(run, r"^smmu-v3 \S+ base (0x[0-9a-f]+) ")
    entries, sid_bits = read_stream_table(run, tq, smmu_base)
    reported_bits = report_value(run, r"^smmu-v3 \S+ stage \d streams \d+ sid-bits (\d+) ", base=10)
    run.expect(sid_bits == reported_bits, f"the table covers {sid_bits} StreamID bits, the report says {reported_bits}")
    owned = owned_streams(run)
    run.expect({p for p, _ in owned.values()} == {"probe", "peer"}, f"owned streams {owned}")
    translating, asids = {}, {}
    for sid, ste in sorted(entries.items()):
        valid, config = ste[0] & 1, (ste[0] >> 1) & 0x7
        if valid and config != 0b000:
            translating[sid] = ste
    run.expect(set(translating) == set(owned),
               f"translating StreamIDs {sorted(map(hex, translating))}, owned {sorted(map(hex, owned))}")
    for sid, (partition, sbdf) in owned.items():
        asids[partition] = check_context(run, tq, sid, translating[sid], partition, partition_ram(run, partition))
        run.expect_line(f"bulkhead: smmu-v3-stream {sid:#x} partition {partition} function {sbdf} stage 1 "
                        f"asid {asids[partition]}")
    run.expect(len(set(asids.values())) == len(asids), f"partitions share an ASID: {asids}")
    aborting = (1 << sid_bits) - len(translating)
    print(f"stream table: {len(entries)} STEs in memory of {1 << sid_bits} StreamIDs; translating "
          + ", ".join(f"{sid:#x} ({owned[sid][0]} {owned[sid][1]} asid {asids[owned[sid][0]]})" for sid in sorted(owned))
          + f"; {aborting} aborting")


def master_unowned(run, tq, report_ecam, bar, transfers):
    """Makes the unowned edu master the bus behind the hypervisor's back and runs
    `transfers` [(source, destination, to_ram)] of one 4-byte access each (one event
    each); restores its command."""
    config = report_ecam + (0 << 20 | 3 << 15 | 0 << 12)
    command = tq.read32(config + PCI_COMMAND) & 0xffff
    run.expect(command == COMMAND_INTX_DISABLE, f"{UNOWNED_EDU}: command {command:#06x}, not quarantined")
    tq.write16(config + PCI_COMMAND, COMMAND_MEMORY | COMMAND_BUS_MASTER | COMMAND_INTX_DISABLE)
    run.expect(tq.read32(bar) == 0x010000ed, f"{UNOWNED_EDU} does not answer at its BAR {bar:#x}")
    for source, destination, to_ram in transfers:
        tq.write64(bar + EDU_DMA_SOURCE, source)
        tq.write64(bar + EDU_DMA_DESTINATION, destination)
        tq.write64(bar + EDU_DMA_COUNT, 4)
        tq.write64(bar + EDU_DMA_COMMAND, EDU_DMA_RUN | (EDU_DMA_TO_RAM if to_ram else 0))
        deadline = time.monotonic() + 10
        while tq.read64(bar + EDU_DMA_COMMAND) & EDU_DMA_RUN:
            run.expect(time.monotonic() < deadline, f"{UNOWNED_EDU}'s DMA did not finish")
            time.sleep(0.01)
    tq.write16(config + PCI_COMMAND, command)


@scenario()
def unowned_stream(build):
    found = {}

    def at_hold(session, held, tq, setup):
        check_stream_table(held, tq)
        ecam = int(next(w for w in held.facts("pci-segment") if w[1] == "0000")[9], 16)
        bar = report_value(held, rf"^pci-bar {UNOWNED_EDU} 0 mem32 addr (0x[0-9a-f]+) ")
        found["sid"] = report_value(held, rf"^pci-stream {UNOWNED_EDU} rid 0x[0-9a-f]+ stream-id (0x[0-9a-f]+) ")
        held.expect(found["sid"] not in owned_streams(held), "the third edu must be nobody's")
        before = len(session.text())
        attacks = [(EDU_BUFFER, setup.watch_host, True), (EDU_BUFFER, HYPERVISOR_IMAGE_BASE, True),
                   (setup.watch_host, EDU_BUFFER, False)]
        master_unowned(held, tq, ecam, bar, attacks)
        check_memory(held, build, setup, tq)
        for _ in attacks:  # logged from the SMMU's event interrupt
            before = session.wait_for("bulkhead: dma-fault unowned sid", 5, before)

    run, setup = held_boot(build, at_hold)
    unowned_lines = [line for line in run.report if line.startswith("dma-fault unowned")]
    # C_BAD_STE records carry neither the address nor the direction (IHI 0070 7.3.4).
    want = [f"dma-fault unowned sid {found['sid']:#x} iova none unknown reason bad-ste"] * 3
    run.expect(unowned_lines == want, "unowned fault lines:\n  " + "\n  ".join(unowned_lines) +
               "\nexpected:\n  " + "\n  ".join(want))
    check_probe(run, setup)
    check_peer(run, setup)
    print("\n".join(f"bulkhead: {line}" for line in unowned_lines))


NVME_DISK_BYTES = 8 << 20
NVME_BLOCK = 100  # tests/guests/linux/init


def disk_content():
    """8 MiB no block of which repeats: SHA-256 in counter mode."""
    return b"".join(hashlib.sha256(struct.pack("<Q", i)).digest() for i in range(NVME_DISK_BYTES // 32))


@scenario()
def linux_nvme(build):
    disk = os.path.join(q.work_dir("smmu-dma-nvme"), "disk.img")
    content = disk_content()
    with open(disk, "wb") as f:
        f.write(content)
    block = (f"bulkhead nvme block {NVME_BLOCK} written by the guest\n".encode() * 100)[:4096]
    args = q.machine_args(smp=2, memory="1G", extra=[
        "-drive", f"file={disk},if=none,id=disk,format=raw", "-device", "nvme,addr=2,drive=disk,serial=bulkhead"])
    run = q.boot(os.path.join(build, "linux-nvme.img"), args, timeout=300)
    run.expect_exited_by_itself()
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    run.expect_line("bulkhead: partition linux pci 0000:00:02.0 slot 01 1b36:0010 selector pci-device@0")
    run.expect_match(r"^bulkhead: smmu-v3-stream 0x[0-9a-f]+ partition linux function 0000:00:02\.0 stage [12] ")
    run.expect_line("[linux] guest: module nvme loaded")
    run.expect_line("[linux] guest: pci 0000:00:01.0 1b36:0010 class 010802 driver nvme")
    checksum = hashlib.md5(content).hexdigest()
    run.expect_line(f"[linux] guest: nvme /dev/nvme0n1 bytes {NVME_DISK_BYTES} md5 {checksum}")
    written = hashlib.md5(block).hexdigest()
    run.expect_line(f"[linux] guest: nvme write block {NVME_BLOCK} bytes 4096 md5 {written} read-back md5 {written}")
    after = open(disk, "rb").read()
    offset = NVME_BLOCK * 4096
    run.expect(after[offset:offset + 4096] == block, "the block the guest wrote is not in the disk file")
    run.expect(after[:offset] + after[offset + 4096:] == content[:offset] + content[offset + 4096:],
               "the disk file changed outside the written block")
    interrupts = [line[len("[linux] guest: interrupts "):] for line in run.lines
                  if line.startswith("[linux] guest: interrupts ")]
    run.expect(interrupts, "the guest printed no nvme line of /proc/interrupts")
    for line in interrupts:
        match = re.match(r"^\d+:((?:\s+\d+)+)\s+MSI\s+\d+\s+Edge\s+(nvme0q\d+)$", line)
        run.expect(match and sum(int(count) for count in match[1].split()) > 0,
                   f"/proc/interrupts {line!r}: not an MSI-X vector of the nvme driver with interrupts")
    run.expect_match(r"^bulkhead: partition linux msi-spis [0-9]+-[0-9]+ vectors [0-9]+ lpis ")
    run.expect_match(r"^bulkhead: partition linux msi delivered 00:01\.0 [1-9][0-9]* dropped 0$")
    run.expect(not [line for line in run.report if "dma-fault" in line], "DMA faults")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with all-partitions-off")
    print(f"disk md5 {checksum}; block {NVME_BLOCK} md5 {written}; interrupts: {interrupts}")


if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
