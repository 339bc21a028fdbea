// node-oidc-provider (OpenID Certified) on 127.0.0.1, for tokenspec's interoperability tests.
//
//   node server.mjs [port] [--interactive]
//   TLS_DIR=<dir> node server.mjs     (HTTPS with mutual TLS, see below)
//
// With --interactive, users log in and consent on the provider's own pages (its development
// interactions: any login and password), as a browser would; ACCESS_TOKEN_TTL (seconds, default
// 600) sets access tokens' lifetime. FAPI=2.0 or FAPI=1.0 enforces that FAPI profile (see
// `features.fapi` below); DPOP_NONCE=1 requires DPoP nonces.
//
// Listens on the port given, or on one the system picks (no other process can take it between
// choosing and listening), and prints "ready <issuer>" once listening. Users and consent are completed without a browser: an
// interaction route logs `user-1` in and grants what the client asked for. A few test-only
// routes under /test/ forge ID tokens the Rust tests must reject.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const interactive = process.argv.includes('--interactive');
const portArgument = process.argv.slice(2).find((a) => /^[0-9]+$/.test(a));
const accessTtl = Number(process.env.ACCESS_TOKEN_TTL || 600);
// With TLS_DIR, the provider serves HTTPS with the test's CA-issued server certificate
// (server.pem, server.key) and asks every client for a certificate, which it checks itself:
// ca.pem is the CA of `tls_client_auth` clients, self-signed.pem the certificate the
// `self_signed_tls_client_auth` client registered (RFC 8705).
const tlsDir = process.env.TLS_DIR;
const tlsFile = (name) => fs.readFileSync(`${tlsDir}/${name}`);
const server = tlsDir
  ? https.createServer({
    cert: tlsFile('server.pem'),
    key: tlsFile('server.key'),
    ca: [tlsFile('ca.pem')],
    requestCert: true,
    rejectUnauthorized: false,
  })
  : http.createServer();
await new Promise((resolve) => server.listen(Number(portArgument || 0), '127.0.0.1', resolve));
const issuer = `${tlsDir ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;

function jwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg}-${crypto.randomUUID()}`, alg, use: 'sig' };
}

const rsa = jwk('rsa', { modulusLength: 2048 }, 'RS256');
const ec = jwk('ec', { namedCurve: 'P-256' }, 'ES256');
// The key of PS256 ID tokens, which Open Finance Brasil's profile has servers sign with.
const ps = jwk('rsa', { modulusLength: 2048 }, 'PS256');
// Same kid as the real RSA key, not published: "a valid-looking token signed by another key".
const impostor = { ...jwk('rsa', { modulusLength: 2048 }, 'RS256'), kid: rsa.kid };

// The key pair of the client that authenticates with private_key_jwt: the provider knows the
// public half; the tests fetch the private half (PKCS#8 PEM) from /test/client-key.pem.
const clientKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const clientKid = `client-${crypto.randomUUID()}`;

