// conformance_test - the conformance suite: its cases, its files, its checker, and an independent
// Self-Extend implementation run over it as a porter would (a correct one passes; one with a
// deliberate off-by-one window boundary or a wrong GQA head mapping fails, naming the cases).
#include <selfextend/advice.hpp>
#include <selfextend/conformance.hpp>
#include <selfextend/conformance_suite.hpp>
#include <selfextend/npy.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "test_helpers.hpp"

namespace fs = std::filesystem;
using selfextend::invalid_params;

namespace {

/// A fresh directory under the system temp dir, removed at the end of the test.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name) {
    path = fs::temp_directory_path() / ("sxplan-conformance-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

/// Deliberate porting bugs the independent implementation can be run with.
struct port_bugs {
  bool boundary_off_by_one = false;  ///< neighbor iff i - j <= W (the classic one)
  bool gqa_modulo = false;           ///< kv head h % Hkv instead of h / (H / Hkv)
};

/// Self-Extend attention written from docs/kernels.md, sharing no code with the library: what a
/// porter writes. Reads one case's q, k, v and returns [H, Nq, D].
std::vector<double> independent_port(const selfextend::manifest_case& c, const port_bugs& bugs) {
  const selfextend::npy_array qa = selfextend::read_npy(c.q, "q"), ka = selfextend::read_npy(c.k, "k"),
                              va = selfextend::read_npy(c.v, "v");
  const std::vector<double> q = qa.to_doubles(), k = ka.to_doubles(), v = va.to_doubles();
  const std::int64_t H = qa.shape[0], Nq = qa.shape[1], D = qa.shape[2], Hkv = ka.shape[0], Nk = ka.shape[1];
  const std::int64_t G = c.extension.group, W = c.extension.window, R = c.rope.rotary_dims;
  const bool float_shift = c.extension.shift == selfextend::shift_rule::fractional;
  auto frequency = [&](std::int64_t pair) {
    if (!c.rope.inv_freq.empty()) return c.rope.inv_freq[static_cast<std::size_t>(pair)];
    return std::pow(c.rope.theta, -2.0 * static_cast<double>(pair) / static_cast<double>(R));
  };
  auto rotate = [&](const double* x, double position, double scale) {
    std::vector<double> out(x, x + D);
    for (double& e : out) e *= scale;
    for (std::int64_t p = 0; p < R / 2; ++p) {
      const std::int64_t a = c.rope.style == selfextend::rope_style::neox ? p : 2 * p;
      const std::int64_t b = c.rope.style == selfextend::rope_style::neox ? p + R / 2 : 2 * p + 1;
      const double angle = position * frequency(p);
      const double cs = std::cos(angle) * c.rope.attention_factor, sn = std::sin(angle) * c.rope.attention_factor;
      const double xa = out[static_cast<std::size_t>(a)], xb = out[static_cast<std::size_t>(b)];
      out[static_cast<std::size_t>(a)] = xa * cs - xb * sn;
      out[static_cast<std::size_t>(b)] = xb * cs + xa * sn;
    }
    return out;
  };
  std::vector<double> out(static_cast<std::size_t>(H * Nq * D), 0.0);
  for (std::int64_t h = 0; h < H; ++h) {
    const std::int64_t kv = bugs.gqa_modulo ? h % Hkv : h / (H / Hkv);
    for (std::int64_t r = 0; r < Nq; ++r) {
      const std::int64_t i = Nk - Nq + r;
      const double lambda =
          c.rope.scale_base > 1 ? std::max(1.0, std::log(static_cast<double>(i) + 1) / std::log(c.rope.scale_base)) : 1.0;
      const double* qrow = &q[static_cast<std::size_t>((h * Nq + r) * D)];
      const double shift = float_shift ? static_cast<double>(W) - static_cast<double>(W) / static_cast<double>(G)
                                       : static_cast<double>(W - W / G);
      const auto q_near = rotate(qrow, static_cast<double>(i), lambda);
      const auto q_far = rotate(qrow, static_cast<double>(i / G) + shift, lambda);
      std::vector<double> scores;
      for (std::int64_t j = 0; j <= i; ++j) {
        const double* krow = &k[static_cast<std::size_t>((kv * Nk + j) * D)];
        const bool near = bugs.boundary_off_by_one ? i - j <= W : i - j < W;
        const auto kr = near ? rotate(krow, static_cast<double>(j), 1.0) : rotate(krow, static_cast<double>(j / G), 1.0);
        const auto& qr = near ? q_near : q_far;
        double dot = 0;
        for (std::int64_t d = 0; d < D; ++d) dot += qr[static_cast<std::size_t>(d)] * kr[static_cast<std::size_t>(d)];
        scores.push_back(dot / std::sqrt(static_cast<double>(D)));
      }
      double top = scores[0];
      for (const double s : scores) top = std::max(top, s);
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - top));
      double* o = &out[static_cast<std::size_t>((h * Nq + r) * D)];
      for (std::int64_t j = 0; j <= i; ++j)
        for (std::int64_t d = 0; d < D; ++d)
          o[d] += scores[static_cast<std::size_t>(j)] / sum * v[static_cast<std::size_t>((kv * Nk + j) * D + d)];
    }
  }
  return out;
}

