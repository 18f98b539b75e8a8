// Starts the real `loopwise-connect demo` on a free loopback port with a fresh
// SQLite database, and drives its login, picker and consent pages the way a
// person's browser would: plain HTTP, cookies kept, redirects followed by hand.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
export const BIN = process.env.LOOPWISE_CONNECT_BIN ?? resolve(here, '../../target/debug/loopwise-connect')
export const PASSWORD = 'demo-password'

async function listenOn(port) {
  return new Promise((ok) => {
    const server = createServer()
    server.unref()
    server.on('error', () => ok(null))
    server.listen(port, '127.0.0.1', () => ok(server))
  })
}

/** A free port whose successor is free too: the demo runs the reference
 * resource server on the next port. */
async function freePortPair() {
  for (;;) {
    const first = await listenOn(0)
    const port = first.address().port
    const second = await listenOn(port + 1)
    await new Promise((r) => first.close(r))
    if (second) {
      await new Promise((r) => second.close(r))
      return port
    }
  }
}

async function answers(url) {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

export async function startDemo() {
  for (let attempt = 0; attempt < 10; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'connect-interop-'))
    const port = await freePortPair()
    const child = spawn(BIN, ['demo', '--listen', `127.0.0.1:${port}`, '--database-url', `sqlite://${join(dir, 'db')}`], {
      env: { ...process.env, RUST_LOG: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const stop = () => {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    }
    const deadline = Date.now() + 60_000
    let healthy = false
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answers(`http://127.0.0.1:${port}/healthz`)) {
        healthy = true
        break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    // The resource server binds before the server answers; if its port was
    // taken meanwhile, start over elsewhere.
    if (healthy && (await answers(`http://127.0.0.1:${port + 1}/.well-known/oauth-protected-resource/mcp`))) {
      return { port, school: `http://localhost:${port}`, platform: `http://127.0.0.1:${port}`, stop }
    }
    stop()
  }
  throw new Error('the demo server did not start')
}

/** A minimal browser: a cookie jar per origin and manual redirects. */
export class Browser {
  constructor() {
    this.cookies = new Map()
  }

  async request(url, options = {}) {
    const target = new URL(url)
    const jar = this.cookies.get(target.host) ?? new Map()
    const headers = { ...(options.headers ?? {}) }
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const response = await fetch(target, { ...options, headers, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const [name, ...value] = pair.split('=')
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()))
      if (expired) jar.delete(name.trim())
      else jar.set(name.trim(), value.join('=').trim())
    }
    this.cookies.set(target.host, jar)
    return response
  }

  async post(url, fields) {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })
  }
}

const unescape = (s) =>
  s.replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&#x2f;', '/').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')

export function hiddenInputs(html) {
  const fields = []
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields.push([unescape(match[1]), unescape(match[2])])
  }
  return fields
}

/**
 * Follows an authorization URL as `email`: logs in, picks `school` (a display
 * name) when a picker is shown, approves, and returns the redirect to the client.
 */
export async function authorizeInBrowser(authorizationUrl, email, { school, browser = new Browser() } = {}) {
  const origin = new URL(authorizationUrl).origin
  let response = await browser.request(authorizationUrl)
  for (let step = 0; step < 8; step++) {
    const location = response.headers.get('location')
    if (response.status === 302 || response.status === 303) {
      const next = new URL(location, origin)
      if (next.origin !== origin) return next
      if (next.pathname === '/oauth/login') {
        const page = await (await browser.request(next)).text()
        const fields = Object.fromEntries(hiddenInputs(page))
        response = await browser.post(`${origin}/oauth/login`, { ...fields, email, password: PASSWORD })
        continue
      }
      response = await browser.request(next)
      continue
    }
    const html = await response.text()
    if (response.status !== 200) throw new Error(`unexpected ${response.status}: ${html.slice(0, 200)}`)
    const choice = [...html.matchAll(/name="school_id" value="([^"]*)"[^>]*>([^<]*)</g)].find((m) => !school || m[2].includes(school))
    if (html.includes('name="school_id" value=') && choice && !html.includes('name="decision"')) {
      const params = new URLSearchParams(hiddenInputs(html))
      params.set('school_id', choice[1])
      response = await browser.request(`${origin}/oauth/authorize?${params}`)
      continue
    }
    const fields = hiddenInputs(html)
    fields.push(['decision', 'approve'])
    response = await browser.post(`${origin}/oauth/consent`, fields)
  }
  throw new Error('the authorization did not finish')
}
