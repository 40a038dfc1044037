import { useEffect, useState } from 'preact/hooks';
import { enc, get, post } from './api.ts';
import { Badge, CopyButton, ErrorNote, Loading } from './common.tsx';
import { count, dateTime } from './format.ts';
import type {
  PreviewResult,
  Recommendation,
  RecommendationOption,
  RemediationRecord,
  RemediationSummary,
  Role,
} from './types.ts';

type Proof = NonNullable<Recommendation['proof']>['options'][number];

const ROLLBACKABLE = new Set(['applied', 'rollback-failed']);

/**
 * The top 3 open recommendations (all on demand), each with "How to fix": every option with
 * its artifacts (copy or download) and the replay proof. Admins preview a remediation (a dry
 * run listing the exact calls), then apply it; applied ones can be rolled back.
 */
export function RecommendationsTab(props: {
  base: string;
  scope: { assessmentId: string };
  role: Role;
  onChanged: () => void;
}) {
  const [items, setItems] = useState<Recommendation[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const [showAll, setShowAll] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    get<{ items: Recommendation[] }>(`${props.base}/recommendations`, {
      ...props.scope,
      state: 'all',
    }).then((a) => setItems(a.items), setError);
  }, [props.base, props.scope.assessmentId, version]);

  const changed = (message: string) => {
    setNotice(message);
    setVersion((v) => v + 1);
    props.onChanged();
  };

  if (error) return <ErrorNote error={error} />;
  if (!items) return <Loading what="recommendations" />;

  const open = items.filter((r) => r.state === 'open').sort((a, b) => a.rank - b.rank);
  const shown = showAll ? open : open.slice(0, 3);
  const applied = items.filter(
    (r) => r.state === 'applied' || r.remediations.some((m) => ROLLBACKABLE.has(m.status)),
  );
  const setAside = items.filter((r) => r.state !== 'open' && !applied.includes(r));

  return (
    <div class="recommendations">
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <h3>
        {open.length === 0
          ? 'No open recommendation'
          : `Top ${shown.length} of ${open.length} open recommendation${open.length === 1 ? '' : 's'}`}
      </h3>
      {shown.map((rec) => (
        <RecommendationCard
          key={rec.recommendationId}
          rec={rec}
          role={props.role}
          onChanged={changed}
        />
      ))}
      {open.length > 3 ? (
        <button type="button" class="link" onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Show the top 3 only' : `Show all ${open.length}`}
        </button>
      ) : null}
      {applied.length ? (
        <>
          <h3>Applied</h3>
          {applied.map((rec) => (
            <RecommendationCard
              key={rec.recommendationId}
              rec={rec}
              role={props.role}
              onChanged={changed}
            />
          ))}
        </>
      ) : null}
      {setAside.length ? (
        <p class="muted">
          Set aside:{' '}
          {setAside
            .map((r) => `${r.title} (${r.state}${r.stateReason ? `: ${r.stateReason}` : ''})`)
            .join('; ')}
        </p>
      ) : null}
    </div>
  );
}

/** The facts a recommendation stands on, in one line (the rules store counts beside capped lists). */
function evidenceLine(rec: Recommendation): string | null {
  const proof = rec.proof;
  if (!proof) return null;
  const e = proof.evidence as Record<string, unknown>;
  const num = (count: unknown, list: unknown): number | null =>
    typeof count === 'number' ? count : Array.isArray(list) ? list.length : null;
  const parts: string[] = [];
  const granted = num(e.granted ?? e.effectiveActions, null);
  const used = num(null, e.used);
  const unused = num(e.unusedCount, e.unused);
  const privileged = num(e.unusedPrivilegedCount, e.unusedPrivileged);
  if (typeof e.status === 'string') parts.push(e.status);
  if (rec.kind === 'dormant-principal') {
    parts.push(
      typeof e.lastUsedAt === 'string' ? `last used ${e.lastUsedAt.slice(0, 10)}` : 'no known use',
    );
  }
  if (granted !== null) parts.push(`${count(granted)} actions granted`);
  if (used !== null) parts.push(`${count(used)} used`);
  if (unused !== null) parts.push(`${count(unused)} unused`);
  if (privileged !== null) parts.push(`${count(privileged)} privileged actions unused`);
  parts.push(`window ${proof.window.start} to ${proof.window.end}`);
  return parts.join(', ');
}

