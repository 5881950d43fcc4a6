#include "isa/assembler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "isa/detail/lexer.hpp"
#include "isa/detail/values.hpp"
#include "isa/op_table.hpp"
#include "isa/queue.hpp"
#include "isa/validate.hpp"

namespace tspemu {
namespace {

using detail::Statement;
using detail::Token;
using detail::TokenKind;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_punct(const Token& token, char c) {
  return token.kind == TokenKind::punct && token.text.size() == 1 && token.text[0] == c;
}

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string hex(std::int64_t value) {
  return value < 0 ? fmt::format("-{:#x}", -value) : fmt::format("{:#x}", value);
}

std::string join(const std::vector<Token>& tokens, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin && tokens[i].kind != TokenKind::punct && tokens[i - 1].kind != TokenKind::punct) {
      out += ' ';
    }
    out += tokens[i].kind == TokenKind::string ? fmt::format("\"{}\"", tokens[i].text)
                                               : tokens[i].text;
  }
  return out;
}

struct StreamWord {
  int index = 0;
  Direction direction = Direction::east;
};

// "S4E", "s12w". Index digits only (at most 4), no sign.
std::optional<StreamWord> parse_stream_word(std::string_view text) {
  if (text.size() < 3 || text.size() > 6 || (text[0] != 'S' && text[0] != 's')) return std::nullopt;
  const char d = text.back();
  StreamWord out;
  if (d == 'E' || d == 'e') {
    out.direction = Direction::east;
  } else if (d == 'W' || d == 'w') {
    out.direction = Direction::west;
  } else {
    return std::nullopt;
  }
  const std::string_view digits = text.substr(1, text.size() - 2);
  if (digits.empty()) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  out.index = value;
  return out;
}

