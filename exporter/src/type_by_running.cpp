#include "type_by_running.h"

#include "htp/exporter/errors.h"

#include <spdlog/spdlog.h>

#include <torch/csrc/jit/runtime/custom_operator.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace htp::exporter {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// What the probe saw, by record id: a tensor value's type (merged over loop iterations) and, where
// kept, its first value, or for a block marker (no original value) only that the block ran.
struct Records {
  explicit Records(size_t ids) : types(ids), values(ids), seen(ids, false), kept(ids, false) {}

  void record(size_t id, const at::Tensor* tensor) {
    seen[id] = true;
    if (!tensor) return;
    if (kept[id] && !values[id].defined()) values[id] = *tensor;
    types[id] = types[id] ? merged(types[id], *tensor) : c10::TensorType::create(*tensor);
  }

  // Loop iterations may change sizes (a carried tensor that grows): only what every iteration
  // shares stays known.
  static c10::TensorTypePtr merged(const c10::TensorTypePtr& known, const at::Tensor& tensor) {
    if (known->scalarType() != tensor.scalar_type()) return c10::TensorType::get();
    auto sizes = known->sizes().concrete_sizes();
    if (sizes && *sizes == tensor.sizes().vec()) return known;
    auto rank = known->dim();
    return known->withSymbolicShapes(rank && *rank == static_cast<size_t>(tensor.dim()) ? c10::SymbolicShape(c10::optional<size_t>(*rank)) : c10::SymbolicShape());
  }

  std::vector<c10::TensorTypePtr> types;
  std::vector<at::Tensor> values;
  std::vector<bool> seen;
  // Whose values the run keeps; every other tensor goes once its last reader has run, so the run
  // holds what the model's own forward would, not every activation at once.
  std::vector<bool> kept;
};

thread_local Records* active_records = nullptr;

const c10::Symbol kRecord = c10::Symbol::fromQualString("htp::record");

// htp::record(value, id): the probe's hook, called after every tensor a node makes and at the
// start of every block (with None). Registered once, on first use.
void register_record_op() {
  static torch::jit::RegisterOperators registered({torch::jit::Operator(
      "htp::record(Tensor? value, int id) -> ()",
      [](torch::jit::Stack& stack) {
        auto id = static_cast<size_t>(stack.back().toInt());
        c10::IValue value = stack[stack.size() - 2];
        torch::jit::drop(stack, 2);
        bool tensor = value.isTensor() && value.toTensor().defined();
        if (active_records) active_records->record(id, tensor ? &value.toTensor() : nullptr);
      },
      c10::AliasAnalysisKind::CONSERVATIVE)});
}

// A copy of the graph that records its values, with each record id's original value.
struct Probe {
  struct Block {
    const Node* owner;   // the original prim::If / prim::Loop
    Node* probe_owner;   // its copy in the probe
    size_t index;        // which of its blocks
    size_t marker;       // record id of "this block ran"
  };

  std::shared_ptr<Graph> graph;
  std::vector<Value*> originals;  // by record id; nullptr for block markers
  std::vector<Block> blocks;      // pre-order: outer blocks first
};

class ProbeBuilder {
 public:
  explicit ProbeBuilder(const std::shared_ptr<Graph>& graph) { probe_.graph = graph->copy(); }

  Probe build(const std::shared_ptr<Graph>& original) {
    instrument(probe_.graph->block(), original->block());
    return std::move(probe_);
  }

 private:
  // Adds htp::record(value, id) before `before`; returns the id.
  size_t record(Value* value, Value* original, Node* before) {
    size_t id = probe_.originals.size();
    probe_.originals.push_back(original);
    torch::jit::WithInsertPoint guard(before);
    Value* recorded = value ? value : probe_.graph->insertConstant(c10::IValue());
    Value* id_value = probe_.graph->insertConstant(static_cast<int64_t>(id));
    probe_.graph->insertNode(probe_.graph->create(kRecord, {recorded, id_value}, 0));
    return id;
  }

  static bool is_tensor(const Value* value) { return value->type()->kind() == c10::TypeKind::TensorType; }

