#!/usr/bin/env python3
"""Properties of the linked hypervisor image, read from the ELF file itself:

- no undefined symbol (weak ones included): everything it calls is in it;
- no allocator: no malloc/free family, no operator new/delete, defined or referenced;
- no C++ exception or RTTI machinery: no __cxa_throw, personality routine, unwinder,
  typeinfo, and no unwind-table or exception-table section;
- no global constructor (.init_array/.ctors empty);
- no program segment that is both writable and executable.

Prints each verdict and the sizes of .text, .rodata (with the embedded package apart),
.data and .bss; writes the same to --table; ends with `PASS binary` or `FAIL binary: ...`.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf  # noqa: E402

ALLOCATION = re.compile(
    r"^(malloc|calloc|realloc|reallocarray|free|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|"
    r"sbrk|brk|mmap|munmap|__cxa_vec_new\w*|__cxa_vec_delete\w*|"
    r"_Znw\w*|_Zna\w*|_Zdl\w*|_Zda\w*)$")  # operator new, new[], delete, delete[] (every overload)
EXCEPTIONS = re.compile(
    r"^(__cxa_(throw|rethrow|allocate_exception|free_exception|begin_catch|end_catch|call_unexpected|"
    r"get_exception_ptr|current_exception_type|bad_cast|bad_typeid|throw_bad_array_new_length)|"
    r"__gxx_personality_\w+|_Unwind_\w+|__dynamic_cast|"
    r"_ZTI\w+|_ZTS\w+|_ZTVN10__cxxabiv1\w*|_ZTVSt9type_info)$")  # typeinfo, its name, its vtables
UNWIND_SECTIONS = (".eh_frame", ".eh_frame_hdr", ".gcc_except_table", ".ARM.exidx", ".ARM.extab")
CONSTRUCTOR_SECTIONS = (".init_array", ".ctors", ".preinit_array")


def flags_text(flags):
    return ("R" if flags & elf.PF_R else "-") + ("W" if flags & elf.PF_W else "-") + ("X" if flags & elf.PF_X else "-")


def check(image, package_symbols):
    results = []  # (what, verdict text, ok)
    named = [s for s in image.symbols if s.name]
    undefined = sorted({s.name for s in named if s.shndx == elf.SHN_UNDEF})
    results.append(("undefined symbols", ", ".join(undefined) or "none", not undefined))
    allocation = sorted({s.name for s in named if ALLOCATION.match(s.name)})
    results.append(("allocation symbols", ", ".join(allocation) or "none (malloc family, operator new/delete)",
                    not allocation))
    exceptions = sorted({s.name for s in named if EXCEPTIONS.match(s.name)})
    results.append(("exception/RTTI symbols", ", ".join(exceptions) or
                    "none (__cxa_throw, __gxx_personality_v0, _Unwind_*, typeinfo)", not exceptions))
    unwind = [f"{s.name} ({s.size} B)" for s in image.sections if s.name in UNWIND_SECTIONS and s.size]
    results.append(("unwind/exception tables", ", ".join(unwind) or "none", not unwind))
    constructors = [f"{s.name} ({s.size} B)" for s in image.sections if s.name in CONSTRUCTOR_SECTIONS and s.size]
    results.append(("global constructors", ", ".join(constructors) or "none", not constructors))
    loads = [p for p in image.segments if p.type == elf.PT_LOAD]
    wx = [p for p in loads if p.flags & elf.PF_W and p.flags & elf.PF_X]
    layout = ", ".join(f"{flags_text(p.flags)} at {p.vaddr:#x}" for p in loads)
    results.append(("writable+executable segments",
                    f"{len(wx)} of {len(loads)} LOAD segments ({layout})" if wx else f"none ({layout})", not wx))

    sizes = []
    for name in (".text", ".rodata", ".data", ".bss"):
        section = image.section(name)
        size = section.size if section else 0
        text = f"{name} {size} B"
        if name == ".rodata" and package_symbols:
            ends = [next((s.value for s in named if s.name == n), None) for n in package_symbols]
            if None not in ends:
                package = ends[1] - ends[0]
                text += f" (package {package} B, hypervisor {size - package} B)"
        sizes.append(text)
    return results, sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elf", required=True)
    parser.add_argument("--package-symbols", default="",
                        help="START,END symbols of the embedded package, reported apart from .rodata")
    parser.add_argument("--table", required=True)
    args = parser.parse_args()
    image = elf.Elf(args.elf)
    results, sizes = check(image, [s for s in args.package_symbols.split(",") if s])
    rows = [f"binary properties of {os.path.basename(args.elf)}"]
    rows += [f"  {what:<30} {'ok  ' if ok else 'FAIL'}  {text}" for what, text, ok in results]
    rows.append("  sizes: " + ", ".join(sizes))
    failed = [what for what, _, ok in results if not ok]
    text = "\n".join(rows)
    print(text)
    with open(args.table, "w") as f:
        f.write(text + "\n")
    if failed:
        print("FAIL binary: " + ", ".join(failed))
        return 1
    print("PASS binary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
