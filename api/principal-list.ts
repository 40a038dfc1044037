import type { Db } from '../model/db.ts';
import type { ScopeEntry } from './scope.ts';
import { fillSql, loadSql, placeholders } from './sql.ts';

/**
 * The flat read copy of finished assessments behind the principals list and the widgets
 * (principal_list, migrations 004 and 006). Joining principal_score to principal on their long
 * text keys for every request costs more than the request itself at 100,000 principals; a finished
 * assessment never changes, so it is copied once, on first read. Only the `ignored` flag moves:
 * every read compares the active ignore rules with the set last applied and refreshes the flag
 * when they differ. The least recently read copies are dropped beyond a few.
 */

const ACTIVE = 'removed_at IS NULL AND (expires_at IS NULL OR expires_at > now())';

/** Copies kept besides the current assessments. */
const KEEP_EXTRA = 4;
const READ_STAMP_MS = 10 * 60_000;
/** A copy read this recently is never dropped (a request may be reading it). */
const IN_USE_MS = 5 * 60_000;

interface CopyState {
  queue: Promise<unknown>;
  ready: Set<string>;
  readAt: Map<string, number>;
  readStamped: Map<string, number>;
  ignoreVersion: string | null;
  /** The active-rule version read last, reused until a rule changes, expires, or 2 s pass. */
  ignoreCache: { version: string; validUntil: number } | null;
}

/** Per database instance (shared by its connections), so that separate databases never mix. */
const states = new WeakMap<object, CopyState>();

function stateOf(db: Db): CopyState {
  let state = states.get(db.instance);
  if (!state) {
    state = {
      queue: Promise.resolve(),
      ready: new Set(),
      readAt: new Map(),
      readStamped: new Map(),
      ignoreVersion: null,
      ignoreCache: null,
    };
    states.set(db.instance, state);
  }
  return state;
}

function key(entry: ScopeEntry): string {
  return `${entry.assessmentId}|${entry.finishedAt ?? ''}`;
}

/** One writer at a time per database: DuckDB rejects concurrent writers of the same rows. */
function serialised<T>(state: CopyState, fn: () => Promise<T>): Promise<T> {
  const next = state.queue.then(fn, fn);
  state.queue = next.catch(() => undefined);
  return next;
}

async function copy(db: Db, entry: ScopeEntry): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec('DELETE FROM principal_list WHERE assessment_id = $id', {
      id: entry.assessmentId,
    });
    const first = await tx.scalar<number>('SELECT coalesce(max(row_no), 0) FROM principal_list');
    await tx.exec(loadSql('principal-list-build'), {
      assessment_id: entry.assessmentId,
      first_row: Number(first),
    });
    const rows = await tx.scalar<number>(
      'SELECT count(*) FROM principal_list WHERE assessment_id = $id',
      { id: entry.assessmentId },
    );
    await tx.exec(
      'INSERT OR REPLACE INTO principal_list_state VALUES ($id, CAST($finished AS TIMESTAMPTZ), now(), now(), $rows)',
      { id: entry.assessmentId, finished: entry.finishedAt, rows: Number(rows) },
    );
  });
}

async function prune(db: Db, state: CopyState): Promise<void> {
  const candidates = await db.all(
    `SELECT assessment_id FROM principal_list_state
     WHERE assessment_id NOT IN (SELECT assessment_id FROM (${loadSql('current-assessments')}))
     ORDER BY read_at DESC, built_at DESC`,
  );
  const now = Date.now();
  const stale = candidates
    .map((r) => String(r.assessment_id))
    .slice(KEEP_EXTRA)
    .filter((id) => now - (state.readAt.get(id) ?? 0) > IN_USE_MS);
  for (const id of stale) {
    await db.transaction(async (tx) => {
      await tx.exec('DELETE FROM principal_list WHERE assessment_id = $id', { id });
      await tx.exec('DELETE FROM principal_list_state WHERE assessment_id = $id', { id });
    });
    for (const k of state.ready) if (k.startsWith(`${id}|`)) state.ready.delete(k);
  }
}

