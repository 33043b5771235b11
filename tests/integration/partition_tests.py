#!/usr/bin/env python3
"""Issue-4 proof: images carrying a checked description boot, report each partition,
refuse only the partitions whose requirements fail, and boot the same way from U-Boot.

Usage: partition_tests.py --build-dir build SCENARIO
"""
from collections import Counter
import os
import re
import shutil
import struct
import subprocess
import sys

import qemu_harness as q
from qemu_harness import main_job as machine  # scripts/main_job.py

MAIN_JOB = dict(smp=4, memory="2G")
PACKAGE_MAGIC = b"BHPKG\0\0\x01"


def partition_facts(run, name):
    """The words after `partition NAME` of every report line about that partition."""
    return [words[2:] for words in run.facts("partition") if words[1] == name]


def expect_started(run, name):
    run.expect_line(f"bulkhead: partition {name} start yes")


def expect_refused(run, name, reason_fragment):
    lines = [" ".join(w) for w in partition_facts(run, name) if w[:2] == ["start", "no"]]
    run.expect(lines, f"partition {name} has no 'start no' line")
    run.expect(reason_fragment in lines[0], f"partition {name}: reason {lines[0]!r} lacks {reason_fragment!r}")
    run.expect_match(rf"^bulkhead: error: partition {name}: .*{re.escape(reason_fragment)}")


def package_entries(blob):
    """(offset of the package in the image, [(kind, partition, offset, size, crc)])."""
    base = blob.find(PACKAGE_MAGIC)
    if base < 0:
        raise q.TestFailure("no package in the image")
    _, count, _, _ = struct.unpack_from("<IIII", blob, base + 8)
    entries = [struct.unpack_from("<IIQQI", blob, base + 24 + 32 * i) for i in range(count)]
    return base, entries


