// json_attention.cpp - serialisation of verification results; key names are the JSON contract (docs/json.md).
#include "json_attention.hpp"

#include <cmath>

#include <boost/json.hpp>

namespace sxplan {

boost::json::object to_json(const selfextend::verification& v) {
  boost::json::object o;
  // JSON has no infinity: a candidate with NaN/inf reports null errors (and passed = false).
  const auto real = [](double x) { return std::isfinite(x) ? boost::json::value(x) : boost::json::value(nullptr); };
  o["max_abs_error"] = real(v.max_abs_error);
  o["max_rel_error"] = real(v.max_rel_error);
  o["nmse"] = real(v.nmse);
  o["worst"] = boost::json::object{{"head", v.worst.head}, {"token", v.worst.token}, {"dim", v.worst.dim}};
  o["worst_candidate"] = real(v.worst_candidate);
  o["worst_reference"] = v.worst_reference;
  o["mismatches"] = v.mismatches;
  o["elements"] = v.elements;
  o["passed"] = v.passed;
  return o;
}

}  // namespace sxplan
