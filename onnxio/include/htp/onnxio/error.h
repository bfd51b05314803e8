// The error every library reports to users: a complete one-line message with its context (file,
// op, module scope); the CLI prints it and exits non-zero.
#pragma once

#include <stdexcept>

namespace htp {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace htp
