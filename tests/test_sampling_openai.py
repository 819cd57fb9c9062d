"""The `openai` backend against a real OpenAI-compatible server: llama.cpp's, started here.

The server (`python -m llama_cpp.server`, from the `server` extra; `conftest.llama_server`)
runs the embedded Gemma 3 270M on 127.0.0.1 with a free port and is stopped by its PID. A small proxy in
this file sits in front of it to inject errors (500/429/503/400, slow answers) and to
record what the client sends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import llama_server

from monkeys.datasets.registry import DATASETS, normalise
from monkeys.datasets.sources import read_source
from monkeys.sampling.base import SampleRequest, SamplingParams
from monkeys.sampling.logprobs import tokens_through_stop
from monkeys.sampling.openai_api import (
    OpenAIBackendError,
    OpenAISampler,
    apply_stops,
    choice_logprobs,
    scored_tokens,
    split_tokens,
)
from monkeys.sampling.weights import resolve_weights, write_manifest
from monkeys.stages.sample import sample_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES

pytest.importorskip("uvicorn", reason="needs the server extra: pip install -e '.[test]'")

PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=8, stop=("\ndef ", "\n#"))
PROMPT = 'def add(x: int, y: int) -> int:\n    """Add two numbers."""\n'


@pytest.fixture(scope="module")
def server():
    """A real llama.cpp OpenAI-compatible server on loopback; yields its base URL."""
    with llama_server() as base:
        yield base


class Proxy:
    """Forwards POSTs to `upstream`; `plan(n, body)` -> (status, delay_s) may answer instead:
    an HTTP error status, "canned" (a fixed completion), or None (forward), after delay_s."""

    def __init__(self, upstream: str, plan):
        self.upstream = upstream.rstrip("/")
        self.plan = plan
        self.seen: list[dict] = []
        self.headers: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with proxy.lock:
                    n = len(proxy.seen)
                    proxy.seen.append(json.loads(body))
                    proxy.headers.append(dict(self.headers))
                status, delay = proxy.plan(n, json.loads(body))
                if delay:
                    time.sleep(delay)
                if status == "canned":  # a fixed answer, without the upstream server
                    status = 200
                    payload = json.dumps(
                        {
                            "choices": [{"index": 0, "text": " return x + y\n", "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 20, "completion_tokens": 6},
                        }
                    )
                    payload = payload.encode()
                    self.send_response(status)
                elif status is not None:
                    payload = json.dumps({"error": {"message": f"injected {status}"}}).encode()
                    self.send_response(status)
                    if status == 429:
                        self.send_header("Retry-After", "0")
                else:
                    path = self.path.removeprefix("/v1")
                    request = urllib.request.Request(
                        proxy.upstream + path, data=body, headers={"Content-Type": "application/json"}
                    )
                    with urllib.request.urlopen(request, timeout=60) as reply:
                        payload = reply.read()
                        status = reply.status
                    self.send_response(status)
                with proxy.lock:
                    proxy.statuses.append(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(server):
    made = []

    def make(plan=lambda n, body: (None, 0)):
        made.append(Proxy(server, plan))
        return made[-1]

    yield make
    for p in made:
        p.close()


def _sampler(url: str, **extra) -> OpenAISampler:
    config = {
        "base_url": url,
        "model": "gemma",
        "max_concurrency": 2,
        "max_retries": 2,
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "timeout_s": 60,
        **extra,
    }
    return OpenAISampler(name="gemma-server", config=config)


def _requests(problems=("p0", "p1"), samples=2):
    return [
        SampleRequest(p, PROMPT, i, 100 + 10 * k + i) for k, p in enumerate(problems) for i in range(samples)
    ]


def test_real_server_completions(server):
    results = _sampler(server).sample(_requests(), PARAMS)
    assert len(results) == 4
    for result in results:
        assert result.prompt_tokens > 10 and 0 < result.completion_tokens <= 8
        assert result.finish_reason in ("stop", "length")
        assert "\ndef " not in result.completion
        assert result.logprob_sum is not None and result.logprob_sum < 0
    assert any(r.completion.strip() for r in results)
    # Without `logprobs` the client asks for none and records none. (Whether the tokens are
    # the same is the server's business: llama.cpp's depend on its prompt cache and batch
    # layout, so two runs of the same seeded request can differ in float rounding; the
    # embedded samplers' tests check that recording log-probabilities changes no token.)
    plain = _sampler(server, logprobs=False).sample(_requests(), PARAMS)
    assert len(plain) == len(results) and all(r.logprob_sum is None for r in plain)


def test_logprobs_stop_at_a_stop_the_server_did_not_apply(proxy):
    """Stops beyond `stop_limit` are cut here: completion_tokens and logprob_sum then cover the
    tokens through the one that completes the stop sequence, the same as when the server
    applies the stop itself (same seed, same tokens)."""
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=16, stop=("\n",))
    request = [SampleRequest("p0", PROMPT, 0, 21)]
    p = proxy()
    [served] = _sampler(p.url).sample(request, params)
    [cut] = _sampler(p.url, stop_limit=0).sample(request, params)
    assert "stop" not in p.seen[1] and p.seen[0]["stop"] == ["\n"]
    assert served.finish_reason == "stop" and 0 < served.completion_tokens < params.max_tokens
    assert (cut.completion, cut.finish_reason) == (served.completion, "stop")
    assert cut.completion_tokens == served.completion_tokens
    assert cut.logprob_sum == pytest.approx(served.logprob_sum, abs=1e-6)
    # The server itself went on past the stop: those tokens are not counted.
    raw = _sampler(p.url, stop_limit=0)._post(p.seen[1])
    assert raw["usage"]["completion_tokens"] > cut.completion_tokens
    assert len(raw["choices"][0]["logprobs"]["token_logprobs"]) > cut.completion_tokens


def test_retries_on_500_and_429_then_success(proxy):
    attempts: dict[str, int] = {}

    def plan(n, body):
        key = json.dumps(body, sort_keys=True)
        attempts[key] = attempts.get(key, 0) + 1
        return {1: (500, 0), 2: (429, 0)}.get(attempts[key], (None, 0))

    p = proxy(plan)
    sampler = _sampler(p.url)
    results = sampler.sample(_requests(samples=1), PARAMS)
    assert len(results) == 2 and all(r.completion_tokens > 0 for r in results)
    assert p.statuses.count(500) == 2 and p.statuses.count(429) == 2 and p.statuses.count(200) == 2
    assert sampler.stats == {"requests": 2, "attempts": 6, "retries": 4}
    # Every request carries its own sample's seed.
    assert sorted({b["seed"] for b in p.seen}) == [100, 110]


def test_timeouts_are_retried(proxy):
    # The first answer comes after the client's timeout; the retry gets an answer at once.
    p = proxy(lambda n, body: ("canned", 3) if n == 0 else ("canned", 0))
    sampler = _sampler(p.url, timeout_s=1, max_concurrency=1)
    [result] = sampler.sample(_requests(("p0",), 1), PARAMS)
    assert result.completion == " return x + y\n" and result.completion_tokens == 6
    assert sampler.stats["retries"] == 1 and len(p.seen) == 2


def test_clear_failure_after_the_retry_limit(proxy):
    p = proxy(lambda n, body: (503, 0))
    sampler = _sampler(p.url, max_concurrency=1)
    with pytest.raises(OpenAIBackendError, match=r"giving up after 3 attempts; last error: HTTP 503"):
        sampler.sample(_requests(("p0",), 1), PARAMS)
    assert p.statuses == [503, 503, 503]


def test_client_errors_are_not_retried(proxy):
    p = proxy(lambda n, body: (400, 0))
    with pytest.raises(OpenAIBackendError, match="HTTP 400"):
        _sampler(p.url).sample(_requests(("p0",), 1), PARAMS)
    assert p.statuses == [400]


def test_server_ignoring_n_is_detected(server):
    with pytest.raises(OpenAIBackendError, match="does not honour `n`"):
        _sampler(server, n_per_request=2).sample(_requests(("p0",), 2), PARAMS)


def test_api_key_from_environment_never_logged(proxy, monkeypatch, caplog):
    monkeypatch.setenv("MONKEYS_TEST_KEY", "sk-secret-123")
    p = proxy(lambda n, body: (500, 0) if n == 0 else (None, 0))
    with caplog.at_level(logging.DEBUG):
        sampler = _sampler(p.url, api_key_env="MONKEYS_TEST_KEY")
        sampler.sample(_requests(("p0",), 1), PARAMS)
    assert p.headers[-1]["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in json.dumps(sampler.info.details)
    assert "sk-secret" not in caplog.text and "retry 1/2" in caplog.text
    monkeypatch.delenv("MONKEYS_TEST_KEY")
    with pytest.raises(OpenAIBackendError, match="MONKEYS_TEST_KEY .* is not set"):
        _sampler(p.url, api_key_env="MONKEYS_TEST_KEY")


def test_stage_with_server_resumes_after_failure(proxy, tmp_path):
    """A shard that fails half-way keeps its finished problems; the rerun asks only for the rest."""
    problems = normalise("humaneval", read_source(DATASETS["humaneval"].default_source))
    write_table(problems, tmp_path / "problems.parquet", PROBLEMS)
    write_manifest(resolve_weights({}), tmp_path / "weights.json")
    selection = {"problems": ["HumanEval/53", "HumanEval/23", "HumanEval/28"]}
    sampling = {
        "temperature": 0.8,
        "top_p": 0.95,
        "top_k": 0,
        "min_p": 0.0,
        "max_tokens": 8,
        "stop": ["\ndef "],
    }
    out = tmp_path / "shard.parquet"

    def run(url):
        spec = {
            "backend": "openai",
            "weights": {},
            "openai": {
                "base_url": url,
                "model": "gemma",
                "max_concurrency": 1,
                "max_retries": 1,
                "backoff_s": 0.01,
            },
        }
        sample_shard(
            tmp_path / "problems.parquet",
            tmp_path / "weights.json",
            out,
            model="gemma-server",
            model_spec=spec,
            selection=selection,
            sampling=sampling,
            seed=3,
            start=0,
            stop=2,
            progress_interval_s=0,
        )

    broken = proxy(lambda n, body: (500, 0) if n >= 2 else (None, 0))
    with pytest.raises(OpenAIBackendError):
        run(broken.url)
    assert not out.exists()
    healthy = proxy()
    run(healthy.url)
    assert len(healthy.seen) == 4  # problems 2 and 3 only; problem 1 was kept
    frame = read_table(out, SAMPLES)
    assert frame["problem_id"].tolist() == [p for p in selection["problems"] for _ in range(2)]
    assert (frame["prompt_tokens"] > 0).all()
    assert not Path(str(out) + ".part").exists()


def test_helpers():
    assert split_tokens(10, ["a", "bbb", "cccccc"]) == [1, 3, 6]
    assert sum(split_tokens(7, ["x", "y", "z"])) == 7
    assert apply_stops("abc\ndef f", ["\ndef ", "\n#"]) == ("abc", True)
    assert apply_stops("abc", ["\n#"]) == ("abc", False)


def test_logprob_helpers():
    # The stop sequence "\ndef " is completed by the 4th piece, across three pieces.
    pieces = [" x", " = 1\n", "de", "f g", "()", "\n"]
    assert tokens_through_stop(pieces, ["\ndef "]) == 4
    assert tokens_through_stop(pieces, ["\n#"]) is None
    assert tokens_through_stop(pieces, ["()", "\n"]) == 2  # the earliest stop wins
    assert tokens_through_stop(["a", "b"], []) is None
    completions = {
        "text": " x",
        "logprobs": {
            "tokens": pieces,
            "token_logprobs": [-0.5, -1.0, -0.25, -2.0, -3.0, -4.0],
            "top_logprobs": None,
            "text_offset": [],
        },
    }
    assert choice_logprobs(completions) == ([-0.5, -1.0, -0.25, -2.0, -3.0, -4.0], pieces)
    assert scored_tokens(completions, ["\ndef "], cut=False) == (6, -10.75)
    assert scored_tokens(completions, ["\ndef "], cut=True) == (4, -3.75)
    assert scored_tokens(completions, ["\n#"], cut=True) is None  # no stop in the pieces
    chat = {
        "message": {"content": "hi"},
        "logprobs": {
            "content": [
                {"token": "h", "logprob": -0.1, "top_logprobs": []},
                {"token": "i", "logprob": -0.2, "top_logprobs": []},
            ]
        },
    }
    assert scored_tokens(chat, [], cut=False) == (2, pytest.approx(-0.3))
    assert choice_logprobs({"text": "x", "logprobs": None}) is None
    assert choice_logprobs({"text": "x"}) is None
    partial = {"logprobs": {"tokens": ["a", "b"], "token_logprobs": [None, -1.0]}}
    assert choice_logprobs(partial) is None
