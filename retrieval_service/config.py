"""Settings of the retrieval service (`LBI_RETRIEVAL_*` and the common `LBI_*` variables)."""

from __future__ import annotations

from pydantic import Field

from lbi.config import CommonSettings


class RetrievalSettings(CommonSettings):
    retrieval_host: str = Field("127.0.0.1", description="Address the retrieval service binds.")
    retrieval_port: int = Field(50052, ge=0, le=65535, description="Port of the retrieval gRPC server.")
    retrieval_default_k: int = Field(5, ge=1, le=50, description="Examples per mode when a request says 0.")
    retrieval_default_window: int = Field(
        0, ge=0, description="Steps kept either side of the matched step (0: whole trajectory)."
    )
    retrieval_candidates: int = Field(
        2,
        ge=1,
        le=20,
        description=(
            "States fetched per wanted example in observation mode, before collapsing to examples (the search "
            "widens when too few remain)."
        ),
    )
    retrieval_settle_ties: bool = Field(
        False,
        description=(
            "Answers depend on the dataset alone: examples of equal score are taken in id order, and a search cut "
            "inside a group of equal scores is widened until the group is whole (the engine orders equal scores "
            "by write order). Costs a second search whenever many states are identical; on for evaluation."
        ),
    )
    retrieval_per_trajectory: int = Field(
        1,
        ge=0,
        le=50,
        description=(
            "Observation mode: examples from one source trajectory at most, when a request says 0 (0 here: no limit)."
        ),
    )
    retrieval_cache_size: int = Field(
        4096, ge=0, description="Texts whose embeddings are kept in the in-process LRU cache."
    )
    retrieval_batch_wait_ms: float = Field(
        0.0,
        ge=0,
        description=(
            "Extra wait for other requests before an embedding call; 0 batches by back-pressure only (texts "
            "that arrive while the model runs go into its next call)."
        ),
    )
    retrieval_max_batch: int = Field(64, ge=1, description="Most texts embedded in one model call.")
    retrieval_query_model: str = Field(
        "", description="litellm model that writes queries (generate_queries); default LBI_LLM_MODEL."
    )
