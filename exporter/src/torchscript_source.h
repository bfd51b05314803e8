// TorchScript archives (torch.jit.trace / torch.jit.script output) as a model source.
#pragma once

#include "traced_graph.h"

#include <torch/csrc/jit/api/module.h>

#include <string>
#include <vector>

namespace htp::exporter {

// Loads an archive in eval mode; throws ExportError naming the file when it cannot be read.
torch::jit::Module load_torchscript(const std::string& path);

// Precondition: `inputs` are the forward arguments, in order.
// Postcondition: the inlined forward graph with static control flow resolved (what depends on the
// data stays prim::If / prim::Loop), every tensor value typed by a run on `inputs` (inside blocks
// too, see type_by_running.h), parameters and buffers as prim::GetAttr values named by their
// state_dict keys, and node scopes taken from the inlined call stacks. Throws ExportError on a
// wrong number of inputs, a failing run, or control flow that cannot be typed or converted.
TracedGraph trace_torchscript(const torch::jit::Module& module, const std::vector<at::Tensor>& inputs);

// Flattens the tensors of a forward result (tensor, tuple, list, nested) in order.
std::vector<at::Tensor> flatten_outputs(const c10::IValue& result);

}  // namespace htp::exporter
