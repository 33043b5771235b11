#!/usr/bin/env python3
"""Worst-case stack depth of every entry point of the hypervisor image, against its stack.

Inputs:
- the linked image (ELF): its functions, the direct calls and branches between them
  (disassembled with objdump), its vtables and, from DWARF, the virtual methods of each
  class and the shape of per-CPU stack arrays;
- what GCC wrote beside each object of the image build (cmake/image.cmake): the frame of
  every C++ function (-fstack-usage, `.su`), the indirect calls it knows of
  (-fcallgraph-info, `.ci`) and, for each indirect call, whether it is virtual and of which
  class and vtable slot (-fdump-tree-optimized, `*.optimized`);
- stacks.txt: the stacks, the entry points, and the few facts the code cannot show.

A function's frame is its `.su` figure; code without one (assembly, Debian's libfdt)
gets the sum of every stack-pointer decrement in its instructions. The depth of a
function is its frame plus the deepest of its callees (a tail call counts as a call).
A virtual call reaches every function that any vtable of the image holds for that method
(same name and parameters); any other indirect call must be annotated in stacks.txt with
its targets. A cycle in the call graph fails unless stacks.txt bounds it; so do a frame
the compiler calls dynamic, a stack-pointer switch outside an entry point, and an
annotation that no longer matches anything. A call to an entry point that sets the stack
pointer (e.g. the first entry into a vCPU) costs its caller nothing: it starts afresh at
its stack's top and is counted as an entry point of its own.

Each stack's worst use must stay below its size less the margin: its deepest entry point,
plus the `nested` entry points (exceptions taken at EL2 on top of whatever runs) NESTING
levels deep, the deepest of them at the first level and, at the later ones, the deepest
without what the handler skips then (`then-except`). Prints the table, writes it to --table, and ends with `PASS stacks` or
`FAIL stacks: ...`.
"""
import argparse
import collections
import fnmatch
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf  # noqa: E402
from stack_inputs import (CompilerFacts, Dwarf, Failure, analyse_instructions, demangle,  # noqa: E402
                          disassemble, load_functions, method_signature, read_compiler_facts, short,
                          strip_parameters)

# ----------------------------------------------------------------------------------------
# stacks.txt

class Config:
    def __init__(self, path):
        self.path = path
        self.margin = None
        self.nesting = None
        self.renested_except = []                 # what a nested entry skips from the second level on
        self.stacks = collections.OrderedDict()   # name -> (rule, symbol pattern)
        self.entries = []                         # dicts: name, location, stacks, nested
        self.indirect = []                        # dicts: caller, targets, reason, used
        self.recursion = []                       # dicts: function, depth, reason, used
        errors = []
        with open(path) as f:
            for number, raw in enumerate(f, 1):
                where = f"{os.path.basename(path)}:{number}"
                text, _, reason = raw.partition("#")
                words = text.split()
                reason = reason.strip()
                if not words:
                    continue
                try:
                    self._line(words, reason, where)
                except (ValueError, IndexError) as error:
                    errors.append(f"{where}: {error or 'malformed line'}: {raw.strip()}")
        for missing in ("margin", "nesting"):
            if getattr(self, missing) is None:
                errors.append(f"{path}: no '{missing}' line")
        if errors:
            raise Failure("\n".join(errors))

    def _line(self, words, reason, where):
        kind = words[0]
        if kind == "margin":
            if not words[1].endswith("%"):
                raise ValueError("margin is a percentage")
            self.margin = float(words[1][:-1]) / 100
        elif kind == "nesting":
            self.nesting = int(words[1])
            if self.nesting < 1:
                raise ValueError("nesting is at least 1")
            if len(words) > 2:
                if words[2] != "then-except" or len(words) < 4:
                    raise ValueError("nesting N [then-except FUNCTION...]")
                self.renested_except = words[3:]
            self._need_reason(reason)
        elif kind == "stack":
            if words[2] not in ("gap-below", "per-cpu"):
                raise ValueError("a stack is 'gap-below SYMBOL' or 'per-cpu SYMBOL'")
            self.stacks[words[1]] = (words[2], words[3])
        elif kind == "entry":
            name, location, mode = words[1], words[2], words[3]
            rest = words[4:]
            excluded = []
            if "except" in rest:
                excluded = rest[rest.index("except") + 1:]
                rest = rest[:rest.index("except")]
                if not excluded:
                    raise ValueError("'except' needs the functions this entry never reaches")
                self._need_reason(reason)
            if mode == "nested":
                stacks = []
                if rest:
                    raise ValueError("a nested entry runs on every stack: no stacks after 'nested'")
            elif mode == "on":
                stacks = rest
                unknown = [s for s in stacks if s not in self.stacks]
                if not stacks or unknown:
                    raise ValueError(f"unknown stack(s) {unknown} (declare stacks first)")
            else:
                raise ValueError("an entry runs 'on STACK...' or is 'nested'")
            self.entries.append({"name": name, "location": location, "stacks": stacks,
                                 "nested": mode == "nested", "except": excluded, "where": where})
        elif kind == "indirect":
            if len(words) < 3:
                raise ValueError("indirect CALLER TARGET...")
            self._need_reason(reason)
            self.indirect.append({"caller": words[1], "targets": words[2:], "reason": reason,
                                  "where": where, "used": False})
        elif kind == "recursion":
            self._need_reason(reason)
            self.recursion.append({"function": words[1], "depth": int(words[2]), "reason": reason,
                                   "where": where, "used": False})
        else:
            raise ValueError(f"unknown keyword '{kind}'")

    @staticmethod
    def _need_reason(reason):
        if not reason:
            raise ValueError("say why, after a '#'")


