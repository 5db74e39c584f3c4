// npy_test - Unit tests for npy.hpp: the .npy reader and writer, including NumPy interoperability.
#include <selfextend/npy.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "test_helpers.hpp"

namespace {

/// A directory of this test's own (ctest runs each test as its own process, two at a time): a
/// directory shared by all NpyTest cases let one test see another's temporary file mid-write.
std::filesystem::path temp_dir() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sxplan_npy_test-" + std::string(test ? test->name() : "none"));
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  if (!s.empty()) std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string file_image(const selfextend::npy_array& a) {
  std::string s = selfextend::npy_header(a.dtype, a.shape);
  s.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
  return s;
}

std::string error_of(const std::string& image) {
  try {
    (void)selfextend::parse_npy(bytes_of(image), "q", "q.npy");
  } catch (const selfextend::invalid_params& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(NpyTest, RoundTripsEveryDtypeAndShape) {
  std::mt19937 rng(5);
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {7}, {3, 4}, {2, 3, 5}, {1, 1, 1, 1}};
  for (const auto& shape : shapes) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> f(static_cast<std::size_t>(n));
    std::vector<double> d(f.size());
    std::vector<std::int32_t> i4(f.size());
    std::vector<std::int64_t> i8(f.size());
    for (std::size_t k = 0; k < f.size(); ++k) {
      f[k] = static_cast<float>(rng()) / 7.0f;
      d[k] = static_cast<double>(rng()) / 3.0;
      i4[k] = static_cast<std::int32_t>(rng());
      i8[k] = static_cast<std::int64_t>(rng()) << 20;
    }
    for (const auto& a : {selfextend::npy_array::from(std::span<const float>(f), shape),
                          selfextend::npy_array::from(std::span<const double>(d), shape),
                          selfextend::npy_array::from(std::span<const std::int32_t>(i4), shape),
                          selfextend::npy_array::from(std::span<const std::int64_t>(i8), shape)}) {
      const std::string image = file_image(a);
      EXPECT_EQ(0u, (image.size() - a.data.size()) % 64) << "header not 64-byte aligned";
      EXPECT_EQ(a, selfextend::parse_npy(bytes_of(image), "q", "q.npy"));
    }
  }
}

TEST(NpyTest, ConvertsElements) {
  const std::vector<std::int32_t> v = {-3, 0, 7};
  const auto a = selfextend::npy_array::from(std::span<const std::int32_t>(v), {3});
  EXPECT_EQ((std::vector<double>{-3, 0, 7}), a.to_doubles());
  EXPECT_EQ((std::vector<std::int64_t>{-3, 0, 7}), a.to_int64());
  const std::vector<float> f = {1.5f};
  EXPECT_THROW_MSG((void)selfextend::npy_array::from(std::span<const float>(f), {1}).to_int64(),
                   selfextend::invalid_params, "npy = <f4: an integer dtype (<i4 or <i8) is required");
}

TEST(NpyTest, RejectsMalformedFilesWithClearMessages) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  const std::string good = file_image(selfextend::npy_array::from(std::span<const float>(v), {2, 3}));
  EXPECT_EQ("q = q.npy: is not a .npy file (bad magic)", error_of("PK\x03\x04 not numpy"));
  EXPECT_EQ("q = q.npy: is not a .npy file (bad magic)", error_of(""));
  std::string v3 = good;
  v3[6] = 3;
  EXPECT_EQ("q = q.npy: .npy format 3.0 is not supported (1.0 or 2.0 only)", error_of(v3));
  EXPECT_EQ("q = q.npy: is truncated: shape (2, 3) of <f4 needs 24 data bytes, the file has 20",
            error_of(good.substr(0, good.size() - 4)));
  EXPECT_EQ("q = q.npy: has trailing bytes: shape (2, 3) of <f4 needs 24 data bytes, the file has 25", error_of(good + "x"));
  EXPECT_EQ("q = q.npy: is truncated inside the .npy header", error_of(good.substr(0, 40)));
  auto with_dict = [&](const std::string& dict) {
    std::string s = "\x93NUMPY";
    s.push_back(1);
    s.push_back(0);
    s.push_back(static_cast<char>(dict.size()));
    s.push_back(0);
    return s + dict;
  };
  EXPECT_EQ("q = q.npy: dtype >f4 is not supported (little-endian <f4, <f8, <i4, <i8 only)",
            error_of(with_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (0,), }\n")));
  EXPECT_EQ("q = q.npy: dtype <f2 is not supported (little-endian <f4, <f8, <i4, <i8 only)",
            error_of(with_dict("{'descr': '<f2', 'fortran_order': False, 'shape': (0,), }\n")));
  EXPECT_EQ("q = q.npy: Fortran order is not supported (save a C-contiguous array)",
            error_of(with_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (0,), }\n")));
  EXPECT_EQ("q = q.npy: shape (4294967296, 4294967296) is too large",
            error_of(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n")));
  EXPECT_EQ("q = q.npy: shape dimension does not fit in 64 bits",
            error_of(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }\n")));
  EXPECT_EQ("q = q.npy: malformed .npy header: descr, fortran_order and shape are all required",
            error_of(with_dict("{'descr': '<f8', 'shape': (0,), }\n")));
  EXPECT_EQ("q = q.npy: malformed .npy header: unknown key 'order'",
            error_of(with_dict("{'descr': '<f8', 'order': 1}\n")));
  EXPECT_EQ("q = q.npy: malformed .npy header: shape must be a tuple of non-negative integers",
            error_of(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }\n")));
}

TEST(NpyTest, WriteIsAtomicAndReadBackEqual) {
  const auto path = temp_dir() / "roundtrip.npy";
  std::filesystem::remove(path);
  const std::vector<double> v = {0.5, -1.25, 3.0};
  const auto a = selfextend::npy_array::from(std::span<const double>(v), {3});
  selfextend::write_npy(path, a);
  EXPECT_EQ(a, selfextend::read_npy(path, "q"));
  for (const auto& entry : std::filesystem::directory_iterator(temp_dir()))
    EXPECT_EQ(std::string::npos, entry.path().filename().string().find(".tmp-")) << "temporary file left behind";
  EXPECT_THROW((void)selfextend::read_npy(temp_dir(), "q"), selfextend::invalid_params);
  EXPECT_THROW((void)selfextend::read_npy(temp_dir() / "missing.npy", "q"), selfextend::invalid_params);
  EXPECT_THROW(selfextend::write_npy(temp_dir() / "no_such_dir" / "x.npy", a), std::runtime_error);
}

#ifdef PLANNER_SYSTEM_PYTHON
TEST(NpyTest, InteroperatesWithNumpy) {
  // NumPy writes files in both format versions; we read them, then NumPy reads ours.
  const auto dir = temp_dir();
  const std::string script = R"(
import numpy as np, sys
d = sys.argv[1]
np.save(d + '/np_f4.npy', np.arange(12, dtype='<f4').reshape(3, 4) / 3)
np.save(d + '/np_i8.npy', np.arange(-5, 5, dtype='<i8'))
from numpy.lib import format as fmt
with open(d + '/np_v2.npy', 'wb') as f:
    fmt.write_array(f, np.ones((2, 2), dtype='<f8'), version=(2, 0))
ours = np.load(d + '/ours.npy')
assert ours.dtype == np.dtype('<i4') and ours.shape == (2, 3), (ours.dtype, ours.shape)
assert (ours == np.array([[1, 2, 3], [4, 5, -6]])).all(), ours
)";
  std::ofstream(dir / "interop.py") << script;
  const std::vector<std::int32_t> v = {1, 2, 3, 4, 5, -6};
  selfextend::write_npy(dir / "ours.npy", selfextend::npy_array::from(std::span<const std::int32_t>(v), {2, 3}));
  const std::string cmd = std::string(PLANNER_SYSTEM_PYTHON) + " " + (dir / "interop.py").string() + " " + dir.string();
  ASSERT_EQ(0, std::system(cmd.c_str())) << cmd;
  const auto f4 = selfextend::read_npy(dir / "np_f4.npy", "q");
  EXPECT_EQ(selfextend::npy_dtype::f4, f4.dtype);
  EXPECT_EQ((std::vector<std::int64_t>{3, 4}), f4.shape);
  EXPECT_FLOAT_EQ(11.0f / 3.0f, f4.to_floats()[11]);
  EXPECT_EQ((std::vector<std::int64_t>{-5, -4, -3, -2, -1, 0, 1, 2, 3, 4}), selfextend::read_npy(dir / "np_i8.npy", "q").to_int64());
  EXPECT_EQ((std::vector<double>{1, 1, 1, 1}), selfextend::read_npy(dir / "np_v2.npy", "q").to_doubles());
}
#endif
