// Node- and model-level metadata_props on the Debian onnx 1.12 protobuf classes.
//
// NodeProto.metadata_props (field 9) is newer than onnx 1.12, so its entries live in the node's
// unknown fields as length-delimited StringStringEntryProto messages; protobuf serializes unknown
// fields verbatim, so the written file carries them as real metadata_props.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>
#include <string>

namespace htp::tagging {

inline constexpr int kNodeMetadataField = 9;

// All metadata entries of a node, last write wins for repeated keys.
std::map<std::string, std::string> node_metadata(const onnx::NodeProto& node);
std::optional<std::string> node_metadata(const onnx::NodeProto& node, const std::string& key);
// Sets `key` on the node, replacing an existing entry with that key.
void set_node_metadata(onnx::NodeProto& node, const std::string& key, const std::string& value);
// Removes every entry with `key` from the node.
void erase_node_metadata(onnx::NodeProto& node, const std::string& key);

void set_model_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value);
std::optional<std::string> model_metadata(const onnx::ModelProto& model, const std::string& key);

}  // namespace htp::tagging
