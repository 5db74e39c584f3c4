// reuse_plot.hpp - a standalone SVG bar chart of position reuse (target selfextend::planner_io).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <selfextend/reuse.hpp>

namespace selfextend {

/// Layout of the reuse chart.
struct reuse_plot_options {
  std::int64_t buckets = 64;   ///< bars over [0, max(L, P_max + 1)) (bucket_reuse)
  std::int64_t width = 880;    ///< SVG width in pixels
  std::int64_t height = 440;   ///< SVG height in pixels
  std::string title;           ///< empty: "Self-Extend position reuse: N = ..., G = ..., W = ..., L = ..."
  friend bool operator==(const reuse_plot_options&, const reuse_plot_options&) = default;
};

/// A self-contained SVG document (no scripts, no external resources) that opens in a browser:
/// stacked bars of neighbor and group pairs per bucket of relative positions, axes with ticks and
/// labels, a legend, and dashed marks at L/2, 2L/3 and L. Deterministic text for given inputs.
/// Throws invalid_params when buckets, width or height is below 1 (keys "buckets", "width", "height").
[[nodiscard]] std::string reuse_svg(const reuse_stats& stats, const reuse_plot_options& options = {});

/// Writes reuse_svg() to `path` atomically; std::runtime_error ("cannot write <path>: ...") on failure.
void write_reuse_svg(const std::filesystem::path& path, const reuse_stats& stats, const reuse_plot_options& options = {});

}  // namespace selfextend
