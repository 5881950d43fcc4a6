#include "isa/program_codec.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tspemu::detail {
namespace {

constexpr std::uint8_t kOperandCountMask = 0x07;
constexpr std::uint8_t kSaturateFlag = 0x08;
constexpr std::uint8_t kLocationFlag = 0x10;
constexpr std::uint8_t kKnownFlags = kOperandCountMask | kSaturateFlag | kLocationFlag;
// The fewest bytes an encoded instruction takes: four header bytes and a one-byte issue delta.
// Bounds the instruction count a size field may claim by the bytes left.
constexpr std::size_t kMinInstructionBytes = 5;

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t u) {
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_signed(std::vector<std::uint8_t>& out, std::int64_t v) {
  put_varint(out, zigzag(v));
}

// Reads one run of encoded instructions; every read is bounds-checked.
class Reader {
 public:
  // base: the payload offset of bytes[0], for messages.
  Reader(std::span<const std::uint8_t> bytes, std::size_t base) : bytes_(bytes), base_(base) {}

  std::uint8_t byte() {
    if (position_ >= bytes_.size()) truncated(1);
    return bytes_[position_++];
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const std::uint8_t b = byte();
      // The tenth byte (shift 63) may hold bit 63 only: more, or a continuation, overflows.
      if (shift == 63 && b > 1) {
        throw PayloadError{
            fmt::format("varint overflows 64 bits at payload offset {}", base_ + position_ - 1)};
      }
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  std::int64_t signed_varint() { return unzigzag(varint()); }
  [[nodiscard]] std::size_t position() const { return position_; }

 private:
  [[noreturn]] void truncated(std::size_t size) const {
    throw PayloadError{fmt::format("needs {} more bytes at payload offset {}, {} left", size,
                                   base_ + position_, bytes_.size() - position_)};
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t base_;
  std::size_t position_ = 0;
};

// The index of `file` in the table (appending it when new); 0 = no file.
std::uint64_t file_index(std::vector<std::string>& files, const std::string& file) {
  if (file.empty()) return 0;
  // Instructions of one file come in long runs: look at the last one first.
  if (!files.empty() && files.back() == file) return files.size();
  const auto it = std::find(files.begin(), files.end(), file);
  if (it != files.end()) return static_cast<std::uint64_t>(it - files.begin()) + 1;
  files.push_back(file);
  return files.size();
}

void encode_instruction(std::vector<std::uint8_t>& out, const Instruction& instruction,
                        Cycle& previous_issue, std::vector<std::string>& files) {
  TSPEMU_ASSERT(instruction.operand_count <= kMaxOperands,
                "encode_instruction: more operands than an instruction has");
  const SourceLocation& where = instruction.where;
  const bool located = !where.file.empty() || where.line != 0 || where.column != 0;
  out.push_back(static_cast<std::uint8_t>(instruction.opcode));
  out.push_back(static_cast<std::uint8_t>(instruction.dtype));
  out.push_back(static_cast<std::uint8_t>(instruction.src_dtype));
  out.push_back(static_cast<std::uint8_t>(instruction.operand_count |
                                          (instruction.saturate ? kSaturateFlag : 0) |
                                          (located ? kLocationFlag : 0)));
  // Wrapping subtraction: any two cycles give a delta that adds back exactly.
  put_varint(out,
             zigzag(static_cast<std::int64_t>(static_cast<std::uint64_t>(instruction.issue_cycle) -
                                              static_cast<std::uint64_t>(previous_issue))));
  previous_issue = instruction.issue_cycle;
  for (int i = 0; i < instruction.operand_count; ++i) {
    const Operand& op = instruction.operands[i];
    out.push_back(static_cast<std::uint8_t>(op.kind));
    if (op.kind == OperandKind::stream) {
      out.push_back(static_cast<std::uint8_t>(op.stream.index));
      out.push_back(static_cast<std::uint8_t>(op.stream.direction));
      out.push_back(static_cast<std::uint8_t>(op.stream.count));
    }
    put_signed(out, op.value);
  }
  if (located) {
    put_varint(out, file_index(files, where.file));
    put_signed(out, where.line);
    put_signed(out, where.column);
  }
}

void decode_instruction(Reader& in, Instruction& instruction, Cycle& previous_issue,
                        std::span<const std::string> files) {
  instruction.opcode = static_cast<Opcode>(in.byte());
  instruction.dtype = static_cast<DType>(in.byte());
  instruction.src_dtype = static_cast<DType>(in.byte());
  const std::uint8_t flags = in.byte();
  if ((flags & ~kKnownFlags) != 0) {
    throw PayloadError{fmt::format("instruction flags {:#04x} have unknown bits", flags)};
  }
  const int operands = flags & kOperandCountMask;
  if (operands > kMaxOperands) {
    throw PayloadError{
        fmt::format("an instruction has {} operands (at most {})", operands, kMaxOperands)};
  }
  instruction.operand_count = static_cast<std::uint8_t>(operands);
  instruction.saturate = (flags & kSaturateFlag) != 0;
  const std::uint64_t delta = static_cast<std::uint64_t>(in.signed_varint());
  instruction.issue_cycle = static_cast<Cycle>(static_cast<std::uint64_t>(previous_issue) + delta);
  previous_issue = instruction.issue_cycle;
  for (int i = 0; i < operands; ++i) {
    Operand& op = instruction.operands[i];
    op.kind = static_cast<OperandKind>(in.byte());
    if (op.kind == OperandKind::stream) {
      op.stream.index = static_cast<std::int8_t>(in.byte());
      op.stream.direction = static_cast<Direction>(in.byte());
      op.stream.count = static_cast<std::int8_t>(in.byte());
    }
    op.value = in.signed_varint();
  }
  if ((flags & kLocationFlag) != 0) {
    const std::uint64_t file = in.varint();
    if (file > files.size()) {
      throw PayloadError{fmt::format(
          "source file {} of an instruction is not in the table of {} files", file, files.size())};
    }
    if (file > 0) instruction.where.file = files[file - 1];
    instruction.where.line = in.signed_varint();
    instruction.where.column = in.signed_varint();
  }
}

}  // namespace

void save_program_compact(BundleOutputArchive& archive, const Program& program) {
  archive(program.source_name);
  archive(cereal::make_size_tag(static_cast<cereal::size_type>(program.tsps.size())));
  for (const TspProgram& tsp : program.tsps) {
    // The file table comes before the instructions that use it: encode them first.
    std::vector<std::string> files;
    std::vector<std::vector<std::uint8_t>> queues(tsp.queues.size());
    for (std::size_t q = 0; q < tsp.queues.size(); ++q) {
      Cycle previous_issue = 0;
      for (const Instruction& instruction : tsp.queues[q].instructions) {
        encode_instruction(queues[q], instruction, previous_issue, files);
      }
    }
    archive(tsp.tsp, files);
    archive(cereal::make_size_tag(static_cast<cereal::size_type>(tsp.queues.size())));
    for (std::size_t q = 0; q < tsp.queues.size(); ++q) {
      archive(tsp.queues[q].queue);
      archive(
          cereal::make_size_tag(static_cast<cereal::size_type>(tsp.queues[q].instructions.size())));
      archive.save_bytes(queues[q].data(), queues[q].size());
    }
    archive(tsp.data, tsp.maps);
  }
}

void load_program_compact(BoundedInputArchive& archive, Program& program) {
  archive(program.source_name);
  cereal::size_type tsp_count = 0;
  archive(cereal::make_size_tag(tsp_count));
  program.tsps.resize(static_cast<std::size_t>(tsp_count));
  std::vector<std::string> files;
  for (TspProgram& tsp : program.tsps) {
    archive(tsp.tsp, files);
    cereal::size_type queue_count = 0;
    archive(cereal::make_size_tag(queue_count));
    tsp.queues.resize(static_cast<std::size_t>(queue_count));
    for (QueueProgram& queue : tsp.queues) {
      archive(queue.queue);
      cereal::size_type count = 0;
      archive(cereal::make_size_tag(count));
      if (count > archive.remaining() / kMinInstructionBytes) {
        throw PayloadError{fmt::format("a queue says {} instructions with {} bytes left", count,
                                       archive.remaining())};
      }
      queue.instructions.resize(static_cast<std::size_t>(count));
      Reader in(archive.unread(), archive.position());
      Cycle previous_issue = 0;
      for (Instruction& instruction : queue.instructions) {
        decode_instruction(in, instruction, previous_issue, files);
      }
      archive.consume(in.position());
    }
    archive(tsp.data, tsp.maps);
  }
}

}  // namespace tspemu::detail
