"""What stack_check.py reads: the image's functions, their instructions and the calls
between them; what GCC wrote beside each object (frames, indirect calls); the DWARF's
virtual methods and array bounds. Standard library and binutils only."""
import collections
import glob
import os
import re
import subprocess

import elf

BRANCHES = {"b", "bl", "cbz", "cbnz", "tbz", "tbnz"}
TERMINATORS = {"b", "br", "ret", "eret"}


class Failure(Exception):
    pass


# ----------------------------------------------------------------------------------------
# Names

def demangle(names, cxxfilt):
    names = list(names)
    if not names:
        return {}
    out = subprocess.run([cxxfilt], input="\n".join(names), capture_output=True, text=True, check=True)
    return dict(zip(names, out.stdout.splitlines()))


def strip_parameters(demangled):
    """`ns::f(int) const` -> `ns::f`; template arguments and `operator()` survive."""
    depth = 0
    for i, char in enumerate(demangled):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif (char == "(" and depth == 0 and i > 0 and not demangled[:i].endswith("operator")
              and not demangled.startswith("(anonymous namespace)", i)):
            return demangled[:i]
    return demangled


def method_signature(demangled):
    """`ns::C::write(char const*, unsigned long)` -> `write(char const*, unsigned long)`."""
    for prefix in ("non-virtual thunk to ", "virtual thunk to "):
        if demangled.startswith(prefix):
            demangled = demangled[len(prefix):]
    qualified = strip_parameters(demangled)
    depth, last = 0, 0
    for i, char in enumerate(qualified):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif depth == 0 and qualified.startswith("::", i):
            last = i + 2
    return demangled[last:]


def short(name, keep=2):
    """The last `keep` components of a demangled name without parameters, for tables."""
    parts = [p for p in strip_parameters(name).replace("(anonymous namespace)::", "").split("::") if p]
    return "::".join(parts[-keep:]) if parts else name


# ----------------------------------------------------------------------------------------
# The image: functions and their instructions

class Function:
    def __init__(self, start, symbol, name, demangled, local_file, notype):
        self.start, self.end = start, start
        self.symbol, self.name, self.demangled = symbol, name, demangled
        self.local_file = local_file   # translation unit basename of a local symbol
        self.notype = notype           # an assembly label rather than a typed function
        self.instructions = []         # (address, mnemonic, operands)
        self.calls = set()             # start addresses
        self.indirect_sites = 0        # blr/br
        self.asm_frame = 0             # the sum of its stack-pointer decrements
        self.frame = None
        self.frame_source = None
        self.switches_stack = False
        self.dynamic = False
        self.compiler = None           # the .su/.ci/.optimized facts, if GCC compiled it
        self.falls_through = False

    def label(self):
        return self.demangled


def load_functions(image, cxxfilt, entry_locations):
    text_sections = {i for i, s in enumerate(image.sections) if s.flags & elf.SHF_EXECINSTR}
    candidates = [s for s in image.symbols
                  if s.shndx in text_sections and s.type in (elf.STT_FUNC, elf.STT_NOTYPE)
                  and not s.name.startswith("$") and s.name]
    names = demangle({s.name for s in candidates}, cxxfilt)

    def rank(symbol):
        return (symbol.type == elf.STT_FUNC, symbol.bind != elf.STB_LOCAL)

    by_address = {}
    for symbol in candidates:
        best = by_address.get(symbol.value)
        if best is None or rank(symbol) > rank(best):
            by_address[symbol.value] = symbol
    functions = {}
    for address, symbol in by_address.items():
        functions[address] = Function(address, symbol, symbol.name, names[symbol.name],
                                      symbol.file, symbol.type == elf.STT_NOTYPE)
    # Entry points inside a symbol (one vector of a table) split it.
    for location, address in entry_locations.items():
        if address not in functions:
            functions[address] = Function(address, None, location, location, None, True)
    starts = sorted(functions)
    sized = {s.value: s.value + s.size for s in candidates if s.type == elf.STT_FUNC and s.size}
    section_end = {}
    for i in text_sections:
        s = image.sections[i]
        section_end[i] = s.addr + s.size
    for i, start in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else max(section_end.values())
        functions[start].end = min(sized.get(start, limit), limit)
    return functions


INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\t(\S+)(?:\t(.*))?$")
TARGET = re.compile(r"\b([0-9a-f]+) <")
IMMEDIATE = re.compile(r"#(-?(?:0x[0-9a-f]+|\d+))")


def disassemble(path, objdump, functions):
    starts = sorted(functions)
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", path], capture_output=True, text=True,
                         check=True).stdout
    index = 0
    for line in out.splitlines():
        match = INSTRUCTION.match(line)
        if not match or match.group(2).startswith("."):
            continue
        address = int(match.group(1), 16)
        while index + 1 < len(starts) and starts[index + 1] <= address:
            index += 1
        function = functions[starts[index]]
        if function.start <= address < function.end:
            function.instructions.append((address, match.group(2), match.group(3) or ""))


def function_at(functions, starts, address):
    lo, hi = 0, len(starts) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if starts[mid] <= address:
            lo = mid + 1
        else:
            hi = mid - 1
    if hi < 0:
        return None
    f = functions[starts[hi]]
    return f if f.start <= address < f.end else None


def analyse_instructions(functions):
    """Direct calls, indirect sites, stack-pointer changes and fall-through of each function."""
    starts = sorted(functions)
    for f in functions.values():
        frame = 0
        targets_inside = set()
        for address, mnemonic, operands in f.instructions:
            base = mnemonic.split(".")[0]
            if base in BRANCHES:
                match = TARGET.search(operands)
                if not match:
                    continue
                target = int(match.group(1), 16)
                if f.start <= target < f.end and mnemonic != "bl":
                    targets_inside.add(target)
                    continue
                callee = function_at(functions, starts, target)
                if callee is not None and mnemonic != "bl" and target != callee.start:
                    # A branch into the middle of another function is not a call: it is a
                    # linker veneer (e.g. e843419@..., Cortex-A53 erratum 843419) going back
                    # into the function that branched to it, whose frame is already counted.
                    continue
                if callee is not None:
                    f.calls.add(callee.start)
            elif mnemonic in ("blr", "br", "blraa", "braa"):
                f.indirect_sites += 1
            if operands.startswith("sp, ") or operands.startswith("sp,"):
                if mnemonic == "sub" and operands.startswith("sp, sp, #"):
                    value = int(IMMEDIATE.search(operands).group(1), 0)
                    frame += value << 12 if "lsl #12" in operands else value
                elif mnemonic == "sub" and operands.startswith("sp, sp, "):
                    f.dynamic = True
                elif mnemonic in ("mov", "add", "sub") and not operands.startswith(("sp, sp", "sp, x29")):
                    # From the frame pointer: an epilogue giving back its own frame.
                    # From anything else: a new stack.
                    f.switches_stack = True
            if operands.endswith("]!") and "[sp, #-" in operands:
                frame += int(operands.rsplit("#-", 1)[1].rstrip("]!"), 0)
        f.asm_frame = frame
        # Does control run off the end into the next symbol (assembly labels only)?
        reachable = True
        last_reachable_terminates = True
        for address, mnemonic, _ in f.instructions:
            if address in targets_inside:
                reachable = True
            if reachable:
                last_reachable_terminates = mnemonic in TERMINATORS or mnemonic == "udf"
                if mnemonic in TERMINATORS:
                    reachable = False
        f.falls_through = f.notype and bool(f.instructions) and not last_reachable_terminates
    for f in functions.values():
        if f.falls_through:
            nxt = function_at(functions, starts, f.end)
            if nxt is not None:
                f.calls.add(nxt.start)


# ----------------------------------------------------------------------------------------
# What GCC wrote beside the objects

class CompilerFacts:
    def __init__(self):
        self.frame = None
        self.qualifier = None
        self.indirect_edges = 0
        self.virtual_calls = set()     # (class, vtable index)
        self.pointer_calls = 0


