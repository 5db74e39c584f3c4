// attention_bench - Google Benchmark of the Self-Extend kernels: tiled (float32), reference and
// blocked (double; `oracle/...`, verify's fast oracle) for N = 1k ... 16k, D = 128, H = 1, G = 8, W = 1024 (LongLM's Llama default), prefill.
// Counters: GFLOP/s of useful causal work (2·N²·D per call), working memory the kernel allocates,
// and the process's peak RSS so far. See docs/performance.md for the results and how they were taken.
#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>

#include <sys/resource.h>

#include <random>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "attention_internal.hpp"  // detail::tiled_branch_attention: Self-Extend through the generic path

namespace {

selfextend::attention_params params_for(std::int64_t tokens, std::int64_t heads = 1) {
  selfextend::attention_params p;
  p.shape = {heads, heads, tokens, tokens, 128};
  p.extension = {8, 1024, selfextend::shift_rule::integer};
  p.force = true;
  return p;
}

template <class T>
std::vector<T> random_tensor(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<T> x(static_cast<std::size_t>(n));
  for (T& e : x) e = static_cast<T>(normal(rng));
  return x;
}

void set_counters(benchmark::State& state, const selfextend::attention_params& p, selfextend::attention_kernel kernel) {
  const double n = static_cast<double>(p.shape.key_tokens);
  const auto heads = static_cast<double>(p.shape.heads);
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * n * n * 128.0 * heads * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["work_MiB"] =
      static_cast<double>(selfextend::attention_working_memory(p, kernel)) / (1024.0 * 1024.0);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// One prefill of params_for(tokens, heads) by `kernel` on random inputs of its precision.
void prefill(benchmark::State& state, selfextend::attention_kernel kernel, std::int64_t tokens, std::int64_t heads,
             std::int64_t threads = 0) {
  selfextend::attention_params p = params_for(tokens, heads);
  p.threads = threads;
  const std::int64_t n = heads * tokens * 128;
  if (kernel == selfextend::attention_kernel::tiled) {
    const auto q = random_tensor<float>(n, 1), k = random_tensor<float>(n, 2), v = random_tensor<float>(n, 3);
    for (auto _ : state) benchmark::DoNotOptimize(selfextend::tiled_attention(p, q, k, v));
  } else {
    const auto q = random_tensor<double>(n, 1), k = random_tensor<double>(n, 2), v = random_tensor<double>(n, 3);
    for (auto _ : state)
      benchmark::DoNotOptimize(kernel == selfextend::attention_kernel::blocked
                                   ? selfextend::blocked_attention(p, q, k, v)
                                   : selfextend::reference_attention(p, q, k, v));
  }
  set_counters(state, p, kernel);
  if (kernel != selfextend::attention_kernel::reference)
    state.SetLabel(std::string(selfextend::to_string(selfextend::tiled_attention_simd())));
}

void tiled(benchmark::State& state) { prefill(state, selfextend::attention_kernel::tiled, state.range(0), 1); }
/// tiled at N = state.range(0) on state.range(1) threads: the kernel's own two-core scaling, to
/// read beside sgemm's (docs/performance.md).
void tiled_threads(benchmark::State& state) {
  prefill(state, selfextend::attention_kernel::tiled, state.range(0), 1, state.range(1));
}
void reference(benchmark::State& state) { prefill(state, selfextend::attention_kernel::reference, state.range(0), 1); }
/// The blocked double-precision kernel (verify's fast oracle) on the same work as `tiled`.
void oracle(benchmark::State& state) { prefill(state, selfextend::attention_kernel::blocked, state.range(0), 1); }
/// tiled and blocked at H = state.range(0) heads (one kv head each), N = state.range(1): the
/// verify-vs-attend ratio of docs/performance.md, both measured in the same run.
void tiled_heads(benchmark::State& state) {
  prefill(state, selfextend::attention_kernel::tiled, state.range(1), state.range(0));
}
void oracle_heads(benchmark::State& state) {
  prefill(state, selfextend::attention_kernel::blocked, state.range(1), state.range(0));
}

/// One decode step (one query over N keys, H = 1, D = 128) on state.range(1) threads: the keys are
/// split between the threads and merged by log-sum-exp. GB/s counts the K and V bytes read.
void decode(benchmark::State& state) {
  selfextend::attention_params p = params_for(state.range(0));
  p.shape.query_tokens = 1;
  p.threads = state.range(1);
  const std::int64_t n = p.shape.key_tokens * 128;
  const auto q = random_tensor<float>(128, 1), k = random_tensor<float>(n, 2), v = random_tensor<float>(n, 3);
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::tiled_attention(p, q, k, v));
  state.counters["KV_GBps"] = benchmark::Counter(2.0 * static_cast<double>(n) * 4.0 * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

/// The methods of methods.hpp with the parameters `compare` recommends for a 4096-token model read
/// at N = 8192 (docs/methods.md#what-compare-recommends): ChunkLlama's 3L/4 and L/8, ReRoPE's L/8,
/// Leaky's k = 16, StreamingLLM's 4 and 2000; Self-Extend with params_for's G = 8, W = 1024.
selfextend::method_params bench_method(selfextend::method_kind kind) {
  selfextend::method_params m;
  m.kind = kind;
  m.self_extend = {8, 1024, selfextend::shift_rule::integer};
  m.chunk_size = 3072;
  m.local_window = 512;
  m.window = 512;
  m.leak = 16;
  m.start_size = 4;
  m.recent_size = 2000;
  return m;
}

/// One prefill of N = state.range(0) tokens through tiled_method_attention (`generic`: Self-Extend
/// through the branch-seam path instead of its specialised kernel). Read beside tiled/N.
void tiled_method(benchmark::State& state, selfextend::method_kind kind, bool generic) {
  selfextend::attention_params p = params_for(state.range(0));
  const selfextend::method_params m = bench_method(kind);
  const std::int64_t n = p.shape.key_tokens * 128;
  const auto q = random_tensor<float>(n, 1), k = random_tensor<float>(n, 2), v = random_tensor<float>(n, 3);
  for (auto _ : state)
    benchmark::DoNotOptimize(generic ? selfextend::detail::tiled_branch_attention(p, m, q, k, v)
                                     : selfextend::tiled_method_attention(p, m, q, k, v));
  const auto tokens = static_cast<double>(p.shape.key_tokens);
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * tokens * tokens * 128.0 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["work_MiB"] = static_cast<double>(selfextend::attention_working_memory(
                                   p, m, selfextend::attention_kernel::tiled)) /
                               (1024.0 * 1024.0);
  state.SetLabel(std::string(selfextend::to_string(selfextend::tiled_attention_simd())));
}

/// One decode step over N = state.range(0) keys, as `decode` (both threads), for a method.
void decode_method(benchmark::State& state, selfextend::method_kind kind) {
  selfextend::attention_params p = params_for(state.range(0));
  p.shape.query_tokens = 1;
  const selfextend::method_params m = bench_method(kind);
  const std::int64_t n = p.shape.key_tokens * 128;
  const auto q = random_tensor<float>(128, 1), k = random_tensor<float>(n, 2), v = random_tensor<float>(n, 3);
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::tiled_method_attention(p, m, q, k, v));
}

/// The machine's read bandwidth in the same run: two threads summing halves of a 512 MiB buffer.
void memory_read(benchmark::State& state) {
  const std::size_t count = std::size_t{128} << 20;  // floats
  std::vector<float> buffer(count, 1.0f);
  const auto threads = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<double> sums(threads, 0.0);
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        const std::size_t begin = count / threads * t, end = count / threads * (t + 1);
        for (std::size_t i = begin; i + 8 <= end; i += 8) {
          s0 += buffer[i]; s1 += buffer[i + 1]; s2 += buffer[i + 2]; s3 += buffer[i + 3];
          s4 += buffer[i + 4]; s5 += buffer[i + 5]; s6 += buffer[i + 6]; s7 += buffer[i + 7];
        }
        sums[t] = s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
      });
    for (std::thread& th : pool) th.join();
    benchmark::DoNotOptimize(sums);
  }
  state.counters["read_GBps"] = benchmark::Counter(static_cast<double>(count) * 4.0 * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(tiled)->RangeMultiplier(2)->Range(1024, 16384)->Unit(benchmark::kMillisecond)->UseRealTime();
// The oracle is O(N²·D) in scalar double: 4k takes seconds, so it stops there.
BENCHMARK(tiled_threads)->Args({8192, 1})->Args({8192, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(reference)->RangeMultiplier(2)->Range(1024, 4096)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

BENCHMARK(oracle)->RangeMultiplier(2)->Range(1024, 8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(tiled_heads)->Args({8, 8192})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(oracle_heads)->Args({8, 8192})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

BENCHMARK(decode)->Args({131072, 1})->Args({131072, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(memory_read)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

using selfextend::method_kind;
// Self-Extend through the old entry (tiled/8192 above), the method entry and the generic path,
// then every other method, all at N = 8192, H = 1, D = 128 in one run.
BENCHMARK_CAPTURE(tiled_method, selfextend, method_kind::self_extend, false)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiled_method, selfextend_generic, method_kind::self_extend, true)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiled_method, dca, method_kind::dca, false)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiled_method, rerope, method_kind::rerope, false)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiled_method, leaky_rerope, method_kind::leaky_rerope, false)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tiled_method, streaming, method_kind::streaming, false)->Arg(8192)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(decode_method, dca, method_kind::dca)->Arg(131072)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(decode_method, streaming, method_kind::streaming)->Arg(131072)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
