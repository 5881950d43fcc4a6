// `tspemu run`'s report (docs/report.md) and the RunSummary the cli prints: every TSP's counters
// gathered to rank 0, totals, per-link utilisation, the alignment and the --check result.
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "common/error.hpp"
#include "common/output_file.hpp"
#include "isa/bundle_archive.hpp"
#include "net/link_model.hpp"
#include "runtime/run_parts.hpp"

namespace tspemu::detail {

using Json = nlohmann::json;

TspRecord tsp_record(const TspOutcome& t) {
  TspRecord r;
  r.tsp = t.tsp.value;
  r.digest = t.digest;
  r.final_cycle = t.result.final_cycle;
  r.cycles = t.result.cycles;
  r.instructions = std::accumulate(t.result.instructions_by_opcode.begin(),
                                   t.result.instructions_by_opcode.end(), std::int64_t{0});
  r.mxm_int8_macs = t.result.mxm_int8_macs;
  r.mxm_fp16_macs = t.result.mxm_fp16_macs;
  r.sram_touched_pages = t.result.sram_touched_pages;
  r.vectors_sent = t.vectors_sent;
  r.vectors_received = t.vectors_received;
  r.fec_corrected = t.fec_corrected;
  r.runtime_deskews = t.result.runtime_deskews;
  r.pause_cycles = t.result.pause_cycles;
  r.max_deskew_correction_cycles = t.result.max_deskew_correction_cycles;
  r.late_deskews = t.result.late_deskews;
  for (const auto& u : t.result.units) r.units.push_back({u.name, u.instructions, u.busy_cycles});
  for (const auto& [link, vectors] : t.link_vectors) {
    r.link_vectors_sent.emplace_back(link.value, vectors);
  }
  for (const auto& o : t.result.outputs) {
    r.outputs.push_back({o.name, o.bytes.size(), digest_of(o.bytes)});
  }
  return r;
}

// The job's own data (the archive's bounds are a safeguard, not a trust boundary).
std::string encode_tsp_records(const std::vector<TspRecord>& records) {
  std::vector<std::uint8_t> bytes;
  detail::BundleOutputArchive archive(bytes);
  archive(records);
  return std::string(bytes.begin(), bytes.end());
}

void decode_tsp_records(const std::string& part, std::vector<TspRecord>& out) {
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(part.data()),
                                            part.size());
  detail::BoundedInputArchive archive(bytes);
  std::vector<TspRecord> records;
  archive(records);
  for (auto& r : records) out.push_back(std::move(r));
}

