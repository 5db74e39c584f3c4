// reuse_plot.cpp - SVG rendering of reuse statistics.
#include <selfextend/reuse_plot.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

#include <selfextend/atomic_output.hpp>
#include <selfextend/error.hpp>

#include "text.hpp"

namespace selfextend {

namespace {

/// Coordinates with one decimal.
std::string num(double v) { return detail::fixed(v, 1); }

/// 15800 -> "15,800"; 124000000 -> "124M"-style short labels for axis ticks.
std::string short_count(std::int64_t v) {
  const char* suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  double x = static_cast<double>(v);
  int k = 0;
  while (x >= 1000 && k < 6) {
    x /= 1000;
    ++k;
  }
  if (k == 0) return std::to_string(v);
  std::array<char, 32> b{};
  const auto end = std::to_chars(b.data(), b.data() + b.size(), x, std::chars_format::fixed, x < 10 ? 2 : 1).ptr;
  return std::string(b.data(), end) + suffix[k];
}

}  // namespace

std::string reuse_svg(const reuse_stats& s, const reuse_plot_options& o) {
  if (o.buckets < 1) throw invalid_params("buckets", std::to_string(o.buckets), "must be at least 1");
  if (o.width < 1) throw invalid_params("width", std::to_string(o.width), "must be at least 1");
  if (o.height < 1) throw invalid_params("height", std::to_string(o.height), "must be at least 1");
  const std::int64_t L = s.context;
  const std::int64_t range_end = std::max(L, s.max_position + 1);
  const auto bars = bucket_reuse(s, range_end, o.buckets);
  std::int64_t top = 1;
  for (const reuse_bucket& b : bars) top = std::max(top, b.neighbor + b.group);

  const double W = static_cast<double>(o.width), H = static_cast<double>(o.height);
  const double left = 78, right = 44, upper = 56, lower = 62;
  const double pw = W - left - right, ph = H - upper - lower;
  const auto x_of = [&](double position) { return left + pw * position / static_cast<double>(range_end); };
  const auto y_of = [&](double count) { return upper + ph * (1 - count / static_cast<double>(top)); };

  const std::string title = !o.title.empty() ? o.title
      : "Self-Extend position reuse: N = " + std::to_string(s.tokens) + ", G = " + std::to_string(s.extension.group) +
            ", W = " + std::to_string(s.extension.window) + ", L = " + std::to_string(L);
  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) + "\" height=\"" +
         std::to_string(o.height) + "\" viewBox=\"0 0 " + std::to_string(o.width) + " " + std::to_string(o.height) +
         "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(W / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + title + "</text>\n";

  // Bars: neighbor at the bottom, group stacked on top.
  svg += "<g stroke=\"none\">\n";
  for (const reuse_bucket& b : bars) {
    const double x0 = x_of(static_cast<double>(b.first)), x1 = x_of(static_cast<double>(b.last + 1));
    const double w = std::max(0.5, x1 - x0 - (x1 - x0 > 3 ? 1 : 0));
    const double yn = y_of(static_cast<double>(b.neighbor)), yg = y_of(static_cast<double>(b.neighbor + b.group));
    const std::string tip = "positions " + std::to_string(b.first) + "-" + std::to_string(b.last) + ": " +
                            std::to_string(b.neighbor) + " neighbor, " + std::to_string(b.group) + " group pairs";
    if (b.neighbor > 0)
      svg += "<rect x=\"" + num(x0) + "\" y=\"" + num(yn) + "\" width=\"" + num(w) + "\" height=\"" + num(upper + ph - yn) +
             "\" fill=\"#4C72B0\"><title>" + tip + "</title></rect>\n";
    if (b.group > 0)
      svg += "<rect x=\"" + num(x0) + "\" y=\"" + num(yg) + "\" width=\"" + num(w) + "\" height=\"" + num(yn - yg) +
             "\" fill=\"#DD8452\"><title>" + tip + "</title></rect>\n";
  }
  svg += "</g>\n";

