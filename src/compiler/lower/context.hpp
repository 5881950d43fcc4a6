#pragma once
// The shared context of the lowering (compiler/compile.hpp): one object per compile, holding the
// graph, the topology, every TSP's schedule (lower/tsp_schedule.hpp), where every tensor lives,
// and the state that persists across ops (MXM planes' weights, link lanes, masks). Each op family
// is lowered in its own file of src/compiler/lower/ (op_table.cpp says which):
//   elementwise.cpp    element-wise ops and casts
//   reduce.cpp         reduce along any axis
//   data_movement.cpp  transpose, reshape, slice, concat; lane transposes and broadcasts
//   matmul.cpp         matmul on the MXM planes
//   collectives.cpp    send, broadcast, all_gather, all_reduce, reduce_scatter
//   network.cpp        routes and transfers over C2C links (the send schedule)
//   context.cpp        storage, the VXM op chain, the driver that runs the ops and emits the bundle
// Not a public API.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "common/progress.hpp"
#include "compiler/compile.hpp"
#include "compiler/graph.hpp"
#include "compiler/lower/lowering.hpp"
#include "isa/chip_config.hpp"
#include "topo/routing.hpp"
#include "topo/topology.hpp"

namespace tspemu::detail {

class VxmChain;

// Leading (row) index of a row number of `shape` (all dims but the last), and back.
[[nodiscard]] std::vector<std::int64_t> row_index(std::int64_t row, const Shape& shape);
[[nodiscard]] std::int64_t row_number(const std::vector<std::int64_t>& index, const Shape& shape);
// The bit pattern of 1 in `dtype`.
[[nodiscard]] std::uint64_t one_bits(DType dtype);
// The VXM opcode of a reduction function (sum: ADD).
[[nodiscard]] Opcode reduce_opcode(ReduceFn fn);
// A data segment over an allocation: `rows` rows of `columns` elements of `dtype`, byte plane k in
// the allocation's k-th slice. Not initialised (a region) until the caller says otherwise.
[[nodiscard]] DataSegment segment_at(const TspSchedule& s, const TspSchedule::Allocation& alloc,
                                     std::string name, DType dtype, std::int32_t rows,
                                     std::int32_t columns);
// Row `row` of a segment (index `segment`) over `alloc`, not yet written.
[[nodiscard]] VectorLoc segment_row(const TspSchedule::Allocation& alloc, std::int32_t segment,
                                    std::int32_t row);
// The initial bytes of loc's row in its segment (columns x dtype bytes, row-major elements); the
// segment becomes literal data, zero-filled, on first use.
[[nodiscard]] std::span<std::uint8_t> literal_row(TspSchedule& s, const VectorLoc& loc);

// One C2C link direction's next free send cycle and the spacing sends on it keep.
struct LinkLane {
  Cycle next_free = 0;
};

// A vector on its way between TSPs: one byte plane of a stored vector.
struct PlaneRef {
  TspId tsp;
  VectorLoc loc;
  int plane = 0;
};

class Lowering {
 public:
  Lowering(const Graph& graph, const Topology& topology, ProgressSink progress = {},
           ClockSchedule clock = {});

  CompileOutput run();

 private:
  TspSchedule& sched(TspId tsp) {
    auto it = schedules_.find(tsp.value);
    if (it == schedules_.end()) {
      it = schedules_.emplace(tsp.value, std::make_unique<TspSchedule>(tsp, config_)).first;
      it->second->set_current_op(current_op_);
    }
    return *it->second;
  }
  Storage& storage(std::int32_t tensor, std::size_t position) {
    auto& per = storage_[static_cast<std::size_t>(tensor)];
    TSPEMU_ASSERT(position < per.size() && per[position].has_value(), "tensor lowered before use");
    return *per[position];
  }
  [[noreturn]] void unsupported(const Op& op, const std::string& what) const;
  // Drifting clocks: a RUNTIME_DESKEW on every TSP with a program at each multiple of the deskew
  // period, all in the same cycle (lower/deskew.cpp). Returns how many it placed.
  std::int64_t insert_runtime_deskews();

