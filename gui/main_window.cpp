// main_window.cpp - wiring: widgets -> self_extend_params -> library calls -> views.
#include "main_window.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <climits>
#include <exception>
#include <memory>

#include <QAction>
#include <QAbstractTextDocumentLayout>
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
#include <QScrollArea>
#include <QScrollBar>
#include <QTextBrowser>
#include <QTextDocument>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QTableWidget>
#include <QVBoxLayout>

#include <selfextend/hf_config.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/reuse.hpp>
#include <selfextend/version.hpp>

#include "advice_view.hpp"
#include "export_dialog.hpp"
#include "gui_format.hpp"
#include "int64_field.hpp"
#include "llamacpp_panel.hpp"
#include "map_view.hpp"
#include "reuse_view.hpp"
#include "verdict_strip.hpp"

namespace sxplan_gui {

namespace {

const QString custom_context_key = QStringLiteral("#context");
const QString config_key = QStringLiteral("#config");
/// inputs/version of what save_settings writes. 2: an empty max group is the advisor's default
/// and a typed one a hard cap (before, the field held the default's text, "64").
constexpr int settings_version = 2;
using selfextend::default_max_group;
const QString invalid_field_style = QStringLiteral("QAbstractSpinBox { border: 2px solid #c62828; background: #fdecea; }");

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }
QString html_of(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

/// A read-only text block as tall as its text at the width it is given: it wraps at word
/// boundaries and, for words wider than the panel (paths, JSON), anywhere, so nothing is clipped.
class facts_browser : public QTextBrowser {
 public:
  explicit facts_browser(QWidget* parent) : QTextBrowser(parent) {
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
    viewport()->setAutoFillBackground(false);
    setOpenExternalLinks(false);
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            [this] { updateGeometry(); });
  }
  /// The height the text needs at `width`: the layout asks before it places the next row.
  [[nodiscard]] bool hasHeightForWidth() const override { return true; }
  [[nodiscard]] int heightForWidth(int width) const override {
    const std::unique_ptr<QTextDocument> copy(document()->clone());
    copy->setTextWidth(std::max(1, width - 2 * frameWidth()));
    return static_cast<int>(std::ceil(copy->size().height())) + 2 * frameWidth();
  }
  [[nodiscard]] QSize sizeHint() const override { return {QTextBrowser::sizeHint().width(), heightForWidth(width())}; }
  [[nodiscard]] QSize minimumSizeHint() const override { return {60, heightForWidth(width())}; }

 protected:
  void resizeEvent(QResizeEvent* event) override {
    QTextBrowser::resizeEvent(event);
    if (heightForWidth(width()) != height()) updateGeometry();
  }
};

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
  main_splitter_->setChildrenCollapsible(false);
  // The inputs scroll when the window is short, so their height never sets the window's minimum.
  panel_scroll_ = new QScrollArea(main_splitter_);
  panel_scroll_->setObjectName("panel_scroll");
  panel_scroll_->setWidgetResizable(true);
  panel_scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  panel_scroll_->setFrameShape(QFrame::NoFrame);
  auto* panel = new QWidget(panel_scroll_);
  build_inputs(panel);
  panel_scroll_->setWidget(panel);
  panel_scroll_->setMinimumWidth(250);
  panel_scroll_->setMaximumWidth(390);
  right_splitter_ = new QSplitter(Qt::Vertical, main_splitter_);
  right_splitter_->setObjectName("right_splitter");
  right_splitter_->setChildrenCollapsible(false);
  views_splitter_ = new QSplitter(Qt::Horizontal, right_splitter_);
  views_splitter_->setObjectName("views_splitter");
  views_splitter_->setChildrenCollapsible(false);
  reuse_ = new reuse_view(views_splitter_);
  map_ = new map_view(views_splitter_);
  llamacpp_map_ = new map_view(views_splitter_);
  llamacpp_map_->setObjectName("llamacpp_map_view");
  llamacpp_map_->setAccessibleName("llama.cpp map view");
  llamacpp_map_->hide();
  advice_ = new advice_view(right_splitter_);
  llamacpp_panel_ = new llamacpp_panel(right_splitter_);
  llamacpp_panel_->hide();
  right_splitter_->setStretchFactor(0, 3);
  right_splitter_->setStretchFactor(1, 1);
  right_splitter_->setSizes({620, 240});
  views_splitter_->setSizes({520, 600, 600});
  main_splitter_->setStretchFactor(0, 0);
  main_splitter_->setStretchFactor(1, 1);
  outer->addWidget(main_splitter_, 1);
  setCentralWidget(central);
  build_menus();
  statusBar()->showMessage("Hover the views for exact values; double-click an advised plan to apply it.");

  connect(advice_, &advice_view::plan_chosen, this, &main_window::apply_plan);
  connect(advice_, &advice_view::max_group_chosen, this, [this](std::int64_t group) { max_group_field_->set_value(group); });
  connect(llamacpp_panel_, &llamacpp_panel::plan_chosen, this, [this](const selfextend::plan& p, std::int64_t batch) {
    {
      updating_ = true;
      batch_field_->set_value(batch);
      updating_ = false;
    }
    apply_plan(p);
  });

