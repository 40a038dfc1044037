import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import { CopyButton, ErrorNote, Loading } from './common.tsx';
import { count, dateTime, LEVELS } from './format.ts';
import type { LevelCounts, UsedBy, UsedByIdentity, UsedFor, UsedForPolicy } from './types.ts';

const PAGE = 100;

/** Human and machine identities that acted through the principal; each row expands to its last 5 logins. */
export function UsedByTab(props: { base: string; scope: { assessmentId: string } }) {
  const [answer, setAnswer] = useState<UsedBy | null>(null);
  const [more, setMore] = useState<UsedByIdentity[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());

  useEffect(() => {
    get<UsedBy>(`${props.base}/used-by`, { ...props.scope, limit: PAGE }).then(setAnswer, setError);
  }, [props.base, props.scope.assessmentId]);

  if (error) return <ErrorNote error={error} />;
  if (!answer) return <Loading what="identities" />;
  const identities = [...answer.identities, ...more];
  const loadMore = () =>
    get<UsedBy>(`${props.base}/used-by`, {
      ...props.scope,
      limit: PAGE,
      offset: identities.length,
    }).then((a) => setMore([...more, ...a.identities]), setError);
  const toggle = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };

  return (
    <div class="used-by">
      <p>
        {count(answer.counts.human)} human and {count(answer.counts.machine)} machine identities
        acted through this principal between {answer.window.start} and {answer.window.end}.
      </p>
      {identities.length === 0 ? (
        <p class="muted">No identity used it in the window.</p>
      ) : (
        <table class="compact">
          <thead>
            <tr>
              <th scope="col">Identity</th>
              <th scope="col">Kind</th>
              <th scope="col" class="num">
                Calls
              </th>
              <th scope="col" class="num">
                Days
              </th>
              <th scope="col">Last seen</th>
              <th scope="col">Logins</th>
            </tr>
          </thead>
          <tbody>
            {identities.map((i) => {
              const expanded = open.has(i.identity);
              const rowId = `logins-${i.identity.replace(/[^A-Za-z0-9]/g, '-')}`;
              return (
                <Fragment key={i.identity}>
                  <tr data-identity={i.identity}>
                    <td>
                      {i.identity}
                      <span class="sub">{i.type}</span>
                    </td>
                    <td>{i.kind}</td>
                    <td class="num">{count(i.calls)}</td>
                    <td class="num">{count(i.activeDays)}</td>
                    <td>
                      {dateTime(i.lastSeen)}
                      {i.lastSourceIp ? <span class="sub">{i.lastSourceIp}</span> : null}
                    </td>
                    <td>
                      {i.logins.length ? (
                        <button
                          type="button"
                          class="small"
                          aria-expanded={expanded}
                          aria-controls={rowId}
                          onClick={() => toggle(i.identity)}
                        >
                          {expanded ? 'Hide' : `Last ${i.logins.length}`}
                        </button>
                      ) : (
                        <span class="muted">none</span>
                      )}
                    </td>
                  </tr>
                  {expanded ? (
                    <tr id={rowId} class="logins">
                      <td colSpan={6}>
                        <ul>
                          {i.logins.map((l) => (
                            <li key={`${l.at}-${l.eventName}`}>
                              {dateTime(l.at)} · {l.eventName} · {l.sourceIp ?? 'no address'} ·{' '}
                              <span class="muted">{l.userAgent ?? 'no user agent'}</span>
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {identities.length < answer.total ? (
        <button type="button" class="link" onClick={loadMore}>
          Show more ({count(answer.total - identities.length)} left)
        </button>
      ) : null}
    </div>
  );
}

/** Every attached policy: used, unused and unobservable actions per privilege level, and its JSON. */
export function UsedForTab(props: { base: string; scope: { assessmentId: string } }) {
  const [answer, setAnswer] = useState<UsedFor | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<UsedFor>(`${props.base}/used-for`, props.scope).then(setAnswer, setError);
  }, [props.base, props.scope.assessmentId]);

  if (error) return <ErrorNote error={error} />;
  if (!answer) return <Loading what="policies" />;
  return (
    <div class="used-for">
      {answer.usageAvailable ? null : (
        <p class="note">Per-policy usage is not stored for this assessment yet.</p>
      )}
      <p class="legend">
        <span class="key used">used</span>
        <span class="key unused">unused</span>
        <span class="key unobservable">not observable in logs</span>
      </p>
      {answer.policies.length === 0 ? <p class="muted">No policy is attached.</p> : null}
      {answer.policies.map((p) => (
        <PolicyView key={p.policyId} policy={p} />
      ))}
    </div>
  );
}

function PolicyView({ policy }: { policy: UsedForPolicy }) {
  const levels = LEVELS.filter((l) => policy.levels?.[l]);
  const json = policy.document === null ? '' : JSON.stringify(policy.document, null, 2);
  return (
    <article class="policy card" data-policy={policy.policyId}>
      <h4>{policy.name ?? policy.policyId}</h4>
      <p class="muted">
        {policy.kind ?? 'policy'} · {policy.policyId} · via{' '}
        {policy.attachments
          .map((a) => (a.via === 'direct' ? 'direct' : `${a.via} ${a.viaRef}`))
          .join(', ')}
      </p>
      {policy.totals ? (
        <p>
          {count(policy.totals.used)} used, {count(policy.totals.unused)} unused,{' '}
          {count(policy.totals.unobservable)} not observable, of {count(policy.totals.granted)}{' '}
          actions granted
        </p>
      ) : null}
      {levels.length ? (
        <table class="levels">
          <tbody>
            {levels.map((l) => (
              <LevelBar key={l} level={l} counts={policy.levels![l]!} />
            ))}
          </tbody>
        </table>
      ) : null}
      {policy.parseError ? <p class="error">Cannot parse: {policy.parseError}</p> : null}
      {json ? (
        <details>
          <summary>Policy JSON</summary>
          <CopyButton text={json} label="Copy JSON" what={`${policy.name ?? 'policy'} JSON`} />
          <pre class="code">{json}</pre>
        </details>
      ) : null}
    </article>
  );
}

/** One bar per level, as shares of what that level grants (the numbers beside it are absolute). */
function LevelBar(props: { level: string; counts: LevelCounts }) {
  const { used, unused, unobservable, granted } = props.counts;
  const scale = 100 / Math.max(1, granted);
  return (
    <tr data-level={props.level}>
      <th scope="row">{props.level}</th>
      <td class="level-bar">
        <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
          <rect class="used" x="0" y="0" height="10" width={used * scale} />
          <rect class="unused" x={used * scale} y="0" height="10" width={unused * scale} />
          <rect
            class="unobservable"
            x={(used + unused) * scale}
            y="0"
            height="10"
            width={unobservable * scale}
          />
        </svg>
      </td>
      <td class="num level-numbers">
        {count(used)} used / {count(unused)} unused
        {unobservable ? ` / ${count(unobservable)} n/o` : ''} of {count(granted)}
      </td>
    </tr>
  );
}
