#!/usr/bin/env python3
"""Issue-11 proof, bare-metal half: the probe guest (tests/guests/probe, test_pci*.cpp)
drives its virtual PCI bus, and the harness checks the physical side through QMP.

`bus`: the probe owns edu, pci-testdev (with a 64-bit BAR) and an e1000e behind a
switch; a second probe partition, `peer`, owns another edu, places its BAR where the
host put it and parks with decode on. While the probe waits at `pci-hold`, QMP shows the
functions' own registers: BARs where the hypervisor's report put them (the guest only
moved its virtual BARs), command registers equal to the guest's four bits, nothing the
guest may not write (cache line size, Interrupt Line, ROM BAR, MSI/MSI-X enables probe.pci-hidden names,
PM state). Then the probe takes external aborts at moved-away and decode-off BARs and at
the peer's and its own host addresses, each logged by the hypervisor; once it is off its
functions have decode and bus mastering off again while the peer's edu still decodes.

`no-smmu`: QEMU without an SMMU: Bus Master Enable never reaches the function (QMP), the
hypervisor says so once, and an edu DMA reaches no guest RAM; unowned functions stay
quarantined; with legacy-intx "denied" Interrupt Pin reads 0.

`restart`: the probe restarts itself again and again with edu decoding and mastering;
each boot finds the virtual bus at power-on, the old BAR address unmapped, DMA working.

Usage: vpci_tests.py --build-dir build SCENARIO
"""
import os
import re
import sys

import qemu_harness as q
from pci_tests import Report, flatten
from qmp import Qmp

MAC = "52:54:00:12:34:56"
# 0000:00:01.0 edu (its DMA mask widened: guest RAM is at 0x60000000), 0000:00:02.0
# pci-testdev with a 2 MiB 64-bit prefetchable BAR, a root port (00:03.0) with a switch
# (01:00.0 up, 02:00.0 down) and an e1000e at 0000:03:00.0, and 0000:00:04.0 another edu.
TOPOLOGY = [
    "-device", "edu,addr=1,dma_mask=0xffffffffff",
    "-device", "pci-testdev,addr=2,membar=0x200000",
    "-device", "ioh3420,id=rp1,chassis=1,slot=1,addr=3",
    "-device", "x3130-upstream,bus=rp1,id=up1",
    "-device", "xio3130-downstream,bus=up1,id=dn1,chassis=2,slot=0",
    "-device", f"e1000e,bus=dn1,mac={MAC}",
    "-device", "edu,addr=4",
]
HOLD = "[probe] probe: pci-hold waiting for a console byte:"
PARKED = "[peer] probe: park: the partition stays up, its functions as they are"
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

COMMAND_GUEST_BITS = 0x0407  # I/O, memory, bus master, INTx disable
COMMAND_DECODE_AND_MASTER = 0x0007
COMMAND_INTX_DISABLE = 0x0400
CAPABILITY_MSI, CAPABILITY_MSIX, CAPABILITY_PM = 0x05, 0x11, 0x01


def guest_layout():
    """The fixed guest regions as partitions/guest_layout.hpp defines them: name -> (base, size)."""
    text = open(os.path.join(SOURCE_DIR, "partitions", "guest_layout.hpp")).read()
    found = re.findall(r"constexpr GuestRegion (\w+)\{\"[^\"]*\", \{(0x[0-9a-f]+), (0x[0-9a-f]+)\}\};", text)
    return {name: (int(base, 16), int(size, 16)) for name, base, size in found}


def description_bootargs(config, name):
    """A partition's bootargs in a description (tests/configs/NAME.dts): the report
    shortens long ones."""
    text = open(os.path.join(SOURCE_DIR, "tests", "configs", config)).read()
    match = re.search(rf"\t{name} \{{.*?bootargs = \"([^\"]*)\"", text, re.S)
    if not match:
        raise q.TestFailure(f"{config}: no bootargs for partition {name}")
    return match[1]


