/**
 * A form generated from a JSON Schema: one component per widget kind (text, number with bounds, enum, switch,
 * arrays, nested objects, secrets from the credential list, connections from the workspace's list, a notice for a
 * node's pre-connection endpoint, Monaco for expressions, prompts, code and JSON).
 * Used for node config in the inspector and for the flow input in the run panel. Messages from client-side
 * schema validation and from the server's validation appear under the field they concern.
 */
import { FunctionSquare, Plus, Trash2, ArrowUp, ArrowDown } from 'lucide-react';
import { lazy, Suspense, useEffect, useId, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Connection, Credential, JsonSchema } from '../api/types.js';
import { useLang } from '../i18n/index.js';
import type { CodeEditorProps } from './code-editor.js';
import { SchemaBuilder } from './schema-builder.js';
import {
  emptyValue,
  fieldDescription,
  fieldKind,
  fieldTitle,
  isExpression,
  optionLabel,
  pathKey,
  properties,
  requiredKeys,
  resolveRef,
  unwrapNullable,
  type FieldError,
} from './schema.js';
import { Segmented } from '../ui/segmented.js';

const CodeEditor = lazy(() => import('./code-editor.js'));

export interface Hint {
  label: string;
  insert: string;
  detail?: string;
}

export interface FormContext {
  root: JsonSchema;
  errors: ReadonlyMap<string, FieldError[]>;
  serverErrors?: ReadonlyMap<string, string[]>;
  credentials?: Credential[] | null;
  connections?: Connection[] | null;
  promptHints?: Hint[];
  expressionHints?: Hint[];
  readOnly?: boolean;
  /** Offer the "fx" switch that turns a scalar field into a JSONata expression (node config only). */
  allowExpressions?: boolean;
  /** Code fields: the language and the declarations to check the code against (a code node's ports). */
  code?: { language: 'javascript' | 'typescript'; typings: string };
}

type Path = (string | number)[];

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  if (typeof head === 'number') {
    const arr = Array.isArray(root) ? root.slice() : [];
    arr[head] = setAt(arr[head], rest, value);
    return arr;
  }
  const obj =
    root && typeof root === 'object' && !Array.isArray(root) ? { ...(root as Record<string, unknown>) } : {};
  const next = setAt(obj[head], rest, value);
  if (next === undefined) delete obj[head];
  else obj[head] = next;
  return obj;
}

/** Monaco, lazily; a plain text area stands in while it loads. */
export function LazyCode(props: CodeEditorProps) {
  return (
    <Suspense
      fallback={
        <textarea
          className="input mono"
          style={{ height: props.height ?? 120 }}
          value={props.value}
          aria-label={props.ariaLabel}
          onChange={(e) => props.onChange(e.target.value)}
          readOnly={props.readOnly}
        />
      }
    >
      <CodeEditor {...props} />
    </Suspense>
  );
}

function useFieldErrors(path: Path, ctx: FormContext, schema: JsonSchema): string[] {
  const { t } = useTranslation();
  const key = pathKey(path);
  const own = ctx.errors.get(key) ?? [];
  const server = ctx.serverErrors?.get(key) ?? [];
  const messages = own.map((e) => {
    const params: Record<string, unknown> = {
      limit:
        schema[
          {
            minimum: 'minimum',
            maximum: 'maximum',
            exclusiveMinimum: 'exclusiveMinimum',
            exclusiveMaximum: 'exclusiveMaximum',
            minLength: 'minLength',
            maxLength: 'maxLength',
            minItems: 'minItems',
            maxItems: 'maxItems',
          }[e.keyword] ?? ''
        ],
      pattern: schema['pattern'],
      type: schema['type'],
    };
    const known = [
      'required',
      'minimum',
      'maximum',
      'exclusiveMinimum',
      'exclusiveMaximum',
      'minLength',
      'maxLength',
      'minItems',
      'maxItems',
      'pattern',
      'type',
      'enum',
      'format',
    ];
    return known.includes(e.keyword) ? t(`validation.${e.keyword}`, params) : e.message;
  });
  return [...messages, ...server];
}

