"""The wheel builds offline and works from a fresh virtual environment (ctest: python_wheel).

Copies the source tree (without build directories), runs `python3 -m build --wheel --no-isolation`
with this interpreter (Debian's setuptools, wheel and pybind11-dev; nothing is downloaded), installs
the wheel with `pip --no-index` into a venv created with --system-site-packages (for NumPy), and
uses the module from there, outside the source tree.
Usage: wheel_check.py SOURCE_DIR WORK_DIR
"""

import pathlib
import shutil
import subprocess
import sys

source, work = (pathlib.Path(a).resolve() for a in sys.argv[1:3])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)


def ignore(directory, names):
    skipped = {n for n in names if n in (".git", "__pycache__") or n.endswith(".egg-info")}
    if pathlib.Path(directory).resolve() == source:
        skipped |= {n for n in names if n.startswith("build") or n == "dist"}
    return skipped


shutil.copytree(source, work / "src", ignore=ignore)
subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"),
                str(work / "src")], check=True)
(wheel,) = (work / "dist").glob("selfextend_planner-*.whl")
subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(work / "env")], check=True)
python = work / "env" / "bin" / "python"
subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-deps", str(wheel)], check=True)

check = r"""
import pathlib, sys
import numpy as np
import selfextend_planner as sp
here = pathlib.Path(sp.__file__).resolve()
assert pathlib.Path(sys.prefix).resolve() in here.parents, here     # the venv's copy
assert (here.parent / "__init__.pyi").exists() and (here.parent / "py.typed").exists()
best = sp.advise(15800, model="llama-2-7b")["recommended"]
assert (best["group"], best["window"]) == (9, 1026), best
q, k, v = (np.random.default_rng(0).standard_normal((2, 12, 8), dtype=np.float32) for _ in range(3))
assert sp.verify(q, k, v, sp.attention(q, k, v, 3, 4), 3, 4)["passed"]
try:
    sp.check(100, 2, 5000, context=4096)
    raise SystemExit("no InvalidParams")
except sp.InvalidParams as e:
    assert e.issues[0].key == "window"
print("wheel", sp.__version__, "works from", here.parent)
"""
subprocess.run([python, "-c", check], check=True, cwd=work)
