// What a torch.save archive claims, checked against its bytes before LibTorch reads it. LibTorch 1.13
// allocates what the archive says before it reads: a record's uncompressed size from the zip's central
// directory, a string's length from the pickle. A few hundred bytes claiming 4 GB made it allocate (and
// zero) 4 GB (the state_dict_reader fuzz target, fixtures/fuzz/state_dict_reader/).
#pragma once

#include <optional>
#include <string>

namespace htp::exporter {

// Nullopt when every zip record's sizes fit in `bytes` (stored: as many bytes as it claims; deflated:
// at most deflate's 1032:1) and every length-prefixed pickle opcode of data.pkl fits in the rest of
// the pickle; else why not, one clause ("its zip structure is damaged: record 'a/data.pkl' claims ...").
// The zip layout LibTorch reads (end of central directory, zip64 included) is parsed; what cannot be
// parsed is "its zip structure is damaged".
std::optional<std::string> archive_bounds_problem(const std::string& bytes);

}  // namespace htp::exporter
