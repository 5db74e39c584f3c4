// reuse_view.hpp - histogram of how many causal pairs use each relative position.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <QWidget>

class QPainter;

#include <selfextend/reuse.hpp>

namespace sxplan_gui {

/// The library's reuse statistics (the arrayless selfextend::summarise_reuse() is enough) as stacked bars over relative positions [0, max(L, P_max + 1)):
/// neighbor part in blue, group part in teal, one bar per pixel column from
/// selfextend::bucket_reuse() (drawn as mean pairs per position of the bucket, so heights keep
/// their unit whatever the zoom), with the L/2, 2L/3 and L marks and the positions at or past L
/// shaded. Hovering shows the exact position under the cursor and its counts.
class reuse_view : public QWidget {
  Q_OBJECT

 public:
  explicit reuse_view(QWidget* parent = nullptr);

  void set_stats(selfextend::reuse_stats stats);
  /// Shows nothing but `why`.
  void clear(const QString& why);
  /// The statistics drawn (as the library returned them).
  [[nodiscard]] const selfextend::reuse_stats& stats() const { return stats_; }
  [[nodiscard]] bool has_stats() const { return valid_; }
  /// The relative position under widget point `at`, if inside the plot.
  [[nodiscard]] std::optional<std::int64_t> position_at(QPoint at) const;
  /// The hover line last shown, empty when none.
  [[nodiscard]] QString hover_text() const { return hover_text_; }
  [[nodiscard]] QRect plot_rect() const;
  /// Where the x tick labels and the L/2, 2L/3, L labels were last drawn (tests: no overlaps).
  [[nodiscard]] const std::vector<QRect>& tick_label_rects() const { return tick_rects_; }
  [[nodiscard]] const std::vector<QRect>& marker_label_rects() const { return marker_rects_; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  /// What one repaint draws: the plot, its scales and the library's buckets.
  struct frame {
    QRect plot;
    std::int64_t range = 1;  ///< positions [0, range) across the plot
    double top = 1;          ///< pairs per position at the top edge
    double step = 1;         ///< between horizontal grid lines
    std::vector<selfextend::reuse_bucket> buckets;
    [[nodiscard]] double x(double position) const;
    [[nodiscard]] double y(double pairs) const;
  };
  void draw_bars(QPainter& painter, const frame& f) const;
  void draw_axes(QPainter& painter, const frame& f);
  /// The totals line, the L/2, 2L/3 and L marks, the legend and the hover line.
  void draw_labels(QPainter& painter, const frame& f);
  [[nodiscard]] int margin_top() const;
  [[nodiscard]] std::int64_t x_range() const;

  selfextend::reuse_stats stats_;
  bool valid_ = false;
  QString empty_reason_;
  QString hover_text_;
  std::vector<QRect> tick_rects_;
  std::vector<QRect> marker_rects_;
};

}  // namespace sxplan_gui
