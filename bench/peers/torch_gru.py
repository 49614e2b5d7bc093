#!/usr/bin/env python3
"""PyTorch peer of bench/gru.mjs: times torch.nn.GRU (batch_first, one layer,
one direction) on the benchmark's shapes.

  fwd    inference: `with torch.no_grad(): gru(x)`
  train  one training step: `gru(x)`, `out.backward(dOutput)`, `SGD.step()`,
         `zero_grad(set_to_none=True)` (the same work as gatedrnn's
         apply(training) + backward + SGD update)

Threads: torch.set_num_threads(n) (OpenMP) and openblas_set_num_threads(n)
(torch 1.13 does not pass its thread count to OpenBLAS, whose pthreads would
otherwise use every core). OpenBLAS picks its kernel when it loads, from
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: run this script with the same
environment as gatedrnn for the same kernel choice; the JSON says which
kernel ran ("blasCore").

Two ways to run it:

  python3 bench/peers/torch_gru.py [--shapes S,M,L,D1] [--threads 1,2]
      standalone: random weights, prints one JSON object
      {"torch": ..., "blasCore": ..., "rows": [{shape, threads, mode, ms, runs}]}

  python3 bench/peers/torch_gru.py --serve
      what bench/gru.mjs uses, so that its rounds interleave PyTorch with
      gatedrnn and ONNX Runtime: one JSON request per stdin line, one JSON
      reply per stdout line.
        {"cmd": "info"}
        {"cmd": "setup", "key": k, "B":, "T":, "I":, "H":, "dir": d}   weights (PyTorch
            layout) and data as raw float32 files in d: weight_ih, weight_hh,
            bias_ih, bias_hh, x, dout, and ref (gatedrnn's output): replies
            with the largest |torch output - ref|
        {"cmd": "time", "key": k, "mode": "fwd"|"train", "threads": n, "warmup":,
         "warmupMs":, "minReps":, "maxReps":, "budgetMs":}
            replies {"times": [ms...], "cpu": s, "wall": s, "cpuWithWarmup": s}:
            this process's CPU seconds and the wall seconds of the timed runs
            (and the CPU seconds including the warmup), so that the caller
            can tell what other processes used
"""
import argparse
import ctypes
import json
import os
import sys
import time

import torch

SHAPES = {
    'S': dict(B=32, T=50, I=32, H=128),
    'M': dict(B=64, T=100, I=128, H=256),
    'L': dict(B=64, T=50, I=512, H=512),
    'D1': dict(B=1, T=50, I=512, H=512),
    'D2': dict(B=16, T=25, I=1024, H=1024),
}
LEARNING_RATE = 1e-6  # tiny: the weights hardly move over hundreds of steps


def load_openblas():
    for name in ('libopenblas.so.0', 'libopenblas.so', 'libopenblasp-r0.3.21.so'):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, 'openblas_set_num_threads'):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return lib
    return None


OPENBLAS = load_openblas()


def set_threads(n):
    torch.set_num_threads(n)
    if OPENBLAS is not None:
        OPENBLAS.openblas_set_num_threads(n)


def info():
    return {
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'blasCore': OPENBLAS.openblas_get_corename().decode() if OPENBLAS else None,
        'blasConfig': OPENBLAS.openblas_get_config().decode() if OPENBLAS else None,
        'mkldnn': torch.backends.mkldnn.is_available(),
        'env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS')},
    }


class Workload:
    def __init__(self, B, T, I, H, tensors=None):
        torch.manual_seed(7)
        self.gru = torch.nn.GRU(I, H, num_layers=1, batch_first=True)
        if tensors is not None:
            with torch.no_grad():
                for name in ('weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'):
                    getattr(self.gru, name + '_l0').copy_(tensors[name])
            self.x = tensors['x']
            self.dout = tensors['dout']
        else:
            self.x = torch.rand(B, T, I) * 2 - 1
            self.dout = torch.rand(B, T, H) * 2 - 1
        self.opt = torch.optim.SGD(self.gru.parameters(), lr=LEARNING_RATE)

    def forward(self):
        with torch.no_grad():
            self.gru(self.x)

    def train(self):
        out, _ = self.gru(self.x)
        out.backward(self.dout)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)


def time_it(fn, warmup=2, warmupMs=400, minReps=5, maxReps=50, budgetMs=1500):
    """Warmup (at least `warmup` calls and warmupMs, at most 50 calls), then
    timed runs until minReps and the budget, or maxReps. Times in ms."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    i = 0
    while i < warmup or ((time.perf_counter() - start) * 1000 < warmupMs and i < 50):
        fn()
        i += 1
    times = []
    cpu0 = time.process_time()
    t_start = time.perf_counter()
    while len(times) < maxReps and (len(times) < minReps or (time.perf_counter() - t_start) * 1000 < budgetMs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    cpu_end = time.process_time()
    return {'times': times, 'cpu': cpu_end - cpu0, 'wall': time.perf_counter() - t_start, 'cpuWithWarmup': cpu_end - cpu_start}


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def read_f32(path, shape):
    import numpy as np
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape).copy())


def serve():
    workloads = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get('cmd')
            if cmd == 'info':
                reply = info()
            elif cmd == 'setup':
                B, T, I, H, d = req['B'], req['T'], req['I'], req['H'], req['dir']
                shapes = {'weight_ih': (3 * H, I), 'weight_hh': (3 * H, H), 'bias_ih': (3 * H,), 'bias_hh': (3 * H,), 'x': (B, T, I), 'dout': (B, T, H)}
                tensors = {k: read_f32(os.path.join(d, k), s) for k, s in shapes.items()}
                workload = workloads[req.get('key', '')] = Workload(B, T, I, H, tensors)
                ref = read_f32(os.path.join(d, 'ref'), (B, T, H))
                with torch.no_grad():
                    out, _ = workload.gru(workload.x)
                reply = {'maxAbsDiff': float((out - ref).abs().max())}
            elif cmd == 'time':
                set_threads(int(req['threads']))
                workload = workloads[req.get('key', '')]
                fn = workload.forward if req['mode'] == 'fwd' else workload.train
                opts = {k: req[k] for k in ('warmup', 'warmupMs', 'minReps', 'maxReps', 'budgetMs') if k in req}
                reply = time_it(fn, **opts)
            elif cmd == 'quit':
                break
            else:
                reply = {'error': f'unknown cmd {cmd!r}'}
        except Exception as e:  # reported to the caller, which prints it
            reply = {'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


def standalone(args):
    shapes = [s.strip().upper() for s in args.shapes.split(',') if s.strip()]
    threads = [int(t) for t in args.threads.split(',') if t.strip()]
    rows = []
    for name in shapes:
        w = Workload(**SHAPES[name])
        for n in threads:
            set_threads(n)
            for mode in ('fwd', 'train'):
                r = time_it(w.forward if mode == 'fwd' else w.train, budgetMs=args.budget_ms)
                rows.append({'shape': name, **SHAPES[name], 'threads': n, 'mode': mode, 'ms': median(r['times']), 'runs': len(r['times'])})
                print(f"{name} {n}T {mode}: {rows[-1]['ms']:.2f} ms ({rows[-1]['runs']} runs)", file=sys.stderr)
    print(json.dumps({**info(), 'rows': rows}, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--serve', action='store_true', help='JSON requests on stdin (used by bench/gru.mjs)')
    p.add_argument('--shapes', default='S,M,L,D1')
    p.add_argument('--threads', default='1,2')
    p.add_argument('--budget-ms', type=float, default=1500)
    args = p.parse_args()
    if args.serve:
        serve()
    else:
        standalone(args)


if __name__ == '__main__':
    main()
