#!/usr/bin/env python3
"""Deterministic benchmarks under QEMU -icount shift=0,sleep=off (one instruction = 1 ns
of virtual time; sleep=off keeps idle CPUs from warping virtual time to the host clock,
so counter-based timings repeat exactly). Prints one fixed-format line per figure:

  benchmark NAME key value key value ...

Usage: benchmarks.py --image build/bulkhead.img [--check-determinism]
"""
import argparse
import sys

import qemu_harness as q
from pci_tests import RICH_TOPOLOGY


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


BENCHMARKS = [pci_enumeration]


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
                    print(f"FAIL {benchmark.__name__}: not deterministic: {again}")
                    return 1
    except q.TestFailure as failure:
        print(f"FAIL: {failure}")
        return 1
    print("PASS benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
