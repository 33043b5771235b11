#!/usr/bin/env python3
"""Issue-12 proof on QEMU (driver half): the SMMUv3 comes up translating with every
StreamID aborting. The report line is checked against QEMU's own DTB (iommu-map) and
against the PCI functions the hypervisor enumerated; with `bulkhead.smmu-dump` the
hypervisor reads its stream table back as the SMMU sees it, and every StreamID the
iommu-map can produce must abort, since no partition owns a stream yet.

Usage: smmu_tests.py --image build/bulkhead.img SCENARIO
"""
import os
import re
import subprocess
import sys

import qemu_harness as q

# Functions on several buses, one behind a PCIe-to-PCI bridge (its DMA alias), as in
# pci_tests.py's rich topology.
DEVICES = [
    "-device", "pcie-root-port,id=rp1,chassis=1,slot=1", "-device", "nvme,bus=rp1,serial=bulkhead",
    "-device", "pcie-root-port,id=rp2,chassis=2,slot=2", "-device", "x3130-upstream,bus=rp2,id=up1",
    "-device", "xio3130-downstream,bus=up1,id=dn1,chassis=3,slot=0", "-device", "e1000e,bus=dn1",
    "-device", "edu",
    "-device", "pcie-pci-bridge,id=pb1", "-device", "e1000,bus=pb1,addr=3,romfile=",
]

scenario = q.Scenarios()


