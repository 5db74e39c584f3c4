// llamacpp.hpp - llama.cpp's group attention ("Self-Extend" in llama-cli / llama-passkey), simulated,
// compared with the exact map, and the flags to give it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/advice.hpp>
#include <selfextend/error.hpp>

namespace selfextend {

/// Which llama.cpp program's schedule to reproduce (docs/runtimes.md, "llama.cpp").
enum class llamacpp_mode : std::uint8_t {
  main,     ///< llama-cli / llama-completion: groups before every llama_decode while n_past >= ga_i + ga_w
  passkey,  ///< llama-passkey: the window is n_batch; groups the previous chunk before each prompt chunk
};
[[nodiscard]] std::string_view to_string(llamacpp_mode m) noexcept;
/// "main" / "passkey"; nullopt for anything else.
[[nodiscard]] std::optional<llamacpp_mode> parse_llamacpp_mode(std::string_view text) noexcept;

/// llama.cpp's default n_batch (`-b`), the prompt chunk size.
inline constexpr std::int64_t llamacpp_default_batch = 2048;
/// Largest token count simulated: llama.cpp counts positions and cells in int32.
inline constexpr std::int64_t llamacpp_max_tokens = 2147483647;

/// One llama.cpp run: a prompt of `tokens` tokens decoded in chunks of `batch`, then `generate`
/// tokens decoded one at a time. Keys in messages are the CLI/JSON names.
struct llamacpp_schedule {
  std::int64_t tokens = 1;                          ///< P, prompt tokens (>= 1)
  std::int64_t generate = 0;                        ///< M, tokens decoded singly after the prompt (>= 0)
  std::int64_t batch = llamacpp_default_batch;      ///< n_batch, prompt chunk size in tokens (>= 1)
  std::int64_t ga_n = 1;                            ///< G, `--grp-attn-n` (>= 1; 1 = no grouping)
  std::int64_t ga_w = 512;                          ///< W, `--grp-attn-w`; main mode only (passkey uses batch)
  llamacpp_mode mode = llamacpp_mode::main;
  std::optional<std::int64_t> context;              ///< L = n_ctx_train; required in passkey mode
  friend bool operator==(const llamacpp_schedule&, const llamacpp_schedule&) = default;
};

/// Every rule the schedule breaks; empty when valid. Never throws. The rules are llama.cpp's
/// asserts turned into messages: ga_n >= 1; main: ga_w >= 1 and ga_w % ga_n == 0 (when ga_n > 1);
/// passkey: batch % ga_n == 0 and every prompt chunk starts below L * ga_n (llama-passkey's
/// n_ctx minus n_keep; later chunks go through its cache-shifting loop, which is not simulated);
/// tokens >= 1, generate >= 0, batch >= 1, tokens + generate <= llamacpp_max_tokens.
/// Example: validate({.tokens = 100, .ga_n = 3, .ga_w = 8})
///          -> {{"ga_w", "8", "must be a multiple of ga_n (3); llama.cpp asserts ga_w % ga_n == 0"}}
[[nodiscard]] std::vector<issue> validate(const llamacpp_schedule& s);

/// The window the schedule groups by: ga_w in main mode, batch in passkey mode.
[[nodiscard]] std::int64_t effective_window(const llamacpp_schedule& s) noexcept;

/// What simulate_llamacpp, compare_llamacpp and analyse_llamacpp keep besides the summary.
struct llamacpp_report_options {
  bool per_token = true;  ///< fill the four per-token arrays (32 bytes per token)
  bool force = false;     ///< keep arrays and rows even above max_llamacpp_report_bytes
};

/// Limit of the per-token arrays and rows without force: 1 GiB.
inline constexpr std::int64_t max_llamacpp_report_bytes = std::int64_t{1} << 30;

/// Bytes the per-token arrays (when per_token) and the rows (16 x (query + 1) each) need (saturating).
[[nodiscard]] std::int64_t llamacpp_report_bytes(const llamacpp_schedule& s, std::span<const std::int64_t> rows,
                                                 bool per_token);

/// Where llama.cpp put every token. Index t is token t (prompt first, then generated tokens).
/// Invariant (verified against the operation replay in tests): when token t is decoded after K
/// groupings, cell j < K*W sits at floor(j/G), cell j >= K*W at j - K*D (B = W/G, D = W - B),
/// and t itself at t - K*D.
struct llamacpp_positions {
  std::int64_t window = 0;                      ///< W used (ga_w, or batch in passkey mode)
  std::vector<std::int64_t> query_position;     ///< [P + M] position token t was decoded at
  std::vector<std::int64_t> final_position;     ///< [P + M] position of cell t after the last decode
  std::int64_t max_position = 0;                ///< largest query position = largest relative position seen
  std::int64_t groupings = 0;                   ///< K at the last decode
  std::int64_t decode_calls = 0;                ///< llama_decode calls: prompt chunks + generated tokens
  std::int64_t kv_cells = 0;                    ///< cells the KV cache must hold: P + M (one per token)
  friend bool operator==(const llamacpp_positions&, const llamacpp_positions&) = default;
};

/// Simulates the schedule: O(P + M) time and memory with
/// options.per_token (query_position, final_position filled; refused above
/// max_llamacpp_report_bytes unless options.force, as analyse_llamacpp); without, both empty and
/// max_position in closed form, as compare_llamacpp.
/// Throws invalid_params on an invalid schedule.
/// Example: G=2, W=8, P=32, batch 8, M=1: query_position[32] == 16,
///          final_position[0..7] == {0,0,1,1,2,2,3,3}.
[[nodiscard]] llamacpp_positions simulate_llamacpp(const llamacpp_schedule& s, const llamacpp_report_options& options = {});

/// Number of groupings done when token `t` (0 <= t < P + M) is decoded. O(1).
[[nodiscard]] std::int64_t llamacpp_groupings_at(const llamacpp_schedule& s, std::int64_t t);

/// Relative positions query `query` saw: out[j] = its position - key j's position then, j = 0..query.
/// Throws invalid_params when query is outside [0, P + M). O(query).
[[nodiscard]] std::vector<std::int64_t> llamacpp_relative_row(const llamacpp_schedule& s, std::int64_t query);

/// One entry of llamacpp_relative_row(s, query): the relative position query `query` saw for key
/// `key`, in O(1), so a picture can sample any pair of any schedule without a row or a simulation.
/// Throws invalid_params like llamacpp_relative_row, and when key is outside [0, query].
[[nodiscard]] std::int64_t llamacpp_relative_position(const llamacpp_schedule& s, std::int64_t query, std::int64_t key);

/// How llama.cpp's relative positions differ from the exact map (position_map.hpp, integer shift,
/// the same G and W) over all causal pairs of the P + M tokens. difference = exact - llama.cpp.
/// The summary is summed in closed form over runs of queries with the same groupings, and the runs
/// repeat every lcm(n_batch, W) tokens, so without the per-token arrays it takes O(min(n_batch, W))
/// time however long the schedule (tested against the per-query sums of compare_llamacpp_per_query
/// and against visiting every pair).
struct llamacpp_comparison {
  std::int64_t total_pairs = 0;                 ///< N(N+1)/2, N = P + M (saturates at INT64_MAX)
  std::int64_t differing_pairs = 0;             ///< pairs whose relative position differs
  std::int64_t max_difference = 0;              ///< largest |exact - llama.cpp|
  double mean_difference = 0;                   ///< mean |exact - llama.cpp| over all pairs
  double mean_signed_difference = 0;            ///< mean (exact - llama.cpp); > 0: llama.cpp's distances are smaller
  std::vector<std::int64_t> llamacpp_neighbors; ///< [N] keys of query t at their true distance block: t - K*W + 1
  std::vector<std::int64_t> exact_neighbors;    ///< [N] min(t + 1, W)
  double mean_llamacpp_neighbors = 0;
  double mean_exact_neighbors = 0;
  std::int64_t queries_alone = 0;               ///< queries whose only exact neighbour is themselves (t = K*W)
  std::int64_t max_position = 0;                ///< llama.cpp's largest position
  std::int64_t single_token_max_position = 0;   ///< the same tokens decoded one at a time (main's loop)
  std::int64_t exact_max_position = 0;          ///< P_max of the exact map
  std::optional<std::int64_t> context;          ///< L, when known
  std::optional<bool> fits;                     ///< max_position <= L - 1, when L is known
  std::int64_t kv_cells = 0;                    ///< P + M
  friend bool operator==(const llamacpp_comparison&, const llamacpp_comparison&) = default;
};

/// Compares the schedule with the exact map; the per-token neighbour arrays only with
/// options.per_token (size-checked as simulate_llamacpp; O(1) memory without). Throws
/// invalid_params on an invalid schedule.
[[nodiscard]] llamacpp_comparison compare_llamacpp(const llamacpp_schedule& s, const llamacpp_report_options& options = {});

/// The same comparison summed query by query (closed forms over each query's keys), O(P + M) time
/// on every core: the oracle compare_llamacpp is tested against, kept callable so the benchmark can
/// time both. Equal to compare_llamacpp for every schedule; throws as it.
[[nodiscard]] llamacpp_comparison compare_llamacpp_per_query(const llamacpp_schedule& s,
                                                             const llamacpp_report_options& options = {});

/// One requested query row: what llama.cpp and the exact map give for keys 0..query.
struct llamacpp_row {
  std::int64_t query = 0;
  std::vector<std::int64_t> llamacpp;  ///< [query + 1]
  std::vector<std::int64_t> exact;     ///< [query + 1]
  friend bool operator==(const llamacpp_row&, const llamacpp_row&) = default;
};

/// Everything `sxplan llamacpp` shows: positions, comparison, and the requested rows (O(N * rows)).
struct llamacpp_report {
  llamacpp_positions positions;
  llamacpp_comparison comparison;
  std::vector<llamacpp_row> rows;
  std::vector<std::string> notes;  ///< facts about this schedule worth a sentence (overshoot, alone queries, ...)
  friend bool operator==(const llamacpp_report&, const llamacpp_report&) = default;
};

/// Simulates, compares and extracts `rows` (each in [0, P + M)). The summary needs no per-token
/// pass (see compare_llamacpp) and O(1) memory, the arrays llamacpp_report_bytes(), refused above max_llamacpp_report_bytes unless
/// options.force (key "tokens", or "rows" when the rows alone pass it; naming `force`) before
/// anything is allocated. Throws invalid_params on bad input; a bad row has key "rows".
[[nodiscard]] llamacpp_report analyse_llamacpp(const llamacpp_schedule& s, std::span<const std::int64_t> rows = {},
                                               const llamacpp_report_options& options = {});

/// What to ask the llama.cpp flag advisor.
struct llamacpp_advice_request {
  std::int64_t context = 4096;              ///< L
  std::int64_t tokens = 1;                  ///< N = prompt + generation
  std::optional<std::int64_t> window;       ///< fix --grp-attn-w
  std::optional<std::int64_t> group;        ///< fix --grp-attn-n
  target_fraction target = target_fraction::two_thirds;  ///< keep the largest position below this part of L
  /// Largest G considered: given, a hard cap (no_solution when a plan fits only past it); absent,
  /// default_max_group, passed only when no plan within it fits (as advice_request's).
  std::optional<std::int64_t> max_group;
  /// As advice_request's: the reason no layer can benefit; advise_llamacpp() then answers without flags.
  std::optional<std::string> not_applicable;
  friend bool operator==(const llamacpp_advice_request&, const llamacpp_advice_request&) = default;
};

/// Recommended llama-cli flags and the evidence for them.
struct llamacpp_advice {
  bool applicable = true;         ///< false: group attention has no effect on this model; no flags follow
  std::string not_applicable_reason;
  bool extension_needed = true;   ///< false when N <= L: no group attention needed
  bool past_max_group = false;    ///< no G <= default_max_group fits: ga_n is past it
  std::int64_t ga_n = 1;          ///< --grp-attn-n
  std::int64_t ga_w = 512;        ///< --grp-attn-w (a multiple of ga_n)
  std::int64_t ctx_size = 0;      ///< -c: N + 4 rounded up to a multiple of 256
  std::int64_t batch = llamacpp_default_batch;  ///< -b: ga_w, so no prompt chunk straddles a window block
  std::int64_t max_position = 0;  ///< largest position with these flags, for any split of N into prompt + generation
  std::int64_t default_batch_max_position = 0;  ///< the same N as one prompt with -b 2048 (the default)
  bool fits = false;              ///< max_position <= L - 1
  bool meets_target = false;      ///< max_position < target fraction of L
  std::vector<std::string> arguments;  ///< e.g. {"-c", "15872", "-b", "1017", "--grp-attn-n", "9", "--grp-attn-w", "1017"}
  std::vector<std::string> reasons;    ///< most important first
  std::vector<std::string> warnings;
  friend bool operator==(const llamacpp_advice&, const llamacpp_advice&) = default;
};

/// Every rule the request breaks; empty when advise_llamacpp() accepts it. Never throws. The rules
/// of advice_request's validate() (bar top), plus llama.cpp's: tokens <= llamacpp_max_tokens - 4
/// (llama-cli keeps 4 cells spare), a fixed window a multiple of a fixed group, and, with N > L
/// and G free, a window some G >= 2 divides: a fixed W with a divisor in 2..max_group, or
/// context >= 4 when W is chosen.
[[nodiscard]] std::vector<issue> validate(const llamacpp_advice_request& request);

/// Recommends --grp-attn-n, --grp-attn-w, -c and -b for reading N tokens through llama-cli with a
/// model trained on L. Ranking: plans whose every position stays below L come first; among them,
/// those whose largest position is below the target fraction of L; then W nearest L/4 (rounded to
/// a multiple of G, as llama.cpp requires); then the smallest G. Throws invalid_params when validate(request)
/// is not empty, and no_solution when an explicit max_group is below the smallest G that fits.
/// Example: {L = 4096, N = 15800} -> ga_n 9, ga_w 1017, -c 15872, -b 1017, largest position 2598.
[[nodiscard]] llamacpp_advice advise_llamacpp(const llamacpp_advice_request& request);

}  // namespace selfextend
