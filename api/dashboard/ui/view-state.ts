/**
 * What the page shows — scope, filter, sort, page — kept in the query string, so a reload or
 * the back button keeps it and a link shows a colleague the same principals. (The token never
 * goes there: it lives in sessionStorage.)
 */

export interface ViewState {
  integrationId: string | null;
  assessmentId: string | null;
  filter: string;
  sort: string;
  order: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export const DEFAULT_VIEW: ViewState = {
  integrationId: null,
  assessmentId: null,
  filter: '',
  sort: 'risk',
  order: 'desc',
  offset: 0,
  limit: 50,
};

const LIMITS = [25, 50, 100, 200];

function count(text: string | null, fallback: number): number {
  const n = Number(text);
  return text !== null && Number.isInteger(n) && n >= 0 && n <= 10_000_000 ? n : fallback;
}

/** The view a query string asks for; anything unreadable falls back to the default (the server checks the rest). */
export function readView(search: string): ViewState {
  const q = new URLSearchParams(search);
  const limit = count(q.get('limit'), DEFAULT_VIEW.limit);
  return {
    integrationId: q.get('integration') || null,
    assessmentId: q.get('assessment') || null,
    filter: q.get('filter') ?? '',
    sort: q.get('sort') || DEFAULT_VIEW.sort,
    order: q.get('order') === 'asc' ? 'asc' : 'desc',
    offset: count(q.get('offset'), 0),
    limit: LIMITS.includes(limit) ? limit : DEFAULT_VIEW.limit,
  };
}

/** The query string of a view, without the values that are the default. */
export function writeView(view: ViewState): string {
  const q = new URLSearchParams();
  if (view.integrationId) q.set('integration', view.integrationId);
  if (view.assessmentId) q.set('assessment', view.assessmentId);
  if (view.filter) q.set('filter', view.filter);
  if (view.sort !== DEFAULT_VIEW.sort) q.set('sort', view.sort);
  if (view.order !== DEFAULT_VIEW.order) q.set('order', view.order);
  if (view.offset) q.set('offset', String(view.offset));
  if (view.limit !== DEFAULT_VIEW.limit) q.set('limit', String(view.limit));
  const text = q.toString();
  return text ? `?${text}` : '';
}
