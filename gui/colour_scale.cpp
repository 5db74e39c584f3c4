// colour_scale.cpp - piecewise-linear colour ramps (a few control points, interpolated in RGB).
#include "colour_scale.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace sxplan_gui {

namespace {

struct stop {
  double r, g, b;
};

template <std::size_t n>
QRgb interpolate(const std::array<stop, n>& stops, double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
  const double x = t * static_cast<double>(n - 1);
  const std::size_t k = std::min(static_cast<std::size_t>(x), n - 2);
  const double f = x - static_cast<double>(k);
  auto mix = [&](double a, double b) { return static_cast<int>(std::lround(a + (b - a) * f)); };
  return qRgb(mix(stops[k].r, stops[k + 1].r), mix(stops[k].g, stops[k + 1].g), mix(stops[k].b, stops[k + 1].b));
}

// Sampled from the viridis colour map at 0, 1/6, ..., 1 (perceptually ordered, prints in grey).
constexpr std::array<stop, 7> viridis{{{68, 1, 84}, {68, 58, 131}, {49, 104, 142}, {33, 145, 140},
                                       {53, 183, 121}, {144, 215, 67}, {253, 231, 37}}};
constexpr std::array<stop, 3> blues{{{198, 219, 239}, {66, 146, 198}, {8, 48, 107}}};

}  // namespace

QRgb group_ramp(double t) { return interpolate(viridis, t); }
QRgb neighbor_ramp(double t) { return interpolate(blues, t); }
QRgb untrained_colour() { return qRgb(214, 39, 40); }

}  // namespace sxplan_gui
