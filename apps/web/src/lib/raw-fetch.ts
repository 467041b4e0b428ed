// Node's own fetch, not Next's patched one: the patch tees response bodies for its data cache, so a
// cancelled body never settles and a long server-sent event stream would be buffered a second time.
// Every call to the API from this server is uncached by design.
export function rawFetch(input: string, init?: RequestInit): Promise<Response> {
  const f = globalThis.fetch as typeof fetch & { _nextOriginalFetch?: typeof fetch };
  return (f._nextOriginalFetch ?? f)(input, init);
}
