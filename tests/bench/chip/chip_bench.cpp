// Chip benchmarks (docs/design.md section 10: "the emulator's MXM work should run near the host's
// own int8 GEMM rate and its stream moves near memcpy bandwidth").
//
//   (a) MXM-bound: emulated int8 MACs per second of ABC over an installed 320 x 320 plane, through
//   the
//       MXM kernel alone and through the whole Engine (READ -> stream -> ABC every cycle), as
//       ratios to two host kernels of the same shape built here with the same flags: a plain C++
//       loop and an AVX-512 VNNI kernel (when the compiler targets VNNI).
//   (b) stream/MEM-bound: rows copied per second by READ -> stream -> WRITE programs, as a ratio to
//       memcpy of the same bytes; plus the stream file alone.
//
// Counters: MAC/s or B/s (rates), x_plain / x_vnni / x_best / x_memcpy (emulator rate / host rate,
// host rates measured once per process with the same workload shape; x_best against the fastest
// exact host kernel: plain loop, VNNI, or the engine's AVX2 kernel called directly).
#include <benchmark/benchmark.h>
#if BENCH_HAS_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "chip/engine.hpp"
#include "chip/kokkos_session.hpp"
#include "chip/mxm.hpp"
#include "chip/stream_file.hpp"
#include "isa/queue.hpp"

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#include <immintrin.h>
#define BENCH_HAS_VNNI 1
#else
#define BENCH_HAS_VNNI 0
#endif

namespace tspemu {
namespace {

constexpr int kN = 320;
constexpr double kMacsPerMatvec = double{kN} * kN;

// ---- host reference kernels ------------------------------------------------------------------

// y[n] = sum_k a[k] * W[k][n]: the natural row-broadcast loop (vectorised by the compiler).
void host_plain_matvec(const std::int8_t* w, const std::int8_t* a, std::int32_t* y) {
  for (int n = 0; n < kN; ++n) y[n] = 0;
  for (int k = 0; k < kN; ++k) {
    const std::int32_t ak = a[k];
    const std::int8_t* row = w + static_cast<std::ptrdiff_t>(k) * kN;
    for (int n = 0; n < kN; ++n) y[n] += ak * row[n];
  }
}

#if BENCH_HAS_VNNI
// VNNI: weights pre-packed as [n/16][k/4][16][4] (signed), activations made unsigned (+128) with
// the correction -128 * column sum.
struct VnniHost {
  alignas(64) std::array<std::int8_t, kN * kN> packed{};
  std::array<std::int32_t, kN> column_sum{};
  explicit VnniHost(const std::int8_t* w) {
    for (int k = 0; k < kN; ++k) {
      for (int n = 0; n < kN; ++n) {
        const std::int8_t v = w[k * kN + n];
        packed[static_cast<std::size_t>(((n / 16) * (kN / 4) + k / 4) * 64 + (n % 16) * 4 +
                                        k % 4)] = v;
        column_sum[static_cast<std::size_t>(n)] += v;
      }
    }
  }
  void matvec(const std::int8_t* a, std::int32_t* y) const {
    alignas(64) std::array<std::uint8_t, kN> au;
    for (int k = 0; k < kN; ++k)
      au[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(a[k] ^ 0x80);
    std::array<std::uint32_t, kN / 4> a32;
    std::memcpy(a32.data(), au.data(), kN);
    for (int nb = 0; nb < kN / 16; nb += 4) {
      __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
      for (int kq = 0; kq < kN / 4; ++kq) {
        const __m512i b = _mm512_set1_epi32(static_cast<int>(a32[static_cast<std::size_t>(kq)]));
        for (int j = 0; j < 4; ++j) {
          acc[j] = _mm512_dpbusd_epi32(
              acc[j], b, _mm512_load_si512(packed.data() + ((nb + j) * (kN / 4) + kq) * 64));
        }
      }
      for (int j = 0; j < 4; ++j) _mm512_storeu_si512(y + (nb + j) * 16, acc[j]);
    }
    for (int n = 0; n < kN; ++n) y[n] -= 128 * column_sum[static_cast<std::size_t>(n)];
  }
};
#endif

#if BENCH_HAS_ONEDNN
// oneDNN's matmul, s8 x s8 -> s32, [1 x kN] x [kN x kN], primitive and memories created once.
struct OnednnHost {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory src;
  dnnl::memory weights;
  dnnl::memory dst;
  dnnl::matmul matmul;
  OnednnHost(const std::int8_t* w, const std::int8_t* a) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc src_md({1, kN}, dt::s8, tag::ab);
    const dnnl::memory::desc w_md({kN, kN}, dt::s8, tag::ab);
    const dnnl::memory::desc dst_md({1, kN}, dt::s32, tag::ab);
    src = dnnl::memory(src_md, engine);
    weights = dnnl::memory(w_md, engine);
    dst = dnnl::memory(dst_md, engine);
    std::memcpy(src.get_data_handle(), a, kN);
    std::memcpy(weights.get_data_handle(), w, static_cast<std::size_t>(kN) * kN);
    matmul = dnnl::matmul(
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_md, dst_md), engine));
  }
  const std::int32_t* run() {
    matmul.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    stream.wait();
    return static_cast<const std::int32_t*>(dst.get_data_handle());
  }
};
#endif

