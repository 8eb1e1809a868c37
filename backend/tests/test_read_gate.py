"""app.core.read_gate: model streams take turns on a busy loop (a loop iteration spends about a
slice on their reads; the rest wait in line, first come first served)."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import threading

import pytest

from app.ai.openai_client import chat_completion_stream
from app.core.read_gate import ReadGate, hurried, read_gate
from tests.support.aio import EveryIteration

MESSAGES = [{"role": "user", "content": "Say something."}]


class FakeClock:
    """Time that moves only when a 'read' is processed: a read costs `cost` seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def other_work(clock: FakeClock, seconds: float) -> EveryIteration:
    """Other work of `seconds` (fake time) in every loop iteration: sockets opening, say."""

    def work() -> None:
        clock.now += seconds

    return EveryIteration(work)


async def busy_streams(gate: ReadGate, clock: FakeClock, streams: int, reads: int, cost: float):
    """`streams` streams of `reads` reads each, every read ready at once (a loop at capacity)
    and taking `cost` of (fake) time; what each read saw: (stream, read, iteration, time)."""
    iterations = EveryIteration()
    log: list[tuple[int, int, int, float]] = []

    async def stream(n: int) -> None:
        for i in range(reads):
            if (turn := gate.ask()) is not None:
                await turn
            log.append((n, i, iterations.count, clock.now))
            clock.now += cost  # the read's processing
            await asyncio.sleep(0)  # the next read is ready by the next iteration

    await asyncio.gather(*(stream(n) for n in range(streams)))
    iterations.stop()
    return log


async def test_a_loop_at_capacity_spends_about_one_slice_per_iteration_on_reads():
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.003, clock=clock)
    log = await busy_streams(gate, clock, streams=40, reads=10, cost=0.001)

    assert len(log) == 400  # every read of every stream ran
    per_iteration: dict[int, float] = {}
    for _, _, iteration, _ in log:
        per_iteration[iteration] = per_iteration.get(iteration, 0.0) + 0.001
    # ungated, every iteration would hold all 40 streams' reads (40 ms); gated, about a slice
    # (the reads let through plus, at most, those of streams that had passed the gate before)
    assert max(per_iteration.values()) <= 0.003 + 0.002 + 1e-9
    assert gate.waited > 300
    for n in range(40):  # each stream's reads in order
        assert [i for s, i, _, _ in log if s == n] == list(range(10))


async def test_streams_in_line_are_served_first_come_first_served():
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.002, clock=clock)
    log = await busy_streams(gate, clock, streams=20, reads=6, cost=0.001)

    # no stream is starved while others go on: between two reads of a stream, every other
    # stream reads at most about once (a round robin), so no stream gets ahead by more than one
    done = dict.fromkeys(range(20), 0)
    for stream, _, _, _ in log:
        done[stream] += 1
        assert max(done.values()) - min(done.values()) <= 2


async def test_a_cancelled_stream_leaves_the_line_and_the_others_go_on():
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.001, clock=clock)
    assert gate.ask() is None  # the first read of the iteration
    clock.now += 0.002  # it took the whole slice
    waiting = [gate.ask() for _ in range(3)]
    assert all(turn is not None for turn in waiting)
    first, second, third = waiting
    assert first is not None and second is not None and third is not None
    first.cancel()  # its turn was cancelled (the socket closed) while it waited
    await asyncio.wait_for(asyncio.gather(second, third), timeout=5)


async def swamped_gaps(max_wait_sec: float) -> float:
    """40 streams of 1 ms reads beside other work of 10 ms an iteration (sockets opening, say):
    the longest a stream went between two reads once the line had formed."""
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.003, max_wait_sec=max_wait_sec, clock=clock)
    swamped = other_work(clock, 0.010)
    log = await busy_streams(gate, clock, streams=40, reads=15, cost=0.001)
    swamped.stop()
    assert len(log) == 600
    gaps = []
    for n in range(40):
        times = [t for s, _, _, t in log if s == n]
        gaps += [b - a for a, b in itertools.pairwise(times[5:])]
    return max(gaps)


async def test_a_loop_swamped_by_other_work_still_moves_the_line_within_its_longest_wait():
    # one slice of reads an iteration: 3 of the 40 streams per 13 ms, a read every ~170 ms
    assert await swamped_gaps(max_wait_sec=float("inf")) > 0.15
    # the front waiting past 20 ms makes the line move faster, up to all 40 an iteration (50 ms
    # with the other work; a stream that read asks again the iteration after)
    assert await swamped_gaps(max_wait_sec=0.02) < 0.08


async def test_a_loop_with_time_to_spare_makes_nobody_wait():
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.003, clock=clock)
    # each iteration has a read or two, far under the slice
    log = await busy_streams(gate, clock, streams=2, reads=50, cost=0.0005)
    assert len(log) == 100
    assert gate.waited == 0


