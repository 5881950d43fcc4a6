#include "common/digest.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace tspemu {
namespace {

TEST(Digest, KnownXxh3_128OfEmptyInput) {
  // XXH3_128bits("") with the default secret: value from xxHash's own test suite (sanity check
  // that we hash with the canonical algorithm, so digests can be reproduced outside tspemu).
  EXPECT_EQ(digest_of({}).hex(), "99aa06d3014798d86001c324468d497f");
}

TEST(Digest, StreamingEqualsOneShot) {
  const std::vector<std::uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  Hasher h;
  h.bytes(std::span(data).first(4)).bytes(std::span(data).subspan(4));
  EXPECT_EQ(h.finish(), digest_of(data));
}

TEST(Digest, IntegersAreLittleEndianAndStringsLengthPrefixed) {
  Hasher a;
  a.u64(0x0807060504030201ULL);
  const std::vector<std::uint8_t> le = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(a.finish(), digest_of(le));
  Hasher ab_c;
  ab_c.str("ab").str("c");
  Hasher a_bc;
  a_bc.str("a").str("bc");
  EXPECT_NE(ab_c.finish(), a_bc.finish());
}

TEST(Digest, HexRoundTripAndStrictParse) {
  const Digest128 d{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(d.hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(Digest128::from_hex(d.hex()), d);
  EXPECT_THROW((void)Digest128::from_hex("0123"), InputError);
  EXPECT_THROW((void)Digest128::from_hex("0123456789ABCDEFfedcba9876543210"), InputError);
}

}  // namespace
}  // namespace tspemu
