"""The Responses API: the answer of ``responses.create()``, its output items, its stream events.

Class and field names and optionality follow the official SDK's
``openai.types.responses``; a field typed ``X | None`` may be absent or null in
the body. Each class is a view (see ``_view``): no validation, a property per
field. An output item, content part or stream event is read as the class its
``type`` names; one of a type newer than this release reads as a plain view
(its fields still readable by name).

``import rawgpt`` does not load this module: ``responses.create()`` does, on
its first call.
"""

from __future__ import annotations

from typing import Any, Literal

from ._view import ListView, View, _discriminator
from ._view import Response as _Answer

ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]
ItemStatus = Literal["in_progress", "completed", "incomplete"]


# Output text and its annotations.


class AnnotationFileCitation(View):
    """A citation of a file."""

    file_id: str
    filename: str
    index: int
    type: Literal["file_citation"]


class AnnotationURLCitation(View):
    """A citation of a web resource."""

    end_index: int
    start_index: int
    title: str
    type: Literal["url_citation"]
    url: str


class AnnotationContainerFileCitation(View):
    """A citation of a container file."""

    container_id: str
    end_index: int
    file_id: str
    filename: str
    start_index: int
    type: Literal["container_file_citation"]


class AnnotationFilePath(View):
    """A path to a file."""

    file_id: str
    index: int
    type: Literal["file_path"]


Annotation = (
    AnnotationFileCitation
    | AnnotationURLCitation
    | AnnotationContainerFileCitation
    | AnnotationFilePath
)


class LogprobTopLogprob(View):
    """One of the most likely tokens at a position."""

    token: str
    bytes: ListView[int]
    logprob: float


class Logprob(View):
    """A token's log probability, with the most likely alternatives."""

    token: str
    bytes: ListView[int]
    logprob: float
    top_logprobs: ListView[LogprobTopLogprob]


class ResponseOutputText(View):
    """Text the model wrote."""

    annotations: ListView[Annotation]
    text: str
    type: Literal["output_text"]
    logprobs: ListView[Logprob] | None


class ResponseOutputRefusal(View):
    """A refusal from the model."""

    refusal: str
    type: Literal["refusal"]


class ResponseInputText(View):
    """Text given as input (a function call output's parts)."""

    text: str
    type: Literal["input_text"]


# Output items.


class ResponseOutputMessage(View):
    """An output message of the model: text and refusal parts."""

    id: str
    content: ListView[ResponseOutputText | ResponseOutputRefusal]
    role: Literal["assistant"]
    status: ItemStatus
    type: Literal["message"]
    phase: Literal["commentary", "final_answer"] | None


class ResponseFunctionToolCall(View):
    """A call of a function tool: its name and JSON-encoded arguments."""

    arguments: str
    call_id: str
    name: str
    type: Literal["function_call"]
    id: str | None
    namespace: str | None
    status: ItemStatus | None


class ResponseFunctionToolCallOutputItem(View):
    """The output of a function call, as an item."""

    id: str
    call_id: str | None
    output: str | ListView[View]
    status: ItemStatus
    type: Literal["function_call_output"]


class Summary(View):
    """A part of a reasoning summary."""

    text: str
    type: Literal["summary_text"]


class Content(View):
    """Reasoning text."""

    text: str
    type: Literal["reasoning_text"]


class ResponseReasoningItem(View):
    """The model's reasoning: its summary parts, its text when given, or it encrypted."""

    id: str
    summary: ListView[Summary]
    type: Literal["reasoning"]
    content: ListView[Content] | None
    encrypted_content: str | None
    status: ItemStatus | None


class ResponseFunctionWebSearch(View):
    """A web search call."""

    id: str
    action: View
    status: Literal["in_progress", "searching", "completed", "failed", "incomplete"]
    type: Literal["web_search_call"]


class ResponseFileSearchToolCall(View):
    """A file search call."""

    id: str
    queries: ListView[str]
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    type: Literal["file_search_call"]
    results: ListView[View] | None


class ResponseCustomToolCall(View):
    """A call of a custom tool, with its free-form input."""

    call_id: str
    input: str
    name: str
    type: Literal["custom_tool_call"]
    id: str | None
    namespace: str | None


class ResponseCodeInterpreterToolCall(View):
    """A code interpreter call."""

    id: str
    code: str | None
    container_id: str
    outputs: ListView[View] | None
    status: Literal["in_progress", "completed", "incomplete", "interpreting", "failed"]
    type: Literal["code_interpreter_call"]


class ImageGenerationCall(View):
    """An image generation call."""

    id: str
    result: str | None
    status: Literal["in_progress", "completed", "generating", "failed"]
    type: Literal["image_generation_call"]
    revised_prompt: str | None