  // Records the values of `copy` (a copy of `original`, the `index`th block of `owner` unless it
  // is the graph's own block) and of its nested blocks.
  void instrument(Block* copy, Block* original, Node* probe_owner = nullptr, const Node* owner = nullptr, size_t index = 0) {
    std::vector<Node*> copies(copy->nodes().begin(), copy->nodes().end());  // before records join them
    std::vector<Node*> originals(original->nodes().begin(), original->nodes().end());
    if (owner) {
      Node* first = copy->param_node()->next();
      probe_.blocks.push_back({owner, probe_owner, index, record(nullptr, nullptr, first)});
      for (size_t i = 0; i < copy->inputs().size(); ++i) {  // a loop body's counter and carried values
        if (is_tensor(copy->inputs()[i])) record(copy->inputs()[i], original->inputs()[i], first);
      }
    }
    for (size_t n = 0; n < copies.size(); ++n) {
      Node* next = copies[n]->next();
      for (size_t b = 0; b < copies[n]->blocks().size(); ++b) {
        instrument(copies[n]->blocks()[b], originals[n]->blocks()[b], copies[n], originals[n], b);
      }
      for (size_t i = 0; i < copies[n]->outputs().size(); ++i) {
        if (is_tensor(copies[n]->outputs()[i])) record(copies[n]->outputs()[i], originals[n]->outputs()[i], next);
      }
    }
  }

  Probe probe_;
};

class RecordsScope {
 public:
  explicit RecordsScope(Records& records) { active_records = &records; }
  ~RecordsScope() { active_records = nullptr; }
};

// The interpreter's message opens with a generic line and a Python-style traceback; the line
// that says what went wrong ("RuntimeError: expected scalar type ...") comes last.
std::string interpreter_error(const std::string& text) {
  std::string best = first_line(text);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (auto at = line.find("Error: "); at != std::string::npos && at + 7 < line.size()) best = line.substr(at + 7);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return best;
}

// The forward's arguments: clones of the inputs, since the model may write to them.
torch::jit::Stack arguments(const c10::IValue& self, const std::vector<at::Tensor>& inputs) {
  torch::jit::Stack stack{self};
  for (const at::Tensor& input : inputs) stack.emplace_back(input.clone());
  return stack;
}

// Runs the probe on `stack` (the forward's arguments); leaves the forward's results there.
void run_probe(const Probe& probe, torch::jit::Stack& stack, Records& records, const std::string& context) {
  RecordsScope scope(records);
  try {
    torch::jit::Code code(probe.graph, "htp_probe");
    torch::jit::InterpreterState(code).run(stack);
  } catch (const std::exception& e) {
    throw ExportError(context + interpreter_error(e.what()));
  }
}

std::string where(const Node* node, const std::function<std::string(const Node*)>& scope_of) {
  std::string scope = scope_of(node);
  return std::string(node->kind().toQualString()) + " in module '" + (scope.empty() ? "<root>" : scope) + "'";
}

// A prim::If whose other branch a run forced, and which branch the inputs take.
struct ForcedIf {
  const Node* owner;
  size_t taken;
};

// A condition replaced by a constant in the probe, to be put back after the run.
struct Forcing {
  Node* probe_owner;
  Value* condition;
};

void force(Probe& probe, Node* probe_if, bool condition, std::vector<Forcing>& forcings) {
  forcings.push_back({probe_if, probe_if->input(0)});
  torch::jit::WithInsertPoint guard(probe_if);
  probe_if->replaceInput(0, probe.graph->insertConstant(condition));
}

// The first prim::If, not forced before, that ran one branch but not the other. Forces the next
// run into that other branch, and every enclosing If into the branch that holds it; the others
// follow the inputs, so that a failing run is that If's. Returns nothing when every If ran both ways.
std::optional<ForcedIf> force_next_untaken_branch(Probe& probe, const Records& records, std::unordered_set<const Node*>& forced,
                                                  std::vector<Forcing>& forcings) {
  for (size_t i = 0; i + 1 < probe.blocks.size(); ++i) {
    const Probe::Block& then_block = probe.blocks[i];
    if (then_block.owner->kind() != c10::prim::If || then_block.index != 0) continue;
    // The else block's marker follows every record of the then block.
    auto else_block = std::find_if(probe.blocks.begin() + i + 1, probe.blocks.end(),
                                   [&](const Probe::Block& b) { return b.probe_owner == then_block.probe_owner; });
    bool then_ran = records.seen[then_block.marker], else_ran = records.seen[else_block->marker];
    if (then_ran == else_ran || !forced.insert(then_block.owner).second) continue;  // both typed, or the If never ran yet
    force(probe, then_block.probe_owner, !then_ran, forcings);
    for (Node* inner = then_block.probe_owner; Node* outer = inner->owningBlock()->owningNode(); inner = outer) {
      if (outer->kind() == c10::prim::If) force(probe, outer, inner->owningBlock() == outer->blocks()[0], forcings);
    }
    return ForcedIf{then_block.owner, then_ran ? size_t{0} : size_t{1}};
  }
  return std::nullopt;
}

bool raises(const torch::jit::Block* block) {
  return std::any_of(block->nodes().begin(), block->nodes().end(), [](const Node* n) { return n->kind() == c10::prim::RaiseException; });
}

