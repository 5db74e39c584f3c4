# The file outputs: write_table, write_rope and reuse_svg write what the CLI writes, byte for byte,
# atomically, and refuse what the CLI refuses.
import os
import warnings

import pytest

import selfextend_planner as sp
from conftest import REPO, run_cli

TABLES = [
    (["--group", 8, "--window", 64], {"group": 8, "window": 64}),
    (["--group", 3, "--window", 7, "--shift", "float"], {"group": 3, "window": 7, "shift": "float"}),
    (["--method", "dca", "--chunk-size", 12, "--local-window", 2], {"method": "dca", "chunk_size": 12, "local_window": 2}),
    (["--method", "leaky-rerope", "--window", 5, "--leak", 3], {"method": "leaky-rerope", "window": 5, "leak": 3}),
]


@pytest.mark.parametrize("extension", ["npy", "safetensors", "csv", "json", "h"])
@pytest.mark.parametrize("layout", ["tokens", "dense"])
@pytest.mark.parametrize("cli_args, kwargs", TABLES)
def test_write_table_is_the_cli_file(sxplan, tmp_path, extension, layout, cli_args, kwargs):
    cli_file, py_file = tmp_path / f"cli.{extension}", tmp_path / f"py.{extension}"
    code, _, err = run_cli(sxplan, "table", "--tokens", 40, "--layout", layout, *cli_args, "-o", cli_file)
    assert code == 0, err
    summary = sp.write_table(py_file, 40, layout=layout, **kwargs)
    assert py_file.read_bytes() == cli_file.read_bytes()
    assert summary["output"] == str(py_file) and summary["bytes"] == py_file.stat().st_size


def test_write_table_refuses_as_the_cli_and_leaves_no_file(tmp_path):
    with pytest.raises(sp.InvalidParams, match="cannot tell the format"):
        sp.write_table(tmp_path / "t.bin", 10, 2, 4)
    with pytest.raises(sp.InvalidParams, match="to write it anyway"):
        sp.write_table(tmp_path / "big.npy", 20000, 2, 4, layout="dense")
    with pytest.raises(sp.InvalidParams, match="group = 2: does not apply to method rerope"):
        sp.write_table(tmp_path / "r.npy", 10, 2, 4, method="rerope")
    with pytest.raises(OSError):
        sp.write_table(tmp_path / "no" / "such" / "dir.npy", 10, 2, 4)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cli_args, kwargs", [
    (["--model", "llama-3.1-8b"], {"model": "llama-3.1-8b"}),
    (["--model", "llama-3.1-8b", "--positions-for", "8,1024,20000"], {"model": "llama-3.1-8b", "positions_for": (8, 1024, 20000)}),
    (["--rotary-dims", 64, "--rope-theta", 500000, "--rope-scaling", "yarn", "--factor", 4,
      "--original-max-position-embeddings", 32768, "--tokens", 100000],
     {"rotary_dims": 64, "rope_theta": 500000.0, "rope_scaling": "yarn", "factor": 4.0,
      "original_max_position_embeddings": 32768, "tokens": 100000}),
])
@pytest.mark.parametrize("extension", ["npy", "safetensors"])
def test_write_rope_is_the_cli_file(sxplan, tmp_path, cli_args, kwargs, extension):
    if "positions_for" in kwargs and extension == "npy":
        with pytest.raises(sp.InvalidParams, match="must be .safetensors with --positions-for"):
            sp.write_rope(tmp_path / "r.npy", **kwargs)
        assert not (tmp_path / "r.npy").exists()
        return
    cli_file, py_file = tmp_path / f"cli.{extension}", tmp_path / f"py.{extension}"
    code, _, err = run_cli(sxplan, "rope", *cli_args, "-o", cli_file)
    assert code == 0, err
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = sp.write_rope(py_file, **kwargs)
    assert py_file.read_bytes() == cli_file.read_bytes()
    assert written["arrays"][0] == {"name": "inv_freq", "dtype": "float64", "shape": [32 if "rotary_dims" in kwargs else 64]}


def test_reuse_svg_is_the_cli_file_and_never_replaces_its_input(sxplan, tmp_path):
    cli_file, py_file = tmp_path / "cli.svg", tmp_path / "py.svg"
    code, _, err = run_cli(sxplan, "reuse", "--tokens", 15800, "--group", 8, "--window", 1024, "--model", "llama-2-7b",
                           "--buckets", 40, "--svg", cli_file)
    assert code == 0, err
    text = sp.reuse_svg(15800, 8, 1024, model="llama-2-7b", buckets=40, path=py_file)
    assert py_file.read_bytes() == cli_file.read_bytes() == text.encode()
    config = tmp_path / "config.json"
    config.write_bytes((REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json").read_bytes())
    before = config.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(sp.InvalidParams, match="is also the input --config"):
            sp.reuse_svg(300000, 8, 1024, config=config, path=config)
    assert config.read_bytes() == before
    with pytest.raises(sp.InvalidParams, match="buckets = 0: must be in 1.."):
        sp.reuse_svg(100, 2, 8, context=64, buckets=0)
