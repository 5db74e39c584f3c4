// method_maps_plot.hpp - a standalone SVG of the position-remap methods' maps side by side
// (target selfextend::planner_io): what `sxplan compare --svg` writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <selfextend/compare.hpp>

namespace selfextend {

/// Layout of the side-by-side maps.
struct method_maps_options {
  std::int64_t cells = 64;   ///< grid cells per side of each panel, 1..512; min(cells, N) are drawn
  std::int64_t panel = 240;  ///< side of each panel's square in pixels, 200..2048
  std::string title;         ///< empty: "Relative position by method: N = ... tokens, L = ..."
  friend bool operator==(const method_maps_options&, const method_maps_options&) = default;
};

/// The colour classes of a cell, shared by every panel (and by a front end that wants the same
/// legend): a relative position p in [0, L - 1] falls in one of `method_maps_levels` equal bins of
/// the scale, p > L - 1 is never trained, and a key the method drops is not attended.
inline constexpr int method_maps_levels = 64;

/// The fill ("#RRGGBB") of a pair that remaps to `p` with a pretrained window of L = `context`:
/// bin floor(p / (L - 1) * levels) of a viridis scale for p <= L - 1, red past L - 1, grey when
/// not attended. Throws invalid_params when context < 2.
[[nodiscard]] std::string method_maps_fill(const remapped_position& p, std::int64_t context);

/// A self-contained SVG document (no scripts, no external resources): one panel per row of
/// compare_methods(), in the rows' order, each the causal triangle of N tokens (query i down, key j
/// across) downsampled to C x C cells, C = min(cells, N). The cell of query tokens [a, b) and key
/// tokens [c, d) shows remap() of its farthest pair (b - 1, c): the cell's largest distance, so the
/// bottom-left cell is the pair (N - 1, 0) and a cell past L - 1 is never a rounding artefact.
/// Positions 0 ... L - 1 share one colour scale over all panels; positions past L - 1 and keys not
/// attended (StreamingLLM's evicted keys) have colours of their own; cells above the diagonal are
/// blank. Panel titles carry the method's parameters, its largest position and whether it fits;
/// a legend shows the scale. Time O(C^2) remap calls and memory O(C^2) text, whatever N (10^9
/// draws like 16,000). Deterministic text for given inputs.
/// Throws invalid_params naming the key: "cells" outside 1..512, "panel" outside 200..2048,
/// "rows" empty, "tokens" < 1, "context" < 2, or a row's invalid method.
[[nodiscard]] std::string method_maps_svg(const std::vector<method_row>& rows, const comparison_request& request,
                                          const method_maps_options& options = {});

/// Writes method_maps_svg() to `path` atomically (atomic_output.hpp); bad inputs throw before the
/// file is opened; std::runtime_error ("cannot write <path>: ...") on failure.
void write_method_maps_svg(const std::filesystem::path& path, const std::vector<method_row>& rows,
                           const comparison_request& request, const method_maps_options& options = {});

}  // namespace selfextend