class Partition:
    """What the boot report says about one partition's PCI functions, and its bootargs."""

    def __init__(self, run, name, config):
        self.name = name
        self.functions = {}  # SBDF -> {"slot", "ids", "bars": {N: (kind, pref, cpu, size)}, "spi", "vbars"}
        text = description_bootargs(config, name)
        line = run.expect_match(rf'^bulkhead: partition {name} dtb 0x[0-9a-f]+ bootargs "')[0]
        shown = line.split('bootargs "', 1)[1].rstrip('"')
        run.expect(text.startswith(shown.removesuffix("...")), f"{config}: {name}'s bootargs differ from the report's")
        self.bootargs = dict(word.split("=", 1) for word in text.split() if "=" in word)
        for words in run.facts("partition"):
            if words[1] != name:
                continue
            if words[2] == "pci" and words[4] == "slot":
                self.functions[words[3]] = {"slot": int(words[5], 16), "ids": words[6], "bars": {}, "spi": None}
            elif words[2] == "pci-bar":
                rest = [w for w in words[6:] if w != "pref"]
                values = dict(zip(rest[0::2], rest[1::2]))
                self.functions[words[3]]["bars"][int(words[4])] = (
                    words[5], "pref" in words, int(values["addr"], 16), int(values["size"], 16))
            elif words[2] == "pci-irq":
                self.functions[words[3]]["spi"] = int(words[-1]) if words[-2] == "spi" else None
            elif words[2] == "pci" and words[4] == "vbdf":
                bars = words[6:]
                self.functions[words[3]]["vbdf"] = words[5]
                self.functions[words[3]]["vbars"] = {
                    int(bars[i + 1]): (bars[i + 3], int(bars[i + 5], 16)) for i in range(0, len(bars), 6)}

    def by_slot(self, slot):
        for sbdf, function in self.functions.items():
            if function["slot"] == slot:
                return sbdf, function
        raise q.TestFailure(f"partition {self.name} has no function in slot {slot}")


def probe_lines(run, partition):
    prefix = f"[{partition}] "
    return [line[len(prefix):] for line in run.lines if line.startswith(prefix + "probe: ")]


def passes(run, partition, test):
    return [line[len(f"probe: PASS {test} "):] for line in probe_lines(run, partition)
            if line.startswith(f"probe: PASS {test} ")]


def expect_no_failures(run, partition):
    failures = [line for line in probe_lines(run, partition) if line.startswith("probe: FAIL ")]
    run.expect(not failures, f"{partition} reported failures:\n" + "\n".join(failures))


def sbdf_parts(sbdf):
    segment, bus, rest = sbdf.split(":")
    device, function = rest.split(".")
    return int(bus, 16), int(device, 16), int(function, 16)


class Physical:
    """A function's own configuration space, read through the monitor on the host ECAM."""

    def __init__(self, qmp, ecam, sbdf):
        bus, device, function = sbdf_parts(sbdf)
        self.qmp = qmp
        self.base = ecam + (bus << 20 | device << 15 | function << 12)

    def read(self, offset, size=4):
        word = self.qmp.read32(self.base + (offset & ~3))
        return (word >> (8 * (offset & 3))) & ((1 << (8 * size)) - 1)

    def capabilities(self):
        """{offset: id} of the function's own standard capability list."""
        found, at = {}, self.read(0x34, 1) & 0xfc
        while at and at not in found and len(found) < 48:
            found[at] = self.read(at, 1)
            at = self.read(at + 1, 1) & 0xfc
        return found


def check_device_tree(run, partition, interrupts):
    """The probe's dt lines against guest_layout.hpp and the report's INTx SPIs."""
    layout = guest_layout()
    ecam, io, mem32, mem64 = (layout[name] for name in
                              ("guest_pci_ecam", "guest_pci_io", "guest_pci_mmio32", "guest_pci_mmio64"))
    want = (f"dt ecam {ecam[0]:#x}+{ecam[1]:#x} bus-range 0-0 domain 0 io {io[0]:#x}+{io[1]:#x} "
            f"mem32 {mem32[0]:#x}+{mem32[1]:#x} mem64-pref {mem64[0]:#x}+{mem64[1]:#x} dma-coherent")
    run.expect(want in passes(run, partition, "pci-enumerate"), f"{partition}'s device tree is not {want!r}")
    routes = " ".join(f"00:{slot:02x}.0 A spi {spi}" for slot, spi in sorted(interrupts)) or "none"
    run.expect(f"dt intx {routes}" in passes(run, partition, "pci-enumerate"),
               f"{partition}'s interrupt-map is not {routes!r}")