  // Rows for a tensor of `shape`, striped over kStripeGroups slice groups (a graph output's rows
  // are always pinned: see RowUse).
  Storage new_storage(TspSchedule& s, DType dtype, const Shape& shape, const std::string& name,
                      int bank = -1, const Storage* like = nullptr, RowUse use = RowUse::reusable);
  void load_initial(const Tensor& tensor);
  const Storage& zero_padded(const Storage& x, TspSchedule& s, const std::string& name);
  // A constant row of `dtype` holding 1 in lanes 0 .. lanes-1 and 0 beyond (a SELECT mask), one
  // per TSP, dtype and count.
  const VectorLoc& lane_mask(TspSchedule& s, DType dtype, std::int64_t lanes);
  // A +0 row (one byte plane) in `slice` (elsewhere only if that slice is full), one per slice.
  const VectorLoc& zero_vector(TspSchedule& s, int slice);
  const Storage& lane_broadcast_constant(std::int32_t tensor, std::size_t position,
                                         std::int64_t columns);

  // [R, C] -> [C, R] for R, C <= 320 (one tile each way), every byte plane by diagonals:
  // GATHER from a zero-padded 320-row staging copy, PERMUTE (rotate), SCATTER into a zero-filled
  // 320-row result (see the definition).
  Storage transpose_block(TspSchedule& s, const Storage& x, const std::string& name);
  // [R, C] -> [C, R] for any R and C: every 320 x 320 block through transpose_block.
  Storage transpose_2d(TspSchedule& s, const Storage& x, const std::string& name);
  // A [R, 1] value repeated along its last axis to [R, columns] (SXM shift trips, no rounding).
  Storage lane_broadcast(TspSchedule& s, const Storage& x, std::int64_t columns,
                         const std::string& name);
  std::int32_t rotate_map(TspSchedule& s, std::int64_t j);

  void lower(const Op& op);
  // The order ops are lowered in: critical path first among ready ops (lower/op_order.cpp).
  [[nodiscard]] std::vector<std::int32_t> lowering_order() const;
  [[nodiscard]] Cycle estimated_cycles(const Op& op) const;

