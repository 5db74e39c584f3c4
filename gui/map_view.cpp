// map_view.cpp - the heatmap: one library map_pair() call per displayed cell, cached in an image.
#include "map_view.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QWheelEvent>

#include <selfextend/error.hpp>
#include <selfextend/method_maps_plot.hpp>

#include "colour_scale.hpp"
#include "gui_format.hpp"

namespace sxplan_gui {

namespace {

constexpr int margin_left = 78;
constexpr int margin_top = 30;
constexpr int margin_bottom = 78;  // ticks, axis title, two lines of plan info
constexpr int margin_right = 118;
constexpr QRgb blank_colour = 0xfff0f0f0;

__extension__ typedef __int128 wide;  // index arithmetic near 2^63

}  // namespace

QString method_title(selfextend::method_kind kind) {
  switch (kind) {
    case selfextend::method_kind::self_extend: return "Self-Extend";
    case selfextend::method_kind::dca: return "Dual Chunk Attention";
    case selfextend::method_kind::rerope: return "ReRoPE";
    case selfextend::method_kind::leaky_rerope: return "Leaky ReRoPE";
    case selfextend::method_kind::streaming: return "StreamingLLM";
  }
  return {};
}

QString method_parameters(const selfextend::method_params& m) {
  switch (m.kind) {
    case selfextend::method_kind::self_extend:
      return QString("G %1, W %2").arg(grouped(m.self_extend.group), grouped(m.self_extend.window));
    case selfextend::method_kind::dca:
      return QString("chunk %1, local %2").arg(grouped(m.chunk_size), grouped(m.local_window));
    case selfextend::method_kind::rerope: return QString("w %1").arg(grouped(m.window));
    case selfextend::method_kind::leaky_rerope: return QString("w %1, k %2").arg(grouped(m.window)).arg(m.leak);
    case selfextend::method_kind::streaming:
      return QString("sinks %1, recent %2").arg(grouped(m.start_size), grouped(m.recent_size));
  }
  return {};
}

map_view::map_view(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setAccessibleName("map view");
  setObjectName("map_view");
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

QSize map_view::sizeHint() const { return {560, 520}; }
QSize map_view::minimumSizeHint() const { return {margin_left + margin_right + 120, margin_top + margin_bottom + 120}; }

void map_view::set_llamacpp(const selfextend::llamacpp_schedule& s, std::int64_t context) {
  const std::int64_t tokens = s.tokens + s.generate;
  set_plan({s.ga_n, selfextend::effective_window(s), selfextend::shift_rule::integer}, tokens, context);
  schedule_ = s;
}

void map_view::set_method(const selfextend::method_params& m, std::int64_t tokens, std::int64_t context) {
  set_plan(m.self_extend, tokens, context);
  if (m.kind != selfextend::method_kind::self_extend) method_ = m;
}

void map_view::set_plan(const selfextend::plan& p, std::int64_t tokens, std::int64_t context) {
  schedule_.reset();
  method_.reset();
  if (tokens != tokens_ || !valid_) {
    first_ = 0;
    span_ = tokens;
  }
  plan_ = p;
  tokens_ = tokens;
  context_ = context;
  valid_ = true;
  dirty_ = true;
  update();
}

void map_view::clear(const QString& why) {
  valid_ = false;
  empty_reason_ = why;
  hover_text_.clear();
  cells_ = QImage();
  update();
}

QRect map_view::plot_rect() const {
  const int w = width() - margin_left - margin_right;
  const int h = height() - margin_top - margin_bottom;
  const int side = std::max(1, std::min(w, h));
  return {margin_left, margin_top, side, side};
}

std::int64_t map_view::index_at(double fraction) const {
  // long double holds every 64-bit index exactly, so the last index stays reachable at any N.
  const long double offset = std::floor(static_cast<long double>(std::clamp(fraction, 0.0, 1.0)) * span_);
  return first_ + static_cast<std::int64_t>(std::min<long double>(offset, static_cast<long double>(span_ - 1)));
}

std::pair<std::int64_t, std::int64_t> map_view::cell_pair(int row, int column) const {
  const auto centre = [&](int k) {
    return first_ + static_cast<std::int64_t>((2 * static_cast<wide>(k) + 1) * span_ / (2 * sampled_cells_));
  };
  return {centre(row), centre(column)};
}

void map_view::render_cells(int cells) {
  // Cell k stands for the index at its centre: the pair shown is a real pair of the map, never
  // an average, so colours are exact positions the library reports.
  cells_ = QImage(cells, cells, QImage::Format_RGB32);
  std::vector<std::int64_t> index(static_cast<std::size_t>(cells));
  for (int k = 0; k < cells; ++k)
    index[static_cast<std::size_t>(k)] =
        first_ + static_cast<std::int64_t>((2 * static_cast<wide>(k) + 1) * span_ / (2 * cells));
  // Another method: the library's remap() and its colour for the pair, as `compare --svg` draws it.
  // The library names one of a few dozen colours; each is parsed once.
  std::map<std::string, QRgb> parsed;
  const auto method_colour = [&](std::int64_t i, std::int64_t j) {
    const std::string fill = selfextend::method_maps_fill(selfextend::remap(*method_, i, j), context_);
    auto it = parsed.find(fill);
    if (it == parsed.end()) it = parsed.emplace(fill, QColor(QString::fromStdString(fill)).rgb()).first;
    return it->second;
  };
  const double last_trained = static_cast<double>(context_ - 1);
  const double window = static_cast<double>(plan_.window);
  for (int r = 0; r < cells; ++r) {
    auto* line = reinterpret_cast<QRgb*>(cells_.scanLine(r));
    const std::int64_t i = index[static_cast<std::size_t>(r)];
    for (int c = 0; c < cells; ++c) {
      const std::int64_t j = index[static_cast<std::size_t>(c)];
      if (j > i) {
        line[c] = blank_colour;
        continue;
      }
      if (method_) {
        line[c] = method_colour(i, j);
        continue;
      }
      if (schedule_) {
        // llama.cpp: blue where the pair kept its true distance inside the window, else by position.
        const std::int64_t q = selfextend::llamacpp_relative_position(*schedule_, i, j);
        const auto position = static_cast<double>(q);
        if (position > last_trained)
          line[c] = untrained_colour();
        else if (q == i - j && q < plan_.window)
          line[c] = neighbor_ramp(position / std::max(1.0, window - 1));
        else
          line[c] = group_ramp(position / std::max(1.0, last_trained));
        continue;
      }
      const selfextend::mapped_position m = selfextend::map_pair(i, j, plan_);
      const double position = m.from == selfextend::branch::neighbor
                                  ? static_cast<double>(m.position)
                                  : selfextend::map_pair_real(i, j, plan_);
      if (position > last_trained)
        line[c] = untrained_colour();
      else if (m.from == selfextend::branch::neighbor)
        line[c] = neighbor_ramp(position / std::max(1.0, window - 1));
      else
        line[c] = group_ramp(position / std::max(1.0, last_trained));
    }
  }
  sampled_cells_ = cells;
  dirty_ = false;
}

void map_view::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing, false);
  const QRect plot = plot_rect();
  QFont title_font = font();
  title_font.setBold(true);
  painter.setFont(title_font);
  draw_line_fitted(painter, QRect(4, 4, width() - 8, margin_top - 6), Qt::AlignHCenter | Qt::AlignVCenter,
                   schedule_ ? "llama.cpp's relative position of each pair (query i, key j)"
                   : method_ ? QString("%1: relative position of each pair (query i, key j)").arg(method_title(method_->kind))
                             : "Relative position of each pair (query i, key j)");
  painter.setFont(font());
  if (!valid_ || span_ < 1) {
    painter.drawRect(plot.adjusted(0, 0, -1, -1));
    painter.drawText(plot, Qt::AlignCenter | Qt::TextWordWrap, empty_reason_);
    return;
  }
  const int cells = static_cast<int>(std::min<std::int64_t>({span_, plot.width(), max_cells}));
  if (dirty_ || cells_.width() != cells) render_cells(cells);
  painter.drawImage(plot, cells_);

