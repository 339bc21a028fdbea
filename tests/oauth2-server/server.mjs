// @node-oauth/oauth2-server (an OAuth 2 server library written independently of tokenspec and
// of node-oidc-provider) behind a minimal HTTP front, for tokenspec's interoperability tests.
//
//   node server.mjs [port]
//
// Listens on the port given, or on one the system picks, and prints "ready <issuer>" once
// listening. It serves:
//   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
//   GET  /authorize                                 logs `user-1` in and redirects with a code
//   POST /token                                     the library's token endpoint
//   POST /revoke                                    RFC 7009 revocation (written here: the
//                                                   library has none)
//   GET  /test/counts                               how many token requests of each grant came
//   POST /test/revoke-all                           revokes every refresh token (an admin's act)
import http from 'node:http';
import OAuth2Server from '@node-oauth/oauth2-server';

const { Request, Response } = OAuth2Server;

const clients = [
  {
    id: 'std-client',
    secret: 'std-secret-0123456789',
    grants: ['authorization_code', 'refresh_token'],
    redirectUris: ['http://127.0.0.1/callback'],
  },
  {
    // The library reads the Basic header without decoding it (no form or percent decoding).
    id: 'spaced client',
    secret: 's3cr3t with spaces',
    grants: ['authorization_code', 'refresh_token'],
    redirectUris: ['http://127.0.0.1/callback'],
  },
];

const codes = new Map();
const accessTokens = new Map();
const refreshTokens = new Map();
const counts = {};

const model = {
  async getClient(id, secret) {
    const client = clients.find((c) => c.id === id);
    if (!client || (secret !== null && secret !== undefined && secret !== client.secret)) return null;
    return client;
  },
  async saveAuthorizationCode(code, client, user) {
    const saved = { ...code, client, user };
    codes.set(code.authorizationCode, saved);
    return saved;
  },
  async getAuthorizationCode(code) {
    return codes.get(code) || null;
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode);
  },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    accessTokens.set(token.accessToken, saved);
    if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
    return saved;
  },
  async getAccessToken(token) {
    return accessTokens.get(token) || null;
  },
  async getRefreshToken(token) {
    return refreshTokens.get(token) || null;
  },
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken);
  },
  async validateScope(user, client, scope) {
    return scope && scope.length ? scope : ['read'];
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: 600,
  refreshTokenLifetime: 86400,
  authorizationCodeLifetime: 60,
  allowEmptyState: false,
  alwaysIssueNewRefreshToken: true,
});

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
  const send = (status, headers, payload) => {
    res.writeHead(status, headers);
    res.end(payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload));
  };
  const request = new Request({
    headers: req.headers,
    method: req.method,
    query: Object.fromEntries(url.searchParams),
    body,
  });
  const response = new Response({ headers: {} });
  try {
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /.well-known/oauth-authorization-server':
        return send(200, { 'content-type': 'application/json' }, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          revocation_endpoint: `${issuer}/revoke`,
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          code_challenge_methods_supported: ['S256'],
        });
      case 'GET /authorize':
        await oauth.authorize(request, response, {
          authenticateHandler: { handle: () => ({ id: 'user-1' }) },
        });
        return send(response.status, response.headers);
      case 'POST /token':
        counts[body.grant_type] = (counts[body.grant_type] || 0) + 1;
        await oauth.token(request, response);
        return send(response.status, { ...response.headers, 'content-type': 'application/json' }, response.body);
      case 'POST /revoke': {
        // RFC 7009 §2.1: the client authenticates as at the token endpoint.
        let id = body.client_id;
        let secret = body.client_secret;
        const basic = /^Basic (.+)$/.exec(req.headers.authorization || '');
        if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString().split(/:(.*)/s);
        if (!(await model.getClient(id, secret ?? ''))) {
          return send(401, { 'content-type': 'application/json' }, { error: 'invalid_client' });
        }
        refreshTokens.delete(body.token);
        accessTokens.delete(body.token);
        return send(200, {});
      }
      case 'GET /test/counts':
        return send(200, { 'content-type': 'application/json' }, counts);
      case 'POST /test/revoke-all':
        refreshTokens.clear();
        return send(200, {});
      default:
        return send(404, {});
    }
  } catch (error) {
    if (response.body && response.body.error) {
      return send(response.status, { ...response.headers, 'content-type': 'application/json' }, response.body);
    }
    return send(error.code || 500, { 'content-type': 'application/json' }, {
      error: error.name || 'server_error',
      error_description: error.message,
    });
  }
});

await new Promise((resolve) => server.listen(Number(process.argv[2] || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
console.log(`ready ${issuer}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
