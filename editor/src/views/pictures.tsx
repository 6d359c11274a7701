/**
 * Pictures of results: risk scores with attribution bars and reasons, portfolio weights with return, volatility
 * and Sharpe, PII findings highlighted in their text, checklists and tables as tables, decisions as badges,
 * images shown, everything else as a JSON tree. Charts use recharts.
 */
import { ChevronDown, ChevronRight } from 'lucide-react';
import { memo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import {
  Bar,
  BarChart,
  Cell,
  LabelList,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { highlightSegments, picturesFor, type ChecklistRow, type Picture, type RiskItem } from './detect.js';
import { Segmented } from '../ui/segmented.js';

const pct = (v: number | undefined, digits = 1) => (v === undefined ? '—' : `${(v * 100).toFixed(digits)}%`);
const fmt = (v: number | undefined, digits = 2) => (v === undefined ? '—' : v.toFixed(digits));

function JsonNode({ name, value, depth }: { name?: string; value: unknown; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const isObj = value !== null && typeof value === 'object';
  const label = name !== undefined ? <span className="jt-key">{name}: </span> : null;
  if (!isObj) {
    const cls = typeof value === 'string' ? 'jt-str' : typeof value === 'number' ? 'jt-num' : 'jt-lit';
    const shown =
      typeof value === 'string'
        ? JSON.stringify(value.length > 2000 ? `${value.slice(0, 2000)}…` : value)
        : String(value);
    return (
      <div className="jt-row">
        {label}
        <span className={cls}>{shown}</span>
      </div>
    );
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <div className="jt-node">
      <button type="button" className="jt-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? <ChevronDown size={12} /> : <ChevronRight size={12} />}
        {label}
        <span className="jt-summary">{summary}</span>
      </button>
      {open && (
        <div className="jt-children">
          {entries.slice(0, 500).map(([k, v]) => (
            <JsonNode key={k} name={k} value={v} depth={depth + 1} />
          ))}
          {entries.length > 500 && <div className="muted">… {entries.length - 500} more</div>}
        </div>
      )}
    </div>
  );
}

export const JsonTree = memo(function JsonTree({ value }: { value: unknown }) {
  return (
    <div className="json-tree" data-testid="json-tree">
      <JsonNode value={value} depth={0} />
    </div>
  );
});

function cell(v: unknown): ReactNode {
  if (v === null || v === undefined) return <span className="muted">—</span>;
  if (typeof v === 'number')
    return Number.isInteger(v) ? v : v.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (typeof v === 'string') return v;
  return <code className="cell-json">{JSON.stringify(v)}</code>;
}

export function DataTable({ rows, limit = 100 }: { rows: Record<string, unknown>[]; limit?: number }) {
  const { t } = useTranslation();
  const cols = [...new Set(rows.slice(0, 200).flatMap((r) => Object.keys(r)))].slice(0, 20);
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="data-table">
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, limit).map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c} className={typeof r[c] === 'number' ? 'num' : ''}>
                  {cell(r[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > limit && (
        <p className="muted small">{t('pictures.moreRows', { count: rows.length - limit })}</p>
      )}
    </div>
  );
}

function decisionClass(outcome: string | undefined): string {
  const o = (outcome ?? '').toLowerCase();
  if (/approve|pass|accept|allow|suitable|ok|low/.test(o)) return 'good';
  if (/decline|block|reject|deny|fail|high|breach/.test(o)) return 'bad';
  return 'warn';
}

export function DecisionBadge({ outcome }: { outcome: string }) {
  return <span className={`decision decision-${decisionClass(outcome)}`}>{outcome}</span>;
}

/**
 * The attribution axis with room beyond the longest bar on each side it reaches, so a value's label sits in the
 * plot and never over the feature names (a negative bar ends at the axis otherwise: "credit_histo-0.49").
 */
function attributionDomain([lo, hi]: readonly [number, number]): [number, number] {
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  return [lo < 0 ? -m * 1.6 : 0, hi > 0 ? m * 1.6 : 0];
}

/** A bar's value beyond its end: right of a positive bar, left of a negative one. */
function BarValueLabel(props: {
  x?: number | string | undefined;
  y?: number | string | undefined;
  width?: number | string | undefined;
  height?: number | string | undefined;
  value?: unknown;
}) {
  const { value } = props;
  if (typeof value !== 'number') return null;
  const x = Number(props.x ?? 0);
  const w = Number(props.width ?? 0);
  const y = Number(props.y ?? 0) + Number(props.height ?? 0) / 2;
  // Recharts gives a negative bar a negative width from the zero line.
  const end = value >= 0 ? x + Math.max(w, 0) + 4 : x + Math.min(w, 0) - 4;
  return (
    <text
      x={end}
      y={y}
      dy="0.35em"
      textAnchor={value >= 0 ? 'start' : 'end'}
      fontSize={10}
      fill="#475569"
      data-testid="attribution-value"
    >
      {value > 0 ? `+${value.toFixed(2)}` : value.toFixed(2)}
    </text>
  );
}

function RiskCard({ item }: { item: RiskItem }) {
  const { t } = useTranslation();
  const gauge =
    item.probability ??
    (item.meaning === 'risk' && item.score !== undefined && item.score >= 0 && item.score <= 1
      ? item.score
      : undefined);
  const bars = [...item.attributions]
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .slice(0, 10)
    .map(([name, value]) => ({ name, value }));
  return (
    <div className="risk-card" data-testid="risk-picture">
      <div className="risk-head">
        {item.decision && <DecisionBadge outcome={item.decision} />}
        <div className="stats">
          {item.probability !== undefined && (
            <div className="stat">
              <span className="stat-label">{t('pictures.probability')}</span>
              <span className="stat-value">{pct(item.probability)}</span>
            </div>
          )}
          {item.points !== undefined && (
            <div className="stat">
              <span className="stat-label">{t('pictures.points')}</span>
              <span className="stat-value">{Math.round(item.points)}</span>
            </div>
          )}
          {item.score !== undefined && (
            <div className="stat" data-score-meaning={item.meaning ?? 'undeclared'}>
              <span className="stat-label">{t(`pictures.scoreAs.${item.meaning ?? 'undeclared'}`)}</span>
              <span className="stat-value">
                {fmt(item.score, item.score <= 1 ? 3 : 1)}
                {item.maxScore !== undefined && (
                  <span className="muted small"> / {fmt(item.maxScore, 0)}</span>
                )}
              </span>
            </div>
          )}
        </div>
      </div>
      {/* A gauge with a red end only for what is declared a risk (or given as a probability of the bad outcome). */}
      {gauge !== undefined && (
        <div
          className="risk-meter"
          aria-label={`${t('pictures.probability')} ${pct(gauge)}`}
          data-testid="risk-meter"
        >
          <div className="risk-meter-fill" style={{ width: pct(gauge) }} />
        </div>
      )}
      {item.meaning === 'ranking' && item.score !== undefined && item.score >= 0 && item.score <= 1 && (
        <div className="rank-meter" aria-label={`${t('pictures.scoreAs.ranking')} ${pct(item.score)}`}>
          <div className="rank-meter-fill" style={{ width: pct(item.score) }} />
        </div>
      )}
      {bars.length > 0 && (
        <>
          <h4 className="picture-sub">{t('pictures.attribution')}</h4>
          <div style={{ height: 28 + bars.length * 24 }}>
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={bars} layout="vertical" margin={{ left: 8, right: 40, top: 4, bottom: 4 }}>
                <XAxis type="number" hide domain={attributionDomain} />
                <YAxis
                  type="category"
                  dataKey="name"
                  width={130}
                  tick={{ fontSize: 11, fill: '#475569' }}
                  axisLine={false}
                  tickLine={false}
                />
                <ReferenceLine x={0} stroke="#94a3b8" />
                <Tooltip
                  formatter={(v) => (typeof v === 'number' ? v.toFixed(3) : String(v))}
                  cursor={{ fill: 'rgba(148,163,184,0.12)' }}
                />
                <Bar dataKey="value" isAnimationActive={false} radius={[2, 2, 2, 2]} barSize={14}>
                  {bars.map((b) => (
                    <Cell key={b.name} fill={b.value >= 0 ? '#c2410c' : '#15803d'} />
                  ))}
                  <LabelList dataKey="value" content={BarValueLabel} />
                </Bar>
              </BarChart>
            </ResponsiveContainer>
          </div>
          <p className="muted small">{t('pictures.attributionHelp')}</p>
        </>
      )}
      {item.reasons.length > 0 && (
        <>
          <h4 className="picture-sub">{t('pictures.reasons')}</h4>
          <ol className="reasons">
            {item.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function RiskPicture({ items }: { items: RiskItem[] }) {
  const [i, setI] = useState(0);
  const { t } = useTranslation();
  const item = items[Math.min(i, items.length - 1)];
  if (!item) return null;
  return (
    <div>
      {items.length > 1 && (
        <div className="row-picker">
          <label>
            {t('pictures.row')}{' '}
            <select className="input small" value={i} onChange={(e) => setI(Number(e.target.value))}>
              {items.map((it, j) => (
                <option key={j} value={j}>
                  {it.label}
                  {it.decision ? ` · ${it.decision}` : ''}
                </option>
              ))}
            </select>
          </label>
          <span className="muted small">{t('pictures.rows', { count: items.length })}</span>
        </div>
      )}
      <RiskCard item={item} />
    </div>
  );
}

function PortfolioPicture({ weights, performance }: Extract<Picture, { kind: 'portfolio' }>) {
  const { t } = useTranslation();
  const data = [...weights].sort((a, b) => b[1] - a[1]).map(([name, value]) => ({ name, value }));
  const shown = data.filter((d) => Math.abs(d.value) >= 0.0005);
  return (
    <div className="portfolio" data-testid="portfolio-picture">
      {performance && (
        <div className="stats">
          <div className="stat">
            <span className="stat-label">{t('pictures.expectedReturn')}</span>
            <span className="stat-value">{pct(performance.expectedReturn)}</span>
          </div>
          <div className="stat">
            <span className="stat-label">{t('pictures.volatility')}</span>
            <span className="stat-value">{pct(performance.volatility)}</span>
          </div>
          <div className="stat">
            <span className="stat-label">{t('pictures.sharpe')}</span>
            <span className="stat-value">{fmt(performance.sharpe)}</span>
          </div>
        </div>
      )}
      <h4 className="picture-sub">{t('pictures.weights')}</h4>
      <div style={{ height: 24 + shown.length * 24 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={shown} layout="vertical" margin={{ left: 8, right: 48, top: 4, bottom: 4 }}>
            <XAxis type="number" hide domain={[Math.min(0, ...shown.map((d) => d.value)), 'auto']} />
            <YAxis
              type="category"
              dataKey="name"
              width={90}
              tick={{ fontSize: 11, fill: '#475569' }}
              axisLine={false}
              tickLine={false}
            />
            <Tooltip
              formatter={(v) => (typeof v === 'number' ? pct(v, 2) : String(v))}
              cursor={{ fill: 'rgba(148,163,184,0.12)' }}
            />
            <Bar dataKey="value" isAnimationActive={false} fill="#1d4ed8" radius={[2, 2, 2, 2]} barSize={14}>
              <LabelList
                dataKey="value"
                position="right"
                formatter={(v: unknown) => (typeof v === 'number' ? pct(v) : '')}
                style={{ fontSize: 10, fill: '#475569' }}
              />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      {shown.length < data.length && (
        <p className="muted small">{t('pictures.zeroWeights', { count: data.length - shown.length })}</p>
      )}
    </div>
  );
}

const piiColors: Record<string, string> = {
  CN_RESIDENT_ID: '#fde68a',
  BANK_CARD: '#fecaca',
  CN_MOBILE: '#bfdbfe',
  PHONE_NUMBER: '#bfdbfe',
  EMAIL_ADDRESS: '#c7d2fe',
  PERSON: '#bbf7d0',
  ADDRESS: '#fbcfe8',
  IBAN_CODE: '#fed7aa',
};

function PiiPicture({ text, entities }: Extract<Picture, { kind: 'pii' }>) {
  const { t } = useTranslation();
  const types = [...new Set(entities.map((e) => e.type))];
  return (
    <div data-testid="pii-picture">
      <p className="pii-text">
        {highlightSegments(text, entities).map((s, i) =>
          s.entity ? (
            <mark
              key={i}
              style={{ background: piiColors[s.entity.type] ?? '#e9d5ff' }}
              title={`${s.entity.type}${s.entity.score !== undefined ? ` · ${s.entity.score.toFixed(2)}` : ''}`}
            >
              {s.text}
              <span className="pii-tag">{s.entity.type}</span>
            </mark>
          ) : (
            <span key={i}>{s.text}</span>
          ),
        )}
      </p>
      <div className="legend">
        {types.map((ty) => (
          <span key={ty} className="legend-item">
            <span className="swatch" style={{ background: piiColors[ty] ?? '#e9d5ff' }} />
            {ty} × {entities.filter((e) => e.type === ty).length}
          </span>
        ))}
        <span className="muted small">{t('pictures.piiCount', { count: entities.length })}</span>
      </div>
    </div>
  );
}

function ChecklistPicture({ rows }: { rows: ChecklistRow[] }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap" data-testid="checklist-picture">
      <table className="data-table">
        <thead>
          <tr>
            <th scope="col">{t('pictures.article')}</th>
            <th scope="col">{t('pictures.actor')}</th>
            <th scope="col">{t('pictures.modality')}</th>
            <th scope="col">{t('pictures.obligation')}</th>
            <th scope="col">{t('pictures.deadline')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 200).map((r, i) => (
            <tr key={r.id ?? i}>
              <td className="nowrap">{r.articleRef ?? '—'}</td>
              <td>{r.actor ?? '—'}</td>
              <td>
                {r.modality ? <span className={`modality modality-${r.modality}`}>{r.modality}</span> : '—'}
              </td>
              <td>{r.obligation ?? r.text ?? '—'}</td>
              <td className="nowrap">
                {r.deadline
                  ? typeof r.deadline === 'string'
                    ? r.deadline
                    : `${r.deadline.value} ${r.deadline.unit}`
                  : '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function PictureView({ picture }: { picture: Picture }) {
  switch (picture.kind) {
    case 'portfolio':
      return <PortfolioPicture {...picture} />;
    case 'risk':
      return <RiskPicture items={picture.items} />;
    case 'pii':
      return <PiiPicture {...picture} />;
    case 'checklist':
      return <ChecklistPicture rows={picture.rows} />;
    case 'decision':
      return (
        <div className="decision-card">
          <DecisionBadge outcome={picture.outcome} />
          {picture.reasons.length > 0 && (
            <ul className="reasons">
              {picture.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
          {Object.keys(picture.extra).length > 0 && <JsonTree value={picture.extra} />}
        </div>
      );
    case 'image':
      return <img className="result-image" src={picture.src} alt={picture.name ?? picture.key} />;
    case 'table':
      return <DataTable rows={picture.rows} />;
    case 'text':
      return <pre className="result-text">{picture.text}</pre>;
    case 'flag':
      return (
        <span className={`flag ${picture.value ? 'flag-yes' : 'flag-no'}`}>
          {picture.value ? '✓ true' : '✗ false'}
        </span>
      );
    case 'numbers':
      return (
        <dl className="numbers">
          {picture.entries.map(([k, v]) => (
            <div key={k} className={v === 0 ? 'zero' : ''}>
              <dt>{k}</dt>
              <dd>{Number.isInteger(v) ? v : v.toFixed(4)}</dd>
            </div>
          ))}
        </dl>
      );
    case 'value':
      return <JsonTree value={picture.value} />;
  }
}

/** A bag of named values (outputs), each shown as its best picture, with a switch to the raw JSON. */
export function ValuesView({
  values,
  text,
  testId,
}: {
  values: Record<string, unknown>;
  text?: string;
  testId?: string;
}) {
  const { t } = useTranslation();
  const [raw, setRaw] = useState(false);
  const pictures = picturesFor(values, text !== undefined ? { text } : {});
  return (
    <div className="values-view" data-testid={testId}>
      <div className="values-toolbar">
        <Segmented
          small
          label={t('pictures.view')}
          value={raw}
          onChange={setRaw}
          options={[
            { value: false, label: t('pictures.pictures') },
            { value: true, label: 'JSON' },
          ]}
        />
      </div>
      {raw ? (
        <JsonTree value={values} />
      ) : (
        pictures.map((p) => (
          <section key={`${p.kind}:${p.key}`} className="picture" data-picture={p.kind}>
            <h3 className="picture-title mono">{p.key}</h3>
            <PictureView picture={p} />
          </section>
        ))
      )}
      {!raw && pictures.length === 0 && <p className="muted">{t('pictures.empty')}</p>}
    </div>
  );
}
