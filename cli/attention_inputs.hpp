// attention_inputs.hpp - what `sxplan attend` and `sxplan verify` share: the kernel options, reading
// q, k, v from .npy files, the params echo, and progress on stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>
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
  selfextend::method_params method;  ///< --method and its parameters (Self-Extend: params.extension)
  selfextend::attention_kernel kernel = selfextend::attention_kernel::tiled;  ///< float (tiled) or double data
  std::string q_path, k_path, v_path;
  selfextend::npy_file_header q_header, k_header, v_header;
  std::optional<rope_choice> model_rope;  ///< --model/--config/--gguf: the model's rule
  std::string inv_freq_path;               ///< --inv-freq, when given
  selfextend::npy_dtype q_dtype = selfextend::npy_dtype::f4;  ///< the output's dtype
  std::vector<float> q, k, v;          ///< filled by read_attention_data for the tiled kernel
  std::vector<double> qd, kd, vd;      ///< filled otherwise
};

/// Every rule of `p` that needs no tensor, checked on a stand-in shape before any tensor is read
/// (rotary_dims' and inv_freq's counts need head_dim), and the model's rule. Throws invalid_params.
/// Shared by `sxplan attend/verify` and the Python module.
void require_valid_before_shape(const selfextend::attention_params& p, const std::optional<rope_choice>& model_rope);

/// Once p.shape is known: the model's head_dim against q's (`q_source` names q in the message), the
/// model's rule evaluated for the number of keys (the length-dependent rules), then every rule.
void complete_attention_params(selfextend::attention_params& p, const std::optional<rope_choice>& model_rope,
                               const std::string& q_source);

/// Reads the options and the three files' headers: each must be <f4 or <f8, [H, N, D] or [N, D],
/// the shapes must fit together and `kernel`'s working memory must pass the guard (unless --force),
/// all before any data is read (the guard skipped when !check_memory, for callers whose kernel
/// needs less). Throws invalid_params naming the flag.
attention_inputs read_attention_headers(const po::variables_map& vm, selfextend::attention_kernel kernel,
                                        bool check_memory = true);

/// Reads the data of the three files (float for the tiled kernel, double otherwise); each must be finite.
void read_attention_data(attention_inputs& in);

/// Reads the header of a float .npy (f4 or f8) for `key`; integer dtypes are rejected.
selfextend::npy_file_header read_float_npy_header(const po::variables_map& vm, const std::string& key);

/// The rule an attention tensor of another dtype breaks ("dtype <i4 is not supported here ..."),
/// `dtype` spelled as NumPy does ("<i4", ">f4", "<f2"). The CLI and the Python module share it.
std::string unsupported_dtype_rule(const std::string& dtype);

/// The echo of every resolved kernel input (paths, plan, RoPE, shape, threads, force).
boost::json::object echo_attention(const attention_inputs& in);

/// One line describing the run for people: shape, plan and RoPE.
std::string describe_attention(const attention_inputs& in);

/// A progress callback drawing a percentage on stderr when stderr is a terminal, else nothing.
selfextend::progress_callback terminal_progress(const invocation& inv);

/// A real in scientific notation for people: 1.23e-06.
std::string scientific(double value);

/// The warnings of the model the RoPE came from, named by --model/--config/--gguf (none without
/// one): the JSON's warnings[] and the text's "warning:" lines alike.
std::vector<std::string> model_warnings(const attention_inputs& in);

}  // namespace sxplan
