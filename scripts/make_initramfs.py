#!/usr/bin/env python3
"""Writes a gzip'd newc cpio initramfs with busybox, our init (and helper scripts,
`--file`) and the kernel modules it loads, reproducibly (fixed timestamps, no host ownership) and without root (device nodes
are just cpio entries).

Modules (`--module NAME`, found under `--modules-dir`, the package's lib/modules/VERSION)
come with their dependencies, read from each module's `.modinfo` `depends=` (the kernel
package has no modules.dep: depmod makes it at install time). They go to /lib/modules,
and /lib/modules/load-order lists them dependencies first, for init's insmod."""
import argparse
import gzip
import os
import struct

APPLETS = ["sh", "mount", "cat", "echo", "grep", "awk", "poweroff", "sleep", "seq", "wc", "hwclock", "date",
           "nproc", "md5sum", "head", "dd", "ls", "sync", "uname", "setsid", "cttyhack", "reboot", "ps",
           "uptime", "free", "insmod", "dmesg", "readlink", "basename", "yes", "udhcpc", "ifconfig", "route"]


def entry(name, mode, data=b"", rdev=(0, 0), nlink=1):
    header = "070701" + "".join(f"{v:08x}" for v in (
        0, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0))
    record = header.encode() + name.encode() + b"\0"
    record += b"\0" * (-len(record) % 4)
    record += data + b"\0" * (-len(data) % 4)
    return record


def modinfo(path):
    """The `key=value` strings of an ELF64 little-endian module's .modinfo section."""
    data = open(path, "rb").read()
    if data[:6] != b"\x7fELF\x02\x01":
        raise SystemExit(f"make_initramfs: {path}: not a 64-bit little-endian ELF module")
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3a)

    def section(index):  # (name offset, file offset, size)
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, section_offset + index * entry_size)
        return name, offset, size

    _, names_offset, _ = section(names_index)
    for index in range(count):
        name, offset, size = section(index)
        if data[names_offset + name:data.index(b"\0", names_offset + name)] == b".modinfo":
            return [field.decode() for field in data[offset:offset + size].split(b"\0") if field]
    raise SystemExit(f"make_initramfs: {path}: no .modinfo section")


def resolve_modules(modules_dir, names):
    """[(name, path)] of `names` and their dependencies, each after what it depends on."""
    index = {}
    for directory, _, files in os.walk(os.path.join(modules_dir, "kernel")):
        for file in files:
            if file.endswith(".ko"):
                index[file[:-3].replace("-", "_")] = os.path.join(directory, file)
    ordered, visiting = [], set()

    def visit(name, wanted_by):
        key = name.replace("-", "_")
        if key not in index:
            raise SystemExit(f"make_initramfs: module {name} (wanted by {wanted_by}) is not in {modules_dir}")
        if any(key == done for done, _ in ordered):
            return
        if key in visiting:
            raise SystemExit(f"make_initramfs: module {name} depends on itself through {wanted_by}")
        visiting.add(key)
        for field in modinfo(index[key]):
            if field.startswith("depends="):
                for dependency in filter(None, field[len("depends="):].split(",")):
                    visit(dependency, name)
        ordered.append((key, index[key]))

    for name in names:
        visit(name, "the command line")
    return ordered


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--busybox", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--file", action="append", default=[], metavar="PATH=SOURCE",
                        help="an executable file at /PATH, read from SOURCE (repeatable)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--modules-dir", help="the kernel package's lib/modules/VERSION")
    parser.add_argument("--module", action="append", default=[], help="a module to load at boot (repeatable)")
    options = parser.parse_args()
    if options.module and not options.modules_dir:
        parser.error("--module needs --modules-dir")
    modules = resolve_modules(options.modules_dir, options.module) if options.module else []
    archive = b""
    for directory in ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"]:
        archive += entry(directory, 0o040755, nlink=2)
    for name, path in modules:
        archive += entry(f"lib/modules/{name}.ko", 0o100644, open(path, "rb").read())
    archive += entry("lib/modules/load-order", 0o100644, "".join(f"{name}\n" for name, _ in modules).encode())
    archive += entry("dev/console", 0o020600, rdev=(5, 1))
    archive += entry("bin/busybox", 0o100755, open(options.busybox, "rb").read())
    for applet in APPLETS:
        archive += entry(f"bin/{applet}", 0o120777, b"busybox")
    archive += entry("init", 0o100755, open(options.init, "rb").read())
    for mapping in options.file:
        path, separator, source = mapping.partition("=")
        if not separator or not path or path.startswith("/"):
            parser.error(f"--file {mapping!r}: expected PATH=SOURCE with PATH relative to / (e.g. bin/x=x)")
        archive += entry(path, 0o100755, open(source, "rb").read())
    archive += entry("TRAILER!!!", 0)
    temporary = options.output + ".new"
    with open(temporary, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(archive)
    os.replace(temporary, options.output)


if __name__ == "__main__":
    main()
