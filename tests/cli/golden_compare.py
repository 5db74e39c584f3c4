"""How a golden case's expected text is compared with what sxplan printed.

Everything is exact text except the figures that depend on the order of floating-point sums: the
error norms and worst values that `verify` reports against its double-precision oracle, whose last
bits differ between vector paths (SSE2, AVX2, AVX-512) and so between machines. Those figures are
named here, once, by the label or JSON key that precedes them (ORDER_DEPENDENT_*), and compared with
a declared tolerance instead:

    |actual - expected| <= FIGURE_ATOL + FIGURE_RTOL * |expected| + unit

where `unit` is one unit in the last printed digit of the coarser of the two printings (two values
within the tolerance can round to neighbouring printed values, never further apart).

The worst element's location (head, token, dim) and its two values are exact when the worst error
stands clear of rounding noise. When the case's max abs error is itself within FIGURE_ATOL of zero
(a candidate equal to the oracle up to rounding: every element's error is noise), the location is
wherever the noise peaked on this machine, and only the shape of those lines is compared.

A differing line count, label, word, verdict, count, plan or position always fails.
"""
import difflib
import re

# The blocked oracle agrees with the reference kernel within 1e-12 + 1e-12*|r| (docs/kernels.md), so
# two vector paths agree within twice that; the golden inputs have |r| < 1 and worst |r| >= 1e-3, so
# no figure moves by more than ~1e-11 absolute or 1e-9 relative. The tolerance leaves a margin of 10.
FIGURE_ATOL = 1e-10
FIGURE_RTOL = 1e-8

# Text reports: "  max abs error    6.56e-08".
ORDER_DEPENDENT_LABELS = ("max abs error", "max rel error", "normalised MSE")
# JSON reports: "max_abs_error": 6.562445697966268e-08.
ORDER_DEPENDENT_KEYS = ("max_abs_error", "max_rel_error", "nmse")
# The worst element: free at the noise floor, else location and candidate exact, reference a figure.
WORST_TEXT = re.compile(r"^\s*worst element\s")
WORST_JSON_OPEN = re.compile(r'^\s*"worst": \{\s*$')
WORST_CANDIDATE_KEY = "worst_candidate"
WORST_REFERENCE_KEY = "worst_reference"
MAX_ABS_TEXT = re.compile(r"^\s*max abs error\s+(\S+)")
MAX_ABS_JSON = re.compile(r'^\s*"max_abs_error": (\S+?),?\s*$')

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)\b")


def _split(line):
    """(text pieces, numbers): text[0] num[0] text[1] num[1] ... text[-1]."""
    return NUMBER.split(line), NUMBER.findall(line)


def _last_digit_unit(text):
    """One unit in the last printed digit of a number as printed ("9.41e-14" -> 1e-16)."""
    m = re.fullmatch(r"[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?", text)
    if not m:
        return 0.0
    decimals = len(m.group(2) or "")
    exponent = int(m.group(3) or 0)
    return 10.0 ** (exponent - decimals)


def figures_agree(expected, actual):
    """Two printings of one order-dependent figure agree within the declared tolerance."""
    try:
        e, a = float(expected), float(actual)
    except ValueError:
        return False
    if e != e or a != a:  # NaN is never a figure this tool prints; never accept it
        return False
    unit = max(_last_digit_unit(expected), _last_digit_unit(actual))
    return abs(a - e) <= FIGURE_ATOL + FIGURE_RTOL * abs(e) + unit


def _line_kind(line, in_worst_block):
    """'figure' (every number on the line is an order-dependent figure); 'worst_text',
    'worst_json' (a line of the worst element's location), 'worst_candidate', 'worst_reference'
    (the worst element's lines); or 'exact'."""
    stripped = line.strip()
    if any(stripped.startswith(label) for label in ORDER_DEPENDENT_LABELS):
        return "figure"
    if any(stripped.startswith(f'"{key}":') for key in ORDER_DEPENDENT_KEYS):
        return "figure"
    if stripped.startswith(f'"{WORST_CANDIDATE_KEY}":'):
        return "worst_candidate"
    if stripped.startswith(f'"{WORST_REFERENCE_KEY}":'):
        return "worst_reference"
    if WORST_TEXT.match(line):
        return "worst_text"
    if in_worst_block:
        return "worst_json"
    return "exact"


def compare(expected, actual):
    """Empty list when `actual` is what `expected` means; otherwise readable failure lines."""
    if expected == actual:
        return []
    exp_lines, act_lines = expected.split("\n"), actual.split("\n")
    diff = "\n".join(difflib.unified_diff(exp_lines, act_lines, "expected", "actual", lineterm="", n=2))
    if len(exp_lines) != len(act_lines):
        return [f"line count differs ({len(exp_lines)} expected, {len(act_lines)} printed)", diff]
    problems = []
    noise_floor = False  # the latest max abs error (expected) is rounding noise
    in_worst_block = False
    for number, (e_line, a_line) in enumerate(zip(exp_lines, act_lines), start=1):
        for pattern in (MAX_ABS_TEXT, MAX_ABS_JSON):
            m = pattern.match(e_line)
            if m:
                try:
                    noise_floor = abs(float(m.group(1))) <= FIGURE_ATOL
                except ValueError:
                    noise_floor = False
        kind = _line_kind(e_line, in_worst_block)
        if WORST_JSON_OPEN.match(e_line):
            in_worst_block = True
        elif in_worst_block and e_line.strip().startswith("}"):
            in_worst_block = False
        if e_line == a_line:
            continue
        e_text, e_nums = _split(e_line)
        a_text, a_nums = _split(a_line)
        if e_text != a_text or len(e_nums) != len(a_nums):
            problems.append(f"line {number}: text differs")
            continue
        for index, (e_num, a_num) in enumerate(zip(e_nums, a_nums)):
            if e_num == a_num:
                continue
            free = noise_floor and kind.startswith("worst_")
            if free:
                continue
            # "worst element    head H, token T, dim D: candidate C, reference R": R is the oracle's.
            tolerant = kind in ("figure", "worst_reference") or (kind == "worst_text" and index == len(e_nums) - 1)
            if tolerant and figures_agree(e_num, a_num):
                continue
            why = (f"beyond the figure tolerance {FIGURE_ATOL:g} + {FIGURE_RTOL:g}*|e| + one printed unit"
                   if tolerant else "an exact quantity")
            problems.append(f"line {number}: {e_num} expected, {a_num} printed ({why})")
    if problems:
        return problems + [diff]
    return []

