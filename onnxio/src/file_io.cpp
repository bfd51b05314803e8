#include "htp/onnxio/file_io.h"

#include "htp/onnxio/error.h"

#include <fcntl.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/message_lite.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace htp::onnxio {
namespace fs = std::filesystem;

ReadableFile::ReadableFile(const std::string& path) : path_(path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error("cannot read '" + path + "': it is a folder, not a file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot read '" + path + "': " + std::strerror(errno));
}

ReadableFile::~ReadableFile() { ::close(fd_); }

void ReadableFile::read_at(uint64_t offset, char* out, size_t bytes) const {
  while (bytes > 0) {
    const ssize_t got = ::pread(fd_, out, bytes, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error("cannot read '" + path_ + "': " + std::strerror(errno));
    if (got == 0) throw Error("cannot read '" + path_ + "': it ends before byte " + std::to_string(offset + bytes));
    out += got;
    offset += static_cast<uint64_t>(got);
    bytes -= static_cast<size_t>(got);
  }
}

MappedFile::MappedFile(const ReadableFile& file) {
  struct stat info {};
  if (::fstat(file.fd(), &info) != 0) throw Error("cannot read '" + file.path() + "': " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw Error("cannot map '" + file.path() + "': not a regular file");
  size_ = static_cast<size_t>(info.st_size);
  if (size_ == 0) return;
  void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (mapped == MAP_FAILED) throw Error("cannot map '" + file.path() + "': " + std::strerror(errno));
  data_ = static_cast<const char*>(mapped);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
}

std::string read_file(const std::string& path) {
  ReadableFile file(path);
  // One copy into a buffer of the file's size; its size is only a hint, since pipes have none.
  std::string bytes;
  struct stat info {};
  if (::fstat(file.fd(), &info) == 0 && S_ISREG(info.st_mode)) bytes.reserve(static_cast<size_t>(info.st_size));
  char chunk[1 << 16];
  for (;;) {
    const ssize_t got = ::read(file.fd(), chunk, sizeof chunk);
    if (got == 0) return bytes;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error("cannot read '" + path + "': " + std::strerror(errno));
    bytes.append(chunk, static_cast<size_t>(got));
  }
}

bool parse_file(const std::string& path, google::protobuf::MessageLite& message) {
  ReadableFile file(path);
  google::protobuf::io::FileInputStream stream(file.fd());
  const bool parsed = message.ParseFromZeroCopyStream(&stream);
  if (stream.GetErrno() != 0) throw Error("cannot read '" + path + "': " + std::strerror(stream.GetErrno()));
  return parsed && stream.ByteCount() > 0;
}

void check_writable_location(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("output directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw Error("output directory '" + dir.string() + "' is not writable");
  if (fs::is_directory(path, ec)) throw Error("output path '" + path + "' is a directory");
}

void write_file_atomically(const std::string& path, const std::function<bool(std::ostream&)>& write) {
  check_writable_location(path);
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    bool written = false;
    try {
      written = out && write(out);
    } catch (...) {  // a source that fails part way leaves no temporary file behind
      out.close();
      std::remove(temporary.c_str());
      throw;
    }
    out.flush();
    if (!written || !out) {
      std::remove(temporary.c_str());
      throw Error("cannot write '" + path + "': " + std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    std::remove(temporary.c_str());
    throw Error("cannot write '" + path + "': " + ec.message());
  }
}

}  // namespace htp::onnxio

namespace htp::onnxio {

void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, [bytes](std::ostream& out) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return true;
  });
}

}  // namespace htp::onnxio