class McpCall(View):
    """A call of a tool on an MCP server."""

    id: str
    arguments: str
    name: str
    server_label: str
    type: Literal["mcp_call"]
    error: Any
    output: str | None
    status: Literal["in_progress", "completed", "incomplete", "calling", "failed"] | None


ResponseOutputItem = (
    ResponseOutputMessage
    | ResponseFunctionToolCall
    | ResponseFunctionToolCallOutputItem
    | ResponseReasoningItem
    | ResponseFunctionWebSearch
    | ResponseFileSearchToolCall
    | ResponseCustomToolCall
    | ResponseCodeInterpreterToolCall
    | ImageGenerationCall
    | McpCall
)


# The response.


class InputTokensDetails(View):
    """What the input tokens were (``cached_tokens``: served from the prompt cache)."""

    cached_tokens: int


class OutputTokensDetails(View):
    """What the output tokens were spent on."""

    reasoning_tokens: int


class ResponseUsage(View):
    """Token counts of one response."""

    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class ResponseError(View):
    """Why a response failed."""

    code: str
    message: str
    param: str | None
    type: str | None


class IncompleteDetails(View):
    """Why a response is incomplete."""

    reason: Literal["max_output_tokens", "max_messages", "content_filter", "steered"] | None


class Reasoning(View):
    """The reasoning options the response ran with."""

    effort: str | None
    summary: Literal["auto", "concise", "detailed"] | None


class Conversation(View):
    """The conversation the response's items were added to."""

    id: str


class Response(_Answer):
    """The answer of ``responses.create()`` (and the ``response`` of its stream's events).

    ``output_text`` is the text of every ``output_text`` part of every output
    message, concatenated ("" when there is none), as in the SDK.
    """

    _name = "Response"
    id: str
    object: Literal["response"]
    created_at: float
    status: ResponseStatus | None
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    instructions: str | ListView[View] | None
    metadata: View | None
    model: str
    output: ListView[ResponseOutputItem]
    parallel_tool_calls: bool
    temperature: float | None
    tool_choice: str | View
    tools: ListView[View]
    top_p: float | None
    background: bool | None
    completed_at: float | None
    conversation: Conversation | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    previous_response_id: str | None
    prompt: View | None
    prompt_cache_key: str | None
    reasoning: Reasoning | None
    safety_identifier: str | None
    service_tier: str | None
    text: View | None
    top_logprobs: int | None
    truncation: Literal["auto", "disabled"] | None
    usage: ResponseUsage | None
    user: str | None

    @property
    def output_text(self) -> str:
        """Every ``output_text`` part of every output message, concatenated."""
        return output_text(self._d)


def output_text(response: dict[str, Any]) -> str:
    """The concatenated ``output_text`` parts of a response dict's messages ("" for none)."""
    texts: list[str] = []
    for item in response.get("output") or ():
        if type(item) is dict and item.get("type") == "message":
            for part in item.get("content") or ():
                if type(part) is dict and part.get("type") == "output_text":
                    text = part.get("text")
                    if type(text) is str:
                        texts.append(text)
    return "".join(texts)


# Stream events.


class ResponseCreatedEvent(View):
    """The response was created (``response``: its first state)."""

    response: Response
    sequence_number: int
    type: Literal["response.created"]


class ResponseQueuedEvent(View):
    """The response is queued."""

    response: Response
    sequence_number: int
    type: Literal["response.queued"]


class ResponseInProgressEvent(View):
    """The response is being generated."""

    response: Response
    sequence_number: int
    type: Literal["response.in_progress"]


class ResponseCompletedEvent(View):
    """The response is complete: ``response`` is the whole final response (terminal)."""

    response: Response
    sequence_number: int
    type: Literal["response.completed"]


class ResponseIncompleteEvent(View):
    """The response ended incomplete (terminal)."""

    response: Response
    sequence_number: int
    type: Literal["response.incomplete"]


class ResponseFailedEvent(View):
    """The response failed: ``response.error`` says why (terminal)."""

    response: Response
    sequence_number: int
    type: Literal["response.failed"]


class ResponseErrorEvent(View):
    """An error in the stream (rawgpt raises it as an APIStatusError; the view is for typing)."""

    code: str | None
    message: str
    param: str | None
    sequence_number: int
    type: Literal["error"]


class ResponseOutputItemAddedEvent(View):
    """An output item was added (its first state)."""

    item: ResponseOutputItem
    output_index: int
    sequence_number: int
    type: Literal["response.output_item.added"]


class ResponseOutputItemDoneEvent(View):
    """An output item is done (its final state)."""

    item: ResponseOutputItem
    output_index: int
    sequence_number: int
    type: Literal["response.output_item.done"]


class ResponseContentPartAddedEvent(View):
    """A content part was added to a message."""

    content_index: int
    item_id: str
    output_index: int
    part: ResponseOutputText | ResponseOutputRefusal
    sequence_number: int
    type: Literal["response.content_part.added"]


