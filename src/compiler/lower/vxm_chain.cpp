#include "compiler/lower/vxm_chain.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"

namespace tspemu::detail {
namespace {

DType mov_dtype(int width) {
  return width == 1 ? DType::i8 : width == 2 ? DType::i16 : DType::i32;
}

bool shares_slice(const VectorLoc& a, const VectorLoc& b) {
  for (int i = 0; i < a.group.width; ++i) {
    for (int j = 0; j < b.group.width; ++j) {
      if (a.group.slices[static_cast<std::size_t>(i)] ==
          b.group.slices[static_cast<std::size_t>(j)])
        return true;
    }
  }
  return false;
}

// MEM traffic of the chain so far, to keep its own accesses apart: per slice, the cycles its queue
// issues, and the read and write port cycles with their banks.
class MemUse {
 public:
  [[nodiscard]] bool read_ok(int slice, Cycle issue, Cycle port, int bank) const {
    return !issues_.contains({slice, issue}) && !reads_.contains({slice, port}) &&
           !writes_.contains({slice, port, bank});
  }
  [[nodiscard]] bool write_ok(int slice, Cycle issue, Cycle port, int bank) const {
    return !issues_.contains({slice, issue}) && !write_any_.contains({slice, port}) &&
           !reads_banked_.contains({slice, port, bank});
  }
  void read(int slice, Cycle issue, Cycle port, int bank) {
    issues_.insert({slice, issue});
    reads_.insert({slice, port});
    reads_banked_.insert({slice, port, bank});
  }
  void write(int slice, Cycle issue, Cycle port, int bank) {
    issues_.insert({slice, issue});
    write_any_.insert({slice, port});
    writes_.insert({slice, port, bank});
  }

