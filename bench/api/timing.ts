import { performance } from "node:perf_hooks"
import type { Endpoint } from "./endpoints.ts"

// ---------------------------------------------------------------------------------------------
// Requests one at a time over HTTP (fetch, keep-alive), as a dashboard makes them: the time from
// sending the request to having read the whole answer.
// ---------------------------------------------------------------------------------------------

export const GOAL_P95_MS = 50

export interface Timed {
  readonly name: string
  readonly list: boolean
  readonly n: number
  readonly p50: number
  readonly p95: number
  readonly max: number
  /** The first wrong answer, if any (status or content). */
  readonly problem: string | null
  readonly example: string
}

/** The nearest-rank percentile of sorted times. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

export interface Answer {
  readonly ms: number
  readonly problem: string | null
}

/** One request: how long it took and what is wrong with its answer. */
export const request = async (baseUrl: string, path: string, endpoint: Endpoint, timeoutMs: number): Promise<Answer> => {
  const start = performance.now()
  try {
    const response = await fetch(baseUrl + path, { signal: AbortSignal.timeout(timeoutMs) })
    const text = await response.text()
    const ms = performance.now() - start
    if (response.status !== 200) return { ms, problem: `${path}: HTTP ${response.status} ${text.slice(0, 300)}` }
    const said = endpoint.check(JSON.parse(text) as unknown, path)
    return { ms, problem: said === null ? null : `${path}: ${said}` }
  } catch (e) {
    return { ms: performance.now() - start, problem: `${path}: ${e instanceof Error ? e.message : String(e)}` }
  }
}

/** `warmup` untimed requests, then `n` timed ones, each with the path the endpoint draws next. */
export const timeEndpoint = async (
  baseUrl: string,
  endpoint: Endpoint,
  random: () => number,
  options: { readonly n: number; readonly warmup: number; readonly timeoutMs: number }
): Promise<Timed> => {
  let problem: string | null = null
  let example = ""
  for (let i = 0; i < options.warmup; i++) {
    const answer = await request(baseUrl, endpoint.path(random), endpoint, options.timeoutMs)
    problem ??= answer.problem
  }
  const times: Array<number> = []
  for (let i = 0; i < options.n; i++) {
    const path = endpoint.path(random)
    if (i === 0) example = path
    const answer = await request(baseUrl, path, endpoint, options.timeoutMs)
    problem ??= answer.problem
    times.push(answer.ms)
  }
  times.sort((a, b) => a - b)
  return {
    name: endpoint.name,
    list: endpoint.list,
    n: times.length,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    max: times.at(-1) ?? Number.NaN,
    problem,
    example
  }
}
