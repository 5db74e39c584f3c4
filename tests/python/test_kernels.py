# attention and verify: the same numbers as `sxplan attend` / `sxplan verify` on the same arrays,
# the kernels against each other, in place (no copies) and with the GIL released.
import json
import sys
import threading

import numpy as np
import pytest

import selfextend_planner as sp
from conftest import plain, run_cli

rng = np.random.default_rng(7)


def tensors(heads, kv_heads, nq, nk, dim, dtype):
    q = rng.standard_normal((heads, nq, dim)).astype(dtype)
    k = rng.standard_normal((kv_heads, nk, dim)).astype(dtype)
    v = rng.standard_normal((kv_heads, nk, dim)).astype(dtype)
    return q, k, v


def save(tmp_path, **arrays):
    paths = {}
    for name, a in arrays.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], a)
    return paths


CASES = [
    # heads, kv_heads, Nq, Nk, D, G, W, options
    (2, 1, 12, 12, 8, 3, 4, {}),
    (4, 2, 40, 40, 16, 4, 6, {"shift": "float", "rope_style": "gptj", "rotary_dims": 8}),
    (2, 2, 1, 33, 8, 2, 5, {"scale_base": 16.0, "rope_theta": 500000.0}),
    (1, 1, 5, 30, 8, 3, 7, {}),  # a chunk at the end of the cache
]


def cli_flags(options):
    return [x for key, value in options.items() for x in (f"--{key.replace('_', '-')}", value)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", ["tiled", "reference", "blocked"])
@pytest.mark.parametrize("case", CASES)
def test_attention_equals_cli(sxplan, tmp_path, case, kernel, dtype):
    heads, kv_heads, nq, nk, dim, group, window, options = case
    q, k, v = tensors(heads, kv_heads, nq, nk, dim, dtype)
    paths = save(tmp_path, q=q, k=k, v=v)
    out = tmp_path / "out.npy"
    code, _, err = run_cli(sxplan, "attend", "--q", paths["q"], "--k", paths["k"], "--v", paths["v"], "--group", group,
                           "--window", window, "--kernel", kernel, "--threads", 2, *cli_flags(options), "-o", out)
    assert code == 0, err
    ours = sp.attention(q, k, v, group, window, kernel=kernel, threads=2, **options)
    assert ours.dtype == dtype and ours.shape == q.shape
    assert np.array_equal(ours, np.load(out))  # the same kernel on the same numbers: bit for bit


def test_rank2_in_rank2_out_and_decode():
    q, k, v = (a[0] for a in tensors(1, 1, 20, 20, 8, np.float64))
    full = sp.attention(q, k, v, 2, 4, kernel="reference")
    assert full.shape == (20, 8)
    # Decode (Nq = 1) is the last row of the prefill.
    last = sp.attention(q[-1:].copy(), k, v, 2, 4, kernel="reference")
    assert np.allclose(last, full[-1:], rtol=0, atol=1e-12)


def test_tiled_within_tolerance_of_reference():
    q, k, v = tensors(4, 2, 64, 64, 32, np.float32)
    tiled = sp.attention(q, k, v, 4, 16)
    reference = sp.attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), 4, 16, kernel="reference")
    assert sp.verify(q, k, v, tiled, 4, 16)["passed"]
    assert np.max(np.abs(tiled - reference)) < 1e-4


def test_inv_freq_equal_to_theta_rule_changes_nothing():
    q, k, v = tensors(1, 1, 16, 16, 8, np.float64)
    inv_freq = 10000.0 ** (-np.arange(0, 8, 2) / 8)
    a = sp.attention(q, k, v, 2, 4, kernel="reference")
    b = sp.attention(q, k, v, 2, 4, kernel="reference", inv_freq=inv_freq)
    assert np.allclose(a, b, rtol=0, atol=1e-12)
    c = sp.attention(q, k, v, 2, 4, kernel="reference", inv_freq=inv_freq, attention_factor=1.5)
    assert not np.allclose(a, c)


