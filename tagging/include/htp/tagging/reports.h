// Reports read back from a tagged model: what `--report` and `--sidecar` write and `stats` prints.
#pragma once

#include <onnx/onnx_pb.h>
#include <nlohmann/json_fwd.hpp>

#include <string>

namespace htp::tagging {

// Scope → {class, parent} as the model's `htp.modules` lists it; empty for an untagged model or an
// unreadable listing.
nlohmann::json listed_modules(const onnx::ModelProto& model);

// Coverage: nodes, tagged, empty_tags, coverage, counts by source, auxiliary nodes (total and by op
// type, see node_roles), inheritance rate (null when nothing needed placing), nodes per module.
nlohmann::json coverage_report(const onnx::ModelProto& model);

// The sidecar: the coverage report, the module tree from `htp.modules` (scope, class, parent,
// children, node count, in pre-order) and every node's name, op type, scope, tag and source.
nlohmann::json sidecar_report(const onnx::ModelProto& model);

// The JSON text of `value` (indented by `indent` spaces, or on one line): names from a file we were
// given need not be UTF-8, and their invalid bytes become U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& value, int indent = -1);

}  // namespace htp::tagging
