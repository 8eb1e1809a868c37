import { useEffect, useRef } from "react";
import type { CameraRecording } from "../../hooks/useCameraRecording";
import { btnSecondary } from "../styles";

interface Props {
  camera: CameraRecording;
  /** The interview is still running: offer to turn the camera on. */
  canStart: boolean;
}

/** The camera recording in the room: a muted self-view while recording, and what happens to it. */
export function CameraPanel({ camera, canStart }: Props) {
  const video = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const el = video.current;
    if (el && el.srcObject !== camera.stream) el.srcObject = camera.stream;
  }, [camera.stream]);

  const { status, message } = camera;
  if (status === "off" && !canStart) return null;

  return (
    <div className="flex flex-wrap items-center gap-3 text-sm text-slate-800 print:hidden" data-testid="camera">
      {camera.stream ? (
        <video
          ref={video}
          autoPlay
          muted
          playsInline
          aria-label="Your camera"
          className="h-16 w-24 rounded border border-slate-300 bg-slate-900 object-cover"
        />
      ) : null}
      {status === "recording" ? (
        <span className="flex items-center gap-1 font-semibold text-red-800">
          <span aria-hidden="true" className="inline-block h-2 w-2 animate-pulse rounded-full bg-red-700" />
          Recording
        </span>
      ) : null}
      {status === "off" ? (
        <button type="button" className={`${btnSecondary} py-1`} onClick={() => void camera.start()}>
          Record my camera
        </button>
      ) : null}
      {message ? (
        <p role={status === "upload_failed" ? "alert" : "status"} className="min-w-0 flex-1">
          {message}
        </p>
      ) : null}
      {status === "upload_failed" ? (
        <button type="button" className={`${btnSecondary} py-1`} onClick={() => void camera.retryUpload()}>
          Upload again
        </button>
      ) : null}
    </div>
  );
}
