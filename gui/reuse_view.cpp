// reuse_view.cpp - paints the reuse histogram from the library's counts (binning for display only).
#include "reuse_view.hpp"

#include <algorithm>
#include <cmath>

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include "colour_scale.hpp"
#include "gui_format.hpp"

namespace sxplan_gui {

namespace {

constexpr int margin_left = 64;
constexpr int margin_bottom = 92;  // ticks, axis title, three lines of totals
constexpr int marker_rows = 3;  // L/2, 2L/3 and L each get a row when their labels would touch
constexpr int margin_right = 20;
const QColor neighbor_colour(66, 146, 198);
const QColor group_colour(33, 145, 140);

/// A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` ticks up to `top`.
double nice_step(double top, int ticks) {
  const double raw = top / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0})
    if (m * power >= raw) return m * power;
  return 10.0 * power;
}

/// Mean pairs per position of bucket `b`: bar heights keep their unit whatever the bucket width.
double per_position(std::int64_t pairs, const selfextend::reuse_bucket& b) {
  return static_cast<double>(pairs) / static_cast<double>(b.last - b.first + 1);
}

}  // namespace

reuse_view::reuse_view(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setObjectName("reuse_view");
  setAccessibleName("reuse histogram");
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

QSize reuse_view::sizeHint() const { return {600, 420}; }
QSize reuse_view::minimumSizeHint() const { return {margin_left + margin_right + 140, margin_top() + margin_bottom + 80}; }

void reuse_view::set_stats(selfextend::reuse_stats stats) {
  stats_ = std::move(stats);
  valid_ = true;
  update();
}

void reuse_view::clear(const QString& why) {
  valid_ = false;
  stats_ = {};
  empty_reason_ = why;
  hover_text_.clear();
  update();
}

int reuse_view::margin_top() const {
  // The title, then one row per marker label.
  return fontMetrics().height() + 10 + marker_rows * (fontMetrics().height() + 2);
}

QRect reuse_view::plot_rect() const {
  return {margin_left, margin_top(), std::max(1, width() - margin_left - margin_right),
          std::max(1, height() - margin_top() - margin_bottom)};
}

std::int64_t reuse_view::x_range() const {
  return std::max<std::int64_t>({stats_.context, stats_.max_position + 1, 1});
}

std::optional<std::int64_t> reuse_view::position_at(QPoint at) const {
  const QRect plot = plot_rect();
  if (!valid_ || !plot.contains(at)) return std::nullopt;
  const std::int64_t range = x_range();
  // long double holds every 64-bit position exactly; the pixel's first position, inside [0, range).
  const long double p = std::floor(static_cast<long double>(at.x() - plot.left()) / plot.width() * range);
  return static_cast<std::int64_t>(std::min<long double>(p, static_cast<long double>(range - 1)));
}

double reuse_view::frame::x(double position) const {
  return plot.left() + position / static_cast<double>(range) * plot.width();
}

double reuse_view::frame::y(double pairs) const { return plot.bottom() - pairs / top * plot.height(); }

void reuse_view::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  const QFontMetrics fm(font());
  QFont title_font = font();
  title_font.setBold(true);
  painter.setFont(title_font);
  draw_line_fitted(painter, QRect(4, 4, width() - 8, fm.height() + 4), Qt::AlignHCenter,
                   "Reuse: causal pairs per relative position");
  painter.setFont(font());
  if (!valid_) {
    painter.drawRect(plot_rect().adjusted(0, 0, -1, -1));
    painter.drawText(plot_rect(), Qt::AlignCenter | Qt::TextWordWrap, empty_reason_);
    return;
  }
  frame f;
  f.plot = plot_rect();
  f.range = x_range();
  // One bucket per pixel column (or per position when there are fewer positions than pixels),
  // summed by the library; a bar shows the bucket's mean pairs per position so heights keep their unit.
  f.buckets = selfextend::bucket_reuse(stats_, f.range, std::min<std::int64_t>(f.range, f.plot.width()));
  double top = 0;
  for (const selfextend::reuse_bucket& b : f.buckets)
    top = std::max(top, per_position(b.neighbor, b) + per_position(b.group, b));
  f.top = top > 0 ? top * 1.08 : 1.0;
  f.step = nice_step(f.top, 5);
  draw_bars(painter, f);
  draw_axes(painter, f);
  draw_labels(painter, f);
}

