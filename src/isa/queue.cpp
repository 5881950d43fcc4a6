#include "isa/queue.hpp"

#include <fmt/format.h>

#include <charconv>

#include "common/error.hpp"

namespace tspemu {

std::string ChipShape::problem() const {
  auto bad = [](std::string_view field, int value, std::string_view rule) {
    return fmt::format("{} = {}: must be {}", field, value, rule);
  };
  if (mem_slices_per_hemisphere < 1 || mem_slices_per_hemisphere > 1000) {
    return bad("mem_slices_per_hemisphere", mem_slices_per_hemisphere, "1..1000");
  }
  if (mem_rows_per_slice < 1 || mem_rows_per_slice > (1 << 24)) {
    return bad("mem_rows_per_slice", mem_rows_per_slice, "1..16777216");
  }
  if (mem_banks_per_slice < 1 || mem_rows_per_slice % mem_banks_per_slice != 0) {
    return bad("mem_banks_per_slice", mem_banks_per_slice, ">= 1 and divide mem_rows_per_slice");
  }
  // Stream indices are int8 and 32-bit groups must tile the streams exactly.
  if (streams_per_direction < 4 || streams_per_direction > 124 || streams_per_direction % 4 != 0) {
    return bad("streams_per_direction", streams_per_direction, "a multiple of 4 in 4..124");
  }
  if (vxm_alus < 1 || vxm_alus > 64) return bad("vxm_alus", vxm_alus, "1..64");
  if (sxm_per_hemisphere < 1 || sxm_per_hemisphere > 64) {
    return bad("sxm_per_hemisphere", sxm_per_hemisphere, "1..64");
  }
  if (mxm_planes < 2 || mxm_planes > 16 || mxm_planes % 2 != 0) {
    return bad("mxm_planes", mxm_planes, "even, 2..16");
  }
  if (mxm_accumulators < 1 || mxm_accumulators > 64) {
    return bad("mxm_accumulators", mxm_accumulators, "1..64");
  }
  if (c2c_ports < 0 || c2c_ports > 64 || c2c_ports % 2 != 0) {
    return bad("c2c_ports", c2c_ports, "even, 0..64");
  }
  if (superlanes < 1 || superlanes > kMaxSuperlanes) {
    return bad("superlanes", superlanes, fmt::format("1..{}", kMaxSuperlanes));
  }
  return {};
}

namespace {

std::string hemi_letter(Hemisphere h) {
  return h == Hemisphere::west ? "W" : "E";
}

// Parses a non-negative decimal index without sign or leading zeros ("0", "12", not "012").
std::optional<int> parse_index(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int kind_count(QueueKind kind, const ChipShape& shape) {
  switch (kind) {
    case QueueKind::mem:
      return shape.mem_slices_per_hemisphere;
    case QueueKind::vxm:
      return shape.vxm_alus;
    case QueueKind::sxm:
      return shape.sxm_per_hemisphere;
    case QueueKind::mxm_weights:
    case QueueKind::mxm_activations:
    case QueueKind::mxm_accumulate:
      return shape.mxm_planes;
    case QueueKind::c2c:
      return shape.c2c_ports;
  }
  return 0;
}

bool has_hemisphere(QueueKind kind) {
  return kind == QueueKind::mem || kind == QueueKind::sxm;
}

}  // namespace

std::string queue_name(QueueId queue) {
  switch (queue.kind) {
    case QueueKind::mem:
      return fmt::format("MEM_{}{}", hemi_letter(queue.hemisphere), queue.index);
    case QueueKind::vxm:
      return fmt::format("VXM{}", queue.index);
    case QueueKind::sxm:
      return fmt::format("SXM_{}{}", hemi_letter(queue.hemisphere), queue.index);
    case QueueKind::mxm_weights:
      return fmt::format("MXM{}.W", queue.index);
    case QueueKind::mxm_activations:
      return fmt::format("MXM{}.A", queue.index);
    case QueueKind::mxm_accumulate:
      return fmt::format("MXM{}.C", queue.index);
    case QueueKind::c2c:
      return fmt::format("C2C{}", queue.index);
  }
  return fmt::format("queue?{}", static_cast<int>(queue.kind));
}

std::optional<QueueId> parse_queue_name(std::string_view name) {
  auto starts = [&](std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; };
  if (starts("MEM_W") || starts("MEM_E") || starts("SXM_W") || starts("SXM_E")) {
    const Hemisphere h = name[4] == 'W' ? Hemisphere::west : Hemisphere::east;
    const auto index = parse_index(name.substr(5));
    if (!index) return std::nullopt;
    return starts("MEM") ? mem_queue(h, *index) : sxm_queue(h, *index);
  }
  if (starts("VXM")) {
    const auto index = parse_index(name.substr(3));
    if (!index) return std::nullopt;
    return vxm_queue(*index);
  }
  if (starts("C2C")) {
    const auto index = parse_index(name.substr(3));
    if (!index) return std::nullopt;
    return c2c_queue(*index);
  }
  if (starts("MXM") && name.size() >= 6 && name[name.size() - 2] == '.') {
    const auto index = parse_index(name.substr(3, name.size() - 5));
    if (!index) return std::nullopt;
    switch (name.back()) {
      case 'W':
        return mxm_queue(QueueKind::mxm_weights, *index);
      case 'A':
        return mxm_queue(QueueKind::mxm_activations, *index);
      case 'C':
        return mxm_queue(QueueKind::mxm_accumulate, *index);
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

bool queue_exists(QueueId queue, const ChipShape& shape) {
  if (static_cast<int>(queue.kind) > static_cast<int>(QueueKind::c2c)) return false;
  if (static_cast<int>(queue.hemisphere) > static_cast<int>(Hemisphere::east)) return false;
  if (!has_hemisphere(queue.kind) && queue.hemisphere != Hemisphere::west) return false;
  return queue.index >= 0 && queue.index < kind_count(queue.kind, shape);
}

std::string queue_range_text(QueueId queue, const ChipShape& shape) {
  QueueId first = queue;
  QueueId last = queue;
  first.index = 0;
  last.index = static_cast<std::int16_t>(kind_count(queue.kind, shape) - 1);
  if (last.index < 0)
    return fmt::format("none (the chip has no {})", queue_kind_description(queue.kind));
  return fmt::format("{}..{}", queue_name(first), queue_name(last));
}

std::string queue_kind_description(QueueKind kind) {
  switch (kind) {
    case QueueKind::mem:
      return "MEM queues";
    case QueueKind::vxm:
      return "VXM queues";
    case QueueKind::sxm:
      return "SXM queues";
    case QueueKind::mxm_weights:
      return "MXM weight queues MXMp.W";
    case QueueKind::mxm_activations:
      return "MXM activation queues MXMp.A";
    case QueueKind::mxm_accumulate:
      return "MXM accumulate queues MXMp.C";
    case QueueKind::c2c:
      return "C2C queues";
  }
  return "queues";
}

std::vector<QueueId> all_queues(const ChipShape& shape) {
  std::vector<QueueId> out;
  for (int k = 0; k <= static_cast<int>(QueueKind::c2c); ++k) {
    const auto kind = static_cast<QueueKind>(k);
    for (Hemisphere h : {Hemisphere::west, Hemisphere::east}) {
      if (h == Hemisphere::east && !has_hemisphere(kind)) continue;
      for (int i = 0; i < kind_count(kind, shape); ++i) {
        out.push_back(QueueId{kind, h, static_cast<std::int16_t>(i)});
      }
    }
  }
  return out;  // already sorted: kind, then hemisphere, then index
}

Hemisphere mxm_hemisphere(int plane, const ChipShape& shape) {
  return plane < shape.mxm_planes / 2 ? Hemisphere::west : Hemisphere::east;
}

Hemisphere c2c_hemisphere(int port, const ChipShape& shape) {
  return port < shape.c2c_ports / 2 ? Hemisphere::west : Hemisphere::east;
}

int queue_position(QueueId queue, const ChipShape& shape) {
  const int m = shape.mem_slices_per_hemisphere;
  const int east_edge = 2 * m + 4;
  switch (queue.kind) {
    case QueueKind::mem:
      return queue.hemisphere == Hemisphere::west ? 1 + (m - queue.index) : m + 3 + queue.index;
    case QueueKind::vxm:
      return m + 2;
    case QueueKind::sxm:
      return queue.hemisphere == Hemisphere::west ? 1 : 2 * m + 3;
    case QueueKind::mxm_weights:
    case QueueKind::mxm_activations:
    case QueueKind::mxm_accumulate:
      return mxm_hemisphere(queue.index, shape) == Hemisphere::west ? 0 : east_edge;
    case QueueKind::c2c:
      return c2c_hemisphere(queue.index, shape) == Hemisphere::west ? 0 : east_edge;
  }
  TSPEMU_ASSERT(false, "queue kind out of range");
  return 0;
}

std::string position_name(int position, const ChipShape& shape) {
  const int m = shape.mem_slices_per_hemisphere;
  if (position == 0) return "MXM_W";
  if (position == 1) return "SXM_W";
  if (position < m + 2) return fmt::format("MEM_W{}", m + 1 - position);
  if (position == m + 2) return "VXM";
  if (position < 2 * m + 3) return fmt::format("MEM_E{}", position - m - 3);
  if (position == 2 * m + 3) return "SXM_E";
  if (position == 2 * m + 4) return "MXM_E";
  return fmt::format("position {}", position);
}

}  // namespace tspemu