def test_the_gate_is_one_per_loop():
    async def twice() -> tuple[ReadGate, ReadGate]:
        return read_gate(), read_gate()

    first, again = asyncio.run(twice())
    assert first is again
    second, _ = asyncio.run(twice())
    assert second is not first


async def test_model_streams_on_a_busy_loop_take_turns_and_lose_nothing(standin):
    """Through the real SDK against the stand-in: 12 streams at once, each of whose pieces keeps
    the loop busy for 2 ms, so one iteration could not take them all: the gate makes some wait,
    and every stream's text still arrives whole and in order."""
    replies = [" ".join(f"s{n}w{i}" for i in range(30)) for n in range(12)]
    standin.control(replies=replies, token_delay=0.001)
    gate = read_gate()
    waited_before = gate.waited

    async def consume() -> str:
        pieces = []
        async for piece in chat_completion_stream(MESSAGES):
            pieces.append(piece)
            spin_until = asyncio.get_running_loop().time() + 0.002
            while asyncio.get_running_loop().time() < spin_until:
                pass  # the relay's work for this piece (publishing, sending)
        return "".join(pieces)

    texts = await asyncio.gather(*(consume() for _ in range(12)))
    assert sorted(texts) == sorted(replies)
    assert gate.waited > waited_before


async def test_a_loop_overloaded_for_a_long_time_keeps_every_stream_going():
    """A loop overloaded for minutes: every tick finds the line's front past its longest wait
    (here: any wait at all), for over a thousand ticks in a row, and each tells the line to
    move faster. The gate goes on letting the streams go: the count it lets go stops growing
    at the whole line, where doubling it 1024 times would overflow and stop the ticks."""
    clock = FakeClock()
    gate = ReadGate(slice_sec=0.003, max_wait_sec=0.0, clock=clock)
    reads = 0

    async def stream() -> None:
        nonlocal reads
        for _ in range(1500):  # each read's data is there at once: it asks again straight away
            if (turn := gate.ask()) is not None:
                await turn
            clock.now += 0.001
            reads += 1

    swamped = other_work(clock, 0.100)
    try:
        await asyncio.wait_for(asyncio.gather(*(stream() for _ in range(5))), timeout=10)
    finally:
        swamped.stop()
    assert reads == 7500


def hand_back_from_a_thread(gate: ReadGate, callback) -> None:
    loop = asyncio.get_running_loop()
    thread = threading.Thread(target=gate.hand_back, args=(loop, callback))
    thread.start()
    thread.join()


async def test_a_threads_hand_back_runs_at_the_next_read_that_asks_within_the_same_step():
    gate = ReadGate()
    iterations = EveryIteration()
    ran: list[tuple[str, int]] = []
    hand_back_from_a_thread(gate, lambda: ran.append(("first", iterations.count)))
    hand_back_from_a_thread(gate, lambda: ran.append(("second", iterations.count)))
    assert ran == []
    now = iterations.count
    gate.ask()  # a model stream's read, in this same step
    assert ran == [("first", now), ("second", now)]  # in the order handed, once each
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the loop's own call for them comes: nothing left to run
    iterations.stop()
    assert len(ran) == 2


async def test_with_no_read_asking_a_hand_back_runs_in_the_loops_next_iteration():
    gate = ReadGate()
    ran: list[int] = []
    hand_back_from_a_thread(gate, lambda: ran.append(1))
    assert ran == []
    await asyncio.sleep(0)
    assert ran == [1]


AMBIENT: contextvars.ContextVar[str] = contextvars.ContextVar("ambient", default="none")


async def test_a_failing_hand_back_is_logged_the_rest_run_and_none_sees_the_readers_context(
    caplog,
):
    gate = ReadGate()
    seen: list[str] = []

    def broken() -> None:
        raise RuntimeError("hand-back failed")

    hand_back_from_a_thread(gate, broken)
    hand_back_from_a_thread(gate, lambda: seen.append(AMBIENT.get()))
    AMBIENT.set("the reader's")  # the asking stream's context, not the handing thread's
    with caplog.at_level(logging.ERROR, logger="app.read_gate"):
        assert gate.ask() is None  # the read itself goes on
    assert seen == ["none"]
    assert "a handed-back callback failed" in caplog.text
    assert "hand-back failed" in caplog.text


async def test_a_hand_back_to_a_closed_loop_raises_runtime_error():
    gate = ReadGate()
    closed = asyncio.new_event_loop()
    closed.close()
    with pytest.raises(RuntimeError):
        gate.hand_back(closed, lambda: None)


async def waiting_stream(gate: ReadGate, log: list[str], n: int) -> None:
    """A model stream that finds the line formed and waits its turn to read."""
    turn = gate.ask()
    assert turn is not None
    await turn
    log.append(f"stream {n}")


