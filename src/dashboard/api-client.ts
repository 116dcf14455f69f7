import type {
  Actor,
  CancelOutcome,
  Lineage,
  LogStream,
  Overview,
  PipelineDefinition,
  ProductDetail,
  RetryOutcome,
  RunDetail,
  RunFilter,
  RunPage,
  RunRequestOutcome,
  Why
} from "./api-types.ts"
import { tokenStore, withAccessToken } from "./token.ts"

/*
 * Typed calls to the API of `ccat serve` (src/api/api.ts). Errors come back as
 * `{ _tag, code, message }`; they surface as ApiError with the server's message, which is
 * written for a person to act on.
 */

export const apiBase = "/api/v1"

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
    this.name = "ApiError"
  }
  get needsToken(): boolean {
    return this.status === 401
  }
}

const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === "AbortError"

export const isAborted = isAbort

const errorFromResponse = async (response: Response): Promise<ApiError> => {
  const text = await response.text().catch(() => "")
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; _tag?: unknown }
    const code = typeof body.code === "string" ? body.code : typeof body._tag === "string" ? body._tag : `http-${response.status}`
    const message = typeof body.message === "string" && body.message !== "" ? body.message : `${response.status} ${response.statusText}`
    return new ApiError(response.status, code, message)
  } catch {
    return new ApiError(response.status, `http-${response.status}`, `${response.status} ${response.statusText || "error"}`.trim())
  }
}

const request = async <A>(method: "GET" | "POST", path: string, options: { body?: unknown; signal?: AbortSignal } = {}): Promise<A> => {
  const headers: Record<string, string> = { accept: "application/json" }
  const token = tokenStore.get()
  if (token !== null) headers["authorization"] = `Bearer ${token}`
  if (options.body !== undefined) headers["content-type"] = "application/json"
  let response: Response
  try {
    response = await fetch(`${apiBase}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {})
    })
  } catch (e) {
    if (isAbort(e)) throw e
    throw new ApiError(0, "network", "The server did not answer: is `ccat serve` still running?")
  }
  if (!response.ok) throw await errorFromResponse(response)
  return (await response.json()) as A
}

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(key, String(value))
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

const segment = encodeURIComponent

export const api = {
  overview: (signal?: AbortSignal) => request<Overview>("GET", "/pipelines", { signal }),
  pipeline: (pipeline: string, signal?: AbortSignal) => request<PipelineDefinition>("GET", `/pipelines/${segment(pipeline)}`, { signal }),
  why: (pipeline: string, step: string, subGroup: string | undefined, signal?: AbortSignal) =>
    request<Why>("GET", `/pipelines/${segment(pipeline)}/steps/${segment(step)}/why${query({ subGroup })}`, { signal }),
  runs: (filter: RunFilter & { readonly limit?: number }, signal?: AbortSignal) =>
    request<RunPage>("GET", `/runs${query({ ...filter })}`, { signal }),
  run: (id: number, signal?: AbortSignal) => request<RunDetail>("GET", `/runs/${id}`, { signal }),
  product: (id: number, signal?: AbortSignal) => request<ProductDetail>("GET", `/products/${id}`, { signal }),
  lineage: (id: number, signal?: AbortSignal) => request<Lineage>("GET", `/products/${id}/lineage`, { signal }),
  whoami: (signal?: AbortSignal) => request<Actor>("GET", "/whoami", { signal }),
  cancel: (id: number) => request<CancelOutcome>("POST", `/runs/${id}/cancel`, { body: {} }),
  retry: (id: number) => request<RetryOutcome>("POST", `/runs/${id}/retry`),
  requestRun: (pipeline: string, body: { readonly step?: string; readonly force?: boolean }) =>
    request<RunRequestOutcome>("POST", `/pipelines/${segment(pipeline)}/run`, { body })
}

/** Where the browser fetches a product's file by itself (an <img>, a download link). */
export const productFileUrl = (id: number): string => withAccessToken(`${apiBase}/products/${id}/file`)

export const runEventsUrl = (): string => withAccessToken(`${apiBase}/events`)

export const logEventsUrl = (runId: number, stream: LogStream): string => withAccessToken(`${apiBase}/runs/${runId}/log/${stream}/events`)