/// Runs the independent port over every case, writes OUT/<case>.npy, checks the suite.
selfextend::conformance_report run_port(const fs::path& suite, const fs::path& outputs, const port_bugs& bugs) {
  fs::create_directories(outputs);
  for (const selfextend::manifest_case& c : selfextend::read_conformance_manifest(suite)) {
    const std::vector<std::int64_t> shape = selfextend::read_npy(c.expected, "expected").shape;
    // The long case costs O(Nq·Nk·D) per branch here; everything else is tiny.
    const std::vector<double> out = independent_port(c, bugs);
    selfextend::write_npy(outputs / (c.name + ".npy"), selfextend::npy_array::from(std::span<const double>(out), shape));
  }
  return selfextend::check_conformance_suite(suite, outputs, false);
}

std::set<std::string> failed_cases(const selfextend::conformance_report& report) {
  std::set<std::string> names;
  for (const auto& c : report.cases)
    if (c.present && !c.comparison.passed) names.insert(c.name);
  return names;
}

void copy_expected(const fs::path& suite, const fs::path& outputs) {
  fs::create_directories(outputs);
  for (const selfextend::manifest_case& c : selfextend::read_conformance_manifest(suite))
    fs::copy_file(c.expected, outputs / (c.name + ".npy"), fs::copy_options::overwrite_existing);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST(ConformanceTest, SuiteHasTheNamedCasesEachCatchingABug) {
  const std::vector<selfextend::conformance_case> cases = selfextend::conformance_cases({});
  EXPECT_GE(cases.size(), 20u);
  std::set<std::string> names;
  for (const auto& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_FALSE(c.catches.empty()) << c.name;
    EXPECT_TRUE(selfextend::validate(c.params).empty()) << c.name;
  }
  for (const char* required : {"decode_p_lt_w", "decode_p_eq_w", "decode_p_gt_w", "chunked_prefill_straddles_w",
                               "gqa_4_to_1", "float_shift_w_mod_g", "gptj_layout", "partial_rotary_phi2",
                               "log_scale_base", "group_one", "tokens_le_window", "tokens_eq_window_plus_one",
                               "window_boundary_w_mod_g_nonzero", "window_boundary_w_mod_g_zero",
                               "scaled_frequency_rule", "long_context_near_capacity"})
    EXPECT_TRUE(names.count(required)) << required;
  // Each case has the property its name claims.
  auto find = [&](const std::string& name) -> const selfextend::conformance_case& {
    for (const auto& c : cases)
      if (c.name == name) return c;
    throw std::runtime_error("no case " + name);
  };
  const auto& nonzero = find("window_boundary_w_mod_g_nonzero").params.extension;
  EXPECT_NE(0, nonzero.window % nonzero.group);
  const auto& zero = find("window_boundary_w_mod_g_zero").params.extension;
  EXPECT_EQ(0, zero.window % zero.group);
  const auto& lt = find("decode_p_lt_w").params;
  EXPECT_EQ(1, lt.shape.query_tokens);
  EXPECT_LT(lt.shape.key_tokens - 1, lt.extension.window);
  const auto& eq = find("decode_p_eq_w").params;
  EXPECT_EQ(eq.shape.key_tokens - 1, eq.extension.window);
  const auto& gt = find("decode_p_gt_w").params;
  EXPECT_GT(gt.shape.key_tokens - 1, gt.extension.window);
  const auto& chunk = find("chunked_prefill_straddles_w").params;
  EXPECT_LT(chunk.shape.key_tokens - chunk.shape.query_tokens, chunk.extension.window);
  EXPECT_GE(chunk.shape.key_tokens - 1, chunk.extension.window);
  const auto& gqa = find("gqa_4_to_1").params.shape;
  EXPECT_EQ(4, gqa.heads / gqa.kv_heads);
  EXPECT_GT(gqa.kv_heads, 1);  // with one kv head h / 4 and h % Hkv agree and the case would catch nothing
  const auto& phi = find("partial_rotary_phi2").params;
  EXPECT_EQ(80, phi.shape.head_dim);
  EXPECT_EQ(32, phi.rope.rotary_dims);
  const auto& scaled = find("scaled_frequency_rule").params.rope;
  EXPECT_EQ(32u, scaled.inv_freq.size());
  EXPECT_NE(1.0, scaled.attention_factor);
  // The long case's largest rotation is the last trained position L - 1.
  const auto& long_case = find("long_context_near_capacity").params;
  EXPECT_EQ(4095, selfextend::group_query_position(long_case.shape.key_tokens - 1, long_case.extension));
  EXPECT_EQ(long_case.shape.key_tokens, selfextend::capacity_exact(4096, long_case.extension));
}

TEST(ConformanceTest, ModelSetsTheHeadAndFeatureCasesKeepTheirFeature) {
  selfextend::conformance_options options;
  options.model = selfextend::find_model("phi-2");
  for (const auto& c : selfextend::conformance_cases(options)) {
    EXPECT_EQ(80, c.params.shape.head_dim) << c.name;
    if (c.name == "window_boundary_w_mod_g_nonzero") {
      EXPECT_EQ(32, c.params.rope.rotary_dims);
    }
    if (c.name == "gptj_layout") {
      EXPECT_EQ(selfextend::rope_style::gptj, c.params.rope.style);
    }
    if (c.name == "long_context_near_capacity") {
      EXPECT_EQ(2047, selfextend::group_query_position(c.params.shape.key_tokens - 1, c.params.extension));
    }
  }
}

TEST(ConformanceTest, DataIsSeededAndExpectedIsTheReference) {
  const auto cases = selfextend::conformance_cases({});
  const auto& c = cases.front();
  const auto a = selfextend::conformance_data(c, 7), b = selfextend::conformance_data(c, 7),
             other = selfextend::conformance_data(c, 8);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.expected, b.expected);
  EXPECT_NE(a.q, other.q);
  const std::vector<double> q(a.q.begin(), a.q.end()), k(a.k.begin(), a.k.end()), v(a.v.begin(), a.v.end());
  EXPECT_EQ(selfextend::reference_attention(c.params, q, k, v), a.expected);
}