function FieldShell(props: {
  id: string;
  label: string;
  required: boolean;
  description?: string;
  errors: string[];
  children: ReactNode;
  extra?: ReactNode;
  inline?: boolean;
}) {
  const helpId = `${props.id}-help`;
  const errId = `${props.id}-err`;
  return (
    <div className={`field${props.errors.length ? ' invalid' : ''}${props.inline ? ' field-inline' : ''}`}>
      <div className="field-label-row">
        <label htmlFor={props.id} className="field-label">
          {props.label}
          {props.required && (
            <span className="req" aria-hidden>
              *
            </span>
          )}
        </label>
        {props.extra}
      </div>
      {props.children}
      {props.description && (
        <p className="field-help" id={helpId}>
          {props.description}
        </p>
      )}
      {props.errors.map((e) => (
        <p key={e} className="field-error" id={errId} role="alert" data-testid="field-error">
          {e}
        </p>
      ))}
    </div>
  );
}

/** JSON text edited as text, committed only when it parses. */
function JsonField(props: {
  id: string;
  value: unknown;
  onChange: (v: unknown) => void;
  label: string;
  readOnly?: boolean;
  height?: number;
  jsonSchema?: Record<string, unknown>;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(() =>
    props.value === undefined ? '' : JSON.stringify(props.value, null, 2),
  );
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Follow outside changes (undo, restore) unless the text already means the same value.
    let same: boolean;
    try {
      same = JSON.stringify(JSON.parse(text)) === JSON.stringify(props.value);
    } catch {
      same = false;
    }
    if (!same) {
      setText(props.value === undefined ? '' : JSON.stringify(props.value, null, 2));
      setError(null);
    }
  }, [props.value]);
  return (
    <>
      <LazyCode
        language="json"
        value={text}
        height={props.height ?? 140}
        ariaLabel={props.label}
        readOnly={props.readOnly ?? false}
        {...(props.jsonSchema ? { jsonSchema: props.jsonSchema } : {})}
        onChange={(v) => {
          setText(v);
          if (!v.trim()) {
            setError(null);
            props.onChange(undefined);
            return;
          }
          try {
            const parsed = JSON.parse(v) as unknown;
            setError(null);
            props.onChange(parsed);
          } catch (err) {
            setError(t('validation.json', { message: (err as Error).message }));
          }
        }}
      />
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

function Field(props: {
  name: string;
  schema: JsonSchema;
  value: unknown;
  path: Path;
  required: boolean;
  ctx: FormContext;
  onChange: (path: Path, v: unknown) => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const { ctx, path } = props;
  const uid = useId();
  const id = `f${uid.replace(/:/g, '')}`;
  const { schema } = unwrapNullable(props.schema, ctx.root);
  const kind = fieldKind(schema, ctx.root);
  const label = fieldTitle(schema, props.name, lang);
  const description = fieldDescription(schema, lang);
  const errors = useFieldErrors(path, ctx, schema);
  const ro = !!ctx.readOnly;
  const set = (v: unknown) => props.onChange(path, v);
  const scalar = ['string', 'number', 'boolean', 'enum', 'secret', 'textarea'].includes(kind.kind);
  const expr = isExpression(props.value);
  const fx =
    ctx.allowExpressions && scalar && !ro ? (
      <button
        type="button"
        className={`fx-toggle${expr ? ' on' : ''}`}
        aria-pressed={expr}
        title={t('form.expressionToggle')}
        aria-label={t('form.expressionToggle')}
        onClick={() =>
          set(
            expr
              ? emptyValue(schema, ctx.root)
              : `=${props.value === undefined || props.value === '' ? '' : JSON.stringify(props.value)}`,
          )
        }
      >
        <FunctionSquare size={14} />
      </button>
    ) : null;
  const shell = (children: ReactNode, inline = false) => (
    <FieldShell
      id={id}
      label={label}
      required={props.required}
      errors={errors}
      extra={fx}
      inline={inline}
      {...(description ? { description } : {})}
    >
      {children}
    </FieldShell>
  );

  if (expr) {
    return shell(
      <LazyCode
        language="jsonata"
        value={(props.value as string).slice(1)}
        onChange={(v) => set(`=${v}`)}
        height={64}
        ariaLabel={label}
        readOnly={ro}
        {...(ctx.expressionHints ? { hints: ctx.expressionHints } : {})}
      />,
    );
  }

  switch (kind.kind) {
    case 'monaco': {
      if (kind.widget === 'json-schema') {
        // Fields first; the JSON Schema they write is the advanced view.
        return shell(
          <SchemaBuilder
            value={props.value}
            onChange={set}
            readOnly={ro}
            json={
              <JsonField
                id={id}
                label={label}
                value={props.value}
                onChange={set}
                readOnly={ro}
                height={200}
              />
            }
          />,
        );
      }
      if (kind.widget === 'json') {
        return shell(
          <JsonField id={id} label={label} value={props.value} onChange={set} readOnly={ro} height={140} />,
        );
      }
      const language =
        kind.widget === 'code'
          ? (ctx.code?.language ?? 'javascript')
          : kind.widget === 'prompt'
            ? 'prompt'
            : 'jsonata';
      const hints = kind.widget === 'prompt' ? ctx.promptHints : ctx.expressionHints;
      return shell(
        <>
          <LazyCode
            language={language}
            value={typeof props.value === 'string' ? props.value : ''}
            onChange={set}
            height={kind.widget === 'prompt' ? 160 : kind.widget === 'code' ? 260 : 72}
            ariaLabel={label}
            readOnly={ro}
            {...(hints && kind.widget !== 'code' ? { hints } : {})}
            {...(kind.widget === 'code' && ctx.code ? { typings: ctx.code.typings } : {})}
          />
          {kind.widget === 'prompt' && hints && hints.length > 0 && (
            <div className="hint-chips" aria-label={t('form.variables')}>
              <span className="muted">{t('form.variables')}:</span>
              {hints.slice(0, 16).map((h) => (
                <button
                  key={h.label}
                  type="button"
                  className="chip"
                  title={h.detail ?? h.label}
                  disabled={ro}
                  onClick={() =>
                    set(`${typeof props.value === 'string' ? props.value : ''}{{ ${h.insert} }}`)
                  }
                >
                  {`{{ ${h.label} }}`}
                </button>
              ))}
            </div>
          )}
        </>,
      );
    }
    case 'secret': {
      const creds = ctx.credentials ?? [];
      const v = typeof props.value === 'string' ? props.value : '';
      const known = creds.some((c) => c.name === v);
      return shell(
        <select
          id={id}
          className="input"
          value={v}
          disabled={ro}
          onChange={(e) => set(e.target.value || undefined)}
          data-testid="secret-select"
        >
          <option value="">{t('form.chooseCredential')}</option>
          {creds.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
              {c.description ? ` — ${c.description}` : ''}
            </option>
          ))}
          {v && !known && <option value={v}>{t('form.missingCredential', { name: v })}</option>}
        </select>,
      );
    }
    case 'connection': {
      const all = ctx.connections ?? [];
      const fit = all.filter((c) => !kind.kinds.length || kind.kinds.includes(c.kind));
      const v = typeof props.value === 'string' ? props.value : '';
      const known = fit.some((c) => c.name === v);
      const chosen = fit.find((c) => c.name === v);
      return shell(
        <>
          <select
            id={id}
            className="input"
            value={v}
            disabled={ro}
            onChange={(e) => set(e.target.value || undefined)}
            data-testid="connection-select"
          >
            <option value="">{t('form.chooseConnection')}</option>
            {fit.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name} — {t(`connections.deployment_${c.deployment}`)}
                {c.models.length ? ` · ${c.models.slice(0, 3).join(', ')}` : ''}
              </option>
            ))}
            {v && !known && <option value={v}>{t('form.missingConnection', { name: v })}</option>}
          </select>
          {chosen && (
            <p className="field-help" data-testid="connection-summary">
              {t('form.connectionSummary', {
                url: chosen.baseUrl,
                classes: chosen.dataClasses
                  .map((d) => t(`connections.class_${d}`))
                  .join(t('common.listSeparator')),
              })}
            </p>
          )}
          {!fit.length && <p className="field-help">{t('form.noConnections')}</p>}
        </>,
      );
    }
    case 'legacy-endpoint': {
      // Shown only for a node saved before connections; the author replaces it by choosing a connection.
      if (!props.value || typeof props.value !== 'object') return null;
      const legacy = props.value as { provider?: string; baseUrl?: string; credential?: string };
      return (
        <div className="legacy-endpoint" role="note" data-testid="legacy-endpoint">
          <p className="legacy-title">{label}</p>
          <p>
            {t('form.legacyEndpoint', {
              url: legacy.baseUrl ?? t('form.legacyDefaultUrl'),
              credential: legacy.credential ?? t('form.legacyNoCredential'),
            })}
          </p>
          {errors.map((e) => (
            <p key={e} className="field-error" role="alert" data-testid="field-error">
              {e}
            </p>
          ))}
          {!ro && (
            <button type="button" className="button small" onClick={() => set(undefined)}>
              {t('form.legacyRemove')}
            </button>
          )}
        </div>
      );
    }
    case 'textarea':
      return shell(
        <textarea
          id={id}
          className="input"
          rows={4}
          value={typeof props.value === 'string' ? props.value : ''}
          readOnly={ro}
          onChange={(e) => set(e.target.value)}
        />,
      );
    case 'enum': {
      const v = props.value ?? schema['default'];
      const optionText = (o: string | number | boolean) => optionLabel(o, lang, schema);
      if (
        kind.options.length <= 3 &&
        kind.options.every((o) => typeof o === 'string' && optionText(o).length <= 14)
      ) {
        return shell(
          <Segmented
            id={id}
            label={label}
            value={v}
            onChange={set}
            disabled={ro}
            options={kind.options.map((o) => ({ value: o, label: optionText(o) }))}
          />,
        );
      }
      return shell(
        <select
          id={id}
          className="input"
          value={v === undefined ? '' : String(v)}
          disabled={ro}
          onChange={(e) => {
            const picked = kind.options.find((o) => String(o) === e.target.value);
            set(picked);
          }}
        >
          {v === undefined && <option value="">—</option>}
          {kind.options.map((o) => (
            <option key={String(o)} value={String(o)}>
              {optionText(o)}
            </option>
          ))}
        </select>,
      );
    }
    case 'string': {
      const v = typeof props.value === 'string' ? props.value : '';
      const placeholder = typeof schema['default'] === 'string' ? (schema['default'] as string) : '';
      const long =
        (typeof schema['maxLength'] === 'number' && (schema['maxLength'] as number) > 200) || v.length > 80;
      return shell(
        long ? (
          <textarea
            id={id}
            className="input"
            rows={3}
            value={v}
            placeholder={placeholder}
            readOnly={ro}
            onChange={(e) => set(e.target.value === '' && !props.required ? undefined : e.target.value)}
          />
        ) : (
          <input
            id={id}
            className="input"
            value={v}
            placeholder={placeholder}
            readOnly={ro}
            aria-invalid={errors.length > 0}
            onChange={(e) => set(e.target.value === '' && !props.required ? undefined : e.target.value)}
          />
        ),
      );
    }
    case 'number': {
      const min = (schema['minimum'] ?? schema['exclusiveMinimum']) as number | undefined;
      const max = (schema['maximum'] ?? schema['exclusiveMaximum']) as number | undefined;
      const bound = (n: number | undefined) => (n !== undefined && Math.abs(n) < 1e15 ? n : undefined);
      const lo = bound(min);
      const hi = bound(max);
      return shell(
        <NumberInput
          id={id}
          value={typeof props.value === 'number' ? props.value : undefined}
          placeholder={typeof schema['default'] === 'number' ? String(schema['default']) : ''}
          integer={kind.integer}
          readOnly={ro}
          invalid={errors.length > 0}
          onChange={(n) => set(n)}
          {...(lo !== undefined ? { min: lo } : {})}
          {...(hi !== undefined ? { max: hi } : {})}
        />,
      );
    }
    case 'boolean': {
      const v = typeof props.value === 'boolean' ? props.value : schema['default'] === true;
      return shell(
        <label className="switch">
          <input
            id={id}
            type="checkbox"
            role="switch"
            checked={v}
            disabled={ro}
            onChange={(e) => set(e.target.checked)}
          />
          <span className="switch-track" aria-hidden />
          <span className="switch-text">{v ? t('common.on') : t('common.off')}</span>
        </label>,
        true,
      );
    }
    case 'array':
      return shell(<ArrayField {...props} schema={schema} />);
    case 'object':
      return (
        <fieldset className="fieldset">
          <legend>
            {label}
            {props.required && <span className="req">*</span>}
          </legend>
          {description && <p className="field-help">{description}</p>}
          {errors.map((e) => (
            <p key={e} className="field-error" role="alert">
              {e}
            </p>
          ))}
          <ObjectFields schema={schema} value={props.value} path={path} ctx={ctx} onChange={props.onChange} />
        </fieldset>
      );
    case 'json':
      return shell(<JsonField id={id} label={label} value={props.value} onChange={set} readOnly={ro} />);
  }
}

