// gguf.cpp - a bounded reader of the GGUF key/value header. GGUF files are often downloaded
// from anywhere and can be many GB: we read only the header, and check every count and length
// against the bytes actually left in the file before acting on it.
#include <selfextend/gguf.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "whole_file.hpp"

namespace selfextend {

namespace {

// GGUF metadata value types (GGUF spec, "gguf_metadata_value_type").
enum class value_type : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

const char* type_name(std::uint32_t t) {
  static constexpr std::array<const char*, 13> names = {"uint8", "int8",  "uint16", "int16",  "uint32",
                                                        "int32", "float32", "bool", "string", "array",
                                                        "uint64", "int64", "float64"};
  return t < names.size() ? names[t] : "unknown";
}

/// Size of a fixed-size scalar type, 0 for string/array/unknown.
std::uint64_t scalar_size(std::uint32_t t) {
  switch (static_cast<value_type>(t)) {
    case value_type::u8: case value_type::i8: case value_type::boolean: return 1;
    case value_type::u16: case value_type::i16: return 2;
    case value_type::u32: case value_type::i32: case value_type::f32: return 4;
    case value_type::u64: case value_type::i64: case value_type::f64: return 8;
    default: return 0;
  }
}

bool is_integer_type(std::uint32_t t) {
  switch (static_cast<value_type>(t)) {
    case value_type::u8: case value_type::i8: case value_type::u16: case value_type::i16:
    case value_type::u32: case value_type::i32: case value_type::u64: case value_type::i64: return true;
    default: return false;
  }
}

/// A kept value: integers widened (uint64 above INT64_MAX kept as "too large"), floats as double.
struct kept_value {
  std::uint32_t type = 0;  ///< GGUF type of the value (for arrays: array)
  std::variant<std::monostate, std::int64_t, double, bool, std::string> value;
  bool too_large = false;        ///< uint64 above INT64_MAX
  std::int64_t array_count = 0;  ///< arrays of integers: element count (value holds the largest)
  std::int64_t array_min = 0;    ///< arrays of integers: smallest element
};

/// The keys we keep, by suffix after "<arch>." (arch unknown until general.architecture is read).
constexpr std::array<const char*, 9> wanted_suffixes = {
    ".context_length",       ".rope.freq_base",        ".attention.head_count",
    ".attention.head_count_kv", ".attention.key_length", ".embedding_length",
    ".rope.dimension_count", ".rope.scaling.type",     ".attention.sliding_window"};
// A real header has one set; a cap stops a hostile file from making us keep millions of keys.
constexpr std::size_t max_kept_keys = 4096;
constexpr std::uint64_t max_key_length = 65535;    // the GGUF spec's limit on key names
constexpr std::uint64_t max_kept_string = 4096;    // longer strings are skipped, not read
constexpr int max_array_depth = 4;

bool wanted(const std::string& key) {
  if (key == "general.architecture" || key == "general.name") return true;
  return std::any_of(wanted_suffixes.begin(), wanted_suffixes.end(), [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return key.size() > n && key.compare(key.size() - n, n, suffix) == 0;
  });
}

class header_reader {
 public:
  explicit header_reader(const std::filesystem::path& path) : path_(path.string()) {
    // The type is checked before open(): a FIFO without a writer would block it forever.
    size_ = detail::input_file(path, "gguf", "GGUF").size();
    in_.open(path, std::ios::binary);
    if (!in_) fail("cannot be opened for reading");
  }

  [[noreturn]] void fail(const std::string& rule) const { throw invalid_params("gguf", path_, rule); }

  [[nodiscard]] std::uint64_t offset() const { return offset_; }
  [[nodiscard]] std::uint64_t remaining() const { return size_ - offset_; }

  /// Fails unless `n` more bytes exist; `what` names the field for the message.
  void need(std::uint64_t n, const std::string& what) const {
    if (n > remaining())
      fail("is truncated: at byte " + std::to_string(offset_) + " " + what + " needs " + std::to_string(n) +
           " bytes, only " + std::to_string(remaining()) + " remain");
  }

  void read_bytes(void* out, std::uint64_t n, const std::string& what) {
    need(n, what);
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in_) fail("could not be read at byte " + std::to_string(offset_));
    offset_ += n;
  }

