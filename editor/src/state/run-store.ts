/**
 * The run shown on the canvas: started from the run panel or opened from the run history. Live events arrive
 * over socket.io and are folded with `reduceRun`; a past run is loaded as its recorded state. Node components
 * select their own status from here.
 */
import { create } from 'zustand';
import { api } from '../api/client.js';
import { subscribeRun, type RunSubscription } from '../api/socket.js';
import type { StartRunBody } from '@finflow/contract';
import type { RunEvent, RunState } from '../api/types.js';
import { foldRun, initialRunState, isTerminal, reduceRun } from '../run/run-state.js';

interface RunStoreState {
  run: RunState | null;
  flowVersion: number | null;
  error: string | null;
  /** A run is being started (before the server answered with its id). */
  starting: boolean;
  /** Bumped to ask the run panel to start a run with its input (Ctrl+Enter anywhere in the editor). */
  startRequest: number;
  requestStart(): void;
  /**
   * Starts a run of a saved version (`version`) or of the editor's unsaved draft (`document`); a draft run creates
   * no version.
   */
  start(flowId: string, body: StartRunBody): Promise<string>;
  open(runId: string): Promise<void>;
  cancel(): Promise<void>;
  clear(): void;
}

let sub: RunSubscription | null = null;
let pollTimer: ReturnType<typeof setTimeout> | null = null;

function stopFollowing() {
  sub?.close();
  sub = null;
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

export const useRunStore = create<RunStoreState>()((set, get) => {
  const apply = (e: RunEvent) => {
    const cur = get().run;
    if (!cur || cur.runId !== e.runId) return;
    const next = reduceRun(cur, e);
    if (next !== cur) set({ run: next });
    if (isTerminal(next.status)) {
      stopFollowing();
      // The terminal state from the server has what the events may not (e.g. a final error summary).
      void api.run(next.runId).then(
        (r) => {
          if (get().run?.runId === r.run.runId)
            set({
              run: { ...r.run, lastSeq: Math.max(r.run.lastSeq, next.lastSeq) },
              flowVersion: r.flowVersion,
            });
        },
        () => undefined,
      );
    }
  };

  /** Follows a run live; if the socket cannot be used, falls back to polling the event log. */
  const follow = (runId: string, afterSeq: number) => {
    stopFollowing();
    let polling = false;
    const poll = async () => {
      const run = get().run;
      if (!run || run.runId !== runId || isTerminal(run.status)) return;
      try {
        const events = await api.runEvents(runId, run.lastSeq);
        for (const e of events.sort((a, b) => a.seq - b.seq)) apply(e);
      } catch {
        // Transient; try again.
      }
      const status = get().run?.status ?? 'running';
      // A run waiting for a person changes when someone decides: it is looked at less often.
      if (get().run?.runId === runId && !isTerminal(status))
        pollTimer = setTimeout(() => void poll(), status === 'waiting' ? 5_000 : 700);
    };
    sub = subscribeRun(
      runId,
      apply,
      (message) => {
        if (polling) return;
        polling = true;
        set({ error: null });
        console.warn(`live run events unavailable (${message}); polling instead`);
        sub?.close();
        sub = null;
        void poll();
      },
      afterSeq,
    );
  };

  return {
    run: null,
    flowVersion: null,
    error: null,
    starting: false,
    startRequest: 0,
    requestStart() {
      set({ startRequest: get().startRequest + 1 });
    },
    async start(flowId, body) {
      stopFollowing();
      set({ starting: true, error: null });
      try {
        const { runId, flowVersion } = await api.startRun(flowId, body);
        set({ run: initialRunState(runId), flowVersion, starting: false });
        follow(runId, -1);
        return runId;
      } catch (err) {
        set({ starting: false });
        throw err;
      }
    },
    async open(runId) {
      stopFollowing();
      set({ error: null });
      let state: RunState;
      let flowVersion: number | null = null;
      try {
        const r = await api.run(runId);
        state = r.run;
        flowVersion = r.flowVersion;
      } catch {
        state = foldRun(await api.runEvents(runId), runId);
      }
      set({ run: state, flowVersion });
      if (!isTerminal(state.status)) follow(runId, state.lastSeq);
    },
    async cancel() {
      const run = get().run;
      if (!run || isTerminal(run.status)) return;
      await api.cancelRun(run.runId);
    },
    clear() {
      stopFollowing();
      set({ run: null, flowVersion: null, error: null });
    },
  };
});
