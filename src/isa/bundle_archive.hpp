#pragma once
// The cereal archives of bundle payloads (isa/bundle.hpp), shared with records that travel in
// bundle attachments (e.g. compiler/compiled_graph.hpp) so that every byte of a bundle is read
// with the same guarantees: BoundedInputArchive never reads past the end of its span, never lets
// a size field promise more elements than there are bytes left (so a corrupt or hostile size
// cannot make it allocate gigabytes) and reads bools strictly; it throws PayloadError, which the
// caller turns into an InputError naming the file. BundleOutputArchive writes the byte layout of
// cereal's BinaryOutputArchive (arithmetic values raw and little-endian on our hosts, sizes as
// uint64) into a vector.

#include <cereal/cereal.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace tspemu {
namespace detail {

// Thrown by BoundedInputArchive (and by record decoders for a semantic problem); turned into an
// InputError naming the file.
struct PayloadError {
  std::string message;
};

// A cereal input archive over a byte span (see the top of this file). Every element of a record
// must take at least one byte for the size check to bound allocations.
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
  // For decoders that parse a run of bytes themselves (isa/program_codec.cpp): the unread bytes,
  // and how many of them were consumed (at most remaining()).
  [[nodiscard]] std::span<const std::uint8_t> unread() const { return bytes_.subspan(position_); }
  void consume(std::size_t size) {
    if (size > remaining()) throw PayloadError{"a decoder consumed more bytes than there are"};
    position_ += size;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// The matching writer, appending to a vector.
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
