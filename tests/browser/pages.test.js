// Every page in both languages at phone (360 px) and desktop widths: each
// fits its width without scrolling sideways, has a language and labelled
// fields, and is photographed into docs/screenshots/ for docs/PAGES.md.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  DESKTOP,
  PASSWORD,
  PHONE,
  TEXT,
  authorizeUrl,
  launchChromium,
  logIn,
  pkce,
  screenshot,
  startDemo,
} from './harness.js'

let demo
let browser
// The registered address itself, so that the screenshots do not change
// with a port from run to run.
const redirectUri = 'http://127.0.0.1/callback'
before(async () => {
  demo = await startDemo()
  browser = await launchChromium()
})
after(async () => {
  await browser?.close()
  demo?.stop()
})

/**
 * Approves on the consent page, answering the browser's form post in its
 * place: the server's redirect to the client is read, not followed, since
 * nothing listens at the client's address.
 */
async function approve(page, text) {
  let location
  await page.route('**/oauth/consent', async (route) => {
    const response = await route.fetch({ maxRedirects: 0 })
    location = response.headers().location
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'redirected to the client' })
  })
  await page.getByRole('button', { name: text.approve, exact: true }).click()
  await page.waitForLoadState()
  await page.unroute('**/oauth/consent')
  assert.match(new URL(location).searchParams.get('code'), /^lwc_ac_/)
}

/**
 * Runs in the page: texts whose colour against their background is below the
 * WCAG 2 AA ratio (4.5:1, or 3:1 for large text). Backgrounds are the nearest
 * opaque ones; the pages use no images or gradients behind text.
 */
function lowContrastTexts() {
  const rgb = (css) => css.match(/[\d.]+/g).map(Number)
  const luminance = ([r, g, b]) => {
    const linear = (c) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
  }
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const [r, g, b, a = 1] = rgb(getComputedStyle(node).backgroundColor)
      if (a > 0) return [r, g, b]
    }
    return [255, 255, 255]
  }
  const low = []
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement
    if (!node.textContent.trim() || !el.getClientRects().length) continue
    const style = getComputedStyle(el)
    if (style.visibility === 'hidden') continue
    const [l1, l2] = [luminance(rgb(style.color)), luminance(background(el))].sort((a, b) => b - a)
    const ratio = (l1 + 0.05) / (l2 + 0.05)
    const size = parseFloat(style.fontSize)
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
    if (ratio < (large ? 3 : 4.5)) low.push(`${node.textContent.trim().slice(0, 30)} (${ratio.toFixed(2)})`)
  }
  return low
}

/** Checks what every page must do, then photographs it. */
async function check(page, name, width) {
  const facts = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    lang: document.documentElement.lang,
    unlabelled: [...document.querySelectorAll('input:not([type=hidden])')].filter((i) => !i.labels?.length).map((i) => i.name),
    external: [...document.querySelectorAll('[src], link[href]')].map((e) => e.getAttribute('src') ?? e.getAttribute('href')),
    scripts: document.scripts.length,
  }))
  const lowContrast = await page.evaluate(`(${lowContrastTexts})()`)
  assert.ok(facts.overflow <= 0, `${name} scrolls sideways by ${facts.overflow}px`)
  assert.ok(facts.lang, `${name} has a language`)
  assert.deepEqual(facts.unlabelled, [], `${name} has fields without a label`)
  assert.deepEqual(facts.external, [], `${name} loads nothing else`)
  assert.equal(facts.scripts, 0, `${name} has no script`)
  assert.deepEqual(lowContrast, [], `${name} has text below WCAG AA contrast`)
  await screenshot(page, `${name}-${facts.lang}-${width}`)
}

for (const locale of ['en', 'zh-TW']) {
  for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    describe(`pages in ${locale} at ${viewport.width} px`, () => {
      const text = TEXT[locale]
      const width = viewport.width

      it('school pages: login, consent, connected applications, denied, error, logged out', async () => {
        const context = await browser.newContext({ locale, viewport, deviceScaleFactor: 1 })
              const page = await context.newPage()
        const { challenge } = pkce()
        await page.goto(authorizeUrl(demo.school, { clientId: 'demo-quiz', redirectUri, scope: 'openid profile courses:read', challenge }))
        await check(page, 'login', width)
        await logIn(page, text, 'student@demo.test', PASSWORD)
        await check(page, 'consent', width)
        await approve(page, text)

        await page.goto(`${demo.school}/oauth/connected-apps`)
        await check(page, 'connected', width)

        // Claude Code is for school administrators; a student is told so.
        await page.goto(authorizeUrl(demo.school, { clientId: 'claude-code', redirectUri, scope: 'openid', challenge }))
        assert.equal(await page.locator('h1').innerText(), text.deniedTitle)
        await check(page, 'denied', width)

        await page.goto(authorizeUrl(demo.school, { clientId: 'no-such-app', redirectUri, scope: 'openid', challenge }))
        assert.equal(await page.locator('h1').innerText(), text.errorTitle)
        await check(page, 'error', width)

        await page.goto(`${demo.school}/oauth/connected-apps`)
        await page.getByRole('button', { name: text.logOut }).click()
        assert.equal(await page.locator('h1').innerText(), text.loggedOut)
        await check(page, 'logged-out', width)
        await context.close()
      })

      it('platform pages: school picker and consent for a platform application', async () => {
        const context = await browser.newContext({ locale, viewport, deviceScaleFactor: 1 })
        const page = await context.newPage()
        const { challenge } = pkce()
        await page.goto(
          authorizeUrl(demo.platform, {
            clientId: 'claude-code',
            redirectUri,
            scope: 'openid profile courses:read courses:write students:read',
            challenge,
          }),
        )
        await logIn(page, text, 'multi@demo.test', PASSWORD)
        await check(page, 'picker', width)
        await page.getByRole('button', { name: 'Other School' }).click()
        await check(page, 'consent-platform', width)
        await context.close()
      })
    })
  }
}
