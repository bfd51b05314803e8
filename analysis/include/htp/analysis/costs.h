// Per-node compute and memory cost of an ONNX graph: ONNX shape inference first, then FLOPs and
// bytes per node by op type. The formulas are in docs/costs.md. Torch-free.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace htp::analysis {

struct NodeCost {
  double macs = 0;   // multiply-accumulates of Conv, ConvTranspose, Gemm, MatMul (0 for other ops)
  double flops = 0;  // floating-point operations: 2 * macs for those, per-element counts for the rest
  // Bytes the node reads and writes at its element types: activations (tensors computed by nodes or
  // graph inputs) and weights (initializers and Constant outputs) read, outputs written.
  int64_t activation_bytes_read = 0;
  int64_t weight_bytes_read = 0;
  int64_t bytes_written = 0;
  bool known = true;  // false when a shape the formula needs is unknown (the counts are then 0)
};

struct GraphCosts {
  std::vector<NodeCost> nodes;                            // by node index in the model's main graph
  std::unordered_map<std::string, int64_t> tensor_bytes;  // every tensor whose static size is known
  double total_macs() const;
  double total_flops() const;
};

// Runs ONNX shape inference on a copy of `model` (symbolic dims named in `dims` take those values,
// e.g. {"batch", 1}; graph inputs keep their declared static dims) and computes every node's cost.
GraphCosts compute_costs(const onnx::ModelProto& model, const std::map<std::string, int64_t>& dims = {});

}  // namespace htp::analysis
