/** What one node did in the shown run: status, timing, attempts, error, streamed text, inputs and outputs. */
import { useTranslation } from 'react-i18next';
import { formatMs } from '../i18n/index.js';
import { useRunStore } from '../state/run-store.js';
import { JsonTree, ValuesView } from '../views/pictures.js';
import { ErrorBox } from '../ui/error-box.js';

export function NodeRunView({ nodeId }: { nodeId: string }) {
  const { t } = useTranslation();
  const node = useRunStore((s) => s.run?.nodes[nodeId]);
  if (!node) return <p className="muted">{t('run.notInRun')}</p>;
  const inputText = typeof node.inputs?.['text'] === 'string' ? (node.inputs['text'] as string) : undefined;
  return (
    <div className="node-run" data-testid="node-run-view">
      <dl className="facts">
        <div>
          <dt>{t('run.status')}</dt>
          <dd>
            <span className={`pill status-${node.status}`}>{t(`status.${node.status}`)}</span>
            {node.handled && <span className="muted small"> ({t(`run.handled_${node.handled}`)})</span>}
          </dd>
        </div>
        <div>
          <dt>{t('run.duration')}</dt>
          <dd>{formatMs(node.ms)}</dd>
        </div>
        <div>
          <dt>{t('run.attempts')}</dt>
          <dd>{node.attempts}</dd>
        </div>
        {node.skipReason && (
          <div>
            <dt>{t('run.skipReason')}</dt>
            <dd>{t(`run.skip_${node.skipReason}`)}</dd>
          </div>
        )}
      </dl>
      {node.error && (
        <ErrorBox>
          <strong className="mono">{node.error.code}</strong>
          <p>{node.error.message}</p>
          {node.error.details && <JsonTree value={node.error.details} />}
        </ErrorBox>
      )}
      {node.streamed && (
        <section>
          <h3 className="section-title">{t('run.streamed')}</h3>
          <pre className="result-text streamed" aria-live="polite" data-testid="streamed-text">
            {node.streamed}
            {node.status === 'running' && <span className="caret" />}
          </pre>
        </section>
      )}
      {node.outputs && (
        <section>
          <h3 className="section-title">{t('run.outputs')}</h3>
          <ValuesView
            values={node.outputs}
            testId="node-outputs"
            {...(inputText !== undefined ? { text: inputText } : {})}
          />
        </section>
      )}
      {node.inputs && Object.keys(node.inputs).length > 0 && (
        <section>
          <h3 className="section-title">{t('run.inputs')}</h3>
          <JsonTree value={node.inputs} />
        </section>
      )}
      {node.logs.length > 0 && (
        <section>
          <h3 className="section-title">{t('run.logs')}</h3>
          <ul className="logs">
            {node.logs.map((l, i) => (
              <li key={i} className={`log-${l.level}`}>
                <span className="mono small">{new Date(l.at).toLocaleTimeString()}</span> {l.message}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
