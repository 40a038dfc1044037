import { useEffect, useRef, useState } from 'preact/hooks';
import { del, enc, post } from './api.ts';
import { Badge, ErrorNote } from './common.tsx';
import { ago, count, day, pct } from './format.ts';
import type { PrincipalItem, PrincipalPage } from './types.ts';

export interface SortState {
  sort: string;
  order: 'asc' | 'desc';
}

const COLUMNS: Array<{ key: string; label: string; sort: string | null; numeric?: boolean }> = [
  { key: 'principal', label: 'Principal', sort: 'principal' },
  { key: 'account', label: 'Account', sort: 'account_name' },
  { key: 'type', label: 'Type', sort: 'type' },
  { key: 'status', label: 'Status', sort: 'status' },
  { key: 'tier', label: 'Tier', sort: 'tier' },
  { key: 'risk', label: 'Risk', sort: 'risk', numeric: true },
  {
    key: 'overprivilege',
    label: 'Overprivilege (high-risk)',
    sort: 'overprivilege',
    numeric: true,
  },
  { key: 'last_used', label: 'Last used', sort: 'last_used' },
  { key: 'owner', label: 'Owner', sort: 'owner' },
  { key: 'actions', label: 'Actions', sort: null },
];

const PAGE_SIZES = [25, 50, 100, 200];

/**
 * One page of principals (the server sorts and pages, so 100,000 rows cost the browser no more
 * than 50). Headers sort; a row's name opens the details; Ignore sits at the end of each row,
 * shown on hover and on keyboard focus.
 */
