# Bad input from Python: InvalidParams with the CLI's messages (every broken rule at once), TypeError
# for arguments of the wrong Python type, OSError for files that cannot be opened; never a crash.
import errno

import numpy as np
import pytest

import selfextend_planner as sp
from conftest import REPO, cli_line


def issues_of(call):
    with pytest.raises(sp.InvalidParams) as e:
        call()
    assert isinstance(e.value, ValueError)
    assert str(e.value) == "; ".join(f"{i.key} = {i.value}: {i.rule}" for i in e.value.issues)
    return e.value.issues


@pytest.mark.parametrize("command, call, cli", [
    ("check", lambda: sp.check(-5, 0, -3, context=1), ["--tokens", -5, "--group", 0, "--window", -3, "--context", 1]),
    ("check", lambda: sp.check(100, 4, 5000, context=4096), ["--tokens", 100, "--group", 4, "--window", 5000, "--context", 4096]),
    ("check", lambda: sp.check(100, 4, 50, model="llama-9"), ["--tokens", 100, "--group", 4, "--window", 50, "--model", "llama-9"]),
    ("check", lambda: sp.check(100, 4, 50, context=4096, shift="half"),
     ["--tokens", 100, "--group", 4, "--window", 50, "--context", 4096, "--shift", "half"]),
    ("check", lambda: sp.check(2**63, 4, 50, context=4096), ["--tokens", 2**63, "--group", 4, "--window", 50, "--context", 4096]),
    ("advise", lambda: sp.advise(15800, context=4096, top=0, max_group=0),
     ["--tokens", 15800, "--context", 4096, "--top", 0, "--max-group", 0]),
    ("advise", lambda: sp.advise(15800, context=4096, target="most"), ["--tokens", 15800, "--context", 4096, "--target", "most"]),
    ("advise", lambda: sp.advise(15800, context=4096, runtime="vllm"), ["--tokens", 15800, "--context", 4096, "--runtime", "vllm"]),
    ("reuse", lambda: sp.reuse(0, 2, 4096, context=4096), ["--tokens", 0, "--group", 2, "--window", 4096, "--context", 4096]),
    ("llamacpp", lambda: sp.llamacpp(100, 3, 8, context=4096), ["--tokens", 100, "--ga-n", 3, "--ga-w", 8, "--context", 4096]),
    ("llamacpp", lambda: sp.llamacpp(100, 2, 8, context=4096, rows=[100]),
     ["--tokens", 100, "--ga-n", 2, "--ga-w", 8, "--context", 4096, "--rows", 100]),
    ("table", lambda: sp.position_tables(-1, 2, 0), ["--tokens", -1, "--group", 2, "--window", 0]),
    ("table", lambda: sp.dense_map(20, 2, 4, phase="chunk"), ["--tokens", 20, "--group", 2, "--window", 4, "--phase", "chunk"]),
])
def test_invalid_params_carry_the_cli_messages(cli_errors, command, call, cli):
    issues = issues_of(call)
    assert [cli_line(command, i) for i in issues] == cli_errors(command, *cli)


@pytest.mark.parametrize("command, call, cli, argument, flag", [
    ("advise", lambda: sp.advise(15800, context=4096, runtime="llamacpp", top=3),
     ["--tokens", 15800, "--context", 4096, "--runtime", "llamacpp", "--top", 3], "runtime", "--runtime"),
    ("llamacpp", lambda: sp.llamacpp(100, 2, 8, mode="passkey", context=4096),
     ["--tokens", 100, "--ga-n", 2, "--ga-w", 8, "--mode", "passkey", "--context", 4096], "batch", "--batch"),
    ("table", lambda: sp.dense_map(20000, 2, 4),
     ["--tokens", 20000, "--group", 2, "--window", 4, "--layout", "dense", "-o", "x.npy"], "`force`", "--force"),
])
def test_front_end_rules_name_the_argument_where_the_cli_names_the_flag(cli_errors, command, call, cli, argument, flag):
    (issue,) = issues_of(call)
    flagged = issue._replace(rule=issue.rule.replace(argument, flag))
    assert [cli_line(command, flagged)] == cli_errors(command, *cli)


