// json_writer_test - Unit tests for json_writer.hpp: the envelope's keys and order, the writer's
// layout (reals keep a '.', number arrays on one line, escapes), and the streamed envelope text
// agreeing byte for byte with the whole document.
#include <selfextend/json_writer.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include <selfextend/table_writers.hpp>
#include <selfextend/version.hpp>

#include "test_helpers.hpp"

namespace json = boost::json;

namespace {

std::string written(const json::value& v) {
  std::ostringstream out;
  selfextend::write_json(out, v);
  return out.str();
}

std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& member : o) keys.emplace_back(member.key());
  return keys;
}

}  // namespace

TEST(JsonEnvelope, HoldsTheSixKeysInOrder) {
  const json::object doc = selfextend::json_envelope("check", {{"tokens", 5}}, json::object{{"fits", true}});
  EXPECT_EQ(keys_of(doc),
            (std::vector<std::string>{"schema_version", "planner_version", "command", "params", "result", "warnings"}));
  EXPECT_TRUE(doc.at("warnings").as_array().empty());
  const std::vector<std::string> warnings = {"a", "b"};
  const json::object with = selfextend::json_envelope("check", {}, nullptr, warnings);
  ASSERT_EQ(2u, with.at("warnings").as_array().size());
  EXPECT_EQ("b", with.at("warnings").as_array()[1].as_string());
  EXPECT_EQ(doc.at("schema_version").as_int64(), selfextend::json_schema_version);
  EXPECT_EQ(doc.at("planner_version").as_string(), selfextend::version_string);
  EXPECT_EQ(doc.at("command").as_string(), "check");
  EXPECT_EQ(doc.at("params").as_object().at("tokens").as_int64(), 5);
  EXPECT_TRUE(doc.at("result").as_object().at("fits").as_bool());
}

TEST(JsonWriter, LaysOutDeterministically) {
  const json::value v = json::object{{"real", 3.0},
                                     {"small", 2.5e-7},
                                     {"numbers", json::array{1, 2.0, nullptr, true}},
                                     {"rows", json::array{json::array{1, 2}, json::array{}}},
                                     {"text", "a\"b\\c\n\x01"},
                                     {"empty", json::object{}},
                                     {"nan", std::nan("")}};
  EXPECT_EQ(written(v), R"({
  "real": 3.0,
  "small": 2.5e-07,
  "numbers": [1, 2.0, null, true],
  "rows": [
    [1, 2],
    []
  ],
  "text": "a\"b\\c\n\u0001",
  "empty": {},
  "nan": null
}
)");
}

TEST(JsonEnvelope, TextAroundAStreamedResultEqualsTheWholeDocument) {
  const json::object params{{"tokens", 3}, {"shift", "int"}};
  const selfextend::json_envelope_text frame = selfextend::json_envelope_around_result("table", params);
  const std::string streamed = frame.before_result + "{\n    \"values\": [0, 1, 2]\n  }" + frame.after_result;
  EXPECT_EQ(streamed, written(selfextend::json_envelope("table", params, json::object{{"values", json::array{0, 1, 2}}})));
}

TEST(JsonEnvelope, TableFilesShareIt) {
  selfextend::table_request r;
  r.extension = {2, 2};
  r.tokens = 3;
  r.format = selfextend::table_format::json;
  std::ostringstream out;
  (void)selfextend::write_position_table(out, r);
  const json::object doc = json::parse(out.str()).as_object();
  EXPECT_EQ(keys_of(doc), keys_of(selfextend::json_envelope("x", {}, nullptr)));
  EXPECT_EQ(doc.at("command").as_string(), selfextend::table_document_command);
  // Written again by write_json, the streamed file is unchanged: one layout.
  EXPECT_EQ(written(doc), out.str());
}
