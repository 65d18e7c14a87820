#!/usr/bin/env python3
"""Run, under qemu-user, the ctest tests of a cross build that start a built
program through a script rather than as their command.

ctest puts CMAKE_CROSSCOMPILING_EMULATOR in front of a test whose command is
a built executable, but not in front of a program that a `cmake -P` script
(or another script) starts, such as the conformance suite's
`cmake -DREPLAY=bin/ms-replay -P replay.cmake`. This tool lists the build's
tests (ctest --show-only=json-v1), finds those whose arguments name a built
ELF program, and either:
  --list           prints them, one name a line (for ctest -E), or
  --run EMULATOR.. runs them with every -DVAR=PROGRAM argument turned into
                   -DVAR=EMULATOR;...;PROGRAM (a CMake list, which the script
                   expands in execute_process), two at a time.
Usage: run_script_tests.py BUILD_DIR [--exclude REGEX] (--list | --run EMULATOR [ARG...])
Tests whose name matches REGEX (Python re.search, as ctest -E) are left out.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def script_tests(build):
    out = subprocess.check_output(["ctest", "--show-only=json-v1"], cwd=build)
    tests = []
    for t in json.loads(out)["tests"]:
        cmd = t.get("command") or []
        if not cmd or is_elf(cmd[0]) and cmd[0].startswith(build):
            continue  # ctest runs it under the emulator itself
        if cmd and os.path.basename(cmd[0]).startswith("qemu-"):
            continue
        names = [a for a in cmd[1:]
                 if is_elf(a.split("=", 1)[-1]) and a.split("=", 1)[-1].startswith(build)]
        if names:
            props = {p["name"]: p["value"] for p in t.get("properties", [])}
            tests.append((t["name"], cmd, props))
    return tests


def run_one(test, emulator):
    name, cmd, props = test
    argv = [cmd[0]]
    for a in cmd[1:]:
        m = re.match(r"^(-D[A-Za-z_0-9]+)=(.*)$", a)
        if m and is_elf(m.group(2)):
            a = m.group(1) + "=" + ";".join(emulator + [m.group(2)])
        argv.append(a)
    env = dict(os.environ)
    for kv in props.get("ENVIRONMENT", []) or []:
        k, _, v = kv.partition("=")
        env[k] = v
    timeout = float(props.get("TIMEOUT", 600) or 600)
    start = time.time()
    try:
        p = subprocess.run(argv, cwd=props.get("WORKING_DIRECTORY"), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        ok, out = p.returncode == 0, p.stdout.decode(errors="replace")
        if props.get("WILL_FAIL"):
            ok = not ok
    except subprocess.TimeoutExpired:
        ok, out = False, "timeout after %ss" % timeout
    return name, ok, time.time() - start, out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(args.pop(0))
    exclude = None
    if args[0] == "--exclude" and len(args) >= 3:
        exclude = re.compile(args[1])
        args = args[2:]
    if args[0] not in ("--list", "--run"):
        sys.exit(__doc__)
    tests = [t for t in script_tests(build) if not (exclude and exclude.search(t[0]))]
    if args[0] == "--list":
        for name, _, _ in tests:
            print(name)
        return
    emulator = args[1:]
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for i, (name, ok, dt, out) in enumerate(ex.map(lambda t: run_one(t, emulator), tests), 1):
            print("%3d/%d %-52s %s %6.2f sec" % (i, len(tests), name,
                                                "Passed" if ok else "***Failed", dt))
            if ok:
                passed += 1
            else:
                failed += 1
                print("    " + out.strip().replace("\n", "\n    "))
    print("script tests under %s: %d passed, %d failed" % (emulator[0] if emulator else "?", passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
