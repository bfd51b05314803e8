// MatMul(A, B) + C becomes Gemm(A, B, C) when A has rank 2, B is a constant matrix and C a constant
// that broadcasts onto the [M, N] result the way Gemm allows (a scalar, [N], [1, N], [M, N], ...).
// The Gemm keeps the MatMul's tags.
#include "passes/passes.h"

#include <ATen/ATen.h>

namespace htp::optimizer {
namespace {

bool gemm_supports(int32_t elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      return true;
    default:
      return false;
  }
}

// Gemm broadcasts C one way onto [rows, columns]; rows is -1 when unknown.
bool broadcasts_onto(const std::vector<int64_t>& bias, int64_t rows, int64_t columns) {
  if (bias.size() > 2) return false;
  const int64_t last = bias.empty() ? 1 : bias.back();
  if (last != 1 && last != columns) return false;
  return bias.size() < 2 || bias[0] == 1 || (rows >= 0 && bias[0] == rows);
}

class FuseMatMulAdd : public Pass {
 public:
  const char* name() const override { return "FuseMatMulAdd"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* add : graph.nodes()) {
      if (graph.is_removed(add) || add->op_type() != "Add" || !add->domain().empty() || add->input_size() != 2) continue;
      for (int side = 0; side < 2; ++side) {
        if (fuse(graph, *add, side)) {
          changed = true;
          break;
        }
      }
    }
    return changed;
  }

 private:
  static bool fuse(Graph& graph, onnx::NodeProto& add, int matmul_side) {
    onnx::NodeProto* matmul = graph.producer(add.input(matmul_side));
    if (matmul == nullptr || matmul->op_type() != "MatMul" || !matmul->domain().empty()) return false;
    if (!graph.has_single_consumer(matmul->output(0))) return false;
    auto a = graph.tensor_info(matmul->input(0));
    auto b = graph.tensor_info(matmul->input(1));
    auto c = graph.tensor_info(add.input(1 - matmul_side));
    if (!a || !a->dims || a->dims->size() != 2 || !gemm_supports(a->elem_type)) return false;
    if (!graph.is_constant(matmul->input(1)) || !b || !b->dims || b->dims->size() != 2) return false;
    if (!graph.is_constant(add.input(1 - matmul_side)) || !c || !c->dims) return false;
    if (!broadcasts_onto(*c->dims, (*a->dims)[0], (*b->dims)[1])) return false;
    onnx::NodeProto gemm = graph.derived_node(*matmul, "Gemm");
    gemm.add_input(matmul->input(0));
    gemm.add_input(matmul->input(1));
    gemm.add_input(add.input(1 - matmul_side));
    gemm.add_output(add.output(0));
    Graph::record_fusion(gemm, {matmul, &add});
    graph.remove_node(&add);
    graph.remove_node(matmul);
    graph.insert_node(std::move(gemm), &add);
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_matmul_add() { return std::make_unique<FuseMatMulAdd>(); }

}  // namespace htp::optimizer
