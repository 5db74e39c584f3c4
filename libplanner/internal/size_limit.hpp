// size_limit.hpp - the one wording of a memory or file size limit the caller may lift with `force`.
#pragma once

#include <cstdint>
#include <string>

#include <selfextend/error.hpp>

#include "text.hpp"

namespace selfextend::detail {

/// Throws invalid_params {key, value, "<what> would be <bytes>, above the limit of <limit>; use
/// `force` to <action>"} (the CLI shows `force` as --force) unless bytes <= limit or force.
/// Called before anything is allocated.
inline void require_within_limit(const std::string& key, const std::string& value, const std::string& what,
                                 std::int64_t bytes, std::int64_t limit, bool force,
                                 const std::string& action = "go past it") {
  if (force || bytes <= limit) return;
  throw invalid_params(key, value,
                       what + " would be " + format_bytes(bytes) + ", above the limit of " + format_bytes(limit) +
                           "; use `force` to " + action);
}

}  // namespace selfextend::detail
