import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../../api/client";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CameraPanel } from "../../components/interview/CameraPanel";
import { ConnectionBanner } from "../../components/interview/ConnectionBanner";
import { ConversationDisplay } from "../../components/interview/ConversationDisplay";
import { VoicePanel } from "../../components/interview/VoicePanel";
import { btnDanger, btnPrimary, btnSecondary, card, input, label, link, pageTitle } from "../../components/styles";
import { isTerminal } from "../../hooks/connectionMachine";
import { useCameraRecording } from "../../hooks/useCameraRecording";
import { useAudioPlayer } from "../../hooks/useAudioPlayer";
import { useResource } from "../../hooks/useResource";
import { useVoiceRecorder } from "../../hooks/useVoiceRecorder";
import { useWebSocket, type InterviewSocketOptions } from "../../hooks/useWebSocket";

/** The candidate's interview room. `socketOptions` lets tests inject a ticket source. */
export function InterviewRoomPage({ socketOptions }: { socketOptions?: Partial<InterviewSocketOptions> }) {
  const { id = "" } = useParams();
  const loadInterview = useCallback((signal: AbortSignal) => api.getInterview(id, signal), [id]);
  const interview = useResource(loadInterview);
  const socket = useWebSocket({ ...socketOptions, interviewId: id });
  const { start } = socket;
  const [draft, setDraft] = useState("");
  const [confirmEnd, setConfirmEnd] = useState(false);
  const camera = useCameraRecording(id);
  const [recordCamera, setRecordCamera] = useState(true);
  const answerRef = useRef<HTMLTextAreaElement>(null);
  const refocus = useRef(false);
  const answerId = useId();
  const hintId = useId();
  const cameraId = useId();
  const cameraHintId = useId();

  const status = interview.data?.status;
  // A running interview (reload, another device) resumes at once; a new one waits for Start.
  useEffect(() => {
    if (status === "in_progress") start();
  }, [status, start]);

  const state = socket.connectionState;
  const started = state !== "idle";
  const over = state === "finished";
  const busy = socket.isStreaming || socket.isThinking || socket.hasPendingAnswer;
  const answerDisabled = !started || isTerminal(state) || busy;
  const canSend = !answerDisabled && draft.trim().length > 0;

  // Voice mode: the same connection, moved to the voice socket.
  const voiceOn = socket.endpoint === "voice";
  const speaking = socket.audioQueue;
  const { sendAudio, setEndpoint, stopAudio } = socket;
  const voice = useVoiceRecorder({
    onUtterance: (blob) => {
      stopAudio(); // talking over the interviewer silences it
      sendAudio(blob);
    },
    canRecord: voiceOn && state === "connected" && !busy,
    canListen: speaking.length === 0,
  });
  useAudioPlayer(speaking, socket.audioDone);
  const { enable: enableMic, disable: disableMic } = voice;
  const toggleVoice = useCallback(async () => {
    if (voiceOn) {
      disableMic();
      stopAudio();
      setEndpoint("chat");
      return;
    }
    if (await enableMic()) setEndpoint("voice");
  }, [voiceOn, enableMic, disableMic, stopAudio, setEndpoint]);
  useEffect(() => {
    if (isTerminal(state)) disableMic();
  }, [state, disableMic]);

  // The interview is over for this window (ended, or taken over elsewhere): upload the recording.
  const { finish: finishRecording } = camera;
  const recording = camera.status === "recording";
  useEffect(() => {
    if (recording && isTerminal(state)) void finishRecording();
  }, [recording, state, finishRecording]);

  const begin = () => {
    start();
    if (recordCamera) void camera.start();
  };

  // Disabling the box takes focus away; give it back when the AI has finished its turn.
  useEffect(() => {
    if (!answerDisabled && refocus.current) {
      refocus.current = false;
      answerRef.current?.focus();
    }
  }, [answerDisabled]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    if (!canSend) return;
    if (socket.send(draft)) {
      setDraft("");
      refocus.current = true;
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  if (interview.error && !started) {
    return (
      <p role="alert" className="text-red-900">
        Could not load the interview: {interview.error.message}
      </p>
    );
  }
  if (interview.loading) {
    return (
      <p role="status" className="text-slate-700">
        Loading the interview…
      </p>
    );
  }

  const title = interview.data?.job_title ? `Interview: ${interview.data.job_title}` : "Interview";

  if (!started && status && status !== "scheduled" && status !== "in_progress") {
    return (
      <section className={card}>
        <h1 className={pageTitle}>{title}</h1>
        <p className="mt-3 text-slate-800">
          {status === "completed" ? "This interview has ended. Thank you!" : "This interview is not open any more."}
        </p>
        <p className="mt-3">
          <Link className={link} to="/interviews">
            Back to my interviews
          </Link>
        </p>
      </section>
    );
  }

  if (!started) {
    return (
      <section className={`${card} max-w-2xl`}>
        <h1 className={pageTitle}>{title}</h1>
        <p className="mt-3 text-slate-800">
          The AI interviewer will greet you and ask {interview.data?.question_count ?? "a few"} questions; you answer in
          writing, or by voice if you turn Voice on in the room. The interview takes about {interview.data?.duration_min ?? 30} minutes. If your connection drops, your
          answers are kept and the interview picks up where it stopped.
        </p>
        <div className="mt-4 flex items-start gap-2">
          <input
            id={cameraId}
            type="checkbox"
            checked={recordCamera}
            onChange={(e) => setRecordCamera(e.target.checked)}
            aria-describedby={cameraHintId}
            className="mt-1 h-4 w-4"
          />
          <div>
            <label htmlFor={cameraId} className="font-medium text-slate-900">
              Record my camera during the interview
            </label>
            <p id={cameraHintId} className="text-sm text-slate-700">
              Your browser asks for permission first. The video goes to the hiring team when the interview ends; without
              a camera the interview works just the same.
            </p>
          </div>
        </div>
        <button type="button" className={`${btnPrimary} mt-6`} onClick={begin}>
          Start interview
        </button>
      </section>
    );
  }

  return (
    <div className="flex h-[calc(100vh-8rem)] min-h-[28rem] flex-col gap-3">
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2">
        <h1 className={pageTitle}>{title}</h1>
        {socket.questionNumber && socket.totalQuestions ? (
          <span className="text-slate-800">
            Question {Math.min(socket.questionNumber, socket.totalQuestions)} of {socket.totalQuestions}
          </span>
        ) : null}
        {socket.timeRemainingMin !== null && !over ? (
          <span className="text-slate-800">
            {socket.timeRemainingMin <= 0 ? "Time is up" : `About ${socket.timeRemainingMin} min left`}
          </span>
        ) : null}
        {!isTerminal(state) ? (
          <button type="button" className={`${btnDanger} ml-auto`} onClick={() => setConfirmEnd(true)}>
            End interview
          </button>
        ) : null}
      </div>

      <CameraPanel camera={camera} canStart={!isTerminal(state)} />

      <ConnectionBanner
        state={state}
        attempt={socket.reconnectAttempt}
        maxAttempts={socket.maxReconnectAttempts}
        onReconnect={socket.reconnect}
      />

      <ConversationDisplay
        messages={socket.messages}
        isThinking={socket.isThinking}
        onRetry={socket.retry}
        retryableClientMsgId={socket.retryableClientMsgId}
      />

      {/* After a final close the banner says why; the error that preceded the close would repeat it. */}
      {/* AI_UNAVAILABLE is shown as "could not reply" + Try again, except a voice failure (nothing to retry). */}
      {socket.lastError &&
      (socket.lastError.code !== "AI_UNAVAILABLE" || (voiceOn && !socket.retryableClientMsgId)) &&
      !isTerminal(state) ? (
        <p role="alert" className="text-sm text-red-900">
          {socket.lastError.content}
        </p>
      ) : null}

      {over ? (
        <section role="status" className={`${card} border-green-300 bg-green-50`}>
          <h2 className="text-lg font-semibold text-green-950">The interview is over. Thank you!</h2>
          {socket.finishedMessage ? <p className="mt-1 text-green-950">{socket.finishedMessage}</p> : null}
          {speaking.length > 0 ? (
            <button type="button" className={`${btnSecondary} mt-2`} onClick={stopAudio}>
              Stop speaking
            </button>
          ) : null}
          <p className="mt-2">
            <Link className={link} to="/interviews">
              Back to my interviews
            </Link>
          </p>
        </section>
      ) : (
        <VoicePanel
          voice={voice}
          on={voiceOn}
          onToggle={() => void toggleVoice()}
          canRecord={voiceOn && state === "connected" && !busy}
          transcribing={socket.isTranscribing}
          speaking={speaking}
          onStopSpeaking={stopAudio}
          disabled={isTerminal(state)}
        />
      )}

      {over ? null : (
        <form onSubmit={submit} className="flex flex-col gap-2 print:hidden">
          <label htmlFor={answerId} className={label}>
            Your answer
          </label>
          <div className="flex items-end gap-3">
            <textarea
              id={answerId}
              ref={answerRef}
              rows={3}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={onKeyDown}
              disabled={answerDisabled}
              aria-describedby={hintId}
              className={`${input} resize-y disabled:bg-slate-100`}
            />
            <button type="submit" className={btnPrimary} disabled={!canSend}>
              Send
            </button>
          </div>
          <p id={hintId} className="text-xs text-slate-700">
            {socket.isStreaming
              ? "The interviewer is writing; you can answer when it has finished."
              : "Press Enter to send, Shift+Enter for a new line."}
          </p>
        </form>
      )}

      <ConfirmDialog
        open={confirmEnd}
        title="End the interview?"
        confirmLabel="End interview"
        cancelLabel="Keep going"
        danger
        onCancel={() => setConfirmEnd(false)}
        onConfirm={() => {
          setConfirmEnd(false);
          socket.end();
        }}
      >
        You can't continue afterwards. Your answers so far are kept and sent for review.
      </ConfirmDialog>
    </div>
  );
}
