#!/usr/bin/env python3
"""Issue-3 proof: the hypervisor's PCI enumeration against QEMU's own view.

QEMU is kept up after the report (bulkhead.hold); QMP query-pci gives every function's
IDs, class, bus numbers and BAR sizes, and the config registers the hypervisor
programmed (BARs, command) are read back through the monitor on the ECAM window.

Usage: pci_tests.py --image build/bulkhead.img SCENARIO
"""
import os
import re
import subprocess
import sys

import qemu_harness as q
from qmp import Qmp

HOLD_LINE = "bulkhead: hold: bulkhead.hold set, machine stays up"

# Two root ports, a switch with two downstream ports, NVMe, e1000e (with its option ROM),
# virtio-net, edu, a PCIe-to-PCI bridge with a conventional e1000, a multi-function device.
RICH_TOPOLOGY = [
    "-device", "pcie-root-port,id=rp1,chassis=1,slot=1", "-device", "nvme,bus=rp1,serial=bulkhead",
    "-device", "pcie-root-port,id=rp2,chassis=2,slot=2", "-device", "x3130-upstream,bus=rp2,id=up1",
    "-device", "xio3130-downstream,bus=up1,id=dn1,chassis=3,slot=0", "-device", "e1000e,bus=dn1",
    "-device", "xio3130-downstream,bus=up1,id=dn2,chassis=4,slot=1", "-device", "virtio-net-pci,bus=dn2",
    "-device", "edu",
    "-device", "pcie-pci-bridge,id=pb1", "-device", "e1000,bus=pb1,addr=3,romfile=",
    "-device", "virtio-rng-pci,multifunction=on,addr=0x6.0", "-device", "virtio-rng-pci,addr=0x6.1",
]


class Report:
    """The PCI facts of a boot report, keyed by "SSSS:BB:DD.F"."""

    def __init__(self, run):
        self.functions, self.bars, self.bridges, self.segments = {}, {}, {}, {}
        for words in run.facts("pci"):
            self.functions[words[1]] = {"ids": words[2], "class": int(words[4], 16), "kind": words[6]}
        for words in run.facts("pci-bar"):
            rest = words[3:]
            prefetchable = "pref" in rest
            rest = [w for w in rest if w != "pref"]
            values = dict(zip(rest[1::2], rest[2::2]))
            address = values.get("bus-addr", values["addr"])
            self.bars.setdefault(words[1], {})[words[2]] = {
                "kind": rest[0], "pref": prefetchable, "size": int(values["size"], 16),
                "bus_address": None if address == "none" else int(address, 16)}
        for words in run.facts("pci-bridge"):
            primary, secondary, subordinate = (int(x, 16) for x in words[3].split("/"))
            windows = dict(zip(words[4::2], words[5::2]))
            self.bridges[words[1]] = {"buses": (primary, secondary, subordinate), "windows": windows}
        for words in run.facts("pci-segment"):
            self.segments[words[1]] = {"host": words[3], "source": words[5], "buses": words[7], "ecam": words[9]}


def flatten(buses):
    """query-pci's nested bus/bridge lists -> {(bus, slot, function): device}."""
    found = {}

    def walk(devices):
        for device in devices:
            found[(device["bus"], device["slot"], device["function"])] = device
            if "pci_bridge" in device:
                walk(device["pci_bridge"].get("devices", []))

    for bus in buses:
        walk(bus["devices"])
    return found


def ecam_address(ecam_base, bus_first, bus, slot, function, offset):
    return ecam_base + ((bus - bus_first) << 20 | slot << 15 | function << 12 | offset)


