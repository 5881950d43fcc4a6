#include "net/local_transport.hpp"

#include <cstdio>
#include <cstdlib>

namespace tspemu {

LocalTransport::LocalTransport(std::shared_ptr<const NetworkLayout> layout)
    : Transport(std::move(layout)) {
  tsps_.reserve(static_cast<std::size_t>(this->layout().tsp_count()));
  for (std::int64_t t = 0; t < this->layout().tsp_count(); ++t) {
    tsps_.emplace_back(static_cast<std::int32_t>(t));
  }
}

void LocalTransport::exchange(WindowIndex window, std::span<const Outbox> outgoing,
                              std::span<std::vector<InFlightVector>> incoming) {
  TSPEMU_ASSERT(outgoing.size() == tsps_.size() && incoming.size() == tsps_.size(),
                "one outbox and one inbox per local TSP");
  check_window_order(window);
  for (std::size_t i = 0; i < tsps_.size(); ++i) {
    TSPEMU_ASSERT(outgoing[i].tsp() == tsps_[i], "outboxes in local_tsps() order");
    check_outbox(window, outgoing[i]);
  }
  for (auto& inbox : incoming) inbox.clear();
  for (std::size_t i = 0; i < tsps_.size(); ++i) {
    const Outbox& outbox = outgoing[i];
    const auto neighbours = layout().neighbours(tsps_[i]);
    for (std::size_t k = 0; k < neighbours.size(); ++k) {
      if (!message_due(tsps_[i], neighbours[k], window)) {
        ++stats_.messages_elided;
        continue;
      }
      ++stats_.messages_sent;
      const auto bucket = outbox.to_neighbour(k);
      auto& inbox = incoming[neighbours[k].index()];
      inbox.insert(inbox.end(), bucket.begin(), bucket.end());
      stats_.vectors_sent += static_cast<std::int64_t>(bucket.size());
    }
  }
  for (auto& inbox : incoming) {
    sort_canonically(inbox);
    stats_.vectors_received += static_cast<std::int64_t>(inbox.size());
  }
  ++stats_.windows;
}

ControlState LocalTransport::agree(const ControlState& local) {
  check_agreed(local);
  ++stats_.agreements;
  return local;
}

void LocalTransport::abort(const Error& error) {
  write_error_line(error.what());
  std::exit(error.exit_code());
}

}  // namespace tspemu
