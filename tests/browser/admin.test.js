// A school owner administers Demo School in a real browser with scripts
// turned off: registers applications, sees a secret once, and revokes a grant
// from the grants page. The screenshots in docs/ADMIN-GUIDE.md come from here.

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
  standInClient,
  startDemo,
} from './harness.js'

let demo
let browser
let client
before(async () => {
  demo = await startDemo()
  browser = await launchChromium()
  client = await standInClient()
})
after(async () => {
  await browser?.close()
  await client?.close()
  demo?.stop()
})

async function introspect(token) {
  const response = await fetch(`${demo.school}/api/oauth/introspect`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('demo-dashboard:demo-dashboard-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }),
  })
  return response.json()
}

async function register(page, { name, audienceLabel, typeLabel, scopes }) {
  await page.goto(`${demo.school}/admin/applications`)
  await page.getByRole('link', { name: 'New application' }).click()
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByLabel('Redirect URIs').fill(client.redirectUri)
  await page.getByRole('radio', { name: audienceLabel }).check()
  await page.getByRole('radio', { name: typeLabel }).check()
  // The form starts with openid ticked; these come on top.
  for (const scope of scopes) {
    await page.getByRole('checkbox', { name: new RegExp(`^${scope}:`) }).check()
  }
}

describe('school administration pages', () => {
  it('registers a public org_admin app, shows a confidential secret once, and revokes a grant', async () => {
    const context = await browser.newContext({ locale: 'en', javaScriptEnabled: false, viewport: DESKTOP })
    const page = await context.newPage()

    // Administration asks for a login first, then comes back.
    await page.goto(`${demo.school}/admin`)
    assert.equal(new URL(page.url()).pathname, '/oauth/login')
    await logIn(page, TEXT.en, 'owner@demo.test', PASSWORD)
    await page.waitForURL((url) => url.pathname === '/admin/applications')
    assert.equal(await page.locator('h1').innerText(), 'Applications')
    await screenshot(page, 'admin-applications')

    // A public application for owners and managers, with two scopes.
    await register(page, {
      name: 'Timetable Planner',
      audienceLabel: 'Only owners and managers',
      typeLabel: /^Public/,
      scopes: ['courses:read', 'students:read'],
    })
    await screenshot(page, 'admin-new-application')
    await page.getByRole('button', { name: 'Create application' }).click()
    assert.equal(await page.locator('h1').innerText(), 'Application created')
    assert.match(await page.locator('main').innerText(), /public client: it has no secret/)
    const publicId = (await page.locator('#client-id').innerText()).trim()
    await page.getByRole('link', { name: 'Done' }).click()
    const details = await page.locator('main').innerText()
    assert.match(details, /public/)
    assert.equal(await page.getByRole('radio', { name: 'Only owners and managers' }).isChecked(), true)
    for (const scope of ['openid', 'courses:read', 'students:read']) {
      assert.equal(await page.getByRole('checkbox', { name: new RegExp(`^${scope}:`) }).isChecked(), true, scope)
    }
    assert.equal(await page.getByRole('checkbox', { name: /^courses:write:/ }).isChecked(), false)
    await screenshot(page, 'admin-application')

    // A confidential application: its secret is shown exactly once.
    await register(page, {
      name: 'Grade Sync',
      audienceLabel: /^Every member/,
      typeLabel: /^Confidential/,
      scopes: ['courses:read'],
    })
    await page.getByRole('button', { name: 'Create application' }).click()
    const secret = (await page.locator('#client-secret').innerText()).trim()
    assert.match(secret, /^lwc_cs_[A-Za-z0-9_-]{43}$/)
    await screenshot(page, 'admin-secret')
    const confidentialId = (await page.locator('#client-id').innerText()).trim()
    await page.getByRole('link', { name: 'Done' }).click()
    assert.equal(new URL(page.url()).pathname, `/admin/applications/${confidentialId}`)
    assert.ok(!(await page.content()).includes(secret), 'the secret is shown again')
    await page.goto(`${demo.school}/admin/applications`)
    assert.ok(!(await page.content()).includes(secret))
    assert.match(await page.locator('main').innerText(), /Timetable Planner/)

    // The owner authorizes the new public application, getting a grant and a token.
    const { verifier, challenge } = pkce()
    const url = authorizeUrl(demo.school, {
      clientId: publicId,
      redirectUri: client.redirectUri,
      scope: 'openid courses:read students:read',
      challenge,
    })
    await page.goto(url)
    const landed = await redirectAfter(page, client.redirectUri, () =>
      page.getByRole('button', { name: TEXT.en.approve, exact: true }).click(),
    )
    const code = landed.searchParams.get('code')
    assert.ok(code)
    const tokenResponse = await fetch(`${demo.school}/api/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: publicId,
        code,
        redirect_uri: client.redirectUri,
        code_verifier: verifier,
      }),
    })
    assert.equal(tokenResponse.status, 200)
    const { access_token: accessToken } = await tokenResponse.json()
    assert.equal((await introspect(accessToken)).active, true)

    // Revoking that grant from the grants page stops the token at once.
    await page.goto(`${demo.school}/admin/grants`)
    await screenshot(page, 'admin-grants')
    await page.getByRole('button', { name: 'Revoke Timetable Planner for owner@demo.test' }).click()
    assert.match(await page.getByRole('status').innerText(), /revoked/)
    assert.equal(await page.getByRole('button', { name: 'Revoke Timetable Planner for owner@demo.test' }).count(), 0)
    assert.equal((await introspect(accessToken)).active, false)

    await page.goto(`${demo.school}/admin/audit`)
    const log = await page.locator('main').innerText()
    for (const kind of ['application.created', 'grant.revoked', 'tokens.issued']) {
      assert.match(log, new RegExp(kind.replace('.', '\\.')))
    }
    assert.ok(!log.includes(secret))
    await screenshot(page, 'admin-audit')
    await context.close()
  })

  it('fits a phone screen and works with the keyboard alone', async () => {
    const context = await browser.newContext({ locale: 'en', javaScriptEnabled: false, viewport: PHONE })
    const page = await context.newPage()
    await page.goto(`${demo.school}/admin/applications`)
    await logIn(page, TEXT.en, 'owner@demo.test', PASSWORD)
    await page.waitForURL((url) => url.pathname === '/admin/applications')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`)
    await screenshot(page, 'admin-applications-phone')

    // Tab to "New application" and open it with Enter; the first field is
    // reachable and shows a focus ring.
    let reached = false
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === 'New application')
    }
    assert.ok(reached, 'New application is not reachable with Tab')
    await page.keyboard.press('Enter')
    await page.waitForURL((url) => url.pathname === '/admin/applications/new')
    let onName = false
    for (let i = 0; i < 20 && !onName; i++) {
      await page.keyboard.press('Tab')
      onName = await page.evaluate(() => document.activeElement?.id === 'name')
    }
    assert.ok(onName, 'the name field is not reachable with Tab')
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle)
    assert.notEqual(outline, 'none')
    await context.close()
  })

  it('refuses a student', async () => {
    const context = await browser.newContext({ locale: 'en', javaScriptEnabled: false })
    const page = await context.newPage()
    await page.goto(`${demo.school}/admin/applications`)
    await logIn(page, TEXT.en, 'student@demo.test', PASSWORD)
    await page.waitForURL((url) => url.pathname === '/admin/applications')
    assert.match(await page.locator('main').innerText(), /only owners and managers/i)
    await context.close()
  })
})