TEST(ConformanceTest, ExpectedOutputsPassAndAPerturbedOneFailsNamingItsCase) {
  const temp_dir dir("perturbed");
  const fs::path suite = dir.path / "suite", outputs = dir.path / "out";
  const selfextend::conformance_written written = selfextend::write_conformance_suite(suite, {});
  EXPECT_TRUE(fs::is_regular_file(suite / "manifest.json"));
  copy_expected(suite, outputs);
  const selfextend::conformance_report clean = selfextend::check_conformance_suite(suite, outputs, false);
  EXPECT_TRUE(clean.passed);
  EXPECT_EQ(written.cases.size(), clean.cases.size());
  EXPECT_EQ(0, clean.failed);

  // One element of one case moved by 0.05 (its tolerance is 1e-5 + 1e-3·|r|): that case, and only it, fails.
  selfextend::npy_array out = selfextend::read_npy(outputs / "gqa_4_to_1.npy", "o");
  std::vector<double> values = out.to_doubles();
  values[values.size() / 2] += 0.05;
  selfextend::write_npy(outputs / "gqa_4_to_1.npy", selfextend::npy_array::from(std::span<const double>(values), out.shape));
  const selfextend::conformance_report broken = selfextend::check_conformance_suite(suite, outputs, false);
  EXPECT_FALSE(broken.passed);
  EXPECT_EQ((std::set<std::string>{"gqa_4_to_1"}), failed_cases(broken));

  // Missing outputs: bad input unless only_present, which skips them.
  fs::remove(outputs / "decode_p_eq_w.npy");
  EXPECT_THROW_MSG((void)selfextend::check_conformance_suite(suite, outputs, false), invalid_params,
                   "outputs = " + (outputs / "decode_p_eq_w.npy").string() +
                       ": case decode_p_eq_w: output missing (only_present skips missing outputs)");
  fs::copy_file(suite / "decode_p_eq_w" / "expected.npy", outputs / "decode_p_eq_w.npy");
  fs::remove(outputs / "gqa_4_to_1.npy");
  const selfextend::conformance_report partial = selfextend::check_conformance_suite(suite, outputs, true);
  EXPECT_TRUE(partial.passed);
  EXPECT_EQ(1, partial.skipped);
}