  void skip(std::uint64_t n, const std::string& what) {
    need(n, what);
    in_.seekg(static_cast<std::streamoff>(n), std::ios::cur);
    if (!in_) fail("could not be read at byte " + std::to_string(offset_));
    offset_ += n;
  }

  template <typename T>
  T read_le(const std::string& what) {
    std::array<unsigned char, sizeof(T)> bytes{};
    read_bytes(bytes.data(), sizeof(T), what);
    // GGUF is little-endian; assemble explicitly so the reader works on any host.
    std::uint64_t v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = (v << 8) | bytes[i];
    T out;
    if constexpr (sizeof(T) == 8) {
      std::memcpy(&out, &v, 8);
    } else {
      const auto narrow = static_cast<std::uint32_t>(v);
      if constexpr (sizeof(T) == 4) {
        std::memcpy(&out, &narrow, 4);
      } else if constexpr (sizeof(T) == 2) {
        const auto half = static_cast<std::uint16_t>(narrow);
        std::memcpy(&out, &half, 2);
      } else {
        const auto byte = static_cast<std::uint8_t>(narrow);
        std::memcpy(&out, &byte, 1);
      }
    }
    return out;
  }

  /// Reads a GGUF string: uint64 length, then bytes. Strings over `keep` bytes are skipped (nullopt).
  std::optional<std::string> read_string(const std::string& what, std::uint64_t keep) {
    const auto length = read_le<std::uint64_t>(what + " length");
    if (length > remaining())
      fail("declares a " + what + " of " + std::to_string(length) + " bytes at byte " + std::to_string(offset_ - 8) +
           ", more than the " + std::to_string(remaining()) + " bytes left in the file");
    if (length > keep) {
      skip(length, what);
      return std::nullopt;
    }
    std::string s(static_cast<std::size_t>(length), '\0');
    read_bytes(s.data(), length, what);
    return s;
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

/// Reads one integer of type t (known to be an integer type).
std::pair<std::int64_t, bool> read_integer(header_reader& r, std::uint32_t t, const std::string& what) {
  switch (static_cast<value_type>(t)) {
    case value_type::u8: return {r.read_le<std::uint8_t>(what), false};
    case value_type::i8: return {r.read_le<std::int8_t>(what), false};
    case value_type::u16: return {r.read_le<std::uint16_t>(what), false};
    case value_type::i16: return {r.read_le<std::int16_t>(what), false};
    case value_type::u32: return {r.read_le<std::uint32_t>(what), false};
    case value_type::i32: return {r.read_le<std::int32_t>(what), false};
    case value_type::i64: return {r.read_le<std::int64_t>(what), false};
    default: {
      const auto v = r.read_le<std::uint64_t>(what);
      if (v > static_cast<std::uint64_t>(INT64_MAX)) return {0, true};
      return {static_cast<std::int64_t>(v), false};
    }
  }
}

/// Skips (or, for integer arrays we keep, summarises) an array value whose header is next.
void read_array(header_reader& r, const std::string& key, kept_value* keep, int depth) {
  if (depth > max_array_depth) r.fail("nests arrays more than " + std::to_string(max_array_depth) + " deep at key '" + key + "'");
  const auto element = r.read_le<std::uint32_t>("the array type of key '" + key + "'");
  const auto count = r.read_le<std::uint64_t>("the array length of key '" + key + "'");
  const std::uint64_t element_size = scalar_size(element);
  // Every element needs at least one byte (a string its 8-byte length, an array its 12-byte header).
  const std::uint64_t min_size = element_size != 0 ? element_size
                                 : element == static_cast<std::uint32_t>(value_type::string) ? 8
                                 : element == static_cast<std::uint32_t>(value_type::array)  ? 12
                                                                                             : 0;
  if (min_size == 0)
    r.fail("key '" + key + "' has an array of unknown value type " + std::to_string(element) + " at byte " +
           std::to_string(r.offset() - 12));
  if (count > r.remaining() / min_size)
    r.fail("key '" + key + "' declares an array of " + std::to_string(count) + " " + type_name(element) +
           " values, more than the " + std::to_string(r.remaining()) + " bytes left in the file can hold");
  if (keep != nullptr && is_integer_type(element) && count > 0) {
    std::int64_t largest = INT64_MIN, smallest = INT64_MAX;
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto [v, too_large] = read_integer(r, element, "an element of key '" + key + "'");
      if (too_large) keep->too_large = true;
      largest = std::max(largest, v);
      smallest = std::min(smallest, v);
    }
    keep->value = largest;
    keep->array_min = smallest;
    keep->array_count = static_cast<std::int64_t>(count);
    return;
  }
  if (element_size != 0) {
    r.skip(count * element_size, "the values of key '" + key + "'");
  } else if (element == static_cast<std::uint32_t>(value_type::string)) {
    for (std::uint64_t i = 0; i < count; ++i) r.read_string("string in key '" + key + "'", 0);
  } else {
    for (std::uint64_t i = 0; i < count; ++i) read_array(r, key, nullptr, depth + 1);
  }
}

/// Reads one value of type t; fills `keep` when the key is wanted.
void read_value(header_reader& r, std::uint32_t t, const std::string& key, kept_value* keep) {
  if (keep) keep->type = t;
  switch (static_cast<value_type>(t)) {
    case value_type::f32: {
      const auto v = r.read_le<float>("the value of key '" + key + "'");
      if (keep) keep->value = static_cast<double>(v);
      return;
    }
    case value_type::f64: {
      const auto v = r.read_le<double>("the value of key '" + key + "'");
      if (keep) keep->value = v;
      return;
    }
    case value_type::boolean: {
      const auto v = r.read_le<std::uint8_t>("the value of key '" + key + "'");
      if (keep) keep->value = v != 0;
      return;
    }
    case value_type::string: {
      std::optional<std::string> s = r.read_string("string value of key '" + key + "'", keep ? max_kept_string : 0);
      if (keep && s) keep->value = std::move(*s);
      return;
    }
    case value_type::array: read_array(r, key, keep, 1); return;
    default:
      if (is_integer_type(t)) {
        const auto [v, too_large] = read_integer(r, t, "the value of key '" + key + "'");
        if (keep) {
          keep->value = v;
          keep->too_large = too_large;
        }
        return;
      }
      r.fail("key '" + key + "' has unknown value type " + std::to_string(t) + " at byte " +
             std::to_string(r.offset() - 4));
  }
}

class header_fields {
 public:
  header_fields(const header_reader& r, std::map<std::string, kept_value> kept, std::string arch)
      : r_(r), kept_(std::move(kept)), arch_(std::move(arch)) {}

