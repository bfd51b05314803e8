// A Transpose of a constant weight read only by MatMul/Gemm is done once, ahead of time: a Gemm
// flips its transA/transB instead, a MatMul reads a transposed copy of the weight (named after it,
// `fc.weight_transposed`). The consumers record the Transpose in htp.fused_from.
#include "passes/passes.h"

#include "attributes.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace htp::optimizer {
namespace {

// A MatMul or Gemm reading `tensor` as A or B only (a Gemm's C is not a weight).
bool reads_as_matrix(const onnx::NodeProto* node, const std::string& tensor) {
  if (!node->domain().empty() || (node->op_type() != "MatMul" && node->op_type() != "Gemm")) return false;
  return std::find(node->input().begin() + std::min(node->input_size(), 2), node->input().end(), tensor) ==
         node->input().end();
}

class FoldWeightTranspose : public Pass {
 public:
  const char* name() const override { return "FoldWeightTranspose"; }

  bool run(Graph& graph) override {
    bool changed = false;
    for (onnx::NodeProto* transpose : graph.nodes()) {
      if (transpose->op_type() != "Transpose" || !transpose->domain().empty() || transpose->input_size() != 1) continue;
      const std::string weight = transpose->input(0);
      const std::string output = transpose->output(0);
      std::vector<onnx::NodeProto*> readers = graph.consumers(output);
      const bool read_by_nodes_only = graph.use_count(output) == readers.size();
      std::sort(readers.begin(), readers.end());
      readers.erase(std::unique(readers.begin(), readers.end()), readers.end());  // MatMul(t, t)
      const bool only_matrix_reads = std::all_of(readers.begin(), readers.end(), [&](const onnx::NodeProto* reader) {
        return reads_as_matrix(reader, output);
      });
      if (!graph.is_constant(weight) || readers.empty() || !read_by_nodes_only || !only_matrix_reads) continue;
      auto value = graph.constant_value(weight);
      const std::optional<std::vector<int64_t>> perm = transpose_order(*transpose, value->dim());
      if (!perm) continue;
      const std::vector<int64_t>& order = *perm;
      const bool swaps_2d = value->dim() == 2 && order == std::vector<int64_t>{1, 0};
      std::string transposed;  // created on first need
      for (onnx::NodeProto* reader : readers) {
        for (int slot = 0; slot < std::min(reader->input_size(), 2); ++slot) {
          if (reader->input(slot) != output) continue;
          if (reader->op_type() == "Gemm" && swaps_2d) {
            const std::string flag = slot == 0 ? "transA" : "transB";
            set_int_attribute(*reader, flag, 1 - int_attribute(*reader, flag, 0));
            graph.set_input(reader, slot, weight);
          } else {
            if (transposed.empty()) {
              transposed = graph.add_initializer(weight + "_transposed", value->permute(order).contiguous());
            }
            graph.set_input(reader, slot, transposed);
          }
        }
        Graph::record_fusion(*reader, {reader, transpose});
      }
      graph.remove_node(transpose);
      graph.remove_constant_if_unused(weight);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_weight_transpose() { return std::make_unique<FoldWeightTranspose>(); }

}  // namespace htp::optimizer
