// models.hpp - what the planner knows about a model (its facts, each with where it came from),
// the rules by which those facts change a plan, and the built-in presets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/rope.hpp>

namespace selfextend {

/// How a model tells positions apart. Self-Extend remaps RoPE positions only.
enum class position_encoding : std::uint8_t {
  rope,      ///< rotary position embedding
  alibi,     ///< linear attention biases (BLOOM, MPT, Falcon-RW, ...)
  absolute,  ///< learned or sinusoidal absolute position embeddings (OPT, GPT-2, BERT, ...)
  unknown,   ///< not known here; planned as RoPE with a warning
};
[[nodiscard]] std::string_view to_string(position_encoding e) noexcept;

/// Which layers attend through a sliding window.
enum class sliding_layers : std::uint8_t {
  none,         ///< no layer slides (no window, or a window at least the context)
  all,          ///< every layer slides (Mistral-7B-v0.1, Phi-3-mini-4k)
  alternating,  ///< every `sliding_period`-th layer is global, the others slide (Gemma-2: 2, Gemma-3: 6)
  last,         ///< the layers from `max_window_layers` on slide (Qwen2's rule)
  listed,       ///< `layer_types` names the sliding layers one by one
};
[[nodiscard]] std::string_view to_string(sliding_layers s) noexcept;

/// How one layer's queries reach its keys.
enum class attention_kind : std::uint8_t {
  full,     ///< every earlier key (causal)
  sliding,  ///< the last `span` keys only (Mistral, Gemma local layers, gpt-oss)
  chunked,  ///< keys of the query's own chunk of `span` tokens only (Llama-4's RoPE layers)
  linear,   ///< a layer without positions: linear attention (Qwen3-Next's Gated DeltaNet), Mamba, short convolution
};
[[nodiscard]] std::string_view to_string(attention_kind k) noexcept;

/// A run of consecutive layers that attend and rotate alike: layers first .. first + count - 1.
struct layer_run {
  std::int64_t first = 0;
  std::int64_t count = 0;
  attention_kind kind = attention_kind::full;
  std::optional<std::int64_t> span;  ///< sliding window or chunk size (tokens); null for full and linear
  bool rope = true;                  ///< false: the layer rotates nothing (NoPE)
  double rope_theta = 0;             ///< this run's RoPE base (0 when rope is false)
  std::int64_t rotary_dims = 0;      ///< this run's rotated dims per head (0 when rope is false)
  bool scaled = true;                ///< the model's rope_scaling applies to this run
  friend bool operator==(const layer_run&, const layer_run&) = default;
};

/// What a layer of one kind of run needs so that a query at distance d from a key reads a
/// position it was trained on, summarised over the model.
struct layer_coverage {
  std::int64_t layers = 0;    ///< layers in the map (0 when the file states no layer count)
  std::int64_t extended = 0;  ///< layers Self-Extend acts on: RoPE layers that see distances >= L
  std::int64_t windowed = 0;  ///< sliding or chunked RoPE layers whose span is at most L (they keep it)
  std::int64_t no_rope = 0;   ///< NoPE layers (no positions to remap)
  std::int64_t linear = 0;    ///< linear / recurrent layers (no positions to remap)
  friend bool operator==(const layer_coverage&, const layer_coverage&) = default;
};

/// Dual Chunk Attention as a config states it (Qwen2.5-1M's `dual_chunk_attention_config`).
struct dual_chunk_attention {
  std::int64_t chunk_size = 0;
  std::int64_t local_size = 0;
  std::int64_t original_context = 0;  ///< original_max_position_embeddings: the trained window
  friend bool operator==(const dual_chunk_attention&, const dual_chunk_attention&) = default;
};

/// A model as the planner sees it, filled the same way from a preset, a config.json or a GGUF
/// file. `sources` says where each fact came from (a key of the file, an architecture default,
/// or the preset's Hugging Face id), under the fact's own name.
struct model_info {
  std::string name;                  ///< preset name, `_name_or_path`, GGUF general.name (printable text)
  std::string architecture;          ///< config model_type / GGUF general.architecture ("" for --context)
  position_encoding encoding = position_encoding::rope;
  std::int64_t context = 0;          ///< L, the pretrained window used for planning (tokens)
  std::string context_source;        ///< why L is what it is: a key, an architecture default, a rule
  std::optional<std::int64_t> advertised_context;  ///< the length the file states, whatever it means
  std::int64_t max_position_embeddings = 0;  ///< = advertised_context, 0 when the file states none
  double rope_theta = 10000.0;       ///< RoPE base
  std::int64_t head_dim = 0;         ///< D (MLA: qk_nope_head_dim + qk_rope_head_dim)
  std::int64_t heads = 0;            ///< query heads H (per-layer arrays: the largest)
  std::int64_t kv_heads = 0;         ///< key/value heads Hkv (H for multi-head attention)
  std::int64_t rotary_dims = 0;      ///< R, rotated dims per head (D unless partial rotary)
  double rotary_fraction = 1.0;      ///< R / D
  rope_style style = rope_style::neox;
  std::optional<std::int64_t> layers;          ///< num_hidden_layers / block_count, when stated
  std::optional<std::int64_t> sliding_window;  ///< tokens; null when no layer slides
  sliding_layers sliding = sliding_layers::none;
  std::int64_t sliding_period = 0;             ///< alternating: one global layer per this many
  std::optional<std::int64_t> sliding_layer_count;  ///< how many layers slide, when known
  std::optional<selfextend::rope_scaling> rope_scaling;  ///< the frequency rule, when not the default
  /// Every layer as runs of equal layers, in order (empty when the layer count is not stated).
  /// A reader that knows layers one by one fills it; otherwise finish_model_facts() derives it
  /// from the sliding facts.
  std::vector<layer_run> layer_map;
  std::optional<dual_chunk_attention> dual_chunk;  ///< the model already remaps positions with DCA
  bool attention_sinks = false;      ///< a learned sink logit per head joins every softmax (gpt-oss)
  std::string query_temperature;     ///< how queries are scaled by position, when they are ("" = not)
  std::vector<std::int64_t> mrope_section;  ///< multimodal RoPE sections (Qwen2-VL style), when stated
  std::string source;                ///< where the values come from (repo id, file path)
  std::map<std::string, std::string> sources;  ///< fact name -> where it was read
  std::vector<std::string> notes;    ///< e.g. defaults that applied
  std::vector<std::string> warnings; ///< what changes or limits the plan; printed by every command
  friend bool operator==(const model_info&, const model_info&) = default;
};

/// The built-in presets, in a fixed order (the order `sxplan models` prints).
[[nodiscard]] std::span<const model_info> model_presets();

/// The preset called `name`: its name or its Hugging Face id, compared without regard to case
/// ("LLAMA-2-7B", "meta-llama/Llama-2-7b-hf"). Throws invalid_params {"model", name, "unknown
/// model; did you mean ...? `sxplan models` lists the presets"} with up to three close names.
[[nodiscard]] const model_info& find_model(std::string_view name);

/// What a front end may set over the file's facts.
struct fact_overrides {
  std::optional<std::int64_t> context;  ///< plan against this L (the user's `context`)
};

/// find_model(name) with `overrides` applied through the same rules (finish_model_facts()).
[[nodiscard]] model_info find_model(std::string_view name, const fact_overrides& overrides);

/// Up to `count` preset names closest to `name` (edit distance on lowercase text), best first.
[[nodiscard]] std::vector<std::string> similar_model_names(std::string_view name, std::size_t count = 3);

/// Text from a file made safe to print and to put in JSON: control bytes and bytes that are not
/// valid UTF-8 become `\xNN`, a backslash stays a backslash; valid UTF-8 is kept.
[[nodiscard]] std::string printable(std::string_view text);

/// The rules that turn read facts into planning facts, applied identically to presets, config.json
/// and GGUF readers: a given context wins; otherwise the advertised length, a known architecture
/// default, or an error (key `key`, value `file`) saying to give the context. A sliding window at
/// least L is off; when every layer slides, L becomes the window (relative positions past it were
/// never trained). Appends the model warnings (pre-scaled RoPE, sliding windows, non-RoPE or
/// unknown encodings, Mistral-7B-v0.1's 32768). Idempotent for the same overrides.
void finish_model_facts(model_info& m, const fact_overrides& overrides, const std::string& key,
                        const std::string& file);

/// The largest layer count whose map is expanded into runs; a file stating more gets no map (and a
/// note), so that a corrupt count cannot allocate without bound.
inline constexpr std::int64_t max_mapped_layers = 1 << 16;

/// Whether layer `layer` slides by the sliding facts of `m` (sliding_window, sliding, sliding_period,
/// sliding_layer_count): every layer, all but every sliding_period-th, or the last
/// sliding_layer_count (Qwen2's max_window_layers); false without a window. `listed` layers are
/// the reader's own list: true here, as that reader fills the layer map itself.
[[nodiscard]] bool slides_at(const model_info& m, std::int64_t layer) noexcept;

/// Appends one layer (`one.count` layers) to a map, merged into the last run when alike; `first`
/// is set from the map.
void append_layer(std::vector<layer_run>& map, const layer_run& one);

/// How the layers of `m` split by what Self-Extend does to them (layer_coverage).
[[nodiscard]] layer_coverage self_extend_coverage(const model_info& m);

/// Why no layer of `m` can benefit from Self-Extend, or nullopt when some layer can (or the map
/// is unknown). The planners answer `not_applicable` with this reason instead of a plan.
[[nodiscard]] std::optional<std::string> self_extend_not_applicable(const model_info& m);

/// The layer map in one line: "0-4 sliding 1024 θ 1e4; 5 full θ 1e6 linear ×8; ..." (runs that
/// repeat with a period are shown once with "× k").
[[nodiscard]] std::string describe_layer_map(const model_info& m);

/// The runs of `m.layer_map` of one attention kind with RoPE ("full", "sliding", "chunked"), or
/// throws invalid_params {key, kind} naming the kinds the model has. Front ends use it to pick
/// the RoPE of one kind of layer (--layer-type).
[[nodiscard]] const layer_run& layer_run_of_kind(const model_info& m, std::string_view kind, const std::string& key);

/// Throws invalid_params naming the model and its encoding when it is not RoPE (alibi, absolute):
/// Self-Extend remaps RoPE positions only. `unknown` passes (the warning is already in m.warnings).
void require_rope(const model_info& m, const std::string& key, const std::string& value);

}  // namespace selfextend
