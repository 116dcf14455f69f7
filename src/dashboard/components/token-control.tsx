import { useEffect, useState } from "preact/hooks"
import { api, ApiError } from "../api-client.ts"
import { useStore } from "../store.ts"
import { saveToken, tokenPanelOpen, tokenStore } from "../token.ts"

/*
 * The header's "Token" control: paste a token from `ccat token create <name>`; it is kept in this
 * browser and sent on every request. Saving checks it against /whoami and says who it is.
 */
export const TokenControl = () => {
  const token = useStore(tokenStore)
  const open = useStore(tokenPanelOpen)
  const [draft, setDraft] = useState("")
  const [who, setWho] = useState<{ ok: boolean; text: string } | null>(null)

  useEffect(() => {
    if (token === null) {
      setWho(null)
      return
    }
    const controller = new AbortController()
    api.whoami(controller.signal).then(
      (actor) => setWho({ ok: true, text: actor.actor }),
      (e: unknown) => {
        if (!controller.signal.aborted) setWho({ ok: false, text: e instanceof ApiError ? e.message : String(e) })
      }
    )
    return () => controller.abort()
  }, [token])

  return (
    <div class="token-control">
      <button
        type="button"
        class={`button-small ${token === null ? "" : "token-set"}`}
        data-testid="token-button"
        aria-expanded={open}
        onClick={() => tokenPanelOpen.set(!open)}
        title={who?.text ?? "No token: reads only, where the server allows them"}
      >
        {token === null ? "Token" : `Token: ${who?.ok === true ? who.text : "set"}`}
      </button>
      {open ? (
        <form
          class="token-panel"
          data-testid="token-panel"
          onSubmit={(event) => {
            event.preventDefault()
            saveToken(draft)
            setDraft("")
            tokenPanelOpen.set(false)
          }}
        >
          <label>
            Bearer token (<code>ccat token create NAME</code>)
            <input
              type="password"
              autoComplete="off"
              data-testid="token-input"
              value={draft}
              placeholder={token === null ? "paste a token" : "replace the token"}
              onInput={(event) => setDraft(event.currentTarget.value)}
            />
          </label>
          {who !== null ? (
            <p class={who.ok ? "muted" : "error-text"} data-testid="token-who">
              {who.ok ? `Acting as ${who.text}` : who.text}
            </p>
          ) : null}
          <div class="buttons">
            <button type="submit" data-testid="token-save" disabled={draft.trim() === ""}>
              Save
            </button>
            {token !== null ? (
              <button
                type="button"
                data-testid="token-clear"
                onClick={() => {
                  saveToken(null)
                  tokenPanelOpen.set(false)
                }}
              >
                Forget
              </button>
            ) : null}
            <button type="button" onClick={() => tokenPanelOpen.set(false)}>
              Close
            </button>
          </div>
        </form>
      ) : null}
    </div>
  )
}
