#include "htp/optimizer/verify.h"

#include "htp/onnxio/error.h"
#include "htp/optimizer/evaluator.h"
#include "htp/optimizer/tensor_proto.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

namespace htp::optimizer {
namespace {

const onnx::TypeProto::Tensor& tensor_type(const onnx::ValueInfoProto& value, const char* what) {
  if (!value.type().has_tensor_type()) throw Error(std::string(what) + " '" + value.name() + "' is not a tensor");
  return value.type().tensor_type();
}

std::map<std::string, const onnx::ValueInfoProto*> by_name(const std::vector<const onnx::ValueInfoProto*>& values) {
  std::map<std::string, const onnx::ValueInfoProto*> result;
  for (const auto* value : values) result[value->name()] = value;
  return result;
}

// Same names, element types, ranks and static sizes (a static size against a symbolic one is fine).
void check_same_interface(const char* what, const std::vector<const onnx::ValueInfoProto*>& a,
                          const std::vector<const onnx::ValueInfoProto*>& b) {
  auto a_by_name = by_name(a);
  auto b_by_name = by_name(b);
  for (const auto& [name, value] : a_by_name) {
    if (!b_by_name.count(name)) throw Error(std::string(what) + " '" + name + "' is only in the first model");
  }
  for (const auto& [name, value] : b_by_name) {
    auto it = a_by_name.find(name);
    if (it == a_by_name.end()) throw Error(std::string(what) + " '" + name + "' is only in the second model");
    const auto& ta = tensor_type(*it->second, what);
    const auto& tb = tensor_type(*value, what);
    if (ta.elem_type() != tb.elem_type()) {
      throw Error(std::string(what) + " '" + name + "' is " + onnx_type_name(ta.elem_type()) + " in the first model, " +
                  onnx_type_name(tb.elem_type()) + " in the second");
    }
    if (!ta.has_shape() || !tb.has_shape()) continue;
    if (ta.shape().dim_size() != tb.shape().dim_size()) {
      throw Error(std::string(what) + " '" + name + "' has rank " + std::to_string(ta.shape().dim_size()) +
                  " in the first model, " + std::to_string(tb.shape().dim_size()) + " in the second");
    }
    for (int d = 0; d < ta.shape().dim_size(); ++d) {
      const auto& da = ta.shape().dim(d);
      const auto& db = tb.shape().dim(d);
      if (da.has_dim_value() && db.has_dim_value() && da.dim_value() != db.dim_value()) {
        throw Error(std::string(what) + " '" + name + "' has size " + std::to_string(da.dim_value()) + " at dim " +
                    std::to_string(d) + " in the first model, " + std::to_string(db.dim_value()) + " in the second");
      }
    }
  }
}

std::vector<const onnx::ValueInfoProto*> graph_outputs(const onnx::GraphProto& graph) {
  std::vector<const onnx::ValueInfoProto*> outputs;
  for (const auto& output : graph.output()) outputs.push_back(&output);
  return outputs;
}

at::Tensor random_tensor(const std::vector<int64_t>& shape, at::ScalarType dtype, at::Generator& generator) {
  if (dtype == at::kBool) return at::ones(shape, at::kBool);
  if (at::isFloatingType(dtype)) return at::randn(shape, generator, at::kFloat).to(dtype);
  return at::randint(0, 2, shape, generator, at::kLong).to(dtype);
}

OutputComparison compare(const std::string& name, int32_t elem_type, const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) {
    throw Error("output '" + name + "' has shape " + c10::str(a.sizes()) + " in the first model, " +
                c10::str(b.sizes()) + " in the second");
  }
  if (a.scalar_type() != b.scalar_type()) throw Error("output '" + name + "' differs in dtype between the models");
  OutputComparison result;
  result.name = name;
  result.elem_type = elem_type;
  result.shape = a.sizes().vec();
  if (a.numel() == 0) return result;
  at::Tensor ra = a.to(at::kDouble);
  at::Tensor rb = b.to(at::kDouble);
  at::Tensor finite = at::isfinite(ra);
  result.max_ref = finite.any().item<bool>() ? at::where(finite, ra.abs(), at::zeros_like(ra)).max().item<double>() : 0;
  if (!at::isFloatingType(a.scalar_type())) {
    result.max_diff = at::equal(a, b) ? 0 : (ra - rb).abs().max().item<double>();
    return result;
  }
  // Equal values (infinities included) and NaN in both differ by 0; NaN in one only by infinity.
  at::Tensor diff = (ra - rb).abs();
  diff = at::where(ra.eq(rb) | (at::isnan(ra) & at::isnan(rb)), at::zeros_like(diff), diff);
  diff = at::where(at::isnan(diff), at::full_like(diff, INFINITY), diff);
  result.max_diff = diff.max().item<double>();
  result.tolerance = 1e-4 * std::max(1.0, result.max_ref);
  return result;
}

}  // namespace

