import { useState } from "preact/hooks"
import { ApiError } from "../api-client.ts"
import { useStore } from "../store.ts"
import { tokenPanelOpen, tokenStore } from "../token.ts"

/*
 * Buttons for the API's actions (cancel, retry, run): one at a time, each saying what the API
 * did or why it refused; a refusal for want of a token offers to set one.
 */

export interface Action {
  readonly label: string
  readonly testId: string
  readonly danger?: boolean
  readonly enabled: boolean
  /** Performs the action; resolves to the sentence to show. */
  readonly perform: () => Promise<string>
}

type Outcome = { readonly ok: boolean; readonly text: string; readonly needsToken?: boolean }

export const ActionBar = ({ actions, onDone }: { readonly actions: ReadonlyArray<Action>; readonly onDone: () => void }) => {
  const token = useStore(tokenStore)
  const [busy, setBusy] = useState(false)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const act = (action: Action) => {
    setBusy(true)
    setOutcome(null)
    action.perform().then(
      (text) => {
        setOutcome({ ok: true, text })
        setBusy(false)
        onDone()
      },
      (e: unknown) => {
        setOutcome(e instanceof ApiError ? { ok: false, text: e.message, needsToken: e.needsToken } : { ok: false, text: String(e) })
        setBusy(false)
      }
    )
  }
  return (
    <div class="actions">
      {actions.map((action) => (
        <button
          key={action.testId}
          type="button"
          class={action.danger === true ? "danger" : undefined}
          data-testid={action.testId}
          disabled={busy || !action.enabled}
          title={token === null ? "Needs a token" : undefined}
          onClick={() => act(action)}
        >
          {action.label}
        </button>
      ))}
      {outcome !== null ? (
        <span class={outcome.ok ? "action-ok" : "error-text"} role={outcome.ok ? "status" : "alert"} data-testid="action-message">
          {outcome.text}
          {outcome.needsToken === true ? (
            <button type="button" class="button-small" onClick={() => tokenPanelOpen.set(true)}>
              Set a token
            </button>
          ) : null}
        </span>
      ) : null}
    </div>
  )
}
