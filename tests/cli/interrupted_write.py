#!/usr/bin/env python3
"""A process killed mid-write leaves no file at the destination (issue: no partial output).

Starts `sxplan table` on a large table, waits until its hidden temporary file has data, then
kills it: with SIGTERM and SIGINT neither the destination nor the temporary may remain; with
SIGKILL (uncatchable) the destination must not exist. Prints 'N passed, M failed'."""
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

sxplan = sys.argv[1]
failures = []
cases = 0
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
    cases += 1
    with tempfile.TemporaryDirectory(prefix="sxplan-kill-") as tmp:
        dest = pathlib.Path(tmp) / "positions.npy"
        proc = subprocess.Popen([sxplan, "table", "--tokens", "100000000", "--group", "8", "--window", "1024",
                                 "-o", str(dest)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        started = False
        while time.time() < deadline and proc.poll() is None:
            temps = [p for p in pathlib.Path(tmp).iterdir() if p.name.startswith(".positions.npy.tmp-")]
            if temps and temps[0].stat().st_size > (1 << 20):
                started = True
                break
            time.sleep(0.01)
        if not started:
            proc.kill()
            proc.wait()
            failures.append(f"{sig.name}: the write finished or never started before it could be interrupted")
            continue
        proc.send_signal(sig)
        proc.wait()
        left = sorted(p.name for p in pathlib.Path(tmp).iterdir())
        if dest.exists():
            failures.append(f"{sig.name}: destination exists after the kill")
        elif sig != signal.SIGKILL and left:
            failures.append(f"{sig.name}: files left behind: {left}")
        if proc.returncode != -sig:
            failures.append(f"{sig.name}: expected death by the signal, got exit status {proc.returncode}")
for f in failures:
    print("FAIL " + f)
print(f"{cases - len(set(f.split(':')[0] for f in failures))} passed, {len(set(f.split(':')[0] for f in failures))} failed")
sys.exit(1 if failures else 0)
