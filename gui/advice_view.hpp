// advice_view.hpp - the advisor's ranked plans; double-click (or Enter) applies one.
#pragma once

#include <QWidget>

#include <selfextend/advice.hpp>

class QLabel;
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

  /// The plan shown in `row` (0 = best).
  [[nodiscard]] selfextend::plan plan_at(int row) const;
  [[nodiscard]] int row_count() const;
  [[nodiscard]] QTableWidget* table() const { return table_; }
  [[nodiscard]] QString summary_text() const;

 signals:
  /// The user chose to apply `p`.
  void plan_chosen(const selfextend::plan& p);

 private:
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  std::vector<selfextend::plan> plans_;
};

}  // namespace sxplan_gui
