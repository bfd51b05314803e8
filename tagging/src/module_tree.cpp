#include "htp/tagging/module_tree.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace htp::tagging {
namespace {

bool is_index(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string parent_scope(const std::string& scope) {
  auto dot = scope.rfind('.');
  return dot == std::string::npos ? std::string() : scope.substr(0, dot);
}

}  // namespace

ModuleTree::ModuleTree(std::string root_class) {
  modules_[""] = ModuleInfo{"", std::move(root_class), "", "", {}};
  order_.push_back("");
}

void ModuleTree::add(const std::string& scope, const std::string& class_name) {
  if (scope.empty()) {
    modules_[""].class_name = class_name;
    return;
  }
  if (contains(scope)) throw std::invalid_argument("module '" + scope + "' added twice");
  std::string parent = parent_scope(scope);
  auto it = modules_.find(parent);
  if (it == modules_.end()) throw std::invalid_argument("module '" + scope + "' added before its parent");
  it->second.children.push_back(scope);
  std::string local = parent.empty() ? scope : scope.substr(parent.size() + 1);
  modules_[scope] = ModuleInfo{scope, class_name, parent, local, {}};
  order_.push_back(scope);
}

void ModuleTree::add_path(const std::string& scope, const std::function<std::string(const std::string&)>& class_of) {
  if (contains(scope)) return;
  add_path(parent_scope(scope), class_of);
  add(scope, class_of(scope));
}

std::string ModuleTree::owner_of_parameter(const std::string& name) const {
  std::string owner = parent_scope(name);
  return contains(owner) ? owner : std::string();
}

const ModuleInfo& ModuleTree::at(const std::string& scope) const {
  auto it = modules_.find(scope);
  if (it == modules_.end()) throw std::out_of_range("unknown module scope '" + scope + "'");
  return it->second;
}

bool ModuleTree::is_container(const ModuleInfo& module) const {
  return !module.scope.empty() && (module.class_name == "ModuleList" || module.class_name == "ModuleDict");
}

std::string ModuleTree::label(const ModuleInfo& module) const {
  const ModuleInfo& parent = at(module.parent);
  bool joins_parent = !parent.scope.empty() && (is_container(parent) || is_index(module.local_name));
  return joins_parent ? label(parent) + "." + module.local_name : module.local_name;
}

std::string ModuleTree::tag_segment(const ModuleInfo& module) const {
  const ModuleInfo& parent = at(module.parent);
  const std::string& cls = module.class_name;
  if (is_container(parent)) {
    // Folded containers leave their children under the nearest real module (the owner); the
    // short form is unambiguous only when the owner has this one container as a direct child.
    const ModuleInfo* owner = &at(parent.parent);
    while (is_container(*owner)) owner = &at(owner->parent);
    auto containers = std::count_if(owner->children.begin(), owner->children.end(),
                                    [&](const std::string& s) { return is_container(at(s)); });
    bool only_container = containers == 1 && parent.parent == owner->scope && !is_index(parent.local_name);
    if (!only_container) return cls + "[" + module.scope.substr(owner->scope.empty() ? 0 : owner->scope.size() + 1) + "]";
    return is_index(module.local_name) ? cls + "." + module.local_name : cls + "[" + module.local_name + "]";
  }
  if (is_index(module.local_name)) return cls + "." + module.local_name;
  bool shared_class = std::any_of(parent.children.begin(), parent.children.end(), [&](const std::string& s) {
    return s != module.scope && at(s).class_name == cls;
  });
  return shared_class ? cls + "[" + module.local_name + "]" : cls;
}

std::vector<const ModuleInfo*> ModuleTree::visible_path(const std::string& scope) const {
  std::vector<const ModuleInfo*> path;
  for (const ModuleInfo* m = &at(scope); !m->scope.empty(); m = &at(m->parent)) {
    if (!is_container(*m) || m->scope == scope) path.push_back(m);  // a node placed at a list itself shows it
  }
  std::reverse(path.begin(), path.end());
  return path;
}

std::string ModuleTree::tag(const std::string& scope) const {
  std::string result = "/" + root().class_name;
  for (const ModuleInfo* m : visible_path(scope)) result += "/" + tag_segment(*m);
  return result;
}

std::string ModuleTree::namespace_of(const std::string& scope) const {
  std::string result;
  for (const ModuleInfo* m : visible_path(scope)) {
    if (!result.empty()) result += "/";
    result += label(*m) + ": " + m->class_name;
  }
  return result;
}

std::string ModuleTree::name_prefix(const std::string& scope) const {
  std::string result;
  for (const ModuleInfo* m : visible_path(scope)) result += "/" + label(*m);
  return result;
}

std::string ModuleTree::common_ancestor(const std::string& a, const std::string& b) {
  std::string result;
  size_t i = 0;
  while (true) {
    size_t end_a = a.find('.', i), end_b = b.find('.', i);
    std::string part_a = a.substr(i, end_a == std::string::npos ? std::string::npos : end_a - i);
    std::string part_b = b.substr(i, end_b == std::string::npos ? std::string::npos : end_b - i);
    if (part_a.empty() || part_a != part_b) return result;
    result = a.substr(0, i + part_a.size());
    if (end_a == std::string::npos || end_b == std::string::npos) return result;
    i = end_a + 1;
  }
}

bool ModuleTree::is_ancestor_or_self(const std::string& ancestor, const std::string& scope) {
  if (ancestor.empty() || ancestor == scope) return true;
  return scope.size() > ancestor.size() && scope.compare(0, ancestor.size(), ancestor) == 0 &&
         scope[ancestor.size()] == '.';
}

nlohmann::json ModuleTree::to_json() const {
  nlohmann::json result = nlohmann::json::object();
  for (const std::string& scope : order_) {
    const ModuleInfo& m = at(scope);
    result[scope] = {{"class", m.class_name}, {"parent", scope.empty() ? nlohmann::json() : nlohmann::json(m.parent)}};
  }
  return result;
}

}  // namespace htp::tagging
