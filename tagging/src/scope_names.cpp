#include "htp/tagging/scope_names.h"

#include "htp/onnxio/error.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/subgraphs.h"
#include "htp/tagging/tagger.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace htp::tagging {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == separator) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

bool is_number(const std::string& atom) {
  return !atom.empty() && std::all_of(atom.begin(), atom.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string parent_of(const std::string& scope) {
  auto dot = scope.rfind('.');
  return dot == std::string::npos ? std::string() : scope.substr(0, dot);
}

std::string child_of(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

size_t depth(const std::string& scope) { return std::count(scope.begin(), scope.end(), '.'); }

// The module path components of a node name, op type dropped; none for an unscoped name.
std::vector<std::string> path_components(const std::string& name) {
  if (name.empty() || name[0] != '/') return {};
  std::vector<std::string> parts = split(name.substr(1), '/');
  parts.pop_back();  // the op type: `Conv`, `Add_1`
  parts.erase(std::remove(parts.begin(), parts.end(), std::string()), parts.end());
  return parts;
}

// torch.onnx.export's name of a module in node names: its path from the last non-numeric atom on.
std::string unqualified(const std::string& scope) {
  std::vector<std::string> atoms = split(scope, '.');
  size_t first = atoms.size() - 1;
  while (first > 0 && is_number(atoms[first])) --first;
  if (is_number(atoms[first])) return scope;  // all numeric: a Sequential root's `0.1`
  std::string result = atoms[first];
  for (size_t i = first + 1; i < atoms.size(); ++i) result += "." + atoms[i];
  return result;
}

// The module a component names under `parent` by torch's naming alone. A component extending the
// parent's unqualified name continues the parent's path (`layer1.0` under `layer1`, `conv.0` under
// `features.1.conv`); any other is a child, or a container's child (`layers.0` under the root).
std::string scope_by_name(const std::string& parent, const std::string& component) {
  std::string parent_name = unqualified(parent);
  if (!parent_name.empty() && component.compare(0, parent_name.size() + 1, parent_name + ".") == 0) {
    return parent + component.substr(parent_name.size());
  }
  return child_of(parent, component);
}

// `relu` for `relu_1`, the form torch gives a repeated call; nothing for other components.
std::optional<std::string> repeated_call_base(const std::string& component) {
  auto underscore = component.rfind('_');
  if (underscore == std::string::npos || underscore == 0 || !is_number(component.substr(underscore + 1))) {
    return std::nullopt;
  }
  return component.substr(0, underscore);
}

// Resolves node names to scopes, remembering every raw path (`/layer1/layer1.0`) it resolved.
class ScopeResolver {
 public:
  ScopeResolver(const std::vector<std::string>& names, const std::optional<ModuleClasses>& classes) {
    for (const auto& name : names) {
      std::string raw;
      for (const auto& component : path_components(name)) raw_paths_.insert(raw += "/" + component);
    }
    if (classes) {
      listed_.emplace();
      for (const auto& entry : *classes) listed_->insert(entry.first);
    }
  }

  std::string scope_of(const std::string& name) {
    std::string scope, raw;
    for (const auto& component : path_components(name)) {
      std::string raw_parent = raw;
      raw += "/" + component;
      auto known = scope_of_raw_path_.find(raw);
      if (known != scope_of_raw_path_.end()) {
        scope = known->second;
        continue;
      }
      auto resolved = resolve(scope, raw_parent, component);
      if (!resolved) {
        throw Error("node '" + name + "' names module '" + scope_by_name(scope, component) + "', which is not listed");
      }
      scope = *resolved;
      scope_of_raw_path_[raw] = scope;
      if (passed_.insert(scope).second) passed_in_order_.push_back(scope);
    }
    return scope;
  }

  // Every module some name passes through, in first-seen order.
  const std::vector<std::string>& passed() const { return passed_in_order_; }
  bool was_passed(const std::string& scope) const { return passed_.count(scope) != 0; }

 private:
  // A component `relu_1` is the repeated call of module `relu` when `relu` is also a component
  // under the same parent, or when the class list has `relu` but not `relu_1`; else it is a module
  // of that name.
  std::optional<std::string> resolve(const std::string& parent, const std::string& raw_parent,
                                     const std::string& component) const {
    auto base = repeated_call_base(component);
    if (listed_) {
      if (auto scope = listed_scope(parent, component)) return scope;
      return base ? listed_scope(parent, *base) : std::nullopt;
    }
    if (base && raw_paths_.count(raw_parent + "/" + *base)) return scope_by_name(parent, *base);
    return scope_by_name(parent, component);
  }

  // The listed module a component names under `parent`: the one torch's naming gives, else the
  // nearest listed descendant with that unqualified name (in a ModuleDict, `heads.cls` is `cls`).
  std::optional<std::string> listed_scope(const std::string& parent, const std::string& component) const {
    std::string by_name = scope_by_name(parent, component);
    if (listed_->count(by_name)) return by_name;
    std::optional<std::string> nearest;
    for (const auto& scope : *listed_) {
      bool below = scope != parent && ModuleTree::is_ancestor_or_self(parent, scope);
      if (below && unqualified(scope) == component && (!nearest || depth(scope) < depth(*nearest))) nearest = scope;
    }
    return nearest;
  }

  std::set<std::string> raw_paths_;
  std::optional<std::set<std::string>> listed_;
  std::map<std::string, std::string> scope_of_raw_path_;
  std::set<std::string> passed_;
  std::vector<std::string> passed_in_order_;
};

ModuleTree build_tree(const ScopeResolver& resolver, const std::optional<ModuleClasses>& classes) {
  if (classes) {
    std::map<std::string, std::string> class_of(classes->begin(), classes->end());
    ModuleTree tree(class_of.at(""));
    for (const auto& entry : *classes) {
      tree.add_path(entry.first, [&](const std::string& scope) { return class_of.at(scope); });
    }
    return tree;  // the resolver only yields listed scopes
  }
  ModuleTree tree("Module");
  for (const auto& scope : resolver.passed()) {
    tree.add_path(scope, [&](const std::string& s) { return resolver.was_passed(s) ? "Module" : "ModuleList"; });
  }
  return tree;
}

bool is_module_path(const std::string& scope) {
  if (scope.empty()) return true;
  auto atoms = split(scope, '.');
  return std::none_of(atoms.begin(), atoms.end(), [](const std::string& atom) { return atom.empty(); });
}

}  // namespace

ModuleClasses parse_module_classes(const std::string& json_text) {
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number beyond double (1e999)
    throw Error(std::string("not JSON: ") + e.what());
  }
  if (!json.is_object()) {
    throw Error("expected a JSON object of module path to class name, as {n: type(m).__name__ for n, m in model.named_modules()}");
  }
  ModuleClasses classes;
  std::set<std::string> scopes;
  for (const auto& [scope, class_name] : json.items()) {
    if (!is_module_path(scope)) throw Error("'" + scope + "' is not a dotted module path");
    if (!class_name.is_string() || class_name.get<std::string>().empty()) {
      throw Error("the class of module '" + scope + "' is not a non-empty string");
    }
    classes.emplace_back(scope, class_name.get<std::string>());
    scopes.insert(scope);
  }
  if (!scopes.count("")) throw Error("no root module \"\" (named_modules() lists it first)");
  for (const auto& scope : scopes) {
    if (!scope.empty() && !scopes.count(parent_of(scope))) {
      throw Error("module '" + scope + "' is listed but its parent '" + parent_of(scope) + "' is not");
    }
  }
  return classes;
}

NameScopes scopes_from_node_names(const std::vector<std::string>& names, const std::optional<ModuleClasses>& classes) {
  ScopeResolver resolver(names, classes);
  std::vector<std::string> node_scopes;
  node_scopes.reserve(names.size());
  for (const auto& name : names) node_scopes.push_back(resolver.scope_of(name));
  return {std::move(node_scopes), build_tree(resolver, classes)};
}

ModuleTree scope_nodes_by_name(onnx::GraphProto& graph, const std::optional<ModuleClasses>& classes) {
  // Nodes inside If branches and Loop bodies carry scoped names too, and are tagged with the rest.
  const std::vector<onnx::NodeProto*> nodes = all_nodes(graph);
  std::vector<std::string> names;
  for (const onnx::NodeProto* node : nodes) names.push_back(node->name());
  NameScopes scopes = scopes_from_node_names(names, classes);
  for (size_t i = 0; i < nodes.size(); ++i) set_read_scope(*nodes[i], scopes.node_scopes[i]);
  return std::move(scopes.tree);
}

void set_read_scope(onnx::NodeProto& node, const std::string& scope) {
  // A file tagged before (by htp-export or `tag`) gives an inherited node the scope it was placed in;
  // that is not a traced scope, so the node stays inherited.
  auto previous = node_metadata(node);
  const bool placed_before = previous[kSourceKey] == "inherited" && previous[kScopeKey] == scope;
  set_node_metadata(node, kScopeKey, scope);
  if (scope.empty()) {
    erase_node_metadata(node, kSourceKey);
  } else {
    set_node_metadata(node, kSourceKey, placed_before ? "inherited" : "direct");
  }
}

}  // namespace htp::tagging
