// What a PyTorch zip archive holds, told by its records, so that a file given to the wrong option
// gets a message that says so instead of LibTorch's.
#pragma once

#include <string>

namespace htp::exporter {

enum class ArchiveKind {
  kDamaged,      // not a zip archive LibTorch can open
  kTorchScript,  // torch.jit.save (has constants.pkl)
  kPickle,       // torch.save of any object (data.pkl only)
};

ArchiveKind archive_kind(const std::string& bytes);

}  // namespace htp::exporter
