import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { enc, get } from './api.ts';
import { Badge, CopyButton, ErrorNote, Loading, Tabs } from './common.tsx';
import { ago, count, dateTime, day, pct } from './format.ts';
import { RecommendationsTab } from './recommendations.tsx';
import type { PrincipalDetail, PrincipalItem, Role } from './types.ts';
import { UsedByTab, UsedForTab } from './used.tsx';

/**
 * The side panel of one principal: its facts, then Recommendations, Used By and Used For.
 * Everything is read from the assessment the row came from. Escape closes it and focus goes
 * back to where it was.
 */
export function DetailsPanel(props: { item: PrincipalItem; role: Role; onClose: () => void }) {
  const { item } = props;
  const [detail, setDetail] = useState<PrincipalDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const scope = { assessmentId: item.assessmentId };
  const base = `/principals/${enc(item.principalId)}`;

  useEffect(() => {
    get<PrincipalDetail>(base, scope).then(setDetail, setError);
  }, [base, item.assessmentId, version]);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('dialog[open]')) {
        props.onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [props.onClose]);

  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  return (
    <aside class="panel" aria-labelledby="panel-title" data-principal={item.principalId}>
      <div class="panel-head">
        <h2 id="panel-title" tabIndex={-1} ref={heading}>
          {item.name}
        </h2>
        <button type="button" class="close" aria-label="Close details" onClick={props.onClose}>
          ✕
        </button>
      </div>
      <p class="arn-line">
        <code>{item.principalId}</code>{' '}
        <CopyButton text={item.principalId} label="Copy" what="ARN" />
      </p>
      {error ? <ErrorNote error={error} /> : null}
      {detail ? <Facts detail={detail} /> : error ? null : <Loading what="details" />}
      <Tabs
        label="Principal details"
        idPrefix="details"
        tabs={[
          {
            id: 'recommendations',
            label: 'Recommendations',
            render: () => (
              <RecommendationsTab base={base} scope={scope} role={props.role} onChanged={refresh} />
            ),
          },
          {
            id: 'used-by',
            label: 'Used By',
            render: () => <UsedByTab base={base} scope={scope} />,
          },
          {
            id: 'used-for',
            label: 'Used For',
            render: () => <UsedForTab base={base} scope={scope} />,
          },
        ]}
      />
    </aside>
  );
}

function Facts({ detail }: { detail: PrincipalDetail }) {
  const op = detail.overprivilege;
  return (
    <div class="facts">
      <dl class="fact-grid">
        <div>
          <dt>Account</dt>
          <dd>
            {detail.account.name ?? detail.account.id}{' '}
            <span class="sub-inline">{detail.account.id}</span>
          </dd>
        </div>
        <div>
          <dt>Type</dt>
          <dd>
            {detail.type} ({detail.cloud}){detail.serviceLinked ? ', service-linked' : ''}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <Badge kind="status" value={detail.status} />
          </dd>
        </div>
        <div>
          <dt>Tier</dt>
          <dd>
            <Badge kind="tier" value={detail.tier} />
          </dd>
        </div>
        <div>
          <dt>Risk score</dt>
          <dd>{detail.risk ? detail.risk.score : '–'}</dd>
        </div>
        <div>
          <dt>Overprivilege</dt>
          <dd>
            {pct(op?.pct)} <span class="sub-inline">(high-risk {pct(op?.highRiskPct)})</span>
          </dd>
        </div>
        <div>
          <dt>Unused actions</dt>
          <dd>{op ? `${count(op.unused)} of ${count(op.granted)}` : '–'}</dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd title={dateTime(detail.lastUsed.at)}>
            {detail.lastUsed.at
              ? `${day(detail.lastUsed.at)} (${ago(detail.lastUsed.at)})`
              : 'never'}
          </dd>
        </div>
        <div>
          <dt>Identities</dt>
          <dd>
            {count(detail.identities.human)} human, {count(detail.identities.machine)} machine
          </dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>{detail.owner ?? '–'}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{day(detail.createdAt)}</dd>
        </div>
        <div>
          <dt>Evidence window</dt>
          <dd>
            {detail.window.start} to {detail.window.end}
          </dd>
        </div>
      </dl>
      {op?.evidenceGap ? (
        <p class="note evidence-gap">
          Logs incomplete: {op.evidenceGap}. Its {count(op.unobservable)} granted actions not seen
          used count as not observable, and no recommendation is made.
        </p>
      ) : null}
      {detail.ignored ? (
        <p class="note">
          Ignored by {detail.ignored.createdBy} on {day(detail.ignored.createdAt)}:{' '}
          {detail.ignored.reason}
        </p>
      ) : null}
      {detail.risk?.breakdown.length ? (
        <details class="breakdown">
          <summary>Why risk {detail.risk.score}</summary>
          <ul>
            {detail.risk.breakdown.map((c) => (
              <li key={c.component}>
                <strong>
                  {c.component} {c.points}/{c.max}
                </strong>{' '}
                {c.reason}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
