// gui_format.hpp - number formatting for people, shared by the GUI's views (formatting only).
#pragma once

#include <cstdint>

#include <QFontMetrics>
#include <QLocale>
#include <QPainter>
#include <QString>

namespace sxplan_gui {

/// 15800 -> "15,800" (always the C locale's grouping, so screenshots and tests do not
/// depend on the machine's language).
inline QString grouped(std::int64_t value) {
  QLocale c(QLocale::C);
  c.setNumberOptions(QLocale::DefaultNumberOptions);
  return c.toString(static_cast<qlonglong>(value));
}

/// A real with `decimals` digits after the point, C locale with grouping.
inline QString fixed(double value, int decimals) {
  QLocale c(QLocale::C);
  c.setNumberOptions(QLocale::DefaultNumberOptions);
  return c.toString(value, 'f', decimals);
}

/// One line of text cut with an ellipsis to `rect`'s width, never clipped mid-glyph by the view.
inline void draw_line_fitted(QPainter& painter, const QRect& rect, int flags, const QString& text) {
  painter.drawText(rect, flags, QFontMetrics(painter.font()).elidedText(text, Qt::ElideRight, rect.width()));
}

/// A short label for a large count or position: up to 9,999 as grouped digits, then three
/// significant digits and a suffix (15.8k, 1.05M, 9.22E), so axis labels stay narrow at any N.
inline QString compact(double value) {
  if (value < 1e4) return grouped(static_cast<std::int64_t>(value + 0.5));
  const char* suffixes[] = {"k", "M", "G", "T", "P", "E"};
  int k = 0;
  double v = value / 1e3;
  while (v >= 999.5 && k < 5) {
    v /= 1e3;
    ++k;
  }
  return fixed(v, v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2) + suffixes[k];
}

/// A position or index on an axis: grouped digits, or compact() when `short_form`.
inline QString axis_label(double value, bool short_form) {
  if (short_form || value >= 9.2e18) return compact(value);
  return grouped(static_cast<std::int64_t>(value + 0.5));
}

}  // namespace sxplan_gui
