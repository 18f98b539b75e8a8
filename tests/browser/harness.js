// Headless Chromium (Debian's package) driven by playwright-core against the
// real `loopwise-connect demo`, which the interop harness starts on a free
// port pair with a fresh SQLite database.

import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export { startDemo, PASSWORD } from '../interop/harness.js'

const here = fileURLToPath(new URL('.', import.meta.url))
export const SCREENSHOTS = resolve(here, '../../docs/screenshots')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Widths pages are checked and photographed at. */
export const PHONE = { width: 360, height: 740 }
export const DESKTOP = { width: 1024, height: 768 }

/**
 * Starts Chromium. Playwright gives it a new, empty profile directory of its
 * own; the flags keep it from calling home, which this machine's closed
 * network refuses.
 */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  return { verifier, challenge }
}

/**
 * A stand-in for the client at a loopback redirect URI: it answers every
 * request with a plain page, so that the browser settles on the redirect and
 * the test can read the code from the address bar. No client logic runs.
 */
export async function standInClient() {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
    response.end('The application would take over here.')
  })
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
  return {
    redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
    close: () => {
      server.closeAllConnections()
      return new Promise((ok) => server.close(ok))
    },
  }
}

/** An authorization request URL at `origin`. */
export function authorizeUrl(origin, { clientId, redirectUri, scope, state = 'browser-state', challenge }) {
  const url = new URL('/oauth/authorize', origin)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  return url.toString()
}

/** Runs `action` and returns the address under `redirectUri` the browser was sent to. */
export async function redirectAfter(page, redirectUri, action) {
  await action()
  await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`), { timeout: 15_000 })
  return new URL(page.url())
}

/** Fills the login form (found by its labels) and submits it. */
export async function logIn(page, text, email, password) {
  await page.getByLabel(text.email, { exact: true }).fill(email)
  await page.getByLabel(text.password, { exact: true }).fill(password)
  await page.getByRole('button', { name: text.logIn, exact: true }).click()
}

/** Saves a screenshot of the whole page as docs/screenshots/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Exchanges a code of the public client demo-quiz for tokens. */
export async function exchangeCode(school, { code, redirectUri, verifier }) {
  const response = await fetch(`${school}/api/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'demo-quiz',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  })
  return { status: response.status, body: await response.json() }
}

/** What the pages say in each language, for finding buttons and checking text. */
export const TEXT = {
  en: {
    email: 'Email',
    password: 'Password',
    logIn: 'Log in',
    loginTitle: 'Log in to Demo School',
    consentTitle: 'Allow Demo Quiz to access Demo School?',
    approve: 'Approve',
    deny: 'Deny',
    loopback: 'That address is on this device.',
    scopeCoursesRead: "View the school's courses",
    groupCourses: 'Courses',
    registeredBySchool: 'Registered by',
    pickerTitle: 'Choose a school',
    revokeQuiz: 'Revoke access of Demo Quiz',
    revoked: 'Access revoked.',
    logOut: 'Log out',
    loggedOut: 'Logged out',
    deniedTitle: 'Claude Code is not available to you',
    errorTitle: 'This request cannot be completed',
    switchTo: 'English',
  },
  'zh-TW': {
    email: '電子郵件',
    password: '密碼',
    logIn: '登入',
    loginTitle: '登入 Demo School',
    consentTitle: '要允許 Demo Quiz 存取 Demo School 嗎？',
    approve: '允許',
    deny: '拒絕',
    loopback: '這個位址位於你自己的裝置上。',
    scopeCoursesRead: '檢視學校的課程',
    groupCourses: '課程',
    registeredBySchool: '註冊者',
    pickerTitle: '選擇學校',
    revokeQuiz: '撤銷 Demo Quiz 的存取權限',
    revoked: '已撤銷存取權限。',
    logOut: '登出',
    loggedOut: '已登出',
    deniedTitle: '你無法使用 Claude Code',
    errorTitle: '無法完成這個請求',
    switchTo: '繁體中文',
  },
}