def damaged_image(build, name, entry_index):
    """A copy of bulkhead.img with one byte flipped inside package entry `entry_index`."""
    blob = bytearray(open(os.path.join(build, "bulkhead.img"), "rb").read())
    base, entries = package_entries(blob)
    _, _, offset, size, _ = entries[entry_index]
    blob[base + offset + size // 2] ^= 0x40
    path = os.path.join(q.work_dir(name), "damaged.img")
    open(path, "wb").write(blob)
    return path


scenario = q.Scenarios()


RESTART_LINE = "bulkhead: partition linux restart 1 system-reset"


def drive_main_job(session):
    """What a user at the main job's console does: cycle the focus with the focus key
    while both partitions run, use the Linux shell, reboot Linux (only its partition
    restarts, its devices are driven again), then leave the shell and stop the heartbeat
    so that the machine powers off."""
    at = session.wait_for("bulkhead: partition heartbeat running", 60)
    session.type(q.FOCUS_NEXT)
    at = session.wait_for("bulkhead: console focus heartbeat", 10, at)
    session.type(b"x" + q.FOCUS_NEXT)  # a byte for the heartbeat's UART (not its stop key), then back
    at = session.wait_for("bulkhead: console focus linux", 10, at)
    at = q.wait_for_linux_shell(session, at)
    # More than the virtual UART's 32-byte FIFO at once: flow control, not loss.
    session.type("echo shell-$((6*7)) on $(nproc) cpus; echo 0123456789abcdefghijklmnopqrstuvwxyz\n")
    at = session.wait_for("[linux] shell-42 on 2 cpus", 30, at)
    at = session.wait_for("[linux] 0123456789abcdefghijklmnopqrstuvwxyz\r\n", 30, at)
    session.type("reboot -f\n")
    at = session.wait_for(RESTART_LINE, 60, at)
    # The heartbeat beats once a second: one more beat once the rebooted Linux is ready.
    session.wait_for("[heartbeat] heartbeat ", 10, q.wait_for_linux_shell(session, at))
    q.leave_linux_shell(session, at)


def expect_linux_devices(run, boot, lines):
    """One Linux boot of the main job (`lines`, its part of the output) drove both
    passed-through functions: the drivers bound at the vBDFs the report gives, the NVMe's
    namespace with the check disk's data (the md5 scripts/main_job.py computed), the
    e1000e's link up and a DHCP lease from QEMU's user networking, applied."""
    def once(line):
        run.expect(lines.count(line) == 1, f"{boot}: expected {line!r} once, found {lines.count(line)}")

    once(f"[linux] guest: pci 0000:00:01.0 {machine.NVME_ID} class 010802 driver nvme")
    once(f"[linux] guest: pci 0000:00:02.0 {machine.NIC_ID} class 020000 driver e1000e")
    once("[linux] guest: pci devices 2")
    once(f"[linux] guest: net eth0 mac {machine.NIC_MAC} driver e1000e")
    once(f"[linux] guest: disk /dev/nvme0n1 check-disk bytes {machine.DISK_DATA_BYTES} md5 {machine.disk_md5()} ok")
    once("[linux] guest: link eth0 up")
    leases = [line for line in lines if re.match(rf"^\[linux\] guest: dhcp eth0 lease {re.escape(machine.DHCP_ADDRESS)}/24 "
                                                 rf"router {re.escape(machine.DHCP_ROUTER)} server [0-9.]+ seconds [0-9]+$", line)]
    run.expect(len(leases) == 1, f"{boot}: expected one DHCP lease of {machine.DHCP_ADDRESS}: "
               f"{[line for line in lines if 'dhcp' in line]}")
    once(f"[linux] guest: dhcp eth0 address {machine.DHCP_ADDRESS}")
    # Both drivers interrupt by MSI-X through the ITS (the ITS's LPIs are Linux's "MSI" chip).
    for name in ("nvme0q0", "eth0"):
        irqs = [line for line in lines if re.match(rf"^\[linux\] guest: (irq|interrupts) [0-9]+:(\s+[0-9]+)+\s+MSI [0-9]+ Edge\s+{name}$", line)]
        run.expect(len(irqs) == 1 and sum(int(n) for n in irqs[0].split(":")[2].split()[:2]) > 0,
                   f"{boot}: {name}'s MSI-X vector took no interrupt: {irqs}")
    return [line for line in lines if line.startswith("[linux] guest: disk ") or line.startswith("[linux] guest: dhcp ")
            or line.startswith("[linux] guest: link ") or line.startswith("[linux] guest: pci ")]


@scenario()
def main_job(build):
    """The main-job configuration: unmodified Debian Linux on 2 vCPUs driving a passed-through
    NVMe and e1000e, next to the bare-metal heartbeat, each line prefixed; the Linux shell
    through the console focus key; a Linux reboot restarts only its partition and Linux
    drives both devices again while the heartbeat beats on; then both power off and the
    machine with them."""
    run = q.boot_interactive(os.path.join(build, "bulkhead.img"), q.main_job_args("main-job"), drive_main_job,
                             timeout=120)
    run.expect_exited_by_itself()
    # The heartbeat's lines close Linux's live line after the test typed: count each
    # console line once (see q.without_redrawn_fragments).
    lines = q.without_redrawn_fragments(run.lines)
    run.expect_line("bulkhead: package entries 4 partitions 2 board qemu-virt")
    run.expect_line("bulkhead: partition linux cpus 1,2 mpidrs 0x1,0x2")
    run.expect_match(r"^bulkhead: partition linux ram host 0x[0-9a-f]+ size 0x40000000 guest 0x40000000$")
    run.expect_match(r"^bulkhead: partition linux payload linux-image linux-Image entry 1 size 0x[0-9a-f]+ load 0x40000000 crc ok$")
    run.expect_match(r"^bulkhead: partition linux initrd initramfs.cpio.gz entry 2 size 0x[0-9a-f]+ load 0x[0-9a-f]+ crc ok$")
    run.expect_line("bulkhead: partition linux platform rtc reg 0x9010000 size 0x1000")
    # The two functions, enumerated where QEMU put them and given to Linux, each with its
    # stage-1 DMA context (QEMU 7.2's SMMUv3 has stage 1 only).
    run.expect_line(f"bulkhead: pci {machine.NVME_SBDF} {machine.NVME_ID} class 010802 kind rc-endpoint")
    run.expect_line(f"bulkhead: pci {machine.ROOT_PORT_SBDF} 1b36:000c class 060400 kind root-port")
    run.expect_line(f"bulkhead: pci {machine.NIC_SBDF} {machine.NIC_ID} class 020000 kind endpoint")
    run.expect_line(f"bulkhead: partition linux pci {machine.NVME_SBDF} slot 01 {machine.NVME_ID} selector pci-device@0")
    run.expect_line(f"bulkhead: partition linux pci {machine.NIC_SBDF} slot 02 {machine.NIC_ID} selector pci-device@1")
    run.expect_match(r"^bulkhead: partition linux pci 0000:00:02\.0 vbdf 00:01\.0 bar 0 guest-window mem32 size 0x4000$")
    run.expect_match(r"^bulkhead: partition linux pci 0000:01:00\.0 vbdf 00:02\.0 bar 0 ")
    for sbdf in (machine.NVME_SBDF, machine.NIC_SBDF):
        run.expect_match(rf"^bulkhead: smmu-v3-stream 0x[0-9a-f]+ partition linux function {sbdf} stage 1 ")
    run.expect_match(r"^bulkhead: partition linux msi-spis [0-9]+-[0-9]+ vectors [0-9]+ lpis ")
    run.expect_line("bulkhead: partition heartbeat cpus 3 mpidrs 0x3")
    run.expect_match(r"^bulkhead: partition heartbeat payload raw heartbeat.bin entry 3 size 0x[0-9a-f]+ load 0x40000000 crc ok$")
    expect_started(run, "linux")
    expect_started(run, "heartbeat")
    run.expect_line("bulkhead: partitions ready 2 of 2")
    run.expect_line("bulkhead: partition linux running vmid 1 entry 0x40000000 cpu 1")
    run.expect_line("bulkhead: partition heartbeat running vmid 2 entry 0x40000000 cpu 3")
    # The Linux acceptance guest (tests/guests/linux/init), as it printed through its
    # virtual PL011: userspace, the configured CPUs and memory, both vCPUs busy, the
    # passed-through PL031, and its own power-off.
    run.expect_match(r"^\[linux\] guest: linux 6\.[0-9.]+-[0-9]+-arm64 userspace up$")
    run.expect_line("[linux] guest: cpus 2")
    memory_kb = int(run.expect_match(r"^\[linux\] guest: memory-kb [0-9]+$")[0].split()[-1])
    run.expect(900000 < memory_kb <= 1048576, f"Linux sees {memory_kb} KiB, expected about 1 GiB")
    run.expect_line("[linux] guest: workload threads 2 done")
    run.expect_match(r"^\[linux\] guest: rtc [A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} 20[0-9]{2}")
    # The PL031 alarm interrupt (a physical SPI of the partition) reached Linux's driver.
    alarms = [l for l in lines if l.startswith("[linux] guest: rtc alarm interrupts ")]
    run.expect(len(alarms) == 2, f"each Linux boot must report its RTC alarm: {alarms}")
    for line in alarms:
        counts = re.match(r"^\[linux\] guest: rtc alarm interrupts before ([0-9]+) after ([0-9]+)$", line)
        run.expect(counts and int(counts[2]) > int(counts[1]), f"no RTC alarm interrupt: {line}")
    run.expect_line("[linux] guest: powering off")
    # The reboot: Linux came up a second time on both vCPUs, from a fresh copy.
    run.expect(lines.count("bulkhead: partition linux running vmid 1 entry 0x40000000 cpu 1") == 2,
               "Linux must have been started twice (boot, reboot)")
    run.expect(lines.count("[linux] guest: cpus 2") == 2, "the rebooted Linux must see 2 CPUs again")
    run.expect(lines.count("[linux] guest: workload threads 2 done") == 2, "the rebooted Linux must run its workload")
    # Each boot drove the NVMe and the network: split the output at the restart.
    # The restart line names each function's reset: the NVMe's FLR, and the e1000e's
    # secondary bus reset (QEMU 7.2's e1000e advertises a PM reset that does not take).
    restarts = [i for i, line in enumerate(lines) if line.startswith(RESTART_LINE)]
    run.expect(len(restarts) == 1, f"Linux must have restarted exactly once: {[lines[i] for i in restarts]}")
    restart = restarts[0]
    run.expect(re.fullmatch(re.escape(RESTART_LINE) + r" reset 0000:00:02\.0 flr ms [0-9]+ reset 0000:01:00\.0 bus ms [0-9]+",
                            lines[restart]) is not None,
               f"the restart line must show both functions reset (FLR, bus): {lines[restart]}")
    first, second = lines[:restart], lines[restart:]
    shown = expect_linux_devices(run, "first boot", first) + expect_linux_devices(run, "after reboot -f", second)
    # The MSIs each function delivered, counted when the partition restarted and stopped.
    delivered = [line for line in lines if line.startswith("bulkhead: partition linux msi delivered ")]
    run.expect(len(delivered) == 2, f"expected an msi line at the restart and at the stop: {delivered}")
    for line in delivered:
        run.expect(re.match(r"^bulkhead: partition linux msi delivered 00:01\.0 [1-9][0-9]* 00:02\.0 [1-9][0-9]* dropped 0$",
                            line), f"both functions must deliver MSIs, none dropped: {line}")
    # The heartbeat beat throughout, in order without a gap: while Linux booted, while it
    # rebooted, and after its second boot drove the devices; then `q` stopped it.
    beats = [int(line.split()[-1]) for line in lines if re.match(r"^\[heartbeat\] heartbeat [0-9]+$", line)]
    run.expect(beats and beats == list(range(1, len(beats) + 1)), f"heartbeat lines missing or out of order: {beats}")
    second_shell = restart + second.index(q.SHELL_READY)
    for name, index in (("the first boot", 0), ("the reboot", restart), ("the second boot's shell", second_shell)):
        run.expect(any(re.match(r"^\[heartbeat\] heartbeat [0-9]+$", line) for line in lines[index:]),
                   f"the heartbeat stopped beating before {name}")
    run.expect([line for line in first if line.startswith("[heartbeat] heartbeat ")],
               "the heartbeat must beat while Linux boots")
    run.expect_line("[heartbeat] heartbeat done")
    run.expect_line("bulkhead: partition heartbeat off")
    run.expect_line("bulkhead: partition linux off")
    # No line is two partitions' output run together.
    mixed = [line for line in run.lines if line.count("[linux]") + line.count("[heartbeat]") > 1]
    run.expect(not mixed, f"interleaved lines: {mixed[:3]}")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "must end with power-off reason all-partitions-off")
    print("\n".join(["device lines of both Linux boots:", *shown, *delivered, f"heartbeat beats 1..{beats[-1]}"]))


