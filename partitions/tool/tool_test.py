#!/usr/bin/env python3
"""End-to-end tests of bulkhead-config (run by CTest, see CMakeLists.txt).

Compiles a description and the board with dtc, creates dummy payload files, runs the
tool and judges its exit status and output. Modes:
  check    --check must exit 0 silently
  package  --package must exit 0, and the package is verified here independently
           (zlib CRC-32, layout, entries equal to the payload files)
  summary  --summary must print exactly the --expect-stdout file
  expect   the description's own comments say what must happen:
             // expect-exit: N
             // expect-stderr: LINE          (every line, in order; FILE is the .dts name)
             // payload-omit: NAME           (do not create this payload file)
             // payload-size: NAME SIZE      (create it sparse, SIZE bytes)
             // tool-args: ARG...            (instead of --check; run in the work directory)
             // expect-no-file: NAME         (the tool must not have written it)
  io       usage and I/O errors must exit 2 naming the culprit
  payloads only create the dummy payload files in --work
  built-package  build the CMake target config_example_package (bulkhead_package())
           in --build-dir, then verify --package against --payload-dir
Prints PASS or FAIL lines; the exit status is what CTest judges.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import zlib

PAYLOADS = ("linux-Image", "initramfs.cpio.gz", "heartbeat.bin", "probe.bin")
LINUX_IMAGE_SIZE = 0x10000          # file bytes
LINUX_EFFECTIVE_SIZE = 0x1400000    # image_size in the header (20 MiB, BSS included)


def fake_linux_image(size):
    """An arm64 Image header (booting.rst): text_offset 0, image_size, magic ARM\\x64."""
    header = struct.pack("<IIQQQQQQII", 0x14000010, 0, 0, LINUX_EFFECTIVE_SIZE, 0xA, 0, 0, 0, 0x644D5241, 0)
    body = bytes((i * 7 + 1) & 0xFF for i in range(size - len(header)))
    return header + body


def pattern(size, seed):
    return bytes((i * 13 + seed) & 0xFF for i in range(size))


def make_payloads(directory, omit=(), sizes=None):
    sizes = sizes or {}
    contents = {
        "linux-Image": fake_linux_image(LINUX_IMAGE_SIZE),
        "initramfs.cpio.gz": b"\x1f\x8b" + pattern(0x2000 - 2, 5),
        "heartbeat.bin": pattern(0x1000, 9),
        "probe.bin": pattern(0x2000, 11),
    }
    os.makedirs(directory, exist_ok=True)
    for name, data in contents.items():
        path = os.path.join(directory, name)
        if os.path.exists(path):
            os.remove(path)
        if name in omit:
            continue
        with open(path, "wb") as out:
            out.write(data)
            if name in sizes:
                out.truncate(sizes[name])


def dtc(args, source, output):
    result = subprocess.run([args.dtc, "-q", "-I", "dts", "-O", "dtb", "-o", output, source],
                            capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"dtc {source}: {result.stderr.strip()}")


def fail(message):
    print(f"FAIL {message}")
    sys.exit(1)


def run_tool(args, tool_args):
    command = [args.tool] + tool_args
    print("+ " + " ".join(command))
    return subprocess.run(command, capture_output=True, text=True, cwd=args.work)


def directives(path):
    found = {"exit": None, "stderr": [], "omit": [], "sizes": {}, "args": None, "no_file": []}
    with open(path) as source:
        for line in source:
            line = line.strip()
            if not line.startswith("// "):
                continue
            key, _, value = line[3:].partition(": ")
            if key == "expect-exit":
                found["exit"] = int(value)
            elif key == "expect-stderr":
                found["stderr"].append(value)
            elif key == "payload-omit":
                found["omit"].append(value)
            elif key == "payload-size":
                name, size = value.split()
                found["sizes"][name] = int(size, 0)
            elif key == "tool-args":
                found["args"] = value.split()
            elif key == "expect-no-file":
                found["no_file"].append(value)
    return found


def verify_package(path, payload_dir, config_dtb_dir):
    with open(path, "rb") as package:
        data = package.read()
    magic, version, count, total, header_crc = struct.unpack_from("<8sIIII", data, 0)
    if magic != b"BHPKG\0\0\1" or version != 1:
        fail(f"package magic/version {magic!r} {version}")
    if total != len(data):
        fail(f"total_size {total} != file size {len(data)}")
    table_end = 24 + 32 * count
    computed = zlib.crc32(data[:20] + b"\0\0\0\0" + data[24:table_end])
    if computed != header_crc:
        fail(f"header crc {computed:#x} != {header_crc:#x}")
    entries = [struct.unpack_from("<IIQQII", data, 24 + 32 * i) for i in range(count)]
    previous_end = table_end
    for index, (kind, partition, offset, size, crc, reserved) in enumerate(entries):
        if offset % 4096 or offset < previous_end or offset + size > total or reserved:
            fail(f"entry {index} layout: offset {offset:#x} size {size:#x}")
        if zlib.crc32(data[offset:offset + size]) != crc:
            fail(f"entry {index} crc")
        if data[previous_end:offset].strip(b"\0"):
            fail(f"entry {index}: padding before it is not zero")
        previous_end = offset + size
    kind, partition, offset, size, _, _ = entries[0]
    if kind != 1 or partition != 0xFFFFFFFF:
        fail("entry 0 is not the description")
    normalized = os.path.join(config_dtb_dir, "normalized.dtb")
    with open(normalized, "wb") as out:
        out.write(data[offset:offset + size])
    text = subprocess.run(["fdtget", "-t", "s", normalized, "/", "bulkhead,checked-by"],
                          capture_output=True, text=True).stdout.strip()
    if text != "bulkhead-config 1":
        fail(f"normalized description checked-by {text!r}")
    # Each payload entry equals the file its partition names.
    partitions = subprocess.run(["fdtget", "-l", normalized, "/partitions"],
                                capture_output=True, text=True).stdout.split()
    for name in partitions:
        node = f"/partitions/{name}/payload"
        for file_property, entry_property in (("file", "payload-entry"), ("initrd", "initrd-entry")):
            get = subprocess.run(["fdtget", "-t", "s", normalized, node, file_property], capture_output=True, text=True)
            if get.returncode != 0:
                continue
            entry = int(subprocess.run(["fdtget", "-t", "u", normalized, node, entry_property],
                                       capture_output=True, text=True).stdout)
            with open(os.path.join(payload_dir, get.stdout.strip()), "rb") as source:
                expected = source.read()
            _, _, offset, size, _, _ = entries[entry]
            if data[offset:offset + size] != expected:
                fail(f"{node}: entry {entry} differs from {get.stdout.strip()}")
    print(f"package verified: {count} entries, {total} bytes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--dtc", required=True)
    parser.add_argument("--board", required=True)
    parser.add_argument("--config")
    parser.add_argument("--work", required=True)
    parser.add_argument("--mode", required=True, choices=("check", "package", "summary", "expect", "io", "payloads", "built-package"))
    parser.add_argument("--expect-stdout")
    parser.add_argument("--build-dir")
    parser.add_argument("--package")
    parser.add_argument("--payload-dir")
    args = parser.parse_args()

    if args.mode == "payloads":
        make_payloads(args.work)
        return
    if args.mode == "built-package":
        os.makedirs(args.work, exist_ok=True)
        build = subprocess.run(["cmake", "--build", args.build_dir, "--target", "config_example_package"],
                               capture_output=True, text=True)
        print(build.stdout + build.stderr)
        if build.returncode != 0:
            fail("cmake --build --target config_example_package")
        verify_package(args.package, args.payload_dir, args.work)
        print("PASS built-package")
        return

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    board_dtb = os.path.join(args.work, "board.dtb")
    dtc(args, args.board, board_dtb)
    payload_dir = os.path.join(args.work, "payloads")
    config_dtb = os.path.join(args.work, "description.dtb")
    name = os.path.basename(args.config) if args.config else ""
    common = ["--board", board_dtb, "--payload-dir", payload_dir]
    if args.config:
        dtc(args, args.config, config_dtb)

    if args.mode == "expect":
        wanted = directives(args.config)
        make_payloads(payload_dir, wanted["omit"], wanted["sizes"])
        tool_args = wanted["args"] or ["--check"]
        result = run_tool(args, common + ["--source", name] + tool_args + [config_dtb])
        lines = result.stderr.splitlines()
        if result.returncode != wanted["exit"] or lines != wanted["stderr"]:
            print("expected exit", wanted["exit"], "stderr:", *wanted["stderr"], sep="\n  ")
            print("got exit", result.returncode, "stderr:", *lines, sep="\n  ")
            fail(name)
        for unwanted in wanted["no_file"]:
            if os.path.exists(os.path.join(args.work, unwanted)):
                fail(f"{name}: {unwanted} was written")
    elif args.mode == "io":
        make_payloads(payload_dir)
        missing = os.path.join(args.work, "missing.dtb")
        cases = [
            (common + ["--check", missing], f"cannot read description {missing}: No such file or directory"),
            (["--board", missing, "--check", board_dtb], f"cannot read board {missing}: No such file or directory"),
            (["--check", board_dtb], "--board is required"),
            (common + [board_dtb], "give --check, --summary or --package"),
            (common + ["--check", "--frobnicate", board_dtb], "unknown option --frobnicate"),
        ]
        for tool_args, message in cases:
            result = run_tool(args, tool_args)
            first = result.stderr.splitlines()[0] if result.stderr else ""
            if result.returncode != 2 or first != "bulkhead-config: " + message:
                fail(f"{tool_args}: exit {result.returncode}, stderr {result.stderr!r}")
        # What it prints is its result: a write that fails (a full disk) fails the tool.
        with open("/dev/full", "w") as full:
            result = subprocess.run([args.tool, "--help"], stdout=full, stderr=subprocess.PIPE, text=True)
        first = result.stderr.splitlines()[0] if result.stderr else ""
        if result.returncode != 2 or first != "bulkhead-config: cannot write to standard output: No space left on device":
            fail(f"--help > /dev/full: exit {result.returncode}, stderr {result.stderr!r}")
    else:
        make_payloads(payload_dir)
        if args.mode == "check":
            result = run_tool(args, common + ["--check", config_dtb])
            if result.returncode != 0 or result.stdout or result.stderr:
                fail(f"{name}: exit {result.returncode}\n{result.stdout}{result.stderr}")
        elif args.mode == "package":
            package = os.path.join(args.work, "package.bin")
            result = run_tool(args, common + ["--package", package, config_dtb])
            if result.returncode != 0 or result.stdout or result.stderr:
                fail(f"{name}: exit {result.returncode}\n{result.stdout}{result.stderr}")
            verify_package(package, payload_dir, args.work)
        else:
            result = run_tool(args, common + ["--summary", config_dtb])
            with open(args.expect_stdout) as golden:
                expected = golden.read()
            if result.returncode != 0 or result.stdout != expected or result.stderr:
                print(result.stderr)
                print("--- got\n" + result.stdout + "--- expected\n" + expected)
                fail(f"{name}: summary differs from {args.expect_stdout}")
    print(f"PASS {args.mode} {name}")


if __name__ == "__main__":
    main()
