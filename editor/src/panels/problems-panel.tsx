/** The flow's validation problems from the server; clicking one shows and selects the node it concerns. */
import { AlertTriangle, CheckCircle2 } from 'lucide-react';
import { useTranslation } from 'react-i18next';
import { useEditorStore } from '../state/editor-store.js';

export function ProblemsPanel() {
  const { t } = useTranslation();
  const problems = useEditorStore((s) => s.problems);
  const edges = useEditorStore((s) => s.edges);
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
      {problems.map((p, i) => {
        const nodeId = p.nodeId ?? (p.edgeId ? edges.find((e) => e.id === p.edgeId)?.target : undefined);
        return (
          <li key={i}>
            <button
              type="button"
              className="problem-item"
              disabled={!nodeId}
              onClick={() => nodeId && useEditorStore.getState().requestFocus(nodeId)}
              data-testid="problem-item"
            >
              <AlertTriangle size={14} className="warn-icon" aria-hidden />
              <span className="problem-text">
                <span className="problem-msg">{p.message}</span>
                <span className="problem-where mono">
                  {p.code}
                  {p.nodeId ? ` · ${p.nodeId}` : ''}
                  {p.edgeId ? ` · ${p.edgeId}` : ''}
                  {p.path?.length ? ` · ${p.path.join('.')}` : ''}
                </span>
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
