// method_maps_plot_test - Unit tests for method_maps_plot.hpp: the methods' maps side by side in SVG.
// The cells are read back from the SVG's paths and compared with remap(), pair by pair.
#include <selfextend/method_maps_plot.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <vector>
#include <algorithm>
#include <sstream>

#include "test_helpers.hpp"

namespace {

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// One panel's cells as drawn: (row, column) -> fill, decoded from its paths' "Mx yHx2Vy2Hx Z" runs.
using drawn_cells = std::map<std::pair<std::int64_t, std::int64_t>, std::string>;

/// The cells of panel `index` (0-based) of an SVG with `cells` cells per side of `panel` pixels.
drawn_cells panel_cells(const std::string& svg, std::size_t index, std::int64_t cells, double panel) {
  std::size_t at = 0;
  for (std::size_t k = 0; k <= index; ++k) at = svg.find("<g>\n<title>", at + 1);
  // The cells are the paths of the panel's first inner group.
  const std::size_t end = svg.find("</g>\n", svg.find("<g stroke=\"none\"", at));
  struct run {
    std::string fill;
    double x0, y0, x1, y1;
  };
  std::vector<run> runs;
  const std::string tag = "<path fill=\"";
  for (std::size_t p = svg.find(tag, at); p != std::string::npos && p < end; p = svg.find(tag, p + 1)) {
    const std::string fill = svg.substr(p + tag.size(), 7);
    const std::size_t d = svg.find("d=\"", p) + 3, d_end = svg.find('"', d);
    std::istringstream path(svg.substr(d, d_end - d));
    char m = 0, h = 0, v = 0, h2 = 0, z = 0;
    run r{fill, 0, 0, 0, 0};
    double x2 = 0;
    while (path >> m >> r.x0 >> r.y0 >> h >> r.x1 >> v >> r.y1 >> h2 >> x2 >> z) {
      EXPECT_TRUE(m == 'M' && h == 'H' && v == 'V' && h2 == 'H' && z == 'Z' && x2 == r.x0);
      runs.push_back(r);
    }
  }
  // Every row starts at column 0 and row 0 is drawn: the smallest corner is the panel's origin.
  double left = std::numeric_limits<double>::max(), top = left;
  for (const run& r : runs) {
    left = std::min(left, r.x0);
    top = std::min(top, r.y0);
  }
  const double cell = panel / static_cast<double>(cells);
  drawn_cells result;
  for (const run& r : runs) {
    const std::int64_t row = std::llround((r.y0 - top) / cell);
    EXPECT_EQ(row + 1, std::llround((r.y1 - top) / cell)) << "a run is one row high";
    for (std::int64_t c = std::llround((r.x0 - left) / cell); c < std::llround((r.x1 - left) / cell); ++c) {
      EXPECT_FALSE(result.contains({row, c})) << "cell drawn twice: " << row << ", " << c;
      result[{row, c}] = r.fill;
    }
  }
  return result;
}

selfextend::comparison_request request(std::int64_t context, std::int64_t tokens) {
  selfextend::comparison_request r;
  r.context = context;
  r.tokens = tokens;
  return r;
}

}  // namespace

TEST(MethodMapsPlotTest, SvgIsSelfContainedWithOnePanelPerMethodAndALegend) {
  const auto req = request(4096, 16000);
  const auto rows = selfextend::compare_methods(req);
  const std::string svg = selfextend::method_maps_svg(rows, req);
  EXPECT_EQ(0u, svg.rfind("<?xml", 0));
  EXPECT_EQ(1u, occurrences(svg, "<svg"));
  EXPECT_EQ(1u, occurrences(svg, "</svg>"));
  EXPECT_EQ(0u, occurrences(svg, "<script"));
  EXPECT_EQ(0u, occurrences(svg, "href="));
  EXPECT_EQ(occurrences(svg, "<g"), occurrences(svg, "</g>"));
  EXPECT_EQ(occurrences(svg, "<text"), occurrences(svg, "</text>"));
  EXPECT_EQ(rows.size(), occurrences(svg, "<g>\n<title>"));
  for (const char* text : {"N = 16,000 tokens, L = 4,096", "selfextend: G 9, W 1026", "dca: chunk 3072, local 512",
                           "rerope: w 512", "leaky-rerope: w 512, k 16", "streaming: sinks 4, recent 2000",
                           "largest position 2689.0, fits", "L - 1 = 4,095", "key not attended", "never trained",
                           "key j", "query i"})
    EXPECT_NE(std::string::npos, svg.find(text)) << text;
  EXPECT_EQ(0u, occurrences(svg, "does NOT fit"));  // every recommended plan fits at 16,000 on Llama-2
  EXPECT_EQ(svg, selfextend::method_maps_svg(rows, req));  // deterministic
}

