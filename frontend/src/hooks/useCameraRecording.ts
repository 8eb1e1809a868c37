/**
 * The candidate's camera recording: asked for behind the browser's permission prompt, recorded
 * with MediaRecorder (WebM; MP4 where only that exists, e.g. Safari), uploaded when the interview
 * is over. Without a camera, a permission, a secure origin or MediaRecorder it says why in plain
 * words and the interview goes on without it.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api/client";

export type CameraStatus =
  | "off" // not asked yet
  | "starting" // waiting for the permission prompt
  | "recording"
  | "unavailable" // no camera, no permission, or no way to record: the interview goes on without
  | "uploading"
  | "uploaded"
  | "upload_failed";

export interface CameraRecording {
  status: CameraStatus;
  /** What the candidate should know about the recording now (null while there is nothing to say). */
  message: string | null;
  /** The live camera, for a muted self-view while recording. */
  stream: MediaStream | null;
  start: () => Promise<void>;
  /** Stop and upload what was recorded (the interview is over). */
  finish: () => Promise<void>;
  /** Upload again after a failed upload. */
  retryUpload: () => Promise<void>;
}

interface RecordingFormat {
  /** Passed to MediaRecorder. */
  mimeType: string;
  /** The upload's content type: what the server accepts, without codec parameters. */
  blobType: "video/webm" | "video/mp4";
  ext: "webm" | "mp4";
}

const FORMATS: RecordingFormat[] = [
  { mimeType: "video/webm;codecs=vp9", blobType: "video/webm", ext: "webm" },
  { mimeType: "video/webm;codecs=vp8", blobType: "video/webm", ext: "webm" },
  { mimeType: "video/webm", blobType: "video/webm", ext: "webm" },
  { mimeType: "video/mp4", blobType: "video/mp4", ext: "mp4" },
];

/** The first format this browser can record, or null when it cannot record video at all. */
export function pickRecordingFormat(): RecordingFormat | null {
  if (typeof MediaRecorder === "undefined") return null;
  if (typeof MediaRecorder.isTypeSupported !== "function") return FORMATS[0] ?? null;
  return FORMATS.find((f) => MediaRecorder.isTypeSupported(f.mimeType)) ?? null;
}

/** ~0.5 Mbit/s at 640×480: half an hour stays near 110 MB, well under MAX_RECORDING_MB. */
const VIDEO_BITS_PER_SECOND = 500_000;
/** Hand over data every few seconds, so a long interview is not one huge buffer at the end. */
const TIMESLICE_MS = 5_000;

export const CAMERA_MESSAGES = {
  insecure:
    "Camera recording is not available here: the browser allows the camera only on a secure (https) page. The interview works without it.",
  noRecorder: "This browser cannot record video, so the interview goes on without a recording.",
  denied:
    "Camera recording is off because the camera was not allowed. The interview works without it; to record, allow the camera for this site and reload the page.",
  noCamera: "Camera recording is off: no camera was found. The interview works without it.",
  busy: "Camera recording is off: the camera is in use by another program. The interview works without it.",
  failed: "Camera recording is off: the camera could not be started. The interview works without it.",
  recording: "Recording your camera. The recording is uploaded when the interview ends.",
  uploading: "Uploading your camera recording…",
  uploaded: "Your camera recording was uploaded.",
  empty: "Nothing was recorded by the camera, so there is nothing to upload.",
} as const;

function startError(err: unknown): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : "";
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return CAMERA_MESSAGES.denied;
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return CAMERA_MESSAGES.noCamera;
    case "NotReadableError":
    case "TrackStartError":
      return CAMERA_MESSAGES.busy;
    default:
      return CAMERA_MESSAGES.failed;
  }
}

