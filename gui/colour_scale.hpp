// colour_scale.hpp - the colour ramps of the map and reuse views (presentation only).
#pragma once

#include <QColor>

namespace sxplan_gui {

/// Viridis-like ramp for t in [0, 1] (clamped): dark purple -> teal -> yellow. Group branch.
[[nodiscard]] QRgb group_ramp(double t);
/// Light-to-deep blue ramp for t in [0, 1] (clamped). Neighbor branch.
[[nodiscard]] QRgb neighbor_ramp(double t);
/// Colour of positions at or past L (never trained).
[[nodiscard]] QRgb untrained_colour();

}  // namespace sxplan_gui
