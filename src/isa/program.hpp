#pragma once
// A whole program for one or many TSPs: per-TSP queues, data segments and declared outputs. The
// assembler produces it from .tsa text; a Bundle (isa/bundle.hpp) is a Program plus the topology it
// was built for and the send schedule; the engine executes one TspProgram.

#include <cstdint>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "isa/instruction.hpp"

namespace tspemu {

// Where a tensor lives in MEM: byte plane k of every element is in slices[k] (so a 16-bit tensor
// can be read onto an SG2 in one cycle from two slices); row r at address + r.
struct MemPlacement {
  std::vector<QueueId> slices;  // kind == mem; one per byte of the dtype
  std::int32_t address = 0;     // first row, 0..8191
  friend bool operator==(const MemPlacement&, const MemPlacement&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(slices, address);
  }
};

// How a data segment gets its initial values: recipes, not megabytes, where possible.
struct DataInit {
  enum class Kind : std::uint8_t { zero, literal, file_bytes, seeded_uniform };
  Kind kind = Kind::zero;
  std::vector<std::uint8_t> bytes;  // literal/file: row-major, little-endian elements of dtype
  std::uint64_t seed = 0;           // seeded_uniform
  double low = 0.0, high = 0.0;     // seeded_uniform: [low, high) (integers: [low, high])
  friend bool operator==(const DataInit&, const DataInit&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(kind, bytes, seed, low, high);
  }
};

struct DataSegment {
  std::string name;
  DType dtype = DType::i8;
  std::int32_t rows = 1;     // vectors
  std::int32_t columns = 0;  // lanes used per row (<= 320); lanes beyond are zero
  MemPlacement at;
  DataInit init;
  bool is_output = false;
  // false for a `.region` (result-only area): its rows hold no value until the program writes
  // them, so reading one first is an "uninitialised SRAM read"; init is then Kind::zero and
  // unused. true for `.data`: the rows are loaded from init before the program starts.
  bool initialized = true;
  SourceLocation where;
  // Equality ignores `where` (like Instruction's): a disassembled and reassembled program is equal.
  friend bool operator==(const DataSegment& a, const DataSegment& b) {
    return a.name == b.name && a.dtype == b.dtype && a.rows == b.rows && a.columns == b.columns &&
           a.at == b.at && a.init == b.init && a.is_output == b.is_output &&
           a.initialized == b.initialized;
  }
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, dtype, rows, columns, at, init, is_output, initialized, where.file, where.line,
            where.column);
  }
};

// A lane map for PERMUTE (320 entries, a bijection) or DISTRIBUTE (16 entries, -1 = zero).
struct LaneMap {
  std::string name;
  std::vector<std::int16_t> lanes;
  friend bool operator==(const LaneMap&, const LaneMap&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, lanes);
  }
};

struct QueueProgram {
  QueueId queue;
  std::vector<Instruction> instructions;
  friend bool operator==(const QueueProgram&, const QueueProgram&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(queue, instructions);
  }
};

struct TspProgram {
  TspId tsp{0};
  std::vector<QueueProgram> queues;  // sorted by QueueId
  std::vector<DataSegment> data;     // in declaration order
  std::vector<LaneMap> maps;
  friend bool operator==(const TspProgram&, const TspProgram&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(tsp, queues, data, maps);
  }
};

struct Program {
  std::string source_name;       // .tsa or graph file it came from
  std::vector<TspProgram> tsps;  // sorted by TspId
  friend bool operator==(const Program&, const Program&) = default;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(source_name, tsps);
  }
};

}  // namespace tspemu
