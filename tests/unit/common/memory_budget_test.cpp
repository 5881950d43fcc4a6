// common/memory_budget.hpp: refusing work that cannot fit (issue 10, item 7).
#include "common/memory_budget.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"

namespace tspemu {
namespace {

TEST(MemoryBudget, FormatsSizes) {
  EXPECT_EQ(format_bytes(1), "1 byte");
  EXPECT_EQ(format_bytes(1000), "1000 bytes");
  EXPECT_EQ(format_bytes(4096), "4 KiB");
  EXPECT_EQ(format_bytes(std::uint64_t{256} << 20), "256 MiB");
  EXPECT_EQ(format_bytes(std::uint64_t{3} << 29), "1.5 GiB");
}

TEST(MemoryBudget, MoreThanTheMachineHasIsRefused) {
  const auto room = available_memory_bytes();
  ASSERT_TRUE(room.has_value());  // Linux: /proc/meminfo at least
  EXPECT_NO_THROW(require_memory(1024, "a small table"));
  try {
    require_memory(std::uint64_t{1} << 62, "routing 2^31 TSPs");
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("routing 2^31 TSPs needs about 4 EiB, but this process "
                                          "can use only ",
                                          0),
              0U)
        << e.what();
  }
}

}  // namespace
}  // namespace tspemu
