// A real OpenID Connect provider for bedside's tests (issue 19), from the npm package
// `oidc-provider`: authorization code with PKCE (S256), the device authorization grant
// (RFC 8628), refresh tokens, revocation, and JWT access tokens for one resource (the FHIR
// server, its `aud`). Started by tests/oidc.rs; `.ci/run` installs its one dependency.
//
// It listens on an ephemeral 127.0.0.1 port and prints one JSON line: {"issuer": URL}. It
// stops when its standard input closes (the test ended) or after ten minutes.
//
// Settings, from the environment:
// - OIDC_AUDIENCE: the resource its access tokens are for (required).
// - OIDC_ACCESS_TTL: access-token lifetime in seconds (default 300).
// - OIDC_ALG: RS256 (default) or ES256, how access tokens are signed.
// - OIDC_REFRESH_TTL: refresh-token lifetime in seconds (default 3600).
//
// Test-only routes, for what a hospital's provider does on its own schedule:
// - POST /test/rotate: new signing keys (the old ones are dropped from the JWKS).
//
// Users: any login name; the provider knows every one (bedside may not). The test plays the
// browser with devInteractions' login and consent forms.

import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const audience = process.env.OIDC_AUDIENCE;
if (!audience) {
  console.error('OIDC_AUDIENCE is required');
  process.exit(2);
}
const accessTtl = Number(process.env.OIDC_ACCESS_TTL || 300);
const alg = process.env.OIDC_ALG || 'RS256';
const refreshTtl = Number(process.env.OIDC_REFRESH_TTL || 3600);

function keys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const stamp = Date.now().toString(36);
  return [
    { ...rsa.export({ format: 'jwk' }), kid: `rsa-${stamp}`, use: 'sig', alg: 'RS256' },
    { ...ec.export({ format: 'jwk' }), kid: `ec-${stamp}`, use: 'sig', alg: 'ES256' },
  ];
}

const scopes = 'user/*.rs user/*.cruds user/*.read user/*.write';

function provider(issuer) {
  const oidc = new Provider(issuer, {
    clients: [{
      client_id: 'bedside',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    }],
    jwks: { keys: keys() },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'fhirUser', 'profile'],
    claims: {
      openid: ['sub'],
      fhirUser: ['fhirUser'],
      profile: ['name', 'preferred_username'],
    },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: id, preferred_username: id,
            fhirUser: `${audience.replace(/\/$/, '')}/Practitioner/${id}` };
        },
      };
    },
    async extraTokenClaims(ctx, token) {
      return token.kind === 'AccessToken' ? { preferred_username: token.accountId } : undefined;
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: scopes,
          audience: resource,
          accessTokenTTL: accessTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        }),
      },
    },
    ttl: { AccessToken: accessTtl, RefreshToken: refreshTtl, DeviceCode: 600 },
    issueRefreshToken: async (ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  });
  oidc.on('server_error', (ctx, err) => console.error('server_error', err));
  return oidc;
}

let current;
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/test/rotate') {
    current = provider(current.issuer);
    res.writeHead(204).end();
    return;
  }
  current.callback()(req, res);
});
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  current = provider(issuer);
  console.log(JSON.stringify({ issuer }));
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 10 * 60 * 1000).unref();
