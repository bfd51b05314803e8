#include "torchscript_source.h"

#include "archive_kind.h"
#include "convert/convert.h"
#include "fold_input_independent.h"
#include "functionalize_writes.h"
#include "torchvision_ops.h"
#include "htp/exporter/errors.h"
#include "htp/onnxio/file_io.h"
#include "type_by_running.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/loop_unrolling.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/csrc/jit/runtime/graph_iterator.h>
#include <torch/csrc/jit/serialization/import.h>

#include <filesystem>

namespace htp::exporter {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::string class_name(const torch::jit::Module& module) {
  return module.type()->name() ? module.type()->name()->name() : "Module";
}

tagging::ModuleTree module_tree(const torch::jit::Module& root) {
  tagging::ModuleTree tree(class_name(root));
  for (const auto& item : root.named_modules()) {
    if (!item.name.empty()) tree.add(item.name, class_name(item.value));
  }
  return tree;
}

// Module paths from inlined call stacks. A stack entry names the called module relative to its
// caller's module, but a module whose children the caller iterates or indexes (ModuleList,
// ModuleDict, `for block in self.features` over a Sequential) never runs itself, so its name is
// missing from the stack: `blocks.0` appears as just `0`. Such entries are found among the
// caller's descendants, breadth first, told apart by the module's class type.
class CallstackScopes {
 public:
  explicit CallstackScopes(const torch::jit::Module& root) {
    for (const auto& item : root.named_modules()) modules_.emplace(item.name, item.value);
  }

  std::string operator()(const Node* node) const {
    auto callstack = node->callstack();
    if (!callstack) return "";
    std::string scope;
    for (const auto& entry : (*callstack)->vec()) {
      const auto& info = std::get<torch::jit::kModuleInstanceInfo>(entry);
      if (info && !info->instance_name().empty()) scope = resolve(scope, *info);
    }
    return scope;
  }

 private:
  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  std::string resolve(const std::string& caller, const torch::jit::ModuleInstanceInfo& info) const {
    if (info.instance_name() == "SELF") return caller;  // a method of the calling module itself
    std::string direct = join(caller, info.instance_name());
    if (modules_.count(direct)) return direct;
    std::vector<std::string> descendants{caller};
    for (size_t i = 0; i < descendants.size(); ++i) {
      for (const auto& child : modules_.at(descendants[i]).named_children()) {
        std::string path = join(descendants[i], child.name);
        auto it = modules_.find(join(path, info.instance_name()));
        if (it != modules_.end() && it->second.type() == info.class_type()) return it->first;
        descendants.push_back(path);
      }
    }
    throw ExportError("cannot place module instance '" + info.instance_name() + "' called from '" + caller + "' in the module tree");
  }