  // Tab order follows reading order: model, lengths, plan, then the views.
  const std::vector<QWidget*> chain = {model_combo_,    open_config_button_, context_field_,  tokens_field_, method_combo_,
                                       method_fields_.at("chunk_size"), method_fields_.at("local_window"),
                                       method_fields_.at("method_window"), method_fields_.at("leak"),
                                       method_fields_.at("start_size"), method_fields_.at("recent_size"),
                                       group_field_,    group_slider_,       window_field_,   window_slider_,
                                       shift_combo_,    runtime_combo_,      batch_field_,    max_group_field_,
                                       keep_window_check_, reuse_,           map_,            llamacpp_map_,
                                       advice_->table(), llamacpp_panel_->apply_button()};
  for (std::size_t k = 1; k < chain.size(); ++k) setTabOrder(chain[k - 1], chain[k]);

  setMinimumSize(minimum_width, minimum_height);
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
  row.field = new int64_field(key, box);
  row.field->setToolTip(tooltip);
  row.field->setProperty("base_tooltip", tooltip);
  auto* label = new QLabel(label_text, box);
  label->setBuddy(row.field);
  form->addRow(label, row.field);
  if (with_slider) {
    row.slider = new QSlider(Qt::Horizontal, box);
    row.slider->setObjectName(key + "_slider");
    row.slider->setAccessibleName(key + " slider");
    form->addRow(QString(), row.slider);
  }
  add_message_row(form, key);
  return row;
}

QComboBox* main_window::add_choice_row(QFormLayout* form, const QString& label_text, const QString& key,
                                      const std::vector<std::pair<QString, QString>>& items) {
  auto* combo = new QComboBox(form->parentWidget());
  combo->setObjectName(key);
  combo->setAccessibleName(key);
  // Long item texts elide instead of widening the panel.
  combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo->setMinimumContentsLength(10);
  for (const auto& [text, value] : items) combo->addItem(text, value);
  auto* label = new QLabel(label_text, form->parentWidget());
  label->setBuddy(combo);
  form->addRow(label, combo);
  return combo;
}

void main_window::build_inputs(QWidget* panel) {
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(0, 0, 4, 0);
  auto* box = new QGroupBox("Plan", panel);
  auto* form = new QFormLayout(box);
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);

  std::vector<std::pair<QString, QString>> models;
  for (const selfextend::model_info& m : selfextend::model_presets())
    models.emplace_back(QString("%1  (L = %2)").arg(QString::fromStdString(m.name), grouped(m.context)),
                        QString::fromStdString(m.name));
  models.emplace_back("custom context L", custom_context_key);
  model_combo_ = add_choice_row(form, "&Model:", "model", models);
  open_config_button_ = new QPushButton("&Open config.json\u2026", box);
  open_config_button_->setToolTip("Read L and the RoPE settings from a Hugging Face config.json (Ctrl+O)");
  form->addRow(QString(), open_config_button_);
  add_message_row(form, "config");
  model_facts_ = new facts_browser(box);
  model_facts_->setObjectName("model_facts");
  model_facts_->setAccessibleName("model facts");
  model_facts_->setFocusPolicy(Qt::NoFocus);
  form->addRow(model_facts_);

  context_field_ = add_number_row(form, "&Context L:", "context", "Pretrained context L (editable for a custom context)", false).field;
  tokens_field_ = add_number_row(form, "&Tokens N:", "tokens", "Target length N: prompt + generation, in tokens", false).field;
  tokens_field_->set_single_step(256);
  method_combo_ = add_choice_row(form, "M&ethod:", "method",
                                 {{"Self-Extend (G, W)", "selfextend"},
                                  {"Dual Chunk Attention", "dca"},
                                  {"ReRoPE", "rerope"},
                                  {"Leaky ReRoPE", "leaky-rerope"},
                                  {"StreamingLLM", "streaming"}});
  method_combo_->setToolTip("The position-remap method whose map is shown (sxplan compare): choosing one fills in the "
                            "parameters the library recommends for N and L");
  // Each method's parameters (methods.hpp); only the chosen method's rows are shown.
  const std::vector<std::array<QString, 3>> method_rows = {
      {"C&hunk size c:", "chunk_size", "Dual Chunk Attention's chunk_size: the chunk a query's positions come from"},
      {"&Local window:", "local_window", "Dual Chunk Attention's local_window; chunks are chunk_size \u2212 local_window long"},
      {"W&indow w:", "method_window", "ReRoPE's window w: every distance from w on is read at w"},
      {"Lea&k k:", "leak", "Leaky ReRoPE's k > 1 (whole numbers here): far positions advance 1/k per token"},
      {"S&inks S:", "start_size", "StreamingLLM's attention sinks, kept at the start of the cache"},
      {"Rece&nt R:", "recent_size", "StreamingLLM's most recent keys kept in the cache"}};
  for (const auto& [label, key, tip] : method_rows) method_fields_[key] = add_number_row(form, label, key, tip, false).field;
  const number_row group = add_number_row(form, "&Group G:", "group", "Group size G: far keys share one position per G tokens", true);
  group_field_ = group.field;
  group_slider_ = group.slider;
  group_slider_->setPageStep(4);
  const number_row window = add_number_row(form, "&Window W:", "window", "Neighbor window W: keys nearer than W keep their exact position", true);
  window_field_ = window.field;
  window_field_->set_single_step(64);
  window_slider_ = window.slider;
  window_slider_->setSingleStep(16);
  window_slider_->setPageStep(128);

  shift_combo_ = add_choice_row(form, "&Shift:", "shift",
                               {{"int: W \u2212 \u230aW/G\u230b (LongLM fixed)", "int"},
                                {"float: W \u2212 W/G (Llama.py prefill)", "float"}});

  runtime_combo_ = add_choice_row(form, "&Runtime:", "runtime",
                                 {{"LongLM (the exact map)", "longlm"}, {"llama.cpp (--grp-attn-n/-w)", "llamacpp"}});
  runtime_combo_->setToolTip("llama.cpp groups its KV cache in prompt chunks of -b tokens: its positions differ "
                             "from the exact map, and -b decides how much");
  const number_row batch = add_number_row(form, "&Batch -b:", "batch", "llama.cpp's n_batch (-b): the prompt chunk size", false);
  batch_field_ = batch.field;
  batch_row_label_ = form->labelForField(batch_field_);

  max_group_field_ = add_number_row(form, "Ma&x group:", "max_group",
                                    "The largest G the advisor considers (the library's max_group). Empty: 64, "
                                    "passed only when no plan within it fits; a number is a hard cap",
                                    false).field;
  max_group_field_->set_placeholder(QString("%1 (default)").arg(selfextend::default_max_group));
  keep_window_check_ = new QCheckBox("&Keep W when advising", box);
  keep_window_check_->setObjectName("keep_window");
  keep_window_check_->setToolTip("Ask the advisor for the best G at this W instead of choosing W too");
  form->addRow(QString(), keep_window_check_);
  plan_form_ = form;
  layout->addWidget(box);
  layout->addStretch(1);
  connect_inputs();
}