def test_model_sets_the_rope():
    # llama-2-7b: theta 10000, neox, 128 rotary dims.
    q, k, v = tensors(1, 1, 6, 6, 128, np.float32)
    assert np.array_equal(sp.attention(q, k, v, 2, 4, model="llama-2-7b"),
                          sp.attention(q, k, v, 2, 4, rope_theta=10000.0, rope_style="neox", rotary_dims=128))


LLAMA_3_1_CONFIG = {  # meta-llama/Llama-3.1-8B's config.json, the fields the reader uses
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "num_attention_heads": 32,
    "num_key_value_heads": 8, "max_position_embeddings": 131072, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}}


@pytest.mark.parametrize("model, dim, theta", [("llama-2-7b", 128, 10000.0), ("phi-2", 80, 10000.0),
                                               ("llama-3.1-8b", 128, 500000.0), ("llama-3.1-8b config", 128, 500000.0)])
@pytest.mark.filterwarnings("ignore::UserWarning")  # the pre-scaled RoPE warning of Llama-3.1
def test_model_rope_equals_cli(sxplan, cli_result, tmp_path, model, dim, theta):
    # The model's RoPE, its frequency rule (llama3) included, as `attend --model/--config` takes it.
    if model.endswith("config"):
        config = tmp_path / "config.json"
        config.write_text(json.dumps(LLAMA_3_1_CONFIG))
        ours_args, cli_args = {"config": config}, ["--config", config]
    else:
        ours_args, cli_args = {"model": model}, ["--model", model]
    q, k, v = tensors(2, 1, 9, 9, dim, np.float64)
    paths = save(tmp_path, q=q, k=k, v=v)
    out = tmp_path / "out.npy"
    code, _, err = run_cli(sxplan, "attend", "--q", paths["q"], "--k", paths["k"], "--v", paths["v"], "--group", 2,
                           "--window", 4, "--kernel", "reference", *cli_args, "-o", out)
    assert code == 0, err
    ours = sp.attention(q, k, v, 2, 4, kernel="reference", **ours_args)
    assert np.array_equal(ours, np.load(out))
    rotary = 32 if model == "phi-2" else dim
    plain_theta = sp.attention(q, k, v, 2, 4, kernel="reference", rope_theta=theta, rotary_dims=rotary)
    # A model with a frequency rule (once the config reader reports it) rotates unlike its plain theta.
    scaled = cli_result("rope", *cli_args)["rope_type"] != "default"
    assert np.array_equal(ours, plain_theta) != scaled


@pytest.mark.parametrize("shift, passes", [("int", True), ("float", False)])
@pytest.mark.parametrize("oracle", ["blocked", "reference"])
def test_verify_equals_cli(sxplan, tmp_path, shift, passes, oracle):
    q, k, v = tensors(2, 1, 12, 12, 8, np.float32)
    theirs = sp.attention(q, k, v, 3, 4, kernel="reference")  # computed with the int shift
    paths = save(tmp_path, q=q, k=k, v=v, candidate=theirs)
    code, out, err = run_cli(sxplan, "verify", "--q", paths["q"], "--k", paths["k"], "--v", paths["v"], "--group", 3,
                             "--window", 4, "--shift", shift, "--candidate", paths["candidate"], "--oracle", oracle,
                             "--json")
    assert code == (0 if passes else 1), err
    assert json.loads(out)["params"]["oracle"] == oracle
    ours = sp.verify(q, k, v, theirs, 3, 4, shift=shift, oracle=oracle)
    assert ours["passed"] is passes
    assert ours == json.loads(out)["result"]


def test_verify_tolerances_and_nan_candidate():
    q, k, v = tensors(1, 1, 10, 10, 8, np.float64)
    ref = sp.attention(q, k, v, 2, 4, kernel="reference")
    off = ref + 1e-4
    assert not sp.verify(q, k, v, off, 2, 4)["passed"]
    assert sp.verify(q, k, v, off, 2, 4, atol=1e-3)["passed"]
    bad = ref.copy()
    bad[0, 3] = np.nan
    r = sp.verify(q, k, v, bad, 2, 4)
    assert r["passed"] is False and r["max_abs_error"] is None  # JSON's null, as the CLI prints


