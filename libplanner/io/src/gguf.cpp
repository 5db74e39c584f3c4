// gguf.cpp - a bounded reader of the GGUF header and tensor table. GGUF files are often downloaded
// from anywhere and can be many GB: we read the header, the tensor table and the few RoPE tensors,
// check every count and length against the bytes actually left in the file before acting on it,
// and build a message (with the key it names) only when one is thrown, so hostile headers with
// huge keys and long arrays cost time linear in their size.
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
#include <unordered_map>
#include <variant>

namespace selfextend {

namespace {

// GGUF metadata value types (GGUF spec, "gguf_metadata_value_type").
enum class value_type : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
constexpr auto array_type = static_cast<std::uint32_t>(value_type::array);
constexpr auto string_type = static_cast<std::uint32_t>(value_type::string);

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

/// A key as it appears in messages: printable, and cut after 80 bytes (keys may be 64 KB).
std::string shown_key(const std::string& key) {
  std::string shown = printable(key.substr(0, 80));
  if (key.size() > 80) shown += "... (" + std::to_string(key.size()) + " bytes)";
  return shown;
}

/// What is being read, for a message built only on failure: a fixed text and, maybe, a key.
struct field_ref {
  const char* what;
  const std::string* key = nullptr;
  [[nodiscard]] std::string text() const {
    return key == nullptr ? std::string(what) : std::string(what) + " of key '" + shown_key(*key) + "'";
  }
};

/// A kept value: integers widened (uint64 above INT64_MAX kept as "too large"), floats as double.
struct kept_value {
  std::uint32_t type = 0;  ///< GGUF type of the value (for arrays: array)
  std::variant<std::monostate, std::int64_t, double, bool, std::string> value;
  bool too_large = false;          ///< uint64 above INT64_MAX
  std::int64_t array_count = 0;    ///< arrays of integers: element count (value holds the largest)
  std::int64_t array_min = 0;      ///< arrays of integers: smallest element
  std::int64_t array_min_at = 0;   ///< ... and its index
};

/// The keys we keep, by suffix after "<arch>." (arch unknown until general.architecture is read).
constexpr std::array<const char*, 19> wanted_suffixes = {
    ".context_length", ".rope.freq_base", ".attention.head_count", ".attention.head_count_kv",
    ".attention.key_length", ".attention.key_length_mla", ".embedding_length", ".block_count",
    ".rope.dimension_count", ".rope.scaling.type", ".rope.scaling.factor", ".rope.scaling.original_context_length",
    ".rope.scaling.attn_factor", ".rope.scaling.yarn_log_multiplier", ".attention.sliding_window",
    ".rope.scaling.yarn_beta_fast", ".rope.scaling.yarn_beta_slow", ".attention.sliding_window_pattern",
    ".rope.freq_base_swa"};
constexpr std::uint64_t max_key_length = 65535;    // the GGUF spec's limit on key names
constexpr std::uint64_t max_kept_string = 4096;    // longer strings are skipped, not read
constexpr int max_array_depth = 4;
constexpr std::uint32_t max_tensor_dims = 4;       // GGML_MAX_DIMS

bool wanted(const std::string& key) {
  if (key == "general.architecture" || key == "general.name" || key == "general.alignment") return true;
  return std::any_of(wanted_suffixes.begin(), wanted_suffixes.end(), [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return key.size() > n && key.compare(key.size() - n, n, suffix) == 0;
  });
}

class header_reader {
 public:
  explicit header_reader(const std::filesystem::path& path) : path_(path.string()) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!ec && std::filesystem::is_directory(status)) fail("is a directory, not a GGUF file");
    if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
      fail("is not a regular file (a device or a pipe?)");
    in_.open(path, std::ios::binary);
    if (!in_) fail("cannot be opened for reading");
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) fail("cannot be opened for reading (" + ec.message() + ")");
    size_ = size;
  }

  [[noreturn]] void fail(const std::string& rule) const { throw invalid_params("gguf", path_, rule); }

  [[nodiscard]] std::uint64_t offset() const { return offset_; }
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] std::uint64_t remaining() const { return size_ - offset_; }

  /// Fails unless `n` more bytes exist.
  void need(std::uint64_t n, const field_ref& what) const {
    if (n > remaining())
      fail("is truncated: at byte " + std::to_string(offset_) + " " + what.text() + " needs " + std::to_string(n) +
           " bytes, only " + std::to_string(remaining()) + " remain");
  }

  void read_bytes(void* out, std::uint64_t n, const field_ref& what) {
    need(n, what);
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    if (!in_) fail("could not be read at byte " + std::to_string(offset_));
    offset_ += n;
  }

  void skip(std::uint64_t n, const field_ref& what) {
    need(n, what);
    in_.seekg(static_cast<std::streamoff>(n), std::ios::cur);
    if (!in_) fail("could not be read at byte " + std::to_string(offset_));
    offset_ += n;
  }

  void seek(std::uint64_t to) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(to), std::ios::beg);
    if (!in_) fail("could not be read at byte " + std::to_string(to));
    offset_ = to;
  }

  template <typename T>
  T read_le(const field_ref& what) {
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
  std::optional<std::string> read_string(const field_ref& what, std::uint64_t keep) {
    const auto length = read_le<std::uint64_t>(what);
    if (length > remaining())
      fail("declares a " + what.text() + " of " + std::to_string(length) + " bytes at byte " + std::to_string(offset_ - 8) +
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
std::pair<std::int64_t, bool> read_integer(header_reader& r, std::uint32_t t, const field_ref& what) {
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
  if (depth > max_array_depth)
    r.fail("nests arrays more than " + std::to_string(max_array_depth) + " deep at key '" + shown_key(key) + "'");
  const auto element = r.read_le<std::uint32_t>({"the array type", &key});
  const auto count = r.read_le<std::uint64_t>({"the array length", &key});
  const std::uint64_t element_size = scalar_size(element);
  // Every element needs at least one byte (a string its 8-byte length, an array its 12-byte header).
  const std::uint64_t min_size = element_size != 0 ? element_size
                                 : element == string_type ? 8
                                 : element == array_type  ? 12
                                                          : 0;
  if (min_size == 0)
    r.fail("key '" + shown_key(key) + "' has an array of unknown value type " + std::to_string(element) + " at byte " +
           std::to_string(r.offset() - 12));
  if (count > r.remaining() / min_size)
    r.fail("key '" + shown_key(key) + "' declares an array of " + std::to_string(count) + " " + type_name(element) +
           " values, more than the " + std::to_string(r.remaining()) + " bytes left in the file can hold");
  if (keep != nullptr && is_integer_type(element) && count > 0) {
    std::int64_t largest = INT64_MIN, smallest = INT64_MAX, smallest_at = 0;
    const field_ref what{"an element", &key};
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto [v, too_large] = read_integer(r, element, what);
      if (too_large) keep->too_large = true;
      largest = std::max(largest, v);
      if (v < smallest) {
        smallest = v;
        smallest_at = static_cast<std::int64_t>(i);
      }
    }
    keep->value = largest;
    keep->array_min = smallest;
    keep->array_min_at = smallest_at;
    keep->array_count = static_cast<std::int64_t>(count);
    return;
  }
  if (element_size != 0) {
    r.skip(count * element_size, {"the values", &key});
  } else if (element == string_type) {
    const field_ref what{"a string element", &key};
    for (std::uint64_t i = 0; i < count; ++i) (void)r.read_string(what, 0);
  } else {
    for (std::uint64_t i = 0; i < count; ++i) read_array(r, key, nullptr, depth + 1);
  }
}

/// Reads one value of type t; fills `keep` when the key is wanted.
void read_value(header_reader& r, std::uint32_t t, const std::string& key, kept_value* keep) {
  if (keep) keep->type = t;
  const field_ref what{"the value", &key};
  switch (static_cast<value_type>(t)) {
    case value_type::f32: {
      const auto v = r.read_le<float>(what);
      if (keep) keep->value = static_cast<double>(v);
      return;
    }
    case value_type::f64: {
      const auto v = r.read_le<double>(what);
      if (keep) keep->value = v;
      return;
    }
    case value_type::boolean: {
      const auto v = r.read_le<std::uint8_t>(what);
      if (keep) keep->value = v != 0;
      return;
    }
    case value_type::string: {
      std::optional<std::string> s = r.read_string({"string value", &key}, keep ? max_kept_string : 0);
      if (keep && s) keep->value = std::move(*s);
      return;
    }
    case value_type::array: read_array(r, key, keep, 1); return;
    default:
      if (is_integer_type(t)) {
        const auto [v, too_large] = read_integer(r, t, what);
        if (keep) {
          keep->value = v;
          keep->too_large = too_large;
        }
        return;
      }
      r.fail("key '" + shown_key(key) + "' has unknown value type " + std::to_string(t) + " at byte " +
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
  [[noreturn]] void fail(const char* suffix, const std::string& rule) const {
    r_.fail("key '" + printable(key(suffix)) + "' " + rule);
  }

  /// An integer key; arrays of integers (per-layer values) give their largest element, and every
  /// element must be at least `least`.
  std::optional<std::int64_t> integer(const char* suffix, bool per_layer = false, std::int64_t least = INT64_MIN) const {
    const kept_value* v = find(suffix);
    if (v == nullptr) return std::nullopt;
    const bool is_array = v->type == array_type;
    if (is_array && (!per_layer || v->array_count == 0))
      fail(suffix, per_layer ? "must be an integer or a non-empty array of integers, got an array"
                             : "must be an integer, got an array");
    if (v->too_large) fail(suffix, "does not fit in 64 bits");
    if (!std::holds_alternative<std::int64_t>(v->value)) fail(suffix, std::string("must be an integer, got ") + type_name(v->type));
    if (is_array && v->array_min < least)
      fail(suffix, "has " + std::to_string(v->array_min) + " at layer " + std::to_string(v->array_min_at) +
                       "; every layer needs at least " + std::to_string(least));
    if (!is_array && std::get<std::int64_t>(v->value) < least) fail(suffix, "must be at least " + std::to_string(least));
    return std::get<std::int64_t>(v->value);
  }
  std::optional<double> real(const char* suffix) const {
    const kept_value* v = find(suffix);
    if (v == nullptr) return std::nullopt;
    if (const auto* d = std::get_if<double>(&v->value)) {
      if (!std::isfinite(*d)) fail(suffix, "must be finite");
      return *d;
    }
    if (v->type != array_type)
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
// converter permutes their Q/K weights so this equals HF's rotate_half on the original weights.
// The NeoX list rotates (c, c + R/2). Source: llama.cpp src/llama-model.cpp.
constexpr std::array<const char*, 25> norm_archs = {
    "llama", "llama4", "deci", "baichuan", "internlm2", "minicpm", "xverse", "command-r", "cohere2", "olmo", "arctic",
    "deepseek", "deepseek2", "chatglm", "glm4", "granite", "granitemoe", "chameleon", "plm", "smollm3", "ernie4_5",
    "ernie4_5-moe", "cohere2moe", "arcee", "mistral3"};
constexpr std::array<const char*, 34> neox_archs = {
    "falcon", "grok", "dbrx", "stablelm", "qwen", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "olmo2", "phi2", "phi3",
    "phimoe", "gemma", "gemma2", "gemma3", "starcoder2", "gptneox", "nemotron", "exaone", "minicpm3", "openelm",
    "orion", "codeshell", "nomic-bert", "bitnet", "stablelm2", "gpt-oss", "glm4moe", "qwen3next", "gemma3n", "gemma4",
    "seed_oss", "exaone4"};
// Architectures llama.cpp runs without RoPE: ALiBi biases, or learned absolute positions.
constexpr std::array<const char*, 6> alibi_archs = {"mpt", "bloom", "refact", "jais", "jina-bert-v2", "falcon-rw"};
constexpr std::array<const char*, 5> absolute_archs = {"gpt2", "starcoder", "bert", "opt", "gpt-neo"};

bool listed(const auto& list, const std::string& arch) {
  return std::any_of(list.begin(), list.end(), [&](const char* a) { return arch == a; });
}

/// A RoPE tensor found in the tensor table.
struct rope_tensor {
  std::uint64_t elements = 0;
  std::uint32_t type = 0;
  std::uint64_t offset = 0;  ///< relative to the data section
};

std::vector<double> read_f32_tensor(header_reader& r, const std::string& name, const rope_tensor& t,
                                    std::uint64_t data_start) {
  if (t.type != 0) r.fail("tensor '" + name + "' has ggml type " + std::to_string(t.type) + "; f32 (0) is required");
  if (t.offset > r.size() || data_start > r.size() - t.offset)
    r.fail("tensor '" + name + "' starts past the end of the file");
  r.seek(data_start + t.offset);
  const field_ref what{"the data of a RoPE tensor"};
  r.need(t.elements * 4, what);
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(t.elements));
  for (std::uint64_t i = 0; i < t.elements; ++i) {
    const double v = static_cast<double>(r.read_le<float>(what));
    if (!std::isfinite(v) || v <= 0) r.fail("tensor '" + name + "' holds " + std::to_string(v) + " at " + std::to_string(i) + "; finite positive factors are required");
    values.push_back(v);
  }
  return values;
}


/// The layer map where llama.cpp's graph treats layers differently (src/models/<arch>.cpp):
/// Llama-4 skips RoPE on every 4th layer and chunks the others by 8192 (both fixed in llama.cpp);
/// SmolLM3 skips RoPE on every 4th layer; Cohere2 rotates only on its sliding layers; sliding
/// layers rotate with rope.freq_base_swa (Gemma-3: 10000, unscaled, when the file has none).
/// Other models get the map finish_model_facts() derives from the sliding facts.
void gguf_layer_map(const header_fields& f, const std::string& arch, const std::string& shown_arch,
                    const std::optional<std::int64_t>& llama4_window, model_info& m) {
  const std::optional<double> swa_base = f.real(".rope.freq_base_swa");
  if (swa_base && !(*swa_base > 1.0)) f.fail(".rope.freq_base_swa", "must be a finite number above 1");
  if (arch == "gpt-oss") {
    m.attention_sinks = true;
    m.sources["attention_sinks"] = "general.architecture gpt-oss (tensor blk.N.attn_sinks)";
  }
  const bool llama4 = arch == "llama4", smollm3 = arch == "smollm3", cohere2 = arch == "cohere2", gemma3 = arch == "gemma3";
  if (llama4) {
    m.query_temperature = "NoPE layers scale queries by 1 + 0.1 * log(floor((p + 1) / 8192) + 1) at position p";
    m.sources["query_temperature"] = "llama.cpp's llama4 graph (attention temperature, floor scale 8192, scale 0.1)";
  }
  if (!llama4 && !smollm3 && !cohere2 && !gemma3 && !swa_base) return;
  if (!m.layers || *m.layers > max_mapped_layers) return;
  const bool chunked = llama4 && llama4_window.value_or(1) != 0;
  const double local_theta = swa_base.value_or(gemma3 ? 10000.0 : m.rope_theta);
  std::vector<layer_run> map;
  for (std::int64_t i = 0; i < *m.layers; ++i) {
    layer_run one;
    one.count = 1;
    const bool slides = slides_at(m, i);
    const bool no_rope = ((llama4 && chunked) || smollm3) ? (i + 1) % 4 == 0 : cohere2 && !slides;
    one.kind = slides ? attention_kind::sliding : chunked && !no_rope ? attention_kind::chunked : attention_kind::full;
    if (slides) one.span = m.sliding_window;
    if (one.kind == attention_kind::chunked) one.span = 8192;
    one.rope = !no_rope;
    if (one.rope) {
      one.rope_theta = slides ? local_theta : m.rope_theta;
      one.rotary_dims = m.rotary_dims;
      one.scaled = !(slides && gemma3);  // llama.cpp scales SWA layers as the others, except Gemma-3's
    } else {
      one.scaled = false;
    }
    append_layer(map, one);
  }
  m.layer_map = std::move(map);
  m.sources["layer_attention"] = llama4   ? "llama.cpp llama4: every 4th layer NoPE and full, the others chunked by 8192"
                                     : smollm3 ? "llama.cpp smollm3: every 4th layer NoPE"
                                     : cohere2 ? "llama.cpp cohere2: RoPE on sliding layers only"
                                               : m.sources.count("sliding_window") ? m.sources["sliding_window"] : "every layer full";
  if (m.sliding_window) m.sources["sliding_rope"] = swa_base ? shown_arch + ".rope.freq_base_swa"
                                                                   : gemma3 ? "llama.cpp gemma3: 10000, unscaled" : "rope.freq_base";
}

}  // namespace

model_info read_gguf(const std::filesystem::path& path, const fact_overrides& overrides) {
  header_reader r(path);
  std::array<char, 4> magic{};
  r.read_bytes(magic.data(), 4, {"the magic"});
  if (std::string(magic.data(), 4) != "GGUF") r.fail("is not a GGUF file (magic '" + printable(std::string(magic.data(), 4)) + "', expected 'GGUF')");
  const auto version = r.read_le<std::uint32_t>({"the version"});
  if (version == 1) r.fail("is GGUF version 1 (32-bit counts), which is not supported; re-convert the model");
  if (version != 2 && version != 3)
    r.fail("has unsupported GGUF version " + std::to_string(version) + " (2 and 3 are read; a big-endian file?)");
  const auto tensors = r.read_le<std::uint64_t>({"the tensor count"});
  const auto kv_count = r.read_le<std::uint64_t>({"the key/value count"});
  // A tensor description takes at least 8 + 4 + 8 + 4 + 8 bytes, a key/value pair at least 8 + 4 + 1.
  if (tensors > r.remaining() / 32)
    r.fail("declares " + std::to_string(tensors) + " tensors, more than its " + std::to_string(r.remaining()) +
           " remaining bytes can describe");
  if (kv_count > r.remaining() / 13)
    r.fail("declares " + std::to_string(kv_count) + " key/value pairs, more than its " +
           std::to_string(r.remaining()) + " remaining bytes can hold");

  std::map<std::string, kept_value> kept;
  std::unordered_map<std::string, std::uint64_t> seen;  // every key -> its offset (duplicates are an error)
  seen.reserve(static_cast<std::size_t>(kv_count));
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    const std::uint64_t key_offset = r.offset();
    std::optional<std::string> key = r.read_string({"key name"}, max_key_length);
    if (!key) r.fail("has a key name longer than 65535 bytes at byte " + std::to_string(key_offset));
    if (const auto [it, inserted] = seen.emplace(*key, key_offset); !inserted)
      r.fail("has key '" + shown_key(*key) + "' twice (at bytes " + std::to_string(it->second) + " and " +
             std::to_string(key_offset) + "); duplicate keys are invalid, as llama.cpp says");
    const auto type = r.read_le<std::uint32_t>({"the value type", &*key});
    kept_value* keep = nullptr;
    if (wanted(*key)) {
      keep = &kept[*key];
      *keep = kept_value{};
    }
    read_value(r, type, *key, keep);
  }

  // The tensor table: names, shapes, types and offsets; only the RoPE tensors are kept.
  std::map<std::string, rope_tensor> rope_tensors;
  std::unordered_map<std::string, bool> tensor_names;
  tensor_names.reserve(static_cast<std::size_t>(tensors));
  for (std::uint64_t i = 0; i < tensors; ++i) {
    const std::uint64_t at = r.offset();
    std::optional<std::string> name = r.read_string({"tensor name"}, max_key_length);
    if (!name) r.fail("has a tensor name longer than 65535 bytes at byte " + std::to_string(at));
    if (!tensor_names.emplace(*name, true).second) r.fail("has tensor '" + shown_key(*name) + "' twice");
    const auto dims = r.read_le<std::uint32_t>({"the dimension count of a tensor"});
    if (dims == 0 || dims > max_tensor_dims)
      r.fail("tensor '" + shown_key(*name) + "' has " + std::to_string(dims) + " dimensions; 1 to 4 are valid");
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < dims; ++d) {
      const auto extent = r.read_le<std::uint64_t>({"a tensor dimension"});
      if (extent != 0 && elements > UINT64_MAX / extent) r.fail("tensor '" + shown_key(*name) + "' has more elements than 64 bits count");
      elements *= extent;
    }
    const auto type = r.read_le<std::uint32_t>({"the type of a tensor"});
    const auto offset = r.read_le<std::uint64_t>({"the offset of a tensor"});
    if (*name == "rope_freqs.weight" || *name == "rope_factors_long.weight" || *name == "rope_factors_short.weight")
      rope_tensors[name->substr(0, name->size() - 7)] = {elements, type, offset};
  }

  const auto arch_it = kept.find("general.architecture");
  if (arch_it == kept.end()) r.fail("key 'general.architecture' is missing");
  const auto* arch_name = std::get_if<std::string>(&arch_it->second.value);
  if (arch_name == nullptr)
    r.fail(std::string("key 'general.architecture' must be a string, got ") + type_name(arch_it->second.type));
  const std::string arch = *arch_name;
  const std::string shown_arch = printable(arch);
  std::optional<std::string> name;
  if (const auto it = kept.find("general.name"); it != kept.end())
    if (const auto* s = std::get_if<std::string>(&it->second.value)) name = *s;
  std::uint64_t alignment = 32;
  if (const auto it = kept.find("general.alignment"); it != kept.end()) {
    const auto* a = std::get_if<std::int64_t>(&it->second.value);
    if (a == nullptr || *a < 1 || (*a & (*a - 1)) != 0)
      r.fail("key 'general.alignment' must be a power of two");
    alignment = static_cast<std::uint64_t>(*a);
  }
  const std::uint64_t table_end = r.offset();
  const std::uint64_t data_start = (table_end + alignment - 1) / alignment * alignment;
  const header_fields f(r, std::move(kept), arch);

  model_info m;
  m.source = path.string();
  m.architecture = arch;
  m.name = name.value_or(arch);
  if (listed(alibi_archs, arch)) {
    m.encoding = position_encoding::alibi;
  } else if (listed(absolute_archs, arch)) {
    m.encoding = position_encoding::absolute;
  } else if (listed(norm_archs, arch) || listed(neox_archs, arch)) {
    m.encoding = position_encoding::rope;
  } else {
    m.encoding = position_encoding::unknown;
  }
  m.sources["position_encoding"] = "general.architecture " + shown_arch + " (llama.cpp's handling)";

  if (const std::optional<std::int64_t> context = f.integer(".context_length")) {
    if (*context < 2) f.fail(".context_length", "= " + std::to_string(*context) + ": must be at least 2");
    m.advertised_context = context;
    m.context = *context;
    m.context_source = shown_arch + ".context_length";
    m.sources["advertised_context"] = m.context_source;
  } else if (!overrides.context && (m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown)) {
    f.fail(".context_length", "is missing; give the context L");
  } else {
    m.context_source = "none stated";
  }
  m.layers = f.integer(".block_count", false, 1);

  if (const std::optional<double> theta = f.real(".rope.freq_base")) {
    if (!(*theta > 1.0)) f.fail(".rope.freq_base", "must be a finite number above 1");
    m.rope_theta = *theta;
    m.sources["rope_theta"] = shown_arch + ".rope.freq_base";
  } else {
    m.rope_theta = 10000.0;
    m.sources["rope_theta"] = "llama.cpp's default 10000";
    m.notes.push_back(shown_arch + ".rope.freq_base is absent; llama.cpp's default 10000 applies");
  }

  const auto heads = f.integer(".attention.head_count", true, 1);
  if (!heads) f.fail(".attention.head_count", "is missing");
  m.heads = *heads;
  m.sources["heads"] = shown_arch + ".attention.head_count";
  if (const kept_value* per_layer = f.array_info(".attention.head_count"); per_layer && per_layer->array_min != m.heads)
    m.notes.push_back(shown_arch + ".attention.head_count varies per layer (" + std::to_string(per_layer->array_min) + ".." +
                      std::to_string(m.heads) + "); the largest is used");
  const std::optional<std::int64_t> kv = f.integer(".attention.head_count_kv", true, 1);
  m.kv_heads = kv.value_or(m.heads);
  m.sources["kv_heads"] = kv ? shown_arch + ".attention.head_count_kv" : "= heads (no head_count_kv)";
  if (m.heads % m.kv_heads != 0)
    f.fail(".attention.head_count_kv", "(" + std::to_string(m.kv_heads) + ") must divide " + shown_arch +
                                           ".attention.head_count (" + std::to_string(m.heads) + ")");
  // MLA models (DeepSeek-V2/V3) converted by current llama.cpp store the absorbed key length in
  // key_length and the per-head query/key size in key_length_mla.
  if (const std::optional<std::int64_t> mla = f.integer(".attention.key_length_mla", false, 1)) {
    m.head_dim = *mla;
    m.sources["head_dim"] = shown_arch + ".attention.key_length_mla";
  } else if (const std::optional<std::int64_t> key_length = f.integer(".attention.key_length", false, 1)) {
    m.head_dim = *key_length;
    m.sources["head_dim"] = shown_arch + ".attention.key_length";
  } else {
    const auto embedding = f.integer(".embedding_length");
    if (!embedding) f.fail(".embedding_length", "is missing (and so is .attention.key_length)");
    if (*embedding < 1 || *embedding % m.heads != 0)
      f.fail(".embedding_length", "(" + std::to_string(*embedding) + ") must be a positive multiple of " + shown_arch +
                                      ".attention.head_count (" + std::to_string(m.heads) + ") when " + shown_arch +
                                      ".attention.key_length is absent");
    m.head_dim = *embedding / m.heads;
    m.sources["head_dim"] = shown_arch + ".embedding_length / head_count";
  }
  const std::optional<std::int64_t> rotary = f.integer(".rope.dimension_count");
  m.rotary_dims = rotary.value_or(m.head_dim);
  m.sources["rotary_dims"] = rotary ? shown_arch + ".rope.dimension_count" : "= head_dim";
  if (m.rotary_dims < 2 || m.rotary_dims % 2 != 0 || m.rotary_dims > m.head_dim)
    f.fail(".rope.dimension_count", "(" + std::to_string(m.rotary_dims) + ") must be even and in [2, head_dim = " +
                                        std::to_string(m.head_dim) + "]");
  m.rotary_fraction = static_cast<double>(m.rotary_dims) / static_cast<double>(m.head_dim);

  if (listed(norm_archs, arch)) {
    m.style = rope_style::gptj;
    m.sources["rope_style"] = "llama.cpp rotates adjacent pairs for " + shown_arch;
    m.notes.push_back("llama.cpp rotates adjacent pairs for " + shown_arch +
                      " (its converter permutes Q/K, so this equals HF's rotate_half on the original weights)");
  } else {
    m.style = rope_style::neox;
    m.sources["rope_style"] = listed(neox_archs, arch) ? "llama.cpp rotates (c, c + R/2) for " + shown_arch
                                                       : "assumed neox (architecture not known here)";
  }

  // Llama-4's window key is its chunk size's switch: 0 (MobileLLM) means every layer attends fully.
  const bool llama4 = arch == "llama4";
  const std::optional<std::int64_t> llama4_window = llama4 ? f.integer(".attention.sliding_window", false, 0) : std::nullopt;
  if (const std::optional<std::int64_t> window = llama4 ? std::nullopt : f.integer(".attention.sliding_window", false, 2)) {
    m.sliding_window = *window;
    m.sources["sliding_window"] = shown_arch + ".attention.sliding_window";
    if (arch == "gemma2" || arch == "gemma3" || arch == "cohere2" || arch == "gpt-oss") {
      // llama.cpp's patterns (set_swa_pattern): one full layer in every `period`, the last of each
      // block; Gemma-2 and gpt-oss alternate, Gemma-3 has one in 6, Cohere2 one in 4. A uint32
      // sliding_window_pattern overrides the period.
      m.sliding = sliding_layers::alternating;
      m.sliding_period = arch == "gemma2" || arch == "gpt-oss" ? 2 : arch == "gemma3" ? 6 : 4;
      if (f.find(".attention.sliding_window_pattern") && !f.array_info(".attention.sliding_window_pattern")) {
        m.sliding_period = *f.integer(".attention.sliding_window_pattern", false, 1);
        m.sources["sliding_window"] += ", " + shown_arch + ".attention.sliding_window_pattern";
      }
      if (m.layers) m.sliding_layer_count = *m.layers - *m.layers / m.sliding_period;
    } else {
      m.sliding = sliding_layers::all;
      if (m.layers) m.sliding_layer_count = *m.layers;
    }
  }

  // The scaling rule: the header's keys and the RoPE tensors.
  const std::optional<std::string> scaling_type = f.string(".rope.scaling.type");
  const bool has_freqs = rope_tensors.count("rope_freqs") != 0;
  const bool has_long = rope_tensors.count("rope_factors_long") != 0;
  const bool has_short = rope_tensors.count("rope_factors_short") != 0;
  if (has_long != has_short) r.fail("has only one of the tensors rope_factors_long and rope_factors_short");
  std::optional<rope_scaling> s;
  if (scaling_type && *scaling_type != "none") {
    const std::optional<rope_scaling_type> t = parse_rope_scaling_type(*scaling_type);
    if (!t) f.fail(".rope.scaling.type", "= '" + printable(*scaling_type) + "' is not a RoPE rule known here (none, linear, yarn, longrope)");
    s.emplace();
    s->type = *t;
    s->source = shown_arch + ".rope.scaling.type";
  }
  if (!s && has_freqs) {
    s.emplace();
    s->type = rope_scaling_type::llama3;
    s->source = "rope_freqs tensor (llama.cpp's converter stores the llama3 rule as per-pair divisors)";
  }
  if (!s && has_long) {
    s.emplace();
    s->type = rope_scaling_type::longrope;
    s->source = "rope_factors_long/short tensors";
  }
  if (s) {
    if (const std::optional<double> factor = f.real(".rope.scaling.factor")) {
      if (!(*factor > 0)) f.fail(".rope.scaling.factor", "must be a positive number");
      s->factor = *factor;
    } else if (s->type == rope_scaling_type::linear || s->type == rope_scaling_type::yarn) {
      f.fail(".rope.scaling.factor", "is missing; " + std::string(to_string(s->type)) + " RoPE scaling requires it");
    }
    s->original_context = f.integer(".rope.scaling.original_context_length", false, 1);
    s->attention_factor = f.real(".rope.scaling.attn_factor");
    s->beta_fast = f.real(".rope.scaling.yarn_beta_fast");
    s->beta_slow = f.real(".rope.scaling.yarn_beta_slow");
    // llama.cpp stores DeepSeek's mscale_all_dim as yarn_log_multiplier = 0.1 * mscale_all_dim.
    if (const std::optional<double> log_multiplier = f.real(".rope.scaling.yarn_log_multiplier"))
      s->mscale_all_dim = *log_multiplier / 0.1;
    const auto pairs = static_cast<std::uint64_t>(m.rotary_dims / 2);
    auto tensor = [&](const char* tensor_name) {
      const rope_tensor& t = rope_tensors.at(tensor_name);
      if (t.elements != pairs)
        r.fail(std::string("tensor '") + tensor_name + "' has " + std::to_string(t.elements) + " values; rope.dimension_count / 2 = " +
               std::to_string(pairs) + " are required");
      return read_f32_tensor(r, tensor_name, t, data_start);
    };
    if (has_freqs) {
      s->freq_factors = tensor("rope_freqs");
      // The llama3 rule divides the lowest frequencies by `factor` and keeps the highest: the
      // largest divisor is the factor.
      if (s->type == rope_scaling_type::llama3 && !f.find(".rope.scaling.factor"))
        s->factor = *std::max_element(s->freq_factors.begin(), s->freq_factors.end());
    }
    if (has_long) {
      s->long_factor = tensor("rope_factors_long");
      s->short_factor = tensor("rope_factors_short");
      if (!f.find(".rope.scaling.factor") && s->original_context && m.advertised_context)
        s->factor = static_cast<double>(*m.advertised_context) / static_cast<double>(*s->original_context);
    }
    m.sources["rope_scaling"] = s->source;
    m.rope_scaling = std::move(s);
  }
  gguf_layer_map(f, arch, shown_arch, llama4_window, m);
  finish_model_facts(m, overrides, "gguf", path.string());
  m.sources["context"] = m.context_source;
  return m;
}

}  // namespace selfextend
