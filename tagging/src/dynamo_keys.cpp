#include "htp/tagging/dynamo_keys.h"

#include "htp/onnxio/error.h"
#include "htp/tagging/metadata.h"
#include "htp/tagging/scope_names.h"
#include "htp/tagging/subgraphs.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>

namespace htp::tagging {
namespace {

// The code point of the UTF-8 sequence at `text[i]` and its length; a stray byte counts as itself.
std::pair<uint32_t, size_t> decode_utf8(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (length == 1 || i + length > text.size()) return {lead, 1};
  uint32_t code = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return {lead, 1};
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  return {code, length};
}

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xc0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xe0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code & 0x3f));
  }
}

std::string string_repr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const char quote = has_single && text.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (size_t i = 0; i < text.size();) {
    auto [code, length] = decode_utf8(text, i);
    if (code == static_cast<uint32_t>(quote) || code == '\\') {
      out += '\\';
      out += static_cast<char>(code);
    } else if (code == '\t' || code == '\n' || code == '\r') {
      out += code == '\t' ? "\\t" : code == '\n' ? "\\n" : "\\r";
    } else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code == 0xad) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(code & 0xff));
      out += escaped;
    } else {
      out.append(text, i, length);
    }
    i += length;
  }
  return out + quote;
}

// A recursive-descent reader of `['a', "b"]`, positions counted in bytes for the messages.
class ListReader {
 public:
  explicit ListReader(const std::string& text) : text_(text) {}

  std::vector<std::string> read() {
    skip_spaces();
    if (!consume('[')) fail("not a list: it does not start with '['");
    std::vector<std::string> items;
    skip_spaces();
    while (!consume(']')) {
      items.push_back(read_string());
      skip_spaces();
      if (consume(',')) {
        skip_spaces();
      } else if (peek() != ']') {
        fail(at_end() ? "not a list: no closing ']'" : "expected ',' or ']' at byte " + std::to_string(pos_));
      }
    }
    skip_spaces();
    if (!at_end()) fail("text after the list's closing ']' at byte " + std::to_string(pos_));
    return items;
  }

 private:
  std::string read_string() {
    if (at_end()) fail("not a list: no closing ']'");
    const char quote = text_[pos_];
    if (quote != '\'' && quote != '"') fail("item at byte " + std::to_string(pos_) + " is not a string");
    const size_t start = pos_++;
    std::string value;
    while (true) {
      if (at_end() || text_[pos_] == '\n') fail("unbalanced quotes: the string at byte " + std::to_string(start) + " never ends");
      const char c = text_[pos_++];
      if (c == quote) return value;
      if (c != '\\') {
        value += c;
      } else {
        read_escape(value);
      }
    }
  }

  void read_escape(std::string& value) {
    if (at_end()) fail("unbalanced quotes: the text ends inside an escape");
    const char c = text_[pos_++];
    switch (c) {
      case '\\': case '\'': case '"': value += c; return;
      case 'n': value += '\n'; return;
      case 'r': value += '\r'; return;
      case 't': value += '\t'; return;
      case 'a': value += '\a'; return;
      case 'b': value += '\b'; return;
      case 'f': value += '\f'; return;
      case 'v': value += '\v'; return;
      case '\n': return;  // a line continuation
      case 'x': append_utf8(value, hex_digits(2)); return;
      case 'u': append_utf8(value, hex_digits(4)); return;
      case 'U': append_utf8(value, hex_digits(8)); return;
      default:
        if (c >= '0' && c <= '7') {
          uint32_t code = c - '0';
          for (int k = 0; k < 2 && !at_end() && text_[pos_] >= '0' && text_[pos_] <= '7'; ++k) code = code * 8 + (text_[pos_++] - '0');
          append_utf8(value, code);
          return;
        }
        value += '\\';  // Python keeps an unknown escape as written
        value += c;
    }
  }

  uint32_t hex_digits(int count) {
    uint32_t code = 0;
    for (int k = 0; k < count; ++k) {
      const char c = at_end() ? '\0' : text_[pos_];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) fail("a truncated \\x, \\u or \\U escape at byte " + std::to_string(pos_));
      code = code * 16 + static_cast<uint32_t>(digit);
      ++pos_;
    }
    if (code > 0x10ffff) fail("an escape beyond U+10FFFF at byte " + std::to_string(pos_));
    return code;
  }

  void skip_spaces() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  bool at_end() const { return pos_ >= text_.size(); }
  [[noreturn]] void fail(const std::string& what) const { throw Error(what); }

  const std::string& text_;
  size_t pos_ = 0;
};

