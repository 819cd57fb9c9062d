"""What `logprob_sum` means, the same for every sampler backend.

`logprob_sum` is the sum, over the tokens counted in the sample's
`completion_tokens`, of log p(token | prompt, tokens before it) under the
model's *raw* next-token distribution: the log-softmax of the model's logits as
they come out of the network, at temperature 1, with no top-k / top-p / min-p
truncation and no penalties. It does not depend on the decoding settings that
drew the sample, so scores compare across backends, temperatures and nucleus
settings (the samples themselves of course differ).

The tokens summed are exactly those counted in `completion_tokens`: every token
the engine generated, up to and including the one that completes a stop
sequence (whose text is cut), never a token after it. Whether an end-of-sequence
token counts is the engine's convention, kept as it is: llama.cpp does not
count it (nor its log-probability), vLLM does (it is in the output's
`token_ids`). `logprob_sum` is None where the engine cannot give this value
(vLLM's V0 engine returns log-probabilities after temperature and truncation;
a server that returns no `logprobs`); 0.0 for a sampled completion of no tokens.

Per backend:
- embedded (llama.cpp, `parallel: 1` and `parallel: N`): computed here, by
  `token_logprob`, from the logits llama.cpp returns for the step that drew the
  token (the logits the sampler chain draws from; reading them changes nothing).
  The same value as llama-cpp-python's completion `logprobs` option
  (log-softmax of the raw scores), without that option's costs (`logits_all`,
  a full-vocabulary sort per token).
- vllm: `SamplingParams(logprobs=0)` returns the sampled token's log-probability;
  vLLM's V1 engine computes it from the raw logits (`logprobs_mode`
  `raw_logprobs`, the default; another mode is refused).
- openai: the server's `token_logprobs` (completions) or `logprobs.content`
  (chat). llama.cpp's servers and vLLM (V1) report the raw value; other servers
  and hosted APIs report what they report (not checked here: some give the
  log-probability after temperature).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFINITION = "raw: log-softmax of the unmodified logits (temperature 1, no truncation)"


def log_normalisers(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(row))) of each row of a (rows, vocab) array of logits, in float64."""
    rows = np.atleast_2d(logits)
    top = rows.max(axis=1, keepdims=True)
    sums = np.exp(rows - top).sum(axis=1, dtype=np.float64)
    return top[:, 0].astype(np.float64) + np.log(sums)


def token_logprob(logits: np.ndarray, token: int) -> float:
    """log softmax(logits)[token] for one row of logits (temperature 1, no truncation)."""
    return float(logits[token]) - float(log_normalisers(logits)[0])


def tokens_through_stop(pieces: Sequence[str], stops: Sequence[str]) -> int | None:
    """How many tokens (given as their text pieces) up to and including the one whose
    text completes the first stop sequence; None when the pieces contain no stop sequence."""
    stops = [s for s in stops if s]
    if not stops:
        return None
    longest = max(len(s) for s in stops)
    text = ""
    for count, piece in enumerate(pieces, start=1):
        start = max(0, len(text) - longest)
        text += piece
        if any(text.find(s, start) >= 0 for s in stops):
            return count
    return None
