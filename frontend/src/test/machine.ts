import { reduce, type Effect, type MachineEvent, type MachineState } from "../hooks/connectionMachine";
import type { ClientMessage, ServerMessage } from "../types/interview";

/** What a run of the connection reducer ends in, and every effect it asked for on the way. */
export type Run = { state: MachineState; effects: Effect[] };

/** Apply events in order; collect every effect. */
export function run(state: MachineState, ...events: MachineEvent[]): Run {
  const effects: Effect[] = [];
  let s = state;
  for (const e of events) {
    const t = reduce(s, e);
    s = t.state;
    effects.push(...t.effects);
  }
  return { state: s, effects };
}

/** Feed server messages one by one (each with the generation current at that moment). */
export function receive(state: MachineState, ...msgs: ServerMessage[]): Run {
  const effects: Effect[] = [];
  let s = state;
  for (const msg of msgs) {
    const t = run(s, { type: "socketMessage", gen: s.gen, msg });
    s = t.state;
    effects.push(...t.effects);
  }
  return { state: s, effects };
}

/** The frames the effects send. */
export const sends = (effects: Effect[]): ClientMessage[] => effects.flatMap((e) => (e.kind === "send" ? [e.msg] : []));
