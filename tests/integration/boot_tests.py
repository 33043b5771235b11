#!/usr/bin/env python3
"""QEMU boot tests for the foundation: the boot report against the machine QEMU was
asked for, and every firmware failure path ending in a message and a power-off.

Usage: boot_tests.py --image build/bulkhead.img SCENARIO
"""
import os
import struct
import subprocess
import sys

import qemu_harness as q

scenario = q.Scenarios()


def memory_bytes(text):
    units = {"M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]]


def expected_report(dtb, memory):
    """Report lines derived from QEMU's own DTB for the same command line."""
    lines = [f"ram 0x40000000 size {memory_bytes(memory):#x}"]
    cpus = [n for n in q.fdt_nodes(dtb, "/cpus") if n.startswith("cpu@")]
    cpus.sort(key=lambda n: int(n.split("@")[1], 16))
    for index, node in enumerate(cpus):
        mpidr = q.cells_to_ints(q.fdtget(dtb, f"/cpus/{node}", "reg"), 1)[0]
        lines.append(f"cpu {index} mpidr {mpidr:#x} online")
    lines.append(f"cpus online {len(cpus)} of {len(cpus)}")
    for node in q.fdt_nodes(dtb):
        if node.startswith("pcie@"):
            ecam, size = q.cells_to_ints(q.fdtget(dtb, f"/{node}", "reg"), 2)
            first, last = q.cells_to_ints(q.fdtget(dtb, f"/{node}", "bus-range"), 1)
            lines.append(f"pcie-host /{node} ecam {ecam:#x} size {size:#x} buses 0x{first:02x}-0x{last:02x}")
        if node.startswith("smmuv3@"):
            base, size = q.cells_to_ints(q.fdtget(dtb, f"/{node}", "reg"), 2)
            lines.append(f"smmu-v3 /{node} base {base:#x} size {size:#x}")
    return lines, len(cpus)


def check_good_boot(image, smp, memory, machine=q.DEFAULT_MACHINE, runs_partitions=False):
    # The default partitions run on the main job's machine (scripts/main_job.py: its
    # NVMe and NIC are Linux's); elsewhere the plain machine.
    if runs_partitions:
        args = q.main_job_args(f"boot-{smp}-{memory}", machine=machine, memory=memory)
        args[args.index("-smp") + 1] = str(smp)
    else:
        args = q.machine_args(smp=smp, memory=memory, machine=machine)
    dtb = q.dump_dtb(args, os.path.join(q.work_dir(f"boot-{smp}-{memory}"), "qemu.dtb"))
    expected, cpu_count = expected_report(dtb, memory)
    if runs_partitions:
        run = q.boot_interactive(image, args, q.leave_linux_shell, timeout=240)
    else:
        run = q.boot(image, args, timeout=60)
    run.expect_exited_by_itself()
    run.expect(run.exit_code == 0, f"QEMU exit code {run.exit_code}")
    run.expect(cpu_count == smp, f"QEMU's DTB lists {cpu_count} CPUs for -smp {smp}")
    for line in expected:
        run.expect("bulkhead: " + line in run.lines, f"missing report line {line!r}")
    run.expect(len(run.facts("cpu")) == smp, f"expected exactly {smp} 'cpu ... online' lines")
    run.expect(len(run.facts("ram")) == 1, "expected exactly one ram line")
    run.expect_line("bulkhead: console 0x9000000 source stdout-path /pl011@9000000")
    run.expect_line("bulkhead: el 2")
    run.expect_line("bulkhead: psci method smc")
    run.expect_line("bulkhead: boot-complete")
    # The default partitions need 4 CPUs and 2 GiB; where they run, the machine powers
    # off when the last one does.
    end = "power-off reason all-partitions-off" if runs_partitions else "power-off reason done"
    run.expect(run.report[-1] == end, f"the report must end with {end!r}")
    # On a smaller machine the default partitions are refused with partition errors,
    # which is right; nothing else may fail.
    run.expect(not run.errors(include_partitions=False), f"unexpected error lines: {run.errors(False)}")
    return run


@scenario("smp1-1G")
def smp1(image):
    check_good_boot(image, 1, "1G")


@scenario("smp2-2G")
def smp2(image):
    check_good_boot(image, 2, "2G")


@scenario("smp4-2G")
def smp4(image):
    check_good_boot(image, 4, "2G", runs_partitions=True)


@scenario("smp4-3G-no-smmu")
def smp4_no_smmu(image):
    run = check_good_boot(image, 4, "3G", machine="virt,virtualization=on,gic-version=3", runs_partitions=True)
    run.expect(not run.facts("smmu-v3"), "no SMMU was configured, none may be reported")


def modified_dtb(name, args, edit):
    """Dumps QEMU's DTB for `args`, then applies `edit(path)`; returns the path."""
    path = q.dump_dtb(args, os.path.join(q.work_dir(name), "qemu.dtb"))
    edit(path)
    return path


def fdtput(*arguments):
    subprocess.run(["fdtput", *arguments], check=True)


def corrupt_property_name(path, node_prefix):
    """Points one property name of the first node starting with `node_prefix` outside
    the strings block: structural corruption that QEMU's own DTB handling does not read."""
    blob = bytearray(open(path, "rb").read())
    struct_offset, strings_offset = struct.unpack(">II", blob[8:16])
    strings_size, struct_size = struct.unpack(">II", blob[32:40])
    offset, depth, target_depth = struct_offset, 0, None
    while offset < struct_offset + struct_size:
        token = struct.unpack(">I", blob[offset:offset + 4])[0]
        offset += 4
        if token == 1:  # FDT_BEGIN_NODE
            end = blob.index(0, offset)
            name = blob[offset:end].decode()
            depth += 1
            if target_depth is None and depth == 2 and name.startswith(node_prefix):
                target_depth = depth
            offset = (end + 1 + 3) & ~3
        elif token == 2:  # FDT_END_NODE
            depth -= 1
        elif token == 3:  # FDT_PROP
            length, _ = struct.unpack(">II", blob[offset:offset + 8])
            if target_depth == depth:
                blob[offset + 4:offset + 8] = struct.pack(">I", strings_size + 0x1000)
                open(path, "wb").write(blob)
                return
            offset = (offset + 8 + length + 3) & ~3
        elif token == 9:
            break
    raise q.TestFailure(f"no node starting with {node_prefix} in {path}")


def boot_with_dtb(image, name, edit, smp=2, memory="1G", extra=(), timeout=60):
    args = q.machine_args(smp=smp, memory=memory, extra=extra)
    dtb = modified_dtb(name, args, edit)
    return q.boot(image, [*args, "-dtb", dtb], timeout=timeout)


@scenario("corrupt-dtb")
def corrupt_dtb(image):
    def edit(path):
        compact(path)
        corrupt_property_name(path, "pl031@")
    run = boot_with_dtb(image, "corrupt-dtb", edit)
    run.expect_exited_by_itself()
    run.expect_line("bulkhead: console 0x9000000 source board-default")
    run.expect_match(r"^bulkhead: error: firmware dtb at 0x[0-9a-f]+: .*corrupt")
    run.expect(run.report[-1] == "power-off reason firmware-dtb", "must end with power-off reason firmware-dtb")
    run.expect(not run.facts("cpu"), "no CPU may be reported from a corrupt DTB")


@scenario("missing-stdout-path")
def missing_stdout_path(image):
    run = boot_with_dtb(image, "missing-stdout-path", lambda p: fdtput("-d", p, "/chosen", "stdout-path"))
    run.expect_exited_by_itself()
    run.expect_line("bulkhead: console 0x9000000 source board-default")
    run.expect_line("bulkhead: cpu 1 mpidr 0x1 online")
    run.expect(run.report[-1] == "power-off reason done", "boot must complete on the board's UART")


def compact(path):
    """Rewrites a DTB without padding: QEMU doubles a -dtb blob's size plus 10000 bytes,
    and a 1 MiB dump would then exceed the 2 MiB a DTB may have (as on Linux)."""
    subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dtb", "-o", path, path], check=True)


def add_phantom_cpu(path):
    fdtput("-c", path, "/cpus/cpu@100")
    fdtput("-t", "s", path, "/cpus/cpu@100", "device_type", "cpu")
    fdtput("-t", "s", path, "/cpus/cpu@100", "compatible", "arm,cortex-a57")
    fdtput("-t", "s", path, "/cpus/cpu@100", "enable-method", "psci")
    fdtput("-t", "x", path, "/cpus/cpu@100", "reg", "100")


@scenario("cpu-fails-to-come-online")
def cpu_fails(image):
    run = boot_with_dtb(image, "cpu-fails", add_phantom_cpu)
    run.expect_exited_by_itself()
    # CPU indices follow /cpus in DT order; fdtput may have put the new node anywhere.
    dtb = os.path.join(q.work_dir("cpu-fails"), "qemu.dtb")
    order = [n for n in q.fdt_nodes(dtb, "/cpus") if n.startswith("cpu@")]
    index = {node: i for i, node in enumerate(order)}
    run.expect_line(f"bulkhead: error: cpu {index['cpu@100']} mpidr 0x100 (/cpus/cpu@100) failed to come online: "
                    "psci CPU_ON returned -2 (INVALID_PARAMETERS)")
    run.expect_line(f"bulkhead: cpu {index['cpu@0']} mpidr 0x0 online")
    run.expect_line(f"bulkhead: cpu {index['cpu@1']} mpidr 0x1 online")
    run.expect_line("bulkhead: cpus online 2 of 3")
    run.expect(run.report[-1] == "power-off reason cpu-bring-up", "must end with power-off reason cpu-bring-up")


@scenario("crash-report")
def crash_report(image):
    run = q.boot(image, q.machine_args(smp=2, memory="1G", extra=["-append", "bulkhead.selftest=crash"]))
    run.expect_exited_by_itself()
    run.expect_line("bulkhead: selftest crash")
    run.expect_line("bulkhead: error: cpu 0 crashed at EL2: sync-el2 data-abort-same-el")
    run.expect_match(r"^bulkhead: crash cpu 0 mpidr 0x0 vector sync-el2 class data-abort-same-el ec 0x25$")
    run.expect_match(r"^bulkhead: crash cpu 0 esr 0x9[67][0-9a-f]{6} far 0x0 elr 0x4020[0-9a-f]{4} spsr 0x[0-9a-f]+ sp 0x")
    run.expect_match(r"^bulkhead: crash cpu 0 x28 0x[0-9a-f]{16} x29 0x[0-9a-f]{16} x30 0x[0-9a-f]{16}$")
    run.expect(run.report[-1] == "power-off reason crash", "must end with power-off reason crash")


@scenario("hold")
def hold(image):
    run = q.boot(image, q.machine_args(smp=2, memory="1G", extra=["-append", "bulkhead.hold"]), timeout=30,
                 until="bulkhead: hold: bulkhead.hold set, machine stays up")
    run.expect(not run.timed_out, "the hold line never came")
    run.expect_line("bulkhead: bootargs \"bulkhead.hold\"")
    run.expect("power-off reason done" not in run.report, "bulkhead.hold must keep the machine up")


@scenario("entered-at-el1")
def entered_at_el1(image):
    run = q.boot(image, q.machine_args(smp=1, memory="1G", machine="virt,gic-version=3"), timeout=30)
    run.expect_exited_by_itself()
    run.expect_line("bulkhead: error: entered below EL2; the hypervisor needs EL2 (QEMU: -M virt,virtualization=on)")
    run.expect_line("bulkhead: power-off reason entry")



if __name__ == "__main__":
    sys.exit(scenario.main("--image"))