struct Operands {
  std::vector<std::int8_t> w = std::vector<std::int8_t>(kN * kN);
  std::vector<std::int8_t> a = std::vector<std::int8_t>(kN);
  Operands() {
    std::mt19937_64 rng(1);
    for (auto& x : w) x = static_cast<std::int8_t>(rng());
    for (auto& x : a) x = static_cast<std::int8_t>(rng());
  }
};
const Operands& operands() {
  static const Operands o;
  return o;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// CPU seconds per call of f (the same clock Google Benchmark's rates use): the fastest of 9
// batches, so that a host kernel's rate is its best on this machine, not one disturbed by another
// process (a ratio to it is then conservative).
template <class F>
double seconds_per_call(F&& f, int calls) {
  double best = 1e300;
  for (int s = 0; s < 9; ++s) {
    const double start = thread_cpu_seconds();
    for (int i = 0; i < calls; ++i) f();
    best = std::min(best, (thread_cpu_seconds() - start) / calls);
  }
  return best;
}

double host_plain_macs_per_second() {
  static const double rate = [] {
    const Operands& o = operands();
    std::array<std::int32_t, kN> y{};
    return kMacsPerMatvec / seconds_per_call(
                                [&] {
                                  host_plain_matvec(o.w.data(), o.a.data(), y.data());
                                  benchmark::DoNotOptimize(y);
                                },
                                2000);
  }();
  return rate;
}

double host_vnni_macs_per_second() {
#if BENCH_HAS_VNNI
  static const double rate = [] {
    const Operands& o = operands();
    const auto host = std::make_unique<VnniHost>(o.w.data());
    std::array<std::int32_t, kN> y{};
    return kMacsPerMatvec / seconds_per_call(
                                [&] {
                                  host->matvec(o.a.data(), y.data());
                                  benchmark::DoNotOptimize(y);
                                },
                                5000);
  }();
  return rate;
#else
  return 0.0;
#endif
}

// Seconds per call of one of InstalledWeights' int8 kernels on the benchmark's operands (weights
// installed once, outside the timing); nullopt if the kernel does not run on this CPU.
template <class Kernel>
std::optional<double> kernel_seconds_per_call(Kernel kernel) {
  const Operands& o = operands();
  auto rows = std::make_unique<std::array<Vector, kMxmRows>>();
  for (int k = 0; k < kN; ++k) {
    std::memcpy((*rows)[static_cast<std::size_t>(k)].bytes.data(),
                o.w.data() + static_cast<std::ptrdiff_t>(k) * kN, kN);
  }
  const auto weights = std::make_unique<InstalledWeights>(*rows);
  Vector a;
  std::memcpy(a.bytes.data(), o.a.data(), kN);
  std::array<std::int32_t, kMxmColumns> y{};
  if (!kernel(*weights, a, y)) return std::nullopt;
  return seconds_per_call(
      [&] {
        (void)kernel(*weights, a, y);
        benchmark::DoNotOptimize(y);
      },
      5000);
}

// Exact host kernels besides the plain loop and the VNNI host kernel: the engine's AVX2 kernel and
// the kernel the engine dispatches to (chip/mxm.cpp: VNNI when compiled in, else AVX2, else the
// portable loop), called directly. With those, the candidates for "the best exact host kernel"
// that x_best divides by.
double host_avx2_macs_per_second() {
  static const double rate = [] {
    const auto s = kernel_seconds_per_call(
        [](const InstalledWeights& w, const Vector& a, std::array<std::int32_t, kMxmColumns>& y) {
          return w.matvec_int8_avx2(a, true, y);
        });
    return s ? kMacsPerMatvec / *s : 0.0;
  }();
  return rate;
}

double host_engine_kernel_macs_per_second() {
  static const double rate = [] {
    const auto s = kernel_seconds_per_call(
        [](const InstalledWeights& w, const Vector& a, std::array<std::int32_t, kMxmColumns>& y) {
          w.matvec_int8(a, true, y);
          return true;
        });
    return kMacsPerMatvec / *s;
  }();
  return rate;
}

// oneDNN's s8s8s32 matmul; 0 without oneDNN, and 0 (not a candidate) if its results differ from
// the exact plain loop (on hosts without VNNI its int8 path may saturate 16-bit intermediates).
double host_onednn_macs_per_second() {
#if BENCH_HAS_ONEDNN
  static const double rate = [] {
    const Operands& o = operands();
    OnednnHost host(o.w.data(), o.a.data());
    std::array<std::int32_t, kN> expected{};
    host_plain_matvec(o.w.data(), o.a.data(), expected.data());
    if (!std::equal(expected.begin(), expected.end(), host.run())) {
      std::fprintf(stderr, "chip_bench: oneDNN's s8s8s32 matmul is not exact here: left out\n");
      return 0.0;
    }
    return kMacsPerMatvec / seconds_per_call([&] { benchmark::DoNotOptimize(host.run()); }, 2000);
  }();
  return rate;
#else
  return 0.0;
#endif
}

double host_best_macs_per_second() {
  return std::max({host_plain_macs_per_second(), host_vnni_macs_per_second(),
                   host_avx2_macs_per_second(), host_engine_kernel_macs_per_second(),
                   host_onednn_macs_per_second()});
}

void report_macs(benchmark::State& state, double macs) {
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsRate);
  // Ratios need the rate itself: computed after the loop from the measured time.
  state.counters["x_plain"] =
      benchmark::Counter(macs / host_plain_macs_per_second(), benchmark::Counter::kIsRate);
  if (host_vnni_macs_per_second() > 0) {
    state.counters["x_vnni"] =
        benchmark::Counter(macs / host_vnni_macs_per_second(), benchmark::Counter::kIsRate);
  }
  state.counters["x_best"] =
      benchmark::Counter(macs / host_best_macs_per_second(), benchmark::Counter::kIsRate);
  state.counters["best_host_MAC/s"] = host_best_macs_per_second();
}