async def waiting_turn(gate: ReadGate, log: list[str], name: str, reply: asyncio.Future[str]):
    """An answer's turn waiting for a round trip's reply, hurried or not."""
    task = asyncio.current_task()
    assert task is not None
    if name == "hurried":
        gate.hurry(task)
    try:
        AMBIENT.set(name)
        log.append(f"{name} woke to {await reply} in its context: {AMBIENT.get() == name}")
    finally:
        gate.unhurry(task)


async def test_a_hurried_tasks_wake_up_runs_before_the_next_slice_and_once():
    """A reply read at the loop's poll, after this iteration's tick let the next slice go:
    the hurried task runs before that slice's reads, the other one behind them."""
    clock = FakeClock()
    gate = ReadGate(clock=clock)
    loop = asyncio.get_running_loop()
    log: list[str] = []
    replies = {name: loop.create_future() for name in ("hurried", "plain")}
    tasks = [asyncio.create_task(waiting_stream(gate, log, n)) for n in range(2)]
    tasks += [asyncio.create_task(waiting_turn(gate, log, n, f)) for n, f in replies.items()]
    assert gate.ask() is None  # this iteration's first read: the gate's tick is queued
    clock.now = 1.0  # ... and the slice is spent: the streams above find a line
    # the replies come in after the tick, as a socket's read at the poll does
    loop.call_soon(lambda: [f.set_result("its reply") for f in replies.values()])
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert log == [
        "hurried woke to its reply in its context: True",
        "stream 0",  # the slice let go before the replies came (one read: the first batch)
        "plain woke to its reply in its context: True",
        "stream 1",  # the next slice
    ]
    assert errors == []
    assert "call_soon" not in vars(loop)  # nobody hurried: the loop's own again


async def test_without_the_gates_tick_a_hurried_wake_up_runs_where_the_loop_puts_it():
    gate = ReadGate()
    loop = asyncio.get_running_loop()
    log: list[str] = []
    reply = loop.create_future()
    task = asyncio.create_task(waiting_turn(gate, log, "hurried", reply))
    await asyncio.sleep(0)
    assert "call_soon" in vars(loop)  # while a task is hurried
    reply.set_result("its reply")
    await asyncio.wait_for(task, 5)
    assert log == ["hurried woke to its reply in its context: True"]
    assert "call_soon" not in vars(loop)


async def test_the_loops_call_soon_stays_wrapped_until_no_task_is_hurried():
    gate = ReadGate()
    loop = asyncio.get_running_loop()
    first, second = (asyncio.create_task(asyncio.sleep(0)) for _ in range(2))
    gate.hurry(first)
    gate.hurry(second)
    gate.unhurry(first)
    assert "call_soon" in vars(loop)
    got: list[int] = []
    loop.call_soon(got.append, 1)  # a bound method of an unhashable object: as ever
    await asyncio.sleep(0)
    assert got == [1]
    gate.unhurry(second)
    gate.unhurry(second)  # twice, or never hurried: nothing changes
    assert "call_soon" not in vars(loop)
    await asyncio.gather(first, second)


async def test_a_hurried_task_with_an_empty_context_wakes_in_it_not_in_the_wakers():
    gate = ReadGate()
    loop = asyncio.get_running_loop()
    reply = loop.create_future()
    seen: list[str] = []

    async def turn() -> None:
        task = asyncio.current_task()
        assert task is not None
        gate.hurry(task)
        try:
            await reply
            seen.append(AMBIENT.get())
        finally:
            gate.unhurry(task)

    task = asyncio.create_task(turn(), context=contextvars.Context())
    await asyncio.sleep(0)
    AMBIENT.set("the waker's")
    reply.set_result(None)  # from this task, whose context has a value the turn's lacks
    await asyncio.wait_for(task, 5)
    assert seen == ["none"]


async def test_a_loop_wrapped_by_another_gate_is_left_to_it():
    loop = asyncio.get_running_loop()
    first, second = ReadGate(), ReadGate()
    task = asyncio.create_task(asyncio.sleep(0))
    first.hurry(task)
    second.hurry(task)  # does nothing: the loop's call_soon is the first gate's
    second.unhurry(task)
    assert "call_soon" in vars(loop)
    first.unhurry(task)
    assert "call_soon" not in vars(loop)
    await task


def test_a_loop_whose_call_soon_cannot_be_wrapped_is_left_as_it_is():
    class SlottedLoop:
        __slots__ = ()

    class TaskOnIt:
        def get_loop(self) -> SlottedLoop:
            return SlottedLoop()

    gate = ReadGate()
    task = TaskOnIt()
    gate.hurry(task)  # type: ignore[arg-type]
    gate.unhurry(task)  # type: ignore[arg-type]


async def test_hurried_hurries_the_current_task_on_its_loops_gate_for_the_block():
    loop = asyncio.get_running_loop()
    with hurried():
        assert "call_soon" in vars(loop)
    assert "call_soon" not in vars(loop)
