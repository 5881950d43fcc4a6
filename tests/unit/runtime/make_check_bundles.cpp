// Writes the --check test bundles (check_bundles.hpp) into the directory given as the argument:
// chip_check.tspb, chip_check_bad.tspb, chip_no_graph.tspb (topologies/chip.toml) and
// pair_check.tspb, pair_check_bad.tspb (topologies/pair.toml). Used by the CLI and MPI tests.
#include "check_bundles.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>

int main(int argc, char** argv) {
  using namespace tspemu;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_check_bundles OUTDIR\n");
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    const std::string src = TSPEMU_SOURCE_DIR;
    const Topology chip = load_topology(src + "/topologies/chip.toml");
    const Topology pair = load_topology(src + "/topologies/pair.toml");
    write_bundle(out / "chip_check.tspb", test::check_bundle(chip, false, false));
    write_bundle(out / "chip_check_bad.tspb", test::check_bundle(chip, false, true));
    write_bundle(out / "chip_no_graph.tspb", test::check_bundle(chip, false, false, false));
    write_bundle(out / "pair_check.tspb", test::check_bundle(pair, true, false));
    write_bundle(out / "pair_check_bad.tspb", test::check_bundle(pair, true, true));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_check_bundles: %s\n", e.what());
    return 1;
  }
  return 0;
}