void main_window::connect_inputs() {
  connect(model_combo_, &QComboBox::currentIndexChanged, this, [this] { model_changed(); });
  connect(open_config_button_, &QPushButton::clicked, this, &main_window::open_config_dialog);
  for (int64_field* field : {context_field_, tokens_field_, group_field_, window_field_, max_group_field_, batch_field_})
    connect(field, &int64_field::edited, this, [this] { inputs_changed(); });
  connect(group_slider_, &QSlider::valueChanged, this, [this](int position) {
    if (!updating_) group_field_->set_value(group_range_.value_at(position));
  });
  connect(window_slider_, &QSlider::valueChanged, this, [this](int position) {
    if (!updating_) window_field_->set_value(window_range_.value_at(position));
  });
  connect(shift_combo_, &QComboBox::currentIndexChanged, this, [this] { inputs_changed(); });
  connect(runtime_combo_, &QComboBox::currentIndexChanged, this, [this] {
    update_mode();
    inputs_changed();
  });
  connect(keep_window_check_, &QCheckBox::toggled, this, [this] { inputs_changed(); });
  connect(method_combo_, &QComboBox::currentIndexChanged, this, [this] {
    if (!updating_) select_method(method_kind());
  });
  for (const auto& [key, field] : method_fields_) connect(field, &int64_field::edited, this, [this] { inputs_changed(); });
}

selfextend::method_kind main_window::method_kind() const {
  return selfextend::parse_method_kind(method_combo_->currentData().toString().toStdString())
      .value_or(selfextend::method_kind::self_extend);
}

void main_window::select_method(selfextend::method_kind kind) {
  updating_ = true;
  method_combo_->setCurrentIndex(std::max(0, method_combo_->findData(text_of(selfextend::to_string(kind)))));
  // The library's recommendation for this N and L, when both read; otherwise the fields keep their text.
  if (const std::optional<std::int64_t> tokens = tokens_field_->value(); tokens && kind != selfextend::method_kind::self_extend) {
    try {
      const selfextend::method_row r = selfextend::recommend_method(kind, selfextend::comparison_for(model_, *tokens));
      method_fields_.at("chunk_size")->set_value(r.method.chunk_size);
      method_fields_.at("local_window")->set_value(r.method.local_window);
      method_fields_.at("method_window")->set_value(r.method.window);
      method_fields_.at("leak")->set_value(static_cast<std::int64_t>(r.method.leak));  // compare recommends whole k
      method_fields_.at("start_size")->set_value(r.method.start_size);
      method_fields_.at("recent_size")->set_value(r.method.recent_size);
    } catch (const selfextend::invalid_params&) {
      // N or L breaks a rule: inputs_changed() shows the library's message under the field.
    }
  }
  updating_ = false;
  update_mode();
  inputs_changed();
}

