#include "isa/bundle.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/memory_budget.hpp"
#include "common/output_file.hpp"
#include "isa/bundle_archive.hpp"
#include "isa/program_codec.hpp"
#include "isa/validate.hpp"

namespace tspemu {
namespace {

static_assert(std::endian::native == std::endian::little,
              "bundles store integers in host order; port the archives first");

constexpr std::array<std::uint8_t, 4> kMagic = {'T', 'S', 'P', 'B'};
constexpr std::size_t kHeaderBytes = 32;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_u64(std::span<const std::uint8_t> bytes, std::size_t offset) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(bytes[offset + static_cast<std::size_t>(i)]) << (8 * i);
  }
  return v;
}
std::uint32_t get_u32(std::span<const std::uint8_t> bytes, std::size_t offset) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(bytes[offset + static_cast<std::size_t>(i)]) << (8 * i);
  }
  return v;
}

// The problem with a list of attachment names, or nothing.
std::optional<std::string> attachment_names_problem(
    const std::vector<BundleAttachment>& attachments) {
  for (std::size_t i = 0; i < attachments.size(); ++i) {
    if (attachments[i].name.empty()) return fmt::format("attachment {} has an empty name", i);
    for (std::size_t j = 0; j < i; ++j) {
      if (attachments[j].name == attachments[i].name) {
        return fmt::format("attachment {} is named '{}' like attachment {}", i, attachments[i].name,
                           j);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

const BundleAttachment* Bundle::find_attachment(std::string_view name) const {
  for (const auto& a : attachments) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::vector<std::uint8_t> encode_bundle(const Bundle& bundle) {
  return detail::encode_bundle_version(bundle, kBundleFormatVersion);
}

std::vector<std::uint8_t> detail::encode_bundle_version(const Bundle& bundle,
                                                        std::uint32_t version) {
  TSPEMU_ASSERT(version >= kOldestBundleFormatVersion && version <= kBundleFormatVersion,
                "encode_bundle_version: no such format version");
  TSPEMU_ASSERT(version >= 2 || bundle.attachments.empty(),
                "encode_bundle_version: version 1 has no attachments");
  std::vector<std::uint8_t> payload;
  {
    const auto problem = attachment_names_problem(bundle.attachments);
    TSPEMU_ASSERT(!problem, "encode_bundle: " + problem.value_or(""));
    detail::BundleOutputArchive archive(payload);
    archive(bundle.topology_name, bundle.topology_digest);
    if (version >= 3) {
      detail::save_program_compact(archive, bundle.program);
    } else {
      archive(bundle.program);
    }
    archive(bundle.send_schedule);
    if (version >= 2) archive(bundle.attachments);
  }
  const std::span<const std::uint8_t> payload_bytes(payload);
  const Digest128 checksum = digest_of(payload_bytes);
  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  put_u32(out, version);
  put_u64(out, payload.size());
  put_u64(out, checksum.high);
  put_u64(out, checksum.low);
  out.insert(out.end(), payload_bytes.begin(), payload_bytes.end());
  return out;
}

Bundle decode_bundle(std::span<const std::uint8_t> bytes, const std::string& name,
                     const ChipShape& shape) {
  auto fail = [&](std::string message) {
    throw InputError(SourceLocation{name, 0, 0}, std::move(message));
  };
  const std::size_t magic_present = std::min(bytes.size(), kMagic.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(magic_present),
                  kMagic.begin())) {
    fail("not a tspemu bundle (bad magic)");
  }
  if (bytes.size() < kHeaderBytes) {
    fail(fmt::format("truncated ({} bytes, the header alone has {})", bytes.size(), kHeaderBytes));
  }
  const std::uint32_t version = get_u32(bytes, 4);
  if (version < kOldestBundleFormatVersion || version > kBundleFormatVersion) {
    fail(fmt::format("format version {} is not supported (this tspemu reads versions {} to {})",
                     version, kOldestBundleFormatVersion, kBundleFormatVersion));
  }
  const std::uint64_t payload_size = get_u64(bytes, 8);
  const std::uint64_t present = bytes.size() - kHeaderBytes;
  if (payload_size > present) {
    fail(
        fmt::format("truncated (header says {} payload bytes, {} present)", payload_size, present));
  }
  if (payload_size < present) {
    fail(fmt::format("{} trailing bytes after the payload", present - payload_size));
  }
  const auto payload = bytes.subspan(kHeaderBytes);
  const Digest128 expected{get_u64(bytes, 16), get_u64(bytes, 24)};
  if (digest_of(payload) != expected) fail("checksum mismatch (the file is corrupted)");

  Bundle bundle;
  bundle.format_version = version;
  try {
    detail::BoundedInputArchive archive(payload);
    archive(bundle.topology_name, bundle.topology_digest);
    if (version >= 3) {
      detail::load_program_compact(archive, bundle.program);
    } else {
      archive(bundle.program);
    }
    archive(bundle.send_schedule);
    if (version >= 2) archive(bundle.attachments);
    if (archive.remaining() != 0) {
      fail(fmt::format("malformed payload ({} bytes left over)", archive.remaining()));
    }
  } catch (const detail::PayloadError& e) {
    fail(fmt::format("malformed payload ({})", e.message));
  } catch (const cereal::Exception& e) {
    fail(fmt::format("malformed payload ({})", e.what()));
  } catch (const std::length_error& e) {
    fail(fmt::format("malformed payload ({})", e.what()));
  } catch (const std::bad_alloc&) {
    fail("malformed payload (a size field is too large)");
  }
  if (auto problem = attachment_names_problem(bundle.attachments)) {
    fail(fmt::format("malformed payload ({})", *problem));
  }
  validate_program(bundle.program, shape, name);
  return bundle;
}

void write_bundle(const std::filesystem::path& path, const Bundle& bundle) {
  const std::vector<std::uint8_t> bytes = encode_bundle(bundle);
  write_output_file(path, bytes);
}

Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape) {
  Digest128 unused;
  return read_bundle(path, shape, unused);
}

Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape,
                   Digest128& file_digest) {
  const InputBytes in = read_input_bytes(path, kMaxBundleBytes, "bundle");
  if (in.exceeds(kMaxBundleBytes)) {
    throw InputError(SourceLocation{path.string(), 0, 0},
                     fmt::format("cannot read bundle: it holds more than {} (the limit for a "
                                 "bundle)",
                                 format_bytes(kMaxBundleBytes)));
  }
  file_digest = digest_of(in.bytes);
  return decode_bundle(in.bytes, path.string(), shape);
}

}  // namespace tspemu
