#include "htp/tagging/extract.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/onnxio/shape_inference.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/module_tree.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace htp::tagging {
namespace {

using Names = std::vector<std::string>;
using ValueInfos = google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>;

// Each node's scope, in node order; throws unless every node is tagged.
Names node_scopes(const onnx::GraphProto& graph) {
  Names scopes;
  const onnx::NodeProto* untagged = nullptr;
  for (const auto& node : graph.node()) {
    if (auto scope = node_metadata(node, kScopeKey)) {
      scopes.push_back(*scope);
    } else if (!untagged) {
      untagged = &node;
    }
  }
  if (scopes.empty()) throw Error("the model has no htp.scope tags: extract needs a file written by htp-export");
  if (untagged) throw Error("node '" + untagged->name() + "' (" + untagged->op_type() + ") has no htp.scope tag");
  return scopes;
}

// The scopes of the nodes and all their ancestors, in first-seen order: containers such as
// `layer2` run no op of their own but are valid scopes to extract.
Names known_scopes(const Names& node_scopes) {
  Names known;
  std::set<std::string> seen;
  for (const auto& scope : node_scopes) {
    for (size_t end = scope.find('.');; end = scope.find('.', end + 1)) {
      std::string prefix = scope.substr(0, end);
      if (seen.insert(prefix).second) known.push_back(prefix);
      if (end == std::string::npos) break;
    }
  }
  return known;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known scope nearest to `scope`, if it is near enough to be a likely typo.
std::optional<std::string> closest_scope(const std::string& scope, const Names& known) {
  std::optional<std::string> closest;
  size_t best = std::max<size_t>(2, scope.size() / 3) + 1;
  for (const auto& candidate : known) {
    if (candidate.empty()) continue;
    size_t distance = edit_distance(scope, candidate);
    if (distance < best) {
      best = distance;
      closest = candidate;
    }
  }
  return closest;
}

std::string join(const Names& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

// The class `htp.modules` gives `scope`, when the model lists it.
std::optional<std::string> listed_class(const onnx::ModelProto& model, const std::string& scope) {
  auto modules_json = model_metadata(model, kModulesKey);
  if (!modules_json) return std::nullopt;
  auto modules = nlohmann::json::parse(*modules_json, nullptr, /*allow_exceptions=*/false);
  if (!modules.is_object()) return std::nullopt;
  auto module = modules.find(scope);
  if (module == modules.end() || !module->is_object()) return std::nullopt;
  return module->value("class", std::string("?"));
}

Error scope_not_found(const onnx::ModelProto& model, const std::string& scope, const Names& node_scopes) {
  // A module that exists but ran no exported op (Dropout in eval mode) is not a typo.
  if (auto class_name = listed_class(model, scope)) {
    return Error("module '" + scope + "' (" + *class_name + ") has no nodes in the model: its forward exported no op");
  }
  Names known = known_scopes(node_scopes);
  Names top_level;
  std::copy_if(known.begin(), known.end(), std::back_inserter(top_level),
               [](const std::string& s) { return !s.empty() && s.find('.') == std::string::npos; });
  std::string message = "no module '" + scope + "' in the model";
  if (auto closest = closest_scope(scope, known)) message += " (did you mean '" + *closest + "'?)";
  return Error(message + "; top-level modules: " + (top_level.empty() ? "none below the root" : join(top_level)));
}

struct Boundary {
  Names inputs;                        // read inside, not made inside, not initializers
  Names outputs;                       // made inside, read outside or returned by the graph
  std::set<std::string> initializers;  // read inside
};

std::set<std::string> names_of(const ValueInfos& values) {
  std::set<std::string> names;
  for (const auto& value : values) names.insert(value.name());
  return names;
}

// `found` with the graph's own inputs (or outputs) among them first, in the graph's order, so
// that extracting the root keeps the model's interface.
Names graph_order_first(const Names& found, const ValueInfos& graph_values) {
  std::set<std::string> found_set(found.begin(), found.end());
  std::set<std::string> graph_names = names_of(graph_values);
  Names ordered;
  for (const auto& value : graph_values) {
    if (found_set.count(value.name())) ordered.push_back(value.name());
  }
  std::copy_if(found.begin(), found.end(), std::back_inserter(ordered),
               [&](const std::string& name) { return !graph_names.count(name); });
  return ordered;
}

// A node's inputs and the tensors its subgraphs (If branches) read from the enclosing graph.
Names reads_of(const onnx::NodeProto& node) {
  Names reads(node.input().begin(), node.input().end());
  Names implicit = implicit_inputs(node);
  reads.insert(reads.end(), implicit.begin(), implicit.end());
  return reads;
}

Boundary find_boundary(const onnx::GraphProto& graph, const std::vector<bool>& inside) {
  std::set<std::string> made_inside, read_outside, initializers;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (inside[i]) {
      made_inside.insert(node.output().begin(), node.output().end());
    } else {
      Names reads = reads_of(node);
      read_outside.insert(reads.begin(), reads.end());
    }
  }
  for (const auto& tensor : graph.initializer()) initializers.insert(tensor.name());
  std::set<std::string> graph_outputs = names_of(graph.output());

  Boundary boundary;
  Names inputs, outputs;
  std::set<std::string> listed_inputs;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!inside[i]) continue;
    for (const auto& name : reads_of(graph.node(i))) {
      if (name.empty() || made_inside.count(name)) continue;  // "" is an omitted optional input
      if (initializers.count(name)) {
        boundary.initializers.insert(name);
      } else if (listed_inputs.insert(name).second) {
        inputs.push_back(name);
      }
    }
    for (const auto& name : graph.node(i).output()) {
      if (!name.empty() && (read_outside.count(name) || graph_outputs.count(name))) outputs.push_back(name);
    }
  }
  boundary.inputs = graph_order_first(inputs, graph.input());
  boundary.outputs = graph_order_first(outputs, graph.output());
  return boundary;
}

