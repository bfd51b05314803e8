#include "archive_kind.h"

#include <caffe2/serialize/inline_container.h>

#include <sstream>

namespace htp::exporter {

ArchiveKind archive_kind(const std::string& bytes) {
  std::istringstream stream(bytes);
  try {
    caffe2::serialize::PyTorchStreamReader archive(&stream);
    return archive.hasRecord("constants.pkl") ? ArchiveKind::kTorchScript : ArchiveKind::kPickle;
  } catch (const std::exception&) {
    return ArchiveKind::kDamaged;
  }
}

}  // namespace htp::exporter
