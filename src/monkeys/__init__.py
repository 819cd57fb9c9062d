"""monkeys: reproducible inference-scaling experiments (repeated sampling + verification)."""

__version__ = "0.1.0"
