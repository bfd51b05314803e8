#include "htp/zoo/scoped.h"

#include <stdexcept>
#include <string_view>

namespace htp::zoo {

TraceScope::TraceScope(const std::string& name) : state_(torch::jit::tracer::getTracingState()) {
  if (state_) state_->graph->push_scope(name);
}

TraceScope::~TraceScope() {
  if (state_) state_->graph->pop_scope();
}

std::string child_name(const torch::nn::Module& parent, const torch::nn::Module& child) {
  for (const auto& item : parent.named_children()) {
    if (item.value().get() == &child) return item.key();
  }
  throw std::logic_error("module " + child.name() + " is not a registered child of " + parent.name());
}

std::string class_name(const torch::nn::Module& module) {
  std::string name = module.name();
  if (auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  constexpr std::string_view kImpl = "Impl";
  if (name.size() > kImpl.size() && name.compare(name.size() - kImpl.size(), kImpl.size(), kImpl) == 0) {
    name.resize(name.size() - kImpl.size());
  }
  return name;
}

SequentialImpl::SequentialImpl(std::string class_name) : torch::nn::Module(std::move(class_name)) {}

void SequentialImpl::push_back_any(const std::string& name, torch::nn::AnyModule module) {
  register_module(name, module.ptr());
  children_.emplace_back(name, std::move(module));
}

torch::Tensor SequentialImpl::forward(torch::Tensor x) {
  for (auto& [name, module] : children_) {
    TraceScope scope(name);
    x = module.forward<torch::Tensor>(std::move(x));
  }
  return x;
}

}  // namespace htp::zoo