bool VerifyResult::passed() const {
  for (const auto& output : outputs) {
    if (!output.within_tolerance()) return false;
  }
  return true;
}

std::vector<const onnx::ValueInfoProto*> fed_inputs(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> initializers;
  for (const auto& initializer : graph.initializer()) initializers.insert(initializer.name());
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& input : graph.input()) {
    if (!initializers.count(input.name())) inputs.push_back(&input);
  }
  return inputs;
}

std::vector<std::pair<std::string, at::Tensor>> random_inputs(const onnx::ModelProto& model, const VerifyOptions& options,
                                                              std::map<std::string, int64_t>* sized_dims) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::set<std::string> used_dims;
  std::vector<std::pair<std::string, at::Tensor>> inputs;
  for (const auto* input : fed_inputs(model.graph())) {
    const auto& type = tensor_type(*input, "input");
    if (!type.has_shape()) throw Error("input '" + input->name() + "' has no shape (rank unknown)");
    std::vector<int64_t> shape;
    for (const auto& dim : type.shape().dim()) {
      if (dim.has_dim_value()) {
        shape.push_back(dim.dim_value());
        continue;
      }
      const std::string& param = dim.dim_param();
      auto it = options.dims.find(param);
      shape.push_back(it != options.dims.end() ? it->second : options.default_dim);
      if (!param.empty()) {
        used_dims.insert(param);
        if (sized_dims) (*sized_dims)[param] = shape.back();
      }
    }
    at::ScalarType dtype;
    try {
      dtype = aten_dtype(type.elem_type());
    } catch (const Error& e) {
      throw Error("input '" + input->name() + "': " + e.what());
    }
    inputs.emplace_back(input->name(), random_tensor(shape, dtype, generator));
  }
  for (const auto& [name, size] : options.dims) {
    if (!used_dims.count(name)) throw Error("no input has a dim named '" + name + "'");
  }
  return inputs;
}

VerifyResult verify_models(const ModelFile& reference, const ModelFile& candidate, const VerifyOptions& options) {
  const onnx::GraphProto& a = reference.model.graph();
  const onnx::GraphProto& b = candidate.model.graph();
  check_same_interface("input", fed_inputs(a), fed_inputs(b));
  check_same_interface("output", graph_outputs(a), graph_outputs(b));

  VerifyResult result;
  result.inputs = random_inputs(reference.model, options, &result.dims);
  const std::map<std::string, at::Tensor> feeds(result.inputs.begin(), result.inputs.end());
  auto run = [&feeds](const ModelFile& file, const char* which) {
    try {
      return run_graph(file.model, feeds, file.dir);
    } catch (const Error& e) {
      throw Error(std::string(which) + " model: " + e.what());
    }
  };
  auto a_outputs = run(reference, "first");
  auto b_outputs = run(candidate, "second");
  for (const auto& output : a.output()) {
    const at::Tensor& value = a_outputs.at(output.name());
    result.outputs.push_back(compare(output.name(), output.type().tensor_type().elem_type(), value, b_outputs.at(output.name())));
    result.reference_outputs.push_back(value);
  }
  return result;
}

std::vector<double> time_graph_nodes(const ModelFile& file, const VerifyOptions& options, int runs) {
  const auto inputs = random_inputs(file.model, options);
  const std::map<std::string, at::Tensor> feeds(inputs.begin(), inputs.end());
  const size_t nodes = static_cast<size_t>(file.model.graph().node_size());
  std::vector<std::vector<double>> per_run(static_cast<size_t>(runs) + 1, std::vector<double>(nodes));
  for (auto& seconds : per_run) run_graph(file.model, feeds, file.dir, &seconds);
  // The median of each node over the timed runs (the first is the warm-up): a run another process
  // interrupted moves a mean, not a median.
  std::vector<double> us(nodes), samples(static_cast<size_t>(runs));
  for (size_t node = 0; node < nodes; ++node) {
    for (size_t run = 0; run < samples.size(); ++run) samples[run] = per_run[run + 1][node];
    std::sort(samples.begin(), samples.end());
    const size_t mid = samples.size() / 2;
    us[node] = 1e6 * (samples.size() % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2);
  }
  return us;
}

}  // namespace htp::optimizer
