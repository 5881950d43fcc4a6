#pragma once
// Digests: XXH3-128 of a run's outputs (docs/design.md section 9). A digest is the product's proof
// of determinism, so everything fed to a Hasher must be in a defined order and byte layout
// (integers little-endian, fixed width; never pointers, padding or unordered containers).

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tspemu {

struct Digest128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  // 32 lowercase hex digits, high word first (the canonical XXH128 order).
  [[nodiscard]] std::string hex() const;
  // Parses what hex() prints; throws InputError on anything else.
  [[nodiscard]] static Digest128 from_hex(std::string_view text);
  friend bool operator==(const Digest128&, const Digest128&) = default;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(high, low);
  }
};

// Streaming XXH3-128. Not copyable; cheap to create.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  Hasher& bytes(std::span<const std::uint8_t> data);
  Hasher& u64(std::uint64_t value);  // 8 bytes, little-endian
  Hasher& i64(std::int64_t value) { return u64(static_cast<std::uint64_t>(value)); }
  Hasher& str(std::string_view text);  // length-prefixed, so ("ab","c") != ("a","bc")
  Hasher& digest(const Digest128& d) { return u64(d.high).u64(d.low); }
  [[nodiscard]] Digest128 finish() const;

  // Checkpoint/restart: the streaming state as bytes (no pointers: XXH3's secret is its default
  // one), and a hasher that goes on from such bytes exactly as the saved one would. from_state
  // throws InputError if the bytes are not a state of this build's XXH3.
  [[nodiscard]] std::vector<std::uint8_t> state() const;
  [[nodiscard]] static Hasher from_state(std::span<const std::uint8_t> bytes);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

[[nodiscard]] Digest128 digest_of(std::span<const std::uint8_t> data);

}  // namespace tspemu
