"""The control side of the voice socket is the chat socket's: heartbeat, ownership across the
two endpoints, typed answers, reconnect, errors."""

from __future__ import annotations

from tests.support.factories import make_interview, token
from tests.support.ws import WSClient
from tests.support.ws_flow import LONG_ANSWER


async def test_voice_socket_pings_answers_text_and_resumes(db, ws_url):
    setup = await make_interview(db)
    iid = setup.interview.id
    voice = await WSClient.open(ws_url(f"/ws/voice/{iid}", token(setup.candidate_user)))
    await voice.send({"type": "ping"})
    assert (await voice.recv())["type"] == "pong"
    await voice.send({"type": "start"})
    greeting = await voice.recv_until("stream_end")
    assert greeting[0]["type"] == "stream_start"
    await voice.send({"type": "message", "content": LONG_ANSWER, "client_msg_id": "t1"})
    frames = await voice.recv_until("stream_end")
    kinds = [f["type"] for f in frames if f["type"] != "audio"]  # the greeting's speech
    assert kinds[0] == "thinking" and frames[-1]["question_number"] == 2
    await voice.send({"type": "message", "content": ""})
    assert (await voice.recv_until("error"))[-1]["code"] == "INVALID_MESSAGE"
    await voice.send({"type": "reconnect"})
    snap = (await voice.recv_until("reconnected"))[-1]
    assert [h["role"] for h in snap["conversation_history"]] == ["ai", "candidate", "ai"]
    await voice.close()


async def test_chat_and_voice_sockets_share_one_ownership(db, ws_url):
    setup = await make_interview(db)
    iid = setup.interview.id
    chat = await WSClient.open(ws_url(f"/ws/interview/{iid}", token(setup.candidate_user)))
    await chat.send({"type": "ping"})
    await chat.recv_until("pong")
    voice = await WSClient.open(ws_url(f"/ws/voice/{iid}", token(setup.candidate_user)))
    assert await chat.expect_close() == 4009
    again = await WSClient.open(ws_url(f"/ws/interview/{iid}", token(setup.candidate_user)))
    assert await voice.expect_close() == 4009
    await again.close()


async def test_silent_voice_socket_times_out_with_4008(db, ws_url, settings_env):
    settings_env(WS_HEARTBEAT_INTERVAL_SEC=0.2, WS_HEARTBEAT_TIMEOUT_SEC=0.6)
    setup = await make_interview(db)
    voice = await WSClient.open(
        ws_url(f"/ws/voice/{setup.interview.id}", token(setup.candidate_user))
    )
    assert await voice.expect_close(timeout=5) == 4008
