#include "common/log.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/error.hpp"

namespace tspemu {
namespace {

std::shared_ptr<spdlog::logger> make_logger() {
  auto logger =
      std::make_shared<spdlog::logger>("tspemu", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("[tspemu] %l: %v");
  logger->set_level(spdlog::level::warn);
  return logger;
}

std::shared_ptr<spdlog::logger>& logger_instance() {
  static std::shared_ptr<spdlog::logger> instance = make_logger();
  return instance;
}

}  // namespace

spdlog::logger& log() {
  return *logger_instance();
}

void set_log_rank(int rank) {
  logger_instance()->set_pattern(rank < 0 ? std::string("[tspemu] %l: %v")
                                          : fmt::format("[tspemu r{}] %l: %v", rank));
}

void set_log_level(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    throw InputError(
        fmt::format("log level '{}' is not one of off, error, warn, info, debug, trace", level));
  }
  logger_instance()->set_level(parsed);
}

}  // namespace tspemu
