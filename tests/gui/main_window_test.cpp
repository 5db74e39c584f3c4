// main_window_test - QtTest tests for gui/main_window.hpp: drive sxplan-gui's widgets and check them against the library.
#include <cstring>

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QMouseEvent>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTextDocument>
#include <QToolTip>
#include <QtTest>

#include <selfextend/advice.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/method_maps_plot.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/hf_config.hpp>
#include <selfextend/params.hpp>
#include <selfextend/npy.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/table_writers.hpp>
#include <selfextend/reuse.hpp>

#include "advice_view.hpp"
#include "gui_format.hpp"
#include "int64_field.hpp"
#include "llamacpp_panel.hpp"
#include "main_window.hpp"
#include "map_view.hpp"
#include "reuse_view.hpp"
#include "verdict_strip.hpp"

using sxplan_gui::main_window;
using sxplan_gui::start_options;

namespace {

/// The seed example (docs/gui.md): Llama-2, 15,800 tokens, W = 1024, G = 8.
start_options seed() {
  start_options o;
  o.model = "llama-2-7b";
  o.tokens = 15800;
  o.group = 8;
  o.window = 1024;
  o.use_settings = false;
  return o;
}

QString text_of(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

/// Replaces a spin box's text the way a person does: select all, type, press Enter.
void type_into(sxplan_gui::int64_field* field, const QString& text) {
  field->setFocus();
  field->selectAll();
  QTest::keyClicks(field, text);
  QTest::keyClick(field, Qt::Key_Enter);
}

/// Writes `text` to `path` (a config.json for the test).
bool write_file(const QString& path, const char* text) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly) && f.write(text) == static_cast<qint64>(std::strlen(text));
}

/// Draws `w` at `size` so the views record where their labels went.
void paint_at(main_window& w, QSize size) {
  w.resize(size);
  w.show();
  for (int round = 0; round < 4; ++round) QApplication::processEvents();
  (void)w.grab();
}

/// No two rectangles of `rects` overlap.
bool disjoint(const std::vector<QRect>& rects, QString* which) {
  for (std::size_t a = 0; a < rects.size(); ++a)
    for (std::size_t b = a + 1; b < rects.size(); ++b)
      if (rects[a].intersects(rects[b])) {
        *which = QString("rect %1 (%2,%3 %4x%5) overlaps rect %6").arg(a).arg(rects[a].x()).arg(rects[a].y())
                     .arg(rects[a].width()).arg(rects[a].height()).arg(b);
        return false;
      }
  return true;
}

/// sxplan-gui run with `args` and no display at all: exit code, stdout, stderr.
struct run_result {
  int exit_code = -1;
  QString out, err;
};
run_result run_gui(const QStringList& args, bool without_display = false) {
  QProcess process;
  if (without_display) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}) env.remove(name);
    process.setProcessEnvironment(env);
  }
  process.start(SXPLAN_GUI_BINARY, args);
  if (!process.waitForFinished(60000)) return {};
  return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
          QString::fromUtf8(process.readAllStandardOutput()), QString::fromUtf8(process.readAllStandardError())};
}

}  // namespace