  // ---- SRAM lifetimes (lower/lifetimes.cpp) ----
  // The (tsp, block) allocations a tensor's stored vectors are in.
  std::set<std::pair<std::int32_t, std::int32_t>> blocks_of(std::int32_t tensor);
  void hold(std::int32_t tensor);
  void drop(std::int32_t tensor);
  // The ops whose reads happen when `op` is lowered: op and the element-wise ops fused into it.
  [[nodiscard]] std::vector<std::int32_t> completed_by(const Op& op) const;
  // Per TSP, the number of blocks allocated so far.
  [[nodiscard]] std::map<std::int32_t, std::int32_t> block_marks() const;
  void set_reuse_horizons(const Op& op);
  // Holds op's result, drops the inputs it read last, releases what op allocated and nothing
  // holds (blocks allocated after `marks`).
  void after_lowering(const Op& op, const std::map<std::int32_t, std::int32_t>& marks);
  // Rows for every computed graph output, before anything else is allocated.
  void preallocate_outputs();
  // Copies any output on undeclared rows to declared ones.
  void declare_outputs();
  void lower_elementwise(const Op& op);
  // Is op's result taken over by its only reader, an element-wise op (lower/elementwise.cpp)?
  [[nodiscard]] bool fused_into_consumer(const Op& op) const;
  // op at output row `row` as a node of `chain`; value(tensor, row) gives its operands.
  int expression(VxmChain& chain, const Op& op, std::int64_t row,
                 const std::function<int(std::int32_t, std::int64_t)>& value);
  void lower_matmul(const Op& op);
  // An MXM plane's state that persists across matmuls (lower/matmul.cpp).
  struct PlaneState {
    Cycle last_iw_operand = -(Cycle{1} << 40);
    Cycle last_abc_operand = -(Cycle{1} << 40);
    // Per accumulator: the cycle its last use ended (an ABC's landing or an ACC's read); the next
    // ABC must land after it.
    std::vector<Cycle> acc_busy;
  };
  PlaneState& plane_state(TspId tsp, int plane);
  // Is `tensor` the B (weights) operand of a matmul, 2-D, 1 or 2 bytes wide?
  [[nodiscard]] bool streams_weights(std::int32_t tensor) const;
  // Storage laid out for weight streaming (see the definition): the chunks of every column tile
  // split between the hemispheres, a chunk's rows spread over all slices of its hemisphere.
  Storage weight_storage(TspSchedule& s, DType dtype, const Shape& shape, const std::string& name);
  // Loads weight tile (kt, nt) of B into the buffer of the unit at plane0 (and plane0 + 1 for
  // fp16) and installs it; returns the cycle the new weights are in use from.
  Cycle install_weights(TspSchedule& s, const Storage& b, std::int64_t k_dim, std::int64_t kt,
                        std::int64_t nt, int plane0, bool f16, int max_lw_rows);
  // Rows per LW when many rows of A keep the MEM ports busy with partial sums: a narrower LW
  // finds a free cycle in all its slices sooner (measured on [2304x4096]x[4096xN]).
  static constexpr int kThroughVxmLwRows = 8;
  // A has at most as many rows as a plane has accumulators: K summed in the accumulators.
  Storage matmul_in_accumulators(TspSchedule& s, const Storage& a, const Storage& b,
                                 const Tensor& out_t);
  // Any A: every chunk's product read out and added to a running sum on the VXM.
  Storage matmul_through_vxm(TspSchedule& s, const Storage& a, const Storage& b,
                             const Tensor& out_t);
  void lower_reduce(const Op& op);
  // The reduction order of docs/graph-format.md, "Reductions", in chains (lower/reduce.cpp).
  std::vector<VectorLoc> halve_vectors(TspSchedule& s, std::vector<VectorLoc> vectors,
                                       const Instruction& fold, int width, std::size_t keep,
                                       VectorLoc* final_dst);
  void lower_lane_reduce(const Op& op);
  void lower_data_movement(const Op& op);
  void lower_collective(const Op& op);
  // all_reduce and reduce_scatter: the topology's combination tree (lower/collectives.cpp).
  // rack -> node -> participant positions, every level ascending.
  using CollectiveTree = std::map<std::int32_t, std::map<std::int32_t, std::vector<std::size_t>>>;
  void lower_tree_collective(const Op& op);
  void replicated_all_reduce(const Op& op, const CollectiveTree& tree, const Instruction& fold,
                             std::vector<Storage>& results);
  // An all_reduce of at most this many byte-plane vectors per TSP is replicated (every TSP combines
  // everything itself: one crossing per level) rather than combined at owners (a trip up and down):
  // below it the extra link traffic costs less than the second crossing of each level.
  static constexpr std::int64_t kReplicatedAllReducePlanes = 12;
  // Up to this many racks every TSP also combines the racks' values itself; beyond, one TSP per
  // vector does and the result spreads (a value per TSP and rack would swamp the links).
  static constexpr std::size_t kReplicatedRacks = 16;
  // Minimal routes over the topology (created on first use).
  const Routing& routing() {
    if (!routing_) routing_ = std::make_unique<Routing>(topology_);
    return *routing_;
  }

  // One VXM op on stored vectors (or immediates), result written to `dst`. Returns the cycle `dst`
  // is readable from.
  struct VxmInput {
    const VectorLoc* loc = nullptr;  // nullptr: immediate
    std::uint64_t immediate = 0;
    int width = 1;
  };
  Cycle vxm_op(TspSchedule& s, Instruction instr, std::span<const VxmInput> inputs, int out_width,
               VectorLoc& dst);

