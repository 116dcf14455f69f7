import type { ApiError } from "../api-client.ts"
import { tokenPanelOpen, tokenStore } from "../token.ts"
import { useStore } from "../store.ts"

/** What the API said went wrong; on a 401, the way to give it a token. */
export const ErrorNotice = ({ error }: { readonly error: ApiError }) => {
  const token = useStore(tokenStore)
  return (
    <div class="notice notice-error" role="alert" data-testid="api-error" data-code={error.code}>
      <span>{error.message}</span>
      {error.needsToken ? (
        <button type="button" class="button-small" data-testid="set-token-prompt" onClick={() => tokenPanelOpen.set(true)}>
          {token === null ? "Set a token" : "Change the token"}
        </button>
      ) : null}
    </div>
  )
}

export const Loading = () => (
  <p class="muted" data-testid="loading">
    Loading…
  </p>
)
