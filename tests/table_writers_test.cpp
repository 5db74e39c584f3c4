// table_writers_test - Unit tests for table_writers.hpp: every format's bytes, NumPy/safetensors
// interoperability, the C header compiling as C99 and C++, validation and atomic output.
#include <selfextend/table_writers.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <selfextend/npy.hpp>

#include "test_helpers.hpp"

using selfextend::plan;
using selfextend::shift_rule;
using selfextend::table_format;
using selfextend::table_layout;
using selfextend::table_phase;
using selfextend::table_request;

namespace {

std::filesystem::path temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / "sxplan_table_writers_test";
  std::filesystem::create_directories(dir);
  return dir;
}

std::string written(const table_request& r) {
  std::ostringstream out;
  (void)selfextend::write_position_table(out, r);
  return out.str();
}

table_request figure_three(table_format format, table_layout layout = table_layout::tokens,
                           table_phase phase = table_phase::prefill, shift_rule shift = shift_rule::integer) {
  return {plan{2, 4, shift}, 10, phase, layout, format};
}

}  // namespace

TEST(TableWritersTest, CsvTokensAndDense) {
  const std::string tokens = written({plan{2, 4}, 4, table_phase::prefill, table_layout::tokens, table_format::csv});
  EXPECT_EQ("neighbor_query_position,neighbor_key_position,group_query_position,group_key_position\n"
            "0,0,2,0\n1,1,2,0\n2,2,3,1\n3,3,3,1\n", tokens);
  const std::string dense = written({plan{2, 2}, 4, table_phase::prefill, table_layout::dense, table_format::csv});
  EXPECT_EQ("0,-1,-1,-1\n1,0,-1,-1\n2,1,0,-1\n2,2,1,0\n", dense);
  const std::string decode = written({plan{2, 2}, 4, table_phase::decode, table_layout::dense, table_format::csv});
  EXPECT_EQ("2,2,1,0\n", decode);
  const std::string fractional = written({plan{2, 3, shift_rule::fractional}, 3, table_phase::prefill, table_layout::tokens, table_format::csv});
  EXPECT_EQ("neighbor_query_position,neighbor_key_position,group_query_position,group_key_position\n"
            "0,0,1.5,0\n1,1,1.5,0\n2,2,2.5,1\n", fractional);
}

TEST(TableWritersTest, JsonIsTheEnvelopeWithArraysUnderResult) {
  const std::string json = written({plan{2, 2}, 3, table_phase::prefill, table_layout::dense, table_format::json});
  EXPECT_EQ(R"({
  "schema_version": 1,
  "planner_version": "0.1.0",
  "command": "table",
  "params": {
    "tokens": 3,
    "group": 2,
    "window": 2,
    "shift": "int",
    "phase": "prefill",
    "layout": "dense",
    "format": "json"
  },
  "result": {
    "fractional_offset": 0.0,
    "relative_position": [
      [0, -1, -1],
      [1, 0, -1],
      [2, 1, 0]
    ]
  },
  "warnings": []
}
)", json);
  const std::string tokens = written({plan{2, 3, shift_rule::fractional}, 2, table_phase::prefill, table_layout::tokens, table_format::json});
  EXPECT_NE(std::string::npos, tokens.find("\"fractional_offset\": 0.5,\n    \"neighbor_query_position\": [0, 1],\n"
                                           "    \"neighbor_key_position\": [0, 1],\n    \"group_query_position\": [1.5, 1.5],\n"
                                           "    \"group_key_position\": [0, 0]\n  },\n  \"warnings\": []\n}\n")) << tokens;
}

TEST(TableWritersTest, NpyTokensIsFourRowsAndDenseIsSquare) {
  const std::string image = written(figure_three(table_format::npy));
  std::vector<std::byte> bytes(image.size());
  std::memcpy(bytes.data(), image.data(), image.size());
  const auto a = selfextend::parse_npy(bytes, "o", "table.npy");
  EXPECT_EQ(selfextend::npy_dtype::i8, a.dtype);
  EXPECT_EQ((std::vector<std::int64_t>{4, 10}), a.shape);
  EXPECT_EQ((std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                       2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4}),
            a.to_int64());
  const std::string dense = written(figure_three(table_format::npy, table_layout::dense));
  std::vector<std::byte> dense_bytes(dense.size());
  std::memcpy(dense_bytes.data(), dense.data(), dense.size());
  const auto d = selfextend::parse_npy(dense_bytes, "o", "dense.npy");
  EXPECT_EQ((std::vector<std::int64_t>{10, 10}), d.shape);
  const auto v = d.to_int64();
  EXPECT_EQ((std::vector<std::int64_t>{6, 6, 5, 5, 4, 4, 3, 2, 1, 0}), std::vector<std::int64_t>(v.end() - 10, v.end()));
  EXPECT_EQ(-1, v[1]);
}

