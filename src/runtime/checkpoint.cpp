#include "runtime/checkpoint.hpp"

#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/error.hpp"
#include "common/output_file.hpp"
#include "common/toml_reader.hpp"
#include "isa/bundle_archive.hpp"
#include "net/control.hpp"

namespace tspemu {

namespace fs = std::filesystem;

template <class Archive>
void serialize(Archive& archive, TspCheckpoint::LinkSend& l) {
  archive(l.link, l.direction, l.sequence, l.last_send);
}

namespace {

constexpr std::uint64_t kTspFileMagic = 0x3174706b'63707374ULL;  // "tspckpt1" little-endian
constexpr const char* kStatePrefix = "window-";

// A checkpoint file's bytes. Not through common/input_file: that records what it reads as the
// command's inputs, and a restarted run that checkpoints into the same directory must replace its
// manifest.
std::vector<std::uint8_t> read_checkpoint_file(const fs::path& path, std::string_view what) {
  std::error_code error;
  const auto status = fs::status(path, error);
  if (error || !fs::exists(status)) {
    throw InputError(fmt::format("{} '{}' does not exist", what, path.string()));
  }
  if (!fs::is_regular_file(status)) {
    throw InputError(fmt::format("{} '{}' is not a regular file", what, path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) {
    throw InputError(fmt::format("{} '{}' could not be read", what, path.string()));
  }
  return bytes;
}

// Seeds are unsigned 64-bit; TOML integers are signed: they are written as decimal strings.
std::string seed_text(std::uint64_t seed) {
  return fmt::format("\"{}\"", seed);
}

std::uint64_t seed_of(const TomlReader& r, std::string_view key) {
  const std::string text = r.required_string(key);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) r.fail(key, "is larger than 2^64 - 1");
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    r.fail(key, "expected an unsigned 64-bit decimal integer");
  }
  return value;
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Digest128 digest_at(const TomlReader& r, std::string_view key) {
  try {
    return Digest128::from_hex(r.required_string(key));
  } catch (const InputError& e) {
    r.fail(key, e.message());
  }
}

}  // namespace

std::string state_directory_name(WindowIndex window) {
  return fmt::format("{}{:09}", kStatePrefix, window);
}

fs::path tsp_state_path(const fs::path& directory, const std::string& state, TspId tsp) {
  return directory / state / fmt::format("tsp-{:05}.state", tsp.value);
}

std::vector<std::uint8_t> encode_tsp_checkpoint(const TspCheckpoint& t, WindowIndex window,
                                                const Digest128& program_digest) {
  std::vector<std::uint8_t> bytes;
  {
    detail::BundleOutputArchive archive(bytes);
    archive(kTspFileMagic, static_cast<std::int64_t>(kCheckpointVersion), t.tsp.value, window,
            program_digest, t.sent_log, t.counters, t.links, t.engine);
  }
  const Digest128 d = digest_of(bytes);
  detail::BundleOutputArchive tail(bytes);
  tail(d);
  return bytes;
}

TspCheckpoint decode_tsp_checkpoint(std::span<const std::uint8_t> bytes, const std::string& file,
                                    TspId tsp, WindowIndex window,
                                    const Digest128& program_digest) {
  auto fail = [&](const std::string& message) {
    return InputError(fmt::format("checkpoint file '{}': {}", file, message));
  };
  constexpr std::size_t kDigestBytes = 16;
  if (bytes.size() < kDigestBytes + 8) throw fail("too short to be a TSP state");
  const auto body = bytes.first(bytes.size() - kDigestBytes);
  Digest128 stored;
  std::uint64_t magic = 0;
  try {
    detail::BoundedInputArchive head(body);
    head(magic);
    detail::BoundedInputArchive tail(bytes.last(kDigestBytes));
    tail(stored);
  } catch (const detail::PayloadError& e) {
    throw fail(e.message);
  }
  if (magic != kTspFileMagic) throw fail("not a tspemu TSP state");
  if (stored != digest_of(body)) {
    throw fail("its digest does not match its bytes (damaged or truncated)");
  }
  TspCheckpoint t;
  std::int64_t version = 0;
  WindowIndex file_window = 0;
  Digest128 file_program;
  try {
    detail::BoundedInputArchive archive(body);
    archive(magic, version);
    if (version != kCheckpointVersion) {
      throw fail(fmt::format("format version {}; this tspemu reads version {}", version,
                             kCheckpointVersion));
    }
    archive(t.tsp.value, file_window, file_program, t.sent_log, t.counters, t.links, t.engine);
    if (archive.remaining() != 0) throw fail("bytes after the state");
  } catch (const detail::PayloadError& e) {
    throw fail(e.message);
  }
  if (t.tsp != tsp) throw fail(fmt::format("holds TSP {}, not TSP {}", t.tsp.value, tsp.value));
  if (file_window != window) {
    throw fail(fmt::format("was taken before window {}, not {}", file_window, window));
  }
  if (file_program != program_digest) {
    throw fail(
        fmt::format("belongs to program {}, not {}", file_program.hex(), program_digest.hex()));
  }
  return t;
}

void write_tsp_checkpoint(const fs::path& directory, const std::string& state,
                          const TspCheckpoint& tsp, WindowIndex window,
                          const Digest128& program_digest) {
  const fs::path path = tsp_state_path(directory, state, tsp.tsp);
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) {
    throw RuntimeError(fmt::format("checkpoint: cannot create '{}': {}",
                                   path.parent_path().string(), error.message()));
  }
  write_output_file(path, encode_tsp_checkpoint(tsp, window, program_digest), "checkpoint");
}

TspCheckpoint read_tsp_checkpoint(const fs::path& directory, const CheckpointManifest& manifest,
                                  TspId tsp) {
  const fs::path path = tsp_state_path(directory, manifest.state_directory, tsp);
  return decode_tsp_checkpoint(read_checkpoint_file(path, "checkpoint file"), path.string(), tsp,
                               manifest.next_window, manifest.run.program_digest);
}

std::string manifest_toml(const CheckpointManifest& m) {
  std::string out;
  out += "# tspemu checkpoint (docs/checkpoint.md): resume with `tspemu run --restart DIR`.\n";
  out += fmt::format("format = \"tspemu-checkpoint\"\nversion = {}\n", kCheckpointVersion);
  out += fmt::format("reason = {}\nstate = {}\n", toml_string(m.reason),
                     toml_string(m.state_directory));
  out += fmt::format("next_window = {}\nnext_cycle = {}\nwindows = {}\nwindows_skipped = {}\n",
                     m.next_window, m.next_cycle, m.windows, m.windows_skipped);
  out += fmt::format("attempt = {}\n", m.attempt);
  if (!m.executed_windows.empty()) {
    out += "executed_windows = [";
    for (std::size_t i = 0; i < m.executed_windows.size(); ++i) {
      out += fmt::format("{}{}", i == 0 ? "" : ", ", m.executed_windows[i]);
    }
    out += "]\n";
  }
  const CheckpointIdentity& r = m.run;
  out += "\n[run]\n";
  out += fmt::format("program = {}\ntopology = {}\n", toml_string(r.program.string()),
                     toml_string(r.topology.string()));
  out += fmt::format("program_digest = \"{}\"\ntopology_digest = \"{}\"\ntsps = {}\n",
                     r.program_digest.hex(), r.topology_digest.hex(), r.tsps);
  out += fmt::format("seed = {}\ntiming_only = {}\nagreement_epochs = {}\n", seed_text(r.seed),
                     r.timing_only, r.agreement_epochs);
  if (r.clock_seed) out += fmt::format("clock_seed = {}\n", seed_text(*r.clock_seed));
  if (r.shuffle_seed) out += fmt::format("shuffle_seed = {}\n", seed_text(*r.shuffle_seed));
  out += fmt::format("trace = {}\n", r.trace);
  if (r.trace) out += fmt::format("trace_begin = {}\ntrace_end = {}\n", r.trace_begin, r.trace_end);
  out += fmt::format("stats_interval = {}\n", r.stats_interval);
  for (const ReplayRecord& replay : m.replays) {
    out += fmt::format("\n[[replay]]\nattempt = {}\nuncorrectable_vectors = {}\nfirst = {}\n",
                       replay.attempt, replay.uncorrectable_vectors, toml_string(replay.first));
  }
  return out;
}

CheckpointManifest parse_manifest(std::string_view text, const std::string& file) {
  const toml::table root = parse_toml(text, file);
  const TomlReader top(
      root, "", "at the top level", file,
      {"format", "version", "reason", "state", "next_window", "next_cycle", "windows",
       "windows_skipped", "attempt", "executed_windows", "run", "replay"});
  if (top.required_string("format") != "tspemu-checkpoint") {
    top.fail("format", "is not \"tspemu-checkpoint\"");
  }
  (void)top.required_integer("version", kCheckpointVersion, kCheckpointVersion);
  constexpr std::int64_t kMax = std::int64_t{1} << 62;
  CheckpointManifest m;
  m.reason = top.required_string("reason");
  m.state_directory = top.required_string("state");
  if (m.state_directory.rfind(kStatePrefix, 0) != 0 ||
      m.state_directory.find_first_not_of("0123456789", std::string_view(kStatePrefix).size()) !=
          std::string::npos) {
    top.fail("state", fmt::format("is not a state directory name ({}<digits>)", kStatePrefix));
  }
  m.next_window = top.required_integer("next_window", 0, kMax);
  m.next_cycle = top.required_integer("next_cycle", 0, kMax);
  m.windows = top.required_integer("windows", 0, kMax);
  m.windows_skipped = top.required_integer("windows_skipped", 0, kMax);
  m.attempt = top.required_integer("attempt", 0, kMax);
  if (top.has("executed_windows")) {
    m.executed_windows = top.integer_array("executed_windows", 0, kMax, std::size_t{1} << 32);
  }
  const TomlReader run(top.required_table("run"), "run", "in [run]", file,
                       {"program", "topology", "program_digest", "topology_digest", "tsps", "seed",
                        "timing_only", "agreement_epochs", "clock_seed", "shuffle_seed", "trace",
                        "trace_begin", "trace_end", "stats_interval"});
  CheckpointIdentity& r = m.run;
  r.program = run.required_string("program");
  r.topology = run.required_string("topology");
  r.program_digest = digest_at(run, "program_digest");
  r.topology_digest = digest_at(run, "topology_digest");
  r.tsps = run.required_integer("tsps", 1, kMax);
  r.seed = seed_of(run, "seed");
  r.timing_only = run.boolean("timing_only").value_or(false);
  r.agreement_epochs = run.required_integer("agreement_epochs", 1, kMax);
  if (run.has("clock_seed")) r.clock_seed = seed_of(run, "clock_seed");
  if (run.has("shuffle_seed")) r.shuffle_seed = seed_of(run, "shuffle_seed");
  r.trace = run.boolean("trace").value_or(false);
  if (r.trace) {
    r.trace_begin = run.required_integer("trace_begin", 0, kMax);
    r.trace_end = run.required_integer("trace_end", 0, kMax);
  }
  r.stats_interval = run.required_integer("stats_interval", 0, kMax);
  if (const toml::array* replays = top.array_of_tables("replay")) {
    for (std::size_t i = 0; i < replays->size(); ++i) {
      const TomlReader e(*replays->get(i)->as_table(), fmt::format("replay[{}]", i),
                         fmt::format("in replay[{}]", i), file,
                         {"attempt", "uncorrectable_vectors", "first"});
      m.replays.push_back(ReplayRecord{e.required_integer("attempt", 0, kMax),
                                       e.required_integer("uncorrectable_vectors", 1, kMax),
                                       e.required_string("first")});
    }
  }
  return m;
}

void commit_manifest(const fs::path& directory, const CheckpointManifest& manifest) {
  write_output_file(directory / kCheckpointManifest, manifest_toml(manifest), "checkpoint");
  // The previous checkpoints' state (and any a killed run left half-written) is no longer named.
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name == manifest.state_directory || name.rfind(kStatePrefix, 0) != 0) continue;
    if (name.find_first_not_of("0123456789", std::string_view(kStatePrefix).size()) !=
        std::string::npos) {
      continue;
    }
    if (!entry.is_directory(error) || entry.is_symlink(error)) continue;
    fs::remove_all(entry.path(), error);  // best effort: a leftover is removed next time
  }
}

