// programs/ISA.md must show the op table and the timing table exactly as the code has them, so the
// reference cannot drift from the implementation. On a mismatch the test prints the current tables
// to paste into ISA.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "isa/op_table.hpp"

namespace tspemu {
namespace {

std::string isa_md() {
  std::ifstream in(std::string(TSPEMU_SOURCE_DIR) + "/programs/ISA.md");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(IsaReference, ContainsTheOpTable) {
  const std::string table = render_op_table_markdown();
  EXPECT_NE(isa_md().find(table), std::string::npos)
      << "programs/ISA.md does not contain the current op table:\n"
      << table;
}

TEST(IsaReference, ContainsTheTimingTable) {
  const std::string table = render_timing_table_markdown();
  EXPECT_NE(isa_md().find(table), std::string::npos)
      << "programs/ISA.md does not contain the current timing table:\n"
      << table;
}

TEST(IsaReference, MentionsEveryMnemonicAndTimingKey) {
  const std::string doc = isa_md();
  for (const OpInfo& info : all_ops()) {
    EXPECT_NE(doc.find("`" + std::string(info.mnemonic)), std::string::npos) << info.mnemonic;
  }
}

}  // namespace
}  // namespace tspemu
