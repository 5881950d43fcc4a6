// libFuzzer target: the bundle reader (isa/bundle.hpp) behind its checksum. A random file fails
// the XXH3 checksum at once, so the input is taken as [format version byte][payload] and wrapped
// in a header with the right size and checksum: the fuzzer then exercises the payload parsers
// (cereal records, the compact program encoding of version 3, the attachments, validate_program).
// Seeds: bundles of programs/asm/ and programs/graphs/ (launch/fuzz makes them).
#include "fuzz_support.hpp"

#include <array>
#include <vector>

#include "common/digest.hpp"
#include "isa/bundle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint32_t version = data[0];
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  std::vector<std::uint8_t> file = {'T', 'S', 'P', 'B'};
  auto put = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) file.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  const tspemu::Digest128 checksum = tspemu::digest_of(payload);
  put(version, 4);
  put(payload.size(), 8);
  put(checksum.high, 8);
  put(checksum.low, 8);
  file.insert(file.end(), payload.begin(), payload.end());
  tspemu::fuzz::accept_or_refuse([&] { (void)tspemu::decode_bundle(file, "fuzz.tspb"); });
  return 0;
}
