// The module hierarchy of an exported model and the names DESIGN.md derives from it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace htp::tagging {

struct ModuleInfo {
  std::string scope;       // dotted path as in named_modules(); "" for the root
  std::string class_name;  // Python-style class name, e.g. "Conv2d"
  std::string parent;      // scope of the parent; empty for the root (and for its children)
  std::string local_name;  // last path component; "" for the root
  std::vector<std::string> children;
};

// Modules keyed by scope. ModuleList / ModuleDict never run a forward of their own, so they
// are folded into their children's names and tags (as `layer.0`, `BertLayer.0`).
class ModuleTree {
 public:
  explicit ModuleTree(std::string root_class);

  // Adds a module; its parent must have been added before (pre-order, as named_modules() yields).
  void add(const std::string& scope, const std::string& class_name);
  // Adds `scope` and every ancestor not in the tree yet, parents first, with classes from `class_of`.
  void add_path(const std::string& scope, const std::function<std::string(const std::string&)>& class_of);

  bool contains(const std::string& scope) const { return modules_.count(scope) != 0; }
  const ModuleInfo& at(const std::string& scope) const;
  const ModuleInfo& root() const { return at(""); }
  // Scopes in insertion (pre-)order, root first.
  const std::vector<std::string>& scopes() const { return order_; }

  // `htp.tag`: "/" + class names from the root, `.N` for indexed children, `[name]` where
  // siblings share a class.
  std::string tag(const std::string& scope) const;
  // `namespace`: "name: Class" parts joined by "/" (Model Explorer layers).
  std::string namespace_of(const std::string& scope) const;
  // Node-name prefix, torch style: "/layer1/layer1.0/conv1"; "" for the root.
  std::string name_prefix(const std::string& scope) const;
  // ModuleList / ModuleDict: containers that run no forward of their own.
  bool is_container(const std::string& scope) const { return is_container(at(scope)); }
  // Lowest common ancestor of two scopes.
  static std::string common_ancestor(const std::string& a, const std::string& b);
  // True when `ancestor` is `scope` or one of its ancestors.
  static bool is_ancestor_or_self(const std::string& ancestor, const std::string& scope);
  // The module owning a parameter or buffer named like a state_dict key: `a.b.weight` belongs to
  // `a.b` when that module exists, else (a root parameter, or a name of no module) to the root "".
  std::string owner_of_parameter(const std::string& name) const;

  // Non-container modules from the root's child down to `scope`, and `scope` itself even when it
  // is a container (only the inheritance engine places nodes there): the modules whose forward
  // was on the call stack.
  std::vector<const ModuleInfo*> visible_path(const std::string& scope) const;

  // `htp.modules`: {scope: {"class": C, "parent": P}} (the root's parent is null).
  nlohmann::json to_json() const;

 private:
  bool is_container(const ModuleInfo& module) const;
  std::string label(const ModuleInfo& module) const;
  std::string tag_segment(const ModuleInfo& module) const;

  std::map<std::string, ModuleInfo> modules_;
  std::vector<std::string> order_;
};

}  // namespace htp::tagging
