// The pass interface and the graph-editing layer every optimizer pass works through.
//
// A pass is a small class (one per file in passes/) that rewrites the main graph of a model and says
// whether it changed anything. Passes never edit the GraphProto directly: they go through Graph, which
// keeps the producer/consumer/initializer indexes current, counts what was added and removed (the
// pass manager's per-pass attribution), and keeps tags (htp.* node metadata) on the nodes that remain.
// Subgraphs (If/Loop/Scan bodies) are not rewritten; names they read from the outer graph count as
// uses and are never renamed.
#pragma once

#include <ATen/core/Tensor.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace htp::optimizer {

// What a pass changed; node edits in place (new inputs, new attributes) count as neither.
struct EditCounts {
  int64_t nodes_added = 0;
  int64_t nodes_removed = 0;
  int64_t initializers_added = 0;
  int64_t initializers_removed = 0;
};

// Metadata key on optimizer-made nodes: a JSON array with one {"name", "scope"} object per original
// node the node now computes, principal first, then the others in graph order ("scope" only where it had
// htp.scope). Fusing an already fused node flattens its list into the new one.
inline constexpr const char* kFusedFromKey = "htp.fused_from";

// What the model declares about a tensor. `dims` holds -1 for a symbolic or unknown dimension and
// is empty (nullopt) when not even the rank is known; `elem_type` is 0 when unknown.
struct TensorInfo {
  int32_t elem_type = 0;
  std::optional<std::vector<int64_t>> dims;
  // Symbolic names (dim_param) by dim index, "" for none; shorter than `dims` (or empty) when the dims past
  // its end have none. Dims with the same name have the same size.
  std::vector<std::string> dim_params;
  // True when the rank and every dimension are known.
  bool is_static() const;
};

class Graph {
 public:
  // `model_dir` is where external-data initializers are read from.
  Graph(onnx::ModelProto& model, std::string model_dir);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& proto() { return *model_.mutable_graph(); }
  const std::string& model_dir() const { return model_dir_; }
  // The opset of the default ("" / ai.onnx) domain.
  int64_t opset() const;

  // Live nodes in graph order (inserted ones at their place). A snapshot: nodes removed while a pass
  // walks it stay in it, so check is_removed(); nodes inserted meanwhile are not in it.
  std::vector<onnx::NodeProto*> nodes() const;
  bool is_removed(const onnx::NodeProto* node) const { return removed_.count(node) > 0; }

  // The node producing `tensor`; nullptr for graph inputs, initializers and unknown names.
  onnx::NodeProto* producer(const std::string& tensor) const;
  // One entry per input slot reading `tensor` (a node reading it twice appears twice).
  const std::vector<onnx::NodeProto*>& consumers(const std::string& tensor) const;
  bool is_graph_input(const std::string& tensor) const;
  bool is_graph_output(const std::string& tensor) const;
  // Reads of `tensor`: consumer slots, graph outputs and subgraph references.
  size_t use_count(const std::string& tensor) const;
  // True when `tensor` is read by exactly one node input and nothing else (not a graph output).
  bool has_single_consumer(const std::string& tensor) const;
  // True when one of the node's outputs has a use (use_count above).
  bool is_read(const onnx::NodeProto& node) const;

  // The initializer named `name`, or nullptr. An initializer that is also a graph input can be
  // overridden at run time; constant_value() treats it as not constant, this does not.
  onnx::TensorProto* initializer(const std::string& name) const;
  // The value of a constant tensor: an initializer that is not a graph input, or the output of a
  // Constant node (tensor, float(s), int(s) forms). External data is read from model_dir().
  std::optional<at::Tensor> constant_value(const std::string& tensor) const;
  bool is_constant(const std::string& tensor) const;
  // Type and shape from initializers, Constant nodes, graph inputs/outputs and value_info (which
  // optimize() fills with ONNX shape inference first); nullopt when nothing is declared.
  std::optional<TensorInfo> tensor_info(const std::string& tensor) const;
  // The rank tensor_info declares, or nullopt.
  std::optional<int64_t> rank(const std::string& tensor) const;
  // Adds an inline initializer holding `value`, named unique_name(base_name); returns the name.
  std::string add_initializer(const std::string& base_name, const at::Tensor& value);
  void remove_initializer(const std::string& name);
  // Removes the initializer or Constant node holding `tensor` once nothing reads it (after a
  // fusion replaced its last reader); anything else is left alone.
  void remove_constant_if_unused(const std::string& tensor);
  std::vector<std::string> initializer_names() const;

