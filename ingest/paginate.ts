/**
 * The one pagination helper: fetch a page with a token, read the next token from it, until
 * there is none. A token that repeats is an error, not an endless loop.
 */
export async function* paginate<Page>(
  fetchPage: (token: string | undefined) => Promise<Page>,
  nextToken: (page: Page) => string | undefined | null,
): AsyncGenerator<Page> {
  let token: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const page = await fetchPage(token);
    yield page;
    const next = nextToken(page) ?? undefined;
    if (!next) return;
    if (seen.has(next)) throw new Error(`pagination token repeated: ${next}`);
    seen.add(next);
    token = next;
  }
}

/** Collect every item of every page. */
export async function collectPages<Page, Item>(
  fetchPage: (token: string | undefined) => Promise<Page>,
  nextToken: (page: Page) => string | undefined | null,
  items: (page: Page) => Item[] | undefined,
): Promise<Item[]> {
  const out: Item[] = [];
  for await (const page of paginate(fetchPage, nextToken)) out.push(...(items(page) ?? []));
  return out;
}
