"""The `web` environment over real gRPC: Chromium on a fresh Trac per session, WebArena-style actions."""

import asyncio
import re
from pathlib import Path

import grpc
import pytest

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (make installs it)"
)


@pytest.fixture
def runner_settings(shared_data_dir):
    """Page trees are longer than the sql tests' small observation cap."""
    from lbi.config import RunnerSettings

    return RunnerSettings(
        data_dir=shared_data_dir, runner_port=0, runner_step_timeout_s=30, runner_observation_cap=20000
    )


CHECK = "SELECT id FROM ticket WHERE summary = 'Printer jammed on floor 2'"


def element_id(observation: str, role: str, name: str) -> str:
    match = re.search(rf"\[(\d+)\] {role} '{re.escape(name)}", observation)
    assert match, f"no {role} {name!r} in:\n{observation[:2000]}"
    return match.group(1)


async def test_create_a_ticket_through_the_page_tree(runner):
    session, first = await runner.open_session("web", {"check_sql": CHECK})
    assert first.text.startswith("URL: http://127.0.0.1:") and "[1]" in first.text
    page = await runner.step(session, f"click [{element_id(first.text, 'link', 'NEW TICKET')}]")
    assert "/newticket" in page.text and not page.error
    typed = await runner.step(
        session, f"type [{element_id(page.text, 'textbox', 'Summary:')}] [Printer jammed on floor 2]"
    )
    assert "value='Printer jammed on floor 2'" in typed.text
    created = await runner.step(session, f"click [{element_id(typed.text, 'button', 'Create ticket')}]")
    assert "/ticket/1" in created.text and "Printer jammed on floor 2" in created.text
    stopped = await runner.step(session, "stop [ticket 1 created]")
    assert stopped.done and stopped.reward == 1.0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.step(session, "go_back")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await runner.close_session(session)


async def test_invalid_actions_and_blocked_origins_are_error_observations(runner):
    session, _ = await runner.open_session("web")
    for action, message in (
        ("click [9999]", "no element with id [9999]"),
        ("fly [3]", "unknown or malformed action"),
        ("goto [http://example.com/]", "is blocked"),
        ("type [1]", "unknown or malformed action"),
    ):
        result = await runner.step(session, action)
        assert result.error and message in result.text, action
        assert "URL: http://127.0.0.1:" in result.text  # the agent still sees the page
    assert not (await runner.step(session, "scroll [down]")).error
    await runner.close_session(session)


async def test_sessions_have_their_own_site_and_state(runner):
    (a, _), (b, _) = await asyncio.gather(
        runner.open_session("web", {"check_sql": CHECK}), runner.open_session("web", {"check_sql": CHECK})
    )
    await runner.step(a, "goto [/newticket]")
    await runner.step(a, "type [Summary:] [Printer jammed on floor 2]")
    await runner.step(a, "click [Create ticket]")
    assert (await runner.step(a, "stop [done]")).reward == 1.0
    assert (await runner.step(b, "stop [done]")).reward == 0.0
    await runner.close_session(a)
    await runner.close_session(b)


async def test_tabs(runner):
    session, _ = await runner.open_session("web")
    opened = await runner.step(session, "new_tab")
    assert "(tab 2 of 2)" in opened.text
    assert "(tab 1 of 2)" in (await runner.step(session, "tab_focus [0]")).text
    assert not (await runner.step(session, "close_tab")).error
    assert (await runner.step(session, "close_tab")).error
    await runner.close_session(session)


async def test_resources_and_bad_config(runner):
    titles = [r.title for r in await runner.resources("web")]
    assert "Filing a new ticket" in titles and "TracTickets" in titles and len(titles) > 30
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await runner.open_session("web", {"url": "ftp://x"})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "config.url" in str(err.value.details())
