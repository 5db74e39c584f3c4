#!/usr/bin/env python3
"""Golden tests for sxplan (after zstd's tests/cli-tests).

Each case is tests/cli/cases/<name>.args: one line of shell-quoted arguments to sxplan.
Expected results sit beside it: <name>.exit (the exit code), <name>.stdout and <name>.stderr
(a missing file is not checked). Text is compared exactly, except the figures that depend on the
order of floating-point sums (verify's error norms and worst values), which agree within the
tolerance declared in golden_compare.py (docs/testing.md#golden-cases-and-floating-point-figures). In arguments and expected text, $TMP is a fresh
empty directory per case and $DATA is tests/cli/data. Optional <name>.nofile lists paths
(relative to $TMP) that must NOT exist after the run: no partial output left behind.
Optional <name>.setup and <name>.check are shell scripts run in $TMP before and after the run
(FIFOs, links, sparse files; what must hold afterwards): a setup exiting 77 skips the case (say,
mknod without root, or a case too slow under the sanitizers: PLANNER_SANITIZED is set there), a
failing check fails it. Optional <name>.max_rss_mb bounds the peak
resident memory of the sxplan process. A run longer than 120 s (or <name>.timeout_s) fails (a hang).

  run_cli_cases.py --sxplan build/cli/sxplan            run every case
  run_cli_cases.py --sxplan build/cli/sxplan --update   rewrite expectations that differ from actual output
  run_cli_cases.py --sxplan ... --filter advise          run cases whose name contains 'advise'
"""
import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from golden_compare import compare

HERE = pathlib.Path(__file__).resolve().parent


def run_case(sxplan, args_file, update):
    name = args_file.stem
    with tempfile.TemporaryDirectory(prefix=f"sxplan-{name}-") as tmp:
        data = str(HERE / "data")
        text = args_file.read_text(encoding="utf-8", errors="surrogateescape").strip()
        args = [a.replace("$TMP", tmp).replace("$DATA", data) for a in shlex.split(text)]
        env = dict(os.environ, LC_ALL="C", TMP=tmp, DATA=data)
        setup = args_file.with_suffix(".setup")
        if setup.exists():
            done = subprocess.run(["bash", "-e", str(setup)], cwd=tmp, env=env, capture_output=True, text=True)
            if done.returncode == 77:
                return name, None
            if done.returncode != 0:
                return name, [f"setup failed: {done.stderr}"]
        with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
            proc = subprocess.Popen([sxplan] + args, stdout=out_file, stderr=err_file, env=env)
            limit = args_file.with_suffix(".timeout_s")
            deadline = time.time() + (int(limit.read_text()) if limit.exists() else 120)
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.time() > deadline:
                    proc.kill()
                    os.wait4(proc.pid, 0)
                    return name, ["did not finish within its time limit (a hang?)"]
                time.sleep(0.01)
            returncode = os.waitstatus_to_exitcode(status)
            proc.returncode = returncode
            out_file.seek(0)
            err_file.seek(0)
            proc.stdout = out_file.read().decode("utf-8", errors="backslashreplace")
            proc.stderr = err_file.read().decode("utf-8", errors="backslashreplace")
        actual = {
            "exit": f"{proc.returncode}\n",
            "stdout": proc.stdout.replace(tmp, "$TMP").replace(data, "$DATA"),
            "stderr": proc.stderr.replace(tmp, "$TMP").replace(data, "$DATA"),
        }
        failures = []
        for kind, value in actual.items():
            expected_file = args_file.with_suffix("." + kind)
            differences = compare(expected_file.read_text(), value) if expected_file.exists() else []
            if update:
                # An expectation that already means what was printed (figures within the tolerance)
                # is kept, so updating on another CPU does not churn every verify case.
                if (expected_file.exists() and differences) or (not expected_file.exists() and (kind == "exit" or value)):
                    expected_file.write_text(value)
                continue
            if differences:
                failures.append(f"{kind} differs\n" + "\n".join(differences))
        if name.startswith("hostile_") and proc.returncode != 0:
            # Hostile input: exactly one clear line on stderr, naming the flag (--x) it concerns.
            lines = proc.stderr.splitlines()
            if len(lines) != 1 or "--" not in lines[0]:
                failures.append(f"stderr must be one line naming the flag, got: {proc.stderr!r}")
        max_rss = args_file.with_suffix(".max_rss_mb")
        if max_rss.exists() and usage.ru_maxrss > int(max_rss.read_text()) * 1024:
            failures.append(f"peak memory {usage.ru_maxrss // 1024} MiB > {max_rss.read_text().strip()} MiB")
        check = args_file.with_suffix(".check")
        if check.exists():
            done = subprocess.run(["bash", "-e", str(check)], cwd=tmp, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                failures.append(f"check failed: {check.read_text().strip()} {done.stderr}")
        nofile = args_file.with_suffix(".nofile")
        if nofile.exists():
            for rel in nofile.read_text().split():
                if (pathlib.Path(tmp) / rel).exists():
                    failures.append(f"{rel} was left behind")
        return name, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sxplan", required=True)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--filter", default="")
    opts = parser.parse_args()
    cases = sorted(p for p in (HERE / "cases").glob("*.args") if opts.filter in p.stem)
    failed = 0
    skipped = 0
    for args_file in cases:
        name, failures = run_case(opts.sxplan, args_file, opts.update)
        if failures is None:
            skipped += 1
            print(f"SKIP {name} (its setup cannot run here)")
            continue
        if failures:
            failed += 1
            print(f"FAIL {name}")
            for f in failures:
                print("  " + f.replace("\n", "\n  "))
    passed = len(cases) - failed - skipped
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