function NumberInput(props: {
  id: string;
  value: number | undefined;
  placeholder: string;
  integer: boolean;
  min?: number;
  max?: number;
  readOnly: boolean;
  invalid: boolean;
  onChange: (n: number | undefined) => void;
}) {
  const [text, setText] = useState(props.value === undefined ? '' : String(props.value));
  useEffect(() => {
    if (Number(text) !== props.value || (text === '' && props.value !== undefined))
      setText(props.value === undefined ? '' : String(props.value));
  }, [props.value]);
  return (
    <div className="number-input">
      <input
        id={props.id}
        className="input"
        type="number"
        inputMode="decimal"
        step={props.integer ? 1 : 'any'}
        value={text}
        placeholder={props.placeholder}
        readOnly={props.readOnly}
        aria-invalid={props.invalid}
        {...(props.min !== undefined ? { min: props.min } : {})}
        {...(props.max !== undefined ? { max: props.max } : {})}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value === '') props.onChange(undefined);
          else {
            const n = Number(e.target.value);
            if (Number.isFinite(n)) props.onChange(n);
          }
        }}
      />
      {(props.min !== undefined || props.max !== undefined) && (
        <span className="bounds">
          {props.min ?? '−∞'} … {props.max ?? '∞'}
        </span>
      )}
    </div>
  );
}

