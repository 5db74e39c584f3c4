// gui_main.cpp - sxplan-gui entry point: command-line inputs, the window, and --screenshot.
#include <cstdint>
#include <cstdio>
#include <optional>

#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QSaveFile>
#include <QTimer>

#include <selfextend/error.hpp>
#include <selfextend/models.hpp>
#include <selfextend/params.hpp>
#include <selfextend/version.hpp>

#include "main_window.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  ///< the screenshot could not be written
constexpr int exit_usage = 2;    ///< bad command line

[[noreturn]] void usage_error(const QString& message) {
  std::fprintf(stderr, "sxplan-gui: %s\nsee `sxplan-gui --help`\n", qPrintable(message));
  std::exit(exit_usage);
}

std::optional<std::int64_t> int_option(const QCommandLineParser& parser, const QString& name) {
  if (!parser.isSet(name)) return std::nullopt;
  bool ok = false;
  const qlonglong value = parser.value(name).toLongLong(&ok);
  if (!ok) usage_error(QString("%1 = %2: must be an integer").arg(name, parser.value(name)));
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  // --screenshot renders without a display: choose the offscreen platform unless the user
  // picked one or a display exists (then the real platform is used, e.g. under xvfb-run).
  for (int k = 1; k < argc; ++k)
    if (QByteArray(argv[k]).startsWith("--screenshot") && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") &&
        qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
      qputenv("QT_QPA_PLATFORM", "offscreen");

  QApplication app(argc, argv);
  QApplication::setOrganizationName("selfextend-planner");
  QApplication::setApplicationName("sxplan-gui");
  QApplication::setApplicationVersion(selfextend::version_string);

  QCommandLineParser parser;
  parser.setApplicationDescription("Plan Self-Extend (LongLM) context extension: see the map while you move G and W.");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addOptions({
      {"screenshot", "Render the window to FILE (PNG) and exit.", "FILE"},
      {"size", "Window size for --screenshot, WIDTHxHEIGHT (default 1440x900).", "WxH"},
      {"tokens", "Target length N in tokens.", "N"},
      {"group", "Group size G.", "G"},
      {"window", "Neighbor window W.", "W"},
      {"model", "Model preset (see `sxplan models`).", "NAME"},
      {"context", "Bare pretrained context L instead of a model.", "L"},
      {"config", "Hugging Face config.json to read L from.", "PATH"},
      {"shift", "Group query shift: int (default) or float.", "RULE"},
  });
  parser.process(app);
  if (!parser.positionalArguments().isEmpty()) usage_error("unexpected argument " + parser.positionalArguments().front());

  sxplan_gui::start_options options;
  int sources = 0;
  if (parser.isSet("model")) {
    options.model = parser.value("model").toStdString();
    try {
      (void)selfextend::find_model(*options.model);
    } catch (const selfextend::invalid_params& e) {
      usage_error(QString::fromStdString(e.what()));
    }
    ++sources;
  }
  if (parser.isSet("config")) {
    options.config = parser.value("config").toStdString();
    ++sources;
  }
  options.context = int_option(parser, "context");
  sources += options.context.has_value();
  if (sources > 1) usage_error("give only one of --model, --context, --config");
  options.tokens = int_option(parser, "tokens");
  options.group = int_option(parser, "group");
  options.window = int_option(parser, "window");
  if (parser.isSet("shift")) {
    options.shift = selfextend::parse_shift_rule(parser.value("shift").toStdString());
    if (!options.shift) usage_error(QString("shift = %1: must be int or float").arg(parser.value("shift")));
  }
  const bool screenshot = parser.isSet("screenshot");
  // Screenshots are reproducible: they neither read nor write the remembered state.
  options.use_settings = !screenshot;

  sxplan_gui::main_window window(options);
  if (!screenshot) {
    window.show();
    return QApplication::exec();
  }

  QSize size(1440, 900);
  if (parser.isSet("size")) {
    const QStringList parts = parser.value("size").split('x');
    bool ok_w = false, ok_h = false;
    if (parts.size() == 2) size = QSize(parts[0].toInt(&ok_w), parts[1].toInt(&ok_h));
    if (!ok_w || !ok_h || size.width() < 400 || size.height() < 300)
      usage_error(QString("size = %1: must be WIDTHxHEIGHT, at least 400x300").arg(parser.value("size")));
  }
  window.resize(size);
  window.show();
  QApplication::processEvents();
  const QPixmap image = window.grab();
  // Written to a temporary name and renamed on success, like every output file of the project.
  QSaveFile file(parser.value("screenshot"));
  if (!file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") || !file.commit()) {
    std::fprintf(stderr, "sxplan-gui: cannot write %s: %s\n", qPrintable(parser.value("screenshot")),
                 qPrintable(file.errorString()));
    return exit_failure;
  }
  return exit_ok;
}
