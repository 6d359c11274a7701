/** The keyboard-shortcut overlay (press "?"): every editor action with its keys, from the action registry. */
import { useTranslation } from 'react-i18next';
import { Dialog } from '../ui/dialog.js';
import { editorActions, formatKey } from './actions.js';

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog open title={t('shortcuts.title')} onClose={onClose} testId="shortcuts-help">
      <table className="shortcuts">
        <tbody>
          {editorActions.map((a) => (
            <tr key={a.id} data-action={a.id}>
              <td>
                {a.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' / '}
                    <kbd>{formatKey(k, t)}</kbd>
                  </span>
                ))}
              </td>
              <td>{t(a.label)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