CI_NODE = re.compile(r'^node: \{ title: "([^"]*)" label: "([^"]*)"')
CI_EDGE = re.compile(r'^edge: \{ sourcename: "([^"]*)" targetname: "__indirect_call"')
DUMP_HEADER = re.compile(r"^;; Function .* \((\S+), funcdef_no=")
VIRTUAL_CALL = re.compile(r"OBJ_TYPE_REF\(.*?;\((?:const )?(?:struct|class|union) ([^)]+)\).*?->(\d+)B?\)")
CALL = re.compile(r"^\s+(?:[\w.]+(?:\(D\))? = )?([\w.]+)(\(D\))? \(")


def key_of(title):
    """A .ci title or ELF symbol as (translation unit basename or None, assembler name)."""
    if ":" in title and "/" in title.split(":", 1)[0]:
        path, name = title.split(":", 1)
        return os.path.basename(path), name
    return None, title


def read_stack_usage(path):
    """A .su file: `FILE:LINE:COLUMN:NAME<tab>BYTES<tab>QUALIFIER` per function."""
    records = {}
    with open(path) as f:
        for line in f:
            where_name, size, qualifier = line.rstrip("\n").rsplit("\t", 2)
            records[where_name] = (int(size), qualifier)
    return records


def read_compiler_facts(build_dir):
    """Facts per (translation unit or None, assembler name), from each object's .ci file
    (functions, indirect calls), its .su file (frames) and its GIMPLE dump (what each
    indirect call is)."""
    facts = collections.defaultdict(CompilerFacts)
    call_graphs = glob.glob(os.path.join(build_dir, "**", "*.ci"), recursive=True)
    if not call_graphs:
        raise Failure(f"no .ci files under {build_dir}: is the image built with -fcallgraph-info and "
                      "-fstack-usage (cmake/image.cmake)?")
    for path in call_graphs:
        # The same function may differ between translation units (what got inlined): the
        # frames come from the .su file of the same object.
        usage = read_stack_usage(path[:-len(".ci")] + ".su")
        with open(path) as f:
            for line in f:
                node = CI_NODE.match(line)
                if node:
                    label = node.group(2).split("\\n")
                    if len(label) < 3:
                        continue
                    name, where = label[0], label[1]
                    record = usage.get(f"{where}:{name}")
                    if record is None:
                        raise Failure(f"{path}: no -fstack-usage record for {name} at {where}")
                    fact = facts[key_of(node.group(1))]
                    fact.frame = max(fact.frame or 0, record[0])
                    fact.qualifier = record[1]
                    continue
                edge = CI_EDGE.match(line)
                if edge:
                    facts[key_of(edge.group(1))].indirect_edges += 1
    for path in glob.glob(os.path.join(build_dir, "**", "*.optimized"), recursive=True):
        unit = os.path.basename(path).split(".cpp.")[0] + ".cpp"
        read_dump(path, unit, facts)
    return facts


def read_dump(path, unit, facts):
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        header = DUMP_HEADER.match(lines[i])
        if not header:
            i += 1
            continue
        name = header.group(1)
        body_end = i + 1
        while body_end < len(lines) and not DUMP_HEADER.match(lines[body_end]):
            body_end += 1
        body = lines[i + 1:body_end]
        # The declarations of the function's locals and SSA names come first; a call
        # through one of them, or through a parameter, is a call through a pointer.
        declared = set()
        parameters = set()
        for j, text in enumerate(body):
            if text == "{" and j > 0:
                signature = body[j - 1]
                inside = signature[signature.find("(") + 1:signature.rfind(")")]
                parameters = {p.strip().split(" ")[-1].lstrip("*&") for p in inside.split(",") if p.strip()}
                for decl in body[j + 1:]:
                    if not decl.strip() or decl.lstrip().startswith("<bb"):
                        break
                    declared.add(decl.rstrip(";").split(" ")[-1])
                break
        virtual_calls, pointer_calls = set(), 0
        for text in body:
            virtual = VIRTUAL_CALL.search(text)
            if virtual:
                virtual_calls.add((virtual.group(1).strip(), int(virtual.group(2))))
                continue
            call = CALL.match(text)
            if call:
                callee, default = call.group(1), call.group(2)
                base = callee.rsplit("_", 1)[0] if re.search(r"_\d+$", callee) else None
                if callee in declared or (default and base in parameters):
                    pointer_calls += 1
        for key in ((unit, name), (None, name)):
            fact = facts.get(key)
            if fact is not None:
                fact.virtual_calls |= virtual_calls
                fact.pointer_calls += pointer_calls
        i = body_end


