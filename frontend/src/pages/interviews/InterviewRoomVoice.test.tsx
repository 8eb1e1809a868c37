import { act, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import WS from "vitest-websocket-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ServerMessage } from "../../types/interview";
import { roomInterview } from "../../test/roomInterview";
import { InterviewRoomPage } from "./InterviewRoomPage";

const CHAT_URL = "ws://localhost:1234/api/v1/ws/interview/7";
const VOICE_URL = "ws://localhost:1234/api/v1/ws/voice/7";

const interview = roomInterview();

/** MediaRecorder: one piece of data and `stop` delivered asynchronously, like a browser. */
class FakeRecorder {
  static instances: FakeRecorder[] = [];
  static isTypeSupported = vi.fn((type: string) => type.startsWith("audio/webm"));
  state: RecordingState = "inactive";
  mimeType = "audio/webm;codecs=opus";
  ondataavailable: ((e: { data: Blob }) => void) | null = null;
  onstop: (() => void) | null = null;
  readonly options: MediaRecorderOptions | undefined;
  constructor(_stream: MediaStream, options?: MediaRecorderOptions) {
    this.options = options;
    FakeRecorder.instances.push(this);
  }
  start(): void {
    this.state = "recording";
  }
  stop(): void {
    this.state = "inactive";
    setTimeout(() => {
      this.ondataavailable?.({ data: new Blob(["opus-bytes"], { type: "audio/webm" }) });
      this.onstop?.();
    }, 0);
  }
}

/** Audio elements: records what was played and paused. */
class FakeAudio {
  static instances: FakeAudio[] = [];
  readonly src: string;
  onended: (() => void) | null = null;
  onerror: (() => void) | null = null;
  play = vi.fn(async () => undefined);
  pause = vi.fn();
  constructor(src: string) {
    this.src = src;
    FakeAudio.instances.push(this);
  }
}

const track = { stop: vi.fn() };
const micStream = { getTracks: () => [track] } as unknown as MediaStream;
let getUserMedia: ReturnType<typeof vi.fn>;

function installMedia(opts: { refuse?: string; recorder?: boolean } = {}): void {
  if (opts.recorder !== false) vi.stubGlobal("MediaRecorder", FakeRecorder);
  else vi.stubGlobal("MediaRecorder", undefined);
  vi.stubGlobal("Audio", FakeAudio);
  getUserMedia = vi.fn(async () => {
    if (opts.refuse) throw new DOMException("no", opts.refuse);
    return micStream;
  });
  Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: { getUserMedia } });
}

/** The room greeted, then switched to voice with media installed (hands-free: an audio level
 * meter too, and the mode on): the chat socket it left and the voice socket it uses. */
async function voiceRoom(opts: { handsFree?: boolean } = {}): Promise<{ chat: WS; voice: WS }> {
  installMedia();
  if (opts.handsFree) vi.stubGlobal("AudioContext", FakeAudioContext);
  const chat = new WS(CHAT_URL);
  const voice = new WS(VOICE_URL);
  await greetedRoom(chat);
  await switchToVoice(chat, voice);
  if (opts.handsFree) click(screen.getByRole("checkbox", { name: "Hands-free" }));
  return { chat, voice };
}

async function tick(ms = 10): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}
function click(el: HTMLElement): void {
  act(() => {
    fireEvent.click(el);
  });
}
function say(server: WS, msg: ServerMessage): void {
  act(() => server.send(JSON.stringify(msg)));
}

const greetingEnd = {
  type: "stream_end",
  seq: 3,
  stream_id: "g",
  content: "Hello! Tell me about yourself.",
  question_number: 1,
  total_questions: 3,
  time_remaining_min: 29,
  is_complete: false,
} as const;

