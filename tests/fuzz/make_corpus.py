#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (target fuzz_corpus):
  corpus/description: every example configuration and test description, compiled by dtc;
  corpus/package:     the package of each example configuration, with tiny payloads,
                      prefixed by the fuzz_package mode byte (0: as is, 1: CRCs resealed);
  corpus/firmware_dt: QEMU's own virt DTBs (dumpdtb, with and without an SMMU) and the
                      hand-made firmware DTs of tests/data, compiled by dtc;
  corpus/vpci:        guest access sequences for fuzz_vpci (what a driver does: size the
                      BARs, place them, enable decode, touch registers);
  corpus/msi:         guest MSI and MSI-X programming for fuzz_msi (what Linux does).
"""
import argparse
import glob
import os
import struct
import subprocess
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("--source", required=True)
parser.add_argument("--dtc", required=True)
parser.add_argument("--tool", required=True)
parser.add_argument("--qemu", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()

descriptions = os.path.join(args.out, "description")
packages = os.path.join(args.out, "package")
os.makedirs(descriptions, exist_ok=True)
os.makedirs(packages, exist_ok=True)
firmware_dts = os.path.join(args.out, "firmware_dt")
os.makedirs(firmware_dts, exist_ok=True)

sources = sorted(glob.glob(os.path.join(args.source, "configs", "*.dts")) +
                 glob.glob(os.path.join(args.source, "tests", "data", "partitions", "*.dts")))
with tempfile.TemporaryDirectory() as work:
    board = os.path.join(work, "board.dtb")
    subprocess.run([args.dtc, "-q", "-o", board, os.path.join(args.source, "boards", "qemu-virt", "board.dts")],
                   check=True)
    payloads = os.path.join(work, "payloads")
    os.makedirs(payloads)
    header = struct.pack("<IIQQQQQQII", 0x14000010, 0, 0, 0x200000, 0xA, 0, 0, 0, 0x644D5241, 0)
    for name, data in (("linux-Image", header + b"\x01" * 64), ("initramfs.cpio.gz", b"\x1f\x8b" + b"\x02" * 30),
                       ("heartbeat.bin", b"\x03" * 16)):
        with open(os.path.join(payloads, name), "wb") as out:
            out.write(data)
    for source in sources:
        name = os.path.splitext(os.path.basename(source))[0]
        dtb = os.path.join(descriptions, name + ".dtb")
        if subprocess.run([args.dtc, "-q", "-o", dtb, source]).returncode != 0:
            continue
        package = os.path.join(work, name + ".bin")
        result = subprocess.run([args.tool, "--board", board, "--payload-dir", payloads, "--package", package, dtb],
                                capture_output=True)
        if result.returncode == 0:
            with open(package, "rb") as built:
                data = built.read()
            for mode in (0, 1):
                with open(os.path.join(packages, f"{name}-{mode}.bin"), "wb") as out:
                    out.write(bytes([mode]) + data)
    empty_kernel = os.path.join(work, "empty-kernel.bin")
    open(empty_kernel, "wb").close()
    for name, machine, extra in (
            ("virt-smmu-smp4", "virt,virtualization=on,gic-version=3,iommu=smmuv3", []),
            ("virt-plain-smp2", "virt,virtualization=on,gic-version=3", []),
            ("virt-smmu-bootargs", "virt,virtualization=on,gic-version=3,iommu=smmuv3",
             ["-kernel", empty_kernel, "-append", "console=ttyAMA0"])):
        dtb = os.path.join(firmware_dts, name + ".dtb")
        subprocess.run([args.qemu, "-M", f"{machine},dumpdtb={dtb}", "-cpu", "cortex-a57", "-smp", "4", "-m", "2048",
                        "-nographic", "-nic", "none"] + extra, check=True, capture_output=True)
    for source in sorted(glob.glob(os.path.join(args.source, "tests", "data", "firmware-*.dts"))):
        dtb = os.path.join(firmware_dts, os.path.splitext(os.path.basename(source))[0] + ".dtb")
        subprocess.run([args.dtc, "-q", "-I", "dts", "-O", "dtb", "-o", dtb, source])

# fuzz_vpci: flags (legacy INTx, bus master allowed, MSI, MSI-X, trapped table), map
# failure period, then 9-byte accesses: kind, offset (le16), size code (0: 1, 1: 2,
# 2: 4 bytes), value (le32), target (bits 2:0 pick the slot: 1, 2, 5, 31, 0, 7).
vpci = os.path.join(args.out, "vpci")
os.makedirs(vpci, exist_ok=True)
READ, WRITE, IO, TRAPPED = 0, 3, 5, 6


def access(kind, offset, size_code, value, target):
    return struct.pack("<BHBIB", kind, offset, size_code, value, target)


def driver(target, bars):
    ops = [access(READ, 0, 2, 0, target)]
    for offset, address in bars:
        ops += [access(WRITE, offset, 2, 0xffffffff, target), access(READ, offset, 2, 0, target),
                access(WRITE, offset, 2, address, target)]
    ops += [access(WRITE, 4, 1, 0x0007, target), access(READ, 0x34, 0, 0, target), access(READ, 0x40, 2, 0, target)]
    return ops


seeds = {
    "e1000e": driver(0, [(0x10, 0x10000000), (0x14, 0x1000), (0x18, 0x00100000), (0x1c, 0x80),
                         (0x20, 0x10040000)]) + [access(IO, 0x1004, 2, 0, 0), access(TRAPPED, 0x10, 2, 0x10001, 0)],
    "multi-function": driver(1, [(0x10, 0x2000), (0x14, 0x10050000)]) + driver(2, [(0x10, 0x10060000)]),
    "behind-a-port": driver(3, [(0x10, 0), (0x14, 0x81)]) + [access(7, 0, 0, 0, 0x20)],
}
for name, ops in seeds.items():
    for flags in (0x00, 0x1f):
        with open(os.path.join(vpci, f"{name}-{flags:02x}.bin"), "wb") as out:
            out.write(bytes([flags, 0]) + b"".join(ops))
# fuzz_msi: flags (bit 0: a doorbell above 4 GiB, bits 2:1: the router fails every Nth
# bind, bit 3: 60 SPIs instead of 64), then 8-byte steps: kind (0: MSI capability, 1:
# MSI-X capability, 2: MSI-X table/PBA, 3: header, 4/5: the function raises a vector,
# 6: it polls, 7: resets), where, size code (2: 4 bytes), value (le32), target (bits 1:0:
# the function; bit 7: read; bits 6:3 shape the value, 0: the guest's doorbell).
msi = os.path.join(args.out, "msi")
os.makedirs(msi, exist_ok=True)
DOORBELL, RAW = 0 << 3, 7 << 3


def step(kind, where, value, target, size_code=2):
    return struct.pack("<BBBIB", kind, where, size_code, value, target)


msi_seeds = {
    # Linux on 00:01.0 (8 vectors, 64-bit, masking): address, high half, data 68, 4 vectors on, raise, mask.
    "msi": [step(0, 4, 0, DOORBELL | 0), step(0, 8, 0, RAW | 0), step(0, 0xc, 68, RAW | 0),
            step(0, 2, 0x21, RAW | 0, 1), step(4, 2, 0, 0), step(0, 0x10, 1, RAW | 0), step(4, 0, 0, 0),
            step(0, 0x10, 0, RAW | 0), step(6, 0, 0, 0)],
    # Linux on 00:02.0 (8 vectors): enable + mask all, program vector 3, unmask it, clear the mask, raise.
    "msix": [step(1, 2, 0xc000, RAW | 1, 1), step(2, 12, 0, DOORBELL | 1), step(2, 13, 0, RAW | 1),
             step(2, 14, 70, RAW | 1), step(2, 15, 0, RAW | 1), step(1, 2, 0x8000, RAW | 1, 1), step(5, 3, 0, 1),
             step(2, 15, 1, RAW | 1), step(5, 3, 0, 1), step(2, 0, 0, RAW | 0x40 | 0x80 | 1), step(2, 15, 0, RAW | 1)],
    # 00:04.0: the PBA in its own BAR; then a reset while bound.
    "msix-pba-bar": [step(1, 2, 0x8000, RAW | 3, 1), step(2, 0, 0, DOORBELL | 3), step(2, 2, 127, RAW | 3),
                     step(2, 3, 0, RAW | 3), step(5, 0, 0, 3), step(7, 0, 0, 3)],
}
for name, ops in msi_seeds.items():
    for flags in (0x00, 0x09, 0x02):
        with open(os.path.join(msi, f"{name}-{flags:02x}.bin"), "wb") as out:
            out.write(bytes([flags]) + b"".join(ops))
print(f"corpus: {len(os.listdir(descriptions))} descriptions, {len(os.listdir(packages))} packages, "
      f"{len(os.listdir(vpci))} vpci sequences, {len(os.listdir(msi))} msi sequences, {len(os.listdir(firmware_dts))} firmware DTs in {args.out}")
