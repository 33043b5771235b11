#!/usr/bin/env python3
"""Writes a gzip'd newc cpio initramfs with busybox and our init, reproducibly (fixed
timestamps, no host ownership) and without root (device nodes are just cpio entries)."""
import argparse
import gzip
import os

APPLETS = ["sh", "mount", "cat", "echo", "grep", "awk", "poweroff", "sleep", "seq", "wc", "hwclock", "date",
           "nproc", "md5sum", "head", "dd", "ls", "sync", "uname", "setsid", "cttyhack", "reboot", "ps",
           "uptime", "free"]


def entry(name, mode, data=b"", rdev=(0, 0), nlink=1):
    header = "070701" + "".join(f"{v:08x}" for v in (
        0, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
    record = header.encode() + name.encode() + b"\0"
    record += b"\0" * (-len(record) % 4)
    record += data + b"\0" * (-len(data) % 4)
    return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--busybox", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--output", required=True)
    options = parser.parse_args()
    archive = b""
    for directory in ["bin", "dev", "proc", "sys", "tmp"]:
        archive += entry(directory, 0o040755, nlink=2)
    archive += entry("dev/console", 0o020600, rdev=(5, 1))
    archive += entry("bin/busybox", 0o100755, open(options.busybox, "rb").read())
    for applet in APPLETS:
        archive += entry(f"bin/{applet}", 0o120777, b"busybox")
    archive += entry("init", 0o100755, open(options.init, "rb").read())
    archive += entry("TRAILER!!!", 0)
    temporary = options.output + ".new"
    with open(temporary, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(archive)
    os.replace(temporary, options.output)


if __name__ == "__main__":
    main()
