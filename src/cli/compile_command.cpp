// `tspemu compile GRAPH.toml --topology T -o OUT.tspb [--report FILE]`: lower a tensor graph to a
// bundle (compiler/compile.hpp), verify it, write it, and print the predicted cycle count.
//
// Verification (issue 6): before anything is written, the bundle runs once in this process in
// timing-only mode on every TSP of the topology (the run driver with the in-process transport).
// The engine re-checks every rule the scheduler relied on, independently of the code that built the
// schedule: stream values present where read and never overwritten in flight, MEM ports and banks,
// busy units, weights installed before use, every SRAM row written before it is read, every SEND
// the send schedule announced and no RECEIVE before the worst-case arrival. The compile then
// fails with the engine's message (a compiler bug, exit 1) instead of writing a bundle that would
// fail at run time; and the run's cycle count must equal the prediction. The send schedule is also
// re-derived from the queues (runtime/send_schedule.hpp) and must equal the compiler's.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chip/kokkos_session.hpp"
#include "cli/command.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/log.hpp"
#include "common/memory_budget.hpp"
#include "common/output_file.hpp"
#include "common/progress.hpp"
#include "compiler/compile.hpp"
#include "compiler/graph_loader.hpp"
#include "isa/bundle.hpp"
#include "isa/validate.hpp"
#include "model/expand.hpp"
#include "model/model_card.hpp"
#include "model/model_record.hpp"
#include "net/local_transport.hpp"
#include "runtime/clock_plan.hpp"
#include "runtime/compile_verification.hpp"
#include "runtime/driver.hpp"
#include "runtime/send_schedule.hpp"
#include "runtime/trace.hpp"
#include "topo/chip_config.hpp"
#include "topo/loader.hpp"

