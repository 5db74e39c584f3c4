// map_view.hpp - the relative-position matrix as a heatmap, sampled so it stays interactive.
#pragma once

#include <cstdint>
#include <optional>

#include <QImage>
#include <QString>
#include <QWidget>

#include <utility>
#include <vector>

#include <selfextend/llamacpp.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/params.hpp>
#include <selfextend/position_map.hpp>

namespace sxplan_gui {

/// A method's name for people: "Self-Extend", "Dual Chunk Attention", "ReRoPE", ...
[[nodiscard]] QString method_title(selfextend::method_kind kind);
/// Its parameters as the views show them: "chunk 3,072, local 512", "w 512, k 16", ...
[[nodiscard]] QString method_parameters(const selfextend::method_params& m);

/// Heatmap of the Self-Extend map: row i (query) and column j (key) coloured by the relative
/// position the library's map_pair() gives the pair, neighbor branch in blues, group branch in
/// viridis, positions at or past L in red, the upper triangle blank. For large N only one pair
/// per displayed cell is evaluated (at most max_cells x max_cells calls), so N = 131072 costs
/// the same as N = 512. The boundary i - j = W is drawn as a line so the neighbor band stays
/// visible even when it is thinner than a cell. The wheel zooms around the cursor,
/// double-click or Home resets; hovering shows (i, j) -> position and branch.
class map_view : public QWidget {
  Q_OBJECT

 public:
  /// Largest number of sampled rows (and columns) per redraw.
  static constexpr int max_cells = 512;

  explicit map_view(QWidget* parent = nullptr);

  /// Shows the map of plan `p` over `tokens` tokens for a model with pretrained context `context`.
  /// Keeps the zoom when only G, W or the shift change; resets it when N changes.
  void set_plan(const selfextend::plan& p, std::int64_t tokens, std::int64_t context);
  /// Shows method `m`'s relative positions (a valid method of methods.hpp) over `tokens` tokens,
  /// one selfextend::remap() call per displayed cell, coloured by the library's
  /// method_maps_fill() (the scale of `sxplan compare --svg`: 0 ... L - 1, red past L - 1, grey
  /// where a key is not attended). Self-Extend is set_plan(m.self_extend, ...), unchanged.
  void set_method(const selfextend::method_params& m, std::int64_t tokens, std::int64_t context);
  /// The method shown, when it is not Self-Extend's exact map (set_method with another kind).
  [[nodiscard]] const std::optional<selfextend::method_params>& method() const { return method_; }
  /// Shows llama.cpp's relative positions for schedule `s` (a valid one) instead of the exact map,
  /// one selfextend::llamacpp_relative_position() call per displayed cell.
  void set_llamacpp(const selfextend::llamacpp_schedule& s, std::int64_t context);
  /// Shows nothing but `why` (invalid inputs).
  void clear(const QString& why);

  /// One pair under the cursor, as the library maps it.
  struct pair_info {
    std::int64_t query = 0;
    std::int64_t key = 0;
    double position = 0;  ///< relative position under the plan's shift
    selfextend::branch from = selfextend::branch::neighbor;  ///< exact map only
    std::optional<std::int64_t> llamacpp;  ///< llama.cpp's position, in llama.cpp mode
    bool attended = true;                  ///< false: the method drops the key (StreamingLLM)
    QString method_branch;                 ///< the method's branch scoring the pair (set_method only)
  };
  /// The pair shown at widget point `at`, if it is inside the lower triangle of the plot.
  [[nodiscard]] std::optional<pair_info> pair_at(QPoint at) const;
  /// The colour of cell (row, column) of the last redraw, row and column counted in sampled cells.
  [[nodiscard]] QRgb cell_colour(int row, int column) const { return cells_.pixel(column, row); }
  /// The pair a sampled cell stands for: (query, key) at the centres of row `row` and column `column`.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> cell_pair(int row, int column) const;
  /// The hover line ("(i, j) -> position p, branch") last shown, empty when none.
  [[nodiscard]] QString hover_text() const { return hover_text_; }
  /// Rows (= columns) sampled by the last redraw; for tests and measurements.
  [[nodiscard]] int sampled_cells() const { return sampled_cells_; }
  /// Where the axis tick labels were last drawn (tests check they never overlap).
  [[nodiscard]] const std::vector<QRect>& tick_label_rects() const { return tick_rects_; }
  /// The plot area inside the widget.
  [[nodiscard]] QRect plot_rect() const;
  /// Visible index range [first, first + span) on both axes.
  [[nodiscard]] std::int64_t view_first() const { return first_; }
  [[nodiscard]] std::int64_t view_span() const { return span_; }
  /// Zooms by `factor` (< 1 zooms in) keeping index `centre` fixed; for the wheel and the keys.
  void zoom(double factor, std::int64_t centre);
  void reset_zoom();

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  void render_cells(int cells);
  [[nodiscard]] std::int64_t index_at(double fraction) const;
  void draw_axes(QPainter& painter, const QRect& plot);
  void draw_legend(QPainter& painter, const QRect& plot) const;
  void draw_method_legend(QPainter& painter, const QRect& plot) const;

  selfextend::plan plan_;
  std::optional<selfextend::llamacpp_schedule> schedule_;  ///< set: llama.cpp's positions
  std::optional<selfextend::method_params> method_;        ///< set: another method's positions
  std::int64_t tokens_ = 0;
  std::int64_t context_ = 0;
  bool valid_ = false;
  QString empty_reason_;
  std::int64_t first_ = 0;
  std::int64_t span_ = 0;
  QImage cells_;
  bool dirty_ = true;
  int sampled_cells_ = 0;
  QString hover_text_;
  std::vector<QRect> tick_rects_;
};

}  // namespace sxplan_gui
