import { useEffect, useId, useRef, type KeyboardEvent as ReactKeyboardEvent } from "react";
import type { AudioClip } from "../../hooks/connectionMachine";
import type { VoiceRecorder } from "../../hooks/useVoiceRecorder";
import { btnPrimary, btnSecondary } from "../styles";

interface Props {
  voice: VoiceRecorder;
  /** Voice mode is on (the room talks over the voice socket). */
  on: boolean;
  onToggle: () => void;
  /** Recording is allowed now. */
  canRecord: boolean;
  transcribing: boolean;
  /** The reply's sentences still to be played (the first is playing). */
  speaking: AudioClip[];
  onStopSpeaking: () => void;
  disabled?: boolean;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || target.isContentEditable;
}

/**
 * Voice mode: the toggle, push-to-talk (hold the button, or hold Space anywhere outside a text
 * field) or hands-free, a level meter, and "Stop speaking" while the reply is played.
 */
export function VoicePanel({ voice, on, onToggle, canRecord, transcribing, speaking, onStopSpeaking, disabled = false }: Props) {
  const hintId = useId();
  const pttRef = useRef<HTMLButtonElement>(null);
  const { startRecording, stopRecording, recording, handsFree } = voice;
  const ready = on && voice.status === "ready";
  const pttActive = ready && !handsFree;

  // Space held anywhere outside a text field talks; released, the utterance is sent.
  useEffect(() => {
    if (!pttActive) return;
    const down = (e: KeyboardEvent) => {
      if (e.key !== " " || isTyping(e.target)) return;
      if (e.target instanceof HTMLButtonElement && e.target !== pttRef.current) return;
      e.preventDefault();
      if (!e.repeat) startRecording();
    };
    const up = (e: KeyboardEvent) => {
      if (e.key !== " " || isTyping(e.target)) return;
      if (e.target instanceof HTMLButtonElement && e.target !== pttRef.current) return;
      e.preventDefault();
      stopRecording();
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
    };
  }, [pttActive, startRecording, stopRecording]);

  // Enter on the focused button toggles recording (a keyboard alternative to holding).
  const onPttKey = (e: ReactKeyboardEvent<HTMLButtonElement>) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    if (recording) stopRecording();
    else startRecording();
  };

  let state = "";
  if (voice.status === "requesting") state = "Asking for the microphone…";
  else if (recording) state = "Recording… release to send.";
  else if (transcribing) state = "Sending your answer…";
  else if (speaking.length > 0) state = "The interviewer is speaking.";
  else if (ready && handsFree) state = canRecord ? "Listening: just speak." : "Waiting for the interviewer…";
  else if (ready) state = canRecord ? "Hold the button or the Space bar while you speak." : "Waiting for the interviewer…";

  return (
    <section aria-label="Voice" className="flex flex-col gap-2 print:hidden">
      <div className="flex flex-wrap items-center gap-3">
        <button type="button" className={btnSecondary} aria-pressed={on} onClick={onToggle} disabled={disabled}>
          Voice {on ? "on" : "off"}
        </button>
        {ready ? (
          <>
            <label className="flex items-center gap-2 text-sm text-slate-800">
              <input
                type="checkbox"
                className="h-4 w-4"
                checked={handsFree}
                disabled={!voice.handsFreeAvailable}
                onChange={(e) => {
                  if (recording) stopRecording();
                  voice.setHandsFree(e.target.checked);
                }}
              />
              Hands-free
            </label>
            {!handsFree ? (
              <button
                ref={pttRef}
                type="button"
                className={`${btnPrimary} ${recording ? "bg-red-700 hover:bg-red-800" : ""}`}
                aria-pressed={recording}
                aria-describedby={hintId}
                disabled={!canRecord && !recording}
                onPointerDown={(e) => {
                  e.preventDefault();
                  startRecording();
                }}
                onPointerUp={stopRecording}
                onPointerLeave={() => {
                  if (recording) stopRecording();
                }}
                onKeyDown={onPttKey}
              >
                {recording ? "Release to send" : "Hold to talk"}
              </button>
            ) : null}
            <label className="flex items-center gap-2 text-sm text-slate-800">
              Microphone level
              <meter min={0} max={0.3} low={0.02} value={Math.min(voice.level, 0.3)} className="w-24" />
            </label>
            {speaking.length > 0 ? (
              <button type="button" className={btnSecondary} onClick={onStopSpeaking}>
                Stop speaking
              </button>
            ) : null}
          </>
        ) : null}
      </div>
      {voice.message ? (
        <p role="alert" className="text-sm text-amber-950">
          {voice.message}
        </p>
      ) : null}
      {state ? (
        <p id={hintId} role="status" className="text-xs text-slate-700">
          {state}
        </p>
      ) : null}
    </section>
  );
}
