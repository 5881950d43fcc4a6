#!/usr/bin/env python3
"""Checkpoint/restart scenarios (docs/checkpoint.md), each a CTest test: a run is checkpointed,
stopped or killed, then restarted on other rank counts; every restart must end with the
uninterrupted run's digest (GOLDEN), and the errors must be the documented ones.

  checkpoint_restart.py SCENARIO --tspemu T --mpiexec "mpiexec -n" --dir D --bundle B
                        --topology TOPO --golden HEX [--other-bundle B2]

Scenarios: periodic, kill9, sigterm, usr1, usr2, errors (a compiled rack program), drift (an
assembled ring on drifting clocks), replay (an assembled rack program with FEC replays). MPI runs go through --mpiexec (the
launcher and its count flag, e.g. "timeout 120 mpiexec --oversubscribe -n"); the fault
injection of runtime/fault_injection.hpp makes kills and signals arrive at known windows.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("scenario")
p.add_argument("--tspemu", required=True)
p.add_argument("--mpiexec", required=True)
p.add_argument("--dir", required=True)
p.add_argument("--bundle", required=True)
p.add_argument("--topology", required=True)
p.add_argument("--golden", required=True)
p.add_argument("--other-bundle")
p.add_argument("--mpiexec-bare", help="the launcher without a timeout wrapper (mpirun_usr2)")
args = p.parse_args()

work = os.path.join(args.dir, args.scenario)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)


def fail(message):
    sys.exit(f"checkpoint_restart.py {args.scenario}: {message}")


def run(cmd, np=None, fault=None, expect=0):
    """Runs tspemu (under the launcher with np ranks), returns (stdout, stderr)."""
    full = [args.tspemu, "run"] + cmd
    if np is not None:
        full = args.mpiexec.split() + [str(np)] + full
    env = dict(os.environ)
    env.pop("TSPEMU_INJECT_FAULT", None)
    if fault:
        env["TSPEMU_INJECT_FAULT"] = fault
    r = subprocess.run(full, cwd=work, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    shown = " ".join(full) + (f"  [TSPEMU_INJECT_FAULT={fault}]" if fault else "")
    if (expect == "nonzero" and r.returncode == 0) or (expect != "nonzero" and r.returncode != expect):
        fail(f"`{shown}` exited with {r.returncode}, expected {expect}\n"
             f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    print(f"ok ({r.returncode}): {shown}")
    return r.stdout, r.stderr


def expect_golden(out, what):
    m = re.search(r"digest: ([0-9a-f]{32})\n$", out)
    if not m or m.group(1) != args.golden:
        fail(f"{what}: digest {m.group(1) if m else None}, expected {args.golden}\n{out}")


def expect_in(text, needle, what):
    if needle not in text:
        fail(f"{what}: expected the text\n  {needle}\nin\n{text}")


def manifest(name):
    text = open(os.path.join(work, name, "manifest.toml")).read().split("\n[")[0]  # top level
    return {k: v for k, v in re.findall(r'^(\w+) = "?([^"\n]*)"?$', text, re.M)}


base = [args.bundle, "--topology", args.topology]

if args.scenario == "periodic":
    # Every 4 epochs, --local, with a trace and statistics; restarted --local, at 8 and 3 ranks.
    out, _ = run(base + ["--local", "--checkpoint-dir", "ck", "--checkpoint-every", "4",
                         "--trace", "whole.trace.json", "--stats", "whole.csv",
                         "--report", "whole.json"])
    expect_golden(out, "the checkpointed run")
    expect_in(out, "checkpoints: 3 written to ck, the last before window 24 (cycle 3072)\n",
              "the checkpointed run")
    m = manifest("ck")
    if (m["next_window"], m["state"], m["reason"]) != ("24", "window-000000024", "every 4 epochs"):
        fail(f"manifest {m}")
    if sorted(os.listdir(os.path.join(work, "ck"))) != ["manifest.toml", "window-000000024"]:
        fail(f"the earlier checkpoints' state was not removed: {os.listdir(os.path.join(work, 'ck'))}")
    written = json.load(open(os.path.join(work, "whole.json")))["checkpoints"]["written"]
    if [(c["window"], c["cycle"]) for c in written] != [(8, 1024), (16, 2048), (24, 3072)]:
        fail(f"report checkpoints {written}")
    out, _ = run(["--restart", "ck", "--local", "--trace", "restart.trace.json",
                  "--stats", "restart.csv"])
    expect_golden(out, "the --local restart")
    expect_in(out, "restarted: from the checkpoint in ck before window 24 (cycle 3072)\n",
              "the --local restart")
    for a, b in (("whole.trace.json", "restart.trace.json"), ("whole.csv", "restart.csv")):
        if open(os.path.join(work, a), "rb").read() != open(os.path.join(work, b), "rb").read():
            fail(f"{b} differs from the uninterrupted run's {a}")
    out, _ = run(["--restart", "ck"], np=8)
    expect_golden(out, "the restart at 8 ranks")
    out, _ = run(base + ["--restart", "ck", "--check"], np=3)
    expect_golden(out, "the restart at 3 ranks with --check")
    expect_in(out, "check: passed", "the restart at 3 ranks with --check")

elif args.scenario == "kill9":
    # A rank killed (SIGKILL) before window 20 of an 8-rank job checkpointing every 4 epochs:
    # the job ends, the checkpoint before window 16 is intact, restarts --local and at 2 ranks.
    _, err = run(base + ["--checkpoint-dir", "ck", "--checkpoint-every", "4"], np=8,
                 fault="kill@20:3", expect="nonzero")
    m = manifest("ck")
    if m["next_window"] != "16":
        fail(f"the last checkpoint before the kill: {m}")
    out, _ = run(["--restart", "ck", "--local"])
    expect_golden(out, "the --local restart after kill -9")
    out, _ = run(["--restart", "ck"], np=2)
    expect_golden(out, "the 2-rank restart after kill -9")

elif args.scenario == "sigterm":
    # SIGTERM in a --local run before window 13: a checkpoint at the next agreement, exit 3;
    # restarted at 8 ranks.
    out, _ = run(base + ["--local", "--checkpoint-dir", "ck"], fault="term@13:0", expect=3)
    expect_in(out, "stopped: on SIGTERM or SIGUSR2, after writing the checkpoint before window 14 "
                   "(cycle 1792) to ck; go on with `tspemu run --restart ck`\n", "the stopped run")
    if "digest:" in out:
        fail("a stopped run printed a digest")
    out, _ = run(["--restart", "ck"], np=8)
    expect_golden(out, "the restart after SIGTERM")

elif args.scenario == "mpirun_usr2":
    # The signal a user sends: SIGUSR2 to mpiexec itself, which forwards it to every rank, once the
    # first periodic checkpoint exists (so the run is under way). Every rank checkpoints and stops
    # (exit 3); the restart --local ends with the golden digest.
    cmd = (args.mpiexec_bare.split() + ["8", args.tspemu, "run"] + base +
           ["--checkpoint-dir", "ck", "--checkpoint-every", "2"])
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    manifest_path = os.path.join(work, "ck", "manifest.toml")
    deadline = time.monotonic() + 60
    while not os.path.exists(manifest_path) and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            fail("no checkpoint within 60 s")
        time.sleep(0.02)
    if proc.poll() is not None:
        fail(f"the run ended before it could be signalled:\n{proc.stdout.read()}")
    proc.send_signal(signal.SIGUSR2)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the signalled job did not end within 120 s")
    if proc.returncode != 3:
        fail(f"exit code {proc.returncode}, expected 3\nstdout:\n{out}\nstderr:\n{err}")
    if out.count("stopped: on SIGTERM or SIGUSR2, after writing the checkpoint before window ") != 1:
        fail(f"expected the stop line once:\n{out}")
    print(f"ok (3): SIGUSR2 to `{' '.join(cmd)}`")
    out, _ = run(["--restart", "ck", "--local"])
    expect_golden(out, "the --local restart after SIGUSR2 to mpiexec")

elif args.scenario == "drift":
    # Drifting clocks (docs/clocks.md): the chips' clocks, their RUNTIME_DESKEW pauses and the
    # vectors' global arrival times are state too. SIGTERM before window 70 (a skipped window:
    # the first window run after it), then restarts at 8 ranks and --local.
    out, _ = run(base + ["--local", "--checkpoint-dir", "ck"], fault="term@70:0", expect=3)
    expect_in(out, "stopped: on SIGTERM or SIGUSR2, after writing the checkpoint before window 74 "
                   "(cycle 9472)", "the stopped drift ring")
    out, _ = run(["--restart", "ck"], np=8)
    expect_golden(out, "the drift ring restarted at 8 ranks")
    out, _ = run(["--restart", "ck", "--local"])
    expect_golden(out, "the drift ring restarted --local")

elif args.scenario == "replay":
    # FEC replays (docs/network.md, "Replay"): run seed 7 replays twice. A checkpoint every epoch
    # leaves the clean attempt's, with both replays in the manifest; SIGTERM in the first attempt
    # leaves that attempt's. Both restarts replay what is left and end with the digest that
    # records two replays.
    out, _ = run(base + ["--local", "--seed", "7", "--checkpoint-dir", "clean",
                         "--checkpoint-every", "1"])
    expect_golden(out, "the replayed run")
    text = open(os.path.join(work, "clean", "manifest.toml")).read()
    if manifest("clean")["attempt"] != "2" or text.count("[[replay]]") != 2:
        fail(f"the clean attempt's manifest:\n{text}")
    out, _ = run(["--restart", "clean", "--local"])
    expect_golden(out, "the restart in the clean attempt")
    if out.count("replayed: attempt") != 2:
        fail(f"the restart does not report both replays:\n{out}")
    out, _ = run(base + ["--local", "--seed", "7", "--checkpoint-dir", "first"], fault="term@1:0",
                 expect=3)
    if manifest("first")["attempt"] != "0":
        fail(f"the first attempt's manifest: {manifest('first')}")
    out, _ = run(["--restart", "first"], np=8)
    expect_golden(out, "the restart in the first attempt, at 8 ranks")
    expect_in(out, "restarted: from the checkpoint in first before window 2 (cycle 256)",
              "the restart in the first attempt")

elif args.scenario in ("usr1", "usr2"):
    # One rank of 8 gets the signal before window 10: every rank checkpoints at the next agreement
    # (before window 12); SIGUSR1 goes on to the end, SIGUSR2 stops every rank with exit 3.
    if args.scenario == "usr1":
        out, _ = run(base + ["--checkpoint-dir", "ck", "--report", "r.json"], np=8,
                     fault="usr1@10:5")
        expect_golden(out, "the run checkpointed on SIGUSR1")
        written = json.load(open(os.path.join(work, "r.json")))["checkpoints"]["written"]
        if [(c["window"], c["reason"]) for c in written] != [(12, "SIGUSR1")]:
            fail(f"report checkpoints {written}")
    else:
        out, _ = run(base + ["--checkpoint-dir", "ck"], np=8, fault="usr2@10:5", expect=3)
        if out.count("stopped: on SIGTERM or SIGUSR2, after writing the checkpoint before "
                     "window 12 (cycle 1536)") != 1:
            fail(f"expected the stop line once:\n{out}")
    out, _ = run(["--restart", "ck", "--local"])
    expect_golden(out, f"the --local restart after {args.scenario}")

elif args.scenario == "errors":
    run(base + ["--local", "--checkpoint-dir", "ck", "--checkpoint-every", "8"])

    def expect_error(cmd, text, code=2):
        _, err = run(cmd, expect=code)
        expect_in(err, text, " ".join(cmd))

    expect_error(["--restart", "nowhere", "--local"], "tspemu: error: --restart nowhere: not a directory")
    os.makedirs(os.path.join(work, "empty"))
    expect_error(["--restart", "empty", "--local"],
                 "tspemu: error: --restart empty: no checkpoint there (manifest.toml is missing)")
    expect_error(["--restart", "ck", "--local", "--seed", "5"],
                 "tspemu: error: --restart goes on with the checkpointed run's options: drop --seed")
    expect_error([args.other_bundle, "--topology", args.topology, "--restart", "ck", "--local"],
                 "tspemu: error: --restart ck: the checkpoint is of program ")
    expect_error([args.other_bundle, "--topology", args.topology, "--local", "--checkpoint-dir",
                  "ck"], "tspemu: error: --checkpoint-dir ck: holds a checkpoint of another run")
    expect_error(base + ["--local", "--checkpoint-every", "4"],
                 "tspemu: error: --checkpoint-every needs --checkpoint-dir DIR")
    open(os.path.join(work, "file"), "w").write("not a directory\n")
    expect_error(base + ["--local", "--checkpoint-dir", "file"],
                 "tspemu: error: --checkpoint-dir file: exists and is not a directory")
    state = os.path.join(work, "ck", manifest("ck")["state"])
    victim = os.path.join(state, "tsp-00009.state")
    data = bytearray(open(victim, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(victim, "wb").write(data)
    expect_error(["--restart", "ck", "--local"],
                 f"tspemu: error: checkpoint file '{os.path.join('ck', manifest('ck')['state'], 'tsp-00009.state')}': "
                 "its digest does not match its bytes (damaged or truncated)")
    os.remove(victim)
    expect_error(["--restart", "ck", "--local"], "tsp-00009.state' does not exist")
    # Nothing was replaced by the failed runs: the manifest still names the same state.
    if manifest("ck")["next_window"] != "16":
        fail(f"the manifest changed: {manifest('ck')}")
else:
    fail("unknown scenario")
print(f"{args.scenario}: passed")
