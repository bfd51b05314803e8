// Every input a fuzzer once crashed, hung or leaked on (fixtures/fuzz/<target>/), and every seed
// (fixtures/fuzz/seeds/<target>/), goes through its target again: each must end in a one-line
// htp::Error or succeed.
#include "fuzz_targets.h"

#include "htp/onnxio/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace htp::fuzz {
namespace {

TEST(FuzzRegressions, EveryKeptFindingIsRefusedCleanly) {
  const std::filesystem::path root = std::filesystem::path(HTP_SOURCE_DIR) / "fixtures" / "fuzz";
  int replayed = 0;
  for (const Target& target : targets()) {
    for (const auto& folder : {root / target.name, root / "seeds" / target.name}) {
      if (!std::filesystem::is_directory(folder)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        SCOPED_TRACE(entry.path().string());
        EXPECT_NO_THROW(target.run(onnxio::read_file(entry.path().string())));
        ++replayed;
      }
    }
  }
  EXPECT_GT(replayed, 0);
}

}  // namespace
}  // namespace htp::fuzz