def check_enumeration(run, partition, qemu):
    """probe.pci (what the guest must find) is the truth: the report's slots and IDs, QEMU's
    class; the guest found those and nothing else; its sizes are the vbdf lines'."""
    found = passes(run, partition.name, "pci-enumerate")
    expected = partition.bootargs["probe.pci"].split(",")
    run.expect(len(expected) == len(partition.functions), f"{partition.name}: probe.pci names {expected}")
    for item in expected:
        slot, vendor, device, class_code = item.split(":")
        sbdf, function = partition.by_slot(int(slot, 16))
        run.expect(function["ids"] == f"{vendor}:{device}", f"probe.pci {item}: the report says {function['ids']}")
        qmp_class = qemu[sbdf_parts(sbdf)]["class_info"]["class"]
        run.expect(int(class_code, 16) >> 8 == qmp_class, f"probe.pci {item}: QEMU's class is {qmp_class:#x}")
        run.expect(f"00:{slot}.0 {vendor}:{device} class {class_code} header 00, functions 1-7 absent" in found,
                   f"{partition.name} did not find {item}")
        sizes = [line for line in passes(run, partition.name, "pci-bars") if line.startswith(f"00:{slot}.0 bar ")]
        want = []
        for index, (window, size) in sorted(function["vbars"].items()):
            kind, pref, _, _ = function["bars"][index]
            want.append(f"bar {index} {kind}{' pref' if pref else ''} size {size:#x}")
        run.expect(sizes == [f"00:{slot}.0 {' '.join(want)} rom hidden"],
                   f"{partition.name} sized 00:{slot}.0 as {sizes}, the report says {want}")
    absent = 32 - len(expected)
    run.expect(f"bus 0 holds exactly {len(expected)} functions; {absent} absent slots and bus 1 read all ones at "
               f"every width, writes dropped" in found, f"{partition.name}: bus 0 summary missing")


def check_bars_unmoved(run, qmp, report, partition, qemu):
    """The functions' own BARs are where enumeration put them (QMP), whatever the guest did."""
    for sbdf, function in partition.functions.items():
        device = qemu[sbdf_parts(sbdf)]
        regions = {str(r["bar"]) if r["bar"] < 6 else "rom": r for r in device["regions"]}
        for index, bar in report.bars[sbdf].items():
            region = regions.get(index)
            run.expect(region is not None, f"{sbdf}: QEMU has no BAR {index}")
            physical = Physical(qmp, report.ecam, sbdf)
            offset = 0x30 if index == "rom" else 0x10 + 4 * int(index)
            raw = physical.read(offset)
            if bar["kind"] == "mem64":
                raw |= physical.read(offset + 4) << 32
            mask = ~0x7ff if index == "rom" else (~0x3 if bar["kind"] == "io" else ~0xf)
            run.expect(raw & mask == bar["bus_address"],
                       f"{sbdf}: BAR {index} register {raw:#x}, the report placed it at {bar['bus_address']:#x}")
            if index == "rom":
                run.expect(raw & 1 == 0, f"{sbdf}: the ROM got enabled ({raw:#x})")
            elif region["address"] != -1:
                run.expect(region["address"] == bar["bus_address"], f"{sbdf}: QEMU maps BAR {index} elsewhere")


def hold_commands(run):
    line = run.expect_match(rf"^{re.escape(HOLD)}")[0]
    return {vbdf: int(value, 16) for vbdf, value in re.findall(r"(00:[0-9a-f]{2}\.0) command (0x[0-9a-f]+)", line)}


def check_written_registers(run, qmp, report, partition):
    """What pci-forbidden wrote and must not have reached the function."""
    hidden = partition.bootargs.get("probe.pci-hidden", "")
    for item in [i for i in hidden.split(",") if i]:
        slot, offset = item.split("@")
        sbdf, _ = partition.by_slot(int(slot))
        physical = Physical(qmp, report.ecam, sbdf)
        capabilities = physical.capabilities()
        offset = int(offset, 16)
        run.expect(capabilities.get(offset) in (CAPABILITY_MSI, CAPABILITY_MSIX),
                   f"probe.pci-hidden {item}: {sbdf} has no MSI/MSI-X there ({capabilities})")
        control = physical.read(offset + 2, 2)
        enable = 0x8000 if capabilities[offset] == CAPABILITY_MSIX else 0x0001
        run.expect(control & enable == 0, f"{sbdf}: the hidden capability at {offset:#x} got enabled ({control:#x})")
    for sbdf in partition.functions:
        physical = Physical(qmp, report.ecam, sbdf)
        run.expect(physical.read(0x0c, 1) != 0x10, f"{sbdf}: the guest's cache line size reached the function")
        run.expect(physical.read(0x3c, 1) != 0x5a, f"{sbdf}: the guest's Interrupt Line reached the function")
        for offset, kind in physical.capabilities().items():
            if kind == CAPABILITY_PM:
                run.expect(physical.read(offset + 4, 2) & 3 == 0, f"{sbdf}: the guest put the function in D3hot")


