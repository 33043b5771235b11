#!/usr/bin/env python3
"""Issue-13 proof, bare-metal half: MSI and MSI-X of passed-through functions reach the
probe guest (tests/guests/probe/test_msi.cpp) as the GICv3 message-based SPIs it chose,
through the physical ITS, and nothing else does.

`probe`: edu's MSI and e1000e's MSI-X vectors arrive as the probe's SPIs on the vCPUs it
routed them to, a masked vector is held and arrives on unmask, a vector aimed at the
peer's SPI is never sent, and edu's DMA to the ITS doorbell raises nothing
(QEMU gives such a write DeviceID 0, which no partition owns), and a DMA write to the
physical GICD_SETSPI_NSR is a DMA fault. The boot report shows
the ITS, each partition's MBI range and LPIs; the stop line counts each function's MSIs.

`restart`: the probe takes 50 of edu's MSIs (msi-bench) after every SYSTEM_RESET
(probe-msi-restart.dts): each stop reports and unbinds the vector, each boot binds it anew.

`no-its`: a firmware DT without an ITS (QEMU's, its ITS node and the PCIe msi-map removed:
with its=off QEMU gives no function an MSI capability at all, and refuses edu): the
partitions still boot, the report says why MSIs are off and which functions it concerns,
and the guest sees no MSI capability.

Usage: msi_tests.py --build-dir build SCENARIO
"""
import os
import re
import subprocess
import sys

import qemu_harness as q

TOPOLOGY = ["-device", "edu,addr=1,dma_mask=0xffffffffff", "-device", "e1000e,addr=2", "-device", "edu,addr=3"]
PROBE_OFF = "bulkhead: partition probe off"


def boot(build, extra=()):
    return q.boot(os.path.join(build, "probe-msi.img"), [*q.machine_args(extra=TOPOLOGY), *extra],
                  timeout=120, until=PROBE_OFF)


def probe_lines(run):
    return [line[len("[probe] "):] for line in run.lines if line.startswith("[probe] probe: ")]


scenario = q.Scenarios()


@scenario()
def probe(build):
    run = boot(build)
    failures = [line for line in probe_lines(run) if line.startswith("probe: FAIL ")]
    run.expect(not failures, "the probe reported failures:\n" + "\n".join(failures))
    for line in ["probe: PASS msi edu msi vector 0 spi 64 vcpu 0",
                 "probe: PASS msi e1000e msi-x vector 0 spi 65 vcpu 0",
                 "probe: PASS msi e1000e msi-x vector 1 (twice, after moving its spi) spi 66 vcpu 1",
                 "probe: PASS msi e1000e msi-x vector 0 masked: held pending, delivered once on unmask spi 65 vcpu 0",
                 "probe: PASS msi e1000e msi-x vector 2 aimed at a foreign spi: nothing raised, held pending; spi 96 vcpu 0",
                 "probe: PASS msi all vectors as the guest programmed them"]:
        run.expect_line("[probe] " + line)
    run.expect_match(r"^\[probe\] probe: done passed [0-9]+ failed 0$")
    run.expect_line("[probe] probe: PASS msi dma to the doorbell (events 0 1 2 0x100) and to the physical "
                    "GICD_SETSPI_NSR: nothing raised spi 96 vcpu 0")
    its = run.expect_match(r"^bulkhead: gic-v3-its /intc@8000000/its@8080000 devices ")[0]
    lpis = run.expect_match(r"^bulkhead: gic-v3-its-lpis /intc@8000000/its@8080000 cpus 4 of 4 translater 0x8090040 ")[0]
    # Vectors: edu's MSI (1), e1000e's MSI (1) and MSI-X (5); the peer's edu (1).
    run.expect_match(r"^bulkhead: partition probe msi-spis 32-63 vectors 7 lpis [0-9]+-[0-9]+ doorbell-iova 0x8090040$")
    run.expect_match(r"^bulkhead: partition peer msi-spis 64-95 vectors 1 lpis [0-9]+-[0-9]+ doorbell-iova 0x8090040$")
    run.expect_match(r"^bulkhead: smmu-v3-context probe extra-page iova 0x8090000 physical 0x8090000$")
    run.expect_match(r"^bulkhead: partition probe vpci 00:02\.0 msix vector 2 address 0x8000040 data 0x60: "
                     r"not one of its SPIs")
    run.expect_match(r"^bulkhead: partition probe dma-fault sbdf 0000:00:01\.0 iova 0x8000040 ")
    # edu: its raise; e1000e: vector 0, vector 1 twice, vector 0 on unmask.
    run.expect_line("bulkhead: partition probe msi delivered 00:01.0 1 00:02.0 4 dropped 0")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    print(its)
    print(lpis)


@scenario()
def restart(build):
    run = q.boot(os.path.join(build, "probe-msi-restart.img"), q.machine_args(extra=TOPOLOGY), timeout=180,
                 until="bulkhead: partition probe restart 3 system-reset")
    run.expect(not run.timed_out, "the probe did not restart 3 times")
    failures = [line for line in probe_lines(run) if line.startswith("probe: FAIL ")]
    run.expect(not failures, "the probe reported failures:\n" + "\n".join(failures))
    passes = run.lines.count("[probe] probe: PASS msi-bench means over 50 edu MSIs and 50 vtimer irqs")
    counts = [line for line in run.lines if line.startswith("bulkhead: partition probe msi delivered ")]
    run.expect(passes >= 3, f"the msi-bench test passed {passes} times")
    run.expect(counts[:3] == ["bulkhead: partition probe msi delivered 00:01.0 50 dropped 0"] * 3,
               f"delivered lines across restarts: {counts}")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")
    print(f"{passes} boots with every vector delivered")


@scenario("no-its")
def no_its(build):
    dtb = q.dump_dtb(q.machine_args(extra=TOPOLOGY), os.path.join(q.work_dir("msi-no-its"), "qemu.dtb"))
    subprocess.run(["fdtput", "-r", dtb, "/intc@8000000/its@8080000"], check=True)
    subprocess.run(["fdtput", "-d", dtb, "/pcie@10000000", "msi-map"], check=True)
    run = boot(build, extra=["-dtb", dtb])
    run.expect_line("bulkhead: gic-v3-its none: the firmware DT's GIC has no arm,gic-v3-its child; "
                    "PCI functions interrupt by INTx only")
    run.expect_line("bulkhead: partition probe msi off: no GICv3 ITS in service (the firmware DT's GIC has no "
                    "arm,gic-v3-its child); 00:01.0 msi 1 00:02.0 msi 1 msix 5 raise no interrupts (legacy-intx denied)")
    run.expect_match(r"^bulkhead: partition peer msi off: no GICv3 ITS in service ")
    run.expect(not [line for line in run.report if re.match(r"partition \S+ msi-spis ", line)],
               "a partition got message-based SPIs without an ITS")
    # The guest sees no MSI capability: the msi test stops at once, the others pass.
    run.expect_line("[probe] probe: FAIL msi edu shows no MSI capability")
    run.expect_match(r"^\[probe\] probe: done passed [0-9]+ failed 1$")
    run.expect(not run.errors(), f"unexpected error lines: {run.errors()}")


if __name__ == "__main__":
    sys.exit(scenario.main("--build-dir"))
