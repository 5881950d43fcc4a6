// libFuzzer target: the assembler (.tsa text; isa/assembler.hpp). Seeds: programs/asm/.
#include "fuzz_support.hpp"

#include "isa/assembler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tspemu::fuzz::accept_or_refuse(
      [&] { (void)tspemu::assemble(tspemu::fuzz::text_of(data, size), "fuzz.tsa"); });
  return 0;
}