  std::unordered_map<std::string, torch::jit::Module> modules_;
};

// Every node of the graph, nested blocks included, each before the nodes that read it.
std::vector<Node*> all_nodes(std::shared_ptr<Graph> graph) {
  std::vector<Node*> nodes;
  torch::jit::DepthFirstGraphNodeIterator it(graph);
  while (Node* node = it.next()) nodes.push_back(node);
  return nodes;
}

// Every prim::GetAttr chain rooted at `self`, by result value: its dotted path (for tensors,
// the state_dict key) and the attribute's value.
std::unordered_map<Value*, std::pair<std::string, c10::IValue>> attributes(const std::shared_ptr<Graph>& graph, const c10::IValue& self) {
  std::unordered_map<Value*, std::pair<std::string, c10::IValue>> found{{graph->inputs()[0], {"", self}}};
  for (Node* node : all_nodes(graph)) {
    if (node->kind() != c10::prim::GetAttr) continue;
    auto owner = found.find(node->input());
    if (owner == found.end() || !owner->second.second.isObject()) continue;
    const std::string& field = node->s(c10::attr::name);
    std::string path = owner->second.first.empty() ? field : owner->second.first + "." + field;
    found[node->output()] = {path, owner->second.second.toObject()->getAttr(field)};
  }
  return found;
}

// Plain attributes (flags, sizes) become constants, so constant propagation can settle
// `if self.training:`-style control flow.
void inline_plain_attributes(const std::shared_ptr<Graph>& graph, const c10::IValue& self) {
  auto found = attributes(graph, self);
  for (Node* node : all_nodes(graph)) {
    if (node->kind() != c10::prim::GetAttr) continue;
    auto it = found.find(node->output());
    if (it == found.end()) continue;
    const c10::IValue& value = it->second.second;
    if (value.isObject() || value.isTensor()) continue;
    torch::jit::WithInsertPoint guard(node);
    node->output()->replaceAllUsesWith(graph->insertConstant(value));
  }
}

// A dict of tensors names its outputs by its keys ({"out": ...} in torchvision's segmentation
// models); other results are `output`, or `output_0`, `output_1`, ... in flattened order.
std::vector<std::string> output_names(const std::vector<c10::IValue>& results) {
  if (results.size() == 1 && results[0].isGenericDict()) {
    std::vector<std::string> keys;
    for (const auto& item : results[0].toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) break;
      keys.push_back(item.key().toStringRef());
    }
    if (keys.size() == results[0].toGenericDict().size()) return keys;
  }
  size_t count = 0;
  for (const auto& result : results) count += flatten_outputs(result).size();
  if (count == 1) return {"output"};
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) names.push_back("output_" + std::to_string(i));
  return names;
}

// Data-dependent prim::If and prim::Loop convert to ONNX If and Loop, nested too; other nodes with
// blocks do not.
void reject_control_flow(const torch::jit::Block& block, const torch::jit::Module& module) {
  for (const Node* node : block.nodes()) {
    if (node->blocks().empty()) continue;
    if (node->kind() == c10::prim::If || node->kind() == c10::prim::Loop) {
      for (const torch::jit::Block* branch : node->blocks()) reject_control_flow(*branch, module);
      continue;
    }
    std::string scope = CallstackScopes(module)(node);
    throw ExportError(std::string("data-dependent control flow is not supported: ") + node->kind().toQualString() +
                      " in module '" + (scope.empty() ? "<root>" : scope) + "' depends on the input values");
  }
}

std::vector<std::string> input_names(const Graph& graph) {
  std::vector<std::string> names;
  for (size_t i = 1; i < graph.inputs().size(); ++i) {
    const Value* input = graph.inputs()[i];
    std::string name = input->hasDebugName() ? input->debugNameBase() : "input_" + std::to_string(i - 1);
    if (std::find(names.begin(), names.end(), name) != names.end()) name += "_" + std::to_string(i - 1);
    names.push_back(name);
  }
  return names;
}

void flatten_into(const c10::IValue& value, std::vector<at::Tensor>& out) {
  if (value.isTensor()) {
    out.push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) flatten_into(element, out);
  } else if (value.isList()) {
    for (const auto& element : value.toListRef()) flatten_into(element, out);
  } else if (value.isGenericDict()) {
    for (const auto& item : value.toGenericDict()) flatten_into(item.value(), out);
  } else {
    throw ExportError(std::string("the model returns a ") + value.tagKind() + "; only tensors (in tuples, lists or dicts) can be exported");
  }
}

bool convertible(const Node* node) { return is_convertible(node, false); }

bool any_write_in_place(const Graph& graph) {
  return std::any_of(graph.nodes().begin(), graph.nodes().end(), [](const Node* n) { return writes_in_place(n); });
}

std::unordered_set<const Value*> top_level_values(const Graph& graph) {
  std::unordered_set<const Value*> values(graph.inputs().begin(), graph.inputs().end());
  for (const Node* node : graph.nodes()) values.insert(node->outputs().begin(), node->outputs().end());
  return values;
}

std::unordered_set<const Value*> no_values(const Graph&) { return {}; }

