// Fusion partition of a tagged ONNX graph: logical ops (SiLU = Sigmoid + Mul counted as one), greedy
// fusion along single-consumer edges inside one fusion unit of the module hierarchy, and per subgraph
// FLOPs, external and fused-away bytes, arithmetic intensity and roofline class. docs/partition.md
// defines every figure. Torch-free.
#pragma once

#include "htp/analysis/costs.h"

#include <nlohmann/json_fwd.hpp>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace htp::analysis {

// A processor as the roofline model sees it; `source` names the documents the numbers come from.
struct DeviceProfile {
  std::string name;
  double peak_flops = 0;  // FLOP/s
  double bandwidth = 0;   // bytes/s from main memory
  std::string description;
  double ridge() const { return peak_flops / bandwidth; }  // FLOP/byte where compute and memory time meet
};

const std::vector<DeviceProfile>& device_profiles();
// Throws htp::Error listing the known names when `name` is not one of them.
const DeviceProfile& device_profile(const std::string& name);

// Roofline classes by arithmetic intensity I against the ridge R (see docs/partition.md):
// compute-bound I >= R, balanced R/2 <= I < R, memory-bound R/10 <= I < R/2, bandwidth-bound I < R/10.
enum class Bottleneck { kComputeBound, kBalanced, kMemoryBound, kBandwidthBound };
Bottleneck classify(double intensity, const DeviceProfile& device);
const char* bottleneck_name(Bottleneck bottleneck);

// The module whose boundary no fused subgraph crosses, chosen per node scope.
struct FusionUnit {
  enum class Kind {
    kInnermostNonLeaf,  // the scope itself when it has children, else its parent (default)
    kDepth,             // the scope's ancestor at `depth` (root = 0), the scope itself when shallower
    kClasses,           // the innermost ancestor-or-self whose class is in `classes`, else the root
  };
  Kind kind = Kind::kInnermostNonLeaf;
  int depth = 0;
  std::vector<std::string> classes;
};

// One op as the partition counts it: a node, or the Sigmoid + Mul(x, Sigmoid(x)) pair named SiLU.
struct LogicalOp {
  std::string name;         // op type, or "SiLU"
  std::vector<int> nodes;   // node indices in the main graph, in graph order
  std::string scope;        // htp.scope of its nodes ("" = root)
  std::string unit;         // scope of its fusion unit
};

struct Subgraph {
  std::vector<int> ops;     // indices into Partition::ops, in topological order
  std::string unit;
  std::string pattern;      // op names joined by '_', e.g. "Conv_BatchNormalization_SiLU"
  double flops = 0;
  int64_t external_bytes = 0;    // tensors entering (activations and weights) plus tensors leaving, once each
  int64_t fused_away_bytes = 0;  // internal tensors: their write and every read by a node inside
  double intensity = 0;          // flops / external_bytes (0 when there are no external bytes)
  Bottleneck bottleneck = Bottleneck::kBandwidthBound;
  bool costs_known = true;       // false when a node cost or a tensor size was unknown
  bool se_block = false;         // squeeze-and-excitation: pool, Conv, act, Conv, gate, Mul with the pooled input
  bool attention = false;        // MatMul -> (scale) -> (mask Add) -> Softmax -> MatMul
};

struct Partition {
  std::vector<LogicalOp> ops;
  std::vector<Subgraph> subgraphs;
};

// Partitions the main graph of a tagged model (one with `htp.modules`; throws htp::Error otherwise).
// Constant nodes are not ops: their outputs count as weights. Linear in the graph size.
Partition partition_model(const onnx::ModelProto& model, const GraphCosts& costs, const FusionUnit& unit,
                          const DeviceProfile& device);

// The per-model row: ops, subgraphs, fusion efficiency, single-op share, SE and Conv->BN->SiLU
// blocks, attention blocks, memory reduction, mean intensity, GFLOPs, bottleneck distribution.
nlohmann::json partition_summary(const Partition& partition);
// The summary plus every subgraph (unit, pattern, node names, bytes, intensity, class).
nlohmann::json partition_report(const onnx::ModelProto& model, const Partition& partition);

// Markdown: one row per model summary, and for two or more rows the mean, standard deviation and
// coefficient of variation of fusion efficiency, single-op share and memory reduction.
std::string summary_table(const std::vector<nlohmann::json>& summaries);
// Mean, population standard deviation and coefficient of variation of `key` over the summaries.
nlohmann::json spread(const std::vector<nlohmann::json>& summaries, const std::string& key);

}  // namespace htp::analysis
