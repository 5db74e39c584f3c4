# check, advise, position_tables, dense_map, reuse, llamacpp, compare, compare_svg: the same results as the CLI's JSON,
# key for key and value for value, and the tables against a brute force of the map.
import warnings
import xml.etree.ElementTree

import numpy as np
import pytest

import selfextend_planner as sp
from conftest import REPO, plain


def test_seed_example():
    # LongLM's README question: 15,800 tokens on Llama-2-7B.
    best = sp.advise(15800, model="llama-2-7b")["recommended"]
    assert (best["group"], best["window"], best["max_position"], best["verdict"]) == (9, 1026, 2667, "borderline")
    # The paper's "G = 5 uses positions up to 3,979", and its capacity overstated by W mod G.
    r = sp.check(15800, 5, 1024, context=4096)
    assert (r["max_position"], r["capacity_exact"], r["capacity_paper"]) == (3979, 16380, 16384)


def test_version_is_the_projects():
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert f"VERSION {sp.__version__} " in cmake


@pytest.mark.parametrize("args, kwargs, cli", [
    ((15800, 8, 1024), {"model": "llama-2-7b"}, ["--tokens", 15800, "--group", 8, "--window", 1024, "--model", "llama-2-7b"]),
    ((15800, 5, 1024), {"context": 4096, "shift": "float"},
     ["--tokens", 15800, "--group", 5, "--window", 1024, "--context", 4096, "--shift", "float"]),
    ((3000, 1, 512), {"context": 4096}, ["--tokens", 3000, "--group", 1, "--window", 512, "--context", 4096]),
])
def test_check_equals_cli(cli_result, args, kwargs, cli):
    assert sp.check(*args, **kwargs) == cli_result("check", *cli)


@pytest.mark.parametrize("kwargs, cli", [
    ({"model": "llama-2-7b"}, ["--model", "llama-2-7b"]),
    ({"context": 4096, "window": 1024, "top": 3, "target": "half", "max_group": 32, "shift": "float"},
     ["--context", 4096, "--window", 1024, "--top", 3, "--target", "half", "--max-group", 32, "--shift", "float"]),
    ({"context": 4096, "group": 8}, ["--context", 4096, "--group", 8]),
    ({"model": "llama-2-7b", "runtime": "llamacpp"}, ["--model", "llama-2-7b", "--runtime", "llamacpp"]),
    ({"context": 4096, "runtime": "llamacpp", "target": "half"}, ["--context", 4096, "--runtime", "llamacpp", "--target", "half"]),
])
def test_advise_equals_cli(cli_result, kwargs, cli):
    assert sp.advise(15800, **kwargs) == cli_result("advise", "--tokens", 15800, *cli)


@pytest.mark.parametrize("runtime", ["longlm", "llamacpp"])
def test_advise_past_the_default_max_group_equals_cli(cli_result, runtime):
    # A million tokens on Llama-2: nothing with G <= 64 fits, so the default cap is passed.
    a = sp.advise(1_000_000, model="llama-2-7b", runtime=runtime)
    assert a == cli_result("advise", "--tokens", 1_000_000, "--model", "llama-2-7b", "--runtime", runtime)
    assert a["past_max_group"] is True
    if runtime == "longlm":
        assert a["recommended"]["fits"] and a["recommended"]["group"] > 64
        assert [p["group"] for p in a["capped"]] == [64] * 4 and not any(p["fits"] for p in a["capped"])
    else:
        assert a["fits"] and a["ga_n"] > 64