export const clients = [
  {
    client_id: 'pkjwt-client',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: clientKid, alg: 'RS256', use: 'sig' }] },
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  },
  {
    client_id: 'secretjwt-client',
    client_secret: 'secret-jwt-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_jwt',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  },
  {
    client_id: 'basic-client',
    client_secret: 'basic-secret-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access api:read',
  },
  {
    // A client whose authorization requests must be pushed (RFC 9126): the authorization
    // endpoint refuses any other.
    client_id: 'par-client',
    client_secret: 'par-secret-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    require_pushed_authorization_requests: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access api:read',
  },
  {
    // A FAPI 2.0 client (with FAPI=2.0, the server enforces the profile): private_key_jwt
    // signed PS256 with the test's client key, pushed requests only, DPoP-bound tokens.
    client_id: 'fapi-client',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    id_token_signed_response_alg: 'ES256',
    jwks: { keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: clientKid, alg: 'PS256', use: 'sig' }] },
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access',
  },
  {
    // A public client of the device authorization grant (RFC 8628): a TV or a CLI, which shows
    // the user a code to enter on another device and polls.
    client_id: 'device-client',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    application_type: 'native',
    scope: 'openid offline_access',
  },
  {
    // A client as Open Finance Brasil registers them with a bank (under FAPI=1.0, the FAPI 1.0
    // Advanced profile its security profile builds on): private_key_jwt PS256, pushed and
    // signed (PS256) requests, `response_type=code id_token` with PS256 ID tokens.
    client_id: 'hybrid-client',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    id_token_signed_response_alg: 'PS256',
    jwks: { keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: clientKid, alg: 'PS256', use: 'sig' }] },
    require_pushed_authorization_requests: true,
    require_signed_request_object: true,
    request_object_signing_alg: 'PS256',
    grant_types: ['authorization_code', 'implicit', 'refresh_token'],
    response_types: ['code id_token'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access',
  },
  {
    // A client whose authorization requests must be signed request objects (RFC 9101), with
    // its key (PS256); pushed or by value.
    client_id: 'jar-client',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    jwks: { keys: [{ ...clientKey.publicKey.export({ format: 'jwk' }), kid: clientKid, alg: 'PS256', use: 'sig' }] },
    require_signed_request_object: true,
    request_object_signing_alg: 'PS256',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access',
  },
  {
    // A client whose access tokens must be DPoP-bound (RFC 9449): token requests without a
    // proof are refused.
    client_id: 'dpop-client',
    client_secret: 'dpop-secret-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access api:read',
  },
  {
    // A public client (no secret) with DPoP: its refresh tokens are bound to its DPoP key.
    client_id: 'dpop-public',
    token_endpoint_auth_method: 'none',
    dpop_bound_access_tokens: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
    application_type: 'native',
    scope: 'openid offline_access',
  },
  {
    // Basic credentials per RFC 6749 §2.3.1: id and secret form-urlencoded before base64.
    client_id: 'basic client:2/+&=',
    client_secret: 'b@sic:s3cret+/=& %-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  },
  {
    // An id and secret that need URL-encoding (RFC 6749 allows printable ASCII only).
    client_id: 'post client:1/+&=',
    client_secret: 'p@ss:w0rd+/=& %-0123456789abcdef0123456789abcdef',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  },
];