def test_rope_rules():
    (i,) = issues_of(lambda: sp.rope())
    assert i == sp.Issue("rotary_dims", "(none)", "is required without model, config or gguf")
    (i,) = issues_of(lambda: sp.rope(model="llama-2-7b", rotary_dims=64))
    assert i == sp.Issue("rotary_dims", "64", "conflicts with model: the model states its RoPE")
    assert issues_of(lambda: sp.rope(rotary_dims=7))[0].key == "rotary_dims"


@pytest.mark.parametrize("kwargs, cli, issue", [
    ({"factor": 2.0}, ["--factor", 2], sp.Issue("factor", "2.0", "needs rope_scaling (the rule it belongs to)")),
    ({"rope_scaling": "linear", "beta_fast": 3.0}, ["--rope-scaling", "linear", "--beta-fast", 3.0],
     sp.Issue("beta_fast", "3.0", "is not a key of the linear rule")),
    ({"rope_scaling": "yarn"}, ["--rope-scaling", "yarn"], sp.Issue("factor", "(none)", "is required by the yarn rule")),
    ({"rope_scaling": "ntk"}, ["--rope-scaling", "ntk"],
     sp.Issue("rope_scaling", "ntk", "is not a rule known here (default, linear, dynamic, yarn, longrope or su, llama3)")),
])
def test_rope_rule_keywords_are_checked_as_the_cli_checks_its_options(cli_errors, kwargs, cli, issue):
    assert issues_of(lambda: sp.rope(rotary_dims=8, **kwargs)) == [issue]
    # The CLI names its options as flags; the rule is the same.
    flagged = issue._replace(rule=issue.rule.replace("rope_scaling (", "--rope-scaling TYPE ("))
    (line,) = cli_errors("rope", "--rotary-dims", 8, *cli)
    assert line.endswith(f": {flagged.rule}") and f"--{issue.key.replace('_', '-')} = " in line


def test_rope_rule_keywords_conflict_with_a_model():
    (i,) = issues_of(lambda: sp.rope(model="llama-3-8b", rope_scaling="llama3", factor=8.0))
    assert i == sp.Issue("rope_scaling", "llama3", "conflicts with model: the model states its RoPE")
    with pytest.raises(TypeError, match="truncate"):
        sp.rope(rotary_dims=8, rope_scaling="yarn", factor=4.0, truncate="no")


def test_dense_map_size_guard_and_force():
    (issue,) = issues_of(lambda: sp.dense_map(20000, 2, 4))
    assert issue.key == "tokens" and "3200000000 bytes" in issue.rule.replace(",", "")
    assert sp.dense_map(30, 2, 4, force=True)["relative_position"].shape == (30, 30)


def test_model_choice_rules():
    (i,) = issues_of(lambda: sp.check(100, 2, 4))
    assert (i.key, i.rule) == ("context", "a model is required: give context, model, config or gguf")
    (i,) = issues_of(lambda: sp.check(100, 2, 4, model="llama-2-7b", config="x.json"))
    assert i == sp.Issue("config", "x.json", "conflicts with model: give only one of model, config, gguf")
    # context= next to a model plans against that L, as --context does.
    assert sp.check(3000, 2, 256, model="llama-2-7b", context=2048) == sp.check(3000, 2, 256, context=2048)


def test_models_without_rope_are_refused_by_the_planners(cli_errors):
    opt = REPO / "tests/data/configs/other/opt-125m.json"
    issues = issues_of(lambda: sp.check(100, 2, 8, config=opt))
    assert [cli_line("check", i) for i in issues] == cli_errors("check", "--tokens", 100, "--group", 2, "--window", 8,
                                                                "--config", opt)
    assert sp.model(config=opt)["model"]["position_encoding"] == "absolute"  # shown, not refused


