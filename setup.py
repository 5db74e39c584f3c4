"""Builds the selfextend_planner wheel with the project's CMake (pyproject.toml holds the metadata).

The extension is the CMake target selfextend_planner_python, configured with the interpreter that
runs this build; the library, the CLI's JSON builders and pybind11 come from the source tree and
the system (Debian's pybind11-dev and Boost 1.81), so no network is needed.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version():
    match = re.search(r"project\(selfextend-planner VERSION (\d+\.\d+\.\d+)", (ROOT / "CMakeLists.txt").read_text())
    return match.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                        "-DPLANNER_BUILD_PYTHON=ON", "-DPLANNER_BUILD_TESTS=OFF", "-DPLANNER_BUILD_GUI=OFF",
                        "-DPLANNER_BUILD_BENCHMARKS=OFF", "-DPLANNER_INSTALL=OFF",
                        f"-DPython3_EXECUTABLE={sys.executable}"], check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "selfextend_planner_python", "-j", jobs],
                       check=True)
        (built,) = (build_dir / "python" / "selfextend_planner").glob("_core*.so")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(
    version=project_version(),
    packages=["selfextend_planner"],
    package_dir={"selfextend_planner": "python/selfextend_planner"},
    package_data={"selfextend_planner": ["__init__.pyi", "py.typed"]},
    ext_modules=[Extension("selfextend_planner._core", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
