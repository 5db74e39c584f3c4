// hf_config.cpp - Hugging Face config.json reader (Boost.JSON).
#include <selfextend/hf_config.hpp>

#include <cerrno>

#include <fcntl.h>   // open, O_NONBLOCK
#include <unistd.h>  // read, close

#include <cmath>
#include <string>

#include <boost/json.hpp>

#include <selfextend/error.hpp>

namespace selfextend {
namespace {

namespace json = boost::json;

class config_fields {
 public:
  config_fields(const json::object& root, std::string source) : root_(root), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& rule) const {
    throw invalid_params("config", source_, "field \"" + field + "\" " + rule);
  }

  [[nodiscard]] const json::value* find(const char* field) const {
    const json::value* v = root_.if_contains(field);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }

  [[nodiscard]] static const char* kind(const json::value& v) {
    switch (v.kind()) {
      case json::kind::string: return "a string";
      case json::kind::array: return "an array";
      case json::kind::object: return "an object";
      case json::kind::bool_: return "a boolean";
      case json::kind::null: return "null";
      default: return "a number";
    }
  }

  [[nodiscard]] std::optional<std::int64_t> integer(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) {
      if (v->as_uint64() > static_cast<std::uint64_t>(INT64_MAX)) fail(field, "does not fit in 64 bits");
      return static_cast<std::int64_t>(v->as_uint64());
    }
    if (v->is_double()) {
      const double d = v->as_double();
      if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
      if (std::isfinite(d) && d == std::floor(d)) fail(field, "does not fit in 64 bits (" + json::serialize(*v) + ")");
      fail(field, "must be an integer, got " + json::serialize(*v));
    }
    fail(field, std::string("must be an integer, got ") + kind(*v));
  }

  [[nodiscard]] std::int64_t positive_integer(const char* field, bool required) const {
    const std::optional<std::int64_t> v = integer(field);
    if (!v) {
      if (required) fail(field, "is missing (a positive integer is required)");
      return 0;
    }
    if (*v < 1) fail(field, "must be a positive integer, got " + std::to_string(*v));
    return *v;
  }

  [[nodiscard]] std::optional<double> number(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_number()) return v->to_number<double>();
    fail(field, std::string("must be a number, got ") + kind(*v));
  }

  [[nodiscard]] std::optional<bool> boolean(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_bool()) return v->as_bool();
    fail(field, std::string("must be a boolean, got ") + kind(*v));
  }

  [[nodiscard]] std::optional<std::string> string(const char* field) const {
    const json::value* v = find(field);
    if (v == nullptr) return std::nullopt;
    if (v->is_string()) return std::string(v->as_string());
    fail(field, std::string("must be a string, got ") + kind(*v));
  }

 private:
  const json::object& root_;
  std::string source_;
};

}  // namespace