TEST(MethodMapsPlotTest, EveryCellIsItsPairsRemapWhenThereIsOneCellPerToken) {
  // N = 40 tokens in 64 cells: one cell per token, so every causal pair is drawn once, in the
  // colour of its own remap() - including StreamingLLM's evicted keys and positions past L - 1.
  const std::int64_t N = 40, L = 16;
  const auto req = request(L, N);
  std::vector<selfextend::method_row> rows;
  std::vector<selfextend::method_params> methods(5);
  methods[0].self_extend = {3, 4, selfextend::shift_rule::integer};
  methods[1].kind = selfextend::method_kind::dca;
  methods[1].chunk_size = 12;
  methods[1].local_window = 2;
  methods[2].kind = selfextend::method_kind::rerope;
  methods[2].window = 5;
  methods[3].kind = selfextend::method_kind::leaky_rerope;
  methods[3].window = 4;
  methods[3].leak = 2;
  methods[4].kind = selfextend::method_kind::streaming;
  methods[4].start_size = 2;
  methods[4].recent_size = 6;
  for (const selfextend::method_params& m : methods) {
    selfextend::method_row r;
    r.method = m;
    r.largest_position = selfextend::largest_position(m, N);
    r.fits = r.largest_position <= static_cast<double>(L - 1);
    rows.push_back(r);
  }
  const std::string svg = selfextend::method_maps_svg(rows, req);
  std::int64_t untrained = 0, dropped = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const drawn_cells cells = panel_cells(svg, k, N, 240);
    ASSERT_EQ(static_cast<std::size_t>(N * (N + 1) / 2), cells.size()) << k;  // the triangle, nothing above it
    for (std::int64_t i = 0; i < N; ++i)
      for (std::int64_t j = 0; j <= i; ++j) {
        const selfextend::remapped_position p = selfextend::remap(rows[k].method, i, j);
        const std::string fill = selfextend::method_maps_fill(p, L);
        ASSERT_EQ(fill, cells.at({i, j})) << k << ": " << i << ", " << j;
        untrained += fill == "#D62728";
        dropped += fill == "#BDBDBD";
      }
  }
  // The picture shows both special classes: Self-Extend with G 3, W 4 (largest position 16) and
  // Leaky ReRoPE with k = 2 (21.5) pass L - 1 = 15 at N = 40; StreamingLLM drops exactly its
  // dropped_pairs.
  EXPECT_GT(untrained, 0);
  EXPECT_EQ(selfextend::dropped_pairs(rows[4].method, N), dropped);
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(2u, occurrences(svg, "does NOT fit"));
}

TEST(MethodMapsPlotTest, FillFollowsTheSharedScale) {
  EXPECT_EQ("#D62728", selfextend::method_maps_fill({true, 4096}, 4096));
  EXPECT_NE("#D62728", selfextend::method_maps_fill({true, 4095}, 4096));
  EXPECT_EQ("#D62728", selfextend::method_maps_fill({true, 4095.0625}, 4096));  // Leaky ReRoPE's fractions past L - 1
  EXPECT_EQ("#BDBDBD", selfextend::method_maps_fill({false, 0}, 4096));
  EXPECT_NE(selfextend::method_maps_fill({true, 0}, 4096), selfextend::method_maps_fill({true, 4095}, 4096));
  EXPECT_EQ(selfextend::method_maps_fill({true, 0}, 4096), selfextend::method_maps_fill({true, 63}, 4096));  // one bin
  EXPECT_THROW_MSG((void)selfextend::method_maps_fill({true, 0}, 1), selfextend::invalid_params,
                   "context = 1: must be at least 2");
}

