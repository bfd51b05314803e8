#include "wire_format.h"

#include "htp/onnxio/error.h"

namespace htp::onnxio::wire {
namespace {

constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphInitializer = 5;
constexpr uint32_t kTensorRawData = 9;

struct Malformed {};

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  std::string_view whole;    // key, length and payload, as in the input
  std::string_view payload;  // of a length-delimited field
};

class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : rest_(bytes) {}

  // False at the end of the bytes.
  bool next(Field& field) {
    if (rest_.empty()) return false;
    const char* start = rest_.data();
    read_key(field.number, field.wire_type);
    field.payload = skip_value(field.number, field.wire_type, 0);
    field.whole = std::string_view(start, static_cast<size_t>(rest_.data() - start));
    return true;
  }

 private:
  static constexpr int kMaxTagBytes = 5;      // protobuf reads tags and lengths as 32-bit varints
  static constexpr int kMaxVarintBytes = 10;
  static constexpr uint64_t kMaxLength = 0x7fffffff;
  static constexpr uint32_t kStartGroup = 3;
  static constexpr uint32_t kEndGroup = 4;
  static constexpr int kMaxGroupDepth = 100;  // protobuf's recursion limit

  void read_key(uint32_t& number, uint32_t& wire_type) {
    const uint64_t key = varint(kMaxTagBytes);
    number = static_cast<uint32_t>(key >> 3);
    wire_type = static_cast<uint32_t>(key & 7);
    if (number == 0 || key >> 32 != 0) throw Malformed{};
  }

  // Skips the value of a field whose key was just read; returns a length-delimited field's payload, else
  // nothing. A group is skipped up to its end-group tag: no ONNX message has groups, but protobuf keeps
  // unknown ones.
  std::string_view skip_value(uint32_t number, uint32_t wire_type, int depth) {
    switch (wire_type) {
      case 0: varint(kMaxVarintBytes); return {};
      case 1: skip(8); return {};
      case kLengthDelimited: {
        const uint64_t length = varint(kMaxTagBytes);
        if (length > rest_.size() || length > kMaxLength) throw Malformed{};
        const std::string_view payload = rest_.substr(0, length);
        skip(length);
        return payload;
      }
      case kStartGroup:
        if (depth >= kMaxGroupDepth) throw Malformed{};
        for (;;) {
          if (rest_.empty()) throw Malformed{};
          uint32_t inner = 0, inner_type = 0;
          read_key(inner, inner_type);
          if (inner_type == kEndGroup) {
            if (inner != number) throw Malformed{};
            return {};
          }
          skip_value(inner, inner_type, depth + 1);
        }
      case 5: skip(4); return {};
      default: throw Malformed{};  // an end-group tag without its start, or no wire type at all
    }
  }

  uint64_t varint(int max_bytes) {
    uint64_t value = 0;
    for (int shift = 0; shift < 7 * max_bytes; shift += 7) {
      if (rest_.empty()) throw Malformed{};
      const auto byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      value |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    throw Malformed{};
  }
  void skip(uint64_t bytes) {
    if (bytes > rest_.size()) throw Malformed{};
    rest_.remove_prefix(bytes);
  }

  std::string_view rest_;
};

size_t varint_size(uint64_t value) {
  size_t size = 1;
  for (; value >= 0x80; value >>= 7) ++size;
  return size;
}

void put_varint(std::string& out, uint64_t value) {
  for (; value >= 0x80; value >>= 7) out += static_cast<char>((value & 0x7f) | 0x80);
  out += static_cast<char>(value);
}

std::string length_delimited_head(uint32_t number, uint64_t length) {
  std::string head;
  put_varint(head, (uint64_t{number} << 3) | kLengthDelimited);
  put_varint(head, length);
  return head;
}

// The tensor's one raw_data field when it has at least `min_bytes`; a tensor naming it twice keeps it.
std::optional<Field> large_raw_data(std::string_view tensor, size_t min_bytes) {
  std::optional<Field> found;
  int count = 0;
  FieldReader fields(tensor);
  for (Field field; fields.next(field);) {
    if (field.number != kTensorRawData) continue;
    ++count;
    if (field.wire_type == kLengthDelimited && field.payload.size() >= min_bytes) found = field;
  }
  if (count != 1) return std::nullopt;
  return found;
}

std::string without(std::string_view tensor, const Field& taken) {
  std::string kept;
  FieldReader fields(tensor);
  for (Field field; fields.next(field);) {
    if (field.whole.data() != taken.whole.data()) kept.append(field.whole);
  }
  return kept;
}

}  // namespace

