"""The parts of the OpenAI-compatible MockServer (its public face is ``rawgpt.testing``).

``dispatch`` routes requests and applies ``faults`` and ``limits`` (RPM/TPM);
``responses`` and ``stream`` build chat's and embeddings' bodies and SSE scripts,
``responses_api`` the Responses API's; ``writer`` sends them at the set pace;
``errors`` holds OpenAI's error bodies. Imports aiohttp's
web server and orjson, nothing of the client.
"""
