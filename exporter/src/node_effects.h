// What a TorchScript node does to its tensor inputs, read from its schema's alias annotations.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

namespace htp::exporter {

// Ops whose result depends on their inputs' sizes or dtypes only, never on the values.
bool reads_shape_only(const torch::jit::Node* node);

// The op writes its first input (schema `Tensor(a!) self`): relu_, add_, copy_, index_put_, ...
bool writes_first_input(const torch::jit::Node* node);

// The result may share memory with the first input (schema `Tensor(a) self -> Tensor(a)`):
// views (slice, select, transpose, view) and ops that return their input unchanged when they
// can (reshape, contiguous, to).
bool may_return_view_of_first_input(const torch::jit::Node* node);

}  // namespace htp::exporter
