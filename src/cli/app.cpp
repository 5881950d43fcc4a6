#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/version.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/log.hpp"

namespace tspemu::cli {
namespace {

struct RegisteredCommand {
  std::string name;
  AddCommand add;
};

std::vector<RegisteredCommand>& registry() {
  static std::vector<RegisteredCommand> commands;
  return commands;
}

void print_error_line(const std::string& text) {
  write_error_line(text);
}

// Everything a command printed must have reached stdout: `tspemu disasm x.tspb > /dev/full` fails
// (exit 1) instead of reporting success for output that was lost.
int finish_stdout(int code) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    const int err = errno;
    print_error_line(fmt::format("cannot write standard output: {}",
                                 err != 0 ? std::strerror(err) : "write error"));
    return code == kExitOk ? kExitRuntimeError : code;
  }
  return code;
}

}  // namespace

CommandRegistrar::CommandRegistrar(const char* name, AddCommand add) {
  registry().push_back({name, add});
}

int run_cli(int argc, char** argv) {
  set_process_arguments(argc, argv);
  CLI::App app{
      "tspemu: a distributed, deterministic emulator of Tensor Streaming Processor systems.\n"
      "Each MPI rank emulates one TSP or a block of them; see `tspemu <subcommand> --help`.",
      "tspemu"};
  app.require_subcommand(0, 1);
  app.set_version_flag(
      "--version", [] { return version_text(); }, "Print version, build and library information");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level,
                 "Log verbosity on stderr: off, error, warn, info, debug, trace")
      ->capture_default_str();

  CommandTable table;
  auto commands = registry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& command : commands) command.add(app, table);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    std::fputs(version_text().c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    print_error_line(fmt::format("{} (see `tspemu --help`)", e.what()));
    return kExitInputError;
  }

  try {
    set_log_level(log_level);
    const CommandInputs inputs;  // no output of this command may replace what it read
    const Action* action = table.chosen();
    if (action == nullptr) {
      std::fputs(app.help().c_str(), stderr);
      print_error_line("no subcommand given");
      return kExitInputError;
    }
    return finish_stdout((*action)());
  } catch (const std::exception& e) {
    const ErrorReport report = report_exception(e);
    print_error_line(report.message);
    return finish_stdout(report.exit_code);
  }
}

}  // namespace tspemu::cli
