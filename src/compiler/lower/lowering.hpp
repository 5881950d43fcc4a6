#pragma once
// Internals of compile_graph (compiler/compile.hpp): tensor storage on one TSP and the chain
// builders every op lowering uses. Not a public API.

#include <cstdint>
#include <vector>

#include "compiler/graph.hpp"
#include "compiler/lower/tsp_schedule.hpp"

namespace tspemu::detail {

inline constexpr std::int64_t kLanes = 320;
inline constexpr std::int64_t kStripeGroups = 22;
inline constexpr Cycle kNotWritten = Cycle{1} << 60;

// One tensor's shard on one TSP: rows x tiles vectors (compiler/compile.hpp, "Layout").
struct Storage {
  DType dtype = DType::f32;
  Shape shape;
  std::int64_t rows = 1;
  std::int64_t columns = 1;
  std::int64_t tiles = 1;
  std::vector<VectorLoc> vecs;  // rows * tiles, row-major over (r, t)
  bool padding_clean = true;    // lanes beyond the last column are +0 in every last-tile vector

  [[nodiscard]] VectorLoc& at(std::int64_t r, std::int64_t t) {
    return vecs[static_cast<std::size_t>(r * tiles + t)];
  }
  [[nodiscard]] const VectorLoc& at(std::int64_t r, std::int64_t t) const {
    return vecs[static_cast<std::size_t>(r * tiles + t)];
  }
  // Lanes used by tile t.
  [[nodiscard]] std::int64_t tile_columns(std::int64_t t) const {
    return std::min(kLanes, columns - kLanes * t);
  }
};

// rows, columns and tiles of a shape (rank 1: one row).
void set_geometry(Storage& storage, DType dtype, const Shape& shape);

// Builds chains on one TSP: reads of stored vectors onto streams, writes of stream values into
// SRAM, and the arithmetic units in between, with every offset from the ISA timing table.
class ChainBuilder {
 public:
  ChainBuilder(TspSchedule& schedule, Chain& chain) : s_(schedule), c_(chain) {}

  // A new stream value of `width` streams that reaches `consumer_pos` at anchor + arrive_offset
  // travelling in `direction`; components' write positions are set by read()/from().
  int value(Direction direction, int width, Cycle arrive_offset, int consumer_pos);
  // The direction a value takes from position `from` to position `to`.
  [[nodiscard]] static Direction direction(int from, int to) {
    return from < to ? Direction::east : Direction::west;
  }
  // The direction a stored vector's group travels to reach `consumer_pos`.
  [[nodiscard]] Direction direction_from(const VectorLoc& loc, int consumer_pos) const;

  // READs of byte planes [first_plane, first_plane + count) of `loc` onto components 0.. of value
  // `value` (which must reach `consumer_pos` at `arrive_offset`); raises `earliest` so that every
  // READ issues once the vector is ready.
  void read(const VectorLoc& loc, int value, int first_plane, int count, int consumer_pos,
            Cycle arrive_offset, Cycle& earliest);
  // One READ: byte plane `plane` of `loc` onto component `component` of `value` (an LW gathers
  // rows of different vectors into one value).
  void read_plane(const VectorLoc& loc, int plane, int value, int component, int consumer_pos,
                  Cycle arrive_offset, Cycle& earliest);
  // Every component of `value` is written at `producer_pos`.
  void from(int value, int producer_pos);
  // WRITEs of `value` (written at producer_pos at anchor + write_offset) into every byte plane of
  // `dst`; returns the landing offset of the last WRITE (the vector is readable from anchor + it).
  Cycle write(const VectorLoc& dst, int value, int producer_pos, Cycle write_offset);
  // Adds an op; returns its index.
  int op(ChainOp op);

  [[nodiscard]] const OpTiming& timing(Opcode opcode, DType dtype) const {
    return s_.config().timing.get(opcode, dtype);
  }
  [[nodiscard]] int vxm_position() const { return s_.config().shape.mem_slices_per_hemisphere + 2; }

 private:
  // A READ or WRITE of one byte plane (`slice`) of row `address`, component `component` of
  // `value`; the caller sets its offset.
  [[nodiscard]] ChainOp mem_op(Opcode opcode, int slice, std::int32_t address, int value,
                               int component) const;

  TspSchedule& s_;
  Chain& c_;
};

// Operand helpers.
[[nodiscard]] Operand address_operand(std::int32_t address);
[[nodiscard]] Operand integer_operand(std::int64_t value);
[[nodiscard]] Operand immediate_operand(std::uint64_t bits);
[[nodiscard]] Operand stream_placeholder();  // filled by TspSchedule::place
[[nodiscard]] Operand none_operand();

}  // namespace tspemu::detail
