import { runEventsUrl } from "./api-client.ts"
import { tokenStore } from "./token.ts"

/*
 * One EventSource on /api/v1/events for the whole page, whatever the number of views that want
 * to hear of run changes: the server sends `runs` when any run changed status (at most once a
 * second). After a dropped connection comes back, listeners hear a change too, since events sent
 * while it was down are lost.
 */

type Listener = () => void

const listeners = new Set<Listener>()
let source: EventSource | null = null
let retry: number | undefined
// A refused stream (reads need a token the page lacks, a server restarting) is asked again
// later and later, up to a minute apart, not every few seconds.
let retryDelay = 5_000

const notify = () => {
  for (const listener of [...listeners]) listener()
}

const connect = () => {
  window.clearTimeout(retry)
  source?.close()
  let opened = false
  const events = new EventSource(runEventsUrl())
  source = events
  events.addEventListener("runs", notify)
  events.addEventListener("open", () => {
    retryDelay = 5_000
    if (opened) notify()
    opened = true
  })
  events.addEventListener("error", () => {
    // The browser retries a dropped stream by itself; a refused one (401, 503) it gives up on.
    if (events.readyState !== EventSource.CLOSED || source !== events) return
    source = null
    retry = window.setTimeout(() => {
      if (listeners.size > 0 && source === null) connect()
    }, retryDelay)
    retryDelay = Math.min(retryDelay * 2, 60_000)
  })
}

// A page left for another may be kept whole for the back button (the back/forward cache), its
// stream still open: the browser then runs out of connections to the server after a few pages.
// Closed on leaving, opened again on coming back, when listeners hear of the changes missed.
window.addEventListener("pagehide", () => {
  window.clearTimeout(retry)
  source?.close()
  source = null
})
window.addEventListener("pageshow", (event) => {
  if (!event.persisted || listeners.size === 0 || source !== null) return
  connect()
  notify()
})

// A new token may open a stream the last one could not.
tokenStore.subscribe(() => {
  if (source !== null || listeners.size > 0) connect()
})

/** Calls `listener` on every change of some run's status until the returned function is called. */
export const onRunsChanged = (listener: Listener): (() => void) => {
  listeners.add(listener)
  // The connection outlives a view: the next view subscribes a moment later.
  if (source === null) connect()
  return () => listeners.delete(listener)
}