async function greetedRoom(chat: WS): Promise<void> {
  vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response(JSON.stringify(interview), { status: 200 }));
  render(
    <MemoryRouter initialEntries={["/interviews/7/room"]}>
      <Routes>
        <Route
          path="/interviews/:id/room"
          element={
            <InterviewRoomPage socketOptions={{ wsBase: "ws://localhost:1234", fetchTicket: async () => "t", random: () => 0.5 }} />
          }
        />
      </Routes>
    </MemoryRouter>,
  );
  await tick();
  click(screen.getByRole("checkbox", { name: "Record my camera during the interview" }));
  click(screen.getByRole("button", { name: "Start interview" }));
  await tick();
  await tick();
  await chat.connected;
  await tick();
  await expect(chat).toReceiveMessage(JSON.stringify({ type: "start" }));
  say(chat, { type: "stream_start", seq: 1, stream_id: "g", kind: "greeting" });
  say(chat, { type: "stream_chunk", seq: 2, stream_id: "g", chunk_index: 0, content: "Hello! Tell me about yourself." });
  say(chat, greetingEnd);
}

/** Voice on: the room leaves the chat socket for the voice socket and catches up there. */
async function switchToVoice(chat: WS, voice: WS): Promise<void> {
  click(screen.getByRole("button", { name: "Voice off" }));
  await tick();
  await tick();
  await voice.connected;
  await tick();
  await chat.closed;
  await expect(voice).toReceiveMessage(JSON.stringify({ type: "reconnect", last_seq: 3 }));
  say(voice, {
    type: "reconnected",
    status: "in_progress",
    conversation_history: [
      { id: 1, seq: 3, role: "ai", content: greetingEnd.content, created_at: "2025-01-01T10:00:00Z", stream_id: "g" },
    ],
    current_question: 0,
    question_number: 1,
    total_questions: 3,
    time_remaining_min: 29,
    pending_stream: null,
    last_seq: 3,
    epoch: "e1",
  });
}

const audioEvent = (seq: number, index: number, last: boolean, streamId = "r1"): ServerMessage => ({
  type: "audio",
  seq,
  stream_id: streamId,
  index,
  last,
  format: "mp3",
  text: `Sentence ${index}.`,
  data: btoa(`clip-${index}`),
});

/** Web Audio with an analyser whose loudness the test sets (RMS = |amplitude|). */
let amplitude = 0;
class FakeAudioContext {
  createAnalyser() {
    return {
      fftSize: 2048,
      getFloatTimeDomainData: (buf: Float32Array) => buf.fill(amplitude),
    };
  }
  createMediaStreamSource() {
    return { connect: () => undefined };
  }
  close() {
    return Promise.resolve();
  }
}

beforeEach(() => {
  amplitude = 0;
  vi.useFakeTimers();
  FakeRecorder.instances = [];
  FakeAudio.instances = [];
  track.stop.mockClear();
});

