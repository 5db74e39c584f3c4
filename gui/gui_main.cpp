// gui_main.cpp - sxplan-gui entry point: command-line inputs, the window, and --screenshot.
//
// The command line is read before Qt starts, so --help, --version and every refusal work without
// a display, and Qt never sees (or answers for) our arguments.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <QApplication>
#include <QCommandLineParser>
#include <QPixmap>
#include <QRegularExpression>
#include <QSaveFile>

#include <selfextend/error.hpp>
#include <selfextend/hf_config.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/models.hpp>
#include <selfextend/params.hpp>
#include <selfextend/version.hpp>

#include "main_window.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  ///< the screenshot could not be written
constexpr int exit_usage = 2;    ///< bad command line

[[noreturn]] void usage_error(const QString& message) {
  std::fprintf(stderr, "sxplan-gui: %s (see sxplan-gui --help)\n", qPrintable(message));
  std::exit(exit_usage);
}

[[noreturn]] void refuse(const selfextend::invalid_params& e) { usage_error(QString::fromStdString(e.what())); }

/// --name's value read by the library's integer rule; the message names the key (`max_group`).
std::optional<std::int64_t> int_option(const QCommandLineParser& parser, const QString& name, const std::string& key) {
  if (!parser.isSet(name)) return std::nullopt;
  try {
    return selfextend::parse_integer(key, parser.value(name).toStdString());
  } catch (const selfextend::invalid_params& e) {
    refuse(e);
  }
}

