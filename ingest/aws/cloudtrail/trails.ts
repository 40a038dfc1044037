import {
  type CloudTrailClient,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
} from '@aws-sdk/client-cloudtrail';

/**
 * Trails and what they record. Whether a trail logs data events decides if S3 object and
 * Lambda invoke permissions are "unused" or "not observable".
 */
export interface TrailInfo {
  arn: string;
  name: string;
  bucket: string;
  prefix: string;
  organizationTrail: boolean;
  multiRegion: boolean;
  homeRegion: string | null;
  dataEvents: boolean;
  selectors: unknown;
}

// --- get -------------------------------------------------------------------------------------

export async function getTrails(client: CloudTrailClient): Promise<TrailInfo[]> {
  const described = await client.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const out: TrailInfo[] = [];
  for (const t of described.trailList ?? []) {
    if (!t.TrailARN || !t.S3BucketName) continue;
    const selectors = await client.send(new GetEventSelectorsCommand({ TrailName: t.TrailARN }));
    out.push(
      transformTrail(
        {
          arn: t.TrailARN,
          name: t.Name ?? t.TrailARN,
          bucket: t.S3BucketName,
          prefix: t.S3KeyPrefix ?? '',
          organizationTrail: t.IsOrganizationTrail ?? false,
          multiRegion: t.IsMultiRegionTrail ?? false,
          homeRegion: t.HomeRegion ?? null,
        },
        {
          EventSelectors: selectors.EventSelectors,
          AdvancedEventSelectors: selectors.AdvancedEventSelectors,
        },
      ),
    );
  }
  return out;
}

// --- transform -------------------------------------------------------------------------------

interface SelectorsShape {
  EventSelectors?:
    | Array<{ DataResources?: Array<{ Type?: string; Values?: string[] }> }>
    | undefined;
  AdvancedEventSelectors?:
    | Array<{ FieldSelectors?: Array<{ Field?: string; Equals?: string[] }> }>
    | undefined;
}

/** Pure: a trail and its selectors; data events are on when any selector names data resources. */
export function transformTrail(
  trail: Omit<TrailInfo, 'dataEvents' | 'selectors'>,
  selectors: SelectorsShape,
): TrailInfo {
  const basic = (selectors.EventSelectors ?? []).some((s) => (s.DataResources ?? []).length > 0);
  const advanced = (selectors.AdvancedEventSelectors ?? []).some((s) =>
    (s.FieldSelectors ?? []).some(
      (f) => f.Field === 'eventCategory' && (f.Equals ?? []).includes('Data'),
    ),
  );
  return { ...trail, dataEvents: basic || advanced, selectors };
}