  // `base` if no node, tensor or initializer has that name yet, else `base_1`, `base_2`, ...;
  // the name is reserved.
  std::string unique_name(const std::string& base);

  // Places `node` right before `before` (which may be removed afterwards: the new node takes its
  // place), or at the end for nullptr. The pass keeps the order topological. Returns the stored node.
  onnx::NodeProto* insert_node(onnx::NodeProto node, const onnx::NodeProto* before);
  void remove_node(onnx::NodeProto* node);
  void set_input(onnx::NodeProto* node, int index, const std::string& tensor);
  void set_output(onnx::NodeProto* node, int index, const std::string& tensor);

  // Makes every reader of `from` read `to` instead, for when `from`'s producer is about to go. If
  // `from` is a graph output, `to` is renamed to `from` instead (at its producer and all readers),
  // so the model's interface keeps its names. Returns false and changes nothing when that is
  // impossible (see can_replace_all_uses).
  bool replace_all_uses(const std::string& from, const std::string& to);
  // False when `from` is read by a subgraph, or when `from` is a graph output and `to` is not a
  // plain node output (a graph input, an initializer, a graph output itself, or read by a subgraph).
  bool can_replace_all_uses(const std::string& from, const std::string& to) const;

  // A new node of `op_type` standing in for `principal`: principal's tag metadata, a name derived
  // from principal's (its trailing "/OpType" replaced, made unique), no inputs or outputs yet.
  onnx::NodeProto derived_node(const onnx::NodeProto& principal, const std::string& op_type,
                               const std::string& domain = "");
  // Sets htp.fused_from on `node` to the `originals` it now computes (principal first; pass `node`
  // itself first when it absorbs others in place). Tag keys other than htp.fused_from are untouched.
  static void record_fusion(onnx::NodeProto& node, const std::vector<const onnx::NodeProto*>& originals);

  // Applies removals and insertions to the GraphProto (done by the pass manager after each pass).
  // Pointers to live nodes stay valid. The first commit also drops the value_info entries of names no
  // node produces (graph inputs, initializers, dangling declarations), so that later passes read a
  // graph input's type from its declaration.
  void commit();
  // After the last pass, if any committed: drops the value_info entries of tensors later passes
  // removed. Until then those entries are unreachable (a removed tensor's name is never given to
  // another tensor); sweeping them after every pass would cost a lookup per tensor per pass.
  void finish();
  const EditCounts& counts() const { return counts_; }

 private:
  // What the graph knows about one name. All indexes live in one table keyed by name, so that a
  // query costs one string lookup however many indexes it reads.
  struct NameEntry {
    onnx::NodeProto* producer = nullptr;
    // One entry per input slot reading the tensor.
    std::vector<onnx::NodeProto*> consumers;
    onnx::TensorProto* initializer = nullptr;
    // The graph input, output or value_info declaring the tensor (value_info first).
    const onnx::ValueInfoProto* declared = nullptr;
    size_t subgraph_uses = 0;
    // unique_name's last suffix for this base.
    size_t next_suffix = 0;
    bool graph_input = false;
    bool graph_output = false;
    // Taken: unique_name never returns it. Names only read (inputs of no known tensor) are not.
    bool reserved = false;
  };

  NameEntry& entry(const std::string& name) { return names_[name]; }
  const NameEntry* find(const std::string& name) const;
  // Reserves the node's name, output names and the names its subgraphs read, and indexes it.
  void index_node(onnx::NodeProto* node);
  void unindex_node(onnx::NodeProto* node);
  void rename_tensor(const std::string& from, const std::string& to);
  void drop_stale_value_info();
  // Records `values` as declaring their names, where nothing declared them before.
  void declare(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values);

  onnx::ModelProto& model_;
  std::string model_dir_;
  std::unordered_map<std::string, NameEntry> names_;
  std::unordered_set<const onnx::NodeProto*> removed_;
  std::unordered_set<const onnx::TensorProto*> removed_initializers_;
  // Inserted node -> the node it goes before (nullptr: the end), until commit(); also in order.
  std::unordered_map<const onnx::NodeProto*, const onnx::NodeProto*> placement_;
  std::vector<std::pair<onnx::NodeProto*, const onnx::NodeProto*>> insertions_;
  EditCounts counts_;
  bool committed_ = false;
};

class Pass {
 public:
  virtual ~Pass() = default;
  // The pass's name in reports and allow/deny lists, e.g. "FuseConvBatchNorm".
  virtual const char* name() const = 0;
  // Rewrites the graph; returns whether anything changed.
  virtual bool run(Graph& graph) = 0;
};

}  // namespace htp::optimizer
