#include "htp/tagging/metadata.h"

#include <google/protobuf/unknown_field_set.h>

namespace htp::tagging {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

bool parse_entry(const UnknownField& field, onnx::StringStringEntryProto& entry) {
  return field.number() == kNodeMetadataField && field.type() == UnknownField::TYPE_LENGTH_DELIMITED &&
         entry.ParseFromString(field.length_delimited());
}

}  // namespace

std::map<std::string, std::string> node_metadata(const onnx::NodeProto& node) {
  std::map<std::string, std::string> result;
  const UnknownFieldSet& fields = node.unknown_fields();
  for (int i = 0; i < fields.field_count(); ++i) {
    onnx::StringStringEntryProto entry;
    if (parse_entry(fields.field(i), entry)) result[entry.key()] = entry.value();
  }
  return result;
}

std::optional<std::string> node_metadata(const onnx::NodeProto& node, const std::string& key) {
  auto all = node_metadata(node);
  auto it = all.find(key);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

void set_node_metadata(onnx::NodeProto& node, const std::string& key, const std::string& value) {
  UnknownFieldSet* fields = node.mutable_unknown_fields();
  for (int i = 0; i < fields->field_count(); ++i) {
    onnx::StringStringEntryProto entry;
    if (parse_entry(fields->field(i), entry) && entry.key() == key) {
      entry.set_value(value);
      *fields->mutable_field(i)->mutable_length_delimited() = entry.SerializeAsString();
      return;
    }
  }
  onnx::StringStringEntryProto entry;
  entry.set_key(key);
  entry.set_value(value);
  fields->AddLengthDelimited(kNodeMetadataField, entry.SerializeAsString());
}

void erase_node_metadata(onnx::NodeProto& node, const std::string& key) {
  UnknownFieldSet* fields = node.mutable_unknown_fields();
  for (int i = fields->field_count() - 1; i >= 0; --i) {
    onnx::StringStringEntryProto entry;
    if (parse_entry(fields->field(i), entry) && entry.key() == key) fields->DeleteSubrange(i, 1);
  }
}

void set_model_metadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  for (auto& entry : *model.mutable_metadata_props()) {
    if (entry.key() == key) {
      entry.set_value(value);
      return;
    }
  }
  auto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

std::optional<std::string> model_metadata(const onnx::ModelProto& model, const std::string& key) {
  for (const auto& entry : model.metadata_props()) {
    if (entry.key() == key) return entry.value();
  }
  return std::nullopt;
}

}  // namespace htp::tagging
