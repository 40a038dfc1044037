/**
 * Child process for test/model/wal-recovery.test.ts: opens a database and SIGKILLs itself at
 * the point named by argv[3], so the test can reopen the file the way a killed run leaves it.
 *   after-migration-1  killed once the first migration has committed (no checkpoint yet)
 *   after-insert       killed after a committed insert, once migrations were checkpointed
 */
import { Db } from '../../model/db.ts';
import { migrate } from '../../model/migrate.ts';

const [path, point] = process.argv.slice(2);
if (!path || !point) throw new Error('usage: crash-child.ts DB POINT');
const die = () => process.kill(process.pid, 'SIGKILL');

if (point === 'after-migration-1') {
  const db = await Db.open(path, { migrate: false });
  await migrate(db, undefined, {
    onApplied: (m) => {
      if (m.version === 1) die();
    },
  });
} else if (point === 'after-insert') {
  const db = await Db.open(path);
  await db.exec(
    "INSERT INTO audit_log (occurred_at, actor, action, outcome, details) VALUES (now(), 'crash-child', 'test.insert', 'success', '{}')",
  );
  die();
} else {
  throw new Error(`unknown point ${point}`);
}
