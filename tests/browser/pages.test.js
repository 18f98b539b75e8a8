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
  redirectAfter,
  screenshot,
  startDemo,
  standInClient,
} from './harness.js'

let demo
let browser
let client
let redirectUri
before(async () => {
  demo = await startDemo()
  browser = await launchChromium()
  client = await standInClient()
  redirectUri = client.redirectUri
})
after(async () => {
  await browser?.close()
  await client?.close()
  demo?.stop()
})

/** Checks what every page must do, then photographs it. */
async function check(page, name, width) {
  const facts = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    lang: document.documentElement.lang,
    unlabelled: [...document.querySelectorAll('input:not([type=hidden])')].filter((i) => !i.labels?.length).map((i) => i.name),
    external: [...document.querySelectorAll('[src], link[href]')].map((e) => e.getAttribute('src') ?? e.getAttribute('href')),
    scripts: document.scripts.length,
  }))
  assert.ok(facts.overflow <= 0, `${name} scrolls sideways by ${facts.overflow}px`)
  assert.ok(facts.lang, `${name} has a language`)
  assert.deepEqual(facts.unlabelled, [], `${name} has fields without a label`)
  assert.deepEqual(facts.external, [], `${name} loads nothing else`)
  assert.equal(facts.scripts, 0, `${name} has no script`)
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
        await redirectAfter(page, redirectUri, () => page.getByRole('button', { name: text.approve, exact: true }).click())

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
