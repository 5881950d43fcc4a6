#pragma once
// Transports move the vectors TSPs put on links from sender to receiver at window boundaries, and
// run the global agreements (docs/design.md section 6). Two implementations with one contract:
//   LocalTransport (net/local_transport.hpp): every TSP in this process; the reference.
//   MpiTransport   (net/mpi_transport.hpp):   one or more TSPs per MPI rank.
// Both deliver the same vectors in the same canonical order, so a run's digest does not depend on
// the transport or the rank count.
//
// Calling sequence (every rank the same, like an MPI collective; docs/network.md):
//   for each window w = 0, 1, 2, ... (strictly increasing; windows may be skipped only if every
//   rank skips them, e.g. after an agreement said nothing happens before a later cycle):
//     run the local TSPs through the cycles of window w, filling one Outbox per local TSP;
//     exchange(w, outboxes, incoming);   // incoming[i]: vectors for local TSP i, canonical
//     push incoming into each TSP's ArrivalQueue;
//     every K-th epoch (WindowClock::ends_epoch_group): agree(local state) and act on the result.
// Any Error thrown by exchange/agree (or by the caller between them) must end the whole job:
// catch it and call abort() / abort_job(); returning normally on one rank would leave the others
// waiting for it until their watchdog fires.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/error.hpp"
#include "common/ids.hpp"
#include "net/control.hpp"
#include "net/exchange_plan.hpp"
#include "net/in_flight.hpp"
#include "net/network_layout.hpp"
#include "net/window.hpp"

namespace tspemu {

// The vectors one TSP put on its links during one window, grouped per neighbour (in the order of
// NetworkLayout::neighbours). Reused window after window: clear() keeps the allocations.
class Outbox {
 public:
  // `layout` must outlive the Outbox.
  Outbox(const NetworkLayout& layout, TspId tsp);

  [[nodiscard]] TspId tsp() const { return tsp_; }
  // Files the vector under neighbour v.dst. Throws RuntimeError (tsp and cycle in the context) if
  // v.src is not tsp() or v.dst is not a neighbour; the transport checks everything else.
  void add(const InFlightVector& vector);

  [[nodiscard]] std::size_t neighbour_count() const { return buckets_.size(); }
  [[nodiscard]] std::span<const InFlightVector> to_neighbour(std::size_t k) const {
    return buckets_.at(k);
  }
  [[nodiscard]] std::size_t size() const;
  void clear();

 private:
  const NetworkLayout* layout_;
  TspId tsp_;
  std::vector<std::vector<InFlightVector>> buckets_;
};

// Counters for reports (deterministic: no wall-clock values).
struct TransportStats {
  std::int64_t windows = 0;             // exchanges done
  std::int64_t messages_sent = 0;       // per-neighbour messages sent (LocalTransport: would-be)
  std::int64_t messages_elided = 0;     // per-neighbour messages the exchange plan made unnecessary
  std::int64_t rank_messages_sent = 0;  // MPI messages between ranks (LocalTransport: 0)
  std::int64_t vectors_sent = 0;
  std::int64_t vectors_received = 0;
  std::int64_t agreements = 0;
};

class Transport {
 public:
  explicit Transport(std::shared_ptr<const NetworkLayout> layout);
  virtual ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  [[nodiscard]] const NetworkLayout& layout() const { return *layout_; }
  [[nodiscard]] const std::shared_ptr<const NetworkLayout>& layout_ptr() const { return layout_; }

  // TSPs hosted by this process, ascending (MpiTransport: its block; LocalTransport: all).
  [[nodiscard]] virtual std::span<const TspId> local_tsps() const = 0;

  // Elide messages the static send schedule says are empty (net/exchange_plan.hpp). Every rank
  // must set the same plan before the same window; nullptr (the default) exchanges every window.
  void set_plan(std::shared_ptr<const ExchangePlan> plan) { plan_ = std::move(plan); }
  [[nodiscard]] const ExchangePlan* plan() const { return plan_.get(); }

  // The exchange at the end of window `window`.
  //   outgoing[i]: what local_tsps()[i] put on its links during the window (outgoing.size() ==
  //                local_tsps().size()); its vectors must be stamped (net/link_model.hpp).
  //   incoming[i]: cleared, then filled with every vector sent to local_tsps()[i] during the
  //                window, in canonical order (net/in_flight.hpp). Vectors due in later windows
  //                (links longer than a window) are included: keep them in an ArrivalQueue.
  // Throws ScheduleError for traffic the layout or plan does not allow (too many vectors toward
  // a neighbour, traffic the plan does not announce) and RuntimeError for malformed vectors.
  virtual void exchange(WindowIndex window, std::span<const Outbox> outgoing,
                        std::span<std::vector<InFlightVector>> incoming) = 0;

  // The global agreement: `local` is the combination (ControlState::combined) of the states of
  // every local TSP; returns the combination over all TSPs, the same value on every rank. Throws
  // RuntimeError if the agreed `tsps` differs from the network's TSP count.
  [[nodiscard]] virtual ControlState agree(const ControlState& local) = 0;

  // Ends the whole job: prints the message once (rank-tagged under MPI) on stderr, then exits
  // with error.exit_code() (MpiTransport: MPI_Abort, so every rank ends).
  [[noreturn]] virtual void abort(const Error& error) = 0;

  [[nodiscard]] const TransportStats& stats() const { return stats_; }

 protected:
  // Checks the outgoing vectors of local TSP `outbox.tsp()` for `window` against the layout, the
  // per-neighbour capacity and the plan, and the window order. Shared by both transports so they
  // fail alike.
  void check_window_order(WindowIndex window);
  void check_outbox(WindowIndex window, const Outbox& outbox) const;
  // True unless the plan says no message flows from `from` to `to` in `window`.
  [[nodiscard]] bool message_due(TspId from, TspId to, WindowIndex window) const;
  void check_agreed(const ControlState& agreed) const;

  TransportStats stats_;

 private:
  std::shared_ptr<const NetworkLayout> layout_;
  std::shared_ptr<const ExchangePlan> plan_;
  WindowIndex last_window_;
  bool any_window_ = false;
};

}  // namespace tspemu
