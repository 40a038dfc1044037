import pLimit from 'p-limit';
import { z } from 'zod';
import { IngestError } from '../../../lib/errors.ts';
import { call, type GcpApi, listAll, parseResponse } from '../api.ts';
import { describeGcpError } from '../clients.ts';

/**
 * Service accounts of a project with their user-managed keys. Google-managed keys rotate by
 * themselves and never leave Google, so only user-managed keys are long-lived credentials
 * worth reporting. The IAM API says nothing about when an account was created or a key last
 * used (that lives in Policy Analyzer activity), so those stay unknown rather than guessed.
 */

const ServiceAccountSchema = z.looseObject({
  name: z.string(),
  projectId: z.string().min(1),
  uniqueId: z.string().min(1),
  email: z.string().min(1),
  displayName: z.string().optional(),
  description: z.string().optional(),
  disabled: z.boolean().optional(),
  oauth2ClientId: z.string().optional(),
});

const KeySchema = z.looseObject({
  name: z.string().min(1),
  keyType: z.string().optional(),
  keyOrigin: z.string().optional(),
  keyAlgorithm: z.string().optional(),
  validAfterTime: z.string().optional(),
  validBeforeTime: z.string().optional(),
  disabled: z.boolean().optional(),
});

const KeysResponseSchema = z.looseObject({ keys: z.array(KeySchema).optional() });

export interface ServiceAccountKey {
  /** Full resource name `projects/p/serviceAccounts/e/keys/ID`. */
  name: string;
  keyOrigin: string | null;
  keyAlgorithm: string | null;
  validAfterTime: string | null;
  validBeforeTime: string | null;
  disabled: boolean;
}

export interface GcpServiceAccount {
  email: string;
  projectId: string;
  uniqueId: string;
  displayName: string | null;
  description: string | null;
  disabled: boolean;
  oauth2ClientId: string | null;
  userManagedKeys: ServiceAccountKey[];
}

// --- get -------------------------------------------------------------------------------------

export async function getServiceAccounts(
  api: GcpApi,
  projectId: string,
  concurrency: number,
): Promise<GcpServiceAccount[]> {
  const iam = api.clients.iam;
  const accounts = (
    await listAll(
      api,
      (pageToken) =>
        iam.projects.serviceAccounts.list({
          name: `projects/${projectId}`,
          pageSize: 100,
          pageToken,
        }),
      (page) => page.accounts,
    )
  ).map((a) => parseResponse(ServiceAccountSchema, a, 'projects.serviceAccounts.list'));
  const limit = pLimit(concurrency);
  const out = await Promise.all(
    accounts.map((sa) =>
      limit(async (): Promise<GcpServiceAccount> => {
        let listed: unknown;
        try {
          listed = await call(api, () =>
            iam.projects.serviceAccounts.keys.list({ name: sa.name, keyTypes: ['USER_MANAGED'] }),
          );
        } catch (err) {
          throw new IngestError(
            `${sa.email}: ${describeGcpError(err)}`,
            { call: 'projects.serviceAccounts.keys.list', serviceAccount: sa.email },
            { cause: err },
          );
        }
        const keys = parseResponse(
          KeysResponseSchema,
          listed,
          'projects.serviceAccounts.keys.list',
        );
        return {
          email: sa.email,
          projectId: sa.projectId,
          uniqueId: sa.uniqueId,
          displayName: sa.displayName ?? null,
          description: sa.description ?? null,
          disabled: sa.disabled ?? false,
          oauth2ClientId: sa.oauth2ClientId ?? null,
          userManagedKeys: (keys.keys ?? [])
            // keyTypes is a filter the API applies; checked again so a key of another type never
            // passes for a user-managed one.
            .filter((k) => k.keyType === undefined || k.keyType === 'USER_MANAGED')
            .map((k) => ({
              name: k.name,
              keyOrigin: k.keyOrigin ?? null,
              keyAlgorithm: k.keyAlgorithm ?? null,
              validAfterTime: k.validAfterTime ?? null,
              validBeforeTime: k.validBeforeTime ?? null,
              disabled: k.disabled ?? false,
            }))
            .sort((a, b) => a.name.localeCompare(b.name)),
        };
      }),
    ),
  );
  return out.sort((a, b) => a.email.localeCompare(b.email));
}