void main_window::update_method_rows() {
  using selfextend::method_kind;
  const method_kind kind = this->method_kind();
  const bool self_extend = kind == method_kind::self_extend;
  // Self-Extend's rows (its plan, the runtimes that run it, its advisor) give way to the method's.
  for (QWidget* w : std::initializer_list<QWidget*>{group_field_, group_slider_, window_field_, window_slider_, shift_combo_,
                                                    runtime_combo_, max_group_field_, keep_window_check_})
    plan_form_->setRowVisible(w, self_extend);
  const std::map<QString, bool> shown = {
      {"chunk_size", kind == method_kind::dca},
      {"local_window", kind == method_kind::dca},
      {"method_window", kind == method_kind::rerope || kind == method_kind::leaky_rerope},
      {"leak", kind == method_kind::leaky_rerope},
      {"start_size", kind == method_kind::streaming},
      {"recent_size", kind == method_kind::streaming}};
  for (const auto& [key, on] : shown) plan_form_->setRowVisible(method_fields_.at(key), on);
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
  const std::vector<QWidget*> all = {model_combo_,    open_config_button_, context_field_,  tokens_field_, method_combo_,
                                       method_fields_.at("chunk_size"), method_fields_.at("local_window"),
                                       method_fields_.at("method_window"), method_fields_.at("leak"),
                                       method_fields_.at("start_size"), method_fields_.at("recent_size"),
                                     group_field_,    group_slider_,       window_field_,   window_slider_,
                                     shift_combo_,    runtime_combo_,      batch_field_,    max_group_field_,
                                     keep_window_check_, reuse_,           map_,            llamacpp_map_,
                                     advice_->table(), llamacpp_panel_->apply_button()};
  // Tab skips what the current mode hides and what is disabled (Context with a preset).
  std::vector<QWidget*> reachable;
  for (QWidget* w : all)
    if (w->isVisibleTo(this) && w->isEnabled()) reachable.push_back(w);
  return reachable;
}

bool main_window::llamacpp_mode() const { return runtime_combo_->currentData().toString() == "llamacpp"; }

void main_window::update_mode() {
  const bool self_extend = method_kind() == selfextend::method_kind::self_extend;
  if (!self_extend && llamacpp_mode()) {
    // llama.cpp's group attention is Self-Extend's: another method is shown in the exact runtime.
    const QSignalBlocker block(runtime_combo_);
    runtime_combo_->setCurrentIndex(std::max(0, runtime_combo_->findData("longlm")));
  }
  update_method_rows();
  const bool llama = llamacpp_mode();
  batch_field_->setVisible(llama);
  if (batch_row_label_) batch_row_label_->setVisible(llama);
  reuse_->setVisible(!llama && self_extend);
  llamacpp_map_->setVisible(llama);
  advice_->setVisible(!llama && self_extend);
  llamacpp_panel_->setVisible(llama);
  max_group_field_->setToolTip(llama ? "The largest --grp-attn-n the llama.cpp advisor considers (max_group)"
                                     : max_group_field_->property("base_tooltip").toString());
  if (!llama) field_messages_.at("batch")->hide();
}

