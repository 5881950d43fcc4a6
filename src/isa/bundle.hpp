#pragma once
// Program bundles (.tspb, DESIGN.md section 5): a program, the topology it was built for, and the
// send schedule, in a versioned binary file.
//
// File layout (little-endian):
//   offset  0: "TSPB"                     magic
//   offset  4: u32 format version         kBundleFormatVersion
//   offset  8: u64 payload size in bytes
//   offset 16: 16 bytes XXH3-128 of the payload (high word, then low word)
//   offset 32: payload: cereal BinaryArchive of (topology_name, topology_digest, program,
//              send_schedule)
// A reader rejects a wrong magic, another version, a truncated file, trailing bytes, a checksum
// mismatch and a malformed payload with an InputError naming the file; it never trusts a size
// field in the payload beyond the bytes that remain.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "isa/chip_shape.hpp"
#include "isa/program.hpp"
#include "isa/send_schedule.hpp"

namespace tspemu {

inline constexpr std::uint32_t kBundleFormatVersion = 1;

struct Bundle {
  std::uint32_t format_version = kBundleFormatVersion;
  std::string topology_name;  // empty: assembled without a topology (default chip)
  Digest128 topology_digest;  // zero: assembled without a topology
  Program program;
  SendSchedule send_schedule;
  friend bool operator==(const Bundle&, const Bundle&) = default;
};

// The file's bytes. format_version is written as kBundleFormatVersion whatever the field says.
[[nodiscard]] std::vector<std::uint8_t> encode_bundle(const Bundle& bundle);

// Parses bytes; `name` stands for the file in messages:
//   "b.tspb: not a tspemu bundle (bad magic)"
//   "b.tspb: format version 7 is not supported (this tspemu reads version 1)"
//   "b.tspb: truncated (header says 4096 payload bytes, 1000 present)"
//   "b.tspb: 12 trailing bytes after the payload"
//   "b.tspb: checksum mismatch (the file is corrupted)"
//   "b.tspb: malformed payload (...)"
// The program is then checked with validate_program(program, shape).
[[nodiscard]] Bundle decode_bundle(std::span<const std::uint8_t> bytes, const std::string& name,
                                   const ChipShape& shape = {});

// Writes atomically (temporary file + rename): a failure never leaves a partial bundle.
void write_bundle(const std::filesystem::path& path, const Bundle& bundle);

// Reads and decodes; messages name the path as given.
[[nodiscard]] Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape = {});

}  // namespace tspemu
