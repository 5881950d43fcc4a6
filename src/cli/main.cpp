// The single tspemu executable: `tspemu <subcommand> ...` (docs/design.md section 3).
#include "cli/command.hpp"

int main(int argc, char** argv) {
  return tspemu::cli::run_cli(argc, argv);
}
