"""Runs QEMU `virt` with the hypervisor image and collects what it printed.

Every run has a timeout; tests judge the printed lines, never the exit status alone.
"""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

QEMU = os.environ.get("BULKHEAD_QEMU", "qemu-system-aarch64")
DEFAULT_MACHINE = "virt,virtualization=on,gic-version=3,iommu=smmuv3"
REPORT_PREFIX = "bulkhead: "


class TestFailure(Exception):
    pass


def machine_args(smp=4, memory="2G", machine=DEFAULT_MACHINE, extra=()):
    return ["-M", machine, "-cpu", "cortex-a57", "-smp", str(smp), "-m", str(memory),
            "-nographic", "-nic", "none", *extra]


class Run:
    def __init__(self, output, exit_code, timed_out, command):
        self.output = output
        self.exit_code = exit_code
        self.timed_out = timed_out
        self.command = command
        self.lines = [line.rstrip("\r") for line in output.split("\n")]
        self.report = [line[len(REPORT_PREFIX):] for line in self.lines if line.startswith(REPORT_PREFIX)]

    def facts(self, first_word):
        """Report lines whose first word is `first_word`, split into words."""
        return [line.split() for line in self.report if line.split()[:1] == [first_word]]

    def expect(self, condition, message):
        if not condition:
            raise TestFailure(f"{message}\n--- command: {' '.join(self.command)}\n--- output:\n{self.output}")

    def expect_line(self, text):
        self.expect(text in self.lines, f"missing line: {text!r}")

    def expect_match(self, pattern):
        regex = re.compile(pattern)
        found = [line for line in self.lines if regex.search(line)]
        self.expect(found, f"no line matches {pattern!r}")
        return found

    def expect_exited_by_itself(self):
        self.expect(not self.timed_out, "QEMU did not exit by itself before the timeout")


def boot(image, args, timeout=60, until=None):
    """Boots `image`. With `until` (a line), stops QEMU once that line appeared."""
    command = [QEMU, *args, "-kernel", image]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    chunks = []
    seen = threading.Event()
    wanted = until.encode() if until is not None else None

    def drain():  # blocking reads until EOF: nothing QEMU printed is lost
        tail = b""
        while True:
            data = os.read(process.stdout.fileno(), 65536)
            if not data:
                return
            chunks.append(data)
            tail = (tail + data)[-4096:]
            if wanted is not None and wanted in tail:
                seen.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    timed_out = False
    while process.poll() is None:
        if seen.is_set():
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(timeout=10)
    output = b"".join(chunks).decode("utf-8", errors="replace")
    return Run(output, process.returncode, timed_out, command)


def dump_dtb(args, path):
    """Has QEMU write the DTB it would give the guest for these machine args."""
    machine_index = args.index("-M") + 1
    dumped = list(args)
    dumped[machine_index] = f"{args[machine_index]},dumpdtb={path}"
    result = subprocess.run([QEMU, *dumped], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not os.path.exists(path):
        raise TestFailure(f"QEMU could not dump its DTB: {result.stderr}")
    return path


def fdtget(dtb, node, prop, kind="x"):
    result = subprocess.run(["fdtget", "-t", kind, dtb, node, prop], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return result.stdout.split()


def fdt_nodes(dtb, node="/"):
    result = subprocess.run(["fdtget", "-l", dtb, node], capture_output=True, text=True, check=True)
    return result.stdout.split()


def cells_to_ints(cells, group):
    values = [int(c, 16) for c in cells]
    out = []
    for i in range(0, len(values), group):
        number = 0
        for v in values[i:i + group]:
            number = (number << 32) | v
        out.append(number)
    return out


def work_dir(name):
    root = os.environ.get("BULKHEAD_TEST_WORK", tempfile.gettempdir())
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path
