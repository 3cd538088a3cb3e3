#!/usr/bin/env python3
"""PyTorch peer of the convkit benchmark.

Usage: torch_bench.py [--quick] [SPEC_JSON]   (or the spec on stdin)

The spec is a JSON object; every key is optional:
  threads   list of thread counts              default [1, 2]
  passes    ["fwd", "bwd"]                     default both
  dtypes    ["float32", "float64"]             default both; float64 only for layers marked big
  layers    suite layers as bench/suite.js builds them; default: `node bench/suite.js`
  only      list of layer names to keep
  latency   also time tinyLayer's forward call on its own with many calls
  rss       also report the peak RSS of rssLayer's forward, per memory format
  tinyLayer, rssLayer   default: the ones of bench/suite.js
  quick     a few repetitions only (smoke run)
  targetMs  time one measurement should take (default 400)

Each thread count runs in its own worker process, as does each RSS probe (the
peak RSS of a process only grows). Prints one JSON object on stdout.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = ("contiguous", "channels_last")


def load_spec(argv):
    args = [a for a in argv if a != "--quick"]
    if args:
        text = args[0]
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        text = ""
    spec = json.loads(text) if text.strip() else {}
    if "--quick" in argv:
        spec["quick"] = True
    spec.setdefault("threads", [1, 2])
    spec.setdefault("passes", ["fwd", "bwd"])
    spec.setdefault("dtypes", ["float32", "float64"])
    if "layers" not in spec:
        suite = json.loads(subprocess.run(["node", os.path.join(HERE, "suite.js")],
                                          check=True, capture_output=True, text=True).stdout)
        spec["layers"] = suite["layers"]
        spec.setdefault("tinyLayer", next(l for l in suite["layers"] if l["name"] == suite["tiny"]))
        spec.setdefault("rssLayer", suite["rss"])
    if spec.get("only"):
        spec["layers"] = [l for l in spec["layers"] if l["name"] in spec["only"]]
    return spec


def run_worker(spec):
    # torch.set_num_threads sizes the OpenMP pool only; a BLAS library it calls
    # (OpenBLAS for float64 and some float32 paths) reads its own variable.
    threads = str(spec["threads"][0])
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)], input=json.dumps(spec),
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError("torch worker failed: " + proc.stderr.strip()[-2000:])
    return json.loads(proc.stdout)


def orchestrate(spec):
    """Split the spec into worker processes and merge what they report."""
    merged = {"results": [], "latency": [], "rss": []}
    for threads in spec["threads"]:
        report = run_worker(dict(spec, worker="time", threads=[threads]))
        merged.update({key: report[key] for key in ("torch", "mkldnn", "capability", "blas")})
        merged["results"] += report["results"]
        merged["latency"] += report["latency"]
    if spec.get("rss"):
        for memory_format in FORMATS:
            report = run_worker(dict(spec, worker="rss", threads=[max(spec["threads"])],
                                     memoryFormat=memory_format))
            merged["rss"].append(report["rss"])
    return merged


# ---- work done inside a worker process (torch is imported only here) ----

def settings(spec):
    if spec.get("quick"):
        return {"target_ms": 15, "warmup_ms": 0, "min_reps": 3, "max_reps": 200}
    return {"target_ms": spec.get("targetMs", 400), "warmup_ms": 50, "min_reps": 5, "max_reps": 20000}


def latency_settings(spec):
    """The tiny layer's call latency is the median over many calls."""
    if spec.get("quick"):
        return {"target_ms": 50, "warmup_ms": 10, "min_reps": 200, "max_reps": 100000}
    return {"target_ms": 500, "warmup_ms": 50, "min_reps": 5000, "max_reps": 100000}


