// consumer.cpp - uses the installed headers and libraries; exits non-zero if the seed example is wrong.
#include <selfextend/hf_config.hpp>
#include <selfextend/planner.hpp>

#include <iostream>

int main() {
  const auto a = selfextend::assess({4096, 15800, {8, 1024, selfextend::shift_rule::integer}});
  const auto m = selfextend::parse_hf_config(R"({"max_position_embeddings": 4096, "hidden_size": 4096,
                                                 "num_attention_heads": 32})", "inline");
  std::cout << "max_position " << a.max_position << ", context " << m.context << "\n";
  return (a.max_position == 2870 && m.context == 4096) ? 0 : 1;
}
