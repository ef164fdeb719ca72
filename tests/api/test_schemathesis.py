"""Schemathesis against the API's own OpenAPI document, on a real service (issue 22).

The service runs on 127.0.0.1 with a disposable SQLite database (the `api_factory`
fixture); schemathesis reads `/api/v1/openapi.json` from it and calls it as an admin
agent, in its phases: coverage (boundary values, missing and extra parts, parameters
given twice, other methods), fuzzing (schema-valid and schema-violating input for every
operation) and stateful (sequences chained by the links schemathesis infers from the
document). Examples are bounded and derandomized (the inputs vary only with what
schemathesis learns from the answers), so a run takes seconds. The requests are blocking
(`requests`), so schemathesis runs in a worker thread while the service keeps the loop.

Must hold: no answer >= 500, and every answer is what the document says (status code,
content type, body schema, headers), invalid input is refused and auth is enforced.
`positive_data_acceptance` is left out: the document cannot say that a snooze must end
in the future or that a cursor must be one the API returned, so a schema-valid request
may rightly get a 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from tests.channels.fuzz import assert_nothing_failed, errors_logged
from tests.fuzz_counts import count

TARGET = "schemathesis"
EXAMPLES = 4  # per operation and generation mode, in the fuzzing phase
COVERAGE = {GenerationMode.NEGATIVE: 10, GenerationMode.POSITIVE: 4}  # per operation, at most
SCENARIOS = 20  # stateful sequences
STEPS = 6  # at most, per sequence
KNOWN_IDS = [1, 2, 3, 4]  # the conversations and contacts the test starts with
KNOWN_AGENTS = ["boss", "ann", "bob"]
ATTEMPTS = 5  # runs of the state machine, see Fuzzer.stateful
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection,
          ignored_auth]
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]
SETTINGS = settings(derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))
# something for the canned-reply endpoints to render
REPLIES = """
languages: [sv, en]
replies:
  greeting: {sv: "Hej {{ contact.first_name }}!", en: "Hi {{ contact.first_name }}!"}
