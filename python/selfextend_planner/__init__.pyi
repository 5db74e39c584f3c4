# Type stubs for selfextend_planner. Result dicts have exactly the keys of the matching command's
# JSON `result` (docs/json.md); arrays are NumPy arrays over the library's memory.
import os
from typing import Any, Literal, NamedTuple, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

_Path = str | os.PathLike[str]
_Shift = Literal["int", "float"]
_Method = Literal["selfextend", "dca", "rerope", "leaky-rerope", "streaming"]
_MethodName = _Method
_FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]
_RealSequence = Sequence[float] | npt.NDArray[np.float64]

class Issue(NamedTuple):
    """One broken rule: key (the argument, as in the CLI flag and the JSON), value (as text), rule."""

    key: str
    value: str
    rule: str

class InvalidParams(ValueError):
    """Bad input: every broken rule at once; str(e) joins "key = value: rule" with "; "."""

    issues: list[Issue]

class NoSolution(RuntimeError):
    """Valid input no answer satisfies (an explicit max_group below every G that fits): .issue
    names the key and the rule, .least_satisfying the smallest value that has an answer."""

    issue: Issue
    least_satisfying: int

def check(
    tokens: int,
    group: int | None = None,
    window: int | None = None,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    shift: _Shift = "int",
    method: _Method = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
) -> dict[str, Any]:
    """Judge one plan (G, W), or another method's parameters, for N tokens: the `sxplan check` result."""

def advise(
    tokens: int,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    window: int | None = None,
    group: int | None = None,
    target: Literal["two_thirds", "half"] = "two_thirds",
    max_group: int | None = None,
    top: int | None = None,
    shift: _Shift | None = None,
    runtime: Literal["longlm", "llamacpp"] = "longlm",
    method: _Method = "selfextend",
) -> dict[str, Any]:
    """Rank plans (G, W) for N tokens: the `sxplan advise` result (top defaults to 5, shift to "int")."""

def position_tables(
    tokens: int,
    group: int | None = None,
    window: int | None = None,
    *,
    shift: _Shift = "int",
    method: _Method = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
) -> dict[str, Any]:
    """fractional_offset and the four per-token arrays (int64 [N]; group_query_position float64 with shift="float");
    another method: two arrays per branch."""

def dense_map(
    tokens: int,
    group: int | None = None,
    window: int | None = None,
    *,
    phase: Literal["prefill", "decode"] = "prefill",
    shift: _Shift = "int",
    force: bool = False,
    method: _Method = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
) -> dict[str, Any]:
    """fractional_offset and relative_position ([N, N] prefill, [N] decode; -1 above the diagonal, -2 not attended)."""

def reuse(
    tokens: int,
    group: int | None = None,
    window: int | None = None,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    shift: _Shift = "int",
    force: bool = False,
    method: _Method = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
) -> dict[str, Any]:
    """How often each relative position is used: the `sxplan reuse` result (count arrays int64)."""

def llamacpp(
    tokens: int,
    ga_n: int,
    ga_w: int | None = None,
    *,
    generate: int = 0,
    batch: int = 2048,
    mode: Literal["main", "passkey"] = "main",
    rows: Sequence[int] | None = None,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
) -> dict[str, Any]:
    """The positions llama.cpp's group attention assigns: the `sxplan llamacpp` result."""

def model(
    *,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    context: int | None = None,
) -> dict[str, Any]:
    """Every fact read about a model, with its source: the `sxplan model` result ({"model": facts})."""

def compare(
    tokens: int,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
) -> dict[str, Any]:
    """Every position-remap method side by side for `tokens`: the `sxplan compare` result."""

def compare_svg(
    tokens: int,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
) -> str:
    """The methods' maps side by side as SVG text: what `sxplan compare --svg FILE` writes."""

def rope(
    *,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    layer_type: Literal["full", "sliding", "chunked"] | None = None,
    rope_theta: float = 10000.0,
    rotary_dims: int | None = None,
    rope_style: Literal["neox", "gptj"] = "neox",
    max_position_embeddings: int | None = None,
    rope_scaling: Literal["default", "linear", "dynamic", "yarn", "longrope", "su", "llama3"] | None = None,
    factor: float | None = None,
    original_max_position_embeddings: int | None = None,
    attention_factor: float | None = None,
    beta_fast: float | None = None,
    beta_slow: float | None = None,
    mscale: float | None = None,
    mscale_all_dim: float | None = None,
    truncate: bool | None = None,
    low_freq_factor: float | None = None,
    high_freq_factor: float | None = None,
    short_factor: _RealSequence | None = None,
    long_factor: _RealSequence | None = None,
    rope_freqs: _RealSequence | None = None,
    tokens: int | None = None,
) -> dict[str, Any]:
    """A RoPE frequency rule evaluated for `tokens` keys: the `sxplan rope` result (arrays float64)."""