std::optional<std::string> strip_raw_data(std::string_view file, size_t min_bytes,
                                          std::vector<std::optional<ByteRange>>& ranges) {
  ranges.clear();
  if (file.size() > size_t{0x7fffffff}) return std::nullopt;  // protobuf parses no message this large
  try {
    std::string model;
    FieldReader fields(file);
    for (Field field; fields.next(field);) {
      if (field.number != kModelGraph || field.wire_type != kLengthDelimited) {
        model.append(field.whole);
        continue;
      }
      std::string graph;
      FieldReader entries(field.payload);
      for (Field entry; entries.next(entry);) {
        if (entry.number != kGraphInitializer || entry.wire_type != kLengthDelimited) {
          graph.append(entry.whole);
          continue;
        }
        const std::optional<Field> raw = large_raw_data(entry.payload, min_bytes);
        if (!raw) {
          ranges.emplace_back();
          graph.append(entry.whole);
          continue;
        }
        ranges.push_back(ByteRange{static_cast<uint64_t>(raw->payload.data() - file.data()), raw->payload.size()});
        const std::string tensor = without(entry.payload, *raw);
        graph += length_delimited_head(kGraphInitializer, tensor.size());
        graph += tensor;
      }
      model += length_delimited_head(kModelGraph, graph.size());
      model += graph;
    }
    return model;
  } catch (const Malformed&) {
    ranges.clear();
    return std::nullopt;
  }
}

void splice_raw_data(std::string_view serialized, const std::function<std::optional<size_t>(int)>& raw_data,
                     const std::function<void(int, std::ostream&)>& write, std::ostream& out) {
  auto put = [&out](std::string_view bytes) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); };
  auto raw_field_size = [](size_t bytes) { return varint_size((kTensorRawData << 3) | kLengthDelimited) + varint_size(bytes) + bytes; };
  try {
    int first_index = 0;  // of the graph's initializers, counted over every graph field
    FieldReader fields(serialized);
    for (Field field; fields.next(field);) {
      if (field.number != kModelGraph || field.wire_type != kLengthDelimited) {
        put(field.whole);
        continue;
      }
      // Every length before the bytes it counts: the graph's first, then each tensor's.
      uint64_t graph_size = 0;
      int index = first_index;
      FieldReader sizing(field.payload);
      for (Field entry; sizing.next(entry);) {
        const bool tensor = entry.number == kGraphInitializer && entry.wire_type == kLengthDelimited;
        const std::optional<size_t> bytes = tensor ? raw_data(index++) : std::nullopt;
        if (!bytes) {
          graph_size += entry.whole.size();
          continue;
        }
        const uint64_t tensor_size = entry.payload.size() + raw_field_size(*bytes);
        graph_size += length_delimited_head(kGraphInitializer, tensor_size).size() + tensor_size;
      }
      put(length_delimited_head(kModelGraph, graph_size));
      FieldReader entries(field.payload);
      for (Field entry; entries.next(entry);) {
        const bool tensor = entry.number == kGraphInitializer && entry.wire_type == kLengthDelimited;
        const int tensor_index = first_index;
        if (tensor) ++first_index;
        const std::optional<size_t> bytes = tensor ? raw_data(tensor_index) : std::nullopt;
        if (!bytes) {
          put(entry.whole);
          continue;
        }
        put(length_delimited_head(kGraphInitializer, entry.payload.size() + raw_field_size(*bytes)));
        bool placed = false;
        auto place = [&] {
          put(length_delimited_head(kTensorRawData, *bytes));
          write(tensor_index, out);
          placed = true;
        };
        FieldReader tensor_fields(entry.payload);
        for (Field part; tensor_fields.next(part);) {
          if (!placed && part.number > kTensorRawData) place();
          put(part.whole);
        }
        if (!placed) place();
      }
    }
  } catch (const Malformed&) {
    throw Error("internal error: a serialized model is not well-formed protobuf");
  }
}

}  // namespace htp::onnxio::wire