# The e1000e NICs of the two-linux scenarios, at fixed slots of QEMU's root bus so that
# each MAC belongs to a known physical function: the MAC a Linux partition's driver reads
# through its BAR 0 names the function it really drives.
E1000E_ID, E1000E_CLASS = "8086:10d3", "020000"
NIC_MACS = {f"0000:00:0{index + 1}.0": f"52:54:00:12:34:5{6 + index}" for index in range(2)}
# The guest's PCI windows (partitions/guest_layout.hpp), by the report's window names.
GUEST_WINDOWS = {"mem32": range(0x10000000, 0x3eff0000), "mem64": range(0x8000000000, 0x10000000000),
                 "io": range(0, 0x10000)}  # I/O ports


def two_linux(build, nics, unowned=()):
    extra = []
    for index, address in enumerate(list(NIC_MACS)[:nics]):
        extra += ["-device", f"e1000e,romfile=,netdev=n{index},addr={address[-4:]},mac={NIC_MACS[address]}",
                  "-netdev", f"user,id=n{index}"]
    for device in unowned:
        extra += ["-device", device]
    run = q.boot(os.path.join(build, "two-linux.img"), q.machine_args(**MAIN_JOB, extra=extra), timeout=300)
    run.expect_exited_by_itself()
    run.expect_match(r"^bulkhead: partition linux-a pci 0000:00:0[0-9a-f].0 slot 02 8086:10d3 selector pci-device@0$")
    expect_started(run, "linux-a")
    return run


