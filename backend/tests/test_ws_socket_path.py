"""The sockets' own ASGI route (app/api/v1/websocket.py): exactly the three socket paths,
and an idle socket that holds no task but its own (memory per idle socket, issue 7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import InvalidStatus

from app.models import Role
from app.services.ws_connection_manager import get_manager
from tests.support.factories import make_interview, make_user, token
from tests.support.ws import WSClient
from tests.support.ws_flow import LONG_ANSWER, answer, open_candidate, start

INTERVAL = 0.3


def socket_tasks() -> list[str]:
    """This process's per-socket tasks (the heartbeat beats for all sockets: not counted)."""
    return sorted(
        t.get_name()
        for t in asyncio.all_tasks()
        if t.get_name().startswith("ws-") and t.get_name() != "ws-heartbeat" and not t.done()
    )


async def test_the_three_socket_paths_are_served_and_nothing_near_them(db, ws_url):
    setup = await make_interview(db)
    hr = await make_user(db, role=Role.HR_MANAGER, email="hr-paths@example.com")
    iid = setup.interview.id
    for path, user in (
        (f"/ws/interview/{iid}", setup.candidate_user),
        (f"/ws/voice/{iid}", setup.candidate_user),
        (f"/ws/interview/{iid}/observe", hr),
    ):
        ws = await WSClient.open(ws_url(path, token(user)))
        await ws.send({"type": "ping"})
        assert (await ws.recv_until("pong", timeout=5))[-1]["type"] == "pong", path
        await ws.close()
    for path in (
        f"/ws/voice/{iid}/observe",  # no such socket
        f"/ws/interview/{iid}/",
        f"/ws/interview/{iid}/observe/x",
        "/ws/interview/",
        f"/ws/interviews/{iid}",
    ):
        with pytest.raises(InvalidStatus) as refused:
            await WSClient.open(ws_url(path, token(hr)))
        assert refused.value.response.status_code == 403, path


async def test_an_idle_socket_holds_no_task_but_its_own(db, ws_url, standin, settings_env):
    """Its read runs in the socket's own task; its writer runs only while there is something
    to send (a greeting, a ping), and every frame still arrives, in order."""
    settings_env(WS_HEARTBEAT_INTERVAL_SEC=INTERVAL, WS_HEARTBEAT_TIMEOUT_SEC=5)
    setup = await make_interview(db)
    ws = await open_candidate(ws_url, setup)
    frames = await start(ws)
    assert [f["type"] for f in frames][:1] == ["stream_start"]
    await ws.recv_until("ping", timeout=3, skip_pings=False)  # the heartbeat's writer ran
    await asyncio.sleep(0.1)
    assert socket_tasks() == []
    await ws.recv_until("ping", timeout=3, skip_pings=False)  # and runs again when due
    turn = await answer(ws, LONG_ANSWER)
    kinds = [f["type"] for f in turn]
    assert kinds[0] == "thinking" and kinds[-1] == "stream_end"
    seqs = [f["seq"] for f in turn if "seq" in f]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    await asyncio.sleep(0.1)
    assert socket_tasks() == []
    conns = get_manager().local[setup.interview.id]
    assert [(c.writer, c.dispatcher) for c in conns] == [(None, None)]  # nor a finished one
    await ws.close()


async def test_an_answer_starts_its_turn_from_the_reader_and_its_pieces_need_no_task(
    db, ws_url, standin
):
    """Under load each task costs what it waits for a loop iteration (`make bench`): an answer
    with no turn running starts its turn from the socket's reader, with no dispatch task, and
    the reply's frames, pieces too, go out from the turn's own task, with no writer task. An
    answer that needs a wait first (here: one while the interviewer still speaks, refused)
    still goes through the dispatch task, in order."""
    setup = await make_interview(db)
    ws = await open_candidate(ws_url, setup)
    await start(ws)
    loop = asyncio.get_running_loop()
    made: list[asyncio.Task[object]] = []
    previous = loop.get_task_factory()

    def recording(loop: asyncio.AbstractEventLoop, coro, **kwargs):  # type: ignore[no-untyped-def]
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    def names(prefix: str) -> list[str]:
        return [t.get_name() for t in made if t.get_name().startswith(prefix)]

    loop.set_task_factory(recording)
    try:
        standin.control(token_delay=0.01, replies=["One, two, three, four, five?"])
        turn = await answer(ws, LONG_ANSWER, cid="a1")
        kinds = [f["type"] for f in turn]
        assert kinds[:2] == ["thinking", "stream_start"] and kinds[-1] == "stream_end"
        assert kinds.count("stream_chunk") >= 2  # pieces one by one, each sent as it came
        assert names("turn-") == [f"turn-{setup.interview.id}"]
        assert names("ws-dispatch-") == [] and names("ws-writer-") == []

        standin.control(token_delay=0.05, replies=["Six, seven, eight, nine, ten?"])
        await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "a2"})
        await ws.recv_until("stream_chunk")
        await ws.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "a3"})
        refused = await ws.recv_until("error")
        assert refused[-1]["code"] == "TURN_IN_PROGRESS"
        assert len(names("ws-dispatch-")) == 1  # the refused one only
        assert (await ws.recv_until("stream_end"))[-1]["type"] == "stream_end"
    finally:
        loop.set_task_factory(previous)
    await ws.close()


async def test_a_turns_first_step_runs_where_it_is_started_but_as_its_own_task(app):
    """A turn's first step (an answer's save begun) runs in the step that starts it, the
    socket's reader's, one loop iteration sooner than a task's first step (`make bench`:
    `thinking`), and as the turn's own task, so what it binds to its task (a timeout, a
    lock's wait) is the turn's. A turn that ends in that step leaves nothing behind."""
    manager = get_manager()
    iid = 424270
    seen: list[asyncio.Task[object] | None] = []
    go_on = asyncio.Event()

    async def turn() -> AsyncIterator[dict[str, str]]:
        seen.append(asyncio.current_task())
        await go_on.wait()
        yield {"type": "thinking"}

    assert manager.start_turn(iid, turn(), None)
    task = manager.turns[iid]
    assert seen == [task] and task is not asyncio.current_task()
    assert manager.turn_running(iid)
    go_on.set()
    await task
    assert iid not in manager.turns

    async def silent() -> AsyncIterator[dict[str, str]]:
        seen.append(asyncio.current_task())
        return
        yield  # an async generator that ends at once

    assert manager.start_turn(iid, silent(), None)
    assert len(seen) == 2 and seen[1] not in (None, task, asyncio.current_task())
    assert iid not in manager.turns and not manager.turn_running(iid)
