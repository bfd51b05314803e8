#include "archive_bounds.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace htp::exporter {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint64_t kDeflateMaxRatio = 1032;  // deflate's largest expansion: 258 bytes from 2 bits

// Little-endian reads that fail (nullopt) past the end instead of reading it.
class Bytes {
 public:
  explicit Bytes(std::string_view data) : data_(data) {}
  size_t size() const { return data_.size(); }
  std::optional<uint64_t> read(uint64_t at, int width) const {
    if (at > data_.size() || static_cast<uint64_t>(width) > data_.size() - at) return std::nullopt;
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(data_[at + i]);
    return value;
  }
  std::string_view slice(uint64_t at, uint64_t length) const { return data_.substr(at, length); }

 private:
  std::string_view data_;
};

struct Directory {
  uint64_t offset = 0;
  uint64_t entries = 0;
};

std::optional<uint64_t> find_end_of_directory(const Bytes& zip) {
  if (zip.size() < 22) return std::nullopt;
  const uint64_t last = zip.size() - 22;
  const uint64_t first = last > 0xffff ? last - 0xffff : 0;
  for (uint64_t at = last + 1; at-- > first;) {
    if (zip.read(at, 4) == kEndOfDirectory) return at;
  }
  return std::nullopt;
}

std::optional<Directory> read_directory(const Bytes& zip, uint64_t end) {
  auto entries = zip.read(end + 10, 2), offset = zip.read(end + 16, 4);
  if (!entries || !offset) return std::nullopt;
  Directory directory{*offset, *entries};
  if (*entries == 0xffff || *offset == 0xffffffff) {
    if (end < 20 || zip.read(end - 20, 4) != kZip64Locator) return std::nullopt;
    const auto record = zip.read(end - 20 + 8, 8);
    if (!record || zip.read(*record, 4) != kZip64EndOfDirectory) return std::nullopt;
    auto entries64 = zip.read(*record + 32, 8), offset64 = zip.read(*record + 48, 8);
    if (!entries64 || !offset64) return std::nullopt;
    directory = {*offset64, *entries64};
  }
  return directory;
}

struct Entry {
  std::string name;
  uint64_t method = 0, compressed = 0, uncompressed = 0, local_offset = 0;
  uint64_t next = 0;  // where the following directory entry starts
};

std::optional<Entry> read_entry(const Bytes& zip, uint64_t at) {
  if (zip.read(at, 4) != kDirectoryEntry) return std::nullopt;
  const auto method = zip.read(at + 10, 2), compressed = zip.read(at + 20, 4), uncompressed = zip.read(at + 24, 4);
  const auto name_length = zip.read(at + 28, 2), extra_length = zip.read(at + 30, 2), comment_length = zip.read(at + 32, 2);
  const auto local = zip.read(at + 42, 4);
  if (!method || !compressed || !uncompressed || !name_length || !extra_length || !comment_length || !local) return std::nullopt;
  if (at + 46 + *name_length + *extra_length + *comment_length > zip.size()) return std::nullopt;
  Entry entry{std::string(zip.slice(at + 46, *name_length)), *method, *compressed, *uncompressed, *local,
              at + 46 + *name_length + *extra_length + *comment_length};
  // The zip64 extra field holds, in this order, the sizes and offset the fixed fields mark 0xffffffff.
  for (uint64_t extra = at + 46 + *name_length; extra + 4 <= at + 46 + *name_length + *extra_length;) {
    const auto id = zip.read(extra, 2), size = zip.read(extra + 2, 2);
    if (!id || !size) return std::nullopt;
    if (*id == 1) {
      uint64_t field = extra + 4;
      for (uint64_t* value : {&entry.uncompressed, &entry.compressed, &entry.local_offset}) {
        if (*value != 0xffffffff) continue;
        const auto wide = zip.read(field, 8);
        if (!wide) return std::nullopt;
        *value = *wide;
        field += 8;
      }
    }
    extra += 4 + *size;
  }
  return entry;
}

