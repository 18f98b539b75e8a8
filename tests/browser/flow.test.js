// A person authorizes the school application demo-quiz in a real browser with
// scripts turned off: log in, read the consent page, approve or deny, in
// English and in Traditional Chinese; and the same with the keyboard alone.

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
  // demo-quiz registered http://127.0.0.1/callback; any port of a loopback
  // address matches it (RFC 8252 §7.3).
  client = await standInClient()
  redirectUri = client.redirectUri
})
after(async () => {
  await browser?.close()
  await client?.close()
  demo?.stop()
})

/** A browser with no cookies that prefers `locale` and runs no scripts. */
async function newPage(locale, options = {}) {
  const context = await browser.newContext({ locale, javaScriptEnabled: false, ...options })
  return context.newPage()
}

function quizRequest(state) {
  const { verifier, challenge } = pkce()
  const url = authorizeUrl(demo.school, { clientId: 'demo-quiz', redirectUri, scope: 'openid profile courses:read', state, challenge })
  return { url, verifier }
}

for (const locale of ['en', 'zh-TW']) {
  const text = TEXT[locale]
  describe(`demo-quiz in ${locale}`, () => {
    it('logs in, shows a consent page a person can judge, and approves into a code', async () => {
      const page = await newPage(locale)
      const { url, verifier } = quizRequest(`approve-${locale}`)
      await page.goto(url)
      assert.equal(new URL(page.url()).pathname, '/oauth/login')
      assert.equal(await page.getAttribute('html', 'lang'), locale)
      assert.equal(await page.locator('h1').innerText(), text.loginTitle)
      await logIn(page, text, 'student@demo.test', PASSWORD)

      // The consent page: who asks, who registered it, where the answer goes,
      // which school and account, and each scope grouped by family.
      assert.equal(await page.locator('h1').innerText(), text.consentTitle)
      const body = await page.locator('main').innerText()
      assert.match(body, /Demo Quiz/)
      assert.match(body, new RegExp(text.registeredBySchool))
      assert.match(body, /http:\/\/127\.0\.0\.1:\d+/)
      assert.match(body, /student@demo\.test/)
      assert.ok(body.includes(text.loopback), 'the loopback warning is shown')
      assert.ok(body.includes(text.scopeCoursesRead))
      assert.equal(await page.locator('h3', { hasText: text.groupCourses }).count(), 1)
      assert.equal(await page.locator('header').innerText().then((t) => t.includes('Demo School')), true)

      const redirect = await redirectAfter(page, redirectUri, () =>
        page.getByRole('button', { name: text.approve, exact: true }).click(),
      )
      assert.equal(redirect.searchParams.get('state'), `approve-${locale}`)
      assert.equal(redirect.searchParams.get('iss'), demo.school)
      const code = redirect.searchParams.get('code')
      assert.match(code, /^lwc_ac_/)
      const tokens = await exchangeCode(demo.school, { code, redirectUri, verifier })
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
      assert.equal(tokens.body.scope, 'openid profile courses:read')
      await page.context().close()
    })

    it('denies: the client is told access_denied and gets no code', async () => {
      const page = await newPage(locale)
      const { url } = quizRequest(`deny-${locale}`)
      await page.goto(url)
      await logIn(page, text, 'student@demo.test', PASSWORD)
      const redirect = await redirectAfter(page, redirectUri, () =>
        page.getByRole('button', { name: text.deny, exact: true }).click(),
      )
      assert.equal(redirect.searchParams.get('error'), 'access_denied')
      assert.equal(redirect.searchParams.get('state'), `deny-${locale}`)
      assert.equal(redirect.searchParams.get('code'), null)
      // The wire stays in the RFC's English whatever the page language.
      assert.equal(redirect.searchParams.get('error_description'), 'the user denied the request')
      await page.context().close()
    })
  })
}

describe('language switch', () => {
  it('switches without scripts, keeps the request, and is remembered', async () => {
    const page = await newPage('en-US')
    const { url } = quizRequest('switch')
    await page.goto(url)
    assert.equal(await page.locator('h1').innerText(), TEXT.en.loginTitle)
    const loginUrl = page.url()
    await page.getByRole('link', { name: TEXT['zh-TW'].switchTo }).click()
    await page.waitForURL(loginUrl)
    assert.equal(await page.locator('h1').innerText(), TEXT['zh-TW'].loginTitle)
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-TW')

    // The choice outlives the page: the consent page follows it, although
    // the browser still asks for English.
    await logIn(page, TEXT['zh-TW'], 'student@demo.test', PASSWORD)
    assert.equal(await page.locator('h1').innerText(), TEXT['zh-TW'].consentTitle)
    const consentUrl = page.url()
    assert.equal(new URL(consentUrl).searchParams.get('state'), 'switch')

    // And back, on the consent page, keeping every query parameter.
    await page.getByRole('link', { name: TEXT.en.switchTo }).click()
    await page.waitForURL(consentUrl)
    assert.equal(await page.locator('h1').innerText(), TEXT.en.consentTitle)
    await page.context().close()
  })

  it('refuses to send people elsewhere', async () => {
    const page = await newPage('en')
    await page.goto(`${demo.school}/oauth/language?lang=zh-TW&return_to=//evil.example/`)
    assert.equal(new URL(page.url()).origin, demo.school)
    await page.context().close()
  })
})

describe('keyboard only', () => {
  /** Presses Tab until the focused element satisfies `wanted`; checks that
   * every element reached shows a focus outline. */
  async function tabTo(page, wanted) {
    for (let presses = 0; presses < 40; presses++) {
      const focused = await page.evaluate(() => {
        const el = document.activeElement
        const style = getComputedStyle(el)
        return { tag: el.tagName, id: el.id, text: el.innerText ?? '', outline: style.outlineStyle, width: parseFloat(style.outlineWidth) }
      })
      if (focused.tag !== 'BODY') {
        assert.notEqual(focused.outline, 'none', `focus is visible on ${focused.tag} ${focused.id}${focused.text}`)
        assert.ok(focused.width >= 2, 'the focus outline is at least 2px wide')
      }
      if (wanted(focused)) return
      await page.keyboard.press('Tab')
    }
    assert.fail('the element was not reached with Tab')
  }

  for (const locale of ['en', 'zh-TW']) {
    it(`completes login and consent in ${locale}`, async () => {
      // Scripts stay on here only so that the test can ask where focus is.
      const page = await newPage(locale, { javaScriptEnabled: true })
      const text = TEXT[locale]
      const { url } = quizRequest(`keyboard-${locale}`)
      await page.goto(url)
      await tabTo(page, (f) => f.id === 'email')
      await page.keyboard.type('student@demo.test')
      await tabTo(page, (f) => f.id === 'password')
      await page.keyboard.type(PASSWORD)
      await page.keyboard.press('Enter')
      await page.waitForURL((u) => u.pathname === '/oauth/authorize')
      await tabTo(page, (f) => f.tag === 'BUTTON' && f.text.trim() === text.approve)
      const redirect = await redirectAfter(page, redirectUri, () => page.keyboard.press('Enter'))
      assert.match(redirect.searchParams.get('code'), /^lwc_ac_/)
      await page.context().close()
    })
  }
})