@pytest.mark.parametrize("runtime", ["longlm", "llamacpp"])
def test_advise_explicit_max_group_is_a_hard_cap(runtime):
    with pytest.raises(sp.NoSolution) as caught:
        sp.advise(1_000_000, model="llama-2-7b", runtime=runtime, max_group=64)
    e = caught.value
    assert isinstance(e, RuntimeError) and not isinstance(e, ValueError)
    assert e.issue.key == "max_group" and e.issue.value == "64"
    assert e.least_satisfying > 64
    assert str(e) == f"max_group = 64: {e.issue.rule}"
    assert f"the smallest G that fits is {e.least_satisfying} " in e.issue.rule
    # At that value there is a plan, and it fits.
    a = sp.advise(1_000_000, model="llama-2-7b", runtime=runtime, max_group=e.least_satisfying)
    assert (a["recommended"]["fits"] if runtime == "longlm" else a["fits"])


def test_advise_native_below_the_context():
    a = sp.advise(4096, model="llama-2-7b")
    assert a["extension_needed"] is False
    assert a["recommended"]["verdict"] == "native" and a["recommended"]["group"] == 1
    assert a["min_group_for_capacity"] is None and a["window_for_min_groups"] is None
    assert sp.advise(4097, model="llama-2-7b")["extension_needed"] is True


def test_advise_config_and_gguf_equal_cli(cli_result):
    data = REPO / "tests/cli/data"
    config, gguf = data / "llama2_config.json", data / "llama2_header.gguf"
    assert sp.advise(20000, config=config) == cli_result("advise", "--tokens", 20000, "--config", config)
    # The llama.cpp command line names the GGUF, as in the CLI.
    assert sp.advise(20000, gguf=str(gguf), runtime="llamacpp") == cli_result(
        "advise", "--tokens", 20000, "--gguf", gguf, "--runtime", "llamacpp")


@pytest.mark.parametrize("shift", ["int", "float"])
def test_reuse_equals_cli(cli_result, shift):
    r = sp.reuse(15800, 8, 1020, model="llama-2-7b", shift=shift)
    assert r["counts"].dtype == np.int64 and r["counts"].shape == (r["max_position"] + 1,)
    expected = cli_result("reuse", "--tokens", 15800, "--group", 8, "--window", 1020, "--model", "llama-2-7b", "--shift", shift)
    assert plain(r) == expected
    assert list(r) == list(expected)  # key order too


def test_reuse_paper_figure():
    r = sp.reuse(10, 2, 4, context=16)
    assert r["counts"].tolist() == [10, 9, 8, 7, 9, 8, 4]
    assert r["neighbor_counts"].tolist() == [10, 9, 8, 7, 0, 0, 0]
    assert r["total_pairs"] == 55


@pytest.mark.parametrize("args, kwargs, cli", [
    ((32, 2, 8), {"batch": 8, "generate": 1, "context": 4096, "rows": [5, 31]},
     ["--tokens", 32, "--ga-n", 2, "--ga-w", 8, "--batch", 8, "--generate", 1, "--context", 4096, "--rows", "5,31"]),
    ((5000, 4, None), {"mode": "passkey", "batch": 512, "model": "llama-2-7b"},
     ["--tokens", 5000, "--ga-n", 4, "--mode", "passkey", "--batch", 512, "--model", "llama-2-7b"]),
])
def test_llamacpp_equals_cli(cli_result, args, kwargs, cli):
    r = sp.llamacpp(*args, **kwargs)
    assert isinstance(r["query_position"], np.ndarray) and isinstance(r["comparison"]["exact_neighbors"], np.ndarray)
    assert plain(r) == cli_result("llamacpp", *cli)


@pytest.mark.parametrize("shift", ["int", "float"])
def test_position_tables_equal_cli(cli_result, shift):
    t = sp.position_tables(40, 3, 7, shift=shift)
    assert t["neighbor_query_position"].dtype == np.int64
    assert t["group_query_position"].dtype == (np.int64 if shift == "int" else np.float64)
    expected = cli_result("table", "--tokens", 40, "--group", 3, "--window", 7, "--shift", shift)
    assert plain(t) == expected and list(t) == list(expected)


