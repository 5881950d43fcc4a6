#pragma once
// The watchdog's clock for one wait (net/mpi_transport.cpp): fed the readings a polling loop takes,
// it says when the wait has lasted longer than the limit *while this process was running*.
//
// A process that was itself stopped (SIGSTOP, `scontrol suspend`, a debugger) sees its clock jump
// by the time it was away. Its peers were not late, so a gap between two consecutive readings
// longer than a quarter of the limit restarts the timing: readings of a polling loop are
// microseconds apart, so a gap that long means this process did not run.

namespace tspemu {

class WaitTimer {
 public:
  // limit_seconds > 0.
  explicit WaitTimer(double limit_seconds) : limit_(limit_seconds) {}

  // Feeds a clock reading (seconds, monotonic). True once the wait has lasted longer than the
  // limit since its first reading or since the last restart.
  bool expired(double now_seconds) {
    if (!timing_ || (now_seconds - last_ > limit_ / 4)) {
      start_ = now_seconds;
      timing_ = true;
    }
    last_ = now_seconds;
    return now_seconds - start_ > limit_;
  }
  // Times afresh from the next reading on (what completed meanwhile needs no watchdog).
  void restart() { timing_ = false; }

 private:
  double limit_;
  bool timing_ = false;  // start_ and last_ hold readings
  double start_ = 0.0;
  double last_ = 0.0;
};

}  // namespace tspemu
