#include "memory.h"

#include "htp/onnxio/tensor_data.h"

#include <cstdio>
#include <fstream>

namespace htp::exporter {

std::optional<int64_t> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    long long kib = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kib) == 1) return onnxio::checked_mul(kib, 1024);
  }
  return std::nullopt;
}

std::string gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (int64_t{1} << 30));
  return text;
}

}  // namespace htp::exporter