TEST(TableWritersTest, SafetensorsHeaderNamesEveryArray) {
  const std::string image = written(figure_three(table_format::safetensors));
  std::uint64_t length = 0;
  std::memcpy(&length, image.data(), 8);
  EXPECT_EQ(0u, (8 + length) % 8);
  const std::string header = image.substr(8, length);
  EXPECT_NE(std::string::npos, header.find(R"("group_query_position":{"dtype":"I64","shape":[10],"data_offsets":[160,240]})")) << header;
  EXPECT_EQ(8 + length + 4 * 10 * 8, image.size());
}

TEST(TableWritersTest, PerTokenTablesHaveASizeLimitAndByteCountsNeverWrap) {
  // 33,554,432 tokens = 1 GiB of [4, N] int64: the largest table written without force.
  table_request r{plan{8, 1024}, 33'554'432, table_phase::prefill, table_layout::tokens, table_format::npy};
  EXPECT_TRUE(selfextend::validate(r).empty());
  r.tokens += 1;
  EXPECT_EQ((std::vector<selfextend::issue>{{"tokens", "33554433",
                                             "the per-token [4, N] table would be 1.00 GiB (1073741856 bytes), above "
                                             "the limit of 1.00 GiB (1073741824 bytes); use `force` to go past it"}}),
            selfextend::validate(r));
  r.force = true;
  EXPECT_TRUE(selfextend::validate(r).empty());
  // INT64_MAX tokens: 32·N bytes cannot be counted in int64 (safetensors' data_offsets wrapped to
  // [0, -8] and the writer ran until the disk was full); refused even with force, before writing.
  for (const table_format f : {table_format::npy, table_format::safetensors, table_format::csv, table_format::json}) {
    const table_request huge{plan{2, 1}, INT64_MAX, table_phase::prefill, table_layout::tokens, f, selfextend::default_dense_limit_bytes, true};
    EXPECT_EQ((std::vector<selfextend::issue>{{"tokens", "9223372036854775807",
                                               "the table would need more than 2^63 - 1 bytes, more than any file can hold"}}),
              selfextend::validate(huge));
    std::ostringstream out;
    EXPECT_THROW((void)selfextend::write_position_table(out, huge), selfextend::invalid_params);
    EXPECT_TRUE(out.str().empty());
  }
  const table_request dense{plan{2, 1}, 5'000'000'000, table_phase::prefill, table_layout::dense, table_format::npy,
                            selfextend::default_dense_limit_bytes, true};
  EXPECT_EQ(1u, selfextend::validate(dense).size());
}

