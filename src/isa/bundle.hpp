#pragma once
// Program bundles (.tspb, docs/design.md section 5): a program, the topology it was built for, the
// send schedule and named attachments (e.g. the compiled graph, compiler/compiled_graph.hpp), in a
// versioned binary file.
//
// File layout (little-endian):
//   offset  0: "TSPB"                     magic
//   offset  4: u32 format version         kBundleFormatVersion
//   offset  8: u64 payload size in bytes
//   offset 16: 16 bytes XXH3-128 of the payload (high word, then low word)
//   offset 32: payload: cereal BinaryArchive of (topology_name, topology_digest, program,
//              send_schedule, attachments) (isa/bundle_archive.hpp); from version 3 on the
//              program in the compact encoding of isa/program_codec.hpp
// Version 1 payloads end after send_schedule (no attachments); version 2 stores the program field
// by field through cereal (about 113 bytes an instruction against 6-12 in version 3); both are
// still read, and a bundle read and written again becomes version 3. A reader
// rejects a wrong magic, another version, a truncated file, trailing bytes, a checksum mismatch
// and a malformed payload (including an attachment with an empty or repeated name) with an
// InputError naming the file; it never trusts a size field in the payload beyond the bytes that
// remain.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "isa/chip_shape.hpp"
#include "isa/program.hpp"
#include "isa/send_schedule.hpp"

namespace tspemu {

// The version written; every version from kOldestBundleFormatVersion on is read.
inline constexpr std::uint32_t kBundleFormatVersion = 3;
inline constexpr std::uint32_t kOldestBundleFormatVersion = 1;

// A named blob a bundle carries for tools that know the name (the run itself ignores them).
// Names are non-empty and unique within a bundle; by convention "tspemu.<what>" for tspemu's own.
struct BundleAttachment {
  std::string name;
  std::vector<std::uint8_t> bytes;
  friend bool operator==(const BundleAttachment&, const BundleAttachment&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, bytes);
  }
};

struct Bundle {
  std::uint32_t format_version = kBundleFormatVersion;
  std::string topology_name;  // empty: assembled without a topology (default chip)
  Digest128 topology_digest;  // zero: assembled without a topology
  Program program;
  SendSchedule send_schedule;
  std::vector<BundleAttachment> attachments;  // in the order they were added (version >= 2)
  friend bool operator==(const Bundle&, const Bundle&) = default;

  // The attachment with this name, or nullptr.
  [[nodiscard]] const BundleAttachment* find_attachment(std::string_view name) const;
};

// The file's bytes. format_version is written as kBundleFormatVersion whatever the field says.
// Attachment names must be non-empty and unique (TSPEMU_ASSERT: a caller bug).
[[nodiscard]] std::vector<std::uint8_t> encode_bundle(const Bundle& bundle);

// Parses bytes; `name` stands for the file in messages:
//   "b.tspb: not a tspemu bundle (bad magic)"
//   "b.tspb: format version 7 is not supported (this tspemu reads versions 1 to 3)"
//   "b.tspb: truncated (header says 4096 payload bytes, 1000 present)"
//   "b.tspb: 12 trailing bytes after the payload"
//   "b.tspb: checksum mismatch (the file is corrupted)"
//   "b.tspb: malformed payload (...)", e.g. "(attachment 1 has an empty name)",
//     "(attachment 2 is named 'x' like attachment 0)"
// The program is then checked with validate_program(program, shape).
[[nodiscard]] Bundle decode_bundle(std::span<const std::uint8_t> bytes, const std::string& name,
                                   const ChipShape& shape = {});

namespace detail {
// The bytes of an older format version (1 .. kBundleFormatVersion; version 1 takes no
// attachments), for the tests of the readers of old bundles.
[[nodiscard]] std::vector<std::uint8_t> encode_bundle_version(const Bundle& bundle,
                                                              std::uint32_t version);
}  // namespace detail

// Writes by the rules of common/output_file.hpp (atomic; never over a link, device or input).
void write_bundle(const std::filesystem::path& path, const Bundle& bundle);

// The largest bundle read_bundle accepts (a bundle carries recipes, not megabytes, where it can;
// a larger file is almost certainly not a bundle). Reading also checks the memory budget.
inline constexpr std::uint64_t kMaxBundleBytes = std::uint64_t{64} << 30;  // 64 GiB

// Reads (common/input_file.hpp) and decodes; messages name the path as given.
[[nodiscard]] Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape = {});
// The same, also giving the digest of the file's bytes (digest_of: what a report calls the
// program digest).
[[nodiscard]] Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape,
                                 Digest128& file_digest);

}  // namespace tspemu
