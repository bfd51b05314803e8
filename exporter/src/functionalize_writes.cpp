#include "functionalize_writes.h"

#include "htp/exporter/errors.h"
#include "node_effects.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace htp::exporter {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;
using Runtime = std::unordered_map<const Value*, at::Tensor>;
using ScopeOf = std::function<std::string(const Node*)>;

bool is_tensor(const Value* value) {
  return value->type()->kind() == c10::TypeKind::TensorType;
}

// Dropout in eval mode (or with p = 0) is the identity: its in-place form writes nothing.
bool writes_nothing(const Node* node) {
  static const std::unordered_set<std::string> kDropout = {"aten::dropout_", "aten::feature_dropout_", "aten::alpha_dropout_",
                                                           "aten::feature_alpha_dropout_"};
  if (!kDropout.count(node->kind().toQualString())) return false;
  auto p = torch::jit::toIValue(node->input(1));
  auto train = torch::jit::toIValue(node->input(2));
  return (train && train->isBool() && !train->toBool()) || (p && p->isDouble() && p->toDouble() == 0.0);
}

// In-place ops that change the shape of their target, not the data it shares with a base.
bool reshapes_in_place(const Node* node) {
  static const std::unordered_set<std::string> kReshapes = {"aten::unsqueeze_", "aten::squeeze_", "aten::transpose_", "aten::t_",
                                                            "aten::swapaxes_", "aten::swapdims_", "aten::detach_"};
  return kReshapes.count(node->kind().toQualString()) != 0;
}

// aten::add_ → aten::add; the augmented operators: aten::__iand__ → aten::__and__.
std::string functional_kind(const std::string& kind) {
  if (auto at = kind.find("::__i"); at != std::string::npos && kind.size() > at + 7 && kind.substr(kind.size() - 2) == "__") {
    return kind.substr(0, at + 4) + kind.substr(at + 5);
  }
  return kind.substr(0, kind.size() - 1);
}

// The first node inside `node`'s blocks that writes in place, if any.
const Node* write_inside(const Node* node) {
  for (const torch::jit::Block* block : node->blocks()) {
    for (const Node* inner : block->nodes()) {
      if (writes_first_input(inner) && !writes_nothing(inner)) return inner;
      if (const Node* nested = write_inside(inner)) return nested;
    }
  }
  return nullptr;
}

const c10::StorageImpl* storage_of(const at::Tensor& tensor) {
  return tensor.defined() && tensor.has_storage() ? tensor.storage().unsafeGetStorageImpl() : nullptr;
}

// Whether two tensors of one storage have an element in common (the pieces of a split do not),
// found by marking one's elements in a map of the storage.
bool overlaps(const at::Tensor& a, const at::Tensor& b) {
  if (a.itemsize() != b.itemsize()) return true;  // one storage viewed as two dtypes: assume the worst
  auto length = static_cast<int64_t>(a.storage().nbytes() / a.itemsize());
  at::Tensor covered = at::zeros({length}, at::kBool);
  covered.as_strided(a.sizes(), a.strides(), a.storage_offset()).fill_(true);
  return covered.as_strided(b.sizes(), b.strides(), b.storage_offset()).any().item<bool>();
}

class Functionalizer {
 public:
  Functionalizer(Graph& graph, const Runtime& runtime, ScopeOf scope_of)
      : graph_(graph), runtime_(runtime), scope_of_(std::move(scope_of)) {}

  bool run() {
    std::vector<Node*> nodes(graph_.nodes().begin(), graph_.nodes().end());
    bool writes = std::any_of(nodes.begin(), nodes.end(), [](const Node* n) { return writes_first_input(n) || write_inside(n); });
    if (!writes) return false;
    nodes.push_back(graph_.return_node());
    for (Value* input : graph_.inputs()) share(input);
    for (Node* node : nodes) {
      if (writes_first_input(node) || node->kind() == c10::prim::Constant) continue;
      for (Value* output : node->outputs()) share(output);
    }
    for (Node* node : nodes) visit(node);
    if (changed_) torch::jit::EliminateDeadCode(graph_.block());
    return added_;
  }

