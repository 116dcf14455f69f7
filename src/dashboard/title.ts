import { useEffect } from "preact/hooks"

/** The tab's title names the view, so a row of tabs can be told apart. */
export const useTitle = (title: string): void => {
  useEffect(() => {
    document.title = `${title} · ccat`
  }, [title])
}
