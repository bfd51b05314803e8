// Whole-file reads and atomic writes: a written file is either complete or absent.
#pragma once

#include <string>
#include <string_view>

namespace htp::exporter {

std::string read_file(const std::string& path);
// Writes to a temporary file in the target's directory, then renames it into place.
void write_file_atomically(const std::string& path, std::string_view bytes);
// Throws ExportError unless the directory that will hold `path` exists and is writable.
void check_writable_location(const std::string& path);

}  // namespace htp::exporter
