/**
 * Plays the interviewer's spoken sentences as they arrive: one Audio element at a time, the
 * queue's head first (the machine keeps it ordered by turn and `index`). When the head changes
 * away from the clip playing (Stop speaking empties the queue), that clip is paused at once.
 */
import { useEffect, useLayoutEffect, useRef } from "react";
import type { AudioClip } from "./connectionMachine";

const MIME: Record<string, string> = { mp3: "audio/mpeg", opus: "audio/ogg", ogg: "audio/ogg", wav: "audio/wav" };

export function clipUrl(clip: AudioClip): string {
  return `data:${MIME[clip.format] ?? "audio/mpeg"};base64,${clip.data}`;
}

const keyOf = (c: AudioClip) => `${c.streamId}#${c.index}`;

export function useAudioPlayer(queue: AudioClip[], done: (clip: AudioClip) => void): void {
  const current = useRef<{ key: string; el: HTMLAudioElement } | null>(null);
  const finish = useRef(done);
  useLayoutEffect(() => {
    finish.current = done;
  });
  const head = queue[0];
  const headKey = head ? keyOf(head) : null;

  useEffect(() => {
    const cur = current.current;
    if (cur && cur.key === headKey) return;
    if (cur) {
      cur.el.pause();
      cur.el.onended = null;
      cur.el.onerror = null;
      current.current = null;
    }
    if (!head) return;
    const el = new Audio(clipUrl(head));
    const entry = { key: keyOf(head), el };
    current.current = entry;
    const next = () => {
      if (current.current !== entry) return;
      current.current = null;
      finish.current(head);
    };
    el.onended = next;
    el.onerror = next; // an undecodable clip is skipped, never blocks the rest
    void Promise.resolve(el.play()).catch(next);
    // `head` is identified by headKey; a new array with the same head must not restart it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [headKey]);

  useEffect(
    () => () => {
      current.current?.el.pause();
      current.current = null;
    },
    [],
  );
}
