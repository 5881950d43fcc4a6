#pragma once
// The compact encoding of a Program inside a bundle (format version 3 on, isa/bundle.hpp).
//
// Versions 1 and 2 stored every Instruction field by field through cereal: all four operand
// slots, 64-bit values and the source file name of every instruction, about 113 bytes per
// instruction, and reading them was a third of a timing-only run. Version 3 stores per
// instruction only what it holds:
//
//   u8 opcode, u8 dtype, u8 src_dtype,
//   u8 flags: bits 0-2 operand_count (0..4), bit 3 saturate, bit 4 a source location follows
//   varint zigzag(issue_cycle - the previous instruction's issue_cycle in the queue; 0 first)
//   per used operand: u8 kind, then i8 stream index, u8 direction, i8 stream count for a
//                     stream operand, then varint zigzag(value)
//   if flagged: varint file (index into the TSP's file table), varint zigzag(line),
//               varint zigzag(column)
//
// A TSP program is: tsp id, the file table (the distinct non-empty source file names of its
// instructions, in order of first use; index 0 is "no file"), the queues (id, instruction count,
// instructions), then data segments and lane maps as in version 2. Compiled programs take 6 to 12
// bytes per instruction. Unused operand slots are not stored: they read back default-constructed,
// which Instruction's equality ignores as well.
//
// Varints are LEB128 (7 bits a byte, low first, at most 10 bytes); the reader rejects a longer or
// overflowing one, an operand count above 4, a file index past the table and any count that
// promises more elements than there are bytes left, with the archive's PayloadError.

#include "isa/bundle_archive.hpp"
#include "isa/program.hpp"

namespace tspemu::detail {

void save_program_compact(BundleOutputArchive& archive, const Program& program);
void load_program_compact(BoundedInputArchive& archive, Program& program);

}  // namespace tspemu::detail
