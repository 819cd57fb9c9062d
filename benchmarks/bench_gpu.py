"""GPU decode throughput against the memory-bandwidth bound, with the PyTorch + transformers stack.

    python benchmarks/bench_gpu.py --json out.json                  # on a CUDA machine
    python benchmarks/bench_gpu.py --device cpu --tiny              # a quick check of the script

vLLM is the workflow's GPU backend, but where it cannot be installed (no network on
the lent GPU machine, wheels too large to carry) this measures the same thing with
the stack that is there, three ways, at batch 1, 16 and 64: Hugging Face `generate`
(eager, dynamic KV cache, sampling T=0.8, top_p=0.95, a fixed number of new tokens),
plain forward calls in a Python loop (greedy), and one CUDA graph per decode step
(static KV cache, greedy, next token and position updated on the GPU), which removes
the per-kernel launch cost that dominates the first two, as serving engines do.

Models are built from their architecture with random weights (bf16), because the
weights cannot travel with the job: decode speed depends on the shapes, not the
values, and every sequence is forced to the same length (min_new_tokens). Shapes:

- gemma3-270m: Gemma 3 270M as in the embedded GGUF (18 layers, hidden 640, 4 heads,
  1 KV head of 256, FFN 2048, vocab 262,144 tied, sliding window 512 on 5 of 6 layers);
- llama3-8b: Llama 3 8B (32 layers, hidden 4096, 32 heads, 8 KV heads, FFN 14,336,
  vocab 128,256).

Bound: a decode step reads every weight once (B sequences share that read) plus each
sequence's KV cache, so tokens/s <= B * bandwidth / (weight bytes + B * KV bytes per
sequence), with the bandwidth measured here by a device-to-device copy (bytes read +
written). For `generate`, decode time is generate(N new tokens) minus generate(1 new
token) (the prefill); the other two time the decode steps alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time


def shapes(tiny: bool):
    from transformers import Gemma3TextConfig, LlamaConfig

    if tiny:
        return {
            "gemma3-tiny": Gemma3TextConfig(
                vocab_size=1024,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=16,
                sliding_window=32,
                max_position_embeddings=1024,
            ),
            "llama-tiny": LlamaConfig(
                vocab_size=1024,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=1024,
            ),
        }
    return {
        "gemma3-270m": Gemma3TextConfig(
            vocab_size=262144,
            hidden_size=640,
            intermediate_size=2048,
            num_hidden_layers=18,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=256,
            sliding_window=512,
            max_position_embeddings=32768,
            rope_theta=1_000_000.0,
            tie_word_embeddings=True,
        ),
        "llama3-8b": LlamaConfig(
            vocab_size=128256,
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=8,
            max_position_embeddings=8192,
            rope_theta=500000.0,
            tie_word_embeddings=False,
        ),
    }


def bandwidth(torch, device: str, gib: float) -> float:
    """Bytes per second of a device-to-device copy, counting bytes read and written."""
    n = int(gib * 2**30) // 4
    src = torch.empty(n, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(torch, device)
    reps = 10
    started = time.perf_counter()
    for _ in range(reps):
        dst.copy_(src)
    sync(torch, device)
    seconds = time.perf_counter() - started
    del src, dst
    return 2 * n * 4 * reps / seconds


def sync(torch, device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def kv_bytes_per_token(config, element: int) -> float:
    """KV cache bytes one sequence reads per decode step and context token (full-attention layers)."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return 2 * config.num_key_value_heads * head_dim * element


def kv_read(config, context: float, element: int) -> float:
    """KV bytes one sequence reads in a step at `context` tokens (sliding layers capped at the window)."""
    per = kv_bytes_per_token(config, element)
    types = getattr(config, "layer_types", None) or ["full_attention"] * config.num_hidden_layers
    window = getattr(config, "sliding_window", None) or context
    return sum(per * (min(context, window) if t == "sliding_attention" else context) for t in types)


def timed_generate(torch, model, ids, n: int, device: str) -> float:
    """Seconds for generate() of exactly `n` new tokens per sequence (sampling, T=0.8, top_p=0.95)."""
    sync(torch, device)
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=True,
            temperature=0.8,
            top_p=0.95,
            pad_token_id=0,
        )
    sync(torch, device)
    assert out.shape == (ids.shape[0], ids.shape[1] + n), out.shape
    return time.perf_counter() - started