/// The one-line form of QCommandLineParser's complaint, like the CLI's.
QString parser_error(const QCommandLineParser& parser, const QStringList& args) {
  for (const QString& name : parser.unknownOptionNames()) {
    const QString dashed = name.size() == 1 ? "-" + name : "--" + name;
    return QString("unrecognised option '%1'").arg(dashed);
  }
  (void)args;
  return parser.errorText().replace('\n', ' ').trimmed();
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication::setOrganizationName("selfextend-planner");
  QCoreApplication::setApplicationName("sxplan-gui");
  QCoreApplication::setApplicationVersion(selfextend::version_string);

  QStringList args;
  for (int k = 0; k < argc; ++k) args << QString::fromLocal8Bit(argv[k]);

  QCommandLineParser parser;
  parser.setApplicationDescription("Plan Self-Extend (LongLM) context extension: see the map while you move G and W.");
  parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
  parser.addOptions({
      {{"h", "help"}, "Show this help and exit (no display needed)."},
      {"version", "Show the version and exit (no display needed)."},
      {"screenshot", "Render the window to FILE (PNG) and exit.", "FILE"},
      {"size", QString("Window size for --screenshot, WIDTHxHEIGHT (default 1440x900, at least %1x%2).")
                   .arg(sxplan_gui::minimum_width)
                   .arg(sxplan_gui::minimum_height),
       "WxH"},
      {"tokens", "Target length N in tokens.", "N"},
      {"group", "Group size G.", "G"},
      {"window", "Neighbor window W.", "W"},
      {"model", "Model preset (see `sxplan models`).", "NAME"},
      {"context", "Bare pretrained context L instead of a model.", "L"},
      {"config", "Hugging Face config.json to read L from.", "PATH"},
      {"shift", "Group query shift: int (default) or float.", "RULE"},
      {"max-group", "Largest G the advisor considers (default 64).", "G"},
      {"runtime", "longlm (default: the exact map) or llamacpp (llama.cpp's positions and flags).", "NAME"},
      {"batch", "llama.cpp's -b, the prompt chunk size, in llamacpp mode (default 2048).", "B"},
      {"method", "selfextend (default), dca, rerope, leaky-rerope or streaming: show that method's map, with the "
                 "parameters the library recommends for N and L.", "NAME"},
  });
  if (!parser.parse(args)) usage_error(parser_error(parser, args));
  if (parser.isSet("help")) {
    std::fputs(qPrintable(parser.helpText().replace(QRegularExpression("^Usage: \\S+"), "Usage: sxplan-gui")), stdout);
    return exit_ok;
  }
  if (parser.isSet("version")) {
    std::printf("sxplan-gui %s\n", selfextend::version_string);
    return exit_ok;
  }
  if (!parser.positionalArguments().isEmpty())
    usage_error("unexpected argument '" + parser.positionalArguments().front() + "'");

  sxplan_gui::start_options options;
  std::optional<std::int64_t> context;  // L of the chosen model, for checking W < L below
  int sources = 0;
  try {
    if (parser.isSet("model")) {
      options.model = parser.value("model").toStdString();
      context = selfextend::find_model(*options.model).context;
      ++sources;
    }
    if (parser.isSet("config")) {
      options.config = parser.value("config").toStdString();
      const selfextend::model_info m = selfextend::read_hf_config(*options.config);
      selfextend::require_rope(m, "config", *options.config);
      context = m.context;
      ++sources;
    }
  } catch (const selfextend::invalid_params& e) {
    refuse(e);
  }
  options.context = int_option(parser, "context", "context");
  if (options.context) {
    context = options.context;
    ++sources;
  }
  if (sources > 1) usage_error("give only one of --model, --context, --config");
  options.tokens = int_option(parser, "tokens", "tokens");
  options.group = int_option(parser, "group", "group");
  options.window = int_option(parser, "window", "window");
  options.max_group = int_option(parser, "max-group", "max_group");
  options.batch = int_option(parser, "batch", "batch");
  if (parser.isSet("shift")) {
    options.shift = selfextend::parse_shift_rule(parser.value("shift").toStdString());
    if (!options.shift) usage_error(QString("shift = %1: must be int or float").arg(parser.value("shift")));
  }
  if (parser.isSet("runtime")) {
    const QString runtime = parser.value("runtime");
    if (runtime != "longlm" && runtime != "llamacpp")
      usage_error(QString("runtime = %1: must be longlm or llamacpp").arg(runtime));
    options.llamacpp = runtime == "llamacpp";
  }
  if (options.batch && !options.llamacpp) usage_error("batch = " + parser.value("batch") + ": only with --runtime llamacpp");
  if (parser.isSet("method")) {
    try {
      options.method = selfextend::method_kind_named(parser.value("method").toStdString());
    } catch (const selfextend::invalid_params& e) {
      refuse(e);
    }
    if (options.llamacpp && *options.method != selfextend::method_kind::self_extend)
      usage_error("method = " + parser.value("method") + ": only with --runtime longlm (llama.cpp runs Self-Extend)");
  }

  // The values the command line gives are checked by the library's rules now, as the CLI does;
  // the remembered ones are shown with the library's message in the window instead.
  {
    selfextend::self_extend_params given;
    given.context = context.value_or(4096);  // the default preset's L when no model is given
    given.tokens = options.tokens.value_or(1);
    given.extension.group = options.group.value_or(1);
    given.extension.window = options.window.value_or(1);
    std::vector<selfextend::issue> issues;
    for (selfextend::issue& i : selfextend::validate(given)) {
      const bool given_on_line = (i.key == "tokens" && options.tokens) || (i.key == "group" && options.group) ||
                                 (i.key == "window" && options.window) || (i.key == "context" && options.context);
      if (given_on_line) issues.push_back(std::move(i));
    }
    if (options.max_group && *options.max_group < 1)
      issues.push_back({"max_group", std::to_string(*options.max_group), "must be at least 1"});
    if (options.llamacpp) {
      selfextend::llamacpp_schedule s;
      s.tokens = options.tokens.value_or(1);
      s.ga_n = options.group.value_or(1);
      s.ga_w = options.window.value_or(s.ga_n * 512);
      s.batch = options.batch.value_or(selfextend::llamacpp_default_batch);
      s.context = given.context;
      for (selfextend::issue& i : selfextend::validate(s))
        if (i.key != "tokens" || options.tokens) issues.push_back(std::move(i));
    }
    if (!issues.empty()) refuse(selfextend::invalid_params(std::move(issues)));
  }

  QSize size(1440, 900);
  const bool screenshot = parser.isSet("screenshot");
  if (parser.isSet("size")) {
    if (!screenshot) usage_error("size = " + parser.value("size") + ": only with --screenshot");
    const QRegularExpressionMatch m = QRegularExpression("^(\\d{1,5})x(\\d{1,5})$").match(parser.value("size"));
    if (!m.hasMatch()) usage_error(QString("size = %1: must be WIDTHxHEIGHT").arg(parser.value("size")));
    size = QSize(m.captured(1).toInt(), m.captured(2).toInt());
    if (size.width() < sxplan_gui::minimum_width || size.height() < sxplan_gui::minimum_height)
      usage_error(QString("size = %1: must be at least %2x%3")
                      .arg(parser.value("size"))
                      .arg(sxplan_gui::minimum_width)
                      .arg(sxplan_gui::minimum_height));
  }

  // --screenshot renders without a display: choose the offscreen platform unless the user
  // picked one or a display exists (then the real platform is used, e.g. under xvfb-run).
  if (screenshot && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
      qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY"))
    qputenv("QT_QPA_PLATFORM", "offscreen");
  if (!screenshot && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
      qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
    std::fprintf(stderr, "sxplan-gui: no display (DISPLAY and WAYLAND_DISPLAY are unset); use --screenshot FILE "
                         "to render without one\n");
    return exit_failure;
  }
  int qt_argc = 1;  // Qt gets the program name only: the rest was ours
  QApplication app(qt_argc, argv);

  // Screenshots are reproducible: they neither read nor write the remembered state.
  options.use_settings = !screenshot;
  sxplan_gui::main_window window(options);
  if (!screenshot) {
    window.show();
    return QApplication::exec();
  }

  window.resize(size);
  window.show();
  // Layouts settle in rounds (a wrapped text's height depends on the width it was given).
  for (int round = 0; round < 4; ++round) QApplication::processEvents();
  const QPixmap image = window.grab();
  if (image.size() != size) {
    std::fprintf(stderr, "sxplan-gui: the window is %dx%d, not the requested %dx%d\n", image.width(), image.height(),
                 size.width(), size.height());
    return exit_failure;
  }
  // Written to a temporary name and renamed on success, like every output file of the project.
  QSaveFile file(parser.value("screenshot"));
  if (!file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") || !file.commit()) {
    std::fprintf(stderr, "sxplan-gui: cannot write %s: %s\n", qPrintable(parser.value("screenshot")),
                 qPrintable(file.errorString()));
    return exit_failure;
  }
  return exit_ok;
}
