#pragma once
// How subcommands plug into the single `tspemu` executable. Each subcommand lives in its own file
// (cli/<name>_command.cpp) and registers itself with add_<name>_command(), which declares its
// options on a CLI11 subcommand and returns the action to run once the whole command line parsed.
// Actions return an exit code or throw tspemu::Error; run_cli() turns errors into one line on
// stderr and the exit code of the error's kind.

#include <CLI/CLI.hpp>

#include <functional>
#include <utility>
#include <vector>

namespace tspemu::cli {

using Action = std::function<int()>;

class CommandTable {
 public:
  void add(CLI::App* subcommand, Action action) {
    entries_.emplace_back(subcommand, std::move(action));
  }
  // The action of the subcommand the user chose, or nullptr if none was given.
  [[nodiscard]] const Action* chosen() const {
    for (const auto& [app, action] : entries_) {
      if (app->parsed()) return &action;
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<CLI::App*, Action>> entries_;
};

// Subcommands register themselves from their own file, so adding one touches no shared code:
//   namespace { const CommandRegistrar reg{"topo", &add_topo_command}; }
// run_cli() adds them in name order (so `--help` is stable).
using AddCommand = void (*)(CLI::App& app, CommandTable& table);
struct CommandRegistrar {
  CommandRegistrar(const char* name, AddCommand add);
};

// Commands that start MPI need the process's argc/argv (MPI_Init_thread); run_cli records them.
void set_process_arguments(int argc, char** argv);

// Parses argv and runs the chosen subcommand; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace tspemu::cli
