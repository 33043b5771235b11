#!/usr/bin/env python3
"""A checkout in a deep folder (issue 15): runs one scenario of another test script with
the build tree reached through a path longer than a UNIX socket path may be (108 bytes,
sun_path) and the work directory (BULKHEAD_TEST_WORK) under it, as a clone in a deep
folder has them. Pick a scenario that talks QMP or qtest. Prints `PASS deep-folder` only if that
scenario passed from there.

Usage: deep_folder.py --build-dir BUILD [--image IMAGE] SCRIPT SCENARIO
(SCRIPT is given --image BUILD/IMAGE, or --build-dir BUILD, both through the deep path).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

SUN_PATH_BYTES = 108
# Each level a plausible folder name; together far past SUN_PATH_BYTES on their own.
LEVELS = ["home-of-a-developer-with-a-long-name", "projects-checked-out-for-review",
          "bulkhead-clone-in-a-deep-folder-issue-15"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--image", help="relative to the build directory")
    parser.add_argument("script")
    parser.add_argument("scenario")
    options = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bulkhead-deep-")
    try:
        deep = os.path.join(root, *LEVELS)
        os.makedirs(deep)
        build = os.path.join(deep, "build")
        os.symlink(os.path.realpath(options.build_dir), build)
        work = os.path.join(build, "tests", "integration", "work")
        if len(os.path.join(work, "qmp.sock")) <= SUN_PATH_BYTES:
            print(f"FAIL deep-folder: {work} is not deep enough to show anything")
            return 1
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), options.script)
        environment = dict(os.environ, BULKHEAD_TEST_WORK=work)
        target = ["--image", os.path.join(build, options.image)] if options.image else ["--build-dir", build]
        command = [sys.executable, script, *target, options.scenario]
        result = subprocess.run(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(result.stdout, end="")
        if result.returncode != 0 or f"PASS {options.scenario}" not in result.stdout.splitlines():
            print(f"FAIL deep-folder: {options.script} {options.scenario} failed with the build tree at {build} "
                  f"({len(build)} characters)")
            return 1
        print(f"{options.script} {options.scenario} passed with the build tree at a {len(build)}-character path "
              f"and its work directory under it")
        print("PASS deep-folder")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
