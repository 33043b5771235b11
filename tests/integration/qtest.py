"""A minimal client of QEMU's qtest protocol (`-qtest unix:PATH,server=on,wait=off`),
stdlib only: physical memory and MMIO read and written from outside the machine while
its CPUs run under TCG (accesses go to the system address space, as a bus master that
no SMMU stands in front of would make them). The tests use it to inspect memory and the
SMMU's tables, and to make a PCI function that no partition owns master the bus."""
import socket
import time


def args(path):
    """QEMU options that open the qtest socket. Without `-qtest-log` the protocol is logged
    to stderr, which the harness reads as console output; `none` logs nothing."""
    return ["-qtest", f"unix:{path},server=on,wait=off", "-qtest-log", "none"]


class Qtest:
    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.socket = socket.socket(socket.AF_UNIX)
                self.socket.settimeout(timeout)
                self.socket.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.socket.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.stream = self.socket.makefile("rw")

    def command(self, line):
        self.stream.write(line + "\n")
        self.stream.flush()
        while True:
            reply = self.stream.readline().split()
            if not reply:
                raise RuntimeError(f"qtest {line}: the connection closed")
            if reply[0] == "IRQ":  # asynchronous interrupt notices (none are requested)
                continue
            if reply[0] != "OK":
                raise RuntimeError(f"qtest {line}: {' '.join(reply)}")
            return reply[1:]

    def read32(self, address):
        return int(self.command(f"readl {address:#x}")[0], 16)

    def read64(self, address):
        return int(self.command(f"readq {address:#x}")[0], 16)

    def write16(self, address, value):
        self.command(f"writew {address:#x} {value:#x}")

    def write32(self, address, value):
        self.command(f"writel {address:#x} {value:#x}")

    def write64(self, address, value):
        self.command(f"writeq {address:#x} {value:#x}")

    def read(self, address, size):
        """`size` bytes of physical memory."""
        text = self.command(f"read {address:#x} {size:#x}")[0]
        return bytes.fromhex(text[2:])

    def write(self, address, data):
        self.command(f"write {address:#x} {len(data):#x} 0x{data.hex()}")

    def close(self):
        self.socket.close()