// What the steps after the typing run read of its values: folding, the values it may fold;
// functionalize_writes, every value (views and copies are told apart by the memory they shared),
// unless each in-place write lies in a region folding removes. Says in `every` which it chose.
ValuesKept values_read_later(bool& every) {
  return [&every](Graph& graph) {
    std::unordered_set<const Value*> foldable = foldable_values(graph, 1, convertible);
    every = std::any_of(graph.nodes().begin(), graph.nodes().end(), [&](const Node* n) {
      return writes_in_place(n) && !std::all_of(n->outputs().begin(), n->outputs().end(), [&](const Value* v) { return foldable.count(v); });
    });
    return every ? top_level_values(graph) : foldable;
  };
}

}  // namespace

torch::jit::Module load_torchscript(const std::string& path) {
  register_torchvision_ops();
  try {
    torch::jit::Module module = torch::jit::load(path);
    module.eval();
    return module;
  } catch (const std::exception& e) {
    if (std::filesystem::is_regular_file(path) && archive_kind(onnxio::read_file(path)) == ArchiveKind::kPickle) {
      throw ExportError("'" + path + "' is a torch.save archive, not TorchScript: save the module with "
                        "torch.jit.trace(model, inputs).save(path)");
    }
    throw ExportError("cannot load TorchScript archive '" + path + "': " + first_line(e.what()));
  }
}

std::vector<at::Tensor> flatten_outputs(const c10::IValue& result) {
  std::vector<at::Tensor> outputs;
  flatten_into(result, outputs);
  return outputs;
}

TracedGraph trace_torchscript(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs) {
  std::shared_ptr<Graph> graph = module.get_method("forward").graph()->copy();
  size_t expected = graph->inputs().size() - 1;
  if (inputs.size() != expected) {
    throw ExportError("the model's forward takes " + std::to_string(expected) + " input" + (expected == 1 ? "" : "s") +
                      ", got " + std::to_string(inputs.size()) + (inputs.empty() ? " (give them with --input FILE.npy or --input-shape N,C,...)" : ""));
  }
  torch::jit::Inline(*graph);
  TracedGraph traced{graph, {}, {}, {}, {}, module_tree(module), CallstackScopes(module), /*in_place_as_functional=*/false};
  inline_plain_attributes(graph, module._ivalue());
  torch::jit::RemoveListMutation(graph);
  torch::jit::RemoveTensorMutation(graph);
  torch::jit::LowerSimpleTuples(graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::UnrollConstantLoops(graph);
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  reject_control_flow(*graph->block(), module);
  bool kept_every_value = false;
  RunResult run = type_by_running(graph, module._ivalue(), inputs, traced.scope_of, values_read_later(kept_every_value));
  traced.warnings = std::move(run.warnings);
  fold_input_independent(*graph, 1, run.values, convertible);
  if (!kept_every_value && any_write_in_place(*graph)) {  // a write that folding was to remove stayed
    run.values = type_by_running(graph, module._ivalue(), inputs, traced.scope_of, top_level_values).values;
  }
  if (functionalize_writes(*graph, run.values, traced.scope_of)) {
    run.values.clear();
    type_by_running(graph, module._ivalue(), inputs, traced.scope_of, no_values);  // types the new values
  }
  run.values.clear();
  traced.output_names = output_names(run.results);
  for (const auto& [value, attribute] : attributes(graph, module._ivalue())) {
    if (!attribute.second.isTensor()) continue;
    value->setType(c10::TensorType::create(attribute.second.toTensor()));  // also for `Tensor?` attributes
    traced.parameters[value] = Parameter{attribute.first, attribute.second.toTensor().detach()};
  }

  std::vector<std::string> names = input_names(*graph);
  for (size_t i = 0; i < inputs.size(); ++i) traced.inputs.push_back(GraphInput{graph->inputs()[i + 1], names[i], inputs[i]});
  return traced;
}

}  // namespace htp::exporter
