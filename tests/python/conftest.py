# Shared fixtures of the Python tests: the module (from PYTHONPATH, build/python under ctest) and
# the sxplan binary (SXPLAN) whose JSON results the module must reproduce exactly.
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import selfextend_planner as sp

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sxplan():
    path = os.environ.get("SXPLAN")
    if not path:
        pytest.skip("SXPLAN (the sxplan binary) is not set; ctest sets it")
    return path


def run_cli(sxplan, *args):
    """Runs sxplan; returns (exit code, stdout, stderr)."""
    p = subprocess.run([sxplan, *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def cli_result(sxplan):
    """The JSON `result` of an sxplan command run with --json (which must succeed)."""

    def run(*args):
        code, out, err = run_cli(sxplan, *args, "--json")
        assert code == 0, err
        return json.loads(out)["result"]

    return run


@pytest.fixture
def cli_errors(sxplan):
    """The stderr lines of an sxplan command that must fail with exit 2."""

    def run(*args):
        code, out, err = run_cli(sxplan, *args)
        assert code == 2, (code, out, err)
        return err.splitlines()

    return run


def plain(value):
    """A result with its NumPy arrays as lists, to compare with parsed JSON."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def cli_line(command, issue):
    """The line sxplan prints for one issue: keys are flags with hyphens."""
    return f"sxplan {command}: --{issue.key.replace('_', '-')} = {issue.value}: {issue.rule}"


@pytest.fixture(scope="session")
def module():
    return sp