void main_window::apply_options(const start_options& options) {
  updating_ = true;
  // Defaults: the seed example (Llama-2, 15,800 tokens, W = 1024, G = 8).
  QString model = "llama-2-7b";
  QString context = grouped(4096), tokens = grouped(15800), group = grouped(8), window = grouped(1024);
  QString max_group;  // empty: the advisor's default, passed when no plan within it fits
  QString batch = grouped(selfextend::llamacpp_default_batch);
  QString shift = "int", runtime = "longlm";
  std::optional<QString> config;
  if (options.use_settings) {
    const QSettings s;
    model = s.value("inputs/model", model).toString();
    context = s.value("inputs/context", context).toString();
    tokens = s.value("inputs/tokens", tokens).toString();
    group = s.value("inputs/group", group).toString();
    window = s.value("inputs/window", window).toString();
    max_group = s.value("inputs/max_group", max_group).toString();
    // Settings written before inputs/version 2 held the field's old default, "64", as text; the
    // same text now means a hard cap. Read as what it meant then: the advisor's default.
    if (s.value("inputs/version", 1).toInt() < settings_version && max_group.trimmed() == QString::number(default_max_group))
      max_group.clear();
    batch = s.value("inputs/batch", batch).toString();
    shift = s.value("inputs/shift", shift).toString();
    runtime = s.value("inputs/runtime", runtime).toString();
    if (model == config_key) config = s.value("inputs/config").toString();
    keep_window_check_->setChecked(s.value("inputs/keep_window", false).toBool());
  }
  if (options.model) model = QString::fromStdString(*options.model);
  if (options.context) {
    model = custom_context_key;
    context = grouped(*options.context);
  }
  if (options.config) {
    model = config_key;
    config = QString::fromStdString(*options.config);
  }
  if (options.tokens) tokens = grouped(*options.tokens);
  if (options.group) group = grouped(*options.group);
  if (options.window) window = grouped(*options.window);
  if (options.max_group) max_group = grouped(*options.max_group);
  if (options.batch) batch = grouped(*options.batch);
  if (options.shift) shift = text_of(selfextend::to_string(*options.shift));
  if (options.llamacpp) runtime = "llamacpp";
  QString method = "selfextend";
  std::map<QString, QString> method_texts;
  if (options.use_settings) {
    const QSettings s;
    method = s.value("inputs/method", method).toString();
    for (const auto& [key, field] : method_fields_) method_texts[key] = s.value("inputs/" + key).toString();
  }

  // Text as given: a remembered value the library refuses shows its message instead of being fixed up.
  context_field_->set_text(context);
  tokens_field_->set_text(tokens);
  group_field_->set_text(group);
  window_field_->set_text(window);
  max_group_field_->set_text(max_group);
  batch_field_->set_text(batch);
  shift_combo_->setCurrentIndex(std::max(0, shift_combo_->findData(shift)));
  runtime_combo_->setCurrentIndex(std::max(0, runtime_combo_->findData(runtime)));
  method_combo_->setCurrentIndex(std::max(0, method_combo_->findData(method)));
  bool remembered_parameters = false;
  for (const auto& [key, text] : method_texts)
    if (!text.isEmpty()) {
      method_fields_.at(key)->set_text(text);
      remembered_parameters = true;
    }
  update_mode();
  updating_ = false;
  if (!(config && load_config(*config))) {
    if (model == custom_context_key) {
      model_combo_->setCurrentIndex(model_combo_->findData(custom_context_key));
      model_changed();
    } else if (!select_preset(model)) {
      select_preset("llama-2-7b");
    }
  }
  // A method given on the command line starts from the library's recommendation for N and L.
  // A method given on the command line starts from the library's recommendation for N and L, as
  // does a remembered one without remembered parameters.
  if (options.method)
    select_method(*options.method);
  else if (method_kind() != selfextend::method_kind::self_extend && !remembered_parameters)
    select_method(method_kind());
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
    // Self-Extend remaps RoPE positions only: the library refuses other encodings, as the CLI does.
    selfextend::require_rope(loaded, "config", path.toStdString());
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
  const bool custom = key == custom_context_key;
  if (custom) {
    model_ = selfextend::model_info{};
    model_.name = "context";
    model_.context = context_field_->value().value_or(0);
    model_.source = "custom";
  } else if (key != config_key) {
    model_ = selfextend::find_model(key.toStdString());
  }
  if (key != config_key) config_issue_.reset();
  if (!custom) {
    updating_ = true;
    context_field_->set_value(model_.context);
    updating_ = false;
  }
  // With a preset or a config, L is the model's: the field shows it and says why it cannot be typed.
  context_field_->setEnabled(custom);
  const QString base = custom ? context_field_->property("base_tooltip").toString()
                              : QString("L comes from %1; choose \u201ccustom context L\u201d under Model to type one")
                                    .arg(key == config_key ? QString("the config.json") : QString("the preset ") + key);
  context_field_->setToolTip(base);
  context_field_->setProperty("mode_tooltip", base);
  update_model_facts();
  inputs_changed();
}

void main_window::update_model_facts() {
  const QString key = model_combo_->currentData().toString();
  if (key == custom_context_key) {
    model_facts_->clear();
    model_facts_->hide();
    return;
  }
  // Every fact the library read, with where it came from (model_info::sources).
  const auto from = [&](const char* fact) {
    const auto it = model_.sources.find(fact);
    return it == model_.sources.end() || it->second.empty() ? QString() : " <i>(" + html_of(it->second) + ")</i>";
  };
  QStringList lines;
  lines << QString("<b>L = %1</b>%2").arg(grouped(model_.context),
                                          model_.context_source.empty() ? QString()
                                                                        : " \u2014 " + html_of(model_.context_source));
  if (model_.advertised_context && *model_.advertised_context != model_.context)
    lines << QString("the file states %1 tokens%2").arg(grouped(*model_.advertised_context), from("advertised_context"));
  if (model_.encoding != selfextend::position_encoding::rope)
    lines << QString("position encoding: %1%2").arg(text_of(selfextend::to_string(model_.encoding)), from("position_encoding"));
  lines << QString("RoPE \u03b8 = %1%2").arg(grouped(static_cast<std::int64_t>(model_.rope_theta)), from("rope_theta"));
  QString dims = QString("head dim %1").arg(grouped(model_.head_dim));
  if (model_.rotary_dims != 0 && model_.rotary_dims != model_.head_dim)
    dims += QString(", %1 rotary").arg(grouped(model_.rotary_dims));
  lines << dims + QString(" \u00b7 %1 pairs").arg(text_of(selfextend::to_string(model_.style)));
  if (model_.rope_scaling && model_.rope_scaling->type != selfextend::rope_scaling_type::none) {
    const selfextend::rope_scaling& r = *model_.rope_scaling;
    QString line = QString("RoPE scaling: %1 \u00d7%2").arg(text_of(selfextend::to_string(r.type)), fixed(r.factor, 2));
    if (r.original_context) line += QString(" from %1").arg(grouped(*r.original_context));
    lines << line + from("rope_scaling");
  } else {
    lines << "RoPE scaling: none";
  }
  if (model_.sliding_window) {
    QString line = QString("sliding window %1 tokens, %2 layers slide")
                       .arg(grouped(*model_.sliding_window), text_of(selfextend::to_string(model_.sliding)));
    if (model_.sliding == selfextend::sliding_layers::alternating && model_.sliding_period > 0)
      line += QString(" (one global layer in %1)").arg(model_.sliding_period);
    if (model_.sliding_layer_count) line += QString(", %1 of them").arg(grouped(*model_.sliding_layer_count));
    lines << line + from("sliding_window");
  } else {
    lines << "sliding window: none";
  }
  if (!model_.layer_map.empty()) lines << "layers: " + html_of(selfextend::describe_layer_map(model_));
  for (const std::string& n : model_.notes) lines << html_of(n);
  if (!model_.source.empty()) lines << "source: " + html_of(model_.source);
  for (const std::string& w : model_.warnings) lines << "<span style='color:#8a4b00'>warning: " + html_of(w) + "</span>";
  model_facts_->setHtml("<div style='color:#444444'>" + lines.join("<br>") + "</div>");
  model_facts_->show();
}

