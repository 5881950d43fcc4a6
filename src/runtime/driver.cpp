#include "runtime/driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "net/link_model.hpp"

namespace tspemu {

struct RunDriver::Local {
  TspId tsp;
  std::unique_ptr<Engine> engine;
  Hasher sent_log;
  TspRunCounters counters;  // what a checkpoint keeps of the TSP besides its engine
};

namespace {

// The direction of `link` in which `tsp` sends through `port`: 0 from a to b, 1 from b to a.
int sending_direction(const Link& link, TspId tsp, PortId port) {
  return link.a.tsp == tsp && link.a.port == port ? 0 : 1;
}

LinkModelParams link_model_params(const Link& link) {
  LinkModelParams params;
  params.latency_cycles = link.params.latency_cycles;
  params.latency_min_cycles = link.params.latency_min_cycles;
  params.latency_max_cycles = link.params.latency_max_cycles;
  params.jitter_std_cycles = link.params.jitter_std_cycles;
  params.bandwidth_gbps = link.params.bandwidth_gbps;
  params.bit_error_rate = link.params.bit_error_rate;
  params.uncorrectable_rate = link.params.uncorrectable_rate;
  return params;
}

}  // namespace

std::shared_ptr<const NetworkLayout> network_layout_of(const Topology& topology) {
  std::vector<LinkSpec> links;
  links.reserve(topology.link_count());
  for (const Link& link : topology.links()) {
    links.push_back(LinkSpec{link.id, link.a.tsp, link.a.port, link.b.tsp, link.b.port,
                             link_model_params(link)});
  }
  return std::make_shared<const NetworkLayout>(NetworkLayout::with_default_window(
      static_cast<std::int64_t>(topology.tsp_count()), std::move(links),
      topology.chip().hac_period_cycles, topology.chip().clock_mhz));
}

AlignmentResult emulate_run_alignment(const Topology& topology, std::uint64_t seed) {
  // Ideal clocks: sender and receiver cycles are the same global cycle (clock/time_base.hpp), so
  // the link model's arrival is the receiver's cycle as it is. FEC flags of the start vector are
  // not modelled (a corrupted start vector would need a retry the protocol does not describe).
  return emulate_initial_alignment(topology, [&](LinkId link, TspId from, Cycle send_cycle) {
    return transmit(link_model_params(topology.link(link)), seed, link, from, kAlignmentSequence,
                    send_cycle)
        .arrival_cycle;
  });
}

HacSyncResult emulate_run_hac_sync(const Topology& topology, const TimeBase& time_base) {
  const std::uint64_t seed = topology.clock().seed;
  return emulate_hac_sync(
      topology, time_base, [&](LinkId link, TspId from, std::uint64_t sequence) {
        const LinkModelParams params = link_model_params(topology.link(link));
        return params.latency_cycles +
               jitter_cycles(params, seed, link, from, sequence, RandomStream::hac_protocol);
      });
}

std::uint64_t replay_fec_seed(std::uint64_t seed, std::int64_t attempt) {
  return mix64(mix64(seed ^ 0x7265706C6179ULL) + static_cast<std::uint64_t>(attempt));
}

Digest128 combine_tsp_digests(std::span<const Digest128> tsp_digests) {
  Hasher h;
  h.str("tspemu-run").u64(tsp_digests.size());
  for (const Digest128& d : tsp_digests) h.digest(d);
  return h.finish();
}

RunDriver::RunDriver(const Topology& topology, const ChipConfig& chip, const Bundle& bundle,
                     Transport& transport, DriverOptions options)
    : topology_(topology),
      transport_(transport),
      options_(options),
      schedule_(bundle.send_schedule),
      // A replayed attempt draws its FEC events anew; every latency stays what it was.
      fec_seed_(options.attempt == 0 ? options.seed
                                     : replay_fec_seed(options.seed, options.attempt)) {
  EngineOptions engine_options;
  engine_options.shuffle_seed = options.shuffle_seed;
  engine_options.timing_only = options.timing_only;
  engine_options.network = true;
  engine_options.hac_period_cycles = topology.chip().hac_period_cycles;
  engine_options.program_validated = options.program_validated;
  engine_options.time_base = options.time_base;
  engine_options.trace = options.trace;
  engine_options.stats_interval = options.stats_interval;
  engine_options.trace_begin = options.trace_begin;
  engine_options.trace_end = options.trace_end;
  std::vector<const TspProgram*> program_of(topology.tsp_count(), nullptr);
  for (const auto& p : bundle.program.tsps) {
    if (p.tsp.value >= 0 && p.tsp.index() < program_of.size()) program_of[p.tsp.index()] = &p;
  }
  for (const TspId tsp : transport.local_tsps()) {
    const TspProgram* program = program_of.at(tsp.index());
    if (program == nullptr) {
      // A TSP the bundle gives nothing to runs an empty program, which must outlive its engine.
      auto empty = std::make_unique<TspProgram>();
      empty->tsp = tsp;
      program = empty.get();
      empty_programs_.push_back(std::move(empty));
    }
    locals_.push_back(
        Local{tsp, std::make_unique<Engine>(*program, chip, engine_options), Hasher{},
              TspRunCounters{.port_vectors = std::vector<std::int64_t>(
                                 static_cast<std::size_t>(topology.chip().c2c_ports), 0)}});
  }
  // Elide empty exchange messages (net/exchange_plan.hpp) when the bundle's send schedule is the
  // whole traffic: a SEND hands its vector over in the window in which its result lands. Every
  // rank derives the same plan from the same bundle. Without a static schedule (SENDs after a
  // SYNC or DESKEW) every window exchanges.
  bool has_send = false;
  for (const auto& p : bundle.program.tsps) {
    for (const auto& q : p.queues) {
      for (const auto& instr : q.instructions) has_send = has_send || instr.opcode == Opcode::send;
    }
  }
  if (!bundle.send_schedule.empty() || !has_send) {
    const OpTiming& send = chip.timing.get(Opcode::send, DType::none);
    const WindowClock& clock = transport.layout().window();
    auto plan = std::make_shared<ExchangePlan>();
    for (const SendRow& row : bundle.send_schedule) {
      plan->add(row.src_tsp, row.dst_tsp,
                clock.window_of(row.send_cycle + send.skew_cycles + send.func_delay_cycles));
    }
    transport.set_plan(std::move(plan));
  }
  for (auto& v : link_sequence_) v.assign(topology.link_count(), 0);
  for (auto& v : link_last_send_) v.assign(topology.link_count(), Cycle{-1} << 40);
}

RunDriver::~RunDriver() = default;

// A send must be the one the bundle's send schedule announced (when it has one): the k-th vector
// from this port, at the announced cycle, toward the announced TSP and port.
void RunDriver::check_against_schedule(TspId tsp, const C2cSend& send, std::uint64_t k,
                                       const Endpoint& far) const {
  if (schedule_.empty()) return;
  // Built only for an error: this runs for every vector sent.
  const auto context = [&] {
    return ErrorContext{.where = send.where,
                        .tsp = tsp.value,
                        .cycle = send.send_cycle,
                        .queue = fmt::format("C2C{}", send.port.value)};
  };
  const SendRow* row = schedule_.find(tsp, send.port, static_cast<std::int64_t>(k));
  if (row == nullptr) {
    throw ScheduleError(fmt::format("send schedule mismatch: SEND number {} on TSP {} port {} at "
                                    "cycle {} is not in the bundle's send schedule ({} row(s) for "
                                    "that port)",
                                    k + 1, tsp.value, send.port.value, send.send_cycle,
                                    schedule_.rows_for(tsp, send.port)),
                        context());
  }
  if (row->send_cycle != send.send_cycle || row->dst_tsp != far.tsp || row->dst_port != far.port) {
    throw ScheduleError(
        fmt::format("send schedule mismatch: SEND number {} on TSP {} port {} happened at cycle {} "
                    "toward TSP {} port {}, but the schedule says cycle {} toward TSP {} port {}",
                    k + 1, tsp.value, send.port.value, send.send_cycle, far.tsp.value,
                    far.port.value, row->send_cycle, row->dst_tsp.value, row->dst_port.value),
        context());
  }
}

void RunDriver::resume_from(const CheckpointManifest& manifest,
                            const std::filesystem::path& directory) {
  for (Local& local : locals_) {
    TspCheckpoint t = read_tsp_checkpoint(directory, manifest, local.tsp);
    local.engine->restore_state(t.engine);
    local.sent_log = Hasher::from_state(t.sent_log);
    if (t.counters.port_vectors.size() != local.counters.port_vectors.size()) {
      throw InputError(fmt::format("checkpoint: TSP {} has {} C2C ports in its file, {} here",
                                   local.tsp.value, t.counters.port_vectors.size(),
                                   local.counters.port_vectors.size()));
    }
    local.counters = std::move(t.counters);
    for (const TspCheckpoint::LinkSend& l : t.links) {
      if (l.link.value < 0 || l.link.index() >= topology_.link_count() || l.direction < 0 ||
          l.direction > 1) {
        throw InputError(
            fmt::format("checkpoint: TSP {} names link {}, which topology '{}' does "
                        "not have",
                        local.tsp.value, l.link.value, topology_.name()));
      }
      link_sequence_[l.direction][l.link.index()] = l.sequence;
      link_last_send_[l.direction][l.link.index()] = l.last_send;
    }
  }
}

CheckpointRecord RunDriver::write_checkpoint(WindowIndex next, const DriverOutcome& outcome,
                                             std::string reason) {
  const CheckpointPlan& plan = *options_.checkpoint;
  const WindowClock& clock = transport_.layout().window();
  CheckpointManifest manifest;
  manifest.run = plan.identity;
  manifest.attempt = options_.attempt;
  manifest.replays = plan.replays;
  manifest.next_window = next;
  manifest.next_cycle = clock.begin(next);
  manifest.windows = outcome.windows;
  manifest.windows_skipped = outcome.windows_skipped;
  manifest.executed_windows = outcome.executed_windows;
  manifest.state_directory = state_directory_name(next);
  manifest.reason = std::move(reason);
  for (Local& local : locals_) {
    TspCheckpoint t;
    t.tsp = local.tsp;
    t.sent_log = local.sent_log.state();
    t.counters = local.counters;
    // The directions this TSP sends on are its own: every rank saves only what it changed.
    for (std::size_t p = 0; p < local.counters.port_vectors.size(); ++p) {
      const PortId port(static_cast<std::int32_t>(p));
      const auto link_id = topology_.link_at(local.tsp, port);
      if (!link_id) continue;
      const int direction = sending_direction(topology_.link(*link_id), local.tsp, port);
      t.links.push_back(TspCheckpoint::LinkSend{*link_id, direction,
                                                link_sequence_[direction][link_id->index()],
                                                link_last_send_[direction][link_id->index()]});
    }
    t.engine = local.engine->save_state();
    write_tsp_checkpoint(plan.directory, manifest.state_directory, t, next,
                         plan.identity.program_digest);
  }
  // Every rank's files exist before the manifest names them.
  ControlState written;
  written.tsps = static_cast<std::int64_t>(locals_.size());
  (void)transport_.agree(written);
  if (!locals_.empty() && locals_.front().tsp.value == 0) commit_manifest(plan.directory, manifest);
  return CheckpointRecord{plan.directory, next, manifest.next_cycle, manifest.reason};
}

DriverOutcome RunDriver::run() {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds_so_far = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const WindowClock& clock = transport_.layout().window();
  DriverOutcome outcome;
  outcome.window_cycles = clock.window_cycles();
  std::vector<Outbox> outboxes;  // outboxes[i] belongs to locals_[i]; reused every window
  outboxes.reserve(locals_.size());
  for (const Local& local : locals_) outboxes.emplace_back(transport_.layout(), local.tsp);
  std::vector<std::vector<InFlightVector>> incoming(locals_.size());

  WindowIndex window = 0;
  const Cycle epoch_cycles = topology_.chip().hac_period_cycles;
  std::int64_t last_checkpoint_epoch = 0;
  if (options_.resume != nullptr) {
    const CheckpointManifest& m = *options_.resume;
    resume_from(m, options_.resume_directory);
    window = m.next_window;
    outcome.windows = m.windows;
    outcome.windows_skipped = m.windows_skipped;
    if (options_.trace) outcome.executed_windows = m.executed_windows;
    last_checkpoint_epoch = m.next_cycle / epoch_cycles;
    outcome.restarted_from =
        CheckpointRecord{options_.resume_directory, m.next_window, m.next_cycle, m.reason};
  }
  for (;;) {
    if (options_.before_window) options_.before_window(window);
    const Cycle end = clock.end(window);
    for (std::size_t i = 0; i < locals_.size(); ++i) {
      Local& local = locals_[i];
      Outbox& outbox = outboxes[i];
      local.engine->run_until(end);
      outbox.clear();
      for (const C2cSend& send : local.engine->take_sends()) {
        const auto link_id = topology_.link_at(local.tsp, send.port);
        if (!link_id) {
          throw ScheduleError(
              fmt::format("SEND on C2C port {}: no link is attached to that port in "
                          "topology '{}'",
                          send.port.value, topology_.name()),
              ErrorContext{.where = send.where,
                           .tsp = local.tsp.value,
                           .cycle = send.send_cycle,
                           .queue = fmt::format("C2C{}", send.port.value)});
        }
        const Link& link = topology_.link(*link_id);
        const int direction = sending_direction(link, local.tsp, send.port);
        const Endpoint& far = direction == 0 ? link.b : link.a;
        const Cycle serialisation =
            serialisation_cycles(link.params.bandwidth_gbps, topology_.chip().clock_mhz,
                                 static_cast<int>(link.params.wire_bytes_per_vector));
        Cycle& last = link_last_send_[direction][link_id->index()];
        if (send.send_cycle - last < serialisation) {
          throw ScheduleError(
              fmt::format("SEND on link {} (TSP {} port {} -> TSP {} port {}) at cycle {} is {} "
                          "cycles after the previous one at cycle {}; a {}-byte vector needs {} "
                          "cycles on a {} Gb/s link",
                          link_id->value, local.tsp.value, send.port.value, far.tsp.value,
                          far.port.value, send.send_cycle, send.send_cycle - last, last,
                          link.params.wire_bytes_per_vector, serialisation,
                          link.params.bandwidth_gbps),
              ErrorContext{.where = send.where,
                           .tsp = local.tsp.value,
                           .cycle = send.send_cycle,
                           .queue = fmt::format("C2C{}", send.port.value)});
        }
        last = send.send_cycle;
        InFlightVector v;
        v.link = *link_id;
        v.src = local.tsp;
        v.src_port = send.port;
        v.dst = far.tsp;
        v.dst_port = far.port;
        v.send_cycle = send.send_cycle;
        v.sequence = link_sequence_[direction][link_id->index()]++;
        check_against_schedule(local.tsp, send, v.sequence, far);
        v.data = send.data;
        stamp(v, transport_.layout().link(*link_id).params, options_.seed, fec_seed_);
        if (options_.time_base != nullptr && !options_.time_base->ideal()) {
          // Drifting clocks: the arrival in global time, which the receiver turns into its cycle.
          v.arrival_time_as = local.engine->clock().global_of(v.send_cycle) +
                              options_.time_base->flight_as(v.arrival_cycle - v.send_cycle);
        }
        hash_in_flight(local.sent_log, v);
        ++local.counters.vectors_sent;
        ++local.counters.port_vectors[send.port.index()];
        if (options_.stats_interval > 0) {
          ++local.counters
                .interval_link_vectors[{send.send_cycle / options_.stats_interval, link_id->value}];
        }
        outbox.add(v);
      }
    }
    transport_.exchange(window, outboxes, incoming);
    for (std::size_t i = 0; i < locals_.size(); ++i) {
      for (const InFlightVector& v : incoming[i]) {
        if (v.flags & kFecCorrected) ++locals_[i].counters.fec_corrected;
        if (v.flags & kFecUncorrectable) {
          // The FEC flagged the vector: this attempt's results must not be used. The emulation
          // still delivers its (intact) data so that the attempt runs to its end in lockstep on
          // every rank; the run command then replays (runtime/run.hpp, RunRequest::max_replays).
          if (locals_[i].counters.fec_uncorrectable++ == 0) {
            locals_[i].counters.first_uncorrectable =
                fmt::format("link {} (TSP {} -> TSP {}), vector {} arriving at cycle {}",
                            v.link.value, v.src.value, v.dst.value, v.sequence, v.arrival_cycle);
          }
        }
        locals_[i].engine->deliver(v.dst_port, v.arrival_cycle, v.data, v.src, v.link,
                                   v.arrival_time_as);
        ++locals_[i].counters.vectors_received;
      }
    }
    ++outcome.windows;
    if (options_.trace) outcome.executed_windows.push_back(window);
    if (options_.progress) {
      options_.progress([&] {
        const double seconds = seconds_so_far();
        const double rate = seconds > 0 ? static_cast<double>(end) / seconds : 0.0;
        std::string line = fmt::format("cycle {}", end);
        if (options_.expected_cycles > 0) {
          const double done =
              static_cast<double>(end) / static_cast<double>(options_.expected_cycles);
          line += fmt::format(" of {} ({:.0f}%)", options_.expected_cycles,
                              100.0 * std::min(done, 1.0));
          if (rate > 0 && end < options_.expected_cycles) {
            line += fmt::format(", ETA {:.0f} s",
                                static_cast<double>(options_.expected_cycles - end) / rate);
          }
        }
        return line + fmt::format(", {:.3g} emulated cycles/s", rate);
      });
    }

    WindowIndex next = window + 1;
    if (clock.ends_epoch_group(window, options_.agreement_epochs)) {
      ControlState mine;
      for (const Local& local : locals_) {
        ControlState s;
        s.tsps = 1;
        s.active_tsps = local.engine->idle() ? 0 : 1;
        s.vectors_sent = local.counters.vectors_sent;
        s.vectors_received = local.counters.vectors_received;
        s.vectors_pending = local.engine->vectors_pending();
        s.last_active_cycle = local.engine->last_active_cycle();
        s.next_event_cycle = local.engine->next_event_cycle();
        mine = mine.combined(s);
      }
      if (options_.checkpoint != nullptr) mine.flags |= take_checkpoint_signals();
      const ControlState agreed = transport_.agree(mine);
      if (agreed.finished()) {
        outcome.final_cycle = agreed.last_active_cycle;
        break;
      }
      if (agreed.stuck()) {
        throw AgreedScheduleError(fmt::format(
            "every TSP is idle but {} vector(s) wait in C2C buffers that no RECEIVE will consume "
            "(run ended at cycle {})",
            agreed.vectors_in_flight(), agreed.last_active_cycle));
      }
      // Nothing anywhere before next_event_cycle: jump to its window (every rank computes the
      // same agreed value, so every rank skips alike).
      if (agreed.next_event_cycle != ControlState::kNever) {
        const WindowIndex target = clock.window_of(agreed.next_event_cycle);
        if (target > next) {
          outcome.windows_skipped += target - next;
          next = target;
        }
      }
      // Checkpoints: every rank decides alike, from the window and the agreed flags.
      if (options_.checkpoint != nullptr) {
        const std::int64_t epoch = end / epoch_cycles;
        const std::int64_t every = options_.checkpoint->every_epochs;
        const bool periodic = every > 0 && epoch - last_checkpoint_epoch >= every;
        if (periodic || agreed.has(kCheckpointRequested)) {
          const std::string reason = agreed.has(kStopRequested) ? "SIGTERM or SIGUSR2"
                                     : agreed.has(kCheckpointRequested)
                                         ? "SIGUSR1"
                                         : fmt::format("every {} epochs", every);
          outcome.checkpoints.push_back(write_checkpoint(next, outcome, reason));
          last_checkpoint_epoch = epoch;
        }
        if (agreed.has(kStopRequested)) {
          outcome.stopped = outcome.checkpoints.back();
          outcome.transport = transport_.stats();
          outcome.run_seconds = seconds_so_far();
          return outcome;
        }
      }
    }
    window = next;
  }

  outcome.transport = transport_.stats();
  for (Local& local : locals_) {
    TspOutcome t;
    t.tsp = local.tsp;
    t.result = local.engine->finish();
    t.vectors_sent = local.counters.vectors_sent;
    t.vectors_received = local.counters.vectors_received;
    t.fec_corrected = local.counters.fec_corrected;
    t.fec_uncorrectable = local.counters.fec_uncorrectable;
    t.first_uncorrectable = local.counters.first_uncorrectable;
    t.sent_log = local.sent_log.finish();
    Hasher h;
    h.digest(t.result.digest).digest(t.sent_log);
    t.digest = h.finish();
    for (std::size_t port = 0; port < local.counters.port_vectors.size(); ++port) {
      if (local.counters.port_vectors[port] == 0) continue;
      const auto link = topology_.link_at(local.tsp, PortId(static_cast<std::int32_t>(port)));
      TSPEMU_ASSERT(link.has_value(), "vectors sent from a port without a link");
      t.link_vectors.emplace_back(*link, local.counters.port_vectors[port]);
    }
    std::sort(t.link_vectors.begin(), t.link_vectors.end());
    t.interval_link_vectors = std::move(local.counters.interval_link_vectors);
    outcome.local.push_back(std::move(t));
  }
  outcome.run_seconds = seconds_so_far();
  return outcome;
}

}  // namespace tspemu
