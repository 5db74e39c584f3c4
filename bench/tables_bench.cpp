// tables_bench.cpp - per-token tables, dense rows, reuse counts and a 10^7-token .npy write.
// Run with bench/tables_numpy_baseline.py in the same session; docs/performance.md has the results.
#include <cstdint>
#include <filesystem>
#include <vector>

#include <benchmark/benchmark.h>

#include <selfextend/position_tables.hpp>
#include <selfextend/reuse.hpp>
#include <selfextend/table_writers.hpp>

namespace {

// The seed plan's shape: G = 8, W = 1024 on a 4096-token model.
const selfextend::plan bench_plan{8, 1024, selfextend::shift_rule::integer};

void BM_build_position_tables(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    auto t = selfextend::build_position_tables(bench_plan, n);
    benchmark::DoNotOptimize(t.group_query_position.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 32);
}
BENCHMARK(BM_build_position_tables)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kMillisecond);

void BM_fill_position_tables(benchmark::State& state) {
  // The same four arrays into buffers that already exist (no allocation or page faults):
  // what a runtime that owns its memory, or a streaming writer, pays.
  const std::int64_t n = state.range(0);
  std::vector<std::vector<std::int64_t>> arrays(4, std::vector<std::int64_t>(static_cast<std::size_t>(n)));
  for (auto _ : state) {
    for (std::size_t k = 0; k < 4; ++k) selfextend::fill_token_positions(bench_plan, selfextend::all_token_arrays[k], 0, arrays[k]);
    benchmark::DoNotOptimize(arrays[2].data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * 32);
}
BENCHMARK(BM_fill_position_tables)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kMillisecond);

void BM_dense_prefill(benchmark::State& state) {
  // The whole [N, N] matrix into one buffer, row by row (what the dense writers stream).
  const std::int64_t n = state.range(0);
  std::vector<std::int64_t> matrix(static_cast<std::size_t>(n * n));
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i)
      selfextend::fill_dense_row(bench_plan, i, 0, std::span<std::int64_t>(matrix).subspan(static_cast<std::size_t>(i * n), static_cast<std::size_t>(n)));
    benchmark::DoNotOptimize(matrix.data());
  }
  state.SetItemsProcessed(state.iterations() * n * n);
}
BENCHMARK(BM_dense_prefill)->Arg(4096)->Arg(11585)->Unit(benchmark::kMillisecond);

void BM_compute_reuse(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  for (auto _ : state) {
    auto s = selfextend::compute_reuse({4096, n, bench_plan});
    benchmark::DoNotOptimize(s.counts.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_compute_reuse)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Arg(100'000'000)->Unit(benchmark::kMillisecond);

void BM_write_npy_tokens(benchmark::State& state) {
  // Generate and write the [4, N] int64 tokens table (320 MB for N = 10^7) to the temp directory.
  const std::int64_t n = state.range(0);
  const auto path = std::filesystem::temp_directory_path() / "sxplan_bench_tokens.npy";
  selfextend::table_request r;
  r.extension = bench_plan;
  r.tokens = n;
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::write_position_table(path, r).bytes);
  std::filesystem::remove(path);
  state.SetBytesProcessed(state.iterations() * n * 32);
}
BENCHMARK(BM_write_npy_tokens)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
