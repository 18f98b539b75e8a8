// The MCP TypeScript SDK against the reference MCP endpoint of school demo:
// a 401 leads it through protected resource metadata to the school's
// authorization server, where it registers itself, sends the person through
// login and consent, and gets a token bound to the MCP endpoint.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  UnauthorizedError,
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { authorizeInBrowser, startDemo } from './harness.js'

let demo
before(async () => {
  demo = await startDemo()
})
after(() => demo?.stop())

/** Keeps what the SDK asks to keep, in memory, as a real client would on disk. */
class MemoryProvider {
  constructor() {
    this.information = undefined
    this.savedTokens = undefined
    this.verifier = undefined
    this.authorizationUrl = undefined
  }
  get redirectUrl() {
    return 'http://127.0.0.1:33418/callback'
  }
  get clientMetadata() {
    return {
      client_name: 'MCP interop test',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'courses:read',
    }
  }
  clientInformation() {
    return this.information
  }
  saveClientInformation(information) {
    this.information = information
  }
  tokens() {
    return this.savedTokens
  }
  saveTokens(tokens) {
    this.savedTokens = tokens
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier
  }
  codeVerifier() {
    return this.verifier
  }
}

describe('MCP TypeScript SDK', () => {
  it('discovers, registers, authorizes, lists tools and refreshes', async () => {
    const mcpUrl = new URL(`http://localhost:${demo.port + 1}/mcp`)
    const provider = new MemoryProvider()

    const first = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await assert.rejects(first.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })), UnauthorizedError)
    assert.ok(provider.information?.client_id, 'the SDK registered itself dynamically')
    assert.ok(provider.authorizationUrl, 'the SDK asked to send the person to authorize')
    assert.equal(provider.authorizationUrl.origin, demo.school, "the school's authorization server")
    assert.equal(provider.authorizationUrl.searchParams.get('resource'), mcpUrl.href)
    assert.equal(provider.authorizationUrl.searchParams.get('code_challenge_method'), 'S256')

    const callback = await authorizeInBrowser(provider.authorizationUrl.href, 'owner@demo.test')
    assert.equal(callback.searchParams.get('iss'), demo.school)
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
    await transport.finishAuth(callback.searchParams.get('code'))
    assert.ok(provider.savedTokens?.access_token)

    const client = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
    const { tools } = await client.listTools()
    assert.ok(tools.some((tool) => tool.name === 'list_courses'))
    const result = await client.callTool({ name: 'list_courses', arguments: {} })
    assert.match(result.content[0].text, /Introduction to Programming/)
    await client.close()

    const metadata = await discoverAuthorizationServerMetadata(new URL(demo.school))
    const refreshed = await refreshAuthorization(demo.school, {
      metadata,
      clientInformation: provider.information,
      refreshToken: provider.savedTokens.refresh_token,
      resource: mcpUrl,
    })
    assert.ok(refreshed.access_token)
    assert.notEqual(refreshed.access_token, provider.savedTokens.access_token)
  })

  it('uses a client ID metadata document instead of registering', async () => {
    const mcpUrl = new URL(`http://localhost:${demo.port + 1}/mcp`)
    const provider = new MemoryProvider()
    provider.clientMetadataUrl = 'https://mcp-client.example/loopwise/client.json'
    const client = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await assert.rejects(client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })), UnauthorizedError)
    assert.equal(provider.authorizationUrl.searchParams.get('client_id'), provider.clientMetadataUrl)
    const callback = await authorizeInBrowser(provider.authorizationUrl.href, 'owner@demo.test')
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
    await transport.finishAuth(callback.searchParams.get('code'))
    const connected = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await connected.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
    const { tools } = await connected.listTools()
    assert.ok(tools.some((tool) => tool.name === 'list_courses'))
    await connected.close()
  })

  it('signs in at the platform host and picks the school', async () => {
    const mcpUrl = new URL(`http://localhost:${demo.port + 1}/platform/mcp`)
    const provider = new MemoryProvider()
    const client = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await assert.rejects(client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })), UnauthorizedError)
    assert.equal(provider.authorizationUrl.origin, demo.platform, 'the platform issuer')
    const callback = await authorizeInBrowser(provider.authorizationUrl.href, 'owner@demo.test', { school: 'Demo School' })
    assert.equal(callback.searchParams.get('iss'), demo.platform)
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })
    await transport.finishAuth(callback.searchParams.get('code'))
    const connected = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await connected.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))
    const result = await connected.callTool({ name: 'list_courses', arguments: {} })
    assert.match(result.content[0].text, /Data Structures/)
    await connected.close()
    const metadata = await discoverAuthorizationServerMetadata(new URL(demo.platform))
    const refreshed = await refreshAuthorization(demo.platform, {
      metadata,
      clientInformation: provider.information,
      refreshToken: provider.savedTokens.refresh_token,
      resource: mcpUrl,
    })
    assert.ok(refreshed.access_token)
  })

  it('is refused by the MCP endpoint with a student token (audience org_admin)', async () => {
    const provider = new MemoryProvider()
    const mcpUrl = new URL(`http://localhost:${demo.port + 1}/mcp`)
    const client = new Client({ name: 'loopwise-interop', version: '1.0.0' })
    await assert.rejects(client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider })), UnauthorizedError)
    await assert.rejects(authorizeInBrowser(provider.authorizationUrl.href, 'student@demo.test'), /unexpected 403/)
  })
})