  // dst = src bit for bit (MOV of the dtype's width through the VXM).
  Cycle copy_vector(TspSchedule& s, const VectorLoc& src, int width, VectorLoc& dst);
  // A one-row vector of `width` slices outside any segment (fold temporaries, received values),
  // in none of the slices `avoid` lists.
  static VectorLoc scratch_vector(TspSchedule& s, int width,
                                  std::span<const std::int16_t> avoid = {});

  // Moves one byte plane of a stored vector to a slice of another TSP over a minimal route;
  // returns the cycle the destination row is readable from.
  Cycle transfer(const PlaneRef& source, TspId dst_tsp, const VectorLoc& dst, int dst_plane);
  std::vector<TspId> route(TspId src, TspId dst, Cycle ready);
  // Among the parallel links from a to its neighbour b, the one free soonest (ties: the lowest
  // id), and when it is free.
  std::pair<LinkId, Cycle> soonest_link(TspId a, TspId b);
  Cycle link_free(TspId a, TspId b);
  // The worst-case latency of the link from a to its neighbour b (the schedule's assumption).
  Cycle link_latency_cycles(TspId a, TspId b);
  // Moves a whole vector (every byte plane).
  Cycle transfer_vector(TspId src_tsp, const VectorLoc& src, TspId dst_tsp, VectorLoc& dst);

  const Graph& graph_;
  ProgressSink progress_;         // phases of a long compile; never reaches the output
  ClockSchedule clock_;           // drifting clocks: receive margin and RUNTIME_DESKEWs
  std::int32_t current_op_ = -1;  // the graph op being lowered (tags its instructions)
  const Topology& topology_;
  ChipConfig config_;
  std::unique_ptr<Routing> routing_;
  std::map<std::int32_t, std::unique_ptr<TspSchedule>> schedules_;
  std::vector<std::vector<std::optional<Storage>>> storage_;
  std::vector<std::vector<std::int32_t>> readers_;    // per tensor: the ops reading it, in order
  std::vector<bool> is_output_;                       // per tensor: a graph output
  std::map<std::string, std::int32_t> output_names_;  // graph outputs: name -> tensor
  // Output storages set aside before the first op, until their producer asks for them.
  std::map<std::pair<std::int32_t, std::int32_t>, Storage> preallocated_;  // (tsp, tensor)
  std::vector<std::int32_t> remaining_readers_;  // per tensor: reader ops not lowered yet
  std::map<std::pair<std::int32_t, std::int32_t>, int> block_refs_;  // (tsp, block) -> holders
  std::map<std::tuple<std::int32_t, std::size_t, std::int64_t>, Storage> broadcast_constants_;
  std::map<std::pair<std::int32_t, int>, VectorLoc> zero_vectors_;
  std::deque<Storage> cleaned_;  // keeps derived copies alive (stable addresses)
  std::map<std::pair<std::int32_t, std::int64_t>, Storage> masks_;
  std::map<std::pair<std::int32_t, std::int64_t>, std::int32_t> rotate_maps_;
  std::map<std::pair<std::int32_t, bool>, LinkLane> link_lanes_;         // (link, a->b?)
  std::map<std::pair<std::int32_t, std::int32_t>, Cycle> last_receive_;  // (tsp, port)
  // (tsp, port): the cycles of the last kC2cPortBufferVectors RECEIVEs, oldest first, so that a
  // SEND waits until the vector that many places ahead of it has been received.
  std::map<std::pair<std::int32_t, std::int32_t>, std::deque<Cycle>> port_receives_;
  std::map<std::pair<std::int32_t, int>, PlaneState> planes_;  // (tsp, MXM plane)
  SendSchedule send_rows_;
  std::vector<Cycle> op_start_;   // per op: its first instruction's issue cycle (-1: none)
  std::vector<Cycle> op_finish_;  // per op: the last cycle one of its instructions is active
  std::int64_t temp_counter_ = 0;
};

}  // namespace tspemu::detail