  // The boundary i - j = W between the neighbor band (below the diagonal) and the group branch:
  // drawn in index coordinates so it shows even when the band is thinner than a cell.
  const double scale = static_cast<double>(plot.width()) / static_cast<double>(span_);
  auto to_x = [&](double j) { return plot.left() + (j - static_cast<double>(first_)) * scale; };
  auto to_y = [&](double i) { return plot.top() + (i - static_cast<double>(first_)) * scale; };
  painter.save();
  painter.setClipRect(plot);
  painter.setRenderHint(QPainter::Antialiasing, true);
  const double w = static_cast<double>(plan_.window);
  const double lo = static_cast<double>(first_);
  const double hi = static_cast<double>(first_ + span_);
  if (!method_) {  // Self-Extend's and llama.cpp's window; another method's parameters are in the info line
    QPen boundary(QColor(255, 255, 255), 2.0, Qt::DashLine);
    painter.setPen(boundary);
    painter.drawLine(QPointF(to_x(lo - w), to_y(lo)), QPointF(to_x(hi - w), to_y(hi)));
  }
  QPen edge(QColor(30, 30, 30), 1.0);
  painter.setPen(edge);
  painter.drawLine(QPointF(to_x(lo), to_y(lo)), QPointF(to_x(hi), to_y(hi)));
  painter.restore();
  painter.setPen(palette().color(QPalette::WindowText));
  painter.drawRect(plot.adjusted(0, 0, -1, -1));
  draw_axes(painter, plot);
  draw_legend(painter, plot);
}