TEST(TableWritersTest, ValidationNamesTheRule) {
  table_request big{plan{2, 4}, 20000, table_phase::prefill, table_layout::dense, table_format::npy};
  EXPECT_THROW_MSG((void)written(big), selfextend::invalid_params,
                   "tokens = 20000: the dense [N, N] table would be 2.98 GiB (3200000000 bytes), above the limit of "
                   "1.00 GiB (1073741824 bytes); use `force` to write it anyway");
  big.phase = table_phase::decode;
  EXPECT_TRUE(selfextend::validate(big).empty());
  table_request c{plan{1, 4}, 3'000'000'000, table_phase::prefill, table_layout::tokens, table_format::c_header};
  c.force = true;  // past the per-token size limit, to reach the int32_t rule
  EXPECT_EQ((std::vector<selfextend::issue>{{"tokens", "3000000000",
                                             "positions up to 2999999999 do not fit the C header's int32_t (use npy or safetensors)"}}),
            selfextend::validate(c));
  EXPECT_EQ((std::vector<selfextend::issue>{{"group", "0", "must be at least 1"}}),
            selfextend::validate(table_request{plan{0, 4}, 3}));
}

TEST(TableWritersTest, FailedWriteLeavesNoFile) {
  const auto dir = temp_dir() / "atomic";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  EXPECT_THROW((void)selfextend::write_position_table(dir / "missing" / "t.npy", figure_three(table_format::npy)), std::runtime_error);
  table_request big{plan{2, 4}, 20000, table_phase::prefill, table_layout::dense, table_format::npy};
  EXPECT_THROW((void)selfextend::write_position_table(dir / "big.npy", big), selfextend::invalid_params);
  // A progress callback that throws half-way (an interruption) must not leave a partial file.
  const table_request r{plan{2, 4}, 200000, table_phase::prefill, table_layout::tokens, table_format::csv};
  EXPECT_THROW((void)selfextend::write_position_table(dir / "t.csv", r,
                                                      [](std::int64_t done, std::int64_t) {
                                                        if (done > 100000) throw std::runtime_error("interrupted");
                                                      }),
               std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "partial or temporary file left behind";
  const auto summary = selfextend::write_position_table(dir / "t.npy", figure_three(table_format::npy));
  EXPECT_EQ(static_cast<std::int64_t>(std::filesystem::file_size(dir / "t.npy")), summary.bytes);
  EXPECT_EQ((std::vector<selfextend::table_array_info>{{"positions", "int64", {4, 10}}}), summary.arrays);
}

TEST(TableWritersTest, FormatAndLayoutNames) {
  EXPECT_EQ(table_format::c_header, selfextend::parse_table_format("c-header"));
  EXPECT_FALSE(selfextend::parse_table_format("hdf5"));
  EXPECT_EQ(table_format::safetensors, selfextend::format_for_extension("a/b.safetensors"));
  EXPECT_EQ(table_format::c_header, selfextend::format_for_extension("se.h"));
  EXPECT_FALSE(selfextend::format_for_extension("se.txt"));
  EXPECT_EQ(table_layout::dense, selfextend::parse_table_layout("dense"));
  EXPECT_EQ("tokens", selfextend::to_string(table_layout::tokens));
}

#if defined(PLANNER_C_COMPILER) && defined(PLANNER_CXX_COMPILER)
TEST(TableWritersTest, CHeaderCompilesAsC99AndCxxWithTheRightValues) {
  const auto dir = temp_dir() / "c_header";
  std::filesystem::create_directories(dir);
  (void)selfextend::write_position_table(dir / "tokens.h", figure_three(table_format::c_header, table_layout::tokens, table_phase::prefill, shift_rule::fractional));
  (void)selfextend::write_position_table(dir / "dense.h", figure_three(table_format::c_header, table_layout::dense));
  std::ofstream(dir / "use_tokens.c") << R"(#include "tokens.h"
int main(void) {
  int bad = 0;
  int i;
  bad |= SELFEXTEND_GROUP != 2 || SELFEXTEND_WINDOW != 4 || SELFEXTEND_TOKENS != 10 || SELFEXTEND_FRACTIONAL_SHIFT != 1;
  for (i = 0; i < SELFEXTEND_TOKENS; ++i) {
    bad |= selfextend_neighbor_query_position[i] != i || selfextend_neighbor_key_position[i] != i;
    bad |= selfextend_group_query_position[i] != (double)(i / 2 + 2);
    bad |= selfextend_group_key_position[i] != i / 2;
  }
  return bad;
}
)";
  std::ofstream(dir / "use_dense.c") << R"(#include "dense.h"
int main(void) {
  int bad = 0;
  bad |= selfextend_relative_position[9][0] != 6 || selfextend_relative_position[0][1] != -1;
  bad |= selfextend_relative_position[5][1] != 4 || selfextend_relative_position[5][2] != 3;
  return bad;
}
)";
  // W = 4, G = 2: W mod G = 0, so the float shift's doubles are whole numbers.
  for (const std::string source : {"use_tokens", "use_dense"})
    for (const std::string& compile :
         {std::string(PLANNER_C_COMPILER) + " -std=c99 -pedantic -Wall -Wextra -Werror -x c",
          std::string(PLANNER_CXX_COMPILER) + " -std=c++17 -pedantic -Wall -Wextra -Werror -x c++"}) {
      const std::string exe = (dir / source).string();
      const std::string cmd = compile + " " + exe + ".c -o " + exe + " && " + exe;
      EXPECT_EQ(0, std::system(cmd.c_str())) << cmd;
    }
}
#endif

