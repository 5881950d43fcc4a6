#pragma once
// What every fuzz target checks (launch/fuzz runs them; docs/design.md section 8): an input is
// either accepted or refused with a tspemu::Error (a located, clear message and an exit code in
// the cli). Any other exception escapes LLVMFuzzerTestOneInput and terminates the process, which
// libFuzzer reports as a crash, as it does for a sanitizer finding, a timeout or a memory blow-up.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tspemu::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

template <class F>
void accept_or_refuse(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // Refused with tspemu's error vocabulary: the expected outcome for most inputs.
  }
}

}  // namespace tspemu::fuzz
