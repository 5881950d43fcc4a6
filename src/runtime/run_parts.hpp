#pragma once
// The pieces of `tspemu run` (runtime/run.hpp) its files share; internal to the runtime.
//   run_setup.cpp    loading and checking the inputs (RunSetup), --dump names
//   run_outputs.cpp  --dump files, the output shards of --check and their gather, check_outputs
//   run_report.cpp   the per-TSP JSON, the report and the RunSummary
//   run.cpp          --local and MPI runs

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/driver.hpp"
#include "runtime/failover.hpp"
#include "runtime/run.hpp"
#include "topo/chip_config.hpp"
#include "topo/topology.hpp"

namespace tspemu::detail {

// Everything a run loads before it starts; identical on every rank.
struct RunSetup {
  std::optional<Topology> topology;
  ChipConfig chip;
  Bundle bundle;
  Digest128 program_digest;               // of the bundle file (or the assembled program)
  std::optional<CompiledGraph> compiled;  // the bundle's compiled-graph record, if it has one
  std::optional<ModelRecord> model;       // the bundle's model record (compiled from a model card)
  AlignmentResult alignment;  // initial program alignment: program cycle 0 = its start_cycle
  // Drifting clocks (the topology's [clock] table): the oscillators, with each TSP's program
  // start at its HAC alignment residual, and the protocol that measured it. Ideal otherwise.
  TimeBase time_base;
  std::optional<HacSyncResult> hac_sync;
  // --fail-tsp: the remap (the bundle and record above are already the recompiled ones).
  std::optional<FailoverRecord> failover;
  // --checkpoint-dir: where and how often, and what the manifests say the run is; --restart: the
  // checkpoint it resumes from (its program and topology checked against this run's digests).
  std::optional<CheckpointPlan> checkpoint;
  std::optional<CheckpointManifest> resume;
};

// Loads and checks the request's inputs (validate_request first). Throws InputError.
[[nodiscard]] RunSetup load_run_setup(const RunRequest& request);

// "tsp3:c" -> (3, "c"); "c" -> (0, "c") on a single-TSP machine, else an InputError.
[[nodiscard]] std::pair<TspId, std::string> parse_dump_name(const std::string& spec,
                                                            std::size_t tsp_count);
// True if a --dump spec starts with a TSP (tspN:NAME).
[[nodiscard]] bool names_a_tsp(const std::string& spec);
// A --dump of a compiled graph's output tensor (by the name the graph gives it), whole or, with
// tspN:, that TSP's shard; nullptr if `spec` names no graph output (a data segment, then).
[[nodiscard]] const Tensor* graph_dump_tensor(const std::string& spec, const RunSetup& setup);
[[nodiscard]] bool has_graph_dumps(const RunRequest& request, const RunSetup& setup);

// What rank 0 needs for --check: every TSP's extracted output shards, or the first (lowest rank)
// extraction error.
struct CheckInput {
  std::vector<EmulatedOutput> outputs;
  std::optional<std::string> error;
};

// This process's output shards for --check (extract_tsp_outputs over its TSPs).
[[nodiscard]] std::vector<EmulatedOutput> extract_local_outputs(const RunSetup& setup,
                                                                const DriverOutcome& outcome);
// One rank's CheckInput as bytes for the gather, and rank 0's merge (lowest rank's error wins).
[[nodiscard]] std::string encode_check_part(const CheckInput& part);
[[nodiscard]] CheckInput merge_check_parts(const std::vector<std::string>& parts);
// --dump of declared data segments of this process's TSPs, and of whole graph outputs (rank 0,
// from the gathered shards).
void write_dumps(const RunRequest& request, const RunSetup& setup, const DriverOutcome& outcome);
void write_graph_dumps(const RunRequest& request, const RunSetup& setup,
                       std::span<const EmulatedOutput> shards);

// What rank 0 needs of one TSP's run: its digest and counters (the report's per_tsp entry, typed).
// Gathered to rank 0 as binary records (encode_tsp_records / decode_tsp_records).
struct TspRecord {
  struct UnitBusy {
    std::string unit;
    std::int64_t instructions = 0;
    std::int64_t busy_cycles = 0;
    template <class Archive>
    void serialize(Archive& archive) {
      archive(unit, instructions, busy_cycles);
    }
  };
  struct OutputDigest {
    std::string name;
    std::uint64_t bytes = 0;
    Digest128 digest;
    template <class Archive>
    void serialize(Archive& archive) {
      archive(name, bytes, digest);
    }
  };
  std::int32_t tsp = 0;
  Digest128 digest;
  Cycle final_cycle = 0;
  Cycle cycles = 0;
  std::int64_t instructions = 0;
  std::int64_t mxm_int8_macs = 0;
  std::int64_t mxm_fp16_macs = 0;
  std::int64_t sram_touched_pages = 0;
  std::int64_t vectors_sent = 0;
  std::int64_t vectors_received = 0;
  std::int64_t fec_corrected = 0;
  std::vector<UnitBusy> units;
  std::vector<std::pair<std::int32_t, std::int64_t>> link_vectors_sent;  // (link, vectors)
  std::vector<OutputDigest> outputs;
  // RUNTIME_DESKEW (chip/engine.hpp RunResult): the report's "clock" section.
  std::int64_t runtime_deskews = 0;
  Cycle pause_cycles = 0;
  Cycle max_deskew_correction_cycles = 0;
  std::int64_t late_deskews = 0;

  template <class Archive>
  void serialize(Archive& archive) {
    archive(tsp, digest, final_cycle, cycles, instructions, mxm_int8_macs, mxm_fp16_macs,
            sram_touched_pages, vectors_sent, vectors_received, fec_corrected, units,
            link_vectors_sent, outputs, runtime_deskews, pause_cycles, max_deskew_correction_cycles,
            late_deskews);
  }
};

[[nodiscard]] TspRecord tsp_record(const TspOutcome& t);
[[nodiscard]] std::string encode_tsp_records(const std::vector<TspRecord>& records);
// Appends the records of one encoded part (a rank's) to `out`.
void decode_tsp_records(const std::string& part, std::vector<TspRecord>& out);

// Rank 0 (or --local): checks the outputs (--check), writes the report (--report) and returns the
// summary. `tsps`: every TSP's record, in any order. Throws tspemu::Error.
[[nodiscard]] RunSummary finish_run(const RunRequest& request, const RunSetup& setup,
                                    const DriverOutcome& outcome, std::vector<TspRecord> tsps,
                                    RunStart start, double wall_seconds,
                                    const CheckInput* check_input);

}  // namespace tspemu::detail