def measure(torch, name, config, *, device, dtype, batches, prompt_tokens, new_tokens, bw) -> list[dict]:
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.eval()
    sync(torch, device)
    build_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    element = torch.empty((), dtype=dtype).element_size()
    rows = []
    for batch in batches:
        ids = torch.randint(10, config.vocab_size, (batch, prompt_tokens), device=device)
        timed_generate(torch, model, ids, 4, device)  # warm-up (kernels, allocator)
        prefill = min(timed_generate(torch, model, ids, 1, device) for _ in range(2))
        full = timed_generate(torch, model, ids, new_tokens, device)
        context = prompt_tokens + new_tokens / 2
        step_bytes = weight_bytes + batch * kv_read(config, context, element)
        bound = batch * bw / step_bytes
        steps = {"generate": max(full - prefill, 1e-9) / (new_tokens - 1)}
        for method, run in (("forward loop", forward_loop), ("CUDA graph", graph_loop)):
            if method == "CUDA graph" and not device.startswith("cuda"):
                continue
            try:
                steps[method] = run(torch, model, config, ids, new_tokens, device)
            except Exception as exc:  # report and go on: the other numbers still stand
                print(f"  {name} batch {batch}: {method} failed: {type(exc).__name__}: {exc}", flush=True)
        for method, step in steps.items():
            rows.append(
                {
                    "model": name,
                    "params": params,
                    "weight_bytes": weight_bytes,
                    "batch": batch,
                    "method": method,
                    "prompt_tokens": prompt_tokens,
                    "new_tokens": new_tokens,
                    "prefill_s": prefill,
                    "ms_per_step": 1000 * step,
                    "tokens_s": batch / step,
                    "bound_tokens_s": bound,
                    "fraction_of_bound": batch / step / bound,
                    "build_s": build_s,
                }
            )
            print(
                f"  {name} batch {batch} {method}: {batch / step:,.0f} tokens/s "
                f"({1000 * step:.2f} ms/step), bound {bound:,.0f}",
                flush=True,
            )
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return rows


def _static_cache(config, model, batch: int, length: int):
    from transformers import StaticCache

    try:
        return StaticCache(config=config, max_cache_len=length)
    except TypeError:  # older signatures
        return StaticCache(
            config=config, max_batch_size=batch, max_cache_len=length, device=model.device, dtype=model.dtype
        )


def forward_loop(torch, model, config, ids, new_tokens: int, device: str) -> float:
    """Seconds per decode step of plain forward calls (greedy, dynamic cache), no generate()."""
    with torch.no_grad():
        out = model(ids, use_cache=True)
        cache = out.past_key_values
        token = out.logits[:, -1:].argmax(-1)
        for _ in range(3):
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
        sync(torch, device)
        started = time.perf_counter()
        for _ in range(new_tokens - 1):
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
        sync(torch, device)
    return (time.perf_counter() - started) / (new_tokens - 1)


def graph_loop(torch, model, config, ids, new_tokens: int, device: str) -> float:
    """Seconds per decode step replaying one CUDA graph of a step (static cache, greedy,
    next token and position updated on the GPU), i.e. without per-kernel launch overhead."""
    batch, prompt = ids.shape
    cache = _static_cache(config, model, batch, prompt + new_tokens + 8)
    with torch.no_grad():
        out = model(
            ids, past_key_values=cache, use_cache=True, cache_position=torch.arange(prompt, device=device)
        )
        token = out.logits[:, -1:].argmax(-1)
        position = torch.tensor([prompt], device=device)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up outside the graph (advances the cache by 2)
                logits = model(token, past_key_values=cache, cache_position=position, use_cache=True).logits
                token.copy_(logits[:, -1:].argmax(-1))
                position.add_(1)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logits = model(token, past_key_values=cache, cache_position=position, use_cache=True).logits
            token.copy_(logits[:, -1:].argmax(-1))
            position.add_(1)
        steps = new_tokens - 6
        graph.replay()
        sync(torch, device)
        started = time.perf_counter()
        for _ in range(steps):
            graph.replay()
        sync(torch, device)
    return (time.perf_counter() - started) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--models", default=None, help="comma-separated (default: all)")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--copy-gib", type=float, default=2.0)
    parser.add_argument("--tiny", action="store_true", help="tiny shapes, for a CPU check")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    import torch
    import transformers

    dtype = torch.bfloat16
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
    info = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": (
            torch.cuda.get_device_name()
            if args.device.startswith("cuda")
            else platform.processor() or platform.machine()
        ),
    }
    bw = bandwidth(torch, args.device, args.copy_gib)
    print(
        f"{info['device']}: copy bandwidth {bw / 1e12:.2f} TB/s (read + write); torch "
        f"{info['torch']}, transformers {info['transformers']}",
        flush=True,
    )
    models = shapes(args.tiny)
    if args.models:
        models = {k: v for k, v in models.items() if k in args.models.split(",")}
    rows = []
    for name, config in models.items():
        rows += measure(
            torch,
            name,
            config,
            device=args.device,
            dtype=dtype,
            batches=[int(b) for b in args.batches.split(",")],
            prompt_tokens=args.prompt_tokens,
            new_tokens=args.new_tokens,
            bw=bw,
        )
    print(
        f"\n{info['device']}, bf16, prompt {args.prompt_tokens} + {args.new_tokens} new tokens, "
        f"measured copy bandwidth {bw / 1e12:.2f} TB/s; decode loops: HF generate (eager, "
        "sampling), plain forward calls (greedy), one CUDA graph per step (static cache, greedy)"
    )
    print(
        "| model | params | batch | decode loop | ms/step | tokens/s | bandwidth bound tokens/s | of bound |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['params'] / 1e6:,.0f}M | {r['batch']} | {r['method']} | "
            f"{r['ms_per_step']:.2f} | {r['tokens_s']:,.0f} | {r['bound_tokens_s']:,.0f} | "
            f"{100 * r['fraction_of_bound']:.1f}% |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"info": info, "bandwidth_bytes_s": bw, "args": vars(args), "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
