// How much memory the machine has left, for refusing work that cannot fit before it is tried.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace htp::exporter {

// MemAvailable of /proc/meminfo in bytes; nullopt where the kernel does not say.
std::optional<int64_t> available_memory();

// `bytes` as "1.5 GiB", for messages.
std::string gib(int64_t bytes);

}  // namespace htp::exporter
