// attention_bench - Google Benchmark of the Self-Extend kernels: tiled (float32) and reference
// (double) for N = 1k ... 16k, D = 128, H = 1, G = 8, W = 1024 (LongLM's Llama default), prefill.
// Counters: GFLOP/s of useful causal work (2·N²·D per call), working memory the kernel allocates,
// and the process's peak RSS so far. See docs/performance.md for the results and how they were taken.
#include <selfextend/attention.hpp>

#include <sys/resource.h>

#include <random>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

selfextend::attention_params params_for(std::int64_t tokens) {
  selfextend::attention_params p;
  p.shape = {1, 1, tokens, tokens, 128};
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
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * n * n * 128.0 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["work_MiB"] =
      static_cast<double>(selfextend::attention_working_memory(p, kernel)) / (1024.0 * 1024.0);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void tiled(benchmark::State& state) {
  const selfextend::attention_params p = params_for(state.range(0));
  const std::int64_t n = p.shape.key_tokens * 128;
  const auto q = random_tensor<float>(n, 1), k = random_tensor<float>(n, 2), v = random_tensor<float>(n, 3);
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::tiled_attention(p, q, k, v));
  set_counters(state, p, selfextend::attention_kernel::tiled);
  state.SetLabel(std::string(selfextend::to_string(selfextend::tiled_attention_simd())));
}

void reference(benchmark::State& state) {
  const selfextend::attention_params p = params_for(state.range(0));
  const std::int64_t n = p.shape.key_tokens * 128;
  const auto q = random_tensor<double>(n, 1), k = random_tensor<double>(n, 2), v = random_tensor<double>(n, 3);
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::reference_attention(p, q, k, v));
  set_counters(state, p, selfextend::attention_kernel::reference);
}

}  // namespace

BENCHMARK(tiled)->RangeMultiplier(2)->Range(1024, 16384)->Unit(benchmark::kMillisecond)->UseRealTime();
// The oracle is O(N²·D) in scalar double: 4k takes seconds, so it stops there.
BENCHMARK(reference)->RangeMultiplier(2)->Range(1024, 4096)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

BENCHMARK_MAIN();
