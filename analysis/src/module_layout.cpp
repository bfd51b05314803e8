#include "htp/analysis/module_layout.h"

#include "htp/tagging/metadata.h"
#include "htp/tagging/reports.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace htp::analysis {
namespace {

// The index of `scope` or of its longest dotted prefix in `index`; 0 (the root) when none is there.
int nearest_listed(const std::unordered_map<std::string, int>& index, std::string scope) {
  for (;;) {
    if (auto it = index.find(scope); it != index.end()) return it->second;
    if (scope.empty()) return 0;
    const auto dot = scope.rfind('.');
    scope = dot == std::string::npos ? "" : scope.substr(0, dot);
  }
}

// The listed modules by index, before ordering: scope, class and parent scope.
struct Listing {
  std::vector<ModuleLayout::Module> modules;
  std::vector<std::string> parent_scope;
  std::unordered_map<std::string, int> index;

  int add(const std::string& scope, const std::string& class_name, const std::string& parent) {
    auto [it, added] = index.emplace(scope, static_cast<int>(modules.size()));
    if (!added) return it->second;
    modules.push_back({scope, class_name, -1, 0, {}});
    parent_scope.push_back(parent);
    return it->second;
  }

  int listed(const std::string& scope) const { return nearest_listed(index, scope); }
};

Listing read_listing(const onnx::ModelProto& model, bool& tagged) {
  const nlohmann::json listed = tagging::listed_modules(model);
  tagged = !listed.empty();
  Listing listing;
  const auto root = listed.find("");
  listing.add("", tagged ? (root != listed.end() && root->is_object() ? root->value("class", "") : "") : "(unknown)", "");
  for (const auto& [scope, info] : listed.items()) {
    if (scope.empty() || !info.is_object()) continue;
    const auto parent = info.find("parent");
    listing.add(scope, info.value("class", ""), parent != info.end() && parent->is_string() ? parent->get<std::string>() : "");
  }
  return listing;
}

}  // namespace

int ModuleLayout::owner_of(const std::string& name) const { return nearest_listed(index_of_scope, name); }

ModuleLayout module_layout(const onnx::ModelProto& model) {
  ModuleLayout layout;
  Listing listing = read_listing(model, layout.tagged);
  const int count = static_cast<int>(listing.modules.size());

  // Parent links (a parent that is not listed is its nearest listed ancestor), then each module's
  // first node, so that siblings come in the order they run.
  std::vector<int> parent_of(count, -1);
  std::vector<std::vector<int>> children(count);
  for (int m = 1; m < count; ++m) {
    const int parent = listing.listed(listing.parent_scope[m]);
    parent_of[m] = parent == m ? 0 : parent;
    children[parent_of[m]].push_back(m);
  }
  layout.nodes = tagging::all_nodes(model.graph());
  std::vector<int> own_module(layout.nodes.size());
  std::vector<size_t> subtree_first(count, std::numeric_limits<size_t>::max());
  for (size_t i = 0; i < layout.nodes.size(); ++i) {
    const int m = layout.tagged ? listing.listed(tagging::node_metadata(*layout.nodes[i], tagging::kScopeKey).value_or("")) : 0;
    own_module[i] = m;
    subtree_first[m] = std::min(subtree_first[m], i);
  }

  // Modules reachable from the root, parents first (iteratively: a listing may be deep). A parent
  // cycle is never reached, and its modules are dropped.
  std::vector<int> reached = {0};
  for (size_t k = 0; k < reached.size(); ++k) reached.insert(reached.end(), children[reached[k]].begin(), children[reached[k]].end());
  for (auto it = reached.rbegin(); it != reached.rend(); ++it) {
    if (*it != 0) subtree_first[parent_of[*it]] = std::min(subtree_first[parent_of[*it]], subtree_first[*it]);
  }
  for (auto& list : children) {
    std::sort(list.begin(), list.end(), [&](int a, int b) {
      return std::tie(subtree_first[a], listing.modules[a].scope) < std::tie(subtree_first[b], listing.modules[b].scope);
    });
  }

  // Pre-order with the sorted children.
  std::vector<int> new_index(count, -1), stack = {0};
  while (!stack.empty()) {
    const int m = stack.back();
    stack.pop_back();
    const int index = static_cast<int>(layout.modules.size());
    new_index[m] = index;
    ModuleLayout::Module module = listing.modules[m];
    if (m != 0) {
      module.parent = new_index[parent_of[m]];
      module.depth = layout.modules[module.parent].depth + 1;
      layout.modules[module.parent].children.push_back(index);
    }
    layout.index_of_scope.emplace(module.scope, index);
    layout.modules.push_back(std::move(module));
    for (auto it = children[m].rbegin(); it != children[m].rend(); ++it) stack.push_back(*it);
  }
  layout.node_module.reserve(own_module.size());
  for (int m : own_module) {
    layout.node_module.push_back(new_index[m] != -1 ? new_index[m] : layout.owner_of(listing.modules[m].scope));
  }
  return layout;
}

}  // namespace htp::analysis
