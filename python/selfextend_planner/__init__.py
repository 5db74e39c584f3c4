"""Plan and verify Self-Extend (LongLM) context extension: the Python face of selfextend-planner.

One function per ``sxplan`` command over the same C++ library; see docs/python.md.
"""

from ._core import (
    InvalidParams,
    Issue,
    NoSolution,
    __doc__,
    __version__,
    advise,
    attention,
    check,
    compare,
    compare_svg,
    dense_map,
    llamacpp,
    position_tables,
    model,
    reuse,
    reuse_svg,
    rope,
    verify,
    write_rope,
    write_table,
)

__all__ = [
    "InvalidParams",
    "Issue",
    "NoSolution",
    "__version__",
    "advise",
    "attention",
    "check",
    "compare",
    "compare_svg",
    "dense_map",
    "llamacpp",
    "position_tables",
    "model",
    "reuse",
    "reuse_svg",
    "rope",
    "verify",
    "write_rope",
    "write_table",
]