#ifdef PLANNER_SYSTEM_PYTHON
TEST(TableWritersTest, NumpyLoadsNpyAndSafetensorsWithTheRightValues) {
  const auto dir = temp_dir() / "numpy";
  std::filesystem::create_directories(dir);
  const table_request base{plan{3, 7, shift_rule::fractional}, 50, table_phase::prefill, table_layout::tokens, table_format::npy};
  table_request r = base;
  (void)selfextend::write_position_table(dir / "tokens_float.npy", r);
  r.extension.shift = shift_rule::integer;
  (void)selfextend::write_position_table(dir / "tokens_int.npy", r);
  r.layout = table_layout::dense;
  (void)selfextend::write_position_table(dir / "dense.npy", r);
  r.phase = table_phase::decode;
  (void)selfextend::write_position_table(dir / "decode.npy", r);
  r = base;
  r.format = table_format::safetensors;
  (void)selfextend::write_position_table(dir / "tokens.safetensors", r);
  r.layout = table_layout::dense;
  (void)selfextend::write_position_table(dir / "dense.safetensors", r);
  // Plain-Python safetensors reading (Debian has no safetensors package): 8-byte little-endian
  // header length, JSON header, raw little-endian data at data_offsets.
  std::ofstream(dir / "check.py") << R"(
import json, struct, sys
import numpy as np
d = sys.argv[1]
G, W, N = 3, 7, 50
f = (W % G) / G
t = np.arange(N)
nq, nk, gk = t, t, t // G
gq = t // G + W - W // G
def brute(i, j, shift):
    if j > i: return -1
    if i - j < W: return i - j
    return (gq[i] - gk[j]) - shift
dense = np.array([[brute(i, j, 0) for j in range(N)] for i in range(N)])
dense_f = np.array([[brute(i, j, f) for j in range(N)] for i in range(N)], dtype=np.float64)

a = np.load(d + '/tokens_int.npy')
assert a.dtype == np.int64 and a.shape == (4, N), (a.dtype, a.shape)
assert (a == np.stack([nq, nk, gq, gk])).all()
a = np.load(d + '/tokens_float.npy')
assert a.dtype == np.float64 and a.shape == (4, N)
assert (a == np.stack([nq, nk, gq - f, gk]).astype(np.float64)).all()
a = np.load(d + '/dense.npy')
assert a.dtype == np.int64 and a.shape == (N, N) and (a == dense).all()
a = np.load(d + '/decode.npy')
assert a.shape == (N,) and (a == dense[N - 1]).all()

def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    types = {'I64': '<i8', 'F64': '<f8', 'I32': '<i4', 'F32': '<f4'}
    out = {}
    for name, info in header.items():
        if name == '__metadata__': continue
        b, e = info['data_offsets']
        out[name] = np.frombuffer(data[b:e], dtype=types[info['dtype']]).reshape(info['shape'])
    return header, out

h, t4 = load_safetensors(d + '/tokens.safetensors')
assert h['__metadata__']['group'] == '3' and h['__metadata__']['shift'] == 'float'
assert t4['neighbor_query_position'].dtype == np.int64 and (t4['neighbor_query_position'] == nq).all()
assert (t4['neighbor_key_position'] == nk).all() and (t4['group_key_position'] == gk).all()
assert t4['group_query_position'].dtype == np.float64 and (t4['group_query_position'] == gq - f).all()
h, dd = load_safetensors(d + '/dense.safetensors')
assert dd['relative_position'].shape == (N, N) and (dd['relative_position'] == dense_f).all()
)";
  const std::string cmd = std::string(PLANNER_SYSTEM_PYTHON) + " " + (dir / "check.py").string() + " " + dir.string();
  EXPECT_EQ(0, std::system(cmd.c_str())) << cmd;
}
#endif

namespace {

table_request method_table(const selfextend::method_params& m, std::int64_t tokens, table_layout layout, table_format format) {
  table_request r{plan{}, tokens, table_phase::prefill, layout, format};
  r.method = m;
  return r;
}

}  // namespace