 private:
  // A tensor's place in a view chain, and the value holding its contents now.
  struct Alias {
    Value* root;              // the tensor the chain starts from
    Value* parent = nullptr;  // what `view` took this view of; null for a root
    Node* view = nullptr;
    Value* current;      // the value holding the contents now
    size_t version = 0;  // the root's write count `current` reflects
  };

  void share(Value* value) {
    if (const at::Tensor* tensor = value_of(value)) {
      if (const c10::StorageImpl* storage = storage_of(*tensor)) sharing_[storage].push_back(value);
    }
  }

  const at::Tensor* value_of(const Value* value) const {
    auto it = runtime_.find(value);
    return it == runtime_.end() ? nullptr : &it->second;
  }

  [[noreturn]] void refuse(const Node* node, const std::string& why) const {
    throw conversion_error(node->kind().toQualString(), scope_of_(node), why);
  }

  // Every node reads the current contents of its inputs; a write rebinds its target.
  void visit(Node* node) {
    torch::jit::WithInsertPoint guard(node);
    if (!node->blocks().empty()) {
      if (const Node* inner = write_inside(node)) refuse(inner, "writes in place inside control flow");
      read_free_values(node);
    }
    if (reads_shape_only(node)) return;  // a write changes no size
    std::vector<Value*> original(node->inputs().begin(), node->inputs().end());
    for (size_t i = 0; i < original.size(); ++i) {
      Value* now = read(original[i]);
      if (now != original[i]) node->replaceInput(i, now);
    }
    auto kind = node->kind();
    if (kind == c10::prim::ListConstruct || kind == c10::prim::TupleConstruct || kind == c10::prim::DictConstruct) {
      containers_.emplace_back(node, tensors(original));
    } else if (writes_first_input(node) && is_tensor(original[0])) {
      functionalize(node, original[0]);
    } else if (!original.empty() && is_view(node, original[0])) {
      Value* root = alias(original[0]).root;
      aliases_[node->output()] = Alias{root, original[0], node, node->output(), versions_[root]};
    }
  }

  // Values from outside read inside an If/Loop body read their current contents too.
  void read_free_values(Node* owner) {
    for (torch::jit::Block* block : owner->blocks()) {
      std::vector<Node*> inner(block->nodes().begin(), block->nodes().end());
      inner.push_back(block->return_node());
      for (Node* node : inner) {
        for (size_t i = 0; i < node->inputs().size(); ++i) {
          Value* input = node->input(i);
          if (input->node()->owningBlock() != graph_.block()) continue;
          Value* now = read(input);
          if (now != input) node->replaceInput(i, now);
        }
        read_free_values(node);
      }
    }
  }

  std::vector<const at::Tensor*> tensors(const std::vector<Value*>& values) const {
    std::vector<const at::Tensor*> found;
    for (const Value* value : values) {
      if (const at::Tensor* tensor = value_of(value)) found.push_back(tensor);
    }
    return found;
  }

  // A view by its schema whose result shared its input's memory in the run: reshape and
  // contiguous copy when they must, and such a copy is a tensor of its own.
  bool is_view(const Node* node, const Value* input) const {
    if (node->outputs().size() != 1 || !may_return_view_of_first_input(node)) return false;
    const at::Tensor* result = value_of(node->output());
    const at::Tensor* base = value_of(input);
    return result && base && result->is_alias_of(*base);
  }

  Alias& alias(Value* value) {
    auto it = aliases_.find(value);
    if (it != aliases_.end()) return it->second;
    return aliases_.emplace(value, Alias{value, nullptr, nullptr, value, 0}).first->second;
  }

  // The value holding `value`'s contents now: a view whose base was written since it was taken
  // is taken again from the new base.
  Value* read(Value* value) {
    if (!is_tensor(value)) return value;
    Alias& entry = alias(value);
    size_t version = versions_[entry.root];
    if (entry.version == version || !entry.parent) return entry.current;
    Value* base = read(entry.parent);
    Value* old_base = entry.view->input(0);
    Node* again = graph_.createClone(entry.view, [&](Value* input) { return input == old_base ? base : input; });
    graph_.insertNode(again);
    again->output()->setType(entry.view->output()->type());
    entry.current = again->output();
    entry.version = version;
    changed_ = added_ = true;
    return entry.current;
  }

