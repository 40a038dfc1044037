import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../../lib/errors.ts';
import type { Db } from '../../model/db.ts';

/**
 * Bearer tokens: `tok_<16 hex>_<43 base64url>`. The first part is the public token id (the
 * row key, safe to log); only the SHA-256 of the secret part is stored.
 */

export const ROLES = ['admin', 'analyst', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenInfo {
  tokenId: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const TOKEN_PATTERN = /^(tok_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The token id of a well-formed token, without verifying it. */
export function tokenIdOf(token: string): string | undefined {
  return TOKEN_PATTERN.exec(token)?.[1];
}

/** "90d", "12h", "2w" from now; undefined for "never". */
export function parseExpiresIn(text: string, now = new Date()): Date | undefined {
  if (text === 'never') return undefined;
  const m = /^(\d{1,5})([hdw])$/.exec(text);
  if (!m || Number(m[1]) === 0) {
    throw new UsageError(
      `invalid expiry ${JSON.stringify(text)}: expected a duration such as 90d, 12h or 2w, or "never"`,
    );
  }
  const hours = { h: 1, d: 24, w: 168 }[m[2] as 'h' | 'd' | 'w'];
  return new Date(now.getTime() + Number(m[1]) * hours * 3_600_000);
}

const SELECT_INFO = `SELECT token_id AS "tokenId", name, role, created_at AS "createdAt",
  created_by AS "createdBy", expires_at AS "expiresAt", revoked_at AS "revokedAt",
  last_used_at AS "lastUsedAt" FROM api_token`;

/** Create a token; the returned `token` is the only time the secret exists in clear. */
export async function createToken(
  db: Db,
  input: { name: string; role: string; createdBy: string; expiresAt?: Date },
): Promise<{ token: string; info: TokenInfo }> {
  if (!isRole(input.role)) {
    throw new UsageError(
      `unknown role ${JSON.stringify(input.role)}: expected one of ${ROLES.join(', ')}`,
    );
  }
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) {
    throw new UsageError('a token name of 1 to 200 characters is required');
  }
  const tokenId = `tok_${randomBytes(8).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  await db.exec(
    `INSERT INTO api_token (token_id, name, role, token_hash, created_at, created_by, expires_at)
     VALUES ($id, $name, $role, $hash, now(), $by, CAST($expires AS TIMESTAMPTZ))`,
    {
      id: tokenId,
      name,
      role: input.role,
      hash: hashSecret(secret),
      by: input.createdBy,
      expires: input.expiresAt ? input.expiresAt.toISOString() : null,
    },
  );
  const info = await getToken(db, tokenId);
  return { token: `${tokenId}_${secret}`, info: info! };
}

export async function getToken(db: Db, tokenId: string): Promise<TokenInfo | undefined> {
  return (await db.one(`${SELECT_INFO} WHERE token_id = $id`, { id: tokenId })) as
    | TokenInfo
    | undefined;
}

export async function listTokens(db: Db): Promise<TokenInfo[]> {
  return (await db.all(`${SELECT_INFO} ORDER BY created_at, token_id`)) as unknown as TokenInfo[];
}

/** Revoke a token; revoking twice keeps the first revocation time. */
export async function revokeToken(db: Db, tokenId: string): Promise<TokenInfo | undefined> {
  await db.exec(
    'UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = $id',
    { id: tokenId },
  );
  return getToken(db, tokenId);
}

export type VerifyResult =
  | { ok: true; info: TokenInfo }
  | { ok: false; reason: 'malformed' | 'unknown' | 'mismatch' | 'expired' | 'revoked' };

export interface StoredToken {
  info: TokenInfo;
  hash: string;
}

export async function loadStoredToken(db: Db, tokenId: string): Promise<StoredToken | undefined> {
  const row = await db.one(
    `${SELECT_INFO.replace(' FROM api_token', ', token_hash FROM api_token')} WHERE token_id = $id`,
    {
      id: tokenId,
    },
  );
  if (!row) return undefined;
  const { token_hash, ...info } = row;
  return { info: info as unknown as TokenInfo, hash: String(token_hash) };
}

/** Check a presented token against its stored hash, expiry and revocation. */
export function checkToken(
  token: string,
  stored: StoredToken | undefined,
  now = new Date(),
): VerifyResult {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  // Hash even when the id is unknown so that timing does not tell ids apart.
  const presented = Buffer.from(hashSecret(m[2]!), 'hex');
  if (!stored) return { ok: false, reason: 'unknown' };
  const expected = Buffer.from(stored.hash, 'hex');
  if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
    return { ok: false, reason: 'mismatch' };
  }
  if (stored.info.revokedAt) return { ok: false, reason: 'revoked' };
  if (stored.info.expiresAt && new Date(stored.info.expiresAt).getTime() <= now.getTime()) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, info: stored.info };
}

export async function verifyToken(db: Db, token: string, now = new Date()): Promise<VerifyResult> {
  const id = tokenIdOf(token);
  return checkToken(token, id ? await loadStoredToken(db, id) : undefined, now);
}
