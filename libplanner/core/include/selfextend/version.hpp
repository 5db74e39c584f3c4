// version.hpp - library version (kept equal to the CMake project version; a test checks).
#pragma once

namespace selfextend {

inline constexpr int version_major = 0;
inline constexpr int version_minor = 1;
inline constexpr int version_patch = 0;
/// "major.minor.patch"; reported as `planner_version` in every JSON document.
inline constexpr const char* version_string = "0.1.0";

}  // namespace selfextend