void map_view::draw_axes(QPainter& painter, const QRect& plot) {
  const QFontMetrics fm(font());
  painter.setPen(palette().color(QPalette::WindowText));
  // As many ticks as the labels leave room for (4, 2 or just the ends), digits grouped when they
  // fit, else compact: labels never run together, whatever N and the window size.
  const auto label_at = [&](int t, int ticks, bool short_form) {
    return axis_label(static_cast<double>(first_ + static_cast<std::int64_t>(static_cast<wide>(span_) * t / ticks)), short_form);
  };
  const auto fits = [&](int ticks, bool short_form) {
    int widest = 0;
    for (int t = 0; t <= ticks; ++t) widest = std::max(widest, fm.horizontalAdvance(label_at(t, ticks, short_form)));
    return widest + 10 <= plot.width() / ticks;
  };
  int ticks = 1;
  bool short_form = true;
  for (const auto& [t, s] : {std::pair{4, false}, std::pair{4, true}, std::pair{2, false}, std::pair{2, true},
                             std::pair{1, false}})
    if (fits(t, s)) {
      ticks = t;
      short_form = s;
      break;
    }
  tick_rects_.clear();
  for (int t = 0; t <= ticks; ++t) {
    const int offset = static_cast<int>(std::lround(static_cast<double>(plot.width()) * t / ticks));
    const QString label = label_at(t, ticks, short_form);
    // x axis: key j
    painter.drawLine(plot.left() + offset, plot.bottom(), plot.left() + offset, plot.bottom() + 4);
    const int lw = fm.horizontalAdvance(label);
    const int lx = std::clamp(plot.left() + offset - lw / 2, 0, width() - lw);
    painter.drawText(lx, plot.bottom() + 6 + fm.ascent(), label);
    tick_rects_.push_back(QRect(lx, plot.bottom() + 6, lw, fm.height()));
    // y axis: query i (compact when the digits are wider than the margin)
    const QString ylabel = fm.horizontalAdvance(label) <= plot.left() - 7 ? label : label_at(t, ticks, true);
    painter.drawLine(plot.left() - 4, plot.top() + offset, plot.left(), plot.top() + offset);
    painter.drawText(QRect(0, plot.top() + offset - fm.height() / 2, plot.left() - 7, fm.height()),
                     Qt::AlignRight | Qt::AlignVCenter, ylabel);
  }
  draw_line_fitted(painter, QRect(plot.left(), plot.bottom() + 8 + fm.height(), plot.width(), fm.height()),
                   Qt::AlignCenter, "key j (token index)");
  painter.save();
  painter.translate(14, plot.center().y());
  painter.rotate(-90);
  draw_line_fitted(painter, QRect(-plot.height() / 2, -fm.height() / 2, plot.height(), fm.height()), Qt::AlignCenter,
                   "query i (token index)");
  painter.restore();
  QString info = method_ ? QString("N = %1, %2").arg(grouped(tokens_), method_parameters(*method_))
                         : QString("N = %1, G = %2, W = %3").arg(grouped(tokens_), grouped(plan_.group), grouped(plan_.window));
  if (span_ != tokens_) info += QString(", showing %1..%2").arg(grouped(first_), grouped(first_ + span_ - 1));
  if (sampled_cells_ < span_) info += QString(", 1 pair per %1 tokens").arg(compact(static_cast<double>(span_) / sampled_cells_));
  painter.drawText(QRect(4, plot.bottom() + 8 + 2 * fm.height(), width() - 8, 2 * fm.height()),
                   Qt::AlignLeft | Qt::TextWordWrap, info);
  if (!hover_text_.isEmpty()) {
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    painter.drawText(QRect(plot.left() + 4, plot.top() + 4, plot.width() - 8, fm.height() + 2),
                     Qt::AlignRight | Qt::AlignVCenter, hover_text_);
    painter.setFont(font());
  }
}