// RFC 8705 clients, over TLS only: one authenticated by a certificate of the test CA (by its
// subject), one by the self-signed certificate it registered; both get certificate-bound
// access tokens (`cnf.x5t#S256`).
const peerCertificate = (ctx) => {
  const peer = ctx.socket.getPeerCertificate && ctx.socket.getPeerCertificate();
  return peer && peer.raw ? new crypto.X509Certificate(peer.raw) : undefined;
};
if (tlsDir) {
  const selfSigned = new crypto.X509Certificate(tlsFile('self-signed.pem'));
  clients.push(
    {
      client_id: 'tls-client',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: 'CN=tls-client',
      tls_client_certificate_bound_access_tokens: true,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
    {
      client_id: 'self-signed-client',
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      jwks: {
        keys: [{
          ...selfSigned.publicKey.export({ format: 'jwk' }),
          x5c: [selfSigned.raw.toString('base64')],
          'x5t#S256': crypto.createHash('sha256').update(selfSigned.raw).digest('base64url'),
        }],
      },
      tls_client_certificate_bound_access_tokens: true,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
  );
}

const provider = new Provider(issuer, {
  clients,
  ...(tlsDir ? {
    clientAuthMethods: [
      'client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt',
      'tls_client_auth', 'self_signed_tls_client_auth',
    ],
  } : {}),
  jwks: { keys: [rsa, ec, ps] },
  features: {
    devInteractions: { enabled: interactive },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    requestObjects: { enabled: true },
    // The device authorization grant (RFC 8628): users approve at /device.
    deviceFlow: { enabled: true },
    // JWT-secured authorization responses (JARM): `response_mode=jwt` is honoured.
    jwtResponseModes: { enabled: true },
    // With FAPI=2.0, the FAPI 2.0 Security Profile: PKCE, client assertions whose `aud` is the
    // issuer, and pushed authorization requests for every client.
    // With FAPI=1.0, FAPI 1.0 Advanced ('1.0 Final'): `s_hash` in front-channel ID tokens,
    // PKCE on pushed requests, and `exp`, `nbf` and `aud` in request objects.
    fapi: {
      enabled: ['1.0', '2.0'].includes(process.env.FAPI),
      profile: process.env.FAPI === '1.0' ? '1.0 Final' : '2.0',
    },
    pushedAuthorizationRequests: { requirePushedAuthorizationRequests: process.env.FAPI === '2.0' },
    // With DPOP_NONCE set, every DPoP proof must carry the server's nonce (RFC 9449 §8).
    dPoP: {
      enabled: true,
      ...(process.env.DPOP_NONCE ? { nonceSecret: crypto.randomBytes(32), requireNonce: () => true } : {}),
    },
    mTLS: {
      enabled: Boolean(tlsDir),
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: peerCertificate,
      // The TLS layer checked the chain against ca.pem (it lets unverified certificates
      // through so that self-signed ones reach the provider).
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
        && peerCertificate(ctx)?.subject === expected,
    },
  },
  scopes: ['openid', 'offline_access', 'api:read'],
  claims: { openid: ['sub'], email: ['email'] },
  ttl: { AccessToken: accessTtl, ClientCredentials: 600, IdToken: 600, RefreshToken: 86400, AuthorizationCode: 60 },
  rotateRefreshToken: () => true,
  issueRefreshToken: (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  ...(interactive ? {} : { interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` } }),
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: `${sub}@example.test` }) }),
  cookies: { keys: ['interop-cookie-key'] },
});

// Test-only: how often the JWKS was fetched (for the rate-limited refresh on unknown key ids),
// and how many token requests of each grant type reached the provider, answered or refused.
let jwksFetches = 0;
const grants = {};
const countGrant = (ctx) => {
  const type = ctx.oidc && ctx.oidc.params && ctx.oidc.params.grant_type;
  if (type) grants[type] = (grants[type] || 0) + 1;
};
provider.on('grant.success', countGrant);
provider.on('grant.error', countGrant);
provider.use(async (ctx, next) => {
  if (ctx.path === '/jwks') jwksFetches += 1;
  if (ctx.path === '/test/jwks-count') {
    ctx.type = 'text/plain';
    ctx.body = String(jwksFetches);
    return;
  }
  if (ctx.path === '/test/client-key.pem') {
    ctx.type = 'text/plain';
    ctx.body = JSON.stringify({ kid: clientKid, pem: clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) });
    return;
  }
  if (ctx.path === '/test/counts') {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(grants);
    return;
  }
  await next();
});

// Interactions without a browser: log user-1 in, grant every requested scope.
provider.use(async (ctx, next) => {
  if (interactive || !ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let result;
  if (details.prompt.name === 'login') {
    result = { login: { accountId: 'user-1' } };
  } else {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
});

// Test-only: ID tokens for the negative cases, each wrong in exactly one way.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/test/forge/')) return next();
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, sub: 'user-1', aud: 'basic-client', iat: now, exp: now + 600, nonce: 'expected-nonce' };
  const sign = async (key, payload, header = {}) => new jose.SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(await jose.importJWK(key, key.alg));
  const which = ctx.path.slice('/test/forge/'.length);
  let token;
  switch (which) {
    case 'valid': token = await sign(rsa, claims); break;
    case 'valid-es256': token = await sign(ec, claims); break;
    case 'tampered': {
      const [h, , s] = (await sign(rsa, claims)).split('.');
      token = [h, Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url'), s].join('.');
      break;
    }
    case 'other-key': token = await sign(impostor, claims); break;
    case 'embedded-jwk': {
      const { kty, n, e } = impostor;
      token = await sign({ ...impostor, kid: 'not-published' }, claims, { jwk: { kty, n, e } });
      break;
    }
    case 'wrong-aud': token = await sign(rsa, { ...claims, aud: 'someone-else' }); break;
    case 'multi-aud-no-azp': token = await sign(rsa, { ...claims, aud: ['basic-client', 'someone-else'] }); break;
    case 'wrong-iss': token = await sign(rsa, { ...claims, iss: 'http://127.0.0.1:1' }); break;
    case 'expired': token = await sign(rsa, { ...claims, iat: now - 7200, exp: now - 3600 }); break;
    case 'issued-in-an-hour': token = await sign(rsa, { ...claims, iat: now + 3600, exp: now + 7200 }); break;
    case 'wrong-nonce': token = await sign(rsa, { ...claims, nonce: 'another-nonce' }); break;
    case 'alg-none': {
      const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
      break;
    }
    default: ctx.status = 404; return;
  }
  ctx.type = 'text/plain';
  ctx.body = token;
});

server.on('request', provider.callback());
console.log(`ready ${issuer}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