// "ALU3", "acc2": a case-insensitive prefix and a small decimal number.
std::optional<int> parse_prefixed_number(std::string_view text, std::string_view prefix) {
  if (text.size() <= prefix.size() || text.size() > prefix.size() + 4) return std::nullopt;
  if (lower(text.substr(0, prefix.size())) != lower(prefix)) return std::nullopt;
  int value = 0;
  for (char c : text.substr(prefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string role_expectation(OperandRole role) {
  switch (role) {
    case OperandRole::dst:
    case OperandRole::src:
    case OperandRole::mask:
      return "a stream such as S4E";
    case OperandRole::lane_addresses:
      return "an SG2 stream such as S4E";
    case OperandRole::dst_or_none:
      return "a stream such as S4E, or - for no stream";
    case OperandRole::value:
      return "a stream such as S4E, ALU<k> or an #immediate";
    case OperandRole::dst_range:
    case OperandRole::src_range:
      return "a stream range such as S0E..S15E";
    case OperandRole::address:
      return "an address such as 0x100";
    case OperandRole::accumulator:
      return "an accumulator such as acc0";
    case OperandRole::clear:
      return "the keyword clear";
    case OperandRole::lane_map:
      return "the name of a .map";
    case OperandRole::superlanes:
      return "superlanes=<n>";
    case OperandRole::weight_row:
    case OperandRole::count:
    case OperandRole::spacing:
    case OperandRole::stride:
    case OperandRole::lane_shift:
    case OperandRole::rotate_size:
    case OperandRole::cycles:
      return "an integer";
  }
  return "an operand";
}

struct QueueState {
  QueueProgram program;
  IssueCursor cursor;
};

struct TspState {
  int line = 0;
  std::map<QueueId, QueueState> queues;
  std::vector<DataSegment> data;
  std::vector<LaneMap> maps;
  std::map<std::string, int> names;  // data and map names -> line declared
};

class Assembler {
 public:
  Assembler(std::string file_name, const ChipShape& shape)
      : file_(std::move(file_name)), shape_(shape) {
    base_dir_ = std::filesystem::path(file_).parent_path();
  }

  Program run(std::string_view text) {
    if (const std::string problem = shape_.problem(); !problem.empty()) {
      throw InputError(fmt::format("chip shape: {}", problem));
    }
    const std::vector<Statement> statements = detail::lex(text, file_);
    const bool sectioned =
        std::any_of(statements.begin(), statements.end(), [](const Statement& s) {
          return s.tokens[0].kind == TokenKind::word && s.tokens[0].text == ".tsp";
        });
    if (!sectioned) tsp_ = &tsps_[0];
    for (const Statement& statement : statements) this->statement(statement);
    Program program;
    program.source_name = file_;
    for (auto& [id, state] : tsps_) {
      TspProgram tsp;
      tsp.tsp = TspId{id};
      for (auto& [queue, queue_state] : state.queues)
        tsp.queues.push_back(std::move(queue_state.program));
      tsp.data = std::move(state.data);
      tsp.maps = std::move(state.maps);
      program.tsps.push_back(std::move(tsp));
    }
    return program;
  }

 private:
  [[noreturn]] void fail(const Token& at, std::string message) const {
    throw InputError(location(at), std::move(message));
  }
  SourceLocation location(const Token& at) const {
    return SourceLocation{file_, at.line, at.column};
  }

  void statement(const Statement& s) {
    const Token& first = s.tokens[0];
    if (first.kind == TokenKind::word && first.text[0] == '.') {
      if (first.text == ".tsp") return directive_tsp(s);
      if (tsp_ == nullptr) {
        fail(first, fmt::format("'{}' before the first .tsp section (this file has .tsp sections)",
                                first.text));
      }
      if (first.text == ".queue") return directive_queue(s);
      if (first.text == ".data") return directive_data(s, false);
      if (first.text == ".region") return directive_data(s, true);
      if (first.text == ".output") return directive_output(s);
      if (first.text == ".map") return directive_map(s);
      fail(first,
           fmt::format("unknown directive '{}' (.tsp, .queue, .data, .region, .output, .map)",
                       first.text));
    }
    if (first.kind == TokenKind::word || is_punct(first, '@')) return instruction(s);
    fail(first, fmt::format("unexpected '{}' at the start of a statement", first.text));
  }

  // Fails unless the statement is exactly `count` tokens long.
  void expect_end(const Statement& s, std::size_t count) const {
    if (s.tokens.size() > count) {
      fail(s.tokens[count],
           fmt::format("unexpected '{}' after {}", s.tokens[count].text, join(s.tokens, 0, count)));
    }
  }

  void directive_tsp(const Statement& s) {
    const Token& d = s.tokens[0];
    if (s.tokens.size() < 2) fail(d, ".tsp needs a TSP number, e.g. .tsp 0");
    const Token& n = s.tokens[1];
    const auto id = n.kind == TokenKind::number ? detail::parse_integer(n.text) : std::nullopt;
    if (!id || *id < 0 || *id > std::numeric_limits<std::int32_t>::max()) {
      fail(n, fmt::format("TSP number must be an integer 0..2147483647, got '{}'", n.text));
    }
    expect_end(s, 2);
    const int tsp = static_cast<int>(*id);
    if (auto it = tsps_.find(tsp); it != tsps_.end()) {
      fail(d, fmt::format("duplicate .tsp {} (first at line {})", tsp, it->second.line));
    }
    tsp_ = &tsps_[tsp];
    tsp_->line = d.line;
    queue_ = nullptr;
    queue_id_ = {};
  }

  void directive_queue(const Statement& s) {
    const Token& d = s.tokens[0];
    if (s.tokens.size() < 2) fail(d, ".queue needs a queue name, e.g. .queue MEM_W0");
    const Token& n = s.tokens[1];
    const auto queue = n.kind == TokenKind::word ? parse_queue_name(upper(n.text)) : std::nullopt;
    if (!queue) {
      fail(n, fmt::format("unknown queue '{}' (MEM_W0, MEM_E0, VXM0, SXM_W0, MXM0.W/.A/.C, C2C0, "
                          "...)",
                          n.text));
    }
    if (!queue_exists(*queue, shape_)) {
      fail(n, fmt::format("queue {} out of range {}", queue_name(*queue),
                          queue_range_text(*queue, shape_)));
    }
    expect_end(s, 2);
    QueueState& state = tsp_->queues[*queue];
    state.program.queue = *queue;
    queue_ = &state;
    queue_id_ = *queue;
  }

  void declare_name(const Token& name) {
    if (auto it = tsp_->names.find(name.text); it != tsp_->names.end()) {
      fail(name,
           fmt::format("duplicate name '{}' (first declared at line {})", name.text, it->second));
    }
    tsp_->names[name.text] = name.line;
  }

  const Token& name_token(const Statement& s, std::string_view example) const {
    const Token& d = s.tokens[0];
    if (s.tokens.size() < 2) fail(d, fmt::format("{} needs a name, e.g. {}", d.text, example));
    const Token& n = s.tokens[1];
    if (n.kind != TokenKind::word || !is_identifier(n.text)) {
      fail(n, fmt::format("'{}' is not a valid name (letters, digits and _, not starting with a "
                          "digit)",
                          n.text));
    }
    return n;
  }

  // ---- .data / .region ------------------------------------------------------------------------

  struct KeySpan {
    const Token* key = nullptr;
    std::size_t begin = 0;  // value tokens [begin, end)
    std::size_t end = 0;
  };

  void directive_data(const Statement& s, bool region) {
    const auto& t = s.tokens;
    const std::string directive = region ? ".region" : ".data";
    const Token& name =
        name_token(s, region ? ".region out dtype=i32 shape=[1,320] at=E0,E1,E2,E3:0"
                             : ".data a dtype=i8 shape=[1,4] at=W0:0 init=zero");
    declare_name(name);
    const std::vector<std::string_view> allowed =
        region ? std::vector<std::string_view>{"dtype", "shape", "at"}
               : std::vector<std::string_view>{"dtype", "shape", "at", "init"};
    const std::string allowed_text = region ? "dtype, shape, at" : "dtype, shape, at, init";
    std::map<std::string, KeySpan> keys;
    std::size_t i = 2;
    while (i < t.size()) {
      if (t[i].kind != TokenKind::word || i + 1 >= t.size() || !is_punct(t[i + 1], '=')) {
        fail(t[i], fmt::format("expected key=value ({}), got '{}'", allowed_text, t[i].text));
      }
      const Token& key = t[i];
      if (std::find(allowed.begin(), allowed.end(), key.text) == allowed.end()) {
        if (region && key.text == "init") {
          fail(key,
               "a .region has no init= (its rows hold no value until written, use .data ... "
               "init=zero for a zero-filled area)");
        }
        fail(key, fmt::format("unknown {} key '{}' ({})", directive, key.text, allowed_text));
      }
      if (keys.count(key.text) != 0) fail(key, fmt::format("duplicate key '{}'", key.text));
      std::size_t j = i + 2;
      int depth = 0;
      while (j < t.size()) {
        if (depth == 0 && t[j].kind == TokenKind::word && j + 1 < t.size() &&
            is_punct(t[j + 1], '=')) {
          break;
        }
        if (is_punct(t[j], '[') || is_punct(t[j], '(')) ++depth;
        if (is_punct(t[j], ']') || is_punct(t[j], ')')) --depth;
        ++j;
      }
      if (j == i + 2) fail(t[i + 1], fmt::format("missing value after '{}='", key.text));
      keys[key.text] = KeySpan{&key, i + 2, j};
      i = j;
    }
    for (std::string_view key : allowed) {
      if (keys.count(std::string(key)) == 0) {
        fail(name, fmt::format("{} '{}' needs {}=", directive, name.text, key));
      }
    }

    DataSegment data;
    data.name = name.text;
    data.where = location(name);
    data.initialized = !region;
    const KeySpan& dtype_span = keys["dtype"];
    parse_dtype_value(t, dtype_span, data);
    const KeySpan& shape_span = keys["shape"];
    parse_shape_value(t, shape_span, data);
    const KeySpan& at_span = keys["at"];
    const Token& address_token = parse_at_value(t, at_span, data);
    const std::int64_t rows = shape_.mem_rows_per_slice;
    if (data.at.address < 0 || data.at.address >= rows) {
      fail(address_token,
           fmt::format("address {} out of range 0..{}", hex(data.at.address), hex(rows - 1)));
    }
    if (std::int64_t end = std::int64_t{data.at.address} + data.rows - 1; end >= rows) {
      fail(address_token, fmt::format("data '{}' rows {}..{} do not fit in a slice (0..{})",
                                      data.name, hex(data.at.address), hex(end), hex(rows - 1)));
    }
    const Token* init_token = &name;
    if (!region) {
      const KeySpan& init_span = keys["init"];
      init_token = &t[init_span.begin];
      parse_init_value(t, init_span, data);
    }
    if (auto problem = check_data_segment(data, shape_)) {
      const Token* at = &name;
      switch (static_cast<DataPart>(problem->part)) {
        case DataPart::dtype:
          at = &t[dtype_span.begin];
          break;
        case DataPart::shape:
          at = &t[shape_span.begin];
          break;
        case DataPart::at:
          at = &t[at_span.begin];
          break;
        case DataPart::address:
          at = &address_token;
          break;
        case DataPart::init:
          at = init_token;
          break;
        case DataPart::name:
          break;
      }
      fail(*at, problem->message);
    }
    for (const DataSegment& earlier : tsp_->data) {
      if (auto message = check_data_overlap(data, earlier)) fail(name, *message);
    }
    tsp_->data.push_back(std::move(data));
  }

  void parse_dtype_value(const std::vector<Token>& t, const KeySpan& span, DataSegment& data) {
    const Token& v = t[span.begin];
    const auto dtype = v.kind == TokenKind::word ? parse_dtype(lower(v.text)) : std::nullopt;
    if (!dtype) fail(v, fmt::format("unknown type '{}' (i8, u8, i16, i32, f16, f32)", v.text));
    if (span.end > span.begin + 1) {
      fail(t[span.begin + 1],
           fmt::format("unexpected '{}' after dtype={}", t[span.begin + 1].text, v.text));
    }
    data.dtype = *dtype;
  }

  void parse_shape_value(const std::vector<Token>& t, const KeySpan& span, DataSegment& data) {
    const Token& first = t[span.begin];
    auto bad = [&]() { fail(first, "shape must be [rows,columns], e.g. shape=[2,320]"); };
    const std::size_t n = span.end - span.begin;
    if ((n != 5 && n != 3) || !is_punct(first, '[') || !is_punct(t[span.end - 1], ']')) bad();
    std::vector<std::int64_t> values;
    for (std::size_t i = span.begin + 1; i + 1 < span.end; i += 2) {
      const Token& v = t[i];
      const auto value = v.kind == TokenKind::number ? detail::parse_integer(v.text) : std::nullopt;
      if (!value) bad();
      values.push_back(*value);
      if (i + 2 < span.end && !is_punct(t[i + 1], ',')) bad();
    }
    if (values.empty() || values.size() > 2) bad();
    const std::int64_t rows = values.size() == 2 ? values.front() : 1;
    const std::int64_t columns = values.size() == 2 ? values[1] : values.front();
    if (rows < 1 || rows > shape_.mem_rows_per_slice) {
      fail(first, fmt::format("shape [{},{}]: rows must be 1..{}", rows, columns,
                              shape_.mem_rows_per_slice));
    }
    if (columns < 1 || columns > shape_.lanes()) {
      fail(first, fmt::format("shape [{},{}]: columns must be 1..{} (lanes)", rows, columns,
                              shape_.lanes()));
    }
    data.rows = static_cast<std::int32_t>(rows);
    data.columns = static_cast<std::int32_t>(columns);
  }

  // at=W3,W4:0x100. Returns the address token.
  const Token& parse_at_value(const std::vector<Token>& t, const KeySpan& span, DataSegment& data) {
    const Token& first = t[span.begin];
    auto bad = [&](const Token& at) {
      fail(at, "at= must list slices and an address, e.g. at=W3,W4:0x100");
    };
    std::size_t i = span.begin;
    std::vector<const Token*> slice_tokens;
    while (true) {
      if (i >= span.end) bad(t[span.end - 1]);
      const Token& s = t[i];
      if (s.kind != TokenKind::word) bad(s);
      std::string text = upper(s.text);
      if (text.rfind("MEM_", 0) == 0) text = text.substr(4);
      const auto queue =
          text.empty() ? std::nullopt : parse_queue_name(fmt::format("MEM_{}", text));
      if (!queue || queue->kind != QueueKind::mem) {
        fail(s, fmt::format("'{}' is not a MEM slice (W0..W{}, E0..E{})", s.text,
                            shape_.mem_slices_per_hemisphere - 1,
                            shape_.mem_slices_per_hemisphere - 1));
      }
      if (!queue_exists(*queue, shape_)) {
        const char h = queue->hemisphere == Hemisphere::west ? 'W' : 'E';
        fail(s, fmt::format("slice {}{} out of range {}0..{}{}", h, queue->index, h, h,
                            shape_.mem_slices_per_hemisphere - 1));
      }
      if (std::find(data.at.slices.begin(), data.at.slices.end(), *queue) != data.at.slices.end()) {
        fail(s, fmt::format("slice {} appears twice in at=", text));
      }
      data.at.slices.push_back(*queue);
      slice_tokens.push_back(&s);
      ++i;
      if (i < span.end && is_punct(t[i], ',')) {
        ++i;
        continue;
      }
      if (i < span.end && is_punct(t[i], ':')) {
        ++i;
        break;
      }
      bad(i < span.end ? t[i] : s);
    }
    if (i + 1 != span.end) bad(i < span.end ? t[i] : t[span.end - 1]);
    const Token& address = t[i];
    const auto value =
        address.kind == TokenKind::number ? detail::parse_integer(address.text) : std::nullopt;
    if (!value) fail(address, fmt::format("invalid address '{}'", address.text));
    if (*value < 0 || *value >= shape_.mem_rows_per_slice) {
      fail(address, fmt::format("address {} out of range 0..{}", hex(*value),
                                hex(shape_.mem_rows_per_slice - 1)));
    }
    data.at.address = static_cast<std::int32_t>(*value);
    const int bytes = dtype_bytes(data.dtype);
    if (static_cast<int>(data.at.slices.size()) != bytes) {
      fail(first, fmt::format("{} data needs {} {} in at= (one per byte plane), got {}",
                              dtype_name(data.dtype), bytes, bytes == 1 ? "slice" : "slices",
                              data.at.slices.size()));
    }
    return address;
  }

  void parse_init_value(const std::vector<Token>& t, const KeySpan& span, DataSegment& data) {
    const Token& first = t[span.begin];
    const std::size_t elements =
        static_cast<std::size_t>(data.rows) * static_cast<std::size_t>(data.columns);
    const std::size_t bytes = static_cast<std::size_t>(dtype_bytes(data.dtype));
    if (is_punct(first, '[')) {
      const std::vector<const Token*> values = list_values(t, span.begin, span.end, "value");
      if (values.size() != elements) {
        fail(first, fmt::format("literal has {} values, shape [{},{}] needs {}", values.size(),
                                data.rows, data.columns, elements));
      }
      data.init.kind = DataInit::Kind::literal;
      data.init.bytes.reserve(elements * bytes);
      for (const Token* v : values) {
        const auto parsed =
            detail::parse_element(v->text, data.dtype, fmt::format("value {}", v->text));
        if (!parsed.ok) fail(*v, parsed.problem);
        for (std::size_t k = 0; k < bytes; ++k) {
          data.init.bytes.push_back(static_cast<std::uint8_t>(parsed.bits >> (8 * k)));
        }
      }
      return;
    }
    if (first.kind == TokenKind::word && first.text == "zero") {
      if (span.end != span.begin + 1) {
        fail(t[span.begin + 1],
             fmt::format("unexpected '{}' after init=zero", t[span.begin + 1].text));
      }
      data.init.kind = DataInit::Kind::zero;
      return;
    }
    if (first.kind == TokenKind::word && first.text == "file") {
      if (span.end != span.begin + 4 || !is_punct(t[span.begin + 1], '(') ||
          t[span.begin + 2].kind != TokenKind::string || !is_punct(t[span.begin + 3], ')')) {
        fail(first, "init=file needs one quoted path: init=file(\"weights.bin\")");
      }
      const Token& path_token = t[span.begin + 2];
      data.init.kind = DataInit::Kind::file_bytes;
      data.init.bytes = read_init_file(path_token, data, elements * bytes);
      return;
    }
    if (first.kind == TokenKind::word && first.text == "bytes") {
      // Inline raw bytes, exactly like a file's contents: what the disassembler prints for a
      // file init so that the program reassembles without the file.
      if (span.end != span.begin + 4 || !is_punct(t[span.begin + 1], '(') ||
          t[span.begin + 2].kind != TokenKind::string || !is_punct(t[span.begin + 3], ')')) {
        fail(first, "init=bytes needs one quoted hex string: init=bytes(\"00ff...\")");
      }
      const Token& hex_token = t[span.begin + 2];
      const std::string& digits = hex_token.text;
      auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (digits.size() % 2 != 0 ||
          std::any_of(digits.begin(), digits.end(), [&](char c) { return nibble(c) < 0; })) {
        fail(hex_token, "bytes(...) must hold an even number of hex digits");
      }
      if (digits.size() / 2 != elements * bytes) {
        fail(hex_token,
             fmt::format("bytes(...) has {} bytes, shape [{},{}] of {} needs {}", digits.size() / 2,
                         data.rows, data.columns, dtype_name(data.dtype), elements * bytes));
      }
      data.init.kind = DataInit::Kind::file_bytes;
      data.init.bytes.resize(elements * bytes);
      for (std::size_t k = 0; k < data.init.bytes.size(); ++k) {
        data.init.bytes[k] =
            static_cast<std::uint8_t>(nibble(digits[2 * k]) * 16 + nibble(digits[2 * k + 1]));
      }
      return;
    }
    if (first.kind == TokenKind::word && first.text == "seeded") {
      parse_seeded(t, span, data);
      return;
    }
    fail(first,
         fmt::format("init must be a literal list [...], file(...), bytes(...), seeded(...) or "
                     "zero, got '{}'",
                     first.text));
  }

  // The value tokens of `[v, v, ...]` spanning [begin, end) (end - 1 must be ']').
  std::vector<const Token*> list_values(const std::vector<Token>& t, std::size_t begin,
                                        std::size_t end, std::string_view what) const {
    if (!is_punct(t[end - 1], ']')) {
      fail(t[end - 1], fmt::format("unexpected '{}' after the list", t[end - 1].text));
    }
    std::vector<const Token*> values;
    for (std::size_t i = begin + 1; i + 1 < end; ++i) {
      const Token& v = t[i];
      if (v.kind != TokenKind::number && v.kind != TokenKind::word) {
        fail(v, fmt::format("expected a {}, got '{}'", what, v.text));
      }
      values.push_back(&v);
      if (i + 2 < end) {
        ++i;
        if (!is_punct(t[i], ','))
          fail(t[i], fmt::format("expected ',' between values, got '{}'", t[i].text));
        if (i + 2 >= end) fail(t[i], fmt::format("missing {} after ','", what));
      }
    }
    return values;
  }

  std::vector<std::uint8_t> read_init_file(const Token& path_token, const DataSegment& data,
                                           std::size_t expected) const {
    std::filesystem::path path(path_token.text);
    if (path.is_relative()) path = base_dir_ / path;
    InputBytes in;
    try {
      in = read_input_bytes(path, expected, "data file");
    } catch (const InputFileError& e) {
      // Located at the file name in the program, naming both spellings of the path.
      fail(path_token, fmt::format("cannot read file '{}' ({}): {}", path_token.text, path.string(),
                                   e.reason()));
    }
    if (in.size != expected) {
      const bool unknown = !in.regular && in.exceeds(expected);  // a pipe that kept going
      fail(path_token,
           fmt::format("file '{}' has {}{} bytes, shape [{},{}] of {} needs {}", path_token.text,
                       unknown ? "more than " : "", unknown ? expected : in.size, data.rows,
                       data.columns, dtype_name(data.dtype), expected));
    }
    return std::move(in.bytes);
  }

  void parse_seeded(const std::vector<Token>& t, const KeySpan& span, DataSegment& data) const {
    const Token& first = t[span.begin];
    if (span.end - span.begin < 3 || !is_punct(t[span.begin + 1], '(') ||
        !is_punct(t[span.end - 1], ')')) {
      fail(first, "seeded needs arguments: seeded(seed=7, dist=uniform, lo=-8, hi=8)");
    }
    std::map<std::string, const Token*> args;
    std::size_t i = span.begin + 2;
    while (i + 1 < span.end) {
      const Token& key = t[i];
      if (key.kind != TokenKind::word || i + 2 >= span.end || !is_punct(t[i + 1], '=')) {
        fail(key, fmt::format("expected key=value in seeded(...), got '{}'", key.text));
      }
      if (key.text != "seed" && key.text != "dist" && key.text != "lo" && key.text != "hi") {
        fail(key, fmt::format("unknown seeded key '{}' (seed, dist, lo, hi)", key.text));
      }
      if (args.count(key.text) != 0) fail(key, fmt::format("duplicate key '{}'", key.text));
      const Token& value = t[i + 2];
      if (is_punct(value, ',') || is_punct(value, ')')) {
        fail(t[i + 1], fmt::format("missing value after '{}='", key.text));
      }
      args[key.text] = &value;
      i += 3;
      if (i + 1 < span.end) {
        if (!is_punct(t[i], ',')) {
          fail(t[i], fmt::format("expected ',' between seeded arguments, got '{}'", t[i].text));
        }
        ++i;
      }
    }
    for (const char* key : {"seed", "lo", "hi"}) {
      if (args.count(key) == 0) fail(first, fmt::format("seeded(...) is missing {}=", key));
    }
    if (args.count("dist") != 0 && args["dist"]->text != "uniform") {
      fail(*args["dist"],
           fmt::format("distribution '{}' is not supported (uniform only)", args["dist"]->text));
    }
    const Token& seed = *args["seed"];
    const auto seed_value =
        seed.kind == TokenKind::number ? detail::parse_u64(seed.text) : std::nullopt;
    if (!seed_value) {
      fail(seed,
           fmt::format("seed must be an integer 0..18446744073709551615, got '{}'", seed.text));
    }
    data.init.kind = DataInit::Kind::seeded_uniform;
    data.init.seed = *seed_value;
    for (const char* key : {"lo", "hi"}) {
      const Token& v = *args[key];
      const auto value = v.kind == TokenKind::number ? detail::parse_double(v.text) : std::nullopt;
      if (!value || !std::isfinite(*value)) {
        fail(v, fmt::format("seeded {} must be a finite number, got '{}'", key, v.text));
      }
      if (is_integer(data.dtype)) {
        const auto parsed =
            detail::parse_element(v.text, data.dtype, fmt::format("seeded {}={}", key, v.text));
        if (!parsed.ok) fail(v, parsed.problem);
      }
      (std::string_view(key) == "lo" ? data.init.low : data.init.high) = *value;
    }
  }

  void directive_output(const Statement& s) {
    const Token& d = s.tokens[0];
    if (s.tokens.size() < 2) fail(d, ".output needs the names of .data or .region declarations");
    for (std::size_t i = 1; i < s.tokens.size(); ++i) {
      const Token& n = s.tokens[i];
      auto it = std::find_if(tsp_->data.begin(), tsp_->data.end(),
                             [&](const DataSegment& data) { return data.name == n.text; });
      if (it == tsp_->data.end()) {
        fail(n, fmt::format("unknown data '{}' in .output (declare it with .data or .region first)",
                            n.text));
      }
      it->is_output = true;
    }
  }

  void directive_map(const Statement& s) {
    const Token& name = name_token(s, ".map swap [1, 0, 2, ...]");
    declare_name(name);
    const auto& t = s.tokens;
    if (t.size() < 4 || !is_punct(t[2], '[')) {
      fail(t.size() > 2 ? t[2] : name, ".map needs a list of lanes: .map NAME [l0, l1, ...]");
    }
    const std::vector<const Token*> values = list_values(t, 2, t.size(), "lane");
    LaneMap map;
    map.name = name.text;
    for (const Token* v : values) {
      const auto value =
          v->kind == TokenKind::number ? detail::parse_integer(v->text) : std::nullopt;
      if (!value || *value < std::numeric_limits<std::int16_t>::min() ||
          *value > std::numeric_limits<std::int16_t>::max()) {
        fail(*v, fmt::format("map entry '{}' is not a lane number", v->text));
      }
      map.lanes.push_back(static_cast<std::int16_t>(*value));
    }
    if (auto problem = check_lane_map(map, shape_)) {
      fail(problem->part >= 0 ? *values[static_cast<std::size_t>(problem->part)] : name,
           problem->message);
    }
    tsp_->maps.push_back(std::move(map));
  }

  // ---- instructions ---------------------------------------------------------------------------

  void instruction(const Statement& s) {
    const auto& t = s.tokens;
    std::size_t i = 0;
    const Token* at_token = nullptr;
    Cycle explicit_issue = -1;
    if (is_punct(t[0], '@')) {
      at_token = &t[0];
      if (t.size() < 2 || t[1].kind != TokenKind::number) {
        fail(t[0], fmt::format("'@' needs an issue cycle, e.g. @120"));
      }
      const auto value = detail::parse_integer(t[1].text);
      if (!value) fail(t[1], fmt::format("issue cycle '@{}' is not an integer", t[1].text));
      if (*value < 0 || *value > kMaxIssueCycle) {
        fail(t[1], fmt::format("issue cycle @{} out of range 0..{}", *value, kMaxIssueCycle));
      }
      explicit_issue = *value;
      i = 2;
      if (i >= t.size()) fail(t[1], fmt::format("issue cycle @{} with no instruction", *value));
    }
    const Token& mnemonic = t[i];
    if (mnemonic.kind != TokenKind::word) {
      fail(mnemonic, fmt::format("expected a mnemonic, got '{}'", mnemonic.text));
    }
    // Mnemonic and suffixes: ADD.i8.sat, CVT.f32.f16
    std::vector<std::string> parts;
    {
      std::string part;
      for (char c : mnemonic.text) {
        if (c == '.') {
          parts.push_back(part);
          part.clear();
        } else {
          part += c;
        }
      }
      parts.push_back(part);
    }
    const OpInfo* info = find_op(upper(parts[0]));
    if (info == nullptr) fail(mnemonic, fmt::format("unknown mnemonic '{}'", parts[0]));
    if (queue_ == nullptr) {
      fail(mnemonic,
           fmt::format("{} outside a .queue block (start one with .queue NAME)", info->mnemonic));
    }
    Instruction instruction;
    instruction.opcode = info->opcode;
    instruction.where = location(mnemonic);
    int types = 0;
    for (std::size_t p = 1; p < parts.size(); ++p) {
      const std::string suffix = lower(parts[p]);
      if (suffix == "sat") {
        if (instruction.saturate) fail(mnemonic, "'.sat' given twice");
        instruction.saturate = true;
        continue;
      }
      const auto dtype = parse_dtype(suffix);
      if (!dtype) {
        fail(mnemonic, fmt::format("unknown suffix '.{}' on {} (types i8, u8, i16, i32, f16, f32, "
                                   "or .sat)",
                                   parts[p], info->mnemonic));
      }
      if (instruction.saturate) {
        fail(mnemonic, fmt::format("type suffix '.{}' after '.sat' (write {}.<type>.sat)", parts[p],
                                   info->mnemonic));
      }
      if (types == 0) {
        instruction.dtype = *dtype;
      } else if (types == 1) {
        instruction.src_dtype = *dtype;
      } else {
        fail(mnemonic, fmt::format("too many type suffixes on {}", info->mnemonic));
      }
      ++types;
    }
    if (auto message = check_op_queue(*info, queue_id_, shape_)) fail(mnemonic, *message);
    if (auto message =
            check_op_types(*info, instruction.dtype, instruction.src_dtype, instruction.saturate)) {
      fail(mnemonic, *message);
    }
    if (auto message = check_alu_class(instruction, queue_id_, shape_)) fail(mnemonic, *message);
    if (instruction.dtype == DType::none && info->dtype_rule == DtypeRule::optional) {
      instruction.dtype = info->default_dtype;
    }

    // Operand groups, split at commas.
    std::vector<std::pair<std::size_t, std::size_t>> groups;
    if (i + 1 < t.size()) {
      std::size_t begin = i + 1;
      for (std::size_t j = i + 1; j <= t.size(); ++j) {
        if (j == t.size() || is_punct(t[j], ',')) {
          if (j == begin) {
            fail(j < t.size() ? t[j] : t[j - 1],
                 fmt::format("missing operand {} of {}", groups.size() + 1, info->mnemonic));
          }
          groups.emplace_back(begin, j);
          begin = j + 1;
          if (j + 1 == t.size()) {
            fail(t[j], fmt::format("missing operand {} of {} after ','", groups.size() + 1,
                                   info->mnemonic));
          }
        }
      }
    }
    const int required = info->required_operand_count();
    const int given = static_cast<int>(groups.size());
    if (given < required || given > info->operand_count) {
      const std::string expected =
          required == info->operand_count
              ? fmt::format("{}", required)
              : fmt::format("{} or {}", required, static_cast<int>(info->operand_count));
      const Token& at = given > info->operand_count
                            ? t[groups[static_cast<std::size_t>(info->operand_count)].first]
                            : mnemonic;
      fail(at, fmt::format("{} takes {} {} ({}), got {}", info->mnemonic, expected,
                           expected == "1" ? "operand" : "operands", op_signature(*info), given));
    }
    instruction.operand_count = info->operand_count;
    for (int k = 0; k < info->operand_count; ++k) {
      const OperandSpec& spec = info->operands[static_cast<std::size_t>(k)];
      if (k >= given) {
        instruction.operands[k] = absent_operand(spec.role);
        continue;
      }
      instruction.operands[k] =
          operand(*info, k, instruction, t, groups[static_cast<std::size_t>(k)]);
    }
    if (auto problem = check_operands(instruction, queue_id_, shape_, tsp_->maps)) {
      fail(problem->part >= 0 ? t[groups[static_cast<std::size_t>(problem->part)].first] : mnemonic,
           problem->message);
    }

    // Issue cycle and the queue's cursor.
    if (at_token != nullptr && info->opcode == Opcode::repeat) {
      fail(*at_token,
           "REPEAT takes no issue cycle: its repetitions follow the instruction it "
           "repeats");
    }
    instruction.issue_cycle = at_token != nullptr ? explicit_issue : queue_->cursor.next();
    auto& instructions = queue_->program.instructions;
    const Instruction* previous = instructions.empty() ? nullptr : &instructions.back();
    if (auto message = queue_->cursor.advance(instruction, previous, queue_id_, shape_)) {
      fail(at_token != nullptr ? *at_token : mnemonic, *message);
    }
    instructions.push_back(std::move(instruction));
  }

  static Operand absent_operand(OperandRole role) {
    Operand op;
    switch (role) {
      case OperandRole::mask:
        op.kind = OperandKind::none;
        break;
      default:
        op.kind = OperandKind::integer;  // stride 0, clear 0
        op.value = 0;
        break;
    }
    return op;
  }

  Operand operand(const OpInfo& info, int k, const Instruction& instruction,
                  const std::vector<Token>& t, std::pair<std::size_t, std::size_t> group) const {
    const OperandSpec& spec = info.operands[static_cast<std::size_t>(k)];
    const Token& first = t[group.first];
    const std::size_t size = group.second - group.first;
    const std::string text = join(t, group.first, group.second);
    auto mismatch = [&]() {
      fail(first, fmt::format("operand {} of {} ({}) must be {}, got '{}'", k + 1, info.mnemonic,
                              spec.name, role_expectation(spec.role), text));
    };
    auto stream = [&](const Token& token, bool allow_range) -> StreamRef {
      const std::string& word = token.text;
      const auto dots = word.find("..");
      if (dots != std::string::npos) {
        const auto a = parse_stream_word(std::string_view(word).substr(0, dots));
        const auto b = parse_stream_word(std::string_view(word).substr(dots + 2));
        if (!a || !b) mismatch();
        if (!allow_range) {
          fail(token, fmt::format("operand {} of {} ({}) must be one stream group such as S4E, "
                                  "got the range '{}'",
                                  k + 1, info.mnemonic, spec.name, word));
        }
        if (a->direction != b->direction) {
          fail(token, fmt::format("range {} mixes directions", word));
        }
        check_stream_index(token, *a);
        check_stream_index(token, *b);
        if (b->index < a->index) fail(token, fmt::format("range {} runs backwards", word));
        return StreamRef{static_cast<std::int8_t>(a->index), a->direction,
                         static_cast<std::int8_t>(b->index - a->index + 1)};
      }
      const auto s = parse_stream_word(word);
      if (!s) mismatch();
      check_stream_index(token, *s);
      return StreamRef{static_cast<std::int8_t>(s->index), s->direction, 1};
    };

    Operand op;
    switch (spec.role) {
      case OperandRole::dst_or_none:
        if (size == 1 && is_punct(first, '-')) {
          op.kind = OperandKind::none;
          return op;
        }
        [[fallthrough]];
      case OperandRole::dst:
      case OperandRole::src:
      case OperandRole::mask:
      case OperandRole::lane_addresses:
      case OperandRole::dst_range:
      case OperandRole::src_range: {
        if (size != 1 || first.kind != TokenKind::word) mismatch();
        const bool range =
            spec.role == OperandRole::dst_range || spec.role == OperandRole::src_range;
        op.kind = OperandKind::stream;
        op.stream = stream(first, range);
        return op;
      }
      case OperandRole::value: {
        if (size == 2 && is_punct(first, '#')) {
          const Token& value = t[group.first + 1];
          const DType type =
              instruction.opcode == Opcode::cvt ? instruction.src_dtype : instruction.dtype;
          const auto parsed =
              detail::parse_element(value.text, type, fmt::format("immediate #{}", value.text));
          if (!parsed.ok) fail(value, parsed.problem);
          op.kind = OperandKind::immediate;
          op.value = static_cast<std::int64_t>(parsed.bits);
          return op;
        }
        if (size != 1 || first.kind != TokenKind::word) mismatch();
        if (const auto alu = parse_prefixed_number(first.text, "ALU")) {
          op.kind = OperandKind::alu;
          op.value = *alu;
          return op;
        }
        op.kind = OperandKind::stream;
        op.stream = stream(first, false);
        return op;
      }
      case OperandRole::address: {
        if (size != 1 || first.kind != TokenKind::number) mismatch();
        const auto value = detail::parse_integer(first.text);
        if (!value) fail(first, fmt::format("invalid address '{}'", first.text));
        op.kind = OperandKind::address;
        op.value = *value;
        return op;
      }
      case OperandRole::accumulator: {
        const auto n = size == 1 ? parse_prefixed_number(first.text, "acc") : std::nullopt;
        if (!n) mismatch();
        op.kind = OperandKind::integer;
        op.value = *n;
        return op;
      }
      case OperandRole::clear:
        if (size != 1 || lower(first.text) != "clear") mismatch();
        op.kind = OperandKind::integer;
        op.value = 1;
        return op;
      case OperandRole::lane_map: {
        if (size != 1 || first.kind != TokenKind::word) mismatch();
        const auto& maps = tsp_->maps;
        const auto it = std::find_if(maps.begin(), maps.end(),
                                     [&](const LaneMap& m) { return m.name == first.text; });
        if (it == maps.end()) {
          fail(first, fmt::format("unknown map '{}' (declare it with .map first)", first.text));
        }
        op.kind = OperandKind::symbol;
        op.value = it - maps.begin();
        return op;
      }
      case OperandRole::superlanes: {
        if (size != 3 || lower(first.text) != "superlanes" || !is_punct(t[group.first + 1], '=') ||
            t[group.first + 2].kind != TokenKind::number) {
          mismatch();
        }
        const auto value = detail::parse_integer(t[group.first + 2].text);
        if (!value)
          fail(t[group.first + 2], fmt::format("invalid number '{}'", t[group.first + 2].text));
        op.kind = OperandKind::integer;
        op.value = *value;
        return op;
      }
      case OperandRole::weight_row:
      case OperandRole::count:
      case OperandRole::spacing:
      case OperandRole::stride:
      case OperandRole::lane_shift:
      case OperandRole::rotate_size:
      case OperandRole::cycles: {
        if (size != 1 || first.kind != TokenKind::number) mismatch();
        const auto value = detail::parse_integer(first.text);
        if (!value) fail(first, fmt::format("invalid number '{}'", first.text));
        op.kind = OperandKind::integer;
        op.value = *value;
        return op;
      }
    }
    mismatch();
    return op;
  }

  void check_stream_index(const Token& token, const StreamWord& s) const {
    if (s.index >= shape_.streams_per_direction) {
      const char d = s.direction == Direction::east ? 'E' : 'W';
      fail(token, fmt::format("stream S{}{} out of range S0{}..S{}{}", s.index, d, d,
                              shape_.streams_per_direction - 1, d));
    }
  }

  std::string file_;
  ChipShape shape_;
  std::filesystem::path base_dir_;
  std::map<int, TspState> tsps_;
  TspState* tsp_ = nullptr;
  QueueState* queue_ = nullptr;
  QueueId queue_id_{};
};

}  // namespace

Program assemble(std::string_view text, const std::string& file_name, const ChipShape& shape) {
  return Assembler(file_name, shape).run(text);
}

Program assemble_file(const std::filesystem::path& path, const ChipShape& shape) {
  return assemble(read_input_file(path, kMaxTextInputBytes, "assembly file"), path.string(), shape);
}

}  // namespace tspemu
