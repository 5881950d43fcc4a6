#include "cli/options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace tspemu::cli {
namespace {

// The option's long name for messages ("--seed" from "--seed,-s").
std::string shown(const std::string& name) {
  return name.substr(0, name.find(','));
}

[[noreturn]] void invalid(const std::string& name, const std::string& message) {
  throw CLI::ValidationError(fmt::format("{}: {}", shown(name), message));
}

bool all_digits(const std::string& text, std::size_t from) {
  if (text.size() <= from) return false;
  for (std::size_t i = from; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// A path option that refuses '' (an empty --report used to write nothing, silently).
template <class Target>
CLI::Option* add_nonempty_path(CLI::App* app, const std::string& name, Target& target,
                               const std::string& help) {
  return app->add_option_function<std::string>(
      name,
      [&target, name](const std::string& text) {
        if (text.empty()) invalid(name, "the path is empty");
        target = text;
      },
      help);
}

}  // namespace

std::uint64_t parse_u64(const std::string& name, const std::string& text, std::uint64_t min,
                        std::uint64_t max) {
  std::uint64_t value = 0;
  const bool digits = all_digits(text, 0);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!digits || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max) {
    invalid(name, fmt::format("'{}' is not a whole number in {}..{}", text, min, max));
  }
  return value;
}

std::int64_t parse_i64(const std::string& name, const std::string& text, std::int64_t min,
                       std::int64_t max) {
  std::int64_t value = 0;
  const bool digits = all_digits(text, text.rfind('-', 0) == 0 ? 1 : 0);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!digits || ec != std::errc{} || end != text.data() + text.size() || value < min ||
      value > max) {
    invalid(name, fmt::format("'{}' is not a whole number in {}..{}", text, min, max));
  }
  return value;
}

double parse_seconds(const std::string& name, const std::string& text, double min, double max,
                     bool allow_zero) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    invalid(name, fmt::format("'{}' is not a number of seconds", text));
  }
  if (allow_zero && value == 0) return 0;
  if (value < min) {
    invalid(name, fmt::format("{} s is below the minimum of {} s{}", text, min,
                              allow_zero ? " (0 turns it off)" : ""));
  }
  if (value > max) invalid(name, fmt::format("{} s is above the maximum of {} s", text, max));
  return value;
}

CLI::Option* add_u64_option(CLI::App* app, const std::string& name, std::uint64_t& target,
                            const std::string& help, std::uint64_t min, std::uint64_t max) {
  return app
      ->add_option_function<std::string>(
          name,
          [&target, name, min, max](const std::string& text) {
            target = parse_u64(name, text, min, max);
          },
          help)
      ->default_str(std::to_string(target));
}

CLI::Option* add_u64_option(CLI::App* app, const std::string& name,
                            std::optional<std::uint64_t>& target, const std::string& help) {
  return app->add_option_function<std::string>(
      name,
      [&target, name](const std::string& text) { target = parse_u64(name, text, 0, UINT64_MAX); },
      help);
}

CLI::Option* add_i64_option(CLI::App* app, const std::string& name, std::int64_t& target,
                            const std::string& help, std::int64_t min, std::int64_t max) {
  return app
      ->add_option_function<std::string>(
          name,
          [&target, name, min, max](const std::string& text) {
            target = parse_i64(name, text, min, max);
          },
          help)
      ->default_str(std::to_string(target));
}

CLI::Option* add_i64_option(CLI::App* app, const std::string& name,
                            std::optional<std::int64_t>& target, const std::string& help,
                            std::int64_t min, std::int64_t max) {
  return app->add_option_function<std::string>(
      name,
      [&target, name, min, max](const std::string& text) {
        target = parse_i64(name, text, min, max);
      },
      help);
}

CLI::Option* add_seconds_option(CLI::App* app, const std::string& name, double& target,
                                const std::string& help, double min, double max, bool allow_zero) {
  return app
      ->add_option_function<std::string>(
          name,
          [&target, name, min, max, allow_zero](const std::string& text) {
            target = parse_seconds(name, text, min, max, allow_zero);
          },
          help)
      ->default_str(fmt::format("{}", target));
}

CLI::Option* add_path_option(CLI::App* app, const std::string& name,
                             std::optional<std::filesystem::path>& target,
                             const std::string& help) {
  return add_nonempty_path(app, name, target, help);
}

CLI::Option* add_path_option(CLI::App* app, const std::string& name, std::filesystem::path& target,
                             const std::string& help) {
  return add_nonempty_path(app, name, target, help);
}

}  // namespace tspemu::cli
