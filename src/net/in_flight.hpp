#pragma once
// A vector on a link: the only thing the network carries ("a vector with a stamp"; net knows no
// opcodes). The sender's runtime builds one per C2C send, stamps its arrival cycle with the link
// model (net/link_model.hpp), and the transport hands it to the receiving TSP.
//
// Canonical order. A TSP receives vectors ordered by (arrival_cycle, link, sequence), never in MPI
// arrival order, so what a TSP sees is the same at every rank count and on every transport. The
// order is total: (link, sequence) identifies a vector per direction of a link and a receiver sees
// one direction of each link; the source TSP and port are compared last so that the order stays
// total even on a list mixing vectors for several receivers.
//
// Wire encoding. A vector crosses MPI as kInFlightWireBytes raw bytes: a fixed 56-byte header
// (integers little-endian, fixed width, no padding bytes left undefined) followed by the 320 data
// bytes. The header layout is:
//   offset  size  field
//        0     4  link            (int32)
//        4     4  src             (int32)
//        8     4  src_port        (int32)
//       12     4  dst             (int32)
//       16     4  dst_port        (int32)
//       20     1  flags           (uint8)
//       21     3  zero
//       24     8  send_cycle      (int64)
//       32     8  arrival_cycle   (int64)
//       40     8  sequence        (uint64)
//       48     8  arrival_time_as (int64)
//       56   320  data

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/digest.hpp"
#include "common/ids.hpp"
#include "common/vector.hpp"

namespace tspemu {

// InFlightVector::flags bits.
enum InFlightFlag : std::uint8_t {
  // The link's FEC corrected one or more single-bit errors; data is intact. Counted in reports.
  kFecCorrected = 1U << 0,
  // The FEC detected an error it could not correct: the data must not be used and the runtime
  // replays from its last checkpoint (no link retransmission: it would change timing).
  kFecUncorrectable = 1U << 1,
};

struct InFlightVector {
  LinkId link;
  TspId src;
  PortId src_port;
  TspId dst;
  PortId dst_port;
  Cycle send_cycle = 0;        // cycle (sender's clock) at which the SEND put it on the link
  Cycle arrival_cycle = 0;     // send_cycle + latency + jitter (net/link_model.hpp)
  std::uint64_t sequence = 0;  // per-(link, direction) send index: 0, 1, 2, ... in send order
  std::uint8_t flags = 0;      // InFlightFlag bits
  // Drifting clocks only (clock/time_base.hpp): the arrival in global time, attoseconds; the
  // receiver converts it to its own cycle. 0 on ideal clocks, where arrival_cycle is already the
  // receiver's cycle. arrival_cycle stays the sender-clock estimate that orders and windows
  // vectors.
  std::int64_t arrival_time_as = 0;
  Vector data;

  friend bool operator==(const InFlightVector&, const InFlightVector&) = default;
};

// Strict weak (in fact total) canonical order: arrival_cycle, link, sequence, src, src_port.
[[nodiscard]] bool canonical_less(const InFlightVector& a, const InFlightVector& b);

// Sorts into canonical order. Stable for equal keys is irrelevant: keys are unique on a valid
// network.
void sort_canonically(std::span<InFlightVector> vectors);
[[nodiscard]] bool is_canonical(std::span<const InFlightVector> vectors);

inline constexpr std::size_t kInFlightHeaderBytes = 56;
inline constexpr std::size_t kInFlightWireBytes = kInFlightHeaderBytes + kVectorBytes;  // 376

// Writes exactly kInFlightWireBytes bytes.
void encode_in_flight(const InFlightVector& vector, std::span<std::byte, kInFlightWireBytes> out);
// Reads what encode_in_flight wrote. Never fails: every byte pattern decodes (the transport
// validates the fields against the network afterwards).
[[nodiscard]] InFlightVector decode_in_flight(std::span<const std::byte, kInFlightWireBytes> in);

// Feeds the vector's wire encoding to a digest: two vectors hash alike iff they are equal. The
// arrival time is fed only when non-zero (drifting clocks), so that ideal-clock digests are the
// ones from before it existed.
void hash_in_flight(Hasher& hasher, const InFlightVector& vector);

}  // namespace tspemu
