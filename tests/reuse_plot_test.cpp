// reuse_plot_test - Unit tests for reuse_plot.hpp: the standalone SVG chart of position reuse.
#include <selfextend/reuse_plot.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_helpers.hpp"

namespace {

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

selfextend::reuse_stats seed_stats() {
  return selfextend::compute_reuse({4096, 15800, {8, 1024, selfextend::shift_rule::integer}});
}

}  // namespace

TEST(ReusePlotTest, SvgIsSelfContainedWithAxesLegendAndMarks) {
  const std::string svg = selfextend::reuse_svg(seed_stats());
  EXPECT_EQ(0u, svg.rfind("<?xml", 0));  // an XML prolog, then one <svg> element
  EXPECT_EQ(1u, occurrences(svg, "<svg"));
  EXPECT_EQ(1u, occurrences(svg, "</svg>"));
  EXPECT_EQ(0u, occurrences(svg, "<script"));
  EXPECT_EQ(0u, occurrences(svg, "href="));  // no external resources
  for (const char* text : {"L/2", "2L/3", "neighbor", "group", "N = 15800, G = 8, W = 1024, L = 4096"})
    EXPECT_NE(std::string::npos, svg.find(text)) << text;
  // Every element opened is closed: a crude well-formedness check without an XML parser.
  EXPECT_EQ(occurrences(svg, "<g"), occurrences(svg, "</g>"));
  EXPECT_EQ(occurrences(svg, "<text"), occurrences(svg, "</text>"));
}

TEST(ReusePlotTest, OutputIsDeterministicAndFollowsOptions) {
  const auto stats = seed_stats();
  selfextend::reuse_plot_options options;
  options.buckets = 16;
  options.width = 640;
  options.title = "custom title";
  const std::string a = selfextend::reuse_svg(stats, options);
  EXPECT_EQ(a, selfextend::reuse_svg(stats, options));
  EXPECT_NE(std::string::npos, a.find("width=\"640\""));
  EXPECT_NE(std::string::npos, a.find("custom title"));
  EXPECT_NE(a, selfextend::reuse_svg(stats));
}

TEST(ReusePlotTest, RejectsBadOptionsAndLeavesNoFileOnFailure) {
  selfextend::reuse_plot_options options;
  options.buckets = 0;
  EXPECT_THROW((void)selfextend::reuse_svg(seed_stats(), options), selfextend::invalid_params);
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_reuse_plot_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  selfextend::write_reuse_svg(dir / "plot.svg", seed_stats());
  std::ifstream in(dir / "plot.svg");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(selfextend::reuse_svg(seed_stats()), text.str());
  EXPECT_THROW(selfextend::write_reuse_svg(dir / "missing" / "plot.svg", seed_stats()), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
}