// ---- (a) MXM ---------------------------------------------------------------------------------

void BM_HostPlainMatvec(benchmark::State& state) {
  const Operands& o = operands();
  std::array<std::int32_t, kN> y{};
  for (auto _ : state) {
    host_plain_matvec(o.w.data(), o.a.data(), y.data());
    benchmark::DoNotOptimize(y);
  }
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_HostPlainMatvec);

#if BENCH_HAS_VNNI
void BM_HostVnniMatvec(benchmark::State& state) {
  const Operands& o = operands();
  const auto host = std::make_unique<VnniHost>(o.w.data());
  std::array<std::int32_t, kN> y{};
  for (auto _ : state) {
    host->matvec(o.a.data(), y.data());
    benchmark::DoNotOptimize(y);
  }
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_HostVnniMatvec);
#endif

#if BENCH_HAS_ONEDNN
void BM_HostOnednnMatvec(benchmark::State& state) {
  const Operands& o = operands();
  OnednnHost host(o.w.data(), o.a.data());
  for (auto _ : state) benchmark::DoNotOptimize(host.run());
  state.SetLabel(host_onednn_macs_per_second() > 0 ? "exact" : "NOT exact");
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_HostOnednnMatvec);
#endif

std::unique_ptr<InstalledWeights> installed_plane() {
  const Operands& o = operands();
  auto rows = std::make_unique<std::array<Vector, kMxmRows>>();
  for (int k = 0; k < kN; ++k) {
    std::memcpy((*rows)[static_cast<std::size_t>(k)].bytes.data(),
                &o.w[static_cast<std::size_t>(k * kN)], kN);
  }
  return std::make_unique<InstalledWeights>(*rows);
}

Vector activation_vector() {
  Vector v;
  std::memcpy(v.bytes.data(), operands().a.data(), kN);
  return v;
}