namespace tspemu::cli {
namespace {

struct CompileOptions {
  std::string input;
  std::filesystem::path output;
  std::string topology;
  std::optional<std::filesystem::path> report;
  bool no_verify = false;
  bool no_runtime_deskew = false;  // drifting clocks: keep the margins, place no RUNTIME_DESKEW
  std::optional<bool> progress;    // default: when stderr is a terminal
  std::optional<std::filesystem::path> trace;  // the verification run's timeline
  std::optional<std::string> trace_cycles;
};

int run_compile(const CompileOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  {
    const std::vector<NamedPath> inputs = {{"the graph", options.input},
                                           {"--topology", options.topology}};
    std::vector<NamedPath> outputs = {{"-o", options.output}};
    if (options.report) outputs.push_back({"--report", *options.report});
    if (options.trace) outputs.push_back({"--trace", *options.trace});
    if (options.trace && options.no_verify) {
      throw InputError(
          "--trace records the verification run: it cannot be combined with --no-verify");
    }
    (void)trace_range(options.trace.has_value(), options.trace_cycles);
    check_output_paths(inputs, outputs);
  }
  std::optional<ProgressPrinter> printer;
  if (options.progress.value_or(is_terminal(stderr))) printer.emplace("compile", stderr);
  const auto say = [&](const char* text) {
    if (printer) printer->report_now(text);
  };
  say("loading the topology and the graph");
  const Topology topology = load_topology(options.topology);
  // A model card (a top-level [model] table; docs/models.md) is expanded into its graph first.
  const std::string text = read_input_file(options.input, kMaxTextInputBytes, "graph file");
  std::optional<ModelRecord> model;
  Graph graph;
  if (looks_like_model_card(text)) {
    const ModelCard card = load_model_card_from_string(text, options.input);
    ModelGraphSummary summary;
    graph = expand_model(card, topology, &summary);
    model = model_record(card, summary);
  } else {
    graph = load_graph_from_string(text, options.input, topology,
                                   std::filesystem::path(options.input).parent_path());
  }
  // Drifting clocks: the HAC alignment every run will have, and the margins and RUNTIME_DESKEWs
  // the schedule needs for it (docs/clocks.md).
  ClockPlan clock = plan_clock(topology);
  if (options.no_runtime_deskew) clock.schedule.deskew_period_cycles = 0;
  CompileOutput out =
      compile_graph(graph, topology, printer ? printer->sink() : ProgressSink{}, clock.schedule);
  if (model) {
    out.bundle.attachments.push_back({std::string(kModelAttachment), encode_model_record(*model)});
  }
  say("encoding and checking the bundle");
  const ChipConfig chip = chip_config_from_params(topology.chip());
  // The bundle must be one a reader accepts (validate_program: every instruction and segment).
  const std::vector<std::uint8_t> bytes = encode_bundle(out.bundle);
  (void)decode_bundle(bytes, options.output.string(), chip.shape);
  const auto lowered = std::chrono::steady_clock::now();
  Cycle verified_cycles = -1;
  if (!options.no_verify) {
    say("verifying: a timing-only run of the schedule on every TSP");
    VerifyOptions verify;
    verify.program_validated = true;  // decoded (and so validated) just above
    verify.time_base = &clock.time_base;
    if (options.trace) {
      verify.trace = true;
      std::tie(verify.trace_begin, verify.trace_end) = trace_range(true, options.trace_cycles);
    }
    const VerifiedRun run = verify_compiled_bundle(out, topology, verify, options.input);
    verified_cycles = run.cycles;
    if (options.trace) {
      write_output_file(
          *options.trace,
          write_trace_json({encode_trace_part(run.outcome)}, topology, out.bundle, &out.record,
                           run.outcome.executed_windows, run.outcome.window_cycles,
                           verify.trace_begin, verify.trace_end),
          "--trace");
    }
    if (verified_cycles != out.stats.predicted_cycles) {
      throw ScheduleError(fmt::format(
          "compiler bug: predicted {} cycles but the timing-only run of the schedule takes {}",
          out.stats.predicted_cycles, verified_cycles));
    }
  }
  const auto verified = std::chrono::steady_clock::now();
  write_output_file(options.output, bytes, "-o");  // the bytes checked above (as write_bundle)
  const auto ms = [](auto a, auto b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  const double utilisation =
      out.stats.predicted_cycles > 0
          ? static_cast<double>(out.stats.abc_plane_cycles) /
                (static_cast<double>(out.stats.predicted_cycles) *
                 static_cast<double>(out.stats.mxm_planes) *
                 static_cast<double>(std::max<std::int64_t>(out.stats.tsps_used, 1)))
          : 0.0;
  if (options.report) {
    nlohmann::ordered_json report;
    report["graph"] = graph.name;
    report["source"] = options.input;
    report["topology"] = topology.name();
    report["bundle"] = options.output.string();
    report["predicted_cycles"] = out.stats.predicted_cycles;
    report["verified_cycles"] = verified_cycles;
    report["tsps"] = out.stats.tsps_used;
    report["instructions"] = out.stats.instructions;
    report["vectors_sent"] = out.stats.vectors_sent;
    report["mxm_plane_cycles"] = out.stats.abc_plane_cycles;
    report["mxm_utilisation"] = utilisation;
    report["sram_peak_bytes"] = out.stats.sram_peak_bytes;
    report["sram_bytes_per_tsp"] = out.stats.sram_bytes_per_tsp;
    nlohmann::ordered_json ops = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
      nlohmann::ordered_json entry = {{"op", graph.ops[i].label()},
                                      {"start_cycle", out.stats.op_start_cycles[i]},
                                      {"finish_cycle", out.stats.op_finish_cycles[i]}};
      // Ops of a model card: the layer they belong to, for `tspemu report`'s per-layer table.
      if (model && i < model->op_layers.size()) entry["layer"] = layer_name(model->op_layers[i]);
      ops.push_back(entry);
    }
    if (model) {
      report["model"] = {{"name", model->name},
                         {"phase", std::string(model_phase_name(model->phase))},
                         {"layers", model->layers},
                         {"tokens", model->tokens},
                         {"context_tokens", model->context_tokens},
                         {"tensor_parallel", model->tensor_parallel},
                         {"pipeline_stages", model->pipeline_stages},
                         {"parameters", model->parameters}};
    }
    if (clock.sync) {
      report["clock"] = {{"receive_margin_cycles", clock.schedule.receive_margin_cycles},
                         {"deskew_period_cycles", clock.schedule.deskew_period_cycles},
                         {"deskew_t_cycles", clock.schedule.deskew_t_cycles},
                         {"runtime_deskews", out.stats.runtime_deskews},
                         {"ppm_spread_measured", clock.ppm_spread_measured},
                         {"residual_spread_cycles", clock.sync->residual_spread_cycles}};
    }
    report["ops"] = ops;
    // Wall-clock times describe the compiler, never the program: they do not enter the bundle.
    report["compile_ms"] = ms(started, lowered);
    report["verify_ms"] = ms(lowered, verified);
    write_output_file(*options.report, report.dump(2) + "\n", "--report");
  }
  fmt::print("compiled {} for topology '{}': {} TSPs, {} instructions, {} vectors sent\n",
             options.input, topology.name(), out.stats.tsps_used, out.stats.instructions,
             out.stats.vectors_sent);
  fmt::print("MXM utilisation: {:.1f}%\n", 100.0 * utilisation);
  fmt::print("SRAM peak: {} of {} per TSP\n",
             format_bytes(static_cast<std::uint64_t>(out.stats.sram_peak_bytes)),
             format_bytes(static_cast<std::uint64_t>(out.stats.sram_bytes_per_tsp)));
  fmt::print("predicted cycles: {}\n", out.stats.predicted_cycles);
  if (clock.sync) {
    const std::string deskews =
        clock.schedule.deskew_period_cycles > 0
            ? fmt::format("RUNTIME_DESKEW {} every {} cycles ({} placed)",
                          clock.schedule.deskew_t_cycles, clock.schedule.deskew_period_cycles,
                          out.stats.runtime_deskews)
            : std::string("no RUNTIME_DESKEW");
    fmt::print(
        "drifting clocks: receive margin {} cycles, {}; oscillators {:.1f} ppm apart, HAC "
        "residuals {:.2f} cycles apart\n",
        clock.schedule.receive_margin_cycles, deskews, clock.ppm_spread_measured,
        clock.sync->residual_spread_cycles);
  }
  return kExitOk;
}

void add_compile_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<CompileOptions>();
  auto* sub = app.add_subcommand(
      "compile", "Compile a tensor graph or a model card (.toml) into a .tspb bundle");
  sub->add_option("graph", options->input,
                  "Tensor graph (.toml, docs/graph-format.md) or model card (docs/models.md)")
      ->required();
  sub->add_option("--topology", options->topology, "Topology TOML the graph runs on")->required();
  add_path_option(sub, "-o,--output", options->output, "Bundle to write (.tspb)")->required();
  add_path_option(sub, "--report", options->report, "Compile report (JSON) to write");
  sub->add_flag("--no-verify", options->no_verify,
                "Skip the verification run (the bundle is still checked when it runs)");
  sub->add_flag("--no-runtime-deskew", options->no_runtime_deskew,
                "Drifting clocks ([clock] table): keep the receive margins but insert no "
                "RUNTIME_DESKEW (shows what the deskews prevent; docs/clocks.md)");
  add_path_option(sub, "--trace", options->trace,
                  "Write the verification run's timeline as a Chrome/Perfetto trace (JSON; "
                  "docs/report.md, \"Traces\")");
  sub->add_option("--trace-cycles", options->trace_cycles,
                  "With --trace: only instructions issued in cycles FIRST:LAST");
  sub->add_flag("--progress,!--no-progress", options->progress,
                "Print what the compiler is doing on stderr, at most a line a second (default: "
                "when stderr is a terminal)");
  table.add(sub, [options] { return run_compile(*options); });
}

const CommandRegistrar registrar{"compile", &add_compile_command};

}  // namespace
}  // namespace tspemu::cli
