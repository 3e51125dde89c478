// Types of `promptshelf/client` (docs/client.md).

/** A document as the read API returns it (`GET /v1/documents/{id}`). */
export interface ApiDocument {
  id: string;
  type: "persona" | "prompt_template";
  name: string;
  [key: string]: unknown;
}

/** Set on answers that came from `fallback` because the API could not be reached. */
export interface MaybeFallback {
  isFallback?: true;
}

export interface ListResult extends MaybeFallback {
  data: ApiDocument[];
  total: number;
  limit: number;
  offset: number;
  next_cursor: string | null;
}

export interface SearchResult extends MaybeFallback {
  hits: Array<{ id: string; [key: string]: unknown }>;
  total: number;
  [key: string]: unknown;
}

export interface RenderResult {
  id: string;
  messages: Array<{ role: string; content: unknown }>;
  /** Inputs the prompt does not declare (only present when there are some). */
  warnings?: string[];
}

/**
 * Prompt ids → `{inputs, outputs}` types. Empty here; the `.d.ts` that `promptshelf types`
 * (or `promptshelf build`) writes fills it in, and `render(id, inputs)` then checks each
 * call's inputs for that id at compile time. Ids it does not list take any inputs.
 */
export interface PromptRegistry {}

/** The inputs (and options) `render` takes for id `K`. */
export type ClientRenderArgs<K extends string> = K extends keyof PromptRegistry
  ? PromptRegistry[K] extends { inputs: infer I }
    ? {} extends I
      ? [inputs?: I, options?: { label?: string }]
      : [inputs: I, options?: { label?: string }]
    : [inputs?: Record<string, unknown>, options?: { label?: string }]
  : [inputs?: Record<string, unknown>, options?: { label?: string }];

/** Anything with `has`/`get`/`ids`/`search` like the package's `Shelf`. */
export interface ShelfLike {
  has(id: string): boolean;
  get(id: string): unknown;
  ids(): string[];
  search(q: string, options?: { limit?: number; offset?: number }): unknown;
}

export interface Fallback {
  /** Plain objects, tried first: an array of documents, or an object of id → document. */
  documents?: ApiDocument[] | Record<string, Omit<ApiDocument, "id"> & { id?: string }>;
  /** A `/v1/index` snapshot bundled with the app (bytes, or a function that returns them);
   * loaded into a `Shelf` of the `promptshelf` package the first time it is needed. */
  index?: Uint8Array | ArrayBuffer | (() => Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>);
  /** Your own loader of a Shelf, instead of `index` (e.g. a Shelf the page already holds). */
  shelf?: () => ShelfLike | Promise<ShelfLike>;
}

export interface ClientOptions {
  /** Where the API lives: `http://127.0.0.1:7410` or the worker's URL (no `/v1`). */
  baseUrl: string;
  /** The fetch to use (default: the global one). */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Milliseconds an answer is fresh; older ones are served at once and revalidated (default 60000). */
  ttl?: number;
  /** Milliseconds per attempt before giving up with a `timeout` error (default 10000). */
  timeout?: number;
  /** Extra attempts after a network error, timeout or 5xx; never after a 4xx (default 2). */
  retries?: number;
  /** Base of the jittered exponential backoff between attempts, in ms (default 200). */
  retryDelay?: number;
  /** Most answers kept in the cache; the oldest goes first (default 500). */
  maxEntries?: number;
  /** What to answer when the API cannot be reached and nothing is cached. */
  fallback?: Fallback;
}

export interface ChangeEvent {
  /** `sync`: a batch was committed; `reset`: refetch everything (history too old, or unknown ids). */
  type: "sync" | "reset";
  generation: number;
  upserted: string[];
  removed: string[];
  errors_added: Array<{ path: string; kind: string; line: number | null; column: number | null; message: string }>;
  errors_cleared: string[];
}

export interface Subscription {
  close(): void;
}

export interface PromptshelfClient {
  get(id: string, options?: { version?: string; label?: string }): Promise<ApiDocument & MaybeFallback>;
  list(query?: Record<string, string | number | string[] | undefined>): Promise<ListResult>;
  search(q: string, options?: Record<string, string | number | undefined>): Promise<SearchResult>;
  /** Typed per id by the `promptshelf types` declarations (`PromptRegistry`). */
  render<K extends string>(id: K, ...args: ClientRenderArgs<K>): Promise<RenderResult>;
  index(): Promise<Uint8Array & MaybeFallback>;
  /** Follows `GET /v1/events` (local server only); cached answers of changed documents are dropped first. */
  subscribe(onChange: (event: ChangeEvent) => void, options?: { onError?: (e: unknown) => void }): Subscription;
  /** Forgets cached answers: all, or those whose URL contains `match`. */
  clear(match?: string): void;
}

export class PromptshelfError extends Error {
  /** HTTP status; 0 when the API could not be reached. */
  status: number;
  /** The API's `error.code` (`not_found`, `invalid_parameter`, …), or `network`, `timeout`, `http_<status>`. */
  code: string;
  /** The API's whole `error` object (render errors add `line`/`column`). */
  body?: { code: string; message: string; [key: string]: unknown };
}

export function createClient(options: ClientOptions): PromptshelfClient;

export interface FollowOptions extends Omit<ClientOptions, "baseUrl"> {
  /** Called after the shelf is patched for an event. */
  onChange?: (event: ChangeEvent) => void;
  onError?: (error: unknown) => void;
}

/** Anything with the `Shelf` methods `follow` patches. */
export interface FollowedShelf {
  upsertDocument(doc: unknown): void;
  remove(id: string): boolean;
  replaceWith(bytes: Uint8Array | ArrayBuffer): void;
}

/** Keeps `shelf` equal to the local server's library (what `shelf.follow(baseUrl)` does). */
export function follow(shelf: FollowedShelf, baseUrl: string, options?: FollowOptions): Subscription;