void map_view::draw_legend(QPainter& painter, const QRect& plot) const {
  const QFontMetrics fm(font());
  const int bar_w = 14;
  const int x = plot.right() + 14;
  const int top = plot.top();
  const int h = plot.height();
  // Two bars sharing the height in proportion to the position ranges they cover.
  const int neighbor_h = std::max(fm.height() * 2, static_cast<int>(h * std::min(0.5, static_cast<double>(plan_.window) /
                                                                                         static_cast<double>(context_))));
  const int group_h = h - neighbor_h - fm.height() * 2 - 8;
  if (method_) {
    draw_method_legend(painter, plot);
    return;
  }
  auto bar = [&](int y0, int bh, auto ramp, const QString& lo, const QString& hi, const QString& name) {
    for (int y = 0; y < bh; ++y) {
      painter.setPen(QColor(ramp(static_cast<double>(y) / std::max(1, bh - 1))));
      painter.drawLine(x, y0 + y, x + bar_w, y0 + y);
    }
    painter.setPen(palette().color(QPalette::WindowText));
    painter.drawRect(x, y0, bar_w, bh);
    painter.drawText(x + bar_w + 4, y0 + fm.ascent(), lo);
    painter.drawText(x + bar_w + 4, y0 + bh, hi);
    painter.drawText(QRect(x + bar_w + 4, y0 + bh / 2 - fm.height(), margin_right - bar_w - 18, 2 * fm.height()),
                     Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, name);
  };
  // llama.cpp has no branches: blue there means the pair kept its true distance.
  bar(top, neighbor_h, neighbor_ramp, "0", grouped(plan_.window - 1), schedule_ ? "true distance" : "neighbor");
  bar(top + neighbor_h + 4, std::max(fm.height() * 2, group_h), group_ramp, schedule_ ? QString("0") : grouped(plan_.window),
      grouped(context_ - 1), schedule_ ? "moved" : "group");
  const int y = top + h - fm.height() * 2;
  painter.fillRect(x, y, bar_w, fm.height(), QColor(untrained_colour()));
  painter.drawRect(x, y, bar_w, fm.height());
  painter.drawText(x + bar_w + 4, y + fm.ascent(), QString("\u2265 L = %1").arg(grouped(context_)));
  painter.drawText(x, y + fm.height() + fm.ascent(), "dashed: i\u2212j = W");
}

void map_view::draw_method_legend(QPainter& painter, const QRect& plot) const {
  const QFontMetrics fm(font());
  const int bar_w = 14;
  const int x = plot.right() + 14;
  const int top = plot.top();
  const bool drops = method_->kind == selfextend::method_kind::streaming;
  const int swatches = drops ? 2 : 1;
  const int bh = std::max(fm.height() * 2, plot.height() - swatches * (fm.height() + 6) - fm.height());
  // The scale, row by row in the library's colours of the positions it stands for.
  for (int y = 0; y < bh; ++y) {
    const double position = static_cast<double>(context_ - 1) * y / std::max(1, bh - 1);
    painter.setPen(QColor(QString::fromStdString(selfextend::method_maps_fill({true, position}, context_))));
    painter.drawLine(x, top + y, x + bar_w, top + y);
  }
  painter.setPen(palette().color(QPalette::WindowText));
  painter.drawRect(x, top, bar_w, bh);
  painter.drawText(x + bar_w + 4, top + fm.ascent(), "0");
  painter.drawText(x + bar_w + 4, top + bh, grouped(context_ - 1));
  painter.drawText(QRect(x + bar_w + 4, top + bh / 2 - fm.height(), margin_right - bar_w - 18, 2 * fm.height()),
                   Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, "position");
  const auto swatch = [&](int y, const selfextend::remapped_position& p, const QString& label) {
    painter.fillRect(x, y, bar_w, fm.height(), QColor(QString::fromStdString(selfextend::method_maps_fill(p, context_))));
    painter.drawRect(x, y, bar_w, fm.height());
    painter.drawText(x + bar_w + 4, y + fm.ascent(), label);
  };
  int y = top + bh + 6;
  swatch(y, {true, static_cast<double>(context_)}, QString("\u2265 L = %1").arg(compact(static_cast<double>(context_))));
  if (drops) swatch(y + fm.height() + 6, {false, 0}, "not attended");
}