  // `x.op_(args)` → `op(x, args)` in x's dtype, which x holds from now on.
  void functionalize(Node* node, Value* target) {
    changed_ = true;
    if (!writes_nothing(node)) {
      std::string kind = functional_kind(node->kind().toQualString());
      Value* result = emit(graph_.create(c10::Symbol::fromQualString(kind), node->inputs()), node, target->type(),
                           "it has no functional form " + kind);
      result = emit(graph_.create(c10::aten::type_as, {result, node->input(0)}), node, target->type(), "");
      if (reshapes_in_place(node)) {
        reshape(target, result, node);
      } else {
        write(target, result, node);
      }
    }
    node->output()->replaceAllUsesWith(target);
    node->destroy();
  }

  // `target` is `reshaped` from now on; its base and other views keep their shapes.
  void reshape(Value* target, Value* reshaped, const Node* op) {
    Alias& entry = alias(target);
    if (entry.parent) refuse(op, "it changes the shape of a view in place, which a base written later could not follow");
    entry.current = reshaped;
  }

  // `target` holds `contents` from now on; so does every tensor of its view chain, up to the
  // base, each its old contents with the new part scattered in.
  void write(Value* target, Value* contents, Node* writer) {
    Value* root = alias(target).root;
    if (root->node()->kind() == c10::prim::GetAttr) {
      refuse(writer, "it writes a parameter or buffer in place: module state that outlives the call, which ONNX cannot hold");
    }
    check_no_hidden_alias(target, root, writer);
    std::vector<std::pair<Value*, Value*>> updated{{target, contents}};
    for (Value* value = target; alias(value).parent;) {
      const Alias& view = alias(value);
      contents = scatter_into(view, read(view.parent), contents, writer);
      value = view.parent;
      updated.emplace_back(value, contents);
    }
    size_t version = ++versions_[root];
    for (const auto& [value, now] : updated) {
      Alias& entry = alias(value);
      entry.current = now;
      entry.version = version;
    }
  }

  // The inverse of one view: `base` with `contents` written where the view looks.
  Value* scatter_into(const Alias& view, Value* base, Value* contents, Node* writer) {
    const Node* v = view.view;
    const c10::TypePtr& type = view.parent->type();
    auto make = [&](const char* kind, const std::vector<Value*>& inputs) {
      return emit(graph_.create(c10::Symbol::fromQualString(kind), inputs), writer, type, "");
    };
    auto kind = v->kind();
    if (kind == c10::aten::slice) return make("aten::slice_scatter", {base, contents, v->input(1), v->input(2), v->input(3), v->input(4)});
    if (kind == c10::aten::select) return make("aten::select_scatter", {base, contents, v->input(1), v->input(2)});
    if (kind == c10::aten::narrow && v->input(2)->type()->kind() == c10::TypeKind::IntType) {
      Value* end = emit(graph_.create(c10::aten::add, {v->input(2), v->input(3)}), writer, c10::IntType::get(), "");
      return make("aten::slice_scatter", {base, contents, v->input(1), v->input(2), end, graph_.insertConstant(1)});
    }
    if (kind == c10::aten::transpose || kind == c10::aten::swapaxes || kind == c10::aten::swapdims) {
      return make("aten::transpose", {contents, v->input(1), v->input(2)});
    }
    if (kind == c10::aten::t) return make("aten::t", {contents});
    if (kind == c10::aten::permute) {
      if (auto dims = torch::jit::toIValue(v->input(1))) {
        std::vector<int64_t> order = dims->toIntVector(), inverse(order.size());
        auto rank = static_cast<int64_t>(order.size());
        for (int64_t i = 0; i < rank; ++i) inverse[static_cast<size_t>((order[i] % rank + rank) % rank)] = i;
        return make("aten::permute", {contents, graph_.insertConstant(inverse)});
      }
    }
    // Other views are told by the memory they covered in the run.
    const at::Tensor* seen = value_of(v->output());
    const at::Tensor* whole = value_of(view.parent);
    if (seen && whole) {
      if (seen->sizes() == whole->sizes() && seen->strides() == whole->strides() && seen->storage_offset() == whole->storage_offset()) {
        return contents;  // contiguous(), to(), detach(), an expand to the same shape
      }
      if (seen->is_contiguous() && whole->is_contiguous() && seen->storage_offset() == whole->storage_offset() &&
          seen->numel() == whole->numel()) {
        return make("aten::reshape_as", {contents, base});  // view, reshape, flatten, squeeze, unsqueeze
      }
      for (size_t d = 0; d < static_cast<size_t>(seen->dim()); ++d) {
        if (seen->stride(d) == 0 && seen->size(d) > 1) {
          refuse(writer, std::string("it writes through ") + kind.toQualString() +
                             ", where one element of the base appears several times: ONNX cannot write that back");
        }
      }
    }
    refuse(writer, std::string("it writes through a view made by ") + kind.toQualString() + ", which has no scatter form in ONNX");
  }

