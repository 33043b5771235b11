"""Runs QEMU `virt` with the hypervisor image and collects what it printed.

Every run has a timeout; tests judge the printed lines, never the exit status alone.
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import main_job  # noqa: E402  the main job's QEMU machine, shared with scripts/run.sh

QEMU = os.environ.get("BULKHEAD_QEMU", "qemu-system-aarch64")
DEFAULT_MACHINE = "virt,virtualization=on,gic-version=3,iommu=smmuv3"
REPORT_PREFIX = "bulkhead: "


class TestFailure(Exception):
    pass


class HostTimingFailure(TestFailure):
    """A bound measured in host time broken (a guest's counter follows the host's clock
    without -icount): a loaded host can stall a QEMU thread for longer than the bound
    allows with nothing wrong in the hypervisor. Scenarios.main runs such a scenario once
    more; the second run must hold every check."""


class TestSkipped(Exception):
    """The scenario cannot judge anything on this host (e.g. QEMU too old for the
    architecture feature it needs): `SKIP SCENARIO: reason`, which CTest reports as skipped."""


def qemu_version():
    """(major, minor) of the QEMU the tests run."""
    text = subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"version ([0-9]+)\.([0-9]+)", text)
    if not match:
        raise TestFailure(f"cannot read QEMU's version from {text!r}")
    return int(match.group(1)), int(match.group(2))


def machine_args(smp=4, memory="2G", machine=DEFAULT_MACHINE, extra=()):
    return ["-M", machine, "-cpu", "cortex-a57", "-smp", str(smp), "-m", str(memory),
            "-nographic", "-nic", "none", *extra]


def main_job_args(name, machine=main_job.MACHINE, memory=main_job.MEMORY, extra=()):
    """The main job's machine (scripts/main_job.py: 4 CPUs, 2 GiB, the NVMe and the NIC of
    configs/default.dts), its check disk written afresh in the work directory `name`."""
    disk = os.path.join(work_dir(name), "main-job-disk.img")
    main_job.write_disk(disk)
    return main_job.machine_args(disk, machine=machine, memory=memory, extra=extra)


def without_redrawn_fragments(lines):
    """The console lines without the fragments of live-line redraws. Once somebody types,
    the console shows the focused partition's unfinished line as it grows
    (core/console/console_mux.cpp); a line from elsewhere closes it (a fragment line) and
    it is drawn again, whole, after that line. A `[NAME] ` line is such a fragment when
    NAME's next line, past other lines, starts with it."""
    kept = []
    for index, line in enumerate(lines):
        prefix = line[:line.find("] ") + 2] if line.startswith("[") and "] " in line else None
        if prefix is not None:
            later = next((j for j in range(index + 1, len(lines)) if lines[j].startswith(prefix)), None)
            if later is not None and later > index + 1 and lines[later].startswith(line):
                continue
        kept.append(line)
    return kept


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

    def errors(self, include_partitions=True):
        """Error lines; partition refusals (the machine is too small for the embedded
        description) can be left out by tests about something else."""
        return [line for line in self.report if line.startswith("error:")
                and (include_partitions or not line.startswith("error: partition "))]

    def expect(self, condition, message, failure=TestFailure):
        if not condition:
            raise failure(f"{message}\n--- command: {' '.join(self.command)}\n--- output:\n{self.output}")

    def expect_line(self, text):
        self.expect(text in self.lines, f"missing line: {text!r}")

    def expect_match(self, pattern):
        regex = re.compile(pattern)
        found = [line for line in self.lines if regex.search(line)]
        self.expect(found, f"no line matches {pattern!r}")
        return found

    def expect_exited_by_itself(self):
        self.expect(not self.timed_out, "QEMU did not exit by itself before the timeout")


_live_sessions = set()


def _stop_live_sessions(*_):
    """QEMU runs in its own session: if the test is killed (e.g. a CTest timeout), take
    every QEMU it started down with it instead of leaving orphans."""
    for session in list(_live_sessions):
        session.stop()
    sys.exit(1)


signal.signal(signal.SIGTERM, _stop_live_sessions)
signal.signal(signal.SIGINT, _stop_live_sessions)
signal.signal(signal.SIGHUP, _stop_live_sessions)


