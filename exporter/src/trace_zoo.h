// Tracing a zoo model (C++ torch::nn) with the scope of every module call recorded.
#pragma once

#include "traced_graph.h"

#include "htp/zoo/zoo.h"

namespace htp::exporter {

// Precondition: the model's parameters do not require grad (the tracer embeds no such tensor).
// Postcondition: a flat graph whose inputs are the example inputs followed by every parameter
// and buffer used, each named by its state_dict key; node scopes are dotted module paths.
TracedGraph trace_zoo_model(const zoo::ZooModel& model, const std::vector<at::Tensor>& inputs);

}  // namespace htp::exporter
