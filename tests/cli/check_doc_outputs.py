#!/usr/bin/env python3
"""Every `$ sxplan ...` example in README.md and docs/*.md that has a golden case prints that case's output.

An example is a line `$ sxplan <args>` in a fenced block, followed by its output up to the next
`$ ` line or the end of the block. When tests/cli/cases holds a case with the same arguments,
the example's output must be the case's stdout (or stderr, for a failing command): exactly, or,
where the example elides with a line `  ...`, line for line up to that point and in order after
it. Examples shown without output, piped into other programs (`| jq`) or without a golden case
are not checked; the
count of checked examples is printed, and a doc that checks none fails, so the check cannot go
quiet. Usage: check_doc_outputs.py REPO
"""
import pathlib
import shlex
import sys


def examples(path):
    """(line number, args, output lines) for each `$ sxplan` line in a fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    inside = False
    current = None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if current:
                yield current
                current = None
            inside = not inside
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            if current:
                yield current
            command = line[2:].split("  #")[0].strip()
            current = (number, command, []) if command.startswith("sxplan ") else None
        elif current:
            current[2].append(line)
    if current:
        yield current


def matches(example, actual):
    """The example equals `actual`, or agrees with it around `...` lines (elisions)."""
    if "..." not in [line.strip() for line in example]:
        return example == actual
    at = 0
    skipping = False
    for line in example:
        if line.strip() == "...":
            skipping = True
            continue
        if skipping:
            while at < len(actual) and actual[at] != line:
                at += 1
            if at == len(actual):
                return False
            skipping = False
        elif at >= len(actual) or actual[at] != line:
            return False
        at += 1
    return True


def main():
    repo = pathlib.Path(sys.argv[1])
    cases = {}
    for args_file in (repo / "tests/cli/cases").glob("*.args"):
        text = args_file.read_text(encoding="utf-8", errors="surrogateescape").strip()
        if "$TMP" in text or "$DATA" in text:
            continue
        cases[tuple(shlex.split(text))] = args_file
    failures, checked = [], {}
    docs = [repo / "README.md"] + sorted((repo / "docs").glob("*.md"))
    for doc in docs:
        for number, command, output in examples(doc):
            if "|" in command or ">" in command:
                continue
            args = tuple(shlex.split(command)[1:])
            case = cases.get(args)
            if case is None:
                continue
            exit_code = case.with_suffix(".exit").read_text().strip() if case.with_suffix(".exit").exists() else "0"
            stream = case.with_suffix(".stdout" if exit_code == "0" else ".stderr")
            actual = stream.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if stream.exists() else []
            example = list(output)
            while example and not example[-1].strip():
                example.pop()
            # "$ echo $?" after a failing example shows its exit code, not its output.
            if example and example[-1].startswith("$ "):
                example.pop()
            if not example:
                continue  # a command shown without its output
            if not matches(example, actual):
                failures.append(f"{doc.relative_to(repo)}:{number}: `{command}` differs from {case.name}'s output")
            checked[doc.name] = checked.get(doc.name, 0) + 1
    for f in failures:
        print("FAIL", f)
    print(f"{sum(checked.values())} examples checked against golden cases: {checked}")
    if "README.md" not in checked:
        print("FAIL README.md: no example checked (the check went quiet)")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