TEST(ConformanceTest, IndependentPortPassesAndDeliberateBugsFailTheirCases) {
  const temp_dir dir("port");
  const fs::path suite = dir.path / "suite";
  (void)selfextend::write_conformance_suite(suite, {});

  const selfextend::conformance_report correct = run_port(suite, dir.path / "correct", {});
  EXPECT_TRUE(correct.passed) << "failed: " << [&] {
    std::string s;
    for (const auto& n : failed_cases(correct)) s += n + " ";
    return s;
  }();

  // neighbor iff i - j <= W: caught where W mod G != 0, invisible where W mod G = 0 (d = W gets
  // distance W in both branches), exactly as the cases' names say.
  const std::set<std::string> boundary = failed_cases(run_port(suite, dir.path / "off_by_one", {.boundary_off_by_one = true}));
  EXPECT_TRUE(boundary.count("window_boundary_w_mod_g_nonzero"));
  EXPECT_TRUE(boundary.count("float_shift_w_mod_g"));
  EXPECT_FALSE(boundary.count("window_boundary_w_mod_g_zero"));
  EXPECT_FALSE(boundary.count("tokens_le_window"));

  const std::set<std::string> gqa = failed_cases(run_port(suite, dir.path / "gqa", {.gqa_modulo = true}));
  EXPECT_EQ((std::set<std::string>{"gqa_2_to_1", "gqa_4_to_1"}), gqa);
}

TEST(ConformanceTest, BadManifestsAndOutputsNameTheCaseAndTheFile) {
  const temp_dir dir("bad");
  const fs::path suite = dir.path / "suite", outputs = dir.path / "out";
  (void)selfextend::write_conformance_suite(suite, {});
  copy_expected(suite, outputs);
  const fs::path manifest = suite / "manifest.json";
  const std::string original = read_text(manifest);

  // An unknown key.
  std::string text = original;
  text.replace(text.find("\"catches\""), 9, "\"catched\"");
  write_text(manifest, text);
  EXPECT_THROW_MSG((void)selfextend::read_conformance_manifest(suite), invalid_params,
                   "suite = " + manifest.string() + ": case window_boundary_w_mod_g_nonzero: unknown key \"catched\"");

  // A missing file.
  write_text(manifest, original);
  fs::remove(suite / "gptj_layout" / "v.npy");
  EXPECT_THROW_MSG((void)selfextend::read_conformance_manifest(suite), invalid_params,
                   "suite = " + (suite / "gptj_layout/v.npy").string() +
                       ": case gptj_layout: v: file does not exist or is not a regular file");
  (void)selfextend::write_conformance_suite(suite, {});

  // The wrong schema version.
  text = original;
  text.replace(text.find("\"schema_version\": 1"), 19, "\"schema_version\": 2");
  write_text(manifest, text);
  EXPECT_THROW_MSG((void)selfextend::read_conformance_manifest(suite), invalid_params,
                   "suite = " + manifest.string() + ": schema_version must be 1");
  write_text(manifest, original);

  // An output of the wrong shape.
  const std::vector<double> wrong(10, 0.0);
  selfextend::write_npy(outputs / "decode_p_gt_w.npy", selfextend::npy_array::from(std::span<const double>(wrong), {10}));
  EXPECT_THROW_MSG((void)selfextend::check_conformance_suite(suite, outputs, false), invalid_params,
                   "outputs = " + (outputs / "decode_p_gt_w.npy").string() +
                       ": case decode_p_gt_w: shape [10] must be [1, 1, 64] (expected.npy's)");
  // A NaN is a failure of that case, not bad input.
  const std::vector<double> nan(64, std::nan(""));
  selfextend::write_npy(outputs / "decode_p_gt_w.npy", selfextend::npy_array::from(std::span<const double>(nan), {1, 1, 64}));
  EXPECT_EQ((std::set<std::string>{"decode_p_gt_w"}),
            failed_cases(selfextend::check_conformance_suite(suite, outputs, false)));
}

