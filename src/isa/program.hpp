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
  SourceLocation where;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, dtype, rows, columns, at, init, is_output, where.file, where.line, where.column);
  }
};

// A lane map for PERMUTE (320 entries, a bijection) or DISTRIBUTE (16 entries, -1 = zero).
struct LaneMap {
  std::string name;
  std::vector<std::int16_t> lanes;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(name, lanes);
  }
};

struct QueueProgram {
  QueueId queue;
  std::vector<Instruction> instructions;
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
  template <class Archive>
  void serialize(Archive& archive) {
    archive(tsp, queues, data, maps);
  }
};

struct Program {
  std::string source_name;       // .tsa or graph file it came from
  std::vector<TspProgram> tsps;  // sorted by TspId
  template <class Archive>
  void serialize(Archive& archive) {
    archive(source_name, tsps);
  }
};

}  // namespace tspemu
