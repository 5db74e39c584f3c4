// advice_view.hpp - the advisor's ranked plans; double-click (or Enter) applies one.
#pragma once

#include <cstdint>

#include <QWidget>

#include <selfextend/advice.hpp>

class QLabel;
class QPushButton;
class QTableWidget;

namespace sxplan_gui {

/// Lists `selfextend::advise()`'s candidates best first with their judgement and reasons.
/// Activating a row (double-click, or Enter on the selected row) emits plan_chosen.
class advice_view : public QWidget {
  Q_OBJECT

 public:
  explicit advice_view(QWidget* parent = nullptr);

  /// Shows `a`, the advisor's answer.
  void show_advice(const selfextend::advice& a);
  /// Shows no plans, only `why`.
  void clear(const QString& why);
  /// Shows the advisor's no_solution (an explicit max group below every G that fits) and offers
  /// the smallest max group that has a plan.
  void show_no_solution(const selfextend::no_solution& e);

  /// The plan shown in `row` (0 = best).
  [[nodiscard]] selfextend::plan plan_at(int row) const;
  [[nodiscard]] int row_count() const;
  [[nodiscard]] QTableWidget* table() const { return table_; }
  [[nodiscard]] QString summary_text() const;
  /// Shown when no advised plan fits: sets the advisor's max group to the smallest G that fits.
  [[nodiscard]] QPushButton* raise_max_group_button() const { return raise_; }

 signals:
  /// The user chose to apply `p`.
  void plan_chosen(const selfextend::plan& p);
  /// The user asked the advisor to consider groups up to `group`.
  void max_group_chosen(std::int64_t group);

 private:
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  QPushButton* raise_ = nullptr;
  std::int64_t raise_to_ = 0;
  std::vector<selfextend::plan> plans_;
};

}  // namespace sxplan_gui
