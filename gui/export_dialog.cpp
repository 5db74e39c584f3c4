// export_dialog.cpp - the export dialog: library enums in combo boxes, library validation live.
#include "export_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QStringList>

#include <selfextend/position_tables.hpp>

#include "gui_format.hpp"

namespace sxplan_gui {

namespace {

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

}  // namespace

export_dialog::export_dialog(const selfextend::plan& p, std::int64_t tokens, QWidget* parent)
    : QDialog(parent), plan_(p), tokens_(tokens) {
  setWindowTitle("Export position tables");
  auto* form = new QFormLayout(this);
  form->addRow(new QLabel(QString("Tables for N = %1, G = %2, W = %3, %4 shift")
                              .arg(grouped(tokens), grouped(p.group), grouped(p.window), text_of(to_string(p.shift))),
                          this));
  path_ = new QLineEdit(this);
  path_->setObjectName("export_path");
  auto* browse_button = new QPushButton("&Browse\u2026", this);
  auto* path_row = new QHBoxLayout;
  path_row->addWidget(path_, 1);
  path_row->addWidget(browse_button);
  auto* path_label = new QLabel("&File:", this);
  path_label->setBuddy(path_);
  form->addRow(path_label, path_row);

  format_ = new QComboBox(this);
  format_->setObjectName("export_format");
  for (const auto f : {selfextend::table_format::npy, selfextend::table_format::safetensors, selfextend::table_format::csv,
                       selfextend::table_format::json, selfextend::table_format::c_header})
    format_->addItem(text_of(selfextend::to_string(f)), text_of(selfextend::to_string(f)));
  auto* format_label = new QLabel("F&ormat:", this);
  format_label->setBuddy(format_);
  form->addRow(format_label, format_);

  layout_ = new QComboBox(this);
  layout_->setObjectName("export_layout");
  for (const auto l : {selfextend::table_layout::tokens, selfextend::table_layout::dense})
    layout_->addItem(text_of(selfextend::to_string(l)), text_of(selfextend::to_string(l)));
  auto* layout_label = new QLabel("&Layout:", this);
  layout_label->setBuddy(layout_);
  form->addRow(layout_label, layout_);

  phase_ = new QComboBox(this);
  phase_->setObjectName("export_phase");
  for (const auto ph : {selfextend::table_phase::prefill, selfextend::table_phase::decode})
    phase_->addItem(text_of(selfextend::to_string(ph)), text_of(selfextend::to_string(ph)));
  auto* phase_label = new QLabel("&Phase:", this);
  phase_label->setBuddy(phase_);
  form->addRow(phase_label, phase_);

  message_ = new QLabel(this);
  message_->setWordWrap(true);
  message_->setStyleSheet("color: #c62828;");
  form->addRow(message_);
  buttons_ = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
  form->addRow(buttons_);

  connect(browse_button, &QPushButton::clicked, this, &export_dialog::browse);
  connect(path_, &QLineEdit::textEdited, this, &export_dialog::path_edited);
  for (QComboBox* c : {format_, layout_, phase_})
    connect(c, &QComboBox::currentIndexChanged, this, &export_dialog::changed);
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  changed();
}

selfextend::table_request export_dialog::request() const {
  selfextend::table_request r;
  r.extension = plan_;
  r.tokens = tokens_;
  r.format = *selfextend::parse_table_format(format_->currentData().toString().toStdString());
  r.layout = *selfextend::parse_table_layout(layout_->currentData().toString().toStdString());
  r.phase = *selfextend::parse_table_phase(phase_->currentData().toString().toStdString());
  return r;
}

QString export_dialog::path() const { return path_->text(); }

void export_dialog::browse() {
  const QString chosen = QFileDialog::getSaveFileName(
      this, "Export position tables", path_->text(),
      "NumPy (*.npy);;safetensors (*.safetensors);;CSV (*.csv);;JSON (*.json);;C header (*.h);;All files (*)");
  if (chosen.isEmpty()) return;
  path_->setText(chosen);
  path_edited();
}

void export_dialog::path_edited() {
  // The extension picks the format, as `sxplan table` does when --format is not given.
  if (const auto f = selfextend::format_for_extension(path_->text().toStdString()))
    format_->setCurrentIndex(format_->findData(text_of(selfextend::to_string(*f))));
  changed();
}

void export_dialog::changed() {
  QStringList messages;
  for (const selfextend::issue& i : selfextend::validate(request())) messages << QString::fromStdString(i.message());
  message_->setText(messages.join("\n"));
  buttons_->button(QDialogButtonBox::Save)->setEnabled(messages.isEmpty() && !path_->text().isEmpty());
}

}  // namespace sxplan_gui
