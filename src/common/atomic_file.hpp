#pragma once
// Writing result files atomically: the content goes to a temporary file in the same directory,
// is flushed to disk, and is renamed over the target. A crash, an error or a killed job never
// leaves a half-written report, bundle or checkpoint where a complete one is expected, and an
// existing file is replaced only by a complete new one (DESIGN.md section 8).

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace tspemu {

// Throws RuntimeError naming the path and the OS error on failure; the target is then untouched.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace tspemu
