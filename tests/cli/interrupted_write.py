#!/usr/bin/env python3
"""A process killed mid-write leaves no file behind (issue: no partial output).

Starts `sxplan table` on a large table, waits until it has written a few MiB, then ends it: with
every signal that terminates by default while writing (TERM, INT, HUP, QUIT, ALRM, PIPE, USR1,
USR2, XCPU, VTALRM, PROF) and with SIGKILL, neither the destination nor any temporary file may
remain (the output is an unnamed O_TMPFILE until it is complete); a write past `ulimit -f`
(SIGXFSZ) leaves nothing either; an inherited ignored SIGHUP (`nohup`) stays ignored.
Prints 'N passed, M failed'."""
import os
import pathlib
import resource
import signal
import subprocess
import sys
import tempfile
import time

sxplan = sys.argv[1]
failures = []
cases = 0


def written(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start(dest, preexec=None):
    return subprocess.Popen([sxplan, "table", "--tokens", "100000000", "--group", "8", "--window", "1024",
                             "--force", "-o", str(dest)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=preexec)


def wait_for_data(proc):
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if written(proc.pid) > (4 << 20):
            return True
        time.sleep(0.01)
    return False


signals = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGALRM, signal.SIGPIPE,
           signal.SIGUSR1, signal.SIGUSR2, signal.SIGXCPU, signal.SIGVTALRM, signal.SIGPROF, signal.SIGKILL]
for sig in signals:
    cases += 1
    with tempfile.TemporaryDirectory(prefix="sxplan-kill-") as tmp:
        dest = pathlib.Path(tmp) / "positions.npy"
        proc = start(dest)
        if not wait_for_data(proc):
            proc.kill()
            proc.wait()
            failures.append(f"{sig.name}: the write finished or never started before it could be interrupted")
            continue
        proc.send_signal(sig)
        proc.wait()
        left = sorted(p.name for p in pathlib.Path(tmp).iterdir())
        if left:
            failures.append(f"{sig.name}: files left behind: {left}")
        if proc.returncode != -sig:
            failures.append(f"{sig.name}: expected death by the signal, got exit status {proc.returncode}")

# A file size limit: the write fails with SIGXFSZ, and nothing is left.
cases += 1
with tempfile.TemporaryDirectory(prefix="sxplan-fsize-") as tmp:
    dest = pathlib.Path(tmp) / "positions.npy"
    proc = start(dest, lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20)))
    proc.wait()
    left = sorted(p.name for p in pathlib.Path(tmp).iterdir())
    if left:
        failures.append(f"SIGXFSZ: files left behind: {left}")
    if proc.returncode != -signal.SIGXFSZ:
        failures.append(f"SIGXFSZ: expected death by SIGXFSZ, got exit status {proc.returncode}")

# nohup: a SIGHUP ignored by the parent stays ignored.
cases += 1
with tempfile.TemporaryDirectory(prefix="sxplan-nohup-") as tmp:
    dest = pathlib.Path(tmp) / "positions.npy"
    proc = start(dest, lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    if wait_for_data(proc):
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        if proc.poll() is not None:
            failures.append(f"nohup: an ignored SIGHUP ended the run (status {proc.returncode})")
    else:
        failures.append("nohup: the write finished or never started before the SIGHUP")
    proc.kill()
    proc.wait()

for f in failures:
    print("FAIL " + f)
failed = len(set(f.split(':')[0] for f in failures))
print(f"{cases - failed} passed, {failed} failed")
sys.exit(1 if failures else 0)
