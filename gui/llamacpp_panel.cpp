// llamacpp_panel.cpp - renders the library's llama.cpp advice and comparison (no arithmetic here).
#include "llamacpp_panel.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QStringList>
#include <QVBoxLayout>

#include "gui_format.hpp"

namespace sxplan_gui {

namespace {

QString html_of(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

QString percent(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? fixed(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1) + " %" : QString("\u2014");
}

}  // namespace

llamacpp_panel::llamacpp_panel(QWidget* parent) : QWidget(parent) {
  setObjectName("llamacpp_panel");
  // The texts scroll when the splitter leaves them less room than they need: never clipped.
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  auto* content = new QWidget(scroll);
  scroll->setWidget(content);
  outer->addWidget(scroll);
  auto* layout = new QVBoxLayout(content);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout;
  flags_ = new QLabel(this);
  flags_->setObjectName("llamacpp_flags");
  flags_->setWordWrap(true);
  flags_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  flags_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  apply_ = new QPushButton("&Use these flags", this);
  apply_->setObjectName("llamacpp_apply");
  apply_->setToolTip("Set G, W and -b to the advised --grp-attn-n, --grp-attn-w and -b");
  apply_->setEnabled(false);
  row->addWidget(flags_, 1);
  row->addWidget(apply_, 0, Qt::AlignTop);
  layout->addLayout(row);
  comparison_label_ = new QLabel(this);
  comparison_label_->setObjectName("llamacpp_comparison");
  comparison_label_->setWordWrap(true);
  comparison_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  comparison_label_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  layout->addWidget(comparison_label_);
  layout->addStretch(1);
  connect(apply_, &QPushButton::clicked, this, [this] {
    if (advice_) emit plan_chosen({advice_->ga_n, advice_->ga_w, selfextend::shift_rule::integer}, advice_->batch);
  });
}

void llamacpp_panel::show_schedule(const selfextend::llamacpp_schedule& s,
                                   const std::optional<selfextend::llamacpp_advice>& advice, const QString& refusal) {
  advice_ = advice;
  apply_->setEnabled(advice.has_value());
  QStringList flags;
  if (advice) {
    QStringList args;
    for (const std::string& a : advice->arguments) args << html_of(a);
    flags << QString("<b>llama.cpp flags</b> (<tt>sxplan advise --runtime llamacpp</tt>): "
                     "<tt>llama-cli -m MODEL.gguf %1</tt>")
                 .arg(args.join(' '));
    flags << QString("largest position %1 (%2); with the default -b %3 it would be %4")
                 .arg(grouped(advice->max_position), advice->fits ? "fits" : "does not fit",
                      grouped(selfextend::llamacpp_default_batch), grouped(advice->default_batch_max_position));
    for (const std::string& r : advice->reasons) flags << "\u2022 " + html_of(r);
    for (const std::string& w : advice->warnings) flags << "<span style='color:#8a4b00'>! " + html_of(w) + "</span>";
  } else {
    flags << "<b>llama.cpp flags</b>: <span style='color:#c62828'>" + refusal.toHtmlEscaped() + "</span>";
  }
  flags_->setText(flags.join("<br>"));

  QString text = QString("<b>This schedule</b> (-b %1, --grp-attn-n %2, --grp-attn-w %3) against the exact map "
                         "(<tt>sxplan llamacpp</tt>): ")
                     .arg(grouped(s.batch), grouped(s.ga_n), grouped(s.ga_w));
  const std::int64_t n = s.tokens + s.generate;
  if (n > comparison_limit) {
    comparison_.reset();
    text += QString("the pair-by-pair comparison keeps two arrays of N entries, so it runs for N \u2264 %1 tokens; "
                    "the map beside the exact one samples any N.")
                .arg(grouped(comparison_limit));
  } else {
    comparison_ = selfextend::compare_llamacpp(s);
    const selfextend::llamacpp_comparison& c = *comparison_;
    text += QString("largest position <b>%1</b> (decoded one token at a time: %2; exact map: %3)")
                .arg(grouped(c.max_position), grouped(c.single_token_max_position), grouped(c.exact_max_position));
    if (c.fits) text += *c.fits ? QString(", fits L") : QString(", <span style='color:#c62828'>past L</span>");
    text += QString(". %1 of %2 pairs (%3) differ from the exact map, by %4 on average and at most %5; "
                    "exact neighbours per query %6 in llama.cpp against %7 in the map.")
                .arg(grouped(c.differing_pairs), grouped(c.total_pairs), percent(c.differing_pairs, c.total_pairs),
                     fixed(c.mean_difference, 2), grouped(c.max_difference), fixed(c.mean_llamacpp_neighbors, 1),
                     fixed(c.mean_exact_neighbors, 1));
  }
  comparison_label_->setText(text);
}

void llamacpp_panel::clear(const QString& why) {
  advice_.reset();
  comparison_.reset();
  apply_->setEnabled(false);
  flags_->setText(why.toHtmlEscaped());
  comparison_label_->clear();
}

QString llamacpp_panel::flags_text() const { return flags_->text(); }
QString llamacpp_panel::comparison_text() const { return comparison_label_->text(); }

}  // namespace sxplan_gui
