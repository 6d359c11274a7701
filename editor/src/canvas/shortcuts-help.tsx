/** The keyboard-shortcut overlay (press "?"). */
import { useTranslation } from 'react-i18next';
import { Dialog } from '../ui/dialog.js';

const shortcuts: [string, string][] = [
  ['Ctrl+Z', 'shortcuts.undo'],
  ['Ctrl+Shift+Z / Ctrl+Y', 'shortcuts.redo'],
  ['Ctrl+C / Ctrl+X / Ctrl+V', 'shortcuts.copyPaste'],
  ['Ctrl+A', 'shortcuts.selectAll'],
  ['Shift+click / Shift+drag', 'shortcuts.multiSelect'],
  ['Delete / Backspace', 'shortcuts.delete'],
  ['/', 'shortcuts.quickAdd'],
  ['Shift+L', 'shortcuts.layout'],
  ['Shift+F', 'shortcuts.fit'],
  ['Shift+N', 'shortcuts.note'],
  ['Ctrl+S', 'shortcuts.save'],
  ['Ctrl+Enter', 'shortcuts.run'],
  ['Escape', 'shortcuts.escape'],
  ['?', 'shortcuts.help'],
];

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog open title={t('shortcuts.title')} onClose={onClose} testId="shortcuts-help">
      <table className="shortcuts">
        <tbody>
          {shortcuts.map(([keys, label]) => (
            <tr key={label}>
              <td>
                {keys.split(' / ').map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' / '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{t(label)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
