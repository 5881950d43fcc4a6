#include "net/in_flight.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>

namespace tspemu {
namespace {

template <class T>
void put_le(std::byte* out, T value) {
  auto bits = static_cast<std::uint64_t>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out[i] = static_cast<std::byte>(bits & 0xFFU);
    bits >>= 8;
  }
}

template <class T>
T get_le(const std::byte* in) {
  std::uint64_t bits = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) {
    bits = (bits << 8) | static_cast<std::uint64_t>(in[i]);
  }
  return static_cast<T>(bits);
}

auto key(const InFlightVector& v) {
  return std::tie(v.arrival_cycle, v.link, v.sequence, v.src, v.src_port);
}

}  // namespace

bool canonical_less(const InFlightVector& a, const InFlightVector& b) {
  return key(a) < key(b);
}

void sort_canonically(std::span<InFlightVector> vectors) {
  std::sort(vectors.begin(), vectors.end(), canonical_less);
}

bool is_canonical(std::span<const InFlightVector> vectors) {
  return std::is_sorted(vectors.begin(), vectors.end(), canonical_less);
}

void encode_in_flight(const InFlightVector& v, std::span<std::byte, kInFlightWireBytes> out) {
  std::byte* p = out.data();
  put_le<std::int32_t>(p + 0, v.link.value);
  put_le<std::int32_t>(p + 4, v.src.value);
  put_le<std::int32_t>(p + 8, v.src_port.value);
  put_le<std::int32_t>(p + 12, v.dst.value);
  put_le<std::int32_t>(p + 16, v.dst_port.value);
  p[20] = static_cast<std::byte>(v.flags);
  p[21] = p[22] = p[23] = std::byte{0};
  put_le<std::int64_t>(p + 24, v.send_cycle);
  put_le<std::int64_t>(p + 32, v.arrival_cycle);
  put_le<std::uint64_t>(p + 40, v.sequence);
  put_le<std::int64_t>(p + 48, v.arrival_time_as);
  std::memcpy(p + kInFlightHeaderBytes, v.data.bytes.data(), kVectorBytes);
}

InFlightVector decode_in_flight(std::span<const std::byte, kInFlightWireBytes> in) {
  const std::byte* p = in.data();
  InFlightVector v;
  v.link = LinkId(get_le<std::int32_t>(p + 0));
  v.src = TspId(get_le<std::int32_t>(p + 4));
  v.src_port = PortId(get_le<std::int32_t>(p + 8));
  v.dst = TspId(get_le<std::int32_t>(p + 12));
  v.dst_port = PortId(get_le<std::int32_t>(p + 16));
  v.flags = static_cast<std::uint8_t>(p[20]);
  v.send_cycle = get_le<std::int64_t>(p + 24);
  v.arrival_cycle = get_le<std::int64_t>(p + 32);
  v.sequence = get_le<std::uint64_t>(p + 40);
  v.arrival_time_as = get_le<std::int64_t>(p + 48);
  std::memcpy(v.data.bytes.data(), p + kInFlightHeaderBytes, kVectorBytes);
  return v;
}

void hash_in_flight(Hasher& hasher, const InFlightVector& vector) {
  std::array<std::byte, kInFlightWireBytes> wire{};
  encode_in_flight(vector, wire);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(wire.data());
  // The 48 bytes before the arrival time, then the data: the encoding digests had before it.
  constexpr std::size_t kTimeOffset = 48;
  hasher.bytes(std::span(bytes, kTimeOffset));
  hasher.bytes(std::span(bytes + kInFlightHeaderBytes, kVectorBytes));
  if (vector.arrival_time_as != 0) hasher.bytes(std::span(bytes + kTimeOffset, 8));
}

}  // namespace tspemu
