#!/usr/bin/env python3
"""Fails unless the JSON keys of docs/json.md and of the golden JSON outputs
(tests/cli/cases/*.stdout holding a JSON document) agree (qpdf's rule for its JSON, enforced):
- every key a golden output prints, at any depth, is named in docs/json.md (a backquoted name
  outside code blocks: in a table, a params line, or the text that describes an object's fields);
- every key json.md lists, in the key column of its tables or in a "`params`: ..." line, is
  printed by some golden case, so a documented key cannot be stale or untested.
Usage: check_json_docs.py [ROOT]"""
import json
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
doc = (root / "docs" / "json.md").read_text()
# A backquoted snake_case name; not a command's ("`rope`'s params") and not a JSON literal.
KEY = re.compile(r"`(?!(?:null|true|false)`)([a-z][a-z0-9_]*)(?:\[\])?`(?!')")

listed = set()     # the key column of tables, params lines
mentioned = set()  # every backquoted name outside code blocks
fenced = False
prose = []
for line in doc.splitlines():
    if line.startswith("```"):
        fenced = not fenced
        continue
    if fenced:
        continue
    prose.append(line)
    mentioned.update(KEY.findall(line))
    if line.startswith("| ") and not line.startswith("| key") and not line.startswith("|---"):
        listed.update(KEY.findall(line.split(" | ")[0]))
# A params line may wrap onto the next lines, up to the blank line.
for m in re.finditer(r"^`params`:(.*?)(?:\n\n|\Z)", "\n".join(prose), re.M | re.S):
    listed.update(KEY.findall(m.group(1)))

printed = set()
def walk(value):
    if isinstance(value, dict):
        for k, v in value.items():
            printed.add(k)
            walk(v)
    elif isinstance(value, list):
        for v in value:
            walk(v)

cases = sorted((root / "tests" / "cli" / "cases").glob("*.stdout"))
documents = 0
for path in cases:
    text = path.read_text()
    if not text.lstrip().startswith("{"):
        continue
    try:
        walk(json.loads(text))
        documents += 1
    except json.JSONDecodeError as e:
        print(f"{path.name}: not one JSON document: {e}")
        sys.exit(1)

undocumented = sorted(printed - mentioned)
unprinted = sorted(listed - printed)
for k in undocumented:
    print(f"printed by a golden case but not documented in docs/json.md: {k}")
for k in unprinted:
    print(f"documented in docs/json.md but in no golden JSON output: {k}")
print(f"{documents} golden JSON documents, {len(printed)} keys printed, {len(listed)} listed, "
      f"{len(undocumented) + len(unprinted)} differ")
sys.exit(1 if undocumented or unprinted else 0)