def expect_guest_pci(run, name):
    """Issue 11's Linux acceptance: the partition's Linux (tests/guests/linux/init) lists
    exactly the functions the hypervisor reports on its virtual bus, at their vBDFs, with
    the e1000e's IDs and class, the driver bound, every BAR Linux assigned sized as the
    report says and inside the guest's windows, and the MAC its driver read from the
    device. Returns the partition's physical functions."""
    prefix = f"[{name}] guest: "
    functions = {}  # physical SBDF -> (guest address, {BAR: (window, size)})
    for words in partition_facts(run, name):
        if len(words) >= 4 and words[0] == "pci" and words[2] == "vbdf":
            bars = {int(words[i + 1]): (words[i + 3], int(words[i + 5], 16)) for i in range(4, len(words), 6)}
            functions[words[1]] = ("0000:" + words[3], bars)
    run.expect(functions, f"no '{name} pci ... vbdf' report line")
    expected = {f"{prefix}pci {address} {E1000E_ID} class {E1000E_CLASS} driver e1000e" for address, _ in functions.values()}
    seen = {line for line in run.lines if line.startswith(f"{prefix}pci ") and line.split()[3] != "devices"}
    run.expect(seen == expected, f"{name}: Linux lists {sorted(seen)}, expected exactly {sorted(expected)}")
    run.expect_line(f"{prefix}pci devices {len(functions)}")
    for sbdf, (address, bars) in functions.items():
        resources = {}
        for line in run.lines:
            words = line[len(prefix):].split() if line.startswith(f"{prefix}pci-resource {address} ") else []
            if words:
                start, end = (int(value, 16) for value in words[3].split("-"))
                resources[int(words[2]) if words[2] != "rom" else "rom"] = (start, end - start + 1)
        run.expect(set(resources) == set(bars), f"{name} {address}: Linux assigned {sorted(resources, key=str)}, "
                   f"the hypervisor offers BARs {sorted(bars)}")
        for bar, (window, size) in bars.items():
            start, length = resources[bar]
            inside = GUEST_WINDOWS[window]
            run.expect(length == size and start in inside and start + size - 1 in inside,
                       f"{name} {address} BAR {bar}: Linux placed {length:#x} bytes at {start:#x}, "
                       f"the hypervisor offers {size:#x} in its {window} window")
    interfaces = [line.split()[4:] for line in run.lines if line.startswith(f"{prefix}net ")]  # [mac, M, driver, D]
    wanted = [["mac", NIC_MACS[sbdf], "driver", "e1000e"] for sbdf in functions]
    run.expect(sorted(interfaces) == sorted(wanted), f"{name}: network interfaces {interfaces}, expected {wanted} "
               "(the MACs of its own NICs)")
    unmapped = [" ".join(w) for w in partition_facts(run, name) if w[:1] == ["vpci"] and "unmapped:" in w]
    run.expect(not unmapped, f"{name}: BARs Linux placed were left unmapped: {unmapped}")
    return set(functions)