# ----------------------------------------------------------------------------------------
# The analysis

def components(nodes, successors):
    """Tarjan's strongly connected components over `nodes` (iterative)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], {}
    counter = [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(successors(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                component = frozenset(members)
                for member in members:
                    result[member] = component
    return result


def ordered_components(component_of):
    """Each component once, in the order Tarjan's algorithm completed them (callees first)."""
    seen, order = set(), []
    for component in component_of.values():
        if component not in seen:
            seen.add(component)
            order.append(component)
    return order


def stack_usage_limit(build_dir):
    """The -Wstack-usage= limit the image's objects were compiled with, or 'no limit'."""
    path = os.path.join(build_dir, "compile_commands.json")
    with open(path) as f:
        limits = {m for entry in json.load(f) for m in re.findall(r"-Wstack-usage=(\d+)", entry["command"])}
    return f"{max(int(x) for x in limits)} B" if limits else "no limit"


class Analysis:
    def __init__(self, args):
        self.args = args
        self.errors = []
        self.notes = []
        self.config = Config(args.stacks)
        self.image = elf.Elf(args.elf)
        self.symbol_names = demangle({s.name for s in self.image.symbols if s.name}, args.cxxfilt)
        locations = {e["location"]: self.resolve_location(e["location"]) for e in self.config.entries}
        self.functions = load_functions(self.image, args.cxxfilt, locations)
        self.by_location = locations
        disassemble(args.elf, args.objdump, self.functions)
        analyse_instructions(self.functions)
        self.facts = read_compiler_facts(args.build)
        self.dwarf = Dwarf(args.elf, args.readelf)
        self.attach_frames()
        self.vtable_methods = self.read_vtables()
        self.resolve_indirect_calls()

    # -- names
    def resolve_location(self, location):
        symbol, _, offset = location.partition("+")
        matches = self.find_symbols(symbol, code=True)
        if len(matches) != 1:
            raise Failure(f"entry location {location}: {len(matches)} code symbols match '{symbol}'")
        return matches[0].value + (int(offset, 0) if offset else 0)

    def find_symbols(self, pattern, code):
        found = {}
        for s in self.image.symbols:
            if not s.name or s.name.startswith("$"):
                continue
            wanted = (elf.STT_FUNC, elf.STT_NOTYPE) if code else (elf.STT_OBJECT, elf.STT_NOTYPE)
            if s.type not in wanted:
                continue
            demangled = self.symbol_names.get(s.name, s.name)
            if fnmatch.fnmatchcase(s.name, pattern) or fnmatch.fnmatchcase(strip_parameters(demangled), pattern) \
                    or fnmatch.fnmatchcase(demangled, pattern):
                found[s.value] = s
        return list(found.values())

    def functions_matching(self, pattern):
        return [f for f in self.functions.values()
                if fnmatch.fnmatchcase(f.name, pattern) or fnmatch.fnmatchcase(f.demangled, pattern)
                or fnmatch.fnmatchcase(strip_parameters(f.demangled), pattern)]

    # -- frames
    def fact_for(self, f):
        """GCC's facts for a function: its own translation unit's for a local symbol, else
        those of every unit that emitted it (an inline function: the linker kept one copy)."""
        if f.symbol is None:
            return None
        if f.local_file and (f.local_file, f.name) in self.facts:
            return self.facts[(f.local_file, f.name)]
        copies = [fact for (_, name), fact in self.facts.items() if name == f.name and fact.frame is not None]
        if not copies:
            # GCC emits a constructor or destructor once, as the base object's (C2/D2), and
            # aliases the complete object's (C1/D1) to it: the ELF may name it either way.
            base = re.sub(r"([CD])1E", r"\g<1>2E", f.name)
            copies = [fact for (_, name), fact in self.facts.items() if name == base and fact.frame is not None]
        if not copies:
            return None
        merged = CompilerFacts()
        merged.frame = max(c.frame for c in copies)
        merged.qualifier = ",".join(sorted({c.qualifier for c in copies}))
        merged.indirect_edges = max(c.indirect_edges for c in copies)
        merged.pointer_calls = max(c.pointer_calls for c in copies)
        for c in copies:
            merged.virtual_calls |= c.virtual_calls
        return merged

    def attach_frames(self):
        for f in self.functions.values():
            fact = self.fact_for(f)
            if fact is not None and fact.frame is not None:
                f.compiler = fact
                f.frame, f.frame_source = fact.frame, "su"
                if fact.qualifier and "dynamic" in fact.qualifier and "bounded" not in fact.qualifier:
                    self.errors.append(f"{f.label()}: frame is dynamic (alloca or a variable-length array): "
                                       "no bound")
            else:
                f.frame, f.frame_source = f.asm_frame, "instructions"
                if f.dynamic:
                    self.errors.append(f"{f.label()}: moves the stack pointer by a register: no bound")

    # -- indirect calls
    def read_vtables(self):
        """Method signature -> start addresses of the functions vtables hold for it."""
        methods = collections.defaultdict(set)
        for s in self.image.symbols:
            if not s.name.startswith("_ZTV") or not s.size:
                continue
            data = self.image.read(s.value, s.size)
            if data is None:
                continue
            for i in range(0, len(data) - 7, 8):
                address = int.from_bytes(data[i:i + 8], "little")
                f = self.functions.get(address)
                if f is not None:
                    methods[method_signature(f.demangled)].add(address)
        return methods

    def resolve_indirect_calls(self):
        linkage = set()
        wanted = {}
        for f in self.functions.values():
            if f.compiler is None:
                continue
            for class_name, index in f.compiler.virtual_calls:
                if (class_name, index) not in wanted:
                    names = set()
                    for offset in self.dwarf.classes_named(class_name):
                        names |= self.dwarf.virtual_method(offset, index)
                    wanted[(class_name, index)] = names
                    linkage |= names
        demangled = demangle(linkage, self.args.cxxfilt)
        self.virtual_targets = {}
        for key, names in wanted.items():
            if not names:
                # No definition of the method anywhere in the image's DWARF: no class that
                # implements it is compiled in (its definition would carry the method), so no
                # object of one exists and the call is never made. Say so, it is not an error.
                self.notes.append(f"virtual call of {key[0]} slot {key[1]}: no implementation in the image")
                self.virtual_targets[key] = set()
                continue
            targets = set()
            for name in names:
                targets |= self.vtable_methods.get(method_signature(demangled[name]), set())
            self.virtual_targets[key] = targets
        self.unresolved = {}   # start -> description of the indirect calls still needing targets
        for f in self.functions.values():
            if f.compiler is not None:
                for key in f.compiler.virtual_calls:
                    f.calls |= self.virtual_targets.get(key, set())
                if f.compiler.pointer_calls:
                    self.unresolved[f.start] = f"{f.compiler.pointer_calls} call(s) through a function pointer"
                elif f.compiler.indirect_edges and not f.compiler.virtual_calls:
                    self.unresolved[f.start] = "an indirect call the GIMPLE dump does not explain"
            elif f.indirect_sites:
                self.unresolved[f.start] = f"{f.indirect_sites} blr/br instruction(s)"

    # -- the graph
    def reachable(self, roots):
        seen, todo = set(), list(roots)
        while todo:
            start = todo.pop()
            if start in seen:
                continue
            seen.add(start)
            todo.extend(self.successors(start))
        return seen

    def successors(self, start):
        return self.edges.get(start, set())

    def build_edges(self):
        self.entry_starts = {self.by_location[e["location"]] for e in self.config.entries}
        self.edges = {}
        for f in self.functions.values():
            calls = set(f.calls)
            for rule in self.config.indirect:
                if f.start in self.unresolved and self.matches(f, rule["caller"]):
                    rule["used"] = True
                    for pattern in rule["targets"]:
                        targets = self.functions_matching(pattern)
                        if not targets:
                            self.errors.append(f"{rule['where']}: target '{pattern}' matches no function")
                        calls |= {t.start for t in targets}
                    f.annotated = True
            # A call into an entry point that sets the stack pointer starts afresh there.
            calls = {c for c in calls if not (c in self.entry_starts and self.functions[c].switches_stack
                                              and c != f.start)}
            self.edges[f.start] = calls

    def matches(self, f, pattern):
        return (fnmatch.fnmatchcase(f.name, pattern) or fnmatch.fnmatchcase(f.demangled, pattern)
                or fnmatch.fnmatchcase(strip_parameters(f.demangled), pattern))

    def check_reached(self, nodes):
        for start in sorted(nodes):
            f = self.functions[start]
            if start in self.unresolved and not getattr(f, "annotated", False):
                name = strip_parameters(f.demangled) if f.symbol else f.name
                self.errors.append(f"{f.label()}: {self.unresolved[start]}; list its targets in stacks.txt "
                                   f"('indirect {name} TARGET...')")
            if f.frame_source != "su" and f.name.startswith("_Z"):
                self.errors.append(f"{f.label()}: C++ without a -fstack-usage record")
            if f.switches_stack and start not in self.entry_starts:
                self.errors.append(f"{f.label()}: sets the stack pointer but is not an entry point in stacks.txt")

    def solve(self, root, removed):
        """Depth of every function reachable from `root`, `removed` functions cut off."""
        memo_key = frozenset(removed)
        solution = self.solutions.setdefault(memo_key, ({}, {}))
        depth, next_hop = solution
        if root in depth:
            return depth, next_hop

        def successors(node):
            return {c for c in self.successors(node) if c not in removed}

        nodes = set()
        todo = [root]
        while todo:
            node = todo.pop()
            if node not in nodes and node not in depth:
                nodes.add(node)
                todo.extend(successors(node))
        component_of = components(sorted(nodes), lambda node: successors(node) & nodes)
        # Components come out of Tarjan's algorithm callees first: each is solved after
        # everything it calls.
        for component in ordered_components(component_of):
            self.component_depth(component, successors, depth, next_hop)
        return depth, next_hop

    def component_depth(self, component, successors, depth, next_hop):
        """Depth of a component's functions. In a cycle, each annotated function may appear at
        most DEPTH times on a chain of calls; every cycle must pass through one of them."""
        cyclic = len(component) > 1 or any(m in successors(m) for m in component)
        exit_cost, exit_hop = {}, {}
        for member in component:
            outside = [c for c in successors(member) if c not in component]
            exit_hop[member] = max(outside, key=lambda c: depth[c], default=None)
            exit_cost[member] = depth[exit_hop[member]] if exit_hop[member] is not None else 0
        if not cyclic:
            (member,) = component
            depth[member] = self.functions[member].frame + exit_cost[member]
            next_hop[member] = exit_hop[member]
            return
        bounds = {}
        for rule in self.config.recursion:
            for m in component:
                if self.matches(self.functions[m], rule["function"]):
                    rule["used"] = True
                    bounds[m] = rule["depth"]
        solved = self.chains(component, successors, bounds, exit_cost) if bounds else None
        if solved is None:
            cycle = self.cycle_left if bounds else sorted(component)
            error = (f"recursion: {' > '.join(short(self.functions[m].demangled, 3) for m in cycle)}; bound it in "
                     "stacks.txt ('recursion FUNCTION DEPTH', for a function every cycle passes through)")
            if error not in self.errors:
                self.errors.append(error)
            total = sum(self.functions[m].frame for m in component) + max(exit_cost.values())
            solved = ({m: total for m in component}, {})
        for member in component:
            depth[member] = solved[0][member]
            next_hop[member] = solved[1].get(member, exit_hop[member])

    def chains(self, component, successors, bounds, exit_cost):
        """The heaviest chain from each member, each function of `bounds` at most its bound
        times on it (a longest path over (function, times each bounded one is on the chain));
        None, with self.cycle_left set, if a cycle avoids every bounded function."""
        order = sorted(bounds)
        memo, open_states = {}, []

        def cost(node, counts):
            state = (node, counts)
            if state in memo:
                return memo[state]
            if state in open_states:
                self.cycle_left = [n for n, _ in open_states[open_states.index(state):]] + [node]
                raise RecursionError
            open_states.append(state)
            best, hop = exit_cost[node], None
            for child in sorted(successors(node)):
                if child not in component:
                    continue
                child_counts = counts
                if child in bounds:
                    i = order.index(child)
                    if counts[i] >= bounds[child]:
                        continue
                    child_counts = counts[:i] + (counts[i] + 1,) + counts[i + 1:]
                value = cost(child, child_counts)[0]
                if value > best:
                    best, hop = value, child
            open_states.pop()
            memo[state] = (self.functions[node].frame + best, hop)
            return memo[state]

        depths, hops = {}, {}
        try:
            for member in sorted(component):
                start = tuple(1 if f == member else 0 for f in order)
                depths[member], hop = cost(member, start)
                if hop is not None:
                    hops[member] = hop
        except RecursionError:
            return None
        return depths, hops

    def entry_depth(self, entry, extra_except=()):
        start = self.by_location[entry["location"]]
        removed = set()
        for pattern in list(entry["except"]) + list(extra_except):
            cut = self.functions_matching(pattern)
            if not cut:
                self.errors.append(f"{entry['where']}: 'except {pattern}' matches no function")
            removed |= {f.start for f in cut}
        depth, next_hop = self.solve(start, removed)
        hops, seen = [], set()
        hop = start
        while hop is not None and hop not in seen:
            seen.add(hop)
            hops.append(hop)
            hop = next_hop.get(hop)
        if removed and not removed & self.reachable([start]):
            self.errors.append(f"{entry['where']}: 'except' cuts off nothing {entry['name']} reaches (stale)")
        return depth[start], hops

    # -- stacks
    def stack_size(self, name, rule, pattern):
        symbols = self.find_symbols(pattern, code=False)
        if len(symbols) != 1:
            raise Failure(f"stack {name}: {len(symbols)} data symbols match '{pattern}'")
        symbol = symbols[0]
        if rule == "per-cpu":
            rows = self.dwarf.first_dimension(strip_parameters(self.symbol_names[symbol.name]).split("::")[-1])
            if not rows or symbol.size % rows:
                raise Failure(f"stack {name}: cannot tell the rows of {pattern} from the DWARF")
            return symbol.size // rows
        # gap-below: from the end of the object below the top symbol up to it.
        below = [s.value + s.size for s in self.image.symbols
                 if s.type == elf.STT_OBJECT and s.size and s.shndx == symbol.shndx
                 and s.value + s.size <= symbol.value]
        section = self.image.sections[symbol.shndx]
        bottom = (max(below, default=section.addr) + 15) & ~15   # the stack pointer stays 16-byte aligned
        return symbol.value - bottom

    def run(self):
        sys.setrecursionlimit(10000)
        self.build_edges()
        self.solutions = {}
        self.check_reached(self.reachable(sorted(self.entry_starts)))
        self.results = {e["name"]: self.entry_depth(e) for e in self.config.entries}
        # From the second nested level on, what the first level's handler skips then.
        self.renested = {e["name"]: self.entry_depth(e, self.config.renested_except)
                         for e in self.config.entries if e["nested"]}
        for rule in self.config.indirect + self.config.recursion:
            if not rule["used"]:
                self.errors.append(f"{rule['where']}: annotation matches nothing any entry point reaches "
                                   "(stale: remove or update it)")
        return self.entry_rows() + self.stack_rows() + self.summary_rows()

    def entry_rows(self):
        rows = ["stack bounds of the image (frames: -fstack-usage for C++, the instructions for assembly, "
                "libfdt; calls: the linked image)",
                f"  {'entry point':<20} {'runs on':<16} {'worst':>8}  deepest path (all of it: "
                "build/cert/stacks_paths.txt)"]
        shown = {}
        for e in self.config.entries:
            depth, hops = self.results[e["name"]]
            where = "nested" if e["nested"] else ", ".join(e["stacks"])
            tail = tuple(hops[1:])
            if tail and tail in shown:
                chain = f"as {shown[tail]} from its first hop"
            else:
                shown[tail] = e["name"]
                chain = " > ".join(short(self.functions[h].demangled) for h in hops)
            rows.append(f"  {e['name']:<20} {where:<16} {depth:>6} B  {chain}")
        return rows

    def stack_rows(self):
        depth = {name: result[0] for name, result in self.results.items()}
        nested = [e["name"] for e in self.config.entries if e["nested"]]
        first = max(nested, key=lambda name: depth[name], default=None)
        again = max(nested, key=lambda name: self.renested[name][0], default=None)
        nested_bytes = 0
        nesting_text = ""
        if first:
            later = self.config.nesting - 1
            nested_bytes = depth[first] + later * self.renested[again][0]
            nesting_text = f" + {first} {depth[first]}"
            if later:
                nesting_text += f" + {later} x {again} again {self.renested[again][0]}"
        rows = [f"  {'stack':<20} {'size':>8} {'worst use':>10} {'limit':>8}  verdict (worst use = deepest entry "
                f"+ {self.config.nesting} nested levels; limit = size less {self.config.margin * 100:g} %)"]
        for name, (rule, pattern) in self.config.stacks.items():
            size = self.stack_size(name, rule, pattern)
            users = [e["name"] for e in self.config.entries if name in e["stacks"]]
            if not users:
                self.errors.append(f"stack {name}: no entry point runs on it")
                continue
            deepest = max(users, key=lambda user: depth[user])
            worst = depth[deepest] + nested_bytes
            limit = int(size * (1 - self.config.margin))
            if worst > limit:
                self.errors.append(f"stack {name}: worst use {worst} B exceeds {limit} B "
                                   f"({size} B less the {self.config.margin * 100:g} % margin)")
            rows.append(f"  {name:<20} {size:>6} B {worst:>8} B {limit:>6} B  "
                        f"{'ok' if worst <= limit else 'OVER'} ({deepest} {depth[deepest]}{nesting_text})")
        return rows

    def summary_rows(self):
        counted = self.reachable(sorted(self.entry_starts))
        by_source = collections.Counter(self.functions[s].frame_source for s in counted)
        largest = max((self.functions[s] for s in counted), key=lambda f: f.frame)
        limit = stack_usage_limit(self.args.build)
        return [f"  functions reached: {len(counted)} ({by_source['su']} with a .su frame, "
                f"{by_source['instructions']} measured from their instructions); largest frame: "
                f"{short(largest.demangled)} {largest.frame} B (the build fails above {limit}: -Wstack-usage); "
                f"annotations: {len(self.config.indirect)} indirect, {len(self.config.recursion)} recursion"]

    def write_paths(self, path):
        with open(path, "w") as out:
            for e in self.config.entries:
                depth, hops = self.results[e["name"]]
                out.write(f"{e['name']} ({e['location']}): {depth} B  (frame, depth from here)\n")
                for hop in hops:
                    f = self.functions[hop]
                    out.write(f"  {f.frame:>6} B  {f.demangled}  [{f.frame_source}]\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elf", required=True)
    parser.add_argument("--build", required=True, help="the image build directory (.su, .ci, *.optimized)")
    parser.add_argument("--stacks", required=True, help="stacks.txt")
    parser.add_argument("--objdump", default="aarch64-linux-gnu-objdump")
    parser.add_argument("--readelf", default="aarch64-linux-gnu-readelf")
    parser.add_argument("--cxxfilt", default="aarch64-linux-gnu-c++filt")
    parser.add_argument("--table", required=True)
    args = parser.parse_args()
    try:
        analysis = Analysis(args)
        rows = analysis.run()
    except Failure as failure:
        print(failure)
        print("FAIL stacks: " + str(failure).splitlines()[0])
        return 1
    analysis.write_paths(os.path.splitext(args.table)[0] + "_paths.txt")
    text = "\n".join(rows)
    print(text)
    for note in analysis.notes:
        print(f"note: {note}")
    with open(args.table, "w") as f:
        f.write(text + "\n" + "".join(e + "\n" for e in analysis.errors))
    if analysis.errors:
        print("\n".join(analysis.errors))
        print(f"FAIL stacks: {len(analysis.errors)} problem(s)")
        return 1
    print("PASS stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