def qemu_version():
    text = subprocess.run([q.QEMU, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = re.search(r"version (\d+)\.(\d+)", text).groups()
    return int(major), int(minor)


def iommu_map(dtb):
    """(smmu node, [(rid_base, output_base, length)]) of QEMU's DTB, entries that lead to the SMMU."""
    smmu = next(n for n in q.fdt_nodes(dtb) if n.startswith("smmuv3@"))
    phandle = int(q.fdtget(dtb, f"/{smmu}", "phandle")[0], 16)
    entries = []
    for node in q.fdt_nodes(dtb):
        if node.startswith("pcie@"):
            cells = [int(c, 16) for c in q.fdtget(dtb, f"/{node}", "iommu-map") or []]
            for i in range(0, len(cells), 4):
                rid, target, output, length = cells[i:i + 4]
                if target == phandle:
                    entries.append((rid, output, length))
    return f"/{smmu}", entries


def stream_id(entries, rid):
    for base, output, length in entries:
        if base <= rid < base + length:
            return output + rid - base
    return None


def present_streams(run, entries):
    """Every StreamID an enumerated function's DMA can carry: its own RID's and its alias's."""
    streams = set()
    for words in run.facts("pci-stream"):
        segment, bus, devfn = words[1].split(":")
        device, function = devfn.split(".")
        own = int(bus, 16) << 8 | int(device, 16) << 3 | int(function, 16)
        for rid in (own, int(words[3], 16)):
            sid = stream_id(entries, rid)
            if sid is not None:
                streams.add(sid)
    return streams


def boot_with(image, extra, name, bootargs, until="bulkhead: boot-complete"):
    """Boots until the report is complete (the partitions have started), or until `until`;
    QEMU is then stopped."""
    args = q.machine_args(smp=4, memory="2G", extra=extra)
    dtb = q.dump_dtb(args, os.path.join(q.work_dir(f"smmu-{name}"), "qemu.dtb"))
    append = ["-append", bootargs] if bootargs else []
    run = q.boot(image, [*args, *append], timeout=90, until=until)
    return run, dtb


def check_report(run, dtb):
    """The `smmu-v3 ... stage` line against QEMU's DTB and the enumerated functions;
    returns (sid_bits, level-2 blocks with an STE table)."""
    path, entries = iommu_map(dtb)
    run.expect(entries, "QEMU's DTB has no iommu-map to the SMMU")
    run.expect(not run.errors(include_partitions=False), f"unexpected error lines: {run.errors(False)}")
    lines = [w for w in run.facts("smmu-v3") if len(w) > 2 and w[2] == "stage"]
    run.expect(len(lines) == 1, "expected exactly one 'smmu-v3 PATH stage' line")
    w = lines[0]
    fields = dict(zip(w[2::2], w[3::2]))
    run.expect(w[1] == path, f"the SMMU is {path}, the report says {w[1]}")
    streams = sum(length for _, _, length in entries)
    sid_bits = max((output + length - 1).bit_length() for _, output, length in entries)
    run.expect(fields["stage"] == "1", "QEMU's SMMU has stage 1 only (before 8.1): stage 1 expected")
    run.expect(int(fields["streams"]) == streams, f"streams {fields['streams']}, the iommu-map gives {streams}")
    run.expect(int(fields["sid-bits"]) == sid_bits, f"sid-bits {fields['sid-bits']}, expected {sid_bits}")
    two_level = sid_bits > 8
    run.expect(fields["table"] == ("2-level" if two_level else "linear"), f"table {fields['table']}")
    blocks = {sid >> 8 for sid in present_streams(run, entries)} if two_level else set()
    run.expect(int(fields["l2-tables"]) == len(blocks),
               f"l2-tables {fields['l2-tables']}, the enumerated functions use {len(blocks)} 256-StreamID blocks")
    run.expect(fields["cmdq"] == "256" and fields["eventq"] == "128", "queue sizes")
    gbpa = "abort" if qemu_version() >= (8, 0) else "not-honoured"  # QEMU implements GBPA from 8.0
    run.expect(fields["gbpa"] == gbpa, f"gbpa {fields['gbpa']}, QEMU {qemu_version()} gives {gbpa}")
    run.expect(fields["coherent"] == "yes", "QEMU's SMMU is coherent (IDR0.COHACC)")
    # After PCI enumeration (its StreamIDs), before any partition is planned.
    at = run.report.index(" ".join(w))
    enumeration = next(i for i, line in enumerate(run.report) if line.startswith("pci-enumeration "))
    package = next(i for i, line in enumerate(run.report) if line.startswith("package base "))
    run.expect(enumeration < at < package, "the SMMU line must come after enumeration and before the package")
    return sid_bits, blocks


@scenario("report-and-dump")
def report_and_dump(image):
    # A partition's streams are attached on its own CPU once its functions are reset,
    # just before its guest's first instruction: wait for Linux's first line.
    run, dtb = boot_with(image, DEVICES, "dump", "bulkhead.smmu-dump", until="[linux] ")
    run.expect_line("bulkhead: boot-complete")
    sid_bits, blocks = check_report(run, dtb)
    run.expect(len(blocks) >= 4, f"the topology spreads over several buses, got blocks {sorted(blocks)}")
    # The dump: runs covering 0 .. 2^sid_bits - 1 exactly once, every one aborting.
    expected_next = 0
    with_table = set()
    for words in run.facts("smmu-v3-ste"):
        first, last = (int(x, 16) for x in words[1].split("-"))
        state = " ".join(words[2:])
        run.expect(first == expected_next, f"dump gap or overlap at {first:#x} (expected {expected_next:#x})")
        run.expect(last >= first, f"bad run {words[1]}")
        run.expect(state in ("invalid", "abort", "no-l2-table"), f"StreamIDs {words[1]} do not abort: {state}")
        if state != "no-l2-table":
            with_table.update(range(first >> 8, (last >> 8) + 1))
        expected_next = last + 1
    run.expect(expected_next == 1 << sid_bits, f"the dump ends at {expected_next:#x}, not {1 << sid_bits:#x}")
    run.expect(with_table == blocks, f"level-2 tables for blocks {sorted(with_table)}, expected {sorted(blocks)}")
    total = 1 << sid_bits
    summary = f"smmu-v3-ste-summary streams {total} aborting {total} translating 0 bypass 0 attached 0"
    run.expect_line("bulkhead: " + summary)
    # Nothing was attached at bring-up; later only the functions a partition of the image
    # owns (the main job's Linux takes this topology's NVMe and e1000e) get their streams.
    owned = {(w[1], w[3]) for w in run.facts("partition") if len(w) > 4 and w[2] == "pci" and w[4] == "slot"}
    streams = run.facts("smmu-v3-stream")
    attached = {(w[3], w[5]) for w in streams if w[2] == "partition" and w[4] == "function"}
    run.expect(len(attached) == len(streams) and attached == owned,
               f"streams attached {sorted(attached)}, the partitions own {sorted(owned)}")
    run.expect(all(run.report.index(" ".join(w)) > run.report.index(summary) for w in streams),
               "a stream was attached before the SMMU's bring-up dump")


@scenario("report-only")
def report_only(image):
    run, dtb = boot_with(image, [], "plain", "")
    run.expect_line("bulkhead: boot-complete")
    check_report(run, dtb)
    run.expect(not run.facts("smmu-v3-ste"), "no dump without bulkhead.smmu-dump")


@scenario("no-smmu")
def no_smmu(image):
    args = q.machine_args(smp=4, memory="2G", machine="virt,virtualization=on,gic-version=3", extra=DEVICES)
    run = q.boot(image, [*args, "-append", "bulkhead.smmu-dump"], timeout=90, until="bulkhead: boot-complete")
    run.expect_line("bulkhead: boot-complete")
    run.expect(not [w for w in run.report if w.startswith("smmu-v3")], "no SMMU: no smmu-v3 lines")
    run.expect(not run.errors(include_partitions=False), f"unexpected error lines: {run.errors(False)}")


if __name__ == "__main__":
    sys.exit(scenario.main("--image"))
