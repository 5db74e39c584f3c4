// atomic_output_test - Unit tests for atomic_output.hpp: outputs appear whole or not at all.
#include <selfextend/atomic_output.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_helpers.hpp"

namespace {
std::filesystem::path fresh_dir(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
std::size_t entries(const std::filesystem::path& dir) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}
}  // namespace

TEST(AtomicOutputTest, CommitRenamesOverTheDestination) {
  const auto dir = fresh_dir("sxplan_atomic_commit");
  std::ofstream(dir / "out.txt") << "old";
  {
    selfextend::atomic_output_file out(dir / "out.txt");
    out.stream() << "new contents";
    out.commit();
  }
  std::ifstream in(dir / "out.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ("new contents", text.str());
  EXPECT_EQ(1u, entries(dir));
}

TEST(AtomicOutputTest, AbandonedWriteLeavesNothingBehind) {
  const auto dir = fresh_dir("sxplan_atomic_abandon");
  try {
    selfextend::atomic_output_file out(dir / "out.bin");
    out.stream() << "partial";
    throw std::runtime_error("simulated failure mid-write");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(0u, entries(dir));
}

TEST(AtomicOutputTest, UnwritableDestinationIsARuntimeFailure) {
  const auto dir = fresh_dir("sxplan_atomic_unwritable");
  EXPECT_THROW(selfextend::atomic_output_file(dir / "missing" / "out.txt"), std::runtime_error);
  EXPECT_THROW_MSG(selfextend::atomic_output_file{dir}, std::runtime_error, "cannot write " + dir.string() + ": it is a directory");
}