function RecommendationCard(props: {
  rec: Recommendation;
  role: Role;
  onChanged: (message: string) => void;
}) {
  const { rec } = props;
  const [expanded, setExpanded] = useState(false);
  const panelId = `fix-${rec.recommendationId}`;
  const evidence = evidenceLine(rec);
  return (
    <article class="rec card" data-recommendation={rec.recommendationId} data-kind={rec.kind}>
      <header class="rec-head">
        <h4>
          {rec.state === 'open' ? <span class="rank">#{rec.rank}</span> : null} {rec.title}
        </h4>
        <Badge kind="severity" value={rec.severity} />
        {rec.state !== 'open' ? <Badge kind="state" value={rec.state} /> : null}
      </header>
      <p class="rec-meta">
        {rec.policyId ? (
          <>
            Policy <code>{rec.policyId}</code> ·{' '}
          </>
        ) : null}
        Owner {rec.owner ?? '–'} <span class="muted">({rec.ownerSource})</span>
      </p>
      {evidence ? <p class="muted">{evidence}</p> : null}
      {rec.remediations.length ? (
        <Remediations items={rec.remediations} role={props.role} onChanged={props.onChanged} />
      ) : null}
      <button
        type="button"
        class="how"
        aria-expanded={expanded}
        aria-controls={panelId}
        onClick={() => setExpanded(!expanded)}
      >
        How to fix ({rec.options.length} option{rec.options.length === 1 ? '' : 's'})
      </button>
      {expanded ? (
        <div id={panelId} class="options">
          {rec.options.length === 0 ? <p class="muted">No option is offered.</p> : null}
          {rec.options.map((option) => (
            <OptionView
              key={option.type}
              rec={rec}
              option={option}
              proof={rec.proof?.options.find((p) => p.option === option.type) ?? null}
              role={props.role}
              onChanged={props.onChanged}
            />
          ))}
        </div>
      ) : null}
    </article>
  );
}

function download(name: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function OptionView(props: {
  rec: Recommendation;
  option: RecommendationOption;
  proof: Proof | null;
  role: Role;
  onChanged: (message: string) => void;
}) {
  const { option } = props;
  return (
    <section class="option" data-option={option.type} aria-label={option.title}>
      <header class="option-head">
        <h5>{option.title}</h5>
        {option.applicable ? (
          <Badge kind="flag" value="can apply" title="The API can apply and roll it back" />
        ) : (
          <span class="muted">{option.notApplicableReason}</span>
        )}
      </header>
      <p>{option.description}</p>
      <p class="muted">Risk reduction {count(option.riskReduction)}</p>
      {option.reviewNotes.length ? (
        <ul class="review-notes">
          {option.reviewNotes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
      {option.artifacts.map((a) => (
        <div class="artifact" key={a.name} data-artifact={a.name}>
          <div class="artifact-head">
            <code class="artifact-name">{a.name}</code>
            {a.policy ? (
              <span class="muted">
                {a.policy.kind} policy, {count(a.policy.chars)} of {count(a.policy.limit)}{' '}
                characters
              </span>
            ) : (
              <span class="muted">{a.format}</span>
            )}
            <CopyButton text={a.content} label="Copy" what={a.name} />
            <button type="button" class="small" onClick={() => download(a.name, a.content)}>
              Download
            </button>
          </div>
          <details>
            <summary>Show {a.format === 'shell' ? 'script' : 'document'}</summary>
            <pre class="code">{a.content}</pre>
          </details>
        </div>
      ))}
      {props.proof ? <ProofView proof={props.proof} /> : null}
      {props.role === 'admin' && option.applicable && props.rec.state === 'open' ? (
        <RemediateFlow rec={props.rec} option={option} onChanged={props.onChanged} />
      ) : null}
    </section>
  );
}

function ProofView({ proof }: { proof: Proof }) {
  const pass = proof.result === 'pass';
  const expectation =
    proof.expectation === 'preserve-usage'
      ? `every action used in the window stays allowed (${count(proof.allowed)} of ${count(proof.checkedActions.length)})`
      : proof.expectation === 'deny-all'
        ? `nothing stays allowed (${count(proof.allowed)} of ${count(proof.checkedActions.length)} used actions still allowed)`
        : `access is revoked on purpose (${count(proof.denied.length)} used actions refused)`;
  return (
    <div class={`proof ${pass ? 'pass' : 'fail'}`} data-proof={proof.result}>
      <p>
        <strong>Replay proof: {pass ? 'passed' : 'failed'}</strong> — {expectation}; effective
        actions {count(proof.grantedBefore)} → {count(proof.grantedAfter)};{' '}
        {proof.neverWider ? 'never wider than before' : `widens ${proof.widened.length} actions`}.
      </p>
      <ul class="proof-details">
        {proof.expectation === 'preserve-usage' && proof.denied.length ? (
          <li>Refused after the change: {proof.denied.join(', ')}</li>
        ) : null}
        {proof.unobservableKept.length ? (
          <li>{count(proof.unobservableKept.length)} actions kept because logs cannot show them</li>
        ) : null}
        {proof.norepoKept.length ? (
          <li>{proof.norepoKept.length} NOREPO statements kept as written</li>
        ) : null}
        {proof.unknownPatternsKept.length ? (
          <li>Unknown patterns kept: {proof.unknownPatternsKept.join(', ')}</li>
        ) : null}
        {proof.artifacts.map((a) => (
          <li key={a.name}>
            {a.name}: {a.valid ? 'valid' : 'INVALID'}, {count(a.chars)} of {count(a.limit)}{' '}
            characters
          </li>
        ))}
        {proof.failures.map((f) => (
          <li key={f} class="error">
            {f}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Admin only: dry run first (nothing changes), then apply what the preview showed. */
function RemediateFlow(props: {
  rec: Recommendation;
  option: RecommendationOption;
  onChanged: (message: string) => void;
}) {
  const [preview, setPreview] = useState<PreviewResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const path = `/recommendations/${enc(props.rec.recommendationId)}`;
  const body = { option: props.option.type };

  const runPreview = () => {
    setBusy(true);
    setError(null);
    post<PreviewResult>(`${path}/preview`, body).then(
      (p) => {
        setPreview(p);
        setBusy(false);
      },
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  const apply = () => {
    setBusy(true);
    setError(null);
    post<RemediationRecord>(`${path}/apply`, body).then(
      (r) =>
        props.onChanged(
          `${props.option.title} applied (remediation ${r.remediationId}, ${r.status}); roll it back from Applied below.`,
        ),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };

  return (
    <div class="remediate">
      {preview ? null : (
        <button type="button" class="primary" disabled={busy} onClick={runPreview}>
          Remediate: preview {props.option.title.toLowerCase()}
        </button>
      )}
      {preview ? (
        <div class="preview" data-preview={props.option.type}>
          <h6>Dry run: the calls apply would make in account {preview.accountId}</h6>
          <ol class="calls">
            {preview.calls.map((c, i) => (
              <li key={`${i}-${c.operation}`}>
                <code>
                  {c.service}:{c.operation}
                </code>{' '}
                <span class="muted">{JSON.stringify(c.parameters)}</span>
                {c.condition ? <em> ({c.condition})</em> : null}
              </li>
            ))}
          </ol>
          {preview.warnings.length ? (
            <ul class="warnings">
              {preview.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
          <details>
            <summary>State a rollback restores</summary>
            <pre class="code">{JSON.stringify(preview.currentState, null, 2)}</pre>
          </details>
          <div class="dialog-buttons">
            <button type="button" disabled={busy} onClick={() => setPreview(null)}>
              Cancel
            </button>
            <button type="button" class="danger" disabled={busy} onClick={apply}>
              Apply {props.option.title.toLowerCase()}
            </button>
          </div>
        </div>
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}

function Remediations(props: {
  items: RemediationSummary[];
  role: Role;
  onChanged: (message: string) => void;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const rollback = (r: RemediationSummary) => {
    setBusy(r.remediationId);
    setError(null);
    post<RemediationRecord>(`/remediations/${enc(r.remediationId)}/rollback`).then(
      (done) => {
        setBusy(null);
        props.onChanged(`Remediation ${done.remediationId} rolled back (${done.status}).`);
      },
      (err: unknown) => {
        setBusy(null);
        setError(err);
      },
    );
  };
  return (
    <div class="remediations">
      <ul>
        {props.items.map((r) => (
          <li key={r.remediationId} data-remediation={r.remediationId} data-status={r.status}>
            {r.optionType} <Badge kind="rem" value={r.status} /> by {r.actor} on{' '}
            {dateTime(r.appliedAt)}
            {r.rolledBackAt ? `, rolled back ${dateTime(r.rolledBackAt)}` : ''}
            {props.role === 'admin' && ROLLBACKABLE.has(r.status) ? (
              <button
                type="button"
                class="small danger"
                disabled={busy !== null}
                onClick={() => rollback(r)}
              >
                Rollback
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
