// verdict_strip.hpp - one coloured line that says whether a plan fits and how far it reaches.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <QFrame>

#include <selfextend/advice.hpp>
#include <selfextend/error.hpp>

class QLabel;

namespace sxplan_gui {

/// Shows the library's assessment of the current plan: fits, capacity exact and paper,
/// effective reach and its ratio to L, and the verdict band, coloured by band. When the
/// inputs are invalid it shows the library's messages instead.
class verdict_strip : public QFrame {
  Q_OBJECT

 public:
  explicit verdict_strip(QWidget* parent = nullptr);

  /// Shows `a`, the assessment of a valid plan on a model with pretrained context `context`.
  void show_assessment(const selfextend::assessment& a, std::int64_t context);
  /// Shows another method's figures, each from the library: its largest position over N tokens
  /// (largest_position), its capacity (method_capacity; nullopt: every N fits) and whether N
  /// is within it, and the pairs it drops (dropped_pairs). `title` names it.
  void show_method(const QString& title, double largest_position, bool fits,
                   const std::optional<std::int64_t>& capacity, std::int64_t dropped_pairs, std::int64_t context);
  /// Shows that the inputs break the rules in `issues` (messages as the library words them).
  void show_invalid(const std::vector<selfextend::issue>& issues);

  /// The texts shown, for tests and accessibility.
  [[nodiscard]] QString band_text() const;
  [[nodiscard]] QString fits_text() const;
  [[nodiscard]] QString capacity_text() const;
  [[nodiscard]] QString reach_text() const;
  [[nodiscard]] QString warning_text() const;

 private:
  void set_band_colour(const QColor& colour);

  QLabel* band_ = nullptr;
  QLabel* fits_ = nullptr;
  QLabel* capacity_ = nullptr;
  QLabel* reach_ = nullptr;
  QLabel* warning_ = nullptr;
};

/// The colour the GUI uses for a verdict band (also used by the advice view).
[[nodiscard]] QColor band_colour(selfextend::verdict v);

}  // namespace sxplan_gui