 private:
  std::set<std::pair<int, Cycle>> issues_;
  std::set<std::pair<int, Cycle>> reads_;
  std::set<std::tuple<int, Cycle, int>> reads_banked_;
  std::set<std::pair<int, Cycle>> write_any_;
  std::set<std::tuple<int, Cycle, int>> writes_;
};

}  // namespace

int VxmChain::leaf(const VectorLoc& loc, int width) {
  Node n;
  n.kind = Kind::leaf;
  n.loc = loc;
  n.width = width;
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

int VxmChain::immediate(std::uint64_t bits) {
  Node n;
  n.kind = Kind::immediate;
  n.bits = bits;
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

int VxmChain::op(const Instruction& instr, std::span<const int> operands, int width) {
  TSPEMU_ASSERT(operands.size() + 1 <= static_cast<std::size_t>(kMaxOperands),
                "a VXM op has at most three sources");
  std::vector<int> own(operands.begin(), operands.end());
  // A slice reads once per cycle: of several stored operands in one slice, all but the first are
  // staged in an ALU by a MOV and read from its register.
  for (std::size_t j = 1; j < own.size(); ++j) {
    const Node& b = nodes_[static_cast<std::size_t>(own[j])];
    if (b.kind != Kind::leaf) continue;
    bool shared = false;
    for (std::size_t i = 0; i < j; ++i) {
      const Node& a = nodes_[static_cast<std::size_t>(own[i])];
      shared = shared || (a.kind == Kind::leaf && shares_slice(a.loc, b.loc));
    }
    if (!shared) continue;
    Instruction mov;
    mov.opcode = Opcode::mov;
    mov.dtype = mov_dtype(b.width);
    const int source[1] = {own[j]};
    own[j] = op(mov, source, b.width);
  }
  // A shifted value passes the VXM in one cycle; next to a register operand (ready whenever its
  // op is done) it is caught in an ALU by a MOV as it passes.
  const bool has_register = std::any_of(own.begin(), own.end(), [&](int o) {
    return nodes_[static_cast<std::size_t>(o)].kind == Kind::op;
  });
  for (int& o : own) {
    const Node& operand = nodes_[static_cast<std::size_t>(o)];
    if (!has_register || operand.kind != Kind::shift) continue;
    Instruction mov;
    mov.opcode = Opcode::mov;
    mov.dtype = mov_dtype(operand.width);
    const int source[1] = {o};
    o = op(mov, source, operand.width);
  }
  Node n;
  n.kind = Kind::op;
  n.instr = instr;
  n.operands = std::move(own);
  n.width = width;
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

void VxmChain::store(int node, VectorLoc& dst) {
  TSPEMU_ASSERT(nodes_[static_cast<std::size_t>(node)].kind == Kind::op,
                "only a VXM op's result is stored");
  nodes_[static_cast<std::size_t>(node)].stores.push_back(&dst);
}

int VxmChain::shift(int node, int lanes, Hemisphere hemisphere, DType dtype, int width) {
  const Node& source = nodes_[static_cast<std::size_t>(node)];
  TSPEMU_ASSERT(source.kind == Kind::op || source.kind == Kind::leaf,
                "a shift moves an op's result or a stored vector");
  int unit = 0;
  for (const Node& n : nodes_) {
    if (n.kind == Kind::shift && n.operands[0] == node) {
      TSPEMU_ASSERT(n.hemisphere == hemisphere, "the shifts of one value use one SXM");
      ++unit;
    }
  }
  Node n;
  n.kind = Kind::shift;
  n.operands = {node};
  n.lanes = lanes;
  n.hemisphere = hemisphere;
  n.unit = unit;
  n.width = width;
  n.instr.opcode = Opcode::shift;
  n.instr.dtype = dtype;
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

int VxmChain::op_count() const {
  return static_cast<int>(std::count_if(nodes_.begin(), nodes_.end(),
                                        [](const Node& n) { return n.kind == Kind::op; }));
}

Cycle VxmChain::place(TspSchedule& s, Cycle earliest) {
  const ChipConfig& config = s.config();
  const int vxm = config.shape.mem_slices_per_hemisphere + 2;
  auto direction_to = [&](const VectorLoc& dst) {
    return s.slice_position(dst.group.slices[0]) > vxm ? Direction::east : Direction::west;
  };
  // One result stream per op: stores in the other direction go through a MOV of the register.
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].kind != Kind::op || nodes_[n].stores.empty()) continue;
    const Direction first = direction_to(*nodes_[n].stores.front());
    std::vector<VectorLoc*> other;
    std::erase_if(nodes_[n].stores, [&](VectorLoc* dst) {
      if (direction_to(*dst) == first) return false;
      other.push_back(dst);
      return true;
    });
    if (other.empty()) continue;
    Instruction mov;
    mov.opcode = Opcode::mov;
    mov.dtype = mov_dtype(nodes_[n].width);
    const int source[1] = {static_cast<int>(n)};
    const int copy = op(mov, source, nodes_[n].width);
    for (VectorLoc* dst : other) nodes_[static_cast<std::size_t>(copy)].stores.push_back(dst);
  }

  // Issue offsets: as soon as the operands are ready, a cycle later while the chain's own MEM
  // accesses would collide.
  const OpTiming& t_read = config.timing.get(Opcode::read, DType::none);
  const OpTiming& t_write = config.timing.get(Opcode::write, DType::none);
  const OpTiming& t_shift = config.timing.get(Opcode::shift, DType::none);
  auto sxm_position = [&](Hemisphere h) { return queue_position(sxm_queue(h, 0), config.shape); };
  std::vector<Cycle> issue(nodes_.size(), 0);
  std::vector<Cycle> result(nodes_.size(), 0);  // op: at the VXM; shift: back at the VXM
  MemUse mem;
  // A leaf's READ for an operand needed at `operand_cycle` at position `pos`, if it fits.
  auto read_leaf = [&](MemUse& use, const Node& leaf, Cycle operand_cycle, int pos) {
    for (int k = 0; k < leaf.width; ++k) {
      const int slice = leaf.loc.group.slices[static_cast<std::size_t>(k)];
      const Cycle r = operand_cycle - (t_read.skew_cycles + t_read.func_delay_cycles) -
                      std::abs(pos - s.slice_position(slice));
      const int bank = s.bank_of(leaf.loc.address);
      if (!use.read_ok(slice, r, r + t_read.skew_cycles, bank)) return false;
      use.read(slice, r, r + t_read.skew_cycles, bank);
    }
    return true;
  };
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    if (node.kind == Kind::shift) {
      // Reads its source as it passes the SXM: an op's result on its way from the VXM, or a
      // stored vector read to arrive there (as soon as its reads fit).
      const auto src = static_cast<std::size_t>(node.operands[0]);
      const int pos = sxm_position(node.hemisphere);
      Cycle read = 0;
      if (nodes_[src].kind == Kind::op) {
        read = result[src] + std::abs(pos - vxm);
      } else {
        // Every shift of one stored vector reads it in the same cycle: the first one decides.
        bool first = true;
        for (std::size_t m = 0; m < n; ++m) {
          if (nodes_[m].kind == Kind::shift && nodes_[m].operands[0] == node.operands[0]) {
            read = issue[m] + t_shift.skew_cycles;
            first = false;
            break;
          }
        }
        while (first) {
          MemUse trial = mem;
          if (read_leaf(trial, nodes_[src], read, pos)) {
            mem = std::move(trial);
            break;
          }
          ++read;
        }
      }
      issue[n] = read - t_shift.skew_cycles;
      result[n] = read + t_shift.func_delay_cycles + std::abs(vxm - pos);
      continue;
    }
    if (node.kind != Kind::op) continue;
    const OpTiming& t = config.timing.of(node.instr);
    Cycle at = 0;
    std::optional<Cycle> pinned;  // a shifted operand passes the VXM in one cycle
    for (const int o : node.operands) {
      const Node& operand = nodes_[static_cast<std::size_t>(o)];
      if (operand.kind == Kind::op) {
        at = std::max(at, result[static_cast<std::size_t>(o)] - t.skew_cycles);
      } else if (operand.kind == Kind::shift) {
        const Cycle when = result[static_cast<std::size_t>(o)] - t.skew_cycles;
        TSPEMU_ASSERT(!pinned || *pinned == when, "the shifted operands of an op arrive together");
        pinned = when;
      }
    }
    if (pinned) {
      TSPEMU_ASSERT(at <= *pinned,
                    "an op's register operands are ready when its shifted ones pass");
      at = *pinned;
    }
    for (;; ++at) {
      MemUse trial = mem;
      bool ok = true;
      const Cycle operand_cycle = at + t.skew_cycles;
      for (const int o : node.operands) {
        const Node& leaf = nodes_[static_cast<std::size_t>(o)];
        if (leaf.kind == Kind::leaf && ok) ok = read_leaf(trial, leaf, operand_cycle, vxm);
      }
      const Cycle done = at + t.skew_cycles + t.func_delay_cycles;
      for (const VectorLoc* dst : node.stores) {
        for (int k = 0; k < dst->group.width && ok; ++k) {
          const int slice = dst->group.slices[static_cast<std::size_t>(k)];
          const Cycle w = done + std::abs(s.slice_position(slice) - vxm) - t_write.skew_cycles;
          const Cycle landing = w + t_write.skew_cycles + t_write.func_delay_cycles;
          const int bank = s.bank_of(dst->address);
          ok = trial.write_ok(slice, w, landing, bank);
          if (ok) trial.write(slice, w, landing, bank);
        }
      }
      if (!ok) {
        TSPEMU_ASSERT(!pinned, "the MEM accesses of an op reading a shifted value collide");
        continue;
      }
      mem = std::move(trial);
      issue[n] = at;
      result[n] = done;
      break;
    }
  }
  // Register holds: an op read through its ALU is held until its last reader's operand cycle.
  std::vector<Cycle> hold(nodes_.size(), -1);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].kind != Kind::op) continue;
    const Cycle operand_cycle = issue[n] + config.timing.of(nodes_[n].instr).skew_cycles;
    for (const int o : nodes_[n].operands) {
      if (nodes_[static_cast<std::size_t>(o)].kind == Kind::op) {
        hold[static_cast<std::size_t>(o)] =
            std::max(hold[static_cast<std::size_t>(o)], operand_cycle);
      }
    }
  }

  // The chain.
  Chain chain;
  ChainBuilder b(s, chain);
  std::vector<int> op_index(nodes_.size(), -1);
  std::vector<int> value_of(nodes_.size(), -1);  // the stream value a node's result travels on
  // Ops whose result a shift reads leave the VXM toward that SXM.
  std::vector<std::optional<Hemisphere>> to_sxm(nodes_.size());
  for (const Node& node : nodes_) {
    if (node.kind == Kind::shift)
      to_sxm[static_cast<std::size_t>(node.operands[0])] = node.hemisphere;
  }
  struct PendingStore {
    VectorLoc* dst;
    Cycle landing;
  };
  std::vector<PendingStore> stores;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    if (node.kind == Kind::shift) {
      const auto src = static_cast<std::size_t>(node.operands[0]);
      const int pos = sxm_position(node.hemisphere);
      const Cycle read = issue[n] + t_shift.skew_cycles;
      if (value_of[src] < 0) {
        // A stored source: read once to reach the SXM when its shifts read it.
        value_of[src] =
            b.value(b.direction_from(nodes_[src].loc, pos), nodes_[src].width, read, pos);
        b.read(nodes_[src].loc, value_of[src], 0, nodes_[src].width, pos, read, earliest);
      }
      value_of[n] = b.value(ChainBuilder::direction(pos, vxm), node.width, result[n], vxm);
      b.from(value_of[n], pos);
      ChainOp op;
      op.queue = sxm_queue(node.hemisphere, node.unit);
      op.offset = issue[n];
      op.occupancy = t_shift.occupancy_cycles;
      op.instr = node.instr;
      op.instr.operand_count = 4;  // no mask (an absent optional operand)
      op.instr.operands[0] = stream_placeholder();
      op.operand_value[0] = static_cast<std::int8_t>(value_of[n]);
      op.instr.operands[1] = stream_placeholder();
      op.operand_value[1] = static_cast<std::int8_t>(value_of[src]);
      op.instr.operands[2] = integer_operand(-node.lanes);
      op.instr.operands[3] = none_operand();
      op_index[n] = b.op(op);
      continue;
    }
    if (node.kind != Kind::op) continue;
    const OpTiming& t = config.timing.of(node.instr);
    const Cycle operand_cycle = issue[n] + t.skew_cycles;
    ChainOp op;
    op.any_vxm_alu = true;
    op.offset = issue[n];
    op.occupancy = t.occupancy_cycles;
    op.instr = node.instr;
    op.instr.operand_count = static_cast<std::uint8_t>(node.operands.size() + 1);
    op.alu_hold_until = hold[n];
    int out_value = -1;
    if (to_sxm[n]) {
      // Toward the SXM whose shifts read it (stores, if any, lie on the way: checked below).
      const int pos = sxm_position(*to_sxm[n]);
      out_value = b.value(ChainBuilder::direction(vxm, pos), node.width, result[n], vxm);
      b.from(out_value, vxm);
      ChainValue& v = chain.values[static_cast<std::size_t>(out_value)];
      for (int k = 0; k < node.width; ++k) v.to_pos[static_cast<std::size_t>(k)] = pos;
      for (const VectorLoc* dst : node.stores) {
        TSPEMU_ASSERT(direction_to(*dst) == v.direction,
                      "a value shifted on the SXM is stored on its way there only");
      }
    } else if (!node.stores.empty()) {
      out_value = b.value(direction_to(*node.stores.front()), node.width, result[n], vxm);
      b.from(out_value, vxm);
    }
    value_of[n] = out_value;
    if (out_value < 0) {
      op.instr.operands[0] = none_operand();
    } else {
      op.instr.operands[0] = stream_placeholder();
      op.operand_value[0] = static_cast<std::int8_t>(out_value);
    }
    for (std::size_t i = 0; i < node.operands.size(); ++i) {
      const Node& operand = nodes_[static_cast<std::size_t>(node.operands[i])];
      switch (operand.kind) {
        case Kind::immediate:
          op.instr.operands[i + 1] = immediate_operand(operand.bits);
          break;
        case Kind::leaf: {
          const int value =
              b.value(b.direction_from(operand.loc, vxm), operand.width, operand_cycle, vxm);
          b.read(operand.loc, value, 0, operand.width, vxm, operand_cycle, earliest);
          op.instr.operands[i + 1] = stream_placeholder();
          op.operand_value[i + 1] = static_cast<std::int8_t>(value);
          break;
        }
        case Kind::op:
          op.instr.operands[i + 1].kind = OperandKind::alu;
          op.operand_alu_op[i + 1] =
              static_cast<std::int16_t>(op_index[static_cast<std::size_t>(node.operands[i])]);
          break;
        case Kind::shift:
          op.instr.operands[i + 1] = stream_placeholder();
          op.operand_value[i + 1] =
              static_cast<std::int8_t>(value_of[static_cast<std::size_t>(node.operands[i])]);
          break;
      }
    }
    op_index[n] = b.op(op);
    for (VectorLoc* dst : node.stores) {
      stores.push_back({dst, b.write(*dst, out_value, vxm, result[n])});
    }
  }
  TSPEMU_ASSERT(chain.values.size() < 128, "a chain indexes its stream values with 8 bits");
  const Placement placed = s.place(chain, earliest);
  Cycle ready = -1;
  for (const PendingStore& st : stores) {
    st.dst->ready = placed.anchor + st.landing;
    ready = std::max(ready, st.dst->ready);
  }
  return ready;
}

}  // namespace tspemu::detail
