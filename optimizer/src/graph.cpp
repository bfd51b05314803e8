#include "pass.h"

#include "htp/onnxio/error.h"
#include "htp/onnxio/onnx_file.h"
#include "htp/optimizer/tensor_proto.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/reports.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>

namespace htp::optimizer {
namespace {

// Names a subgraph reads: every node input and every output (an output may be an outer value).
void collect_subgraph_reads(const onnx::GraphProto& graph, std::vector<std::string>& names) {
  for (const auto& node : graph.node()) {
    for (const auto& input : node.input()) {
      if (!input.empty()) names.push_back(input);
    }
    for (const auto& attribute : node.attribute()) {
      if (attribute.has_g()) collect_subgraph_reads(attribute.g(), names);
      for (const auto& body : attribute.graphs()) collect_subgraph_reads(body, names);
    }
  }
  for (const auto& output : graph.output()) names.push_back(output.name());
}

std::vector<std::string> subgraph_reads(const onnx::NodeProto& node) {
  std::vector<std::string> names;
  for (const auto& attribute : node.attribute()) {
    if (attribute.has_g()) collect_subgraph_reads(attribute.g(), names);
    for (const auto& body : attribute.graphs()) collect_subgraph_reads(body, names);
  }
  return names;
}

void erase_one(std::vector<onnx::NodeProto*>& nodes, const onnx::NodeProto* node) {
  for (auto it = nodes.begin(); it != nodes.end(); ++it) {
    if (*it == node) {
      nodes.erase(it);
      return;
    }
  }
}

std::optional<at::Tensor> constant_node_value(const onnx::NodeProto& node, const std::string& model_dir) {
  if (node.attribute_size() != 1) return std::nullopt;
  const auto& attribute = node.attribute(0);
  const std::string& kind = attribute.name();
  if (kind == "value") return from_tensor_proto(attribute.t(), model_dir);
  if (kind == "value_float") return at::scalar_tensor(attribute.f(), at::kFloat);
  if (kind == "value_int") return at::scalar_tensor(attribute.i(), at::kLong);
  if (kind == "value_floats") {
    return at::tensor(std::vector<float>(attribute.floats().begin(), attribute.floats().end()), at::kFloat);
  }
  if (kind == "value_ints") {
    return at::tensor(std::vector<int64_t>(attribute.ints().begin(), attribute.ints().end()), at::kLong);
  }
  return std::nullopt;  // strings and sparse tensors
}

// "/a/MatMul_3" -> "/a/Gemm_3"; names whose last part does not start with the op type get a suffix.
std::string derived_name(const std::string& name, const std::string& old_op, const std::string& new_op) {
  const size_t part = name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1;
  if (name.compare(part, old_op.size(), old_op) == 0) {
    return name.substr(0, part) + new_op + name.substr(part + old_op.size());
  }
  return name + "_" + new_op;
}

TensorInfo info_of(const onnx::TensorProto& tensor) {
  return {tensor.data_type(), std::vector<int64_t>(tensor.dims().begin(), tensor.dims().end())};
}

std::optional<TensorInfo> info_of(const onnx::ValueInfoProto& value) {
  if (!value.type().has_tensor_type()) return std::nullopt;
  const auto& type = value.type().tensor_type();
  TensorInfo info{type.elem_type(), std::nullopt};
  if (type.has_shape()) {
    info.dims.emplace();
    for (const auto& dim : type.shape().dim()) {
      info.dims->push_back(dim.has_dim_value() ? dim.dim_value() : -1);
      info.dim_params.push_back(dim.has_dim_param() ? dim.dim_param() : "");
    }
  }
  return info;
}

std::optional<TensorInfo> constant_node_info(const onnx::NodeProto& node) {
  if (node.attribute_size() != 1) return std::nullopt;
  const auto& attribute = node.attribute(0);
  const std::string& kind = attribute.name();
  if (kind == "value") return info_of(attribute.t());
  if (kind == "value_float") return TensorInfo{onnx::TensorProto::FLOAT, std::vector<int64_t>{}};
  if (kind == "value_int") return TensorInfo{onnx::TensorProto::INT64, std::vector<int64_t>{}};
  if (kind == "value_floats") return TensorInfo{onnx::TensorProto::FLOAT, std::vector<int64_t>{attribute.floats_size()}};
  if (kind == "value_ints") return TensorInfo{onnx::TensorProto::INT64, std::vector<int64_t>{attribute.ints_size()}};
  return std::nullopt;
}

}  // namespace

bool TensorInfo::is_static() const {
  return dims && std::all_of(dims->begin(), dims->end(), [](int64_t dim) { return dim >= 0; });
}

Graph::Graph(onnx::ModelProto& model, std::string model_dir) : model_(model), model_dir_(std::move(model_dir)) {
  if (model_.GetArena() != nullptr) throw Error("the optimizer needs a heap-allocated model, not an arena one");
  onnx::GraphProto& graph = proto();
  // Most names are a node's name or one of its outputs; sizing the table once spares the rehashes.
  names_.reserve(graph.input_size() + graph.output_size() + graph.initializer_size() + 2 * graph.node_size());
  for (const auto& input : graph.input()) {
    NameEntry& name = entry(input.name());
    name.graph_input = name.reserved = true;
  }
  for (const auto& output : graph.output()) {
    NameEntry& name = entry(output.name());
    name.graph_output = name.reserved = true;
  }
  for (auto& tensor : *graph.mutable_initializer()) {
    NameEntry& name = entry(tensor.name());
    name.initializer = &tensor;
    name.reserved = true;
  }
  for (auto& node : *graph.mutable_node()) index_node(&node);
  // value_info first: optimize() puts the inferred, fuller types of graph outputs there.
  for (const auto* values : {&graph.value_info(), &graph.input(), &graph.output()}) declare(*values);
}

const Graph::NameEntry* Graph::find(const std::string& name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : &it->second;
}

void Graph::declare(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
  for (const auto& value : values) {
    NameEntry& name = entry(value.name());
    if (name.declared == nullptr) name.declared = &value;
  }
}

std::optional<int64_t> Graph::rank(const std::string& tensor) const {
  const std::optional<TensorInfo> info = tensor_info(tensor);
  if (!info || !info->dims) return std::nullopt;
  return static_cast<int64_t>(info->dims->size());
}

std::optional<TensorInfo> Graph::tensor_info(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  if (name == nullptr) return std::nullopt;
  if (name->initializer != nullptr) return info_of(*name->initializer);
  const onnx::NodeProto* node = name->producer;
  if (node != nullptr && node->op_type() == "Constant" && node->domain().empty()) return constant_node_info(*node);
  if (name->declared == nullptr) return std::nullopt;
  return info_of(*name->declared);
}

Graph::~Graph() = default;

int64_t Graph::opset() const { return onnxio::default_opset(model_); }

bool Graph::is_read(const onnx::NodeProto& node) const {
  return std::any_of(node.output().begin(), node.output().end(),
                     [&](const std::string& output) { return !output.empty() && use_count(output) > 0; });
}

void Graph::index_node(onnx::NodeProto* node) {
  if (!node->name().empty()) entry(node->name()).reserved = true;
  for (const auto& output : node->output()) {
    if (output.empty()) continue;
    NameEntry& name = entry(output);
    name.producer = node;
    name.reserved = true;
  }
  for (const auto& input : node->input()) {
    if (!input.empty()) entry(input).consumers.push_back(node);
  }
  for (const auto& read : subgraph_reads(*node)) {
    NameEntry& name = entry(read);
    ++name.subgraph_uses;
    name.reserved = true;
  }
}

void Graph::unindex_node(onnx::NodeProto* node) {
  for (const auto& output : node->output()) {
    if (output.empty()) continue;
    NameEntry& name = entry(output);
    if (name.producer == node) name.producer = nullptr;
  }
  for (const auto& input : node->input()) {
    if (!input.empty()) erase_one(entry(input).consumers, node);
  }
  for (const auto& read : subgraph_reads(*node)) --entry(read).subgraph_uses;
}

std::vector<onnx::NodeProto*> Graph::nodes() const {
  std::unordered_map<const onnx::NodeProto*, std::vector<onnx::NodeProto*>> inserted_before;
  std::vector<onnx::NodeProto*> inserted_at_end;
  for (const auto& [node, before] : insertions_) {
    if (before == nullptr) {
      inserted_at_end.push_back(node);
    } else {
      inserted_before[before].push_back(node);
    }
  }
  std::vector<onnx::NodeProto*> order;
  order.reserve(model_.graph().node_size());
  // Lookups only where there are edits: a pass starts on a committed graph, and tables of a third of
  // a million pointers miss the cache on every probe.
  const bool any_inserted = !insertions_.empty();
  std::function<void(onnx::NodeProto*)> emit = [&](onnx::NodeProto* node) {
    if (any_inserted) {
      auto it = inserted_before.find(node);
      if (it != inserted_before.end()) {
        for (onnx::NodeProto* inserted : it->second) emit(inserted);
      }
    }
    if (removed_.empty() || !is_removed(node)) order.push_back(node);
  };
  for (auto& node : *model_.mutable_graph()->mutable_node()) {
    if (!any_inserted || placement_.count(&node) == 0) emit(&node);
  }
  for (onnx::NodeProto* node : inserted_at_end) emit(node);
  return order;
}

onnx::NodeProto* Graph::producer(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name == nullptr ? nullptr : name->producer;
}

const std::vector<onnx::NodeProto*>& Graph::consumers(const std::string& tensor) const {
  static const std::vector<onnx::NodeProto*> kNone;
  const NameEntry* name = find(tensor);
  return name == nullptr ? kNone : name->consumers;
}

bool Graph::is_graph_input(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name != nullptr && name->graph_input;
}

bool Graph::is_graph_output(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name != nullptr && name->graph_output;
}

size_t Graph::use_count(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name == nullptr ? 0 : name->consumers.size() + (name->graph_output ? 1 : 0) + name->subgraph_uses;
}

bool Graph::has_single_consumer(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name != nullptr && name->consumers.size() == 1 && !name->graph_output && name->subgraph_uses == 0;
}

onnx::TensorProto* Graph::initializer(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  return name == nullptr ? nullptr : name->initializer;
}

std::optional<at::Tensor> Graph::constant_value(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  if (name == nullptr) return std::nullopt;
  if (name->initializer != nullptr) {
    // Since IR 4 an initializer listed as a graph input is only a default the caller may override.
    if (name->graph_input && model_.ir_version() >= 4) return std::nullopt;
    return from_tensor_proto(*name->initializer, model_dir_);
  }
  const onnx::NodeProto* node = name->producer;
  if (node != nullptr && node->op_type() == "Constant" && node->domain().empty()) {
    return constant_node_value(*node, model_dir_);
  }
  return std::nullopt;
}

bool Graph::is_constant(const std::string& tensor) const {
  const NameEntry* name = find(tensor);
  if (name == nullptr) return false;
  if (name->initializer != nullptr) return !name->graph_input || model_.ir_version() < 4;
  const onnx::NodeProto* node = name->producer;
  return node != nullptr && node->op_type() == "Constant" && node->domain().empty() && node->attribute_size() == 1 &&
         node->attribute(0).name().rfind("value", 0) == 0 && node->attribute(0).name() != "value_string" &&
         node->attribute(0).name() != "value_strings";
}

std::string Graph::add_initializer(const std::string& base_name, const at::Tensor& value) {
  std::string name = unique_name(base_name);
  onnx::TensorProto* tensor = proto().add_initializer();
  to_tensor_proto(value, *tensor);
  tensor->set_name(name);
  entry(name).initializer = tensor;
  ++counts_.initializers_added;
  return name;
}

void Graph::remove_initializer(const std::string& name) {
  auto it = names_.find(name);
  if (it == names_.end() || it->second.initializer == nullptr) {
    throw Error("optimizer: no initializer '" + name + "' to remove");
  }
  removed_initializers_.insert(it->second.initializer);
  it->second.initializer = nullptr;
  ++counts_.initializers_removed;
}

void Graph::remove_constant_if_unused(const std::string& tensor) {
  if (tensor.empty() || use_count(tensor) > 0 || is_graph_input(tensor)) return;
  if (initializer(tensor) != nullptr) {
    remove_initializer(tensor);
    return;
  }
  onnx::NodeProto* node = producer(tensor);
  if (node != nullptr && node->op_type() == "Constant" && node->domain().empty()) remove_node(node);
}

std::vector<std::string> Graph::initializer_names() const {
  std::vector<std::string> names;
  for (const auto& tensor : model_.graph().initializer()) {
    if (removed_initializers_.count(&tensor) == 0) names.push_back(tensor.name());
  }
  return names;
}

std::string Graph::unique_name(const std::string& base) {
  NameEntry& base_entry = entry(base);  // references into names_ survive its rehashing
  if (!base_entry.reserved) {
    base_entry.reserved = true;
    return base;
  }
  for (;;) {
    std::string name = base + "_" + std::to_string(++base_entry.next_suffix);
    NameEntry& candidate = entry(name);
    if (!candidate.reserved) {
      candidate.reserved = true;
      return name;
    }
  }
}

onnx::NodeProto* Graph::insert_node(onnx::NodeProto node, const onnx::NodeProto* before) {
  onnx::NodeProto* stored = proto().add_node();
  stored->Swap(&node);
  placement_[stored] = before;
  insertions_.emplace_back(stored, before);
  index_node(stored);
  ++counts_.nodes_added;
  return stored;
}

void Graph::remove_node(onnx::NodeProto* node) {
  if (!removed_.insert(node).second) return;
  unindex_node(node);
  ++counts_.nodes_removed;
}

void Graph::set_input(onnx::NodeProto* node, int index, const std::string& tensor_name) {
  const std::string tensor = tensor_name;
  const std::string& old = node->input(index);
  if (old == tensor) return;
  if (!old.empty()) erase_one(entry(old).consumers, node);
  node->set_input(index, tensor);
  if (!tensor.empty()) entry(tensor).consumers.push_back(node);
}

void Graph::set_output(onnx::NodeProto* node, int index, const std::string& tensor_name) {
  const std::string tensor = tensor_name;
  const std::string& old = node->output(index);
  if (old == tensor) return;
  NameEntry& old_name = entry(old);
  if (old_name.producer == node) old_name.producer = nullptr;
  node->set_output(index, tensor);
  if (tensor.empty()) return;
  NameEntry& name = entry(tensor);
  name.reserved = true;
  name.producer = node;
}

bool Graph::can_replace_all_uses(const std::string& from, const std::string& to) const {
  if (from == to) return true;
  const NameEntry* source = find(from);
  if (source == nullptr) return true;
  if (source->subgraph_uses > 0) return false;
  if (!source->graph_output) return true;
  const NameEntry* target = find(to);
  return target != nullptr && target->producer != nullptr && !target->graph_output && !target->graph_input &&
         target->initializer == nullptr && target->subgraph_uses == 0;
}

bool Graph::replace_all_uses(const std::string& from_name, const std::string& to_name) {
  // Copies: callers pass names held by the nodes this renames.
  const std::string from = from_name;
  const std::string to = to_name;
  if (!can_replace_all_uses(from, to)) return false;
  if (from == to) return true;
  if (is_graph_output(from)) {
    // The graph output keeps its name: `to` takes it, the old producer's output gets a free name.
    if (onnx::NodeProto* old_producer = producer(from)) {
      for (int i = 0; i < old_producer->output_size(); ++i) {
        if (old_producer->output(i) == from) set_output(old_producer, i, unique_name(from + "_replaced"));
      }
    }
    rename_tensor(to, from);
    return true;
  }
  const std::vector<onnx::NodeProto*> readers = consumers(from);
  for (onnx::NodeProto* reader : readers) {
    for (int i = 0; i < reader->input_size(); ++i) {
      if (reader->input(i) == from) set_input(reader, i, to);
    }
  }
  return true;
}

void Graph::rename_tensor(const std::string& from_name, const std::string& to_name) {
  const std::string from = from_name;
  const std::string to = to_name;
  onnx::NodeProto* node = producer(from);
  for (int i = 0; i < node->output_size(); ++i) {
    if (node->output(i) == from) set_output(node, i, to);
  }
  const std::vector<onnx::NodeProto*> readers = consumers(from);
  for (onnx::NodeProto* reader : readers) {
    for (int i = 0; i < reader->input_size(); ++i) {
      if (reader->input(i) == from) set_input(reader, i, to);
    }
  }
}

onnx::NodeProto Graph::derived_node(const onnx::NodeProto& principal, const std::string& op_type,
                                    const std::string& domain) {
  onnx::NodeProto node;
  node.set_op_type(op_type);
  node.set_domain(domain);
  if (!principal.name().empty()) node.set_name(unique_name(derived_name(principal.name(), principal.op_type(), op_type)));
  node.mutable_unknown_fields()->MergeFrom(principal.unknown_fields());
  tagging::erase_node_metadata(node, kFusedFromKey);
  return node;
}

void Graph::record_fusion(onnx::NodeProto& node, const std::vector<const onnx::NodeProto*>& originals) {
  auto entries = nlohmann::json::array();
  for (const onnx::NodeProto* original : originals) {
    if (auto fused = tagging::node_metadata(*original, kFusedFromKey)) {
      for (auto& entry : nlohmann::json::parse(*fused)) entries.push_back(std::move(entry));
      continue;
    }
    nlohmann::json entry{{"name", original->name()}};
    if (auto scope = tagging::node_metadata(*original, "htp.scope")) entry["scope"] = *scope;
    entries.push_back(std::move(entry));
  }
  tagging::set_node_metadata(node, kFusedFromKey, tagging::json_text(entries));
}

void Graph::commit() {
  onnx::GraphProto& graph = proto();
  if (!removed_.empty() || !insertions_.empty()) {
    std::vector<onnx::NodeProto*> order = nodes();
    std::vector<onnx::NodeProto*> all(graph.node_size());
    graph.mutable_node()->ExtractSubrange(0, graph.node_size(), all.data());
    for (onnx::NodeProto* node : all) {
      if (is_removed(node)) delete node;
    }
    for (onnx::NodeProto* node : order) graph.mutable_node()->AddAllocated(node);
    removed_.clear();
    placement_.clear();
    insertions_.clear();
  }
  if (!removed_initializers_.empty()) {
    std::vector<onnx::TensorProto*> all(graph.initializer_size());
    graph.mutable_initializer()->ExtractSubrange(0, graph.initializer_size(), all.data());
    for (onnx::TensorProto* tensor : all) {
      if (removed_initializers_.count(tensor) > 0) {
        delete tensor;
      } else {
        graph.mutable_initializer()->AddAllocated(tensor);
      }
    }
    removed_initializers_.clear();
  }
  if (!committed_) drop_stale_value_info();
  committed_ = true;
}

void Graph::finish() {
  if (committed_) drop_stale_value_info();
}

void Graph::drop_stale_value_info() {
  auto* value_info = proto().mutable_value_info();
  int kept = 0;
  for (int i = 0; i < value_info->size(); ++i) {
    NameEntry& name = entry(value_info->Get(i).name());
    if (name.producer != nullptr) {
      value_info->SwapElements(kept++, i);
    } else if (name.declared == &value_info->Get(i)) {
      name.declared = nullptr;  // a graph input or output of that name declares it again below
    }
  }
  if (kept == value_info->size()) return;
  value_info->DeleteSubrange(kept, value_info->size() - kept);
  declare(proto().input());
  declare(proto().output());
}

}  // namespace htp::optimizer