export function PrincipalsTable(props: {
  page: PrincipalPage | null;
  loading: boolean;
  stale: boolean;
  sort: SortState;
  onSort: (sort: SortState) => void;
  offset: number;
  limit: number;
  onPage: (offset: number, limit: number) => void;
  selectedId: string | null;
  onOpen: (item: PrincipalItem) => void;
  canIgnore: boolean;
  onChanged: () => void;
  /** The scope has no finished assessment (a new installation). */
  noAssessment: boolean;
}) {
  const [ignoring, setIgnoring] = useState<PrincipalItem | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const page = props.page;
  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : props.offset + 1;
  const last = Math.min(props.offset + props.limit, total);

  const unignore = (item: PrincipalItem) => {
    setActionError(null);
    del(`/principals/${enc(item.principalId)}/ignore`, { integrationId: item.integrationId }).then(
      props.onChanged,
      setActionError,
    );
  };

  return (
    <div
      class={props.stale ? 'table-wrap stale' : 'table-wrap'}
      aria-busy={props.loading}
      data-filter={page?.filter}
      data-sort={page ? `${page.sort}:${page.order}` : undefined}
      data-offset={page?.offset}
    >
      {actionError ? <ErrorNote error={actionError} /> : null}
      <table class="principals-table">
        <caption class="offscreen">
          Principals, sorted by {props.sort.sort}{' '}
          {props.sort.order === 'asc' ? 'ascending' : 'descending'}
        </caption>
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = c.sort !== null && c.sort === props.sort.sort;
              return (
                <th
                  key={c.key}
                  scope="col"
                  class={c.numeric ? 'num' : undefined}
                  aria-sort={
                    active ? (props.sort.order === 'asc' ? 'ascending' : 'descending') : undefined
                  }
                >
                  {c.sort === null ? (
                    <span class="offscreen">{c.label}</span>
                  ) : (
                    <button
                      type="button"
                      class="sort"
                      data-sort={c.sort}
                      onClick={() =>
                        props.onSort({
                          sort: c.sort!,
                          order: active && props.sort.order === 'desc' ? 'asc' : 'desc',
                        })
                      }
                    >
                      {c.label}
                      <span class="sort-mark" aria-hidden="true">
                        {active ? (props.sort.order === 'asc' ? '▲' : '▼') : ''}
                      </span>
                    </button>
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {page?.items.map((item) => (
            <Row
              key={`${item.integrationId}|${item.principalId}`}
              item={item}
              selected={item.principalId === props.selectedId}
              onOpen={props.onOpen}
              canIgnore={props.canIgnore}
              onIgnore={() => setIgnoring(item)}
              onUnignore={() => unignore(item)}
            />
          ))}
          {page && page.items.length === 0 ? (
            <tr>
              <td colSpan={COLUMNS.length} class="empty">
                {props.noAssessment
                  ? 'No assessment has finished yet: run one (access-discovery assess) or wait for the schedule.'
                  : 'No principal matches this filter.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <span class="range" aria-live="polite">
          {page ? `${count(first)}–${count(last)} of ${count(total)}` : 'Loading…'}
        </span>
        <button
          type="button"
          disabled={props.offset === 0}
          onClick={() => props.onPage(Math.max(0, props.offset - props.limit), props.limit)}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={props.offset + props.limit >= total}
          onClick={() => props.onPage(props.offset + props.limit, props.limit)}
        >
          Next
        </button>
        <label>
          Rows
          <select
            value={String(props.limit)}
            onChange={(e) => props.onPage(0, Number(e.currentTarget.value))}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </nav>
      {ignoring ? (
        <IgnoreDialog
          item={ignoring}
          onDone={(changed) => {
            setIgnoring(null);
            if (changed) props.onChanged();
          }}
        />
      ) : null}
    </div>
  );
}

function Row(props: {
  item: PrincipalItem;
  selected: boolean;
  onOpen: (item: PrincipalItem) => void;
  canIgnore: boolean;
  onIgnore: () => void;
  onUnignore: () => void;
}) {
  const { item } = props;
  return (
    <tr class={props.selected ? 'selected' : undefined} data-principal={item.principalId}>
      <td class="principal-cell">
        <button type="button" class="link principal-open" onClick={() => props.onOpen(item)}>
          {item.name}
        </button>
        <span class="arn" title={item.principalId}>
          {item.principalId}
        </span>
      </td>
      <td>
        {item.account.name ?? item.account.id}
        <span class="sub">{item.account.id}</span>
      </td>
      <td>{item.type}</td>
      <td>
        <Badge kind="status" value={item.status} />
        {item.ignored ? <Badge kind="flag" value="ignored" /> : null}
      </td>
      <td>
        <Badge kind="tier" value={item.tier} />
      </td>
      <td class="num">{item.riskScore}</td>
      <td class="num">
        {pct(item.overprivilegePct)}
        {item.highRiskOverprivilegePct !== null ? (
          <span class="sub-inline"> ({pct(item.highRiskOverprivilegePct)})</span>
        ) : null}
      </td>
      <td class="nowrap" title={item.lastUsedAt ?? 'no known use'}>
        {item.lastUsedAt ? day(item.lastUsedAt) : 'never'}
        {item.lastUsedAt ? <span class="sub">{ago(item.lastUsedAt)}</span> : null}
      </td>
      <td>{item.owner ?? <span class="muted">–</span>}</td>
      <td class="row-actions">
        {props.canIgnore ? (
          item.ignored ? (
            <button type="button" class="small" onClick={props.onUnignore}>
              Unignore
            </button>
          ) : (
            <button
              type="button"
              class="small"
              aria-label={`Ignore ${item.name}`}
              onClick={props.onIgnore}
            >
              Ignore
            </button>
          )
        ) : null}
      </td>
    </tr>
  );
}

/** A modal form (native <dialog>: focus is trapped, Escape cancels) asking why to ignore. */
function IgnoreDialog(props: { item: PrincipalItem; onDone: (changed: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    post(`/principals/${enc(props.item.principalId)}/ignore`, {
      reason: reason.trim(),
      integrationId: props.item.integrationId,
      ...(expires ? { expiresAt: new Date(`${expires}T00:00:00Z`).toISOString() } : {}),
    }).then(
      () => props.onDone(true),
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <dialog
      ref={ref}
      class="ignore-dialog"
      aria-labelledby="ignore-title"
      onClose={() => props.onDone(false)}
    >
      <form onSubmit={submit}>
        <h3 id="ignore-title">Ignore {props.item.name}</h3>
        <p class="muted">
          An ignored principal is left out of the widgets and its open recommendations are set
          aside, until the rule is removed or expires.
        </p>
        <label for="ignore-reason">Reason (required)</label>
        <textarea
          id="ignore-reason"
          required
          minLength={3}
          maxLength={1000}
          rows={3}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <label for="ignore-expires">Expires (optional, UTC day)</label>
        <input
          id="ignore-expires"
          type="date"
          value={expires}
          onInput={(e) => setExpires(e.currentTarget.value)}
        />
        {error ? <ErrorNote error={error} /> : null}
        <div class="dialog-buttons">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy || reason.trim().length < 3}>
            Ignore
          </button>
        </div>
      </form>
    </dialog>
  );
}
