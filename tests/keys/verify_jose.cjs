// An independent verifier for tests/keys: the npm package `jose` fetches our JWKS and checks
// one access token with it.
//
//   node verify_jose.cjs JWKS_URL TOKEN ISSUER AUDIENCE ALG
//
// Prints {"sub", "kid", "alg"} and exits 0 when the token verifies; prints jose's error code
// and exits 1 when it does not. `jose` is found through NODE_PATH (scripts/test.sh installs
// it into $HOME/.cache/myauth-node).
const { createRemoteJWKSet, jwtVerify } = require("jose");

const [jwksUrl, token, issuer, audience, alg] = process.argv.slice(2);

(async () => {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    typ: "at+jwt",
    algorithms: [alg],
  });
  process.stdout.write(
    JSON.stringify({ sub: payload.sub, kid: protectedHeader.kid, alg: protectedHeader.alg }),
  );
})().catch((error) => {
  process.stderr.write(`${error.code || error.message}\n`);
  process.exit(1);
});
