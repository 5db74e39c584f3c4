# `cmake --install` puts the package where the configured interpreter imports from below the prefix
# (Debian's lib/python3.11/dist-packages, also on the path of venvs made from it): here a fresh
# venv (--system-site-packages, for NumPy) used as the prefix.
import os
import pathlib
import subprocess
import sys

import pytest


def test_cmake_install_into_a_venv(tmp_path):
    build, cmake = os.environ.get("PLANNER_BUILD_DIR"), os.environ.get("CMAKE_COMMAND")
    if not build or not cmake:
        pytest.skip("PLANNER_BUILD_DIR and CMAKE_COMMAND are not set; ctest sets them")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(env)], check=True)
    subprocess.run([cmake, "--install", build, "--component", "python", "--prefix", str(env)], check=True,
                   capture_output=True)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(env / "bin" / "python"), "-c",
                          "import selfextend_planner as sp; print(sp.__file__); "
                          "print(sp.advise(15800, model='llama-2-7b')['recommended']['group'])"],
                         check=True, capture_output=True, text=True, env=clean, cwd=tmp_path).stdout.split()
    installed = pathlib.Path(out[0])
    assert installed.is_relative_to(env) and installed.parent.parent.name.endswith("-packages"), installed
    assert out[1] == "9"
