#!/usr/bin/env python3
"""The main job's QEMU machine, defined once: `scripts/run.sh` boots it and the tests
(tests/integration/qemu_harness.py, `qemu: partitions main-job` and the other scenarios
that boot build/bulkhead.img with its partitions) import it.

The machine is QEMU `virt` with what configs/default.dts gives the Linux partition: an
NVMe controller (`1b36:0010`, root bus slot 2, FLR capable) backed by a check disk, and
an e1000e (`8086:10d3`) alone below a PCIe root port (slot 3: no FLR, so a secondary
bus reset can reset it) on QEMU's user networking, whose DHCP server leases 10.0.2.15.

The check disk: a header sector `bulkhead-check-disk data-offset 4096 bytes N md5 HEX`
(a line, zero padded), then N bytes from offset 4096 no 32 of which repeat. Linux's
acceptance init (tests/guests/linux/init) reads the header, checksums the data and
compares; it never writes such a disk.

Usage: main_job.py command BUILD_DIR [QEMU_ARGS...]  writes BUILD_DIR/main-job-disk.img
       afresh and prints the QEMU command, one NUL-terminated word each (for bash's
       `mapfile -d ''`); QEMU_ARGS go at its end.
"""
import hashlib
import os
import struct
import sys

MACHINE = "virt,virtualization=on,gic-version=3,iommu=smmuv3"
CPUS, MEMORY = 4, "2G"
DISK_HEADER_BYTES = 4096
DISK_DATA_BYTES = 8 << 20
NIC_MAC = "52:54:00:12:34:56"
# Where QEMU's root bus puts the two functions (the hypervisor's report names them so).
NVME_SBDF, NVME_ID = "0000:00:02.0", "1b36:0010"
ROOT_PORT_SBDF = "0000:00:03.0"
NIC_SBDF, NIC_ID = "0000:01:00.0", "8086:10d3"
# QEMU's user networking (slirp): the guest's lease and the gateway.
DHCP_ADDRESS, DHCP_ROUTER = "10.0.2.15", "10.0.2.2"


def disk_data():
    """The check disk's data: SHA-256 in counter mode over a label of its own (not the
    linux-nvme test's content)."""
    return b"".join(hashlib.sha256(b"bulkhead main job " + struct.pack("<Q", i)).digest()
                    for i in range(DISK_DATA_BYTES // 32))


def disk_md5():
    return hashlib.md5(disk_data()).hexdigest()


def write_disk(path):
    """Writes the check disk to `path` (replacing it: a session may have written to it);
    returns the data's md5."""
    data = disk_data()
    checksum = hashlib.md5(data).hexdigest()
    header = f"bulkhead-check-disk data-offset {DISK_HEADER_BYTES} bytes {len(data)} md5 {checksum}\n".encode()
    temporary = path + ".new"
    with open(temporary, "wb") as disk:
        disk.write(header.ljust(DISK_HEADER_BYTES, b"\0"))
        disk.write(data)
    os.replace(temporary, path)
    return checksum


def device_args(disk):
    """The QEMU options of the main job's devices (the NVMe on `disk`, the NIC)."""
    return ["-drive", f"file={disk},if=none,id=main-disk,format=raw",
            "-device", f"nvme,addr={NVME_SBDF[8:10]},drive=main-disk,serial=bulkhead-main",
            "-device", f"pcie-root-port,id=main-port,chassis=1,addr={ROOT_PORT_SBDF[8:10]}",
            "-netdev", "user,id=main-net",
            "-device", f"e1000e,bus=main-port,netdev=main-net,romfile=,mac={NIC_MAC}"]


def machine_args(disk, machine=MACHINE, memory=MEMORY, extra=()):
    """The main job's QEMU options without the image (`-kernel IMAGE` goes last)."""
    return ["-M", machine, "-cpu", "cortex-a57", "-smp", str(CPUS), "-m", str(memory), "-nographic",
            "-nic", "none", *device_args(disk), *extra]


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "command":
        sys.exit("usage: main_job.py command BUILD_DIR [QEMU_ARGS...]")
    build = os.path.abspath(sys.argv[2])
    disk = os.path.join(build, "main-job-disk.img")
    write_disk(disk)
    qemu = os.environ.get("BULKHEAD_QEMU", "qemu-system-aarch64")
    words = [qemu, *machine_args(disk), "-kernel", os.path.join(build, "bulkhead.img"), *sys.argv[3:]]
    sys.stdout.write("".join(word + "\0" for word in words))


if __name__ == "__main__":
    main()
