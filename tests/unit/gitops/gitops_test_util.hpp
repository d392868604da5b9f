#pragma once
// Shared by the gitops unit tests: run code that must fail with an InputError, get its message.
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "fluxboot/error.hpp"

namespace fluxboot::gitops::testing {

template <typename F>
std::string input_error(F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const InputError& e) {
    EXPECT_EQ(e.code(), ExitCode::InvalidInput);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected InputError, nothing was thrown";
  return {};
}

}  // namespace fluxboot::gitops::testing
