import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, forgetToken, get, saveToken, takeToken, UNAUTHORIZED_EVENT } from './api.ts';
import { ErrorNote } from './common.tsx';
import { DetailsPanel } from './details.tsx';
import { FilterBar } from './filter-bar.tsx';
import { sameFilter } from './filter-parts.ts';
import { AssessmentHeader, type Scope } from './header.tsx';
import { PrincipalsTable, type SortState } from './table.tsx';
import type { Me, PrincipalItem, PrincipalPage, WidgetsAnswer } from './types.ts';
import { readView, writeView } from './view-state.ts';
import { Widgets } from './widgets.tsx';

export function App() {
  const [token, setToken] = useState<string | null>(() => takeToken());
  const [me, setMe] = useState<Me | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!token) return;
    setMe(null);
    get<Me>('/me').then(setMe, (err: unknown) => {
      // A refused token is handled by the listener below.
      if (!(err instanceof ApiFailure && err.status === 401)) {
        setProblem(err instanceof Error ? err.message : String(err));
      }
    });
  }, [token]);

  useEffect(() => {
    const onUnauthorized = (event: Event) => {
      forgetToken();
      setMe(null);
      setToken(null);
      setProblem(String((event as CustomEvent<string>).detail));
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  const signOut = () => {
    forgetToken();
    setMe(null);
    setToken(null);
    setProblem(null);
  };

  if (!token) {
    return (
      <TokenForm
        problem={problem}
        onToken={(t) => {
          saveToken(t);
          setProblem(null);
          setToken(t);
        }}
      />
    );
  }
  if (!me) {
    return (
      <main class="center">{problem ? <ErrorNote error={problem} /> : <p>Signing in…</p>}</main>
    );
  }
  return <Dashboard me={me} onSignOut={signOut} />;
}

function TokenForm(props: { problem: string | null; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="center">
      <form
        class="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) props.onToken(value.trim());
        }}
      >
        <h1>Access Discovery</h1>
        <p>
          Paste an API token (<code>access-discovery tokens create --role analyst</code>). It is
          kept in this tab only.
        </p>
        <label for="token-input">API token</label>
        <input
          id="token-input"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          placeholder="tok_…"
        />
        <button type="submit" class="primary">
          Sign in
        </button>
        {props.problem ? <ErrorNote error={props.problem} /> : null}
      </form>
    </main>
  );
}

function Dashboard(props: { me: Me; onSignOut: () => void }) {
  const [initial] = useState(() => readView(window.location.search));
  const [scope, setScope] = useState<Scope>({
    integrationId: initial.integrationId,
    assessmentId: initial.assessmentId,
  });
  const [filter, setFilter] = useState(initial.filter);
  const [filterError, setFilterError] = useState<ApiFailure | null>(null);
  const [sort, setSort] = useState<SortState>({ sort: initial.sort, order: initial.order });
  const [offset, setOffset] = useState(initial.offset);
  const [limit, setLimit] = useState(initial.limit);
  const [page, setPage] = useState<PrincipalPage | null>(null);
  const [pageError, setPageError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [widgets, setWidgets] = useState<WidgetsAnswer | null>(null);
  const [widgetsError, setWidgetsError] = useState<unknown>(null);
  const [selected, setSelected] = useState<PrincipalItem | null>(null);
  const [version, setVersion] = useState(0);
  const lastFocus = useRef<HTMLElement | null>(null);

  const scopeQuery = scope.assessmentId
    ? { assessmentId: scope.assessmentId }
    : { integrationId: scope.integrationId ?? undefined };

  useEffect(() => {
    const abort = new AbortController();
    setWidgetsError(null);
    get<WidgetsAnswer>('/widgets', scopeQuery, abort.signal).then(setWidgets, (err: unknown) => {
      if (!abort.signal.aborted) setWidgetsError(err);
    });
    return () => abort.abort();
  }, [scope.integrationId, scope.assessmentId, version]);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    get<PrincipalPage>(
      '/principals',
      { ...scopeQuery, filter, sort: sort.sort, order: sort.order, limit, offset },
      abort.signal,
    ).then(
      (answer) => {
        setPage(answer);
        setPageError(null);
        setFilterError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setLoading(false);
        if (err instanceof ApiFailure && err.code === 'invalid-filter') setFilterError(err);
        else setPageError(err);
      },
    );
    return () => abort.abort();
  }, [
    scope.integrationId,
    scope.assessmentId,
    filter,
    sort.sort,
    sort.order,
    limit,
    offset,
    version,
  ]);

  useEffect(() => {
    const search = writeView({ ...scope, filter, ...sort, offset, limit });
    if (search !== window.location.search) {
      history.replaceState(null, '', `${window.location.pathname}${search}`);
    }
  }, [scope.integrationId, scope.assessmentId, filter, sort.sort, sort.order, offset, limit]);

  useEffect(() => {
    // "/" jumps to the filter box, as in many list views, unless the user is typing somewhere.
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest('input, textarea, select, [contenteditable="true"]');
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        document.getElementById('filter-input')?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const applyFilter = useCallback((text: string) => {
    setFilter(text.trim());
    setOffset(0);
  }, []);

  const toggleFilter = useCallback(
    (text: string) => applyFilter(sameFilter(filter, text) ? '' : text),
    [filter, applyFilter],
  );

  const open = (item: PrincipalItem) => {
    lastFocus.current = document.activeElement as HTMLElement | null;
    setSelected(item);
  };
  const close = () => {
    setSelected(null);
    lastFocus.current?.focus();
  };

  const canIgnore = props.me.role === 'admin' || props.me.role === 'analyst';

  return (
    <div class={selected ? 'layout with-panel' : 'layout'}>
      <header class="topbar">
        <span class="brand">Access Discovery</span>
        <span class="who">
          {props.me.name} · <span class="role">{props.me.role}</span>
          <button type="button" class="link" onClick={props.onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <AssessmentHeader
          scope={scope}
          current={widgets?.scope ?? []}
          onScope={(s) => {
            setScope(s);
            setOffset(0);
            setSelected(null);
          }}
        />
        {widgetsError ? <ErrorNote error={widgetsError} /> : null}
        <Widgets answer={widgets} filter={filter} onToggle={toggleFilter} />
        <section class="principals" aria-labelledby="principals-title">
          <h2 id="principals-title">Principals</h2>
          <FilterBar
            filter={filter}
            error={filterError}
            onApply={applyFilter}
            onClearError={() => setFilterError(null)}
          />
          {pageError ? <ErrorNote error={pageError} /> : null}
          <PrincipalsTable
            page={page}
            loading={loading}
            stale={filterError !== null}
            sort={sort}
            onSort={(s) => {
              setSort(s);
              setOffset(0);
            }}
            offset={offset}
            limit={limit}
            onPage={(o, l) => {
              setOffset(o);
              setLimit(l);
            }}
            selectedId={selected?.principalId ?? null}
            onOpen={open}
            canIgnore={canIgnore}
            onChanged={() => setVersion((v) => v + 1)}
            noAssessment={page !== null && page.scope.length === 0}
          />
        </section>
      </main>
      {selected ? (
        <DetailsPanel
          key={`${selected.integrationId}|${selected.principalId}`}
          item={selected}
          role={props.me.role}
          onClose={close}
        />
      ) : null}
    </div>
  );
}
