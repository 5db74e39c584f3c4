// advice_view.cpp - a table of ranked plans, filled from the library's advice struct.
#include "advice_view.hpp"

#include <QHeaderView>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStringList>
#include <QTableWidget>
#include <QVBoxLayout>

#include "gui_format.hpp"
#include "verdict_strip.hpp"

namespace sxplan_gui {

namespace {

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

QTableWidgetItem* cell(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
  auto* item = new QTableWidgetItem(text);
  item->setTextAlignment(align);
  item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
  return item;
}

}  // namespace

advice_view::advice_view(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QHBoxLayout;
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(summary_, 1);
  raise_ = new QPushButton(this);
  raise_->setObjectName("raise_max_group");
  raise_->hide();
  top->addWidget(raise_, 0, Qt::AlignTop);
  layout->addLayout(top);
  connect(raise_, &QPushButton::clicked, this, [this] { emit max_group_chosen(raise_to_); });
  table_ = new QTableWidget(0, 8, this);
  table_->setObjectName("advice_table");
  table_->setAccessibleName("advised plans");
  table_->setHorizontalHeaderLabels({"#", "G", "W", "verdict", "largest position", "reach R", "R / L", "reasons"});
  table_->verticalHeader()->hide();
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setTabKeyNavigation(false);
  table_->setWordWrap(false);
  table_->setTextElideMode(Qt::ElideRight);
  table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);  // Tab leaves the table, arrows move inside it
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setToolTip("Double-click a plan, or select it and press Enter, to apply it");
  layout->addWidget(table_);
  // activated = double-click, or Enter/Return on the current row.
  connect(table_, &QTableWidget::activated, this, [this](const QModelIndex& index) {
    if (index.isValid() && index.row() < static_cast<int>(plans_.size()))
      emit plan_chosen(plans_[static_cast<std::size_t>(index.row())]);
  });
}

void advice_view::show_advice(const selfextend::advice& a) {
  plans_.clear();
  table_->setRowCount(0);
  raise_->hide();
  QStringList summary;
  if (!a.extension_needed) summary << "N \u2264 L: no extension needed (G = 1, verdict native).";
  if (a.window_for_min_groups) {
    QString mins = QString("For W = %1: smallest G that fits <b>%2</b>")
                       .arg(grouped(*a.window_for_min_groups),
                            a.min_group_for_capacity ? grouped(*a.min_group_for_capacity) : QString("none"));
    mins += QString(", for \u2154L > R <b>%1</b>")
                .arg(a.min_group_for_two_thirds ? grouped(*a.min_group_for_two_thirds) : QString("none"));
    mins += QString(", for \u00bdL > R <b>%1</b>.")
                .arg(a.min_group_for_half ? grouped(*a.min_group_for_half) : QString("none"));
    summary << mins;
  }
  // No plan within the default max group fits: the advisor went past it; the capped plans follow.
  if (a.past_max_group)
    summary << QString("<span style='color:#b28a00'><b>Past the default max group %1</b>: no plan with G \u2264 %1 "
                       "fits, so these plans use larger groups (LongLM's README finds 2\u2013%1 reasonable for "
                       "Llama-2); the plans with G = %1 are listed last and do not fit.</span>")
                   .arg(selfextend::default_max_group);
  summary << "Double-click a plan (or select it and press Enter) to apply it.";
  summary_->setText(summary.join(" "));
  table_->setRowCount(static_cast<int>(a.candidates.size() + a.capped.size()));
  int row = 0;
  for (const auto* list : {&a.candidates, &a.capped}) {
    for (const selfextend::ranked_plan& r : *list) {
      plans_.push_back(r.extension);
      QStringList reasons;
      for (const std::string& s : r.reasons) reasons << QString::fromStdString(s);
      auto* band = cell(text_of(selfextend::to_string(r.judgement.band)), Qt::AlignCenter);
      band->setForeground(band_colour(r.judgement.band));
      table_->setItem(row, 0, cell(list == &a.capped ? QString("G \u2264 %1").arg(selfextend::default_max_group)
                                                    : QString::number(row + 1)));
      table_->setItem(row, 1, cell(grouped(r.extension.group)));
      table_->setItem(row, 2, cell(grouped(r.extension.window)));
      table_->setItem(row, 3, band);
      table_->setItem(row, 4, cell(grouped(r.judgement.max_position)));
      table_->setItem(row, 5, cell(fixed(r.judgement.effective_reach, 1)));
      table_->setItem(row, 6, cell(fixed(r.judgement.reach_ratio, 3)));
      auto* why = cell(reasons.join("; "), Qt::AlignLeft | Qt::AlignVCenter);
      why->setToolTip(reasons.join("\n"));
      table_->setItem(row, 7, why);
      ++row;
    }
  }
  // Size the numeric columns to their contents; the reasons column takes the rest.
  for (int c = 0; c + 1 < table_->columnCount(); ++c) table_->resizeColumnToContents(c);
}

void advice_view::show_no_solution(const selfextend::no_solution& e) {
  plans_.clear();
  table_->setRowCount(0);
  raise_to_ = e.least_satisfying();
  summary_->setText(QString("<span style='color:#c62828'><b>No plan fits within this max group</b>: %1</span>")
                        .arg(QString::fromStdString(e.reason().rule).toHtmlEscaped()));
  raise_->setText(QString("Max group \u2192 %1").arg(grouped(raise_to_)));
  raise_->setToolTip("Let the advisor consider groups up to the smallest G that fits");
  raise_->show();
}

void advice_view::clear(const QString& why) {
  raise_->hide();
  plans_.clear();
  table_->setRowCount(0);
  summary_->setText(why);
}

selfextend::plan advice_view::plan_at(int row) const { return plans_.at(static_cast<std::size_t>(row)); }
int advice_view::row_count() const { return static_cast<int>(plans_.size()); }
QString advice_view::summary_text() const { return summary_->text(); }

}  // namespace sxplan_gui
