#include "htp/exporter/errors.h"

namespace htp::exporter {
namespace {

std::string describe(const std::vector<UnsupportedOp>& ops) {
  std::string message = "unsupported operator" + std::string(ops.size() == 1 ? "" : "s") + ": ";
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) message += "; ";
    message += ops[i].op + " in module '" + (ops[i].scope.empty() ? "<root>" : ops[i].scope) + "'";
  }
  return message;
}

}  // namespace

std::string first_line(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\n");  // LibTorch's messages may open with a blank line
  if (start == std::string::npos) return "";
  return text.substr(start, text.find('\n', start) - start);
}

ExportError conversion_error(const std::string& op, const std::string& scope, const std::string& reason) {
  return ExportError("cannot convert " + op + " in module '" + (scope.empty() ? "<root>" : scope) + "': " + reason);
}

UnsupportedOpsError::UnsupportedOpsError(std::vector<UnsupportedOp> ops)
    : ExportError(describe(ops)), ops_(std::move(ops)) {}

}  // namespace htp::exporter
