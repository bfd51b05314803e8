// NumPy .npy files (format 1.0/2.0, C order, little-endian) for example inputs and references
// (the exporter's --save-io and --input, verify's --save-io).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace htp::exporter {

// Writes `tensor` atomically; supports float16/32/64, int8/16/32/64, uint8 and bool.
void write_npy(const std::string& path, const at::Tensor& tensor);
// Reads a C-order little-endian array; throws ExportError naming the file on anything else.
at::Tensor read_npy(const std::string& path);

}  // namespace htp::exporter