TEST(MethodMapsPlotTest, CostDependsOnTheGridNotOnN) {
  // N = 10^9 and 2^63 - 1 draw from 64 x 64 remap calls per panel; the text stays small.
  for (const std::int64_t N : {std::int64_t{1000000000}, std::numeric_limits<std::int64_t>::max()}) {
    const auto req = request(4096, N);
    const auto rows = selfextend::compare_methods(req);
    const std::string svg = selfextend::method_maps_svg(rows, req);
    EXPECT_LT(svg.size(), 2u << 20) << N;
    // The bottom-left cell is the pair (N - 1, 0): Self-Extend's advised plan passes L there at
    // 2^63 - 1, so its panel has untrained cells exactly when its row does not fit.
    const drawn_cells cells = panel_cells(svg, 0, 64, 240);
    EXPECT_EQ(selfextend::method_maps_fill(selfextend::remap(rows[0].method, N - 1, 0), 4096), cells.at({63, 0})) << N;
    EXPECT_EQ(64u * 65u / 2u, cells.size());
  }
  // N = 1: one cell, the token with itself at position 0.
  const auto one = request(4096, 1);
  const std::string svg = selfextend::method_maps_svg(selfextend::compare_methods(one), one);
  const drawn_cells cells = panel_cells(svg, 2, 1, 240);
  ASSERT_EQ(1u, cells.size());
  EXPECT_EQ(selfextend::method_maps_fill({true, 0}, 4096), cells.at({0, 0}));
}

TEST(MethodMapsPlotTest, OptionsAreCheckedAndFollowed) {
  const auto req = request(4096, 16000);
  const auto rows = selfextend::compare_methods(req);
  selfextend::method_maps_options o;
  o.cells = 0;
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg(rows, req, o), selfextend::invalid_params, "cells = 0: must be in 1..512");
  o.cells = 513;
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg(rows, req, o), selfextend::invalid_params, "cells = 513: must be in 1..512");
  o = {};
  o.panel = 199;
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg(rows, req, o), selfextend::invalid_params, "panel = 199: must be in 200..2048");
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg({}, req), selfextend::invalid_params, "rows = 0: must hold at least one method");
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg(rows, request(4096, 0)), selfextend::invalid_params,
                   "tokens = 0: must be at least 1");
  EXPECT_THROW_MSG((void)selfextend::method_maps_svg(rows, request(1, 10)), selfextend::invalid_params,
                   "context = 1: must be at least 2");
  auto bad = rows;
  bad[2].method.window = 0;
  EXPECT_THROW((void)selfextend::method_maps_svg(bad, req), selfextend::invalid_params);

  o = {};
  o.cells = 16;
  o.panel = 300;
  o.title = "a <custom> & \"quoted\" title";
  const std::string svg = selfextend::method_maps_svg(rows, req, o);
  EXPECT_NE(std::string::npos, svg.find("a &lt;custom&gt; &amp; &quot;quoted&quot; title"));
  EXPECT_NE(std::string::npos, svg.find("16 x 16 cells"));
  EXPECT_EQ(16u * 17u / 2u, panel_cells(svg, 1, 16, 300).size());
  EXPECT_NE(svg, selfextend::method_maps_svg(rows, req));
}

TEST(MethodMapsPlotTest, WritesAtomicallyAndNothingOnFailure) {
  const auto req = request(4096, 16000);
  const auto rows = selfextend::compare_methods(req);
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_method_maps_plot_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  selfextend::write_method_maps_svg(dir / "maps.svg", rows, req);
  std::ifstream in(dir / "maps.svg");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(selfextend::method_maps_svg(rows, req), text.str());
  EXPECT_THROW(selfextend::write_method_maps_svg(dir / "missing" / "maps.svg", rows, req), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
  // Bad input throws before the file is touched: the old picture stays whole.
  selfextend::method_maps_options o;
  o.cells = 0;
  EXPECT_THROW(selfextend::write_method_maps_svg(dir / "maps.svg", rows, req, o), selfextend::invalid_params);
  std::ifstream again(dir / "maps.svg");
  std::stringstream kept;
  kept << again.rdbuf();
  EXPECT_EQ(text.str(), kept.str());
  std::filesystem::remove_all(dir);
}
