/** Base URL as recorded: no user:password, no query string (keys hide in both). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    u.search = ''
    u.hash = ''
    return u.toString().replace(/\/+$/, '')
  } catch {
    return '(invalid URL)'
  }
}