  [[nodiscard]] std::string key(const char* suffix) const { return arch_ + suffix; }
  [[nodiscard]] const kept_value* find(const char* suffix) const {
    const auto it = kept_.find(key(suffix));
    return it == kept_.end() ? nullptr : &it->second;
  }
  [[noreturn]] void fail(const char* suffix, const std::string& rule) const { r_.fail("key '" + key(suffix) + "' " + rule); }

  /// An integer key; arrays of integers (per-layer values) give their largest element.
  std::optional<std::int64_t> integer(const char* suffix, bool required, bool per_layer = false) const {
    const kept_value* v = find(suffix);
    if (v == nullptr) {
      if (required) fail(suffix, "is missing");
      return std::nullopt;
    }
    const bool is_array = v->type == static_cast<std::uint32_t>(value_type::array);
    if (is_array && (!per_layer || v->array_count == 0))
      fail(suffix, per_layer ? "must be an integer or a non-empty array of integers, got an array"
                             : "must be an integer, got an array");
    if (v->too_large) fail(suffix, "does not fit in 64 bits");
    if (!std::holds_alternative<std::int64_t>(v->value)) fail(suffix, std::string("must be an integer, got ") + type_name(v->type));
    return std::get<std::int64_t>(v->value);
  }
  std::optional<double> real(const char* suffix) const {
    const kept_value* v = find(suffix);
    if (v == nullptr) return std::nullopt;
    if (const auto* d = std::get_if<double>(&v->value)) return *d;
    if (v->type != static_cast<std::uint32_t>(value_type::array))
      if (const auto* i = std::get_if<std::int64_t>(&v->value)) return static_cast<double>(*i);
    fail(suffix, std::string("must be a number, got ") + type_name(v->type));
  }
  std::optional<std::string> string(const char* suffix) const {
    const kept_value* v = find(suffix);
    if (v == nullptr) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&v->value)) return *s;
    fail(suffix, std::string("must be a string, got ") + type_name(v->type));
  }
  [[nodiscard]] const kept_value* array_info(const char* suffix) const {
    const kept_value* v = find(suffix);
    return v != nullptr && v->array_count > 0 ? v : nullptr;
  }

