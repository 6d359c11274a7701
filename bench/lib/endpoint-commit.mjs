// What one endpoint call commits (issue 18, rounds 4-5), for the benches that measure the commit path alone
// (commit-pages.bench.mjs, postgres.bench.mjs --commits): the real events of one run of a peer-harness flow
// and a write that adds, to a repository's batch, the call's finished run row, its events (as objects, encoded
// into the compact record on the way to the store, as the endpoint path does) and its audit entry with the
// endpoint route's details. Run ids are the server's (time-ordered UUIDs); round 4's bench drew random ones.
import * as flows from './peer-flows.mjs';

const here = new URL('../../', import.meta.url);
// Run ids as the server makes them: time-ordered, so a new run's id goes to the end of the runs' id index.
const { timeOrderedUuid } = await import(new URL('server/dist/security/crypto.js', here).href);

/** The events of one run of the flow (`echo`, `chain20`, `fanout`) on the harness's request, built-in nodes. */
export async function realEvents(flow) {
  const runtime = await import(new URL('runtime/dist/index.js', here).href);
  const nodes = await import(new URL('nodes/builtin/dist/index.js', here).href);
  const registry = runtime.createRegistry(nodes.createBuiltinRegistry().list());
  const events = [];
  const rt = runtime.createRuntime({ registry, store: { append: (e) => void events.push(e) } });
  const result = await rt.run(rt.prepare(flows[flow]()), flows.peerBody());
  if (result.status !== 'succeeded') throw new Error(`the ${flow} run ${result.status}`);
  return events;
}

/** A function that fills a batch with one endpoint call (a new run id and time each call). */
export function endpointCall(events, slug) {
  let t = Date.now();
  const finished = events[events.length - 1];
  return (b) => {
    const id = timeOrderedUuid();
    t++;
    b.runs.push({
      id,
      workspaceId: 'ws_bench',
      flowId: 'flw_bench',
      flowVersion: 1,
      status: 'succeeded',
      trigger: 'endpoint',
      endpointId: 'ep_bench',
      deploymentId: 'dep_bench',
      actor: 'key:key_bench',
      rerunOf: null,
      inputSealed: null,
      outputsSealed: null,
      startedAt: t,
      finishedAt: t + 1,
      ms: 0.9,
      checkpointSealed: null,
      resumeClaim: null,
      businessKey: null,
    });
    const objects = events.map((e) => ({ ...e, runId: id }));
    b.events.push({ runId: id, seq: 0, lastSeq: objects.length - 1, events: [], objects });
    b.audit.push({
      workspaceId: 'ws_bench',
      at: t,
      actor: { type: 'key', id: 'key_bench', name: 'bench' },
      action: 'endpoint.decision',
      target: 'endpoint:ep_bench',
      details: {
        slug,
        deploymentId: 'dep_bench',
        flowId: 'flw_bench',
        flowVersion: 1,
        runId: id,
        inputHash: 'f'.repeat(64),
        status: 'succeeded',
        httpStatus: 200,
        outputs: finished.outputs,
      },
    });
  };
}
