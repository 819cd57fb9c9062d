"""Batched CPU sampling with llama.cpp: the samples of a prompt decoded side by side.

The samples of a prompt are drawn in aligned blocks of up to `parallel`
sample indices, [b*parallel, (b+1)*parallel). For each block, one llama.cpp
context (one unified KV cache holding `parallel + 1` sequences) is cleared,
the prompt (all tokens but the last) is evaluated once into sequence 0 and
shared with sequences 1..B (`llama_memory_seq_cp` tags the same cells, no
copy), and the B sequences are decoded together, one token each per step. A
step then multiplies each weight matrix with B activation rows instead of one,
which is where the speed-up over one-sequence-at-a-time decoding comes from.

Tokens are drawn here, not by llama.cpp's sampler chain, from the logits
llama.cpp returns, with one `numpy.random.Generator(PCG64(seed))` per sample
(its request's seed) and llama.cpp's order of filters: top-k, top-p (on the
temperature-1 distribution), min-p, then temperature (`sample_token`). Each
drawn token's log-probability under the raw distribution of its row (see
`monkeys.sampling.logprobs`) is added to its sample's `logprob_sum`; the draw
does not use it, so recording it changes no sample.

With `block` larger than `parallel` (a multiple of it), a block of `block`
sample indices is drawn through `parallel` slots with refill: when a sample
stops (a stop sequence, end of text), its cells are dropped, the prompt's cells
are shared with its slot again, and the block's next sample starts there in the
next step. Stop sequences end samples at very different lengths, so without
refill a block's last steps decode only a few rows; with it the batch stays
full until the block runs out of samples.

Determinism: every block starts from an empty cache and runs the same sequence
of operations, so a sample is a function of (model, prompt, sampling params,
its seed, and the requests of its block): it does not depend on what the
process ran before. When `samples_per_shard` is a multiple of `parallel`,
shard boundaries never cut a block and samples do not depend on the shard
layout (with refill, the same holds for `block`). llama.cpp's CPU kernels may
round differently for different numbers of rows, so `parallel: P` is a
different engine setting from `parallel: 1` (the one-at-a-time sampler): its
samples differ, and changing `parallel` re-samples.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monkeys.sampling.base import SampleRequest, SampleResult, SamplingParams
from monkeys.sampling.embedded import EmbeddedModelError, check_build, llama_info, model_file
from monkeys.sampling.logprobs import log_normalisers

PROMPT_CHUNK = 512  # prompt tokens per decode call (also the context's batch size)
_WINDOWS = (4.0, 8.0, 16.0, 32.0, 64.0)  # logit distances below the max tried for top-p


def blocks_of(indices: Sequence[int], parallel: int) -> list[list[int]]:
    """Group sample indices (sorted) into aligned blocks of `parallel`: [b*P, (b+1)*P)."""
    groups: dict[int, list[int]] = {}
    for index in sorted(indices):
        groups.setdefault(index // parallel, []).append(index)
    return [groups[key] for key in sorted(groups)]


def _ranked(logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """`ids` ordered by logit (descending), ties by token id (ascending)."""
    return ids[np.lexsort((ids, -logits[ids]))]


def sample_token(logits: np.ndarray, params: SamplingParams, rng: np.random.Generator) -> int:
    """Draw one token id from a row of logits with llama.cpp's filter order.

    top-k (0: off), then top-p on the temperature-1 probabilities (keep the
    highest-ranked tokens until their mass reaches top_p), then min-p (keep
    tokens with probability >= min_p * the largest), then temperature; the draw
    is one `rng.random()` against the cumulative weights of the kept tokens in rank
    order (token id order when neither top-k nor top-p applies).
    Temperature 0 is greedy (lowest id among equal maxima).
    """
    if params.temperature <= 0:
        return int(np.argmax(logits))
    top = float(logits.max())
    if 0 < params.top_k < logits.size:
        ids = np.argpartition(logits, -params.top_k)[-params.top_k :]
        kept = _ranked(logits, ids)
        if params.top_p < 1.0:
            weights = np.exp(logits[kept].astype(np.float64) - top)
            cut = np.searchsorted(np.cumsum(weights), params.top_p * weights.sum())
            kept = kept[: cut + 1]
    elif params.top_p < 1.0:
        weights = np.exp(logits - np.float32(top))
        target = params.top_p * float(weights.sum(dtype=np.float64))
        kept = None
        for window in _WINDOWS:
            ids = np.flatnonzero(logits >= top - window)
            if float(weights[ids].sum(dtype=np.float64)) >= target:
                kept = _ranked(logits, ids)
                break
        if kept is None:
            kept = _ranked(logits, np.arange(logits.size))
        cumulative = np.cumsum(weights[kept], dtype=np.float64)
        kept = kept[: int(np.searchsorted(cumulative, target)) + 1]
    else:
        kept = np.arange(logits.size)  # no ranking filter: any fixed order draws the same law
    if params.min_p > 0:
        kept = kept[logits[kept] >= top + np.log(params.min_p)]
    scaled = np.exp((logits[kept].astype(np.float64) - top) / params.temperature)
    cumulative = np.cumsum(scaled)
    choice = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return int(kept[min(choice, kept.size - 1)])


class _Sequence:
    """One sample being decoded: its random generator, tokens and text so far."""

    def __init__(self, slot: int, request: SampleRequest, max_tokens: int):
        self.slot = slot
        self.request = request
        self.rng = np.random.Generator(np.random.PCG64(request.seed))
        self.max_tokens = max_tokens
        self.tokens: list[int] = []
        self.logprob = 0.0  # of the tokens in `tokens`
        self.data = b""
        self.text = ""
        self.finish: str | None = None


class LlamaBatchedSampler:
    """Draws the samples of each prompt in blocks of `block` samples (default `parallel`), with
    `parallel` sequences decoded together."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        name: str,
        threads: int,
        context_length: int,
        parallel: int,
        block: int | None = None,
    ):
        try:
            import llama_cpp
            from llama_cpp import _internals, _logger
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise EmbeddedModelError(
                "llama-cpp-python is not installed; run `pip install -e .` in the repository"
            ) from exc
        if parallel < 1:
            raise ValueError("parallel must be >= 1")
        block = parallel if block is None else block
        if block < parallel or block % parallel:
            raise ValueError(f"block ({block}) must be a multiple of parallel ({parallel})")
        self.block = block
        path = model_file(model_path)
        check_build(path)
        _logger.set_verbose(False)  # llama.cpp's own log lines would flood the job log
        self._lib = llama_cpp
        self.parallel = parallel
        self._context_length = context_length
        try:
            self._model = _internals.LlamaModel(
                path_model=str(path), params=llama_cpp.llama_model_default_params(), verbose=False
            )
            params = llama_cpp.llama_context_default_params()
            params.n_seq_max = parallel + 1
            params.kv_unified = True  # the prompt's cells are shared by all sequences
            # The prompt once, plus up to context_length tokens for each sequence.
            params.n_ctx = context_length * (parallel + 1)
            params.n_batch = max(PROMPT_CHUNK, parallel)
            params.n_ubatch = max(PROMPT_CHUNK, parallel)
            params.n_threads = threads
            params.n_threads_batch = threads
            params.no_perf = True
            self._ctx = _internals.LlamaContext(model=self._model, params=params, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise EmbeddedModelError(f"llama.cpp could not load {path}: {exc}") from exc
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._vocab = self._model.vocab
        self._n_vocab = self._model.n_vocab()
        self._batch = llama_cpp.llama_batch_init(max(PROMPT_CHUNK, parallel), 0, 1)
        self.info = llama_info(
            name,
            path,
            threads,
            context_length,
            "llama-cpp-python (batched sequences, numpy sampling)",
            parallel=parallel,
            **({"block": block} if block != parallel else {}),
        )

    def close(self) -> None:
        """Free the batch, context and model."""
        if getattr(self, "_batch", None) is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
            self._ctx.close()
            self._model.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    # -- low-level helpers -------------------------------------------------

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """Decode one batch of (token, position, sequence, want_logits) entries."""
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        code = self._lib.llama_decode(self._ctx.ctx, batch)
        if code != 0:
            raise EmbeddedModelError(f"llama_decode failed with code {code}")

    def _piece(self, token: int) -> bytes:
        """The bytes of one token (no special tokens rendered, no space stripped)."""
        buf = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def _logits(self, rows: int) -> np.ndarray:
        pointer = self._lib.llama_get_logits(self._ctx.ctx)
        return np.ctypeslib.as_array(pointer, shape=(rows, self._n_vocab))

    def _prepare(self, tokens: list[int], slots: int) -> None:
        """Empty the cache, evaluate all prompt tokens but the last, share them with 1..slots."""
        self._lib.llama_memory_clear(self._memory, True)
        body = tokens[:-1]
        for start in range(0, len(body), PROMPT_CHUNK):
            chunk = body[start : start + PROMPT_CHUNK]
            self._decode([(tok, start + i, 0, False) for i, tok in enumerate(chunk)])
        for slot in range(1, slots + 1):
            self._lib.llama_memory_seq_cp(self._memory, 0, slot, -1, -1)

    # -- sampling -----------------------------------------------------------

    def _block(
        self, requests: list[SampleRequest], tokens: list[int], params: SamplingParams, budget: int
    ) -> list[_Sequence]:
        lib = self._lib
        slots = min(self.parallel, len(requests))
        self._prepare(tokens, slots)
        max_tokens = min(params.max_tokens, budget)
        seqs = [
            _Sequence(slot, request, max_tokens) for slot, request in enumerate(requests[:slots], start=1)
        ]
        waiting = list(requests[slots:])  # take a slot as one frees, in sample-index order
        stops = list(params.stop)
        longest_stop = max((len(s) for s in stops), default=0)
        last = len(tokens) - 1
        active = list(seqs)
        self._decode([(tokens[-1], last, s.slot, True) for s in active])
        while active:
            logits = self._logits(len(active))
            normalisers = log_normalisers(logits)
            following = []
            for row, seq in enumerate(active):
                token = sample_token(logits[row], params, seq.rng)
                if lib.llama_vocab_is_eog(self._vocab, token):
                    seq.finish = "stop"
                    continue
                seq.tokens.append(token)
                seq.logprob += float(logits[row, token]) - float(normalisers[row])
                before = len(seq.text)
                seq.data += self._piece(token)
                seq.text = seq.data.decode("utf-8", errors="ignore")
                if stops:
                    offset = max(0, before - longest_stop)
                    hits = [i for i in (seq.text.find(s, offset) for s in stops) if i >= 0]
                    if hits:
                        seq.text = seq.text[: min(hits)]
                        seq.finish = "stop"
                        continue
                if len(seq.tokens) >= seq.max_tokens:
                    seq.finish = "length"
                    continue
                following.append(seq)
            entries = [(s.tokens[-1], last + len(s.tokens), s.slot, True) for s in following]
            for seq in active:
                if seq.finish is None or not waiting:
                    continue
                lib.llama_memory_seq_rm(self._memory, seq.slot, -1, -1)
                lib.llama_memory_seq_cp(self._memory, 0, seq.slot, -1, -1)
                fresh = _Sequence(seq.slot, waiting.pop(0), max_tokens)
                seqs.append(fresh)
                following.append(fresh)
                entries.append((tokens[-1], last, fresh.slot, True))
            active = following
            if active:
                self._decode(entries)
        return seqs

    def sample(self, requests: Sequence[SampleRequest], params: SamplingParams) -> list[SampleResult]:
        """One completion per request, in request order; requests grouped by problem."""
        results: dict[int, SampleResult] = {}
        order: dict[str, list[int]] = {}
        for position, request in enumerate(requests):
            order.setdefault(request.problem_id, []).append(position)
        for positions in order.values():
            prompt = requests[positions[0]].prompt
            tokens = self._model.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
            budget = self._context_length - len(tokens)
            by_index = {requests[p].sample_index: p for p in positions}
            if len(by_index) != len(positions):
                raise ValueError("duplicate sample index for one problem")
            for block in blocks_of(list(by_index), self.block):
                started = time.perf_counter()
                block_requests = [requests[by_index[i]] for i in block]
                if budget < 1:
                    for request in block_requests:
                        results[by_index[request.sample_index]] = SampleResult(
                            "", "prompt_too_long", len(tokens), 0, 0.0
                        )
                    continue
                seqs = self._block(block_requests, tokens, params, budget)
                share = (time.perf_counter() - started) / len(seqs)
                for seq in seqs:
                    results[by_index[seq.request.sample_index]] = SampleResult(
                        completion=seq.text,
                        finish_reason=seq.finish or "length",
                        prompt_tokens=len(tokens),
                        completion_tokens=len(seq.tokens),
                        wall_s=share,
                        logprob_sum=seq.logprob,
                    )
        return [results[i] for i in range(len(requests))]
