// A real OpenID provider for the console's single sign-on tests: panva's oidc-provider
// (an OpenID-certified implementation) on 127.0.0.1, started by tests/sso/conftest.py.
//
// Start: `node provider.js`. It listens on a free 127.0.0.1 port and prints one JSON line,
// {"issuer": "http://127.0.0.1:PORT"}. The test then POSTs /__test/setup with
//   {"clients": [{client_id, client_secret, redirect_uris}], "users": {login: {password, claims}}}
// and the provider is built (the console's redirect URI needs the service's port, and the
// service's config needs the issuer: hence two steps). It exits when stdin closes, so it
// never outlives the test run.
//
// /__test/tamper {claim: value} makes the NEXT token response carry an ID token re-signed
// with the provider's own key and those claims changed (a wrong audience, another nonce;
// `exp` and `iat` in seconds from now: an expired token): a browser cannot ask a provider for those, a misbehaving provider or an
// attacker with a leaked token can. Everything else is the library's real behaviour:
// codes are single-use, PKCE is required, state and nonce are passed through untouched.
import { createServer } from 'node:http';
import { once } from 'node:events';

import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const server = createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const issuer = `http://127.0.0.1:${server.address().port}`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

let provider = null;
let handler = null;
let users = {};
let tamper = null;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

function loginForm(uid, error = '') {
  return page('Test provider · sign in', `
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="login">Username</label><input id="login" name="login" autofocus>
  <label for="password">Password</label><input id="password" name="password" type="password">
  <button type="submit" id="submit">Sign in</button>
  <p id="error" role="alert">${escape(error)}</p>
</form>`);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function build(setup) {
  users = setup.users || {};
  const p = new Provider(issuer, {
    clients: setup.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
    })),
    jwks: { keys: [signingJwk] },
    // every client must use PKCE (S256), not only public ones
    pkce: { required: () => true },
    // claims in the ID token itself, as Keycloak, Entra ID and Google put them
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
      roles: ['roles'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'roles'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const user = users[sub];
      if (!user) return undefined;
      return { accountId: sub, async claims() { return { sub, ...user.claims }; } };
    },
    // first-party client: consent is implied (what an organisation's own IdP does)
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups roles');
      await grant.save();
      return grant;
    },
    ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Test provider · error', `<pre id="error">${escape(JSON.stringify(out))}</pre>`);
    },
  });

  // the sign-in form of the interaction (login, then the implied consent)
  p.use(async (ctx, next) => {
    const m = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (!m) return next();
    const details = await p.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      if (details.prompt.name === 'consent') {
        const grant = await p.Grant.find(details.grantId)
          || new p.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        grant.addOIDCScope(details.params.scope);
        const grantId = await grant.save();
        return p.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
      ctx.type = 'html';
      ctx.body = loginForm(m[1]);
      return undefined;
    }
    if (ctx.method === 'POST' && m[2]) {
      const form = new URLSearchParams(await readBody(ctx.req));
      const login = form.get('login') || '';
      const user = users[login];
      if (!user || user.password !== form.get('password')) {
        ctx.type = 'html';
        ctx.body = loginForm(m[1], 'Wrong username or password');
        return undefined;
      }
      return p.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } },
        { mergeWithLastSubmission: false });
    }
    return next();
  });

  // the test's tamper hook: the next ID token gets the given claims, re-signed
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200 || !tamper || !ctx.body?.id_token) return;
    const change = tamper;
    tamper = null;
    const claims = { ...decodeJwt(ctx.body.id_token) };
    const now = Math.floor(Date.now() / 1000);
    for (const [name, value] of Object.entries(change)) {
      claims[name] = name === 'exp' || name === 'iat' ? now + value : value;
    }
    const { kid, alg } = decodeProtectedHeader(ctx.body.id_token);
    ctx.body = {
      ...ctx.body,
      id_token: await new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey),
    };
  });
  return p;
}

server.on('request', async (req, res) => {
  if (req.url.startsWith('/__test/')) {
    const body = JSON.parse((await readBody(req)) || '{}');
    if (req.url === '/__test/setup' && req.method === 'POST') {
      provider = build(body);
      handler = provider.callback();
    } else if (req.url === '/__test/tamper' && req.method === 'POST') {
      tamper = body;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  if (!provider) {
    res.writeHead(503).end('not set up yet');
    return;
  }
  handler(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