bool has_empty_part(const std::string& scope) {
  return scope.front() == '.' || scope.back() == '.' || scope.find("..") != std::string::npos;
}

std::string short_class(const std::string& qualified) {
  const auto dot = qualified.rfind('.');
  std::string name = dot == std::string::npos ? qualified : qualified.substr(dot + 1);
  return name.empty() ? "Module" : name;
}

std::vector<std::string> parsed_key(const onnx::NodeProto& node, const std::string& key, const std::string& value) {
  try {
    return parse_python_list(value);
  } catch (const Error& e) {
    throw Error("node '" + printable(node.name()) + "': " + key + " is not a Python list of strings: " + e.what());
  }
}

// The module stack of one node: (path, class) from the root down, the FX node's own entry dropped.
std::vector<std::pair<std::string, std::string>> module_stack(const onnx::NodeProto& node) {
  const auto metadata = node_metadata(node);
  const auto scopes_entry = metadata.find(kNameScopesKey);
  if (scopes_entry == metadata.end()) return {};
  std::vector<std::string> scopes = parsed_key(node, kNameScopesKey, scopes_entry->second);
  std::optional<std::vector<std::string>> classes;
  if (auto classes_entry = metadata.find(kClassHierarchyKey); classes_entry != metadata.end()) {
    classes = parsed_key(node, kClassHierarchyKey, classes_entry->second);
    if (classes->size() != scopes.size()) {
      throw Error("node '" + printable(node.name()) + "': " + kClassHierarchyKey + " has " + std::to_string(classes->size()) +
                  " entries but " + kNameScopesKey + " has " + std::to_string(scopes.size()));
    }
  }
  std::vector<std::pair<std::string, std::string>> stack;
  for (size_t i = 0; i + 1 < scopes.size(); ++i) {
    if (!scopes[i].empty() && has_empty_part(scopes[i])) {
      throw Error("node '" + printable(node.name()) + "': " + kNameScopesKey + " names '" + printable(scopes[i]) +
                  "', which is not a dotted module path");
    }
    stack.emplace_back(scopes[i], classes ? short_class((*classes)[i]) : "Module");
  }
  return stack;
}

}  // namespace

std::string python_list_repr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + string_repr(items[i]);
  return out + "]";
}

std::vector<std::string> parse_python_list(const std::string& text) { return ListReader(text).read(); }

bool has_dynamo_scopes(const onnx::GraphProto& graph) {
  const auto nodes = all_nodes(graph);
  return std::any_of(nodes.begin(), nodes.end(), [](const onnx::NodeProto* node) {
    return node_metadata(*node, kNameScopesKey).has_value();
  });
}

ModuleTree scope_nodes_by_dynamo_keys(onnx::GraphProto& graph) {
  std::map<std::string, std::string> class_of;
  std::vector<std::string> seen_in_order;
  for (onnx::NodeProto* node : all_nodes(graph)) {
    const auto stack = module_stack(*node);
    for (const auto& [scope, cls] : stack) {
      if (class_of.emplace(scope, cls).second) seen_in_order.push_back(scope);
    }
    set_read_scope(*node, stack.empty() ? std::string() : stack.back().first);
  }
  auto root = class_of.find("");
  ModuleTree tree(root == class_of.end() ? "Module" : root->second);
  for (const auto& scope : seen_in_order) {
    tree.add_path(scope, [&](const std::string& s) {
      auto known = class_of.find(s);
      return known == class_of.end() ? std::string("ModuleList") : known->second;
    });
  }
  return tree;
}

void set_dynamo_keys(onnx::NodeProto& node, const ModuleTree& tree, const std::string& scope) {
  std::vector<std::string> scopes{""}, classes{tree.root().class_name};
  for (const ModuleInfo* module : tree.visible_path(scope)) {
    scopes.push_back(module->scope);
    classes.push_back(module->class_name);
  }
  scopes.push_back(node.name());
  classes.push_back(node.op_type());
  set_node_metadata(node, kNameScopesKey, python_list_repr(scopes));
  set_node_metadata(node, kClassHierarchyKey, python_list_repr(classes));
}

}  // namespace htp::tagging
