# The documentation runs: the docstrings' examples (the C++ headers' ones), docs/python.md (the
# PyTorch recipe when torch is importable), the README's Python example, and the stubs match
# what the functions accept.
import ast
import os
import tempfile
import doctest
import importlib.util
import re

import numpy as np
import pytest

import selfextend_planner as sp
from selfextend_planner import _core
from conftest import REPO


def test_docstring_examples():
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(_core, "selfextend_planner", globs={"sp": sp, "np": np}) if t.examples]
    names = {t.name.rsplit(".", 1)[-1] for t in tests}
    assert set(sp.__all__) - {"InvalidParams", "Issue", "NoSolution", "__version__"} <= names  # every function has one
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0


def test_every_docstring_starts_with_the_signature():
    for name in sp.__all__:
        obj = getattr(sp, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__.startswith(name + "("), name


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_docs_python_md_runs():
    blocks = python_blocks(REPO / "docs/python.md")
    assert len(blocks) == 4
    for block in blocks:
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            pytest.skip("torch is not installed (python3-torch)")
        exec(compile(block, "docs/python.md", "exec"), {})


def test_readme_python_example(capsys):
    readme = (REPO / "README.md").read_text()
    (block,) = python_blocks(REPO / "README.md")
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    # The README shows the output after the code; it must be what the code prints.
    shown = re.search(r"```python\n.*?```\n\nprints\n\n```\n(.*?)```", readme, re.S).group(1)
    assert printed == shown


# Valid positional arguments per function, to try each keyword of the stubs.
POSITIONAL = {
    "check": (100, 2, 8), "advise": (100,), "position_tables": (10, 2, 4), "dense_map": (10, 2, 4),
    "reuse": (100, 2, 8), "llamacpp": (100, 2, 8), "rope": (), "model": (), "compare": (100,), "compare_svg": (100,),
    "attention": (np.ones((4, 8)), np.ones((4, 8)), np.ones((4, 8)), 2, 4),
    "verify": (np.ones((4, 8)), np.ones((4, 8)), np.ones((4, 8)), np.ones((4, 8)), 2, 4),
    "write_table": (os.path.join(tempfile.gettempdir(), f"sxplan-stub-{os.getpid()}.npy"), 10, 2, 4),
    "reuse_svg": (100, 2, 8),
    "write_rope": (os.path.join(tempfile.gettempdir(), f"sxplan-stub-{os.getpid()}-rope.npy"),),
}


def stub_functions():
    tree = ast.parse((REPO / "python/selfextend_planner/__init__.pyi").read_text())
    return {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}


def test_stubs_cover_the_module_and_every_keyword_is_accepted():
    stubs = stub_functions()
    assert set(stubs) == set(POSITIONAL) == {n for n in sp.__all__ if callable(getattr(sp, n)) and n[0].islower()}
    for name, f in stubs.items():
        positional = [a.arg for a in f.args.args]
        assert len(positional) >= len(POSITIONAL[name]) - (name == "llamacpp")
        needs_model = name in ("check", "advise", "reuse", "llamacpp", "compare", "compare_svg", "reuse_svg")
        for kw in [a.arg for a in f.args.kwonlyargs] + positional[len(POSITIONAL[name]):]:
            extra = {} if not needs_model else {"model": "llama-2-7b"} if kw == "context" else {"context": 4096}
            if name == "model":
                extra = {"model": "llama-2-7b"} if kw != "model" else {"context": 4096}
            if name in ("rope", "write_rope"):  # the plain rule needs rotary_dims; a model states it
                extra = {"model": "llama-2-7b"} if kw == "rotary_dims" else {"rotary_dims": 8}
            getattr(sp, name)(*POSITIONAL[name], **{kw: None}, **extra)  # None = the default
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            getattr(sp, name)(*POSITIONAL[name], not_an_option=1)
