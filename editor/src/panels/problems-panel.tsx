/**
 * The flow's validation problems from the server, in the analyst's language; clicking one shows and selects the
 * node it concerns.
 */
import { AlertTriangle, CheckCircle2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import type { Problem } from '../api/types.js';
import { problemText } from '../flow/problems.js';
import { nodeTitle, useLang } from '../i18n/index.js';
import { entryFor } from '../state/catalog-store.js';
import { nodeById, useEditorStore } from '../state/editor-store.js';

/** The node a problem concerns: its own, or the node an edge it is about leads into. */
export function problemNode(p: Problem): string | undefined {
  if (p.nodeId) return p.nodeId;
  if (!p.edgeId) return undefined;
  return useEditorStore.getState().doc.edges.find((e) => e.id === p.edgeId)?.to.node;
}

/** One problem as a button that shows its node: the sentence, then where it is. */
export function ProblemButton({ problem }: { problem: Problem }) {
  const { t } = useTranslation();
  const lang = useLang();
  const nodeId = problemNode(problem);
  const node = useEditorStore((s) => nodeById(s, nodeId ?? null));
  const entry = node ? entryFor(node.type) : undefined;
  return (
    <button
      type="button"
      className="problem-item"
      disabled={!nodeId}
      onClick={() => nodeId && useEditorStore.getState().requestFocus(nodeId)}
      data-testid="problem-item"
      data-code={problem.code}
    >
      <AlertTriangle size={14} className="warn-icon" aria-hidden />
      <span className="problem-text">
        <span className="problem-msg">{problemText(t, problem, entry, lang)}</span>
        <span className="problem-where">
          {node ? `${node.label || nodeTitle(entry, node.type, lang)} · ` : ''}
          <span className="mono">{problem.code}</span>
        </span>
      </span>
    </button>
  );
}

export function ProblemsPanel() {
  const { t } = useTranslation();
  const problems = useEditorStore((s) => s.problems);
  if (!problems.length) {
    return (
      <div className="inspector-empty" data-testid="problems-panel">
        <CheckCircle2 size={18} className="ok-icon" aria-hidden />
        <p>{t('problems.none')}</p>
      </div>
    );
  }
  return (
    <ul className="problem-list" data-testid="problems-panel">
      {problems.map((p, i) => (
        <li key={i}>
          <ProblemButton problem={p} />
        </li>
      ))}
    </ul>
  );
}
