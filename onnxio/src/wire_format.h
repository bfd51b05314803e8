// Just enough of protobuf's wire format to move the bytes of large initializers around a serialized
// model without parsing them into memory: ModelProto.graph (7) -> GraphProto.initializer (5) ->
// TensorProto.raw_data (9). Private to onnxio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace htp::onnxio::wire {

// Where one initializer's raw_data lies in the file it was read from.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// `file` (a serialized ModelProto) with the raw_data of every main-graph initializer of at least
// `min_bytes` taken out; `ranges` gets one entry per main-graph initializer, in order, with the
// range its raw_data occupied in `file` where it was taken out. A tensor naming raw_data more than
// once keeps it. nullopt when `file` is not well-formed wire data or larger than protobuf parses: the
// caller parses it the usual way, for the usual error.
std::optional<std::string> strip_raw_data(std::string_view file, size_t min_bytes,
                                          std::vector<std::optional<ByteRange>>& ranges);

// Writes `serialized` (a ModelProto as protobuf serializes it) to `out` with a raw_data field put
// into each main-graph initializer i for which `raw_data(i)` gives a size: `write(i, out)` then puts
// exactly that many bytes. The field goes where protobuf puts raw_data, before the tensor's first field
// numbered above 9, so the result is the file protobuf writes for a model holding those bytes.
void splice_raw_data(std::string_view serialized, const std::function<std::optional<size_t>(int)>& raw_data,
                     const std::function<void(int, std::ostream&)>& write, std::ostream& out);

}  // namespace htp::onnxio::wire
