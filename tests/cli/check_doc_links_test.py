#!/usr/bin/env python3
"""Proves check_doc_links.py fails on what it exists to catch: each case plants one dangling
citation in a small tree (a Markdown link to a missing file, to a missing heading, a source
comment citing a missing document) and expects exit 1 naming the place; the clean tree passes."""
import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).resolve().parent / "check_doc_links.py"
MISSING = "nowhere" + ".md"  # spelled in two parts so this file cites nothing itself
CONCEPTS = "concepts" + ".md"


def run(files: dict[str, str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)


CLEAN = {
    "README.md": "See [concepts](docs/concepts.md#the-map) and [the rules](docs/concepts.md#valid-input).\n",
    "docs/concepts.md": "# Concepts\n\n## The map\n\n## Valid input\n\nBack to [the map](#the-map).\n"
                        "```\n# not a heading\n```\n",
    "src/map.cpp": "// The exact map (docs/concepts.md#the-map); the kernels: https://example.org/x/" + MISSING + "\n",
}

failures = []


def expect(name: str, files: dict[str, str], code: int, needle: str) -> None:
    result = run(files)
    if result.returncode != code or needle not in result.stdout:
        failures.append(f"{name}: exit {result.returncode} (wanted {code}), output:\n{result.stdout}{result.stderr}")


expect("clean tree passes", CLEAN, 0, "0 dangling")
expect("link to a missing file", {**CLEAN, "docs/kernels.md": f"# Kernels\n\n[the math]({MISSING})\n"}, 1,
       f"docs/kernels.md:3: link ({MISSING}): no such file")
expect("link to a missing heading", {**CLEAN, "docs/kernels.md": f"# Kernels\n\n[x]({CONCEPTS}#no-such-part)\n"}, 1,
       f"docs/kernels.md:3: link ({CONCEPTS}#no-such-part): no heading #no-such-part in it")
expect("same-file anchor", {**CLEAN, "docs/kernels.md": "# Kernels\n\n[x](#the-math)\n"}, 1,
       "link (#the-math): no heading #the-math in it")
expect("a heading inside a code fence is not a heading",
       {**CLEAN, "docs/kernels.md": f"# Kernels\n\n[x]({CONCEPTS}#not-a-heading)\n"}, 1, "no heading #not-a-heading")
expect("code citing a missing document", {**CLEAN, "src/kernel.cpp": f"// the rule of {MISSING} section 3\n"}, 1,
       f"src/kernel.cpp:1: cites {MISSING}: no such document")
expect("code citing a missing heading", {**CLEAN, "src/kernel.cpp": "// docs/concepts.md#reuse\n"}, 1,
       "src/kernel.cpp:1: cites docs/concepts.md#reuse: no heading #reuse in it")

for f in failures:
    print("FAIL", f)
print(f"{7 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
