// llamacpp_bench.cpp - `sxplan llamacpp`'s comparison with the exact map (the summary, no per-token
// arrays): the closed form over runs of queries against the per-query sums it replaced.
// docs/performance.md has the results.
#include <cstdint>

#include <benchmark/benchmark.h>

#include <selfextend/llamacpp.hpp>

namespace {

// docs/performance.md's schedule: G = 8, W = 1024 through llama-cli with -b 1024.
selfextend::llamacpp_schedule bench_schedule(std::int64_t tokens, std::int64_t batch) {
  selfextend::llamacpp_schedule s;
  s.tokens = tokens;
  s.batch = batch;
  s.ga_n = 8;
  s.ga_w = 1024;
  s.context = 4096;
  return s;
}

constexpr selfextend::llamacpp_report_options summary_only{.per_token = false};

void BM_compare_llamacpp(benchmark::State& state) {
  const auto s = bench_schedule(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::compare_llamacpp(s, summary_only));
}
// batch 1024 = W: one run per period; batch 1000: 128 runs per lcm(1000, 1024) period.
BENCHMARK(BM_compare_llamacpp)
    ->Args({1'000'000, 1024})->Args({1'000'000'000, 1024})
    ->Args({1'000'000, 1000})->Args({1'000'000'000, 1000})
    ->Unit(benchmark::kMicrosecond);

void BM_compare_llamacpp_per_query(benchmark::State& state) {
  const auto s = bench_schedule(state.range(0), state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::compare_llamacpp_per_query(s, summary_only));
}
// 10^9 queries take seconds per iteration: one iteration is enough.
BENCHMARK(BM_compare_llamacpp_per_query)->Args({1'000'000, 1024})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_compare_llamacpp_per_query)->Args({1'000'000'000, 1024})->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
