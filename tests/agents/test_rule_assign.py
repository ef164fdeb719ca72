"""A rule's `assign` goes through the desk: capacity holds, teams limit auto-assignment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from router.config import QueueSettings
from router.domain.model import Action, Decision, ReplyContent, Status
from router.engine.pipeline import Pipeline
from tests.agents.conftest import Clock, World, policy


def assigning(target: str):  # type: ignore[no-untyped-def]
    def decide(ctx):  # type: ignore[no-untyped-def]
        if ctx.event != "message":
            return Decision()
        return Decision(actions=[Action("assign", target, source="vip")])
    return lambda: decide


def world_with(store, decide_target: str, **teams: frozenset[str]) -> World:  # type: ignore[no-untyped-def]
    w = World(store, replace(policy(general=QueueSettings()), teams=teams),
              Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    w.pipeline = Pipeline(store, assigning(decide_target), clock=w.clock,
                          on_conversation=w.desk.on_conversation)
    return w


async def test_assign_to_an_agent_takes_the_conversation_for_them(store):
    w = world_with(store, "anna")
    await w.agent("anna", capacity=1)
    first = await w.message("t1")
    conv = await w.conv(first)
    assert conv.status == Status.ASSIGNED and conv.assignee == "anna"
    assert [e.data["reason"] for e in await w.events(first, "assigned")] == ["rule"]
    # at capacity: the next one waits in the queue, with the reason recorded
    second = await w.message("t2", sender="u2")
    conv2 = await w.conv(second)
    assert conv2.status == Status.QUEUED and conv2.assignee == ""
    failed = await w.events(second, "assign_failed")
    assert failed and "at capacity" in failed[0].data["reason"]


async def test_assign_to_a_team_limits_auto_assignment_to_its_members(store):
    w = world_with(store, "nordic", nordic=frozenset({"bo"}))
    await w.agent("anna", online=True)
    cid = await w.message("t1")
    assert (await w.conv(cid)).status == Status.QUEUED  # anna is not in the team
    assert (await w.conv(cid)).metadata["team"] == "nordic"
    await w.agent("bo")
    await w.desk.set_presence("bo", True)  # a member comes online: work-conserving
    conv = await w.conv(cid)
    assert conv.status == Status.ASSIGNED and conv.assignee == "bo"


def bots_first_then_handoff(target: str, queue: str):  # type: ignore[no-untyped-def]
    """A rule that prefers an agent and a queue; the second message asks for a person."""
    def decide(ctx):  # type: ignore[no-untyped-def]
        if ctx.event != "message":
            return Decision()
        actions = [Action("prefer_assignee", target, source="uk"),
                   Action("prefer_queue", queue, source="billing")]
        if "human" in ctx.message.text:
            actions.append(Action("handoff", {"queue": None, "reason": "customer_request"},
                                  source="bots:handoff"))
        else:
            actions.append(Action("reply", ReplyContent("Under My account -> Invoices."),
                                  source="bots:faq"))
        return Decision(actions=actions)
    return lambda: decide


async def test_bots_first_waits_for_the_handoff_then_routes_and_assigns(store):
    w = World(store, policy(general=QueueSettings(), billing=QueueSettings()),
              Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    w.pipeline = Pipeline(store, bots_first_then_handoff("anna", "billing"), clock=w.clock,
                          on_conversation=w.desk.on_conversation)
    await w.agent("anna", capacity=2)
    first = await w.message("t1", text="where is my invoice?")
    conv = await w.conv(first)
    # the bots keep it: nobody is assigned, it is not queued, the preference waits
    assert conv.status == Status.BOT and conv.assignee == "" and conv.queue == "billing"
    second = await w.message("t1", text="a human please")
    conv = await w.conv(second)
    assert conv.status == Status.ASSIGNED and conv.assignee == "anna"
    assert conv.queue == "billing"
