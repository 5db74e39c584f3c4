// method_maps_plot.cpp - SVG rendering of the methods' relative-position maps side by side.
#include <selfextend/method_maps_plot.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include <selfextend/atomic_output.hpp>
#include <selfextend/error.hpp>

#include "text.hpp"

namespace selfextend {

namespace {

constexpr std::int64_t max_cells = 512;
constexpr std::int64_t min_panel = 200, max_panel = 2048;

/// Coordinates with one decimal.
std::string num(double v) { return detail::fixed(v, 1); }

/// 15800 -> "15,800": counts and positions as people read them.
std::string grouped(std::int64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// 16000 -> "16.0k", 1000000000 -> "1.00G": tick labels that fit under a 200-pixel panel.
std::string short_count(std::int64_t v) {
  const char* suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  double x = static_cast<double>(v);
  int k = 0;
  while (x >= 1000 && k < 6) {
    x /= 1000;
    ++k;
  }
  if (k == 0) return std::to_string(v);
  return detail::fixed(x, x < 10 ? 2 : (x < 100 ? 1 : 0)) + suffix[k];
}

/// Text content and attribute values: the title is the caller's.
std::string escaped(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

/// A method's parameters as `sxplan compare` prints them.
std::string parameters_label(const method_params& m) {
  switch (m.kind) {
    case method_kind::self_extend:
      return "G " + std::to_string(m.self_extend.group) + ", W " + std::to_string(m.self_extend.window) +
             (m.self_extend.shift == shift_rule::fractional ? ", float shift" : "");
    case method_kind::dca: return "chunk " + std::to_string(m.chunk_size) + ", local " + std::to_string(m.local_window);
    case method_kind::rerope: return "w " + std::to_string(m.window);
    case method_kind::leaky_rerope: {
      std::array<char, 32> b{};
      const auto end = std::to_chars(b.data(), b.data() + b.size(), m.leak, std::chars_format::general, 6).ptr;
      return "w " + std::to_string(m.window) + ", k " + std::string(b.data(), end);
    }
    case method_kind::streaming: return "sinks " + std::to_string(m.start_size) + ", recent " + std::to_string(m.recent_size);
  }
  return {};
}

/// Piecewise-linear viridis (the GUI's seven stops at 0, 1/6, ..., 1): perceptually ordered, and
/// neither end is the red of untrained positions or the grey of dropped keys.
std::string viridis(double t) {
  static constexpr std::array<std::array<double, 3>, 7> stops{{{68, 1, 84}, {68, 58, 131}, {49, 104, 142},
                                                                {33, 145, 140}, {53, 183, 121}, {144, 215, 67},
                                                                {253, 231, 37}}};
  t = std::clamp(t, 0.0, 1.0);
  const double x = t * static_cast<double>(stops.size() - 1);
  const std::size_t k = std::min(static_cast<std::size_t>(x), stops.size() - 2);
  const double f = x - static_cast<double>(k);
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string colour = "#";
  for (int c = 0; c < 3; ++c) {
    const int v = static_cast<int>(std::lround(stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f));
    colour += hex[v / 16];
    colour += hex[v % 16];
  }
  return colour;
}

constexpr const char* untrained_fill = "#D62728";
constexpr const char* dropped_fill = "#BDBDBD";
constexpr int untrained_class = method_maps_levels;
constexpr int dropped_class = method_maps_levels + 1;

/// Colour of bin b of the scale: the ramp at the bin's middle.
std::string level_fill(int b) { return viridis((b + 0.5) / method_maps_levels); }

/// The colour class of a pair (a bin of the scale, untrained_class or dropped_class); context >= 2.
int colour_class(const remapped_position& p, std::int64_t context) {
  if (!p.attended) return dropped_class;
  const double last = static_cast<double>(context - 1);
  if (p.position > last) return untrained_class;
  return std::min(method_maps_levels - 1, static_cast<int>(p.position / last * method_maps_levels));
}

std::string class_fill(int cls) {
  return cls == untrained_class ? untrained_fill : cls == dropped_class ? dropped_fill : level_fill(cls);
}

/// Boundary k of C equal parts of N tokens, floor(N k / C), without overflowing at N = 2^63 - 1.
std::int64_t boundary(std::int64_t tokens, std::int64_t k, std::int64_t cells) {
  return tokens / cells * k + tokens % cells * k / cells;
}

}  // namespace

std::string method_maps_fill(const remapped_position& p, std::int64_t context) {
  if (context < 2) throw invalid_params("context", std::to_string(context), "must be at least 2");
  return class_fill(colour_class(p, context));
}

std::string method_maps_svg(const std::vector<method_row>& rows, const comparison_request& request,
                            const method_maps_options& o) {
  if (o.cells < 1 || o.cells > max_cells)
    throw invalid_params("cells", std::to_string(o.cells), "must be in 1.." + std::to_string(max_cells));
  if (o.panel < min_panel || o.panel > max_panel)
    throw invalid_params("panel", std::to_string(o.panel),
                         "must be in " + std::to_string(min_panel) + ".." + std::to_string(max_panel));
  if (rows.empty()) throw invalid_params("rows", "0", "must hold at least one method");
  if (request.tokens < 1) throw invalid_params("tokens", std::to_string(request.tokens), "must be at least 1");
  if (request.context < 2) throw invalid_params("context", std::to_string(request.context), "must be at least 2");
  for (const method_row& r : rows) require_valid_method(r.method);

  const std::int64_t N = request.tokens, L = request.context;
  const std::int64_t C = std::min(o.cells, N);
  const double P = static_cast<double>(o.panel);
  // Panels fill a grid three wide; the legend takes the slot after the last panel.
  const std::int64_t slots = static_cast<std::int64_t>(rows.size()) + 1;
  const std::int64_t columns = std::min<std::int64_t>(slots, 3), lines = (slots + columns - 1) / columns;
  const double slot_w = P + 90, slot_h = P + 100, margin = 20, header = 64;
  const double W = margin + static_cast<double>(columns) * slot_w, H = header + static_cast<double>(lines) * slot_h;
  const auto slot_x = [&](std::int64_t s) { return margin + static_cast<double>(s % columns) * slot_w; };
  const auto slot_y = [&](std::int64_t s) { return header + static_cast<double>(s / columns) * slot_h; };
  constexpr double plot_dx = 62, plot_dy = 42;  // the square's corner inside its slot

  const std::string title = !o.title.empty() ? escaped(o.title)
      : "Relative position by method: N = " + grouped(N) + " tokens, L = " + grouped(L);
  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::string width = std::to_string(std::llround(W)), height = std::to_string(std::llround(H));
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + width + "\" height=\"" + height + "\" viewBox=\"0 0 " +
         width + " " + height + "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(W / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + title + "</text>\n";
  svg += "<text x=\"" + num(W / 2) + "\" y=\"44\" text-anchor=\"middle\" fill=\"#444\">query i down, key j across; " +
         grouped(C) + " x " + grouped(C) + " cells, each coloured by its farthest pair (last query, first key)</text>\n";

  for (std::size_t m = 0; m < rows.size(); ++m) {
    const method_row& row = rows[m];
    const double sx = slot_x(static_cast<std::int64_t>(m)), sy = slot_y(static_cast<std::int64_t>(m));
    const double left = sx + plot_dx, top = sy + plot_dy;
    const auto at = [&](std::int64_t k) { return P * static_cast<double>(k) / static_cast<double>(C); };

    // One path per colour class: adjacent cells of a row in the same class merge into one run,
    // so the text grows with the grid and the map's detail, never with N.
    std::vector<std::string> paths(method_maps_levels + 2);
    for (std::int64_t r = 0; r < C; ++r) {
      const std::int64_t query = boundary(N, r + 1, C) - 1;
      int run_class = -1;
      std::int64_t run_start = 0;
      const auto close_run = [&](std::int64_t end) {
        if (run_class < 0) return;
        paths[static_cast<std::size_t>(run_class)] += "M" + num(left + at(run_start)) + " " + num(top + at(r)) + "H" +
                                                      num(left + at(end)) + "V" + num(top + at(r + 1)) + "H" +
                                                      num(left + at(run_start)) + "Z";
      };
      for (std::int64_t c = 0; c <= r; ++c) {
        const int cls = colour_class(remap(row.method, query, boundary(N, c, C)), L);
        if (cls != run_class) {
          close_run(c);
          run_class = cls;
          run_start = c;
        }
      }
      close_run(r + 1);
    }

    const std::string name(to_string(row.method.kind));
    const std::string params = parameters_label(row.method);
    const std::string largest = detail::fixed(row.largest_position, 1);
    svg += "<g>\n<title>" + name + " (" + params + "): largest position " + largest + (row.fits ? " &lt;= " : " &gt; ") +
           "L - 1 = " + grouped(L - 1) + ", capacity " + (row.capacity ? grouped(*row.capacity) + " tokens" : "any N") +
           "</title>\n";
    svg += "<text x=\"" + num(left + P / 2) + "\" y=\"" + num(sy + 14) + "\" text-anchor=\"middle\" font-weight=\"bold\">" +
           name + ": " + params + "</text>\n";
    svg += "<text x=\"" + num(left + P / 2) + "\" y=\"" + num(sy + 31) + "\" text-anchor=\"middle\" fill=\"" +
           (row.fits ? "#2B7A3B" : "#C0392B") + "\">largest position " + largest + ", " +
           (row.fits ? "fits" : "does NOT fit") + "</text>\n";
    svg += "<g stroke=\"none\" shape-rendering=\"crispEdges\">\n";
    for (int cls = 0; cls < method_maps_levels + 2; ++cls) {
      if (paths[static_cast<std::size_t>(cls)].empty()) continue;
      svg += "<path fill=\"" + class_fill(cls) + "\" d=\"" + paths[static_cast<std::size_t>(cls)] + "\"/>\n";
    }
    svg += "</g>\n";

    // Axes: query down the left edge, key along the bottom, both from 0 at the top-left corner.
    svg += "<g stroke=\"black\" stroke-width=\"1\">\n";
    svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(top) + "\" x2=\"" + num(left) + "\" y2=\"" + num(top + P) + "\"/>\n";
    svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(top + P) + "\" x2=\"" + num(left + P) + "\" y2=\"" + num(top + P) + "\"/>\n";
    for (int k = 0; k <= 2; ++k) {
      const double d = P * k / 2;
      svg += "<line x1=\"" + num(left + d) + "\" y1=\"" + num(top + P) + "\" x2=\"" + num(left + d) + "\" y2=\"" +
             num(top + P + 5) + "\"/>\n";
      svg += "<line x1=\"" + num(left - 5) + "\" y1=\"" + num(top + d) + "\" x2=\"" + num(left) + "\" y2=\"" + num(top + d) + "\"/>\n";
    }
    svg += "</g>\n";
    const std::array<std::string, 3> ticks{"0", short_count(N / 2), short_count(N)};
    for (int k = 0; k <= 2; ++k) {
      const double d = P * k / 2;
      // The end labels lean inwards so that they never reach the next panel.
      const char* anchor = k == 0 ? "start" : k == 2 ? "end" : "middle";
      svg += "<text x=\"" + num(left + d) + "\" y=\"" + num(top + P + 18) + "\" text-anchor=\"" + anchor + "\">" +
             ticks[static_cast<std::size_t>(k)] + "</text>\n";
      svg += "<text x=\"" + num(left - 8) + "\" y=\"" + num(top + d + (k == 0 ? 9 : k == 2 ? 0 : 4)) +
             "\" text-anchor=\"end\">" + ticks[static_cast<std::size_t>(k)] + "</text>\n";
    }
    svg += "<text x=\"" + num(left + P / 2) + "\" y=\"" + num(top + P + 34) + "\" text-anchor=\"middle\">key j</text>\n";
    svg += "<text transform=\"translate(" + num(sx + 14) + " " + num(top + P / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">query i</text>\n";
    svg += "</g>\n";
  }

  // Legend: the shared scale as a bar of its bins, then the classes outside it.
  {
    const std::int64_t s = static_cast<std::int64_t>(rows.size());
    const double left = slot_x(s) + plot_dx, top = slot_y(s) + plot_dy;
    svg += "<g>\n<text x=\"" + num(left) + "\" y=\"" + num(top - 10) +
           "\" font-weight=\"bold\">relative position (all panels)</text>\n";
    svg += "<g stroke=\"none\" shape-rendering=\"crispEdges\">\n";
    for (int b = 0; b < method_maps_levels; ++b)
      svg += "<rect x=\"" + num(left + P * b / method_maps_levels) + "\" y=\"" + num(top) + "\" width=\"" +
             num(P / method_maps_levels + 0.1) + "\" height=\"18\" fill=\"" + level_fill(b) + "\"/>\n";
    svg += "</g>\n<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(P) +
           "\" height=\"18\" fill=\"none\" stroke=\"#999\"/>\n";
    svg += "<text x=\"" + num(left) + "\" y=\"" + num(top + 34) + "\" text-anchor=\"start\">0</text>\n";
    svg += "<text x=\"" + num(left + P / 2) + "\" y=\"" + num(top + 34) + "\" text-anchor=\"middle\">" + grouped((L - 1) / 2) +
           "</text>\n";
    svg += "<text x=\"" + num(left + P) + "\" y=\"" + num(top + 34) + "\" text-anchor=\"end\">L - 1 = " + grouped(L - 1) +
           "</text>\n";
    const std::array<std::pair<const char*, const char*>, 3> swatches{
        std::pair{untrained_fill, "past L - 1: never trained"}, std::pair{dropped_fill, "key not attended (evicted)"},
        std::pair{"white", "j &gt; i: masked (causal)"}};
    for (std::size_t k = 0; k < swatches.size(); ++k) {
      const double y = top + 54 + 22 * static_cast<double>(k);
      svg += "<rect x=\"" + num(left) + "\" y=\"" + num(y) + "\" width=\"18\" height=\"14\" fill=\"" + swatches[k].first +
             "\" stroke=\"#999\"/>\n";
      svg += "<text x=\"" + num(left + 26) + "\" y=\"" + num(y + 11) + "\">" + swatches[k].second + "</text>\n";
    }
    svg += "<text x=\"" + num(left) + "\" y=\"" + num(top + 134) + "\" fill=\"#444\">the bottom-left cell is (N - 1, 0)</text>\n";
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

void write_method_maps_svg(const std::filesystem::path& path, const std::vector<method_row>& rows,
                           const comparison_request& request, const method_maps_options& options) {
  const std::string svg = method_maps_svg(rows, request, options);
  atomic_output_file out(path);
  out.stream() << svg;
  out.commit();
}

}  // namespace selfextend
