// TSPEMU_INJECT_FAULT's grammar (runtime/fault_injection.hpp): every action, every phase, the
// corrupt action's window, window faults and the signals, and the located message for anything
// else.
#include "runtime/fault_injection.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"

namespace tspemu {
namespace {

TEST(InjectedFault, ParsesStopKillAndCorrupt) {
  EXPECT_FALSE(parse_injected_fault("").has_value());
  const auto stop = parse_injected_fault("stop@setup:3");
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->action, FaultAction::stop);
  EXPECT_EQ(stop->phase, FaultPhase::setup);
  EXPECT_EQ(stop->rank, 3);
  const auto kill = parse_injected_fault("kill@finalize:0");
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->action, FaultAction::kill);
  EXPECT_EQ(kill->phase, FaultPhase::finalize);
  const auto corrupt = parse_injected_fault("corrupt@12:5");
  ASSERT_TRUE(corrupt.has_value());
  EXPECT_EQ(corrupt->action, FaultAction::corrupt);
  EXPECT_EQ(corrupt->window, 12);
  EXPECT_EQ(corrupt->rank, 5);
}

TEST(InjectedFault, ParsesWindowFaultsAndSignals) {
  const auto kill = parse_injected_fault("kill@20:3");
  ASSERT_TRUE(kill.has_value());
  EXPECT_EQ(kill->action, FaultAction::kill);
  EXPECT_EQ(kill->phase, FaultPhase::window);
  EXPECT_EQ(kill->window, 20);
  EXPECT_EQ(kill->rank, 3);
  for (const auto& [text, action] :
       {std::pair{"term@7:0", FaultAction::term}, std::pair{"usr1@7:0", FaultAction::usr1},
        std::pair{"usr2@7:0", FaultAction::usr2}}) {
    const auto signal = parse_injected_fault(text);
    ASSERT_TRUE(signal.has_value()) << text;
    EXPECT_EQ(signal->action, action) << text;
    EXPECT_EQ(signal->phase, FaultPhase::window) << text;
    EXPECT_EQ(signal->window, 7) << text;
  }
}

TEST(InjectedFault, AnythingElseIsAnInputError) {
  for (const char* bad :
       {"stop", "stop@setup", "stop@nowhere:1", "pause@run:1", "stop@run:-1", "corrupt@run:1",
        "corrupt@-2:1", "corrupt@3x:1", "kill@run:x", "term@run:0", "usr1@setup:1", "kill@-3:1"}) {
    try {
      (void)parse_injected_fault(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("TSPEMU_INJECT_FAULT='") + bad + "'"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("corrupt@WINDOW:RANK"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tspemu
