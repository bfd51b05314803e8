// The one-line message of the htp::Error a call throws, for tests of user-facing errors.
#pragma once

#include "htp/onnxio/error.h"

#include <gtest/gtest.h>

#include <string>

// Fails the test when `fn` throws nothing or something other than htp::Error.
template <typename Fn>
std::string user_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const htp::Error& error) {
    return error.what();
  } catch (const std::exception& error) {
    const std::string what = error.what();
    ADD_FAILURE() << "expected htp::Error, got another exception: " << what.substr(0, what.find('\n'));
    return "";
  }
  ADD_FAILURE() << "expected htp::Error, nothing was thrown";
  return "";
}
