/** Sticky notes for documenting a flow on the canvas: resizable, coloured, edited in place (double-click). */
import { NodeResizer, type NodeProps } from '@xyflow/react';
import { memo, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { NoteNode } from '../flow/model.js';
import { useEditorStore } from '../state/editor-store.js';

export const noteColors = ['#fff4c2', '#dbeafe', '#dcfce7', '#fce7f3', '#ede9fe'];

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
  const color = data.note.color ?? noteColors[0];
  return (
    <div
      className={`note-node${selected ? ' selected' : ''}`}
      style={{ background: color }}
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
          {noteColors.map((c) => (
            <button
              key={c}
              type="button"
              className={`note-swatch${c === color ? ' active' : ''}`}
              style={{ background: c }}
              aria-label={c}
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
