#pragma once
// Every TSP of the network in this process: the reference transport (`tspemu run --local`). It
// hands vectors over by copy at the same window boundaries, with the same checks and the same
// canonical order as MpiTransport, so digests match MPI runs by construction.

#include <memory>
#include <span>
#include <vector>

#include "net/transport.hpp"

namespace tspemu {

class LocalTransport final : public Transport {
 public:
  explicit LocalTransport(std::shared_ptr<const NetworkLayout> layout);

  // All TSPs 0 .. tsp_count-1.
  [[nodiscard]] std::span<const TspId> local_tsps() const override { return tsps_; }

  void exchange(WindowIndex window, std::span<const Outbox> outgoing,
                std::span<std::vector<InFlightVector>> incoming) override;

  // The agreement of one process is its own combined state (after the same checks).
  [[nodiscard]] ControlState agree(const ControlState& local) override;

  // Prints "tspemu: error: <what>" on stderr and exits with error.exit_code().
  [[noreturn]] void abort(const Error& error) override;

 private:
  std::vector<TspId> tsps_;
};

}  // namespace tspemu
