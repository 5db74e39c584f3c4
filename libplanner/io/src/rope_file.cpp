// rope_file.cpp - inverse frequencies and cos/sin tables as .npy / .safetensors (rope_file.hpp).
#include <selfextend/rope_file.hpp>

#include <string>

#include <selfextend/npy.hpp>
#include <selfextend/safetensors.hpp>
#include <selfextend/version.hpp>

#include "text.hpp"

namespace selfextend {

std::vector<table_array_info> write_rope_file(const std::filesystem::path& path, const rope_frequencies& f,
                                              const rope_file_request& r) {
  const std::string ext = path.extension().string();
  if (ext != ".npy" && ext != ".safetensors")
    throw invalid_params("output", path.string(),
                         "must end in .npy (inv_freq) or .safetensors (inv_freq and the cos/sin table)");
  const bool safetensors = ext == ".safetensors";
  if (r.positions_plan && !safetensors)
    throw invalid_params("output", path.string(),
                         "must be .safetensors with --positions-for: an .npy file holds one array (inv_freq)");
  std::optional<rope_angle_table> table;
  if (r.positions_plan) table = plan_rope_angles(f, *r.positions_plan, r.positions_tokens, r.limit_bytes, r.force);

  const auto pairs = static_cast<std::int64_t>(f.inv_freq.size());
  const npy_array inv_freq = npy_array::from(std::span<const double>(f.inv_freq), {pairs});
  std::vector<table_array_info> written = {{"inv_freq", "float64", {pairs}}};
  if (!safetensors) {
    write_npy(path, inv_freq);
    return written;
  }
  safetensors_file file;
  file.tensors["inv_freq"] = inv_freq;
  file.metadata = {{"rope_type", std::string(to_string(f.type))},
                   {"attention_factor", detail::real_text(f.attention_factor)},
                   {"rope_theta", detail::real_text(r.rule.theta)},
                   {"rotary_dims", std::to_string(r.rule.rotary_dims)},
                   {"rope_style", std::string(to_string(r.style))},
                   {"tokens", std::to_string(r.tokens)},
                   {"planner_version", std::string(version_string)}};
  if (table) {
    const auto p = static_cast<std::int64_t>(table->positions.size());
    file.tensors["positions"] = npy_array::from(std::span<const double>(table->positions), {p});
    file.tensors["cos"] = npy_array::from(std::span<const double>(table->cos), {p, pairs});
    file.tensors["sin"] = npy_array::from(std::span<const double>(table->sin), {p, pairs});
    file.metadata["positions_for"] = std::to_string(r.positions_plan->group) + "," +
                                     std::to_string(r.positions_plan->window) + "," + std::to_string(r.positions_tokens);
    file.metadata["shift"] = std::string(to_string(r.positions_plan->shift));
    written.push_back({"positions", "float64", {p}});
    written.push_back({"cos", "float64", {p, pairs}});
    written.push_back({"sin", "float64", {p, pairs}});
  }
  write_safetensors(path, file);
  return written;
}

}  // namespace selfextend
