// runtime/report_verification: the typed result of `tspemu verify` for identical reports, differing
// reports (which TSPs differ), and the refusals (damaged report, other topology, other program).
#include "runtime/report_verification.hpp"

#include "scratch_dir.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/driver.hpp"

namespace tspemu {
namespace {

Digest128 tsp_digest(int seed) {
  const std::uint8_t byte = static_cast<std::uint8_t>(seed);
  return digest_of(std::span<const std::uint8_t>(&byte, 1));
}

class ReportVerificationTest : public ::testing::Test {
 protected:
  ReportVerificationTest() : scratch_("tspemu_report_verification_test") {}

  // A report of three TSPs with these per-TSP digest seeds; the run digest combines them.
  std::string write(const std::string& name, std::vector<int> seeds,
                    const std::string& topology = "t0", const std::string& program = "p0",
                    bool damage = false) {
    std::vector<Digest128> digests;
    nlohmann::json per_tsp = nlohmann::json::array();
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      digests.push_back(tsp_digest(seeds[i]));
      per_tsp.push_back({{"tsp", i}, {"digest", digests.back().hex()}});
    }
    Digest128 run = combine_tsp_digests(digests);
    if (damage) run = tsp_digest(99);
    const nlohmann::json report{{"digest", run.hex()},
                                {"topology", {{"digest", topology}}},
                                {"program_digest", program},
                                {"per_tsp", per_tsp}};
    const auto path = (scratch_.path() / name).string();
    std::ofstream(path) << report.dump();
    return path;
  }

  testing::ScratchDir scratch_;
};

TEST_F(ReportVerificationTest, IdenticalReportsFormOneGroup) {
  const auto a = write("a.json", {1, 2, 3});
  const auto b = write("b.json", {1, 2, 3});
  const ReportVerification v = verify_reports({a, b});
  EXPECT_TRUE(v.identical());
  EXPECT_EQ(v.reports, 2U);
  ASSERT_EQ(v.paths_by_digest.size(), 1U);
  EXPECT_EQ(v.paths_by_digest.begin()->second, (std::vector<std::string>{a, b}));
  EXPECT_TRUE(v.differing_tsps.empty());
}

TEST_F(ReportVerificationTest, DifferingReportsNameTheTsps) {
  const auto a = write("a.json", {1, 2, 3});
  const auto b = write("b.json", {1, 5, 6});
  const auto c = write("c.json", {1, 2, 3});
  const ReportVerification v = verify_reports({a, b, c});
  EXPECT_FALSE(v.identical());
  EXPECT_EQ(v.paths_by_digest.size(), 2U);
  EXPECT_EQ(v.first_tsps, 3U);
  EXPECT_EQ(v.second_tsps, 3U);
  EXPECT_EQ(v.differing_tsps, (std::vector<std::int64_t>{1, 2}));
  // The groups are in digest order, and so are first and second.
  EXPECT_EQ(v.paths_by_digest.begin()->second.front(), v.first_path);
}

TEST_F(ReportVerificationTest, RefusesADamagedReport) {
  const auto a = write("a.json", {1, 2, 3}, "t0", "p0", true);
  try {
    (void)verify_reports({a});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the report was edited or is damaged"), std::string::npos)
        << e.what();
  }
}

TEST_F(ReportVerificationTest, RefusesOtherTopologiesAndPrograms) {
  const auto a = write("a.json", {1, 2, 3});
  const auto b = write("b.json", {1, 2, 3}, "t1");
  const auto c = write("c.json", {1, 2, 3}, "t0", "p1");
  EXPECT_THROW(
      {
        try {
          (void)verify_reports({a, b});
        } catch (const InputError& e) {
          EXPECT_EQ(std::string(e.what()),
                    "verify: " + a + " and " + b +
                        " come from different topologies (topology digests t0 and t1); compare "
                        "runs of one machine");
          throw;
        }
      },
      InputError);
  EXPECT_THROW((void)verify_reports({a, c}), InputError);
}

}  // namespace
}  // namespace tspemu