def compare_with_qemu(run, qmp, segment, ecam_base, bus_first, qemu_buses):
    """Every function QEMU has on these buses must be in the report exactly as QEMU sees it."""
    report = Report(run)
    devices = {key: d for key, d in flatten(qmp.execute("query-pci")).items() if key[0] in qemu_buses}
    reported = {k for k in report.functions if k.startswith(f"{segment:04x}:")}
    expected = {f"{segment:04x}:{b:02x}:{s:02x}.{f:x}" for (b, s, f) in devices}
    run.expect(reported == expected, f"functions differ: only reported {sorted(reported - expected)}, "
                                     f"only in QEMU {sorted(expected - reported)}")
    checked_bars = 0
    for (bus, slot, function), device in sorted(devices.items()):
        name = f"{segment:04x}:{bus:02x}:{slot:02x}.{function:x}"
        mine = report.functions[name]
        ids = f"{device['id']['vendor']:04x}:{device['id']['device']:04x}"
        run.expect(mine["ids"] == ids, f"{name}: IDs {mine['ids']} but QEMU says {ids}")
        run.expect(mine["class"] >> 8 == device["class_info"]["class"], f"{name}: class differs from QEMU")
        is_bridge = "pci_bridge" in device
        if is_bridge:
            qbus = device["pci_bridge"]["bus"]
            want = (qbus["number"], qbus["secondary"], qbus["subordinate"])
            run.expect(report.bridges[name]["buses"] == want,
                       f"{name}: buses {report.bridges[name]['buses']} but QEMU says {want}")
            window = qbus["memory_range"]
            text = report.bridges[name]["windows"]["mem"]
            if window["base"] <= window["limit"]:
                run.expect(text == f"{window['base']:#x}-{window['limit']:#x}",
                           f"{name}: mem window {text} but QEMU says {window}")
            else:
                run.expect(text == "none", f"{name}: mem window {text} but QEMU has it closed")
        command = qmp.read32(ecam_address(ecam_base, bus_first, bus, slot, function, 0x04)) & 0xffff
        if not is_bridge:
            run.expect(command & 0x7 == 0, f"{name}: command {command:#x}: I/O, memory or bus master left on")
            run.expect(command & 0x400, f"{name}: command {command:#x}: INTx not disabled")
        for region in device["regions"]:
            index = str(region["bar"]) if region["bar"] < 6 else "rom"
            bar = report.bars.get(name, {}).get(index)
            run.expect(bar is not None, f"{name}: BAR {index} ({region}) missing from the report")
            kind = "io" if region["type"] == "io" else ("mem64" if region.get("mem_type_64") else "mem32")
            run.expect(bar["kind"] == kind, f"{name}: BAR {index} is {bar['kind']}, QEMU says {kind}")
            run.expect(bar["pref"] == region.get("prefetch", False), f"{name}: BAR {index} prefetch differs")
            run.expect(bar["size"] == region["size"], f"{name}: BAR {index} size {bar['size']:#x}, QEMU {region['size']:#x}")
            offset = (0x38 if is_bridge else 0x30) if index == "rom" else 0x10 + 4 * region["bar"]
            raw = qmp.read32(ecam_address(ecam_base, bus_first, bus, slot, function, offset))
            if kind == "mem64":
                raw |= qmp.read32(ecam_address(ecam_base, bus_first, bus, slot, function, offset + 4)) << 32
            mask = ~0x7ff if index == "rom" else (~0x3 if kind == "io" else ~0xf)
            programmed = raw & mask & ((1 << 64) - 1)
            run.expect(programmed == bar["bus_address"],
                       f"{name}: BAR {index} register holds {programmed:#x}, report says {bar['bus_address']:#x}")
            if region["address"] != -1:  # QEMU maps a BAR only while decoding is on
                run.expect(region["address"] == bar["bus_address"], f"{name}: BAR {index} mapped elsewhere by QEMU")
            checked_bars += 1
    return report, len(devices), checked_bars


def held_boot(image, args, dtb=None):
    socket_path, qmp_args = q.qmp_socket()
    full = [*args, "-append", "bulkhead.hold", *qmp_args]
    if dtb:
        full += ["-dtb", dtb]
    return q.boot_held(image, full, until=HOLD_LINE, timeout=90), socket_path


scenario = q.Scenarios()


@scenario()
def rich_topology(image):
    args = q.machine_args(smp=2, memory="1G", extra=RICH_TOPOLOGY)
    session, socket_path = held_boot(image, args)
    with session as run:
        qmp = Qmp(socket_path)
        report, count, bars = compare_with_qemu(run, qmp, 0, 0x4010000000, 0, range(256))
        qmp.close()
    run.expect(count == 14, f"expected 14 functions in the rich topology, QEMU has {count}")
    run.expect(report.functions["0000:00:04.0"]["kind"] == "pcie-pci-bridge", "pcie-pci-bridge kind")
    run.expect(report.functions["0000:02:00.0"]["kind"] == "upstream-port", "switch upstream port kind")
    run.expect("rom" in report.bars["0000:04:00.0"], "e1000e's option ROM BAR must be reported")
    run.expect(not run.errors(include_partitions=False), f"unexpected error lines: {run.errors(False)}")
    print(f"compared {count} functions and {bars} BARs with query-pci")


