// kernel_tolerances_test - the tolerance table of the tests equals docs/kernels.md's, row by row,
// and verify's default tolerance is the documented one.
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <selfextend/attention.hpp>

#include "kernel_tolerances.hpp"

namespace {

/// Reads "A + B·" (A and B numbers such as 2e-5) out of a tolerance cell. Hand-parsed: GCC 12's
/// <regex> trips -Wmaybe-uninitialized inside libstdc++ in the sanitizer build (warnings are errors).
bool read_bound(const std::string& cell, double& atol, double& rtol) {
  constexpr std::string_view number_chars = "0123456789.e-";
  const std::size_t plus = cell.find(" + ");
  if (plus == std::string::npos || plus == 0) return false;
  const std::size_t dot = cell.find("\u00b7", plus);
  if (dot == std::string::npos) return false;
  std::size_t begin = plus;
  while (begin > 0 && number_chars.find(cell[begin - 1]) != std::string_view::npos) --begin;
  const std::string a = cell.substr(begin, plus - begin);
  const std::string b = cell.substr(plus + 3, dot - plus - 3);
  const auto is_number = [&](const std::string& t) {
    return !t.empty() && t.find('e') != std::string::npos && t.find_first_not_of(number_chars) == std::string::npos;
  };
  if (!is_number(a) || !is_number(b)) return false;
  atol = std::stod(a);
  rtol = std::stod(b);
  return true;
}

struct doc_row {
  std::string comparison;
  double atol = 0;
  double rtol = 0;
};

/// The rows of the "Tolerances and why" table: first cell, and the a + b·|r| of the second
/// ("bit-identical" is 0 + 0).
std::vector<doc_row> documented_rows() {
  std::ifstream in(std::string(PLANNER_TESTS_SOURCE_DIR) + "/../docs/kernels.md");
  std::string line;
  bool in_section = false;
  std::vector<doc_row> rows;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Tolerances and why";
    if (!in_section || line.rfind("| ", 0) != 0 || line.rfind("| comparison", 0) == 0) continue;
    // Cells are separated by " | "; an escaped \| inside a cell never has spaces on both sides.
    const std::size_t first_end = line.find(" | ", 2);
    const std::size_t second_end = line.find(" | ", first_end + 3);
    if (second_end == std::string::npos) {
      ADD_FAILURE() << "a row of docs/kernels.md's tolerance table without three cells: " << line;
      continue;
    }
    doc_row r;
    r.comparison = line.substr(2, first_end - 2);
    const std::string tolerance = line.substr(first_end + 3, second_end - first_end - 3);
    if (!read_bound(tolerance, r.atol, r.rtol)) {
      EXPECT_EQ("bit-identical", tolerance) << "unreadable tolerance in docs/kernels.md: " << line;
    }
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

TEST(KernelTolerancesTest, EqualDocsKernelsMdRowByRow) {
  const std::vector<doc_row> docs = documented_rows();
  ASSERT_EQ(kernel_tolerance::all.size(), docs.size()) << "docs/kernels.md and kernel_tolerances.hpp differ in rows";
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const kernel_tolerance::row& ours = kernel_tolerance::all[i];
    SCOPED_TRACE(docs[i].comparison);
    EXPECT_EQ(0u, docs[i].comparison.rfind(ours.comparison, 0)) << "row " << i << " is '" << ours.comparison << "' here";
    EXPECT_EQ(ours.atol, docs[i].atol);
    EXPECT_EQ(ours.rtol, docs[i].rtol);
  }
}

TEST(KernelTolerancesTest, VerifyDefaultIsTheDocumentedOne) {
  const selfextend::tolerance fallback;
  EXPECT_EQ(kernel_tolerance::verify_default.atol, fallback.atol);
  EXPECT_EQ(kernel_tolerance::verify_default.rtol, fallback.rtol);
}