 private:
  const header_reader& r_;
  std::map<std::string, kept_value> kept_;
  std::string arch_;
};

// llama.cpp's llama_model_rope_type(): these architectures rotate adjacent pairs ("norm"); its
// converter permutes their Q/K weights so this equals HF's rotate_half. The NeoX list rotates
// (c, c + R/2). Source: src/llama-model.cpp; unknown architectures are reported in a note.
constexpr std::array<const char*, 14> norm_archs = {"llama",   "baichuan", "starcoder", "internlm2", "minicpm",
                                                    "xverse",  "command-r", "olmo",    "arctic",    "deepseek",
                                                    "deepseek2", "chatglm", "granite", "granitemoe"};
constexpr std::array<const char*, 17> neox_archs = {"falcon", "grok",   "dbrx",   "stablelm", "qwen",     "qwen2",
                                                    "qwen2moe", "olmo2", "phi2",  "phi3",     "gemma",    "gemma2",
                                                    "starcoder2", "gptneox", "nemotron", "exaone", "minicpm3"};

bool listed(const auto& list, const std::string& arch) {
  return std::any_of(list.begin(), list.end(), [&](const char* a) { return arch == a; });
}

}  // namespace

model_info read_gguf(const std::filesystem::path& path) {
  header_reader r(path);
  std::array<char, 4> magic{};
  r.read_bytes(magic.data(), 4, "the magic");
  if (std::string(magic.data(), 4) != "GGUF") {
    std::string shown;
    for (const char c : magic) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    r.fail("is not a GGUF file (magic '" + shown + "', expected 'GGUF')");
  }
  const auto version = r.read_le<std::uint32_t>("the version");
  if (version == 1) r.fail("is GGUF version 1 (32-bit counts), which is not supported; re-convert the model");
  if (version != 2 && version != 3)
    r.fail("has unsupported GGUF version " + std::to_string(version) + " (2 and 3 are read; a big-endian file?)");
  const auto tensors = r.read_le<std::uint64_t>("the tensor count");
  const auto kv_count = r.read_le<std::uint64_t>("the key/value count");
  // A tensor description takes at least 8 + 4 + 8 + 4 + 8 bytes, a key/value pair at least 8 + 4 + 1.
  if (tensors > r.remaining() / 32)
    r.fail("declares " + std::to_string(tensors) + " tensors, more than its " + std::to_string(r.remaining()) +
           " remaining bytes can describe");
  if (kv_count > r.remaining() / 13)
    r.fail("declares " + std::to_string(kv_count) + " key/value pairs, more than its " +
           std::to_string(r.remaining()) + " remaining bytes can hold");

  std::map<std::string, kept_value> kept;
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    const std::uint64_t key_offset = r.offset();
    std::optional<std::string> key = r.read_string("key name", max_key_length);
    if (!key) r.fail("has a key name longer than 65535 bytes at byte " + std::to_string(key_offset));
    const auto type = r.read_le<std::uint32_t>("the value type of key '" + *key + "'");
    kept_value* keep = nullptr;
    if (wanted(*key)) {
      if (kept.size() >= max_kept_keys && !kept.count(*key))
        r.fail("has more than " + std::to_string(max_kept_keys) + " attention/RoPE keys; not a model header");
      keep = &kept[*key];
      *keep = kept_value{};
    }
    read_value(r, type, *key, keep);
  }

  const auto arch_it = kept.find("general.architecture");
  if (arch_it == kept.end()) r.fail("key 'general.architecture' is missing");
  const auto* arch_name = std::get_if<std::string>(&arch_it->second.value);
  if (arch_name == nullptr)
    r.fail(std::string("key 'general.architecture' must be a string, got ") + type_name(arch_it->second.type));
  const std::string arch = *arch_name;
  std::optional<std::string> name;
  if (const auto it = kept.find("general.name"); it != kept.end())
    if (const auto* s = std::get_if<std::string>(&it->second.value)) name = *s;
  const header_fields f(r, std::move(kept), arch);

  model_info m;
  m.source = path.string();
  m.name = name.value_or(arch);
  m.context = *f.integer(".context_length", true);
  if (m.context < 2) f.fail(".context_length", "= " + std::to_string(m.context) + ": must be at least 2");
  m.max_position_embeddings = m.context;

  if (const std::optional<double> theta = f.real(".rope.freq_base")) {
    if (!(*theta > 1.0) || !std::isfinite(*theta)) f.fail(".rope.freq_base", "must be a finite number above 1");
    m.rope_theta = *theta;
  } else {
    m.rope_theta = 10000.0;
    m.notes.push_back(arch + ".rope.freq_base is absent; llama.cpp's default 10000 applies");
  }

  m.heads = *f.integer(".attention.head_count", true, true);
  if (const kept_value* per_layer = f.array_info(".attention.head_count"); per_layer && per_layer->array_min != m.heads)
    m.notes.push_back(arch + ".attention.head_count varies per layer (" + std::to_string(per_layer->array_min) + ".." +
                      std::to_string(m.heads) + "); the largest is used");
  if (m.heads < 1) f.fail(".attention.head_count", "must be at least 1");
  m.kv_heads = f.integer(".attention.head_count_kv", false, true).value_or(m.heads);
  if (m.kv_heads < 1) f.fail(".attention.head_count_kv", "must be at least 1");
  if (m.heads % m.kv_heads != 0 && !f.array_info(".attention.head_count_kv"))
    f.fail(".attention.head_count_kv", "(" + std::to_string(m.kv_heads) + ") must divide " + arch +
                                           ".attention.head_count (" + std::to_string(m.heads) + ")");
  if (const std::optional<std::int64_t> key_length = f.integer(".attention.key_length", false)) {
    if (*key_length < 1) f.fail(".attention.key_length", "must be at least 1");
    m.head_dim = *key_length;
  } else {
    const std::int64_t embedding = *f.integer(".embedding_length", true);
    if (embedding < 1 || embedding % m.heads != 0)
      f.fail(".embedding_length", "(" + std::to_string(embedding) + ") must be a positive multiple of " + arch +
                                      ".attention.head_count (" + std::to_string(m.heads) + ") when " + arch +
                                      ".attention.key_length is absent");
    m.head_dim = embedding / m.heads;
  }
  m.rotary_dims = f.integer(".rope.dimension_count", false).value_or(m.head_dim);
  if (m.rotary_dims < 2 || m.rotary_dims % 2 != 0 || m.rotary_dims > m.head_dim)
    f.fail(".rope.dimension_count", "(" + std::to_string(m.rotary_dims) + ") must be even and in [2, head_dim = " +
                                        std::to_string(m.head_dim) + "]");
  m.rotary_fraction = static_cast<double>(m.rotary_dims) / static_cast<double>(m.head_dim);

  if (listed(norm_archs, arch)) {
    m.style = rope_style::gptj;
    m.notes.push_back("llama.cpp rotates adjacent pairs for " + arch +
                      " (its converter permutes Q/K, so this equals HF's rotate_half on the original weights)");
  } else {
    m.style = rope_style::neox;
    if (!listed(neox_archs, arch))
      m.notes.push_back("RoPE pair layout of architecture '" + arch + "' is not known here; neox assumed");
  }
  if (const std::optional<std::int64_t> window = f.integer(".attention.sliding_window", false)) m.sliding_window = *window;
  if (const std::optional<std::string> scaling = f.string(".rope.scaling.type"); scaling && *scaling != "none")
    m.warnings.push_back(arch + ".rope.scaling.type is '" + *scaling +
                         "': the model is already context-scaled; Self-Extend on top of it is untested");
  return m;
}

}  // namespace selfextend
