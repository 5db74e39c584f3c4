// main_window.hpp - sxplan-gui's one window: inputs, verdict strip, reuse/map/advice views, export.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <QMainWindow>

#include <selfextend/advice.hpp>
#include <selfextend/error.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/models.hpp>
#include <selfextend/params.hpp>
#include <selfextend/table_writers.hpp>

#include "int64_field.hpp"

class QAction;
class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QPushButton;
class QSlider;
class QScrollArea;
class QTextBrowser;
class QSplitter;

namespace sxplan_gui {

class advice_view;
class int64_field;
class llamacpp_panel;
class map_view;
class reuse_view;
class verdict_strip;

/// The smallest window the layout is made for (documented in docs/gui.md; --size refuses less).
inline constexpr int minimum_width = 800;
inline constexpr int minimum_height = 600;

/// Inputs given on the command line; each one overrides the remembered value.
struct start_options {
  std::optional<std::string> model;    ///< preset name (`sxplan models`)
  std::optional<std::string> config;   ///< Hugging Face config.json
  std::optional<std::int64_t> context; ///< bare L
  std::optional<std::int64_t> tokens;
  std::optional<std::int64_t> group;
  std::optional<std::int64_t> window;
  std::optional<selfextend::shift_rule> shift;
  std::optional<std::int64_t> max_group;  ///< the advisor's largest G
  std::optional<std::int64_t> batch;      ///< llama.cpp's -b (llama.cpp mode)
  bool llamacpp = false;                  ///< start in llama.cpp mode
  /// Start with this method (methods.hpp) and the parameters compare recommends for N and L.
  std::optional<selfextend::method_kind> method;
  bool use_settings = true;  ///< restore and save QSettings (off for --screenshot and most tests)
};

/// The main window. Every edit goes through selfextend::validate(); valid inputs are judged by
/// selfextend::assess(), advised by selfextend::advise() and drawn by the views, all synchronously
/// (every view is bounded whatever N is, so a slider step stays interactive at N = 10^9; see
/// docs/performance.md).
class main_window : public QMainWindow {
  Q_OBJECT

 public:
  explicit main_window(const start_options& options, QWidget* parent = nullptr);
  ~main_window() override;

  /// The inputs as last read from the widgets.
  [[nodiscard]] const selfextend::self_extend_params& params() const { return params_; }
  /// The library's issues with those inputs (empty when valid).
  [[nodiscard]] const std::vector<selfextend::issue>& issues() const { return issues_; }
  /// The model L comes from.
  [[nodiscard]] const selfextend::model_info& model() const { return model_; }
  /// Why Self-Extend cannot change any layer of the model at the planned L, or nullopt.
  [[nodiscard]] std::optional<std::string> not_applicable_reason() const;

  /// Sets G, W and the shift from an advised plan.
  void apply_plan(const selfextend::plan& p);
  /// Reads a config.json through the library and selects it; on failure shows the library's
  /// message and keeps the previous model. Returns whether it loaded.
  bool load_config(const QString& path);
  /// Selects the preset `name`; false when there is none.
  bool select_preset(const QString& name);
  /// Writes the current plan's tables to `path` through the library's writer (atomic: a failure
  /// leaves no file). `request`'s plan and tokens are replaced by the current ones. Returns an
  /// empty string on success, else the message shown to the user.
  QString export_tables(const QString& path, selfextend::table_request request);

