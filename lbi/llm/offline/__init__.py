"""The offline LLM backend: a deterministic policy (not a language model) served as litellm provider `offline/`.

It lets the whole system run with no API key and no network; see README "The offline backend".
"""
