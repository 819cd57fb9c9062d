"""Scorers: a number per sample from a reward model or an LM judge, for verifier-based selection.

Backends behind one small interface (`monkeys.scoring.base`): `http` (vLLM's
pooling endpoints, or any OpenAI-compatible completions server as a judge;
`monkeys.scoring.http`) and `vllm` (vLLM's offline pooling runner in the GPU job;
`monkeys.scoring.vllm_reward`). The stage is `monkeys.stages.score`.
"""
