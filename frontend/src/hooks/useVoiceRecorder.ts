/**
 * The microphone for the interview room's voice mode: permission, a level meter, push-to-talk
 * and hands-free recording (a simple voice activity detector: the RMS of an AnalyserNode above a
 * threshold starts an utterance, `silenceMs` below it ends it). Each finished utterance is one
 * webm/opus Blob from MediaRecorder, handed to `onUtterance`.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";

export type MicStatus = "off" | "requesting" | "ready" | "unsupported" | "denied" | "no-device" | "error";

export interface VoiceRecorderOptions {
  onUtterance: (blob: Blob) => void;
  /** Recording is allowed now (connected, the interviewer is not thinking or writing). */
  canRecord: boolean;
  /** Hands-free listens only while this is true (e.g. not while the reply is being spoken). */
  canListen: boolean;
  /** RMS (0..1) above which hands-free hears speech. */
  threshold?: number;
  /** Hands-free: this much quiet ends the utterance. */
  silenceMs?: number;
  /** Level sampling period. */
  sampleMs?: number;
  /** Hands-free: an utterance with less speech than this (a cough, a click) is dropped, not sent. */
  minSpeechMs?: number;
}

export interface VoiceRecorder {
  status: MicStatus;
  /** Why voice mode is not available, in plain words (null when it is). */
  message: string | null;
  recording: boolean;
  /** Microphone level 0..1 (0 where the browser has no Web Audio). */
  level: number;
  handsFree: boolean;
  /** Hands-free needs Web Audio (AnalyserNode). */
  handsFreeAvailable: boolean;
  setHandsFree: (on: boolean) => void;
  enable: () => Promise<boolean>;
  disable: () => void;
  /** Returns whether a recording started. */
  startRecording: () => boolean;
  stopRecording: () => void;
}

export const VOICE_MIME = "audio/webm;codecs=opus";

export function voiceSupported(): boolean {
  return (
    typeof navigator !== "undefined" &&
    typeof navigator.mediaDevices?.getUserMedia === "function" &&
    typeof window.MediaRecorder !== "undefined"
  );
}

function messageFor(status: MicStatus): string | null {
  switch (status) {
    case "unsupported":
      return "This browser can't record audio, so voice mode is not available. Please answer in writing.";
    case "denied":
      return "Microphone access was refused, so voice mode is off. Please answer in writing, or allow the microphone in your browser's site settings and turn Voice on again.";
    case "no-device":
      return "No microphone was found, so voice mode is off. Please answer in writing.";
    case "error":
      return "The microphone could not be started, so voice mode is off. Please answer in writing.";
    default:
      return null;
  }
}

type AudioContextCtor = typeof AudioContext;
function audioContextCtor(): AudioContextCtor | undefined {
  const w = window as unknown as { AudioContext?: AudioContextCtor; webkitAudioContext?: AudioContextCtor };
  return w.AudioContext ?? w.webkitAudioContext;
}

