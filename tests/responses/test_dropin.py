"""Code written for the SDK's ``client.responses.create`` runs unchanged after
``import rawgpt as openai``: the same program, run with each, gives the same results."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import openai as official

import rawgpt
from rawgpt.testing import MockServer

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


async def sdk_program(openai: types.ModuleType, base_url: str) -> list[Any]:
    """A typical async program written against the official SDK's Responses API."""
    out: list[Any] = []
    client = openai.AsyncOpenAI(api_key="sk-dropin", base_url=base_url, max_retries=0)
    response = await client.responses.create(
        model="gpt-4o-mini", instructions="Be brief.", input="Say hello", max_output_tokens=200
    )
    out += [response.output_text, response.status, response.output[0].type]
    out += [response.usage.input_tokens, response.usage.output_tokens]
    out.append(response.usage.output_tokens_details.reasoning_tokens)
    stream = await client.responses.create(model="gpt-4o-mini", input="Say hello", stream=True)
    text = ""
    async for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
        elif event.type == "response.completed":
            out.append(event.response.usage.total_tokens)
    out.append(text)
    tools = await client.responses.create(model="gpt-4o-mini", input="Weather?", tools=[WEATHER])
    call = next(item for item in tools.output if item.type == "function_call")
    out += [call.name, call.arguments, tools.output_text]
    stream = await client.responses.create(
        model="gpt-4o-mini", input="Weather?", tools=[WEATHER], stream=True
    )
    arguments = ""
    async for event in stream:
        if event.type == "response.function_call_arguments.delta":
            arguments += event.delta
        elif event.type == "response.output_item.done":
            out.append((event.output_index, event.item.type))
    out.append(arguments)
    try:
        await client.responses.create(
            model="gpt-4o-mini", input="x", extra_headers={"x-mock-fault": "status:400"}
        )
    except openai.BadRequestError as e:
        out.append((type(e).__name__, e.status_code))
    await client.close()
    return out


def blocking_program(openai: types.ModuleType, base_url: str) -> list[Any]:
    """The same with the blocking client."""
    client = openai.OpenAI(api_key="sk-dropin", base_url=base_url, max_retries=0)
    response = client.responses.create(model="gpt-4o-mini", input="Say hello")
    out: list[Any] = [response.output_text, response.usage.total_tokens]
    text = ""
    for event in client.responses.create(model="gpt-4o-mini", input="Say hello", stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
    out.append(text)
    client.close()
    return out


async def test_sdk_responses_program_gives_the_same_results() -> None:
    async with MockServer() as srv:
        expected = await sdk_program(official, srv.base_url)
        got = await sdk_program(rawgpt, srv.base_url)
        expected_blocking = await asyncio.to_thread(blocking_program, official, srv.base_url)
        got_blocking = await asyncio.to_thread(blocking_program, rawgpt, srv.base_url)
    assert got == expected
    assert expected[0] and expected[1] == "completed" and expected[-1] == ("BadRequestError", 400)
    assert got_blocking == expected_blocking