TEST(TableWritersTest, OtherMethodsWriteTwoArraysPerBranchAndTheirDenseMap) {
  // DCA c = 5, w = 1: chunks of s = 4; keys at t mod 4; the query at t mod 4 (own chunk),
  // min(t mod 4 + 4, 5) (previous chunk) and 5 (further back), worked out by hand.
  selfextend::method_params dca;
  dca.kind = selfextend::method_kind::dca;
  dca.chunk_size = 5;
  dca.local_window = 1;
  EXPECT_EQ("intra_query_position,intra_key_position,successive_query_position,successive_key_position,"
            "inter_query_position,inter_key_position\n"
            "0,0,4,0,5,0\n1,1,5,1,5,1\n2,2,5,2,5,2\n3,3,5,3,5,3\n0,0,4,0,5,0\n1,1,5,1,5,1\n",
            written(method_table(dca, 6, table_layout::tokens, table_format::csv)));
  // StreamingLLM S = 1, R = 2: from query 4 on, the sink sits at S + R - 0 = 3 and the keys
  // between it and the recent window are not attended (-2).
  selfextend::method_params streaming;
  streaming.kind = selfextend::method_kind::streaming;
  streaming.start_size = 1;
  streaming.recent_size = 2;
  EXPECT_EQ("0,-1,-1,-1,-1,-1\n1,0,-1,-1,-1,-1\n2,1,0,-1,-1,-1\n3,2,1,0,-1,-1\n3,-2,2,1,0,-1\n3,-2,-2,2,1,0\n",
            written(method_table(streaming, 6, table_layout::dense, table_format::csv)));
  // Leaky ReRoPE w = 2, k = 2: real positions, so every array is float64; far query t/2 + 1, key t/2.
  selfextend::method_params leaky;
  leaky.kind = selfextend::method_kind::leaky_rerope;
  leaky.window = 2;
  leaky.leak = 2;
  EXPECT_EQ("near_query_position,near_key_position,far_query_position,far_key_position\n"
            "0.0,0.0,1.0,0.0\n1.0,1.0,1.5,0.5\n2.0,2.0,2.0,1.0\n",
            written(method_table(leaky, 3, table_layout::tokens, table_format::csv)));
  // The .npy stacks the arrays: [6, N] for DCA; JSON params name the method and its keys.
  const std::string npy_bytes = written(method_table(dca, 6, table_layout::tokens, table_format::npy));
  const selfextend::npy_array npy = selfextend::parse_npy(
      std::as_bytes(std::span<const char>(npy_bytes.data(), npy_bytes.size())), "npy", "memory");
  EXPECT_EQ(npy.shape, (std::vector<std::int64_t>{6, 6}));
  const std::string json = written(method_table(dca, 2, table_layout::tokens, table_format::json));
  EXPECT_NE(json.find(R"("params": {
    "tokens": 2,
    "method": "dca",
    "method_parameters": {
      "method": "dca",
      "chunk_size": 5,
      "local_window": 1
    },
    "phase": "prefill")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("result": {
    "intra_query_position": [0, 1],)"), std::string::npos) << json;
  const std::string header = written(method_table(dca, 2, table_layout::tokens, table_format::c_header));
  EXPECT_NE(header.find("#define SELFEXTEND_METHOD \"dca\"\n#define SELFEXTEND_CHUNK_SIZE 5\n#define SELFEXTEND_LOCAL_WINDOW 1\n"),
            std::string::npos) << header;
  // The size limit counts the method's own arrays: 6 of 8 bytes per token for DCA.
  table_request big = method_table(dca, 1 << 20, table_layout::tokens, table_format::npy);
  EXPECT_EQ(selfextend::token_table_bytes(big), 48 << 20);
  big.limit_bytes = 47 << 20;
  ASSERT_EQ(selfextend::validate(big).size(), 1U);
  EXPECT_NE(selfextend::validate(big)[0].rule.find("[6, N]"), std::string::npos);
  // An invalid method is refused naming its key.
  dca.local_window = 3;
  ASSERT_FALSE(selfextend::validate(method_table(dca, 4, table_layout::tokens, table_format::csv)).empty());
  EXPECT_EQ(selfextend::validate(method_table(dca, 4, table_layout::tokens, table_format::csv))[0].key, "local_window");
}
