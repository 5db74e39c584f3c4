// advice_bench - cost of the plan arithmetic: assess(), the min-group searches and a full advise().
#include <benchmark/benchmark.h>

#include <selfextend/advice.hpp>

namespace {

void BM_Assess(benchmark::State& state) {
  const selfextend::self_extend_params params{4096, 15800, {8, 1024, selfextend::shift_rule::integer}};
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::assess(params));
}
BENCHMARK(BM_Assess);

void BM_MinGroupForCapacity(benchmark::State& state) {
  // Worst case of the block walk: W close to L, so floor(W/G) changes often.
  const std::int64_t context = std::int64_t{1} << state.range(0);
  for (auto _ : state)
    benchmark::DoNotOptimize(selfextend::min_group_for_capacity(context, context + 2, context - 1));
}
BENCHMARK(BM_MinGroupForCapacity)->DenseRange(12, 32, 10);

void BM_AdviseSeed(benchmark::State& state) {
  selfextend::advice_request req;
  req.context = 4096;
  req.tokens = 15800;
  for (auto _ : state) benchmark::DoNotOptimize(selfextend::advise(req));
}
BENCHMARK(BM_AdviseSeed);

}  // namespace

BENCHMARK_MAIN();
