/*
 * A value the whole page shares (the token, the location, whether the token panel is open),
 * with a hook that re-renders a component when it changes. Preact core has no external-store
 * hook; compat's would add a layer for a dozen lines.
 */
import { useEffect, useState } from "preact/hooks"

export interface Store<A> {
  readonly get: () => A
  readonly set: (value: A) => void
  readonly subscribe: (listener: (value: A) => void) => () => void
}

export const makeStore = <A>(initial: A): Store<A> => {
  let value = initial
  const listeners = new Set<(value: A) => void>()
  return {
    get: () => value,
    set: (next) => {
      if (Object.is(next, value)) return
      value = next
      for (const listener of [...listeners]) listener(next)
    },
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
}

export const useStore = <A>(store: Store<A>): A => {
  const [value, setValue] = useState(store.get)
  useEffect(() => {
    // The store may have changed between the render and this effect.
    setValue(() => store.get())
    return store.subscribe((next) => setValue(() => next))
  }, [store])
  return value
}
