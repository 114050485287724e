// Real OpenID providers for the sign-in tests: oidc-provider (an OpenID Certified
// implementation), one issuer per agency on loopback, each with its own signing key.
// Usage: node oidc.mjs '[{"port":N,"client_id":"..","client_secret":"..","redirect_uri":".."}, ...]'
// Prints {"event":"ready"} when every issuer listens.
//
// People sign in through its development login form with any login: "alice@riverton.test"
// is the person with that email; a login without "@" gets "@<port>.test". A few test-only
// switches per issuer, under /__test/ (never part of a real provider):
//   POST /__test/tamper {"mode": M}   the ID token the token endpoint returns is altered, as
//        an attacker in the middle would: iss, aud, expired, nonce (claims changed and
//        signed again with the issuer's own key), other-key (signed with another issuer's
//        key), none (alg none), hs256 (HS256 with the public key as the secret), rotated
//        (signed with a new key the JWKS lists too: a key rotation, which must work);
//        "" for none.
//   POST /__test/disable {"login": L} the account is disabled: it can no longer sign in.
//   POST /__test/stall {"ms": N}      every answer waits N ms first (a slow provider).
import http from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

const issuers = JSON.parse(process.argv[2]);
const say = (event) => console.log(JSON.stringify(event));

async function key(kid) {
  const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid, alg: "RS256", use: "sig" };
}
const publicOf = ({ d, p, q, dp, dq, qi, ...pub }) => pub;
const b64 = (s) => Buffer.from(s).toString("base64url");

const keys = [];
for (const i of issuers) keys.push(await key(`issuer-${i.port}-1`));

async function sign(claims, jwk) {
  const k = await jose.importJWK(jwk, "RS256");
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "RS256", kid: jwk.kid, typ: "JWT" })
    .sign(k);
}

async function tamper(idToken, mode, own, other, rotated) {
  const claims = JSON.parse(Buffer.from(idToken.split(".")[1], "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case "iss": return sign({ ...claims, iss: "http://127.0.0.1:1/not-this-issuer" }, own);
    case "aud": return sign({ ...claims, aud: "another-client" }, own);
    case "expired": return sign({ ...claims, iat: now - 7200, exp: now - 3600 }, own);
    case "nonce": return sign({ ...claims, nonce: "not-the-nonce-sent" }, own);
    case "other-key": return sign(claims, other);
    case "rotated": return sign(claims, rotated);
    case "none": return `${b64(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64(JSON.stringify(claims))}.`;
    case "hs256": {
      const pem = await jose.exportSPKI(await jose.importJWK(publicOf(own), "RS256"));
      return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: "HS256", kid: own.kid, typ: "JWT" })
        .sign(new TextEncoder().encode(pem));
    }
    default: return idToken;
  }
}

function body(req) {
  return new Promise((resolve) => {
    let data = "";
    req.on("data", (c) => { data += c; if (data.length > 10_000) req.destroy(); });
    req.on("end", () => { try { resolve(JSON.parse(data || "{}")); } catch { resolve({}); } });
  });
}

await Promise.all(issuers.map(async (it, n) => {
  const own = keys[n];
  const other = keys[(n + 1) % keys.length] ?? (await key("lone-other"));
  const rotated = await key(`issuer-${it.port}-2`);
  const disabled = new Set();
  const state = { mode: "", stall: 0, rotatedKeyListed: false };
  const issuer = `http://127.0.0.1:${it.port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: it.client_id,
      client_secret: it.client_secret,
      redirect_uris: [it.redirect_uri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }],
    jwks: { keys: [own] },
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [`cookie-key-${it.port}`] },
    async findAccount(_ctx, id) {
      if (disabled.has(id)) return undefined;
      const email = id.includes("@") ? id : `${id}@${it.port}.test`;
      const name = email.split("@")[0].split(/[._]/).map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
      return {
        accountId: id,
        async claims() { return { sub: id, email, email_verified: true, name }; },
      };
    },
    // The agency's own app: no consent screen after signing in.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (_ctx, e) => say({ event: "server_error", port: it.port, why: String(e) }));
  // Tamper with the token endpoint's ID token when asked to.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === "/token" && state.mode && ctx.body && ctx.body.id_token) {
      if (state.mode === "rotated") state.rotatedKeyListed = true;
      ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, state.mode, own, other, rotated) };
    }
  });
  const handler = provider.callback();
  const server = http.createServer(async (req, res) => {
    if (req.url.startsWith("/__test/")) {
      const b = await body(req);
      if (req.url === "/__test/tamper") state.mode = String(b.mode ?? "");
      else if (req.url === "/__test/disable") disabled.add(String(b.login));
      else if (req.url === "/__test/stall") state.stall = Number(b.ms) || 0;
      res.writeHead(204).end();
      return;
    }
    if (state.stall) await new Promise((r) => setTimeout(r, state.stall));
    if (req.url.startsWith("/jwks") && state.rotatedKeyListed) {
      res.writeHead(200, { "content-type": "application/jwk-set+json" });
      res.end(JSON.stringify({ keys: [publicOf(rotated), publicOf(own)] }));
      return;
    }
    handler(req, res);
  });
  await new Promise((r) => server.listen(it.port, "127.0.0.1", r));
}));
say({ event: "ready" });
