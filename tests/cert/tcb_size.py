#!/usr/bin/env python3
"""Size of the trusted computing base: source lines of the code linked into the image.

Which code: the linker's map of the image (every object on the link line, and each archive
member the link pulled in), each object's source file, and the project headers it
included (its compiler dependency file). Counted with cloc (code lines: no blanks, no
comments), by folder. Debian's libfdt and libgcc are linked too; they are not our source,
so their members are listed with the bytes of code they bring.

Prints the table and writes it to --table.
"""
import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

MEMBER = re.compile(r"^(\S+)\((\S+)\)$")
# Folders reported one level deeper: they hold parts that differ in kind (target edges,
# portable logic, boot-time code).
SPLIT = ("core", "partitions")


def linked_inputs(map_path):
    """(objects of our build, {archive: [members]}) from a GNU ld map file."""
    objects, members = [], collections.defaultdict(list)
    with open(map_path) as f:
        for line in f:
            line = line.rstrip("\n")
            member = MEMBER.match(line)
            if member and not line.startswith(" "):
                members[member.group(1)].append(member.group(2))
            elif line.startswith("LOAD ") and line.endswith(".obj"):
                objects.append(line[5:])
    return objects, members


def source_of(build, object_path):
    """CMakeFiles/TARGET.dir/REL.obj -> (REL, the object's depfile)."""
    match = re.match(r"CMakeFiles/[^/]+\.dir/(.+)\.obj$", object_path)
    if not match:
        sys.exit(f"tcb: unexpected object path in the map: {object_path}")
    return match.group(1), os.path.join(build, object_path) + ".d"


def headers(depfile, source_root):
    with open(depfile) as f:
        words = f.read().replace("\\\n", " ").split()
    root = source_root.rstrip("/") + "/"
    return {os.path.relpath(w, root) for w in words[1:]
            if w.startswith(root) and "/.cache/" not in w and not w.startswith(os.path.join(root, "build"))}


def folder_of(path):
    parts = path.split("/")
    if parts[0] in SPLIT and len(parts) > 2:
        return "/".join(parts[:2]) + "/"
    return parts[0] + "/"


def count(files, source_root, cloc):
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(os.path.join(source_root, f) for f in sorted(files)) + "\n")
        listing.flush()
        # cloc knows no linker-script language: its comments are C's.
        command = [cloc, "--quiet", "--by-file", "--json", "--force-lang=C,ld", f"--list-file={listing.name}"]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    lines = {}
    for name, entry in data.items():
        if name in ("header", "SUM"):
            continue
        lines[os.path.relpath(name, source_root)] = entry["code"]
    return lines


def external_code(map_path, archives):
    """Bytes of .text each external archive brings, from the map's section lines."""
    sizes = collections.Counter()
    pattern = re.compile(r"^\s*\.text\S*\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)\((\S+)\)$")
    pending = None
    with open(map_path) as f:
        for line in f:
            match = pattern.match(line)
            if not match and pending and re.match(r"^\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+\S+\(\S+\)$", line):
                match = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)\((\S+)\)$", line)
            pending = re.match(r"^\s*\.text\S*$", line.rstrip()) is not None
            if match and os.path.basename(match.group(2)) in archives:
                sizes[os.path.basename(match.group(2))] += int(match.group(1), 16)
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True, help="the image build directory")
    parser.add_argument("--map", required=True, help="the linker map of the image")
    parser.add_argument("--linker-script", required=True)
    parser.add_argument("--cloc", default="cloc")
    parser.add_argument("--table", required=True)
    parser.add_argument("--quiet", action="store_true", help="only write the table")
    args = parser.parse_args()
    source_root = os.path.abspath(args.source)

    objects, members = linked_inputs(args.map)
    portable = {os.path.basename(p): p for p in glob.glob(
        os.path.join(args.build, "CMakeFiles", "bulkhead_portable.dir", "**", "*.obj"), recursive=True)}
    for archive, names in members.items():
        if os.path.basename(archive) == "libbulkhead_portable.a":
            objects += [os.path.relpath(portable[n], args.build) for n in names]
    files = {os.path.relpath(os.path.abspath(args.linker_script), source_root)}
    for obj in objects:
        source, depfile = source_of(args.build, obj)
        files.add(source)
        if os.path.exists(depfile):
            files |= headers(depfile, source_root)
    lines = count(files, source_root, args.cloc)
    missing = sorted(files - set(lines))
    if missing:
        sys.exit(f"tcb: cloc did not count {', '.join(missing)}")

    by_folder = collections.defaultdict(lambda: [0, 0])
    for path, code in lines.items():
        by_folder[folder_of(path)][0] += 1
        by_folder[folder_of(path)][1] += code
    total = sum(code for _, code in by_folder.values())
    rows = ["tcb: source lines linked into the image (cloc code lines of the linked objects' sources and "
            "the project headers they include)",
            f"  {'folder':<22} {'files':>5} {'SLOC':>7}"]
    for folder in sorted(by_folder):
        n, code = by_folder[folder]
        rows.append(f"  {folder:<22} {n:>5} {code:>7}")
    rows.append(f"  {'total':<22} {len(lines):>5} {total:>7}")
    external = {os.path.basename(a): sorted(set(m)) for a, m in members.items()
                if os.path.basename(a) != "libbulkhead_portable.a"}
    sizes = external_code(args.map, set(external))
    for archive, names in sorted(external.items()):
        rows.append(f"  also linked, not counted: {archive} ({len(names)} members, {sizes[archive]} B of code: "
                    f"{', '.join(n.rsplit('.', 1)[0] for n in names)})")
    text = "\n".join(rows)
    if not args.quiet:
        print(text)
    with open(args.table, "w") as f:
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