class QemuSession:
    """One QEMU process whose console output is drained to EOF by a reader thread."""

    def __init__(self, image, args, interactive=False):
        self.command = [QEMU, *args] + (["-kernel", image] if image else [])
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.chunks = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.timed_out = False
        _live_sessions.add(self)

    def _drain(self):  # blocking reads until EOF: nothing QEMU printed is lost
        while True:
            data = os.read(self.process.stdout.fileno(), 65536)
            if not data:
                return
            with self.lock:
                self.chunks.append(data)

    def text(self):
        with self.lock:
            return b"".join(self.chunks).decode("utf-8", errors="replace")

    def complete_text(self):
        """The output up to its last newline. QEMU's UART emits one byte at a time, so the
        output can end in half a line: a wait that matched it could stop QEMU with a figure
        cut short (seen: `first-entry ... ns 13249` for `ns 132491472`)."""
        text = self.text()
        return text[:text.rfind("\n") + 1]

    def wait(self, timeout, until=None):
        """Waits for QEMU to exit or for the line `until` (a string, or a tuple of strings
        that must all have appeared in complete lines); notes a timeout."""
        wanted = (until,) if isinstance(until, str) else tuple(until or ())
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            text = self.complete_text() if wanted else ""
            if wanted and all(line in text for line in wanted):
                return
            if time.monotonic() > deadline:
                self.timed_out = True
                return
            time.sleep(0.02)

    def type(self, data):
        """Bytes for the serial console (an interactive session's stdin), as if typed."""
        self.process.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.process.stdin.flush()

    def wait_for(self, text, timeout, after=0):
        """Waits until `text` appears in the output past character `after`; returns where
        it ends, or raises TestFailure (naming `text`) at the timeout or when QEMU exits."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.text().find(text, after)
            if found >= 0:
                return found + len(text)
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise TestFailure(f"never printed {text!r} (waited {timeout} s)\n--- output ---\n{self.text()[-3000:]}")
            time.sleep(0.02)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.reader.join(timeout=10)
        _live_sessions.discard(self)

    def run(self):
        return Run(self.text(), self.process.poll(), self.timed_out, self.command)


REPORT_COMPLETE = "bulkhead: boot-complete"


def boot(image, args, timeout=60, until=None):
    """Boots `image` until QEMU exits, or, with `until`, until that line and the end of the
    boot report have both appeared: a partition starts before the next is planned, so its
    lines (even its `off`) can come out before the report's later partitions' lines."""
    session = QemuSession(image, args)
    session.wait(timeout, None if until is None else (until, REPORT_COMPLETE))
    session.stop()
    return session.run()


FOCUS_NEXT = b"\x14n"  # the console focus key, core/console/console_mux.hpp
SHELL_READY = "[linux] guest: shell ready (exit powers this partition off)"


def boot_interactive(image, args, script, timeout=60):
    """Boots with the serial console on a pipe: `script(session)` types and waits (its
    wait_for raises on a timeout), then QEMU gets until `timeout` to exit by itself."""
    session = QemuSession(image, args, interactive=True)
    try:
        script(session)
        session.wait(timeout)
    finally:
        session.stop()
    return session.run()


def wait_for_linux_shell(session, after=0):
    """Waits for the main-job Linux's shell (bulkhead.guest-shell) past `after`; returns
    where its banner ended."""
    at = session.wait_for(SHELL_READY, 240, after)
    at = session.wait_for("built-in commands.", 30, at)
    time.sleep(0.3)  # typed input waits in the tty anyway; this only keeps the echo tidy
    return at


HEARTBEAT_STOP = b"q"  # tests/guests/heartbeat: stops it at its next beat


def leave_linux_shell(session, after=0):
    """The main-job Linux waits in a shell: leave it, so that the partition powers off.
    The main job's heartbeat beats until told to stop: once Linux is off the console
    focus moves to it, and `q` stops it, so that the machine powers off."""
    at = wait_for_linux_shell(session, after)
    session.type("exit\n")
    off = session.wait_for("bulkhead: partition linux off", 60, at)
    text = session.text()
    if "bulkhead: partition heartbeat running" in text and "[heartbeat] heartbeat done" not in text:
        session.wait_for("bulkhead: console focus heartbeat", 10, off)
        session.type(HEARTBEAT_STOP)
    return at


class boot_held:
    """Context manager: boots, waits for `until`, and yields the Run so far while QEMU
    stays up (for QMP inspection); QEMU is killed on exit."""

    def __init__(self, image, args, until, timeout=60):
        self.session = QemuSession(image, args)
        self.until = until
        self.timeout = timeout

    def __enter__(self):
        self.session.wait(self.timeout, self.until)
        run = self.session.run()
        if self.until not in run.lines:
            self.session.stop()
            run = self.session.run()
            run.expect(False, f"never printed {self.until!r}")
        return run

    def __exit__(self, *exc):
        self.session.stop()
        return False


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


def socket_path(name):
    """A path for a UNIX socket QEMU serves (QMP, qtest). Its path must fit in 108 bytes
    (sun_path), so it lives in a fresh directory under /tmp, not in the build tree (a
    checkout in a deep folder would not fit); the directory is removed when the script
    exits."""
    directory = tempfile.mkdtemp(prefix=f"bulkhead-{name}-", dir="/tmp")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return os.path.join(directory, f"{name}.sock")


def qmp_socket():
    """A QMP socket path (socket_path) and the QEMU arguments that serve it."""
    path = socket_path("qmp")
    return path, ["-qmp", f"unix:{path},server=on,wait=off"]


def work_dir(name):
    root = os.environ.get("BULKHEAD_TEST_WORK", tempfile.gettempdir())
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path


class Scenarios(dict):
    """The named scenarios of one test script and its command line:
    `SCRIPT --image|--build-dir PATH SCENARIO` prints `PASS SCENARIO`, `FAIL ...` or
    `SKIP SCENARIO: reason`."""

    def __call__(self, name=None):
        def register(function):
            self[name or function.__name__.replace("_", "-")] = function
            return function
        return register

    def main(self, target_option):
        parser = argparse.ArgumentParser()
        parser.add_argument(target_option, required=True, dest="target")
        parser.add_argument("scenario", choices=sorted(self))
        options = parser.parse_args()
        try:
            try:
                self[options.scenario](options.target)
            except HostTimingFailure as failure:
                print(f"host-time bound broken in the first run ({str(failure).splitlines()[0]}): running once more")
                self[options.scenario](options.target)
        except TestFailure as failure:
            print(f"FAIL {options.scenario}: {failure}")
            return 1
        except TestSkipped as reason:
            print(f"SKIP {options.scenario}: {reason}")
            return 0
        print(f"PASS {options.scenario}")
        return 0
