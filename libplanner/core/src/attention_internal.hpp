// attention_internal.hpp - pieces the attention kernels share: the thread loop, RoPE frequencies,
// the log scale, and the working-memory guard.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <selfextend/attention.hpp>

#include "checked_math.hpp"
#include "memory_hint.hpp"
#include "text.hpp"

namespace selfextend::detail {

/// A 64-byte aligned array of T (tile panels and scratch rows start on cache lines, and two
/// workers' buffers never share one).
template <class T>
struct aligned_array {
  struct free_aligned {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<T[], free_aligned> data;
  std::size_t size = 0;
  aligned_array() = default;
  /// Zero-filled.
  explicit aligned_array(std::size_t n) : data(allocate(n)), size(n) { std::fill_n(data.get(), n, T{}); }
  /// Left unwritten, for a buffer its users fill completely (and in parallel: first touch, and
  /// its page faults, then happen on the workers), backed by huge pages where the kernel can.
  struct unfilled {};
  aligned_array(std::size_t n, unfilled) : data(allocate(n)), size(n) { hint_huge_pages(data.get(), n * sizeof(T)); }
  T* get() const noexcept { return data.get(); }

 private:
  static T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new[](std::max<std::size_t>(n, 1) * sizeof(T), std::align_val_t{64}));
  }
};

/// Number of workers for params.threads (0 = all hardware threads), never more than `items`.
[[nodiscard]] inline std::int64_t worker_count(std::int64_t threads, std::int64_t items) {
  std::int64_t n = threads;
  if (n <= 0) n = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::thread::hardware_concurrency()));
  return std::max<std::int64_t>(1, std::min(n, items));
}