@scenario()
def two_linux_devices(build):
    """Two Linux partitions, each with one e1000e of three functions (the third, QEMU's
    `edu`, is nobody's): each Linux sees only its own NIC on its virtual bus, and its driver
    interrupts by MSI-X through the ITS."""
    run = two_linux(build, 2, unowned=["edu,addr=03"])
    run.expect_match(r"^bulkhead: partition linux-b pci 0000:00:0[0-9a-f].0 slot [0-9a-f]{2} 8086:10d3 selector pci-device@0$")
    run.expect_match(r"^bulkhead: partition linux-b pci-irq 0000:00:0[0-9a-f].0 pin A intx allowed spi [3-6]$")
    run.expect_line("bulkhead: pci 0000:00:03.0 1234:11e8 class 00ff00 kind endpoint")
    expect_started(run, "linux-b")
    run.expect_line("bulkhead: partitions ready 2 of 2")
    run.expect_line("[linux-a] guest: cpus 1")
    run.expect_line("[linux-b] guest: cpus 2")
    owned_a, owned_b = expect_guest_pci(run, "linux-a"), expect_guest_pci(run, "linux-b")
    run.expect(owned_a | owned_b == set(NIC_MACS) and not owned_a & owned_b,
               f"each NIC must belong to one partition: linux-a {owned_a}, linux-b {owned_b}")
    expect_guest_msix(run, "linux-a")
    expect_guest_msix(run, "linux-b")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "both Linux partitions must power off")


def expect_guest_msix(run, name):
    """Issue 13: the partition's e1000e driver took its MSI-X vectors as GICv3 MBIs (Linux's
    chip "MSI", one line per vector) and the link-up interrupt arrived through the ITS."""
    lines = [line for line in run.lines if line.startswith(f"[{name}] guest: irq ")]
    vectors = {}
    for line in lines:
        match = re.match(r"^guest: irq [0-9]+:((?:\s+[0-9]+)+)\s+MSI [0-9]+ Edge\s+(eth0(?:-rx-0|-tx-0)?)$",
                         line[len(f"[{name}] "):])
        run.expect(match, f"{name}: not an MSI line of eth0: {line!r}")
        vectors[match[2]] = sum(int(count) for count in match[1].split())
    run.expect(set(vectors) == {"eth0-rx-0", "eth0-tx-0", "eth0"}, f"{name}: eth0's MSI-X vectors: {vectors}")
    run.expect(vectors["eth0"] > 0, f"{name}: eth0's link interrupt never arrived: {vectors}")
    run.expect_match(rf"^bulkhead: partition {name} msi-spis [0-9]+-[0-9]+ vectors 6 lpis ")
    run.expect_match(rf"^bulkhead: partition {name} msi delivered 00:0[0-9a-f]\.0 [1-9][0-9]* dropped 0$")
    print(f"{name}: {lines}")