@pytest.mark.parametrize("call, text", [
    (lambda: sp.check(15800.0, 8, 1024, context=4096), "tokens = 15800.0: must be an integer"),
    (lambda: sp.check("15800", 8, 1024, context=4096), "tokens = '15800': must be an integer"),
    (lambda: sp.check(True, 8, 1024, context=4096), "tokens = True: must be an integer"),
    (lambda: sp.check(100, 8, 16, context=4096, shift=1), "shift = 1: must be a string"),
    (lambda: sp.check(100, 8, 16, context=4096, config=3), "config = 3: must be a path (str or os.PathLike)"),
    (lambda: sp.check(100, 8, 16, context=4096, windw=3), "check() got an unexpected keyword argument 'windw'"),
    (lambda: sp.attention(None, None, None, 2, 4), "q = None: must be a NumPy array"),
    (lambda: sp.verify(*[np.ones((4, 2))] * 4, 2, 4, atol="0.1"), "atol = '0.1': must be a number"),
    (lambda: sp.dense_map(10, 2, 4, force=1), "force = 1: must be True or False"),
    (lambda: sp.llamacpp(10, 2, 4, context=4096, rows="1,2"), "rows = '1,2': must be a sequence of integers"),
])
def test_wrong_python_types_are_type_errors(call, text):
    with pytest.raises(TypeError) as e:
        call()
    assert str(e.value) == text


def test_files_that_cannot_be_opened_are_os_errors(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as e:
        sp.check(100, 2, 4, config=missing)
    assert e.value.errno == errno.ENOENT and e.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        sp.advise(100, gguf=tmp_path / "missing.gguf")


def test_malformed_files_are_invalid_params(cli_errors):
    bad = REPO / "tests/cli/data/malformed_config.json"
    issues = issues_of(lambda: sp.check(100, 2, 4, config=bad))
    assert [cli_line("check", i) for i in issues] == cli_errors("check", "--tokens", 100, "--group", 2, "--window", 4,
                                                                "--config", bad)


def arrays(dtype=np.float32, q_shape=(2, 12, 8), kv_shape=(1, 12, 8)):
    rng = np.random.default_rng(1)
    return (rng.standard_normal(q_shape).astype(dtype), rng.standard_normal(kv_shape).astype(dtype),
            rng.standard_normal(kv_shape).astype(dtype))


def cli_attend_errors(cli_errors, tmp_path, q, k, v, *flags):
    paths = []
    for name, a in zip("qkv", (q, k, v)):
        paths.append(tmp_path / f"{name}.npy")
        np.save(paths[-1], a)
    return cli_errors("attend", "--q", paths[0], "--k", paths[1], "--v", paths[2], *flags, "-o", tmp_path / "out.npy")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float16, ">f4"])
def test_wrong_dtype(cli_errors, tmp_path, dtype):
    q, k, v = arrays()
    q = q.astype(dtype)
    (issue,) = issues_of(lambda: sp.attention(q, k, v, 3, 4))
    assert issue.key == "q" and issue.value == "[2, 12, 8]"
    assert issue.rule == f"dtype {np.dtype(dtype).str} is not supported here (attention tensors are <f4 or <f8)"
    if np.dtype(dtype).str in ("<i4", "<i8"):  # the dtypes .npy files can hold for sxplan
        (line,) = cli_attend_errors(cli_errors, tmp_path, q, k, v, "--group", 3, "--window", 4)
        assert line.endswith(": " + issue.rule)


def test_non_contiguous_is_refused_not_copied():
    q, k, v = arrays(q_shape=(2, 8, 12))
    for bad in (q.transpose(0, 2, 1), np.asfortranarray(q.transpose(0, 2, 1))):
        (issue,) = issues_of(lambda: sp.attention(bad, k, v, 3, 4))
        assert issue.key == "q" and issue.rule.startswith("must be C-contiguous")
    q, k, v = arrays(q_shape=(2, 24, 8), kv_shape=(1, 12, 8))
    (issue,) = issues_of(lambda: sp.attention(q[:, ::2], k, v, 3, 4))
    assert issue.key == "q" and "C-contiguous" in issue.rule


@pytest.mark.parametrize("q_shape, kv_shape, v_shape", [
    ((2, 12, 8), (1, 12, 16), None),     # head_dim differs
    ((3, 12, 8), (2, 12, 8), None),      # heads not a multiple of kv_heads
    ((2, 13, 8), (1, 12, 8), None),      # more queries than keys
    ((2, 12, 8), (1, 12, 8), (1, 11, 8)),  # v differs from k
    ((12,), (12, 8), None),              # rank 1
    ((2, 0, 8), (1, 0, 8), None),        # an empty extent
])
def test_shapes_that_disagree(cli_errors, tmp_path, q_shape, kv_shape, v_shape):
    q, k, v = arrays(q_shape=q_shape, kv_shape=kv_shape)
    if v_shape:
        v = np.zeros(v_shape, np.float32)
    issues = issues_of(lambda: sp.attention(q, k, v, 3, 4))
    assert [cli_line("attend", i) for i in issues] == cli_attend_errors(cli_errors, tmp_path, q, k, v, "--group", 3,
                                                                        "--window", 4)


