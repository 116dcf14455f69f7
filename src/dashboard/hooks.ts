import { useEffect, useRef, useState } from "preact/hooks"
import { ApiError, isAborted } from "./api-client.ts"
import { onRunsChanged } from "./live-events.ts"
import { makeStore, useStore } from "./store.ts"

export interface Loaded<A> {
  readonly data: A | undefined
  readonly error: ApiError | undefined
  readonly loading: boolean
  readonly reload: () => void
}

const asApiError = (e: unknown): ApiError =>
  e instanceof ApiError ? e : new ApiError(0, "client", e instanceof Error ? e.message : String(e))

/**
 * Loads `load` for `key`; a new key starts afresh (no data of the last key on show), `reload`
 * keeps what is shown until the new answer arrives, so a live refresh does not flicker. An older
 * request still in flight is aborted.
 */
export const useApi = <A>(key: string, load: (signal: AbortSignal) => Promise<A>): Loaded<A> => {
  const [state, setState] = useState<{ key: string; data: A | undefined; error: ApiError | undefined; loading: boolean }>({
    key,
    data: undefined,
    error: undefined,
    loading: true
  })
  const [generation, setGeneration] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  useEffect(() => {
    const controller = new AbortController()
    setState((old) => (old.key === key ? { ...old, loading: true } : { key, data: undefined, error: undefined, loading: true }))
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ key, data, error: undefined, loading: false })
      },
      (e: unknown) => {
        if (controller.signal.aborted || isAborted(e)) return
        setState((old) => ({ key, data: old.key === key ? old.data : undefined, error: asApiError(e), loading: false }))
      }
    )
    return () => controller.abort()
  }, [key, generation])
  const reload = useRef(() => setGeneration((n) => n + 1)).current
  const current = state.key === key ? state : { data: undefined, error: undefined, loading: true }
  return { data: current.data, error: current.error, loading: current.loading, reload }
}

/** Calls `callback` after runs changed, at most once per `debounceMs`, while `enabled`. */
export const useRunsChanged = (callback: () => void, debounceMs: number, enabled = true): void => {
  const callbackRef = useRef(callback)
  callbackRef.current = callback
  useEffect(() => {
    if (!enabled) return
    let timer: number | undefined
    const unsubscribe = onRunsChanged(() => {
      if (timer !== undefined) return
      timer = window.setTimeout(() => {
        timer = undefined
        callbackRef.current()
      }, debounceMs)
    })
    return () => {
      unsubscribe()
      window.clearTimeout(timer)
    }
  }, [debounceMs, enabled])
}

// One clock for every relative time on the page ("3 min ago"), ticking twice a minute.
const nowStore = makeStore(Date.now())
window.setInterval(() => nowStore.set(Date.now()), 30_000)

export const useNow = (): number => useStore(nowStore)