namespace {

/// Deliberate bugs of the other methods' ports.
enum class method_bug { none, dca_no_clamp, rerope_far_keys_rotated, leaky_no_query_offset, streaming_keeps_evicted };

/// The other methods written from their official code's rules (docs/methods.md), sharing no code
/// with the library: each query and key rotated at the positions the code rotates them at.
std::vector<double> method_port(const selfextend::manifest_case& c, method_bug bug) {
  const selfextend::npy_array qa = selfextend::read_npy(c.q, "q"), ka = selfextend::read_npy(c.k, "k"),
                              va = selfextend::read_npy(c.v, "v");
  const std::vector<double> q = qa.to_doubles(), k = ka.to_doubles(), v = va.to_doubles();
  const std::int64_t H = qa.shape[0], Nq = qa.shape[1], D = qa.shape[2], Hkv = ka.shape[0], Nk = ka.shape[1];
  const std::int64_t R = c.rope.rotary_dims;
  const selfextend::method_params& m = c.method;
  auto rotate = [&](const double* x, double position) {
    std::vector<double> out(x, x + D);
    for (std::int64_t p = 0; p < R / 2; ++p) {
      const double angle = position * std::pow(c.rope.theta, -2.0 * static_cast<double>(p) / static_cast<double>(R));
      const double xa = out[static_cast<std::size_t>(p)], xb = out[static_cast<std::size_t>(p + R / 2)];
      out[static_cast<std::size_t>(p)] = xa * std::cos(angle) - xb * std::sin(angle);
      out[static_cast<std::size_t>(p + R / 2)] = xb * std::cos(angle) + xa * std::sin(angle);
    }
    return out;
  };
  // (query rotation, key rotation) of the pair, or nullopt when the key is not attended.
  auto positions = [&](std::int64_t i, std::int64_t j) -> std::optional<std::pair<double, double>> {
    switch (m.kind) {
      case selfextend::method_kind::self_extend: break;
      case selfextend::method_kind::dca: {  // ChunkLlama: q_t, qc_t = (x + s).clamp(max = c), k_t = j mod s
        const std::int64_t s = m.chunk_size - m.local_window;
        const auto qc = [&](std::int64_t x) { return bug == method_bug::dca_no_clamp ? x + s : std::min(x + s, m.chunk_size); };
        const std::int64_t back = i / s - j / s;
        const double key = static_cast<double>(j % s);
        if (back == 0) return std::pair{static_cast<double>(i % s), key};
        if (back == 1) return std::pair{static_cast<double>(qc(i % s)), key};
        return std::pair{static_cast<double>(qc(s - 1)), key};
      }
      case selfextend::method_kind::rerope: {  // rerope_patch.py: true positions below w, else q at w, k unrotated
        // (A boundary at d <= w would be harmless: both sets give w there.)
        if (i - j < m.window) return std::pair{static_cast<double>(i), static_cast<double>(j)};
        return std::pair{static_cast<double>(m.window), bug == method_bug::rerope_far_keys_rotated ? static_cast<double>(j) : 0.0};
      }
      case selfextend::method_kind::leaky_rerope: {  // leaky_rerope_patch.py: the 1/k table, q offset by w (k - 1)
        if (i - j < m.window) return std::pair{static_cast<double>(i), static_cast<double>(j)};
        const double offset = bug == method_bug::leaky_no_query_offset ? 0.0 : static_cast<double>(m.window) * (m.leak - 1);
        return std::pair{(static_cast<double>(i) + offset) / m.leak, static_cast<double>(j) / m.leak};
      }
      case selfextend::method_kind::streaming: {  // the evicting cache: slots 0 .. S + R, the query last
        const std::int64_t S = m.start_size, Rc = m.recent_size;
        if (i <= S + Rc || bug == method_bug::streaming_keeps_evicted) return std::pair{static_cast<double>(i), static_cast<double>(j)};
        if (i - j <= Rc) return std::pair{static_cast<double>(S + Rc), static_cast<double>(S + Rc - (i - j))};
        if (j < S) return std::pair{static_cast<double>(S + Rc), static_cast<double>(j)};
        return std::nullopt;
      }
    }
    return std::pair{static_cast<double>(i), static_cast<double>(j)};
  };
  std::vector<double> out(static_cast<std::size_t>(H * Nq * D), 0.0);
  for (std::int64_t h = 0; h < H; ++h) {
    const std::int64_t kv = h / (H / Hkv);
    for (std::int64_t r = 0; r < Nq; ++r) {
      const std::int64_t i = Nk - Nq + r;
      const double* qrow = &q[static_cast<std::size_t>((h * Nq + r) * D)];
      std::vector<std::pair<std::int64_t, double>> scores;
      for (std::int64_t j = 0; j <= i; ++j) {
        const auto at = positions(i, j);
        if (!at) continue;
        const auto qr = rotate(qrow, at->first);
        const auto kr = rotate(&k[static_cast<std::size_t>((kv * Nk + j) * D)], at->second);
        double dot = 0;
        for (std::int64_t d = 0; d < D; ++d) dot += qr[static_cast<std::size_t>(d)] * kr[static_cast<std::size_t>(d)];
        scores.emplace_back(j, dot / std::sqrt(static_cast<double>(D)));
      }
      double top = scores[0].second, sum = 0;
      for (const auto& [j, s] : scores) top = std::max(top, s);
      for (auto& [j, s] : scores) sum += (s = std::exp(s - top));
      double* o = &out[static_cast<std::size_t>((h * Nq + r) * D)];
      for (const auto& [j, s] : scores)
        for (std::int64_t d = 0; d < D; ++d) o[d] += s / sum * v[static_cast<std::size_t>((kv * Nk + j) * D + d)];
    }
  }
  return out;
}

std::set<std::string> failed_method_cases(const fs::path& suite, const fs::path& outputs, method_bug bug) {
  fs::create_directories(outputs);
  for (const selfextend::manifest_case& c : selfextend::read_conformance_manifest(suite)) {
    const std::vector<std::int64_t> shape = selfextend::read_npy(c.expected, "expected").shape;
    selfextend::write_npy(outputs / (c.name + ".npy"), selfextend::npy_array::from(std::span<const double>(method_port(c, bug)), shape));
  }
  return failed_cases(selfextend::check_conformance_suite(suite, outputs, false));
}

}  // namespace

