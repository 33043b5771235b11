"""A minimal QMP client (QEMU Machine Protocol over a UNIX socket), stdlib only."""
import json
import socket
import time


class Qmp:
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
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self):
        while True:
            message = json.loads(self.stream.readline())
            if "event" not in message:
                return message

    def execute(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.stream.write(json.dumps(request) + "\n")
        self.stream.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError(f"QMP {command}: {reply['error']}")
        return reply["return"]

    def human(self, command_line):
        return self.execute("human-monitor-command", **{"command-line": command_line})

    def read32(self, address):
        """Reads guest-physical memory (e.g. ECAM config space) through the monitor."""
        text = self.human(f"xp /1wx {address:#x}")
        return int(text.split(":")[1].split()[0], 16)

    def close(self):
        self.socket.close()