// The MXM kernel the engine runs for an int8 ABC (VNNI when compiled for it).
void BM_MxmKernelInt8(benchmark::State& state) {
  const auto plane = installed_plane();
  const Vector a = activation_vector();
  std::array<std::int32_t, kMxmColumns> out{};
  plane->matvec_int8(a, true, out);  // builds the kernel layout once (as the first ABC after IW)
  for (auto _ : state) {
    plane->matvec_int8(a, true, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(mxm_int8_kernel());
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MxmKernelInt8);

void BM_MxmKernelInt8Portable(benchmark::State& state) {
  const auto plane = installed_plane();
  const Vector a = activation_vector();
  std::array<std::int32_t, kMxmColumns> out{};
  for (auto _ : state) {
    plane->matvec_int8_portable(a, true, out);
    benchmark::DoNotOptimize(out);
  }
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MxmKernelInt8Portable);

// The AVX2 kernel alone (what hosts without AVX-512 VNNI run; skipped without AVX2).
void BM_MxmKernelInt8Avx2(benchmark::State& state) {
  const auto plane = installed_plane();
  const Vector a = activation_vector();
  std::array<std::int32_t, kMxmColumns> out{};
  if (!plane->matvec_int8_avx2(a, true, out)) {
    state.SkipWithError("this CPU has no AVX2");
    return;
  }
  for (auto _ : state) {
    (void)plane->matvec_int8_avx2(a, true, out);
    benchmark::DoNotOptimize(out);
  }
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MxmKernelInt8Avx2);

// IW followed by one ABC: the cost of installing a new weight array (kernel layout build).
void BM_MxmInstallThenAbc(benchmark::State& state) {
  const Operands& o = operands();
  auto rows = std::make_unique<std::array<Vector, kMxmRows>>();
  for (int k = 0; k < kN; ++k) {
    std::memcpy((*rows)[static_cast<std::size_t>(k)].bytes.data(),
                &o.w[static_cast<std::size_t>(k * kN)], kN);
  }
  const Vector a = activation_vector();
  std::array<std::int32_t, kMxmColumns> out{};
  for (auto _ : state) {
    const InstalledWeights plane(*rows);
    plane.matvec_int8(a, true, out);
    benchmark::DoNotOptimize(out);
  }
  report_macs(state, kMacsPerMatvec * static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MxmInstallThenAbc);

void BM_MxmKernelFp16(benchmark::State& state) {
  std::mt19937_64 rng(3);
  auto low = std::make_unique<std::array<Vector, kMxmRows>>();
  auto high = std::make_unique<std::array<Vector, kMxmRows>>();
  for (std::size_t k = 0; k < kMxmRows; ++k) {
    for (std::size_t n = 0; n < kMxmColumns; ++n) {
      (*low)[k].bytes[n] = static_cast<std::uint8_t>(rng());
      (*high)[k].bytes[n] = static_cast<std::uint8_t>(rng() % 0x78);  // finite halves
    }
  }
  const InstalledWeights lo(*low);
  const InstalledWeights hi(*high);
  Vector a_low;
  Vector a_high;
  for (std::size_t k = 0; k < kMxmRows; ++k) {
    a_low.bytes[k] = static_cast<std::uint8_t>(rng());
    a_high.bytes[k] = static_cast<std::uint8_t>(rng() % 0x78);
  }
  std::array<float, kMxmColumns> out{};
  for (auto _ : state) {
    lo.matvec_f16(hi, a_low, a_high, out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["MAC/s"] = benchmark::Counter(
      kMacsPerMatvec * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MxmKernelFp16);

// ---- Engine programs -------------------------------------------------------------------------

Operand stream_op(int index, Direction d) {
  Operand o;
  o.kind = OperandKind::stream;
  o.stream = StreamRef{static_cast<std::int8_t>(index), d, 1};
  return o;
}
Operand int_op(OperandKind kind, std::int64_t v) {
  return Operand{kind, {}, v};
}

void add(TspProgram& p, QueueId queue, Opcode opcode, std::vector<Operand> ops, Cycle at,
         DType dtype = DType::none) {
  Instruction ins;
  ins.opcode = opcode;
  ins.dtype = dtype;
  ins.operand_count = static_cast<std::uint8_t>(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) ins.operands[i] = ops[i];
  ins.issue_cycle = at;
  for (QueueProgram& q : p.queues) {
    if (q.queue == queue) {
      q.instructions.push_back(ins);
      return;
    }
  }
  p.queues.push_back(QueueProgram{queue, {ins}});
}

void seeded(TspProgram& p, const std::string& name, int rows, QueueId slice, int address,
            bool output = false) {
  DataSegment d;
  d.name = name;
  d.dtype = DType::i8;
  d.rows = rows;
  d.columns = 320;
  d.at.slices = {slice};
  d.at.address = address;
  d.init.kind = output ? DataInit::Kind::zero : DataInit::Kind::seeded_uniform;
  d.init.seed = static_cast<std::uint64_t>(p.data.size() + 1);
  d.init.low = -128;
  d.init.high = 127;
  d.initialized = !output;
  d.is_output = output;
  p.data.push_back(d);
}

void sort_queues(TspProgram& p) {
  std::sort(p.queues.begin(), p.queues.end(),
            [](const QueueProgram& a, const QueueProgram& b) { return a.queue < b.queue; });
}

// `planes` MXM planes each: weights via 320 LW, IW, then n ABCs, one per cycle, whose activations
// arrive from a MEM slice READing one row per cycle.
TspProgram mxm_program(int planes, int n) {
  TspProgram p;
  const Cycle loaded = 327;
  for (int plane = 0; plane < planes; ++plane) {
    const bool west = plane < 2;
    const int local = plane % 2;  // 0 or 1 within the hemisphere
    const Hemisphere h = west ? Hemisphere::west : Hemisphere::east;
    const Direction toward_mxm = west ? Direction::west : Direction::east;
    const int weight_slice = 43 - 2 * local;  // positions 2/4 (west) or 90/88 (east)
    const int act_slice = 42 - 2 * local;     // positions 3/5 or 89/87
    const Cycle weight_travel = 3 + 2 + 2 * local;
    const Cycle act_travel = 3 + 3 + 2 * local;
    seeded(p, fmt::format("w{}", plane), 320, mem_queue(h, weight_slice), 0);
    seeded(p, fmt::format("a{}", plane), n, mem_queue(h, act_slice), 0x400);
    add(p, mem_queue(h, weight_slice), Opcode::read,
        {int_op(OperandKind::address, 0), stream_op(2 * local, toward_mxm)}, 0);
    add(p, mem_queue(h, weight_slice), Opcode::repeat,
        {int_op(OperandKind::integer, 319), int_op(OperandKind::integer, 1),
         int_op(OperandKind::integer, 1)},
        -1);
    for (int k = 0; k < 320; ++k) {
      add(p, mxm_queue(QueueKind::mxm_weights, plane), Opcode::lw,
          {int_op(OperandKind::integer, k), stream_op(2 * local, toward_mxm)}, k + weight_travel);
    }
    add(p, mxm_queue(QueueKind::mxm_weights, plane), Opcode::iw, {}, loaded);
    const Cycle first_abc = loaded + 8;
    add(p, mem_queue(h, act_slice), Opcode::read,
        {int_op(OperandKind::address, 0x400), stream_op(2 * local + 1, toward_mxm)},
        first_abc - act_travel);
    add(p, mem_queue(h, act_slice), Opcode::repeat,
        {int_op(OperandKind::integer, n - 1), int_op(OperandKind::integer, 1),
         int_op(OperandKind::integer, 1)},
        -1);
    add(p, mxm_queue(QueueKind::mxm_activations, plane), Opcode::abc,
        {stream_op(2 * local + 1, toward_mxm), int_op(OperandKind::integer, 0),
         int_op(OperandKind::integer, 0)},
        first_abc, DType::i8);
    add(p, mxm_queue(QueueKind::mxm_activations, plane), Opcode::repeat,
        {int_op(OperandKind::integer, n - 1), int_op(OperandKind::integer, 1),
         int_op(OperandKind::integer, 0)},
        -1);
  }
  sort_queues(p);
  return p;
}

void BM_EngineAbcInt8(benchmark::State& state) {
  ensure_kokkos_initialized();
  const int planes = static_cast<int>(state.range(0));
  const int n = 4096;
  const TspProgram program = mxm_program(planes, n);
  const ChipConfig config;
  double macs = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto engine = std::make_unique<Engine>(program, config);  // loads data: not timed
    state.ResumeTiming();
    engine->run_until(INT64_MAX);  // the emulation itself
    state.PauseTiming();
    const RunResult r = engine->finish();  // outputs and digest: not part of the MAC rate
    state.ResumeTiming();
    macs += static_cast<double>(r.mxm_int8_macs);
  }
  report_macs(state, macs);
}
BENCHMARK(BM_EngineAbcInt8)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);

// ---- (b) streams and MEM ---------------------------------------------------------------------

double host_memcpy_bytes_per_second(std::size_t bytes) {
  std::vector<std::uint8_t> src(bytes, 1);
  std::vector<std::uint8_t> dst(bytes, 0);
  return static_cast<double>(bytes) / seconds_per_call(
                                          [&] {
                                            std::memcpy(dst.data(), src.data(), bytes);
                                            benchmark::DoNotOptimize(dst.data());
                                            benchmark::ClobberMemory();
                                          },
                                          20);
}

// `pairs` slice pairs MEM_Wi -> MEM_Ei each copy n rows: READ every cycle onto S<i>E, WRITE where
// it arrives (2 + 2i positions east, 3 + 2 + 2i cycles later), both REPEATed with stride 1.
TspProgram copy_program(int pairs, int n) {
  TspProgram p;
  for (int i = 0; i < pairs; ++i) {
    seeded(p, fmt::format("src{}", i), n, mem_queue(Hemisphere::west, i), 0);
    seeded(p, fmt::format("dst{}", i), n, mem_queue(Hemisphere::east, i), 0, /*output=*/true);
    add(p, mem_queue(Hemisphere::west, i), Opcode::read,
        {int_op(OperandKind::address, 0), stream_op(i, Direction::east)}, 0);
    add(p, mem_queue(Hemisphere::west, i), Opcode::repeat,
        {int_op(OperandKind::integer, n - 1), int_op(OperandKind::integer, 1),
         int_op(OperandKind::integer, 1)},
        -1);
    add(p, mem_queue(Hemisphere::east, i), Opcode::write,
        {int_op(OperandKind::address, 0), stream_op(i, Direction::east)}, 3 + 2 + 2 * i);
    add(p, mem_queue(Hemisphere::east, i), Opcode::repeat,
        {int_op(OperandKind::integer, n - 1), int_op(OperandKind::integer, 1),
         int_op(OperandKind::integer, 1)},
        -1);
  }
  sort_queues(p);
  return p;
}

void BM_EngineStreamCopy(benchmark::State& state) {
  ensure_kokkos_initialized();
  const int pairs = static_cast<int>(state.range(0));
  const int n = 4096;
  const TspProgram program = copy_program(pairs, n);
  const ChipConfig config;
  const std::size_t bytes = static_cast<std::size_t>(pairs) * n * sizeof(Vector);
  for (auto _ : state) {
    state.PauseTiming();
    auto engine = std::make_unique<Engine>(program, config);
    state.ResumeTiming();
    engine->run_until(INT64_MAX);  // the emulation: every READ, stream hop and WRITE
    state.PauseTiming();
    const RunResult r = engine->finish();  // reading outputs back and hashing: not a copy
    benchmark::DoNotOptimize(r.digest);
    state.ResumeTiming();
  }
  const double copied = static_cast<double>(bytes) * static_cast<double>(state.iterations());
  state.counters["B/s"] = benchmark::Counter(copied, benchmark::Counter::kIsRate);
  state.counters["x_memcpy"] =
      benchmark::Counter(copied / host_memcpy_bytes_per_second(bytes), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineStreamCopy)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond);

// The stream file alone: one write and one downstream read per vector.
void BM_StreamFileWriteRead(benchmark::State& state) {
  StreamFile streams(93, 32);
  const Vector v = Vector::filled(3);
  Cycle t = 0;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    (void)streams.write(Direction::east, 5, 10, t, v);
    sum += streams.read(Direction::east, 5, 20, t + 10).value->bytes[0];
    ++t;
  }
  benchmark::DoNotOptimize(sum);
  const double copied =
      static_cast<double>(sizeof(Vector)) * static_cast<double>(state.iterations());
  state.counters["B/s"] = benchmark::Counter(copied, benchmark::Counter::kIsRate);
  state.counters["x_memcpy"] = benchmark::Counter(
      copied / host_memcpy_bytes_per_second(sizeof(Vector) * 4096), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StreamFileWriteRead);

void BM_HostMemcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  std::vector<std::uint8_t> src(bytes, 1);
  std::vector<std::uint8_t> dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.counters["B/s"] =
      benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HostMemcpy)->Arg(4096 * 320)->Arg(16 * 4096 * 320);

}  // namespace
}  // namespace tspemu
