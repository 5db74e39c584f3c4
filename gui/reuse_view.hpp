// reuse_view.hpp - histogram of how many causal pairs use each relative position.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <QWidget>

namespace sxplan_gui {

/// What the histogram draws: the library's reuse statistics, copied (no arithmetic here).
struct reuse_series {
  std::vector<std::int64_t> neighbor_counts;  ///< index p: pairs at relative position p, neighbor branch
  std::vector<std::int64_t> group_counts;     ///< index p: pairs at relative position p, group branch
  std::int64_t context = 0;                   ///< L
  std::int64_t total_pairs = 0;               ///< N(N+1)/2
  double pairs_past_half = 0;                 ///< fraction of pairs at positions >= L/2
  double pairs_past_two_thirds = 0;           ///< fraction of pairs at positions >= 2L/3
  double fractional_offset = 0;               ///< float shift: group index p stands for p - offset
  friend bool operator==(const reuse_series&, const reuse_series&) = default;
};

/// Stacked bars over relative positions [0, max(L, P_max + 1)): neighbor part in blue, group
/// part in teal, one bar per pixel column (mean pairs per position over the positions it covers),
/// with the L/2, 2L/3 and L marks and the positions at or past L shaded. Hovering shows the exact
/// position under the cursor and its counts.
class reuse_view : public QWidget {
  Q_OBJECT

 public:
  explicit reuse_view(QWidget* parent = nullptr);

  void set_series(reuse_series series);
  /// Shows nothing but `why`.
  void clear(const QString& why);
  [[nodiscard]] const reuse_series& series() const { return series_; }
  [[nodiscard]] bool has_series() const { return valid_; }
  /// The relative position under widget point `at`, if inside the plot.
  [[nodiscard]] std::optional<std::int64_t> position_at(QPoint at) const;
  /// The hover line last shown, empty when none.
  [[nodiscard]] QString hover_text() const { return hover_text_; }
  [[nodiscard]] QRect plot_rect() const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  [[nodiscard]] std::int64_t x_range() const;

  reuse_series series_;
  bool valid_ = false;
  QString empty_reason_;
  QString hover_text_;
};

}  // namespace sxplan_gui