function ArrayField(props: {
  name: string;
  schema: JsonSchema;
  value: unknown;
  path: Path;
  ctx: FormContext;
  onChange: (path: Path, v: unknown) => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const { ctx, path } = props;
  const items = resolveRef((props.schema['items'] as JsonSchema | undefined) ?? {}, ctx.root);
  const list = Array.isArray(props.value) ? props.value : [];
  const itemSchema = unwrapNullable(items, ctx.root).schema;
  const itemKind = fieldKind(itemSchema, ctx.root);
  const ro = !!ctx.readOnly;
  const label = fieldTitle(props.schema, props.name, lang);
  if (itemKind.kind === 'enum') {
    return (
      <div className="checks" role="group" aria-label={label}>
        {itemKind.options.map((o) => (
          <label key={String(o)} className="check">
            <input
              type="checkbox"
              checked={list.includes(o)}
              disabled={ro}
              onChange={(e) =>
                props.onChange(path, e.target.checked ? [...list, o] : list.filter((x) => x !== o))
              }
            />
            {optionLabel(o, lang, itemSchema, props.schema)}
          </label>
        ))}
      </div>
    );
  }
  const move = (i: number, d: number) => {
    const next = list.slice();
    const [x] = next.splice(i, 1);
    next.splice(i + d, 0, x);
    props.onChange(path, next);
  };
  // Rows without a declared shape (a price table, a list of records) are one JSON value, not one editor per row.
  if (itemKind.kind === 'json' || list.length > 50) {
    return (
      <>
        <JsonField
          id={`${pathKey(path)}-json`}
          label={label}
          value={props.value}
          onChange={(v) => props.onChange(path, v)}
          readOnly={ro}
          height={180}
        />
        {list.length > 0 && list.every((r) => r && typeof r === 'object' && !Array.isArray(r)) && (
          <p className="field-help">{t('form.rows', { count: list.length })}</p>
        )}
      </>
    );
  }
  const simple = ['string', 'number', 'boolean', 'secret'].includes(itemKind.kind);
  return (
    <div className="array-field">
      {list.map((item, i) => (
        <div key={i} className={`array-item${simple ? ' simple' : ''}`}>
          <div className="array-item-body">
            <Field
              name={`${i + 1}`}
              schema={items}
              value={item}
              path={[...path, i]}
              required
              ctx={ctx}
              onChange={props.onChange}
            />
          </div>
          {!ro && (
            <div className="array-item-tools">
              <button
                type="button"
                className="icon-button"
                aria-label={t('form.moveUp')}
                disabled={i === 0}
                onClick={() => move(i, -1)}
              >
                <ArrowUp size={13} />
              </button>
              <button
                type="button"
                className="icon-button"
                aria-label={t('form.moveDown')}
                disabled={i === list.length - 1}
                onClick={() => move(i, 1)}
              >
                <ArrowDown size={13} />
              </button>
              <button
                type="button"
                className="icon-button danger"
                aria-label={t('form.removeItem')}
                onClick={() =>
                  props.onChange(
                    path,
                    list.filter((_, j) => j !== i),
                  )
                }
              >
                <Trash2 size={13} />
              </button>
            </div>
          )}
        </div>
      ))}
      {!ro && (
        <button
          type="button"
          className="button small ghost"
          onClick={() => props.onChange(path, [...list, emptyValue(items, ctx.root)])}
        >
          <Plus size={13} /> {t('form.addItem')}
        </button>
      )}
    </div>
  );
}

function ObjectFields(props: {
  schema: JsonSchema;
  value: unknown;
  path: Path;
  ctx: FormContext;
  onChange: (path: Path, v: unknown) => void;
}) {
  const obj =
    props.value && typeof props.value === 'object' && !Array.isArray(props.value)
      ? (props.value as Record<string, unknown>)
      : {};
  const req = requiredKeys(props.schema);
  return (
    <>
      {properties(props.schema).map(([key, sub]) => (
        <Field
          key={key}
          name={key}
          schema={sub}
          value={obj[key]}
          path={[...props.path, key]}
          required={req.has(key)}
          ctx={props.ctx}
          onChange={props.onChange}
        />
      ))}
    </>
  );
}

/** A whole form for an object schema. `onChange` gets the new value and the path of the field that changed. */
export function SchemaForm(props: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  ctx: Omit<FormContext, 'root'>;
  onChange: (next: Record<string, unknown>, changedPath: string) => void;
}) {
  const ctx: FormContext = { ...props.ctx, root: props.schema };
  const onChange = (path: Path, v: unknown) => {
    props.onChange(setAt(props.value, path, v) as Record<string, unknown>, pathKey(path));
  };
  const root = unwrapNullable(props.schema, props.schema).schema;
  if (fieldKind(root, props.schema).kind !== 'object') {
    return (
      <Field
        name="value"
        schema={root}
        value={props.value}
        path={[]}
        required
        ctx={ctx}
        onChange={onChange}
      />
    );
  }
  return <ObjectFields schema={root} value={props.value} path={[]} ctx={ctx} onChange={onChange} />;
}

/** A JSON value edited in Monaco outside a schema form (fallback outputs, raw values). */
export function JsonFieldStandalone(props: {
  label: string;
  value: unknown;
  onChange: (v: unknown) => void;
  readOnly?: boolean;
  height?: number;
}) {
  return (
    <JsonField
      id="json"
      label={props.label}
      value={props.value}
      onChange={props.onChange}
      readOnly={props.readOnly ?? false}
      {...(props.height ? { height: props.height } : {})}
    />
  );
}
