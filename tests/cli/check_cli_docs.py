#!/usr/bin/env python3
"""Fails when a subcommand or an option shown by `sxplan ... --help` is missing from docs/cli.md
(qpdf's rule: the build fails until the new option is documented)."""
import pathlib
import re
import subprocess
import sys

sxplan = sys.argv[1]
docs = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
top = subprocess.run([sxplan, "--help"], capture_output=True, text=True, check=True).stdout
commands = re.findall(r"^  ([a-z]+)\s", top.split("Commands:")[1], re.M)
missing = []
for command in commands:
    if f"## `sxplan {command}`" not in docs:
        missing.append(f"section '## `sxplan {command}`'")
    text = subprocess.run([sxplan, command, "--help"], capture_output=True, text=True, check=True).stdout
    for flag in sorted(set(re.findall(r"^\s+(?:-\w \[ )?(--[a-z][a-z0-9-]*)", text, re.M))):
        # Each option is documented in its command's section as `--flag`.
        section = docs.split(f"## `sxplan {command}`")[1].split("\n## ")[0] if f"## `sxplan {command}`" in docs else ""
        if f"`{flag}" not in section:
            missing.append(f"sxplan {command} {flag}")
# An unclosed code fence would swallow the sections after it (they would still match as text).
if sum(1 for line in docs.splitlines() if line.startswith("```")) % 2:
    missing.append("an unclosed ``` code fence")
if not commands:
    missing.append("no commands found in `sxplan --help`")
for m in missing:
    print(f"undocumented in docs/cli.md: {m}")
print(f"{len(commands)} passed, {len(missing)} failed")
sys.exit(1 if missing else 0)
