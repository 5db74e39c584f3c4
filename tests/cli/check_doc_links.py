#!/usr/bin/env python3
"""Fails when a file of the tree cites a document that does not exist: a Markdown link
[text](target) whose target (file, or #heading in it) is missing, or a mention of a .md file
(`docs/concepts.md`, `kernels.md#the-math`) in code, comments, help text or docs that resolves to
no file or no heading. The project's docs are its specification, so every citation must land.

Usage: check_doc_links.py [ROOT]   (default: the repository holding this script)
Files: those git tracks plus untracked ones it does not ignore, or every file when ROOT is not a
git checkout. A mention resolves against the citing file's folder, ROOT, then ROOT/docs."""
import pathlib
import re
import subprocess
import sys
import urllib.parse

TEXT_SUFFIXES = {".md", ".cpp", ".hpp", ".h", ".inc", ".py", ".txt", ".cmake", ".in", ".sh", ".args",
                 ".stdout", ".stderr", ".json", ".yml", ".yaml", ".toml", ".ui", ".qrc", ".html"}
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MENTION = re.compile(r"(?<![\w./-])((?:\.{1,2}/|[\w-][\w.-]*/)*[\w-][\w.-]*\.md)(#[\w-]+)?(?![\w-])")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def files_of(root: pathlib.Path) -> list[pathlib.Path]:
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True).stdout.decode().split("\0")
        paths = [root / p for p in listed if p]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in root.rglob("*") if p.is_file()]
    return sorted(p for p in paths if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name == "CMakeLists.txt"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


_anchors: dict[pathlib.Path, set[str]] = {}


def anchors_of(doc: pathlib.Path) -> set[str]:
    if doc not in _anchors:
        found: set[str] = set()
        seen: dict[str, int] = {}
        fenced = False
        for line in doc.read_text(encoding="utf-8", errors="replace").splitlines():
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                continue
            m = HEADING.match(line)
            if m:
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
            found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line))
        _anchors[doc] = found
    return _anchors[doc]


def check_target(target: pathlib.Path, anchor: str | None) -> str | None:
    """None when the target (and its heading) exist, else what is missing."""
    if not target.exists():
        return "no such file"
    if anchor and target.suffix == ".md" and anchor not in anchors_of(target):
        return f"no heading #{anchor} in it"
    return None


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]).resolve()
    problems = []
    citations = 0
    for path in files_of(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(root)
        for number, line in enumerate(text.splitlines(), 1):
            linked = set()
            if path.suffix == ".md":
                for m in LINK.finditer(line):
                    target = m.group(1)
                    linked.add(m.span(1))
                    if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                        continue
                    citations += 1
                    file_part, _, anchor = urllib.parse.unquote(target).partition("#")
                    dest = (path.parent / file_part) if file_part else path
                    why = check_target(dest, anchor or None)
                    if why:
                        problems.append(f"{rel}:{number}: link ({target}): {why}")
            for m in MENTION.finditer(line):
                if any(a <= m.start(1) < b for a, b in linked):
                    continue  # the link's own target, checked above
                if re.search(r"[a-z]+://\S*$", line[: m.start(1)]):
                    continue  # part of a URL
                citations += 1
                name, anchor = m.group(1), (m.group(2) or "")[1:] or None
                candidates = [path.parent / name, root / name, root / "docs" / name]
                results = [check_target(c, anchor) for c in candidates]
                if all(results):
                    problems.append(f"{rel}:{number}: cites {m.group(0)}: "
                                    f"{next(r for r in results if r != 'no such file') if any(r != 'no such file' for r in results) else 'no such document'}")
    for p in problems:
        print(p)
    print(f"{citations} citations checked, {len(problems)} dangling")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