// The length-prefixed strings of a pickle (LibTorch's Unpickler reserves their length before reading)
// against the bytes left, and the memo ids of BINPUT / LONG_BINPUT (it reserves twice the id) against
// the entries stored so far: picklers number them in order. The walk stops at STOP or an opcode it does
// not know, which LibTorch refuses too.
std::optional<std::string> pickle_problem(std::string_view pickle) {
  const Bytes bytes(pickle);
  uint64_t at = 0;
  uint64_t memo_entries = 0;
  auto skip_line = [&] {
    const size_t newline = pickle.find('\n', at);
    at = newline == std::string_view::npos ? pickle.size() : newline + 1;
  };
  while (at < pickle.size()) {
    const unsigned char op = static_cast<unsigned char>(pickle[at++]);
    int fixed = 0, prefix = 0;
    switch (op) {
      case '.': return std::nullopt;  // STOP
      case '(': case '0': case '1': case '2': case 'N': case 'Q': case 'R': case 'a': case 'b': case 'd': case '}':
      case 'e': case 'l': case ']': case 'o': case 's': case 't': case ')': case 'u': case 0x81: case 0x85: case 0x86:
      case 0x87: case 0x88: case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93:
        continue;
      case 0x94:  // MEMOIZE
        ++memo_entries;
        continue;
      case 'q': case 'r': {  // BINPUT, LONG_BINPUT
        const auto id = bytes.read(at, op == 'q' ? 1 : 4);
        if (!id) return std::nullopt;
        if (*id > memo_entries) {
          return "its pickle stores memo entry " + std::to_string(*id) + " after " + std::to_string(memo_entries) +
                 " entries at byte " + std::to_string(at);
        }
        at += op == 'q' ? 1 : 4;
        ++memo_entries;
        continue;
      }
      case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g': case 'p':
        skip_line();
        continue;
      case 'c': case 'i':
        skip_line();
        skip_line();
        continue;
      case 'K': case 'h': case 0x80: case 0x82: fixed = 1; break;
      case 'M': case 0x83: fixed = 2; break;
      case 'J': case 'j': case 0x84: fixed = 4; break;
      case 'G': case 0x95: fixed = 8; break;
      case 'U': case 'C': case 0x8c: case 0x8a: prefix = 1; break;
      case 'T': case 'X': case 'B': case 0x8b: prefix = 4; break;
      case 0x8d: case 0x8e: case 0x96: prefix = 8; break;
      default: return std::nullopt;
    }
    if (fixed > 0) {
      at += fixed;
      continue;
    }
    const auto length = bytes.read(at, prefix);
    if (!length) return std::nullopt;  // truncated: LibTorch stops there
    at += prefix;
    if (*length > pickle.size() - at) {
      return "its pickle claims a " + std::to_string(*length) + "-byte string at byte " + std::to_string(at) + " of " +
             std::to_string(pickle.size());
    }
    at += *length;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> archive_bounds_problem(const std::string& data) {
  const Bytes zip(data);
  const auto end = find_end_of_directory(zip);
  const auto directory = end ? read_directory(zip, *end) : std::nullopt;
  if (!directory) return "its zip structure is damaged";
  uint64_t at = directory->offset;
  for (uint64_t i = 0; i < directory->entries; ++i) {
    const auto entry = read_entry(zip, at);
    if (!entry) return "its zip structure is damaged (directory entry " + std::to_string(i) + ")";
    at = entry->next;
    const auto name_length = zip.read(entry->local_offset + 26, 2), extra_length = zip.read(entry->local_offset + 28, 2);
    if (zip.read(entry->local_offset, 4) != kLocalHeader || !name_length || !extra_length) {
      return "its zip structure is damaged (record '" + entry->name + "' has no local header)";
    }
    const uint64_t start = entry->local_offset + 30 + *name_length + *extra_length;
    const bool stored = entry->method == 0;
    const uint64_t most = stored ? entry->compressed : entry->compressed * kDeflateMaxRatio;
    if (start > zip.size() || entry->compressed > zip.size() - start || entry->uncompressed > most) {
      return "its zip structure is damaged: record '" + entry->name + "' claims " + std::to_string(entry->uncompressed) +
             " bytes, more than the " + std::to_string(data.size()) + "-byte file holds";
    }
    const std::string_view name = entry->name;
    const bool pickle = name == "data.pkl" || (name.size() > 9 && name.substr(name.size() - 9) == "/data.pkl");
    if (pickle && stored) {
      if (auto problem = pickle_problem(zip.slice(start, entry->compressed))) return problem;
    }
  }
  return std::nullopt;
}

}  // namespace htp::exporter