model_info parse_hf_config(std::string_view json_text, std::string_view source) {
  const std::string source_text(source);
  json::error_code ec;
  json::value root = json::parse(json_text, ec);
  if (ec) throw invalid_params("config", source_text, "is not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) throw invalid_params("config", source_text, "must hold a JSON object");
  const config_fields f(root.as_object(), source_text);

  model_info m;
  m.source = source_text;
  m.name = f.string("_name_or_path").value_or(f.string("model_type").value_or("config"));
  m.max_position_embeddings = f.positive_integer("max_position_embeddings", true);
  if (m.max_position_embeddings < 2) f.fail("max_position_embeddings", "must be at least 2");
  m.context = m.max_position_embeddings;

  if (const std::optional<double> theta = f.number("rope_theta")) {
    if (!(*theta > 1.0) || !std::isfinite(*theta)) f.fail("rope_theta", "must be a finite number above 1");
    m.rope_theta = *theta;
  } else {
    m.rope_theta = 10000.0;
    m.notes.push_back("rope_theta is absent; transformers' default 10000 applies");
  }

  m.heads = f.positive_integer("num_attention_heads", true);
  if (const std::int64_t head_dim = f.positive_integer("head_dim", false); head_dim > 0) {
    m.head_dim = head_dim;
  } else {
    const std::int64_t hidden = f.positive_integer("hidden_size", true);
    if (hidden % m.heads != 0)
      f.fail("hidden_size", "(" + std::to_string(hidden) + ") must be a multiple of num_attention_heads (" +
                                std::to_string(m.heads) + ") when head_dim is absent");
    m.head_dim = hidden / m.heads;
  }
  m.kv_heads = f.positive_integer("num_key_value_heads", false);
  if (m.kv_heads == 0) m.kv_heads = m.heads;
  if (m.heads % m.kv_heads != 0)
    f.fail("num_key_value_heads", "(" + std::to_string(m.kv_heads) + ") must divide num_attention_heads (" +
                                      std::to_string(m.heads) + ")");

  std::optional<double> fraction = f.number("partial_rotary_factor");
  if (!fraction) fraction = f.number("rotary_pct");  // GPT-NeoX spelling
  m.rotary_fraction = fraction.value_or(1.0);
  if (!(m.rotary_fraction > 0.0 && m.rotary_fraction <= 1.0))
    f.fail(f.find("partial_rotary_factor") ? "partial_rotary_factor" : "rotary_pct", "must be in (0, 1]");
  // HF computes int(head_dim * factor); the product never exceeds head_dim, but a head_dim near
  // 2^63 rounds up in double, so keep full fractions exact and convert only what fits.
  if (m.rotary_fraction == 1.0) {
    m.rotary_dims = m.head_dim;
  } else {
    const double rotary = static_cast<double>(m.head_dim) * m.rotary_fraction;
    if (rotary >= 9.0e18) f.fail("head_dim", "is too large");
    m.rotary_dims = static_cast<std::int64_t>(rotary);
  }
  if (m.rotary_dims < 2 || m.rotary_dims % 2 != 0)
    f.fail("partial_rotary_factor", "gives " + std::to_string(m.rotary_dims) + " rotary dims; an even number >= 2 is required");

  const std::string model_type = f.string("model_type").value_or("");
  m.style = (model_type == "gptj" || model_type == "codegen") ? rope_style::gptj : rope_style::neox;

  if (const std::optional<std::int64_t> window = f.integer("sliding_window")) {
    if (f.boolean("use_sliding_window").value_or(true)) {
      m.sliding_window = *window;
    } else {
      m.notes.push_back("sliding_window " + std::to_string(*window) + " is declared but use_sliding_window is false");
    }
  }
  if (model_type == "mistral" && m.max_position_embeddings == 32768 && m.sliding_window == 4096) {
    m.notes.push_back("max_position_embeddings 32768 is not Mistral-7B-v0.1's trained length (8192); "
                      "prefer --model mistral-7b-v0.1 or --context 8192");
  }
  if (const json::value* scaling = f.find("rope_scaling")) {
    if (!scaling->is_object()) f.fail("rope_scaling", std::string("must be an object or null, got ") + config_fields::kind(*scaling));
    m.warnings.push_back("rope_scaling is set (" + json::serialize(*scaling) +
                         "): the model is already context-scaled; Self-Extend on top of it is untested");
  }
  return m;
}

model_info read_hf_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw invalid_params("config", path.string(), "is a directory, not a config.json file");
  // O_NONBLOCK: open() on a FIFO nobody writes returns at once instead of blocking forever; the
  // reads then block again (a pipe from `<(...)` still works) and end at once without a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw invalid_params("config", path.string(), "cannot be opened for reading");
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } const close_at_exit{fd};
  // config.json files are a few kB. Read at most 16 MiB + 1 bytes whatever the file claims, so
  // a device or pipe (/dev/zero, a FIFO) ends in a message instead of an endless read.
  constexpr std::size_t max_bytes = 16u << 20;
  std::string text;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw invalid_params("config", path.string(), "could not be read");
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) throw invalid_params("config", path.string(), "is larger than 16 MiB; not a config.json");
  }
  return parse_hf_config(text, path.string());
}

}  // namespace selfextend
