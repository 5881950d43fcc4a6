// `tspemu run --check` in process (run_local, printed by the cli's RunPrinter): passing and failing
// comparisons on one and two TSPs, the typed summary, the report's check object and
// predicted_cycles, and every input error.
#include "check_bundles.hpp"
#include "scratch_dir.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "cli/run_output.hpp"
#include "common/error.hpp"
#include "runtime/run.hpp"

namespace tspemu {
namespace {

namespace fs = std::filesystem;

std::string source(const std::string& relative) {
  return std::string(TSPEMU_SOURCE_DIR) + "/" + relative;
}

struct Outcome {
  int code = 0;
  std::string out;
  std::string err;
  std::optional<RunSummary> summary;
};

class Check : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<testing::ScratchDir>("tspemu_runtime_check_test");
    dir_ = scratch_->path();
  }
  void TearDown() override { scratch_.reset(); }

  // Writes the bundle and runs it --local on topologies/<topology>.toml.
  Outcome run(const Bundle& bundle, const std::string& topology, bool check = true,
              bool timing_only = false) {
    const fs::path path = dir_ / "b.tspb";
    write_bundle(path, bundle);
    return run_path(path, topology, check, timing_only);
  }
  Outcome run_path(const fs::path& path, const std::string& topology, bool check = true,
                   bool timing_only = false) {
    RunRequest request;
    request.program = path;
    request.topology = source("topologies/" + topology + ".toml");
    request.local = true;
    request.check = check;
    request.timing_only = timing_only;
    request.report = dir_ / "report.json";
    fs::remove(*request.report);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    Outcome o;
    // As `tspemu run --local` does it: run_local's result or error printed by the cli.
    cli::RunPrinter printer(cli::RunOutputOptions{});
    try {
      const RunCompletion result = run_local(request, printer);
      o.summary = result.summary;
      o.code = printer.finish(result);
    } catch (const Error& e) {
      write_error_line(e.what());
      o.code = e.exit_code();
    }
    o.out = ::testing::internal::GetCapturedStdout();
    o.err = ::testing::internal::GetCapturedStderr();
    return o;
  }
  nlohmann::json report() const {
    std::ifstream in(dir_ / "report.json");
    return nlohmann::json::parse(in);
  }
  std::string path() const { return (dir_ / "b.tspb").string(); }
  static const Topology& topology(const std::string& name) {
    static const Topology chip = load_topology(source("topologies/chip.toml"));
    static const Topology pair = load_topology(source("topologies/pair.toml"));
    return name == "chip" ? chip : pair;
  }

  std::unique_ptr<testing::ScratchDir> scratch_;
  fs::path dir_;
};

// The digest line is the last line of stdout.
bool ends_with_digest(const std::string& out) {
  const auto at = out.rfind("digest: ");
  return at != std::string::npos && out.find('\n', at) == out.size() - 1;
}

TEST_F(Check, PassesOnOneTsp) {
  const Outcome o = run(test::check_bundle(topology("chip"), false, false), "chip");
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.err, "");
  EXPECT_NE(o.out.find("\npredicted cycles: 7\n"), std::string::npos) << o.out;
  // The output digests follow: per output, then the graph's (EvalResult::digest() of what the
  // run produced, equal to the reference's).
  EXPECT_NE(o.out.find("\ncheck: passed (1 output shard bit-exact against the reference "
                       "evaluator)\ncheck: output 'c' digest e334c79924443af1137b231106638456\n"
                       "check: output digest e334c79924443af1137b231106638456 "
                       "(docs/graph-format.md, \"The examples\")\ndigest: "),
            std::string::npos)
      << o.out;
  EXPECT_TRUE(ends_with_digest(o.out));
  // The same values, typed, as the runtime returned them.
  ASSERT_TRUE(o.summary.has_value());
  EXPECT_EQ(o.summary->start.transport, "local");
  EXPECT_EQ(o.summary->start.tsps, 1U);
  EXPECT_EQ(o.summary->predicted_cycles, 7);
  ASSERT_TRUE(o.summary->check.has_value());
  EXPECT_TRUE(o.summary->check->passed);
  EXPECT_EQ(o.summary->check->output_digest.hex(), "e334c79924443af1137b231106638456");
  const auto r = report();
  EXPECT_EQ(r["digest"], o.summary->digest.hex());
  EXPECT_EQ(r["cycles"], o.summary->cycles);
  EXPECT_EQ(r["predicted_cycles"], 7);
  EXPECT_EQ(r["check"],
            (nlohmann::json{
                {"status", "passed"},
                {"shards", 1},
                {"output_digest", "e334c79924443af1137b231106638456"},
                {"outputs", {{{"name", "c"}, {"digest", "e334c79924443af1137b231106638456"}}}}}));
}