TEST(ConformanceTest, EachMethodsSuitePassesAnIndependentPortAndCatchesItsBugs) {
  using selfextend::method_kind;
  const temp_dir dir("methods");
  const std::pair<method_kind, std::pair<method_bug, std::set<std::string>>> expectations[] = {
      {method_kind::dca, {method_bug::dca_no_clamp, {"dca_successive_chunk", "dca_inter_chunk", "dca_decode",
                                                     "dca_chunked_prefill", "dca_gqa_4_to_1"}}},
      {method_kind::rerope, {method_bug::rerope_far_keys_rotated, {"rerope_window_boundary", "rerope_decode",
                                                                     "rerope_chunked_prefill"}}},
      {method_kind::leaky_rerope, {method_bug::leaky_no_query_offset, {"leaky_rerope_window_boundary", "leaky_rerope_decode",
                                                                       "leaky_rerope_chunked_prefill"}}},
      {method_kind::streaming, {method_bug::streaming_keeps_evicted, {"streaming_sinks_and_eviction", "streaming_no_sinks",
                                                                      "streaming_decode"}}},
  };
  for (const auto& [kind, bug] : expectations) {
    const std::string name(selfextend::to_string(kind));
    const fs::path suite = dir.path / name;
    selfextend::conformance_options options;
    options.method = kind;
    const selfextend::conformance_written written = selfextend::write_conformance_suite(suite, options);
    ASSERT_GE(written.cases.size(), 3U) << name;
    for (const selfextend::manifest_case& c : selfextend::read_conformance_manifest(suite)) {
      EXPECT_EQ(c.method.kind, kind) << c.name;  // the manifest round-trips the method and its parameters
      EXPECT_EQ(c.name.rfind(name == "leaky-rerope" ? "leaky_rerope" : name, 0), 0U) << c.name;
    }
    EXPECT_TRUE(failed_method_cases(suite, dir.path / (name + "-correct"), method_bug::none).empty()) << name;
    EXPECT_EQ(failed_method_cases(suite, dir.path / (name + "-bug"), bug.first), bug.second) << name;
  }
}