class main_window_test : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(settings_dir_.isValid());
    QCoreApplication::setOrganizationName("selfextend-planner-tests");
    QCoreApplication::setApplicationName("sxplan-gui-tests");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir_.path());
  }

  void seedExampleShowsTheLibraryVerdict() {
    main_window w(seed());
    const selfextend::assessment a = selfextend::assess({4096, 15800, {8, 1024}});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a.band)));
    QCOMPARE(a.max_position, 2870);
    QVERIFY2(w.verdict()->fits_text().contains("2,870"), qPrintable(w.verdict()->fits_text()));
    QVERIFY(w.verdict()->capacity_text().contains("25,600"));
    QVERIFY2(w.verdict()->reach_text().contains("2,871.0"), qPrintable(w.verdict()->reach_text()));
    QVERIFY(w.export_action()->isEnabled());
  }

  void changingGroupUpdatesTheVerdict() {
    main_window w(seed());
    type_into(w.group_input(), "5");
    QCOMPARE(w.params().extension.group, 5);
    const selfextend::assessment a5 = selfextend::assess({4096, 15800, {5, 1024}});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a5.band)));
    QVERIFY2(w.verdict()->fits_text().contains("3,979"), qPrintable(w.verdict()->fits_text()));
    QCOMPARE(w.group_slider()->value(), 5);
    // The histogram holds the library's counts for G = 5, not the ones for G = 8.
    QVERIFY(w.reuse()->has_stats());
    QVERIFY(w.reuse()->stats() == selfextend::summarise_reuse({4096, 15800, {5, 1024}}));
    QCOMPARE(w.reuse()->stats().max_position, 3979);
    QCOMPARE(w.reuse()->stats().total_pairs, std::int64_t{15800} * 15801 / 2);

    // The slider drives the spin box: one step right is G = 6.
    w.group_slider()->setFocus();
    QTest::keyClick(w.group_slider(), Qt::Key_Right);
    QCOMPARE(w.group_input()->value().value(), 6);
    const selfextend::assessment a6 = selfextend::assess({4096, 15800, {6, 1024}});
    QVERIFY(w.verdict()->fits_text().contains(sxplan_gui::grouped(a6.max_position)));
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a6.band)));
    QVERIFY(w.reuse()->stats() == selfextend::summarise_reuse({4096, 15800, {6, 1024}}));

    // G = 4 cannot hold 15,800 tokens: the verdict says so.
    type_into(w.group_input(), "4");
    QCOMPARE(w.verdict()->band_text(), QString("exceeds_window"));
    QVERIFY(w.verdict()->fits_text().contains("does not fit"));
  }

  void invalidWindowShowsTheLibraryMessageAndDisablesExport() {
    main_window w(seed());
    type_into(w.window_input(), "5000");
    const std::vector<selfextend::issue> expected = selfextend::validate({4096, 15800, {8, 5000}});
    QCOMPARE(expected.size(), std::size_t{1});
    QCOMPARE(w.field_message("window"), QString::fromStdString(expected[0].message()));
    QCOMPARE(w.field_message("window"), QString("window = 5000: must be smaller than context (4096)"));
    QVERIFY(!w.export_action()->isEnabled());
    QCOMPARE(w.verdict()->band_text(), QString("invalid input"));
    QVERIFY(w.verdict()->fits_text().contains("window = 5000: must be smaller than context (4096)"));
    QVERIFY(!w.reuse()->has_stats());

    type_into(w.window_input(), "1024");
    QVERIFY(w.field_message("window").isEmpty());
    QVERIFY(w.export_action()->isEnabled());
  }

  void zeroGroupAndTokensShowTheirOwnMessages() {
    main_window w(seed());
    type_into(w.group_input(), "0");
    type_into(w.tokens_input(), "0");
    QCOMPARE(w.field_message("group"), QString("group = 0: must be at least 1"));
    QCOMPARE(w.field_message("tokens"), QString("tokens = 0: must be at least 1"));
    QVERIFY(!w.export_action()->isEnabled());
  }

  void customContextIsValidatedByTheLibrary() {
    main_window w(seed());
    w.model_input()->setCurrentIndex(w.model_input()->findData("#context"));
    QVERIFY(w.context_input()->isEnabled());
    type_into(w.context_input(), "1");
    QCOMPARE(w.field_message("context"), QString("context = 1: must be at least 2"));
    type_into(w.context_input(), "8192");
    QVERIFY(w.field_message("context").isEmpty());
    QCOMPARE(*w.params().context, 8192);
    QVERIFY(w.export_action()->isEnabled());
  }

  void applyingAnAdvisedPlanSetsTheInputs() {
    main_window w(seed());
    w.show();
    QVERIFY(w.advice()->row_count() >= 2);
    QTableWidget* table = w.advice()->table();
    // Double-click the second plan.
    const selfextend::plan second = w.advice()->plan_at(1);
    const QRect rect = table->visualRect(table->model()->index(1, 1));
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(w.group_input()->value().value(), second.group);
    QCOMPARE(w.window_input()->value().value(), second.window);
    QCOMPARE(w.params().extension, second);
    const selfextend::assessment a = selfextend::assess({4096, 15800, second});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a.band)));

    // Enter on the selected first plan applies it too.
    const selfextend::plan first = w.advice()->plan_at(0);
    table->setFocus();
    table->setCurrentIndex(table->model()->index(0, 0));
    QTest::keyClick(table, Qt::Key_Return);
    QCOMPARE(w.params().extension, first);
    // The advised plans are the library's.
    selfextend::advice_request request;
    request.context = 4096;
    request.tokens = 15800;
    request.top = 8;
    const selfextend::advice advice = selfextend::advise(request);
    QCOMPARE(first, advice.candidates.at(0).extension);
  }

  void keepWindowAsksTheAdvisorForThisWindow() {
    main_window w(seed());
    w.keep_window_input()->setChecked(true);
    for (int row = 0; row < w.advice()->row_count(); ++row) QCOMPARE(w.advice()->plan_at(row).window, 1024);
    QVERIFY2(w.advice()->summary_text().contains("smallest G that fits <b>5</b>"), qPrintable(w.advice()->summary_text()));
    QVERIFY(w.advice()->summary_text().contains("<b>9</b>"));
    QVERIFY(w.advice()->summary_text().contains("<b>15</b>"));
  }

  void mapHoverShowsTheLibrarysPair() {
    main_window w(seed());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    sxplan_gui::map_view* map = w.map();
    const QRect plot = map->plot_rect();
    const QPoint at(plot.left() + plot.width() / 5, plot.bottom() - 3);  // far key, late query: group branch
    QMouseEvent move(QEvent::MouseMove, QPointF(at), map->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, {});
    QApplication::sendEvent(map, &move);
    const std::optional<sxplan_gui::map_view::pair_info> p = map->pair_at(at);
    QVERIFY(p.has_value());
    const selfextend::mapped_position m = selfextend::map_pair(p->query, p->key, {8, 1024});
    QCOMPARE(p->from, m.from);
    QCOMPARE(p->from, selfextend::branch::group);
    QVERIFY2(map->hover_text().contains(QString("position %1").arg(sxplan_gui::grouped(m.position))),
             qPrintable(map->hover_text()));
    QVERIFY(map->hover_text().contains("group branch"));
    // Just below the diagonal is the neighbor band.
    const QPoint near(plot.left() + plot.width() / 2, plot.top() + plot.height() / 2 + 1);
    const std::optional<sxplan_gui::map_view::pair_info> q = map->pair_at(near);
    QVERIFY(q.has_value());
    QCOMPARE(q->from, selfextend::branch::neighbor);
    QCOMPARE(static_cast<std::int64_t>(q->position), q->query - q->key);
  }

  void reuseHoverShowsTheLibrarysCounts() {
    main_window w(seed());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    sxplan_gui::reuse_view* view = w.reuse();
    const QRect plot = view->plot_rect();
    const QPoint at(plot.left() + plot.width() / 2, plot.center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(at), view->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, {});
    QApplication::sendEvent(view, &move);
    const std::optional<std::int64_t> p = view->position_at(at);
    QVERIFY(p.has_value());
    const selfextend::reuse_stats stats = selfextend::compute_reuse({4096, 15800, {8, 1024}});
    const auto k = static_cast<std::size_t>(*p);
    QCOMPARE(selfextend::count_reuse({4096, 15800, {8, 1024}}, *p, *p).neighbor + selfextend::count_reuse({4096, 15800, {8, 1024}}, *p, *p).group,
             stats.counts.at(k));
    QVERIFY2(view->hover_text().contains(QString("position %1: %2 pairs").arg(sxplan_gui::grouped(*p),
                                                                              sxplan_gui::grouped(stats.counts.at(k)))),
             qPrintable(view->hover_text()));
  }

  void choosingAMethodShowsItsMapFromTheLibrary() {
    main_window w(seed());
    paint_at(w, {1440, 900});
    const std::int64_t L = 4096, N = 15800;
    // Self-Extend first: the verdict is assess()'s and the views are the usual ones.
    QCOMPARE(w.method_kind(), selfextend::method_kind::self_extend);
    QVERIFY(!w.map()->method().has_value());
    QVERIFY(w.reuse()->isVisible() && w.advice()->isVisible() && w.group_input()->isVisible());
    for (const selfextend::method_kind kind : {selfextend::method_kind::dca, selfextend::method_kind::rerope,
                                               selfextend::method_kind::leaky_rerope, selfextend::method_kind::streaming}) {
      w.method_input()->setCurrentIndex(w.method_input()->findData(text_of(selfextend::to_string(kind))));
      paint_at(w, {1440, 900});
      // The fields hold the library's recommendation, the map draws exactly that method.
      const selfextend::method_row row = selfextend::recommend_method(kind, selfextend::comparison_for(w.model(), N));
      QCOMPARE(w.method_kind(), kind);
      QVERIFY(w.issues().empty());
      QCOMPARE(w.method(), row.method);
      QVERIFY(w.map()->method().has_value());
      QCOMPARE(*w.map()->method(), row.method);
      QVERIFY(!w.group_input()->isVisible() && !w.reuse()->isVisible() && !w.advice()->isVisible());
      QVERIFY(!w.export_action()->isEnabled());
      QCOMPARE(w.method_field("chunk_size")->isVisible(), kind == selfextend::method_kind::dca);
      QCOMPARE(w.method_field("leak")->isVisible(), kind == selfextend::method_kind::leaky_rerope);
      QCOMPARE(w.method_field("recent_size")->isVisible(), kind == selfextend::method_kind::streaming);
      // The verdict strip: the library's largest position and capacity, fits as the row says.
      QVERIFY2(w.verdict()->fits_text().startsWith(row.fits ? "<b>fits</b>" : "<b>does not fit</b>"),
               qPrintable(w.verdict()->fits_text()));
      const bool whole = row.largest_position == std::floor(row.largest_position);
      const QString largest = whole ? sxplan_gui::grouped(static_cast<std::int64_t>(row.largest_position))
                                    : sxplan_gui::fixed(row.largest_position, 2);
      QVERIFY2(w.verdict()->fits_text().contains("largest position " + largest), qPrintable(w.verdict()->fits_text()));
      QVERIFY2(w.verdict()->capacity_text().contains(row.capacity ? sxplan_gui::grouped(*row.capacity) : QString("any N")),
               qPrintable(w.verdict()->capacity_text()));
      // Every sampled cell is the library's colour of the library's remap() of its pair.
      sxplan_gui::map_view* map = w.map();
      const int cells = map->sampled_cells();
      QVERIFY(cells > 16);
      std::int64_t grey = 0;
      for (int r = 0; r < cells; r += 7)
        for (int c = 0; c <= r; c += 5) {
          const auto [i, j] = map->cell_pair(r, c);
          const selfextend::remapped_position p = selfextend::remap(row.method, i, j);
          const QRgb expected = QColor(QString::fromStdString(selfextend::method_maps_fill(p, L))).rgb();
          QVERIFY2(map->cell_colour(r, c) == expected, qPrintable(QString("cell %1, %2").arg(r).arg(c)));
          grey += !p.attended;
        }
      // StreamingLLM's evicted keys are among them, and no other method drops any.
      QCOMPARE(grey > 0, kind == selfextend::method_kind::streaming);
      // Hover: the pair's position and branch, as remap() and select_branch() give them.
      const QRect plot = map->plot_rect();
      const QPoint at(plot.left() + plot.width() / 5, plot.bottom() - 3);
      QMouseEvent move(QEvent::MouseMove, QPointF(at), map->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, {});
      QApplication::sendEvent(map, &move);
      const std::optional<sxplan_gui::map_view::pair_info> info = map->pair_at(at);
      QVERIFY(info.has_value());
      const selfextend::remapped_position p = selfextend::remap(row.method, info->query, info->key);
      QCOMPARE(info->attended, p.attended);
      if (p.attended) {
        const std::optional<int> b = selfextend::select_branch(row.method, info->query, info->key);
        QVERIFY(b.has_value());
        QVERIFY2(map->hover_text().contains(text_of(selfextend::branch_names(kind)[static_cast<std::size_t>(*b)]) + " branch"),
                 qPrintable(map->hover_text()));
      } else {
        QVERIFY2(map->hover_text().contains("not attended"), qPrintable(map->hover_text()));
      }
    }
    // A parameter the library refuses: its message under its own field, the map blank.
    w.method_input()->setCurrentIndex(w.method_input()->findData("rerope"));
    type_into(w.method_field("method_window"), "0");
    QCOMPARE(w.field_message("method_window"), QString("window = 0: must be at least 1"));
    QVERIFY(w.field_message("window").isEmpty());  // not Self-Extend's W
    QCOMPARE(w.verdict()->band_text(), QString("invalid input"));
    // A window of 20,000 tokens at N = 15,800: every distance keeps its value, largest N - 1.
    type_into(w.method_field("method_window"), "20000");
    QVERIFY(w.issues().empty());
    QVERIFY2(w.verdict()->fits_text().contains("largest position 15,799"), qPrintable(w.verdict()->fits_text()));
    QVERIFY(w.verdict()->fits_text().startsWith("<b>does not fit</b>"));
    // Back to Self-Extend: exactly what the window showed before.
    w.method_input()->setCurrentIndex(w.method_input()->findData("selfextend"));
    paint_at(w, {1440, 900});
    const selfextend::assessment a = selfextend::assess({L, N, {8, 1024}});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a.band)));
    QVERIFY(w.verdict()->fits_text().contains("2,870"));
    QVERIFY(!w.map()->method().has_value());
    QVERIFY(w.reuse()->isVisible() && w.advice()->isVisible() && w.group_input()->isVisible());
    QVERIFY(!w.method_field("method_window")->isVisible());
    QVERIFY(w.export_action()->isEnabled());
  }

  void methodOnTheCommandLineIsCheckedByTheLibrary() {
    const run_result bad = run_gui({"--method", "yarn"}, true);
    QCOMPARE(bad.exit_code, 2);
    QVERIFY2(bad.err.startsWith("sxplan-gui: method = yarn: must be selfextend, dca, rerope, leaky-rerope or streaming"),
             qPrintable(bad.err));
    const run_result llama = run_gui({"--method", "dca", "--runtime", "llamacpp"}, true);
    QCOMPARE(llama.exit_code, 2);
    QVERIFY2(llama.err.contains("method = dca: only with --runtime longlm"), qPrintable(llama.err));
    start_options o = seed();
    o.tokens = 1000000000;
    o.method = selfextend::method_kind::streaming;
    main_window w(o);
    paint_at(w, {1440, 900});
    QCOMPARE(w.method_kind(), selfextend::method_kind::streaming);
    QVERIFY(w.map()->sampled_cells() <= sxplan_gui::map_view::max_cells);
    QVERIFY2(w.verdict()->reach_text().contains(sxplan_gui::grouped(selfextend::dropped_pairs(w.method(), 1000000000))),
             qPrintable(w.verdict()->reach_text()));
  }

  void mapSamplesAtMostMaxCellsAtLargeN() {
    start_options o = seed();
    o.tokens = 131072;
    main_window w(o);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    w.map()->repaint();
    QVERIFY(w.map()->sampled_cells() > 0);
    QVERIFY(w.map()->sampled_cells() <= sxplan_gui::map_view::max_cells);
    QCOMPARE(w.map()->view_span(), 131072);
    w.map()->zoom(0.5, 65536);
    QCOMPARE(w.map()->view_span(), 65536);
    w.map()->reset_zoom();
    QCOMPARE(w.map()->view_first(), 0);
    QCOMPARE(w.map()->view_span(), 131072);
  }

  void configJsonIsReadThroughTheLibrary() {
    QTemporaryDir dir;
    const QString good = dir.filePath("config.json");
    QVERIFY(write_file(good, R"({"model_type": "llama", "max_position_embeddings": 2048, "hidden_size": 2048,
                 "num_attention_heads": 32, "num_key_value_heads": 4, "rope_theta": 10000.0})"));
    main_window w(seed());
    QVERIFY(w.load_config(good));
    QCOMPARE(w.model().context, selfextend::read_hf_config(good.toStdString()).context);
    QCOMPARE(w.context_input()->value().value(), 2048);
    // W = 1024 < 2048 stays valid; the verdict is the library's for L = 2048.
    const selfextend::assessment a = selfextend::assess({2048, 15800, {8, 1024}});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a.band)));

    const QString missing = dir.filePath("absent.json");
    QVERIFY(!w.load_config(missing));
    std::string expected;
    try {
      (void)selfextend::read_hf_config(missing.toStdString());
    } catch (const selfextend::invalid_params& e) {
      expected = e.issues().front().message();
    }
    QVERIFY(!expected.empty());
    QCOMPARE(w.field_message("config"), QString::fromStdString(expected));
    QCOMPARE(w.model().context, 2048);  // the previous model stays
  }

  void exportWritesATableTheLibraryReadsBackEqual() {
    main_window w(seed());
    QTemporaryDir dir;
    const QString path = dir.filePath("seed.npy");
    selfextend::table_request request;
    request.format = selfextend::table_format::npy;
    request.layout = selfextend::table_layout::tokens;
    QCOMPARE(w.export_tables(path, request), QString());
    const selfextend::npy_array read = selfextend::read_npy(path.toStdString(), "table");
    QCOMPARE(read.shape, (std::vector<std::int64_t>{4, 15800}));
    const selfextend::position_tables expected = selfextend::build_position_tables({8, 1024}, 15800);
    std::vector<std::int64_t> rows;
    for (const selfextend::token_array a : selfextend::all_token_arrays)
      rows.insert(rows.end(), expected[a].begin(), expected[a].end());
    QVERIFY(read.to_int64() == rows);

    // The dense layout of a small plan, read back equal to the library's pair map.
    type_into(w.tokens_input(), "100");
    const QString dense = dir.filePath("dense.npy");
    request.layout = selfextend::table_layout::dense;
    QCOMPARE(w.export_tables(dense, request), QString());
    const selfextend::npy_array matrix = selfextend::read_npy(dense.toStdString(), "table");
    QCOMPARE(matrix.shape, (std::vector<std::int64_t>{100, 100}));
    const std::vector<std::int64_t> values = matrix.to_int64();
    for (std::int64_t i = 0; i < 100; ++i)
      for (std::int64_t j = 0; j < 100; ++j)
        QCOMPARE(values[static_cast<std::size_t>(i * 100 + j)],
                 j > i ? -1 : selfextend::map_pair(i, j, {8, 1024}).position);

    // An unwritable place: the library's message, and no file.
    const QString bad = dir.filePath("missing-dir/seed.npy");
    QVERIFY(!w.export_tables(bad, request).isEmpty());
    QVERIFY(!QFile::exists(bad));
  }

  void tabOrderFollowsReadingOrder() {
    main_window w(seed());
    w.show();
    QApplication::setActiveWindow(&w);
    QVERIFY(QTest::qWaitForWindowActive(&w));
    const std::vector<QWidget*> chain = w.tab_chain();
    chain.front()->setFocus();
    QCOMPARE(QApplication::focusWidget(), chain.front());
    for (std::size_t k = 1; k < chain.size(); ++k) {
      QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
      QCOMPARE(QApplication::focusWidget(), chain[k]);
    }
  }

  void windowStateAndInputsAreRemembered() {
    start_options o;
    o.use_settings = true;
    {
      main_window w(o);
      w.show();
      type_into(w.group_input(), "12");
      type_into(w.tokens_input(), "20000");
      w.resize(1100, 760);
      w.close();
    }
    {
      main_window w(o);
      QCOMPARE(w.group_input()->value().value(), 12);
      QCOMPARE(w.tokens_input()->value().value(), 20000);
      QCOMPARE(w.size(), QSize(1100, 760));
    }
    QSettings().clear();
  }

  void maxGroupSixtyFourFromOlderSettingsIsTheDefault() {
    // Settings from before inputs/version 2 held the old default's text, "64", which now reads as
    // a hard cap: it is read as the default it meant. Written again, it stays a version-2 value.
    QSettings().clear();
    {
      QSettings s;
      s.setValue("inputs/max_group", "64");
      s.setValue("inputs/tokens", "1,000,000");
    }
    start_options o;
    o.use_settings = true;
    {
      main_window w(o);
      QVERIFY(w.max_group_input()->text().isEmpty());
      w.show();
      type_into(w.max_group_input(), "64");  // typed now: a hard cap, remembered as such
      w.close();
    }
    {
      main_window w(o);
      QCOMPARE(w.max_group_input()->text(), QString("64"));
      QCOMPARE(QSettings().value("inputs/version").toInt(), 2);
    }
    {
      QSettings s;
      s.setValue("inputs/version", 1);
      s.setValue("inputs/max_group", "80");  // not the old default: kept as typed
    }
    {
      main_window w(o);
      QCOMPARE(w.max_group_input()->text(), QString("80"));
    }
    QSettings().clear();
  }

  void screenshotWritesAPng() {
    QTemporaryDir dir;
    const QString png = dir.filePath("seed.png");
    QProcess process;
    process.start(SXPLAN_GUI_BINARY, {"--screenshot", png, "--model", "llama-2-7b", "--tokens", "15800", "--window",
                                      "1024", "--group", "8", "--size", "1200x800"});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 0);
    const QImage image(png);
    QCOMPARE(image.size(), QSize(1200, 800));

    // A bad value is a usage error (exit 2) that names the option, and writes nothing.
    const QString bad = dir.filePath("bad.png");
    process.start(SXPLAN_GUI_BINARY, {"--screenshot", bad, "--model", "no-such-model"});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 2);
    QVERIFY(QString::fromUtf8(process.readAllStandardError()).contains("model = no-such-model: unknown model"));
    QVERIFY(!QFile::exists(bad));
  }

  // --- Item 1: 64-bit inputs, the library's messages, nothing clamped.
  void inputsAreNeverClampedAndTheLibraryJudgesThem() {
    main_window w(seed());
    type_into(w.tokens_input(), "-5");
    QCOMPARE(w.tokens_input()->text(), QString("-5"));
    QCOMPARE(w.field_message("tokens"), QString("tokens = -5: must be at least 1"));
    QVERIFY(!w.export_action()->isEnabled());
    type_into(w.tokens_input(), "5000000000");
    QVERIFY(w.field_message("tokens").isEmpty());
    QCOMPARE(w.params().tokens, std::int64_t{5'000'000'000});
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(selfextend::assess({4096, 5'000'000'000, {8, 1024}}).band)));
    type_into(w.tokens_input(), "9223372036854775807");
    QCOMPARE(w.params().tokens, INT64_MAX);
    QVERIFY(w.map()->view_span() == INT64_MAX);
    type_into(w.group_input(), "99999999999999999999");
    QCOMPARE(w.group_input()->text(), QString("99999999999999999999"));
    QCOMPARE(w.field_message("group"), QString("group = 99999999999999999999: does not fit in 64 bits"));
    type_into(w.window_input(), "1k");
    QCOMPARE(w.field_message("window"), QString("window = 1k: must be an integer"));
    QCOMPARE(w.verdict()->band_text(), QString("invalid input"));
    // Grouped text is the number it shows; any other comma is the library's to refuse.
    type_into(w.window_input(), "1,024");
    type_into(w.group_input(), "8");
    type_into(w.tokens_input(), "15,800");
    QVERIFY(w.issues().empty());
    QCOMPARE(w.params(), (selfextend::self_extend_params{4096, 15800, {8, 1024}}));
    type_into(w.window_input(), "1,02,4");
    QCOMPARE(w.field_message("window"), QString("window = 1,02,4: must be an integer"));
    // The arrows stop at the 64-bit edge instead of wrapping.
    type_into(w.tokens_input(), "9223372036854775807");
    w.tokens_input()->stepBy(1);
    QCOMPARE(w.tokens_input()->value().value(), INT64_MAX);
    w.tokens_input()->stepBy(-1);
    QCOMPARE(w.tokens_input()->value().value(), INT64_MAX - 256);
  }

  void windowSliderCoversAHugeContext() {
    start_options o = seed();
    o.model.reset();
    o.context = std::int64_t{1} << 40;
    main_window w(o);
    QCOMPARE(w.window_slider()->maximum(), sxplan_gui::slider_range::max_positions);
    w.window_slider()->setValue(w.window_slider()->maximum());
    QCOMPARE(w.params().extension.window, (std::int64_t{1} << 40) - 1);
    QVERIFY(w.issues().empty());
    w.window_slider()->setValue(0);
    QCOMPARE(w.params().extension.window, 1);
  }

  void commandLineValuesAreRefusedLikeTheCli() {
    const run_result negative = run_gui({"--screenshot", "/nonexistent/x.png", "--tokens", "-5"});
    QCOMPARE(negative.exit_code, 2);
    QCOMPARE(negative.err, QString("sxplan-gui: tokens = -5: must be at least 1 (see sxplan-gui --help)\n"));
    const run_result huge = run_gui({"--screenshot", "/nonexistent/x.png", "--group", "99999999999999999999"});
    QCOMPARE(huge.exit_code, 2);
    QCOMPARE(huge.err, QString("sxplan-gui: group = 99999999999999999999: does not fit in 64 bits (see sxplan-gui --help)\n"));
    const run_result window = run_gui({"--screenshot", "/nonexistent/x.png", "--model", "llama-2-7b", "--window", "5000"});
    QCOMPARE(window.exit_code, 2);
    QVERIFY2(window.err.contains("window = 5000: must be smaller than context (4096)"), qPrintable(window.err));
    const run_result flag = run_gui({"--bogus"});
    QCOMPARE(flag.exit_code, 2);
    QCOMPARE(flag.err, QString("sxplan-gui: unrecognised option '--bogus' (see sxplan-gui --help)\n"));
    const run_result group = run_gui({"--max-group", "0"});
    QCOMPARE(group.exit_code, 2);
    QVERIFY2(group.err.contains("max_group = 0: must be at least 1"), qPrintable(group.err));
    QCOMPARE(group.err.count('\n'), 1);
  }

  // --- Item 2: any N, bounded views, readable labels.
  void aBillionTokensNeedNoPerPositionArrays() {
    start_options o = seed();
    o.tokens = 1'000'000'000;
    main_window w(o);
    paint_at(w, {1440, 900});
    QVERIFY(w.reuse()->has_stats());
    const selfextend::reuse_stats& s = w.reuse()->stats();
    QVERIFY(s.counts.empty() && s.neighbor_counts.empty() && s.group_counts.empty());
    QCOMPARE(s.total_pairs, std::int64_t{1'000'000'000} * 1'000'000'001 / 2);
    QVERIFY(s == selfextend::summarise_reuse({4096, 1'000'000'000, {8, 1024}}));
    QVERIFY(w.map()->sampled_cells() <= sxplan_gui::map_view::max_cells);
    // A slider step recomputes everything (the timing is the drag benchmark's, not a test's).
    w.group_slider()->setValue(9);
    QCOMPARE(w.params().extension.group, 9);
    QVERIFY(w.reuse()->stats() == selfextend::summarise_reuse({4096, 1'000'000'000, {9, 1024}}));
    // Hover counts come from the closed form.
    sxplan_gui::reuse_view* view = w.reuse();
    const QPoint at(view->plot_rect().left() + view->plot_rect().width() / 3, view->plot_rect().center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(at), view->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, {});
    QApplication::sendEvent(view, &move);
    const std::int64_t p = view->position_at(at).value();
    const selfextend::reuse_bucket here = selfextend::count_reuse({4096, 1'000'000'000, {9, 1024}}, p, p);
    QVERIFY2(view->hover_text().contains(QString("position %1: %2 pairs").arg(sxplan_gui::grouped(p),
                                                                             sxplan_gui::grouped(here.neighbor + here.group))),
             qPrintable(view->hover_text()));
    // 2^31 - 1 tokens: the reuse view draws like the map does.
    type_into(w.tokens_input(), "2147483647");
    QVERIFY(w.reuse()->has_stats());
  }

  void markersAndTickLabelsNeverOverlap() {
    for (const QSize size : {QSize(800, 600), QSize(1440, 900)})
      for (const std::int64_t tokens : {std::int64_t{15800}, std::int64_t{1'000'000}, std::int64_t{1'000'000'000},
                                        std::int64_t{4'294'967'295}}) {
        start_options o = seed();
        o.tokens = tokens;
        main_window w(o);
        paint_at(w, size);
        const QString where = QString("%1x%2, N = %3").arg(size.width()).arg(size.height()).arg(tokens);
        QString which;
        QCOMPARE(w.reuse()->marker_label_rects().size(), std::size_t{3});
        QVERIFY2(disjoint(w.reuse()->marker_label_rects(), &which), qPrintable(where + ": markers: " + which));
        QVERIFY2(w.reuse()->tick_label_rects().size() >= 2, qPrintable(where));
        QVERIFY2(disjoint(w.reuse()->tick_label_rects(), &which), qPrintable(where + ": reuse ticks: " + which));
        QVERIFY2(disjoint(w.map()->tick_label_rects(), &which), qPrintable(where + ": map ticks: " + which));
        for (const QRect& r : w.reuse()->marker_label_rects()) QVERIFY2(w.reuse()->rect().contains(r), qPrintable(where));
        for (const QRect& r : w.map()->tick_label_rects()) QVERIFY2(w.map()->rect().contains(r), qPrintable(where));
      }
  }

  void hoverTextGoesWhenTheMouseLeaves() {
    main_window w(seed());
    paint_at(w, {1440, 900});
    for (QWidget* view : std::vector<QWidget*>{w.reuse(), w.map()}) {
      const QPoint at = view == w.reuse() ? w.reuse()->plot_rect().center()
                                          : QPoint(w.map()->plot_rect().left() + 5, w.map()->plot_rect().bottom() - 5);
      QMouseEvent move(QEvent::MouseMove, QPointF(at), view->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton, {});
      QApplication::sendEvent(view, &move);
      const QString before = view == w.reuse() ? w.reuse()->hover_text() : w.map()->hover_text();
      QVERIFY(!before.isEmpty());
      QTRY_VERIFY(QToolTip::isVisible());
      QCOMPARE(QToolTip::text(), before);
      QEvent leave(QEvent::Leave);
      QApplication::sendEvent(view, &leave);
      QVERIFY((view == w.reuse() ? w.reuse()->hover_text() : w.map()->hover_text()).isEmpty());
      QTRY_VERIFY(!QToolTip::isVisible());
    }
  }

  // --- Item 3: the advisor's max_group.
  void maxGroupReachesAPlanThatFits() {
    start_options o = seed();
    o.tokens = 1'000'000;
    main_window w(o);
    // An empty max group is the library's default: no G <= 64 fits, so the advice goes past it and
    // lists the capped plans last, as not fitting.
    QVERIFY(w.max_group_input()->text().isEmpty());
    selfextend::advice_request by_default;
    by_default.context = 4096;
    by_default.tokens = 1'000'000;
    by_default.top = 8;
    const selfextend::advice first = selfextend::advise(by_default);
    QVERIFY(first.past_max_group);
    QCOMPARE(w.advice()->plan_at(0), first.candidates.at(0).extension);
    QVERIFY(selfextend::assess({4096, 1'000'000, w.advice()->plan_at(0)}).fits);
    QCOMPARE(w.advice()->row_count(), static_cast<int>(first.candidates.size() + first.capped.size()));
    const selfextend::plan last = w.advice()->plan_at(w.advice()->row_count() - 1);
    QCOMPARE(last.group, selfextend::default_max_group);
    QVERIFY(!selfextend::assess({4096, 1'000'000, last}).fits);
    QVERIFY2(w.advice()->summary_text().contains("Past the default max group 64"), qPrintable(w.advice()->summary_text()));
    QVERIFY(!w.advice()->raise_max_group_button()->isVisibleTo(&w));
    QVERIFY(w.field_message("max_group").isEmpty());

    // 64 typed is a hard cap: no plan, the reason under the field, and the way to the smallest G that fits.
    type_into(w.max_group_input(), "64");
    QCOMPARE(w.advice()->row_count(), 0);
    std::int64_t smallest = 0;
    try {
      selfextend::advice_request capped = by_default;
      capped.max_group = 64;
      (void)selfextend::advise(capped);
      QFAIL("an explicit max_group of 64 must have no plan at N = 1,000,000");
    } catch (const selfextend::no_solution& e) {
      smallest = e.least_satisfying();
      QCOMPARE(w.field_message("max_group"), QString::fromStdString(e.reason().message()));
    }
    QVERIFY2(w.advice()->summary_text().contains("No plan fits within this max group"), qPrintable(w.advice()->summary_text()));
    QVERIFY(w.advice()->summary_text().contains(QString::number(smallest)));
    QVERIFY(w.advice()->raise_max_group_button()->isVisibleTo(&w));
    w.advice()->raise_max_group_button()->click();
    QCOMPARE(w.max_group_input()->value().value(), smallest);
    QVERIFY(w.advice()->row_count() > 0);
    QVERIFY(selfextend::assess({4096, 1'000'000, w.advice()->plan_at(0)}).fits);
    QVERIFY(w.advice()->plan_at(0).group <= smallest);
    QVERIFY(!w.advice()->raise_max_group_button()->isVisibleTo(&w));

    type_into(w.max_group_input(), "512");
    selfextend::advice_request request = by_default;
    request.max_group = 512;
    const selfextend::advice expected = selfextend::advise(request);
    QCOMPARE(w.advice()->plan_at(0), expected.candidates.at(0).extension);
    QVERIFY(selfextend::assess({4096, 1'000'000, w.advice()->plan_at(0)}).fits);
    QCOMPARE(w.group_slider()->maximum(), 512);
    type_into(w.max_group_input(), "0");
    QCOMPARE(w.field_message("max_group"), QString("max_group = 0: must be at least 1"));
    QCOMPARE(w.advice()->row_count(), 0);
    QVERIFY(w.export_action()->isEnabled());  // max_group is the advisor's, the plan stays valid
  }

  void nativeWhenNoExtensionIsNeeded() {
    start_options o = seed();
    o.tokens = 3000;
    main_window w(o);
    QCOMPARE(w.advice()->plan_at(0).group, std::int64_t{1});
    QVERIFY2(w.advice()->summary_text().contains("verdict native"), qPrintable(w.advice()->summary_text()));
    QVERIFY(sxplan_gui::band_colour(selfextend::verdict::native) != sxplan_gui::band_colour(selfextend::verdict::within_well_trained));
    QVERIFY(sxplan_gui::band_colour(selfextend::verdict::native) != QColor(Qt::gray));
  }

  // --- Item 4: the model's facts.
  void contextIsDisabledWithAPresetAndSaysWhy() {
    main_window w(seed());
    QVERIFY(!w.context_input()->isEnabled());
    QVERIFY2(w.context_input()->toolTip().contains("preset llama-2-7b"), qPrintable(w.context_input()->toolTip()));
    QVERIFY(w.context_input()->toolTip().contains("custom context L"));
    QVERIFY(w.model_facts()->toPlainText().contains("L = 4,096"));
  }

  void configFactsAreShownWrappedNeverClipped() {
    QTemporaryDir dir;
    const QString path = dir.filePath("config.json");
    QVERIFY(write_file(path, R"({"model_type": "llama", "max_position_embeddings": 8192, "hidden_size": 4096,
                 "num_attention_heads": 32, "rope_theta": 500000.0, "sliding_window": 4096,
                 "rope_scaling": {"rope_type": "linear", "factor": 2.0}})"));
    const selfextend::model_info m = selfextend::read_hf_config(path.toStdString());
    main_window w(seed());
    QVERIFY(w.load_config(path));
    paint_at(w, {800, 600});
    const QString facts = w.model_facts()->toPlainText();
    for (const std::string& warning : m.warnings) QVERIFY2(facts.contains(QString::fromStdString(warning)), qPrintable(facts));
    if (m.sliding_window) QVERIFY2(facts.contains(sxplan_gui::grouped(*m.sliding_window)), qPrintable(facts));
    if (m.rope_scaling) QVERIFY2(facts.contains("RoPE scaling: linear"), qPrintable(facts));
    // Wrapped: no line is wider than the block, and the block is as tall as its text.
    QTextDocument* doc = w.model_facts()->document();
    QVERIFY(doc->idealWidth() <= w.model_facts()->viewport()->width() + 1);
    QVERIFY(w.model_facts()->height() >= static_cast<int>(doc->size().height()));
    QVERIFY(w.model_facts()->width() <= w.model_facts()->parentWidget()->width());
    QVERIFY(!w.context_input()->isEnabled());
    QVERIFY(w.context_input()->toolTip().contains("config.json"));
  }

  void llama4ConfigIsNotApplicableInTheAdvice() {
    // Llama-4: every RoPE layer is chunked by 8192, the others are NoPE: no plan, the reason instead.
    const QString path = QString(SXPLAN_SOURCE_DIR "/tests/data/configs/2026/llama-4-maverick-17b-128e-instruct.json");
    main_window w(seed());
    QVERIFY(w.load_config(path));
    const QString summary = w.advice()->summary_text();
    QVERIFY2(summary.contains("Not applicable: Self-Extend has no effect on this model"), qPrintable(summary));
    QVERIFY2(w.model_facts()->toPlainText().contains("attend within chunks of 8192 tokens"), qPrintable(w.model_facts()->toPlainText()));
  }

  void realConfigsShowTheirFactsAndWarnings() {
    // Phi-3.5 (longrope x32 from 4096) and Mistral-7B-v0.1 (every layer slides), read from the
    // configs the library's model tests trace to their sources.
    for (const char* name : {"phi-3.5-mini.json", "mistral-7b-v0.1.json", "gemma-2-9b.json"}) {
      const QString path = QString(SXPLAN_SOURCE_DIR "/tests/data/configs/") + name;
      const selfextend::model_info m = selfextend::read_hf_config(path.toStdString());
      main_window w(seed());
      QVERIFY2(w.load_config(path), name);
      paint_at(w, {800, 600});
      const QString facts = w.model_facts()->toPlainText();
      QVERIFY2(facts.contains(QString("L = %1").arg(sxplan_gui::grouped(m.context))), qPrintable(facts));
      QVERIFY2(facts.contains(QString::fromStdString(m.context_source)), qPrintable(facts));
      QVERIFY(!m.warnings.empty());
      for (const std::string& warning : m.warnings)
        QVERIFY2(facts.contains(QString::fromStdString(warning)), qPrintable(name + QString(": ") + facts));
      if (m.sliding_window)
        QVERIFY2(facts.contains(QString("sliding window %1 tokens").arg(sxplan_gui::grouped(*m.sliding_window))),
                 qPrintable(facts));
      QTextDocument* doc = w.model_facts()->document();
      QVERIFY2(doc->idealWidth() <= w.model_facts()->viewport()->width() + 1, name);
      QVERIFY2(w.model_facts()->height() >= static_cast<int>(doc->size().height()), name);
      // Laid out whole: the next row starts below the last line.
      const int facts_bottom = w.model_facts()->mapTo(&w, QPoint(0, w.model_facts()->height())).y();
      QVERIFY2(facts_bottom <= w.context_input()->mapTo(&w, QPoint(0, 0)).y(), name);
    }
  }

  void nonRopeConfigsAreRefused() {
    const QString path = SXPLAN_SOURCE_DIR "/tests/data/configs/other/opt-125m.json";
    std::string expected;
    try {
      selfextend::require_rope(selfextend::read_hf_config(path.toStdString()), "config", path.toStdString());
    } catch (const selfextend::invalid_params& e) {
      expected = e.issues().front().message();
    }
    QVERIFY(!expected.empty());
    main_window w(seed());
    QVERIFY(!w.load_config(path));
    QCOMPARE(w.field_message("config"), QString::fromStdString(expected));
    QCOMPARE(w.model().name, std::string("llama-2-7b"));
    const run_result r = run_gui({"--screenshot", "/nonexistent/x.png", "--config", path});
    QCOMPARE(r.exit_code, 2);
    QCOMPARE(r.err.count('\n'), 1);
    QVERIFY2(r.err.contains(QString::fromStdString(expected)), qPrintable(r.err));
  }

  // --- Item 5: llama.cpp mode.
  void llamacppModeShowsTheFlagsAndTheComparison() {
    start_options o = seed();
    o.llamacpp = true;
    o.group = 9;
    o.window = 1017;
    main_window w(o);
    paint_at(w, {1440, 900});
    QVERIFY(w.llamacpp_mode());
    QVERIFY(w.llamacpp_map()->isVisible());
    QVERIFY(!w.reuse()->isVisible());
    selfextend::llamacpp_advice_request request;
    request.context = 4096;
    request.tokens = 15800;
    const selfextend::llamacpp_advice advice = selfextend::advise_llamacpp(request);
    QStringList args;
    for (const std::string& a : advice.arguments) args << QString::fromStdString(a);
    QVERIFY2(w.llamacpp()->flags_text().contains(args.join(' ')), qPrintable(w.llamacpp()->flags_text()));
    QVERIFY(w.llamacpp()->flags_text().contains(sxplan_gui::grouped(advice.default_batch_max_position)));
    // The comparison is the library's for G = 9, W = 1017 and the default -b 2048 ...
    selfextend::llamacpp_schedule s;
    s.tokens = 15800;
    s.ga_n = 9;
    s.ga_w = 1017;
    s.context = 4096;
    QVERIFY(w.llamacpp()->comparison() == selfextend::compare_llamacpp(s));
    QVERIFY(w.llamacpp()->comparison_text().contains(sxplan_gui::grouped(selfextend::compare_llamacpp(s).max_position)));
    // ... and the advised -b changes it: that is why -b matters.
    w.llamacpp()->apply_button()->click();
    QCOMPARE(w.batch_input()->value().value(), advice.batch);
    s.batch = advice.batch;
    QVERIFY(w.llamacpp()->comparison() == selfextend::compare_llamacpp(s));
    QCOMPARE(w.llamacpp()->comparison()->max_position, advice.max_position);
    // The llama.cpp map shows the library's pair.
    sxplan_gui::map_view* map = w.llamacpp_map();
    paint_at(w, {1440, 900});
    const QPoint at(map->plot_rect().left() + map->plot_rect().width() / 5, map->plot_rect().bottom() - 3);
    const auto p = map->pair_at(at);
    QVERIFY(p && p->llamacpp);
    QCOMPARE(*p->llamacpp, selfextend::llamacpp_relative_position(s, p->query, p->key));
    // llama.cpp's own rule, under the field it is about.
    type_into(w.window_input(), "1000");
    QVERIFY2(w.field_message("window").startsWith("ga_w = 1000: must be a multiple of ga_n (9)"),
             qPrintable(w.field_message("window")));
  }

  void llamacppModeStaysBoundedAtHugeN() {
    start_options o = seed();
    o.llamacpp = true;
    o.tokens = 1'000'000'000;
    main_window w(o);
    paint_at(w, {1440, 900});
    QVERIFY(!w.llamacpp()->comparison().has_value());
    QVERIFY(w.llamacpp()->comparison_text().contains(sxplan_gui::grouped(sxplan_gui::llamacpp_panel::comparison_limit)));
    QVERIFY(w.llamacpp_map()->sampled_cells() <= sxplan_gui::map_view::max_cells);
  }

  // --- Item 6: the command line without a display, exact screenshots.
  void helpAndVersionNeedNoDisplay() {
    const run_result help = run_gui({"--help"}, true);
    QCOMPARE(help.exit_code, 0);
    QVERIFY2(help.out.startsWith("Usage: sxplan-gui"), qPrintable(help.out));
    QVERIFY(help.out.contains("--max-group"));
    QVERIFY(help.err.isEmpty());
    const run_result version = run_gui({"--version"}, true);
    QCOMPARE(version.exit_code, 0);
    QVERIFY(version.out.startsWith("sxplan-gui "));
    const run_result window = run_gui({}, true);
    QCOMPARE(window.exit_code, 1);
    QVERIFY2(window.err.startsWith("sxplan-gui: no display"), qPrintable(window.err));
  }

  void screenshotsHaveExactlyTheRequestedSize() {
    QTemporaryDir dir;
    for (const QSize size : {QSize(800, 600), QSize(1000, 1000), QSize(1920, 1080)}) {
      const QString png = dir.filePath(QString("%1x%2.png").arg(size.width()).arg(size.height()));
      const run_result r = run_gui({"--screenshot", png, "--size", QString("%1x%2").arg(size.width()).arg(size.height()),
                                    "--tokens", "1000000"}, true);
      QCOMPARE(r.exit_code, 0);
      QCOMPARE(QImage(png).size(), size);
    }
    const QString small = dir.filePath("small.png");
    const run_result r = run_gui({"--screenshot", small, "--size", "799x600"}, true);
    QCOMPARE(r.exit_code, 2);
    QCOMPARE(r.err, QString("sxplan-gui: size = 799x600: must be at least 800x600 (see sxplan-gui --help)\n"));
    QVERIFY(!QFile::exists(small));
    main_window w(seed());
    QCOMPARE(w.minimumSize(), QSize(sxplan_gui::minimum_width, sxplan_gui::minimum_height));
  }

 private:
  QTemporaryDir settings_dir_;
};

QTEST_MAIN(main_window_test)
#include "main_window_test.moc"