@scenario()
def pci_device_absent(build):
    run = two_linux(build, 1)
    expect_refused(run, "linux-b", "pci-device@0 vendor-device 8086:10d3 instance 1: device not present")
    run.expect_line("bulkhead: partitions ready 1 of 2")
    run.expect_line("[linux-a] guest: powering off")
    run.expect(expect_guest_pci(run, "linux-a") == {"0000:00:01.0"}, "linux-a must drive the only NIC")
    run.expect(run.report[-1] == "power-off reason all-partitions-off", "the other partition must run")


@scenario()
def corrupt_payload(build):
    image = damaged_image(build, "corrupt-payload", 3)  # entry 3: heartbeat.bin
    run = q.boot_interactive(image, q.main_job_args("corrupt-payload"), q.leave_linux_shell, timeout=60)
    run.expect_exited_by_itself()
    run.expect_match(r"^bulkhead: partition heartbeat payload raw heartbeat.bin entry 3 .* crc bad$")
    expect_refused(run, "heartbeat", "heartbeat.bin (package entry 3)")
    expect_started(run, "linux")
    run.expect_line("bulkhead: partitions ready 1 of 2")
    run.expect_line("[linux] guest: powering off")
    run.expect(not [l for l in run.lines if l.startswith("[heartbeat]")], "the refused partition must not run")


@scenario()
def corrupt_description(build):
    image = damaged_image(build, "corrupt-description", 0)  # entry 0: the description
    run = q.boot(image, q.main_job_args("corrupt-description"), timeout=120)
    run.expect_exited_by_itself()
    run.expect_match(r"^bulkhead: error: package: .*description")
    run.expect_line("bulkhead: error: no partition can start without a valid package")
    run.expect(not run.facts("partition"), "no partition may be reported from a damaged description")
    run.expect(run.report[-1] == "power-off reason package", "must end with power-off reason package")


@scenario()
def guest_dtb_in_memory(build):
    """Each partition's generated device tree is in its RAM where the report says: read it
    back from guest memory through QMP and decompile it with dtc."""
    from qmp import Qmp
    socket_path, qmp_args = q.qmp_socket()
    args = q.main_job_args("guest-dtb", extra=["-append", "bulkhead.hold", *qmp_args])
    with q.boot_held(os.path.join(build, "bulkhead.img"), args, until="bulkhead: hold: bulkhead.hold set, machine stays up",
                     timeout=120) as run:
        qmp = Qmp(socket_path)
        sources = {}
        for name in ("linux", "heartbeat"):
            facts = {w[0]: w for w in partition_facts(run, name)}
            host, guest = int(facts["ram"][2], 16), int(facts["ram"][6], 16)
            dtb_guest, size = int(facts["guest-dtb"][1], 16), int(facts["guest-dtb"][3], 16)
            dump = os.path.join(q.work_dir("guest-dtb"), f"{name}.dtb")
            qmp.execute("pmemsave", val=dtb_guest - guest + host, size=size, filename=dump)
            result = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", dump], capture_output=True, text=True)
            run.expect(result.returncode == 0, f"{name}: dtc rejects the guest DTB: {result.stderr}")
            sources[name] = result.stdout
        qmp.close()
    linux, heartbeat = sources["linux"], sources["heartbeat"]
    for line in ['bulkhead,partition = "linux";', 'stdout-path = "/pl011@9000000";', 'method = "hvc";',
                 'compatible = "arm,gic-v3";', 'bootargs = "console=ttyAMA0 earlycon=pl011,0x9000000 bulkhead.guest-shell";',
                 "cpu@0 {", "cpu@1 {", "pl031@9010000 {", "linux,initrd-start", "memory@40000000 {"]:
        run.expect(line in linux, f"linux guest DT lacks {line!r}:\n{linux}")
    run.expect("cpu@2 {" not in linux, "linux has 2 vCPUs")
    run.expect('bulkhead,partition = "heartbeat";' in heartbeat and "pl031" not in heartbeat,
               f"heartbeat guest DT is wrong:\n{heartbeat}")
    print("guest DTBs of linux and heartbeat read back from guest RAM and decompiled")