size_t depth(const Node* node) {
  size_t d = 0;
  for (const Node* up = node->owningBlock()->owningNode(); up; up = up->owningBlock()->owningNode()) ++d;
  return d;
}

// Replaces `node` (a prim::If) by the nodes of its block `taken`; the other block goes with it.
void inline_branch(Node* node, size_t taken) {
  torch::jit::Block* block = node->blocks()[taken];
  while (block->nodes().begin() != block->nodes().end()) (*block->nodes().begin())->moveBefore(node);
  for (size_t i = 0; i < node->outputs().size(); ++i) node->outputs()[i]->replaceAllUsesWith(block->outputs()[i]);
  node->destroy();
}

// Whether `node` is one of `ifs` or lies inside a block of one.
bool within(const Node* node, const std::vector<ForcedIf>& ifs) {
  for (const Node* up = node; up; up = up->owningBlock()->owningNode()) {
    if (std::any_of(ifs.begin(), ifs.end(), [&](const ForcedIf& f) { return f.owner == up; })) return true;
  }
  return false;
}

}  // namespace

RunResult type_by_running(const std::shared_ptr<Graph>& graph, const c10::IValue& self, const std::vector<at::Tensor>& inputs,
                          const std::function<std::string(const Node*)>& scope_of, const ValuesKept& keep) {
  register_record_op();
  Probe probe = ProbeBuilder(graph).build(graph);
  Records records(probe.originals.size());
  const std::unordered_set<const Value*> kept = keep(*graph);
  for (size_t id = 0; id < probe.originals.size(); ++id) records.kept[id] = kept.count(probe.originals[id]) != 0;
  RunResult result;
  torch::jit::Stack stack = arguments(self, inputs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    graph->inputs()[i + 1]->setType(c10::TensorType::create(inputs[i]));
    if (kept.count(graph->inputs()[i + 1])) result.values.emplace(graph->inputs()[i + 1], stack[i + 1].toTensor());
  }
  run_probe(probe, stack, records, "running the archive on the given inputs failed: ");
  result.results = std::move(stack);
  records.kept.assign(records.kept.size(), false);  // only the run on the real inputs gives values
  std::unordered_set<const Node*> forced;
  std::vector<ForcedIf> specialized;  // Ifs whose other branch could not run: only the taken one is exported
  std::vector<Forcing> forcings;
  std::vector<std::string> warnings;
  while (auto target = force_next_untaken_branch(probe, records, forced, forcings)) {
    torch::jit::Stack again = arguments(self, inputs);
    try {
      run_probe(probe, again, records, "");
    } catch (const ExportError& e) {
      // A branch guarded by its condition (`if boxes.numel() == 0:`) may fail on inputs that do not
      // take it. Like a trace, the export then keeps the branch these inputs take. A scripted
      // `assert` is an If whose other branch raises: keeping the passing branch is what it means.
      std::string message = where(target->owner, scope_of) + ": exporting only the branch these inputs take; the other fails on them: " + e.what();
      if (raises(target->owner->blocks()[1 - target->taken])) {
        spdlog::debug("{}", message);
      } else {
        warnings.push_back(message);
      }
      specialized.push_back(*target);
    }
    for (auto it = forcings.rbegin(); it != forcings.rend(); ++it) it->probe_owner->replaceInput(0, it->condition);
    forcings.clear();
  }
  for (const Probe::Block& block : probe.blocks) {
    if (records.seen[block.marker]) continue;
    if (within(block.owner, specialized)) continue;
    throw ExportError("cannot type the body of " + where(block.owner, scope_of) +
                      ": it never runs on the given inputs (give inputs that run it)");
  }
  for (size_t id = 0; id < probe.originals.size(); ++id) {
    Value* original = probe.originals[id];
    // An undefined tensor (the attention weights of _native_multi_head_attention without
    // need_weights) has no dtype or shape to record; the value stays untyped.
    if (!original || !records.types[id]) continue;
    original->setType(records.types[id]);
    if (original->node()->owningBlock() == graph->block() && records.values[id].defined()) result.values.emplace(original, records.values[id]);
  }
  if (specialized.empty()) return result;
  std::sort(specialized.begin(), specialized.end(), [](const ForcedIf& a, const ForcedIf& b) { return depth(a.owner) > depth(b.owner); });
  for (const ForcedIf& f : specialized) inline_branch(const_cast<Node*>(f.owner), f.taken);  // innermost first
  RunResult again = type_by_running(graph, self, inputs, scope_of, keep);  // the values of the nodes now at the top level
  again.warnings.insert(again.warnings.begin(), warnings.begin(), warnings.end());
  return again;
}

}  // namespace htp::exporter
