// drag_benchmark.cpp - sxplan-gui-drag-bench: how long one slider step takes, recomputation and
// repaint included, at N = 15,800, 131,072 and 10^9 (every view must stay bounded whatever N is).
// Not a test: it prints timings for docs/performance.md. Runs offscreen unless QT_QPA_PLATFORM
// says otherwise.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <QApplication>
#include <QElapsedTimer>
#include <QSlider>

#include "main_window.hpp"
#include "map_view.hpp"
#include "reuse_view.hpp"

namespace {

struct summary {
  double median_ms, p95_ms, max_ms;
};

summary summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))]; };
  return {at(0.5), at(0.95), ms.back()};
}

/// Moves `slider` through `values` like a drag: each step sets the value, lets Qt deliver the
/// signals, and repaints the window synchronously (what the user waits for).
std::vector<double> drag(sxplan_gui::main_window& w, QSlider* slider, const std::vector<int>& values) {
  std::vector<double> ms;
  for (const int v : values) {
    QElapsedTimer t;
    t.start();
    slider->setValue(v);
    QApplication::processEvents();
    w.repaint();
    ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
  }
  return ms;
}

void report(const char* what, const std::vector<double>& ms) {
  const summary s = summarise(ms);
  std::printf("%-44s steps %4zu   median %7.2f ms   p95 %7.2f ms   max %7.2f ms\n", what, ms.size(), s.median_ms,
              s.p95_ms, s.max_ms);
}

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  for (const std::int64_t tokens : {std::int64_t{15800}, std::int64_t{131072}, std::int64_t{1'000'000'000}}) {
    sxplan_gui::start_options o;
    o.model = "llama-2-7b";
    o.tokens = tokens;
    o.group = 8;
    o.window = 1024;
    o.use_settings = false;
    sxplan_gui::main_window w(o);
    w.resize(1440, 900);
    w.show();
    QApplication::processEvents();
    w.repaint();
    std::printf("N = %lld, window 1440x900, map sampled at %d x %d pairs\n", static_cast<long long>(tokens),
                w.map()->sampled_cells(), w.map()->sampled_cells());
    std::vector<int> groups;
    for (int round = 0; round < 3; ++round) {
      for (int g = 1; g <= 64; ++g) groups.push_back(g);
      for (int g = 63; g >= 2; --g) groups.push_back(g);
    }
    report("  drag G 1..64..1 (x3), W = 1024", drag(w, w.group_slider(), groups));
    w.group_slider()->setValue(8);
    std::vector<int> windows;
    for (int round = 0; round < 3; ++round) {
      for (int v = 256; v <= 3072; v += 16) windows.push_back(v);
      for (int v = 3056; v >= 272; v -= 16) windows.push_back(v);
    }
    report("  drag W 256..3072..256 step 16 (x3), G = 8", drag(w, w.window_slider(), windows));
    // The map alone, to separate it from the rest of the update.
    std::vector<double> map_ms;
    for (int g = 1; g <= 64; ++g) {
      w.group_slider()->setValue(g);
      QElapsedTimer t;
      t.start();
      w.map()->repaint();
      map_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
    }
    report("  map view repaint only, G 1..64", map_ms);
    std::vector<double> reuse_ms;
    for (int g = 1; g <= 64; ++g) {
      w.group_slider()->setValue(g);
      QElapsedTimer t;
      t.start();
      w.reuse()->repaint();
      reuse_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
    }
    report("  reuse view repaint only, G 1..64", reuse_ms);
  }
  return 0;
}
