// gui_format.hpp - number formatting for people, shared by the GUI's views (formatting only).
#pragma once

#include <cstdint>

#include <QLocale>
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

}  // namespace sxplan_gui