afterEach(() => {
  WS.clean();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("InterviewRoomPage voice mode", () => {
  it("permission refused: a clear message, the room stays on the chat socket and text answers work", async () => {
    installMedia({ refuse: "NotAllowedError" });
    const chat = new WS(CHAT_URL);
    await greetedRoom(chat);
    click(screen.getByRole("button", { name: "Voice off" }));
    await tick();
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(screen.getByRole("alert")).toHaveTextContent(/Microphone access was refused.*answer in writing/);
    expect(screen.getByRole("button", { name: "Voice off" })).toHaveAttribute("aria-pressed", "false");
    expect(screen.queryByRole("button", { name: "Hold to talk" })).toBeNull();
    expect(screen.getByLabelText("Your answer")).toBeEnabled();
    expect(chat.server.clients()).toHaveLength(1); // still connected on the chat socket
  });

  it("no MediaRecorder: voice is not available, said plainly, without asking for the microphone", async () => {
    installMedia({ recorder: false });
    const chat = new WS(CHAT_URL);
    await greetedRoom(chat);
    click(screen.getByRole("button", { name: "Voice off" }));
    await tick();
    expect(getUserMedia).not.toHaveBeenCalled();
    expect(screen.getByRole("alert")).toHaveTextContent(/can't record audio.*answer in writing/);
    expect(screen.getByLabelText("Your answer")).toBeEnabled();
  });

  it("no microphone: says so and falls back to text", async () => {
    installMedia({ refuse: "NotFoundError" });
    const chat = new WS(CHAT_URL);
    await greetedRoom(chat);
    click(screen.getByRole("button", { name: "Voice off" }));
    await tick();
    expect(screen.getByRole("alert")).toHaveTextContent(/No microphone was found/);
  });

  it("push-to-talk sends one binary frame on the voice socket; the transcription replaces '…'", async () => {
    const { voice } = await voiceRoom();
    expect(screen.getByRole("button", { name: "Voice on" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getAllByText(greetingEnd.content)).toHaveLength(1);

    const ptt = screen.getByRole("button", { name: "Hold to talk" });
    act(() => {
      fireEvent.pointerDown(ptt);
    });
    expect(FakeRecorder.instances).toHaveLength(1);
    expect(FakeRecorder.instances[0]!.options).toEqual({ mimeType: "audio/webm;codecs=opus" });
    expect(screen.getByRole("button", { name: "Release to send" })).toBeInTheDocument();
    act(() => {
      fireEvent.pointerUp(screen.getByRole("button", { name: "Release to send" }));
    });
    await tick();

    const frames = voice.messages.filter((m) => typeof m !== "string");
    expect(frames).toHaveLength(1);
    expect(voice.messages).toHaveLength(2); // reconnect + the one utterance
    expect(screen.getByText("…")).toBeInTheDocument();
    expect(screen.getByLabelText("Your answer")).toBeDisabled();

    say(voice, { type: "transcription", seq: 4, content: "I have five years of Python experience", client_msg_id: "audio-x" });
    expect(screen.queryByText("…")).toBeNull();
    expect(screen.getByText("I have five years of Python experience")).toBeInTheDocument();
  });

  it("Space held on the page records too (keyboard only)", async () => {
    const { voice } = await voiceRoom();
    act(() => {
      fireEvent.keyDown(document.body, { key: " " });
    });
    expect(FakeRecorder.instances).toHaveLength(1);
    act(() => {
      fireEvent.keyUp(document.body, { key: " " });
    });
    await tick();
    expect(voice.messages.filter((m) => typeof m !== "string")).toHaveLength(1);
    // Enter on the focused button starts and stops too (for keyboards that cannot hold a key)
    say(voice, { type: "transcription", seq: 4, content: "First", client_msg_id: "audio-1" });
    say(voice, { type: "thinking", seq: 5 });
    say(voice, { type: "stream_start", seq: 6, stream_id: "r1", kind: "response" });
    say(voice, { type: "stream_end", seq: 7, stream_id: "r1", content: "Next?", is_complete: false, question_number: 2, total_questions: 3, time_remaining_min: 28 });
    const ptt = screen.getByRole("button", { name: "Hold to talk" });
    act(() => {
      fireEvent.keyDown(ptt, { key: "Enter" });
    });
    expect(FakeRecorder.instances).toHaveLength(2);
    act(() => {
      fireEvent.keyDown(screen.getByRole("button", { name: "Release to send" }), { key: "Enter" });
    });
    await tick();
    expect(voice.messages.filter((m) => typeof m !== "string")).toHaveLength(2);
    // typing a space in the answer box never records
    act(() => {
      fireEvent.keyDown(screen.getByLabelText("Your answer"), { key: " " });
    });
    expect(FakeRecorder.instances).toHaveLength(2);
  });

  it("the reply's clips play one after another in index order, and Stop speaking stops them", async () => {
    const { voice } = await voiceRoom();

    say(voice, audioEvent(4, 0, false));
    say(voice, audioEvent(5, 1, false));
    await tick();
    expect(FakeAudio.instances.map((a) => a.src)).toEqual([`data:audio/mpeg;base64,${btoa("clip-0")}`]);
    expect(FakeAudio.instances[0]!.play).toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Stop speaking" })).toBeInTheDocument();

    act(() => FakeAudio.instances[0]!.onended?.());
    await tick();
    expect(FakeAudio.instances.map((a) => a.src)).toEqual([
      `data:audio/mpeg;base64,${btoa("clip-0")}`,
      `data:audio/mpeg;base64,${btoa("clip-1")}`,
    ]);

    click(screen.getByRole("button", { name: "Stop speaking" }));
    await tick();
    expect(FakeAudio.instances[1]!.pause).toHaveBeenCalled();
    expect(screen.queryByRole("button", { name: "Stop speaking" })).toBeNull();
    // the rest of that turn is not spoken
    say(voice, audioEvent(6, 2, true));
    await tick();
    expect(FakeAudio.instances).toHaveLength(2);
  });

  it("hands-free: speech above the threshold starts recording, 1.2 s of quiet sends it; the meter moves", async () => {
    const { voice } = await voiceRoom({ handsFree: true });
    expect(screen.queryByRole("button", { name: "Hold to talk" })).toBeNull();
    await tick(200);
    expect(FakeRecorder.instances).toHaveLength(0); // silence: nothing recorded

    amplitude = 0.1;
    await tick(200);
    expect(FakeRecorder.instances).toHaveLength(1);
    expect(FakeRecorder.instances[0]!.state).toBe("recording");
    expect(Number(screen.getByLabelText("Microphone level").getAttribute("value"))).toBeGreaterThan(0.05);
    await tick(1000); // still speaking
    expect(FakeRecorder.instances[0]!.state).toBe("recording");

    amplitude = 0;
    await tick(600);
    expect(FakeRecorder.instances[0]!.state).toBe("recording"); // a short pause is not the end
    await tick(900);
    expect(FakeRecorder.instances[0]!.state).toBe("inactive");
    await tick();
    expect(voice.messages.filter((m) => typeof m !== "string")).toHaveLength(1);
    // waiting for the transcription: no second utterance starts
    amplitude = 0.1;
    await tick(300);
    expect(FakeRecorder.instances).toHaveLength(1);
  });

  it("hands-free: a short noise (a click, a cough) is not sent", async () => {
    const { voice } = await voiceRoom({ handsFree: true });
    amplitude = 0.1;
    await tick(100);
    amplitude = 0;
    expect(FakeRecorder.instances).toHaveLength(1);
    await tick(1500);
    expect(FakeRecorder.instances[0]!.state).toBe("inactive");
    await tick();
    expect(voice.messages.filter((m) => typeof m !== "string")).toHaveLength(0);
    expect(screen.queryByText("…")).toBeNull();
  });

  it("speech-to-text unavailable: the placeholder goes and the reason is shown", async () => {
    const { voice } = await voiceRoom();
    act(() => {
      fireEvent.pointerDown(screen.getByRole("button", { name: "Hold to talk" }));
    });
    act(() => {
      fireEvent.pointerUp(screen.getByRole("button", { name: "Release to send" }));
    });
    await tick();
    expect(screen.getByText("…")).toBeInTheDocument();
    say(voice, { type: "error", code: "AI_UNAVAILABLE", content: "Speech recognition is unavailable. Please try again." });
    expect(screen.queryByText("…")).toBeNull();
    expect(screen.getByRole("alert")).toHaveTextContent("Speech recognition is unavailable. Please try again.");
    expect(screen.getByRole("button", { name: "Hold to talk" })).toBeEnabled();
  });

  it("the closing is spoken after the interview ends, and can still be stopped", async () => {
    const { voice } = await voiceRoom();
    say(voice, audioEvent(4, 0, false, "c"));
    say(voice, audioEvent(5, 1, true, "c"));
    say(voice, { type: "complete", seq: 6, content: "Thank you, goodbye." });
    await tick();
    expect(screen.getByText("The interview is over. Thank you!")).toBeInTheDocument();
    expect(FakeAudio.instances).toHaveLength(1);
    click(screen.getByRole("button", { name: "Stop speaking" }));
    await tick();
    expect(FakeAudio.instances[0]!.pause).toHaveBeenCalled();
    expect(FakeAudio.instances).toHaveLength(1);
    expect(track.stop).toHaveBeenCalled(); // the microphone is released when the interview is over
  });

  it("Voice off goes back to the chat socket with reconnect/last_seq and releases the microphone", async () => {
    const { chat, voice } = await voiceRoom();
    say(voice, { type: "transcription", seq: 4, content: "Spoken words", client_msg_id: "audio-y" });
    click(screen.getByRole("button", { name: "Voice on" }));
    await tick();
    await tick();
    await tick();
    await voice.closed;
    await expect(chat).toReceiveMessage(JSON.stringify({ type: "reconnect", last_seq: 4 }));
    expect(chat.server.clients()).toHaveLength(1);
    expect(track.stop).toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Voice off" })).toBeInTheDocument();
  });
});
