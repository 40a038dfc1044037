/** Display helpers: every date is shown in UTC, as the API returns it. */

export function pct(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined) return '–';
  return `${value.toFixed(digits)}%`;
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return value.toLocaleString('en-US');
}

export function day(value: string | null | undefined): string {
  if (!value) return '–';
  return value.slice(0, 10);
}

export function dateTime(value: string | null | undefined): string {
  if (!value) return '–';
  return `${value.slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 d ago", "never". */
export function ago(value: string | null | undefined, now = Date.now()): string {
  if (!value) return 'never';
  const days = Math.floor((now - Date.parse(value)) / 86_400_000);
  if (days <= 0) return 'today';
  if (days === 1) return '1 day ago';
  return `${days} days ago`;
}

export function titleCase(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

export const LEVELS = ['LIST', 'READ', 'TAGGING', 'WRITE', 'IAM', 'ADMIN'] as const;
