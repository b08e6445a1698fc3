#!/usr/bin/env python3
"""Cross-checks what ctest ran against what the test binaries hold.

check_test_count.py BUILD_DIR CTEST_OUTPUT
Every Catch2 test case must be exactly one ctest entry (a name that CMake split or a filter
that matches nothing would show here), and ctest must have run every entry it lists.
"""
import json
import re
import subprocess
import sys


def main():
    build, log = sys.argv[1], sys.argv[2]
    listing = json.loads(subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, check=True,
                                        capture_output=True, text=True).stdout)
    entries = listing["tests"]
    by_binary = {}
    for t in entries:
        cmd = t.get("command") or []
        # catch_discover_tests entries: BINARY "filter" [extra args]
        if len(cmd) >= 2 and cmd[0].endswith("_tests"):
            by_binary.setdefault(cmd[0], []).append(cmd[1].replace("\\,", ",").replace("\\[", "["))
    problems = []
    cases = 0
    for binary, filters in sorted(by_binary.items()):
        # (Catch2 2 exits with the number of test cases listed, so the status is not checked)
        names = subprocess.run([binary, "--list-test-names-only"], capture_output=True,
                               text=True).stdout.splitlines()
        names = [n for n in names if n.strip()]
        cases += len(names)
        if sorted(names) != sorted(filters):
            missing = sorted(set(names) - set(filters))
            stray = sorted(set(filters) - set(names))
            problems.append(f"{binary}: {len(names)} test cases, {len(filters)} ctest entries; "
                            f"not in ctest: {missing}; matching no test case: {stray}")
    text = open(log, encoding="utf-8", errors="replace").read()
    ran = re.findall(r"tests passed, (\d+) tests failed out of (\d+)", text)
    if not ran:
        problems.append("ctest's summary line was not found in " + log)
    elif int(ran[-1][1]) != len(entries):
        problems.append(f"ctest ran {ran[-1][1]} tests but lists {len(entries)}")
    other = len(entries) - sum(len(f) for f in by_binary.values())
    print(f"test count: {cases} Catch2 test cases in {len(by_binary)} binaries = "
          f"{sum(len(f) for f in by_binary.values())} ctest entries; {other} other tests; "
          f"ctest ran {ran[-1][1] if ran else '?'} of {len(entries)}")
    for p in problems:
        print("test count: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
