// openid-client, a certified OpenID Connect relying party, against the real
// server: once at a school host and once at the platform host with the picker.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as oidc from 'openid-client'
import { authorizeInBrowser, startDemo } from './harness.js'

let demo
before(async () => {
  demo = await startDemo()
})
after(() => demo?.stop())

const insecure = { execute: [oidc.allowInsecureRequests] }

async function runFlow(config, { redirectUri, scope, email, school, resource }) {
  const verifier = oidc.randomPKCECodeVerifier()
  const nonce = oidc.randomNonce()
  const state = oidc.randomState()
  const parameters = {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  }
  if (resource) parameters.resource = resource
  const url = oidc.buildAuthorizationUrl(config, parameters)
  const callback = await authorizeInBrowser(url.href, email, { school })
  return { callback, verifier, nonce, state }
}

describe('openid-client at a school host', () => {
  it('discovers, authorizes with PKCE, nonce and resource, validates the ID token, and manages tokens', async () => {
    const config = await oidc.discovery(new URL(demo.school), 'demo-dashboard', 'demo-dashboard-secret', undefined, insecure)
    assert.equal(config.serverMetadata().issuer, demo.school)
    const resource = `http://localhost:${demo.port + 1}/mcp`
    const flow = await runFlow(config, {
      redirectUri: 'http://127.0.0.1:9000/callback',
      scope: 'openid profile email courses:read',
      email: 'student@demo.test',
      resource,
    })
    assert.equal(flow.callback.searchParams.get('iss'), demo.school)
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedNonce: flow.nonce,
      expectedState: flow.state,
    })
    const claims = tokens.claims()
    assert.equal(claims.iss, demo.school)
    assert.equal(claims.aud, 'demo-dashboard')
    assert.equal(claims.nonce, flow.nonce)
    assert.equal(tokens.school_subdomain, 'demo')
    assert.equal(claims.school_id, tokens.school_id)

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)
    assert.equal(userinfo.email, 'student@demo.test')
    assert.equal(userinfo.name, 'Sam Student')

    const introspection = await oidc.tokenIntrospection(config, tokens.access_token)
    assert.equal(introspection.active, true)
    assert.equal(introspection.aud, resource)
    assert.equal(introspection.school_id, tokens.school_id)

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token)
    assert.notEqual(refreshed.access_token, tokens.access_token)
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (error) => error.error === 'invalid_grant')

    // Reuse revoked the family; a new flow shows revocation on its own.
    const second = await runFlow(config, { redirectUri: 'http://127.0.0.1:9000/callback', scope: 'openid', email: 'student@demo.test' })
    const fresh = await oidc.authorizationCodeGrant(config, second.callback, {
      pkceCodeVerifier: second.verifier,
      expectedNonce: second.nonce,
      expectedState: second.state,
    })
    await oidc.tokenRevocation(config, fresh.refresh_token)
    assert.equal((await oidc.tokenIntrospection(config, fresh.access_token)).active, false)
  })

  it('rejects a response whose iss was altered', async () => {
    const config = await oidc.discovery(new URL(demo.school), 'demo-dashboard', 'demo-dashboard-secret', undefined, insecure)
    const flow = await runFlow(config, { redirectUri: 'http://127.0.0.1:9000/callback', scope: 'openid', email: 'student@demo.test' })
    const tampered = new URL(flow.callback)
    tampered.searchParams.set('iss', `http://other.localhost:${demo.port}`)
    await assert.rejects(
      oidc.authorizationCodeGrant(config, tampered, { pkceCodeVerifier: flow.verifier, expectedNonce: flow.nonce, expectedState: flow.state }),
      (error) => error.code === 'OAUTH_INVALID_RESPONSE' && /"iss"/.test(String(error.cause?.message ?? error.cause)),
    )
  })
})

describe('openid-client at the platform host', () => {
  it('authorizes claude-code for the school picked in the picker', async () => {
    const config = await oidc.discovery(new URL(demo.platform), 'claude-code', undefined, oidc.None(), insecure)
    assert.equal(config.serverMetadata().issuer, demo.platform)
    const flow = await runFlow(config, {
      redirectUri: 'http://127.0.0.1:33418/callback',
      scope: 'openid courses:read',
      email: 'multi@demo.test',
      school: 'Other School',
    })
    assert.equal(flow.callback.searchParams.get('iss'), demo.platform)
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedNonce: flow.nonce,
      expectedState: flow.state,
    })
    assert.equal(tokens.school_subdomain, 'other')
    assert.equal(tokens.claims().iss, demo.platform)
    assert.equal(tokens.claims().school_id, tokens.school_id)
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub)
    assert.equal(userinfo.school_id, tokens.school_id)
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token)
    assert.equal(refreshed.school_subdomain, 'other')
    await oidc.tokenRevocation(config, refreshed.refresh_token)
    await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (error) => error.error === 'invalid_grant')
  })
})
