/**
 * An endpoint's learning settings as a form, so that whoever may retrain sets them up on the dashboard rather than
 * with a PUT by hand: the trainable node of the served version, its training settings, the holdout evaluation, the
 * schedule and the drift thresholds. The form is generated from the contract's `learningConfigSchema` (its JSON
 * Schema carries the fields' English and Chinese titles), so the form, the type and the server's validation are one
 * schema; the node field offers the served version's trainable nodes only.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { z } from 'zod';
import { learningConfigSchema, type Learning } from '@finflow/contract';
import { api, ApiError } from '../api/client.js';
import type { JsonSchema } from '../api/types.js';
import { errorText } from '../i18n/errors.js';
import { SchemaForm } from '../inspector/schema-form.js';
import { asSchema, validateAgainst } from '../inspector/schema.js';
import { ErrorBox } from '../ui/error-box.js';

const configSchema = asSchema(z.toJSONSchema(learningConfigSchema, { io: 'input', unrepresentable: 'any' }));

/** The settings' schema with the node field narrowed to the served version's trainable nodes. */
export function settingsSchema(nodes: Learning['trainableNodes']): JsonSchema {
  const properties = asSchema(configSchema['properties']);
  const nodeId = asSchema(properties['nodeId']);
  const labels = Object.fromEntries(nodes.map((n) => [n.id, `${n.label ?? n.id} · ${n.type}`]));
  return {
    ...configSchema,
    properties: {
      ...properties,
      nodeId: {
        ...nodeId,
        enum: nodes.map((n) => n.id),
        zh: { ...asSchema(nodeId['zh']), options: labels },
      },
    },
  };
}

/** Server field problems (`config.holdout: ...`) keyed as the form keys its fields. */
function serverFields(err: unknown): Map<string, string[]> {
  const m = new Map<string, string[]>();
  if (!(err instanceof ApiError) || !Array.isArray(err.details?.['fields'])) return m;
  for (const f of err.details['fields'] as { path: string; message: string }[]) {
    const key = String(f.path).replace(/^config\.?/, '');
    m.set(key, [...(m.get(key) ?? []), f.message]);
  }
  return m;
}

export function LearningSettings(props: {
  endpointId: string;
  learning: Learning;
  onSaved: (next: Learning) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const { learning } = props;
  const schema = useMemo(() => settingsSchema(learning.trainableNodes), [learning.trainableNodes]);
  const [value, setValue] = useState<Record<string, unknown>>(
    () =>
      (learning.config as Record<string, unknown> | null) ?? {
        nodeId: learning.trainableNodes[0]?.id ?? '',
        train: {},
      },
  );
  const [server, setServer] = useState<Map<string, string[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errors = useMemo(() => validateAgainst(schema, value), [schema, value]);

  const save = () => {
    setError(null);
    setServer(new Map());
    setBusy(true);
    api.configureLearning(props.endpointId, value).then(
      (next) => {
        setBusy(false);
        props.onSaved(next);
      },
      (err: unknown) => {
        setBusy(false);
        setServer(serverFields(err));
        setError(errorText(t, err));
      },
    );
  };

  if (learning.trainableNodes.length === 0)
    return (
      <p className="small muted" data-testid="learning-no-trainable">
        {t('learning.noTrainable')}
      </p>
    );
  return (
    <form
      className="learning-settings-form"
      data-testid="learning-settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <SchemaForm
        schema={schema}
        value={value}
        ctx={{ errors, serverErrors: server }}
        onChange={(next) => setValue(next)}
      />
      <ErrorBox testId="learning-settings-error">{error}</ErrorBox>
      <div className="button-row">
        <button
          type="submit"
          className="button primary"
          disabled={busy || errors.size > 0}
          data-testid="learning-settings-save"
        >
          {t('learning.saveSettings')}
        </button>
        <button type="button" className="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}
