// Platform applications and connected applications in a real browser: the
// school picker at the platform address, and revoking an application on the
// connected-applications page, after which its token is refused.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  PASSWORD,
  TEXT,
  authorizeUrl,
  exchangeCode,
  launchChromium,
  logIn,
  pkce,
  redirectAfter,
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

async function newPage(locale) {
  const context = await browser.newContext({ locale, javaScriptEnabled: false })
  return context.newPage()
}

describe('school picker at the platform address', () => {
  for (const locale of ['en', 'zh-TW']) {
    it(`multi@demo.test picks the school Claude Code may reach (${locale})`, async () => {
      const text = TEXT[locale]
      const page = await newPage(locale)
      const { challenge } = pkce()
      await page.goto(
        authorizeUrl(demo.platform, { clientId: 'claude-code', redirectUri, scope: 'openid courses:read courses:write', state: 'pick', challenge }),
      )
      // The platform frames its own pages.
      assert.match(await page.locator('header').innerText(), /Loopwise/)
      await logIn(page, text, 'multi@demo.test', PASSWORD)
      assert.equal(await page.locator('h1').innerText(), text.pickerTitle)
      // multi is a student of demo and a manager of other; Claude Code is for
      // school administrators, so only Other School is offered.
      const choices = await page.locator('ul.choices button').allInnerTexts()
      assert.deepEqual(choices, ['Other School'])
      await page.getByRole('button', { name: 'Other School' }).click()

      assert.match(await page.locator('h1').innerText(), /Claude Code/)
      assert.match(await page.locator('header').innerText(), /Other School/)
      const redirect = await redirectAfter(page, redirectUri, () =>
        page.getByRole('button', { name: text.approve, exact: true }).click(),
      )
      assert.match(redirect.searchParams.get('code'), /^lwc_ac_/)
      assert.equal(redirect.searchParams.get('iss'), demo.platform)
      await page.context().close()
    })
  }
})

describe('connected applications', () => {
  it('revoking Demo Quiz makes its token useless at once', async () => {
    const text = TEXT.en
    const page = await newPage('en')
    const { verifier, challenge } = pkce()
    await page.goto(authorizeUrl(demo.school, { clientId: 'demo-quiz', redirectUri, scope: 'openid courses:read', challenge }))
    await logIn(page, text, 'student@demo.test', PASSWORD)
    const redirect = await redirectAfter(page, redirectUri, () =>
      page.getByRole('button', { name: text.approve, exact: true }).click(),
    )
    const tokens = await exchangeCode(demo.school, { code: redirect.searchParams.get('code'), redirectUri, verifier })
    assert.equal(tokens.status, 200)
    const accessToken = tokens.body.access_token

    // The school's courses API (the reference resource server) takes it.
    const courses = `http://127.0.0.1:${demo.port + 1}/api/courses`
    const call = () => fetch(courses, { headers: { authorization: `Bearer ${accessToken}` } })
    assert.equal((await call()).status, 200)
    assert.equal((await introspect(accessToken)).active, true)

    await page.goto(`${demo.school}/oauth/connected-apps`)
    await page.getByRole('button', { name: text.revokeQuiz }).click()
    assert.match(await page.getByRole('status').innerText(), new RegExp(text.revoked))
    assert.equal(await page.getByRole('button', { name: text.revokeQuiz }).count(), 0)

    assert.equal((await call()).status, 401)
    assert.deepEqual(await introspect(accessToken), { active: false })
    await page.context().close()
  })
})

/** Introspects as demo-dashboard, which may introspect in school demo. */
async function introspect(token) {
  const response = await fetch(`${demo.school}/api/oauth/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('demo-dashboard:demo-dashboard-secret').toString('base64')}`,
    },
    body: new URLSearchParams({ token }),
  })
  assert.equal(response.status, 200)
  return response.json()
}