def split_dtb(path, domains):
    """Rewrites QEMU's single host bridge as two that split buses, ECAM and windows:
    /pcie@10000000 keeps buses 0x00-0x7f, /pcie@4018000000 gets 0x80-0xff (the root bus
    of QEMU's pxb-pcie). `domains` gives each node's linux,pci-domain (None: absent)."""
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", path], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"\tpcie@10000000 \{\n(.*?)\n\t\};\n", dts, re.S)
    body = match.group(1)
    body = re.sub(r"\t\tlinux,pci-domain = <[^>]*>;\n", "", body + "\n")
    body = re.sub(r"\t\tphandle = <[^>]*>;\n", "", body)

    def host(unit, ecam_low, buses, io, mem32, mem64, domain):
        text = re.sub(r"reg = <[^>]*>", f"reg = <0x40 {ecam_low:#x} 0x00 0x8000000>", body)
        text = re.sub(r"bus-range = <[^>]*>", f"bus-range = <{buses[0]:#x} {buses[1]:#x}>", text)
        ranges = (f"0x1000000 0x00 {io[0]:#x} 0x00 {io[1]:#x} 0x00 {io[2]:#x} "
                  f"0x2000000 0x00 {mem32[0]:#x} 0x00 {mem32[0]:#x} 0x00 {mem32[1]:#x} "
                  f"0x3000000 {mem64[0] >> 32:#x} 0x00 {mem64[0] >> 32:#x} 0x00 {mem64[1] >> 32:#x} 0x00")
        text = re.sub(r"ranges = <[^>]*>", f"ranges = <{ranges}>", text)
        if domain is not None:
            text += f"\t\tlinux,pci-domain = <{domain:#x}>;\n"
        return f"\t{unit} {{\n{text}\t}};\n"

    first = host("pcie@10000000", 0x10000000, (0x00, 0x7f), (0x0, 0x3eff0000, 0x8000),
                 (0x10000000, 0x17000000), (0x8000000000, 0x4000000000), domains[0])
    second = host("pcie@4018000000", 0x18000000, (0x80, 0xff), (0x8000, 0x3eff8000, 0x8000),
                  (0x27000000, 0x17ff0000), (0xc000000000, 0x4000000000), domains[1])
    dts = dts[:match.start()] + first + second + dts[match.end():]
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", path, "-"], input=dts, text=True, check=True)
    return path


SPLIT_DEVICES = [
    "-device", "pcie-root-port,id=rp1,chassis=1,slot=1", "-device", "nvme,bus=rp1,serial=bulkhead",
    "-device", "pxb-pcie,bus_nr=128,id=pxb1",
    "-device", "pcie-root-port,id=rp3,bus=pxb1,chassis=5", "-device", "e1000e,bus=rp3",
]


def split_boot(image, name, domains):
    args = q.machine_args(smp=1, memory="1G", extra=SPLIT_DEVICES)
    dtb = split_dtb(q.dump_dtb(args, os.path.join(q.work_dir(name), "qemu.dtb")), domains)
    return held_boot(image, args, dtb)


@scenario()
def split_host_bridges(image):
    session, socket_path = split_boot(image, "pci-split", (None, None))
    with session as run:
        run.expect_line("bulkhead: pci-segment 0000 host /pcie@10000000 source assigned buses 00-7f ecam 0x4010000000")
        run.expect_line("bulkhead: pci-segment 0001 host /pcie@4018000000 source assigned buses 80-ff ecam 0x4018000000")
        qmp = Qmp(socket_path)
        _, low, _ = compare_with_qemu(run, qmp, 0, 0x4010000000, 0x00, range(0x00, 0x80))
        report, high, _ = compare_with_qemu(run, qmp, 1, 0x4018000000, 0x80, range(0x80, 0x100))
        qmp.close()
    run.expect(report.functions.get("0001:81:00.0", {}).get("ids") == "8086:10d3", "e1000e behind the second bridge")
    run.expect(report.functions.get("0000:01:00.0", {}).get("ids") == "1b36:0010", "nvme behind the first bridge")
    run.expect(not run.errors(include_partitions=False), f"unexpected error lines: {run.errors(False)}")
    print(f"segment 0000: {low} functions, segment 0001: {high} functions, both match query-pci")


@scenario()
def split_mixed_domains(image):
    # The second node claims 0 explicitly: the first, without one, must get 1.
    session, _ = split_boot(image, "pci-mixed", (None, 0))
    with session as run:
        run.expect_line("bulkhead: pci-segment 0001 host /pcie@10000000 source assigned buses 00-7f ecam 0x4010000000")
        run.expect_line("bulkhead: pci-segment 0000 host /pcie@4018000000 source dt buses 80-ff ecam 0x4018000000")
        run.expect_line("bulkhead: pci 0000:81:00.0 8086:10d3 class 020000 kind endpoint")


@scenario()
def split_clashing_domains(image):
    session, _ = split_boot(image, "pci-clash", (0, 0))
    with session as run:
        run.expect_line("bulkhead: error: pci-segment: /pcie@10000000 and /pcie@4018000000 both claim "
                        "linux,pci-domain 0; /pcie@4018000000 not enumerated")
        run.expect_line("bulkhead: pci-segment 0000 host /pcie@10000000 source dt buses 00-7f ecam 0x4010000000")
        run.expect(not [l for l in run.report if "/pcie@4018000000 source" in l], "the clashing bridge was enumerated")
        run.expect(not [l for l in run.report if l.startswith("pci 0000:8")], "buses of the clashing bridge were scanned")



if __name__ == "__main__":
    sys.exit(scenario.main("--image"))
