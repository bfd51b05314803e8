// Building blocks for zoo models whose module calls are visible to the tracer.
//
// torch::nn in C++ has no forward hooks, so a module that wants its children to appear as
// scopes in a traced graph calls them through `call(*this, child, args...)`. The scope name is
// looked up in the parent's registered children, so the traced hierarchy is the real module
// tree (the names `named_modules()` and `state_dict` use), never a guessed string.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace htp::zoo {

// Pushes a tracer scope for its lifetime when a trace is being recorded; a no-op otherwise.
class TraceScope {
 public:
  explicit TraceScope(const std::string& name);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  std::shared_ptr<torch::jit::tracer::TracingState> state_;
};

// The name under which `child` is registered in `parent`; throws if it is not a direct child.
std::string child_name(const torch::nn::Module& parent, const torch::nn::Module& child);

// The Python-style class name of a module: namespaces and the torch::nn `Impl` suffix dropped,
// so torch::nn::Conv2dImpl is "Conv2d" and htp::zoo::BottleneckImpl is "Bottleneck".
std::string class_name(const torch::nn::Module& module);

// Runs child->forward(args...) inside the child's tracer scope.
template <typename Holder, typename... Args>
auto call(const torch::nn::Module& parent, Holder& child, Args&&... args) {
  TraceScope scope(child_name(parent, *child));
  return child->forward(std::forward<Args>(args)...);
}

// A Sequential whose children are traced as scopes "0", "1", ... like torch.nn.Sequential.
// `class_name` lets torchvision's Sequential subclasses (Conv2dNormActivation) keep their name.
class SequentialImpl : public torch::nn::Module {
 public:
  explicit SequentialImpl(std::string class_name = "Sequential");

  template <typename ModuleHolder>
  void push_back(ModuleHolder module) {
    push_back_any(std::to_string(children_.size()), torch::nn::AnyModule(std::move(module)));
  }
  size_t size() const { return children_.size(); }
  torch::Tensor forward(torch::Tensor x);

 private:
  void push_back_any(const std::string& name, torch::nn::AnyModule module);
  std::vector<std::pair<std::string, torch::nn::AnyModule>> children_;
};
TORCH_MODULE(Sequential);

}  // namespace htp::zoo
