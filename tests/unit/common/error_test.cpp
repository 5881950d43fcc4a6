#include "common/error.hpp"

#include <gtest/gtest.h>

namespace tspemu {
namespace {

TEST(Error, InputErrorRendersLocationKeyAndMessage) {
  const InputError e(
      "value -3 is out of range [1, 100000]",
      ErrorContext{.where = SourceLocation{"rack.toml", 12, 5}, .key = "link.latency_cycles"});
  EXPECT_STREQ(e.what(),
               "rack.toml:12:5: link.latency_cycles: value -3 is out of range [1, 100000]");
  EXPECT_EQ(e.message(), "value -3 is out of range [1, 100000]");
  EXPECT_EQ(e.exit_code(), 2);
  EXPECT_EQ(e.kind(), ErrorKind::input);
}

TEST(Error, ScheduleErrorRendersEmulationContext) {
  const ScheduleError e("stream S5E holds no value at MEM_W3",
                        ErrorContext{.where = SourceLocation{"add.tsa", 17, 3},
                                     .tsp = 0,
                                     .cycle = 1203,
                                     .queue = "MEM_W3",
                                     .instruction = "READ 0x100, S5E"});
  EXPECT_STREQ(
      e.what(),
      "add.tsa:17:3: stream S5E holds no value at MEM_W3 (tsp 0, cycle 1203, queue MEM_W3: "
      "`READ 0x100, S5E`)");
  EXPECT_EQ(e.exit_code(), 1);
}

TEST(Error, LocationPrintsOnlyWhatIsKnown) {
  EXPECT_EQ((SourceLocation{"a.toml", 0, 0}).to_string(), "a.toml");
  EXPECT_EQ((SourceLocation{"a.toml", 4, 0}).to_string(), "a.toml:4");
  EXPECT_EQ((SourceLocation{"", 4, 2}).to_string(), "<input>:4:2");
  EXPECT_STREQ(RuntimeError("plain").what(), "plain");
}

TEST(Error, AssertThrowsInternalError) {
  try {
    TSPEMU_ASSERT(1 + 1 == 3, "arithmetic");
    FAIL() << "TSPEMU_ASSERT did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_NE(std::string(e.what()).find("assertion `1 + 1 == 3` failed"), std::string::npos);
    EXPECT_EQ(e.exit_code(), 1);
  }
}

}  // namespace
}  // namespace tspemu
