// attention_inputs.hpp - what `sxplan attend` and `sxplan verify` share: the kernel options, reading
// q, k, v from .npy files, the params echo, and progress on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <selfextend/attention.hpp>
#include <selfextend/npy.hpp>

#include "cli_common.hpp"
#include "rope_options.hpp"

namespace sxplan {

/// Adds --q, --k, --v, --group, --window, --shift, --rope-theta, --rope-style, --rotary-dims,
/// --model, --config, --gguf, --inv-freq, --attention-factor, --scale-base, --threads, --force.
void add_attention_options(po::options_description& options);

/// q, k, v as read, with the resolved kernel parameters.
struct attention_inputs {
  selfextend::attention_params params;
  std::string q_path, k_path, v_path;
  std::optional<rope_choice> model_rope;  ///< --model/--config/--gguf: the model's rule
  std::string inv_freq_path;               ///< --inv-freq, when given
  selfextend::npy_dtype q_dtype = selfextend::npy_dtype::f4;  ///< the output's dtype
  std::vector<float> q, k, v;          ///< filled by load_attention_inputs(vm, single precision)
  std::vector<double> qd, kd, vd;      ///< filled otherwise
};

/// Reads the options and the three files: each must be <f4 or <f8, [H, N, D] or [N, D], finite.
/// `single` selects which vectors get filled. Throws invalid_params naming the flag.
attention_inputs load_attention_inputs(const po::variables_map& vm, bool single);

/// Reads a float .npy (f4 or f8) for `key`; integer dtypes are rejected.
selfextend::npy_array read_float_npy(const po::variables_map& vm, const std::string& key);

/// The echo of every resolved kernel input (paths, plan, RoPE, shape, threads, force).
boost::json::object echo_attention(const attention_inputs& in);

/// One line describing the run for people: shape, plan and RoPE.
std::string describe_attention(const attention_inputs& in);

/// A progress callback drawing a percentage on stderr when stderr is a terminal, else nothing.
selfextend::progress_callback terminal_progress(const invocation& inv);

/// A real in scientific notation for people: 1.23e-06.
std::string scientific(double value);

/// The warnings of the model named by --model/--config/--gguf (none without one).
inline std::vector<std::string> model_warnings(const attention_inputs& in) {
  return in.model_rope && in.model_rope->model ? in.model_rope->model->model.warnings : std::vector<std::string>{};
}

}  // namespace sxplan
