// main_window_test - QtTest tests for gui/main_window.hpp: drive sxplan-gui's widgets and check them against the library.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QMouseEvent>
#include <QProcess>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <selfextend/advice.hpp>
#include <selfextend/hf_config.hpp>
#include <selfextend/params.hpp>
#include <selfextend/npy.hpp>
#include <selfextend/position_map.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/table_writers.hpp>
#include <selfextend/reuse.hpp>

#include "advice_view.hpp"
#include "gui_format.hpp"
#include "main_window.hpp"
#include "map_view.hpp"
#include "reuse_view.hpp"
#include "verdict_strip.hpp"

using sxplan_gui::main_window;
using sxplan_gui::start_options;

namespace {

/// The seed example (docs/concepts.md#the-seed-example-worked): Llama-2, 15,800 tokens, W = 1024, G = 8.
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
void type_into(QSpinBox* spin, const QString& text) {
  spin->setFocus();
  spin->selectAll();
  QTest::keyClicks(spin, text);
  QTest::keyClick(spin, Qt::Key_Enter);
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
    QVERIFY(w.reuse()->stats() == selfextend::compute_reuse({4096, 15800, {5, 1024}}));
    QCOMPARE(w.reuse()->stats().max_position, 3979);
    QCOMPARE(w.reuse()->stats().total_pairs, std::int64_t{15800} * 15801 / 2);

    // The slider drives the spin box: one step right is G = 6.
    w.group_slider()->setFocus();
    QTest::keyClick(w.group_slider(), Qt::Key_Right);
    QCOMPARE(w.group_input()->value(), 6);
    const selfextend::assessment a6 = selfextend::assess({4096, 15800, {6, 1024}});
    QVERIFY(w.verdict()->fits_text().contains(sxplan_gui::grouped(a6.max_position)));
    QCOMPARE(w.verdict()->band_text(), text_of(selfextend::to_string(a6.band)));
    QVERIFY(w.reuse()->stats() == selfextend::compute_reuse({4096, 15800, {6, 1024}}));

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
    QVERIFY(!w.context_input()->isReadOnly());
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
    QCOMPARE(w.group_input()->value(), second.group);
    QCOMPARE(w.window_input()->value(), second.window);
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
    QVERIFY2(view->hover_text().contains(QString("position %1: %2 pairs").arg(sxplan_gui::grouped(*p),
                                                                              sxplan_gui::grouped(stats.counts.at(k)))),
             qPrintable(view->hover_text()));
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
    {
      QFile f(good);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(R"({"model_type": "llama", "max_position_embeddings": 2048, "hidden_size": 2048,
                 "num_attention_heads": 32, "num_key_value_heads": 4, "rope_theta": 10000.0})");
    }
    main_window w(seed());
    QVERIFY(w.load_config(good));
    QCOMPARE(w.model().context, selfextend::read_hf_config(good.toStdString()).context);
    QCOMPARE(w.context_input()->value(), 2048);
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
      QCOMPARE(w.group_input()->value(), 12);
      QCOMPARE(w.tokens_input()->value(), 20000);
      QCOMPARE(w.size(), QSize(1100, 760));
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

 private:
  QTemporaryDir settings_dir_;
};

QTEST_MAIN(main_window_test)
#include "main_window_test.moc"
