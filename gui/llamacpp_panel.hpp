// llamacpp_panel.hpp - llama.cpp mode: the flags the advisor gives and how the schedule differs from the exact map.
#pragma once

#include <cstdint>
#include <optional>

#include <QWidget>

#include <selfextend/llamacpp.hpp>
#include <selfextend/params.hpp>

class QLabel;
class QPushButton;

namespace sxplan_gui {

/// Shows selfextend::advise_llamacpp()'s llama-cli flags (what `sxplan advise --runtime llamacpp`
/// prints) and selfextend::compare_llamacpp()'s comparison of the current schedule (G, W, -b) with
/// the exact map (what `sxplan llamacpp` prints): largest positions with this -b, one token at a
/// time and in the exact map, and how many pairs differ. "Use these flags" applies the advised
/// G, W and -b.
class llamacpp_panel : public QWidget {
  Q_OBJECT

 public:
  /// compare_llamacpp keeps two N-entry arrays: the comparison runs up to this N (64 MiB) and says
  /// so beyond it; the flags and the map have no such limit.
  static constexpr std::int64_t comparison_limit = std::int64_t{1} << 22;

  explicit llamacpp_panel(QWidget* parent = nullptr);

  /// Shows the advice (or `refusal`, the library's message, when there is none) and the
  /// comparison of schedule `s`, a valid schedule.
  void show_schedule(const selfextend::llamacpp_schedule& s, const std::optional<selfextend::llamacpp_advice>& advice,
                     const QString& refusal);
  void clear(const QString& why);

  [[nodiscard]] QString flags_text() const;
  [[nodiscard]] QString comparison_text() const;
  [[nodiscard]] QPushButton* apply_button() const { return apply_; }
  /// The comparison last shown (nullopt when N is past comparison_limit or nothing is shown).
  [[nodiscard]] const std::optional<selfextend::llamacpp_comparison>& comparison() const { return comparison_; }

 signals:
  /// The user chose the advised flags: G = ga_n, W = ga_w, and -b.
  void plan_chosen(const selfextend::plan& p, std::int64_t batch);

 private:
  QLabel* flags_ = nullptr;
  QLabel* comparison_label_ = nullptr;
  QPushButton* apply_ = nullptr;
  std::optional<selfextend::llamacpp_advice> advice_;
  std::optional<selfextend::llamacpp_comparison> comparison_;
};

}  // namespace sxplan_gui