export function useVoiceRecorder({
  onUtterance,
  canRecord,
  canListen,
  threshold = 0.02,
  silenceMs = 1200,
  sampleMs = 50,
  minSpeechMs = 250,
}: VoiceRecorderOptions): VoiceRecorder {
  const [status, setStatus] = useState<MicStatus>("off");
  const [recording, setRecording] = useState(false);
  const [level, setLevel] = useState(0);
  const [handsFree, setHandsFree] = useState(false);
  const stream = useRef<MediaStream | null>(null);
  const recorder = useRef<MediaRecorder | null>(null);
  const ctx = useRef<AudioContext | null>(null);
  const analyser = useRef<AnalyserNode | null>(null);
  const lastVoiceAt = useRef(0);
  /** Hands-free: speech heard in the current utterance (ms); null for push-to-talk. */
  const voicedMs = useRef<number | null>(null);
  const utter = useRef(onUtterance);
  const allowed = useRef(canRecord);
  const listen = useRef(false);
  useLayoutEffect(() => {
    utter.current = onUtterance;
    allowed.current = canRecord;
    listen.current = canListen && handsFree && canRecord;
  });

  const startRecording = useCallback((): boolean => {
    const s = stream.current;
    if (!s || recorder.current || !allowed.current) return false;
    let rec: MediaRecorder;
    try {
      const supported = typeof MediaRecorder.isTypeSupported !== "function" || MediaRecorder.isTypeSupported(VOICE_MIME);
      rec = supported ? new MediaRecorder(s, { mimeType: VOICE_MIME }) : new MediaRecorder(s);
    } catch {
      setStatus("error");
      return false;
    }
    const chunks: Blob[] = [];
    rec.ondataavailable = (e: BlobEvent) => {
      if (e.data && e.data.size > 0) chunks.push(e.data);
    };
    rec.onstop = () => {
      if (recorder.current === rec) recorder.current = null;
      setRecording(false);
      const blob = new Blob(chunks, { type: rec.mimeType || "audio/webm" });
      const voiced = voicedMs.current;
      voicedMs.current = null;
      if (voiced !== null && voiced < minSpeechMs) return; // a noise, not an answer
      if (blob.size > 0) utter.current(blob);
    };
    recorder.current = rec;
    lastVoiceAt.current = Date.now();
    voicedMs.current = null;
    rec.start();
    setRecording(true);
    return true;
  }, [minSpeechMs]);

  const stopRecording = useCallback(() => {
    const rec = recorder.current;
    if (rec && rec.state !== "inactive") rec.stop();
  }, []);

  const release = useCallback(() => {
    const rec = recorder.current;
    recorder.current = null;
    if (rec) {
      rec.ondataavailable = null;
      rec.onstop = null;
      if (rec.state !== "inactive") rec.stop();
    }
    setRecording(false);
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = null;
    analyser.current = null;
    void ctx.current?.close().catch(() => undefined);
    ctx.current = null;
    setLevel(0);
  }, []);

  const enable = useCallback(async (): Promise<boolean> => {
    if (!voiceSupported()) {
      setStatus("unsupported");
      return false;
    }
    if (stream.current) return true;
    setStatus("requesting");
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
      stream.current = s;
      const Ctor = audioContextCtor();
      if (Ctor) {
        try {
          const c = new Ctor();
          const node = c.createAnalyser();
          node.fftSize = 1024;
          c.createMediaStreamSource(s).connect(node);
          ctx.current = c;
          analyser.current = node;
        } catch {
          analyser.current = null; // no meter, no hands-free; push-to-talk still works
        }
      }
      setStatus("ready");
      return true;
    } catch (err: unknown) {
      const name = err instanceof Error || err instanceof DOMException ? err.name : "";
      if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") setStatus("denied");
      else if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") setStatus("no-device");
      else setStatus("error");
      return false;
    }
  }, []);

  const disable = useCallback(() => {
    release();
    setHandsFree(false);
    setStatus("off");
  }, [release]);

  useEffect(() => release, [release]);

  // Level meter and hands-free voice activity detection.
  useEffect(() => {
    if (status !== "ready") return;
    const buf = new Float32Array(1024);
    const timer = setInterval(() => {
      const node = analyser.current;
      if (!node) return;
      node.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      setLevel((prev) => (Math.abs(prev - rms) > 0.005 ? Math.min(1, rms) : prev));
      const now = Date.now();
      if (rms >= threshold) lastVoiceAt.current = now;
      if (!listen.current) return;
      if (!recorder.current && rms >= threshold) {
        if (startRecording()) voicedMs.current = sampleMs;
      } else if (recorder.current && voicedMs.current !== null) {
        if (rms >= threshold) voicedMs.current += sampleMs;
        else if (now - lastVoiceAt.current > silenceMs) stopRecording();
      }
    }, sampleMs);
    return () => clearInterval(timer);
  }, [status, threshold, silenceMs, sampleMs, startRecording, stopRecording]);

  return {
    status,
    message: messageFor(status),
    recording,
    level,
    handsFree,
    handsFreeAvailable: audioContextCtor() !== undefined,
    setHandsFree,
    enable,
    disable,
    startRecording,
    stopRecording,
  };
}
