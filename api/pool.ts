import type { Db } from '../model/db.ts';

/**
 * A few connections on one DuckDB instance, each lent to one request at a time. DuckDB runs
 * queries from different connections in parallel; one connection runs them one after the
 * other, and a transaction on a shared connection would capture other requests' statements.
 */
export class DbPool {
  private readonly idle: Db[];
  private readonly waiters: Array<{ resolve: (db: Db) => void; reject: (err: Error) => void }> = [];
  private readonly all: Db[];
  private closed = false;
  private drained: (() => void) | null = null;

  private constructor(connections: Db[]) {
    this.all = connections;
    this.idle = [...connections];
  }

  /** `size` new connections forked from `db` (which stays the caller's). */
  static async open(db: Db, size: number): Promise<DbPool> {
    const connections: Db[] = [];
    for (let i = 0; i < Math.max(1, size); i++) connections.push(await db.fork());
    return new DbPool(connections);
  }

  /** Any connection, to key per-database state (never to run a query: borrow with use()). */
  anyConnection(): Db {
    return this.all[0]!;
  }

  get size(): number {
    return this.all.length;
  }

  private acquire(): Promise<Db> {
    if (this.closed) return Promise.reject(new Error('database pool is closed'));
    const db = this.idle.pop();
    if (db) return Promise.resolve(db);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(db: Db): void {
    const waiter = this.closed ? undefined : this.waiters.shift();
    if (waiter) {
      waiter.resolve(db);
      return;
    }
    this.idle.push(db);
    if (this.drained && this.idle.length === this.all.length) this.drained();
  }

  /** Run `fn` with a connection of its own; returned to the pool when `fn` settles. */
  async use<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    const db = await this.acquire();
    try {
      return await fn(db);
    } finally {
      this.release(db);
    }
  }

  /**
   * Refuse new work, wait for the connections lent out, then close them: closing a connection
   * while DuckDB still runs a query on it can bring the process down.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error('database pool is closed'));
    if (this.idle.length < this.all.length) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
    for (const db of this.all) db.close();
  }
}
