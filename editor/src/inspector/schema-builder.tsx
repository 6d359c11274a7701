/**
 * The field builder for a flow's input (and result) schema: one row per field with its name, type, whether it is
 * required, its choices, bounds, format and description; the JSON Schema it writes is the advanced view.
 */
import { Plus, Trash2 } from 'lucide-react';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { JsonSchema } from '../api/types.js';
import { Segmented } from '../ui/segmented.js';
import {
  fieldsOf,
  fieldTypes,
  nameProblem,
  newFieldName,
  schemaOf,
  stringFormats,
  type FieldSpec,
} from './schema-fields.js';

function numberOrUndefined(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function FieldRow(props: {
  field: FieldSpec;
  index: number;
  fields: FieldSpec[];
  readOnly: boolean;
  onChange: (f: FieldSpec) => void;
  onRemove: () => void;
}) {
  const { t } = useTranslation();
  const { field: f, readOnly } = props;
  // The name is edited as text and applied when it is a valid, unused name.
  const [name, setName] = useState(f.name);
  const problem = nameProblem(name, props.index, props.fields);
  const set = (patch: Partial<FieldSpec>) => props.onChange({ ...f, ...patch });
  const idBase = `field-${props.index}`;
  const cell = (label: string, id: string, control: ReactNode) => (
    <label className="builder-cell" htmlFor={id}>
      <span className="builder-label">{label}</span>
      {control}
    </label>
  );
  const numeric = f.type === 'number' || f.type === 'integer';
  return (
    <li className="builder-field" data-testid="builder-field" data-field={f.name}>
      <div className="builder-row">
        {cell(
          t('builder.name'),
          `${idBase}-name`,
          <input
            id={`${idBase}-name`}
            className="input small mono"
            value={name}
            readOnly={readOnly}
            aria-invalid={problem !== ''}
            data-testid="builder-name"
            onChange={(e) => {
              setName(e.target.value);
              if (nameProblem(e.target.value, props.index, props.fields) === '')
                set({ name: e.target.value });
            }}
          />,
        )}
        {cell(
          t('builder.type'),
          `${idBase}-type`,
          <select
            id={`${idBase}-type`}
            className="input small"
            value={f.type}
            disabled={readOnly}
            data-testid="builder-type"
            onChange={(e) => set({ type: e.target.value as FieldSpec['type'] })}
          >
            {fieldTypes.map((ty) => (
              <option key={ty} value={ty}>
                {t(`builder.types.${ty}`)}
              </option>
            ))}
          </select>,
        )}
        <label className="builder-check">
          <input
            type="checkbox"
            checked={f.required}
            disabled={readOnly}
            data-testid="builder-required"
            onChange={(e) => set({ required: e.target.checked })}
          />
          {t('builder.required')}
        </label>
        {!readOnly && (
          <button
            type="button"
            className="icon-button"
            onClick={props.onRemove}
            aria-label={t('builder.remove', { name: f.name })}
            title={t('builder.remove', { name: f.name })}
          >
            <Trash2 size={14} />
          </button>
        )}
      </div>
      {problem && (
        <p className="field-error" role="alert">
          {t(`builder.nameProblem.${problem}`)}
        </p>
      )}
      <div className="builder-row">
        {f.type === 'enum' &&
          cell(
            t('builder.choices'),
            `${idBase}-choices`,
            <input
              id={`${idBase}-choices`}
              className="input small"
              value={f.choices.join(', ')}
              readOnly={readOnly}
              placeholder={t('builder.choicesHint')}
              data-testid="builder-choices"
              onChange={(e) =>
                set({
                  choices: e.target.value
                    .split(/[,，]/)
                    .map((c) => c.trim())
                    .filter((c, i, all) => c !== '' || i === all.length - 1),
                })
              }
            />,
          )}
        {(numeric || f.type === 'string') && (
          <>
            {cell(
              numeric ? t('builder.min') : t('builder.minLength'),
              `${idBase}-min`,
              <input
                id={`${idBase}-min`}
                className="input small"
                type="number"
                value={f.min ?? ''}
                readOnly={readOnly}
                data-testid="builder-min"
                onChange={(e) => {
                  const { min: _drop, ...others } = f;
                  const v = numberOrUndefined(e.target.value);
                  props.onChange(v === undefined ? others : { ...others, min: v });
                }}
              />,
            )}
            {cell(
              numeric ? t('builder.max') : t('builder.maxLength'),
              `${idBase}-max`,
              <input
                id={`${idBase}-max`}
                className="input small"
                type="number"
                value={f.max ?? ''}
                readOnly={readOnly}
                data-testid="builder-max"
                onChange={(e) => {
                  const { max: _drop, ...others } = f;
                  const v = numberOrUndefined(e.target.value);
                  props.onChange(v === undefined ? others : { ...others, max: v });
                }}
              />,
            )}
          </>
        )}
        {f.type === 'string' &&
          cell(
            t('builder.format'),
            `${idBase}-format`,
            <select
              id={`${idBase}-format`}
              className="input small"
              value={f.format}
              disabled={readOnly}
              data-testid="builder-format"
              onChange={(e) => set({ format: e.target.value })}
            >
              {stringFormats.map((fmt) => (
                <option key={fmt} value={fmt}>
                  {t(`builder.formats.${fmt || 'none'}`)}
                </option>
              ))}
            </select>,
          )}
        {(f.type === 'object' || f.type === 'array') && (
          <p className="muted small">{t('builder.nestedInJson')}</p>
        )}
      </div>
      <div className="builder-row">
        {cell(
          t('builder.title'),
          `${idBase}-title`,
          <input
            id={`${idBase}-title`}
            className="input small"
            value={f.title}
            readOnly={readOnly}
            placeholder={f.name}
            data-testid="builder-title"
            onChange={(e) => set({ title: e.target.value })}
          />,
        )}
        {cell(
          t('builder.titleZh'),
          `${idBase}-title-zh`,
          <input
            id={`${idBase}-title-zh`}
            className="input small"
            lang="zh-CN"
            value={f.titleZh}
            readOnly={readOnly}
            data-testid="builder-title-zh"
            onChange={(e) => set({ titleZh: e.target.value })}
          />,
        )}
      </div>
      {cell(
        t('builder.description'),
        `${idBase}-description`,
        <input
          id={`${idBase}-description`}
          className="input small"
          value={f.description}
          readOnly={readOnly}
          data-testid="builder-description"
          onChange={(e) => set({ description: e.target.value })}
        />,
      )}
      {cell(
        t('builder.descriptionZh'),
        `${idBase}-description-zh`,
        <input
          id={`${idBase}-description-zh`}
          className="input small"
          lang="zh-CN"
          value={f.descriptionZh}
          readOnly={readOnly}
          data-testid="builder-description-zh"
          onChange={(e) => set({ descriptionZh: e.target.value })}
        />,
      )}
    </li>
  );
}

export function SchemaBuilder(props: {
  value: unknown;
  onChange: (schema: JsonSchema) => void;
  readOnly: boolean;
  /** The JSON view (the form's code editor for the same value). */
  json: ReactNode;
}) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<'fields' | 'json'>('fields');
  const schema = (props.value && typeof props.value === 'object' ? props.value : {}) as JsonSchema;
  const fields = fieldsOf(schema);
  const write = (next: FieldSpec[]) => props.onChange(schemaOf(next, schema));
  return (
    <div className="schema-builder" data-testid="schema-builder">
      <Segmented<'fields' | 'json'>
        small
        label={t('builder.view')}
        value={mode}
        onChange={setMode}
        options={[
          { value: 'fields', label: t('builder.fields') },
          { value: 'json', label: t('builder.json') },
        ]}
      />
      {mode === 'json' ? (
        props.json
      ) : (
        <>
          {fields.length === 0 && <p className="muted small">{t('builder.empty')}</p>}
          <ol className="builder-fields">
            {fields.map((f, i) => (
              <FieldRow
                // Keyed by place (renaming must not remount the row); a removal remounts them all.
                key={`${i}/${fields.length}`}
                field={f}
                index={i}
                fields={fields}
                readOnly={props.readOnly}
                onChange={(nf) => write(fields.map((x, j) => (j === i ? nf : x)))}
                onRemove={() => write(fields.filter((_, j) => j !== i))}
              />
            ))}
          </ol>
          {!props.readOnly && (
            <button
              type="button"
              className="button small"
              data-testid="builder-add"
              onClick={() =>
                write([
                  ...fields,
                  {
                    name: newFieldName(fields),
                    type: 'string',
                    required: false,
                    choices: [],
                    format: '',
                    title: '',
                    description: '',
                    titleZh: '',
                    descriptionZh: '',
                    rest: {},
                  },
                ])
              }
            >
              <Plus size={14} /> {t('builder.add')}
            </button>
          )}
        </>
      )}
    </div>
  );
}