def measure(fn, s):
    """First call, warm-up, then the median of individually timed calls."""
    fn()
    calls = 0
    start = time.perf_counter_ns()
    while True:
        fn()
        calls += 1
        if time.perf_counter_ns() - start >= s["warmup_ms"] * 1e6:
            break
    estimate = (time.perf_counter_ns() - start) / calls
    reps = int(min(s["max_reps"], max(s["min_reps"], -(-s["target_ms"] * 1e6 // max(estimate, 1)))))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    mid = reps // 2
    median = samples[mid] if reps % 2 else (samples[mid - 1] + samples[mid]) / 2
    return {"medianNs": median, "minNs": samples[0], "reps": reps}


def random_tensor(torch, shape, dtype, memory_format):
    """NCHW-shaped; channels_last is made as NHWC and permuted, so no copy inflates the RSS."""
    if memory_format == "contiguous":
        return torch.randn(*shape, dtype=dtype)
    n, c, h, w = shape
    return torch.randn(n, h, w, c, dtype=dtype).permute(0, 3, 1, 2)


def make_inputs(torch, layer, dtype, memory_format):
    x = random_tensor(torch, (layer["n"], layer["c"], layer["h"], layer["w"]), dtype, memory_format)
    if layer["kind"] != "conv":
        return x, None, None
    kh, kw = layer["kernel"]
    w = random_tensor(torch, (layer["cout"], layer["c"] // layer["groups"], kh, kw), dtype, memory_format)
    b = torch.randn(layer["cout"], dtype=dtype)
    return x, w, b


def forward_fn(torch, layer, x, w, b):
    F = torch.nn.functional
    if layer["kind"] == "conv":
        return lambda: F.conv2d(x, w, b, stride=layer["stride"], padding=layer["pad"], groups=layer["groups"])
    pool = F.max_pool2d if layer["mode"] == "max" else F.avg_pool2d
    return lambda: pool(x, layer["kernel"], layer["stride"], layer["pad"])


def time_layer(torch, layer, pass_name, dtype, memory_format, s):
    x, w, b = make_inputs(torch, layer, dtype, memory_format)
    if pass_name == "fwd":
        with torch.no_grad():
            return measure(forward_fn(torch, layer, x, w, b), s)
    # Backward: one forward with the graph kept, then time only autograd.grad
    # (dx, and dw + db for a convolution).
    leaves = [t.requires_grad_() for t in (x, w, b) if t is not None]
    with torch.enable_grad():
        y = forward_fn(torch, layer, x, w, b)()
    dy = torch.randn_like(y)
    return measure(lambda: torch.autograd.grad(y, leaves, dy, retain_graph=True), s)


def time_worker(torch, spec):
    s = settings(spec)
    threads = spec["threads"][0]
    results = []
    for layer in spec["layers"]:
        dtypes = [d for d in spec["dtypes"] if d == "float32" or layer.get("big")]
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            for pass_name in spec["passes"]:
                for memory_format in FORMATS:
                    timing = time_layer(torch, layer, pass_name, dtype, memory_format, s)
                    results.append(dict(timing, layer=layer["name"], dtype=dtype_name, threads=threads,
                                        **{"pass": pass_name, "layout": memory_format}))
    latency = []
    if spec.get("latency"):
        tiny = spec["tinyLayer"]
        many_calls = latency_settings(spec)
        for memory_format in FORMATS:
            timing = time_layer(torch, tiny, "fwd", torch.float32, memory_format, many_calls)
            latency.append(dict(timing, threads=threads, layout=memory_format))
    return {"results": results, "latency": latency}


def peak_rss_kib():
    """VmHWM, the peak RSS of this address space (ru_maxrss would carry the parent's over fork + exec)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def rss_worker(torch, spec):
    layer = spec["rssLayer"]
    x, w, b = make_inputs(torch, layer, torch.float32, spec["memoryFormat"])
    baseline_kb = peak_rss_kib()
    with torch.no_grad():
        y = forward_fn(torch, layer, x, w, b)()
    peak_kb = peak_rss_kib()
    return {"rss": {"layout": spec["memoryFormat"], "threads": spec["threads"][0],
                    "baselineKiB": baseline_kb, "peakKiB": peak_kb,
                    "outputBytes": y.numel() * y.element_size()}}


def loaded_blas():
    """The BLAS library mapped into this process, resolved through Debian's alternatives."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.rsplit("/", 1)[-1]}
    return ", ".join(sorted({os.path.realpath(p) for p in paths})) or None


def worker(spec):
    import torch
    torch.set_num_threads(spec["threads"][0])
    report = rss_worker(torch, spec) if spec["worker"] == "rss" else time_worker(torch, spec)
    capability = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    report.update(torch=torch.__version__, mkldnn=torch.backends.mkldnn.is_available(),
                  capability=capability.group(1) if capability else None, blas=loaded_blas())
    return report


def main():
    spec = load_spec(sys.argv[1:])
    if spec.get("worker"):
        report = worker(spec)
    else:
        report = orchestrate(spec)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
