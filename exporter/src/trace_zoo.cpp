#include "trace_zoo.h"

#include "htp/zoo/scoped.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

namespace htp::exporter {
namespace {

tagging::ModuleTree module_tree(const torch::nn::Module& root) {
  tagging::ModuleTree tree(zoo::class_name(root));
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    tree.add(item.key(), zoo::class_name(*item.value()));
  }
  return tree;
}

// Parameters then buffers, each tensor once (a shared weight keeps its first name).
std::vector<Parameter> state_tensors(const torch::nn::Module& root) {
  std::vector<Parameter> result;
  std::set<const void*> seen;
  auto add = [&](const auto& items) {
    for (const auto& item : items) {
      if (item.value().defined() && seen.insert(item.value().unsafeGetTensorImpl()).second) {
        result.push_back(Parameter{item.key(), item.value()});
      }
    }
  };
  add(root.named_parameters());
  add(root.named_buffers());
  return result;
}

}  // namespace

TracedGraph trace_zoo_model(const zoo::ZooModel& model, const std::vector<at::Tensor>& inputs) {
  std::vector<Parameter> parameters = state_tensors(*model.module);
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  for (const Parameter& p : parameters) stack.emplace_back(p.value);

  auto run = [&](torch::jit::Stack traced_inputs) {
    std::vector<at::Tensor> args;
    for (size_t i = 0; i < inputs.size(); ++i) args.push_back(traced_inputs[i].toTensor());
    auto outputs = model.forward(args);
    return torch::jit::Stack(outputs.begin(), outputs.end());
  };
  auto no_names = [](const torch::autograd::Variable&) { return std::string(); };
  auto graph = std::get<0>(torch::jit::tracer::trace(stack, run, no_names, /*strict=*/false,
                                                      /*force_outplace=*/false, /*self=*/nullptr))->graph;
  torch::jit::EliminateDeadCode(graph);

  TracedGraph traced{graph, {}, {}, model.output_names, model.output_dim_names, module_tree(*model.module), nullptr};
  for (size_t i = 0; i < inputs.size(); ++i) {
    traced.inputs.push_back(GraphInput{graph->inputs()[i], model.inputs[i].name, inputs[i], model.inputs[i].dim_names});
  }
  for (size_t i = 0; i < parameters.size(); ++i) traced.parameters[graph->inputs()[inputs.size() + i]] = parameters[i];
  traced.scope_of = [](const torch::jit::Node* node) { return const_cast<torch::jit::Node*>(node)->scope()->namesFromRoot("."); };
  return traced;
}

}  // namespace htp::exporter
