// int64_field.cpp - text in, the library's reading of it out; slider positions over 64-bit ranges.
#include "int64_field.hpp"

#include <algorithm>
#include <limits>

#include <QLineEdit>
#include <QRegularExpression>
#include <QSlider>

#include <selfextend/params.hpp>

#include "gui_format.hpp"

namespace sxplan_gui {

namespace {

__extension__ typedef __int128 wide;  // slider arithmetic over the whole 64-bit range

/// The text the library reads: surrounding spaces dropped and C-locale grouping ("1,024,000")
/// removed when the commas sit exactly where grouping puts them.
QString ungrouped(const QString& text) {
  static const QRegularExpression grouping(QStringLiteral("^[+-]?\\d{1,3}(,\\d{3})+$"));
  const QString trimmed = text.trimmed();
  if (grouping.match(trimmed).hasMatch()) return QString(trimmed).remove(',');
  return trimmed;
}

}  // namespace

int64_field::int64_field(const QString& key, QWidget* parent) : QAbstractSpinBox(parent), key_(key) {
  setObjectName(key);
  setAccessibleName(key);
  setAlignment(Qt::AlignRight);
  setKeyboardTracking(true);
  setCorrectionMode(QAbstractSpinBox::CorrectToPreviousValue);
  connect(lineEdit(), &QLineEdit::textChanged, this, [this] { emit edited(); });
  // Once the user is done, show a readable number the way the views do; invalid text stays as typed.
  connect(this, &QAbstractSpinBox::editingFinished, this, [this] {
    if (const std::optional<std::int64_t> v = value(); v && lineEdit()->text() != grouped(*v)) set_value(*v);
  });
}

std::optional<std::int64_t> int64_field::value() const {
  try {
    return selfextend::parse_integer(key_.toStdString(), ungrouped(lineEdit()->text()).toStdString());
  } catch (const selfextend::invalid_params&) {
    return std::nullopt;
  }
}

std::optional<selfextend::issue> int64_field::problem() const {
  try {
    (void)selfextend::parse_integer(key_.toStdString(), ungrouped(lineEdit()->text()).toStdString());
    return std::nullopt;
  } catch (const selfextend::invalid_params& e) {
    // Report what the user typed, not the ungrouped text the library was given.
    selfextend::issue i = e.issues().front();
    i.value = lineEdit()->text().toStdString();
    return i;
  }
}

void int64_field::set_placeholder(const QString& text) { lineEdit()->setPlaceholderText(text); }

void int64_field::set_value(std::int64_t v) {
  const QString text = grouped(v);
  if (lineEdit()->text() == text) return;
  lineEdit()->setText(text);  // textChanged -> edited()
}

void int64_field::set_text(const QString& text) {
  if (lineEdit()->text() != text) lineEdit()->setText(text);
}

QValidator::State int64_field::validate(QString&, int&) const {
  // Every text is acceptable to the widget: the library says what is wrong with it, beside the field.
  return QValidator::Acceptable;
}

QSize int64_field::sizeHint() const {
  // Room for a ten-digit value; longer ones scroll inside the field (the panel stays narrow).
  const QSize base = QAbstractSpinBox::sizeHint();
  return {fontMetrics().horizontalAdvance(grouped(9'999'999'999)) + 40, base.height()};
}

QSize int64_field::minimumSizeHint() const {
  return {fontMetrics().horizontalAdvance("0,000,000") + 30, QAbstractSpinBox::minimumSizeHint().height()};
}

QAbstractSpinBox::StepEnabled int64_field::stepEnabled() const {
  const std::optional<std::int64_t> v = value();
  if (!v || isReadOnly()) return StepNone;
  StepEnabled enabled = StepNone;
  if (wide{*v} + single_step_ <= std::numeric_limits<std::int64_t>::max()) enabled |= StepUpEnabled;
  if (wide{*v} - single_step_ >= std::numeric_limits<std::int64_t>::min()) enabled |= StepDownEnabled;
  return enabled;
}

void int64_field::stepBy(int steps) {
  const std::optional<std::int64_t> v = value();
  if (!v) return;
  const wide next = wide{*v} + wide{steps} * single_step_;
  // A step that would leave the 64-bit range is not taken (the arrow is disabled there).
  if (next > std::numeric_limits<std::int64_t>::max() || next < std::numeric_limits<std::int64_t>::min()) return;
  set_value(static_cast<std::int64_t>(next));
  selectAll();
}

void slider_range::set(QSlider* slider, std::int64_t lowest, std::int64_t highest) {
  lowest_ = lowest;
  highest_ = std::max(lowest, highest);
  // One position per value, the positions being the values themselves, whenever they fit an int.
  identity_ = wide{highest_} - lowest_ <= max_positions && lowest_ >= std::numeric_limits<int>::min() &&
              highest_ <= std::numeric_limits<int>::max();
  if (identity_)
    slider->setRange(static_cast<int>(lowest_), static_cast<int>(highest_));
  else
    slider->setRange(0, max_positions);
}

std::int64_t slider_range::value_at(int position) const {
  if (identity_) return position;
  return static_cast<std::int64_t>(lowest_ + (wide{highest_} - lowest_) * position / max_positions);
}

int slider_range::position_of(std::int64_t value) const {
  const std::int64_t inside = std::clamp(value, lowest_, highest_);
  if (identity_) return static_cast<int>(inside);
  return static_cast<int>((wide{inside} - lowest_) * max_positions / (wide{highest_} - lowest_));
}

}  // namespace sxplan_gui
