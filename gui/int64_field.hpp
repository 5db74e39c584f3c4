// int64_field.hpp - a number field over the library's whole 64-bit range that never clamps.
#pragma once

#include <cstdint>
#include <optional>

#include <QAbstractSpinBox>
#include <QString>

#include <selfextend/error.hpp>

class QSlider;

namespace sxplan_gui {

/// A spin box for one 64-bit input (`tokens`, `group`, ...). It accepts any text: what the text
/// means is the library's business (selfextend::parse_integer, then validate), so the field never
/// rewrites or clamps what was typed. The arrows step by single_step() and stop where the next
/// step would leave the 64-bit range. Grouped text ("15,800", the way values are shown) reads as
/// the number; any other comma is left for the library to refuse.
class int64_field : public QAbstractSpinBox {
  Q_OBJECT

 public:
  /// `key` names the input in the library's messages.
  explicit int64_field(const QString& key, QWidget* parent = nullptr);

  /// The value the text reads as, or nullopt (then problem() says why).
  [[nodiscard]] std::optional<std::int64_t> value() const;
  /// The library's message for text that is not a 64-bit integer; nullopt when it is one.
  [[nodiscard]] std::optional<selfextend::issue> problem() const;
  /// Shows `v` grouped ("15,800") and emits edited().
  void set_value(std::int64_t v);
  /// Shows `text` as given (a remembered value, say), for the library to judge; emits edited().
  void set_text(const QString& text);
  void set_single_step(std::int64_t step) { single_step_ = step; }
  /// Grey text shown while the field is empty (for a field whose empty text means a default).
  void set_placeholder(const QString& text);
  [[nodiscard]] std::int64_t single_step() const { return single_step_; }
  [[nodiscard]] const QString& key() const { return key_; }

  void stepBy(int steps) override;
  QValidator::State validate(QString& input, int& pos) const override;
  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  /// The text changed (typing, stepping or set_value).
  void edited();

 protected:
  StepEnabled stepEnabled() const override;

 private:
  QString key_;
  std::int64_t single_step_ = 1;
};

/// Maps a QSlider (int positions) onto an inclusive 64-bit range: the positions are the values
/// when the range is small enough, else max_positions + 1 evenly spaced values (the ends exact),
/// so a slider works for W up to L - 1 whatever L is. Position <-> value only; the value's rules are the library's.
class slider_range {
 public:
  /// Largest number of slider positions used for a range too wide for one per value.
  static constexpr int max_positions = 100000;

  void set(QSlider* slider, std::int64_t lowest, std::int64_t highest);
  [[nodiscard]] std::int64_t value_at(int position) const;
  /// The position nearest `value`; values outside the range sit at the nearer end (the slider
  /// only shows where the field's value lies; the field keeps the value as typed).
  [[nodiscard]] int position_of(std::int64_t value) const;
  [[nodiscard]] std::int64_t lowest() const { return lowest_; }
  [[nodiscard]] std::int64_t highest() const { return highest_; }

 private:
  std::int64_t lowest_ = 0;
  std::int64_t highest_ = 0;
  bool identity_ = true;  ///< positions are the values; else 0 .. max_positions spread evenly
};

}  // namespace sxplan_gui
