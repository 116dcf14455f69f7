import { makeStore } from "./store.ts"

/*
 * The bearer token an operator pasted in the header (`ccat token create <name>`), kept in this
 * browser's localStorage. Every request carries it once set; the panel opens itself when a read
 * comes back 401 on a server that requires tokens for reads.
 */

const storageKey = "ccat.token"

const readStoredToken = (): string | null => {
  try {
    const stored = window.localStorage.getItem(storageKey)
    return stored === null || stored === "" ? null : stored
  } catch {
    // Storage can be disabled (privacy settings): the token then lasts until the page closes.
    return null
  }
}

export const tokenStore = makeStore<string | null>(readStoredToken())

export const tokenPanelOpen = makeStore(false)

export const saveToken = (token: string | null): void => {
  const value = token === null || token.trim() === "" ? null : token.trim()
  try {
    if (value === null) window.localStorage.removeItem(storageKey)
    else window.localStorage.setItem(storageKey, value)
  } catch {
    // See readStoredToken.
  }
  tokenStore.set(value)
}

/**
 * An EventSource, an <img> or a download link cannot send headers: the server accepts the
 * token as `access_token` in the query on those endpoints instead.
 */
export const withAccessToken = (url: string): string => {
  const token = tokenStore.get()
  if (token === null) return url
  return `${url}${url.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(token)}`
}
