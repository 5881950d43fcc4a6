#include "isa/bundle.hpp"

#include "scratch_dir.hpp"
#include <cereal/types/string.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "isa/assembler.hpp"
#include "isa/bundle_archive.hpp"
#include "isa/data_init.hpp"
#include "isa/program_codec.hpp"

namespace tspemu {
namespace {

Bundle small_bundle() {
  Bundle bundle;
  bundle.topology_name = "node";
  bundle.topology_digest = Digest128{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  bundle.program = assemble(R"(
.tsp 0
.data a dtype=i8 shape=[1,4] at=W0:0 init=[1, 2, 3, 4]
.region r dtype=f16 shape=[1,2] at=W1,W2:0
.output r
.map m [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -1]
.queue MEM_W0
    READ 0, S0E
.queue C2C0
    SEND S0W
.tsp 1
.queue C2C1
    @300 RECEIVE S2E
)",
                            "small.tsa");
  bundle.send_schedule.push_back(SendRow{TspId{0}, PortId{0}, 0, TspId{1}, PortId{1}, 217, 300, 0});
  bundle.attachments.push_back(BundleAttachment{"tspemu.test", {1, 2, 3}});
  bundle.attachments.push_back(BundleAttachment{"empty", {}});
  return bundle;
}

// Writes a payload size and checksum that match the bytes after the header.
void fix_size(std::vector<std::uint8_t>& bytes) {
  const std::uint64_t size = bytes.size() - 32;
  for (int i = 0; i < 8; ++i)
    bytes[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size >> (8 * i));
}

std::string error_of(std::span<const std::uint8_t> bytes) {
  try {
    (void)decode_bundle(bytes, "b.tspb");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// Rewrites the checksum so that a mutated payload reaches the payload parser.
void fix_checksum(std::vector<std::uint8_t>& bytes) {
  const Digest128 d = digest_of(std::span<const std::uint8_t>(bytes).subspan(32));
  for (int i = 0; i < 8; ++i) {
    bytes[16 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(d.high >> (8 * i));
    bytes[24 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(d.low >> (8 * i));
  }
}

TEST(Bundle, RoundTripInMemoryAndOnDisk) {
  const Bundle bundle = small_bundle();
  const std::vector<std::uint8_t> bytes = encode_bundle(bundle);
  ASSERT_GT(bytes.size(), 32U);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "TSPB");
  EXPECT_EQ(bytes[4], 3);
  const Bundle back = decode_bundle(bytes, "mem");
  EXPECT_EQ(back, bundle);
  EXPECT_EQ(back.program.tsps[0].queues[0].instructions[0].where.line, 8);  // locations survive
  EXPECT_EQ(encode_bundle(back), bytes);                                    // deterministic bytes

  const testing::ScratchDir dir("tspemu_isa_bundle_test");
  write_bundle(dir / "b.tspb", bundle);
  EXPECT_EQ(read_bundle(dir / "b.tspb"), bundle);
}

TEST(Bundle, HeaderErrors) {
  std::vector<std::uint8_t> bytes = encode_bundle(small_bundle());
  std::vector<std::uint8_t> bad = bytes;
  bad[0] = 'X';
  EXPECT_EQ(error_of(bad), "b.tspb: not a tspemu bundle (bad magic)");
  EXPECT_EQ(error_of({}), "b.tspb: truncated (0 bytes, the header alone has 32)");
  bad = bytes;
  bad[4] = 7;
  EXPECT_EQ(error_of(bad),
            "b.tspb: format version 7 is not supported (this tspemu reads versions 1 to 3)");
  bad[4] = 0;
  EXPECT_EQ(error_of(bad),
            "b.tspb: format version 0 is not supported (this tspemu reads versions 1 to 3)");
  bad = bytes;
  bad.push_back(0);
  bad.push_back(0);
  EXPECT_EQ(error_of(bad), "b.tspb: 2 trailing bytes after the payload");
  bad = bytes;
  bad.back() ^= 1;
  EXPECT_EQ(error_of(bad), "b.tspb: checksum mismatch (the file is corrupted)");
  const std::size_t payload = bytes.size() - 32;
  bad.assign(bytes.begin(), bytes.end() - 10);
  EXPECT_EQ(error_of(bad), "b.tspb: truncated (header says " + std::to_string(payload) +
                               " payload bytes, " + std::to_string(payload - 10) + " present)");
}

TEST(Bundle, EveryTruncationIsAnInputError) {
  const std::vector<std::uint8_t> bytes = encode_bundle(small_bundle());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string message = error_of(std::span<const std::uint8_t>(bytes.data(), n));
    EXPECT_EQ(message.rfind("b.tspb: ", 0), 0U) << n << ": " << message;
  }
  // Also with the header rewritten to claim exactly the bytes present: the payload parser must
  // reject every prefix of the payload by itself.
  for (std::size_t n = 32; n < bytes.size(); ++n) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    const std::uint64_t size = n - 32;
    for (int i = 0; i < 8; ++i)
      cut[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size >> (8 * i));
    fix_checksum(cut);
    const std::string message = error_of(cut);
    EXPECT_EQ(message.rfind("b.tspb: malformed payload (", 0), 0U) << n << ": " << message;
  }
}

TEST(Bundle, HugeSizeFieldIsRejectedWithoutAllocating) {
  std::vector<std::uint8_t> bytes = encode_bundle(small_bundle());
  // The payload starts with the topology name: a uint64 length, then the characters.
  for (int i = 0; i < 8; ++i) bytes[32 + static_cast<std::size_t>(i)] = 0xff;
  fix_checksum(bytes);
  const std::string message = error_of(bytes);
  EXPECT_EQ(message.rfind("b.tspb: malformed payload (a size field says 18446744073709551615 "
                          "elements with ",
                          0),
            0U)
      << message;
}

TEST(Bundle, MutatedPayloadsNeverCrash) {
  const std::vector<std::uint8_t> original = encode_bundle(small_bundle());
  int decoded = 0;
  int rejected = 0;
  for (std::uint64_t trial = 0; trial < 3000; ++trial) {
    std::vector<std::uint8_t> bytes = original;
    const std::uint64_t r = splitmix64_at(1234, trial);
    const int flips = 1 + static_cast<int>(r % 4);
    for (int f = 0; f < flips; ++f) {
      const std::uint64_t x = splitmix64_at(r, static_cast<std::uint64_t>(f));
      const std::size_t at = 32 + static_cast<std::size_t>(x % (bytes.size() - 32));
      bytes[at] = static_cast<std::uint8_t>(x >> 32);
    }
    fix_checksum(bytes);
    try {
      (void)decode_bundle(bytes, "b.tspb");
      ++decoded;
    } catch (const InputError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(decoded + rejected, 3000);
}

TEST(Bundle, RandomGarbageNeverCrashes) {
  for (std::uint64_t trial = 0; trial < 500; ++trial) {
    const std::size_t size = static_cast<std::size_t>(splitmix64_at(55, trial) % 400);
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t i = 0; i < size; ++i) {
      bytes[i] = static_cast<std::uint8_t>(splitmix64_at(trial, i));
    }
    // Half the trials get a valid header so the garbage reaches the payload parser.
    if (trial % 2 == 0 && size >= 32) {
      const std::uint8_t header[] = {'T', 'S', 'P', 'B', 1, 0, 0, 0};
      std::copy(std::begin(header), std::end(header), bytes.begin());
      const std::uint64_t payload = size - 32;
      for (int i = 0; i < 8; ++i)
        bytes[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(payload >> (8 * i));
      fix_checksum(bytes);
    }
    EXPECT_THROW((void)decode_bundle(bytes, "g.tspb"), InputError) << trial;
  }
}

TEST(Bundle, InvalidProgramInsideAValidFileIsRejected) {
  Bundle bundle = small_bundle();
  bundle.program.tsps[0].queues[0].instructions[0].operands[0].value = 0x2000;
  EXPECT_EQ(error_of(encode_bundle(bundle)),
            "b.tspb: tsp 0, queue MEM_W0, instruction 0: address 0x2000 out of range 0..0x1fff");
  bundle = small_bundle();
  bundle.program.tsps[0].queues[0].instructions[0].opcode = static_cast<Opcode>(99);
  EXPECT_EQ(error_of(encode_bundle(bundle)),
            "b.tspb: tsp 0, queue MEM_W0, instruction 0: opcode 99 does not exist");
  bundle = small_bundle();
  std::swap(bundle.program.tsps[0], bundle.program.tsps[1]);
  EXPECT_EQ(error_of(encode_bundle(bundle)), "b.tspb: tsp 0 is out of order or duplicated");
  bundle = small_bundle();
  bundle.program.tsps[1].queues[0].instructions[0].issue_cycle = 0;
  bundle.program.tsps[1].queues[0].instructions.push_back(
      bundle.program.tsps[1].queues[0].instructions[0]);
  EXPECT_EQ(error_of(encode_bundle(bundle)),
            "b.tspb: tsp 1, queue C2C1, instruction 1: issue cycle @0 is before the queue's next "
            "free cycle 1");
  bundle = small_bundle();
  bundle.program.tsps[0].data[0].init.bytes.pop_back();
  EXPECT_EQ(error_of(encode_bundle(bundle)),
            "b.tspb: tsp 0: init has 3 bytes, shape [1,4] of i8 needs 4");
}

TEST(Bundle, Attachments) {
  const Bundle bundle = small_bundle();
  ASSERT_NE(bundle.find_attachment("tspemu.test"), nullptr);
  EXPECT_EQ(bundle.find_attachment("tspemu.test")->bytes, (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_EQ(bundle.find_attachment("tspemu"), nullptr);
  const Bundle back = decode_bundle(encode_bundle(bundle), "mem");
  ASSERT_EQ(back.attachments.size(), 2U);
  EXPECT_EQ(back.attachments[0].name, "tspemu.test");  // order kept
  EXPECT_EQ(back.attachments[1].name, "empty");
  EXPECT_TRUE(back.attachments[1].bytes.empty());

  // Names are checked on reading (the encoder refuses to write such a bundle, so patch the bytes
  // of one with two same-length names).
  Bundle twins = small_bundle();
  twins.attachments = {BundleAttachment{"ab", {7}}, BundleAttachment{"cd", {8}}};
  std::vector<std::uint8_t> bytes = encode_bundle(twins);
  // The payload ends with: u64 2 (count), u64 2, "ab", u64 1, 7, u64 2, "cd", u64 1, 8.
  const std::size_t second_name = bytes.size() - 1 - 8 - 2;
  ASSERT_EQ(bytes[second_name], 'c');
  bytes[second_name] = 'a';
  bytes[second_name + 1] = 'b';
  fix_checksum(bytes);
  EXPECT_EQ(error_of(bytes),
            "b.tspb: malformed payload (attachment 1 is named 'ab' like attachment 0)");
  bytes[second_name] = 0;
  bytes[second_name + 1] = 0;
  bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(second_name),
              bytes.begin() + static_cast<std::ptrdiff_t>(second_name) + 2);
  bytes[second_name - 8] = 0;  // name length 2 -> 0
  fix_size(bytes);
  fix_checksum(bytes);
  EXPECT_EQ(error_of(bytes), "b.tspb: malformed payload (attachment 1 has an empty name)");
}

TEST(Bundle, VersionOneBundlesAreStillRead) {
  // A version-1 file is a version-2 file without the attachment list (u64 count 0 at the end).
  Bundle bundle = small_bundle();
  bundle.attachments.clear();
  std::vector<std::uint8_t> bytes = detail::encode_bundle_version(bundle, 1);
  EXPECT_EQ(bytes[4], 1);
  EXPECT_EQ(detail::encode_bundle_version(bundle, 2).size(), bytes.size() + 8);
  const Bundle back = decode_bundle(bytes, "v1.tspb");
  EXPECT_EQ(back.format_version, 1U);
  EXPECT_TRUE(back.attachments.empty());
  EXPECT_EQ(back.program, bundle.program);
  EXPECT_EQ(back.send_schedule, bundle.send_schedule);
  // Written again, it becomes the current version.
  EXPECT_EQ(encode_bundle(back)[4], kBundleFormatVersion);
  // A version-1 header over a version-2 payload has 8 bytes too many.
  bytes = detail::encode_bundle_version(bundle, 2);
  bytes[4] = 1;
  EXPECT_EQ(error_of(bytes), "b.tspb: malformed payload (8 bytes left over)");
}

TEST(Bundle, VersionTwoBundlesAreStillRead) {
  const Bundle bundle = small_bundle();
  const std::vector<std::uint8_t> bytes = detail::encode_bundle_version(bundle, 2);
  EXPECT_EQ(bytes[4], 2);
  const Bundle back = decode_bundle(bytes, "v2.tspb");
  EXPECT_EQ(back.format_version, 2U);
  EXPECT_EQ(back.program, bundle.program);
  EXPECT_EQ(back.program.tsps[0].queues[0].instructions[0].where.line, 8);
  EXPECT_EQ(back.attachments, bundle.attachments);
  EXPECT_EQ(encode_bundle(back), encode_bundle(bundle));
  // A version-2 payload under a version-3 header is not a valid compact program.
  std::vector<std::uint8_t> relabelled = bytes;
  relabelled[4] = 3;
  EXPECT_EQ(error_of(relabelled).rfind("b.tspb: malformed payload (", 0), 0U);
}

// Instructions with every field the compact encoding stores specially: negative and huge values,
// the largest issue cycle, -1 issue cycles between explicit ones, several source files, a location
// with a line but no file, saturate, stream ranges.
Program unusual_program() {
  Program program;
  program.source_name = "made.tsa";
  TspProgram tsp;
  tsp.tsp = TspId{3};
  QueueProgram queue;
  queue.queue = QueueId{QueueKind::vxm, Hemisphere::west, 2};
  Instruction a;
  a.opcode = Opcode::add;
  a.dtype = DType::i32;
  a.saturate = true;
  a.operand_count = 4;
  a.operands[0] = Operand{OperandKind::stream, StreamRef{15, Direction::west, 16}, 0};
  a.operands[1] = Operand{OperandKind::immediate, {}, -1};
  a.operands[2] = Operand{OperandKind::integer, {}, std::numeric_limits<std::int64_t>::min()};
  a.operands[3] = Operand{OperandKind::integer, {}, std::numeric_limits<std::int64_t>::max()};
  a.issue_cycle = kMaxIssueCycle;
  a.where = SourceLocation{"a/long/path/to/a/source/file.tsa", 12, 7};
  Instruction b = a;
  b.issue_cycle = -1;
  b.where = SourceLocation{"", 40, 0};
  Instruction c = a;
  c.issue_cycle = 5;
  c.where = SourceLocation{"second.tsa", 1, 1};
  Instruction d = a;
  d.issue_cycle = 6;
  d.where = SourceLocation{"a/long/path/to/a/source/file.tsa", 13, 0};
  Instruction e;  // NOP-like defaults: no operands, no location
  e.issue_cycle = 0;
  queue.instructions = {a, b, c, d, e};
  tsp.queues.push_back(queue);
  program.tsps.push_back(tsp);
  return program;
}

TEST(Bundle, CompactProgramEncodingRoundTripsEveryField) {
  Bundle bundle;
  bundle.program = unusual_program();
  const std::vector<std::uint8_t> bytes = encode_bundle(bundle);
  Bundle back;
  {
    // decode_bundle would also validate the (deliberately invalid) program: parse the payload.
    const auto payload = std::span<const std::uint8_t>(bytes).subspan(32);
    detail::BoundedInputArchive archive(payload);
    archive(back.topology_name, back.topology_digest);
    detail::load_program_compact(archive, back.program);
  }
  ASSERT_EQ(back.program, bundle.program);
  const auto& in = bundle.program.tsps[0].queues[0].instructions;
  const auto& out = back.program.tsps[0].queues[0].instructions;
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].where.file, in[i].where.file) << i;
    EXPECT_EQ(out[i].where.line, in[i].where.line) << i;
    EXPECT_EQ(out[i].where.column, in[i].where.column) << i;
    EXPECT_EQ(out[i].saturate, in[i].saturate) << i;
  }
}

TEST(Bundle, CompactEncodingIsSmall) {
  // The small bundle's three instructions, compact against field by field.
  const Bundle bundle = small_bundle();
  const std::size_t v2 = detail::encode_bundle_version(bundle, 2).size();
  const std::size_t v3 = encode_bundle(bundle).size();
  EXPECT_LT(v3 + 3 * 60, v2) << v3 << " vs " << v2;
}

TEST(Bundle, CompactEncodingRejectsMalformedInstructions) {
  Bundle bundle;
  bundle.program = unusual_program();
  bundle.program.tsps[0].queues[0].instructions.resize(1);
  bundle.program.tsps[0].queues[0].instructions[0].where = {};
  const std::vector<std::uint8_t> good = encode_bundle(bundle);
  // The one instruction's flags byte: after the header, the topology name (8) and digest (16),
  // the source name (8 + 8), the TSP count (8), id (4), empty file table (8), queue count (8),
  // queue id (1 + 1 + 2), instruction count (8) and three bytes of the instruction.
  const std::size_t flags = 32 + 8 + 16 + 8 + 8 + 8 + 4 + 8 + 8 + 4 + 8 + 3;
  ASSERT_EQ(good[flags], 4 | 0x08);
  auto mutated = [&](std::size_t at, std::uint8_t value) {
    std::vector<std::uint8_t> bytes = good;
    bytes[at] = value;
    fix_checksum(bytes);
    return error_of(bytes);
  };
  EXPECT_EQ(mutated(flags, 0x20),
            "b.tspb: malformed payload (instruction flags 0x20 have unknown bits)");
  EXPECT_EQ(mutated(flags, 0x05),
            "b.tspb: malformed payload (an instruction has 5 operands (at "
            "most 4))");
  EXPECT_EQ(mutated(flags, 0x04 | 0x10).rfind("b.tspb: malformed payload (", 0), 0U);
  // An instruction count the bytes left cannot hold (5 bytes at least each).
  EXPECT_EQ(mutated(flags - 3 - 8, 20),
            "b.tspb: malformed payload (a queue says 20 instructions with " +
                std::to_string(good.size() - (flags - 3)) + " bytes left)");
  // An issue-cycle varint that never ends: the ten bytes after the header all continue.
  std::vector<std::uint8_t> bytes = good;
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(flags) + 1, 10, std::uint8_t{0xff});
  fix_checksum(bytes);
  EXPECT_EQ(error_of(bytes).rfind("b.tspb: malformed payload (varint overflows 64 bits at payload "
                                  "offset ",
                                  0),
            0U)
      << error_of(bytes);
}

TEST(Bundle, MissingFile) {
  EXPECT_THROW((void)read_bundle("/nonexistent/x.tspb"), InputError);
}

}  // namespace
}  // namespace tspemu