  // A write must reach everything that reads the written memory afterwards: views this pass
  // follows do; other sharers (split's pieces, lists built before the write) would read stale
  // values.
  void check_no_hidden_alias(Value* target, Value* root, Node* writer) {
    const at::Tensor* written = value_of(target);
    const c10::StorageImpl* storage = written ? storage_of(*written) : nullptr;
    if (!storage) return;
    if (auto it = sharing_.find(storage); it != sharing_.end()) {
      for (Value* other : it->second) {
        if (other == root || !defined_before(other, writer) || alias(other).root == root || !read_after(other, writer) ||
            !overlaps(*written, *value_of(other))) {
          continue;
        }
        refuse(writer, "it writes memory that " + describe(other) +
                           " shares without being a view of the written tensor, and reads afterwards; ONNX values cannot share memory");
      }
    }
    for (const auto& [container, held] : containers_) {
      bool holds = std::any_of(held.begin(), held.end(), [&](const at::Tensor* t) { return storage_of(*t) == storage && overlaps(*written, *t); });
      if (holds && read_after(container->output(), writer)) {
        refuse(writer, std::string("it writes a tensor held in a ") + container->kind().toQualString() +
                           " built before the write and read after it");
      }
    }
  }

  std::string describe(const Value* value) const {
    const Node* maker = value->node();
    if (maker->kind() == c10::prim::Param) return "the model input '" + value->debugNameBase() + "'";
    std::string scope = scope_of_(maker);
    return std::string("the result of ") + maker->kind().toQualString() + " in module '" + (scope.empty() ? "<root>" : scope) + "'";
  }

  bool defined_before(const Value* value, const Node* writer) const {
    return value->node()->kind() == c10::prim::Param || value->node()->isBefore(writer);
  }

  bool read_after(const Value* value, const Node* writer) const {
    for (const auto& use : value->uses()) {
      const Node* user = use.user;
      while (user->owningBlock() != graph_.block()) user = user->owningBlock()->owningNode();
      if (user == graph_.return_node() || user->isAfter(writer)) return true;
    }
    return false;
  }

  // Inserts `node` with the metadata (scope, call stack) of `like`; refuses `like` with
  // `missing` when no operator matches the inputs.
  Value* emit(Node* node, Node* like, const c10::TypePtr& type, const std::string& missing) {
    node->copyMetadata(like);
    graph_.insertNode(node);
    added_ = true;
    if (!node->maybeOperator()) {
      node->destroy();
      refuse(like, missing.empty() ? "no operator matches its functional form" : missing);
    }
    node->output()->setType(type);
    return node->output();
  }

  Graph& graph_;
  const Runtime& runtime_;
  ScopeOf scope_of_;
  std::unordered_map<Value*, Alias> aliases_;  // node-based: references stay valid as it grows
  std::unordered_map<Value*, size_t> versions_;  // writes per root
  std::unordered_map<const c10::StorageImpl*, std::vector<Value*>> sharing_;  // the run's tensors by memory
  std::vector<std::pair<const Node*, std::vector<const at::Tensor*>>> containers_;  // with the tensors they held
  bool changed_ = false;
  bool added_ = false;  // nodes whose values no run has typed
};

}  // namespace

bool writes_in_place(const Node* node) {
  return (writes_first_input(node) && !writes_nothing(node)) || write_inside(node);
}

bool functionalize_writes(Graph& graph, const Runtime& runtime, const ScopeOf& scope_of) {
  return Functionalizer(graph, runtime, scope_of).run();
}

}  // namespace htp::exporter
