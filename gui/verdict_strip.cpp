// verdict_strip.cpp - the verdict strip: the library's assessment rendered as coloured labels.
#include "verdict_strip.hpp"

#include <cmath>

#include <QHBoxLayout>
#include <QLabel>
#include <QStringList>
#include <QVBoxLayout>

#include "gui_format.hpp"

namespace sxplan_gui {

QColor band_colour(selfextend::verdict v) {
  // Colour-blind-safe-ish traffic light: the band must read at a glance, the text says it too.
  switch (v) {
    case selfextend::verdict::native: return QColor(0x15, 0x65, 0xc0);  // blue: nothing extended, nothing to judge
    case selfextend::verdict::within_well_trained: return QColor(0x2e, 0x7d, 0x32);
    case selfextend::verdict::borderline: return QColor(0xb2, 0x8a, 0x00);
    case selfextend::verdict::less_trained: return QColor(0xe6, 0x6a, 0x00);
    case selfextend::verdict::exceeds_window: return QColor(0xc6, 0x28, 0x28);
    default: break;  // a band added to the library later shows neutral until it gets a colour here
  }
  return QColor(Qt::gray);
}

verdict_strip::verdict_strip(QWidget* parent) : QFrame(parent) {
  setFrameShape(QFrame::StyledPanel);
  setObjectName("verdict_strip");
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(8, 6, 8, 6);
  auto* row = new QHBoxLayout;
  band_ = new QLabel(this);
  band_->setObjectName("verdict_band");
  band_->setAlignment(Qt::AlignCenter);
  band_->setMinimumWidth(160);
  QFont bold = band_->font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() * 1.25);
  band_->setFont(bold);
  band_->setAutoFillBackground(true);
  fits_ = new QLabel(this);
  capacity_ = new QLabel(this);
  reach_ = new QLabel(this);
  for (QLabel* l : {fits_, capacity_, reach_}) {
    l->setTextInteractionFlags(Qt::TextSelectableByMouse);
    l->setWordWrap(true);  // a narrow window wraps the figures instead of cutting them
    QFont f = l->font();
    f.setPointSizeF(f.pointSizeF() * 1.1);
    l->setFont(f);
  }
  row->addWidget(band_);
  row->addSpacing(12);
  row->addWidget(fits_, 3);
  row->addWidget(capacity_, 3);
  row->addWidget(reach_, 3);
  outer->addLayout(row);
  warning_ = new QLabel(this);
  warning_->setWordWrap(true);
  warning_->setStyleSheet("color: #8a4b00;");
  warning_->hide();
  outer->addWidget(warning_);
}

void verdict_strip::set_band_colour(const QColor& colour) {
  QPalette pal = band_->palette();
  pal.setColor(QPalette::Window, colour);
  pal.setColor(QPalette::WindowText, Qt::white);
  band_->setPalette(pal);
}

void verdict_strip::show_assessment(const selfextend::assessment& a, std::int64_t context) {
  band_->setText(QString::fromUtf8(selfextend::to_string(a.band).data(),
                                   static_cast<qsizetype>(selfextend::to_string(a.band).size())));
  set_band_colour(band_colour(a.band));
  fits_->setText(QString("<b>%1</b> &nbsp;largest position %2 %3 L&minus;1 = %4")
                     .arg(a.fits ? "fits" : "does not fit", grouped(a.max_position), a.fits ? "&le;" : "&gt;",
                          grouped(context - 1)));
  capacity_->setText(QString("capacity <b>%1</b> exact &middot; %2 paper").arg(grouped(a.capacity_exact),
                                                                               grouped(a.capacity_paper)));
  reach_->setText(QString("reach R = <b>%1</b> &middot; %2 % of L").arg(fixed(a.effective_reach, 1),
                                                                        fixed(100.0 * a.reach_ratio, 1)));
  QStringList notes;
  for (const std::string& w : a.warnings) notes << QString::fromStdString(w);
  if (a.fractional_offset != 0)
    notes << QString("float shift: group positions are %1 below the int figures").arg(fixed(a.fractional_offset, 3));
  warning_->setText(notes.join("\n"));
  warning_->setVisible(!notes.isEmpty());
}

void verdict_strip::show_method(const QString& title, double largest_position, bool fits,
                                const std::optional<std::int64_t>& capacity, std::int64_t dropped_pairs,
                                std::int64_t context) {
  // No verdict band: the bands are Self-Extend's reach rules. Fits or not is what every method has.
  band_->setText(title);
  set_band_colour(fits ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
  // Whole positions as integers (every method but Leaky ReRoPE); 9e18 keeps the cast below 2^63.
  const bool whole = std::floor(largest_position) == largest_position && largest_position < 9e18;
  fits_->setText(QString("<b>%1</b> &nbsp;largest position %2 %3 L&minus;1 = %4")
                     .arg(fits ? "fits" : "does not fit",
                          whole ? grouped(static_cast<std::int64_t>(largest_position)) : fixed(largest_position, 2),
                          fits ? "&le;" : "&gt;", grouped(context - 1)));
  capacity_->setText(capacity ? QString("capacity <b>%1</b> tokens").arg(grouped(*capacity))
                              : QString("capacity <b>any N</b>: positions stay below L"));
  reach_->setText(dropped_pairs > 0 ? QString("<b>%1</b> causal pairs not attended").arg(grouped(dropped_pairs))
                                    : QString("every key attended"));
  warning_->clear();
  warning_->hide();
}

void verdict_strip::show_invalid(const std::vector<selfextend::issue>& issues) {
  band_->setText("invalid input");
  set_band_colour(QColor(0x60, 0x60, 0x60));
  QStringList messages;
  for (const selfextend::issue& i : issues) messages << QString::fromStdString(i.message()).toHtmlEscaped();
  fits_->setText(QString("<span style='color:#c62828'>%1</span>").arg(messages.join("<br>")));
  capacity_->clear();
  reach_->clear();
  warning_->clear();
  warning_->hide();
}

QString verdict_strip::band_text() const { return band_->text(); }
QString verdict_strip::fits_text() const { return fits_->text(); }
QString verdict_strip::capacity_text() const { return capacity_->text(); }
QString verdict_strip::reach_text() const { return reach_->text(); }
QString verdict_strip::warning_text() const { return warning_->text(); }

}  // namespace sxplan_gui