void main_window::inputs_changed() {
  if (updating_) return;
  const bool custom = model_combo_->currentData().toString() == custom_context_key;
  const bool llama = llamacpp_mode();
  // First the text: each field must read as a 64-bit integer (the library's rule and message).
  std::vector<selfextend::issue> unreadable;
  const auto read = [&](const int64_field* field) {
    if (std::optional<selfextend::issue> p = field->problem()) {
      unreadable.push_back(*p);
      return std::int64_t{0};
    }
    return *field->value();
  };
  const std::int64_t context = custom ? read(context_field_) : model_.context;
  if (custom && unreadable.empty()) model_.context = context;
  const std::int64_t tokens = read(tokens_field_);
  if (method_kind() != selfextend::method_kind::self_extend) {
    method_inputs_changed(context, tokens, std::move(unreadable));
    return;
  }
  const std::int64_t group = read(group_field_);
  const std::int64_t window = read(window_field_);
  const std::int64_t batch = llama ? read(batch_field_) : selfextend::llamacpp_default_batch;
  if (!unreadable.empty()) {
    issues_ = unreadable;
  } else {
    params_ = {context, tokens,
               {group, window, *selfextend::parse_shift_rule(shift_combo_->currentData().toString().toStdString())}};
    // Then the values: the library's rules, all of them at once.
    issues_ = selfextend::validate(params_);
    if (llama && issues_.empty()) {
      const std::vector<selfextend::issue> more = selfextend::validate(llamacpp_schedule_for(batch));
      issues_.insert(issues_.end(), more.begin(), more.end());
    }
  }
  export_action_->setEnabled(issues_.empty());
  sync_sliders();
  if (!issues_.empty()) {
    verdict_->show_invalid(issues_);
    reuse_->clear("Invalid inputs: see the messages under the fields.");
    map_->clear("Invalid inputs: see the messages under the fields.");
    llamacpp_map_->clear("Invalid inputs: see the messages under the fields.");
    advice_->clear("Invalid inputs: no advice.");
    llamacpp_panel_->clear("Invalid inputs: no llama.cpp flags.");
    advised_for_.reset();
    advice_issue_.reset();
    show_field_issues();
    return;
  }
  try {
    verdict_->show_assessment(selfextend::assess(params_), *params_.context);
    map_->set_plan(params_.extension, params_.tokens, *params_.context);
    if (llama) {
      update_llamacpp();
    } else {
      update_reuse();
      update_advice();
    }
  } catch (const selfextend::invalid_params& e) {
    issues_ = e.issues();
    export_action_->setEnabled(false);
    verdict_->show_invalid(issues_);
  }
  show_field_issues();
}

void main_window::method_inputs_changed(std::int64_t context, std::int64_t tokens, std::vector<selfextend::issue> unreadable) {
  const auto read = [&](const QString& key) {
    if (std::optional<selfextend::issue> p = method_fields_.at(key)->problem()) {
      unreadable.push_back(*p);
      return std::int64_t{0};
    }
    return *method_fields_.at(key)->value();
  };
  selfextend::method_params m;
  m.kind = method_kind();
  switch (m.kind) {
    case selfextend::method_kind::dca:
      m.chunk_size = read("chunk_size");
      m.local_window = read("local_window");
      break;
    case selfextend::method_kind::leaky_rerope:
      m.leak = static_cast<double>(read("leak"));
      [[fallthrough]];
    case selfextend::method_kind::rerope: m.window = read("method_window"); break;
    case selfextend::method_kind::streaming:
      m.start_size = read("start_size");
      m.recent_size = read("recent_size");
      break;
    case selfextend::method_kind::self_extend: break;
  }
  issues_ = std::move(unreadable);
  double largest = 0;
  std::optional<std::int64_t> capacity;
  if (issues_.empty()) {
    // The library's rules: the method's, then N's (largest_position) and L's (method_capacity).
    issues_ = selfextend::validate(m);
    if (issues_.empty()) {
      try {
        largest = selfextend::largest_position(m, tokens);
      } catch (const selfextend::invalid_params& e) {
        issues_.insert(issues_.end(), e.issues().begin(), e.issues().end());
      }
      try {
        capacity = selfextend::method_capacity(m, context);
      } catch (const selfextend::invalid_params& e) {
        issues_.insert(issues_.end(), e.issues().begin(), e.issues().end());
      }
    }
  }
  export_action_->setEnabled(false);  // the exported tables are Self-Extend's
  sync_sliders();
  if (!issues_.empty()) {
    verdict_->show_invalid(issues_);
    map_->clear("Invalid inputs: see the messages under the fields.");
    show_field_issues();
    return;
  }
  method_ = m;
  // method_capacity is the largest N that fits: N fits when there is none or N is within it.
  const bool fits = !capacity || tokens <= *capacity;
  verdict_->show_method(method_title(m.kind), largest, fits, capacity, selfextend::dropped_pairs(m, tokens), context);
  map_->set_method(m, tokens, context);
  show_field_issues();
}

