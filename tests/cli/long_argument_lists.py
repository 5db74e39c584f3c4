#!/usr/bin/env python3
"""An argument list longer than a command's options can take is refused at once, in one line.

Every sxplan option is given at most once with at most one value, so sxplan check (10 options)
takes at most 20 arguments. 100,000 repeated "--tokens 5" used to reach Boost's parser, which is
quadratic in the number of arguments (37 s) before reporting "multiple occurrences"; now the
count is checked first. Usage: long_argument_lists.py --sxplan PATH
"""
import argparse
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sxplan", required=True)
    sxplan = parser.parse_args().sxplan
    failures = []

    args = [sxplan, "check"] + ["--tokens", "5"] * 50_000 + ["--group", "2", "--window", "8", "--context", "4096"]
    done = subprocess.run(args, capture_output=True, text=True)
    expected = ("sxplan check: 100006 arguments are more than its 16 options can take (each at most once, "
                "with one value) (see sxplan check --help)\n")
    if done.returncode != 2 or done.stderr != expected or done.stdout:
        failures.append(f"100,006 arguments: exit {done.returncode}, stderr {done.stderr[:300]!r}")

    # Every option once, each with a value: exactly at the limit is still parsed and judged.
    args = [sxplan, "check", "--tokens", "15800", "--group", "8", "--window", "1024", "--context", "4096",
            "--shift", "int", "--json"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        failures.append(f"a full valid command: exit {done.returncode}, stderr {done.stderr!r}")

    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