def test_outputs_own_their_memory_through_a_capsule():
    q, k, v = tensors(1, 1, 8, 8, 8, np.float32)
    out = sp.attention(q, k, v, 2, 4)
    assert not out.flags.owndata and type(out.base).__name__ == "PyCapsule"
    del q, k, v
    assert np.isfinite(out).all()  # still valid: the capsule keeps the buffer


def test_result_arrays_are_views_of_the_library_result():
    t = sp.position_tables(1000, 4, 64)
    bases = {id(a.base) for a in t.values() if isinstance(a, np.ndarray)}
    assert len(bases) == 1  # four arrays, one library result, no copies
    assert all(type(a.base).__name__ == "PyCapsule" for a in t.values() if isinstance(a, np.ndarray))
    r = sp.reuse(15800, 8, 1024, model="llama-2-7b")
    assert type(r["counts"].base).__name__ == "PyCapsule" and r["counts"].base is r["group_counts"].base
    d = sp.dense_map(50, 2, 8)["relative_position"]
    assert type(d.base).__name__ == "PyCapsule"
    l = sp.llamacpp(100, 2, 8, context=4096, rows=[50])
    assert l["rows"][0]["exact"].base is l["query_position"].base


def test_gil_is_released_during_a_call():
    # With a switch interval longer than the test, CPython hands the GIL to another thread only
    # when the running one releases it. The main thread waits for the worker, which then calls
    # attention without yielding; the main thread can run again before the call returns only if
    # the call released the GIL. (Deterministic: no timing involved; the same test with a pure
    # Python loop in place of the call finds the main thread waiting. The wall-clock gain of two
    # threads is measured in bench/python_threads_bench.py, not asserted: see docs/performance.md.)
    q, k, v = tensors(4, 4, 512, 512, 64, np.float32)
    started, finished = threading.Event(), []

    def worker():
        started.set()
        sp.attention(q, k, v, 4, 64, kernel="reference", threads=1)
        finished.append(True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        running_during_call = not finished
    finally:
        sys.setswitchinterval(old)
    t.join()
    assert running_during_call and finished


def test_forced_vector_unit_is_read_at_each_call_and_refused_when_unknown(monkeypatch):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((2, 40, 16))
    k = rng.standard_normal((1, 40, 16))
    monkeypatch.setenv("SXPLAN_ISA", "sse2")
    narrow = sp.attention(q, k, k, group=3, window=8, kernel="blocked")
    monkeypatch.delenv("SXPLAN_ISA")
    widest = sp.attention(q, k, k, group=3, window=8, kernel="blocked")
    # Another summation order, the same oracle: the declared blocked tolerance (docs/kernels.md).
    np.testing.assert_allclose(narrow, widest, rtol=1e-12, atol=1e-12)
    monkeypatch.setenv("SXPLAN_ISA", "avx1024")
    with pytest.raises(sp.InvalidParams, match=r"^SXPLAN_ISA = avx1024: must be one of sse2, avx2, avx512 or auto$") as e:
        sp.attention(q, k, k, group=3, window=8, kernel="tiled")
    assert e.value.issues[0].key == "SXPLAN_ISA"


def test_attend_method_rerope_equals_self_extend_with_a_group_past_n(sxplan, tmp_path):
    # ReRoPE(w) reads every distance from w on at w: Self-Extend with G > N and W = w does too.
    q, k, v = tensors(2, 1, 12, 12, 8, np.float64)
    for name, array in (("q", q), ("k", k), ("v", v)):
        np.save(tmp_path / f"{name}.npy", array)
    out = tmp_path / "out.npy"
    code, _, err = run_cli(sxplan, "attend", "--q", tmp_path / "q.npy", "--k", tmp_path / "k.npy", "--v", tmp_path / "v.npy",
                           "--method", "rerope", "--window", 4, "--kernel", "reference", "-o", out)
    assert code == 0, err
    expected = sp.attention(q, k, v, 13, 4, kernel="reference")
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-12, atol=1e-12)
    # The tiled kernel (the default for every method) within its tolerance; blocked is Self-Extend's.
    code, _, err = run_cli(sxplan, "attend", "--q", tmp_path / "q.npy", "--k", tmp_path / "k.npy", "--v", tmp_path / "v.npy",
                           "--method", "rerope", "--window", 4, "-o", out)
    assert code == 0, err
    np.testing.assert_allclose(np.load(out), expected, rtol=2e-4, atol=2e-5)
    code, _, err = run_cli(sxplan, "attend", "--q", tmp_path / "q.npy", "--k", tmp_path / "k.npy", "--v", tmp_path / "v.npy",
                           "--method", "rerope", "--window", 4, "--kernel", "blocked", "-o", out)
    assert code == 2 and "--kernel = blocked: implements Self-Extend only" in err