"""


def _shape(case: Case) -> str:
    """What a case sends (the coverage phase repeats some, differing only inside)."""
    return repr((case.path_parameters, case.query, case.body, case.media_type,
                 sorted((case.headers or {}).items())))


def spread(items: list[Any], most: int) -> list[Any]:
    """At most `most` of `items`, evenly spaced, first included."""
    if len(items) <= most:
        return items
    return [items[len(items) * i // most] for i in range(most)]


class Fuzzer:
    """Calls the service as the admin `boss`, counts every answer, collects failures.

    An admin may disable itself once another admin exists, or revoke its own tokens:
    schemathesis finds both. `restore` (run on the service's loop) enables `boss` again
    with a fresh token, so the rest of the run is not all 401s.
    """

    def __init__(self, doc: dict[str, Any], base: str, token: str,
                 restore: Callable[[], str]) -> None:
        self.schema = schemathesis.openapi.from_dict(doc)
        self.schema.config.update(base_url=base)
        self.token, self.restore = token, restore
        self.session = requests.Session()
        self.failures: dict[str, str] = {}  # first message per distinct failure

        @self.schema.hook
        def flatmap_path_parameters(context: Any, parameters: dict[str, Any]) -> Any:
            """Now and then a real conversation, contact or agent instead of one that
            is not there (a random id is nearly always a 404). Only in place of a valid
            value, so a schema-violating case stays one."""
            options = [st.just(parameters)]
            if not isinstance(parameters, dict):
                return options[0]
            if isinstance(parameters.get("id"), int) and not isinstance(parameters["id"], bool):
                options.append(st.sampled_from(KNOWN_IDS).map(lambda v: {**parameters, "id": v}))
            if isinstance(parameters.get("name"), str):
                options.append(st.sampled_from(KNOWN_AGENTS).map(
                    lambda v: {**parameters, "name": v}))
            return st.one_of(options)

    def call(self, case: Case) -> Response:
        sent = self.token
        response = case.call(headers={"Authorization": f"Bearer {sent}"}, session=self.session)
        count(TARGET, response.status_code)
        if response.status_code == 401 and sent == self.token:
            self.token = self.restore()
        return response

    def check(self, case: Case, response: Response, checks: list[Any], **kw: Any) -> None:
        try:
            case.validate_response(response, checks=checks, **kw)
        except BaseException as exc:  # FailureGroup: every distinct failure of this case
            for failure in getattr(exc, "exceptions", [exc]):
                title = f"{case.operation.label}: {getattr(failure, 'title', type(failure).__name__)}"
                self.failures.setdefault(title, f"{str(failure)[:600]}\n{case.as_curl_command()}")

    def operations(self) -> None:
        for result in self.schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @settings(SETTINGS, max_examples=EXAMPLES)
                @given(case=operation.as_strategy(generation_mode=mode))
                def one(case: Case) -> None:
                    self.check(case, self.call(case), CHECKS)

                try:
                    one()
                except Unsatisfiable:
                    # nothing in this operation can be made invalid (no parameters, no body)
                    assert mode == GenerationMode.NEGATIVE, operation.label

    def coverage(self) -> None:
        """Schemathesis's coverage phase: boundary values, missing and extra parts,
        parameters given twice, other media types; deterministic, no Hypothesis. At
        most COVERAGE different cases of each mode per operation, spread over all it
        makes, so the run stays bounded as the API grows."""
        for result in self.schema.get_all_operations():
            operation = result.ok()
            config = self.schema.config.generation_for(operation=operation, phase="coverage")
            for mode, most in COVERAGE.items():
                cases = {_shape(case): case for case in self.schema.iter_coverage_cases(
                    operation, generation_modes=[mode], generation_config=config)}
                for case in spread(list(cases.values()), most):
                    self.check(case, self.call(case), CHECKS)

    def stateful(self) -> tuple[int, int]:
        """Runs the scenarios; returns how many ran and how many steps followed a link
        with a value taken from an earlier answer.

        The service's state carries over from one scenario to the next (an agent made
        once answers 409 the second time), so Hypothesis may see a replayed choice lead
        elsewhere and stop with a Flaky error; like schemathesis's own runner, go on with
        the scenarios still due."""
        fuzzer, ran, linked = self, 0, 0

        class Machine(self.schema.as_state_machine()):  # type: ignore[misc]
            def setup(self) -> None:
                nonlocal ran
                ran += 1

            def call(self, case: Case, **kwargs: Any) -> Response:
                return fuzzer.call(case)

            def step(self, input: StepInput) -> StepOutput:
                nonlocal linked
                linked += input.transition is not None and input.is_applied
                return super().step(input)

            def validate_response(self, response: Response, case: Case,
                                  additional_checks: Any = None, **kwargs: Any) -> None:
                fuzzer.check(case, response, STATEFUL_CHECKS, recorder=self.recorder)

        for _ in range(ATTEMPTS):
            due = SCENARIOS - ran
            if due <= 0:
                break
            try:
                Machine.run(settings=settings(SETTINGS, max_examples=due, stateful_step_count=STEPS))
            except Flaky:
                continue
            break
        return ran, linked


async def test_the_api_answers_what_its_document_says_under_fuzzing(api_factory, caplog):
    api = await api_factory(REPLIES, configured_rules=True)
    for n in range(4):  # conversations and contacts to act on
        await api.customer(f"Hej, fråga nummer {n}", sender=f"u{n % 2}")
    _, doc = await api.call("GET", "/openapi.json", None)
    loop = asyncio.get_running_loop()
    desk = api.service.agents.desk  # type: ignore[union-attr]

    async def restore() -> str:
        await desk.store.write(lambda tx: tx.set_agent_disabled("boss", False))
        return await api.token("boss")

    fuzzer = Fuzzer(doc, f"http://127.0.0.1:{api.service.port}/api/v1", api.tokens["boss"],
                    lambda: asyncio.run_coroutine_threadsafe(restore(), loop).result(10))
    await asyncio.to_thread(fuzzer.coverage)
    await asyncio.to_thread(fuzzer.operations)
    scenarios, linked = await asyncio.to_thread(fuzzer.stateful)
    fuzzer.session.close()
    assert not fuzzer.failures, "\n\n".join(f"{k}\n{v}" for k, v in fuzzer.failures.items())
    assert scenarios >= SCENARIOS and linked > 0, (scenarios, linked)  # links were followed
    await assert_nothing_failed(api.service)
    assert not errors_logged(caplog.records)