namespace {

// One TSP's entry of the report's per_tsp array.
Json record_to_json(const TspRecord& t) {
  Json units = Json::array();
  for (const auto& u : t.units) {
    units.push_back({{"unit", u.unit},
                     {"instructions", u.instructions},
                     {"busy_cycles", u.busy_cycles},
                     {"utilisation", t.cycles > 0 ? static_cast<double>(u.busy_cycles) /
                                                        static_cast<double>(t.cycles)
                                                  : 0.0}});
  }
  Json links = Json::array();
  for (const auto& [link, vectors] : t.link_vectors_sent) links.push_back({link, vectors});
  Json outputs = Json::array();
  for (const auto& o : t.outputs) {
    outputs.push_back({{"name", o.name}, {"bytes", o.bytes}, {"digest", o.digest.hex()}});
  }
  return Json{{"tsp", t.tsp},
              {"digest", t.digest.hex()},
              {"final_cycle", t.final_cycle},
              {"cycles", t.cycles},
              {"instructions", t.instructions},
              {"mxm_int8_macs", t.mxm_int8_macs},
              {"mxm_fp16_macs", t.mxm_fp16_macs},
              {"sram_touched_pages", t.sram_touched_pages},
              {"vectors_sent", t.vectors_sent},
              {"vectors_received", t.vectors_received},
              {"fec_corrected", t.fec_corrected},
              {"units", units},
              {"link_vectors_sent", links},
              {"outputs", outputs}};
}

// The report's "alignment" object (cycles are global, counted from reset; program cycle 0 is
// start_cycle).
Json alignment_to_json(const AlignmentResult& a) {
  return Json{{"root", a.tree.root.value},
              {"tree_height", a.tree.height},
              {"max_link_latency_cycles", a.max_link_latency_cycles},
              {"cost_cycles", a.cost_cycles},
              {"formula_cost_cycles", a.formula_cost_cycles},
              {"start_skew_cycles", a.start_skew_cycles},
              {"start_cycle", a.start_cycle},
              {"max_arrival_latency_cycles", a.max_arrival_latency_cycles}};
}

// The report's "clock" object (drifting clocks only; docs/report.md, docs/clocks.md): the
// oscillators, the HAC echo estimate of every link (ISCA'22 Table 2's columns), the parent/child
// alignment's convergence and residual per TSP, and what RUNTIME_DESKEW corrected (the totals:
// the summary's).
Json clock_to_json(const Topology& topology, const HacSyncResult& sync,
                   const std::vector<TspRecord>& tsps, const RunSummary::Clocks& totals) {
  const ClockParams& c = topology.clock();
  Json links = Json::array();
  for (const LinkLatencyEstimate& e : sync.links) {
    links.push_back({{"link", e.link.value},
                     {"a", e.a.value},
                     {"b", e.b.value},
                     {"iterations", e.iterations},
                     {"min_cycles", e.min_cycles},
                     {"mean_cycles", e.mean_cycles},
                     {"max_cycles", e.max_cycles},
                     {"std_cycles", e.std_cycles},
                     {"estimate_cycles", e.estimate_cycles}});
  }
  Json per_tsp = Json::array();
  for (const TspRecord& t : tsps) {
    const auto i = static_cast<std::size_t>(t.tsp);
    per_tsp.push_back({{"tsp", t.tsp},
                       {"ppm", sync.ppm[i]},
                       {"parent", sync.tree.parent[i]},
                       {"initial_error_cycles", sync.initial_error_cycles[i]},
                       {"exchanges", sync.exchanges[i]},
                       {"residual_cycles", sync.residual_cycles[i]},
                       {"runtime_deskews", t.runtime_deskews},
                       {"pause_cycles", t.pause_cycles},
                       {"max_deskew_correction_cycles", t.max_deskew_correction_cycles},
                       {"late_deskews", t.late_deskews}});
  }
  return Json{{"ppm_spread", c.ppm_spread},
              {"seed", c.seed},
              {"echo_iterations", c.echo_iterations},
              {"alignment",
               {{"block_exchanges", c.alignment_block_exchanges},
                {"step_cycles", c.alignment_step_cycles},
                {"rounds_epochs", sync.rounds},
                {"max_exchanges", sync.max_exchanges},
                {"max_abs_residual_cycles", sync.max_abs_residual_cycles},
                {"residual_spread_cycles", sync.residual_spread_cycles}}},
              {"runtime_deskew",
               {{"pause_cycles", totals.pause_cycles},
                {"max_correction_cycles", totals.max_correction_cycles},
                {"late", totals.late_deskews}}},
              {"links", links},
              {"tsps", per_tsp}};
}

// Sums over every TSP's entry.
struct RunTotals {
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> link_sent;  // (link, sender) -> n
  std::int64_t vectors = 0;
  std::int64_t fec_corrected = 0;
  std::int64_t int8_macs = 0;
  std::int64_t fp16_macs = 0;
  std::int64_t instructions = 0;
};

// The --report file (docs/report.md): the summary's values, per-link utilisation, the alignment,
// the check, the bindings and every TSP's entry.
void write_report(const RunRequest& request, const RunSetup& setup, const DriverOutcome& outcome,
                  const std::vector<TspRecord>& tsps, const RunSummary& summary,
                  const RunTotals& totals) {
  const Topology& topology = *setup.topology;
  const RunStart& start = summary.start;
  const Cycle cycles = summary.cycles;
  const double wall_seconds = summary.wall_seconds;
  const std::int64_t instructions = summary.instructions;
  const std::optional<CheckResult>& check = summary.check;
  Json links = Json::array();
  for (const auto& [key, n] : totals.link_sent) {
    const Link& link = topology.link(LinkId{static_cast<std::int32_t>(key.first)});
    const Cycle ser = serialisation_cycles(link.params.bandwidth_gbps, topology.chip().clock_mhz,
                                           static_cast<int>(link.params.wire_bytes_per_vector));
    const auto from = key.second;
    const auto to = link.a.tsp.value == from ? link.b.tsp.value : link.a.tsp.value;
    links.push_back(
        {{"link", key.first},
         {"from_tsp", from},
         {"to_tsp", to},
         {"vectors", n},
         {"utilisation",
          cycles > 0 ? static_cast<double>(n * ser) / static_cast<double>(cycles) : 0.0}});
  }

  Json report{
      {"tool", "tspemu"},
      {"program", request.program.string()},
      {"program_digest", setup.program_digest.hex()},
      {"topology",
       {{"name", topology.name()},
        {"file", request.topology.string()},
        {"digest", topology.digest().hex()}}},
      {"tsps", topology.tsp_count()},
      {"transport", start.transport},
      {"ranks", start.ranks},
      {"partition", start.partition},
      {"seed", request.seed},
      {"timing_only", request.timing_only},
      {"cycles", cycles},
      {"final_cycle", outcome.final_cycle},
      {"emulated_seconds", summary.emulated_seconds},
      {"wall_seconds", wall_seconds},
      // The emulation alone (the driver's run, the slowest rank's): wall_seconds less loading,
      // checking and reporting.
      {"run_seconds", outcome.run_seconds},
      {"instructions", instructions},
      {"instructions_per_second",
       wall_seconds > 0 ? static_cast<double>(instructions) / wall_seconds : 0.0},
      {"run_instructions_per_second",
       outcome.run_seconds > 0 ? static_cast<double>(instructions) / outcome.run_seconds : 0.0},
      {"emulated_cycles_per_second",
       wall_seconds > 0 ? static_cast<double>(cycles) / wall_seconds : 0.0},
      {"mxm_int8_macs", totals.int8_macs},
      {"mxm_fp16_macs", totals.fp16_macs},
      {"emulated_macs_per_second",
       wall_seconds > 0 ? static_cast<double>(totals.int8_macs + totals.fp16_macs) / wall_seconds
                        : 0.0},
      {"window_cycles", outcome.window_cycles},
      {"windows", outcome.windows},
      {"windows_skipped", outcome.windows_skipped},
      {"agreement_epochs", request.agreement_epochs},
      {"vectors_sent", summary.vectors_sent},
      // Per-neighbour exchange messages over all ranks: sent, and elided because the send
      // schedule says they would be empty (net/exchange_plan.hpp).
      // rank_messages: the MPI messages that carried them between ranks (one per pair of ranks,
      // direction and window with traffic; 0 in --local).
      {"exchange_messages",
       {{"sent", outcome.transport.messages_sent},
        {"elided", outcome.transport.messages_elided},
        {"rank_messages", outcome.transport.rank_messages_sent}}},
      {"fec_corrected", totals.fec_corrected},
      {"links", links},
      {"alignment", alignment_to_json(setup.alignment)},
      {"digest", summary.digest.hex()},
  };
  if (setup.hac_sync) {
    report["clock"] = clock_to_json(*setup.topology, *setup.hac_sync, tsps, *summary.clocks);
  }
  if (setup.failover) {
    const FailoverRecord& f = *setup.failover;
    Json remap = Json::array();
    for (const auto& [from, to] : f.remap) remap.push_back({from.value, to.value});
    report["failover"] = {{"failed_tsp", f.failure.tsp.value},
                          {"failure_cycle", f.failure.cycle},
                          {"failed_node", f.failed_node.value},
                          {"spare_node", f.spare_node.value},
                          {"remap", remap},
                          {"lost_cycles", f.lost_cycles},
                          {"rerun_cycles", summary.cycles},
                          {"cost_cycles", f.lost_cycles + summary.cycles}};
  }
  if (!outcome.replays.empty()) {
    Json replays = Json::array();
    for (const ReplayRecord& r : outcome.replays) {
      replays.push_back({{"attempt", r.attempt},
                         {"uncorrectable_vectors", r.uncorrectable_vectors},
                         {"first", r.first}});
    }
    report["replays"] = replays;
  }
  const auto checkpoint_json = [](const CheckpointRecord& c) {
    return Json{{"directory", c.directory.string()},
                {"window", c.window},
                {"cycle", c.cycle},
                {"reason", c.reason}};
  };
  if (request.checkpoint_dir) {
    Json written = Json::array();
    for (const CheckpointRecord& c : outcome.checkpoints) written.push_back(checkpoint_json(c));
    report["checkpoints"] = {{"directory", request.checkpoint_dir->string()},
                             {"every_epochs", request.checkpoint_every},
                             {"written", written}};
  }
  if (outcome.restarted_from) report["restarted_from"] = checkpoint_json(*outcome.restarted_from);
  if (request.shuffle_seed) report["shuffle_seed"] = *request.shuffle_seed;
  if (setup.compiled) report["predicted_cycles"] = setup.compiled->predicted_cycles;
  if (summary.model) {
    const ModelRecord& m = *summary.model;
    report["model"] = {{"name", m.name},
                       {"phase", std::string(model_phase_name(m.phase))},
                       {"tokens", m.tokens},
                       {"context_tokens", m.context_tokens},
                       {"latency_seconds", summary.model_figures.latency_seconds},
                       {"tokens_per_second", summary.model_figures.tokens_per_second}};
  }
  if (check) {
    report["check"] = {{"status", check->passed ? "passed" : "failed"}, {"shards", check->shards}};
    if (!check->passed) report["check"]["mismatch"] = check->mismatch;
    if (check->passed) {
      report["check"]["output_digest"] = check->output_digest.hex();
      Json outputs = Json::array();
      for (const auto& [name, d] : check->outputs) {
        outputs.push_back({{"name", name}, {"digest", d.hex()}});
      }
      report["check"]["outputs"] = outputs;
    }
  }
  if (!start.bindings.empty()) {
    report["bindings"] = start.bindings;
    report["binding_summary"] = sharing_summary(start.bindings);
  }
  // per_tsp added last (keys are printed in sorted order whatever the insertion order).
  Json per_tsp = Json::array();
  for (const TspRecord& t : tsps) per_tsp.push_back(record_to_json(t));
  report["per_tsp"] = std::move(per_tsp);
  write_output_file(*request.report, report.dump(2) + "\n", "--report");
}

}  // namespace

