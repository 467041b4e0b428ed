"""One timed PyTorch training run for bench/vs-pytorch: a plain loop or PyTorch Lightning.

  python torch_worker.py --model mlp|cnn|transformer --mode plain|lightning --threads 2 \
      --warmup 20 --steps 200 [--device cpu|cuda] [--batch N] [--ops fused|composite]

Prints one JSON line: {"framework": ..., "model": ..., "samples_per_s": ..., ...}. The models, batch
sizes, optimizer (Adam 1e-3), data shapes and thread counts mirror bench/vs-pytorch/models.ts.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

SAMPLES = 4096  # synthetic data set size; epochs repeat over it
VOCAB, SEQ, D_MODEL, HEADS, D_FF = 64, 32, 64, 4, 256
BATCH = {"mlp": 128, "cnn": 64, "transformer": 32}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3)
        self.c2 = nn.Conv2d(16, 32, 3)
        self.fc = nn.Linear(32 * 5 * 5, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


# `--ops fused` (default): PyTorch's fused attention and LayerNorm kernels, what its users run.
# `--ops composite`: the same math from elementwise ops, reductions and matmuls, as Kiln's models.ts
# writes it (TensorFlow has neither kernel), so the two sides run equivalent ops.
OPS = "fused"


class CompositeLayerNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).square().mean(-1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + 1e-5) * self.weight + self.bias


def layer_norm(d):
    return nn.LayerNorm(d) if OPS == "fused" else CompositeLayerNorm(d)


def attention(q, k, v):
    if OPS == "fused":
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    t = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / (q.shape[-1] ** 0.5)
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()
    return scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v


class Block(nn.Module):
    """Pre-norm transformer block, causal self-attention, ReLU MLP (the same math as models.ts)."""

    def __init__(self):
        super().__init__()
        self.ln1 = layer_norm(D_MODEL)
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)
        self.ln2 = layer_norm(D_MODEL)
        self.ff1 = nn.Linear(D_MODEL, D_FF)
        self.ff2 = nn.Linear(D_FF, D_MODEL)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        heads = lambda z: z.view(b, t, HEADS, d // HEADS).transpose(1, 2)  # noqa: E731
        a = attention(heads(q), heads(k), heads(v))
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.ff2(F.relu(self.ff1(self.ln2(x))))


class CharTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Parameter(torch.zeros(SEQ, D_MODEL))
        self.blocks = nn.Sequential(Block(), Block())
        self.ln = layer_norm(D_MODEL)
        self.head = nn.Linear(D_MODEL, VOCAB)

    def forward(self, idx):
        x = self.blocks(self.tok(idx) + self.pos)
        return self.head(self.ln(x))


def make(model):
    g = torch.Generator().manual_seed(0)
    if model == "mlp":
        return MLP(), torch.rand(SAMPLES, 784, generator=g), torch.randint(0, 10, (SAMPLES,), generator=g)
    if model == "cnn":
        return CNN(), torch.rand(SAMPLES, 1, 28, 28, generator=g), torch.randint(0, 10, (SAMPLES,), generator=g)
    if model == "transformer":
        x = torch.randint(0, VOCAB, (SAMPLES, SEQ), generator=g)
        return CharTransformer(), x, torch.roll(x, -1, dims=1)
    raise SystemExit(f"--model must be mlp, cnn or transformer, got {model!r}")


def loss_fn(logits, y):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def sync(device):
    """Waits for queued GPU work, so a clock read covers the steps before it (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_plain(net, x, y, batch, warmup, steps, device):
    # the whole data set lives on the device, as Kiln's TensorDataset does on its backend
    net, x, y = net.to(device), x.to(device), y.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n = x.shape[0] // batch
    step = 0
    t0 = None
    while step < warmup + steps:
        perm = torch.randperm(x.shape[0], device=device)
        for i in range(n):
            if step == warmup:
                sync(device)
                t0 = time.perf_counter()
                c0 = time.process_time()
            if step == warmup + steps:
                break
            idx = perm[i * batch : (i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            step += 1
    loss.item()
    return time.perf_counter() - t0, time.process_time() - c0


def run_lightning(net, x, y, batch, warmup, steps, device):
    import lightning as L

    class Lit(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net

        def training_step(self, b, _i):
            xb, yb = b
            loss = loss_fn(self.net(xb), yb)
            self.log("train/loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class Clock(L.Callback):
        t0 = t1 = c0 = c1 = None

        def on_train_batch_end(self, trainer, *_a):
            if trainer.global_step == warmup:
                sync(device)
                Clock.t0, Clock.c0 = time.perf_counter(), time.process_time()
            if trainer.global_step == warmup + steps:
                sync(device)
            Clock.t1, Clock.c1 = time.perf_counter(), time.process_time()

    # A batched sampler: the loader indexes the tensors once per batch, as the plain loop and Kiln's
    # TensorDataset do, instead of fetching and stacking `batch` samples one by one (3-7% faster here).
    ds = torch.utils.data.TensorDataset(x, y)
    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(ds), batch, drop_last=True)
    data = torch.utils.data.DataLoader(ds, sampler=sampler, batch_size=None)
    trainer = L.Trainer(
        max_steps=warmup + steps,
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[Clock()],
    )
    trainer.fit(Lit(), data)
    return Clock.t1 - Clock.t0, Clock.c1 - Clock.c0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--mode", choices=["plain", "lightning"], required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch", type=int, help="overrides BATCH[model] (GPU-sized batches), at most SAMPLES")
    p.add_argument("--ops", choices=["fused", "composite"], default="fused")
    a = p.parse_args()
    global OPS
    OPS = a.ops
    if a.batch is not None and not 1 <= a.batch <= SAMPLES:
        raise SystemExit(f"--batch must be in [1, {SAMPLES}], got {a.batch}")
    device = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    net, x, y = make(a.model)
    batch = a.batch or BATCH[a.model]
    fn = run_plain if a.mode == "plain" else run_lightning
    seconds, cpu_seconds = fn(net, x, y, batch, a.warmup, a.steps, device)
    print(
        json.dumps(
            {
                "framework": "pytorch" if a.mode == "plain" else "lightning",
                "model": a.model,
                "batch": batch,
                "steps": a.steps,
                "seconds": seconds,
                "samples_per_s": a.steps * batch / seconds,
                "cpu_seconds": cpu_seconds,
                "samples_per_cpu_s": a.steps * batch / cpu_seconds,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                "params": sum(p.numel() for p in net.parameters()),
                "ops": OPS,
            }
        )
    )


if __name__ == "__main__":
    main()
