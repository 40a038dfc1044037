import { useEffect, useState } from 'preact/hooks';
import { enc, get } from './api.ts';
import { Badge, ErrorNote } from './common.tsx';
import { count, dateTime } from './format.ts';
import type { AssessmentSummary, Integration, ScopeEntry } from './types.ts';

/** What the page reads: every integration's current assessment, one integration's, or one assessment. */
export interface Scope {
  integrationId: string | null;
  assessmentId: string | null;
}

const FINISHED = new Set(['succeeded', 'partial']);

function worstStatus(statuses: string[]): string {
  for (const s of ['failed', 'partial', 'running', 'succeeded']) if (statuses.includes(s)) return s;
  return statuses[0] ?? 'none';
}

function sum(values: Array<number | null>): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

export function AssessmentHeader(props: {
  scope: Scope;
  /** The assessments the current answers come from (the widgets' `scope`). */
  current: ScopeEntry[];
  onScope: (scope: Scope) => void;
}) {
  const [integrations, setIntegrations] = useState<Integration[]>([]);
  const [history, setHistory] = useState<AssessmentSummary[]>([]);
  const [summaries, setSummaries] = useState<AssessmentSummary[]>([]);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    get<{ items: Integration[] }>('/integrations').then((a) => setIntegrations(a.items), setError);
  }, []);

  useEffect(() => {
    if (!props.scope.integrationId) {
      setHistory([]);
      return;
    }
    get<{ items: AssessmentSummary[] }>('/assessments', {
      integrationId: props.scope.integrationId,
      limit: 60,
    }).then((a) => setHistory(a.items.filter((s) => FINISHED.has(s.status))), setError);
  }, [props.scope.integrationId]);

  const ids = props.current.map((c) => c.assessmentId).join('|');
  useEffect(() => {
    if (!ids) {
      setSummaries([]);
      return;
    }
    Promise.all(ids.split('|').map((id) => get<AssessmentSummary>(`/assessments/${enc(id)}`))).then(
      setSummaries,
      setError,
    );
  }, [ids]);

  const last = summaries
    .map((s) => s.finishedAt ?? s.startedAt)
    .filter((d): d is string => d !== null)
    .sort()
    .at(-1);
  const names = summaries.map(
    (s) => integrations.find((i) => i.integrationId === s.integrationId)?.name ?? s.integrationId,
  );
  const status = worstStatus(summaries.map((s) => s.status));
  const errors = summaries.reduce((n, s) => n + s.errorCount, 0);

  return (
    <section class="assessment" aria-labelledby="assessment-title">
      <div class="assessment-top">
        <h1 id="assessment-title">Assessment</h1>
        <div class="selectors">
          <label>
            Integration
            <select
              data-scope="integration"
              value={props.scope.integrationId ?? ''}
              onChange={(e) =>
                props.onScope({ integrationId: e.currentTarget.value || null, assessmentId: null })
              }
            >
              <option value="">All integrations</option>
              {integrations.map((i) => (
                <option key={i.integrationId} value={i.integrationId}>
                  {i.name ?? i.integrationId}
                </option>
              ))}
            </select>
          </label>
          <label>
            Assessment
            <select
              data-scope="assessment"
              value={props.scope.assessmentId ?? ''}
              disabled={!props.scope.integrationId}
              title={props.scope.integrationId ? undefined : 'Choose an integration first'}
              onChange={(e) =>
                props.onScope({
                  integrationId: props.scope.integrationId,
                  assessmentId: e.currentTarget.value || null,
                })
              }
            >
              <option value="">Latest finished</option>
              {history.map((a) => (
                <option key={a.assessmentId} value={a.assessmentId}>
                  {dateTime(a.startedAt)} · {a.status}
                  {a.current ? ' (current)' : ''}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {error ? <ErrorNote error={error} /> : null}
      <dl class="stats">
        <div>
          <dt>Last assessment</dt>
          <dd>{dateTime(last)}</dd>
        </div>
        <div>
          <dt>Integration</dt>
          <dd>{names.length ? names.join(', ') : '–'}</dd>
        </div>
        <div>
          <dt>Accounts</dt>
          <dd>{count(sum(summaries.map((s) => s.accountCount)))}</dd>
        </div>
        <div>
          <dt>Identities</dt>
          <dd>{count(sum(summaries.map((s) => s.identityCount)))}</dd>
        </div>
        <div>
          <dt>Principals</dt>
          <dd>{count(sum(summaries.map((s) => s.principalCount)))}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <Badge kind="run" value={summaries.length ? status : 'none'} />
            {errors > 0 ? <span class="muted"> {errors} errors</span> : null}
          </dd>
        </div>
      </dl>
    </section>
  );
}