class ResponseContentPartDoneEvent(View):
    """A content part is done."""

    content_index: int
    item_id: str
    output_index: int
    part: ResponseOutputText | ResponseOutputRefusal
    sequence_number: int
    type: Literal["response.content_part.done"]


class ResponseTextDeltaEvent(View):
    """A piece of output text."""

    content_index: int
    delta: str
    item_id: str
    logprobs: ListView[Logprob]
    output_index: int
    sequence_number: int
    type: Literal["response.output_text.delta"]


class ResponseTextDoneEvent(View):
    """An output text part is done: ``text`` is all of it."""

    content_index: int
    item_id: str
    logprobs: ListView[Logprob]
    output_index: int
    sequence_number: int
    text: str
    type: Literal["response.output_text.done"]


class ResponseOutputTextAnnotationAddedEvent(View):
    """An annotation was added to an output text part."""

    annotation: Any
    annotation_index: int
    content_index: int
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.output_text.annotation.added"]


class ResponseRefusalDeltaEvent(View):
    """A piece of a refusal."""

    content_index: int
    delta: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.refusal.delta"]


class ResponseRefusalDoneEvent(View):
    """A refusal is done: ``refusal`` is all of it."""

    content_index: int
    item_id: str
    output_index: int
    refusal: str
    sequence_number: int
    type: Literal["response.refusal.done"]


class ResponseFunctionCallArgumentsDeltaEvent(View):
    """A piece of a function call's arguments."""

    delta: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.function_call_arguments.delta"]


class ResponseFunctionCallArgumentsDoneEvent(View):
    """A function call's arguments are done: ``arguments`` is all of them."""

    arguments: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.function_call_arguments.done"]


class Part(View):
    """A reasoning summary part."""

    text: str
    type: Literal["summary_text"]


class ResponseReasoningSummaryPartAddedEvent(View):
    """A reasoning summary part was added."""

    item_id: str
    output_index: int
    part: Part
    sequence_number: int
    summary_index: int
    type: Literal["response.reasoning_summary_part.added"]


class ResponseReasoningSummaryPartDoneEvent(View):
    """A reasoning summary part is done."""

    item_id: str
    output_index: int
    part: Part
    sequence_number: int
    summary_index: int
    type: Literal["response.reasoning_summary_part.done"]


class ResponseReasoningSummaryTextDeltaEvent(View):
    """A piece of a reasoning summary's text."""

    delta: str
    item_id: str
    output_index: int
    sequence_number: int
    summary_index: int
    type: Literal["response.reasoning_summary_text.delta"]


class ResponseReasoningSummaryTextDoneEvent(View):
    """A reasoning summary text is done: ``text`` is all of it."""

    item_id: str
    output_index: int
    sequence_number: int
    summary_index: int
    text: str
    type: Literal["response.reasoning_summary_text.done"]


class ResponseReasoningTextDeltaEvent(View):
    """A piece of reasoning text."""

    content_index: int
    delta: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.reasoning_text.delta"]


class ResponseReasoningTextDoneEvent(View):
    """A reasoning text is done."""

    content_index: int
    item_id: str
    output_index: int
    sequence_number: int
    text: str
    type: Literal["response.reasoning_text.done"]


class ResponseCustomToolCallInputDeltaEvent(View):
    """A piece of a custom tool call's input."""

    delta: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.custom_tool_call_input.delta"]


class ResponseCustomToolCallInputDoneEvent(View):
    """A custom tool call's input is done."""

    input: str
    item_id: str
    output_index: int
    sequence_number: int
    type: Literal["response.custom_tool_call_input.done"]


ResponseStreamEvent = (
    ResponseCreatedEvent
    | ResponseQueuedEvent
    | ResponseInProgressEvent
    | ResponseCompletedEvent
    | ResponseIncompleteEvent
    | ResponseFailedEvent
    | ResponseErrorEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseTextDeltaEvent
    | ResponseTextDoneEvent
    | ResponseOutputTextAnnotationAddedEvent
    | ResponseRefusalDeltaEvent
    | ResponseRefusalDoneEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | ResponseReasoningSummaryPartAddedEvent
    | ResponseReasoningSummaryPartDoneEvent
    | ResponseReasoningSummaryTextDeltaEvent
    | ResponseReasoningSummaryTextDoneEvent
    | ResponseReasoningTextDeltaEvent
    | ResponseReasoningTextDoneEvent
    | ResponseCustomToolCallInputDeltaEvent
    | ResponseCustomToolCallInputDoneEvent
)

# The view class of each stream event ``type`` (an event of another type reads as a View).
EVENT_CLASSES: dict[str, type[View]] = {
    str(_discriminator(cls)): cls for cls in ResponseStreamEvent.__args__
}