CheckpointManifest read_manifest(const fs::path& directory) {
  const fs::path path = directory / kCheckpointManifest;
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    throw InputError(fmt::format("--restart {}: not a directory", directory.string()));
  }
  if (!fs::exists(path, error)) {
    throw InputError(fmt::format("--restart {}: no checkpoint there ({} is missing)",
                                 directory.string(), kCheckpointManifest));
  }
  const std::vector<std::uint8_t> bytes = read_checkpoint_file(path, "checkpoint manifest");
  return parse_manifest(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                        path.string());
}

void check_checkpoint_directory(const fs::path& directory, const CheckpointIdentity& identity) {
  std::error_code error;
  const auto status = fs::symlink_status(directory, error);
  if (!error && fs::exists(status) && !fs::is_directory(fs::status(directory, error))) {
    throw InputError(
        fmt::format("--checkpoint-dir {}: exists and is not a directory", directory.string()));
  }
  if (!fs::exists(directory / kCheckpointManifest, error)) return;
  const CheckpointManifest old = read_manifest(directory);
  if (old.run.program_digest != identity.program_digest ||
      old.run.topology_digest != identity.topology_digest) {
    throw InputError(fmt::format(
        "--checkpoint-dir {}: holds a checkpoint of another run ({} on {}); restart it with "
        "--restart {}, or choose another directory",
        directory.string(), old.run.program.string(), old.run.topology.string(),
        directory.string()));
  }
}

namespace {
std::atomic<std::uint64_t> g_signal_requests{0};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "the signal handler needs a lock-free flag");

extern "C" void on_checkpoint_signal(int signal_number) {
  std::uint64_t bits = kCheckpointRequested;
  if (signal_number != SIGUSR1) bits |= kStopRequested;
  g_signal_requests.fetch_or(bits);
}
}  // namespace

void install_checkpoint_signals() {
  struct sigaction action {};
  action.sa_handler = on_checkpoint_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : {SIGUSR1, SIGUSR2, SIGTERM}) ::sigaction(s, &action, nullptr);
}

std::uint64_t take_checkpoint_signals() {
  return g_signal_requests.exchange(0);
}

}  // namespace tspemu
