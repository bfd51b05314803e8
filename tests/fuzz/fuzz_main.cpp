// libFuzzer entry point for one target of fuzz_targets.h, chosen at build time (HTP_FUZZ_TARGET).
#include "fuzz_targets.h"

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // warnings about odd inputs are expected, millions of times
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  htp::fuzz::HTP_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
