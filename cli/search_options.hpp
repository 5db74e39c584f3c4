// search_options.hpp - the inputs both advisors share (LongLM's advice_request, llama.cpp's
// llamacpp_advice_request), as either front end read them: `sxplan advise` from its flags, the
// Python module's advise() from its arguments. One place turns them into a request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "choices.hpp"

namespace sxplan {

/// N, an optional fixed W and G, the target bound's name and the largest G, as given.
struct search_options {
  std::int64_t tokens = 1;
  std::optional<std::int64_t> window;
  std::optional<std::int64_t> group;
  std::optional<std::string> target;      ///< "two_thirds" or "half"; the request's default when absent
  std::optional<std::int64_t> max_group;  ///< a hard cap when given; absent: the default, passed when nothing fits
};

/// Fills `req` for a model whose pretrained window is `context`.
template <class Request>
void apply_search_options(const search_options& o, std::int64_t context, Request& req) {
  req.context = context;
  req.tokens = o.tokens;
  req.window = o.window;
  req.group = o.group;
  if (o.target) req.target = target_choice(*o.target);
  req.max_group = o.max_group;
}

}  // namespace sxplan