# ----------------------------------------------------------------------------------------
# DWARF: virtual methods by class and vtable slot, bases, array bounds

DIE = re.compile(r"^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: (\d+)(?: \((DW_TAG_\w+)\))?")
ATTRIBUTE = re.compile(r"^\s*<[0-9a-f]+>\s+(DW_AT_\w+)\s*:\s*(.*)$")


class Dwarf:
    def __init__(self, path, readelf):
        out = subprocess.run([readelf, "--debug-dump=info", path], capture_output=True, text=True,
                             check=True).stdout
        self.dies = {}
        parents = {}
        current = None
        for line in out.splitlines():
            die = DIE.match(line)
            if die:
                depth, offset, abbrev, tag = int(die.group(1)), int(die.group(2), 16), die.group(3), die.group(4)
                if abbrev == "0":
                    current = None
                    continue
                parent = parents.get(depth - 1)
                current = {"tag": tag, "parent": parent, "children": []}
                self.dies[offset] = current
                if parent is not None:
                    self.dies[parent]["children"].append(offset)
                parents[depth] = offset
                continue
            attribute = ATTRIBUTE.match(line)
            if attribute and current is not None:
                current[attribute.group(1)] = attribute.group(2).strip()

    @staticmethod
    def text(value):
        return value.rsplit("): ", 1)[1] if value.startswith("(") else value

    @staticmethod
    def reference(value):
        match = re.match(r"<0x([0-9a-f]+)>", value)
        return int(match.group(1), 16) if match else None

    def classes_named(self, name):
        return [o for o, d in self.dies.items() if d["tag"] in ("DW_TAG_structure_type", "DW_TAG_class_type")
                and self.text(d.get("DW_AT_name", "")) == name]

    def virtual_method(self, class_offset, index, seen=None):
        """Linkage names of the method in slot `index` of a class, searching its bases."""
        seen = seen or set()
        if class_offset in seen:
            return set()
        seen.add(class_offset)
        found = set()
        die = self.dies[class_offset]
        for child in die["children"]:
            c = self.dies[child]
            slot = c.get("DW_AT_vtable_elem_location", "")
            match = re.search(r"DW_OP_constu: (\d+)", slot)
            if c["tag"] == "DW_TAG_subprogram" and match and int(match.group(1)) == index:
                if "DW_AT_linkage_name" in c:
                    found.add(self.text(c["DW_AT_linkage_name"]))
        if not found:
            for child in die["children"]:
                c = self.dies[child]
                if c["tag"] == "DW_TAG_inheritance":
                    base = self.reference(c.get("DW_AT_type", ""))
                    if base is not None and base in self.dies:
                        found |= self.virtual_method(base, index, seen)
        return found

    def first_dimension(self, variable_name):
        for d in self.dies.values():
            if d["tag"] != "DW_TAG_variable" or self.text(d.get("DW_AT_name", "")) != variable_name:
                continue
            array = self.dies.get(self.reference(d.get("DW_AT_type", "")))
            if array is None or array["tag"] != "DW_TAG_array_type":
                continue
            for child in array["children"]:
                c = self.dies[child]
                if c["tag"] == "DW_TAG_subrange_type":
                    if "DW_AT_count" in c:
                        return int(c["DW_AT_count"], 0)
                    if "DW_AT_upper_bound" in c:
                        return int(c["DW_AT_upper_bound"], 0) + 1
        return None