METHOD_CASES = [
    # method keywords (Python), the same as CLI flags; heads, kv_heads, Nq, Nk, D
    ({"method": "dca", "chunk_size": 24, "local_window": 4}, (2, 1, 70, 70, 16)),
    ({"method": "rerope", "window": 9}, (2, 2, 1, 50, 8)),
    ({"method": "leaky-rerope", "window": 8, "leak": 3.0}, (4, 2, 20, 60, 16)),
    ({"method": "streaming", "start_size": 2, "recent_size": 10}, (2, 1, 40, 40, 8)),
]


@pytest.mark.parametrize("kernel", ["tiled", "reference"])
@pytest.mark.parametrize("method, sizes", METHOD_CASES)
def test_method_attention_equals_cli_and_verifies(sxplan, tmp_path, method, sizes, kernel):
    heads, kv_heads, nq, nk, dim = sizes
    q, k, v = tensors(heads, kv_heads, nq, nk, dim, np.float32)
    paths = save(tmp_path, q=q, k=k, v=v)
    out = tmp_path / "out.npy"
    code, _, err = run_cli(sxplan, "attend", "--q", paths["q"], "--k", paths["k"], "--v", paths["v"], "--kernel", kernel,
                           "--threads", 2, *cli_flags(method), "-o", out)
    assert code == 0, err
    ours = sp.attention(q, k, v, kernel=kernel, threads=2, **method)
    assert ours.dtype == np.float32 and ours.shape == q.shape
    assert np.array_equal(ours, np.load(out))  # the same kernel on the same numbers: bit for bit
    # The method's float64 reference accepts its own tiled output and refuses Self-Extend's.
    assert sp.verify(q, k, v, ours, **method)["passed"]
    reference = sp.attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), kernel="reference", **method)
    assert np.max(np.abs(ours - reference)) < 1e-4
    plain_attention = sp.attention(q, k, v, 1, nk + 1)  # G = 1: true positions, no key dropped
    assert not sp.verify(q, k, v, plain_attention, **method)["passed"]


def test_method_keywords_follow_the_cli_rules():
    q, k, v = tensors(1, 1, 8, 8, 8, np.float32)
    with pytest.raises(sp.InvalidParams, match="group"):
        sp.attention(q, k, v, 2, 4, method="dca", chunk_size=6, local_window=1)  # group is Self-Extend's
    with pytest.raises(sp.InvalidParams, match="chunk_size"):
        sp.attention(q, k, v, method="dca", local_window=1)
    with pytest.raises(sp.InvalidParams, match="leak"):
        sp.attention(q, k, v, method="rerope", window=3, leak=2.0)
    with pytest.raises(sp.InvalidParams, match="kernel"):
        sp.attention(q, k, v, method="rerope", window=3, kernel="blocked")
    with pytest.raises(sp.InvalidParams, match="group"):
        sp.attention(q, k, v)  # Self-Extend needs G and W
