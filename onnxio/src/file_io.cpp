#include "htp/onnxio/file_io.h"

#include "htp/onnxio/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace htp::onnxio {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error("cannot read '" + path + "': it is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw Error("cannot read '" + path + "'");
  return bytes.str();
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
    bool written = out && write(out);
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