export function useCameraRecording(interviewId: number | string): CameraRecording {
  const [status, setStatus] = useState<CameraStatus>("off");
  const [message, setMessage] = useState<string | null>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const chunks = useRef<Blob[]>([]);
  const format = useRef<RecordingFormat | null>(null);
  const recorded = useRef<Blob | null>(null);
  const streamRef = useRef<MediaStream | null>(null);
  const alive = useRef(true);

  const release = useCallback(() => {
    streamRef.current?.getTracks().forEach((t) => t.stop());
    streamRef.current = null;
    if (alive.current) setStream(null);
  }, []);

  // Leaving the room turns the camera off (an interview left half-way uploads nothing).
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      const rec = recorder.current;
      recorder.current = null;
      if (rec && rec.state !== "inactive") {
        rec.ondataavailable = null;
        rec.onstop = null;
        rec.stop();
      }
      streamRef.current?.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
    };
  }, []);

  const start = useCallback(async () => {
    if (recorder.current || streamRef.current) return;
    if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
      setStatus("unavailable");
      setMessage(window.isSecureContext === false ? CAMERA_MESSAGES.insecure : CAMERA_MESSAGES.noRecorder);
      return;
    }
    const fmt = pickRecordingFormat();
    if (!fmt) {
      setStatus("unavailable");
      setMessage(CAMERA_MESSAGES.noRecorder);
      return;
    }
    setStatus("starting");
    setMessage(null);
    let media: MediaStream;
    try {
      media = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
        audio: false,
      });
    } catch (err) {
      if (!alive.current) return;
      setStatus("unavailable");
      setMessage(startError(err));
      return;
    }
    if (!alive.current) {
      media.getTracks().forEach((t) => t.stop());
      return;
    }
    let rec: MediaRecorder;
    try {
      rec = new MediaRecorder(media, { mimeType: fmt.mimeType, videoBitsPerSecond: VIDEO_BITS_PER_SECOND });
      chunks.current = [];
      rec.ondataavailable = (e: BlobEvent) => {
        if (e.data.size > 0) chunks.current.push(e.data);
      };
      rec.start(TIMESLICE_MS);
    } catch {
      media.getTracks().forEach((t) => t.stop());
      setStatus("unavailable");
      setMessage(CAMERA_MESSAGES.noRecorder);
      return;
    }
    streamRef.current = media;
    recorder.current = rec;
    format.current = fmt;
    setStream(media);
    setStatus("recording");
    setMessage(CAMERA_MESSAGES.recording);
  }, []);

  const upload = useCallback(async () => {
    const blob = recorded.current;
    const fmt = format.current;
    if (!blob || !fmt) return;
    setStatus("uploading");
    setMessage(CAMERA_MESSAGES.uploading);
    try {
      await api.uploadRecording(interviewId, blob, `interview-${interviewId}.${fmt.ext}`);
      recorded.current = null;
      if (!alive.current) return;
      setStatus("uploaded");
      setMessage(CAMERA_MESSAGES.uploaded);
    } catch (err) {
      if (!alive.current) return;
      setStatus("upload_failed");
      setMessage(
        `The camera recording could not be uploaded${err instanceof ApiError ? `: ${err.detail}` : ""}. Please try again.`,
      );
    }
  }, [interviewId]);

  const finish = useCallback(async () => {
    const rec = recorder.current;
    const fmt = format.current;
    if (!rec || !fmt) return;
    recorder.current = null;
    // The last piece of data arrives before `stop`; only then is the recording whole.
    await new Promise<void>((resolve) => {
      if (rec.state === "inactive") return resolve();
      rec.onstop = () => resolve();
      rec.stop();
    });
    release();
    const blob = new Blob(chunks.current, { type: fmt.blobType });
    chunks.current = [];
    if (blob.size === 0) {
      if (alive.current) {
        setStatus("unavailable");
        setMessage(CAMERA_MESSAGES.empty);
      }
      return;
    }
    recorded.current = blob;
    await upload();
  }, [release, upload]);

  return { status, message, stream, start, finish, retryUpload: upload };
}