bool main_window::max_group_is_default() const { return max_group_field_->text().trimmed().isEmpty(); }

std::optional<std::int64_t> main_window::max_group_choice() const {
  return max_group_is_default() ? std::nullopt : max_group_field_->value();
}

std::optional<selfextend::issue> main_window::max_group_problem() const {
  return max_group_is_default() ? std::nullopt : max_group_field_->problem();
}

void main_window::sync_sliders() {
  const QSignalBlocker block_g(group_slider_);
  const QSignalBlocker block_w(window_slider_);
  // The group slider covers the advisor's range 1 .. max_group; the window slider 1 .. L - 1.
  // Up to the cap (or 64), and far enough for a G past it: an applied plan past 64 stays on the slider.
  const std::int64_t cap = max_group_choice().value_or(default_max_group);
  const std::int64_t group = group_field_->value().value_or(1);
  group_range_.set(group_slider_, 1, std::max({cap, group, std::int64_t{2}}));
  const std::int64_t context = model_.context;
  window_range_.set(window_slider_, 1, std::max<std::int64_t>(1, context - 1));
  if (const std::optional<std::int64_t> g = group_field_->value()) group_slider_->setValue(group_range_.position_of(*g));
  if (const std::optional<std::int64_t> w = window_field_->value()) window_slider_->setValue(window_range_.position_of(*w));
}

void main_window::update_reuse() {
  // The closed-form summary: no per-position array, whatever N is.
  try {
    reuse_->set_stats(selfextend::summarise_reuse(params_));
  } catch (const selfextend::invalid_params& e) {
    reuse_->clear(QString::fromStdString(e.what()));
  }
}

std::optional<std::string> main_window::not_applicable_reason() const {
  // The model's layer map judged at the L being planned (the context field may differ from the file's).
  selfextend::model_info at_context = model_;
  at_context.context = *params_.context;
  return selfextend::self_extend_not_applicable(at_context);
}

void main_window::update_advice() {
  advice_issue_.reset();
  selfextend::advice_request request;
  request.context = *params_.context;
  request.tokens = params_.tokens;
  if (keep_window_check_->isChecked()) request.window = params_.extension.window;
  request.shift = params_.extension.shift;
  request.top = 8;
  if (const std::optional<selfextend::issue> p = max_group_problem()) {
    advice_issue_ = p;
    advice_->clear("No advice: " + QString::fromStdString(p->message()));
    advised_for_.reset();
    return;
  }
  request.max_group = max_group_choice();
  request.not_applicable = not_applicable_reason();
  if (advised_for_ && *advised_for_ == request) return;  // G/W drags need no new advice
  advised_for_ = request;
  try {
    const selfextend::advice answer = selfextend::advise(request);
    if (!answer.applicable) {
      advice_->clear("Not applicable: " + QString::fromStdString(answer.not_applicable_reason));
      return;
    }
    advice_->show_advice(answer);
  } catch (const selfextend::no_solution& e) {
    advice_issue_ = e.reason();
    advice_->show_no_solution(e);
  } catch (const selfextend::invalid_params& e) {
    for (const selfextend::issue& i : e.issues())
      if (i.key == "max_group") advice_issue_ = i;
    advice_->clear("No advice: " + QString::fromStdString(e.what()));
    advised_for_.reset();
  }
}

selfextend::llamacpp_schedule main_window::llamacpp_schedule_for(std::int64_t batch) const {
  selfextend::llamacpp_schedule s;
  s.tokens = params_.tokens;  // the whole input as one prompt: what llama-cli reads
  s.batch = batch;
  s.ga_n = params_.extension.group;
  s.ga_w = params_.extension.window;
  s.context = params_.context;
  return s;
}