/// Runs body(item, worker) for item in [0, items) on `workers` threads (the caller is worker 0),
/// handing out items dynamically so uneven items (causal rows) balance. The first exception
/// thrown by any body is rethrown here after all workers stop.
template <class Body>
void parallel_for(std::int64_t items, std::int64_t workers, const Body& body) {
  std::atomic<std::int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](std::int64_t worker) {
    try {
      for (std::int64_t item = next++; item < items; item = next++) body(item, worker);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = items;  // stop handing out work
    }
  };
  std::vector<std::thread> pool;
  for (std::int64_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

/// Lines of two byte ranges for one step of a loop to bring into L2: `lines_first` lines from
/// `first`, `lines_second` from `second`.
struct prefetch_share {
  const char* first = nullptr;
  std::int64_t lines_first = 0;
  const char* second = nullptr;
  std::int64_t lines_second = 0;
  /// Called at every step of an inner loop: at each `every`-th step, one line of each range,
  /// so the requests are spread over the loop's arithmetic instead of queueing for the line-fill
  /// buffers in a burst.
  template <std::int64_t every>
  [[gnu::always_inline]] void issue_at(std::int64_t step) const {
    if (step % every != 0) return;
    const std::int64_t line = step / every;
    if (line < lines_first) __builtin_prefetch(first + line * 64, 0, 2);
    if (line < lines_second) __builtin_prefetch(second + line * 64, 0, 2);
  }
};

/// Two byte ranges to bring into L2 over the `steps` steps of a loop, an equal share per step.
struct prefetch_plan {
  const char* first = nullptr;
  std::int64_t first_bytes = 0;
  const char* second = nullptr;
  std::int64_t second_bytes = 0;
  [[nodiscard]] prefetch_share share(std::int64_t step, std::int64_t steps) const {
    auto part = [&](const char* base, std::int64_t bytes, const char*& from, std::int64_t& lines) {
      const std::int64_t total = (bytes + 63) / 64;
      const std::int64_t begin = total * step / steps;
      from = base + begin * 64;
      lines = total * (step + 1) / steps - begin;
    };
    prefetch_share out;
    if (steps > 0) {
      part(first, first_bytes, out.first, out.lines_first);
      part(second, second_bytes, out.second, out.lines_second);
    }
    return out;
  }
};

/// R, the rotated dims (params.rotary_dims, or head_dim when 0).
[[nodiscard]] inline std::int64_t rotary_dims(const attention_params& p) {
  return p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
}

/// The frequencies both branches rotate with: params.rope.inv_freq when given, else
/// inv_freq[c] = theta^(-2c/R), c in [0, R/2). Precondition: params valid.
[[nodiscard]] inline std::vector<double> inverse_frequencies(const attention_params& p) {
  if (!p.rope.inv_freq.empty()) return p.rope.inv_freq;
  const std::int64_t r = rotary_dims(p);
  std::vector<double> inv(static_cast<std::size_t>(r / 2));
  for (std::int64_t c = 0; c < r / 2; ++c)
    inv[static_cast<std::size_t>(c)] = std::pow(p.rope.theta, -2.0 * static_cast<double>(c) / static_cast<double>(r));
  return inv;
}

/// The two dims rotated together by frequency c.
struct rope_pair {
  std::int64_t first;
  std::int64_t second;
};
[[nodiscard]] inline rope_pair pair_dims(rope_style style, std::int64_t rotary, std::int64_t c) noexcept {
  return style == rope_style::neox ? rope_pair{c, c + rotary / 2} : rope_pair{2 * c, 2 * c + 1};
}

/// max(1, ln(i+1)/ln(scale_base)) for the query at absolute position i; 1 when disabled.
[[nodiscard]] inline double log_scale(const rope_params& rope, std::int64_t position) {
  if (rope.scale_base <= 0) return 1.0;
  return std::max(1.0, std::log(static_cast<double>(position) + 1.0) / std::log(rope.scale_base));
}

/// a * b * ... of non-negative factors in 128 bits. Once the product passes INT64_MAX it stops
/// at INT64_MAX + 1 (later factors could overflow even 128 bits), so a caller compares the result
/// with its own limit and reports what it means; this function never throws.
[[nodiscard]] inline wide_int checked_product(std::initializer_list<std::int64_t> factors) {
  wide_int product = 1;
  for (const std::int64_t f : factors) {
    product *= f;
    if (product > wide_int{int64_max}) return wide_int{int64_max} + 1;
  }
  return product;
}


/// Throws invalid_params (key "q", value the shape) when `bytes` > params.memory_limit and not params.force.
void require_memory(const attention_params& params, std::int64_t bytes);

/// Working memory of tiled_attention (attention_tiled.cpp). Precondition: params valid.
[[nodiscard]] std::int64_t tiled_working_memory(const attention_params& params);

/// Working memory of tiled_method_attention for a method other than Self-Extend (and of
/// tiled_branch_attention for any). Preconditions: params and method valid.
[[nodiscard]] std::int64_t tiled_method_working_memory(const attention_params& params, const method_params& method);

/// The tiled kernel's branch-seam path for any method, Self-Extend included (tiled_method_attention
/// sends Self-Extend to tiled_attention instead; the tests and the benchmark call this to compare).
[[nodiscard]] std::vector<float> tiled_branch_attention(const attention_params& params, const method_params& method,
                                                        std::span<const float> q, std::span<const float> k,
                                                        std::span<const float> v, const progress_callback& progress = {});

/// Working memory of blocked_attention (attention_blocked.cpp). Precondition: params valid.
[[nodiscard]] std::int64_t blocked_working_memory(const attention_params& params);

/// The largest position a key or query is rotated to: keys at j and floor(j/G) <= j, queries at i
/// and, when i >= W, at gq(i) (<= i there). Precondition: params valid.
[[nodiscard]] inline std::int64_t largest_rotation_position(const attention_params& p) {
  const std::int64_t last = p.shape.key_tokens - 1;
  if (last < p.extension.window) return last;
  return std::max(last, group_query_position(last, p.extension));
}

/// Throws invalid_params {"rows", ...} unless `rows` is non-empty and every row is in [0, Nq).
void require_query_rows(const attention_params& params, std::span<const std::int64_t> rows);

/// Throws invalid_params {key, size, rule} unless `span_size` equals heads * tokens * dim.
void require_size(const char* key, std::size_t span_size, std::int64_t heads, std::int64_t tokens, std::int64_t dim);

}  // namespace selfextend::detail
