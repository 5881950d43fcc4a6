#include "isa/bundle.hpp"

#include <cereal/cereal.hpp>
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

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "isa/validate.hpp"

namespace tspemu {
namespace detail {

// Thrown by BoundedInputArchive; turned into an InputError naming the file.
struct PayloadError {
  std::string message;
};

// A cereal input archive over a byte span that never reads past the end and never lets a size
// field promise more elements than there are bytes left (every element of a bundle takes at least
// one byte), so a corrupt or hostile size cannot make it allocate gigabytes. Reads bools strictly.
class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::span<const std::uint8_t> bytes)
      : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this),
        bytes_(bytes) {}

  void load_bytes(void* out, std::size_t size) {
    if (size > remaining()) {
      throw PayloadError{fmt::format("needs {} more bytes at payload offset {}, {} left", size,
                                     position_, remaining())};
    }
    if (size > 0) std::memcpy(out, bytes_.data() + position_, size);
    position_ += size;
  }
  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - position_; }
  [[nodiscard]] std::size_t position() const { return position_; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// The matching writer: the byte layout of cereal's BinaryOutputArchive (arithmetic values raw and
// little-endian on our hosts, sizes as uint64), appended to a vector.
class BundleOutputArchive
    : public cereal::OutputArchive<BundleOutputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BundleOutputArchive(std::vector<std::uint8_t>& out)
      : cereal::OutputArchive<BundleOutputArchive, cereal::AllowEmptyClassElision>(this),
        out_(out) {}
  void save_bytes(const void* data, std::size_t size) {
    const auto* begin = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), begin, begin + size);
  }

 private:
  std::vector<std::uint8_t>& out_;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(BundleOutputArchive& archive,
                                                                    const T& value) {
  archive.save_bytes(&value, sizeof(T));
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(BundleOutputArchive& archive, const cereal::NameValuePair<T>& pair) {
  archive(pair.value);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(BundleOutputArchive& archive, const cereal::SizeTag<T>& tag) {
  archive(tag.size);
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(BundleOutputArchive& archive, const cereal::BinaryData<T>& data) {
  archive.save_bytes(data.data, static_cast<std::size_t>(data.size));
}

template <class T>
std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> CEREAL_LOAD_FUNCTION_NAME(
    BoundedInputArchive& archive, T& value) {
  archive.load_bytes(&value, sizeof(T));
}

inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& archive, bool& value) {
  std::uint8_t byte = 0;
  archive.load_bytes(&byte, 1);
  if (byte > 1) throw PayloadError{fmt::format("boolean byte {} is not 0 or 1", byte)};
  value = byte != 0;
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& archive, cereal::NameValuePair<T>& pair) {
  archive(pair.value);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& archive, cereal::SizeTag<T>& tag) {
  archive(tag.size);
  if (static_cast<std::uint64_t>(tag.size) > archive.remaining()) {
    throw PayloadError{fmt::format("a size field says {} elements with {} bytes left",
                                   static_cast<std::uint64_t>(tag.size), archive.remaining())};
  }
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& archive, cereal::BinaryData<T>& data) {
  archive.load_bytes(data.data, static_cast<std::size_t>(data.size));
}

}  // namespace detail
}  // namespace tspemu

CEREAL_REGISTER_ARCHIVE(tspemu::detail::BundleOutputArchive)
CEREAL_REGISTER_ARCHIVE(tspemu::detail::BoundedInputArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(tspemu::detail::BoundedInputArchive,
                            tspemu::detail::BundleOutputArchive)

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

}  // namespace

std::vector<std::uint8_t> encode_bundle(const Bundle& bundle) {
  std::vector<std::uint8_t> payload;
  {
    detail::BundleOutputArchive archive(payload);
    archive(bundle.topology_name, bundle.topology_digest, bundle.program, bundle.send_schedule);
  }
  const std::span<const std::uint8_t> payload_bytes(payload);
  const Digest128 checksum = digest_of(payload_bytes);
  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  put_u32(out, kBundleFormatVersion);
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
  if (version != kBundleFormatVersion) {
    fail(fmt::format("format version {} is not supported (this tspemu reads version {})", version,
                     kBundleFormatVersion));
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
    archive(bundle.topology_name, bundle.topology_digest, bundle.program, bundle.send_schedule);
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
  validate_program(bundle.program, shape, name);
  return bundle;
}

void write_bundle(const std::filesystem::path& path, const Bundle& bundle) {
  const std::vector<std::uint8_t> bytes = encode_bundle(bundle);
  write_file_atomically(path, bytes);
}

Bundle read_bundle(const std::filesystem::path& path, const ChipShape& shape) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(SourceLocation{path.string(), 0, 0},
                     fmt::format("cannot read the file: {}", std::strerror(errno)));
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(SourceLocation{path.string(), 0, 0}, "read error");
  return decode_bundle(bytes, path.string(), shape);
}

}  // namespace tspemu