UBOOT = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"


def fat_disk(image, path):
    """A disk with an MBR and one FAT partition holding the image and an extlinux.conf,
    as U-Boot's distro boot expects. Built without root: the MBR is written here,
    mkfs.vfat and mtools work on the partition at its offset."""
    work = os.path.dirname(path)
    conf = os.path.join(work, "extlinux.conf")
    open(conf, "w").write("default bulkhead\nlabel bulkhead\n    kernel /bulkhead.img\n")
    start_sector = 2048
    partition_sectors = (os.path.getsize(image) // 512 + 32768) // 2048 * 2048
    with open(path, "wb") as disk:
        disk.truncate((start_sector + partition_sectors) * 512)
        entry = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x0c, b"\0\0\0", start_sector, partition_sectors)
        disk.seek(446)
        disk.write(entry)
        disk.seek(510)
        disk.write(b"\x55\xaa")
    target = f"{path}@@{start_sector * 512}"
    for command in (["mkfs.vfat", "-F", "32", "--offset", str(start_sector), "-n", "BULKHEAD", path,
                     str(partition_sectors // 2)],
                    ["mmd", "-i", target, "::/extlinux"],
                    ["mcopy", "-i", target, conf, "::/extlinux/extlinux.conf"],
                    ["mcopy", "-i", target, image, "::/bulkhead.img"]):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise q.TestFailure(f"{' '.join(command)} failed: {result.stderr}")
    return path


def comparable(run):
    """Report lines that must match between boot paths: not the DTB's address, not the
    measured times (enumeration, the boot timeline, each partition's first entry); the
    config accesses enumeration needed (U-Boot leaves the root port's bus numbers
    programmed), the MSIs Linux's drivers happened to get while running and how long each
    function reset took are counts, masked. Sorted: lines from different CPUs (a
    partition's function resets on its own CPU, the boot CPU's idle line) interleave as
    the CPUs ran, which differs from boot to boot."""
    skip = ("firmware-dtb ", "pci-enumeration ", "boot-phase ")
    masked = []
    for line in run.report:
        if line.startswith(skip) or line.split()[2:3] == ["first-entry"]:
            continue
        if line.startswith("pci-summary "):
            line = re.sub(r" config-accesses [0-9]+", " config-accesses N", line)
        if line.startswith("pci-reset-done "):
            line = re.sub(r" ms [0-9]+", " ms N", line)
        if re.match(r"^partition [^ ]+ msi delivered ", line):
            line = re.sub(r"( 00:[0-9a-f]{2}\.0) [0-9]+", r"\1 N", line)
        masked.append(line)
    return sorted(masked)


@scenario()
def uboot_flashed(build):
    image = os.path.join(build, "bulkhead.img")
    disk = fat_disk(image, os.path.join(q.work_dir("uboot"), "disk.img"))
    devices = ["-drive", f"if=none,file={disk},format=raw,id=disk,readonly=on", "-device", "virtio-blk-pci,drive=disk"]
    args = q.main_job_args("uboot", extra=devices)
    direct = q.boot_interactive(image, args, q.leave_linux_shell, timeout=60)
    direct.expect_exited_by_itself()
    flashed = q.boot_interactive(None, [*args, "-bios", UBOOT], q.leave_linux_shell, timeout=60)
    flashed.expect_exited_by_itself()
    flashed.expect_match(r"^U-Boot 20")
    flashed.expect_line("bulkhead: partitions ready 2 of 2")
    a, b = comparable(direct), comparable(flashed)
    only_direct, only_flashed = Counter(a) - Counter(b), Counter(b) - Counter(a)
    flashed.expect(a == b, "the report differs between -kernel and U-Boot booti:\n" + "\n".join(
        [f"only with -kernel: {line}" for line in only_direct.elements()] +
        [f"only with U-Boot:  {line}" for line in only_flashed.elements()]))
    print(f"{len(a)} report lines identical under -kernel and U-Boot booti")



if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
