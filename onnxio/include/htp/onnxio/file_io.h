// Whole-file reads and atomic writes: a written file is either complete or absent.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace htp::onnxio {

// An open descriptor of a readable file, closed with this object. Reads at an offset see the file as
// it was opened, even if its path is replaced meanwhile (a file written over its own input).
class ReadableFile {
 public:
  // Throws Error "cannot read '<path>': <reason>" when the file is a folder, missing or unreadable.
  explicit ReadableFile(const std::string& path);
  ReadableFile(const ReadableFile&) = delete;
  ReadableFile& operator=(const ReadableFile&) = delete;
  ~ReadableFile();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Reads exactly `bytes` bytes at `offset` into `out`; throws Error naming the file when it has fewer.
  void read_at(uint64_t offset, char* out, size_t bytes) const;

 private:
  std::string path_;
  int fd_;
};

// An open regular file mapped read-only, for taking parts of a large file without copying the whole
// of it. A file truncated while mapped faults on access, as with any mapping.
class MappedFile {
 public:
  // Throws Error when `file` is no regular file (a pipe) or cannot be mapped.
  explicit MappedFile(const ReadableFile& file);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// Both throw Error "cannot read '<path>': <reason>" when the file is a folder, missing or unreadable.
std::string read_file(const std::string& path);
// Parses the file straight from its descriptor, without a copy of the whole file in memory; false when
// the file is empty or no valid `message`.
bool parse_file(const std::string& path, google::protobuf::MessageLite& message);
// Writes to a temporary file in the target's directory, then renames it into place; `write`
// streams the content and returns false on failure.
void write_file_atomically(const std::string& path, const std::function<bool(std::ostream&)>& write);
void write_file_atomically(const std::string& path, std::string_view bytes);
// Throws Error unless the directory that will hold `path` exists and is writable.
void check_writable_location(const std::string& path);

}  // namespace htp::onnxio
