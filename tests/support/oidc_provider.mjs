// A real OpenID Connect provider (npm oidc-provider) for the tests, on HTTPS under a path
// (msal only takes an https authority with a path segment).
// Usage: node oidc_provider.mjs CONFIG.json ; CONFIG holds: port, mount ("/oidc"), tls {key, cert}
// (PEM file paths), jwks (the private signing keys, so the tests can mint tokens with them),
// clients (oidc-provider client metadata) and accounts {login: {name, roles}}.
// The login and consent pages are the library's development interactions (any password).
// Prints "listening <issuer>" once it accepts connections.
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issuer = `https://127.0.0.1:${config.port}${config.mount}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  // roles with the profile: the app asks for no scope Entra ID would not know.
  claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'roles'] },
  // The ID token carries the profile and roles claims (the app reads roles from it).
  conformIdTokenClaims: false,
  cookies: { keys: ['edgeloop-test-provider-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // A page without web fonts: the test browser has no network.
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html><body><h1>Sign out?</h1>${form}
          <button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
          </body></html>`;
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = '<!DOCTYPE html><html><body><h1>Signed out at the provider</h1></body></html>';
      },
    },
  },
  findAccount: async (ctx, id) => {
    const account = config.accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, name: account.name, preferred_username: id, roles: account.roles }),
    };
  },
});
provider.proxy = false;

const mount = config.mount;
const callback = provider.callback();
const server = https.createServer(
  { key: fs.readFileSync(config.tls.key), cert: fs.readFileSync(config.tls.cert) },
  (req, res) => {
    if (!req.url.startsWith(mount)) {
      res.statusCode = 404;
      res.end('not under the mount path');
      return;
    }
    // Mounted like express would: oidc-provider finds the mount path from originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(mount.length) || '/';
    callback(req, res);
  },
);
server.listen(config.port, '127.0.0.1', () => console.log(`listening ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
