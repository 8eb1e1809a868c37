import { act, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import WS from "vitest-websocket-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CAMERA_MESSAGES } from "../../hooks/useCameraRecording";
import { roomInterview } from "../../test/roomInterview";
import { InterviewRoomPage } from "./InterviewRoomPage";

const WS_URL = "ws://localhost:1234/api/v1/ws/interview/7";

const interview = roomInterview();

/** A MediaRecorder that hands over one piece per `emit` and a last piece on `stop`, like a browser. */
class FakeRecorder {
  static instances: FakeRecorder[] = [];
  static isTypeSupported = vi.fn((type: string) => type.startsWith("video/webm"));
  state: RecordingState = "inactive";
  timeslice: number | undefined;
  ondataavailable: ((e: { data: Blob }) => void) | null = null;
  onstop: (() => void) | null = null;
  readonly stream: MediaStream;
  readonly options: MediaRecorderOptions | undefined;

  constructor(stream: MediaStream, options?: MediaRecorderOptions) {
    this.stream = stream;
    this.options = options;
    FakeRecorder.instances.push(this);
  }
  start(timeslice?: number): void {
    this.state = "recording";
    this.timeslice = timeslice;
  }
  emit(text: string): void {
    this.ondataavailable?.({ data: new Blob([text], { type: "video/webm" }) });
  }
  stop(): void {
    this.state = "inactive";
    // Browsers deliver the last data and `stop` asynchronously.
    setTimeout(() => {
      this.emit("-last");
      this.onstop?.();
    }, 0);
  }
}

const track = { stop: vi.fn() };
const cameraStream = { getTracks: () => [track] } as unknown as MediaStream;
let getUserMedia: ReturnType<typeof vi.fn>;
let uploads: { url: string; file: File }[];
let uploadStatus: number;

function installMedia(media: "camera" | "none" = "camera"): void {
  vi.stubGlobal("MediaRecorder", FakeRecorder);
  getUserMedia = vi.fn(async () => cameraStream);
  Object.defineProperty(navigator, "mediaDevices", {
    configurable: true,
    value: media === "camera" ? { getUserMedia } : undefined,
  });
}

function mockFetch(): void {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input);
    if (url.endsWith("/recording") && init?.method === "POST") {
      const file = (init.body as FormData).get("file") as File;
      uploads.push({ url, file });
      return uploadStatus === 201
        ? new Response(JSON.stringify({ recording_id: 1, bytes: file.size }), { status: 201 })
        : new Response(JSON.stringify({ detail: "Recording is larger than the 500 MB limit" }), { status: uploadStatus });
    }
    return new Response(JSON.stringify(interview), { status: 200 });
  });
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

async function startRoom(server: WS, { uncheck = false } = {}): Promise<void> {
  render(
    <MemoryRouter initialEntries={["/interviews/7/room"]}>
      <Routes>
        <Route
          path="/interviews/:id/room"
          element={
            <InterviewRoomPage
              socketOptions={{ wsBase: "ws://localhost:1234", fetchTicket: async () => "t", random: () => 0.5 }}
            />
          }
        />
      </Routes>
    </MemoryRouter>,
  );
  await tick();
  const box = screen.getByRole("checkbox", { name: "Record my camera during the interview" });
  expect(box).toBeChecked();
  if (uncheck) click(box);
  click(screen.getByRole("button", { name: "Start interview" }));
  await tick();
  await tick();
  await server.connected;
  await tick();
  await expect(server).toReceiveMessage({ type: "start" });
}

function endInterview(server: WS): void {
  act(() => server.send({ type: "ended", seq: 5, content: "Thank you for your time." }));
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeRecorder.instances = [];
  track.stop.mockClear();
  uploads = [];
  uploadStatus = 201;
  mockFetch();
});

afterEach(() => {
  WS.clean();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  Reflect.deleteProperty(navigator, "mediaDevices");
});

