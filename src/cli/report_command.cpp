// `tspemu report REPORT.json [--top N]`: where the time goes, from a compile or a run report.
//   compile report: every op's start and finish cycle and the cycles charged to it (each cycle of
//   the schedule to the op active in it that started last: runtime/profile.hpp), most first;
//   run report: per unit class (MEM, VXM, MXM, SXM, C2C, ICU) the units that issued, their
//   instructions, busy cycles and mean utilisation, and the busiest links.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/options.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
#include "runtime/profile.hpp"

namespace tspemu::cli {
namespace {

constexpr std::uint64_t kMaxReportBytes = std::uint64_t{1} << 30;

struct ReportOptions {
  std::string input;
  std::int64_t top = 20;
  std::optional<std::filesystem::path> plot;   // directory for the PNGs
  std::optional<std::filesystem::path> stats;  // run --stats CSV for utilisation over time
};

// tools/plot_report.py: TSPEMU_PLOT_SCRIPT, else next to an installed tspemu
// (<prefix>/share/tspemu/tools), else this source tree's.
std::filesystem::path plot_script() {
  if (const char* env = std::getenv("TSPEMU_PLOT_SCRIPT")) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share/tspemu/tools/plot_report.py";
    if (std::filesystem::exists(installed)) return installed;
  }
  return std::filesystem::path(TSPEMU_SOURCE_TOOLS) / "plot_report.py";
}

// Runs the plot script with Debian's python3 (TSPEMU_PYTHON overrides; a python3 earlier on PATH,
// e.g. pyenv's, may lack matplotlib). Returns its exit code.
int run_plot(const ReportOptions& options) {
  std::string python = "/usr/bin/python3";
  if (const char* env = std::getenv("TSPEMU_PYTHON")) python = env;
  if (!std::filesystem::exists(python)) python = "python3";
  std::vector<std::string> args = {python, plot_script().string(), options.input,
                                   options.plot->string()};
  if (options.stats) args.push_back(options.stats->string());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0)
    throw RuntimeError(fmt::format("report --plot: fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    execvp(argv[0], argv.data());
    write_error_line(
        fmt::format("report --plot: cannot run {}: {}", argv[0], std::strerror(errno)));
    std::_Exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code != 0) {
    throw RuntimeError(fmt::format(
        "report --plot: {} {} failed (exit {}); it needs python3 with matplotlib (Debian: "
        "python3-matplotlib, which launch/setup installs)",
        python, plot_script().string(), code));
  }
  return kExitOk;
}

void print_compile_profile(const nlohmann::json& r, std::int64_t top) {
  const Cycle cycles = r.value("predicted_cycles", Cycle{0});
  std::vector<OpSpan> spans;
  for (const auto& op : r["ops"]) {
    spans.push_back(OpSpan{op.value("op", std::string()), op.value("start_cycle", Cycle{-1}),
                           op.value("finish_cycle", Cycle{-1}), op.value("layer", std::string())});
  }
  const auto ops = attribute_cycles(spans, cycles);
  std::printf("graph '%s': %lld predicted cycles, %zu ops (%zu fused into their consumers)\n",
              r.value("graph", std::string()).c_str(), static_cast<long long>(cycles), spans.size(),
              spans.size() - ops.size());
  std::printf("%10s %6s %10s %10s  %s\n", "charged", "share", "start", "finish", "op");
  for (std::size_t i = 0; i < ops.size() && static_cast<std::int64_t>(i) < top; ++i) {
    const auto& o = ops[i];
    std::printf(
        "%10lld %5.1f%% %10lld %10lld  %s\n", static_cast<long long>(o.attributed),
        cycles > 0 ? 100.0 * static_cast<double>(o.attributed) / static_cast<double>(cycles) : 0.0,
        static_cast<long long>(o.start), static_cast<long long>(o.finish), o.op.c_str());
  }
  std::printf("(each cycle charged to the op active in it that started last)\n");
  const auto share = [&](Cycle c) {
    return cycles > 0 ? 100.0 * static_cast<double>(c) / static_cast<double>(cycles) : 0.0;
  };
  // A model card's bundle: the same attribution by layer and by what the ops do.
  const auto layers = cycles_by_layer(ops);
  if (!layers.empty()) {
    std::printf("by layer:\n%10s %6s %6s  %s\n", "charged", "share", "ops", "layer");
    for (const CycleGroup& g : layers) {
      std::printf("%10lld %5.1f%% %6lld  %s\n", static_cast<long long>(g.cycles), share(g.cycles),
                  static_cast<long long>(g.ops), g.name.c_str());
    }
    std::printf("by phase:\n%10s %6s %6s  %s\n", "charged", "share", "ops", "phase");
    for (const CycleGroup& g : cycles_by_phase(ops)) {
      std::printf("%10lld %5.1f%% %6lld  %s\n", static_cast<long long>(g.cycles), share(g.cycles),
                  static_cast<long long>(g.ops), g.name.c_str());
    }
  }
}

void print_run_profile(const nlohmann::json& r, std::int64_t top) {
  std::printf("run of '%s' on '%s': %lld cycles, %lld TSPs\n",
              r.value("program", std::string()).c_str(),
              r["topology"].value("name", std::string()).c_str(),
              static_cast<long long>(r.value("cycles", Cycle{0})),
              static_cast<long long>(r.value("tsps", std::int64_t{0})));
  std::printf("%-6s %8s %14s %14s %12s\n", "class", "units", "instructions", "busy cycles",
              "utilisation");
  for (const UnitClassBusy& c : unit_class_busy(r)) {
    if (c.units == 0) continue;
    std::printf("%-6s %8lld %14lld %14lld %11.1f%%\n", c.unit_class.c_str(),
                static_cast<long long>(c.units), static_cast<long long>(c.instructions),
                static_cast<long long>(c.busy_cycles), 100.0 * c.utilisation);
  }
  std::vector<nlohmann::json> links;
  if (r.contains("links") && r["links"].is_array()) {
    links.assign(r["links"].begin(), r["links"].end());
  }
  std::stable_sort(links.begin(), links.end(), [](const auto& a, const auto& b) {
    return a.value("utilisation", 0.0) > b.value("utilisation", 0.0);
  });
  if (!links.empty()) std::printf("busiest links (vectors x serialisation / cycles):\n");
  for (std::size_t i = 0; i < links.size() && static_cast<std::int64_t>(i) < top; ++i) {
    std::printf("  link %lld TSP %lld -> TSP %lld: %lld vectors, %.1f%%\n",
                static_cast<long long>(links[i].value("link", std::int64_t{0})),
                static_cast<long long>(links[i].value("from_tsp", std::int64_t{0})),
                static_cast<long long>(links[i].value("to_tsp", std::int64_t{0})),
                static_cast<long long>(links[i].value("vectors", std::int64_t{0})),
                100.0 * links[i].value("utilisation", 0.0));
  }
}

int run_report(const ReportOptions& options) {
  const std::string text = read_input_file(options.input, kMaxReportBytes, "report");
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(SourceLocation{options.input, 0, 0},
                     fmt::format("not valid JSON (byte {}): {}", e.byte, e.what()));
  }
  if (r.is_object() && r.contains("ops") && r["ops"].is_array()) {
    if (options.plot) {
      throw InputError(
          "report --plot draws a run report (tspemu run --report), not a compile report");
    }
    print_compile_profile(r, options.top);
  } else if (r.is_object() && r.contains("per_tsp")) {
    print_run_profile(r, options.top);
    if (options.plot) return run_plot(options);
  } else {
    throw InputError(SourceLocation{options.input, 0, 0},
                     "neither a compile report (no 'ops') nor a run report (no 'per_tsp')");
  }
  return kExitOk;
}

void add_report_command(CLI::App& app, CommandTable& table) {
  auto options = std::make_shared<ReportOptions>();
  auto* sub = app.add_subcommand(
      "report",
      "Where the time goes: per-op cycles of a compile report, per-unit-class busy "
      "time and the busiest links of a run report");
  sub->add_option("report", options->input, "A `compile --report` or `run --report` file")
      ->required();
  add_i64_option(sub, "--top", options->top, "Rows to print (1..100000)", 1, 100000);
  add_path_option(sub, "--plot", options->plot,
                  "Run reports: draw links.png (link utilisation heat map), units.png and, with "
                  "--stats, utilisation.png (over time) into this directory (python3-matplotlib)");
  add_path_option(sub, "--stats", options->stats,
                  "With --plot: the run's --stats CSV, for utilisation over time");
  table.add(sub, [options] { return run_report(*options); });
}

const CommandRegistrar registrar{"report", &add_report_command};

}  // namespace
}  // namespace tspemu::cli
