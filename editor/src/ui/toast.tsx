/** The notice line at the bottom of the editor (refused connections, saves, errors); announced to screen readers. */
import { AlertCircle, CheckCircle2, Info } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useEditorStore } from '../state/editor-store.js';

export function Toast() {
  const notice = useEditorStore((s) => s.notice);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    if (!notice) return;
    setVisible(true);
    const timer = setTimeout(() => setVisible(false), notice.kind === 'error' ? 6000 : 3500);
    return () => clearTimeout(timer);
  }, [notice]);
  const Icon = notice?.kind === 'error' ? AlertCircle : notice?.kind === 'success' ? CheckCircle2 : Info;
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {visible && notice && (
        <div className={`toast toast-${notice.kind}`} data-testid="toast">
          <Icon size={16} aria-hidden />
          <span>{notice.text}</span>
        </div>
      )}
    </div>
  );
}