describe("camera recording in the interview room", () => {
  it("records behind the permission prompt and uploads the WebM when the interview ends", async () => {
    installMedia();
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);

    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(getUserMedia.mock.calls[0]?.[0]).toMatchObject({ video: expect.anything(), audio: false });
    const rec = FakeRecorder.instances[0];
    expect(rec?.options?.mimeType).toBe("video/webm;codecs=vp9");
    expect(rec?.state).toBe("recording");
    expect(rec?.timeslice).toBeGreaterThan(0);
    expect(screen.getByText("Recording")).toBeInTheDocument();
    expect(screen.getByLabelText("Your camera")).toBeInTheDocument();
    expect(screen.getByText(CAMERA_MESSAGES.recording)).toBeInTheDocument();

    act(() => rec?.emit("first-piece"));
    endInterview(server);
    await tick();
    await tick();

    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.url).toBe("/api/v1/interviews/7/recording");
    expect(uploads[0]?.file.type).toBe("video/webm");
    expect(uploads[0]?.file.name).toBe("interview-7.webm");
    expect(uploads[0]?.file.size).toBe("first-piece-last".length); // every piece, the last one too
    expect(screen.getByText(CAMERA_MESSAGES.uploaded)).toBeInTheDocument();
    expect(track.stop).toHaveBeenCalled(); // the camera light goes off
    expect(screen.queryByLabelText("Your camera")).not.toBeInTheDocument();
  });

  it("says why when the camera is not allowed, and the interview goes on", async () => {
    installMedia();
    getUserMedia.mockRejectedValueOnce(new DOMException("Permission denied", "NotAllowedError"));
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);
    await tick();

    expect(screen.getByText(CAMERA_MESSAGES.denied)).toBeInTheDocument();
    expect(FakeRecorder.instances).toHaveLength(0);
    expect(screen.getByLabelText("Your answer")).toBeInTheDocument();
    endInterview(server);
    await tick();
    expect(uploads).toHaveLength(0);
  });

  it("says so when there is no camera", async () => {
    installMedia();
    getUserMedia.mockRejectedValueOnce(new DOMException("Requested device not found", "NotFoundError"));
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);
    await tick();
    expect(screen.getByText(CAMERA_MESSAGES.noCamera)).toBeInTheDocument();
  });

  it("says so when the browser has no camera API (e.g. an http page)", async () => {
    installMedia("none");
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);
    expect(screen.getByText(/Camera recording is not available here|cannot record video/)).toBeInTheDocument();
    expect(screen.getByLabelText("Your answer")).toBeInTheDocument();
  });

  it("says so when the browser cannot record any accepted format", async () => {
    installMedia();
    FakeRecorder.isTypeSupported.mockReturnValue(false);
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);
    expect(screen.getByText(CAMERA_MESSAGES.noRecorder)).toBeInTheDocument();
    expect(getUserMedia).not.toHaveBeenCalled();
    FakeRecorder.isTypeSupported.mockImplementation((type: string) => type.startsWith("video/webm"));
  });

  it("asks for nothing when the candidate unticks the box, and offers it later", async () => {
    installMedia();
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server, { uncheck: true });
    expect(getUserMedia).not.toHaveBeenCalled();
    click(screen.getByRole("button", { name: "Record my camera" }));
    await tick();
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(screen.getByText("Recording")).toBeInTheDocument();
  });

  it("a failed upload says why and can be tried again", async () => {
    installMedia();
    uploadStatus = 413;
    const server = new WS(WS_URL, { jsonProtocol: true });
    await startRoom(server);
    endInterview(server);
    await tick();
    await tick();
    expect(screen.getByRole("alert")).toHaveTextContent("Recording is larger than the 500 MB limit");

    uploadStatus = 201;
    click(screen.getByRole("button", { name: "Upload again" }));
    await tick();
    expect(uploads).toHaveLength(2);
    expect(uploads[1]?.file.size).toBe("-last".length);
    expect(screen.getByText(CAMERA_MESSAGES.uploaded)).toBeInTheDocument();
  });
});