// What the checker requires of a graph input or output: a tensor's element type and rank.
bool is_typed(const onnx::TypeProto& type) {
  if (type.has_tensor_type()) {
    return type.tensor_type().elem_type() != onnx::TensorProto::UNDEFINED && type.tensor_type().has_shape();
  }
  return type.value_case() != onnx::TypeProto::VALUE_NOT_SET;
}

// onnx 1.12 gives a Reshape whose target shape is computed at run time (a transformer's head
// split) no output shape, and so nothing downstream either, though the output's rank is the
// length of the target shape. Declares those ranks, dims unknown, on the inferred value_info for
// the next round of inference; returns whether it declared any.
bool declare_reshape_ranks(onnx::GraphProto& graph) {
  std::map<std::string, int64_t> lengths;  // of the 1-D tensors with a static shape
  for (const ValueInfos* values : {&graph.input(), &graph.value_info()}) {
    for (const auto& value : *values) {
      const auto& shape = value.type().tensor_type().shape();
      if (shape.dim_size() == 1 && shape.dim(0).has_dim_value()) lengths[value.name()] = shape.dim(0).dim_value();
    }
  }
  std::map<std::string, int64_t> ranks;
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Reshape" || !node.domain().empty() || node.input_size() < 2) continue;
    auto length = lengths.find(node.input(1));
    if (length != lengths.end()) ranks[node.output(0)] = length->second;
  }
  bool declared = false;
  for (auto& value : *graph.mutable_value_info()) {
    auto rank = ranks.find(value.name());
    if (rank == ranks.end() || !value.type().has_tensor_type() || value.type().tensor_type().has_shape()) continue;
    auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int64_t i = 0; i < rank->second; ++i) shape->add_dim();
    declared = true;
  }
  return declared;
}

// The type of every tensor of the model that ONNX shape inference can type, with data propagation
// so that shapes computed by Shape/Gather/Concat become static dims; the graph's own inputs and
// outputs keep their declared types.
std::map<std::string, onnx::TypeProto> inferred_types(const onnx::ModelProto& model) {
  onnx::ModelProto typed = onnxio::shape_inference_copy(model);
  do {
    onnxio::infer_shapes(typed);
  } while (declare_reshape_ranks(*typed.mutable_graph()));
  std::map<std::string, onnx::TypeProto> types;
  const auto& graph = typed.graph();
  for (const ValueInfos* values : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const auto& value : *values) {
      if (is_typed(value.type())) types.emplace(value.name(), value.type());
    }
  }
  return types;
}

onnx::ValueInfoProto typed_value(const std::string& name, const std::map<std::string, onnx::TypeProto>& types) {
  auto type = types.find(name);
  if (type == types.end()) {
    throw Error("ONNX shape inference cannot tell the element type and rank of tensor '" + name +
                "' on the module's boundary");
  }
  onnx::ValueInfoProto value;
  value.set_name(name);
  *value.mutable_type() = type->second;
  return value;
}

// The original's model-level fields, without its graph (so without copying the weights).
onnx::ModelProto model_without_graph(const onnx::ModelProto& model) {
  onnx::ModelProto part;
  part.set_ir_version(model.ir_version());
  *part.mutable_opset_import() = model.opset_import();
  part.set_producer_name(model.producer_name());
  part.set_producer_version(model.producer_version());
  part.set_domain(model.domain());
  part.set_model_version(model.model_version());
  part.set_doc_string(model.doc_string());
  *part.mutable_metadata_props() = model.metadata_props();
  *part.mutable_functions() = model.functions();
  part.mutable_unknown_fields()->MergeFrom(model.unknown_fields());  // fields newer than onnx 1.12
  return part;
}

}  // namespace

onnx::ModelProto extract_module(const onnx::ModelProto& model, const std::string& scope) {
  const onnx::GraphProto& graph = model.graph();
  Names scopes = node_scopes(graph);
  std::vector<bool> inside(scopes.size());
  std::transform(scopes.begin(), scopes.end(), inside.begin(),
                 [&](const std::string& node_scope) { return ModuleTree::is_ancestor_or_self(scope, node_scope); });
  if (std::none_of(inside.begin(), inside.end(), [](bool in) { return in; })) {
    throw scope_not_found(model, scope, scopes);
  }
  Boundary boundary = find_boundary(graph, inside);
  auto types = inferred_types(model);

  onnx::ModelProto part = model_without_graph(model);
  onnx::GraphProto& part_graph = *part.mutable_graph();
  part_graph.set_name(graph.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    if (inside[i]) *part_graph.add_node() = graph.node(i);
  }
  for (const auto& tensor : graph.initializer()) {
    if (boundary.initializers.count(tensor.name())) *part_graph.add_initializer() = tensor;
  }
  for (const auto& name : boundary.inputs) *part_graph.add_input() = typed_value(name, types);
  for (const auto& name : boundary.outputs) *part_graph.add_output() = typed_value(name, types);
  return part;
}

}  // namespace htp::tagging
