"""Large payloads (DESIGN §6: no loss "for a large payload"): an event above `s3.offload_bytes`
(256 KiB by default) is stored in the blob store and referenced from the log, and the API
still returns the whole body."""

from __future__ import annotations

import json
import time

from otlp_builders import otlp_request, otlp_span, post_otlp, random_span_id, random_trace_id
from periscope_e2e import Api, PeriscopeServer, describe, get_trace


def test_a_generation_with_a_one_megabyte_input_is_stored_and_read_back_whole(
    api: Api, periscope: PeriscopeServer
) -> None:
    trace_id = random_trace_id()
    # Distinct content, so no layer could pass by storing a prefix or a compressed summary.
    document = "".join(f"line {i:06d} of the retrieved context. " for i in range(30_000))
    assert len(document) > 1_000_000
    now = time.time_ns()
    span = otlp_span(
        trace_id,
        random_span_id(),
        "answer with a long context",
        now - 2_000_000_000,
        now,
        attributes={
            "langfuse.observation.type": "generation",
            "langfuse.observation.input": json.dumps([{"role": "user", "content": document}]),
            "langfuse.observation.output": "short answer",
            "gen_ai.request.model": "gpt-4o-mini",
        },
    )
    response = post_otlp(api, otlp_request([span]), compress=True)
    assert response.status_code == 200, describe(response, "large OTLP export")

    trace = get_trace(api, trace_id.hex(), min_observations=1)
    observation = trace["observations"][0]
    assert observation["output"] == "short answer"
    assert observation["input"] == [{"role": "user", "content": document}]

    # It went through the blob store (the embedded one is files under the data directory),
    # not through the log.
    offloaded = list((periscope.data_dir / "blobs" / "payloads").rglob("*.pb"))
    assert offloaded, "the large event was not offloaded to the blob store"
    assert max(path.stat().st_size for path in offloaded) > 1_000_000