void reuse_view::draw_bars(QPainter& painter, const frame& f) const {
  // Positions at or past L were never trained: shade them.
  if (f.range > stats_.context)
    painter.fillRect(QRectF(QPointF(f.x(static_cast<double>(stats_.context)), f.plot.top()),
                            QPointF(f.plot.right(), f.plot.bottom())),
                     QColor(214, 39, 40, 40));
  painter.setPen(QColor(225, 225, 225));
  for (double v = f.step; v < f.top; v += f.step)
    painter.drawLine(QPointF(f.plot.left(), f.y(v)), QPointF(f.plot.right(), f.y(v)));
  for (const selfextend::reuse_bucket& b : f.buckets) {
    const double x0 = f.x(static_cast<double>(b.first));
    const double x1 = std::max(x0 + 1.0, f.x(static_cast<double>(b.last + 1)));
    const double n = per_position(b.neighbor, b);
    const double g = per_position(b.group, b);
    if (n > 0) painter.fillRect(QRectF(QPointF(x0, f.y(n)), QPointF(x1, f.plot.bottom() + 1)), neighbor_colour);
    if (g > 0) painter.fillRect(QRectF(QPointF(x0, f.y(n + g)), QPointF(x1, f.y(n))), group_colour);
  }
}

void reuse_view::draw_axes(QPainter& painter, const frame& f) {
  const QFontMetrics fm(font());
  const QRect& plot = f.plot;
  painter.setPen(palette().color(QPalette::WindowText));
  painter.drawRect(plot.adjusted(0, 0, -1, -1));
  for (double v = 0; v < f.top; v += f.step) {
    const int y = static_cast<int>(std::lround(f.y(v)));
    painter.drawLine(plot.left() - 4, y, plot.left(), y);
    painter.drawText(QRect(0, y - fm.height() / 2, plot.left() - 7, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                     compact(v));
  }
  // As many round ticks as their labels leave room for: fewer ticks, then compact labels.
  const auto labels_for = [&](int ticks, bool short_form) {
    std::vector<std::pair<double, QString>> out;
    const double xstep = nice_step(static_cast<double>(f.range), ticks);
    for (double p = 0; p <= static_cast<double>(f.range); p += xstep) out.emplace_back(p, axis_label(p, short_form));
    return out;
  };
  const auto fits = [&](const std::vector<std::pair<double, QString>>& labels) {
    if (labels.size() < 2) return true;
    int widest = 0;
    for (const auto& [p, text] : labels) widest = std::max(widest, fm.horizontalAdvance(text));
    return widest + 12 <= f.x(labels[1].first) - f.x(labels[0].first);
  };
  std::vector<std::pair<double, QString>> labels;
  for (int ticks = 6; ticks >= 1 && labels.empty(); --ticks)
    for (const bool short_form : {false, true})
      if (std::vector<std::pair<double, QString>> l = labels_for(ticks, short_form); fits(l)) {
        labels = std::move(l);
        break;
      }
  if (labels.empty()) labels = {{0.0, QString("0")}};
  tick_rects_.clear();
  for (const auto& [p, label] : labels) {
    const int x = static_cast<int>(std::lround(f.x(p)));
    painter.drawLine(x, plot.bottom(), x, plot.bottom() + 4);
    const int lw = fm.horizontalAdvance(label);
    const int lx = std::clamp(x - lw / 2, 0, width() - lw);
    painter.drawText(lx, plot.bottom() + 6 + fm.ascent(), label);
    tick_rects_.push_back(QRect(lx, plot.bottom() + 6, lw, fm.height()));
  }
  draw_line_fitted(painter, QRect(plot.left(), plot.bottom() + 8 + fm.height(), plot.width(), fm.height()),
                   Qt::AlignCenter, "relative position p (query rotation \u2212 key rotation)");
  painter.save();
  painter.translate(14, plot.center().y());
  painter.rotate(-90);
  draw_line_fitted(painter, QRect(-plot.height() / 2, -fm.height() / 2, plot.height(), fm.height()), Qt::AlignCenter,
                   "pairs per position");
  painter.restore();
}

void reuse_view::draw_labels(QPainter& painter, const frame& f) {
  const QFontMetrics fm(font());
  const QRect& plot = f.plot;
  painter.setPen(palette().color(QPalette::WindowText));
  // Up to three lines under the axis title, across the whole view.
  painter.drawText(QRect(4, plot.bottom() + 10 + 2 * fm.height(), width() - 8, 3 * fm.height()),
                   Qt::AlignLeft | Qt::TextWordWrap,
                   QString("total pairs %1 \u00b7 pairs at or past L/2: %2 % \u00b7 past 2L/3: %3 % \u00b7 past L: %4")
                       .arg(grouped(stats_.total_pairs), fixed(100 * stats_.fraction_pairs_past_half, 1),
                            fixed(100 * stats_.fraction_pairs_past_two_thirds, 1), grouped(stats_.pairs_past_context)));

  // The marks: L/2 and 2L/3 (where the paper's rule of thumb says training thins out) and L.
  struct mark {
    double position;
    QString label;
    QColor colour;
    Qt::PenStyle style;
  };
  const double l = static_cast<double>(stats_.context);
  const mark marks[] = {{l / 2, "L/2", QColor(178, 138, 0), Qt::DashLine},
                        {2 * l / 3, "2L/3", QColor(230, 106, 0), Qt::DashLine},
                        {l, "L = " + grouped(stats_.context), QColor(198, 40, 40), Qt::SolidLine}};
  // Each label goes in the lowest row where it touches no other label; a mark's line reaches up
  // to its label, so a stacked label still points at its position.
  QFont bold = font();
  bold.setBold(true);
  const QFontMetrics bfm(bold);
  const int row_height = bfm.height() + 2;
  marker_rects_.clear();
  painter.setFont(bold);
  for (const mark& m : marks) {
    const double x = f.x(m.position);
    const int lw = bfm.horizontalAdvance(m.label);
    const int left = std::clamp(static_cast<int>(std::lround(x - lw / 2.0)), 2, std::max(2, width() - lw - 2));
    int row = 0;
    QRect rect;
    for (; row < marker_rows; ++row) {
      rect = QRect(left, plot.top() - 6 - (row + 1) * row_height, lw, row_height);
      const bool clear = std::none_of(marker_rects_.begin(), marker_rects_.end(),
                                      [&](const QRect& other) { return other.adjusted(-4, 0, 4, 0).intersects(rect); });
      if (clear) break;
    }
    marker_rects_.push_back(rect);
    painter.setPen(QPen(m.colour, 2, m.style));
    painter.drawLine(QPointF(x, rect.bottom() + 1), QPointF(x, plot.bottom()));
    painter.drawText(rect, Qt::AlignCenter, m.label);
  }
  painter.setFont(font());

  // Legend, top right inside the plot.
  const int lx = std::max(plot.left() + 4, plot.right() - 150);
  int ly = plot.top() + 8;
  painter.setPen(palette().color(QPalette::WindowText));
  for (const auto& [colour, name] : {std::pair{neighbor_colour, QString("neighbor branch")},
                                     std::pair{group_colour, QString("group branch")}}) {
    painter.fillRect(lx, ly, 14, fm.height() - 2, colour);
    painter.drawText(lx + 20, ly + fm.ascent() - 1, name);
    ly += fm.height() + 2;
  }
  if (!hover_text_.isEmpty()) {
    painter.drawText(QRect(plot.left() + 6, plot.top() + 6, plot.width() - 170, fm.height() * 2),
                     Qt::AlignLeft | Qt::TextWordWrap, hover_text_);
  }
}

void reuse_view::mouseMoveEvent(QMouseEvent* event) {
  const std::optional<std::int64_t> p = position_at(event->position().toPoint());
  QString text;
  if (p) {
    // The library's closed form for this one position: no per-position array behind the picture.
    const selfextend::reuse_bucket here =
        selfextend::count_reuse({stats_.context, stats_.tokens, stats_.extension}, *p, *p);
    const std::int64_t n = here.neighbor;
    const std::int64_t g = here.group;
    text = QString("position %1: %2 pairs (neighbor %3, group %4)")
               .arg(grouped(*p), grouped(n + g), grouped(n), grouped(g));
    if (stats_.fractional_offset != 0 && g > 0)
      text += QString("; group pairs sit at %1").arg(fixed(static_cast<double>(*p) - stats_.fractional_offset, 3));
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
  } else {
    QToolTip::hideText();
  }
  if (text != hover_text_) {
    hover_text_ = text;
    update();
  }
}

void reuse_view::leaveEvent(QEvent*) {
  QToolTip::hideText();
  hover_text_.clear();
  update();
}

}  // namespace sxplan_gui