void main_window::update_llamacpp() {
  advice_issue_.reset();
  const selfextend::llamacpp_schedule s = llamacpp_schedule_for(*batch_field_->value());
  llamacpp_map_->set_llamacpp(s, *params_.context);
  selfextend::llamacpp_advice_request request;
  request.context = *params_.context;
  request.tokens = params_.tokens;
  if (keep_window_check_->isChecked()) request.window = params_.extension.window;
  std::optional<selfextend::llamacpp_advice> advice;
  QString refusal;
  if (const std::optional<selfextend::issue> p = max_group_problem()) {
    advice_issue_ = p;
    refusal = QString::fromStdString(p->message());
  } else {
    request.max_group = max_group_choice();
    request.not_applicable = not_applicable_reason();
    try {
      advice = selfextend::advise_llamacpp(request);
      if (!advice->applicable) {
        refusal = "Not applicable: " + QString::fromStdString(advice->not_applicable_reason);
        advice.reset();
      }
    } catch (const selfextend::no_solution& e) {
      advice_issue_ = e.reason();
      refusal = QString::fromStdString(e.reason().message());
    } catch (const selfextend::invalid_params& e) {
      for (const selfextend::issue& i : e.issues())
        if (i.key == "max_group") advice_issue_ = i;
      refusal = QString::fromStdString(e.what());
    }
  }
  llamacpp_panel_->show_schedule(s, advice, refusal);
}

void main_window::show_field_issues() {
  const std::map<QString, QWidget*> fields = {{"tokens", tokens_field_},     {"group", group_field_},
                                              {"window", window_field_},     {"context", context_field_},
                                              {"config", model_combo_},      {"max_group", max_group_field_},
                                              {"batch", batch_field_},           {"chunk_size", method_fields_.at("chunk_size")},
                                              {"local_window", method_fields_.at("local_window")},
                                              {"method_window", method_fields_.at("method_window")},
                                              {"leak", method_fields_.at("leak")},
                                              {"start_size", method_fields_.at("start_size")},
                                              {"recent_size", method_fields_.at("recent_size")}};
  // llama.cpp's names for G and W are its flags' (ga_n, ga_w): their messages go under G and W.
  std::map<std::string, QString> aliases = {{"ga_n", "group"}, {"ga_w", "window"}};
  // ReRoPE's window is its own field: W is Self-Extend's.
  if (method_kind() != selfextend::method_kind::self_extend) aliases["window"] = "method_window";
  for (const auto& [key, label] : field_messages_) {
    QStringList messages;
    for (const selfextend::issue& i : issues_) {
      const auto alias = aliases.find(i.key);
      if ((alias != aliases.end() ? alias->second : QString::fromStdString(i.key)) == key)
        messages << QString::fromStdString(i.message());
    }
    if (key == "config" && config_issue_) messages << QString::fromStdString(config_issue_->message());
    if (key == "max_group" && advice_issue_) messages << QString::fromStdString(advice_issue_->message());
    label->setText(messages.join("\n"));
    label->setVisible(!messages.isEmpty() && (key != "batch" || llamacpp_mode()));
    QWidget* field = fields.at(key);
    const bool invalid = !messages.isEmpty() && key != "config";
    if (field->property("invalid").toBool() != invalid) {
      field->setProperty("invalid", invalid);
      field->setStyleSheet(invalid ? invalid_field_style : QString());
    }
    if (key == "config") continue;
    const QVariant mode_tip = field->property("mode_tooltip");
    const QString base = mode_tip.isValid() ? mode_tip.toString() : field->property("base_tooltip").toString();
    field->setToolTip(invalid ? messages.join("\n") : base);
  }
}

QString main_window::field_message(const QString& key) const {
  const auto it = field_messages_.find(key);
  return it == field_messages_.end() ? QString() : it->second->text();
}

void main_window::apply_plan(const selfextend::plan& p) {
  updating_ = true;
  group_field_->set_value(p.group);
  window_field_->set_value(p.window);
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
  s.setValue("inputs/version", settings_version);
  s.setValue("inputs/model", model_combo_->currentData().toString());
  s.setValue("inputs/context", context_field_->text());
  if (config_path_) s.setValue("inputs/config", *config_path_);
  s.setValue("inputs/tokens", tokens_field_->text());
  s.setValue("inputs/group", group_field_->text());
  s.setValue("inputs/window", window_field_->text());
  s.setValue("inputs/max_group", max_group_field_->text());
  s.setValue("inputs/batch", batch_field_->text());
  s.setValue("inputs/shift", shift_combo_->currentData().toString());
  s.setValue("inputs/runtime", runtime_combo_->currentData().toString());
  s.setValue("inputs/keep_window", keep_window_check_->isChecked());
  s.setValue("inputs/method", method_combo_->currentData().toString());
  for (const auto& [key, field] : method_fields_) s.setValue("inputs/" + key, field->text());
}

void main_window::restore_settings() {
  const QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  main_splitter_->restoreState(s.value("window/main_splitter").toByteArray());
  right_splitter_->restoreState(s.value("window/right_splitter").toByteArray());
  views_splitter_->restoreState(s.value("window/views_splitter").toByteArray());
  update_mode();  // a splitter's saved state can carry another mode's hidden views
}

void main_window::closeEvent(QCloseEvent* event) {
  if (options_.use_settings) save_settings();
  QMainWindow::closeEvent(event);
}

}  // namespace sxplan_gui
