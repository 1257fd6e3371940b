"""Generation and log-likelihood engines (docs/engines.md).

from alignbench.engines import DecodingParams, make_generation_engine, LoglikEngine
"""

from alignbench.engines.decoding import DecodingParams, Generation, sample_seed, truncate_at_stop
from alignbench.engines.generation import GenerationEngine, GenerationRequest, make_generation_engine
from alignbench.engines.loglik import LoglikEngine, LoglikResult

__all__ = [
    "DecodingParams",
    "Generation",
    "GenerationEngine",
    "GenerationRequest",
    "LoglikEngine",
    "LoglikResult",
    "make_generation_engine",
    "sample_seed",
    "truncate_at_stop",
]