def attention(
    q: _FloatArray,
    k: _FloatArray,
    v: _FloatArray,
    group: int | None = None,
    window: int | None = None,
    *,
    kernel: Literal["tiled", "reference", "blocked"] = "tiled",
    method: _MethodName = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
    shift: _Shift = "int",
    rope_theta: float = 10000.0,
    rope_style: Literal["neox", "gptj"] = "neox",
    rotary_dims: int | None = None,
    scale_base: float | None = None,
    inv_freq: Sequence[float] | npt.NDArray[np.float64] | None = None,
    attention_factor: float | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    layer_type: Literal["full", "sliding", "chunked"] | None = None,
    threads: int = 0,
    force: bool = False,
) -> _FloatArray:
    """Self-Extend (or `method`'s) attention; the output has q's shape and dtype. Releases the GIL."""

def verify(
    q: _FloatArray,
    k: _FloatArray,
    v: _FloatArray,
    candidate: _FloatArray,
    group: int | None = None,
    window: int | None = None,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    oracle: Literal["blocked", "reference"] | None = None,
    method: _MethodName = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
    shift: _Shift = "int",
    rope_theta: float = 10000.0,
    rope_style: Literal["neox", "gptj"] = "neox",
    rotary_dims: int | None = None,
    scale_base: float | None = None,
    inv_freq: Sequence[float] | npt.NDArray[np.float64] | None = None,
    attention_factor: float | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    layer_type: Literal["full", "sliding", "chunked"] | None = None,
    threads: int = 0,
    force: bool = False,
) -> dict[str, Any]:
    """Check a runtime's output against the float64 oracle (blocked; reference for another method): the `sxplan verify` result. Releases the GIL."""

def write_table(
    path: _Path,
    tokens: int,
    group: int | None = None,
    window: int | None = None,
    *,
    shift: _Shift = "int",
    phase: Literal["prefill", "decode"] = "prefill",
    layout: Literal["tokens", "dense"] = "tokens",
    format: Literal["json", "csv", "npy", "safetensors", "c-header"] | None = None,
    force: bool = False,
    method: _Method = "selfextend",
    chunk_size: int | None = None,
    local_window: int | None = None,
    leak: float | None = None,
    start_size: int | None = None,
    recent_size: int | None = None,
) -> dict[str, Any]:
    """Write the position table to path, byte-identical to `sxplan table -o`; the `table -o --json` result."""

def reuse_svg(
    tokens: int,
    group: int,
    window: int,
    *,
    context: int | None = None,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    shift: _Shift = "int",
    buckets: int = 64,
    path: _Path | None = None,
) -> str:
    """The `sxplan reuse --svg` chart as text; with path, also written there (the same bytes)."""

def write_rope(
    path: _Path,
    *,
    model: str | None = None,
    config: _Path | None = None,
    gguf: _Path | None = None,
    layer_type: Literal["full", "sliding", "chunked"] | None = None,
    rope_theta: float = 10000.0,
    rotary_dims: int | None = None,
    rope_style: Literal["neox", "gptj"] = "neox",
    max_position_embeddings: int | None = None,
    rope_scaling: Literal["default", "linear", "dynamic", "yarn", "longrope", "su", "llama3"] | None = None,
    factor: float | None = None,
    original_max_position_embeddings: int | None = None,
    attention_factor: float | None = None,
    beta_fast: float | None = None,
    beta_slow: float | None = None,
    mscale: float | None = None,
    mscale_all_dim: float | None = None,
    truncate: bool | None = None,
    low_freq_factor: float | None = None,
    high_freq_factor: float | None = None,
    short_factor: _RealSequence | None = None,
    long_factor: _RealSequence | None = None,
    rope_freqs: _RealSequence | None = None,
    tokens: int | None = None,
    positions_for: tuple[int, int, int] | None = None,
    shift: _Shift | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write inv_freq (.npy) or inv_freq with the cos/sin table (.safetensors), byte-identical to `sxplan rope -o`."""