def check_commands(run, qmp, report, partition, virtual, expected):
    """Each function's own command register: `expected(virtual command, function)`."""
    for sbdf, function in partition.functions.items():
        vbdf = f"00:{function['slot']:02x}.0"
        own = Physical(qmp, report.ecam, sbdf).read(0x04, 2)
        want = expected(virtual[vbdf], function)
        run.expect(own == want, f"{sbdf} ({partition.name} {vbdf}): command {own:#06x}, expected {want:#06x} "
                                f"(the guest's is {virtual[vbdf]:#06x})")


def held_run(session):
    """The run so far once the probe holds: its hold line whole (the line names the
    functions' commands, and output arrives in pieces), as the tests read it."""
    at = session.wait_for(HOLD, 180)
    session.wait_for("\n", 10, at)
    return session.run()


def held_session(image, machine=q.DEFAULT_MACHINE):
    socket_path, qmp_args = q.qmp_socket()
    args = q.machine_args(machine=machine, extra=[*TOPOLOGY, *qmp_args])
    return q.QemuSession(image, args, interactive=True), socket_path


def expect_fault_lines(run, expected):
    """The probe partition's fault lines, exactly these (ipa, access) in order."""
    logged = [line for line in run.report if line.startswith("partition probe fault ")]
    patterns = [rf"^partition probe fault ipa {ipa:#x} pc 0x[0-9a-f]+ {access} size 4$" for ipa, access in expected]
    run.expect(len(logged) == len(patterns), f"expected {len(patterns)} fault lines, got {logged}")
    for line, pattern in zip(logged, patterns):
        run.expect(re.match(pattern, line), f"fault line {line!r} does not match {pattern!r}")


scenario = q.Scenarios()