RunSummary finish_run(const RunRequest& request, const RunSetup& setup,
                      const DriverOutcome& outcome, std::vector<TspRecord> tsps, RunStart start,
                      double wall_seconds, const CheckInput* check_input) {
  // --check first: an extraction error ends the run before any report is written.
  std::optional<CheckResult> check;
  if (request.check) {
    TSPEMU_ASSERT(setup.compiled && check_input != nullptr, "--check without its inputs");
    if (check_input->error) throw RuntimeError(*check_input->error);
    check = check_outputs(*setup.compiled, check_input->outputs);
  }

  std::sort(tsps.begin(), tsps.end(),
            [](const TspRecord& a, const TspRecord& b) { return a.tsp < b.tsp; });
  std::vector<Digest128> digests;
  digests.reserve(tsps.size());
  for (const auto& t : tsps) digests.push_back(t.digest);
  // A replayed run's digest covers the attempt that ran clean (its final state and sent vectors,
  // FEC flags included) and how many attempts were discarded; its outputs are the fault-free
  // run's (docs/network.md, "Replay").
  Digest128 digest = combine_tsp_digests(digests);
  if (!outcome.replays.empty()) {
    digest = Hasher().str("tspemu-replayed").digest(digest).u64(outcome.replays.size()).finish();
  }
  const Topology& topology = *setup.topology;
  const Cycle cycles = outcome.final_cycle + 1;
  const double clock_hz = topology.chip().clock_mhz * 1e6;
  const double emulated_seconds = static_cast<double>(cycles) / clock_hz;

  // Per-link and direction vector counts from the senders' tallies.
  RunTotals totals;
  for (const TspRecord& t : tsps) {
    totals.instructions += t.instructions;
    for (const auto& [link, n] : t.link_vectors_sent) totals.link_sent[{link, t.tsp}] += n;
    totals.vectors += t.vectors_sent;
    totals.fec_corrected += t.fec_corrected;
    totals.int8_macs += t.mxm_int8_macs;
    totals.fp16_macs += t.mxm_fp16_macs;
  }
  RunSummary summary;
  summary.start = std::move(start);
  summary.cycles = cycles;
  summary.clock_mhz = topology.chip().clock_mhz;
  summary.emulated_seconds = emulated_seconds;
  if (setup.compiled) summary.predicted_cycles = setup.compiled->predicted_cycles;
  summary.alignment = setup.alignment;
  summary.replays = outcome.replays;
  summary.checkpoints = outcome.checkpoints;
  summary.restarted_from = outcome.restarted_from;
  summary.failover = setup.failover;
  if (setup.hac_sync) {
    RunSummary::Clocks c;
    c.ppm_spread = topology.clock().ppm_spread;
    c.rounds_epochs = setup.hac_sync->rounds;
    c.residual_spread_cycles = setup.hac_sync->residual_spread_cycles;
    for (const TspRecord& t : tsps) {
      c.runtime_deskews += t.runtime_deskews;
      c.pause_cycles += t.pause_cycles;
      c.max_correction_cycles = std::max(c.max_correction_cycles, t.max_deskew_correction_cycles);
      c.late_deskews += t.late_deskews;
    }
    summary.clocks = c;
  }
  summary.windows = outcome.windows;
  summary.window_cycles = outcome.window_cycles;
  summary.windows_skipped = outcome.windows_skipped;
  summary.vectors_sent = totals.vectors;
  summary.instructions = totals.instructions;
  summary.wall_seconds = wall_seconds;
  summary.run_seconds = outcome.run_seconds;
  summary.check = std::move(check);
  summary.digest = digest;
  if (setup.model) {
    summary.model = setup.model;
    summary.model_figures = model_run_figures(*setup.model, cycles, summary.clock_mhz);
  }
  if (request.report) write_report(request, setup, outcome, tsps, summary, totals);
  return summary;
}

}  // namespace tspemu::detail
