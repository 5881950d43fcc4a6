#pragma once
// Strict command-line values, one set of rules for every subcommand (STYLE.md habit 4). CLI11's
// own conversions accept `--seed -1` for an unsigned option (it wraps to 2^64 - 1) and `--report
// ''` (an empty path); these helpers refuse both with a message naming the option:
//   "--seed: '-1' is not a whole number in 0..18446744073709551615"
//   "--watchdog: 0.001 s is below the minimum of 1 s (0 turns the watchdog off)"
//   "--report: the path is empty"
// Errors surface as CLI11 validation errors: one line, exit code 2.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tspemu::cli {

// A whole number in [min, max], decimal, no sign for unsigned targets, no fraction or exponent.
CLI::Option* add_u64_option(CLI::App* app, const std::string& name, std::uint64_t& target,
                            const std::string& help, std::uint64_t min = 0,
                            std::uint64_t max = UINT64_MAX);
CLI::Option* add_u64_option(CLI::App* app, const std::string& name,
                            std::optional<std::uint64_t>& target, const std::string& help);
CLI::Option* add_i64_option(CLI::App* app, const std::string& name, std::int64_t& target,
                            const std::string& help, std::int64_t min, std::int64_t max);
CLI::Option* add_i64_option(CLI::App* app, const std::string& name,
                            std::optional<std::int64_t>& target, const std::string& help,
                            std::int64_t min, std::int64_t max);

// Seconds: a finite number; 0 (off) when allow_zero, else in [min, max].
CLI::Option* add_seconds_option(CLI::App* app, const std::string& name, double& target,
                                const std::string& help, double min, double max, bool allow_zero);

// A non-empty path. (Whether it can be written is checked once the command knows all its inputs
// and outputs: common/output_file.hpp, check_output_paths.)
CLI::Option* add_path_option(CLI::App* app, const std::string& name,
                             std::optional<std::filesystem::path>& target, const std::string& help);
CLI::Option* add_path_option(CLI::App* app, const std::string& name, std::filesystem::path& target,
                             const std::string& help);

// The parsing rules themselves (pure; unit-tested): the value, or a CLI::ValidationError.
[[nodiscard]] std::uint64_t parse_u64(const std::string& name, const std::string& text,
                                      std::uint64_t min, std::uint64_t max);
[[nodiscard]] std::int64_t parse_i64(const std::string& name, const std::string& text,
                                     std::int64_t min, std::int64_t max);
[[nodiscard]] double parse_seconds(const std::string& name, const std::string& text, double min,
                                   double max, bool allow_zero);

}  // namespace tspemu::cli