def test_candidate_shape_and_kernel_parameters(cli_errors, tmp_path):
    q, k, v = arrays()
    issues = issues_of(lambda: sp.verify(q, k, v, q[:, :5].copy(), 3, 4))
    assert issues[0].key == "candidate"
    issues = issues_of(lambda: sp.attention(q, k, v, 0, -1, rope_theta=-1.0, threads=5000, rotary_dims=3))
    assert [cli_line("attend", i) for i in issues] == cli_attend_errors(
        cli_errors, tmp_path, q, k, v, "--group", 0, "--window", -1, "--rope-theta", -1, "--threads", 5000,
        "--rotary-dims", 3)
    issues = issues_of(lambda: sp.attention(q, k, v, 3, 4, kernel="flash"))
    assert issues[0].rule == "must be reference, tiled or blocked"
    issues = issues_of(lambda: sp.verify(q, k, v, q, 3, 4, oracle="tiled"))
    assert issues[0] == sp.Issue("oracle", "tiled", "must be blocked or reference")
    issues = issues_of(lambda: sp.attention(q, k, v, 3, 4, rope_theta=float("inf")))
    assert issues[0] == sp.Issue("rope_theta", "inf", "must be a finite number")
    (issue,) = issues_of(lambda: sp.attention(q, k, v, 3, 4, inv_freq=[1.0, 0.5]))
    assert issue.key == "inv_freq"


def test_non_finite_inputs(cli_errors, tmp_path):
    q, k, v = arrays()
    k[0, 3, 1] = np.inf
    issues = issues_of(lambda: sp.attention(q, k, v, 3, 4))
    assert [cli_line("attend", i) for i in issues] == cli_attend_errors(cli_errors, tmp_path, q, k, v, "--group", 3,
                                                                        "--window", 4)


def test_float64_beyond_float32_is_named_with_its_value(cli_errors, tmp_path):
    # The tiled kernel computes in float32: 1e39 is refused with its value, as the CLI refuses it.
    q, k, v = arrays(np.float64)
    k[0, 3, 1] = 1e39
    issues = issues_of(lambda: sp.attention(q, k, v, 3, 4))
    assert issues == [sp.Issue("k", "1e+39", "(element 25) is beyond float32's range (|x| <= 3.4e38), in which this "
                                             "kernel computes; use `kernel` reference")]
    # The CLI names the other input by its flag.
    assert [cli_line("attend", i).replace("`kernel`", "--kernel") for i in issues] == cli_attend_errors(cli_errors, tmp_path, q, k, v, "--group", 3,
                                                                        "--window", 4)
    # The reference kernel computes in float64 and takes it.
    assert np.isfinite(sp.attention(q, k, v, 3, 4, kernel="reference")).all()


def test_model_rope_conflicts_with_explicit_rope():
    q, k, v = arrays(q_shape=(1, 4, 128), kv_shape=(1, 4, 128))
    (issue,) = issues_of(lambda: sp.attention(q, k, v, 2, 4, model="llama-2-7b", rope_theta=5e5))
    assert issue == sp.Issue("rope_theta", "500000.0", "conflicts with model: the model states its RoPE")
    (issue,) = issues_of(lambda: sp.attention(q, k, v, 2, 4, inv_freq=[1.0] * 64, rope_theta=5e5))
    assert issue == sp.Issue("rope_theta", "500000.0", "conflicts with inv_freq: the frequencies are given")
    q, k, v = arrays(q_shape=(1, 4, 64), kv_shape=(1, 4, 64))
    (issue,) = issues_of(lambda: sp.attention(q, k, v, 2, 4, model="llama-2-7b"))
    assert issue == sp.Issue("q", "[1, 4, 64]", "head_dim 64 differs from the model's head_dim 128")
