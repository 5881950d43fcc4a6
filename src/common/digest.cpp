#include "common/digest.hpp"

#include <fmt/format.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t by value
#include <xxhash.h>

#include <bit>
#include <cstddef>
#include <cstring>

#include "common/error.hpp"

namespace tspemu {

static_assert(std::endian::native == std::endian::little,
              "digests hash integers in little-endian byte order; port Hasher::u64 first");

struct Hasher::State {
  XXH3_state_t xxh{};
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  XXH3_128bits_reset(&state_->xxh);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

Hasher& Hasher::bytes(std::span<const std::uint8_t> data) {
  XXH3_128bits_update(&state_->xxh, data.data(), data.size());
  return *this;
}

Hasher& Hasher::u64(std::uint64_t value) {
  std::array<std::uint8_t, 8> le{};
  for (int i = 0; i < 8; ++i)
    le[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
  return bytes(le);
}

Hasher& Hasher::str(std::string_view text) {
  u64(text.size());
  XXH3_128bits_update(&state_->xxh, text.data(), text.size());
  return *this;
}

Digest128 Hasher::finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(&state_->xxh);
  return Digest128{h.high64, h.low64};
}

std::vector<std::uint8_t> Hasher::state() const {
  // Bytewise (padding included: State zero-initialises it), without the secret's address, which
  // belongs to this process; from_state puts the default secret back.
  std::vector<std::uint8_t> bytes(sizeof(XXH3_state_t));
  std::memcpy(bytes.data(), &state_->xxh, bytes.size());
  const unsigned char* none = nullptr;
  std::memcpy(bytes.data() + offsetof(XXH3_state_t, extSecret), &none, sizeof(none));
  return bytes;
}

Hasher Hasher::from_state(std::span<const std::uint8_t> bytes) {
  Hasher h;
  if (bytes.size() != sizeof(XXH3_state_t)) {
    throw InputError(fmt::format("a saved digest state has {} bytes, not {}", bytes.size(),
                                 sizeof(XXH3_state_t)));
  }
  const unsigned char* secret = h.state_->xxh.extSecret;  // the default secret of the reset
  std::memcpy(&h.state_->xxh, bytes.data(), bytes.size());
  if (h.state_->xxh.extSecret != nullptr || h.state_->xxh.bufferedSize > XXH3_INTERNALBUFFER_SIZE) {
    throw InputError("a saved digest state is malformed");
  }
  h.state_->xxh.extSecret = secret;
  return h;
}

Digest128 digest_of(std::span<const std::uint8_t> data) {
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Digest128{h.high64, h.low64};
}

std::string Digest128::hex() const {
  return fmt::format("{:016x}{:016x}", high, low);
}

Digest128 Digest128::from_hex(std::string_view text) {
  if (text.size() != 32) {
    throw InputError(fmt::format("digest '{}' is not 32 hex digits", text));
  }
  auto parse = [&](std::string_view part) {
    std::uint64_t v = 0;
    for (char c : part) {
      int d = 0;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else
        throw InputError(
            fmt::format("digest '{}' has a character that is not lowercase hex", text));
      v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
  };
  return Digest128{parse(text.substr(0, 16)), parse(text.substr(16))};
}

}  // namespace tspemu