@pytest.mark.parametrize("shift, phase", [("int", "prefill"), ("float", "prefill"), ("int", "decode"), ("float", "decode")])
def test_dense_map_equals_cli(cli_result, shift, phase):
    d = sp.dense_map(25, 4, 6, shift=shift, phase=phase)
    assert d["relative_position"].shape == ((25, 25) if phase == "prefill" else (25,))
    expected = cli_result("table", "--tokens", 25, "--group", 4, "--window", 6, "--shift", shift, "--phase", phase,
                          "--layout", "dense")
    assert plain(d) == expected


def brute_force(tokens, group, window, shift):
    """The map by its definition (docs/concepts.md): neighbor pairs keep i - j, group pairs use
    gq(i) - gk(j) = floor(i/G) + W - floor(W/G) - floor(j/G), and the float shift is that minus
    (W mod G)/G (docs/json.md: "the int figures minus this")."""
    f = 0.0 if shift == "int" else (window % group) / group
    dense = np.full((tokens, tokens), -1.0)
    for i in range(tokens):
        for j in range(i + 1):
            dense[i, j] = i - j if i - j < window else (i // group + window - window // group - j // group) - f
    return dense


@pytest.mark.parametrize("tokens, group, window", [(1, 1, 1), (17, 1, 4), (30, 2, 4), (41, 3, 7), (50, 5, 12), (33, 7, 40)])
@pytest.mark.parametrize("shift", ["int", "float"])
def test_tables_against_brute_force(tokens, group, window, shift):
    expected = brute_force(tokens, group, window, shift)
    dense = sp.dense_map(tokens, group, window, shift=shift)["relative_position"]
    assert np.array_equal(dense, expected)
    assert np.array_equal(sp.dense_map(tokens, group, window, shift=shift, phase="decode")["relative_position"], expected[-1])
    # The per-token tables with the selection rule give the same matrix.
    t = sp.position_tables(tokens, group, window, shift=shift)
    i, j = np.meshgrid(np.arange(tokens), np.arange(tokens), indexing="ij")
    neighbor = t["neighbor_query_position"][i] - t["neighbor_key_position"][j]
    grouped = t["group_query_position"][i] - t["group_key_position"][j]
    from_tables = np.where(j <= i, np.where(i - j < window, neighbor, grouped), -1)
    f = 0.0 if shift == "int" else (window % group) / group
    assert t["fractional_offset"] == f
    tok = np.arange(tokens)
    assert np.array_equal(t["neighbor_query_position"], tok) and np.array_equal(t["neighbor_key_position"], tok)
    assert np.array_equal(t["group_key_position"], tok // group)
    assert np.array_equal(t["group_query_position"], (tok // group + window - window // group) - f if f else
                          tok // group + window - window // group)
    if shift == "int":
        assert np.array_equal(from_tables, expected)
    else:  # (gq - f) - gk against (gq - gk) - f: the same real, rounded in another order
        assert np.allclose(from_tables, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kwargs, cli", [
    ({"rotary_dims": 64, "rope_theta": 500000.0}, ["--rotary-dims", 64, "--rope-theta", 500000]),
    ({"model": "llama-3-8b", "tokens": 20000}, ["--model", "llama-3-8b", "--tokens", 20000]),
    ({"config": REPO / "tests/cli/data/llama2_config.json"}, ["--config", REPO / "tests/cli/data/llama2_config.json"]),
    ({"gguf": str(REPO / "tests/cli/data/llama2_header.gguf")}, ["--gguf", REPO / "tests/cli/data/llama2_header.gguf"]),
])
def test_rope_equals_cli(cli_result, kwargs, cli):
    r = sp.rope(**kwargs)
    assert r["inv_freq"].dtype == np.float64 and r["inv_freq"].shape == (r["pairs"],)
    assert type(r["inv_freq"].base).__name__ == "PyCapsule" and r["inv_freq"].base is r["wavelength"].base
    assert plain(r) == cli_result("rope", *cli)


LONGROPE_SHORT = [1.0 + 0.01 * c for c in range(48)]
LONGROPE_LONG = np.linspace(1.0, 40.0, 48)


@pytest.mark.parametrize("kwargs, cli", [
    ({"rotary_dims": 128, "rope_theta": 500000.0, "rope_scaling": "llama3", "factor": 8.0,
      "original_max_position_embeddings": 8192, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "tokens": 131072},
     ["--rotary-dims", 128, "--rope-theta", 500000, "--rope-scaling", "llama3", "--factor", 8,
      "--original-max-position-embeddings", 8192, "--low-freq-factor", 1, "--high-freq-factor", 4, "--tokens", 131072]),
    ({"rotary_dims": 64, "rope_scaling": "yarn", "factor": 40.0, "original_max_position_embeddings": 4096,
      "beta_fast": 16.0, "beta_slow": 2.0, "mscale": 1.0, "mscale_all_dim": 0.5, "truncate": False},
     ["--rotary-dims", 64, "--rope-scaling", "yarn", "--factor", 40, "--original-max-position-embeddings", 4096,
      "--beta-fast", 16, "--beta-slow", 2, "--mscale", 1, "--mscale-all-dim", 0.5, "--truncate", "false"]),
    ({"rotary_dims": 96, "rope_scaling": "longrope", "max_position_embeddings": 131072,
      "original_max_position_embeddings": 4096, "short_factor": LONGROPE_SHORT, "long_factor": LONGROPE_LONG,
      "tokens": 10000},
     ["--rotary-dims", 96, "--rope-scaling", "longrope", "--max-position-embeddings", 131072,
      "--original-max-position-embeddings", 4096, "--short-factor", ",".join(map(repr, LONGROPE_SHORT)),
      "--long-factor", ",".join(map(repr, LONGROPE_LONG.tolist())), "--tokens", 10000]),
    ({"rotary_dims": 128, "rope_scaling": "dynamic", "factor": 2.0, "max_position_embeddings": 4096, "tokens": 16384},
     ["--rotary-dims", 128, "--rope-scaling", "dynamic", "--factor", 2, "--max-position-embeddings", 4096,
      "--tokens", 16384]),
    ({"rotary_dims": 16, "rope_freqs": [1.0, 2.0, 4.0, 8.0, 1.0, 1.0, 1.0, 1.0]},
     ["--rotary-dims", 16, "--rope-freqs", "1,2,4,8,1,1,1,1"]),
])
def test_rope_rule_keywords_equal_cli(cli_result, kwargs, cli):
    # A scaled rule given key by key, without a model: the same rule and numbers as sxplan rope's options.
    r = sp.rope(**kwargs)
    assert plain(r) == cli_result("rope", *cli)
    assert r["rope_type"] == kwargs.get("rope_scaling", "default")
    assert not np.array_equal(r["inv_freq"], r["theta_inv_freq"])  # the rule changed some pairs


@pytest.mark.parametrize("kwargs, cli", [
    ({"model": "llama-3.1-8b"}, ["--model", "llama-3.1-8b"]),
    ({"config": REPO / "tests/data/configs/gemma-2-9b.json"}, ["--config", REPO / "tests/data/configs/gemma-2-9b.json"]),
    ({"config": REPO / "tests/data/configs/other/mpt-7b.json"}, ["--config", REPO / "tests/data/configs/other/mpt-7b.json"]),
    ({"model": "mistral-7b-v0.1", "context": 4096}, ["--model", "mistral-7b-v0.1", "--context", 4096]),
])
def test_model_equals_cli(cli_result, sxplan, kwargs, cli):
    import json
    from conftest import run_cli
    code, out, _ = run_cli(sxplan, "model", *cli, "--json")
    document = json.loads(out)
    # The CLI's messages name its flag (--context) where the library and the module name the argument.
    facts = document["result"]["model"]
    facts["warnings"] = [w.replace("--context", "context") for w in facts["warnings"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert sp.model(**kwargs) == document["result"]
    # The model's warnings, which the CLI puts in the document's warnings[], arrive as Python warnings.
    assert [str(w.message) for w in caught] == [w.replace("--context", "context") for w in document["warnings"]]


def test_header_examples():
    # The examples of the C++ headers (and of the docstrings).
    assert sp.position_tables(6, 2, 4)["group_query_position"].tolist() == [2, 2, 3, 3, 4, 4]
    assert sp.dense_map(10, 2, 4)["relative_position"][9].tolist() == [6, 6, 5, 5, 4, 4, 3, 2, 1, 0]
    r = sp.llamacpp(32, 2, 8, batch=8, generate=1, context=4096)
    assert r["query_position"][32] == 16 and r["final_position"][:8].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_paths_and_numpy_integers_are_accepted(tmp_path):
    assert sp.check(np.int64(15800), np.int32(8), 1024, context=4096) == sp.check(15800, 8, 1024, context=4096)


@pytest.mark.parametrize("runtime", ["longlm", "llamacpp"])
def test_advise_on_llama4_is_not_applicable_as_the_cli_says(cli_result, runtime):
    # Llama-4: every RoPE layer is chunked by 8192 and the rest are NoPE, so no layer sees a distance >= L.
    config = str(REPO / "tests" / "data" / "configs" / "2026" / "llama-4-maverick-17b-128e-instruct.json")
    answer = sp.advise(2_000_000, config=config, runtime=runtime)
    assert answer["applicable"] is False
    assert answer["not_applicable_reason"].startswith("Self-Extend has no effect on this model")
    assert answer == cli_result("advise", "--tokens", 2_000_000, "--config", config, "--runtime", runtime)


def test_layer_type_picks_the_rope_of_one_kind_of_layers():
    # Gemma-3's local layers rotate at rope_local_base_freq (class default 10000) without the
    # global layers' linear x8.
    config = str(REPO / "tests" / "data" / "configs" / "2026" / "gemma-3-4b-it.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = sp.rope(config=config, layer_type="sliding")
        glob = sp.rope(config=config, layer_type="full")
    assert (local["rope_type"], local["factor"]) == ("default", 1.0)
    assert local["inv_freq"][1] == pytest.approx(10000.0 ** (-2 / 256), rel=1e-15)
    assert (glob["rope_type"], glob["factor"]) == ("linear", 8.0)
    assert glob["inv_freq"][1] == pytest.approx(1e6 ** (-2 / 256) / 8, rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(sp.InvalidParams, match="layer_type = chunked: model gemma3_text has no chunked RoPE layers"):
            sp.rope(config=config, layer_type="chunked")
    with pytest.raises(sp.InvalidParams, match="layer_type = full: needs model, config or gguf"):
        sp.rope(rope_theta=1e4, rotary_dims=8, layer_type="full")


@pytest.mark.parametrize("kwargs, cli", [
    ({"model": "llama-2-7b"}, ["--model", "llama-2-7b"]),
    ({"config": str(REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json")},
     ["--config", str(REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json")]),
])
def test_compare_equals_cli(cli_result, kwargs, cli):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = sp.compare(16000, **kwargs)
    assert rows == cli_result("compare", "--tokens", 16000, *cli)
    assert [r["parameters"]["method"] for r in rows["methods"]] == ["selfextend", "dca", "rerope", "leaky-rerope", "streaming"]


@pytest.mark.parametrize("kwargs, cli", [
    ({"model": "llama-2-7b"}, ["--model", "llama-2-7b"]),
    ({"config": str(REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json")},
     ["--config", str(REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json")]),
])
def test_compare_svg_is_the_clis_file(sxplan, tmp_path, kwargs, cli):
    from conftest import run_cli
    path = tmp_path / "maps.svg"
    code, out, err = run_cli(sxplan, "compare", "--tokens", 1000000, *cli, "--svg", path)
    assert code == 0, err
    assert out.endswith(f"wrote {path}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svg = sp.compare_svg(1000000, **kwargs)
    assert isinstance(svg, str)
    assert svg.encode("utf-8") == path.read_bytes()
    root = xml.etree.ElementTree.fromstring(svg)  # well-formed XML, one <svg> root
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # One panel per row of compare(), each titled with the row's largest position and fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = sp.compare(1000000, **kwargs)["methods"]
    assert svg.count("<g>\n<title>") == len(rows) == 5
    for r in rows:
        assert f"largest position {r['largest_position']:.1f}, {'fits' if r['fits'] else 'does NOT fit'}" in svg


def test_compare_svg_refuses_what_compare_refuses():
    with pytest.raises(sp.InvalidParams, match="tokens = 0: must be at least 1"):
        sp.compare_svg(0, model="llama-2-7b")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        sp.compare_svg(100, context=4096, svg="x.svg")


@pytest.mark.parametrize("method", ["dca", "rerope", "leaky-rerope", "streaming"])
def test_advise_method_equals_cli(cli_result, method):
    answer = sp.advise(100000, model="llama-2-7b", method=method)
    assert answer == cli_result("advise", "--tokens", 100000, "--model", "llama-2-7b", "--method", method)
    assert answer["parameters"]["method"] == method
    with pytest.raises(sp.InvalidParams, match="window = 512: applies to method selfextend only"):
        sp.advise(100000, model="llama-2-7b", method=method, window=512)


# Each other method as keywords and as the CLI's flags.
METHODS = [
    ({"method": "dca", "chunk_size": 6, "local_window": 2}, ["--method", "dca", "--chunk-size", 6, "--local-window", 2]),
    ({"method": "rerope", "window": 5}, ["--method", "rerope", "--window", 5]),
    ({"method": "leaky-rerope", "window": 5, "leak": 3}, ["--method", "leaky-rerope", "--window", 5, "--leak", 3]),
    ({"method": "streaming", "start_size": 2, "recent_size": 7}, ["--method", "streaming", "--start-size", 2, "--recent-size", 7]),
]


@pytest.mark.parametrize("kwargs, cli", METHODS)
def test_method_check_reuse_and_tables_equal_cli(cli_result, kwargs, cli):
    assert sp.check(40, context=16, **kwargs) == cli_result("check", "--tokens", 40, "--context", 16, *cli)
    r = sp.reuse(40, context=16, **kwargs)
    assert plain(r) == cli_result("reuse", "--tokens", 40, "--context", 16, *cli)
    assert sum(r["counts"].tolist()) == r["attended_pairs"] == 40 * 41 // 2 - r["dropped_pairs"]
    t = sp.position_tables(30, **kwargs)
    expected = cli_result("table", "--tokens", 30, *cli)
    assert plain(t) == expected and list(t) == list(expected)
    assert len(t) == 2 * len(r["branches"])
    d = sp.dense_map(30, **kwargs)
    assert plain(d) == cli_result("table", "--tokens", 30, "--layout", "dense", *cli)
    assert d["relative_position"].dtype == (np.float64 if kwargs["method"] == "leaky-rerope" else np.int64)


def test_method_keywords_are_refused_where_they_do_not_apply():
    with pytest.raises(sp.InvalidParams, match="group = 2: does not apply to method rerope"):
        sp.check(100, 2, 8, context=64, method="rerope")
    with pytest.raises(sp.InvalidParams, match="leak = 3: does not apply to method dca"):
        sp.position_tables(10, method="dca", chunk_size=6, local_window=2, leak=3)
    with pytest.raises(sp.InvalidParams, match="group = \\(none\\): is required for method selfextend"):
        sp.reuse(100, context=64)


def test_dca_on_a_model_with_its_own_settings_uses_them(cli_result):
    config = str(REPO / "tests" / "cli" / "data" / "config_dual_chunk_attention.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sp.reuse(1000000, method="dca", config=config)
    assert plain(r) == cli_result("reuse", "--tokens", 1000000, "--method", "dca", "--config", config)
    assert r["max_position"] == 262144 and r["dropped_pairs"] == 0