std::optional<map_view::pair_info> map_view::pair_at(QPoint at) const {
  if (!valid_ || span_ < 1) return std::nullopt;
  const QRect plot = plot_rect();
  if (!plot.contains(at)) return std::nullopt;
  const std::int64_t i = index_at(static_cast<double>(at.y() - plot.top()) / plot.height());
  const std::int64_t j = index_at(static_cast<double>(at.x() - plot.left()) / plot.width());
  if (j > i) return std::nullopt;
  if (method_) {
    const selfextend::remapped_position p = selfextend::remap(*method_, i, j);
    pair_info info{i, j, p.position, selfextend::branch::neighbor, std::nullopt, p.attended, {}};
    if (const std::optional<int> b = selfextend::select_branch(*method_, i, j))
      info.method_branch = QString::fromUtf8(selfextend::branch_names(method_->kind)[static_cast<std::size_t>(*b)].data());
    return info;
  }
  const selfextend::mapped_position m = selfextend::map_pair(i, j, plan_);
  pair_info info{i, j, selfextend::map_pair_real(i, j, plan_), m.from, std::nullopt, true, {}};
  if (schedule_) info.llamacpp = selfextend::llamacpp_relative_position(*schedule_, i, j);
  return info;
}

void map_view::mouseMoveEvent(QMouseEvent* event) {
  const std::optional<pair_info> p = pair_at(event->position().toPoint());
  QString text;
  if (p && method_) {
    const bool whole = p->position == std::floor(p->position) && p->position < 9e18;  // the cast stays below 2^63
    text = !p->attended ? QString("(i = %1, j = %2) \u2192 not attended (evicted)").arg(grouped(p->query), grouped(p->key))
                        : QString("(i = %1, j = %2) \u2192 position %3, %4 branch")
                              .arg(grouped(p->query), grouped(p->key),
                                   whole ? grouped(static_cast<std::int64_t>(p->position)) : fixed(p->position, 3),
                                   p->method_branch);
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
  } else if (p) {
    const bool whole = p->position == std::floor(p->position);
    const QString exact = whole ? grouped(selfextend::map_pair(p->query, p->key, plan_).position) : fixed(p->position, 3);
    if (p->llamacpp)
      text = QString("(i = %1, j = %2) \u2192 llama.cpp position %3 (exact map %4)")
                 .arg(grouped(p->query), grouped(p->key), grouped(*p->llamacpp), exact);
    else
      text = QString("(i = %1, j = %2) \u2192 position %3, %4 branch")
                 .arg(grouped(p->query), grouped(p->key), exact,
                      p->from == selfextend::branch::neighbor ? "neighbor" : "group");
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
  } else {
    QToolTip::hideText();
  }
  if (text != hover_text_) {
    hover_text_ = text;
    update();
  }
}

void map_view::leaveEvent(QEvent*) {
  QToolTip::hideText();
  hover_text_.clear();
  update();
}

void map_view::zoom(double factor, std::int64_t centre) {
  if (!valid_ || tokens_ < 1) return;
  const std::int64_t smallest = std::min<std::int64_t>(tokens_, 16);
  // The wanted span in double (it can pass 2^63 when zooming out at huge N), then back to an index count.
  const double wanted = static_cast<double>(span_) * factor;
  const std::int64_t span = wanted >= static_cast<double>(tokens_)
                                ? tokens_
                                : std::max<std::int64_t>(smallest, static_cast<std::int64_t>(std::llround(wanted)));
  const double keep = span_ > 0 ? static_cast<double>(centre - first_) / static_cast<double>(span_) : 0.0;
  const long double shift = static_cast<long double>(keep) * span;
  const long double start = std::clamp<long double>(centre - shift, 0.0L, static_cast<long double>(tokens_ - span));
  const auto first = static_cast<std::int64_t>(start);
  if (span == span_ && first == first_) return;
  span_ = span;
  first_ = first;
  dirty_ = true;
  update();
}

void map_view::reset_zoom() {
  if (!valid_ || (first_ == 0 && span_ == tokens_)) return;
  first_ = 0;
  span_ = tokens_;
  dirty_ = true;
  update();
}

void map_view::wheelEvent(QWheelEvent* event) {
  const QRect plot = plot_rect();
  const QPoint at = event->position().toPoint();
  const double fx = static_cast<double>(at.x() - plot.left()) / plot.width();
  const double fy = static_cast<double>(at.y() - plot.top()) / plot.height();
  // Zoom about the diagonal point nearest the cursor: the view stays square on both axes.
  const std::int64_t centre = index_at((fx + fy) / 2);
  zoom(event->angleDelta().y() > 0 ? 0.5 : 2.0, centre);
  event->accept();
}

void map_view::mouseDoubleClickEvent(QMouseEvent*) { reset_zoom(); }

void map_view::keyPressEvent(QKeyEvent* event) {
  const std::int64_t centre = first_ + span_ / 2;
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoom(0.5, centre); break;
    case Qt::Key_Minus: zoom(2.0, centre); break;
    case Qt::Key_Home: reset_zoom(); break;
    default: QWidget::keyPressEvent(event); return;
  }
  event->accept();
}

}  // namespace sxplan_gui