constexpr const char* kChipMismatch =
    "output 'c' element [1, 325] on tsp 0: expected 0x611f (655.5), got 0x611e (655.0)";

TEST_F(Check, FailsOnAChangedByte) {
  const Outcome o = run(test::check_bundle(topology("chip"), false, true), "chip");
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err, std::string("check: FAILED: ") + kChipMismatch + "\n");
  EXPECT_EQ(o.out.find("check: passed"), std::string::npos);
  EXPECT_TRUE(ends_with_digest(o.out));  // the digest line is still printed
  ASSERT_TRUE(o.summary && o.summary->check);
  EXPECT_FALSE(o.summary->check->passed);
  EXPECT_EQ(o.summary->check->mismatch, kChipMismatch);
  const auto r = report();
  EXPECT_EQ(r["check"],
            (nlohmann::json{{"status", "failed"}, {"shards", 1}, {"mismatch", kChipMismatch}}));
}

TEST_F(Check, TwoTspsPassAndFailOnTheSecond) {
  Outcome o = run(test::check_bundle(topology("pair"), true, false), "pair");
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("check: passed (2 output shards bit-exact against the reference "
                       "evaluator)\n"),
            std::string::npos)
      << o.out;
  o = run(test::check_bundle(topology("pair"), true, true), "pair");
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err.rfind("check: FAILED: output 'c' element [1, 325] on tsp 1: expected ", 0), 0U)
      << o.err;
}

TEST_F(Check, WithoutCheckTheRecordStillGivesThePrediction) {
  const Outcome o = run(test::check_bundle(topology("chip"), false, true), "chip", false);
  EXPECT_EQ(o.code, 0) << o.err;  // the changed byte is not looked at
  EXPECT_NE(o.out.find("\npredicted cycles: 7\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("check:"), std::string::npos);
  const auto r = report();
  EXPECT_EQ(r["predicted_cycles"], 7);
  EXPECT_FALSE(r.contains("check"));
  // Timing-only runs carry it too.
  const Outcome t = run(test::check_bundle(topology("chip"), false, false), "chip", false, true);
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(report()["predicted_cycles"], 7);
}

TEST_F(Check, NoRecordNoPrediction) {
  const Outcome o = run(test::check_bundle(topology("chip"), false, false, false), "chip", false);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.find("predicted"), std::string::npos);
  EXPECT_FALSE(report().contains("predicted_cycles"));
}

TEST_F(Check, InputErrors) {
  Outcome o = run(test::check_bundle(topology("chip"), false, false, false), "chip");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "tspemu: error: " + path() +
                       ": --check needs a bundle compiled from a graph (tspemu compile); this one "
                       "has no graph record\n");
  EXPECT_EQ(o.out, "");

  const std::string tsa = source("programs/asm/vector_add.tsa");
  o = run_path(tsa, "chip");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "tspemu: error: " + tsa +
                       ": --check needs a bundle compiled from a graph (tspemu compile); an "
                       "assembly program has no graph record\n");

  o = run(test::check_bundle(topology("chip"), false, false), "chip", true, true);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err,
            "tspemu: error: --check compares data, so it cannot be combined with --timing-only\n");

  // A damaged record is a located input error even without --check.
  Bundle bundle = test::check_bundle(topology("chip"), false, false);
  bundle.attachments[0].bytes.pop_back();
  o = run(bundle, "chip", false);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err.rfind("tspemu: error: " + path() + ": malformed compiled graph record (", 0), 0U)
      << o.err;
}

TEST_F(Check, ALayoutThatDoesNotMatchTheProgramIsARuntimeError) {
  Bundle bundle = test::check_bundle(topology("chip"), false, false);
  CompiledGraph record = decode_compiled_graph(bundle.attachments[0].bytes, "b");
  record.outputs[0].segments[1] = "nope";
  bundle.attachments[0].bytes = encode_compiled_graph(record);
  const Outcome o = run(bundle, "chip");
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err, "tspemu: error: output 'c' on tsp 0: the run has no output segment 'nope'\n");
}

TEST(CheckOutputs, CountsShardsAndReportsTheFirstMismatch) {
  const Topology pair = load_topology(source("topologies/pair.toml"));
  const Bundle bundle = test::check_bundle(pair, true, false);
  const CompiledGraph record = decode_compiled_graph(bundle.attachments[0].bytes, "b");
  const EvalResult expected = evaluate(record.graph);
  std::vector<EmulatedOutput> got;
  for (const Shard& s : expected.outputs[0].shards) got.push_back({"c", s.tsp, s.bytes});
  CheckResult r = check_outputs(record, got);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.shards, 2);
  EXPECT_EQ(r.mismatch, "");
  got.pop_back();
  r = check_outputs(record, got);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.mismatch, "output 'c' on tsp 1: the run produced no value");
}

}  // namespace
}  // namespace tspemu