const IGNORE_VERSION_TTL_MS = 2_000;

/**
 * A key that changes whenever the set of active ignore rules changes. Read from the database
 * at most every 2 s; the ignore routes call {@link invalidateIgnoreVersion} after a change, and
 * the next expiry of a rule ends the reuse early.
 */
export async function ignoreVersion(db: Db): Promise<string> {
  const state = stateOf(db);
  const now = Date.now();
  if (state.ignoreCache && now < state.ignoreCache.validUntil) return state.ignoreCache.version;
  const row = await db.one(
    `SELECT count(*) FILTER (WHERE ${ACTIVE}) AS n,
       coalesce(hash(string_agg(ignore_id, ',' ORDER BY ignore_id) FILTER (WHERE ${ACTIVE})), 0) AS h,
       min(expires_at) FILTER (WHERE expires_at > now() AND removed_at IS NULL) AS next_expiry
     FROM ignore_rule`,
  );
  const version = `${row!.n}|${row!.h}`;
  const nextExpiry =
    row!.next_expiry === null ? Number.POSITIVE_INFINITY : Date.parse(String(row!.next_expiry));
  state.ignoreCache = { version, validUntil: Math.min(now + IGNORE_VERSION_TTL_MS, nextExpiry) };
  return version;
}

/** Call after changing ignore_rule so that the next read sees the change at once. */
export function invalidateIgnoreVersion(db: Db): void {
  stateOf(db).ignoreCache = null;
}

/**
 * Make sure principal_list holds every assessment in scope with up-to-date ignore flags.
 * Returns the ignore version the copies reflect (part of every cache key built on them).
 */
export async function ensurePrincipalList(db: Db, scope: ScopeEntry[]): Promise<string> {
  const state = stateOf(db);
  const now = Date.now();
  for (const s of scope) state.readAt.set(s.assessmentId, now);
  const missing = scope.filter((s) => !state.ready.has(key(s)));
  if (missing.length > 0) {
    await serialised(state, async () => {
      let copied = false;
      for (const entry of missing) {
        if (state.ready.has(key(entry))) continue;
        const existing = await db.one(
          'SELECT finished_at FROM principal_list_state WHERE assessment_id = $id',
          { id: entry.assessmentId },
        );
        if (!existing || existing.finished_at !== entry.finishedAt) {
          await copy(db, entry);
          copied = true;
        }
        state.ready.add(key(entry));
      }
      if (copied) {
        // New rows start unflagged: force the refresh below.
        state.ignoreVersion = null;
        await prune(db, state);
      }
    });
  }
  let version = await ignoreVersion(db);
  if (version !== state.ignoreVersion) {
    version = await serialised(state, async () => {
      invalidateIgnoreVersion(db);
      const current = await ignoreVersion(db);
      if (current !== state.ignoreVersion) {
        await db.exec(loadSql('principal-list-ignored'));
        state.ignoreVersion = current;
      }
      return current;
    });
  }
  const stamp = scope.filter(
    (s) => now - (state.readStamped.get(s.assessmentId) ?? 0) > READ_STAMP_MS,
  );
  if (stamp.length > 0) {
    for (const s of stamp) state.readStamped.set(s.assessmentId, now);
    const ids = placeholders(
      'a',
      stamp.map((s) => s.assessmentId),
    );
    await serialised(state, () =>
      db.exec(
        `UPDATE principal_list_state SET read_at = now() WHERE assessment_id IN (${ids.sql})`,
        ids.params,
      ),
    );
  }
  return version;
}

/** The principal view over the assessments in scope, with its bound parameters. */
export function principalView(scope: ScopeEntry[]): {
  sql: string;
  params: Record<string, string>;
} {
  const ids = placeholders(
    'scope',
    scope.map((s) => s.assessmentId),
  );
  return { sql: fillSql(loadSql('principal-view'), { scope: ids.sql }), params: ids.params };
}
