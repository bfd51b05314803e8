#include "htp/exporter/npy.h"

#include "htp/onnxio/file_io.h"
#include "htp/onnxio/tensor_data.h"
#include "htp/exporter/errors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <regex>

namespace htp::exporter {
using onnxio::read_file;
using onnxio::write_file_atomically;
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct DtypeCode {
  at::ScalarType dtype;
  const char* descr;
};

constexpr DtypeCode kCodes[] = {{at::kFloat, "<f4"}, {at::kDouble, "<f8"}, {at::kHalf, "<f2"}, {at::kChar, "|i1"},
                                {at::kShort, "<i2"}, {at::kInt, "<i4"},    {at::kLong, "<i8"},  {at::kByte, "|u1"},
                                {at::kBool, "|b1"}};

std::string descr_of(at::ScalarType dtype) {
  for (const auto& code : kCodes) {
    if (code.dtype == dtype) return code.descr;
  }
  throw ExportError(std::string("cannot write dtype ") + c10::toString(dtype) + " to .npy");
}

}  // namespace

void write_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor dense = tensor.detach().cpu().contiguous();
  std::string shape;
  for (int64_t size : dense.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(size);
  if (dense.dim() == 1) shape += ",";  // a 1-tuple keeps its comma: "(2,)"
  std::string header = "{'descr': '" + descr_of(dense.scalar_type()) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(static_cast<const char*>(dense.data_ptr()), dense.numel() * dense.element_size());
  write_file_atomically(path, bytes);
}

at::Tensor read_npy(const std::string& path) {
  std::string bytes = read_file(path);
  auto bad = [&](const std::string& why) { return ExportError("'" + path + "' is not a readable .npy file: " + why); };
  if (bytes.size() < 10 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) throw bad("missing NUMPY magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t length_size = major == 1 ? 2 : 4;
  if (major < 1 || major > 3 || bytes.size() < 8 + length_size) throw bad("unknown format version");
  size_t header_size = 0;
  for (size_t i = 0; i < length_size; ++i) header_size |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  size_t data_start = 8 + length_size + header_size;
  if (bytes.size() < data_start) throw bad("truncated header");
  std::string header = bytes.substr(8 + length_size, header_size);

  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'descr':\\s*'([^']+)'"))) throw bad("no descr");
  std::string descr = match[1];
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) throw bad("Fortran order is not supported");
  if (!std::regex_search(header, match, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw bad("no shape");
  std::vector<int64_t> shape;
  std::string dims = match[1];
  static const std::regex kNumber("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), kNumber), end; it != end; ++it) {
    const std::string text = it->str();
    int64_t dim = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), dim).ec != std::errc()) throw bad("dim " + text + " is too large");
    shape.push_back(dim);
  }
  const DtypeCode* code = nullptr;
  for (const auto& c : kCodes) {
    if (descr == c.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(c.descr).substr(1))) code = &c;
  }
  if (!code) throw bad("unsupported dtype '" + descr + "'");
  // The data must be there before anything is allocated for it.
  std::optional<int64_t> nbytes = onnxio::checked_product(shape);
  if (nbytes) nbytes = onnxio::checked_mul(*nbytes, int64_t(c10::elementSize(code->dtype)));
  if (!nbytes || bytes.size() - data_start != uint64_t(*nbytes)) throw bad("data size does not match the shape");
  const char* data = bytes.data() + data_start;
  if (code->dtype == at::kBool && std::any_of(data, data + *nbytes, [](char b) { return b != 0 && b != 1; })) {
    throw bad("a bool element is neither 0 nor 1");
  }
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(code->dtype));
  if (*nbytes) std::memcpy(tensor.data_ptr(), data, *nbytes);
  return tensor;
}

}  // namespace htp::exporter
