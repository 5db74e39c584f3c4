// main_window.cpp - wiring: widgets -> self_extend_params -> library calls -> views.
#include "main_window.hpp"

#include <algorithm>
#include <climits>
#include <exception>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>

#include <selfextend/hf_config.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/reuse.hpp>
#include <selfextend/version.hpp>

#include "advice_view.hpp"
#include "export_dialog.hpp"
#include "gui_format.hpp"
#include "map_view.hpp"
#include "reuse_view.hpp"
#include "verdict_strip.hpp"

namespace sxplan_gui {

namespace {

const QString custom_context_key = QStringLiteral("#context");
const QString config_key = QStringLiteral("#config");
constexpr int group_slider_max = 64;  // the advisor's default max_group; the spin box goes further

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

int to_spin(std::int64_t v) { return static_cast<int>(std::clamp<std::int64_t>(v, 0, INT_MAX)); }

QSpinBox* make_spin(QWidget* parent, const QString& name) {
  auto* spin = new QSpinBox(parent);
  spin->setObjectName(name);
  spin->setAccessibleName(name);
  // 0 is accepted on purpose: the library, not the widget, says what is wrong with it.
  spin->setRange(0, INT_MAX);
  spin->setGroupSeparatorShown(true);
  spin->setAlignment(Qt::AlignRight);
  return spin;
}

}  // namespace

main_window::main_window(const start_options& options, QWidget* parent) : QMainWindow(parent), options_(options) {
  setWindowTitle("sxplan-gui \u2014 Self-Extend planner");
  auto* central = new QWidget(this);
  auto* outer = new QVBoxLayout(central);
  outer->setContentsMargins(6, 6, 6, 6);
  verdict_ = new verdict_strip(central);
  outer->addWidget(verdict_);

  main_splitter_ = new QSplitter(Qt::Horizontal, central);
  main_splitter_->setObjectName("main_splitter");
  auto* panel = new QWidget(main_splitter_);
  build_inputs(panel);
  right_splitter_ = new QSplitter(Qt::Vertical, main_splitter_);
  right_splitter_->setObjectName("right_splitter");
  views_splitter_ = new QSplitter(Qt::Horizontal, right_splitter_);
  views_splitter_->setObjectName("views_splitter");
  reuse_ = new reuse_view(views_splitter_);
  map_ = new map_view(views_splitter_);
  advice_ = new advice_view(right_splitter_);
  right_splitter_->setStretchFactor(0, 3);
  right_splitter_->setStretchFactor(1, 1);
  right_splitter_->setSizes({620, 240});
  views_splitter_->setSizes({520, 600});
  main_splitter_->setStretchFactor(0, 0);
  main_splitter_->setStretchFactor(1, 1);
  outer->addWidget(main_splitter_, 1);
  setCentralWidget(central);
  build_menus();
  statusBar()->showMessage("Hover the views for exact values; double-click an advised plan to apply it.");

  connect(advice_, &advice_view::plan_chosen, this, &main_window::apply_plan);

  // Tab order follows reading order: model, lengths, plan, then the views.
  const std::vector<QWidget*> chain = tab_chain();
  for (std::size_t k = 1; k < chain.size(); ++k) setTabOrder(chain[k - 1], chain[k]);

  apply_options(options_);
  resize(1440, 900);
  if (options_.use_settings) restore_settings();
}

main_window::~main_window() = default;

QLabel* main_window::add_message_row(QFormLayout* form, const QString& key) {
  auto* label = new QLabel(form->parentWidget());
  label->setObjectName("message_" + key);
  label->setWordWrap(true);
  label->setStyleSheet("color: #c62828;");
  label->hide();
  field_messages_[key] = label;
  form->addRow(QString(), label);
  return label;
}

main_window::number_row main_window::add_number_row(QFormLayout* form, const QString& label_text, const QString& key,
                                                    const QString& tooltip, bool with_slider) {
  QWidget* box = form->parentWidget();
  number_row row;
  row.spin = make_spin(box, key);
  row.spin->setToolTip(tooltip);
  auto* label = new QLabel(label_text, box);
  label->setBuddy(row.spin);
  form->addRow(label, row.spin);
  if (with_slider) {
    row.slider = new QSlider(Qt::Horizontal, box);
    row.slider->setObjectName(key + "_slider");
    row.slider->setAccessibleName(key + " slider");
    form->addRow(QString(), row.slider);
  }
  add_message_row(form, key);
  return row;
}

void main_window::build_inputs(QWidget* panel) {
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(0, 0, 4, 0);
  auto* box = new QGroupBox("Plan", panel);
  auto* form = new QFormLayout(box);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

  model_combo_ = new QComboBox(box);
  model_combo_->setObjectName("model");
  model_combo_->setAccessibleName("model");
  for (const selfextend::model_info& m : selfextend::model_presets())
    model_combo_->addItem(QString("%1  (L = %2)").arg(QString::fromStdString(m.name), grouped(m.context)),
                          QString::fromStdString(m.name));
  model_combo_->addItem("custom context L", custom_context_key);
  auto* model_label = new QLabel("&Model:", box);
  model_label->setBuddy(model_combo_);
  form->addRow(model_label, model_combo_);
  open_config_button_ = new QPushButton("&Open config.json\u2026", box);
  open_config_button_->setToolTip("Read L and the RoPE settings from a Hugging Face config.json (Ctrl+O)");
  form->addRow(QString(), open_config_button_);
  add_message_row(form, "config");
  model_details_ = new QLabel(box);
  model_details_->setWordWrap(true);
  model_details_->setStyleSheet("color: #555555;");
  model_details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(QString(), model_details_);

  context_spin_ = add_number_row(form, "&Context L:", "context", "Pretrained context L (editable for a custom context)", false).spin;
  tokens_spin_ = add_number_row(form, "&Tokens N:", "tokens", "Target length N: prompt + generation, in tokens", false).spin;
  tokens_spin_->setSingleStep(256);
  const number_row group = add_number_row(form, "&Group G:", "group", "Group size G: far keys share one position per G tokens", true);
  group_spin_ = group.spin;
  group_slider_ = group.slider;
  group_slider_->setRange(1, group_slider_max);
  group_slider_->setPageStep(4);
  const number_row window = add_number_row(form, "&Window W:", "window", "Neighbor window W: keys nearer than W keep their exact position", true);
  window_spin_ = window.spin;
  window_spin_->setSingleStep(64);
  window_slider_ = window.slider;
  window_slider_->setSingleStep(16);
  window_slider_->setPageStep(128);

  shift_combo_ = new QComboBox(box);
  shift_combo_->setObjectName("shift");
  shift_combo_->setAccessibleName("shift");
  shift_combo_->addItem("int: W \u2212 \u230aW/G\u230b (LongLM fixed)", QString("int"));
  shift_combo_->addItem("float: W \u2212 W/G (Llama.py prefill)", QString("float"));
  auto* shift_label = new QLabel("&Shift:", box);
  shift_label->setBuddy(shift_combo_);
  form->addRow(shift_label, shift_combo_);

  keep_window_check_ = new QCheckBox("&Keep W when advising", box);
  keep_window_check_->setObjectName("keep_window");
  keep_window_check_->setToolTip("Ask the advisor for the best G at this W instead of choosing W too");
  form->addRow(QString(), keep_window_check_);
  layout->addWidget(box);
  layout->addStretch(1);
  panel->setMinimumWidth(300);
  panel->setMaximumWidth(380);
  connect_inputs();
}

void main_window::connect_inputs() {
  connect(model_combo_, &QComboBox::currentIndexChanged, this, [this] { model_changed(); });
  connect(open_config_button_, &QPushButton::clicked, this, &main_window::open_config_dialog);
  connect(context_spin_, &QSpinBox::valueChanged, this, [this](int v) {
    if (updating_ || model_combo_->currentData().toString() != custom_context_key) return;
    model_.context = v;
    model_changed();
  });
  for (QSpinBox* spin : {tokens_spin_, group_spin_, window_spin_})
    connect(spin, &QSpinBox::valueChanged, this, [this] { inputs_changed(); });
  connect(group_slider_, &QSlider::valueChanged, this, [this](int v) {
    if (!updating_) group_spin_->setValue(v);
  });
  connect(window_slider_, &QSlider::valueChanged, this, [this](int v) {
    if (!updating_) window_spin_->setValue(v);
  });
  connect(shift_combo_, &QComboBox::currentIndexChanged, this, [this] { inputs_changed(); });
  connect(keep_window_check_, &QCheckBox::toggled, this, [this] { inputs_changed(); });
}

void main_window::build_menus() {
  QMenu* file = menuBar()->addMenu("&File");
  QAction* open = file->addAction("&Open config.json\u2026", this, &main_window::open_config_dialog);
  open->setShortcut(QKeySequence::Open);
  export_action_ = file->addAction("&Export tables\u2026", this, &main_window::export_dialog);
  export_action_->setObjectName("export_action");
  export_action_->setShortcut(QKeySequence("Ctrl+E"));
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  QMenu* view = menuBar()->addMenu("&View");
  QAction* reset = view->addAction("&Reset map zoom", map_, &map_view::reset_zoom);
  reset->setShortcut(QKeySequence("Ctrl+0"));
  QAction* focus_reuse = view->addAction("Focus &reuse view", reuse_, [this] { reuse_->setFocus(); });
  focus_reuse->setShortcut(QKeySequence("Ctrl+1"));
  QAction* focus_map = view->addAction("Focus &map view", map_, [this] { map_->setFocus(); });
  focus_map->setShortcut(QKeySequence("Ctrl+2"));
  QAction* focus_advice = view->addAction("Focus &advice", advice_, [this] { advice_->table()->setFocus(); });
  focus_advice->setShortcut(QKeySequence("Ctrl+3"));
  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("&About", this, [this] {
    QMessageBox::about(this, "About sxplan-gui",
                       QString("sxplan-gui %1\nPlans Self-Extend (LongLM) context extension.\n"
                               "Every number comes from the selfextend library.")
                           .arg(selfextend::version_string));
  });
}

std::vector<QWidget*> main_window::tab_chain() const {
  return {model_combo_,   open_config_button_, context_spin_, tokens_spin_,       group_spin_, group_slider_,
          window_spin_,   window_slider_,      shift_combo_,  keep_window_check_, reuse_,      map_,
          advice_->table()};
}

void main_window::apply_options(const start_options& options) {
  updating_ = true;
  // Defaults: the seed example (Llama-2, 15,800 tokens, W = 1024, G = 8).
  QString model = "llama-2-7b";
  std::int64_t context = 4096, tokens = 15800, group = 8, window = 1024;
  QString shift = "int";
  std::optional<QString> config;
  if (options.use_settings) {
    const QSettings s;
    model = s.value("inputs/model", model).toString();
    context = s.value("inputs/context", static_cast<qlonglong>(context)).toLongLong();
    tokens = s.value("inputs/tokens", static_cast<qlonglong>(tokens)).toLongLong();
    group = s.value("inputs/group", static_cast<qlonglong>(group)).toLongLong();
    window = s.value("inputs/window", static_cast<qlonglong>(window)).toLongLong();
    shift = s.value("inputs/shift", shift).toString();
    if (model == config_key) config = s.value("inputs/config").toString();
    keep_window_check_->setChecked(s.value("inputs/keep_window", false).toBool());
  }
  if (options.model) model = QString::fromStdString(*options.model);
  if (options.context) {
    model = custom_context_key;
    context = *options.context;
  }
  if (options.config) {
    model = config_key;
    config = QString::fromStdString(*options.config);
  }
  if (options.tokens) tokens = *options.tokens;
  if (options.group) group = *options.group;
  if (options.window) window = *options.window;
  if (options.shift) shift = text_of(selfextend::to_string(*options.shift));

  context_spin_->setValue(to_spin(context));
  tokens_spin_->setValue(to_spin(tokens));
  group_spin_->setValue(to_spin(group));
  window_spin_->setValue(to_spin(window));
  shift_combo_->setCurrentIndex(std::max(0, shift_combo_->findData(shift)));
  updating_ = false;
  if (config && load_config(*config)) return;
  if (model == custom_context_key) {
    model_combo_->setCurrentIndex(model_combo_->findData(custom_context_key));
    model_changed();
  } else if (!select_preset(model)) {
    select_preset("llama-2-7b");
  }
}

bool main_window::select_preset(const QString& name) {
  const int index = model_combo_->findData(name);
  if (index < 0 || name.startsWith('#')) return false;
  if (model_combo_->currentIndex() == index)
    model_changed();
  else
    model_combo_->setCurrentIndex(index);  // emits currentIndexChanged -> model_changed()
  return true;
}

bool main_window::load_config(const QString& path) {
  try {
    selfextend::model_info loaded = selfextend::read_hf_config(path.toStdString());
    config_path_ = path;
    config_issue_.reset();
    int index = model_combo_->findData(config_key);
    const QString label = QString("config.json: %1  (L = %2)").arg(QString::fromStdString(loaded.name), grouped(loaded.context));
    if (index < 0) {
      model_combo_->addItem(label, config_key);
      index = model_combo_->count() - 1;
    } else {
      model_combo_->setItemText(index, label);
    }
    model_combo_->setItemData(index, path, Qt::ToolTipRole);
    model_ = std::move(loaded);
    {
      const QSignalBlocker block(model_combo_);
      model_combo_->setCurrentIndex(index);
    }
    model_changed();
    return true;
  } catch (const selfextend::invalid_params& e) {
    config_issue_ = e.issues().empty() ? selfextend::issue{"config", path.toStdString(), e.what()} : e.issues().front();
    inputs_changed();
    return false;
  }
}

void main_window::open_config_dialog() {
  const QString start = config_path_ ? QFileInfo(*config_path_).absolutePath() : QString();
  const QString path = QFileDialog::getOpenFileName(this, "Open a Hugging Face config.json", start,
                                                    "config.json (*.json);;All files (*)");
  if (!path.isEmpty()) load_config(path);
}

void main_window::model_changed() {
  const QString key = model_combo_->currentData().toString();
  if (key == custom_context_key) {
    model_ = selfextend::model_info{};
    model_.name = "context";
    model_.context = context_spin_->value();
    model_.source = "custom";
  } else if (key != config_key) {
    model_ = selfextend::find_model(key.toStdString());
  }
  if (key != config_key) config_issue_.reset();
  {
    const QSignalBlocker block(context_spin_);
    context_spin_->setValue(to_spin(model_.context));
  }
  context_spin_->setReadOnly(key != custom_context_key);
  context_spin_->setButtonSymbols(key == custom_context_key ? QAbstractSpinBox::UpDownArrows
                                                            : QAbstractSpinBox::NoButtons);
  QString details;
  if (key != custom_context_key) {
    details = QString("L = %1 \u00b7 RoPE \u03b8 = %2 \u00b7 head dim %3 \u00b7 %4")
                  .arg(grouped(model_.context), grouped(static_cast<std::int64_t>(model_.rope_theta)),
                       grouped(model_.head_dim), QString::fromStdString(model_.source).toHtmlEscaped());
    for (const std::string& w : model_.warnings)
      details += "<br><span style='color:#8a4b00'>warning: " + QString::fromStdString(w).toHtmlEscaped() + "</span>";
  }
  model_details_->setText(details);
  model_details_->setVisible(!details.isEmpty());
  {
    const QSignalBlocker block(window_slider_);
    window_slider_->setRange(1, to_spin(std::max<std::int64_t>(1, model_.context - 1)));
  }
  inputs_changed();
}

void main_window::inputs_changed() {
  if (updating_) return;
  params_ = {model_.context, tokens_spin_->value(),
             {group_spin_->value(), window_spin_->value(),
              *selfextend::parse_shift_rule(shift_combo_->currentData().toString().toStdString())}};
  issues_ = selfextend::validate(params_);
  show_field_issues();
  export_action_->setEnabled(issues_.empty());
  {
    const QSignalBlocker block_g(group_slider_);
    const QSignalBlocker block_w(window_slider_);
    group_slider_->setValue(std::clamp(group_spin_->value(), group_slider_->minimum(), group_slider_->maximum()));
    window_slider_->setValue(std::clamp(window_spin_->value(), window_slider_->minimum(), window_slider_->maximum()));
  }
  if (!issues_.empty()) {
    verdict_->show_invalid(issues_);
    reuse_->clear("Invalid inputs: see the messages under the fields.");
    map_->clear("Invalid inputs: see the messages under the fields.");
    advice_->clear("Invalid inputs: no advice.");
    advised_for_.reset();
    return;
  }
  try {
    verdict_->show_assessment(selfextend::assess(params_), *params_.context);
    map_->set_plan(params_.extension, params_.tokens, *params_.context);
    update_reuse();
    update_advice();
  } catch (const selfextend::invalid_params& e) {
    issues_ = e.issues();
    export_action_->setEnabled(false);
    verdict_->show_invalid(issues_);
  }
}

void main_window::update_reuse() { reuse_->set_stats(selfextend::compute_reuse(params_)); }

void main_window::update_advice() {
  selfextend::advice_request request;
  request.context = *params_.context;
  request.tokens = params_.tokens;
  if (keep_window_check_->isChecked()) request.window = params_.extension.window;
  request.shift = params_.extension.shift;
  request.top = 8;
  if (advised_for_ && *advised_for_ == request) return;  // G/W drags need no new advice
  advised_for_ = request;
  try {
    advice_->show_advice(selfextend::advise(request));
  } catch (const selfextend::invalid_params& e) {
    advice_->clear(QString::fromStdString(e.what()));
  }
}

void main_window::show_field_issues() {
  const std::map<QString, QWidget*> fields = {{"tokens", tokens_spin_},
                                              {"group", group_spin_},
                                              {"window", window_spin_},
                                              {"context", context_spin_},
                                              {"config", model_combo_}};
  for (const auto& [key, label] : field_messages_) {
    QStringList messages;
    for (const selfextend::issue& i : issues_)
      if (QString::fromStdString(i.key) == key) messages << QString::fromStdString(i.message());
    if (key == "config" && config_issue_) messages << QString::fromStdString(config_issue_->message());
    label->setText(messages.join("\n"));
    label->setVisible(!messages.isEmpty());
    QWidget* field = fields.at(key);
    const bool invalid = !messages.isEmpty() && key != "config";
    if (field->property("invalid").toBool() != invalid) {
      field->setProperty("invalid", invalid);
      field->setStyleSheet(invalid ? "QSpinBox { border: 2px solid #c62828; background: #fdecea; }" : QString());
    }
    field->setToolTip(invalid ? messages.join("\n") : field->toolTip());
  }
}

QString main_window::field_message(const QString& key) const {
  const auto it = field_messages_.find(key);
  return it == field_messages_.end() ? QString() : it->second->text();
}

void main_window::apply_plan(const selfextend::plan& p) {
  updating_ = true;
  group_spin_->setValue(to_spin(p.group));
  window_spin_->setValue(to_spin(p.window));
  shift_combo_->setCurrentIndex(std::max(0, shift_combo_->findData(text_of(selfextend::to_string(p.shift)))));
  updating_ = false;
  inputs_changed();
  statusBar()->showMessage(QString("Applied G = %1, W = %2").arg(grouped(p.group), grouped(p.window)), 5000);
}

QString main_window::export_tables(const QString& path, selfextend::table_request request) {
  if (!issues_.empty()) return QString::fromStdString(selfextend::invalid_params(issues_).what());
  request.extension = params_.extension;
  request.tokens = params_.tokens;
  try {
    const selfextend::table_summary written = selfextend::write_position_table(path.toStdString(), request);
    statusBar()->showMessage(QString("Wrote %1 (%2 bytes)").arg(path, grouped(written.bytes)), 8000);
    return {};
  } catch (const std::exception& e) {  // invalid_params (bad request) or runtime_error (cannot write)
    return QString::fromStdString(e.what());
  }
}

void main_window::export_dialog() {
  if (!issues_.empty()) return;
  sxplan_gui::export_dialog dialog(params_.extension, params_.tokens, this);
  if (dialog.exec() != QDialog::Accepted) return;
  const QString error = export_tables(dialog.path(), dialog.request());
  if (!error.isEmpty()) QMessageBox::warning(this, "Export failed", error);
}

void main_window::save_settings() const {
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  s.setValue("window/main_splitter", main_splitter_->saveState());
  s.setValue("window/right_splitter", right_splitter_->saveState());
  s.setValue("window/views_splitter", views_splitter_->saveState());
  s.setValue("inputs/model", model_combo_->currentData().toString());
  s.setValue("inputs/context", context_spin_->value());
  if (config_path_) s.setValue("inputs/config", *config_path_);
  s.setValue("inputs/tokens", tokens_spin_->value());
  s.setValue("inputs/group", group_spin_->value());
  s.setValue("inputs/window", window_spin_->value());
  s.setValue("inputs/shift", shift_combo_->currentData().toString());
  s.setValue("inputs/keep_window", keep_window_check_->isChecked());
}

void main_window::restore_settings() {
  const QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  main_splitter_->restoreState(s.value("window/main_splitter").toByteArray());
  right_splitter_->restoreState(s.value("window/right_splitter").toByteArray());
  views_splitter_->restoreState(s.value("window/views_splitter").toByteArray());
}

void main_window::closeEvent(QCloseEvent* event) {
  if (options_.use_settings) save_settings();
  QMainWindow::closeEvent(event);
}

}  // namespace sxplan_gui
