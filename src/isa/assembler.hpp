#pragma once
// The text assembler: .tsa text -> Program (programs/ISA.md documents the language).
//
// Every error is an InputError located at the offending token, "file:line:column: message", e.g.
//   prog.tsa:7:5: unknown mnemonic 'ADDD'
//   prog.tsa:9:17: stream S33E out of range S0E..S31E
//   prog.tsa:12:1: issue cycle @100 is before the queue's next free cycle 120
// Instructions keep their SourceLocation (the mnemonic) for the engine's schedule errors.

#include <filesystem>
#include <string>
#include <string_view>

#include "isa/chip_shape.hpp"
#include "isa/program.hpp"

namespace tspemu {

// Assembles `text`. `file_name` names the text in messages, becomes Program::source_name, and its
// directory is where init=file("...") paths are resolved.
[[nodiscard]] Program assemble(std::string_view text, const std::string& file_name,
                               const ChipShape& shape = {});

// Reads and assembles a file; messages name the path as given.
[[nodiscard]] Program assemble_file(const std::filesystem::path& path, const ChipShape& shape = {});

}  // namespace tspemu
