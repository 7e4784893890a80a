// A real OpenID provider for the portal's single sign-on tests, on loopback only.
//
//   node provider.js PORT CLIENTS_JSON
//
// CLIENTS_JSON lists the registered clients ({client_id, client_secret, redirect_uris}).
// Accounts need no set-up: the account id typed on the provider's own sign-in page is the
// user's e-mail (devInteractions, the package's built-in sign-in and consent pages).
//
// Two test-only switches make the provider misbehave the way a test needs it to:
// - POST /__test__/tamper with JSON claims to overwrite in the next ID tokens (re-signed with
//   the provider's own key, so only those claims are wrong), e.g. another audience;
// - POST /__test__/account with {"set": {claims}, "remove": [names]} to change what every
//   account says about itself (in ID tokens and UserInfo alike), e.g. email_verified "false".
// DELETE /__test__/tamper makes it behave again. Everything else is the package, unmodified.
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3]);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

let tamper = null;
let account = null;

async function readJson(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({ ...client, grant_types: ['authorization_code'], response_types: ['code'] })),
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['test-only-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, email: id, email_verified: !id.includes('+unverified') };
        if (account) {
          Object.assign(claims, account.set || {});
          for (const name of account.remove || []) delete claims[name];
        }
        return claims;
      },
    };
  },
});

async function resign(idToken) {
  const header = decodeProtectedHeader(idToken);
  const claims = { ...decodeJwt(idToken), ...tamper };
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid }).sign(privateKey);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test__/tamper') {
    if (ctx.method === 'DELETE') {
      tamper = null;
      account = null;
    } else {
      tamper = await readJson(ctx);
    }
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/__test__/account') {
    account = await readJson(ctx);
    ctx.status = 204;
    return;
  }
  await next();
  if (tamper && ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
