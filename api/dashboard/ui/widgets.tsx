import { sameFilter } from './filter-parts.ts';
import { count, pct } from './format.ts';
import type { Bucket, TrendPoint, Widget, WidgetsAnswer } from './types.ts';

/**
 * The API's widgets as cards and charts. Every widget (and every bar of a breakdown) is a
 * toggle button for the filter it stands for: pressed while the filter box holds exactly it.
 */
export function Widgets(props: {
  answer: WidgetsAnswer | null;
  filter: string;
  onToggle: (filter: string) => void;
}) {
  if (!props.answer) {
    return (
      <section class="widgets" aria-label="Widgets" aria-busy="true">
        <p class="muted">Loading widgets…</p>
      </section>
    );
  }
  const byId = new Map(props.answer.widgets.map((w) => [w.id, w]));
  const common = { filter: props.filter, onToggle: props.onToggle };
  const order = [
    'overprivilege',
    'overprivilege-trend',
    'dormant-principals',
    'high-risk-overprivileged-principals',
    'principals-by-type',
    'principals-by-tier',
  ];
  const known = order.map((id) => byId.get(id)).filter((w): w is Widget => w !== undefined);
  const others = props.answer.widgets.filter((w) => !order.includes(w.id));
  return (
    <section class="widgets" aria-label="Widgets">
      {[...known, ...others].map((w) =>
        w.points ? (
          <TrendWidget key={w.id} widget={w} {...common} />
        ) : w.buckets ? (
          <BucketWidget key={w.id} widget={w} {...common} />
        ) : (
          <ValueWidget key={w.id} widget={w} {...common} />
        ),
      )}
    </section>
  );
}

interface WidgetProps {
  widget: Widget;
  filter: string;
  onToggle: (filter: string) => void;
}

function ValueWidget({ widget, filter, onToggle }: WidgetProps) {
  const pressed = sameFilter(filter, widget.filter);
  return (
    <button
      type="button"
      class="widget card value"
      data-widget={widget.id}
      aria-pressed={pressed}
      title={`${widget.description}\nFilter: ${widget.filter}`}
      onClick={() => onToggle(widget.filter)}
    >
      <span class="widget-title">{widget.title}</span>
      <span class="widget-value">
        {widget.unit === 'percent' ? pct(widget.value) : count(widget.value)}
      </span>
      <span class="widget-sub">
        {widget.unit === 'percent' ? `over ${count(widget.count)} principals` : 'principals'}
      </span>
    </button>
  );
}

const CHART_W = 280;
const CHART_H = 96;
const PAD_L = 26;
const PAD_B = 16;

function linePath(points: TrendPoint[], key: 'all' | 'privileged'): string {
  const step = (CHART_W - PAD_L - 6) / Math.max(1, points.length - 1);
  let d = '';
  let drawing = false;
  points.forEach((p, i) => {
    const v = p[key];
    if (v === null) {
      drawing = false;
      return;
    }
    const x = PAD_L + i * step;
    const y = 4 + (1 - v / 100) * (CHART_H - PAD_B - 4);
    d += `${drawing ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)} `;
    drawing = true;
  });
  return d.trim();
}

function TrendWidget({ widget, filter, onToggle }: WidgetProps) {
  const points = widget.points ?? [];
  const pressed = sameFilter(filter, widget.filter);
  const step = (CHART_W - PAD_L - 6) / Math.max(1, points.length - 1);
  const y = (v: number) => 4 + (1 - v / 100) * (CHART_H - PAD_B - 4);
  const described = points
    .map((p) => `${p.day}: all ${pct(p.all)}, privileged ${pct(p.privileged)}`)
    .join('; ');
  return (
    <button
      type="button"
      class="widget card trend"
      data-widget={widget.id}
      aria-pressed={pressed}
      title={`${widget.description}\nFilter: ${widget.filter}`}
      onClick={() => onToggle(widget.filter)}
    >
      <span class="widget-title">{widget.title}</span>
      <svg
        viewBox={`0 0 ${CHART_W} ${CHART_H}`}
        class="chart"
        role="img"
        aria-label={`Overprivilege per day. ${described}`}
      >
        {[0, 50, 100].map((v) => (
          <g key={v}>
            <line x1={PAD_L} x2={CHART_W - 4} y1={y(v)} y2={y(v)} class="grid" />
            <text x={PAD_L - 4} y={y(v) + 3} class="axis" text-anchor="end">
              {v}%
            </text>
          </g>
        ))}
        {points.map((p, i) => (
          <text key={p.day} x={PAD_L + i * step} y={CHART_H - 3} class="axis" text-anchor="middle">
            {p.day.slice(5)}
          </text>
        ))}
        {(['all', 'privileged'] as const).map((key) => (
          <g key={key} class={`series ${key}`}>
            <path d={linePath(points, key)} />
            {points.map((p, i) =>
              p[key] === null ? null : (
                <circle key={p.day} cx={PAD_L + i * step} cy={y(p[key]!)} r="2.5" />
              ),
            )}
          </g>
        ))}
      </svg>
      <span class="legend">
        <span class="key all">All permissions</span>
        <span class="key privileged">IAM and ADMIN</span>
      </span>
    </button>
  );
}

function BucketWidget({ widget, filter, onToggle }: WidgetProps) {
  const buckets: Bucket[] = widget.buckets ?? [];
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const pressed = sameFilter(filter, widget.filter);
  return (
    <div class="widget card buckets" data-widget={widget.id}>
      <button
        type="button"
        class="widget-title as-button"
        aria-pressed={pressed}
        title={`${widget.description}\nFilter: ${widget.filter}`}
        onClick={() => onToggle(widget.filter)}
      >
        {widget.title} <span class="muted">({count(widget.count)})</span>
      </button>
      <ul class="bars">
        {buckets.map((b) => (
          <li key={b.key}>
            <button
              type="button"
              class="bar-row"
              data-bucket={b.key}
              aria-pressed={sameFilter(filter, b.filter)}
              title={`Filter: ${b.filter}`}
              onClick={() => onToggle(b.filter)}
            >
              <span class="bar-label">{b.key}</span>
              <svg
                class={`bar bucket-${b.key.toLowerCase()}`}
                viewBox="0 0 100 10"
                preserveAspectRatio="none"
                aria-hidden="true"
              >
                <rect x="0" y="0" height="10" width={(100 * b.count) / max} />
              </svg>
              <span class="bar-count">{count(b.count)}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
