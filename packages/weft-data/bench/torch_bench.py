"""The PyTorch side of `bench:loader` and `bench:memory`: the same workloads through torch's DataLoader.

Run by the TypeScript benchmarks when torch is importable (never by `npm test`); prints one JSON object.

  python3 torch_bench.py loader REPS   per-batch overhead (trivial items, batch 256, 2 workers) and the
                                       throughput of ~0.2 ms items, batch 64, in-process and 2 workers
  python3 torch_bench.py memory MIB N  PSS of the process and its N workers after an epoch over a
                                       TensorDataset of MIB MiB (one process per N: PSS splits pages
                                       shared with any other live process)
"""

import json
import os
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.data._utils.collate import default_collate

torch.set_num_threads(1)


class Trivial(Dataset):
    """Item i is i: nothing but the loader's own cost."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def spin(k, seed):
    """The busy loop of loader-data.ts: k steps of the same 32-bit LCG."""
    x = seed & 0xFFFFFFFF
    for _ in range(k):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
    return x


class CpuBound(Dataset):
    """Item i costs k busy-loop steps and is `dim` float32s derived from the result."""

    def __init__(self, n, k, dim):
        self.n, self.k, self.dim = n, k, dim

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = spin(self.k, i)
        return torch.tensor([((x >> d) & 255) / 255 for d in range(self.dim)], dtype=torch.float32)


def epoch_ms(loader):
    t = time.perf_counter()
    for _ in loader:
        pass
    return (time.perf_counter() - t) * 1000


def calibrate(target_ms):
    k = 100
    while True:
        t = time.perf_counter()
        for i in range(50):
            spin(k, i)
        per_item = (time.perf_counter() - t) * 1000 / 50
        if per_item > 0.05:
            return round(k * target_ms / per_item)
        k *= 4


def loader(reps):
    batches = 500
    trivial = Trivial(256 * batches)
    trivial2 = DataLoader(trivial, batch_size=256, num_workers=2, persistent_workers=True)
    epoch_ms(trivial2)

    def bare_ms():
        t = time.perf_counter()
        for b in range(batches):
            default_collate([trivial[b * 256 + i] for i in range(256)])
        return (time.perf_counter() - t) * 1000

    items, dim = 64 * 40, 16
    k = statistics.median([calibrate(0.2) for _ in range(3)])
    cpu = CpuBound(items, k, dim)
    cpu0 = DataLoader(cpu, batch_size=64)
    cpu2 = DataLoader(cpu, batch_size=64, num_workers=2, persistent_workers=True)
    epoch_ms(cpu2)
    r = {"w2": [], "bare": [], "c0": [], "c2": []}
    for _ in range(reps):
        r["w2"].append(epoch_ms(trivial2))
        r["bare"].append(bare_ms())
        r["c0"].append(epoch_ms(cpu0))
        r["c2"].append(epoch_ms(cpu2))
    m = {key: statistics.median(v) for key, v in r.items()}
    return {
        "torch": torch.__version__,
        "overhead_us_per_batch": max(0.0, m["w2"] - m["bare"]) * 1000 / batches,
        "in_process_samples_per_s": items / m["c0"] * 1000,
        "workers2_samples_per_s": items / m["c2"] * 1000,
        "speedup_2_workers": m["c0"] / m["c2"],
        "ms_per_item": m["c0"] / items,
    }


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def memory(mib, workers):
    """PSS of the main process and its workers, in MiB, after an epoch over a TensorDataset of MIB MiB."""
    rows = mib * 1024 * 1024 // (4 * 256)
    dataset = TensorDataset(torch.rand(rows, 256), torch.arange(rows, dtype=torch.int32))
    loader = DataLoader(dataset, batch_size=256, num_workers=workers, persistent_workers=workers > 0)
    it = iter(loader)
    for _ in it:
        pass
    pids = [os.getpid()] + ([w.pid for w in it._workers] if workers > 0 else [])
    return {"torch": torch.__version__, "pss_mib": sum(pss_kib(p) for p in pids) / 1024}


if __name__ == "__main__":
    mode, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    print(json.dumps(loader(*args) if mode == "loader" else memory(*args)))
