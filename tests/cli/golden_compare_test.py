#!/usr/bin/env python3
"""The golden runner accepts what one CPU's rounding changes and fails what a bug changes.

  golden_compare_test.py --sxplan build/cli/sxplan

1. compare() on the verify cases' own expected text, perturbed: one unit in the last printed digit
   of an error figure is accepted; a figure off by more than the tolerance, a changed count,
   verdict, plan or worst location (clear of the noise floor) fails.
2. End to end: run_cli_cases.py over every verify case with an sxplan whose oracle figures are
   perturbed (a wrapper that edits real sxplan's output): by one printed unit, every case passes;
   by a real error above tolerance, every case that prints a figure fails.
3. An unknown SXPLAN_ISA is refused by sxplan in one line, exit 2, nothing written.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from golden_compare import ORDER_DEPENDENT_KEYS, ORDER_DEPENDENT_LABELS, compare, figures_agree  # noqa: E402

CASES = HERE / "cases"
failures = []


def expect(condition, what):
    if not condition:
        failures.append(what)


def bump_last_digit(number, units):
    """The printed number with its last digit moved by `units` (a carry is fine)."""
    m = re.fullmatch(r"([-+]?)(\d*)\.(\d+)((?:e[-+]?\d+)?)", number)
    assert m, number
    sign, whole, frac, exp = m.groups()
    digits = int(whole + frac) + units
    text = str(digits).rjust(len(whole + frac), "0")
    return f"{sign}{text[:-len(frac)] or '0'}.{text[-len(frac):]}{exp}"


def perturb_figures(text, how):
    """Each error figure (text label or JSON key) changed by how(number)."""
    # The same figures the runner declares order-dependent, text labels and JSON keys alike.
    names = [re.escape(label) for label in ORDER_DEPENDENT_LABELS] + [re.escape(f'"{key}":') for key in ORDER_DEPENDENT_KEYS]
    pattern = re.compile(r"^(\s*(?:" + "|".join(names) + r")\s*)(\S+?)(,?)$", re.M)
    return pattern.sub(lambda m: m.group(1) + how(m.group(2)) + m.group(3), text)


def unit_tests():
    text = (CASES / "verify_pass_text.stdout").read_text()
    json_text = (CASES / "verify_pass_json.stdout").read_text()
    mismatch = (CASES / "verify_mismatch_text.stdout").read_text()
    for name, t in (("text", text), ("json", json_text), ("mismatch", mismatch)):
        expect(compare(t, t) == [], f"{name}: identical text must agree")
        one_unit = perturb_figures(t, lambda n: bump_last_digit(n, 1))
        expect(one_unit != t, f"{name}: the perturbation must change the text")
        expect(compare(t, one_unit) == [], f"{name}: one unit in the last digit must be accepted: {compare(t, one_unit)}")
        real = perturb_figures(t, lambda n: repr(float(n) * 1.05 + 1e-6))
        expect(compare(t, real) != [], f"{name}: a real error above tolerance must fail")
    # Exact quantities: counts, verdicts, plans, locations clear of the noise floor.
    for old, new in (("mismatches       0 of 192", "mismatches       1 of 192"), ("verdict          pass", "verdict          MISMATCH"),
                     ("G = 3, W = 4", "G = 3, W = 5"), ("head 0, token 8, dim 5", "head 0, token 9, dim 5"),
                     ("candidate 2.61e-01", "candidate 2.62e-01")):
        expect(old in text, f"fixture lacks {old!r}")
        expect(compare(text, text.replace(old, new)) != [], f"changing {old!r} to {new!r} must fail")
    for old, new in (('"mismatches": 0', '"mismatches": 1'), ('"passed": true', '"passed": false'), ('"token": 8', '"token": 9'),
                     ('"worst_candidate": 0.26072826981544495', '"worst_candidate": 0.26072826981544496'),
                     ('"elements": 192', '"elements": 193')):
        expect(old in json_text, f"fixture lacks {old!r}")
        expect(compare(json_text, json_text.replace(old, new)) != [], f"changing {old!r} to {new!r} must fail")
    # At the noise floor (max abs error ~1e-16: the candidate is the oracle up to rounding), the
    # worst location is wherever the noise peaked, so another location is accepted.
    noise = (CASES / "verify_config_llama3_pass.stdout").read_text()
    moved = noise.replace("head 0, token 2, dim 0: candidate 4.14e-03, reference 4.14e-03",
                          "head 0, token 9, dim 6: candidate 6.47e-04, reference 6.47e-04")
    expect(moved != noise and compare(noise, moved) == [], "a noise-floor worst location must be free")
    expect(compare(noise, moved.replace("verdict          pass", "verdict          MISMATCH")) != [],
           "a noise-floor case still checks its verdict")
    # The rule itself.
    expect(figures_agree("9.41e-14", "9.40e-14"), "one printed unit")
    expect(figures_agree("2.22e-16", "5.00e-16"), "below the absolute tolerance")
    expect(not figures_agree("1.00e-02", "1.02e-02"), "two printed units above the tolerance")
    expect(not figures_agree("0.009999996223416324", "0.010000096223416324"), "1e-7 at full precision")
    expect(not figures_agree("1e-05", "nan"), "NaN never agrees")
    expect(compare("a\nb\n", "a\n") != [], "a missing line fails")


WRAPPER = r'''#!/usr/bin/env python3
import re, subprocess, sys
sys.path.insert(0, {here!r})
from golden_compare_test import perturb_figures, bump_last_digit
done = subprocess.run([{sxplan!r}] + sys.argv[1:], capture_output=True, text=True)
how = {how}
sys.stdout.write(perturb_figures(done.stdout, how))
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
'''


def run_with_perturbed_oracle(sxplan, how):
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = pathlib.Path(tmp) / "sxplan"
        wrapper.write_text(WRAPPER.format(here=str(HERE), sxplan=sxplan, how=how))
        wrapper.chmod(0o755)
        done = subprocess.run([sys.executable, str(HERE / "run_cli_cases.py"), "--sxplan", str(wrapper), "--filter", "verify_"],
                              capture_output=True, text=True)
        return done.returncode, done.stdout


def end_to_end(sxplan):
    with_figures = sorted(p.stem for p in CASES.glob("*verify_*.stdout")
                          if re.search(r"max abs error|max_abs_error", p.read_text()))
    expect(len(with_figures) >= 10, f"only {len(with_figures)} verify cases print figures")
    code, out = run_with_perturbed_oracle(sxplan, "lambda n: bump_last_digit(n, 1)")
    expect(code == 0, f"one printed unit in every figure must pass every verify case:\n{out}")
    code, out = run_with_perturbed_oracle(sxplan, "lambda n: repr(float(n) * 1.05 + 1e-6)")
    failed = set(re.findall(r"^FAIL (\S+)", out, re.M))
    expect(code != 0 and failed == set(with_figures),
           f"an error above tolerance must fail exactly the {len(with_figures)} cases with figures; failed {sorted(failed)}")
    expect("beyond the figure tolerance" in out, "the failure names the tolerance")


def forced_isa_refused(sxplan):
    """An unknown SXPLAN_ISA: one line naming the variable and the rule, exit 2, no output file."""
    data = HERE / "data"
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "out.npy"
        done = subprocess.run([sxplan, "attend", "--q", str(data / "att_q.npy"), "--k", str(data / "att_k.npy"), "--v",
                               str(data / "att_v.npy"), "--group", "3", "--window", "4", "-o", str(out)],
                              capture_output=True, text=True, env=dict(os.environ, SXPLAN_ISA="avx1024"))
        expect(done.returncode == 2, f"SXPLAN_ISA=avx1024: exit {done.returncode}, not 2")
        expect(done.stderr == "sxplan attend: SXPLAN_ISA = avx1024: must be one of sse2, avx2, avx512 or auto\n",
               f"SXPLAN_ISA=avx1024: stderr {done.stderr!r}")
        expect(not out.exists(), "SXPLAN_ISA=avx1024 left an output file")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sxplan", required=True)
    opts = parser.parse_args()
    unit_tests()
    end_to_end(os.path.abspath(opts.sxplan))
    forced_isa_refused(os.path.abspath(opts.sxplan))
    for f in failures:
        print("FAIL " + f)
    print(f"golden_compare_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
