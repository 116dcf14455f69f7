import { useEffect, useRef, useState } from "preact/hooks"
import { logEventsUrl } from "../api-client.ts"
import type { LogStream } from "../api-types.ts"
import { useStore } from "../store.ts"
import { tokenStore } from "../token.ts"

/*
 * A run's stdout or stderr, followed live: the server sends the text so far and then each
 * addition as `append` events, and `end` with the run's status once it finished. Each
 * (re)connection starts from the beginning of the file, so the text is reset on every `open`.
 */

// A browser tab is no place for a gigabyte of log: keep the end, which is where failures are.
const maxChars = 2_000_000

type Follow = { readonly state: "connecting" | "following" | "ended" | "unavailable"; readonly endStatus?: string }

const LogText = ({ runId, stream }: { readonly runId: number; readonly stream: LogStream }) => {
  const token = useStore(tokenStore)
  const [text, setText] = useState("")
  const [trimmed, setTrimmed] = useState(false)
  const [follow, setFollow] = useState<Follow>({ state: "connecting" })
  const pre = useRef<HTMLPreElement>(null)
  const stickToEnd = useRef(true)
  const [returns, setReturns] = useState(0)

  // As live-events.ts: a stream left open in the back/forward cache holds one of the browser's
  // few connections to the server. Closed on leaving; followed again from the start on return.
  useEffect(() => {
    const back = (event: PageTransitionEvent) => {
      if (event.persisted) setReturns((n) => n + 1)
    }
    window.addEventListener("pageshow", back)
    return () => window.removeEventListener("pageshow", back)
  }, [])

  useEffect(() => {
    setText("")
    setTrimmed(false)
    setFollow({ state: "connecting" })
    const source = new EventSource(logEventsUrl(runId, stream))
    source.addEventListener("open", () => {
      setText("")
      setFollow({ state: "following" })
    })
    source.addEventListener("append", (event) => {
      const { text: more } = JSON.parse((event as MessageEvent<string>).data) as { text: string }
      setText((old) => {
        const next = old + more
        if (next.length <= maxChars) return next
        setTrimmed(true)
        return next.slice(next.length - maxChars)
      })
    })
    source.addEventListener("end", (event) => {
      const { status } = JSON.parse((event as MessageEvent<string>).data) as { status: string }
      // Closed here, or the browser would reconnect and the server send the whole log again.
      source.close()
      setFollow({ state: "ended", endStatus: status })
    })
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) setFollow((old) => (old.state === "ended" ? old : { state: "unavailable" }))
    })
    const leave = () => source.close()
    window.addEventListener("pagehide", leave)
    return () => {
      window.removeEventListener("pagehide", leave)
      source.close()
    }
  }, [runId, stream, token, returns])

  useEffect(() => {
    const element = pre.current
    if (element !== null && stickToEnd.current) element.scrollTop = element.scrollHeight
  }, [text])

  return (
    <>
      <p class="muted log-state" data-testid="log-state" data-state={follow.state}>
        {follow.state === "connecting"
          ? "Connecting…"
          : follow.state === "following"
            ? "Following: new lines appear as the job writes them."
            : follow.state === "ended"
              ? `The run ended (${follow.endStatus ?? "?"}).`
              : "The log cannot be read now."}
        {trimmed ? " Only the last 2 MB are shown." : ""}
      </p>
      <pre
        ref={pre}
        class="log"
        data-testid="run-log"
        data-stream={stream}
        onScroll={(event) => {
          const element = event.currentTarget
          stickToEnd.current = element.scrollTop + element.clientHeight >= element.scrollHeight - 8
        }}
      >
        {text === "" && follow.state !== "connecting" ? <span class="muted">(empty)</span> : text}
      </pre>
    </>
  )
}

export const RunLog = ({ runId, hasFolder }: { readonly runId: number; readonly hasFolder: boolean }) => {
  const [stream, setStream] = useState<LogStream>("stdout")
  return (
    <section class="panel" data-testid="run-log-panel">
      <header class="panel-header">
        <h2>Log</h2>
        <div class="tabs" role="tablist">
          {(["stdout", "stderr"] as const).map((name) => (
            <button
              key={name}
              type="button"
              role="tab"
              aria-selected={stream === name}
              class={stream === name ? "tab tab-active" : "tab"}
              data-testid={`log-tab-${name}`}
              onClick={() => setStream(name)}
            >
              {name}
            </button>
          ))}
        </div>
      </header>
      {hasFolder ? (
        <LogText runId={runId} stream={stream} />
      ) : (
        <p class="muted" data-testid="log-state" data-state="none">
          No log yet: the run has no folder until it is staged.
        </p>
      )}
    </section>
  )
}