  // Widgets, for tests and the keyboard-order check.
  [[nodiscard]] QComboBox* model_input() const { return model_combo_; }
  [[nodiscard]] int64_field* context_input() const { return context_field_; }
  [[nodiscard]] int64_field* tokens_input() const { return tokens_field_; }
  [[nodiscard]] int64_field* group_input() const { return group_field_; }
  [[nodiscard]] QSlider* group_slider() const { return group_slider_; }
  [[nodiscard]] int64_field* window_input() const { return window_field_; }
  [[nodiscard]] QSlider* window_slider() const { return window_slider_; }
  [[nodiscard]] int64_field* max_group_input() const { return max_group_field_; }
  [[nodiscard]] int64_field* batch_input() const { return batch_field_; }
  [[nodiscard]] QComboBox* runtime_input() const { return runtime_combo_; }
  /// Whether the window shows llama.cpp's group attention instead of the reuse view and advice.
  [[nodiscard]] bool llamacpp_mode() const;
  /// The method chosen (Self-Extend unless the Method box says otherwise).
  [[nodiscard]] selfextend::method_kind method_kind() const;
  /// Another method's parameters as last read (valid when issues() is empty and method_kind() is not Self-Extend).
  [[nodiscard]] const selfextend::method_params& method() const { return method_; }
  /// Picks `kind` and fills its fields with the parameters the library recommends for N and L
  /// (recommend_method), as choosing it in the Method box does.
  void select_method(selfextend::method_kind kind);
  [[nodiscard]] QComboBox* method_input() const { return method_combo_; }
  /// A method's parameter field: `chunk_size`, `local_window`, `method_window` (ReRoPE's and
  /// Leaky ReRoPE's w), `leak`, `start_size`, `recent_size`.
  [[nodiscard]] int64_field* method_field(const QString& key) const { return method_fields_.at(key); }
  [[nodiscard]] QTextBrowser* model_facts() const { return model_facts_; }
  [[nodiscard]] map_view* llamacpp_map() const { return llamacpp_map_; }
  [[nodiscard]] llamacpp_panel* llamacpp() const { return llamacpp_panel_; }
  [[nodiscard]] QComboBox* shift_input() const { return shift_combo_; }
  [[nodiscard]] QCheckBox* keep_window_input() const { return keep_window_check_; }
  [[nodiscard]] QAction* export_action() const { return export_action_; }
  [[nodiscard]] verdict_strip* verdict() const { return verdict_; }
  [[nodiscard]] reuse_view* reuse() const { return reuse_; }
  [[nodiscard]] map_view* map() const { return map_; }
  [[nodiscard]] advice_view* advice() const { return advice_; }
  /// The message shown under the field for input `key` (`tokens`, `group`, `window`, `context`,
  /// `config`, `max_group`, `batch`).
  [[nodiscard]] QString field_message(const QString& key) const;
  /// The widgets in keyboard (Tab) order.
  [[nodiscard]] std::vector<QWidget*> tab_chain() const;

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  /// One labelled number field (with a slider below it when asked) and its message row.
  struct number_row {
    int64_field* field = nullptr;
    QSlider* slider = nullptr;
  };
  number_row add_number_row(QFormLayout* form, const QString& label_text, const QString& key, const QString& tooltip,
                            bool with_slider);
  /// One labelled choice: `items` are (text shown, data kept) pairs.
  QComboBox* add_choice_row(QFormLayout* form, const QString& label_text, const QString& key,
                            const std::vector<std::pair<QString, QString>>& items);
  /// The red line under a field that shows the library's message for input `key`.
  QLabel* add_message_row(QFormLayout* form, const QString& key);
  void build_inputs(QWidget* panel);
  void connect_inputs();
  void build_menus();
  void restore_settings();
  void save_settings() const;
  void apply_options(const start_options& options);
  void model_changed();
  void inputs_changed();
  void update_advice();
  void update_reuse();
  void update_llamacpp();
  /// llama-cli reading the current N as one prompt with these G, W and -b `batch`.
  [[nodiscard]] selfextend::llamacpp_schedule llamacpp_schedule_for(std::int64_t batch) const;
  void update_model_facts();
  void update_mode();
  /// Shows the rows of the chosen method and hides Self-Extend's (or the other way round).
  void update_method_rows();
  /// inputs_changed() for a method other than Self-Extend, with L and N as read and the fields' problems so far.
  void method_inputs_changed(std::int64_t context, std::int64_t tokens, std::vector<selfextend::issue> unreadable);
  void sync_sliders();
  void show_field_issues();
  void open_config_dialog();
  void export_dialog();

  start_options options_;
  selfextend::model_info model_;
  std::optional<QString> config_path_;
  selfextend::self_extend_params params_;
  std::vector<selfextend::issue> issues_;
  std::optional<selfextend::issue> config_issue_;
  std::optional<selfextend::advice_request> advised_for_;
  /// The max group field: empty means the advisor's default (64, passed when no plan within it fits).
  [[nodiscard]] bool max_group_is_default() const;
  /// The explicit max group, or nullopt for the default (or while the field's text is not a number).
  [[nodiscard]] std::optional<std::int64_t> max_group_choice() const;
  /// The field's text problem; none when it is empty (the default).
  [[nodiscard]] std::optional<selfextend::issue> max_group_problem() const;
  std::optional<selfextend::issue> advice_issue_;  ///< the advisor's refusal of max_group, shown under it

  QComboBox* model_combo_ = nullptr;
  QPushButton* open_config_button_ = nullptr;
  QTextBrowser* model_facts_ = nullptr;
  int64_field* context_field_ = nullptr;
  int64_field* tokens_field_ = nullptr;
  int64_field* group_field_ = nullptr;
  QSlider* group_slider_ = nullptr;
  slider_range group_range_;
  int64_field* window_field_ = nullptr;
  QSlider* window_slider_ = nullptr;
  slider_range window_range_;
  int64_field* max_group_field_ = nullptr;
  QComboBox* runtime_combo_ = nullptr;
  int64_field* batch_field_ = nullptr;
  QWidget* batch_row_label_ = nullptr;
  QComboBox* shift_combo_ = nullptr;
  QCheckBox* keep_window_check_ = nullptr;
  QFormLayout* plan_form_ = nullptr;
  QComboBox* method_combo_ = nullptr;
  std::map<QString, int64_field*> method_fields_;
  selfextend::method_params method_;
  std::map<QString, QLabel*> field_messages_;
  QAction* export_action_ = nullptr;
  verdict_strip* verdict_ = nullptr;
  reuse_view* reuse_ = nullptr;
  map_view* map_ = nullptr;
  advice_view* advice_ = nullptr;
  map_view* llamacpp_map_ = nullptr;
  llamacpp_panel* llamacpp_panel_ = nullptr;
  QScrollArea* panel_scroll_ = nullptr;
  QSplitter* main_splitter_ = nullptr;
  QSplitter* right_splitter_ = nullptr;
  QSplitter* views_splitter_ = nullptr;
  bool updating_ = false;  ///< set while widgets are synchronised, so their signals do not recurse
};

}  // namespace sxplan_gui
