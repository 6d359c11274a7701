/** Sticky notes for documenting a flow on the canvas: resizable, coloured, edited in place (double-click). */
import { NodeResizer, type NodeProps } from '@xyflow/react';
import { memo, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { NOTE_TEXT_COLOR, noteColorName, noteColors, type NoteColorName } from '@finflow/runtime/document';
import type { NoteNode } from '../flow/model.js';
import { useEditorStore } from '../state/editor-store.js';

const swatches = Object.keys(noteColors) as NoteColorName[];

function NoteView({ id, data, selected }: NodeProps<NoteNode>) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(!data.note.text);
  const ref = useRef<HTMLTextAreaElement>(null);
  const updateNote = useEditorStore((s) => s.updateNote);
  const beginGesture = useEditorStore((s) => s.beginGesture);
  const commitGesture = useEditorStore((s) => s.commitGesture);
  useEffect(() => {
    if (editing) ref.current?.focus();
  }, [editing]);
  // Any stored colour is drawn from the palette (readable dark text on a pale background).
  const color = noteColorName(data.note.color);
  return (
    <div
      className={`note-node${selected ? ' selected' : ''}`}
      style={{ background: noteColors[color], color: NOTE_TEXT_COLOR }}
      data-note-color={color}
      data-testid="note-node"
    >
      <NodeResizer
        isVisible={!!selected}
        minWidth={140}
        minHeight={80}
        onResizeStart={beginGesture}
        onResizeEnd={commitGesture}
      />
      {selected && (
        <div className="note-colors nodrag" role="group" aria-label={t('canvas.noteColor')}>
          {swatches.map((c) => (
            <button
              key={c}
              type="button"
              className={`note-swatch${c === color ? ' active' : ''}`}
              style={{ background: noteColors[c] }}
              aria-label={t(`canvas.noteColors.${c}`)}
              aria-pressed={c === color}
              onClick={() => updateNote(id, { color: c })}
            />
          ))}
        </div>
      )}
      {editing ? (
        <textarea
          ref={ref}
          className="note-text nodrag nowheel"
          aria-label={t('canvas.noteText')}
          value={data.note.text}
          placeholder={t('canvas.notePlaceholder')}
          onChange={(e) => updateNote(id, { text: e.target.value }, 'text')}
          onBlur={() => setEditing(false)}
          onKeyDown={(e) => {
            e.stopPropagation();
            if (e.key === 'Escape') setEditing(false);
          }}
        />
      ) : (
        <div
          className="note-text note-read"
          onDoubleClick={() => setEditing(true)}
          title={t('canvas.noteEditHint')}
        >
          {data.note.text || <span className="muted">{t('canvas.notePlaceholder')}</span>}
        </div>
      )}
    </div>
  );
}

export const NoteNodeComponent = memo(NoteView);