@scenario()
def bus(build):
    session, socket_path = held_session(os.path.join(build, "probe-pci.img"))
    try:
        session.wait_for(PARKED, 180)
        held = held_run(session)
        qmp = Qmp(socket_path)
        report = Report(held)
        report.ecam = int(report.segments["0000"]["ecam"], 16)
        qemu = flatten(qmp.execute("query-pci"))
        probe, peer = Partition(held, "probe", "probe-pci.dts"), Partition(held, "peer", "probe-pci.dts")
        expect_no_failures(held, "probe")
        check_bars_unmoved(held, qmp, report, probe, qemu)
        check_bars_unmoved(held, qmp, report, peer, qemu)
        check_written_registers(held, qmp, report, probe)
        # legacy-intx "allowed", SMMU present: the function's register is the guest's.
        check_commands(held, qmp, report, probe, hold_commands(held), lambda virtual, _: virtual)
        peer_edu, _ = peer.by_slot(1)
        peer_command = Physical(qmp, report.ecam, peer_edu).read(0x04, 2)
        held.expect(peer_command == 0x0402, f"the peer's edu: command {peer_command:#06x}, expected memory decode "
                                            f"on and INTx disabled (0x0402)")
        resumed = len(session.text())
        session.type("g")
        off_at = session.wait_for("bulkhead: partition probe off", 120, resumed)
        # The stop quarantines the functions and detaches their streams (smmu/README.md)
        # before it says the partition is off.
        stopping = session.run()
        for sbdf in probe.functions:
            detached = stopping.output.find(f" detached partition probe function {sbdf}", resumed)
            stopping.expect(0 <= detached < off_at, f"{sbdf}: no stream detach line before 'partition probe off'")
        # Stopped: every mapping gone, decode and bus mastering off; the peer is unaffected.
        off = session.run()
        for sbdf in probe.functions:
            command = Physical(qmp, report.ecam, sbdf).read(0x04, 2)
            off.expect(command & COMMAND_DECODE_AND_MASTER == 0, f"{sbdf}: command {command:#06x} after the stop")
            off.expect(command & COMMAND_INTX_DISABLE != 0, f"{sbdf}: INTx enabled (command {command:#06x}) "
                                                            f"after its partition stopped")
        check_bars_unmoved(off, qmp, report, probe, qemu)
        peer_command = Physical(qmp, report.ecam, peer_edu).read(0x04, 2)
        off.expect(peer_command == 0x0402, f"the peer's edu lost its decode: {peer_command:#06x}")
        qmp.close()
    finally:
        session.stop()
    run = session.run()
    expect_no_failures(run, "probe")
    expect_no_failures(run, "peer")
    check_device_tree(run, "probe", [(f["slot"], f["spi"]) for f in probe.functions.values() if f["spi"] is not None])
    check_device_tree(run, "peer", [])
    check_enumeration(run, probe, qemu)
    check_enumeration(run, peer, qemu)
    tests = probe.bootargs["probe.tests"].split(",")
    for test in tests:
        run.expect(passes(run, "probe", test), f"no PASS line for {test}")
    for test in [t for t in peer.bootargs["probe.tests"].split(",") if t != "park"]:
        run.expect(passes(run, "peer", test), f"the peer has no PASS line for {test}")
    passed = len([line for line in probe_lines(run, "probe") if line.startswith("probe: PASS ")])
    run.expect_line(f"[probe] probe: done passed {passed} failed 0")

    # The peer decodes at its host address, in its own guest space.
    edu_sbdf, edu = probe.by_slot(1)
    peer_edu_address = peer.functions[peer_edu]["bars"][0][2]
    run.expect(peer.bootargs["probe.pci-place"] == f"1:0@{peer_edu_address:#x}",
               f"the peer must place its edu at its host address {peer_edu_address:#x}")
    run.expect(f"00:01.0 bar 0 {peer_edu_address:#x}; decode on" in [l.replace("placed ", "") for l in
                                                                    passes(run, "peer", "pci-bars")],
               "the peer did not place its edu at its host address")
    isolation = dict(item.split("@") for item in probe.bootargs["probe.isolation"].split(","))
    run.expect(int(isolation["peer-edu"], 16) == peer_edu_address, "probe.isolation peer-edu is not the peer's BAR")
    run.expect(int(isolation["own-edu-host"], 16) == edu["bars"][0][2], "probe.isolation own-edu-host is not edu's BAR")

    # One unhandled-write line per function, for its first one: the cache line size.
    unhandled = [line for line in run.report if " unhandled-write " in line]
    want = [f"partition probe vpci 00:{f['slot']:02x}.0 unhandled-write offset 0xc size 1 value 0x10"
            for f in sorted(probe.functions.values(), key=lambda f: f["slot"])]
    run.expect(unhandled == want, f"unhandled-write lines {unhandled}, expected {want}")

    # The moves: the guest's own lines give the addresses the hypervisor must have logged.
    moves = {}
    for line in passes(run, "probe", "pci-move"):
        match = re.match(r"^00:(\w\w)\.0 bar (\d) (?:\(64-bit\) )?moved (0x[0-9a-f]+) -> (0x[0-9a-f]+):", line)
        if match:
            moves[(int(match[1], 16), int(match[2]))] = (int(match[3], 16), int(match[4], 16))
    run.expect(set(moves) == {(1, 0), (2, 2)}, f"pci-move lines: {moves}")
    overlap = moves[(1, 0)][1]
    run.expect_line(f"bulkhead: partition probe vpci 00:02.0 bar 0 guest {overlap:#x} size 0x1000 "
                    f"unmapped: overlaps bar 0 of 00:01.0")
    expect_fault_lines(run, [(moves[(1, 0)][0], "read"), (moves[(2, 2)][0], "read"), (overlap, "read"),
                             (peer_edu_address, "read"), (peer_edu_address, "write"),
                             (edu["bars"][0][2], "read"), (edu["bars"][0][2], "write")])
    run.expect(not [l for l in run.report if "dma-fault" in l or "bus-master withheld" in l],
               "DMA faults or a withheld bus master with the SMMU present")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    print(f"{passed} probe results passed; BARs, commands and written registers checked through QMP")