  // Axes, ticks and labels.
  svg += "<g stroke=\"black\" stroke-width=\"1\">\n";
  svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(upper + ph) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(upper + ph) + "\"/>\n";
  svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(upper) + "\" x2=\"" + num(left) + "\" y2=\"" + num(upper + ph) + "\"/>\n";
  svg += "</g>\n<g text-anchor=\"middle\">\n";
  for (int k = 0; k <= 4; ++k) {
    const std::int64_t position = range_end * k / 4;
    const double x = x_of(static_cast<double>(position));
    svg += "<line x1=\"" + num(x) + "\" y1=\"" + num(upper + ph) + "\" x2=\"" + num(x) + "\" y2=\"" + num(upper + ph + 5) + "\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + num(x) + "\" y=\"" + num(upper + ph + 19) + "\">" + std::to_string(position) + "</text>\n";
  }
  svg += "</g>\n<g text-anchor=\"end\">\n";
  for (int k = 0; k <= 4; ++k) {
    const std::int64_t count = top * k / 4;
    const double y = y_of(static_cast<double>(count));
    svg += "<line x1=\"" + num(left - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left) + "\" y2=\"" + num(y) + "\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + num(left - 8) + "\" y=\"" + num(y + 4) + "\">" + short_count(count) + "</text>\n";
  }
  svg += "</g>\n";
  svg += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(H - 14) +
         "\" text-anchor=\"middle\">relative position (integer shift; " + std::to_string(bars.size()) + " buckets of " +
         std::to_string(bars.front().last - bars.front().first + 1) + ")</text>\n";
  svg += "<text transform=\"translate(16 " + num(upper + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">pairs (i, j) per bucket</text>\n";

  // Marks at L/2, 2L/3 and L (dashed), labelled at the top of the plot.
  const std::array<std::pair<double, std::string>, 3> marks = {
      std::pair{static_cast<double>(L) / 2, std::string("L/2")}, std::pair{2 * static_cast<double>(L) / 3, std::string("2L/3")},
      std::pair{static_cast<double>(L), std::string("L")}};
  for (const auto& [position, label] : marks) {
    const double x = x_of(position);
    svg += "<line x1=\"" + num(x) + "\" y1=\"" + num(upper - 6) + "\" x2=\"" + num(x) + "\" y2=\"" + num(upper + ph) +
           "\" stroke=\"#C44E52\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n";
    svg += "<text x=\"" + num(x) + "\" y=\"" + num(upper - 10) + "\" text-anchor=\"middle\" fill=\"#C44E52\">" + label + " = " +
           (position == static_cast<double>(static_cast<std::int64_t>(position)) ? std::to_string(static_cast<std::int64_t>(position))
                                                                               : num(position)) +
           "</text>\n";
  }

  // Legend in the upper right corner of the plot area.
  const double lx = left + pw - 190, ly = upper + 10;
  svg += "<rect x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" width=\"182\" height=\"62\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999\"/>\n";
  svg += "<rect x=\"" + num(lx + 10) + "\" y=\"" + num(ly + 9) + "\" width=\"14\" height=\"10\" fill=\"#4C72B0\"/>\n";
  svg += "<text x=\"" + num(lx + 30) + "\" y=\"" + num(ly + 18) + "\">neighbor (i - j &lt; W)</text>\n";
  svg += "<rect x=\"" + num(lx + 10) + "\" y=\"" + num(ly + 27) + "\" width=\"14\" height=\"10\" fill=\"#DD8452\"/>\n";
  svg += "<text x=\"" + num(lx + 30) + "\" y=\"" + num(ly + 36) + "\">group (i - j &gt;= W)</text>\n";
  svg += "<line x1=\"" + num(lx + 10) + "\" y1=\"" + num(ly + 50) + "\" x2=\"" + num(lx + 24) + "\" y2=\"" + num(ly + 50) +
         "\" stroke=\"#C44E52\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\n";
  svg += "<text x=\"" + num(lx + 30) + "\" y=\"" + num(ly + 54) + "\">L/2, 2L/3, L marks</text>\n";
  svg += "</svg>\n";
  return svg;
}

void write_reuse_svg(const std::filesystem::path& path, const reuse_stats& stats, const reuse_plot_options& options) {
  const std::string svg = reuse_svg(stats, options);
  atomic_output_file out(path);
  out.stream() << svg;
  out.commit();
}

}  // namespace selfextend
