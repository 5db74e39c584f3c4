// kernel_inputs.hpp - random q, k, v for the kernel tests, rounded to float so that the float32
// and float64 kernels read the same numbers.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <selfextend/attention.hpp>

namespace kernel_inputs {

struct inputs {
  std::vector<double> q, k, v;
  [[nodiscard]] std::vector<float> qf() const { return {q.begin(), q.end()}; }
  [[nodiscard]] std::vector<float> kf() const { return {k.begin(), k.end()}; }
  [[nodiscard]] std::vector<float> vf() const { return {v.begin(), v.end()}; }
};

/// Entries ~ N(0, spread²), each rounded to float, for the shapes of `s`.
inline inputs random_inputs(const selfextend::attention_shape& s, std::mt19937_64& rng, double spread = 1.0) {
  std::normal_distribution<double> normal(0.0, spread);
  auto fill = [&](std::int64_t n) {
    std::vector<double> x(static_cast<std::size_t>(n));
    for (double& e : x) e = static_cast<double>(static_cast<float>(normal(rng)));
    return x;
  };
  return {fill(s.heads * s.query_tokens * s.head_dim), fill(s.kv_heads * s.key_tokens * s.head_dim),
          fill(s.kv_heads * s.key_tokens * s.head_dim)};
}

}  // namespace kernel_inputs
