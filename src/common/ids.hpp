#pragma once
// Identifiers and time. Strong types keep a TSP index from being passed where a link index is
// meant.

#include <compare>
#include <cstdint>
#include <functional>

namespace tspemu {

// A count of one TSP's own core-clock cycles (docs/design.md section 4, "Time"). Signed:
// differences and "before the program starts" are meaningful.
using Cycle = std::int64_t;

template <class Tag, class Rep = std::int32_t>
struct StrongId {
  Rep value{};
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value(v) {}
  constexpr auto operator<=>(const StrongId&) const = default;
  [[nodiscard]] constexpr std::size_t index() const { return static_cast<std::size_t>(value); }
  template <class Archive>
  void serialize(Archive& archive) {
    archive(value);
  }
};

using TspId = StrongId<struct TspIdTag>;    // 0 .. tsps-1, in topology order
using LinkId = StrongId<struct LinkIdTag>;  // 0 .. links-1, in topology order
using PortId = StrongId<struct PortIdTag>;  // C2C port on one chip, 0 .. c2c_ports-1
using NodeId = StrongId<struct NodeIdTag>;  // 8-TSP node (a Dragonfly "virtual router")
using RackId = StrongId<struct RackIdTag>;

}  // namespace tspemu

template <class Tag, class Rep>
struct std::hash<tspemu::StrongId<Tag, Rep>> {
  std::size_t operator()(const tspemu::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value);
  }
};
