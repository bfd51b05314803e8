// The error every library reports to users: a complete one-line message with its context (file,
// op, module scope); the CLI prints it and exits non-zero.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace htp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `text` fit for a one-line message: control and non-ASCII bytes as \xNN.
inline std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  return out;
}

}  // namespace htp
