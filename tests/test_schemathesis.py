"""Schemathesis against the app over the ASGI transport: every check, per operation and along OpenAPI links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.schemas import BaseSchema

from conftest import SettingsFactory
from interviewai.api.schemas import AnswerRequest
from interviewai.app import create_app

# Small enough for the file to run in about a minute on a shared machine; derandomized, so every run sends
# the same requests and a failure replays.
EXAMPLES_PER_MODE = 40
STATEFUL_EXAMPLES = 30
# Schemathesis draws with true randomness whether a step follows a link, so the interview run takes enough
# scenarios that a linked answer is all but certain to be among them.
INTERVIEW_EXAMPLES = 80
_SETTINGS: dict[str, Any] = {
    "derandomize": True,
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}
_ALL_BUT_STATEFUL_ACCEPTANCE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
CONFIG: dict[str, Any] = {
    "operations": [
        {
            # Issue 13: a `bank_id` the service does not hold is a 422 naming the field. The schema cannot
            # list the banks (they are uploaded at run time), so a schema-valid id may be unknown.
            "include-operation-id": ["startInterview", "previewPlan"],
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*_ALL_BUT_STATEFUL_ACCEPTANCE, "422"]}
            },
        },
        {
            # Issue 11: a multipart answer's `audio` part is "a binary file" to the schema, which cannot say
            # what decodes as speech: any other bytes are 415 `unsupported_audio`, a file that does not
            # decode 422 `unreadable_audio`, silence 422 `no_speech`, and too long 413 `audio_too_long`.
            "include-operation-id": ["submitAnswer"],
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*_ALL_BUT_STATEFUL_ACCEPTANCE, "413", "415", "422"]
                }
            },
        },
        {
            # Issue 13: an upload that is YAML/JSON but not a valid bank (unknown role or type, no closing
            # question) is 422 `invalid_bank` listing every problem; the body schema is only "a string".
            "include-operation-id": ["createBank", "replaceBank"],
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*_ALL_BUT_STATEFUL_ACCEPTANCE, "422"]}
            },
        },
    ]
}


@pytest.fixture
def schema(make_settings: SettingsFactory) -> Iterator[BaseSchema]:
    app = create_app(make_settings())
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG))
    yield loaded
    # The ASGI transport entered the app's lifespan on the first call; leave nothing running.
    asgi.shutdown_lifespans()


def test_the_configuration_enables_every_check(schema: BaseSchema) -> None:
    config = schema.config.checks_config_for(operation=None, phase=None)
    # max_response_time is off: timing targets are measured in bench/, never by tests.
    names = [name for name in type(config).__annotations__ if not name.startswith("_")]
    names.remove("max_response_time")
    assert len(names) == 14
    assert [name for name in names if not getattr(config, name).enabled] == []


def test_every_operation_holds_every_check(schema: BaseSchema) -> None:
    failures: dict[str, str] = {}
    checked = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself must load without errors
        operation = result.ok()
        for mode in GenerationMode:
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(max_examples=EXAMPLES_PER_MODE, phases=[Phase.explicit, Phase.generate], **_SETTINGS)
            def run(case: Any) -> None:
                case.call_and_validate()

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters, or only free-form path strings): nothing to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue
            except (Exception, FailureGroup) as error:  # noqa: BLE001 - every operation's failures, reported together
                failures[f"{operation.label} ({mode.value})"] = str(error)[:2000]
            checked += 1
    assert checked >= 25
    assert failures == {}, "\n\n".join(f"{label}: {text}" for label, text in failures.items())


def test_the_document_links_a_started_session_to_its_steps(schema: BaseSchema) -> None:
    raw = schema.raw_schema["paths"]
    start = raw["/api/v1/interview/start"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in start.values()} == {
        "getQuestion",
        "submitAnswer",
        "getStatus",
        "interviewReport",
    }
    question = raw["/api/v1/interview/{session_id}/question"]["get"]["responses"]["200"]["links"]
    assert question["SubmitAnswer"]["requestBody"]["question_id"] == "$response.body#/question_id"


def _run_stateful(schema: BaseSchema, examples: int) -> set[tuple[str, int]]:
    """Run the link-driven state machine; return every (operation, status) it saw."""
    seen: set[tuple[str, int]] = set()

    class Recorded(schema.as_state_machine()):  # type: ignore[misc]
        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            seen.add((case.operation.label, response.status_code))

    run_state_machine_as_test(
        Recorded,
        settings=settings(max_examples=examples, stateful_step_count=6, phases=[Phase.generate], **_SETTINGS),
    )
    return seen


def test_stateful_runs_over_the_whole_document_without_failures(schema: BaseSchema) -> None:
    seen = _run_stateful(schema, STATEFUL_EXAMPLES)
    assert ("GET /api/v1/banks", 200) in seen, sorted(seen)


def test_stateful_runs_an_interview_along_its_links_without_failures(schema: BaseSchema) -> None:
    # Over the whole document the banks' inferred links take every root step; an interview alone walks
    # start -> question -> answer. (`exclude`: with per-operation config, schemathesis ignores `include`.)
    seen = _run_stateful(schema.exclude(path_regex="^/api/v1/(?!interview)|^/metrics"), INTERVIEW_EXAMPLES)
    # A 200 answer needs both the started session's id and the served question's id from the links.
    assert ("POST /api/v1/interview/{session_id}/answer", 200) in seen, sorted(
        s for s in seen if "answer" in s[0]
    )
    assert ("GET /api/v1/interview/{session_id}/report", 200) in seen, sorted(seen)


def test_integral_json_numbers_are_integers_for_question_ids() -> None:
    # Guards the fix the fuzzing found: `346722.0` is an integer to JSON Schema.
    assert AnswerRequest.model_validate({"question_id": 3.0, "answer_text": "x"}).question_id == 3
    for bad in (3.5, float("nan"), float("inf"), True, "3"):
        with pytest.raises(ValueError):
            AnswerRequest.model_validate({"question_id": bad, "answer_text": "x"})