@scenario()
def no_smmu(build):
    machine = "virt,virtualization=on,gic-version=3"
    session, socket_path = held_session(os.path.join(build, "probe-pci-no-smmu.img"), machine)
    try:
        held = held_run(session)
        qmp = Qmp(socket_path)
        report = Report(held)
        report.ecam = int(report.segments["0000"]["ecam"], 16)
        qemu = flatten(qmp.execute("query-pci"))
        probe = Partition(held, "probe", "probe-pci-no-smmu.dts")
        expect_no_failures(held, "probe")
        held.expect(not held.facts("smmu-v3"), "this machine has no SMMU")
        check_bars_unmoved(held, qmp, report, probe, qemu)
        check_written_registers(held, qmp, report, probe)
        # legacy-intx "denied": INTx stays disabled; no SMMU: bus master never set.
        check_commands(held, qmp, report, probe, hold_commands(held),
                       lambda virtual, _: (virtual & 0x0003) | COMMAND_INTX_DISABLE)
        virtual = hold_commands(held)
        held.expect(virtual["00:01.0"] & 0x4, "the guest did not set Bus Master Enable")
        owned = set(probe.functions)
        for (bus_number, slot, function), device in sorted(qemu.items()):
            sbdf = f"0000:{bus_number:02x}:{slot:02x}.{function:x}"
            if sbdf in owned or "pci_bridge" in device or report.functions[sbdf]["kind"] != "endpoint":
                continue
            command = Physical(qmp, report.ecam, sbdf).read(0x04, 2)
            held.expect(command == COMMAND_INTX_DISABLE, f"unowned {sbdf}: command {command:#06x}, not quarantined")
        session.type("g")
        session.wait(120)
        qmp.close()
    finally:
        session.stop()
    run = session.run()
    run.expect_exited_by_itself()
    expect_no_failures(run, "probe")
    check_device_tree(run, "probe", [])
    check_enumeration(run, probe, qemu)
    run.expect(passes(run, "probe", "pci-bus-master") == ["00:01.0 bus master withheld: edu DMA reached no RAM"],
               "the bus-master result is missing")
    withheld = [line for line in run.report if "bus-master withheld" in line]
    run.expect(withheld == ["partition probe vpci 00:01.0 bus-master withheld: DMA is not isolated"],
               f"bus-master withheld lines: {withheld}")
    run.expect(re.search(r"pin 0 line 0x5a;", " ".join(passes(run, "probe", "pci-forbidden"))),
               "with legacy-intx denied Interrupt Pin must read 0")
    run.expect_line("bulkhead: partition probe pci-irq 0000:00:01.0 pin A intx denied")
    passed = len([line for line in probe_lines(run, "probe") if line.startswith("probe: PASS ")])
    run.expect_line(f"[probe] probe: done passed {passed} failed 0")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with all-partitions-off")
    print(f"{passed} probe results passed; bus master withheld, DMA blocked, unowned functions quarantined")


@scenario()
def restart(build):
    """SYSTEM_RESET with edu decoding and mastering: each boot finds the bus at power-on
    again, nothing mapped at the old BAR address, and DMA working again."""
    args = q.machine_args(extra=TOPOLOGY)
    run = q.boot(os.path.join(build, "probe-pci-restart.img"), args, timeout=180,
                 until="bulkhead: partition probe restart 3 system-reset")
    run.expect(not run.timed_out, "the probe did not restart 3 times")
    expect_no_failures(run, "probe")
    boots = run.lines.count("[probe] probe: reset-loop boot")
    run.expect(boots >= 3, f"the probe booted {boots} times")
    tests = description_bootargs("probe-pci-restart.dts", "probe").split()[0].split("=", 1)[1].split(",")
    for test in [t for t in tests if t != "reset-loop"]:
        count = len(passes(run, "probe", test))
        run.expect(count >= boots, f"{test} passed {count} times in {boots} boots")
    first = re.match(r"^1 functions at power-on .*; nothing mapped at (0x[0-9a-f]+)$", passes(run, "probe", "pci-power-on")[0])
    run.expect(first, "pci-power-on line")
    run.expect(f"00:01.0 bar 0 {first[1]}; decode on" in [l.replace("placed ", "") for l in passes(run, "probe", "pci-bars")],
               "edu was not placed where pci-power-on found nothing mapped")
    run.expect(not [l for l in run.report if "dma-fault" in l], "DMA faults across restarts")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    print(f"{boots} boots, each at power-on and with DMA working")


if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
