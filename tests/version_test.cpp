// version_test - Unit tests for version.hpp: the header agrees with the CMake project version.
#include <selfextend/version.hpp>

#include <string>

#include <gtest/gtest.h>

TEST(VersionTest, HeaderMatchesProjectVersion) {
  EXPECT_EQ(std::string(PLANNER_PROJECT_VERSION), selfextend::version_string);
  EXPECT_EQ(std::string(PLANNER_PROJECT_VERSION),
            std::to_string(selfextend::version_major) + "." + std::to_string(selfextend::version_minor) + "." +
                std::to_string(selfextend::version_patch));
}
