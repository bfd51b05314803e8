// Errors the exporter reports to users: each carries the context needed to act on it.
#pragma once

#include "htp/onnxio/error.h"

#include <string>
#include <utility>
#include <vector>

namespace htp::exporter {

// Bad input or a model that cannot be exported; the message is one complete line.
class ExportError : public htp::Error {
 public:
  using htp::Error::Error;
};

// How every failure to convert one op reads: "cannot convert aten::X in module 'S': reason"
// ('<root>' for the root module).
ExportError conversion_error(const std::string& op, const std::string& scope, const std::string& reason);

// The text up to its first line break: LibTorch's messages go on with notes and backtraces, ours
// are one line.
std::string first_line(const std::string& text);

struct UnsupportedOp {
  std::string op;     // e.g. "aten::cumprod"
  std::string scope;  // module path, "" for the root
};

// Every op of the model that has no converter, reported at once.
class UnsupportedOpsError : public ExportError {
 public:
  explicit UnsupportedOpsError(std::vector<UnsupportedOp> ops);
  const std::vector<UnsupportedOp>& ops() const { return ops_; }

 private:
  std::vector<UnsupportedOp> ops_;
};

}  // namespace htp::exporter
