#include "cli/run_output.hpp"

#include "common/error.hpp"

namespace tspemu::cli {
namespace {

const char* plural(std::int64_t n) {
  return n == 1 ? "" : "s";
}

void print_summary(const RunSummary& s, bool quiet) {
  if (!quiet) {
    std::printf("cycles: %lld (%.3f us emulated at %.0f MHz)\n", static_cast<long long>(s.cycles),
                s.emulated_seconds * 1e6, s.clock_mhz);
    if (s.predicted_cycles) {
      std::printf("predicted cycles: %lld\n", static_cast<long long>(*s.predicted_cycles));
    }
    if (s.model) {
      const ModelRecord& m = *s.model;
      const double us = s.model_figures.latency_seconds * 1e6;
      if (m.phase == ModelPhase::decode) {
        std::printf(
            "model %s: one decode step (KV cache of %lld tokens) in %.3f us: %.0f tokens/s "
            "per user\n",
            m.name.c_str(), static_cast<long long>(m.context_tokens), us,
            s.model_figures.tokens_per_second);
      } else {
        std::printf("model %s: %s of %lld tokens in %.3f us (%.0f tokens/s)\n", m.name.c_str(),
                    std::string(model_phase_name(m.phase)).c_str(),
                    static_cast<long long>(m.tokens), us, s.model_figures.tokens_per_second);
      }
    }
    if (s.start.tsps > 1) {
      std::printf(
          "alignment: tree height %lld from TSP 0, cost %lld cycles (formula %lld), start skew "
          "%lld\n",
          static_cast<long long>(s.alignment.tree.height),
          static_cast<long long>(s.alignment.cost_cycles),
          static_cast<long long>(s.alignment.formula_cost_cycles),
          static_cast<long long>(s.alignment.start_skew_cycles));
    }
    if (s.failover) {
      const FailoverRecord& f = *s.failover;
      std::printf(
          "failover: TSP %d failed at cycle %lld; node %d (TSPs %d..%d) moved onto spare node %d "
          "(TSPs %d..%d) and the graph recompiled; %lld cycles lost, the rerun takes %lld (%lld "
          "in all)\n",
          f.failure.tsp.value, static_cast<long long>(f.failure.cycle), f.failed_node.value,
          f.remap.front().first.value, f.remap.back().first.value, f.spare_node.value,
          f.remap.front().second.value, f.remap.back().second.value,
          static_cast<long long>(f.lost_cycles), static_cast<long long>(s.cycles),
          static_cast<long long>(f.lost_cycles + s.cycles));
    }
    for (const ReplayRecord& r : s.replays) {
      std::printf("replayed: attempt %lld had %lld uncorrectable vector%s (first: %s)\n",
                  static_cast<long long>(r.attempt + 1),
                  static_cast<long long>(r.uncorrectable_vectors),
                  r.uncorrectable_vectors == 1 ? "" : "s", r.first.c_str());
    }
    if (s.restarted_from) {
      const CheckpointRecord& c = *s.restarted_from;
      std::printf("restarted: from the checkpoint in %s before window %lld (cycle %lld)\n",
                  c.directory.c_str(), static_cast<long long>(c.window),
                  static_cast<long long>(c.cycle));
    }
    if (!s.checkpoints.empty()) {
      const CheckpointRecord& c = s.checkpoints.back();
      std::printf("checkpoints: %zu written to %s, the last before window %lld (cycle %lld)\n",
                  s.checkpoints.size(), c.directory.c_str(), static_cast<long long>(c.window),
                  static_cast<long long>(c.cycle));
    }
    if (s.clocks) {
      const auto& c = *s.clocks;
      std::printf(
          "clocks: +-%g ppm; HACs aligned in %lld epochs, residuals %.2f cycles apart; %lld "
          "RUNTIME_DESKEW paused %lld cycles (largest correction %lld, %lld late)\n",
          c.ppm_spread, static_cast<long long>(c.rounds_epochs), c.residual_spread_cycles,
          static_cast<long long>(c.runtime_deskews), static_cast<long long>(c.pause_cycles),
          static_cast<long long>(c.max_correction_cycles), static_cast<long long>(c.late_deskews));
    }
    std::printf("windows: %lld of %lld cycles (%lld skipped); vectors on links: %lld\n",
                static_cast<long long>(s.windows), static_cast<long long>(s.window_cycles),
                static_cast<long long>(s.windows_skipped), static_cast<long long>(s.vectors_sent));
    const auto per_second = [](double n, double seconds) {
      return seconds > 0 ? n / seconds : 0.0;
    };
    std::printf(
        "wall: %.3f s (%.3g emulated cycles/s, %.3g instructions/s); emulation alone %.3f s (%.3g "
        "instructions/s)\n",
        s.wall_seconds, per_second(static_cast<double>(s.cycles), s.wall_seconds),
        per_second(static_cast<double>(s.instructions), s.wall_seconds), s.run_seconds,
        per_second(static_cast<double>(s.instructions), s.run_seconds));
  }
  if (s.check && s.check->passed && !quiet) {
    std::printf("check: passed (%lld output shard%s bit-exact against the reference evaluator)\n",
                static_cast<long long>(s.check->shards), plural(s.check->shards));
    for (const auto& [name, d] : s.check->outputs) {
      std::printf("check: output '%s' digest %s\n", name.c_str(), d.hex().c_str());
    }
    // Where the golden output digests are listed: the graph examples' table, or the model cards'.
    std::printf(
        "check: output digest %s (%s)\n", s.check->output_digest.hex().c_str(),
        s.model ? "docs/models.md, \"Small cards\"" : "docs/graph-format.md, \"The examples\"");
  }
  if (s.check && !s.check->passed) {
    std::fflush(stdout);
    std::fprintf(stderr, "check: FAILED: %s\n", s.check->mismatch.c_str());
    std::fflush(stderr);
  }
  std::printf("digest: %s\n", s.digest.hex().c_str());
  std::fflush(stdout);
}

}  // namespace

void RunPrinter::started(const RunStart& start) {
  if (options_.quiet) return;
  std::printf("tspemu run: %s on topology '%s' (%zu TSP%s), %s transport, %d rank%s\n",
              start.program.c_str(), start.topology_name.c_str(), start.tsps,
              plural(static_cast<std::int64_t>(start.tsps)), start.transport.c_str(), start.ranks,
              plural(start.ranks));
  if (start.transport == "mpi") {
    std::printf("partition: %s\n", start.partition.c_str());
    std::printf("binding: %s\n", sharing_summary(start.bindings).c_str());
    if (options_.report_binding) {
      for (const auto& b : start.bindings) std::printf("  %s\n", describe_binding(b).c_str());
    }
  }
  std::fflush(stdout);
}

ProgressSink RunPrinter::progress() {
  if (!options_.progress.value_or(is_terminal(stderr))) return {};
  printer_.emplace("run", stderr);
  return printer_->sink();
}

int RunPrinter::finish(const RunCompletion& result) {
  if (result.error) write_error_line(*result.error);
  if (result.stopped) {
    const CheckpointRecord& c = *result.stopped;
    std::printf(
        "stopped: on %s, after writing the checkpoint before window %lld (cycle %lld) to %s; go on "
        "with `tspemu run --restart %s`\n",
        c.reason.c_str(), static_cast<long long>(c.window), static_cast<long long>(c.cycle),
        c.directory.c_str(), c.directory.c_str());
    std::fflush(stdout);
  }
  if (result.summary) print_summary(*result.summary, options_.quiet);
  return result.exit_code;
}

}  // namespace tspemu::cli
