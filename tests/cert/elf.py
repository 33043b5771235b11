"""A minimal reader for 64-bit little-endian ELF files (the hypervisor image): sections,
program headers and symbols, enough for the certification checks. Standard library only."""
import struct

SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
SHN_UNDEF = 0


class Section:
    def __init__(self, name, type_, flags, addr, offset, size, link, entsize):
        self.name, self.type, self.flags = name, type_, flags
        self.addr, self.offset, self.size, self.link, self.entsize = addr, offset, size, link, entsize


class Segment:
    def __init__(self, type_, flags, offset, vaddr, filesz, memsz):
        self.type, self.flags, self.offset = type_, flags, offset
        self.vaddr, self.filesz, self.memsz = vaddr, filesz, memsz


class Symbol:
    def __init__(self, name, value, size, type_, bind, shndx, file):
        self.name, self.value, self.size = name, value, size
        self.type, self.bind, self.shndx = type_, bind, shndx
        self.file = file  # the FILE symbol a local symbol follows (its translation unit), else None


class Elf:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
        (self.entry, phoff, shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum,
         shstrndx) = struct.unpack_from("<QQQIHHHHHH", d, 0x18)
        raw = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
        names = raw[shstrndx][4]
        self.sections = [Section(self._string(names, r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[9])
                         for r in raw]
        self.segments = []
        for i in range(phnum):
            type_, flags, offset, vaddr, _paddr, filesz, memsz, _align = struct.unpack_from(
                "<IIQQQQQQ", d, phoff + i * phentsize)
            self.segments.append(Segment(type_, flags, offset, vaddr, filesz, memsz))
        self.symbols = self._read_symbols()

    def _string(self, offset, index):
        end = self.data.index(b"\0", offset + index)
        return self.data[offset + index:end].decode()

    def _read_symbols(self):
        symbols = []
        for section in self.sections:
            if section.type != SHT_SYMTAB:
                continue
            strings = self.sections[section.link].offset
            current_file = None
            for i in range(section.size // section.entsize):
                name, info, _other, shndx, value, size = struct.unpack_from(
                    "<IBBHQQ", self.data, section.offset + i * section.entsize)
                type_, bind = info & 0xF, info >> 4
                text = self._string(strings, name)
                if type_ == STT_FILE:
                    current_file = text
                    continue
                symbols.append(Symbol(text, value, size, type_, bind, shndx,
                                      current_file if bind == STB_LOCAL else None))
        return symbols

    def section(self, name):
        return next((s for s in self.sections if s.name == name), None)

    def section_at(self, address):
        for s in self.sections:
            if s.flags & SHF_ALLOC and s.addr <= address < s.addr + s.size:
                return s
        return None

    def read(self, address, size):
        """Bytes at a virtual address from the file (None for NOBITS or unmapped)."""
        s = self.section_at(address)
        if s is None or s.type == SHT_NOBITS or address + size > s.addr + s.size:
            return None
        start = s.offset + address - s.addr
        return self.data[start:start + size]
